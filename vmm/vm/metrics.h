/* Metrics of the VMM process as one JSON document, and its periodic flushing to a file or FIFO
 * (Firecracker's model: `PUT /metrics {"metrics_path": ...}` once, then a line every 60 s and on
 * each FlushMetrics action).
 *
 * The document (every number an integer):
 *   {"utc_timestamp_ms": N,       wall clock (CLOCK_REALTIME) when the document was built
 *    "uptime_ms": N,              since the process started (base/stats.h), or since the
 *                                 first metrics call when stats_init() never ran
 *    "vcpus": [{"index": 0, "exits": {"io": N, "mmio": N, "hlt": N, "intr": N, "shutdown": N,
 *               "system_event": N, "error": N, "other": N}, "exits_total": N,
 *               "seen": {"mp_state": "halted", "rip": "0xffffffff81e3c8a4",
 *                        "interrupts": true, "cr3": "0x2a0c000"}}, ...],
 *                                 "seen": where the halt watch's last sample (about one a
 *                                 second) found the vCPU: KVM's MP state, RIP, RFLAGS.IF, CR3;
 *                                 absent before the first (a stalled guest's vCPUs at a glance)
 *    "devices": [{"index": 0, "name": "virtio-blk", "device_id": 2, "transport": "mmio"|"pci",
 *                 "kicks": N, "requests": N, "bytes": N, "errors": N, "stalls": N,
 *                 "interrupts": N}, ...],   (struct virtio_dev_counters says what each means)
 *    "uart": {"rate_limiter_dropped_bytes": N, "fifo_dropped_bytes": N,
 *             "ier": N, "mcr": N, "iir": N, "irq_line": 0|1},
 *                                 COM1's output dropped by --console ...,bw= (Firecracker's
 *                                 serial rate_limiter, its name) and by a FIFO with no room;
 *                                 then (when COM1 exists) its IER and MCR as the guest last
 *                                 wrote them, the interrupt IIR would name (1: none) and the
 *                                 level of its IRQ line: a stalled console at a glance (IER
 *                                 bit 1 set: the driver waits for a THRE interrupt)
 *    "api": {"requests": N, "errors": N},
 *    "api_server": {"process_startup_time_us": N, "process_startup_time_cpu_us": N},
 *                                 only once metrics_set_startup() ran (Firecracker's names)
 *    "metrics": {"flushes": N, "flush_errors": N}}
 * "vcpus", "devices" and "uart" are there only while a VM is attached; the counters are totals
 * since their owner was created (consumers compute rates from two lines).
 *
 * One metrics state per process. Its lock is a leaf (base/lock_order.h): it is never taken
 * under a device lock, and building a document takes no other lock (the counters are atomics).
 * Only this file's .c builds JSON; the counters live in virtio/core and vmm/vm/vcpu.h. */
#ifndef VMM_METRICS_H
#define VMM_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* The default period of the flush thread (Firecracker's). */
#define METRICS_FLUSH_PERIOD_MS 60000u

/* Builds the document for `vm` (NULL: without "vcpus", "devices", "uart"). The caller keeps `vm`
 * alive meanwhile; prefer metrics_snapshot() from threads that do not own the VM. Returns a new
 * reference (json_decref it), or NULL when out of memory. */
json_t *metrics_json(struct vm *vm);

/* The document of the attached VM (or without one), built under the metrics lock so the VM
 * cannot be detached meanwhile. New reference, or NULL when out of memory. */
json_t *metrics_snapshot(void);

/* Firecracker's startup times, from what its jailer passes (--start-time-us and friends):
 * wall (CLOCK_MONOTONIC) and CPU microseconds from the launcher's start to the API's. */
void metrics_set_startup(uint64_t us, uint64_t cpu_us);

/* Counts one API request, and one API error when `error` (the API server calls this once per
 * request it answered). Any thread, lock-free. */
void metrics_count_api_request(bool error);

/* Makes flushes and snapshots report `vm` (after vm_create() succeeded). A VM already attached
 * is replaced. NULL stops reporting the VM; it waits for a flush in progress (the metrics lock),
 * so vm_destroy() may follow at once. */
void metrics_attach_vm(struct vm *vm);

/* Sets the sink, once per process, and starts the flush thread, which writes a line every
 * `period_ms` (0: METRICS_FLUSH_PERIOD_MS) from then on; the first line is written after one
 * period (metrics_flush() writes one now). Each line is the compact document and '\n'.
 *   - the path is opened through host_path_open() (docs/security.md, "Paths from outside"): a
 *     regular file or a FIFO, never a device or a file of /proc or /sys;
 *   - a FIFO is opened read-write and non-blocking (Linux): opening never waits for a reader,
 *     and holding our own read end means a reader that goes away never raises SIGPIPE. Lines
 *     wait in the pipe for a reader; when the pipe is full, a flush fails with -EAGAIN and the
 *     line is dropped whole (counted in flush_errors), so the VMM never blocks on the consumer;
 *   - anything else is opened write-only with O_APPEND, and created (mode 0600) when missing.
 * Returns 0; -EALREADY when a sink was set already (as Firecracker refuses a second PUT); -EINVAL
 * for an empty path; or the -errno of the open (-ENOENT: no such directory, -EISDIR, -EACCES...)
 * or of the thread setup. On failure `err` (errlen bytes, may be NULL) says why, with the path,
 * and nothing was set: a later call may succeed. */
int metrics_set_sink(const char *path, unsigned period_ms, char *err, size_t errlen);

/* What every line written to the sink carries besides the document (Firecracker's emit_id and
 * properties), right after "utc_timestamp_ms": "id": `id` when not NULL, "properties": a copy
 * of `properties` (an object) when not NULL. GET /vmm/metrics (metrics_json()) is without
 * them. Set before metrics_set_sink(); a later call replaces them while no sink is set.
 * Returns 0, -EALREADY once a sink is set, or -ENOMEM. */
int metrics_set_line_fields(const char *id, const json_t *properties);

/* Writes one line now (the FlushMetrics action). Returns 0; -ENOENT when no sink is set;
 * -ENOMEM; -EAGAIN when a FIFO is full; or the write's -errno. Any thread. */
int metrics_flush(void);

/* At exit, from the thread that owns the process (after the API server stopped, so no
 * metrics_set_sink() races it): stops the flush thread, writes a last line, closes the sink and
 * detaches the VM. Afterwards the state is as at process start (a sink may be set again). */
void metrics_shutdown(void);

/* metrics_shutdown() for a VMM whose start failed: no last line is written, and a file that
 * metrics_set_sink() created is removed again (a failed start leaves nothing behind). */
void metrics_discard(void);

#endif
