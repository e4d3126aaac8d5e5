/* Pause bookkeeping (vmm/vm/vm_pause.c) without KVM: a hand-built struct vm whose "vCPU
 * threads" loop through vm_pause_point() as the real KVM_RUN loop does after each exit. Nothing
 * here depends on timing except the one bounded timeout test, which only checks that it ends. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <limits.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/clock.h"
#include "vmm/vm/vcpu.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pause.h"
#include "vmm/vm/vm_pause_test.h"
#include "vmm/vm/vm_test.h"

static struct vm vm;
static unsigned long loops[2]; /* per fake vCPU: iterations, __atomic */
static bool ignore_pause[2];   /* a vCPU stuck elsewhere: never reaches its pause point */

static void *fake_vcpu(void *arg)
{
	struct vcpu *v = arg;

	while (!vm_stopping(&vm)) {
		if (!__atomic_load_n(&ignore_pause[v->index], __ATOMIC_ACQUIRE))
			vm_pause_point(v);
		__atomic_add_fetch(&loops[v->index], 1, __ATOMIC_RELAXED);
		usleep(100);
	}
	return NULL;
}

static void setup(void)
{
	cr_redirect_stderr();
	memset(&vm, 0, sizeof(vm));
	memset(loops, 0, sizeof(loops));
	memset(ignore_pause, 0, sizeof(ignore_pause));
	vm.ncpus = 2;
	vm.kvm.vm_fd = vm.kvm.dev_fd = -1; /* KVM_GET_CLOCK fails: logged, not fatal */
	vm.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&vm.stop_lock, NULL);
	pthread_cond_init(&vm.stop_cond, NULL);
	vm_pause_init(&vm);
	cr_assert_eq(vcpu_install_kick_handler(), 0);
}

static void start_vcpus(void)
{
	for (unsigned i = 0; i < vm.ncpus; i++) {
		vm.vcpus[i] = (struct vcpu){.vm = &vm, .index = i, .fd = -1};
		cr_assert_eq(pthread_create(&vm.vcpus[i].thread, NULL, fake_vcpu, &vm.vcpus[i]), 0);
		vm.vcpus[i].thread_started = true;
	}
	vm_pause_set_running(&vm, true);
}

static void stop_and_join(void)
{
	vm_stop(&vm, VM_STOP_USER, 0);
	vm_pause_set_running(&vm, false);
	for (unsigned i = 0; i < vm.ncpus; i++) {
		if (vm.vcpus[i].thread_started)
			pthread_join(vm.vcpus[i].thread, NULL);
		vm.vcpus[i].thread_started = false;
	}
}

static void teardown(void)
{
	stop_and_join();
	vm_pause_destroy(&vm);
	pthread_mutex_destroy(&vm.stop_lock);
	pthread_cond_destroy(&vm.stop_cond);
	close(vm.stop_fd);
}

/* Waits (no time limit of its own: the test's timeout ends a hang) until vCPU i made progress. */
static void wait_progress(unsigned i)
{
	unsigned long start = __atomic_load_n(&loops[i], __ATOMIC_RELAXED);

	while (__atomic_load_n(&loops[i], __ATOMIC_RELAXED) < start + 3)
		usleep(100);
}

TestSuite(vm_pause, .init = setup, .fini = teardown, .timeout = 60);

Test(vm_pause, refused_before_the_vcpus_run)
{
	cr_assert_eq(vm_pause(&vm), -ESHUTDOWN);
	cr_assert_not(vm_is_paused(&vm));
	cr_assert_eq(vm_request_shutdown(&vm, 1000), -ESHUTDOWN);
	cr_assert_eq(vm_shutdown_deadline_ms(&vm, mono_ns()), INT_MAX, "nothing armed");
	cr_assert_eq(vm_resume(&vm), 0, "resume when not paused is a no-op");
}

Test(vm_pause, pause_parks_every_vcpu_and_resume_lets_them_run)
{
	start_vcpus();
	cr_assert_eq(vm_pause(&vm), 0);
	cr_assert(vm_is_paused(&vm));
	cr_assert(vm.vcpus[0].parked && vm.vcpus[1].parked);
	cr_assert_eq(vm_pause_count(&vm), 1);
	unsigned long frozen[2] = {loops[0], loops[1]};
	cr_assert_eq(vm_pause(&vm), 0, "already paused");
	cr_assert_eq(vm_pause_count(&vm), 1);
	usleep(20000);
	cr_assert_eq(loops[0], frozen[0], "a parked vCPU does not run");
	cr_assert_eq(loops[1], frozen[1]);
	cr_assert_eq(vm_resume(&vm), 0);
	cr_assert_not(vm_is_paused(&vm));
	wait_progress(0);
	wait_progress(1);
	cr_assert_eq(vm_pause(&vm), 0, "pause again after a resume");
	cr_assert_eq(vm_pause_count(&vm), 2);
	cr_assert_eq(vm_resume(&vm), 0);
}

Test(vm_pause, a_capturing_pause_has_each_vcpu_save_its_state_once_parked)
{
	struct snap_writer w;
	start_vcpus();
	cr_assert_eq(vm_pause(&vm), 0);
	cr_assert_eq(vm.vcpus[0].capture_state, VCPU_CAPTURE_NONE, "a plain pause saves nothing");
	cr_assert_eq(vm_resume(&vm), 0);

	cr_assert_eq(vm_pause_capturing(&vm), 0);
	cr_assert(vm_is_paused(&vm));
	cr_assert_eq(snap_writer_init(&w), 0);
	for (unsigned i = 0; i < vm.ncpus; i++) {
		/* no KVM here (fd -1): every save fails, and the caller is told to save it */
		cr_assert_eq(vm_pause_take_vcpu_state(&vm, i, &w), 1);
		cr_assert_eq(vm.vcpus[i].capture_state, VCPU_CAPTURE_NONE, "taken");
		cr_assert_eq(vm_pause_take_vcpu_state(&vm, i, &w), 1, "nothing left");
	}
	cr_assert_eq(w.nkeys, 0);
	snap_writer_free(&w);
	cr_assert_eq(vm_pause_capturing(&vm), 0, "already paused: not captured again");
	cr_assert_eq(vm.vcpus[0].capture_state, VCPU_CAPTURE_NONE);
	cr_assert_eq(vm_resume(&vm), 0);
	wait_progress(0);
	cr_assert_eq(vm_pause(&vm), 0);
	cr_assert_eq(vm.vcpus[1].capture_state, VCPU_CAPTURE_NONE, "a later plain pause: none");
	cr_assert_eq(vm_resume(&vm), 0);
}

Test(vm_pause, stop_while_paused_ends_the_vcpu_threads)
{
	start_vcpus();
	cr_assert_eq(vm_pause(&vm), 0);
	stop_and_join(); /* hangs (test timeout) if parked threads missed the stop */
	cr_assert(vm_stopping(&vm));
	cr_assert_not(vm_is_paused(&vm), "a stopped VM is not paused");
	cr_assert_eq(vm_pause(&vm), -ESHUTDOWN);
}

Test(vm_pause, a_vcpu_that_does_not_park_times_out_and_the_rest_is_resumed)
{
	ignore_pause[1] = true;
	start_vcpus();
	cr_assert_eq(vm_pause(&vm), -ETIMEDOUT);
	cr_assert_not(vm_is_paused(&vm));
	cr_assert_eq(vm_pause_count(&vm), 0);
	wait_progress(0); /* released again */
	__atomic_store_n(&ignore_pause[1], false, __ATOMIC_RELEASE);
	cr_assert_eq(vm_pause(&vm), 0, "works once every vCPU reaches its pause point");
}

Test(vm_pause, shutdown_request_resumes_and_arms_the_deadline)
{
	start_vcpus();
	cr_assert_eq(vm_pause(&vm), 0);
	uint64_t before = mono_ns();
	/* No legacy devices in this VM (x86: -ENODEV), or none on the architecture (aarch64:
	 * -ENOTSUP): the key press fails, the deadline is armed anyway. */
	int r = vm_request_shutdown(&vm, 5000);
	cr_assert(r == -ENODEV || r == -ENOTSUP, "%d", r);
	uint64_t after = mono_ns();
	/* The deadline is 5 s after some instant between before and after (a slow, sanitized run
	 * may spend milliseconds in between): seen from before, at most that much more. */
	int most = 5001 + (int)((after - before) / 1000000u) + 1;
	cr_assert_not(vm_is_paused(&vm), "resumed first");
	int left = vm_shutdown_deadline_ms(&vm, before);
	cr_assert(left >= 5000 && left <= most, "%d ms left (rounded up), at most %d", left, most);
	cr_assert_eq(vm_shutdown_deadline_ms(&vm, after + 5001000000ull), 0, "passed");
	cr_assert_eq(vm_request_shutdown(&vm, 60000), -ENODEV);
	cr_assert_leq(vm_shutdown_deadline_ms(&vm, before), most, "the earlier deadline is kept");
}

/* Another thread's vm_stop() (a completed migration's, a device's) racing the main thread's
 * teardown: vm_join_vcpus() joins the threads and unmaps the run pages only after every kick in
 * flight, and later calls kick nobody (they used to store into an unmapped run page or signal a
 * joined thread: a SIGSEGV of the source VMM after a migration). */
static bool stoppers_done;

static void *stopper(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stoppers_done, __ATOMIC_ACQUIRE))
		vm_stop(&vm, VM_STOP_USER, 0);
	return NULL;
}

Test(vm_pause, stop_from_other_threads_during_the_teardown)
{
	vm.kvm.vcpu_mmap_size = (int)sysconf(_SC_PAGESIZE);
	for (int round = 0; round < 50; round++) {
		pthread_t t[2];
		vm.stopping = false;
		vm.vcpus_gone = false;
		start_vcpus();
		for (unsigned i = 0; i < vm.ncpus; i++) {
			vm.vcpus[i].run =
			    mmap(NULL, (size_t)vm.kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			cr_assert_neq(vm.vcpus[i].run, MAP_FAILED);
		}
		__atomic_store_n(&stoppers_done, false, __ATOMIC_RELEASE);
		for (int i = 0; i < 2; i++)
			cr_assert_eq(pthread_create(&t[i], NULL, stopper, NULL), 0);
		vm_stop(&vm, VM_STOP_USER, 0);
		vm_pause_set_running(&vm, false);
		vm_join_vcpus(&vm);
		for (unsigned i = 0; i < vm.ncpus; i++)
			cr_assert_null(vm.vcpus[i].run);
		__atomic_store_n(&stoppers_done, true, __ATOMIC_RELEASE);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		cr_assert_eq(vm.kickers, 0);
	}
}
