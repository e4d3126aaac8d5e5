/* HTTP/1.1 on a Unix socket for the API, served by one thread of ours: each request is read by
 * http_request.c (which says what it refuses and with which status: a body over the router's
 * max_body gets Firecracker's 400 as soon as it is announced), handed to api_handle(), and the
 * answer sent. A client that goes away mid-request costs nothing. The thread never takes a vCPU's
 * or a device's lock itself: what it does to the VM goes through the router's backend.
 *
 * Every answer is one status line and, for an error, one JSON body ({"fault_message"}), once;
 * a body over the limit gets micro_http's {"error"} body instead, as Firecracker answers it.
 * After a refused request (malformed, so where it ends is unknown) the connection closes: the
 * answer is sent, our side shut, and what the client still sends read and dropped for at most
 * API_HTTP_DRAIN_MS, so it reads the answer rather than a reset. Keep-alive otherwise, with
 * requests on one connection answered in turn (pipelining).
 *
 * Slow clients: a connection silent for API_HTTP_TIMEOUT_S is closed, and so is one whose
 * request has not arrived whole API_HTTP_REQUEST_DEADLINE_S after it began (a trickle of one
 * byte a second defeats the first rule, not this one). At most API_HTTP_MAX_CLIENTS connections
 * are served at once; beyond that new ones wait in the listen backlog. Since a Unix socket has no
 * client address, a client is its process (SO_PEERCRED): a process keeps at most
 * API_HTTP_MAX_STALLED_PER_CLIENT requests that have been arriving for more than
 * API_HTTP_STALL_NS, so one process trickling on every slot frees them within about a second.
 * Memory: a connection holds its request head (HTTP_MAX_HEAD) and body (the router's max_body)
 * at most, the body allocated as its length is announced. */
#ifndef VMM_API_HTTP_H
#define VMM_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "host/sandbox/sandbox.h"
#include "vmm/api/api_router.h"

#define API_HTTP_TIMEOUT_S		10
#define API_HTTP_REQUEST_DEADLINE_S	5
#define API_HTTP_MAX_CLIENTS		32
#define API_HTTP_MAX_STALLED_PER_CLIENT 4
#define API_HTTP_STALL_NS		1000000000ull /* 1 s */
#define API_HTTP_SWEEP_MS		200
#define API_HTTP_DRAIN_MS		500
#define API_HTTP_READS_PER_ROUND	16 /* reads from one connection before the others' turn */

struct api_http;

/* Creates the socket at `path` (mode 0600; a stale socket file nobody serves is replaced, any
 * other existing file is refused) and starts serving `a`; when `held`, connections wait in the
 * listen backlog, unanswered, until api_http_open() (a VM the command line gives is being
 * built: a request must not see it half-built). Returns 0, or -errno with the reason in
 * err[0..errlen). */
int api_http_start(struct api_http **out, const char *path, struct api *a, bool held, char *err,
		   size_t errlen);

/* Starts accepting the connections a held start kept waiting. 0, or -errno; 0 for NULL. */
int api_http_open(struct api_http *h);

/* Asks the API thread to confine itself (sandbox_enter("api")) and waits for it (at most
 * 10 s): once the VM exists, before it runs. Returns its result; 0 for NULL. */
int api_http_confine(struct api_http *h);

/* The same, done by the calling thread, which must be the API thread (a request handler that
 * waits for the main thread, and is asked by it to confine itself meanwhile). */
int api_http_confine_here(void);

/* Stops serving, closes the socket and removes its file. NULL is fine. */
void api_http_stop(struct api_http *h);

/* The seccomp lists of the broker (host/sandbox/broker.h), which opens files and builds the VM
 * for the API: before the VM exists, or with `running` once it does (the API thread's own). */
const struct sandbox_list *const *api_http_broker_lists(size_t *n, bool running);

#endif
