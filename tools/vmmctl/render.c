/* vmmctl: JSON answers -> text: the dispatch by view, the field accessors (render_views.h), and
 * the instance's views (info, devices, vCPUs, metrics). */
#include "tools/vmmctl/render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "tools/vmmctl/render_views.h"

const char *render_field(json_t *obj, const char *key, char buf[CELL])
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

const char *render_text(json_t *obj, const char *key)
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
	fprintf(out, "id:         %s\n", render_text(doc, "id"));
	fprintf(out, "app:        %s %s\n", render_field(doc, "app_name", a),
		render_field(doc, "vmm_version", b));
	fprintf(out, "state:      %s\n",
		render_field(json_is_object(state) ? state : doc, "state", a));
	if (json_is_object(state)) {
		fprintf(out, "paused:     %s\n", render_field(state, "paused", a));
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
		fprintf(out, "%-16s %4s %-9s", render_field(dev, "name", c),
			render_field(dev, "device_id", d), render_field(dev, "transport", t));
		for (int k = 0; device_cols[k]; k++)
			fprintf(out, " %12s", render_field(dev, device_cols[k], c));
		fputc('\n', out);
	}
	if (json_array_size(list) == 0)
		fprintf(out, "(no devices)\n");
	return 0;
}

/* One column per exit reason, in the order the first vCPU lists them, then the total; then
 * where the last sample saw it (MP state, interrupts on or off, RIP, CR3) when a vCPU has one. */
static int render_vcpus(json_t *list, FILE *out)
{
	char c[CELL], m[CELL], f[CELL];
	size_t i;
	const char *key;
	json_t *vcpu, *v;
	if (!json_is_array(list))
		return -EPROTO;
	json_t *first = json_object_get(json_array_get(list, 0), "exits");
	bool seen = false;
	json_array_foreach(list, i, vcpu) seen = seen || json_object_get(vcpu, "seen");
	fprintf(out, "%-5s", "VCPU");
	json_object_foreach(first, key, v) fprintf(out, " %12.12s", key);
	fprintf(out, seen ? " %12s %-13s %-3s %-18s %s\n" : " %12s\n", "total", "seen", "IF", "rip",
		"cr3");
	json_array_foreach(list, i, vcpu)
	{
		json_t *exits = json_object_get(vcpu, "exits"), *s = json_object_get(vcpu, "seen");
		fprintf(out, "%-5s", render_field(vcpu, "index", c));
		json_object_foreach(first, key, v)
		    fprintf(out, " %12s", render_field(exits, key, c));
		fprintf(out, " %12s", render_field(vcpu, "exits_total", c));
		if (seen) {
			fprintf(out, " %-13s %-3s", render_field(s, "mp_state", m),
				render_field(s, "interrupts", f));
			fprintf(out, " %-18s %s", render_field(s, "rip", c),
				render_field(s, "cr3", m));
		}
		fputc('\n', out);
	}
	if (json_array_size(list) == 0)
		fprintf(out, "(no vCPUs)\n");
	return 0;
}

/* COM1: the bytes dropped, and its registers as the guest's driver left them (when present). */
static void render_uart(json_t *uart, FILE *out)
{
	char a[CELL], b[CELL];
	json_t *ier = json_object_get(uart, "ier"), *mcr = json_object_get(uart, "mcr");
	json_t *iir = json_object_get(uart, "iir");

	if (!json_is_object(uart))
		return;
	fprintf(out, "uart:       %s bytes dropped by the rate limit, %s by a full FIFO",
		render_field(uart, "rate_limiter_dropped_bytes", a),
		render_field(uart, "fifo_dropped_bytes", b));
	if (json_is_integer(ier) && json_is_integer(mcr) && json_is_integer(iir))
		fprintf(out, "; IER 0x%02x MCR 0x%02x IIR 0x%02x, IRQ line %s",
			(unsigned)json_integer_value(ier), (unsigned)json_integer_value(mcr),
			(unsigned)json_integer_value(iir), render_field(uart, "irq_line", a));
	fputc('\n', out);
}

static int render_metrics(json_t *doc, FILE *out)
{
	char a[CELL], b[CELL];
	if (!json_is_object(doc))
		return -EPROTO;
	json_t *api = json_object_get(doc, "api");
	fprintf(out, "timestamp:  %s ms (UTC)\n", render_field(doc, "utc_timestamp_ms", a));
	print_uptime(doc, out);
	fprintf(out, "api:        %s requests, %s errors\n", render_field(api, "requests", a),
		render_field(api, "errors", b));
	render_uart(json_object_get(doc, "uart"), out);
	fputc('\n', out);
	json_t *devices = json_object_get(doc, "devices");
	json_t *vcpus = json_object_get(doc, "vcpus");
	if (devices && render_devices(devices, out))
		return -EPROTO;
	fputc('\n', out);
	if (vcpus && render_vcpus(vcpus, out))
		return -EPROTO;
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
	case VIEW_BALLOON:
		return render_balloon(doc, out);
	case VIEW_BALLOON_STATS:
		return render_balloon_stats(doc, out);
	case VIEW_RAW:
		return json_dumpf(doc, out, JSON_INDENT(2) | JSON_ENCODE_ANY)
			   ? -EIO
			   : (fputc('\n', out), 0);
	case VIEW_NONE:
		return 0;
	}
	return -EINVAL;
}
