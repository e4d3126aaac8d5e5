/* The hostile test guest (tests/guests/hostile.c): a driver that breaks the virtio rules on
 * purpose, over whichever transport the command line names (virtio_dev.h), and checks that the
 * VMM survives, fails only the abused device (DEVICE_NEEDS_RESET, virtio 1.2 2.1.2) and that
 * a reset revives it while the other devices keep working.
 *
 * hostile.c owns the devices (bring-up, one known-good request per device type, revival);
 * hostile_abuse.c holds the checklist of abuses (/work/shared/notes/virtio-checklist.md), each
 * run on a freshly reset device and saying what the device must do about it.
 *
 * hostile_fuzz.c is the fuzz mode's wider random driver (hostile.c `fuzz`): register and
 * configuration accesses of every width in and out of range, PCI configuration space, BAR
 * moves, MSI-X, queue set-up and resets at any moment, valid, nearly valid and hostile chains on
 * split and packed rings. Every address it gives a device to write is either inside the
 * device's own scratch or arena, or not RAM, so a device can never write over the guest. */
#ifndef GUEST_HOSTILE_H
#define GUEST_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_dev.h"
#include "virtio_vq.h"

#define HOSTILE_QSIZE	8 /* every queue the driver sets up: small, so rings are cheap */
#define HOSTILE_SCRATCH (64u * 1024)
#define HOSTILE_ARENA	(128u * 1024) /* ring memory of one device, reused by every bring-up */

/* One virtio device under test. */
struct hdev {
	const char *name;
	struct vdev *d;
	uint32_t id;
	bool ro;       /* virtio-blk: a read-only disk */
	uint16_t nq;   /* queues the driver sets up (0..nq-1) */
	uint16_t reqq; /* the queue its requests go to (blk, rng: 0; console, net: 1 = tx) */
	struct vq vq[2];
	uint8_t *scratch; /* HOSTILE_SCRATCH bytes of its own for hostile buffers and tables */
	uint8_t *arena;	  /* HOSTILE_ARENA bytes: its rings (virtio_alloc_arena) */
	bool dirty;	  /* fuzz mode: the round left it unusable without a reset */
};

/* What the device must do about an abuse. */
enum hostile_expect {
	EXPECT_NEEDS_RESET, /* DEVICE_NEEDS_RESET must appear */
	EXPECT_EITHER,	    /* ignoring it or NEEDS_RESET are both fine */
	EXPECT_WORKING,	    /* no NEEDS_RESET, and a request still works without a reset */
};

struct hostile_abuse {
	const char *name;
	/* Runs on a device that was just reset (status 0). Returns the expectation, already
	 * adjusted to the transport and device. */
	enum hostile_expect (*run)(struct hdev *h);
};

extern const struct hostile_abuse hostile_abuses[];
extern const unsigned hostile_nabuses;

/* ---- provided by hostile.c ---- */

/* Negotiates VERSION_1 plus `features` & offered (no RING_PACKED), sets up the device's
 * queues. With `driver_ok` also sets DRIVER_OK. Fails the test if the device refuses. */
void hdev_prepare(struct hdev *h, uint64_t features, bool driver_ok);
/* One request of the device's kind that must complete correctly within a timeout. */
bool hdev_good_request(struct hdev *h, const char **why);
bool hdev_is_pci(const struct hdev *h);
/* Adds a request the device would accept (not kicked); returns false if the ring is full. */
bool hdev_add_good(struct hdev *h);
/* One round of the plain random driver on `h` (valid requests, random chains, reads, harmless
 * writes, random status, resets mid-I/O, a checklist abuse). */
void hostile_random_step(struct hdev *h);

/* A seeded xorshift64* generator. */
uint64_t hostile_rand(void);
/* hostile_rand() % n (n > 0). */
uint32_t hostile_below(uint32_t n);

/* Fuzz mode: hdev_prepare() may negotiate VIRTIO_F_RING_PACKED and picks queue sizes. */
extern bool hostile_fuzz;
/* Fuzz mode with `trace`: each step is named before it runs (to find what a VMM died of). */
extern bool hostile_trace;
/* Every device found (hostile.c). */
extern struct hdev hostile_devs[];
extern unsigned hostile_ndevs;

/* ---- provided by hostile_fuzz.c ---- */

/* One step of the fuzz mode's driver on `h`; returns its name. Sets h->dirty when the step
 * may have left the device (or the driver's view of its rings) unusable without a reset. */
const char *hostile_fuzz_step(struct hdev *h);
/* Puts back what a step changed outside the device's virtio state (PCI command, BARs, MSI-X
 * control), so that the other devices and the health checks see the bus as it was. */
void hostile_fuzz_settle(struct hdev *h);

#endif
