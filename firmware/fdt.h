/* The machine description (firmware/machine.h) as a flattened device tree (Devicetree
 * Specification v0.4; libfdt's sequential-write API). Built only with libfdt (HAVE_LIBFDT);
 * without it every function returns -ENOTSUP.
 *
 * The tree (x86; addresses and sizes are 2 cells each at the root):
 *   /                  compatible "vmm,kvm-x86_64", model, interrupt-parent = <&ioapic>
 *   /chosen            bootargs (machine_cmdline(): the very line the guest gets elsewhere),
 *                      linux,initrd-start/-end (64-bit, when there is an initrd),
 *                      stdout-path = "serial0" (first UART)
 *   /aliases           serial0..N
 *   /cpus/cpu@ID       device_type "cpu", reg = APIC ID (what Linux's dtb_cpu_setup() reads)
 *   /memory@BASE       one node per RAM range, device_type "memory"
 *   memory reservation block: machine_arch_reserved() (x86: [EBDA_START, 1 MiB)), as the e820
 *                      map reserves it
 *   /interrupt-controller@fec00000   IOAPIC: compatible "intel,ce4100-ioapic" (the binding
 *                      Linux's x86 DT code matches), interrupt-controller, #interrupt-cells = 2,
 *                      #address-cells = 0, reg, phandle = FDT_PHANDLE_IOAPIC
 *   /interrupt-controller@fee00000   LAPIC: compatible "intel,ce4100-lapic", reg,
 *                      intel,virtual-wire-mode (our MP table's mode too), phandle
 *   /isa@i0            the x86 port space as an ISA bus (binding: IEEE 1275 ISA, #address-cells
 *                      = 2: <1 port> is I/O, #size-cells = 1), ranges = <1 0  0 0  0x10000>:
 *                      ports translate to root addresses equal to the port number, which is
 *                      how Linux on x86 (no PCI_IOBASE) turns them into port numbers. The
 *                      unit address is written "i0" (the ISA binding's I/O notation) so it
 *                      differs from /memory@0, which starts at the same root address.
 *                      Children: serial@iPORT (compatible "ns16550a", clock-frequency,
 *                      interrupts), test-exit@iPORT (compatible "vmm,isa-debug-exit"),
 *                      boot-timer@iPORT (compatible "vmm,boot-timer", its legacy port)
 *   /pci@ECAM          compatible "pci-host-ecam-generic", device_type "pci", bus-range,
 *                      #address-cells = 3, #size-cells = 2, reg = ECAM, ranges (I/O window if
 *                      any: space code 0x01000000, parent address = port number; 32-bit memory
 *                      window: 0x02000000, identity), and for the INTx lines in use
 *                      #interrupt-cells = 1, interrupt-map-mask = <0xf800 0 0 7>,
 *                      interrupt-map = <DEV<<11 0 0 PIN(1-4)  &ioapic  IOAPIC-PIN TYPE>
 *   /virtio_mmio@BASE  compatible "virtio,mmio", reg, interrupts = <PIN TYPE>
 *   /boot-timer@BASE   compatible "vmm,boot-timer" (Firecracker's MMIO boot timer), reg
 *
 * IOAPIC interrupt specifiers are <pin type>, type as Linux's arch/x86/kernel/devicetree.c
 * (of_ioapic_type[]) decodes it: FDT_IOAPIC_EDGE_FALLING 0, FDT_IOAPIC_LEVEL_HIGH 1,
 * FDT_IOAPIC_LEVEL_LOW 2, FDT_IOAPIC_EDGE_RISING 3. So virtio-mmio is <pin 1>, PCI INTx
 * <pin 2>, the ISA UART <4 3>.
 *
 * How the guest gets the blob: Linux bzImage through boot_params.hdr.setup_data, one
 * struct setup_data of type SETUP_DTB (boot.rst "setup_data"); PVH as a module
 * (machine_dtb_module(): module 1 after the initrd, module 0 without one), 8-byte aligned,
 * starting with the FDT magic 0xd00dfeed. */
#ifndef FIRMWARE_FDT_H
#define FIRMWARE_FDT_H

#include <stddef.h>

#include "firmware/machine.h"

#define FDT_PHANDLE_IOAPIC 1
#define FDT_PHANDLE_LAPIC  2

#define FDT_IOAPIC_EDGE_FALLING 0
#define FDT_IOAPIC_LEVEL_HIGH	1
#define FDT_IOAPIC_LEVEL_LOW	2
#define FDT_IOAPIC_EDGE_RISING	3

#define FDT_MAX_SIZE (1u << 20) /* no sane description needs more */

/* True when the VMM was built with libfdt. */
bool machine_fdt_supported(void);

/* Writes the tree for `m` into `buf` (`cap` bytes). Returns its size (the header's totalsize),
 * -ENOSPC when `cap` is too small, -EINVAL when the description cannot be expressed (no
 * interrupt controller, a device interrupt past its pins), -ENOTSUP without libfdt. */
int machine_fdt_build(const struct machine *m, void *buf, size_t cap);

/* The same into a malloc'd buffer of the right size (*blob, *size; free() it). Returns 0 or
 * -errno as machine_fdt_build(), -ENOMEM. */
int machine_fdt_alloc(const struct machine *m, void **blob, size_t *size);

/* Writes the tree to the file `path` (created or truncated). Returns 0 or -errno (logged). */
int machine_fdt_dump(const struct machine *m, const char *path);

#endif
