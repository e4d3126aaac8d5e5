/* MSI-X capability, vector table and Pending Bit Array (PCI Local Bus Specification 3.0,
 * 6.8.2). */
#include "devices/pci/pci_msix.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

enum { ENTRY_ADDR_LO, ENTRY_ADDR_HI, ENTRY_DATA, ENTRY_CTRL };

int pci_msix_init(struct pci_msix *m, struct pci_func *f, uint16_t nvec, int bar,
		  uint32_t table_off, uint32_t pba_off, pci_msix_send_fn send, void *opaque)
{
	if (nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || bar < 0 || bar >= PCI_NUM_BARS ||
	    (table_off | pba_off) & 7)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	int cap = pci_func_add_cap(f, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_LEN);
	if (cap < 0)
		return cap;
	m->func = f;
	m->cap = (uint8_t)cap;
	m->nvec = nvec;
	m->send = send;
	m->opaque = opaque;
	pci_cfg_set16(f, m->cap + PCI_MSIX_FLAGS, (uint16_t)(nvec - 1)); /* Table Size is N-1 */
	pci_wmask_set16(f, m->cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_cfg_set32(f, m->cap + PCI_MSIX_TABLE, table_off | (uint32_t)bar);
	pci_cfg_set32(f, m->cap + PCI_MSIX_PBA, pba_off | (uint32_t)bar);
	for (uint16_t v = 0; v < nvec; v++)
		m->table[v][ENTRY_CTRL] =
		    PCI_MSIX_ENTRY_CTRL_MASKBIT; /* 6.8.2.9: masked at reset */
	return 0;
}

bool pci_msix_masked(const struct pci_msix *m, uint16_t vector)
{
	return m->masked || (m->table[vector][ENTRY_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void send(struct pci_msix *m, uint16_t v)
{
	uint64_t addr = m->table[v][ENTRY_ADDR_LO] | (uint64_t)m->table[v][ENTRY_ADDR_HI] << 32;
	m->send(m->opaque, v, addr, m->table[v][ENTRY_DATA]);
}

/* Sends every pending vector that is no longer masked, clearing its pending bit. */
static void flush_pending(struct pci_msix *m)
{
	if (!m->enabled)
		return;
	for (uint16_t v = 0; v < m->nvec; v++) {
		if ((m->pending >> v & 1) && !pci_msix_masked(m, v)) {
			m->pending &= ~(1ULL << v);
			send(m, v);
		}
	}
}

void pci_msix_control_written(struct pci_msix *m)
{
	uint16_t ctrl = pci_cfg_get16(m->func, m->cap + PCI_MSIX_FLAGS);
	m->enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	m->masked = ctrl & PCI_MSIX_FLAGS_MASKALL;
	flush_pending(m);
}

bool pci_msix_notify(struct pci_msix *m, uint16_t vector)
{
	if (!m->enabled)
		return false;
	if (vector >= m->nvec)
		return true;
	if (pci_msix_masked(m, vector))
		m->pending |= 1ULL << vector;
	else
		send(m, vector);
	return true;
}

static bool aligned_access(uint64_t off, uint32_t len)
{
	return (len == 4 || len == 8) && off % len == 0;
}

void pci_msix_table_read(struct pci_msix *m, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (!aligned_access(off, len) || off >= pci_msix_table_size(m->nvec))
		return;
	const uint32_t *words = &m->table[0][0];
	memcpy(data, &words[off / 4], len);
}

static void write_word(struct pci_msix *m, uint64_t word, uint32_t v)
{
	uint16_t vector = (uint16_t)(word / 4);
	unsigned field = word % 4;
	if (field == ENTRY_CTRL) {
		v &= PCI_MSIX_ENTRY_CTRL_MASKBIT; /* the other bits are reserved */
		m->table[vector][field] = v;
		if (!v)
			flush_pending(m);
		return;
	}
	m->table[vector][field] = v;
}

void pci_msix_table_write(struct pci_msix *m, uint64_t off, const void *data, uint32_t len)
{
	if (!aligned_access(off, len) || off >= pci_msix_table_size(m->nvec))
		return;
	uint32_t words[2];
	memcpy(words, data, len);
	for (uint32_t i = 0; i < len / 4; i++)
		write_word(m, off / 4 + i, words[i]);
}

void pci_msix_pba_read(struct pci_msix *m, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (!aligned_access(off, len) || off >= pci_msix_pba_size(m->nvec))
		return;
	uint64_t bits = m->pending;
	memcpy(data, (const uint8_t *)&bits + off, len);
}

void pci_msix_save(const struct pci_msix *m, struct pci_msix_state *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->table, m->table, sizeof(s->table));
	s->pending = m->pending;
	s->nvec = m->nvec;
}

bool pci_msix_state_ok(const struct pci_msix *m, const struct pci_msix_state *s)
{
	if (s->nvec != m->nvec || s->reserved[0] || s->reserved[1] || s->reserved[2])
		return false;
	if (m->nvec < 64 && s->pending >> m->nvec)
		return false;
	for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++) {
		const uint32_t *e = s->table[v];
		if (v >= m->nvec && (e[0] | e[1] | e[2] | e[3]))
			return false;
		if (e[ENTRY_CTRL] & ~PCI_MSIX_ENTRY_CTRL_MASKBIT)
			return false;
	}
	return true;
}

int pci_msix_restore(struct pci_msix *m, const struct pci_msix_state *s)
{
	if (!pci_msix_state_ok(m, s))
		return -EINVAL;
	memcpy(m->table, s->table, sizeof(m->table));
	m->pending = s->pending;
	uint16_t ctrl = pci_cfg_get16(m->func, m->cap + PCI_MSIX_FLAGS);
	m->enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	m->masked = ctrl & PCI_MSIX_FLAGS_MASKALL;
	return 0;
}
