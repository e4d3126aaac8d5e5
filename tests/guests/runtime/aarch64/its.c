/* The ITS driver (its.h). Register and command layouts: Arm IHI 0069 12.11 (redistributor),
 * 12.19 (ITS), 5.3 (commands). */
#include "its.h"

#include "gic.h"
#include "platform.h"
#include "printf.h"
#include "string.h"

#define GICR_CTLR	0x0000
#define GICR_TYPER	0x0008
#define GICR_PROPBASER	0x0070
#define GICR_PENDBASER	0x0078
#define CTLR_ENABLE_LPI 1u
#define TYPER_PLPIS	1u
#define LPI_ID_BITS	14	    /* INTIDs below 16384: LPIs 8192-16383 */
#define CACHE_WAWB	(7ULL << 7) /* Inner Cacheable, write-back, read/write-allocate */
#define SHARE_INNER	(1ULL << 10)

#define GITS_CTLR	  0x0000
#define GITS_TYPER	  0x0008
#define GITS_CBASER	  0x0080
#define GITS_CWRITER	  0x0088
#define GITS_CREADR	  0x0090
#define GITS_BASER(n)	  (0x0100 + 8 * (n))
#define GITS_CTLR_ENABLED 1u
#define TYPER_PTA	  (1ULL << 19)
#define BASER_VALID	  (1ULL << 63)
#define BASER_TYPE(v)	  (((v) >> 56) & 7)
#define BASER_DEVICES	  1
#define BASER_COLLECTIONS 4
#define BASER_RO_BITS	  (7ULL << 56 | 0x1fULL << 48) /* type, entry size */
#define BASER_CACHE_WAWB  (7ULL << 59)
#define BASER_PAGE_64K	  (2ULL << 8)
#define BASER_PA	  0x0000fffffffff000ULL

#define CMD_MAPD     0x08
#define CMD_MAPC     0x09
#define CMD_MAPTI    0x0a
#define CMD_INV	     0x0c
#define CMD_SYNC     0x05
#define CMD_BYTES    32
#define QUEUE_BYTES  4096
#define ITT_BYTES    2048 /* ITS_EVENTS entries of up to 8 bytes */
#define MAX_DEVS     16
#define LPI_PRIORITY 0xa0
#define POLL_LIMIT   100000

static uint8_t prop_table[(1u << LPI_ID_BITS) - GIC_FIRST_LPI] __attribute__((aligned(4096)));
static uint8_t pend_table[(1u << LPI_ID_BITS) / 8] __attribute__((aligned(65536)));
/* One 64 KiB page each: KVM takes every table page for 64 KiB (its GITS_BASER keeps no other
 * size) and reads a 64 KiB page's address bits 15:12 as PA bits 51:48, so a table only
 * 4 KiB-aligned would lie far outside RAM and every MAPD and MAPC fail. */
static uint8_t tables[2][65536] __attribute__((aligned(65536)));
/* 64 KiB-aligned: KVM clears GITS_CBASER's address bits 15:12 (and would read the commands
 * from the 64 KiB boundary below a queue only 4 KiB-aligned). */
static uint64_t cmdq[QUEUE_BYTES / 8] __attribute__((aligned(65536)));
static uint8_t itts[MAX_DEVS][ITT_BYTES] __attribute__((aligned(256)));
static uint32_t mapped_dev[MAX_DEVS];
static unsigned ndevs;
static uint64_t its_base, cwriter, rd_target;

static uint64_t pa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static bool lpis_on(uint64_t rd)
{
	if (!(mmio_read64(rd + GICR_TYPER) & TYPER_PLPIS)) {
		printf("its: the redistributor has no physical LPIs\n");
		return false;
	}
	memset(prop_table, 0, sizeof(prop_table));
	memset(pend_table, 0, sizeof(pend_table));
	__asm__ volatile("dsb ish" ::: "memory");
	mmio_write64(rd + GICR_PROPBASER,
		     pa(prop_table) | SHARE_INNER | CACHE_WAWB | (LPI_ID_BITS - 1));
	mmio_write64(rd + GICR_PENDBASER, pa(pend_table) | SHARE_INNER | CACHE_WAWB);
	mmio_write32(rd + GICR_CTLR, mmio_read32(rd + GICR_CTLR) | CTLR_ENABLE_LPI);
	return true;
}

/* Gives the device and collection tables their page; false when a BASER does not keep it. */
static bool its_tables(uint64_t its)
{
	for (unsigned n = 0; n < 8; n++) {
		uint64_t v = mmio_read64(its + GITS_BASER(n)), type = BASER_TYPE(v), want;
		if (type != BASER_DEVICES && type != BASER_COLLECTIONS)
			continue;
		void *t = tables[type == BASER_DEVICES ? 0 : 1];
		want = BASER_VALID | BASER_CACHE_WAWB | (v & BASER_RO_BITS) | pa(t) | SHARE_INNER |
		       BASER_PAGE_64K; /* one page */
		mmio_write64(its + GITS_BASER(n), want);
		if ((mmio_read64(its + GITS_BASER(n)) & (BASER_VALID | BASER_PA)) !=
		    (want & (BASER_VALID | BASER_PA))) {
			printf("its: GITS_BASER%u kept 0x%llx of 0x%llx\n", n,
			       (unsigned long long)mmio_read64(its + GITS_BASER(n)),
			       (unsigned long long)want);
			return false;
		}
	}
	return true;
}

/* Queues one command and waits until the ITS has read it (GITS_CREADR reaches the write
 * pointer). */
static bool its_cmd(uint64_t w0, uint64_t w1, uint64_t w2)
{
	uint64_t *c = &cmdq[cwriter / 8];

	c[0] = w0, c[1] = w1, c[2] = w2, c[3] = 0;
	cwriter = (cwriter + CMD_BYTES) % QUEUE_BYTES;
	__asm__ volatile("dsb ishst" ::: "memory");
	mmio_write64(its_base + GITS_CWRITER, cwriter);
	for (int i = 0; i < POLL_LIMIT; i++) {
		if (mmio_read64(its_base + GITS_CREADR) == cwriter)
			return true;
		cpu_relax();
	}
	printf("its: command 0x%llx never completed (GITS_CREADR 0x%llx)\n",
	       (unsigned long long)(w0 & 0xff),
	       (unsigned long long)mmio_read64(its_base + GITS_CREADR));
	return false;
}

/* MAPC of collection 0 to this CPU: its redistributor's address, or its processor number
 * (GITS_TYPER.PTA, 5.3.8). */
static bool its_setup(uint64_t its)
{
	uint64_t rd = gic_redist();

	if (!rd || !lpis_on(rd) || !its_tables(its))
		return false;
	mmio_write32(its + GITS_CTLR, 0);
	mmio_write64(its + GITS_CBASER, BASER_VALID | BASER_CACHE_WAWB | pa(cmdq) | SHARE_INNER);
	if ((mmio_read64(its + GITS_CBASER) & BASER_PA) != pa(cmdq)) {
		printf("its: GITS_CBASER kept 0x%llx, not the queue at 0x%llx\n",
		       (unsigned long long)mmio_read64(its + GITS_CBASER),
		       (unsigned long long)pa(cmdq));
		return false;
	}
	mmio_write64(its + GITS_CWRITER, 0);
	mmio_write32(its + GITS_CTLR, GITS_CTLR_ENABLED);
	its_base = its;
	cwriter = 0;
	rd_target = mmio_read64(its + GITS_TYPER) & TYPER_PTA
			? rd
			: ((mmio_read64(rd + GICR_TYPER) >> 8) & 0xffff) << 16;
	return its_cmd(CMD_MAPC, 0, BASER_VALID | rd_target) && its_cmd(CMD_SYNC, 0, rd_target);
}

/* MAPD once per device: its ITT, 8 EventID bits. */
static bool its_device(uint32_t devid)
{
	for (unsigned i = 0; i < ndevs; i++) {
		if (mapped_dev[i] == devid)
			return true;
	}
	if (ndevs == MAX_DEVS) {
		printf("its: more than %u devices\n", MAX_DEVS);
		return false;
	}
	memset(itts[ndevs], 0, ITT_BYTES);
	mapped_dev[ndevs] = devid;
	return its_cmd(CMD_MAPD | (uint64_t)devid << 32, 7, BASER_VALID | pa(itts[ndevs++]));
}

bool its_map_event(uint64_t its, uint32_t devid, uint8_t vector)
{
	uint32_t lpi = GIC_FIRST_LPI + vector;

	if (!its_base && !its_setup(its))
		return false;
	prop_table[lpi - GIC_FIRST_LPI] = LPI_PRIORITY | 1; /* enabled, group 1 */
	__asm__ volatile("dsb ishst" ::: "memory");
	return its_device(devid) &&
	       its_cmd(CMD_MAPTI | (uint64_t)devid << 32, vector | (uint64_t)lpi << 32, 0) &&
	       its_cmd(CMD_INV | (uint64_t)devid << 32, vector, 0) &&
	       its_cmd(CMD_SYNC, 0, rd_target);
}
