/* pci_enum.h on x86: configuration mechanism #1 (the runtime's pci_cfg_*) and ECAM at the
 * command line's address must read the same; memory BARs where the runtime's identity map
 * reaches (the first 4 GiB); each INTx pin's MP table entry (Intel MP spec 1.4, chapter 4). */
#include "guest.h"
#include "pci_enum.h"

#include <linux/pci_regs.h>

#define ECAM_DEFAULT 0xE0000000ULL
#define FOUR_GIB     0x100000000ULL

static uint64_t ecam;

void pci_enum_arch_setup(void)
{
	ecam = ECAM_DEFAULT;
	cmdline_get_u64("ecam", &ecam);
	if (cmdline_has("no_ecam"))
		ecam = 0;
	TEST_ASSERT_MSG(ecam < FOUR_GIB, "ECAM at 0x%llx is not mapped", (unsigned long long)ecam);
	printf("conf1%s", ecam ? " and ECAM at " : " only\n");
	if (ecam)
		printf("0x%llx\n", (unsigned long long)ecam);
}

bool pci_enum_arch_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t *v)
{
	if (!ecam)
		return false;
	*v = mmio_read32(ecam +
			 ((uint64_t)bus << 20 | (uint64_t)dev << 15 | (uint64_t)fn << 12 | off));
	return true;
}

/* The MP table says nothing of where BARs go; q35's firmware and our VMM put them below 4 GiB. */
void pci_enum_arch_check_bar(const struct pci_enum_func *f, unsigned i)
{
	(void)f, (void)i;
}

bool pci_enum_arch_mapped(uint64_t addr, uint64_t len)
{
	return addr + len <= FOUR_GIB;
}
/* ---- the MP table ---- */

struct mp_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

static const uint8_t *mp_config(void)
{
	static const uint64_t ranges[][2] = {{0x9fc00, 0x400}, {0xf0000, 0x10000}};
	uint64_t ebda = (uint64_t) * (volatile uint16_t *)phys_ptr(0x40e) << 4;

	for (int r = -1; r < 2; r++) {
		uint64_t start = r < 0 ? ebda : ranges[r][0], len = r < 0 ? 0x400 : ranges[r][1];

		for (uint64_t a = start; r >= 0 || ebda; a += 16) {
			const uint8_t *p = phys_ptr(a);

			if (a + 16 > start + len)
				break;
			if (!memcmp(p, "_MP_", 4))
				return phys_ptr(*(const uint32_t *)(p + 4));
		}
	}
	return NULL;
}

/* The I/O interrupt entry for bus 0 device `dev` INTx `intx` (MP spec D.3: (dev << 2) | intx
 * on the bus whose type is "PCI" and ID 0), or NULL. */
static const struct mp_intsrc *mp_pci_entry(uint8_t dev, uint8_t intx, uint8_t *ioapic_id)
{
	const uint8_t *t = mp_config(), *e;
	int pci_bus = -1;

	if (!t || memcmp(t, "PCMP", 4))
		return NULL;
	e = t + 44;
	for (unsigned i = 0; i < *(const uint16_t *)(t + 34); i++) {
		const struct mp_intsrc *s = (const void *)e;

		if (e[0] == 1 && !memcmp(e + 2, "PCI", 3) && e[1] == 0)
			pci_bus = 0;
		if (e[0] == 2)
			*ioapic_id = e[1];
		if (e[0] == 3 && pci_bus == 0 && s->srcbus == 0 &&
		    s->srcbusirq == (dev << 2 | intx))
			return s;
		e += e[0] == 0 ? 20 : 8;
	}
	return NULL;
}

void pci_enum_arch_check_intx(const struct pci_enum_func *f, uint8_t pin, uint8_t line)
{
	uint8_t ioapic = 0xff;
	const struct mp_intsrc *s = mp_pci_entry(f->dev, pin - 1, &ioapic);

	printf("  INT%c, line %u; MP table: ", 'A' + pin - 1, line);
	if (s)
		printf("IOAPIC %u pin %u flags 0x%x (IOAPIC ID %u)\n", s->dstapic, s->dstirq,
		       s->irqflag, ioapic);
	else
		printf("no entry\n");
	if (pci_enum_strict) {
		TEST_ASSERT_EQ(line, 20 + (f->dev + pin - 1) % 4);
		TEST_ASSERT_MSG(s, "no MP table entry for 00:%02x INT%c", f->dev, 'A' + pin - 1);
		TEST_ASSERT_EQ(s->dstirq, line);
		TEST_ASSERT_EQ(s->dstapic, ioapic);
		TEST_ASSERT_EQ(s->irqflag, 0xf); /* level, active low */
	}
}

void pci_enum_arch_finish(void)
{
}
