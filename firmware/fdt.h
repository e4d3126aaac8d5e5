/* The machine description (firmware/machine.h) as a flattened device tree (Devicetree
 * Specification v0.4; libfdt's sequential-write API). Built only with libfdt (HAVE_LIBFDT);
 * without it every function returns -ENOTSUP.
 *
 * One generic walker (fdt.c) writes the nodes every machine has from the description; the
 * architecture's table (fdt_arch.h, firmware/<arch>/fdt_<arch>.c) adds its interrupt controller,
 * CPU binding, specifier format and own nodes. Nodes common to both trees: /chosen, /aliases,
 * /cpus, /memory, the PCI host bridge, virtio-mmio windows, the MMIO boot timer, and, when the
 * description has PrimeCells, the APB clock, PL011 UARTs and the PL031 RTC (below, arm64).
 *
 * The x86 tree (addresses and sizes are 2 cells each at the root):
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
 * starting with the FDT magic 0xd00dfeed.
 *
 * The arm64 tree (the shape of QEMU's virt machine, which arm64 kernels know best):
 *   /                  compatible "linux,dummy-virt", model, #address-cells = #size-cells = 2,
 *                      interrupt-parent = <&gic>
 *   /chosen            bootargs (no virtio_mmio.device= entries: the windows are nodes),
 *                      linux,initrd-start/-end, stdout-path = "serial0" (-> the first PL011;
 *                      Linux's earlycon without arguments finds it there)
 *   /aliases           serial0..N = "/pl011@BASE"
 *   /cpus/cpu@MPIDR    device_type "cpu", compatible "arm,arm-v8", enable-method "psci",
 *                      reg = MPIDR bits 23:0 (#address-cells = 1)
 *   /memory@BASE       as on x86
 *   memory reservation block: machine_arch_reserved() (the 2 MiB below the kernel)
 *   /interrupt-controller@GICD   compatible "arm,gic-v3", interrupt-controller,
 *                      #interrupt-cells = 3, #address-cells = #size-cells = 2, ranges,
 *                      reg = <GICD> <GICR: every vCPU's redistributor>, phandle = FDT_PHANDLE_GIC;
 *                      child msi-controller@ITS: compatible "arm,gic-v3-its", msi-controller,
 *                      #msi-cells = 1, reg, phandle = FDT_PHANDLE_ITS
 *                      (a GICv2: compatible "arm,cortex-a15-gic", reg = <GICD 4 KiB> <GICC
 *                      8 KiB>, no ITS and no msi-map; child v2m@FRAME: compatible
 *                      "arm,gic-v2m-frame", msi-controller, reg (its SPIs: its MSI_TYPER),
 *                      phandle = FDT_PHANDLE_V2M, and the PCI
 *                      node's msi-parent = <&v2m>)
 *   /timer             compatible "arm,armv8-timer", interrupts = the four PPIs <1 13 4>
 *                      <1 14 4> <1 11 4> <1 10 4> (a GICv2: flags | CPU mask << 8), always-on
 *   /psci              compatible "arm,psci-1.0", "arm,psci-0.2", method "hvc"
 *   /apb-pclk          compatible "fixed-clock", clock-frequency 24 MHz, #clock-cells 0, phandle
 *                      FDT_PHANDLE_APB_PCLK: the PrimeCells' bus clock
 *   /pl011@BASE        compatible "arm,pl011", "arm,primecell", reg, interrupts,
 *                      clocks = <&apb-pclk &apb-pclk>, clock-names "uartclk", "apb_pclk"
 *   /pl031@BASE        compatible "arm,pl031", "arm,primecell", reg, interrupts,
 *                      clocks = <&apb-pclk>, clock-names "apb_pclk"
 *   /pci@ECAM          as on x86 (no I/O window), interrupt-map parent <&gic 0 0 0 SPI 4>
 *                      (the GIC node's 2 address cells, then its specifier), msi-map =
 *                      <0 &its 0 0x10000> (requester ID = ITS DeviceID), dma-coherent
 *   /virtio_mmio@BASE  compatible "virtio,mmio", reg, interrupts = <0 SPI 4>
 *   /boot-timer@BASE   as on x86
 *
 * GIC interrupt specifiers are <type number flags>: type FDT_GIC_SPI 0 (number = the SPI offset,
 * which is machine_irq.pin on arm64) or FDT_GIC_PPI 1 (number = INTID - 16); flags
 * FDT_GIC_EDGE_RISING 1 or FDT_GIC_LEVEL_HIGH 4 (Linux's dt-bindings irq.h IRQ_TYPE_*). Every
 * device line here is a level: <0 pin 4>.
 *
 * How the guest gets the blob on arm64: its guest-physical address in x0 at the kernel's entry
 * (Documentation/arch/arm64/booting.rst: 8-byte aligned, at most 2 MiB, in a 2 MiB region of
 * its own); base/aarch64/arch/layout.h puts it at the end of RAM. */
#ifndef FIRMWARE_FDT_H
#define FIRMWARE_FDT_H

#include <stddef.h>

#include "firmware/machine.h"

#define FDT_PHANDLE_IOAPIC   1
#define FDT_PHANDLE_LAPIC    2
#define FDT_PHANDLE_GIC	     1
#define FDT_PHANDLE_ITS	     2
#define FDT_PHANDLE_APB_PCLK 3
#define FDT_PHANDLE_V2M	     4

/* The node port-I/O devices live under (x86), in the ISA binding's I/O notation. */
#define FDT_ISA_NODE "isa@i0"

#define FDT_GIC_SPI	    0
#define FDT_GIC_PPI	    1
#define FDT_GIC_EDGE_RISING 1
#define FDT_GIC_LEVEL_HIGH  4

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
