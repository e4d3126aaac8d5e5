/* The display's record (vmm/descriptors/dev_display.c, device_record.h): --display, --gpu,
 * --screenshot and --input-script are one device, each option an item of its one record. Every
 * combination of them on both transports is written and read back the same, paths with commas
 * included; a record's bad members are refused with the options' own messages. */
#include "record_roundtrip.h"
#include "virtio/display/display_sdl.h"
#include "vmm/descriptors/dev_display.h"

#define SHOT   "/tmp/shot,1.png"
#define SCRIPT "/tmp/in,put.txt"

static void apply(struct vm_config *cfg, const char *name, const char *arg)
{
	char err[256] = "";
	const struct device_option *o = device_table_option(name, arg);
	cr_assert(o, "--%s: no such option", name);
	cr_assert_eq(o->parse(cfg, arg, err, sizeof(err)), 0, "--%s %s: %s", name, arg, err);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void same_blocks(const struct vm_config *a, const struct vm_config *b, int mask)
{
	const struct dev_display_cfg *x = device_cfg_find(a, &device_display);
	const struct dev_display_cfg *y = device_cfg_find(b, &device_display);
	cr_assert(x && y, "mask %d: a block each", mask);
	cr_assert_eq(x->opts.mode, y->opts.mode, "mask %d", mask);
	cr_assert_eq(x->opts.gpu, y->opts.gpu, "mask %d", mask);
	cr_assert(same_str(x->opts.screenshot, y->opts.screenshot), "mask %d", mask);
	cr_assert(same_str(x->opts.input_script, y->opts.input_script), "mask %d", mask);
	cr_assert_eq(x->transport, y->transport, "mask %d", mask);
}

/* The options of `mask` (1 --display, 2 --gpu, 4 --screenshot, 8 --input-script) on `t` into
 * *a; its records read into *b, whose records must be the same document. */
static void run_mask(struct vm_config *a, struct vm_config *b, enum virtio_transport t, int mask,
		     const char *mode)
{
	char err[256] = "";
	vm_config_init(a);
	vm_config_init(b);
	a->transport = t;
	if (mask & 1)
		apply(a, "display", mode);
	if (mask & 2)
		apply(a, "gpu", NULL);
	if (mask & 4)
		apply(a, "screenshot", SHOT);
	if (mask & 8)
		apply(a, "input-script", SCRIPT);
	json_t *doc = device_records(a);
	char *text = json_dumps(doc, JSON_SORT_KEYS);
	b->transport = t == TRANSPORT_PCI ? TRANSPORT_MMIO : TRANSPORT_PCI;
	cr_assert_eq(device_records_load(b, doc, err, sizeof(err)), 0, "%s: %s", text, err);
	json_t *again = device_records(b);
	char *text2 = json_dumps(again, JSON_SORT_KEYS);
	cr_assert_str_eq(text2, text, "written, read and written again");
	free(text);
	free(text2);
	json_decref(again);
	json_decref(doc);
}

Test(record_display, every_combination_comes_back_the_same_on_both_transports)
{
	enum virtio_transport ts[] = {TRANSPORT_PCI, TRANSPORT_MMIO};
	const char *modes[] = {"none", "sdl"};
	int nmodes = display_sdl_available() ? 2 : 1;
	for (int m = 0; m < nmodes; m++) {
		for (int k = 0; k < 2; k++) {
			for (int mask = 1; mask < 16; mask++) {
				struct vm_config a, b;
				run_mask(&a, &b, ts[k], mask, modes[m]);
				same_blocks(&a, &b, mask);
				device_cfg_free_all(&a);
				device_cfg_free_all(&b);
			}
		}
	}
}

Test(record_display, the_record_holds_each_option)
{
	struct vm_config a, b;
	run_mask(&a, &b, TRANSPORT_PCI, 2 | 4 | 8, NULL);
	json_t *rec = device_record_instance(&a, &device_display, 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "pci");
	cr_assert(json_is_true(json_object_get(rec, "gpu")));
	cr_assert_str_eq(json_string_value(json_object_get(rec, "screenshot")), SHOT);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "input-script")), SCRIPT);
	cr_assert_null(json_object_get(rec, "display"), "none is the default");
	json_decref(rec);
	const struct dev_display_cfg *c = device_cfg_find(&b, &device_display);
	cr_assert_str_eq(c->opts.screenshot, SHOT, "the comma kept");
	cr_assert_eq(c->transport, TRANSPORT_PCI);
	device_cfg_free_all(&a);
	device_cfg_free_all(&b);
}

/* --screenshot and --input-script alone leave the devices on mmio whatever --transport says (as
 * they always did), and the record says so. */
Test(record_display, the_transport_is_the_devices_own)
{
	struct vm_config a, b;
	run_mask(&a, &b, TRANSPORT_PCI, 4, NULL);
	json_t *rec = device_record_instance(&a, &device_display, 0);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "transport")), "mmio");
	json_decref(rec);
	cr_assert_eq(
	    ((const struct dev_display_cfg *)device_cfg_find(&b, &device_display))->transport,
	    TRANSPORT_MMIO);
	device_cfg_free_all(&a);
	device_cfg_free_all(&b);
}

Test(record_display, a_hand_written_record)
{
	struct vm_config cfg;
	char err[256] = "";
	cr_assert_eq(record_load_one(&device_display,
				     "{\"screenshot\": \"/tmp/a,b.png\", \"gpu\": true, "
				     "\"display\": \"none\", \"transport\": \"pci\"}",
				     err, sizeof(err), &cfg),
		     0, "%s", err);
	const struct dev_display_cfg *c = device_cfg_find(&cfg, &device_display);
	cr_assert_str_eq(c->opts.screenshot, "/tmp/a,b.png");
	cr_assert(c->opts.gpu);
	cr_assert_null(c->opts.input_script);
	cr_assert_eq(c->transport, TRANSPORT_PCI);
	device_cfg_free_all(&cfg);
}

Test(record_display, bad_records_are_refused_and_leave_nothing)
{
	static const char *const bad[][2] = {
	    {"{\"display\": \"vga\"}", "expected sdl or none"},
	    {"{\"colour\": \"red\"}", "unknown option 'colour'"},
	    {"{\"gpu\": \"yes\"}", "option 'gpu' takes no value"},
	    {"{\"screenshot\": [\"/a\", \"/b\"]}", "option 'screenshot' given twice"},
	    {"{\"input-script\": {}}", "member 'input-script': expected"},
	    {"{\"gpu\": true, \"screenshot\": \"/a\", \"display\": 3}", "expected sdl or none"},
	    {"{\"transport\": \"isa\"}", "member 'transport'"},
	};
	records_refused(&device_display, bad, sizeof(bad) / sizeof(bad[0]));
}

/* A refused option changes nothing of what the others set. */
Test(record_display, a_refused_option_keeps_the_block)
{
	struct vm_config cfg;
	char err[256] = "";
	vm_config_init(&cfg);
	apply(&cfg, "screenshot", SHOT);
	const struct device_option *o = device_table_option("display", "vga");
	cr_assert_neq(o->parse(&cfg, "vga", err, sizeof(err)), 0);
	cr_assert_str_eq(err, "expected sdl or none");
	apply(&cfg, "screenshot", "/tmp/other.png");
	const struct dev_display_cfg *c = device_cfg_find(&cfg, &device_display);
	cr_assert_str_eq(c->opts.screenshot, "/tmp/other.png", "the last one wins");
	device_cfg_free_all(&cfg);
}
