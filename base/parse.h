/* Parsing of the numbers users type: sizes with suffixes and bounded integers. */
#ifndef VMM_PARSE_H
#define VMM_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses a size such as "256M", "1G", "4096K", "2GiB" (binary multiples: K, M, G, T, with an
 * optional "iB" or "B"); a number with no suffix is in `default_unit` bytes (QEMU's --mem takes
 * MiB). Returns 0, or -EINVAL for garbage/empty/negative, -ERANGE for overflow. */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* Parses a decimal integer in [min, max]. Returns 0, -EINVAL or -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The value of a device's id=NAME item (the API's drive_id, iface_id, vsock_id): 1 to
 * outlen-1 printable characters, no space, '/' or ','. Copies it to `out`; returns 0, or -EINVAL
 * with "id=VALUE: ..." in err. */
int parse_device_id(const char *value, char *out, size_t outlen, char *err, size_t errlen);

/* The value of one hexadecimal digit (0-9, a-f, A-F), or -1 for any other character. */
int parse_hex_digit(int c);

/* For option parsers: formats the reason into err[0..errlen) (when err is not NULL) and returns
 * -EINVAL, so a parser can `return parse_fail(err, errlen, "...", ...)`. */
int parse_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with the code to return: formats the reason into err[0..errlen) (when err is not NULL)
 * and returns rc, so a caller can `return fail_rc(-ENOTSUP, err, errlen, "...", ...)`. */
int fail_rc(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
