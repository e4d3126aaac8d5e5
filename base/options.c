/* Option strings "key=value,flag" (see options.h). */
#include "base/options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* One item, its key and value (NULL: written alone); `seen` has a bit per table entry already
 * given. */
static int parse_item(const char *item, const char *value, const struct opt_key *keys, void *dst,
		      uint64_t *seen, const char *usage, char *err, size_t errlen)
{
	int i = find_key(keys, item, strlen(item));
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
		if (!*item) {
			r = parse_fail(err, errlen, "empty option in '%s'", spec);
			continue;
		}
		char *value = strchr(item, '=');
		if (value)
			*value++ = '\0';
		r = parse_item(item, value, keys, dst, &seen, usage, err, errlen);
	}
	free(copy);
	return r;
}

int opts_parse_items(const struct opt_items *l, const struct opt_key *keys, void *dst,
		     const char *usage, char *err, size_t errlen)
{
	uint64_t seen = 0;
	for (size_t i = 0; i < l->n; i++) {
		int r =
		    parse_item(l->v[i].key, l->v[i].value, keys, dst, &seen, usage, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/* ---- items ---- */

/* Appends `key` and `value`, both taken (freed on failure). */
static int add_taken(struct opt_items *l, char *key, char *value, bool flag)
{
	if (!key || (!flag && !value)) {
		free(key);
		free(value);
		return -ENOMEM;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct opt_item *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			free(key);
			free(value);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct opt_item){key, value};
	return 0;
}

int opt_items_add(struct opt_items *l, const char *key, const char *value)
{
	return add_taken(l, strdup(key), value ? strdup(value) : NULL, !value);
}

int opt_items_addf(struct opt_items *l, const char *key, const char *fmt, ...)
{
	char *value = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&value, fmt, ap);
	va_end(ap);
	return add_taken(l, strdup(key), n < 0 ? NULL : value, false);
}

int opt_items_copy(struct opt_items *dst, const struct opt_items *src)
{
	*dst = (struct opt_items){0};
	for (size_t i = 0; i < src->n; i++) {
		if (opt_items_add(dst, src->v[i].key, src->v[i].value)) {
			opt_items_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

int opt_items_find(const struct opt_items *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return (int)i;
	return -1;
}

int opt_items_take(struct opt_items *l, const char *key, char **value)
{
	int i = opt_items_find(l, key);
	*value = NULL;
	if (i < 0)
		return 0;
	free(l->v[i].key);
	*value = l->v[i].value;
	memmove(&l->v[i], &l->v[i + 1], (l->n - (size_t)i - 1) * sizeof(l->v[0]));
	l->n--;
	return 1;
}

void opt_items_free(struct opt_items *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	*l = (struct opt_items){0};
}

int opt_items_format(const struct opt_items *l, const char *head, char *buf, size_t len)
{
	size_t used = 0;
	if (!len)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		const struct opt_item *it = &l->v[i];
		bool bare = i == 0 && head && !strcmp(it->key, head) && it->value;
		int n =
		    snprintf(buf + used, len - used, "%s%s%s%s", i ? "," : "", bare ? "" : it->key,
			     it->value && !bare ? "=" : "", it->value ? it->value : "");
		if (n < 0 || (size_t)n >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
	}
	return 0;
}

bool opt_items_fit_string(const struct opt_items *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct opt_item *it = &l->v[i];
		if (!it->key[0] || strpbrk(it->key, ",=") || (it->value && strchr(it->value, ',')))
			return false;
	}
	return true;
}

int opts_split(const char *spec, const char *head, struct opt_items *out, char *err, size_t errlen)
{
	*out = (struct opt_items){0};
	if (!spec || !*spec)
		return 0;
	const char *item = spec;
	int r = 0;
	for (bool first = true; !r; first = false) {
		const char *end = strchr(item, ',');
		size_t len = end ? (size_t)(end - item) : strlen(item);
		const char *eq = memchr(item, '=', len);
		if (!len)
			r = parse_fail(err, errlen, "empty option in '%s'", spec);
		else if (first && head)
			r = add_taken(out, strdup(head), strndup(item, len), false);
		else if (eq)
			r = add_taken(out, strndup(item, (size_t)(eq - item)),
				      strndup(eq + 1, len - (size_t)(eq - item) - 1), false);
		else
			r = add_taken(out, strndup(item, len), NULL, true);
		if (!end)
			break;
		item = end + 1;
	}
	if (r)
		opt_items_free(out);
	return r;
}
