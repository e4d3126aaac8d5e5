/* QEMU's firmware configuration device (fw_cfg), as QEMU's docs/specs/fw_cfg.rst describes it:
 * what SeaBIOS and OVMF read to learn the machine (CPUs, memory map, boot order, ACPI tables,
 * a kernel to boot directly).
 *
 * The model is architecture-neutral: a selector, a byte-wide data register and the DMA address
 * register, reached through fw_cfg_select(), fw_cfg_data_read() and fw_cfg_dma_write(); x86
 * places them at I/O ports 0x510/0x511/0x514 (fw_cfg_attach_pio()), another platform would map
 * the same calls on MMIO. Items are byte blobs the device owns (copied in). Guest memory is
 * touched only by DMA, and only through base/guest_mem.h: a control structure or buffer that is
 * not guest RAM fails the operation (the error bit) and reaches no host memory.
 *
 * Thread safety: the registers may be used from any vCPU thread (one lock); items are added
 * before the guest runs. */
#ifndef DEVICES_FW_CFG_H
#define DEVICES_FW_CFG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "base/io_bus.h"

/* Selector keys (QEMU's include/standard-headers/linux/qemu_fw_cfg.h numbering). */
enum fw_cfg_key {
	FW_CFG_SIGNATURE = 0x00, /* "QEMU" */
	FW_CFG_ID = 0x01,	 /* feature bits, u32 LE */
	FW_CFG_UUID = 0x02,
	FW_CFG_RAM_SIZE = 0x03, /* u64 LE, bytes */
	FW_CFG_NOGRAPHIC = 0x04,
	FW_CFG_NB_CPUS = 0x05, /* u16 LE, CPUs present at boot */
	FW_CFG_MACHINE_ID = 0x06,
	FW_CFG_KERNEL_ADDR = 0x07,
	FW_CFG_KERNEL_SIZE = 0x08, /* u32 LE */
	FW_CFG_KERNEL_CMDLINE = 0x09,
	FW_CFG_INITRD_ADDR = 0x0a,
	FW_CFG_INITRD_SIZE = 0x0b, /* u32 LE */
	FW_CFG_BOOT_DEVICE = 0x0c,
	FW_CFG_NUMA = 0x0d,
	FW_CFG_BOOT_MENU = 0x0e, /* u16 LE: 1 shows the boot menu */
	FW_CFG_MAX_CPUS = 0x0f,	 /* u16 LE, CPUs possible (hotplug) */
	FW_CFG_KERNEL_ENTRY = 0x10,
	FW_CFG_KERNEL_DATA = 0x11, /* the kernel after its real-mode setup */
	FW_CFG_INITRD_DATA = 0x12,
	FW_CFG_CMDLINE_ADDR = 0x13,
	FW_CFG_CMDLINE_SIZE = 0x14, /* u32 LE, with the NUL */
	FW_CFG_CMDLINE_DATA = 0x15,
	FW_CFG_SETUP_ADDR = 0x16,
	FW_CFG_SETUP_SIZE = 0x17, /* u32 LE */
	FW_CFG_SETUP_DATA = 0x18, /* the bzImage's real-mode setup sectors */
	FW_CFG_FILE_DIR = 0x19,	  /* the file directory (below) */
	FW_CFG_FILE_FIRST = 0x20, /* files take keys from here on, in the order added */
	/* Bit 15: an architecture's own items; bit 14: the old write channel, ignored. */
	FW_CFG_ARCH_LOCAL = 0x8000,
	FW_CFG_WRITE_CHANNEL = 0x4000,
};

/* FW_CFG_ID bits. */
#define FW_CFG_VERSION	   0x01u /* the selector/data interface: always */
#define FW_CFG_VERSION_DMA 0x02u

/* The DMA control word's bits (FWCfgDmaAccess.control, big-endian in guest memory); the
 * selector to switch to is in its upper 16 bits with FW_CFG_DMA_SELECT. */
#define FW_CFG_DMA_ERROR  0x01u
#define FW_CFG_DMA_READ	  0x02u
#define FW_CFG_DMA_SKIP	  0x04u
#define FW_CFG_DMA_SELECT 0x08u
#define FW_CFG_DMA_WRITE  0x10u

/* What reading the DMA address register returns, in big-endian byte order: "QEMU CFG". */
#define FW_CFG_DMA_SIGNATURE "QEMU CFG"

#define FW_CFG_NAME_MAX	 56 /* a file name with its NUL (FWCfgFile.name) */
#define FW_CFG_MAX_FILES 64
#define FW_CFG_MAX_ITEMS (32 + FW_CFG_MAX_FILES)

/* x86 ports (QEMU's pc machines). */
#define FW_CFG_PORT_SEL	 0x510 /* 16-bit selector, little-endian */
#define FW_CFG_PORT_DATA 0x511 /* 8-bit data */
#define FW_CFG_PORT_DMA	 0x514 /* 64-bit DMA address, big-endian; the write at 0x518 starts it */

struct fw_cfg_item {
	uint16_t key;  /* without FW_CFG_WRITE_CHANNEL */
	bool writable; /* by DMA write (QEMU 2.9+); the data register never writes */
	uint32_t len;
	uint8_t *data; /* owned, len bytes (NULL when len is 0) */
};

struct fw_cfg {
	pthread_mutex_t lock;
	const struct guest_mem *mem; /* for DMA; NULL: no DMA feature bit, DMA writes ignored */
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
	int nitems;
	int nfiles;
	char names[FW_CFG_MAX_FILES][FW_CFG_NAME_MAX];
	/* the register state */
	struct fw_cfg_item *cur; /* the selected item, NULL for a key with none */
	uint32_t offset;	 /* the data offset into *cur */
	uint64_t dma_addr;	 /* as written so far (high half first) */
	uint64_t dma_ops;	 /* DMA operations run, for tests and logs */
	/* Called (the vCPU's thread, the device unlocked) after a DMA write into the item at
	 * `key` succeeded: the firmware wrote something back (NULL: nobody listens). */
	void (*on_write)(void *opaque, uint16_t key);
	void *on_write_opaque;
	uint16_t written; /* the key written by the operation running, 0: none */
};

/* Sets up the device with the signature, FW_CFG_ID and an empty file directory. `mem` (may be
 * NULL: no DMA) must outlive the device. Returns 0 or -ENOMEM. */
int fw_cfg_init(struct fw_cfg *c, const struct guest_mem *mem);
/* Frees every item. */
void fw_cfg_destroy(struct fw_cfg *c);

/* Adds (or replaces) the item at `key` with a copy of data[0..len). Returns 0, -EINVAL (a key
 * in the file range or the directory's own) or -ENOMEM / -ENOSPC. */
int fw_cfg_add_bytes(struct fw_cfg *c, uint16_t key, const void *data, uint32_t len);
/* Little-endian integers, as the firmware reads the numbered items. */
int fw_cfg_add_u16(struct fw_cfg *c, uint16_t key, uint16_t v);
int fw_cfg_add_u32(struct fw_cfg *c, uint16_t key, uint32_t v);
int fw_cfg_add_u64(struct fw_cfg *c, uint16_t key, uint64_t v);

/* Adds the file `name` (1..55 characters) with a copy of data[0..len), `writable` by DMA (the
 * firmware writes back, e.g. etc/vmgenid_addr), and lists it in the directory. Its key is
 * returned (>= FW_CFG_FILE_FIRST), or -EINVAL (bad name), -EEXIST, -ENOSPC or -ENOMEM. */
int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, uint32_t len,
		    bool writable);
/* The item at `key` (for tests and for callers that read what the guest wrote), or NULL. */
const struct fw_cfg_item *fw_cfg_find(struct fw_cfg *c, uint16_t key);
/* The item of file `name`, or NULL. */
const struct fw_cfg_item *fw_cfg_find_file(struct fw_cfg *c, const char *name);
/* Copies the first `len` bytes of file `name` as they are now (a writable file: what the
 * firmware wrote), under the device's lock. 0, or -ENOENT (no such file or a shorter one). */
int fw_cfg_read_file(struct fw_cfg *c, const char *name, void *out, uint32_t len);

/* The registers. A selector write selects `key` and resets the data offset. A data read returns
 * the next byte of the selected item, 0 past its end or without an item; data writes are
 * ignored (as QEMU does since 2.4: only DMA writes). */
void fw_cfg_select(struct fw_cfg *c, uint16_t key);
uint8_t fw_cfg_data_read(struct fw_cfg *c);
/* An access of `len` bytes at `offset` (0..7) of the 8-byte DMA address register, bytes in
 * guest order (the register is big-endian). A 4-byte write at 0 sets the high half; a 4-byte
 * write at 4, or an 8-byte write at 0, completes the address and runs the operation whose
 * FWCfgDmaAccess is there. Other widths are ignored. */
void fw_cfg_dma_write(struct fw_cfg *c, uint64_t offset, const void *data, uint32_t len);
/* Reads of the DMA address register return FW_CFG_DMA_SIGNATURE's bytes at offset..offset+len. */
void fw_cfg_dma_read(struct fw_cfg *c, uint64_t offset, void *data, uint32_t len);

/* Claims the x86 ports 0x510-0x511 and 0x514-0x51b on `pio`. Returns 0 or -errno. */
int fw_cfg_attach_pio(struct fw_cfg *c, struct io_bus *pio);
void fw_cfg_detach_pio(struct fw_cfg *c, struct io_bus *pio);

#endif
