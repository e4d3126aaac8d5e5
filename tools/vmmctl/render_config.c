/* vmmctl: GET /vm/config -> a summary: machine, boot source, drives and network interfaces
 * (with their rate limits, spelled as the VMM's --disk / --net options spell them), vsock and
 * balloon. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>

#include "tools/vmmctl/render_views.h"

/* A count of bytes with the largest binary suffix that divides it (as the VMM's options take). */
static const char *size_text(json_int_t v, char buf[CELL])
{
	static const char units[] = "GMK";
	for (int i = 0; i < 3; i++) {
		json_int_t unit = (json_int_t)1 << (10 * (3 - i));
		if (v % unit == 0) {
			snprintf(buf, CELL, "%" JSON_INTEGER_FORMAT "%c", v / unit, units[i]);
			return buf;
		}
	}
	snprintf(buf, CELL, "%" JSON_INTEGER_FORMAT, v);
	return buf;
}

/* The value of `key` of a bucket: a size in bytes with a suffix, else the number. */
static const char *bucket_value(json_t *b, const char *key, bool bytes, char buf[CELL])
{
	json_t *v = json_object_get(b, key);
	if (bytes && json_is_integer(v) && json_integer_value(v) > 0)
		return size_text(json_integer_value(v), buf);
	return render_field(b, key, buf);
}

/* " NAME=SIZE:REFILL_MS[:BURST]" for a bucket with a size; nothing for none. */
static void print_bucket(json_t *b, const char *prefix, const char *name, bool bytes, FILE *out)
{
	char s[CELL], t[CELL], u[CELL];
	json_t *size = json_object_get(b, "size"), *burst = json_object_get(b, "one_time_burst");
	if (!json_is_integer(size) || json_integer_value(size) <= 0)
		return;
	fprintf(out, " %s%s=%s:%s", prefix, name, bucket_value(b, "size", bytes, s),
		render_field(b, "refill_time", t));
	if (json_is_integer(burst) && json_integer_value(burst) > 0)
		fprintf(out, ":%s", bucket_value(b, "one_time_burst", bytes, u));
}

static void print_limiter(json_t *rl, const char *prefix, FILE *out)
{
	print_bucket(json_object_get(rl, "bandwidth"), prefix, "bw", true, out);
	print_bucket(json_object_get(rl, "ops"), prefix, "ops", false, out);
}

static void print_drives(json_t *drives, FILE *out)
{
	char a[CELL];
	size_t i;
	json_t *it;
	fprintf(out, "drives:%s\n", json_array_size(drives) ? "" : "     -");
	json_array_foreach(drives, i, it)
	{
		json_t *ro = json_object_get(it, "is_read_only");
		fprintf(out, "  %-12s %s%s%s", render_field(it, "drive_id", a),
			render_text(it, "path_on_host"),
			json_is_true(json_object_get(it, "is_root_device")) ? " (root)" : "",
			json_is_true(ro) ? " (read-only)" : "");
		print_limiter(json_object_get(it, "rate_limiter"), "", out);
		fputc('\n', out);
	}
}

static void print_nics(json_t *nets, FILE *out)
{
	char a[CELL], b[CELL], c[CELL];
	size_t i;
	json_t *it;
	fprintf(out, "network:%s\n", json_array_size(nets) ? "" : "    -");
	json_array_foreach(nets, i, it)
	{
		fprintf(out, "  %-12s %s mac %s", render_field(it, "iface_id", a),
			render_field(it, "host_dev_name", b), render_field(it, "guest_mac", c));
		print_limiter(json_object_get(it, "rx_rate_limiter"), "rx-", out);
		print_limiter(json_object_get(it, "tx_rate_limiter"), "tx-", out);
		fputc('\n', out);
	}
}

static void print_vsock(json_t *v, FILE *out)
{
	char a[CELL];
	if (!json_is_object(v))
		fprintf(out, "vsock:      -\n");
	else
		fprintf(out, "vsock:      cid %s, %s\n", render_field(v, "guest_cid", a),
			render_text(v, "uds_path"));
}

static void print_balloon(json_t *b, FILE *out)
{
	char a[CELL], c[CELL], d[CELL], f[CELL];
	if (!json_is_object(b)) {
		fprintf(out, "balloon:    -\n");
		return;
	}
	fprintf(out,
		"balloon:    %s MiB, deflate-on-oom %s, statistics %s, free-page-reporting %s\n",
		render_field(b, "amount_mib", a), render_field(b, "deflate_on_oom", c),
		render_stats_interval(b, d), render_field(b, "free_page_reporting", f));
}

int render_config(json_t *doc, FILE *out)
{
	char a[CELL], b[CELL], c[CELL];
	if (!json_is_object(doc))
		return -EPROTO;
	json_t *mc = json_object_get(doc, "machine-config");
	json_t *boot = json_object_get(doc, "boot-source");
	fprintf(out, "machine:    %s vCPUs, %s MiB, smt %s\n", render_field(mc, "vcpu_count", a),
		render_field(mc, "mem_size_mib", b), render_field(mc, "smt", c));
	fprintf(out, "kernel:     %s\n", render_text(boot, "kernel_image_path"));
	fprintf(out, "initrd:     %s\n", render_text(boot, "initrd_path"));
	fprintf(out, "boot args:  %s\n", render_text(boot, "boot_args"));
	print_drives(json_object_get(doc, "drives"), out);
	print_nics(json_object_get(doc, "network-interfaces"), out);
	print_vsock(json_object_get(doc, "vsock"), out);
	print_balloon(json_object_get(doc, "balloon"), out);
	return 0;
}
