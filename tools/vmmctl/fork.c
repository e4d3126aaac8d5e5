/* vmmctl fork (fork.h). */
#include "tools/vmmctl/fork.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/vmmctl/http.h"

#define FORK_MAX_ARGS	  32
#define FORK_MAX_CHILDREN 64
#define SOCKET_WAIT_MS	  10000

extern char **environ;

struct fork_opts {
	const char *body; /* JSON text or @FILE */
	const char *vmm;  /* the VMM binary (execvp) */
	const char *out;  /* folder for each child's stdout/stderr, or NULL: /dev/null */
	const char *vmm_args[FORK_MAX_ARGS];
	int nargs;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int usage(const char *msg)
{
	fprintf(stderr,
		"vmmctl: fork: %s\nusage: vmmctl fork BODY|@FILE [--vmm PATH] [--out DIR] "
		"[--vmm-arg ARG]...\n",
		msg);
	return 2;
}

static int parse_opts(int argc, char **argv, struct fork_opts *o)
{
	o->vmm = getenv("VMM_BIN") ? getenv("VMM_BIN") : "vmm";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (!strcmp(a, "--vmm") && has_value)
			o->vmm = argv[++i];
		else if (!strcmp(a, "--out") && has_value)
			o->out = argv[++i];
		else if (!strcmp(a, "--vmm-arg") && has_value && o->nargs < FORK_MAX_ARGS - 4)
			o->vmm_args[o->nargs++] = argv[++i];
		else if (a[0] != '-' && !o->body)
			o->body = a;
		else
			return usage("bad or repeated argument");
	}
	return o->body ? 0 : usage("no body given");
}

static json_t *load_body(const char *text)
{
	json_error_t je;
	json_t *j = text[0] == '@' ? json_load_file(text + 1, 0, &je) : json_loads(text, 0, &je);
	if (!j)
		fprintf(stderr, "vmmctl: fork: the body is not JSON: %s\n", je.text);
	return j;
}

/* One request; 0 and *doc (may be NULL) on 2xx, else the exit status (the reason printed). */
static int request(const char *sock, const char *method, const char *path, json_t *body,
		   long timeout_s, json_t **doc)
{
	char err[512];
	struct http_response r;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	enum http_result res =
	    http_request(sock, method, path, text, timeout_s, &r, err, sizeof(err));
	free(text);
	if (doc)
		*doc = NULL;
	if (res != HTTP_OK) {
		fprintf(stderr, "vmmctl: fork: %s %s on %s: %s\n", method, path, sock, err);
		return res == HTTP_UNREACHABLE ? 3 : 1;
	}
	int status = 0;
	if (r.status < 200 || r.status > 299) {
		fprintf(stderr, "vmmctl: fork: %s %s on %s: HTTP %ld %s\n", method, path, sock,
			r.status, r.body ? r.body : "");
		status = 1;
	} else if (doc && r.body && r.len) {
		*doc = json_loadb(r.body, r.len, 0, NULL);
	}
	http_response_free(&r);
	return status;
}

/* Starts `vmm --api-sock SOCK ARGS...` with its output in OUT/child-I.{out,err}. */
static pid_t spawn_child(const struct fork_opts *o, const char *sock, int i)
{
	const char *argv[FORK_MAX_ARGS + 4] = {o->vmm, "--api-sock", sock};
	int n = 3;
	char path[4096];
	posix_spawn_file_actions_t fa;
	pid_t pid;

	for (int k = 0; k < o->nargs; k++)
		argv[n++] = o->vmm_args[k];
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	snprintf(path, sizeof(path), "%s/child-%d.out", o->out ? o->out : "", i);
	posix_spawn_file_actions_addopen(&fa, 1, o->out ? path : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	snprintf(path, sizeof(path), "%s/child-%d.err", o->out ? o->out : "", i);
	posix_spawn_file_actions_addopen(&fa, 2, o->out ? path : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int r = posix_spawnp(&pid, o->vmm, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		fprintf(stderr, "vmmctl: fork: cannot start %s: %s\n", o->vmm, strerror(r));
		return -1;
	}
	return pid;
}

/* Waits until `sock` answers (its VMM is up), or the child ends (reaped: *pid becomes -1) or the
 * time is over. */
static bool wait_socket(const char *sock, pid_t *pid)
{
	for (double end = now_ms() + SOCKET_WAIT_MS; now_ms() < end;) {
		if (http_probe_socket(sock) == 0)
			return true;
		if (*pid > 0 && waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return false;
		}
		usleep(200);
	}
	return false;
}

/* A child VMM this command started that will not become a child VM: ended, not left behind. */
static void end_child(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

struct child {
	const char *sock;
	json_t *load; /* the body of its PUT /snapshot/load (borrowed) */
	pid_t pid;    /* 0: it was waiting already (not ours) */
	long timeout_s;
	double t0; /* when the fork was asked */
	double running_ms;
	int status;
};

/* One child's thread: its VMM up, then its load; the children load in parallel. */
static void *load_child(void *arg)
{
	struct child *c = arg;
	if (c->pid < 0 || !wait_socket(c->sock, &c->pid)) {
		fprintf(stderr, "vmmctl: fork: no VMM on %s\n", c->sock);
		end_child(c->pid);
		c->status = 3;
		return NULL;
	}
	c->status = request(c->sock, "PUT", "/snapshot/load", c->load, c->timeout_s, NULL);
	c->running_ms = now_ms() - c->t0;
	if (c->status)
		end_child(c->pid);
	return NULL;
}

/* Each child's VMM started (unless one waits on its socket already), then loaded. */
static void start_children(const struct fork_opts *o, json_t *kids, struct child *c, long timeout_s,
			   double t0)
{
	static pthread_t tid[FORK_MAX_CHILDREN];
	static bool started[FORK_MAX_CHILDREN];
	size_t n = json_array_size(kids);
	for (size_t i = 0; i < n; i++) {
		json_t *k = json_array_get(kids, i);
		c[i] = (struct child){.sock = json_string_value(json_object_get(k, "api_socket")),
				      .load = json_object_get(k, "load"),
				      .timeout_s = timeout_s,
				      .t0 = t0};
		c[i].pid =
		    http_probe_socket(c[i].sock) == 0 ? 0 : spawn_child(o, c[i].sock, (int)i);
	}
	for (size_t i = 0; i < n; i++) {
		started[i] = pthread_create(&tid[i], NULL, load_child, &c[i]) == 0;
		if (!started[i])
			load_child(&c[i]); /* no thread: in turn */
	}
	for (size_t i = 0; i < n; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
}

static int report(json_t *fork_doc, const struct child *c, size_t n, double fork_ms)
{
	int status = 0;
	json_t *kids = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(kids, json_pack("{s:s, s:i, s:f, s:b}", "api_socket",
						      c[i].sock, "pid", (int)c[i].pid, "running_ms",
						      c[i].running_ms, "ok", c[i].status == 0));
		if (c[i].status && !status)
			status = c[i].status;
	}
	json_t *out = json_pack("{s:O?, s:O?, s:O?, s:f, s:o}", "parent_pause_us",
				json_object_get(fork_doc, "pause_us"), "state_path",
				json_object_get(fork_doc, "state_path"), "mem_file_path",
				json_object_get(fork_doc, "mem_file_path"), "fork_request_ms",
				fork_ms, "children", kids);
	json_dumpf(out, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(out);
	return status;
}

int vmmctl_fork(const char *sock, long timeout_s, int argc, char **argv)
{
	static struct child c[FORK_MAX_CHILDREN];
	struct fork_opts o = {0};
	json_t *doc = NULL;

	if (parse_opts(argc, argv, &o))
		return 2;
	json_t *body = load_body(o.body);
	if (!body)
		return 2;
	double t0 = now_ms();
	int status = request(sock, "PUT", "/vmm/fork", body, timeout_s, &doc);
	double fork_ms = now_ms() - t0;
	json_decref(body);
	json_t *kids = json_object_get(doc, "children");
	if (!status && (!json_is_array(kids) || json_array_size(kids) > FORK_MAX_CHILDREN)) {
		fprintf(stderr, "vmmctl: fork: the answer has no children\n");
		status = 1;
	}
	if (!status) {
		start_children(&o, kids, c, timeout_s, t0);
		status = report(doc, c, json_array_size(kids), fork_ms);
	}
	json_decref(doc);
	return status;
}
