/* vmmctl: one HTTP/1.1 request over the VMM's API Unix socket (libcurl), the answer buffered up
 * to a limit. */
#ifndef VMMCTL_HTTP_H
#define VMMCTL_HTTP_H

#include <stddef.h>

#define VMMCTL_RESPONSE_MAX (1u << 20) /* never buffer more than 1 MiB of an answer */

struct http_response {
	long status; /* HTTP status code */
	char *body;  /* NUL-terminated, malloc'd; NULL if empty */
	size_t len;
};

enum http_result {
	HTTP_OK,	  /* an answer came: see status */
	HTTP_UNREACHABLE, /* no connection, or no answer in time: exit status 3 */
	HTTP_MALFORMED,	  /* something came that is not a usable HTTP answer: exit status 1 */
};

/* Checks that `sock` is a Unix socket someone listens on. Returns 0 or -errno (-ENOTSOCK when
 * the path is something else) so the caller can name the reason. */
int http_probe_socket(const char *sock);

/* Sends `method path` with `body` (JSON text, or NULL) to the socket, waiting at most
 * `timeout_s` seconds in all. Fills `resp` (free it with http_response_free()) and, unless
 * HTTP_OK, a one-line reason in `err`. */
enum http_result http_request(const char *sock, const char *method, const char *path,
			      const char *body, long timeout_s, struct http_response *resp,
			      char *err, size_t errlen);

void http_response_free(struct http_response *resp);

#endif
