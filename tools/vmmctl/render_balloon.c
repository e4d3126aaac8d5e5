/* vmmctl: GET /balloon and GET /balloon/statistics -> small tables. The statistics keep the
 * API's (Firecracker's) names, in the order of virtio 1.2 section 5.5.6.3. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>

#include "tools/vmmctl/render_views.h"

#define PAGES_PER_MIB 256 /* the balloon's pages are 4 KiB */

const char *render_stats_interval(json_t *obj, char buf[CELL])
{
	json_t *v = json_object_get(obj, "stats_polling_interval_s");
	if (json_is_integer(v) && json_integer_value(v) == 0)
		snprintf(buf, CELL, "off");
	else if (json_is_integer(v))
		snprintf(buf, CELL, "every %" JSON_INTEGER_FORMAT " s", json_integer_value(v));
	else
		snprintf(buf, CELL, "-");
	return buf;
}

int render_balloon(json_t *doc, FILE *out)
{
	char a[CELL];
	if (!json_is_object(doc))
		return -EPROTO;
	fprintf(out, "target:              %s MiB\n", render_field(doc, "amount_mib", a));
	/* not before start: the device does not exist yet */
	if (json_object_get(doc, "actual_mib"))
		fprintf(out, "actual:              %s MiB\n", render_field(doc, "actual_mib", a));
	fprintf(out, "deflate-on-oom:      %s\n", render_field(doc, "deflate_on_oom", a));
	fprintf(out, "statistics:          %s\n", render_stats_interval(doc, a));
	fprintf(out, "free-page-reporting: %s\n", render_field(doc, "free_page_reporting", a));
	return 0;
}

static const struct {
	const char *key;
	bool bytes;
} stats[] = {
    {"swap_in", true},		 {"swap_out", true},	{"major_faults", false},
    {"minor_faults", false},	 {"free_memory", true}, {"total_memory", true},
    {"available_memory", true},	 {"disk_caches", true}, {"hugetlb_allocations", false},
    {"hugetlb_failures", false},
};

/* "N MiB (P pages)" from the pages count (the MiB field is rounded down by the VMM). */
static void print_pages(json_t *doc, const char *label, const char *key, FILE *out)
{
	char a[CELL];
	json_t *v = json_object_get(doc, key);
	if (json_is_integer(v))
		fprintf(out, "%-21s%.1f MiB (%" JSON_INTEGER_FORMAT " pages)\n", label,
			(double)json_integer_value(v) / PAGES_PER_MIB, json_integer_value(v));
	else
		fprintf(out, "%-21s%s\n", label, render_field(doc, key, a));
}

/* Only the statistics the driver sent are in the document; the rest are left out here too. */
int render_balloon_stats(json_t *doc, FILE *out)
{
	char a[CELL], label[CELL];
	int shown = 0;
	if (!json_is_object(doc))
		return -EPROTO;
	print_pages(doc, "target:", "target_pages", out);
	print_pages(doc, "actual:", "actual_pages", out);
	for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
		json_t *v = json_object_get(doc, stats[i].key);
		if (!v)
			continue;
		snprintf(label, sizeof(label), "%s:", stats[i].key);
		fprintf(out, "%-21s%s", label, render_field(doc, stats[i].key, a));
		if (stats[i].bytes && json_is_integer(v))
			fprintf(out, " bytes (%.1f MiB)",
				(double)json_integer_value(v) / (1024.0 * 1024.0));
		fputc('\n', out);
		shown++;
	}
	if (!shown)
		fprintf(out, "(no statistics from the guest's driver yet)\n");
	return 0;
}
