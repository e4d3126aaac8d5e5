/* vmm-jail: checks and parsing of its command line (jail_spec.h). */
#include "tools/vmm-jail/jail_spec.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int fail(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, JAIL_ERRLEN, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

int jail_check_id(const char *id, char *err)
{
	size_t len = strlen(id);
	if (len == 0 || len > JAIL_ID_MAX)
		return fail(err, "jail id must have 1 to %d characters", JAIL_ID_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-';
		if (!ok)
			return fail(err, "jail id \"%s\": only letters, digits and '-'", id);
	}
	return 0;
}

int jail_check_jail_path(const char *path, char *err)
{
	size_t len = strlen(path);
	if (path[0] != '/')
		return fail(err, "jail path \"%s\" is not absolute", path);
	if (len >= JAIL_PATH_MAX)
		return fail(err, "jail path too long");
	if (len == 1)
		return fail(err, "jail path \"/\" is the jail itself");
	const char *p = path + 1;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return fail(err, "jail path \"%s\": empty, \".\" or \"..\" component",
				    path);
		p += n;
		if (*p == '/')
			p++;
	}
	if (path[len - 1] == '/')
		return fail(err, "jail path \"%s\" ends in '/'", path);
	return 0;
}

int jail_parse_file(const char *spec, struct jail_file *out, char *err)
{
	const char *end = spec + strlen(spec);
	out->rw = false;
	const char *last = strrchr(spec, ':');
	if (last && (strcmp(last, ":rw") == 0 || strcmp(last, ":ro") == 0)) {
		out->rw = last[2] == 'w';
		end = last;
	}
	const char *colon = memchr(spec, ':', (size_t)(end - spec));
	const char *host_end = colon ? colon : end;
	if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
		/* "H:/h:rx": a third field that is no mode, never part of the jail path */
		const char *field = strrchr(spec, ':') + 1;
		return fail(err,
			    "--file \"%s\": \"%s\" is not a mode (ro or rw); a jail path cannot "
			    "hold ':'",
			    spec, field);
	}
	if (host_end == spec)
		return fail(err, "--file \"%s\": no host path", spec);
	if (!copy(out->host, sizeof(out->host), spec, (size_t)(host_end - spec)))
		return fail(err, "--file \"%s\": host path too long", spec);
	if (colon) {
		if (!copy(out->jail, sizeof(out->jail), colon + 1, (size_t)(end - colon - 1)))
			return fail(err, "--file \"%s\": jail path too long", spec);
	} else {
		const char *base = strrchr(out->host, '/');
		base = base ? base + 1 : out->host;
		if (*base == '\0')
			return fail(err, "--file \"%s\": give a JAIL_PATH for a path ending in '/'",
				    spec);
		if (snprintf(out->jail, sizeof(out->jail), "/%s", base) >= (int)sizeof(out->jail))
			return fail(err, "--file \"%s\": jail path too long", spec);
	}
	char why[JAIL_ERRLEN];
	if (jail_check_jail_path(out->jail, why))
		return fail(err, "--file \"%s\": %s", spec, why);
	return 0;
}

static bool name_chars_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int jail_parse_limit(const char *spec, struct jail_limit *out, char *err)
{
	const char *eq = strchr(spec, '=');
	if (!eq)
		return fail(err, "--cgroup \"%s\": want CONTROLLER.FILE=VALUE", spec);
	size_t n = (size_t)(eq - spec);
	const char *dot = memchr(spec, '.', n);
	if (!dot || dot == spec || dot + 1 == eq || !name_chars_ok(spec, n) ||
	    strncmp(spec, "cgroup.", 7) == 0)
		return fail(err, "--cgroup \"%s\": want CONTROLLER.FILE=VALUE (e.g. pids.max=64)",
			    spec);
	if (!copy(out->file, sizeof(out->file), spec, n) ||
	    !copy(out->controller, sizeof(out->controller), spec, (size_t)(dot - spec)))
		return fail(err, "--cgroup \"%s\": name too long", spec);
	const char *value = eq + 1;
	if (*value == '\0' || strchr(value, '\n'))
		return fail(err, "--cgroup \"%s\": empty or multi-line value", spec);
	if (!copy(out->value, sizeof(out->value), value, strlen(value)))
		return fail(err, "--cgroup \"%s\": value too long", spec);
	return 0;
}

/* "max" or a number with an optional K/M/G suffix for memory: v1 wants -1 for no limit. */
static const char *v1_unlimited(const char *v)
{
	return strcmp(v, "max") == 0 ? "-1" : v;
}

int jail_limit_v1(const struct jail_limit *l, struct jail_v1_write out[2], char *err)
{
	if (strcmp(l->file, "cpu.max") == 0) {
		char quota[JAIL_CG_VALUE_MAX];
		long period = 100000;
		const char *sp = strchr(l->value, ' ');
		size_t qlen = sp ? (size_t)(sp - l->value) : strlen(l->value);
		memcpy(quota, l->value, qlen);
		quota[qlen] = '\0';
		if (sp) {
			char *end;
			errno = 0;
			period = strtol(sp + 1, &end, 10);
			if (errno || *end || end == sp + 1 || period <= 0)
				return fail(err, "cpu.max \"%s\": want \"QUOTA [PERIOD]\"",
					    l->value);
		}
		if (strcmp(quota, "max") != 0) {
			char *end;
			errno = 0;
			long q = strtol(quota, &end, 10);
			if (errno || *end || end == quota || q <= 0)
				return fail(err, "cpu.max \"%s\": want \"QUOTA [PERIOD]\"",
					    l->value);
		}
		snprintf(out[0].file, sizeof(out[0].file), "cpu.cfs_period_us");
		snprintf(out[0].value, sizeof(out[0].value), "%ld", period);
		snprintf(out[1].file, sizeof(out[1].file), "cpu.cfs_quota_us");
		snprintf(out[1].value, sizeof(out[1].value), "%s", v1_unlimited(quota));
		return 2;
	}
	if (strcmp(l->file, "memory.max") == 0) {
		snprintf(out[0].file, sizeof(out[0].file), "memory.limit_in_bytes");
		snprintf(out[0].value, sizeof(out[0].value), "%s", v1_unlimited(l->value));
		return 1;
	}
	snprintf(out[0].file, sizeof(out[0].file), "%s", l->file);
	snprintf(out[0].value, sizeof(out[0].value), "%s", l->value);
	return 1;
}

int jail_parse_id_number(const char *text, unsigned *out, char *err)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end || text[0] < '0' || text[0] > '9' || v == 0 || v >= UINT_MAX)
		return fail(err, "\"%s\" is not a uid/gid (a number from 1 to %u)", text,
			    UINT_MAX - 1);
	*out = (unsigned)v;
	return 0;
}

int jail_exec_name(const char *exec, char *out, char *err)
{
	const char *slash = strrchr(exec, '/');
	const char *name = slash ? slash + 1 : exec;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return fail(err, "--exec-file \"%s\": no file name", exec);
	if (!copy(out, JAIL_NAME_MAX, name, strlen(name)))
		return fail(err, "--exec-file \"%s\": file name too long", exec);
	return 0;
}

int jail_chroot_dir(const char *base, const char *exec_name, const char *id, char *out, size_t size,
		    char *err)
{
	size_t blen = strlen(base);
	if (base[0] != '/')
		return fail(err, "--chroot-base-dir %s: want an absolute path", base);
	while (blen > 1 && base[blen - 1] == '/')
		blen--;
	/* "/" as the base: "/NAME/ID/root", not "//NAME/..." */
	int n = snprintf(out, size, "%.*s/%s/%s/root", (int)(blen == 1 ? 0 : blen), base, exec_name,
			 id);
	if (n < 0 || (size_t)n >= size)
		return fail(err, "--chroot-base-dir %s: the jail's path is too long", base);
	return 0;
}

/* A decimal number, nothing else. */
static int parse_number(const char *text, unsigned long long *out)
{
	char *end;
	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(text, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

int jail_parse_rlimit(const char *spec, struct jail_rlimit *out, char *err)
{
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : 0;
	if (!eq)
		return fail(err, "--resource-limit \"%s\": want RESOURCE=VALUE (fsize, no-file)",
			    spec);
	if (n == 5 && !strncmp(spec, "fsize", 5))
		out->resource = RLIMIT_FSIZE;
	else if (n == 7 && !strncmp(spec, "no-file", 7))
		out->resource = RLIMIT_NOFILE;
	else
		return fail(err, "--resource-limit \"%s\": unknown resource (fsize, no-file)",
			    spec);
	if (parse_number(eq + 1, &out->value))
		return fail(err, "--resource-limit \"%s\": \"%s\" is not a number", spec, eq + 1);
	if (out->resource == RLIMIT_NOFILE && (out->value < 4 || out->value > 1048576))
		return fail(err, "--resource-limit \"%s\": no-file from 4 to 1048576", spec);
	return 0;
}

int jail_parse_cgroup_version(const char *text, int *out, char *err)
{
	if (strcmp(text, "1") && strcmp(text, "2"))
		return fail(err, "--cgroup-version \"%s\": want 1 or 2", text);
	*out = text[0] - '0';
	return 0;
}

int jail_check_parent_cgroup(const char *path, char *err)
{
	size_t len = strlen(path);
	if (len == 0 || len > 255 || path[0] == '/')
		return fail(err, "--parent-cgroup \"%s\": want a relative path (1-255 bytes)",
			    path);
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		bool dots = (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
		if (n == 0 || dots)
			return fail(err, "--parent-cgroup \"%s\": empty, \".\" or \"..\" component",
				    path);
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
				return fail(err,
					    "--parent-cgroup \"%s\": only letters, digits, '.', "
					    "'-', '_' and '/'",
					    path);
		}
		p += n;
		if (*p == '/' && !p[1])
			return fail(err, "--parent-cgroup \"%s\" ends in '/'", path);
		if (*p == '/')
			p++;
	}
	return 0;
}
