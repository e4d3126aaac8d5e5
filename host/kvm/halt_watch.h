/* Detects a guest that has stopped for good: every vCPU halted (HLT) with interrupts disabled.
 *
 * With the in-kernel irqchip KVM handles HLT itself, so a halted vCPU stays inside KVM_RUN and
 * the VMM would wait forever. Linux without ACPI ends `poweroff` exactly so: no power-off
 * device, "System halted", every CPU parked in HLT with IF=0. Only an NMI, INIT or SMI could
 * wake such a CPU, and nothing in this VMM sends one, so the VM is treated as powered off.
 *
 * The main thread ticks the watch about once a second. Each tick asks every vCPU thread to
 * sample its state (a kick makes KVM_RUN return; the thread reads KVM_GET_MP_STATE and RFLAGS
 * and goes back in) and reads the answers of the previous tick. The VM counts as halted after
 * HALT_WATCH_TICKS consecutive ticks in which every vCPU answered "halted, IF=0". */
#ifndef VMM_HALT_WATCH_H
#define VMM_HALT_WATCH_H

#include <stdbool.h>

#define HALT_WATCH_TICKS     2
#define HALT_WATCH_PERIOD_MS 1000

/* What one vCPU's last sample said. */
enum halt_sample {
	HALT_SAMPLE_NONE,    /* not sampled since it was asked (still running in the guest) */
	HALT_SAMPLE_RUNNING, /* runnable, or halted with interrupts enabled */
	HALT_SAMPLE_DEAD,    /* halted with interrupts disabled */
};

struct halt_watch {
	unsigned dead_ticks; /* consecutive ticks with every vCPU HALT_SAMPLE_DEAD */
};

/* Folds one tick's samples (one per vCPU) into the watch. True once the VM has been dead for
 * HALT_WATCH_TICKS ticks in a row. */
bool halt_watch_update(struct halt_watch *w, const enum halt_sample *samples, unsigned n);

#endif
