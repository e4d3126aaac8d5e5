/* The one parser of option strings "key=value,flag,key=value" (--disk's, --net's, --rng's ... tail
 * after the device's first item). A comma ends an item; ",," is a literal comma inside the
 * current item, key or value, as in QEMU ("/a,,b.img,ro": the path "/a,b.img" and ro). In a run
 * of commas the pairs come first: "a,,,b" is the items "a," and "b".
 * A device describes its keys in a table; this parser splits the string, finds each key and
 * refuses, with one wording for every device:
 *   an empty item (",a", "a,b,", "a,,,")          "empty option in 'SPEC'"
 *   a key not in the table                         "unknown option 'KEY' (USAGE)"
 *   a key that needs a value written without one   "'KEY' needs a value (USAGE)"
 *     (unless OPT_VALUE_OPTIONAL)
 *   a flag (OPT_FLAG) written with a value         "option 'KEY' takes no value"
 *   a key given twice (unless OPT_REPEAT)          "option 'KEY' given twice"
 * and hands each value to the key's set(), which checks and stores it. The string is untrusted
 * (command line, API bodies, snapshot records): it is never modified, and a fuzz target
 * (tools/fuzz/fuzz_options.c) runs this parser. Logs nothing (base/errors.h). */
#ifndef VMM_OPTIONS_H
#define VMM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define OPT_FLAG	   1u /* written alone ("ro"); set() gets value NULL */
#define OPT_REPEAT	   2u /* may be given more than once ("hostfwd=...") */
#define OPT_VALUE_OPTIONAL 4u /* "ro" (value NULL) or "ro=off" */

#define OPT_MAX_KEYS 64 /* keys in one table (a bit each for "given twice") */

/* Stores `value` (NULL for a flag) of `key` into `dst`. Returns 0, or -errno with the reason in
 * err (err may be NULL, errlen 0: parse_fail() copes). */
typedef int (*opt_set_fn)(void *dst, const char *key, const char *value, char *err, size_t errlen);

struct opt_key {
	const char *name; /* NULL ends the table */
	unsigned flags;	  /* OPT_FLAG, OPT_REPEAT, OPT_VALUE_OPTIONAL */
	opt_set_fn set;
};

/* ---- Items: an option as key/value pairs, the form a device's typed record is read from and
 * written to (vmm/descriptors/device_record.h) besides the string. A key or value may hold any
 * text, commas included: the string form writes each as ",,". ---- */

struct opt_item {
	char *key;   /* a heap copy */
	char *value; /* a heap copy; NULL: a flag written alone ("ro") */
};

struct opt_items {
	struct opt_item *v;
	size_t n, cap;
};

/* Appends a copy of `key` and `value` (NULL: a flag). Returns 0 or -ENOMEM. */
int opt_items_add(struct opt_items *l, const char *key, const char *value);
/* Appends `key` with a formatted value. Returns 0 or -ENOMEM. */
int opt_items_addf(struct opt_items *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Gives the first item of `key` a copy of `value` (NULL: a flag), in its place, or appends
 * key=value when there is none. Returns 0 or -ENOMEM (`l` unchanged). */
int opt_items_set(struct opt_items *l, const char *key, const char *value);
/* Makes `dst` a copy of `src`. Returns 0 or -ENOMEM (dst then empty). */
int opt_items_copy(struct opt_items *dst, const struct opt_items *src);
/* The index of the first item of `key`, or -1. */
int opt_items_find(const struct opt_items *l, const char *key);
/* Removes the first item of `key` and hands its value to *value (the caller frees it; NULL for
 * a flag). Returns 1 when there was one, 0 when not (*value NULL). */
int opt_items_take(struct opt_items *l, const char *key, char **value);
/* Frees every item and the list; the list is then empty (and may be used again). */
void opt_items_free(struct opt_items *l);
/* Writes `l` in the option's string form into buf ("PATH,ro,id=x"), each comma of a key or value
 * as ",,": with `head`, the first item's value alone when that item is `head`'s, as opts_split()
 * reads it. Returns 0, or -ENAMETOOLONG (buf then holds what fitted). For messages that quote
 * the option, and for the paths that still take a string: check opt_items_fit_string() first
 * there. */
int opt_items_format(const struct opt_items *l, const char *head, char *buf, size_t len);
/* opt_items_format() into a heap string that fits (the caller frees it), or NULL when out of
 * memory. */
char *opt_items_string(const struct opt_items *l, const char *head);
/* True when opts_split() of the string form gives `l` back: no key is empty or holds an '=', and
 * no key but the first starts with a comma (after a separator ",," reads as the previous item's
 * comma). */
bool opt_items_fit_string(const struct opt_items *l);

/* The end of the item that starts at `p` in an option string: its first comma that is not
 * doubled (the separator), or its NUL. In a run of commas the pairs come first: ",,," is a literal
 * comma, then the separator. For a caller that takes one item off a string (a disk's path). */
const char *opts_item_end(const char *p);
/* A heap copy of s[0..n) (one item or a part of it that starts where the item starts, or after
 * its '=') with each ",," made one ','; NULL when out of memory. */
char *opts_item_text(const char *s, size_t n);

/* Splits `spec` into items at its commas, each "key=value" or "key" (a flag), ",," read as a
 * comma inside the item (key or value), refusing an empty item; with `head` ("path"), the first
 * item is the value of that key whatever it holds (a disk's PATH). NULL or "" is no item. Returns
 * 0, -EINVAL with err filled (err may be NULL) or -ENOMEM; *out is empty on failure. */
int opts_split(const char *spec, const char *head, struct opt_items *out, char *err, size_t errlen);

/* Hands each item to its key's set() with opts_parse()'s checks (unknown key, a flag's value, a
 * missing value, a key given twice), stopping at the first error. Returns 0, -EINVAL with err
 * filled, or what a set() returned. */
int opts_parse_items(const struct opt_items *l, const struct opt_key *keys, void *dst,
		     const char *usage, char *err, size_t errlen);

/* Parses `spec` (NULL or "" is no item: 0): opts_split() then opts_parse_items() with `keys`,
 * stopping at the first error. `usage` ("expected rate=BYTES_PER_SEC[,burst=BYTES]") ends the
 * messages of unknown keys and missing values. Returns 0, -EINVAL with err filled, -ENOMEM, or what
 * a set() returned. */
int opts_parse(const char *spec, const struct opt_key *keys, void *dst, const char *usage,
	       char *err, size_t errlen);

#endif
