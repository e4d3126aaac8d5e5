/* The one parser of option strings "key=value,flag,key=value" (--disk's, --net's, --rng's ... tail
 * after the device's first item). A device describes its keys in a table; this parser splits the
 * string, finds each key and refuses, with one wording for every device:
 *   an empty item ("a,,b", a trailing comma)      "empty option in 'SPEC'"
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

/* Parses `spec` (NULL or "" is no item: 0) item by item with `keys`, stopping at the first
 * error. `usage` ("expected rate=BYTES_PER_SEC[,burst=BYTES]") ends the messages of unknown keys
 * and missing values. Returns 0, -EINVAL with err filled, -ENOMEM, or what a set() returned. */
int opts_parse(const char *spec, const struct opt_key *keys, void *dst, const char *usage,
	       char *err, size_t errlen);

#endif
