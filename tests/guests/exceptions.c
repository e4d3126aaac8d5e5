/* Proves the exception path both ways.
 *  - default: each fault below runs under catch_fault(); the guest checks the reported vector,
 *    error code, RIP and CR2, then passes. Includes faults raised in ring 3 under run_user() and a
 *    ring-3 function that returns a value.
 *  - fault=<name>: raises that fault unguarded; the runtime must print "UNEXPECTED EXCEPTION:
 *    vector N (#XX)" and exit with GUEST_EXIT_EXCEPTION (status 35). Names: ud de pf gp user_bp
 *    user_pf user_gp.
 * #BP is raised from ring 3 only: kvm_pvm cannot emulate int3 / int n in guest ring 0 (QEMU stops
 * with "KVM internal error. Suberror: 1"), while ring 3 runs natively. */
#include "guest.h"

#define UNMAPPED_ADDR	  0x100001234ULL /* above the 4 GiB identity map: not present */
#define NONCANONICAL_ADDR 0x8000000000000000ULL

#define PF_ERR_WRITE (1u << 1)
#define PF_ERR_USER  (1u << 2)

/* Each fault is one instruction at a global label, so the reported RIP can be checked exactly. */
void raise_ud(void);
void raise_de(void);
void raise_pf_read(void);
void raise_pf_write(void);
void raise_gp(void);
void raise_bp(void);
void raise_hlt(void);
void raise_port_io(void);
extern char ud_site[], de_site[], pf_read_site[], pf_write_site[], gp_site[], bp_next[], hlt_site[],
    io_site[];

__asm__(".text\n"
	"raise_ud: ud_site: ud2\n ret\n"
	"raise_de: xor %ecx, %ecx\n mov $1, %eax\n xor %edx, %edx\n de_site: div %ecx\n ret\n"
	"raise_pf_read: movabs $"
	"0x100001234"
	", %rdx\n pf_read_site: mov (%rdx), %rax\n ret\n"
	"raise_pf_write: movabs $"
	"0x100001234"
	", %rdx\n pf_write_site: movb $1, (%rdx)\n ret\n"
	"raise_gp: movabs $0x8000000000000000, %rdx\n gp_site: mov (%rdx), %rax\n ret\n"
	"raise_bp: int3\n bp_next: ret\n"
	"raise_hlt: hlt_site: hlt\n ret\n"
	"raise_port_io: mov $0x80, %dx\n io_site: inb %dx, %al\n ret\n"
	".globl raise_ud, raise_de, raise_pf_read, raise_pf_write, raise_gp, raise_bp, raise_hlt\n"
	".globl raise_port_io, ud_site, de_site, pf_read_site, pf_write_site, gp_site, bp_next\n"
	".globl hlt_site, io_site\n");

static void call(void *fn)
{
	((void (*)(void))fn)();
}

static uint64_t user_call(void *fn)
{
	call(fn);
	return 0;
}

static void call_in_user(void *fn)
{
	run_user_flags(user_call, fn, 0); /* IOPL 0: port I/O from ring 3 must fault */
}

struct expect {
	const char *name;
	void (*fn)(void *);
	void (*raise)(void);
	uint32_t vector;
	uint64_t error_code;
	const char *rip;
	uint64_t cr2;
	bool user;
};

static void check_one(const struct expect *e)
{
	struct fault_info fi;

	TEST_ASSERT_MSG(catch_fault(e->fn, (void *)e->raise, &fi), "%s: no fault", e->name);
	printf("%-12s vector %2u (%s) error 0x%llx rip 0x%llx cr2 0x%llx%s\n", e->name, fi.vector,
	       exception_name(fi.vector), (unsigned long long)fi.error_code,
	       (unsigned long long)fi.rip, (unsigned long long)fi.cr2, fi.user ? " ring 3" : "");
	TEST_ASSERT_EQ(fi.vector, e->vector);
	TEST_ASSERT_EQ(fi.error_code, e->error_code);
	TEST_ASSERT_EQ(fi.rip, (uintptr_t)e->rip);
	TEST_ASSERT_EQ(fi.user, e->user);
	if (e->vector == VEC_PF)
		TEST_ASSERT_EQ(fi.cr2, e->cr2);
}

static const struct expect expected_faults[] = {
    {"#UD", call, raise_ud, VEC_UD, 0, ud_site, 0, false},
    {"#DE", call, raise_de, VEC_DE, 0, de_site, 0, false},
    {"#PF read", call, raise_pf_read, VEC_PF, 0, pf_read_site, UNMAPPED_ADDR, false},
    {"#PF write", call, raise_pf_write, VEC_PF, PF_ERR_WRITE, pf_write_site, UNMAPPED_ADDR, false},
    {"#GP", call, raise_gp, VEC_GP, 0, gp_site, 0, false},
    {"user #BP", call_in_user, raise_bp, VEC_BP, 0, bp_next, 0, true},
    {"user #UD", call_in_user, raise_ud, VEC_UD, 0, ud_site, 0, true},
    {"user #PF", call_in_user, raise_pf_read, VEC_PF, PF_ERR_USER, pf_read_site, UNMAPPED_ADDR,
     true},
    {"user hlt", call_in_user, raise_hlt, VEC_GP, 0, hlt_site, 0, true},
    {"user in", call_in_user, raise_port_io, VEC_GP, 0, io_site, 0, true},
};

static volatile uint64_t user_cs;

static uint64_t sum_in_user(void *arg)
{
	uint64_t n = (uint64_t)(uintptr_t)arg, sum = 0, cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	user_cs = cs;
	for (uint64_t i = 1; i <= n; i++)
		sum += i;
	printf("hello from ring 3 (cs 0x%llx)\n", (unsigned long long)cs);
	return sum;
}

static int run_expected(void)
{
	TEST_ASSERT_EQ(run_user(sum_in_user, (void *)1000), 500500);
	for (size_t i = 0; i < sizeof(expected_faults) / sizeof(expected_faults[0]); i++)
		check_one(&expected_faults[i]);
	TEST_ASSERT_EQ(run_user(sum_in_user, (void *)1000), 500500);
	TEST_ASSERT_EQ(user_cs & 3, 3);
	/* Ring 0 still works after all of the above: a second round trip. */
	TEST_ASSERT_EQ(run_user(sum_in_user, (void *)10), 55);
	printf("all expected faults caught\n");
	return 0;
}

static const struct {
	const char *name;
	void (*fn)(void *);
	void (*raise)(void);
} unguarded[] = {
    {"ud", call, raise_ud},
    {"de", call, raise_de},
    {"pf", call, raise_pf_read},
    {"gp", call, raise_gp},
    {"user_bp", call_in_user, raise_bp},
    {"user_pf", call_in_user, raise_pf_read},
    {"user_gp", call_in_user, raise_hlt},
};

int guest_main(void)
{
	char name[16];

	if (!cmdline_get_str("fault", name, sizeof(name)))
		return run_expected();
	for (size_t i = 0; i < sizeof(unguarded) / sizeof(unguarded[0]); i++) {
		if (!strcmp(name, unguarded[i].name)) {
			printf("raising %s unguarded: the runtime must report it\n", name);
			unguarded[i].fn((void *)unguarded[i].raise);
			TEST_ASSERT_MSG(false, "fault=%s did not fault", name);
		}
	}
	TEST_ASSERT_MSG(false, "unknown fault=%s", name);
	return 1;
}
