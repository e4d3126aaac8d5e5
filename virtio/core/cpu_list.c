/* The CPU list of a device's I/O threads ("iothread-cpus=0:2-3"). See device.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/options.h"
#include "base/parse.h"
#include "virtio/core/device.h"

/* A CPU number: decimal digits only, below 4096 (far above any CPU_SETSIZE in use). */
static bool parse_cpu(const char *s, char **end, unsigned *out)
{
	if (*s < '0' || *s > '9')
		return false;
	unsigned long v = strtoul(s, end, 10);
	if (v >= 4096)
		return false;
	*out = (unsigned)v;
	return true;
}

int virtio_cpu_list_parse(const char *s, struct virtio_cpu_list *out, char *err, size_t errlen)
{
	*out = (struct virtio_cpu_list){0};
	if (!s || !*s)
		return parse_fail(err, errlen, "iothread-cpus: empty CPU list");
	while (*s) {
		char *end;
		unsigned lo, hi;
		if (!parse_cpu(s, &end, &lo))
			return parse_fail(err, errlen, "iothread-cpus: '%s' is not a CPU number",
					  s);
		hi = lo;
		if (*end == '-' && !parse_cpu(end + 1, &end, &hi))
			return parse_fail(err, errlen, "iothread-cpus: bad range near '%s'", s);
		if (hi < lo || (*end && *end != ':'))
			return parse_fail(err, errlen, "iothread-cpus: bad range near '%s'", s);
		for (unsigned c = lo; c <= hi; c++) {
			if (out->n == VIRTIO_DEV_MAX_CPUS)
				return parse_fail(err, errlen, "iothread-cpus: more than %d CPUs",
						  VIRTIO_DEV_MAX_CPUS);
			out->cpu[out->n++] = (uint16_t)c;
		}
		s = *end ? end + 1 : end;
		if (*end && !*s)
			return parse_fail(err, errlen, "iothread-cpus: trailing ':'");
	}
	return 0;
}

int virtio_cpu_list_to_item(const struct virtio_cpu_list *l, struct opt_items *out)
{
	char text[VIRTIO_DEV_MAX_CPUS * 5 + 1] = ""; /* below 4096: 4 digits and a ':' each */
	size_t n = 0;
	if (!l->n)
		return 0;
	for (unsigned i = 0; i < l->n && i < VIRTIO_DEV_MAX_CPUS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%u", i ? ":" : "", l->cpu[i]);
	return opt_items_add(out, "iothread-cpus", text);
}
