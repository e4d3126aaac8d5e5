#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/kvm/x86/cpu_template.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/cli_test.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_display.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/dev_rng.h"
#include "vmm/descriptors/dev_vsock.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"

#include "tests/unit/fixtures/cli_args.h"
#include "tests/unit/fixtures/config_replay.h"

Test(cli, defaults)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf"), CLI_RUN);
	cr_assert_str_eq(c.kernel, "k.elf");
	cr_assert_eq(c.mem_size, 256ULL << 20);
	cr_assert_eq(c.ncpus, 1);
	cr_assert_eq(dev_console_config(&c).mode, CONSOLE_MODE_STDIO);
	cr_assert_not(c.debug_exit);
	cr_assert_str_eq(c.kvm_path, "/dev/kvm");
	cr_assert_str_eq(c.append, "");
	cli_free(&c);
}

Test(cli, every_option)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "bz", "-i", "rd", "-a", "console=ttyS0", "-m", "1G", "-c", "4",
			   "--console", "file:/tmp/out", "--debug-exit", "-v", "-v"),
		     CLI_RUN);
	cr_assert_str_eq(c.initrd, "rd");
	cr_assert_str_eq(c.append, "console=ttyS0");
	cr_assert_eq(c.mem_size, 1ULL << 30);
	cr_assert_eq(c.ncpus, 4);
	cr_assert_eq(dev_console_config(&c).mode, CONSOLE_MODE_FILE);
	cr_assert_str_eq(dev_console_config(&c).path, "/tmp/out");
	cr_assert(c.debug_exit);
	cr_assert_eq(c.verbosity, 2);
	cli_free(&c);
}

Test(cli, bad_values_are_usage_errors, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem", "lots"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem", "1M"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem", "2T"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem", "4097K"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "0"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "65"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "3", "--smt"), CLI_EXIT_USAGE, "odd with smt");
	cr_assert_eq(PARSE(&c, "-k", "x", "--console", "tty"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--console", "file:"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--bogus"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "extra"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--mem", "1G"), CLI_EXIT_USAGE, "no kernel");
	cli_free(&c);
}

Test(cli, help_and_version_exit_ok, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--help"), CLI_EXIT_OK);
	cr_assert_eq(PARSE(&c, "-V"), CLI_EXIT_OK);
	cli_free(&c);
}

Test(cli, usage_names_every_option)
{
	static char buf[32768]; /* the whole usage text, which grows with the options */
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	cli_usage(f);
	fclose(f);
	const char *names[] = {
	    "--kernel",	 "--initrd",	 "--append",	   "--mem",	   "--cpus",
	    "--console", "--debug-exit", "--kvm",	   "--verbose",	   "--quiet",
	    "--help",	 "--version",	 "--migrate-from", "--mem-shared", "--vhost-user-timeout"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_not_null(strstr(buf, names[i]), "usage lacks %s", names[i]);
}

Test(cli, hugepages_and_boot_timer_flags)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x"), CLI_RUN);
	cr_assert_not(c.hugepages, "off by default");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--hugepages", "--boot-timer"), CLI_RUN);
	cr_assert(c.hugepages);
	cr_assert(c.boot_timer);
	cr_assert_not(c.smt);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "4", "--smt"), CLI_RUN);
	cr_assert(c.smt);
	cr_assert_eq(c.nrecorded, 3, "--smt is recorded for snapshots");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--smt"), CLI_RUN, "one vCPU is fine");
	cli_free(&c);
}

/* Member `key` of the first record instance of device `d` in `c`: a path as the device keeps it. */
static void expect_record_path(const struct vm_config *c, const struct device_desc *d,
			       const char *key, const char *want)
{
	json_t *rec = device_record_instance(c, d, 0);
	cr_assert_not_null(rec, "%s: no record", d->name);
	cr_expect_str_eq(json_string_value(json_object_get(rec, key)), want, "%s %s", d->name, key);
	json_decref(rec);
}

/* ",," in an option string is a literal comma (as in QEMU): every path an option holds may have
 * one, its device gets the path with one comma, and the items after it stay items. */
Test(cli, a_doubled_comma_is_a_comma_in_a_path)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "/tmp/a,,b.img,ro", "--pmem",
			   "path=/tmp/p,,m.img,id=pm", "--vsock", "cid=3,uds=/tmp/v,,s.sock",
			   "--console", "file:/tmp/o,,ut.log", "--fs",
			   "tag=t,socket=/tmp/f,,s.sock"),
		     CLI_RUN);
	cr_assert_str_eq(dev_disk_opts(&c, 0)->path, "/tmp/a,b.img");
	cr_assert(dev_disk_opts(&c, 0)->ro, "ro is the next item");
	cr_assert_eq(dev_console_config(&c).mode, CONSOLE_MODE_FILE);
	cr_assert_str_eq(dev_console_config(&c).path, "/tmp/o,ut.log");
	expect_record_path(&c, &device_pmem, "path", "/tmp/p,m.img");
	expect_record_path(&c, &device_pmem, "id", "pm");
	expect_record_path(&c, &device_vsock, "uds", "/tmp/v,s.sock");
	expect_record_path(&c, &device_fs, "socket", "/tmp/f,s.sock");
	cli_free(&c);
	/* an odd run: the pairs, then the separator */
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "/tmp/a,,,ro"), CLI_RUN);
	cr_assert_str_eq(dev_disk_opts(&c, 0)->path, "/tmp/a,");
	cr_assert(dev_disk_opts(&c, 0)->ro);
	cli_free(&c);
}

Test(cli, device_options)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "a.img,ro,serial=S1", "--disk", "b.img",
			   "--net", "user", "--net", "tap=vt0,mac=52:54:00:00:00:01",
			   "--rng=rate=1K", "--console", "virtio", "--gpu", "--screenshot", "s.png",
			   "--input-script", "in.txt"),
		     CLI_RUN);
	cr_assert_eq(dev_disk_count(&c), 2);
	cr_assert_str_eq(dev_disk_opts(&c, 0)->path, "a.img");
	cr_assert(dev_disk_opts(&c, 0)->ro);
	cr_assert_str_eq(dev_disk_opts(&c, 0)->serial, "S1");
	cr_assert_str_eq(dev_disk_opts(&c, 1)->path, "b.img");
	cr_assert_not(dev_disk_opts(&c, 1)->ro);
	cr_assert_null(dev_disk_opts(&c, 2));
	cr_assert_eq(dev_net_count(&c), 2);
	cr_assert_eq(dev_net_opts(&c, 0)->kind, VIRTIO_NET_USER);
	cr_assert_str_eq(dev_net_opts(&c, 1)->ifname, "vt0");
	cr_assert(dev_net_opts(&c, 1)->has_mac);
	const struct dev_rng_cfg *rng = device_cfg_find(&c, &device_rng);
	cr_assert_not_null(rng);
	cr_assert_eq(rng->opts.rate, 1024);
	cr_assert(dev_console_config(&c).virtio);
	cr_assert_eq(dev_console_config(&c).mode, CONSOLE_MODE_STDIO);
	const struct dev_display_cfg *disp = device_cfg_find(&c, &device_display);
	cr_assert_not_null(disp);
	cr_assert(disp->opts.gpu);
	cr_assert_str_eq(disp->opts.screenshot, "s.png");
	cr_assert_str_eq(disp->opts.input_script, "in.txt");
	cr_assert(display_opts_wanted(&disp->opts));
	cli_free(&c);
	cr_assert_eq(dev_disk_count(&c), 0, "cli_free releases the disks");
	cr_assert_null(device_cfg_find(&c, &device_disk), "and their block");
	cli_free(&c);
}

Test(cli, rng_without_argument_and_display_none)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--rng", "--display", "none", "--console", "none"),
		     CLI_RUN);
	const struct dev_rng_cfg *rng = device_cfg_find(&c, &device_rng);
	cr_assert_not_null(rng);
	cr_assert_eq(rng->opts.rate, 0, "unlimited");
	const struct dev_display_cfg *disp = device_cfg_find(&c, &device_display);
	cr_assert_not_null(disp);
	cr_assert_eq(disp->opts.mode, DISPLAY_NONE);
	cr_assert_not(display_opts_wanted(&disp->opts));
	cr_assert_eq(dev_console_config(&c).mode, CONSOLE_MODE_NONE);
	cr_assert_not(dev_console_config(&c).virtio);
	cli_free(&c);
	cr_assert_null(device_cfg_find(&c, &device_rng), "cli_free releases the block");
	cr_assert_eq(PARSE(&c, "-k", "x"), CLI_RUN);
	cr_assert_null(device_cfg_find(&c, &device_rng), "no --rng, no rng");
	cli_free(&c);
}

static enum virtio_transport display_transport(const struct vm_config *c)
{
	const struct dev_display_cfg *disp = device_cfg_find(c, &device_display);
	cr_assert_not_null(disp);
	return disp->transport;
}

/* A firmware finds its disks and NICs on PCI only: with --firmware (anywhere on the line) the
 * devices default to PCI, and --transport mmio still picks mmio for those after it. */
Test(cli, firmware_makes_pci_the_default_transport)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--disk", "a", "--firmware", "fw.bin", "--net", "user",
			   "--transport", "mmio", "--disk", "b"),
		     CLI_RUN);
	const struct dev_disk_cfg *disks = device_cfg_find(&c, &device_disk);
	const struct dev_net_cfg *nics = device_cfg_find(&c, &device_net);
	cr_assert_eq(disks->disk[0].transport, TRANSPORT_PCI, "given before --firmware");
	cr_assert_eq(nics->nic[0].transport, TRANSPORT_PCI);
	cr_assert_eq(disks->disk[1].transport, TRANSPORT_MMIO);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--firmware-log", "l", "--disk", "a"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "a"), CLI_RUN);
	disks = device_cfg_find(&c, &device_disk);
	cr_assert_eq(disks->disk[0].transport, TRANSPORT_MMIO, "no firmware: mmio as before");
	cli_free(&c);
}

/* A firmware's reset boots it again (vmm/vm/reboot.h) unless --no-reboot. */
Test(cli, no_reboot_flag)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--firmware", "fw.bin"), CLI_RUN);
	cr_assert_not(c.no_reboot);
	cr_assert_not(c.restarted, "set by the reboot's child only");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--firmware", "fw.bin", "--no-reboot"), CLI_RUN);
	cr_assert(c.no_reboot);
	cli_free(&c);
}

/* --transport applies to the device options after it, and only to those. */
Test(cli, transport_applies_to_the_devices_after_it)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "a", "--net", "user", "--transport", "pci",
			   "--disk", "b", "--rng", "--console", "virtio", "--transport", "mmio",
			   "--net", "user", "--gpu"),
		     CLI_RUN);
	const struct dev_disk_cfg *disks = device_cfg_find(&c, &device_disk);
	const struct dev_net_cfg *nics = device_cfg_find(&c, &device_net);
	cr_assert_eq(disks->disk[0].transport, TRANSPORT_MMIO);
	cr_assert_eq(disks->disk[1].transport, TRANSPORT_PCI);
	cr_assert_eq(nics->nic[0].transport, TRANSPORT_MMIO);
	cr_assert_eq(nics->nic[1].transport, TRANSPORT_MMIO);
	cr_assert_eq(((const struct dev_rng_cfg *)device_cfg_find(&c, &device_rng))->transport,
		     TRANSPORT_PCI);
	cr_assert_eq(dev_console_config(&c).transport, TRANSPORT_PCI);
	cr_assert_eq(display_transport(&c), TRANSPORT_MMIO);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--transport", "pci", "--display", "none"), CLI_RUN);
	cr_assert_eq(display_transport(&c), TRANSPORT_PCI);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--gpu", "--transport", "pci"), CLI_RUN);
	cr_assert_eq(display_transport(&c), TRANSPORT_MMIO, "a later --transport changes nothing");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--transport", "pci", "--screenshot", "s.png"), CLI_RUN);
	cr_assert_eq(display_transport(&c), TRANSPORT_MMIO, "only --display and --gpu set it");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x"), CLI_RUN);
	cr_assert_null(device_cfg_find(&c, &device_display), "no display option, no block");
	cli_free(&c);
}

Test(cli, bad_device_values_are_usage_errors, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--transport", "usb"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", ",ro"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "a,foo=1"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--net", "bogus"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--rng=bogus"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--display", "vga"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--gpu=1"), CLI_EXIT_USAGE, "--gpu takes no argument");
	cr_assert_eq(PARSE(&c, "-k", "x", "--screenshot"), CLI_EXIT_USAGE, "needs a path");
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "a", "--disk", "b", "--disk", "c", "--disk",
			   "d", "--disk", "e", "--disk", "f", "--disk", "g", "--disk", "h",
			   "--disk", "i"),
		     CLI_EXIT_USAGE, "at most 8 disks");
	cr_assert_eq(dev_disk_count(&c), 0, "the disks parsed before the error are freed");
	cr_assert_eq(PARSE(&c, "-k", "x", "--net", "user", "--net", "user", "--net", "user",
			   "--net", "user", "--net", "user"),
		     CLI_EXIT_USAGE, "at most 4 NICs");
	cli_free(&c);
}

/* A drive's id (id=) names it in the API: two disks cannot share one. */
Test(cli, disk_ids_are_unique)
{
	struct vm_config c;
	char err[256] = "";
	vm_config_init(&c);
	cr_assert_eq(cli_device_option(&c, "disk", "a.img,id=data", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(cli_device_option(&c, "disk", "b.img", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_device_option(&c, "disk", "c.img,id=data", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "disk 0 has that id"), "%s", err);
	cr_assert_eq(dev_disk_count(&c), 2, "the refused disk is not added");
	cr_assert_eq(cli_device_option(&c, "disk", "c.img,id=logs", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(dev_disk_opts(&c, 2)->id, "logs");
	cr_assert_eq(dev_disk_find_id(&c, "logs"), 2);
	cr_assert_eq(dev_disk_find_id(&c, ""), -1, "no id names no disk");
	cli_free(&c);
}

/* The message names the option and its value, once. */
Test(cli, device_error_names_the_option)
{
	struct vm_config c;
	char buf[1024] = {0};
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	FILE *saved = stderr;
	stderr = f;
	enum cli_result r = PARSE(&c, "-k", "x", "--console", "tty");
	stderr = saved;
	fclose(f);
	cr_assert_eq(r, CLI_EXIT_USAGE);
	cr_assert_not_null(strstr(buf, "vmm: --console tty: expected stdio, virtio, none"), "%s",
			   buf);
	cli_free(&c);
}

/* Every option of the device table is in --help and accepted by the parser. */
Test(cli, usage_and_parser_cover_the_device_table, .init = quiet)
{
	char buf[16384] = {0};
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	cli_usage(f);
	fclose(f);
	int n = 0;
	for (int i = 0; device_table[i]; i++) {
		for (const struct device_option *o = device_table[i]->options; o->name; o++, n++) {
			char name[64];
			snprintf(name, sizeof(name), "--%s", o->name);
			cr_assert_not_null(strstr(buf, name), "usage lacks %s", name);
			cr_assert_not_null(o->parse, "%s has no parser", name);
		}
	}
	cr_assert_geq(n, 8, "disk, net, console, rng, display, gpu, screenshot, input-script");
	const char *order[] = {"disk", "net", "console", "rng", "display"};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		cr_assert_str_eq(device_table[i]->name, order[i], "the guest's device order");
}

Test(cli, a_replay_of_the_recorded_options_builds_the_same_vm)
{
	struct vm_config c, r;
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf", "-m", "512M", "--cpus", "2", "--api-sock",
			   "/tmp/s", "--disk", "a.img,ro", "--transport", "pci", "--disk", "b.img",
			   "--rng", "-v", "--net", "tap=tap4,mac=52:54:00:00:00:02",
			   "--debug-exit"),
		     CLI_RUN);
	for (int i = 0; i < c.nrecorded; i++)
		cr_assert(strcmp(c.recorded[i].name, "api-sock") &&
			      strcmp(c.recorded[i].name, "verbose"),
			  "--%s says how the VMM runs: not recorded", c.recorded[i].name);
	config_replay(&c, &r);
	cr_assert_str_eq(r.kernel, "k.elf");
	cr_assert_eq(r.mem_size, 512ULL << 20);
	cr_assert_eq(r.ncpus, 2);
	const struct dev_disk_cfg *disks = device_cfg_find(&r, &device_disk);
	cr_assert_eq(dev_disk_count(&r), 2);
	cr_assert_str_eq(dev_disk_opts(&r, 1)->path, "b.img");
	cr_assert(dev_disk_opts(&r, 0)->ro);
	cr_assert_eq(disks->disk[0].transport, TRANSPORT_MMIO);
	cr_assert_eq(disks->disk[1].transport, TRANSPORT_PCI);
	cr_assert_eq(dev_net_count(&r), 1);
	cr_assert_str_eq(dev_net_opts(&r, 0)->ifname, "tap4");
	cr_assert(r.debug_exit);
	cr_assert_null(r.api_sock);
	cr_assert_eq(r.nrecorded, c.nrecorded, "the replay records the same options");
	cli_free(&r);
	cli_free(&c);
}

/* recorded[] holds the core's options; the devices are their blocks, which their records say. */
Test(cli, devices_are_records_not_recorded_options)
{
	struct vm_config c;
	cr_assert_eq(
	    PARSE(&c, "-k", "k.elf", "--disk", "x.img", "--net", "tap=t0", "--rng", "--mem", "256"),
	    CLI_RUN);
	cr_assert_eq(c.nrecorded, 2, "--kernel and --mem only");
	cr_assert_str_eq(c.recorded[0].name, "kernel");
	cr_assert_str_eq(c.recorded[1].name, "mem");
	json_t *doc = device_records(&c);
	cr_assert_eq(json_object_size(doc), 3, "disk, net, rng");
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(doc, "disk"), 0), "path")),
			 "x.img");
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(doc, "net"), 0), "tap")),
			 "t0");
	cr_assert_eq(json_array_size(json_object_get(doc, "rng")), 1);
	json_decref(doc);
	const struct device_desc *d = device_records_next(&c, NULL);
	cr_assert_eq(d, &device_disk, "the configured devices in table order");
	cr_assert_eq(d = device_records_next(&c, d), &device_net);
	cr_assert_eq(d = device_records_next(&c, d), &device_rng);
	cr_assert_null(device_records_next(&c, d));
	char err[256] = "";
	cr_assert_eq(cli_apply(&c, "disk", "y.img,ro", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.nrecorded, 2, "an applied device option is its block only");
	cr_assert_eq(dev_disk_count(&c), 2);
	cr_assert_eq(cli_apply(&c, "cpus", "2", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.nrecorded, 3, "a core one is recorded");
	cli_free(&c);
}

Test(cli, a_bad_record_is_refused_with_its_name, .init = quiet)
{
	struct vm_config r;
	char err[256] = "";
	struct cli_record bad[] = {{"mem", "lots"}};
	cr_assert_neq(cli_replay(&r, bad, 1, err, sizeof(err)), 0);
	cr_assert(strstr(err, "--mem"), "%s", err);
	struct cli_record unknown[] = {{"api-sock", "/x"}};
	cr_assert_neq(cli_replay(&r, unknown, 1, err, sizeof(err)), 0);
	struct cli_record flag_with_arg[] = {{"debug-exit", "1"}};
	cr_assert_neq(cli_replay(&r, flag_with_arg, 1, err, sizeof(err)), 0);
	cli_free(&r);
}

/* --check-kvm needs no kernel and takes --kvm's path; it is never part of a VM's options. */
Test(cli, check_kvm_alone, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--check-kvm"), CLI_CHECK_KVM);
	cr_assert(c.check_kvm);
	cr_assert_str_eq(c.kvm_path, "/dev/kvm");
	cr_assert_eq(c.nrecorded, 0);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--kvm", "/tmp/kvm", "--check-kvm"), CLI_CHECK_KVM);
	cr_assert_str_eq(c.kvm_path, "/tmp/kvm");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--check-kvm", "stray"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--check-kvm", "--mem", "lots"), CLI_EXIT_USAGE);
	char err[128];
	vm_config_init(&c);
	cr_assert_eq(cli_apply(&c, "check-kvm", NULL, err, sizeof(err)), -EINVAL);
	cli_free(&c);
}

Test(cli, mmds_size_limit, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--api-sock", "/tmp/a.sock"), CLI_RUN);
	cr_expect_eq(c.mmds_size_limit, 0); /* the default, 51200, is the store's */
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--api-sock", "/tmp/a.sock", "--mmds-size-limit", "1000"), CLI_RUN);
	cr_expect_eq(c.mmds_size_limit, 1000);
	for (int i = 0; i < c.nrecorded; i++) /* how this VMM runs, not what the VM is */
		cr_expect(strcmp(c.recorded[i].name, "mmds-size-limit"));
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--api-sock", "/a", "--mmds-size-limit", "0"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--api-sock", "/a", "--mmds-size-limit", "67108865"),
		     CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--api-sock", "/a", "--mmds-size-limit", "1k"), CLI_EXIT_USAGE);
}

/* --vhost-user-timeout: milliseconds, 100 to 600000 (0 in the config: the device's default);
 * never recorded, as the other options about the host rather than the VM. */
Test(cli, vhost_user_timeout, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf"), CLI_RUN);
	cr_expect_eq(c.vu_timeout_ms, 0);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf", "--vhost-user-timeout", "30000"), CLI_RUN);
	cr_expect_eq(c.vu_timeout_ms, 30000);
	for (int i = 0; i < c.nrecorded; i++)
		cr_expect(strcmp(c.recorded[i].name, "vhost-user-timeout"));
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf", "--vhost-user-timeout", "99"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf", "--vhost-user-timeout", "600001"),
		     CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf", "--vhost-user-timeout", "5s"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--kernel", "k.elf", "--vhost-user-timeout", ""), CLI_EXIT_USAGE);
}

/* Firecracker's --http-api-max-payload-size: bytes, 1 to 64 MiB here; never recorded. */
Test(cli, http_api_max_payload_size, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--api-sock", "/a"), CLI_RUN);
	cr_expect_eq(c.api_max_payload, 0); /* the router's default, 51200 */
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--api-sock", "/a", "--http-api-max-payload-size", "1048576"),
		     CLI_RUN);
	cr_expect_eq(c.api_max_payload, 1048576);
	for (int i = 0; i < c.nrecorded; i++)
		cr_expect(strcmp(c.recorded[i].name, "http-api-max-payload-size"));
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--api-sock", "/a", "--http-api-max-payload-size", "0"),
		     CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--api-sock", "/a", "--http-api-max-payload-size", "67108865"),
		     CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--api-sock", "/a", "--http-api-max-payload-size", "x"),
		     CLI_EXIT_USAGE);
}

Test(cli, migrate_from_alone_or_with_the_api, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--migrate-from", "unix:/tmp/m.sock"), CLI_RUN);
	cr_assert_str_eq(c.migrate_from, "unix:/tmp/m.sock");
	cr_assert_eq(c.nrecorded, 0, "how the VMM runs, not the VM: not recorded");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--migrate-from", "tcp:127.0.0.1:4444", "--api-sock", "a", "-v"),
		     CLI_RUN);
	cli_free(&c);
}

Test(cli, migrate_from_refuses_what_shapes_the_vm, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--migrate-from", "unix:m", "--kernel", "k"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--migrate-from", "unix:m", "--restore", "d"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--migrate-from", "unix:m", "--config-file", "f"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--migrate-from", "unix:m", "--disk", "d.img"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--migrate-from", "unix:m", "--mem", "512M"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--migrate-from", "ftp:x"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--migrate-from", "tcp:host"), CLI_EXIT_USAGE, "no port");
}

Test(cli, mem_shared_is_recorded)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x"), CLI_RUN);
	cr_assert_not(c.mem_shared, "private RAM by default");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--mem-shared"), CLI_RUN);
	cr_assert(c.mem_shared);
	cr_assert_eq(c.nrecorded, 2, "--mem-shared is replayed by a snapshot or a migration");
	cli_free(&c);
}

/* --check-cpu DIR needs no kernel; --cpu-check on|off is how the process runs, never recorded. */
/* --clock-realtime goes with --restore only, and is not recorded (a process setting). */
Test(cli, clock_realtime_with_restore, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--clock-realtime"), CLI_RUN);
	cr_assert(c.clock_realtime);
	cr_assert_eq(c.nrecorded, 0);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--restore", "/snap"), CLI_RUN);
	cr_assert_not(c.clock_realtime);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--clock-realtime", "--api-sock", "/a"), CLI_EXIT_USAGE);
}

/* --working-set load|off|record and --working-set-ms MS (the API's working_set_record_ms: 1 to
 * 3600000, with record only) go with --restore, and are not recorded (process settings). */
Test(cli, working_set_and_its_time_limit, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(
	    PARSE(&c, "--restore", "/snap", "--working-set", "record", "--working-set-ms", "2000"),
	    CLI_RUN);
	cr_assert_str_eq(c.working_set, "record");
	cr_assert_eq(c.working_set_ms, 2000);
	cr_assert_eq(c.nrecorded, 0);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--working-set-ms", "3600000", "--working-set",
			   "record"),
		     CLI_RUN, "in either order");
	cr_assert_eq(c.working_set_ms, 3600000);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--working-set", "record"), CLI_RUN);
	cr_assert_eq(c.working_set_ms, 0, "no limit: a request stops it");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--working-set", "sometimes"), CLI_EXIT_USAGE);
	char *bad[] = {"0", "3600001", "-5", "2s", "", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(PARSE(&c, "--restore", "/snap", "--working-set", "record",
				   "--working-set-ms", bad[i]),
			     CLI_EXIT_USAGE, "--working-set-ms '%s' was taken", bad[i]);
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--working-set-ms", "2000"), CLI_EXIT_USAGE,
		     "a limit without record");
	cr_assert_eq(
	    PARSE(&c, "--restore", "/snap", "--working-set", "load", "--working-set-ms", "2000"),
	    CLI_EXIT_USAGE);
	cr_assert_eq(
	    PARSE(&c, "--working-set", "record", "--working-set-ms", "2000", "--api-sock", "/a"),
	    CLI_EXIT_USAGE, "not without --restore");
}

Test(cli, check_cpu_and_cpu_check, .init = quiet)
{
	struct vm_config c;
	char err[256];
	cr_assert_eq(PARSE(&c, "--check-cpu", "/snap"), CLI_CHECK_CPU);
	cr_assert_str_eq(c.check_cpu, "/snap");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--check-cpu"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--cpu-check", "off"), CLI_RUN);
	cr_assert(c.cpu_check_off);
	cr_assert_eq(c.nrecorded, 0);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--cpu-check", "on"), CLI_RUN);
	cr_assert_not(c.cpu_check_off);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--cpu-check", "maybe"), CLI_EXIT_USAGE);
	vm_config_init(&c);
	cr_assert_eq(cli_apply(&c, "cpu-check", "off", err, sizeof(err)), -EINVAL);
	cli_free(&c);
}

/* --cpu-template NAME and --cpu-template-file FILE: the last wins, never recorded (a snapshot
 * carries the CPUID); a bad name or file is a usage error; not with --restore. */
Test(cli, cpu_templates, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpu-template", "T2S"), CLI_RUN);
	cr_assert_not_null(c.cpu_template);
	cr_assert_str_eq(c.cpu_template->name, "T2S");
	cr_assert_eq(c.nrecorded, 1, "only --kernel");
	cli_free(&c);
	cr_assert_null(c.cpu_template);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpu-template", "T2A", "--cpu-template", "None"),
		     CLI_RUN);
	cr_assert_null(c.cpu_template, "None: no template");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpu-template", "t2"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpu-template-file", "/nonexistent.json"),
		     CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--restore", "/snap", "--cpu-template", "T2"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--cpu-template", "C3", "--cpu-template-dump"),
		     CLI_CPU_TEMPLATE_DUMP);
	cr_assert_str_eq(c.cpu_template->name, "C3", "kept for the dump");
	cli_free(&c);
}

/* What Firecracker's jailer (and vmm-jail) put before the caller's arguments. */
Test(cli, jailer_arguments)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--id", "vm-1", "--start-time-us", "123456789",
			   "--start-time-cpu-us", "0", "--parent-cpu-time-us", "42", "-k", "x"),
		     CLI_RUN);
	cr_assert_str_eq(c.instance_id, "vm-1");
	cr_assert(c.have_start_time && c.have_start_time_cpu);
	cr_assert_eq(c.start_time_us, 123456789u);
	cr_assert_eq(c.start_time_cpu_us, 0);
	cr_assert_eq(c.parent_cpu_time_us, 42);
	for (int i = 0; i < c.nrecorded; i++) /* how the process runs, not what the VM is */
		cr_assert(strcmp(c.recorded[i].name, "id") && !strstr(c.recorded[i].name, "time"),
			  "%s recorded", c.recorded[i].name);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "--no-seccomp", "-k", "x"), CLI_RUN);
	cr_assert_eq(c.seccomp, SANDBOX_OFF, "Firecracker's --no-seccomp");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x"), CLI_RUN);
	cr_assert_neq(c.seccomp, SANDBOX_OFF);
	cr_assert_null(c.instance_id);
	cr_assert_not(c.have_start_time || c.have_start_time_cpu);
	cli_free(&c);
}

Test(cli, instance_id_rules, .init = quiet)
{
	struct vm_config c;
	char longest[CLI_INSTANCE_ID_MAX + 2];
	memset(longest, 'a', CLI_INSTANCE_ID_MAX);
	longest[CLI_INSTANCE_ID_MAX] = '\0';
	cr_assert(cli_instance_id_ok(longest));
	cr_assert(cli_instance_id_ok("A-9"));
	cr_assert(cli_instance_id_ok("-"));
	longest[CLI_INSTANCE_ID_MAX] = 'a';
	longest[CLI_INSTANCE_ID_MAX + 1] = '\0';
	cr_assert_not(cli_instance_id_ok(longest), "65 characters");
	char *bad[] = {"", "a_b", "a.b", "a/b", "..", "a b", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_not(cli_instance_id_ok(bad[i]), "%s", bad[i]);
		cr_assert_eq(PARSE(&c, "-k", "x", "--id", bad[i]), CLI_EXIT_USAGE, "%s", bad[i]);
	}
	cr_assert_eq(PARSE(&c, "-k", "x", "--start-time-us", "-1"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--start-time-cpu-us", "1x"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--parent-cpu-time-us", ""), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--start-time-us", "18446744073709551616"),
		     CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--start-time-us", "18446744073709551615"), CLI_RUN);
	cli_free(&c);
}

/* Firecracker's logger and metrics options, applied at start by the control plane. */
Test(cli, firecracker_logging_options, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--log-path", "fc.log", "--level", "Debug", "--module", "vmm/api",
			   "--show-level", "--show-log-origin", "--metrics-path", "m.fifo", "-k",
			   "x"),
		     CLI_RUN);
	cr_assert(c.fc_log.given && c.fc_log.show_level && c.fc_log.show_origin);
	cr_assert_str_eq(c.fc_log.path, "fc.log");
	cr_assert_str_eq(c.fc_log.level, "Debug");
	cr_assert_str_eq(c.fc_log.module, "vmm/api");
	cr_assert_str_eq(c.fc_metrics_path, "m.fifo");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--metrics-path", "m"), CLI_RUN);
	cr_assert_not(c.fc_log.given, "metrics alone leave the log as it is");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--log-path", ""), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--seccomp-filter", "f.bpf"), CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--no-api", "-k", "x"), CLI_EXIT_USAGE, "needs --config-file");
	cr_assert_eq(PARSE(&c, "--no-api", "--config-file", "c.json", "--api-sock", "s"),
		     CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--no-api", "--config-file", "c.json"), CLI_RUN);
	cr_assert(c.fc_no_api);
	cli_free(&c);
}

Test(cli, firecracker_enable_pci, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--disk", "a.img", "--enable-pci"), CLI_RUN);
	cr_assert_eq(c.transport, TRANSPORT_PCI, "in effect for the API's devices too");
	cr_assert_eq(c.nrecorded, 2, "recorded as --transport pci, before the kernel");
	cr_assert_str_eq(c.recorded[0].name, "transport");
	cr_assert_str_eq(c.recorded[0].arg, "pci");
	cr_assert_str_eq(c.recorded[1].name, "kernel");
	struct vm_config again;
	config_replay(&c, &again);
	cr_assert_eq(again.transport, TRANSPORT_PCI);
	const struct dev_disk_cfg *disks = device_cfg_find(&again, &device_disk);
	cr_assert_eq(disks->disk[0].transport, TRANSPORT_PCI, "the disk's record says it");
	cli_free(&again);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x"), CLI_RUN);
	cr_assert_eq(c.transport, TRANSPORT_MMIO, "mmio without it");
	cli_free(&c);
}

Test(cli, firecracker_snapshot_version, .init = quiet)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "--snapshot-version"), CLI_EXIT_OK, "needs no kernel");
	cr_assert_str_eq(cli_snapshot_version(), "1.0.0");
	cr_assert_eq(PARSE(&c, "--describe-snapshot", "s/state"), CLI_DESCRIBE_SNAPSHOT);
	cr_assert_str_eq(c.describe_snapshot, "s/state");
	cli_free(&c);
}

/* Writes `len` bytes to a fresh temporary file; its path in `path`. */
static void temp_file(char *path, const void *data, size_t len)
{
	strcpy(path, "/tmp/test_cli_snapXXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

Test(cli, describe_snapshot_reads_the_header, .init = quiet)
{
	char path[64];
	static const unsigned char v1[24] = {'V', 'M', 'M', 'S', 'N', 'A', 'P', 0, 1, 0, 0, 0};
	temp_file(path, v1, sizeof(v1));
	cr_assert_eq(cli_describe_snapshot(path), 0);
	unlink(path);
	static const unsigned char v7[12] = {'V', 'M', 'M', 'S', 'N', 'A', 'P', 0, 7, 0, 0, 0};
	temp_file(path, v7, sizeof(v7));
	cr_assert_eq(cli_describe_snapshot(path), 0, "another version is described, not refused");
	unlink(path);
	temp_file(path, "not a snapshot at all", 21);
	cr_assert_eq(cli_describe_snapshot(path), 1);
	unlink(path);
	temp_file(path, "VMM", 3);
	cr_assert_eq(cli_describe_snapshot(path), 1, "too short");
	unlink(path);
	cr_assert_eq(cli_describe_snapshot("/nonexistent/state"), 1);
	cr_assert_eq(cli_describe_snapshot("/tmp"), 1, "a directory");
}
