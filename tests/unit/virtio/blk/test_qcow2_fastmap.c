/* The lock-free map of plain clusters (virtio/blk/qcow2_fastmap.c): qcow2_map() answers from it
 * while another thread holds the image's lock, forgets a cluster whose L2 entry changed or an
 * image reloaded, and a reader never sees one cluster's key with another's host offset. */
#include <pthread.h>
#include <time.h>

#include "tests/unit/virtio/blk/qcow2_fixture.h"
#include "virtio/blk/qcow2_int.h"

TestSuite(qcow2_fastmap, .init = need_qemu, .fini = qdir_remove);

static uint8_t buf[64 * 1024];

struct map_call {
	struct qcow2 *q;
	uint64_t off, len, host;
	int r;
};

static void *call_map(void *arg)
{
	struct map_call *c = arg;
	c->r = qcow2_map(c->q, c->off, c->len, &c->host);
	return NULL;
}

/* qcow2_map() in another thread while this one holds the image's lock: true when it returned
 * within `ms` (*c then has its answer). Always joined, the lock released first if need be. */
static bool map_beside_lock(struct qcow2 *q, struct map_call *c, long ms)
{
	pthread_t t;
	struct timespec until;
	c->q = q;
	c->r = -1;
	pthread_mutex_lock(&q->lock);
	cr_assert_eq(pthread_create(&t, NULL, call_map, c), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	bool done = pthread_timedjoin_np(t, NULL, &until) == 0;
	pthread_mutex_unlock(&q->lock);
	if (!done)
		pthread_join(t, NULL);
	return done;
}

static void make_image(struct qimg *im)
{
	cr_assert_eq(sh("qemu-img create -q -f qcow2 f.qcow2 8M && qemu-io -c 'write -P 0xab 0 "
			"128k' -c 'write -P 0xcd 1M 64k' f.qcow2 >/dev/null"),
		     0);
	cr_assert_eq(qopen(im, "f.qcow2", false), 0, "%s", im->err);
}

Test(qcow2_fastmap, reads_of_mapped_clusters_do_not_wait_for_the_lock)
{
	struct qimg im;
	uint64_t host;
	make_image(&im);
	cr_assert_eq(qcow2_map(im.q, 4096, 120 * 1024, &host), 1); /* found under the lock */
	struct map_call c = {.off = 4096, .len = 120 * 1024};
	cr_assert(map_beside_lock(im.q, &c, 5000), "qcow2_map() waited for the image's lock");
	cr_assert_eq(c.r, 1);
	cr_assert_eq(c.host, host);
	/* A range never mapped takes the locked path: it waits, then answers. */
	struct map_call d = {.off = 1u << 20, .len = 4096};
	cr_assert_not(map_beside_lock(im.q, &d, 200), "a cluster never looked up was in the map");
	cr_assert_eq(d.r, 1);
	cr_assert_eq(pread(im.fd, buf, 4096, (off_t)d.host), 4096);
	cr_assert(all(buf, 4096, 0xcd));
	qclose(&im);
}

Test(qcow2_fastmap, a_changed_entry_leaves_the_map)
{
	struct qimg im;
	uint64_t host;
	make_image(&im);
	cr_assert_eq(qcow2_map(im.q, 0, 4096, &host), 1);
	cr_assert_eq(qcow2_map(im.q, 64 * 1024, 4096, &host), 1);
	cr_assert_eq(qcow2_map(im.q, 1u << 20, 4096, &host), 1);
	cr_assert_eq(qcow2_discard(im.q, 0, 64 * 1024, false), 0); /* unallocated now */
	cr_assert_eq(qcow2_map(im.q, 0, 4096, &host), 0);
	cr_assert_eq(qread(&im, buf, 4096, 0), 0);
	cr_assert(all(buf, 4096, 0));
	cr_assert_eq(qcow2_write_zeroes(im.q, 64 * 1024, 64 * 1024), 0); /* a zero cluster */
	cr_assert_eq(qcow2_map(im.q, 64 * 1024, 4096, &host), 0);
	cr_assert_eq(qcow2_discard(im.q, 1u << 20, 64 * 1024, true), 0); /* zeroes, unmapped */
	cr_assert_eq(qcow2_map(im.q, 1u << 20, 4096, &host), 0);
	memset(buf, 0x5a, 4096);
	cr_assert_eq(qwrite(&im, buf, 4096, 0), 0); /* allocated again: a new host cluster */
	cr_assert_eq(qcow2_map(im.q, 0, 4096, &host), 1);
	cr_assert_eq(pread(im.fd, buf, 4096, (off_t)host), 4096);
	cr_assert(all(buf, 4096, 0x5a));
	qclose(&im);
	cr_assert_eq(qemu_check("f.qcow2"), 0);
}

Test(qcow2_fastmap, reload_forgets_the_map)
{
	struct qimg a, b;
	uint64_t host;
	make_image(&b);
	cr_assert_eq(qcow2_map(b.q, 0, 4096, &host), 1);
	cr_assert_eq(qopen(&a, "f.qcow2", false), 0, "%s", a.err); /* another writer */
	cr_assert_eq(qcow2_discard(a.q, 0, 64 * 1024, false), 0);
	qclose(&a); /* flushes */
	cr_assert_eq(qcow2_reload(b.q), 0);
	cr_assert_eq(qcow2_map(b.q, 0, 4096, &host), 0);
	cr_assert_eq(qread(&b, buf, 4096, 0), 0);
	cr_assert(all(buf, 4096, 0));
	qclose(&b);
}

/* One writer (as under the lock) moving clusters in and out of a slot, one reader: every hit
 * pairs a cluster with its own host offset. */
#define STRESS_ROUNDS 5000000

static uint64_t host_of(uint64_t cluster)
{
	return (cluster * 7 + 3) << 16;
}

static void *churn(void *arg)
{
	struct qcow2 *q = arg;
	for (uint64_t i = 0; i < STRESS_ROUNDS; i++) {
		uint64_t cluster = (i % 3) * QCOW2_FASTMAP_SLOTS; /* three clusters, one slot */
		qcow2_fastmap_put(q, cluster, host_of(cluster));
		if (i % 5 == 0)
			qcow2_fastmap_drop(q, cluster);
	}
	return NULL;
}

Test(qcow2_fastmap, no_torn_slot)
{
	struct qcow2 q = {0};
	pthread_t t;
	uint64_t hits = 0, host;
	cr_assert_eq(qcow2_fastmap_init(&q), 0);
	cr_assert_eq(pthread_create(&t, NULL, churn, &q), 0);
	for (uint64_t i = 0; i < 4 * STRESS_ROUNDS; i++) {
		uint64_t cluster = (i % 3) * QCOW2_FASTMAP_SLOTS;
		if (qcow2_fastmap_get(&q, cluster, &host)) {
			hits++;
			cr_assert_eq(host, host_of(cluster), "cluster %llu read host %llu",
				     (unsigned long long)cluster, (unsigned long long)host);
		}
	}
	pthread_join(t, NULL);
	qcow2_fastmap_clear(&q);
	cr_assert_not(qcow2_fastmap_get(&q, 0, &host));
	free(q.fastmap);
	cr_log_info("%llu hits", (unsigned long long)hits);
}
