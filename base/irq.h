/* How a device raises an interrupt without knowing about KVM: an IRQ line callback.
 * The VMM backs it with KVM_IRQ_LINE; tests back it with a recorder. */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

struct irq_line {
	/* Drive IOAPIC pin `gsi` to `level` (0 or 1). May be called from any thread. */
	void (*set)(void *opaque, unsigned gsi, int level);
	void *opaque;
	unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l && l->set)
		l->set(l->opaque, l->gsi, level);
}

#endif
