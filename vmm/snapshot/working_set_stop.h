/* Who ends a working-set recording (working_set_restore.h): a request (PUT /vmm/working-set
 * {"action": "stop"}) or the time limit the restore gave (PUT /snapshot/load's
 * "working_set_record_ms"), whichever comes first. The first stop lists the pages and writes the
 * file; the other one, however close behind, changes nothing and is told who stopped the
 * recording and what it wrote (docs/snapshots.md, "Working-set restore").
 *
 * Pure mechanism over a stop function: the time limit is a thread of its own waiting on a
 * condition variable (CLOCK_MONOTONIC) until the limit passes or it is cancelled; both stops
 * take the stopper's lock and the first one disarms it, so the stop function runs once. */
#ifndef VMM_SNAPSHOT_WORKING_SET_STOP_H
#define VMM_SNAPSHOT_WORKING_SET_STOP_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config/vm_config.h" /* WS_RECORD_MS_MAX */

#define WS_STOP_MSG_MAX 4608u /* a stop's error message (a path and a sentence) */

/* Ends the recording and writes its file: 0 with *doc ({"path", "pages", "ranges"}, a new
 * reference), or -errno with the reason in err. Called once per arming, with the stopper's lock
 * held (on the requesting thread or the time limit's). */
typedef int (*ws_stop_fn)(void *ctx, json_t **doc, char *err, size_t errlen);

struct ws_stopper {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled on cancel */
	pthread_t thread;
	bool thread_on; /* the time limit's thread runs (or waits to be joined) */
	bool cancel;
	bool armed; /* a recording runs and no one has stopped it yet */
	uint64_t limit_ms;
	ws_stop_fn stop;
	void *ctx;
	/* The first stop: who made it, its document (NULL when it failed) or its message. */
	const char *by;
	json_t *done;
	char done_err[WS_STOP_MSG_MAX];
};

/* An unarmed stopper. */
void ws_stopper_init(struct ws_stopper *s);

/* A recording just started: `stop` ends it. With limit_ms (1..WS_RECORD_MS_MAX; 0: none) a thread
 * calls it when that time has passed, unless a request came first. Returns 0, or -EINVAL (a limit
 * out of range) / -errno (no thread: the recording runs until a request stops it). */
int ws_stopper_arm(struct ws_stopper *s, uint64_t limit_ms, ws_stop_fn stop, void *ctx);

/* PUT /vmm/working-set: the first stop runs the stop function and returns its result, *doc with
 * "stopped_by": "request" added. After another stop: -EALREADY with err saying which stop ended
 * the recording and what it wrote (or why it failed). Never armed: -ENOENT with the reason. */
int ws_stopper_request(struct ws_stopper *s, json_t **doc, char *err, size_t errlen);

/* The time limit cancelled and its thread joined (the VM ends; the recording, if any, is dropped
 * unwritten); the stopper is unarmed after, and a later request gets -ENOENT. */
void ws_stopper_end(struct ws_stopper *s);

#endif
