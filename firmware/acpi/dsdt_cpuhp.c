/* ACPI CPU hotplug in the DSDT (devices/acpi_cpuhp.h has the registers): in \_SB, the register
 * block as fields, what each processor device adds to its _HID and _UID, and CSCN, the method the
 * Generic Event Device's _EVT calls on ACPI_GED_EVENT_CPU_HOTPLUG.
 *
 *   OperationRegion (CPST, SystemMemory, base, 0x20)
 *   Field (CPST, DWordAcc, NoLock, WriteAsZeros) { CINL, 32, CINH, 32, CRML, 32, CRMH, 32,
 *                                                  CPRL, 32, CPRH, 32, CEJ0, 32 }
 *   Device (Cnnn) { ...
 *       Method (_STA) { If (CPRx & bit) { Return (0x0F) } Return (Zero) }
 *       Name (_MAT, Buffer () { 0, 8, nn, apic, 1, 0, 0, 0 })   its MADT entry, enabled
 *       Method (_EJ0, 1) { CEJ0 = nn } }                        (not on C000: it stays)
 *   Method (CSCN, 0, Serialized) { Local0 = CINL  Local1 = CINH  Local2 = CRML  Local3 = CRMH
 *       If (LocalX & bit) { Notify (Cnnn, 1) }       device check: "it is there now"
 *       If (LocalY & bit) { Notify (Cnnn, 3) } ... } eject request: "give it back"
 *
 * Linux's ACPI processor driver (drivers/acpi/acpi_processor.c, CONFIG_ACPI_HOTPLUG_CPU) takes a
 * device check on a processor whose _STA says present as a hot-add: it reads the APIC ID from
 * _MAT (§6.2.10; the MADT entry of an absent vCPU is not enabled), registers the CPU, which user
 * space then onlines. On an eject request it offlines the CPU, calls _EJ0 (§6.3.3) and reads
 * _STA again: the controller drops the present bit at the _EJ0 write. _STA (§6.3.7) 0x0F:
 * present, enabled, shown, functioning. As in dsdt_pcihp.c, CSCN reads each register once
 * (a read clears it) and its tests are unrolled: no loop, no shift. */
#include "firmware/acpi/acpi_table.h"

#include <stdio.h>

#define NOTIFY_DEVICE_CHECK  1
#define NOTIFY_EJECT_REQUEST 3
#define CPUHP_REGISTERS	     0x20
#define STA_PRESENT	     0x0F
#define MADT_LOCAL_APIC	     0
#define MADT_LAPIC_LEN	     8
#define MADT_ENABLED	     1

static void cpu_name(char out[8], int cpu)
{
	snprintf(out, 8, "C%03X", (unsigned)cpu & 0xFFF);
}

/* The half of a 64-bit bitmap register that holds `cpu`, and its bit there. */
static const char *half(int cpu, const char *low, const char *high)
{
	return cpu < 32 ? low : high;
}

static uint64_t bit_of(int cpu)
{
	return 1ull << (cpu % 32);
}

static void write_sta(struct aml_buf *b, int cpu)
{
	size_t m = aml_method_begin(b, "_STA", 0, 0);
	size_t cond = aml_if_begin(b);
	aml_and(b);
	aml_namestring(b, half(cpu, "CPRL", "CPRH"));
	aml_int(b, bit_of(cpu));
	aml_no_target(b);
	aml_return(b);
	aml_int(b, STA_PRESENT);
	aml_end(b, cond);
	aml_return(b);
	aml_int(b, 0);
	aml_end(b, m);
}

static void write_mat(struct aml_buf *b, int cpu, uint32_t apic_id)
{
	const uint8_t entry[MADT_LAPIC_LEN] = {
	    MADT_LOCAL_APIC, MADT_LAPIC_LEN, (uint8_t)cpu, (uint8_t)apic_id, MADT_ENABLED, 0, 0, 0};
	aml_name(b, "_MAT");
	size_t buf = aml_buffer_begin(b);
	aml_bytes(b, entry, sizeof(entry));
	aml_buffer_end(b, buf);
}

void acpi_write_cpu_hotplug_device(struct aml_buf *b, const struct machine *m, int cpu)
{
	if (!m->cpu_hotplug_base)
		return;
	write_sta(b, cpu);
	write_mat(b, cpu, m->cpu_ids[cpu]);
	if (cpu == 0)
		return;
	size_t ej = aml_method_begin(b, "_EJ0", 1, 0);
	aml_store(b); /* CEJ0 = cpu: the guest gave it back */
	aml_int(b, (uint64_t)cpu);
	aml_namestring(b, "CEJ0");
	aml_end(b, ej);
}

/* If (LocalN & bit) { Notify (Cnnn, value) } */
static void write_notify_if(struct aml_buf *b, uint8_t local, int cpu, uint8_t value)
{
	char name[8];
	cpu_name(name, cpu);
	size_t cond = aml_if_begin(b);
	aml_and(b);
	aml_local(b, local);
	aml_int(b, bit_of(cpu));
	aml_no_target(b);
	aml_notify(b);
	aml_namestring(b, name);
	aml_int(b, value);
	aml_end(b, cond);
}

static void load_register(struct aml_buf *b, const char *reg, uint8_t local)
{
	aml_store(b);
	aml_namestring(b, reg);
	aml_local(b, local);
}

static void write_cscn(struct aml_buf *b, const struct machine *m)
{
	size_t meth = aml_method_begin(b, "CSCN", 0, 1);
	load_register(b, "CINL", 0);
	load_register(b, "CINH", 1);
	load_register(b, "CRML", 2);
	load_register(b, "CRMH", 3);
	for (int cpu = 1; cpu < m->ncpus; cpu++) {
		uint8_t hi = cpu >= 32;
		write_notify_if(b, hi, cpu, NOTIFY_DEVICE_CHECK);
		write_notify_if(b, (uint8_t)(2 + hi), cpu, NOTIFY_EJECT_REQUEST);
	}
	aml_end(b, meth);
}

void acpi_write_cpu_hotplug(struct aml_buf *b, const struct machine *m)
{
	if (!m->cpu_hotplug_base)
		return;
	static const char *const regs[] = {"CINL", "CINH", "CRML", "CRMH", "CPRL", "CPRH", "CEJ0"};
	aml_opregion(b, "CPST", AML_SYSTEM_MEMORY, m->cpu_hotplug_base, CPUHP_REGISTERS);
	size_t f = aml_field_begin(b, "CPST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		aml_field_unit(b, regs[i], 32);
	aml_end(b, f);
	write_cscn(b, m);
}
