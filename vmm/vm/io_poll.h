/* The I/O threads' polling window cap (--io-poll) when the user gave none: chosen from the CPUs
 * the host lets the VMM run on. docs/io-paths.md says what was measured. */
#ifndef VMM_IO_POLL_H
#define VMM_IO_POLL_H

/* Every I/O thread has a CPU of its own beside the vCPUs: a window long enough to outlast a
 * kick and the wake-up of a sleeping thread (64-128 us on kvm_pvm). */
#define IO_POLL_SPARE_US 256
/* The I/O threads share CPUs with the vCPUs or each other: a window takes a CPU that another
 * busy thread needs, so it stays short. */
#define IO_POLL_SHARED_US 64

/* The cap for `io_threads` I/O threads beside `vcpus` vCPUs on `host_cpus` CPUs (0: unknown,
 * taken as shared). */
unsigned io_poll_default_us(unsigned host_cpus, unsigned vcpus, unsigned io_threads);

/* The CPUs this process may run on (its affinity mask); 0 when it cannot be read. */
unsigned host_usable_cpus(void);

#endif
