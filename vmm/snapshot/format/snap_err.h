/* The message helper of the snapshot files (internal to vmm/snapshot). */
#ifndef VMM_SNAPSHOT_SNAP_ERR_H
#define VMM_SNAPSHOT_SNAP_ERR_H

#include <stdarg.h>
#include <stdio.h>

/* Formats a message into err (when err and errlen allow) and returns `ret`, so a failure reads
 * `return snap_err(err, errlen, -EINVAL, "...", ...);`. */
__attribute__((format(printf, 4, 5))) static inline int snap_err(char *err, size_t errlen, int ret,
								 const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

#endif
