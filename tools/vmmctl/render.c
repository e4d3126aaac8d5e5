/* vmmctl: JSON answers -> text. Every field is read through one accessor that tolerates a
 * missing key or a wrong type, so a malformed answer prints "-" instead of crashing. */
#include "tools/vmmctl/render.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define CELL 32

/* The value of `key` in `obj` as text in `buf` ("-" when missing or not a scalar). */
static const char *field(json_t *obj, const char *key, char buf[CELL])
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	if (json_is_integer(v))
		snprintf(buf, CELL, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, CELL, "%.3f", json_real_value(v));
	else if (json_is_string(v))
		snprintf(buf, CELL, "%.*s", CELL - 1, json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, CELL, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, CELL, "-");
	return buf;
}

/* A string field in full (paths are longer than a table cell), or "-". */
static const char *text(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : "-";
}

static void print_uptime(json_t *obj, FILE *out)
{
	json_t *v = json_object_get(obj, "uptime_ms");
	if (json_is_integer(v))
		fprintf(out, "uptime:     %.3f s\n", (double)json_integer_value(v) / 1000.0);
}

static int render_info(json_t *doc, json_t *state, FILE *out)
{
	char a[CELL], b[CELL];
	if (!json_is_object(doc))
		return -EPROTO;
	fprintf(out, "id:         %s\n", text(doc, "id"));
	fprintf(out, "app:        %s %s\n", field(doc, "app_name", a),
		field(doc, "vmm_version", b));
	fprintf(out, "state:      %s\n", field(json_is_object(state) ? state : doc, "state", a));
	if (json_is_object(state)) {
		fprintf(out, "paused:     %s\n", field(state, "paused", a));
		print_uptime(state, out);
	}
	return 0;
}

static const char *const device_cols[] = {"requests", "bytes",	    "errors", "stalls",
					  "kicks",    "interrupts", NULL};

static int render_devices(json_t *list, FILE *out)
{
	char c[CELL], d[CELL], t[CELL];
	size_t i;
	json_t *dev;
	if (!json_is_array(list))
		return -EPROTO;
	fprintf(out, "%-16s %4s %-9s", "DEVICE", "ID", "TRANSPORT");
	for (int k = 0; device_cols[k]; k++)
		fprintf(out, " %12s", device_cols[k]);
	fputc('\n', out);
	json_array_foreach(list, i, dev)
	{
		fprintf(out, "%-16s %4s %-9s", field(dev, "name", c), field(dev, "device_id", d),
			field(dev, "transport", t));
		for (int k = 0; device_cols[k]; k++)
			fprintf(out, " %12s", field(dev, device_cols[k], c));
		fputc('\n', out);
	}
	if (json_array_size(list) == 0)
		fprintf(out, "(no devices)\n");
	return 0;
}

/* One column per exit reason, in the order the first vCPU lists them, then the total. */
static int render_vcpus(json_t *list, FILE *out)
{
	char c[CELL];
	size_t i;
	const char *key;
	json_t *vcpu, *v;
	if (!json_is_array(list))
		return -EPROTO;
	json_t *first = json_object_get(json_array_get(list, 0), "exits");
	fprintf(out, "%-5s", "VCPU");
	json_object_foreach(first, key, v) fprintf(out, " %12.12s", key);
	fprintf(out, " %12s\n", "total");
	json_array_foreach(list, i, vcpu)
	{
		json_t *exits = json_object_get(vcpu, "exits");
		fprintf(out, "%-5s", field(vcpu, "index", c));
		json_object_foreach(first, key, v) fprintf(out, " %12s", field(exits, key, c));
		fprintf(out, " %12s\n", field(vcpu, "exits_total", c));
	}
	if (json_array_size(list) == 0)
		fprintf(out, "(no vCPUs)\n");
	return 0;
}

static int render_metrics(json_t *doc, FILE *out)
{
	char a[CELL], b[CELL];
	if (!json_is_object(doc))
		return -EPROTO;
	json_t *api = json_object_get(doc, "api");
	fprintf(out, "timestamp:  %s ms (UTC)\n", field(doc, "utc_timestamp_ms", a));
	print_uptime(doc, out);
	fprintf(out, "api:        %s requests, %s errors\n\n", field(api, "requests", a),
		field(api, "errors", b));
	json_t *devices = json_object_get(doc, "devices");
	json_t *vcpus = json_object_get(doc, "vcpus");
	if (devices && render_devices(devices, out))
		return -EPROTO;
	fputc('\n', out);
	if (vcpus && render_vcpus(vcpus, out))
		return -EPROTO;
	return 0;
}

static int render_config(json_t *doc, FILE *out)
{
	char a[CELL], b[CELL], c[CELL];
	size_t i;
	json_t *it;
	if (!json_is_object(doc))
		return -EPROTO;
	json_t *mc = json_object_get(doc, "machine-config");
	json_t *boot = json_object_get(doc, "boot-source");
	fprintf(out, "machine:    %s vCPUs, %s MiB, smt %s\n", field(mc, "vcpu_count", a),
		field(mc, "mem_size_mib", b), field(mc, "smt", c));
	fprintf(out, "kernel:     %s\n", text(boot, "kernel_image_path"));
	fprintf(out, "initrd:     %s\n", text(boot, "initrd_path"));
	fprintf(out, "boot args:  %s\n", text(boot, "boot_args"));
	json_t *drives = json_object_get(doc, "drives");
	fprintf(out, "drives:%s\n", json_array_size(drives) ? "" : "     -");
	json_array_foreach(drives, i, it)
	{
		json_t *ro = json_object_get(it, "is_read_only");
		fprintf(out, "  %-12s %s%s%s\n", field(it, "drive_id", a), text(it, "path_on_host"),
			json_is_true(json_object_get(it, "is_root_device")) ? " (root)" : "",
			json_is_true(ro) ? " (read-only)" : "");
	}
	json_t *nets = json_object_get(doc, "network-interfaces");
	fprintf(out, "network:%s\n", json_array_size(nets) ? "" : "    -");
	json_array_foreach(nets, i, it)
	{
		fprintf(out, "  %-12s %s mac %s\n", field(it, "iface_id", a),
			field(it, "host_dev_name", b), field(it, "guest_mac", c));
	}
	return 0;
}

int vmmctl_render(enum vmmctl_view view, json_t *doc, json_t *state, FILE *out)
{
	switch (view) {
	case VIEW_INFO:
		return render_info(doc, state, out);
	case VIEW_METRICS:
		return render_metrics(doc, out);
	case VIEW_DEVICES:
		return render_devices(doc, out);
	case VIEW_VCPUS:
		return render_vcpus(doc, out);
	case VIEW_CONFIG:
		return render_config(doc, out);
	case VIEW_RAW:
		return json_dumpf(doc, out, JSON_INDENT(2) | JSON_ENCODE_ANY)
			   ? -EIO
			   : (fputc('\n', out), 0);
	case VIEW_NONE:
		return 0;
	}
	return -EINVAL;
}
