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

int opts_parse(const char *spec, const struct opt_key *keys, void *dst, const char *usage,
	       char *err, size_t errlen)
{
	struct opt_items items;
	int r = opts_split(spec, NULL, &items, err, errlen);
	if (!r)
		r = opts_parse_items(&items, keys, dst, usage, err, errlen);
	opt_items_free(&items);
	return r;
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

int opt_items_set(struct opt_items *l, const char *key, const char *value)
{
	int i = opt_items_find(l, key);
	if (i < 0)
		return opt_items_add(l, key, value);
	char *v = value ? strdup(value) : NULL;
	if (value && !v)
		return -ENOMEM;
	free(l->v[i].value);
	l->v[i].value = v;
	return 0;
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

/* Appends `s` to buf[*used..len), NUL-terminated, each ',' written ",," when `escape` (the
 * string form's literal comma). Returns 0, or -ENAMETOOLONG (buf then holds what fitted). */
static int put(char *buf, size_t len, size_t *used, const char *s, bool escape)
{
	for (; *s; s++) {
		for (int k = escape && *s == ',' ? 2 : 1; k > 0; k--) {
			if (*used + 1 >= len)
				return -ENAMETOOLONG;
			buf[(*used)++] = *s;
			buf[*used] = '\0';
		}
	}
	return 0;
}

int opt_items_format(const struct opt_items *l, const char *head, char *buf, size_t len)
{
	size_t used = 0;
	int r = 0;
	if (!len)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (size_t i = 0; !r && i < l->n; i++) {
		const struct opt_item *it = &l->v[i];
		bool bare = i == 0 && head && !strcmp(it->key, head) && it->value;
		r = put(buf, len, &used, i ? "," : "", false);
		if (!r && !bare)
			r = put(buf, len, &used, it->key, true);
		if (!r && it->value && !bare)
			r = put(buf, len, &used, "=", false);
		if (!r && it->value)
			r = put(buf, len, &used, it->value, true);
	}
	return r;
}

char *opt_items_string(const struct opt_items *l, const char *head)
{
	size_t len = 1;			  /* the NUL */
	for (size_t i = 0; i < l->n; i++) /* a separator, '=', every comma doubled */
		len +=
		    2 + 2 * strlen(l->v[i].key) + (l->v[i].value ? 2 * strlen(l->v[i].value) : 0);
	char *s = malloc(len);
	if (s && opt_items_format(l, head, s, len)) { /* cannot be: len is enough */
		free(s);
		s = NULL;
	}
	return s;
}

bool opt_items_fit_string(const struct opt_items *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *key = l->v[i].key;
		/* after a separator, ",," would read as the previous item's comma */
		if (!key[0] || strchr(key, '=') || (i && key[0] == ','))
			return false;
	}
	return true;
}

const char *opts_item_end(const char *p)
{
	p += strcspn(p, ",");
	while (p[0] == ',' && p[1] == ',')
		p += 2 + strcspn(p + 2, ",");
	return p;
}

char *opts_item_text(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		*o++ = s[i];
		i += s[i] == ','; /* the second of the pair */
	}
	*o = '\0';
	return out;
}

/* Appends the item s[0..len) (not empty): `head`'s value when given, else "key=value" or a
 * flag "key". Returns 0 or -ENOMEM. */
static int add_item(struct opt_items *out, const char *s, size_t len, const char *head)
{
	const char *eq = memchr(s, '=', len);
	if (head)
		return add_taken(out, strdup(head), opts_item_text(s, len), false);
	if (!eq)
		return add_taken(out, opts_item_text(s, len), NULL, true);
	size_t klen = (size_t)(eq - s);
	return add_taken(out, opts_item_text(s, klen), opts_item_text(eq + 1, len - klen - 1),
			 false);
}

int opts_split(const char *spec, const char *head, struct opt_items *out, char *err, size_t errlen)
{
	*out = (struct opt_items){0};
	if (!spec || !*spec)
		return 0;
	const char *item = spec;
	int r = 0;
	for (bool first = true; !r; first = false) {
		const char *end = opts_item_end(item);
		if (end == item)
			r = parse_fail(err, errlen, "empty option in '%s'", spec);
		else
			r = add_item(out, item, (size_t)(end - item), first ? head : NULL);
		if (!*end)
			break;
		item = end + 1;
	}
	if (r)
		opt_items_free(out);
	return r;
}
