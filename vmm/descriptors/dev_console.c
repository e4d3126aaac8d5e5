/* --console: the host side of the guest console; "virtio" adds a virtio-console (hvc0,
 * virtio/console/console.h) on it, while COM1 keeps showing early boot messages. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"
#include "virtio/console/console.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* The record's name of the option's first element, its KIND ("virtio", "file:PATH"). */
#define CONSOLE_KIND  "kind"
#define CONSOLE_USAGE "expected stdio, virtio, none or file:PATH, then ,bw=SIZE:REFILL_MS[:BURST]"

/* bw=: the bucket over COM1's output, as --disk's bw= */
static int set_bw(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	(void)key;
	return rl_bucket_parse(val, dst, err, errlen) ? -EINVAL : 0;
}

static const struct opt_key console_keys[] = {{"bw", 0, set_bw}, {NULL, 0, NULL}};

/* KIND (the option's first element, "file:PATH" read whole: a comma of PATH is written ",," on
 * the command line, as --disk's) into *c. */
static int parse_kind(const char *kind, struct dev_console_cfg *c, enum virtio_transport tr,
		      char *err, size_t errlen)
{
	if (strcmp(kind, "stdio") == 0) {
		c->mode = CONSOLE_MODE_STDIO;
	} else if (strcmp(kind, "none") == 0) {
		c->mode = CONSOLE_MODE_NONE;
	} else if (strcmp(kind, "virtio") == 0) {
		c->mode = CONSOLE_MODE_STDIO;
		c->virtio = true;
		c->transport = tr;
	} else if (strncmp(kind, "file:", 5) == 0 && kind[5]) {
		c->mode = CONSOLE_MODE_FILE;
		c->path = strdup(kind + 5);
		if (!c->path)
			return parse_fail(err, errlen, "out of memory");
	} else {
		return parse_fail(err, errlen, "%s", CONSOLE_USAGE);
	}
	return 0;
}

/* The kind item of `l` (the option's first element), removed from it, into *c. */
static int take_kind(struct opt_items *l, struct dev_console_cfg *c, enum virtio_transport tr,
		     char *err, size_t errlen)
{
	char *kind = NULL;
	int r = opt_items_take(l, CONSOLE_KIND, &kind) && kind
		    ? parse_kind(kind, c, tr, err, errlen)
		    : parse_fail(err, errlen, "%s", CONSOLE_USAGE);
	free(kind);
	if (!r && opt_items_find(l, CONSOLE_KIND) >= 0)
		r = parse_fail(err, errlen, "option '%s' given twice", CONSOLE_KIND);
	return r;
}

/* Items (`l`, a copy this consumes) into *c: the hotplug slot, the kind, then bw=. */
static int console_from_items(struct opt_items *l, struct dev_console_cfg *c,
			      enum virtio_transport tr, char *err, size_t errlen)
{
	int slot, r = dev_hotplug_slot_take(l, tr, true, &slot, err, errlen);
	if (!r)
		r = take_kind(l, c, tr, err, errlen);
	if (!r)
		r = opts_parse_items(l, console_keys, &c->rate, CONSOLE_USAGE, err, errlen);
	if (!r && c->rate.size && c->mode == CONSOLE_MODE_NONE)
		r = parse_fail(err, errlen, "bw= limits the console's output: none has none");
	if (!r && slot && !c->virtio)
		r = parse_fail(err, errlen, "hotplug-slot=%d: only virtio is a PCI device", slot);
	c->hotplug_slot = r ? 0 : slot;
	return r;
}

/* The last --console wins, as before; its block owns its path (cfg_copy, cfg_free). A refused
 * one leaves the block as it was. */
static int add_console(struct vm_config *cfg, const struct opt_items *items, char *err,
		       size_t errlen)
{
	struct dev_console_cfg n = {0};
	struct opt_items rest;
	int r = opt_items_copy(&rest, items);
	if (!r)
		r = console_from_items(&rest, &n, cfg->transport, err, errlen);
	opt_items_free(&rest);
	struct dev_console_cfg *c = r ? NULL : device_cfg(cfg, &device_console);
	if (!r && !c)
		r = fail_rc(-ENOMEM, err, errlen, "out of memory");
	if (r) {
		free(n.path);
		return r;
	}
	free(c->path);
	*c = n;
	return 0;
}

static int parse_console(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_console, cfg, arg, err, errlen);
}

static int console_count(const struct vm_config *cfg)
{
	return device_cfg_find(cfg, &device_console) ? 1 : 0;
}

/* The kind item that makes `c` again: "stdio", "virtio", "none" or "file:PATH". */
static int kind_item(const struct dev_console_cfg *c, struct opt_items *out)
{
	if (c->mode == CONSOLE_MODE_FILE)
		return opt_items_addf(out, CONSOLE_KIND, "file:%s", c->path ? c->path : "");
	return opt_items_add(out, CONSOLE_KIND,
			     c->mode == CONSOLE_MODE_NONE ? "none"
			     : c->virtio		  ? "virtio"
							  : "stdio");
}

/* Its transport is hvc0's, the block's own (only "virtio" sets it). */
static int console_items(const struct vm_config *cfg, int i, struct opt_items *out,
			 enum virtio_transport *t)
{
	const struct dev_console_cfg *c = device_cfg_find(cfg, &device_console);
	(void)i;
	*t = c->transport;
	int r = kind_item(c, out);
	if (!r)
		r = rl_bucket_to_item(&c->rate, "bw", out);
	return r ? r : dev_hotplug_slot_put(out, c->hotplug_slot);
}

static int copy_console(void *dst, const void *src)
{
	struct dev_console_cfg *to = dst;
	const struct dev_console_cfg *from = src;
	to->path = from->path ? strdup(from->path) : NULL;
	return from->path && !to->path ? -ENOMEM : 0;
}

static void free_console(void *block)
{
	struct dev_console_cfg *c = block;
	free(c->path);
	c->path = NULL;
}

struct dev_console_cfg dev_console_config(const struct vm_config *cfg)
{
	const struct dev_console_cfg *c = device_cfg_find(cfg, &device_console);
	return c ? *c : (struct dev_console_cfg){.mode = CONSOLE_MODE_STDIO};
}

/* file:PATH opened for writing as the console will (host_path_open(): a regular file or a FIFO,
 * never a device or a file of /proc) and closed, without truncating it: a missing directory, a
 * directory or an unwritable file is said before KVM. A missing file is created and removed
 * again at once, so the check leaves nothing behind; the console creates it when the VM is
 * built. */
static int check_console(const struct vm_config *cfg)
{
	struct dev_console_cfg c = dev_console_config(cfg);
	char err[HOST_PATH_ERR_MAX];
	struct stat st;
	if (c.mode != CONSOLE_MODE_FILE)
		return 0;
	/* A FIFO is left to the console's own open (which checks it): the reader that opened it
	 * first would read EOF when this check closed its only writer. */
	if (stat(c.path, &st) == 0 && S_ISFIFO(st.st_mode))
		return 0;
	int fd = host_path_open(c.path, O_WRONLY, 0, HOST_PATH_REGULAR | HOST_PATH_FIFO, err,
				sizeof(err));
	if (fd == -ENOENT) {
		fd = host_path_open(c.path, O_WRONLY | O_CREAT | O_EXCL, 0644, HOST_PATH_REGULAR,
				    err, sizeof(err));
		if (fd >= 0)
			unlink(c.path);
	}
	if (fd < 0) {
		log_error("console: cannot open %s", err);
		return fd;
	}
	close(fd);
	return 0;
}

static int create_console(struct vm *vm)
{
	struct dev_console_cfg c = dev_console_config(vm->cfg);
	if (!c.virtio)
		return 0;
	struct virtio_dev *dev = NULL;
	int err = virtio_console_create(&dev, vm_devices_console(vm));
	return err ? err
		   : vm_virtio_place_kept(vm, dev, c.transport, dev_console_hotplug.kind,
					  c.hotplug_slot);
}

static int resize_one(struct virtio_dev *dev, void *opaque)
{
	(void)opaque;
	if (virtio_console_is(dev))
		virtio_console_winch(dev); /* an eventfd write: its I/O thread re-reads the size */
	return 0;
}

/* SIGWINCH: hvc0 learns the terminal's new size (5.3.6.1: a config change). COM1 has none. */
static void console_resized(struct vm *vm)
{
	if (dev_console_config(vm->cfg).virtio)
		vm_for_each_virtio_dev(vm, resize_one, NULL);
}

/* file:PATH: a file (or FIFO) the console creates or replaces (a restore checks it). */
static int claims_console(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	struct dev_console_cfg c = dev_console_config(cfg);
	struct device_claim file = {.kind = DEVICE_CLAIM_PATH,
				    .option = "console",
				    .value = c.path,
				    .what = "console file",
				    .id = "",
				    .access = DEVICE_PATH_WRITE | DEVICE_PATH_CREATE};
	return c.mode == CONSOLE_MODE_FILE && c.path ? fn(&file, opaque) : 0;
}

static const struct device_option console_options[] = {
    {"console", required_argument,
     "      --console KIND    the guest console's host side:\n"
     "                          stdio      COM1 (8250/16550A) on stdout, input from stdin\n"
     "                                     (raw terminal; Ctrl-A x quits, Ctrl-A h helps)\n"
     "                          virtio     a virtio-console (hvc0) on stdio; COM1 output\n"
     "                                     still shows early boot messages\n"
     "                          none       output discarded, no input\n"
     "                          file:PATH  output written to PATH (a file or a FIFO; a\n"
     "                                     FIFO nobody reads drops output), no input\n"
     "                        default stdio; then ,bw=SIZE:REFILL_MS[:BURST]: COM1's output\n"
     "                        through a byte bucket (as --disk's bw=), the bytes over it\n"
     "                        dropped and counted (metrics: uart.rate_limiter_dropped_bytes);\n"
     "                        virtio's ,hotplug-slot=N (PCI) keeps hvc0 at device number N (how\n"
     "                        a removal of an earlier boot device records it: docs/hotplug.md)\n",
     parse_console},
    {NULL, 0, NULL, NULL},
};

/* kind=file:PATH: a file (or FIFO) the console creates or replaces. */
static const struct device_path_field console_path_fields[] = {
    {CONSOLE_KIND, DEVICE_PATH_KIND_CREATE, "console file", NULL, "file:", 0, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths console_paths = {NULL, NULL, console_path_fields};

const struct device_desc device_console = {.name = "console",
					   .options = console_options,
					   .check = check_console,
					   .create = create_console,
					   .terminal_resized = console_resized,
					   .cfg_size = sizeof(struct dev_console_cfg),
					   .cfg_copy = copy_console,
					   .cfg_free = free_console,
					   .claims = claims_console,
					   .api = &dev_console_api,
					   .built_beside_source = true,
					   .record_head = CONSOLE_KIND,
					   .record_count = console_count,
					   .record_items = console_items,
					   .hotplug = &dev_console_hotplug,
					   .record_add = add_console,
					   .paths = &console_paths};
