/* Lookup and rendering of MMDS values. See mmds_render.h. */
#include "vmm/mmds/mmds_render.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"

#define MAX_TOKEN 256 /* a pointer token longer than any key the store can hold is no match */

/* One pointer token (RFC 6901 section 4: ~1 is '/', ~0 is '~'), unescaped into tok. False for
 * a bad escape or a token that does not fit. */
static bool unescape(const char *p, size_t n, char *tok, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '~') {
			if (i + 1 == n || (p[i + 1] != '0' && p[i + 1] != '1'))
				return false;
			c = p[++i] == '0' ? '~' : '/';
		}
		if (o + 1 >= cap)
			return false;
		tok[o++] = c;
	}
	tok[o] = '\0';
	return true;
}

/* An array index: decimal digits, no leading zero (RFC 6901 section 4). */
static bool array_index(const char *tok, size_t *idx)
{
	size_t n = strlen(tok);
	if (!n || n > 9 || (n > 1 && tok[0] == '0'))
		return false;
	*idx = 0;
	for (size_t i = 0; i < n; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return false;
		*idx = *idx * 10 + (size_t)(tok[i] - '0');
	}
	return true;
}

static const json_t *step(const json_t *v, const char *tok)
{
	size_t idx;
	if (json_is_object(v))
		return json_object_get(v, tok);
	if (json_is_array(v) && array_index(tok, &idx))
		return json_array_get(v, idx);
	return NULL;
}

const json_t *mmds_lookup(const json_t *doc, const char *path, size_t path_len)
{
	char tok[MAX_TOKEN];
	size_t i = 0;

	while (doc && i < path_len) {
		if (path[i] == '/') {
			i++;
			continue;
		}
		size_t end = i;
		while (end < path_len && path[end] != '/')
			end++;
		if (!unescape(path + i, end - i, tok, sizeof(tok)))
			return NULL;
		doc = step(doc, tok);
		i = end;
	}
	return doc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys, sorted, one a line, '/' after those holding an object. */
static int render_keys(const json_t *obj, char **out, size_t *len)
{
	size_t n = json_object_size(obj), total = 0, i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	const char *key;
	json_t *val;

	if (!keys)
		return -ENOMEM;
	json_object_foreach((json_t *)obj, key, val)
	{
		keys[i++] = key;
		total += strlen(key) + 2; /* '/' and '\n' */
	}
	vmm_sort(keys, n, sizeof(*keys), cmp_str);
	char *buf = malloc(total + 1);
	if (!buf) {
		free(keys);
		return -ENOMEM;
	}
	size_t o = 0;
	for (i = 0; i < n; i++) {
		size_t k = strlen(keys[i]);
		if (i)
			buf[o++] = '\n';
		memcpy(buf + o, keys[i], k);
		o += k;
		if (json_is_object(json_object_get(obj, keys[i])))
			buf[o++] = '/';
	}
	buf[o] = '\0';
	free(keys);
	*out = buf;
	*len = o;
	return 0;
}

static int render_imds(const json_t *v, char **out, size_t *len)
{
	if (json_is_object(v))
		return render_keys(v, out, len);
	if (!json_is_string(v))
		return -ENOTSUP;
	*len = json_string_length(v);
	*out = malloc(*len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, json_string_value(v), *len);
	(*out)[*len] = '\0';
	return 0;
}

int mmds_render(const json_t *v, enum mmds_format fmt, char **out, size_t *len)
{
	if (fmt == MMDS_FORMAT_IMDS)
		return render_imds(v, out, len);
	*out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!*out)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}
