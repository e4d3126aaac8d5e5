/* Command-line parsing into a struct vm_config. */
#include "vmm/cli.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "firmware/fdt.h"
#include "vmm/layout.h"
#include "vmm/parse.h"

#define VMM_VERSION "0.1.0"

enum {
	OPT_CONSOLE = 256,
	OPT_DEBUG_EXIT,
	OPT_KVM,
	OPT_DISK,
	OPT_RNG,
	OPT_NET,
	OPT_TRANSPORT,
	OPT_DISPLAY,
	OPT_GPU,
	OPT_SCREENSHOT,
	OPT_INPUT_SCRIPT,
	OPT_DTB,
	OPT_DUMP_DTB,
	OPT_BOOT_TIMER,
	OPT_HUGEPAGES,
};

static const struct option long_options[] = {
    {"kernel", required_argument, NULL, 'k'},
    {"initrd", required_argument, NULL, 'i'},
    {"append", required_argument, NULL, 'a'},
    {"mem", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, 'c'},
    {"console", required_argument, NULL, OPT_CONSOLE},
    {"disk", required_argument, NULL, OPT_DISK},
    {"rng", optional_argument, NULL, OPT_RNG},
    {"net", required_argument, NULL, OPT_NET},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"display", required_argument, NULL, OPT_DISPLAY},
    {"gpu", no_argument, NULL, OPT_GPU},
    {"screenshot", required_argument, NULL, OPT_SCREENSHOT},
    {"input-script", required_argument, NULL, OPT_INPUT_SCRIPT},
    {"debug-exit", no_argument, NULL, OPT_DEBUG_EXIT},
    {"dtb", no_argument, NULL, OPT_DTB},
    {"dump-dtb", required_argument, NULL, OPT_DUMP_DTB},
    {"kvm", required_argument, NULL, OPT_KVM},
    {"boot-timer", no_argument, NULL, OPT_BOOT_TIMER},
    {"hugepages", no_argument, NULL, OPT_HUGEPAGES},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

void cli_usage(FILE *out)
{
	fputs(
	    "Usage: vmm [OPTIONS] --kernel PATH\n"
	    "Boots an x86_64 guest on KVM.\n"
	    "\n"
	    "Boot:\n"
	    "  -k, --kernel PATH     kernel to boot: a Linux bzImage (64-bit boot protocol) or "
	    "any\n"
	    "                        ELF with a Xen PVH note (vmlinux, the test guests)\n"
	    "  -i, --initrd PATH     initial ramdisk (bzImage: in boot_params; PVH: module 0)\n"
	    "  -a, --append CMDLINE  kernel command line\n"
	    "\n"
	    "Machine:\n"
	    "  -m, --mem SIZE        guest RAM: 256M, 2G, 4096K (a bare number is MiB);\n"
	    "                        default 256M\n"
	    "  -c, --cpus N          number of vCPUs, 1-64; default 1\n"
	    "      --hugepages       back guest RAM with transparent huge pages (fewer TLB\n"
	    "                        misses; the VMM's resident memory grows in 2 MiB steps)\n"
	    "\n"
	    "Devices:\n"
	    "      --console KIND    the guest console's host side:\n"
	    "                          stdio      COM1 (8250/16550A) on stdout, input from stdin\n"
	    "                                     (raw terminal; Ctrl-A x quits, Ctrl-A h helps)\n"
	    "                          virtio     a virtio-console (hvc0) on stdio; COM1 output\n"
	    "                                     still shows early boot messages\n"
	    "                          none       output discarded, no input\n"
	    "                          file:PATH  output written to PATH, no input\n"
	    "                        default stdio\n"
	    "      --disk PATH[,ro][,serial=ID][,cache=writeback|none][,discard=on|off]\n"
	    "                        a virtio-blk disk on a raw file or block device;\n"
	    "                        repeatable (up to 8): /dev/vda, /dev/vdb, ... in order\n"
	    "                          ro           read-only: guest writes fail, the file is\n"
	    "                                       never written\n"
	    "                          serial=ID    what GET_ID returns (at most 20 bytes)\n"
	    "                          cache=none   O_DIRECT (bypass the host page cache)\n"
	    "                          discard=on   DISCARD / WRITE_ZEROES punch holes\n"
	    "                          aio=auto|io_uring|sync  I/O engine; default auto\n"
	    "      --net tap=IFNAME[,mac=MAC] | tapfd=N[,mac=MAC] |\n"
	    "            user[,mac=MAC][,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...\n"
	    "                        a virtio-net NIC; repeatable (up to 4):\n"
	    "                          tap=IFNAME   create or attach a tap (offloads negotiated)\n"
	    "                          tapfd=N      an already-open tap fd\n"
	    "                          user         user-mode networking (libslirp): DHCP, DNS,\n"
	    "                                       NAT, port forwards; guest 10.0.2.15\n"
	    "      --rng[=rate=BYTES_PER_SEC[,burst=BYTES]]\n"
	    "                        a virtio-rng fed from getrandom(), optionally rate limited\n"
	    "      --display sdl|none\n"
	    "                        sdl: a window showing a virtio-gpu screen, with a virtio\n"
	    "                        keyboard and tablet (Ctrl+Alt+G releases the pointer;\n"
	    "                        closing it sends KEY_POWER, then stops the VM after 5 s);\n"
	    "                        none (default): no window\n"
	    "      --gpu             virtio-gpu, keyboard and tablet without a window\n"
	    "      --screenshot PATH at exit, write the screen as PNG (implies --gpu)\n"
	    "      --input-script PATH\n"
	    "                        feed the keyboard/tablet from PATH: lines 'key CODE 0|1|2',\n"
	    "                        'btn CODE 0|1', 'abs X Y', 'wheel N' (implies --gpu)\n"
	    "      --transport mmio|pci\n"
	    "                        how the virtio devices named AFTER it reach the guest:\n"
	    "                          mmio  virtio-mmio windows, listed on the kernel command "
	    "line\n"
	    "                          pci   modern virtio-pci with MSI-X on PCI bus 0\n"
	    "                        default mmio; may be repeated to mix transports\n"
	    "      --dtb             give the guest a device tree of the machine: bzImage in a\n"
	    "                        SETUP_DTB setup_data, PVH as the module after the initrd\n"
	    "      --dump-dtb PATH   write the machine's device tree (DTB) to PATH and exit\n"
	    "      --debug-exit      add a QEMU isa-debug-exit compatible device at port 0xf4:\n"
	    "                        a guest write of V ends the VMM with status (V << 1) | 1\n"
	    "      --boot-timer      Firecracker boot timer (byte 123 to MMIO 0xc0000000 or\n"
	    "                        port 0x3f0); print boot phase times on stderr at exit\n"
	    "\n"
	    "Other:\n"
	    "      --kvm PATH        KVM device; default /dev/kvm\n"
	    "  -v, --verbose         more messages (twice: debug, e.g. unclaimed I/O)\n"
	    "  -q, --quiet           errors only\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         version\n"
	    "\n"
	    "Exit status: 0 the guest powered off or reset; 1 VMM or KVM error; 2 bad\n"
	    "command line or image; 4 guest triple fault; 128+N stopped by signal N;\n"
	    "odd values (V << 1) | 1 from --debug-exit.\n",
	    out);
}

static enum cli_result usage_error(const char *fmt, const char *arg)
{
	fputs("vmm: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'vmm --help' for more information.\n", stderr);
	return CLI_EXIT_USAGE;
}

static enum cli_result parse_mem(const char *arg, struct vm_config *cfg)
{
	uint64_t v;
	int err = parse_size(arg, MIB(1), &v);
	if (err == -ERANGE || (!err && v > GUEST_RAM_MAX))
		return usage_error("--mem %s: too large (at most 1T)", arg);
	if (err)
		return usage_error("--mem %s: not a size (try 256M or 2G)", arg);
	if (v < MIB(2) || v % KIB(4))
		return usage_error("--mem %s: must be at least 2M and a multiple of 4K", arg);
	cfg->mem_size = v;
	return CLI_RUN;
}

static enum cli_result parse_cpus(const char *arg, struct vm_config *cfg)
{
	uint64_t v;
	if (parse_uint(arg, 1, CLI_MAX_CPUS, &v))
		return usage_error("--cpus %s: must be a whole number from 1 to 64", arg);
	cfg->ncpus = (unsigned)v;
	return CLI_RUN;
}

static enum cli_result parse_console(const char *arg, struct vm_config *cfg)
{
	if (strcmp(arg, "stdio") == 0) {
		cfg->console = CONSOLE_MODE_STDIO;
	} else if (strcmp(arg, "none") == 0) {
		cfg->console = CONSOLE_MODE_NONE;
	} else if (strcmp(arg, "virtio") == 0) {
		cfg->console = CONSOLE_MODE_STDIO;
		cfg->virtio_console = true;
		cfg->console_transport = cfg->transport;
	} else if (strncmp(arg, "file:", 5) == 0 && arg[5]) {
		cfg->console = CONSOLE_MODE_FILE;
		cfg->console_path = arg + 5;
	} else {
		return usage_error("--console %s: expected stdio, virtio, none or file:PATH", arg);
	}
	return CLI_RUN;
}

static enum cli_result parse_disk(const char *arg, struct vm_config *cfg)
{
	char err[160];
	if (cfg->ndisks == CLI_MAX_DISKS)
		return usage_error("--disk %s: at most 8 disks", arg);
	if (virtio_blk_opts_parse(arg, &cfg->disks[cfg->ndisks], err, sizeof(err))) {
		fprintf(stderr, "vmm: --disk %s: %s\n", arg, err);
		return CLI_EXIT_USAGE;
	}
	cfg->disk_transport[cfg->ndisks++] = cfg->transport;
	return CLI_RUN;
}

static enum cli_result parse_net(const char *arg, struct vm_config *cfg)
{
	if (cfg->nnics == CLI_MAX_NICS)
		return usage_error("--net %s: at most 4 NICs", arg);
	if (virtio_net_parse_opts(arg, &cfg->nics[cfg->nnics]))
		return usage_error("--net %s: invalid network specification", arg);
	cfg->nic_transport[cfg->nnics++] = cfg->transport;
	return CLI_RUN;
}

static enum cli_result parse_transport(const char *arg, struct vm_config *cfg)
{
	if (strcmp(arg, "mmio") == 0)
		cfg->transport = TRANSPORT_MMIO;
	else if (strcmp(arg, "pci") == 0)
		cfg->transport = TRANSPORT_PCI;
	else
		return usage_error("--transport %s: expected mmio or pci", arg);
	return CLI_RUN;
}

static enum cli_result parse_rng(const char *arg, struct vm_config *cfg)
{
	if (virtio_rng_parse_opts(arg, &cfg->rng_opts))
		return usage_error("--rng=%s: expected rate=BYTES_PER_SEC[,burst=BYTES]",
				   arg ? arg : "");
	cfg->rng = true;
	cfg->rng_transport = cfg->transport;
	return CLI_RUN;
}

static enum cli_result parse_display(const char *arg, struct vm_config *cfg)
{
	int err = display_parse_mode(arg, &cfg->display.mode);
	if (err == -ENOTSUP)
		return CLI_EXIT_USAGE; /* display_parse_mode() said why */
	if (err)
		return usage_error("--display %s: expected sdl or none", arg);
	cfg->display_transport = cfg->transport;
	return CLI_RUN;
}

static enum cli_result parse_one(int opt, const char *arg, struct vm_config *cfg)
{
	switch (opt) {
	case 'k':
		cfg->kernel = arg;
		return CLI_RUN;
	case 'i':
		cfg->initrd = arg;
		return CLI_RUN;
	case 'a':
		cfg->append = arg;
		return CLI_RUN;
	case 'm':
		return parse_mem(arg, cfg);
	case 'c':
		return parse_cpus(arg, cfg);
	case OPT_CONSOLE:
		return parse_console(arg, cfg);
	case OPT_DISK:
		return parse_disk(arg, cfg);
	case OPT_RNG:
		return parse_rng(arg, cfg);
	case OPT_NET:
		return parse_net(arg, cfg);
	case OPT_TRANSPORT:
		return parse_transport(arg, cfg);
	case OPT_DISPLAY:
		return parse_display(arg, cfg);
	case OPT_GPU:
		cfg->display.gpu = true;
		cfg->display_transport = cfg->transport;
		return CLI_RUN;
	case OPT_SCREENSHOT:
		cfg->display.screenshot = arg;
		return CLI_RUN;
	case OPT_INPUT_SCRIPT:
		cfg->display.input_script = arg;
		return CLI_RUN;
	case OPT_DEBUG_EXIT:
		cfg->debug_exit = true;
		return CLI_RUN;
	case OPT_BOOT_TIMER:
		cfg->boot_timer = true;
		return CLI_RUN;
	case OPT_HUGEPAGES:
		cfg->hugepages = true;
		return CLI_RUN;
	case OPT_DTB:
	case OPT_DUMP_DTB:
		if (!machine_fdt_supported())
			return usage_error("--%s: this vmm was built without libfdt",
					   opt == OPT_DTB ? "dtb" : "dump-dtb");
		cfg->dtb |= opt == OPT_DTB;
		cfg->dump_dtb = opt == OPT_DUMP_DTB ? arg : cfg->dump_dtb;
		return CLI_RUN;
	case OPT_KVM:
		cfg->kvm_path = arg;
		return CLI_RUN;
	case 'v':
		cfg->verbosity = cfg->verbosity < 0 ? 1 : cfg->verbosity + 1;
		return CLI_RUN;
	case 'q':
		cfg->verbosity = -1;
		return CLI_RUN;
	case 'h':
		cli_usage(stdout);
		return CLI_EXIT_OK;
	case 'V':
		printf("vmm %s\n", VMM_VERSION);
		return CLI_EXIT_OK;
	default: /* getopt already said what was wrong */
		fputs("Try 'vmm --help' for more information.\n", stderr);
		return CLI_EXIT_USAGE;
	}
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg)
{
	*cfg = (struct vm_config){
	    .mem_size = CLI_DEFAULT_MEM,
	    .ncpus = 1,
	    .console = CONSOLE_MODE_STDIO,
	    .kvm_path = "/dev/kvm",
	    .append = "",
	};
	optind = 0; /* full re-initialisation, so tests can parse several times */
	opterr = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, "k:i:a:m:c:vqhV", long_options, NULL)) != -1) {
		enum cli_result r = parse_one(opt, optarg, cfg);
		if (r != CLI_RUN) {
			cli_free(cfg);
			return r;
		}
	}
	if (optind < argc || !cfg->kernel) {
		cli_free(cfg);
		if (optind < argc)
			return usage_error("unexpected argument '%s'", argv[optind]);
		return usage_error("%s", "no kernel given (--kernel PATH)");
	}
	return CLI_RUN;
}

void cli_free(struct vm_config *cfg)
{
	for (int i = 0; i < cfg->ndisks; i++)
		virtio_blk_opts_free(&cfg->disks[i]);
	cfg->ndisks = 0;
}
