/* A recorded option's text, rewritten after a live change. See dev_live.h. */
#include "vmm/descriptors/dev_live.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

struct cli_record *live_record_find(struct vm_config *cfg, const char *name, int nth)
{
	struct cli_record *last = NULL;

	for (int i = 0, n = 0; i < cfg->nrecorded; i++) {
		if (strcmp(cfg->recorded[i].name, name))
			continue;
		last = &cfg->recorded[i];
		if (n++ == nth)
			return last;
	}
	return nth < 0 ? last : NULL;
}

int live_record_set(struct cli_record *rec, const char *arg)
{
	char *copy = strdup(arg);

	if (!copy)
		return -ENOMEM;
	free(rec->arg);
	rec->arg = copy;
	return 0;
}

int live_record_set_first(struct cli_record *rec, const char *first)
{
	const char *rest = rec->arg ? strchr(rec->arg, ',') : NULL;
	char *arg;

	if (asprintf(&arg, "%s%s", first, rest ? rest : "") < 0)
		return -ENOMEM;
	free(rec->arg);
	rec->arg = arg;
	return 0;
}

/* The `len` bytes at `item` ("key=value" or "key") name one of the NULL-terminated `keys`. */
static bool item_has_key(const char *item, size_t len, const char *const *keys)
{
	const char *eq = memchr(item, '=', len);
	size_t klen = eq ? (size_t)(eq - item) : len;

	for (; *keys; keys++)
		if (strlen(*keys) == klen && !memcmp(item, *keys, klen))
			return true;
	return false;
}

int live_record_replace(struct cli_record *rec, int keep, const char *const *drop, const char *add)
{
	const char *p = rec->arg ? rec->arg : "";
	size_t cap = strlen(p) + strlen(add) + 1, len = 0;
	char *out = malloc(cap);

	if (!out)
		return -ENOMEM;
	for (int i = 0; *p; i++) {
		size_t n = strcspn(p, ",");
		if (i < keep || !item_has_key(p, n, drop)) {
			if (len)
				out[len++] = ',';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		p += *p == ',';
	}
	snprintf(out + len, cap - len, "%s", len || *add != ',' ? add : add + 1);
	free(rec->arg);
	rec->arg = out;
	return 0;
}

void live_record_warn(int r, const char *what)
{
	if (r)
		log_warn("api: %s changed, but not in the configuration a snapshot saves: %s", what,
			 strerror(-r));
}
