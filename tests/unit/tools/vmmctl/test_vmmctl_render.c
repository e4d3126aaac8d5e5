/* tools/vmmctl/render.c: the tables and summaries, and odd documents (missing fields, wrong
 * types, wrong shapes) that must print "-" or be refused, never crash. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vmmctl/render.h"

static char *text;

/* Renders JSON `doc` (and `state` for info) and returns what was printed (in `text`). */
static int render(enum vmmctl_view view, const char *doc, const char *state)
{
	size_t len;
	free(text); /* the previous render's text, in tests that render twice */
	text = NULL;
	FILE *f = open_memstream(&text, &len);
	json_t *d = json_loads(doc, JSON_DECODE_ANY, NULL);
	json_t *s = state ? json_loads(state, 0, NULL) : NULL;
	cr_assert_not_null(d, "bad test JSON %s", doc);
	int ret = vmmctl_render(view, d, s, f);
	fclose(f);
	json_decref(d);
	json_decref(s);
	return ret;
}

static void assert_line(const char *line)
{
	cr_assert(strstr(text, line), "no line '%s' in:\n%s", line, text);
}

static void teardown(void)
{
	free(text);
	text = NULL;
}

TestSuite(vmmctl_render, .fini = teardown);

Test(vmmctl_render, info_summary)
{
	cr_assert_eq(render(VIEW_INFO,
			    "{\"id\": \"vmm\", \"state\": \"Running\", \"vmm_version\": \"0.1.0\","
			    " \"app_name\": \"vmm\"}",
			    "{\"state\": \"Paused\", \"uptime_ms\": 61500, \"paused\": true}"),
		     0);
	assert_line("id:         vmm\n");
	assert_line("app:        vmm 0.1.0\n");
	assert_line("state:      Paused\n");
	assert_line("paused:     yes\n");
	assert_line("uptime:     61.500 s\n");
}

Test(vmmctl_render, info_without_state)
{
	cr_assert_eq(render(VIEW_INFO, "{\"state\": \"Running\"}", NULL), 0);
	assert_line("id:         -\n");
	assert_line("state:      Running\n");
	cr_assert_null(strstr(text, "paused"));
}

Test(vmmctl_render, device_table)
{
	cr_assert_eq(
	    render(VIEW_DEVICES,
		   "[{\"name\": \"virtio-blk0\", \"device_id\": 2, \"transport\": \"mmio\","
		   " \"requests\": 10, \"bytes\": 4096, \"errors\": 0, \"stalls\": 1,"
		   " \"kicks\": 7, \"interrupts\": 8}]",
		   NULL),
	    0);
	cr_assert(strncmp(text, "DEVICE ", 7) == 0, "%s", text);
	assert_line("virtio-blk0         2 mmio                10         4096            0"
		    "            1            7            8\n");
}

Test(vmmctl_render, odd_fields_print_dash)
{
	cr_assert_eq(
	    render(VIEW_DEVICES,
		   "[{\"name\": 5, \"requests\": \"many\", \"bytes\": 1.5, \"errors\": null,"
		   " \"stalls\": [1]}, 7, {}]",
		   NULL),
	    0);
	assert_line("5                   - -                 many        1.500            -"
		    "            -");
	cr_assert_eq(render(VIEW_DEVICES, "[]", NULL), 0);
	assert_line("(no devices)");
}

Test(vmmctl_render, long_names_are_cut_not_overflowed)
{
	char doc[600];
	char name[400];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(doc, sizeof(doc), "[{\"name\": \"%s\"}]", name);
	cr_assert_eq(render(VIEW_DEVICES, doc, NULL), 0);
	cr_assert_lt(strlen(text), 400, "one cell is at most 31 characters");
}

Test(vmmctl_render, vcpu_columns_follow_the_exit_reasons)
{
	cr_assert_eq(render(VIEW_VCPUS,
			    "[{\"index\": 0, \"exits\": {\"io\": 1, \"mmio\": 2, \"hlt\": 3},"
			    " \"exits_total\": 6}, {\"index\": 1, \"exits\": {\"hlt\": 9}},"
			    " {\"index\": 2}]",
			    NULL),
		     0);
	assert_line("VCPU            io         mmio          hlt        total\n");
	assert_line("0                1            2            3            6\n");
	assert_line("1                -            -            9            -\n");
	assert_line("2                -            -            -            -\n");
}

Test(vmmctl_render, vcpus_seen_by_the_last_sample)
{
	cr_assert_eq(render(VIEW_VCPUS,
			    "[{\"index\": 0, \"exits\": {\"io\": 1}, \"exits_total\": 1,"
			    " \"seen\": {\"mp_state\": \"halted\", \"rip\": \"0xffffffff81000010\","
			    " \"interrupts\": false, \"cr3\": \"0x2a0c000\"}},"
			    " {\"index\": 1, \"exits\": {\"io\": 2}}]",
			    NULL),
		     0);
	assert_line("VCPU            io        total seen          IF  rip                cr3\n");
	assert_line(
	    "0                1            1 halted        no  0xffffffff81000010 0x2a0c000\n");
	assert_line("1                2            - -             -   -                  -\n");
}

Test(vmmctl_render, metrics_document)
{
	cr_assert_eq(
	    render(VIEW_METRICS,
		   "{\"utc_timestamp_ms\": 1700000000000, \"uptime_ms\": 2000,"
		   " \"api\": {\"requests\": 5, \"errors\": 1},"
		   " \"devices\": [{\"name\": \"virtio-rng0\"}],"
		   " \"vcpus\": [{\"index\": 0, \"exits\": {\"io\": 4}, \"exits_total\": 4}]}",
		   NULL),
	    0);
	assert_line("timestamp:  1700000000000 ms (UTC)\n");
	assert_line("uptime:     2.000 s\n");
	assert_line("api:        5 requests, 1 errors\n");
	assert_line("virtio-rng0");
	assert_line("0                4            4\n");
}

/* COM1's line: the dropped bytes, then its registers in hex when the VMM reports them. */
Test(vmmctl_render, metrics_uart_registers)
{
	cr_assert_eq(render(VIEW_METRICS,
			    "{\"api\": {\"requests\": 1, \"errors\": 0},"
			    " \"uart\": {\"rate_limiter_dropped_bytes\": 0,"
			    " \"fifo_dropped_bytes\": 7, \"ier\": 7, \"mcr\": 11, \"iir\": 2,"
			    " \"irq_line\": 1}}",
			    NULL),
		     0);
	assert_line("uart:       0 bytes dropped by the rate limit, 7 by a full FIFO; IER 0x07 MCR "
		    "0x0b IIR 0x02, IRQ line 1\n");
}

Test(vmmctl_render, config_summary)
{
	cr_assert_eq(render(VIEW_CONFIG,
			    "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 512,"
			    " \"smt\": false}, \"boot-source\": {\"kernel_image_path\": \"/k\"},"
			    " \"drives\": [{\"drive_id\": \"root\", \"path_on_host\": \"/r.img\","
			    " \"is_root_device\": true, \"is_read_only\": true}],"
			    " \"network-interfaces\": []}",
			    NULL),
		     0);
	assert_line("machine:    2 vCPUs, 512 MiB, smt no\n");
	assert_line("kernel:     /k\n");
	assert_line("initrd:     -\n");
	assert_line("  root         /r.img (root) (read-only)\n");
	assert_line("network:    -\n");
	assert_line("vsock:      -\n");
	assert_line("balloon:    -\n");
}

/* Rate limits print as the VMM's --disk / --net options spell them (bytes with a suffix). */
Test(vmmctl_render, config_rate_limits_vsock_balloon)
{
	cr_assert_eq(
	    render(VIEW_CONFIG,
		   "{\"drives\": [{\"drive_id\": \"d1\", \"path_on_host\": \"/d\","
		   " \"rate_limiter\": {\"bandwidth\": {\"size\": 2097152, \"one_time_burst\": 0,"
		   " \"refill_time\": 1000}, \"ops\": {\"size\": 500, \"one_time_burst\": 100,"
		   " \"refill_time\": 1000}}}, {\"drive_id\": \"d2\", \"path_on_host\": \"/e\","
		   " \"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"one_time_burst\": 3072,"
		   " \"refill_time\": 10}}}],"
		   " \"network-interfaces\": [{\"iface_id\": \"net0\", \"host_dev_name\": \"tap0\","
		   " \"guest_mac\": \"52:54:00:00:00:01\", \"rx_rate_limiter\": {\"ops\":"
		   " {\"size\": 5, \"refill_time\": 10}}, \"tx_rate_limiter\": {\"bandwidth\":"
		   " {\"size\": 15140, \"refill_time\": 10}}}],"
		   " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"},"
		   " \"balloon\": {\"amount_mib\": 64, \"deflate_on_oom\": true,"
		   " \"stats_polling_interval_s\": 0, \"free_page_reporting\": false}}",
		   NULL),
	    0);
	assert_line("  d1           /d bw=2M:1000 ops=500:1000:100\n");
	assert_line("  d2           /e bw=1000:10:3K\n");
	assert_line("  net0         tap0 mac 52:54:00:00:00:01 rx-ops=5:10 tx-bw=15140:10\n");
	assert_line("vsock:      cid 3, /tmp/v.sock\n");
	assert_line("balloon:    64 MiB, deflate-on-oom yes, statistics off,"
		    " free-page-reporting no\n");
}

Test(vmmctl_render, config_odd_rate_limits)
{
	cr_assert_eq(render(VIEW_CONFIG,
			    "{\"drives\": [{\"drive_id\": \"d\", \"rate_limiter\": {\"bandwidth\":"
			    " {\"size\": 0, \"refill_time\": 5}, \"ops\": {\"size\": 7}}},"
			    " {\"drive_id\": \"e\", \"rate_limiter\": [1]}],"
			    " \"balloon\": {\"stats_polling_interval_s\": 2}, \"vsock\": 3}",
			    NULL),
		     0);
	assert_line("  d            - ops=7:-\n");
	assert_line("  e            -\n");
	assert_line("balloon:    - MiB, deflate-on-oom -, statistics every 2 s,"
		    " free-page-reporting -\n");
	assert_line("vsock:      -\n");
}

Test(vmmctl_render, balloon_table)
{
	cr_assert_eq(render(VIEW_BALLOON,
			    "{\"amount_mib\": 256, \"deflate_on_oom\": true,"
			    " \"stats_polling_interval_s\": 5, \"free_page_reporting\": false,"
			    " \"actual_mib\": 128}",
			    NULL),
		     0);
	cr_assert_str_eq(text, "target:              256 MiB\n"
			       "actual:              128 MiB\n"
			       "deflate-on-oom:      yes\n"
			       "statistics:          every 5 s\n"
			       "free-page-reporting: no\n");
	/* before start the device does not exist: no actual size */
	cr_assert_eq(render(VIEW_BALLOON,
			    "{\"amount_mib\": 0, \"deflate_on_oom\": false,"
			    " \"stats_polling_interval_s\": 0, \"free_page_reporting\": true}",
			    NULL),
		     0);
	cr_assert_null(strstr(text, "actual"), "%s", text);
	assert_line("statistics:          off\n");
	assert_line("free-page-reporting: yes\n");
	cr_assert_eq(render(VIEW_BALLOON, "{\"amount_mib\": \"x\", \"actual_mib\": null}", NULL),
		     0);
	assert_line("target:              x MiB\n");
	assert_line("actual:              - MiB\n");
	assert_line("statistics:          -\n");
}

Test(vmmctl_render, balloon_statistics)
{
	cr_assert_eq(
	    render(VIEW_BALLOON_STATS,
		   "{\"target_pages\": 65536, \"actual_pages\": 32896, \"target_mib\": 256,"
		   " \"actual_mib\": 128, \"minor_faults\": 4242,"
		   " \"free_memory\": 104857600, \"swap_in\": 0, \"future_stat\": 1}",
		   NULL),
	    0);
	cr_assert_str_eq(text, "target:              256.0 MiB (65536 pages)\n"
			       "actual:              128.5 MiB (32896 pages)\n"
			       "swap_in:             0 bytes (0.0 MiB)\n"
			       "minor_faults:        4242\n"
			       "free_memory:         104857600 bytes (100.0 MiB)\n");
	cr_assert_eq(render(VIEW_BALLOON_STATS, "{\"target_pages\": 1, \"actual_pages\": 0}", NULL),
		     0);
	assert_line("(no statistics from the guest's driver yet)\n");
	cr_assert_eq(render(VIEW_BALLOON_STATS, "{\"total_memory\": \"lots\"}", NULL), 0);
	assert_line("target:              -\n");
	assert_line("total_memory:        lots\n");
}

Test(vmmctl_render, wrong_shapes_are_refused)
{
	cr_assert_eq(render(VIEW_DEVICES, "{\"name\": \"x\"}", NULL), -EPROTO);
	cr_assert_eq(render(VIEW_VCPUS, "\"text\"", NULL), -EPROTO);
	cr_assert_eq(render(VIEW_INFO, "[]", NULL), -EPROTO);
	cr_assert_eq(render(VIEW_CONFIG, "3", NULL), -EPROTO);
	cr_assert_eq(render(VIEW_BALLOON, "[]", NULL), -EPROTO);
	cr_assert_eq(render(VIEW_BALLOON_STATS, "\"text\"", NULL), -EPROTO);
	cr_assert_eq(render(VIEW_METRICS, "null", NULL), -EPROTO);
	cr_assert_eq(render(VIEW_METRICS, "{\"devices\": {}}", NULL), -EPROTO);
}

Test(vmmctl_render, raw_is_indented_json)
{
	cr_assert_eq(render(VIEW_RAW, "{\"a\": [1]}", NULL), 0);
	cr_assert_str_eq(text, "{\n  \"a\": [\n    1\n  ]\n}\n");
}
