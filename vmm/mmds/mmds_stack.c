/* The guest's side of MMDS on one interface. See mmds_stack.h. */
#include "vmm/mmds/mmds_stack.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void os_random(void *opaque, uint8_t *buf, size_t n)
{
	(void)opaque;
	while (n) {
		ssize_t got = getrandom(buf, n, 0);
		if (got > 0)
			buf += got, n -= (size_t)got;
	}
}

struct mmds_stack *mmds_stack_new(struct mmds *mmds, uint32_t ipv4,
				  void (*random)(void *opaque, uint8_t *buf, size_t n),
				  void *opaque)
{
	static const uint8_t mac[6] = MMDS_MAC;
	struct mmds_stack *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->mmds = mmds;
	s->random = random ? random : os_random;
	s->opaque = opaque;
	s->ipv4 = ipv4;
	memcpy(s->mac, mac, sizeof(mac));
	return s;
}

void mmds_stack_free(struct mmds_stack *s)
{
	if (!s)
		return;
	mmds_tcp_reset_all(s);
	free(s);
}

void mmds_stack_queue(struct mmds_stack *s, const uint8_t *frame, size_t len)
{
	if (s->pend_count == MMDS_MAX_PENDING || len > MMDS_CTL_FRAME_MAX)
		return;
	struct mmds_ctl_frame *f = &s->pending[(s->pend_head + s->pend_count++) % MMDS_MAX_PENDING];
	memcpy(f->buf, frame, len);
	f->len = (uint8_t)len;
}

/* ARP (RFC 826): a request for our address gets our MAC; other ARP to it is dropped. */
static void arp_in(struct mmds_stack *s, const uint8_t *frame, size_t len)
{
	struct arp_msg m;
	uint8_t reply[PKT_ETH_HLEN + PKT_ARP_LEN];
	if (arp_parse(frame, len, &m) && m.op == 1 && m.tpa == s->ipv4)
		mmds_stack_queue(s, reply, arp_write_reply(reply, s->mac, s->ipv4, &m));
}

bool mmds_stack_rx(struct mmds_stack *s, const uint8_t *frame, size_t len, uint64_t now_ms)
{
	struct tcp_seg seg;

	if (!mmds_frame_maybe_mine(frame, len, s->ipv4))
		return false;
	if (get_be16(frame + 12) == PKT_ETHERTYPE_ARP)
		arp_in(s, frame, len);
	else if (ipv4_parse(frame, len, &seg) == IPV4_TCP)
		mmds_tcp_input(s, &seg, now_ms);
	return true; /* malformed, or not TCP: to the MMDS address, so nobody else's */
}

size_t mmds_stack_tx(struct mmds_stack *s, uint8_t *buf, size_t cap, uint64_t now_ms)
{
	if (cap < MMDS_MIN_FRAME_CAP)
		return 0;
	if (s->pend_count) {
		struct mmds_ctl_frame *f = &s->pending[s->pend_head];
		s->pend_head = (s->pend_head + 1) % MMDS_MAX_PENDING;
		s->pend_count--;
		memcpy(buf, f->buf, f->len);
		return f->len;
	}
	return mmds_tcp_output(s, buf, cap, now_ms);
}

uint64_t mmds_stack_deadline(const struct mmds_stack *s)
{
	return s->pend_count ? 0 : mmds_tcp_deadline(s);
}
