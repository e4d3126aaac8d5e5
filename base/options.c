/* Option strings "key=value,flag" (see options.h). */
#include "base/options.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"

/* The entry of `key` (klen bytes, not NUL-terminated) in the table, or -1. */
static int find_key(const struct opt_key *keys, const char *key, size_t klen)
{
	for (int i = 0; keys[i].name && i < OPT_MAX_KEYS; i++)
		if (strlen(keys[i].name) == klen && !memcmp(keys[i].name, key, klen))
			return i;
	return -1;
}

/* One item, NUL-terminated and writable (a copy of the caller's text); `seen` has a bit per
 * table entry already given. */
static int parse_item(char *item, const struct opt_key *keys, void *dst, uint64_t *seen,
		      const char *usage, char *err, size_t errlen)
{
	char *value = strchr(item, '=');
	int i;

	if (value)
		*value++ = '\0';
	i = find_key(keys, item, strlen(item));
	if (i < 0)
		return parse_fail(err, errlen, "unknown option '%s' (%s)", item, usage);
	if ((keys[i].flags & OPT_FLAG) && value)
		return parse_fail(err, errlen, "option '%s' takes no value", item);
	if (!(keys[i].flags & (OPT_FLAG | OPT_VALUE_OPTIONAL)) && !value)
		return parse_fail(err, errlen, "'%s' needs a value (%s)", item, usage);
	if ((*seen >> i & 1) && !(keys[i].flags & OPT_REPEAT))
		return parse_fail(err, errlen, "option '%s' given twice", item);
	*seen |= 1ull << i;
	return keys[i].set(dst, item, value, err, errlen);
}

int opts_parse(const char *spec, const struct opt_key *keys, void *dst, const char *usage,
	       char *err, size_t errlen)
{
	uint64_t seen = 0;
	char *copy, *item, *next;
	int r = 0;

	if (!spec || !*spec)
		return 0;
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	/* By hand, not strtok(): strtok skips empty items, and "a,,b" must be refused. */
	for (item = copy; !r && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (!*item)
			r = parse_fail(err, errlen, "empty option in '%s'", spec);
		else
			r = parse_item(item, keys, dst, &seen, usage, err, errlen);
	}
	free(copy);
	return r;
}
