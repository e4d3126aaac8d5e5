/* The VM handed to the API once it runs (vmm/api/control_vm.c): vm_run()'s on_started hook,
 * ctl_mark_started(), is what lets a run-time request reach the VM, since vm_run() starts the
 * hotplug thread (and the devices' threads) before it. A VM the command line gives keeps its
 * API socket held until then (a hot-add sent at once was a bare "No such device": no hotplug
 * thread yet), and a received VM (--migrate-from) is the API's running VM only then, whichever
 * of the receive's end and the start comes first. */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/api/control_internal.h"
#include "vmm/cli/cli.h"

static const struct api_backend_ops ops; /* GET / needs none */
static struct control c;
static struct vm_config cfg;
static char path[64];

static void setup(void)
{
	memset(&c, 0, sizeof(c));
	c.cfg = &cfg;
	c.start_fd = -1;
	pthread_mutex_init(&c.started_lock, NULL);
	pthread_cond_init(&c.started_cond, NULL);
	vm_config_init(&cfg);
	cfg.ncpus = 2;
	cr_assert_eq(api_init(&c.api, &ops, &c), 0);
	snprintf(path, sizeof(path), "/tmp/test_control_vm.%d.sock", (int)getpid());
}

static void teardown(void)
{
	api_http_stop(c.http);
	if (c.run_pending)
		api_model_free(&c.run_model);
	api_destroy(&c.api);
	pthread_mutex_destroy(&c.started_lock);
	pthread_cond_destroy(&c.started_cond);
	cli_free(&cfg);
}

TestSuite(control_vm, .init = setup, .fini = teardown, .timeout = 20);

static int connect_api(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A VM the command line gives (--kernel, --restore): built, then run; its API socket (held by
 * start_api()) answers only once vm_run() started the VM, not as soon as it is built. */
Test(control_vm, a_held_api_answers_once_the_vm_runs)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char err[256] = "", buf[4096];
	cr_assert_eq(api_http_start(&c.http, path, &c.api, true, err, sizeof(err)), 0, "%s", err);
	api_set_running(&c.api, NULL); /* built: create_here(), restore_here() */
	int fd = connect_api();
	cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	struct pollfd pfd = {fd, POLLIN, 0};
	cr_assert_eq(poll(&pfd, 1, 300), 0, "answered before the VM runs");
	ctl_mark_started(&c); /* vm_run(): the hotplug thread, the vCPUs started */
	cr_assert_eq(poll(&pfd, 1, 4000), 1, "no answer within 4 s of the VM's start");
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0, "the connection closed");
	buf[n] = '\0';
	cr_assert(!strncmp(buf, "HTTP/1.1 200 ", 13), "%.40s", buf);
	close(fd);
}

/* --migrate-from: the receive ends before the main thread ran the VM: not running for the API
 * (a hot-add is refused as before the start, not sent to a VM without its hotplug thread)
 * until the VM runs. */
Test(control_vm, a_received_vm_runs_for_the_api_once_started)
{
	ctl_report_running(&c);
	cr_assert_eq(c.api.state, API_NOT_STARTED, "running before vm_run() started it");
	ctl_mark_started(&c);
	cr_assert_eq(c.api.state, API_RUNNING);
	cr_assert_eq(c.api.model.vcpus, 2, "the received VM's model");
	cr_assert_not(c.run_pending);
}

/* An early start (the VM run during the pre-copy): the receive ends after the start, and the VM
 * is the API's running VM at once. */
Test(control_vm, a_vm_started_early_runs_for_the_api_when_received)
{
	ctl_mark_started(&c);
	cr_assert_eq(c.api.state, API_NOT_STARTED, "running before the receive ended");
	ctl_report_running(&c);
	cr_assert_eq(c.api.state, API_RUNNING);
	cr_assert_eq(c.api.model.vcpus, 2);
	cr_assert_not(c.run_pending);
}
