/* virtio-net (virtio 1.2 section 5.1) driven by a mock driver, kicks served synchronously, over the
 * in-memory loopback backend: header placement, transmit batching and validation, receive into
 * single and mergeable buffers, receive with no buffers (nothing lost), frame sizes 60..65550
 * with offloads, offload negotiation, the control queue and the counters. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "tests/mock_driver/mock_driver.h"
#include "tests/mock_driver/net_loopback.h"
#include "virtio/net/features.h"
#include "virtio/net/net.h"
#include "virtio/net/net_test.h"

#include "tests/unit/virtio/net/virtio_net_fixture.h"

/* ---- description and negotiation ---- */

TestSuite(virtio_net, .fini = teardown);

Test(virtio_net, description_and_config)
{
	struct virtio_net_config cfg;

	create(false, 0);
	cr_expect_eq(dev->device_id, VIRTIO_ID_NET);
	cr_expect_eq(dev->num_queues, 3);
	cr_expect_eq(dev->queue_max_size, 256);
	cr_expect_eq(dev->host_features, virtio_net_offered_features(false, 0));
	cr_expect_eq(dev->host_features & F(VIRTIO_NET_F_GUEST_CSUM), 0);
	cr_expect_eq(dev->host_features & F(VIRTIO_NET_F_HOST_TSO4), 0);
	cr_assert_eq(dev->config_len, sizeof(cfg));
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_read(dev, 0, &cfg, sizeof(cfg));
	pthread_mutex_unlock(&dev->lock);
	cr_expect_arr_eq(cfg.mac, MAC, 6);
	cr_expect_eq(le16toh(cfg.status), VIRTIO_NET_S_LINK_UP);
	cr_expect_eq(le16toh(cfg.max_virtqueue_pairs), 1);
	cr_expect_eq(le16toh(cfg.mtu), 1500);
}

/* mtu= (virtio_net_set_mtu()): the config space's mtu, VIRTIO_NET_F_MTU still offered. */
Test(virtio_net, the_mtu_set_is_the_one_the_guest_reads)
{
	struct virtio_net_config cfg;
	struct net_backend *lb;

	cr_assert_eq(net_loopback_create(&lb, false, 0), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, &lb, 1, MAC), 0);
	virtio_net_set_mtu(dev, 9000);
	attach();
	cr_expect(dev->host_features & F(VIRTIO_NET_F_MTU));
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_read(dev, 0, &cfg, sizeof(cfg));
	pthread_mutex_unlock(&dev->lock);
	cr_expect_eq(le16toh(cfg.mtu), 9000);
}

Test(virtio_net, offloads_offered_only_when_the_backend_takes_them)
{
	create(true, ALL_CAPS);
	cr_expect_eq(dev->host_features & OFFLOAD_FEAT, OFFLOAD_FEAT);
	cr_expect_eq(dev->host_features & F(VIRTIO_NET_F_GUEST_UFO), 0);
	cr_expect_eq(dev->host_features & F(VIRTIO_NET_F_MQ), 0);
}

Test(virtio_net, tunsetoffload_follows_negotiated_features_at_driver_ok)
{
	unsigned calls;

	create(true, ALL_CAPS);
	driver_up(FEAT | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO6));
	cr_expect_eq(net_loopback_offloads(be, &calls), TUN_F_CSUM | TUN_F_TSO6);
	cr_expect_eq(calls, 1);
	/* After a reset, a driver taking no offloads gets none. */
	set_status(0);
	driver_up(FEAT);
	cr_expect_eq(net_loopback_offloads(be, &calls), 0);
	cr_expect_eq(calls, 2);
}

Test(virtio_net, feature_dependencies_refused_at_features_ok)
{
	create(true, ALL_CAPS);
	cr_expect_not(negotiate(FEAT | F(VIRTIO_NET_F_GUEST_TSO4)));
	set_status(0);
	cr_expect_not(negotiate(FEAT | F(VIRTIO_NET_F_HOST_TSO6)));
	set_status(0);
	cr_expect_not(negotiate(FEAT | F(VIRTIO_NET_F_CTRL_RX)));
	set_status(0);
	cr_expect(negotiate(FEAT | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO6)));
}

Test(virtio_net, offloads_not_offered_cannot_be_negotiated)
{
	create(false, ALL_CAPS); /* no vnet header: caps are meaningless */
	cr_expect_not(negotiate(FEAT | F(VIRTIO_NET_F_GUEST_CSUM)));
}

/* ---- transmit ---- */

static void expect_sent(size_t i, const void *hdr, const void *data, size_t len)
{
	size_t got;
	const uint8_t *p = net_loopback_sent(be, i, &got);
	size_t h = hdr ? HDR : 0;

	cr_assert_not_null(p, "frame %zu not sent", i);
	cr_assert_eq(got, h + len, "frame %zu: %zu bytes", i, got);
	if (hdr)
		cr_expect_arr_eq(p, hdr, HDR);
	cr_expect_arr_eq(p + h, data, len);
}

Test(virtio_net, tx_header_in_its_own_descriptor)
{
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT);
	int head = add_tx(&h, make_frame(60, 1), 60);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(net_loopback_sent_count(be), 1);
	expect_sent(0, NULL, make_frame(60, 1), 60); /* no vnet header: stripped */
	cr_assert_eq(used(TXV, &id, &len), 1);
	cr_expect_eq(id, (uint32_t)head);
	cr_expect_eq(len, 0); /* 5.1.6.2: the device writes nothing into a tx buffer */
	cr_expect_eq(irqs[VIRTIO_NET_TXQ], 1);
}

Test(virtio_net, tx_header_sharing_a_descriptor_passes_the_cleaned_header)
{
	struct virtio_net_hdr_v1 h = tx_hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM | 0x80, 0, 0, 34, 16);
	struct virtio_net_hdr_v1 want = h;
	uint8_t buf[HDR + 100];

	want.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM; /* unknown flag bits ignored (5.1.6.2.2) */
	want.num_buffers = 0;
	create(true, ALL_CAPS);
	driver_up(OFFLOAD_FEAT);
	memcpy(buf, &h, HDR);
	memcpy(buf + HDR, make_frame(100, 2), 100);
	struct mock_buf b = {mock_fill(TXV, buf, sizeof(buf)), sizeof(buf), false};
	add(TXV, &b, 1);
	kick(VIRTIO_NET_TXQ);
	expect_sent(0, &want, make_frame(100, 2), 100);
}

Test(virtio_net, tx_header_and_frame_split_anywhere)
{
	uint8_t buf[HDR + 200];
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0), want = h;

	want.num_buffers = 0;
	create(true, 0);
	driver_up(FEAT);
	memcpy(buf, &h, HDR);
	memcpy(buf + HDR, make_frame(200, 3), 200);
	/* 5 + 7 bytes of header, the frame in pieces of 1, 99 and 100 bytes */
	uint32_t cut[] = {0, 5, 12, 13, 112, HDR + 200};
	struct mock_buf b[5];
	for (int i = 0; i < 5; i++)
		b[i] = (struct mock_buf){mock_fill(TXV, buf + cut[i], cut[i + 1] - cut[i]),
					 cut[i + 1] - cut[i], false};
	add(TXV, b, 5);
	kick(VIRTIO_NET_TXQ);
	expect_sent(0, &want, make_frame(200, 3), 200);
}

Test(virtio_net, tx_batches_all_frames_of_a_kick_with_one_interrupt)
{
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT);
	for (int i = 0; i < 10; i++)
		add_tx(&h, make_frame(64 + i, (uint8_t)i), 64 + i);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(net_loopback_sent_count(be), 10);
	for (int i = 0; i < 10; i++) {
		expect_sent(i, NULL, make_frame(64 + i, (uint8_t)i), 64 + i);
		cr_assert_eq(used(TXV, &id, &len), 1);
	}
	cr_expect_eq(used(TXV, &id, &len), 0);
	cr_expect_eq(irqs[VIRTIO_NET_TXQ], 1);
	cr_expect_eq(mock_split_used_idx(TXV), 10);
	cr_expect_eq(stats().tx_frames, 10);
	cr_expect_eq(stats().tx_bytes, 10 * 64 + 45);
}

Test(virtio_net, tx_malformed_frames_are_counted_and_completed)
{
	struct virtio_net_hdr_v1 ok = tx_hdr(0, 0, 0, 0, 0);
	struct virtio_net_hdr_v1 csum = tx_hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16);
	struct virtio_net_hdr_v1 tso = tx_hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 1, 1448, 34, 16);
	struct virtio_net_hdr_v1 bad_csum = tx_hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 90, 10);
	uint32_t id, len;

	create(true, ALL_CAPS);
	driver_up(FEAT | F(VIRTIO_NET_F_CSUM));
	struct mock_buf short_hdr = {mock_fill(TXV, &ok, 11), 11, false};
	add(TXV, &short_hdr, 1);		    /* shorter than the header */
	add_tx(&ok, make_frame(13, 0), 13);	    /* runt */
	add_tx(&tso, make_frame(100, 0), 100);	    /* TSO4 not negotiated */
	add_tx(&bad_csum, make_frame(100, 0), 100); /* checksum past the end */
	add_tx(&csum, make_frame(100, 0), 100);	    /* fine */
	add_tx(&ok, make_frame(VIRTIO_NET_MAX_FRAME + 1, 0), VIRTIO_NET_MAX_FRAME + 1);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(net_loopback_sent_count(be), 1);
	cr_expect_eq(stats().tx_errors, 5);
	cr_expect_eq(stats().tx_frames, 1);
	for (int i = 0; i < 6; i++)
		cr_expect_eq(used(TXV, &id, &len), 1, "buffer %d not completed", i);
	cr_expect(virtio_dev_running(dev));
}

Test(virtio_net, tx_backend_refusal_counts_a_drop)
{
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT);
	net_loopback_fail_send(be, -EIO);
	add_tx(&h, make_frame(60, 0), 60);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(stats().tx_dropped, 1);
	cr_expect_eq(stats().tx_frames, 0);
	cr_expect_eq(used(TXV, &id, &len), 1);
}

Test(virtio_net, tx_spurious_kick_is_harmless)
{
	create(false, 0);
	driver_up(FEAT);
	kick(VIRTIO_NET_TXQ);
	kick(VIRTIO_NET_RXQ);
	kick(VIRTIO_NET_CTRLQ);
	cr_expect_eq(irqs[0] + irqs[1] + irqs[2], 0);
	cr_expect(virtio_dev_running(dev));
}

/* ---- receive ---- */

static void expect_rx_frame(uint64_t gpa, size_t len, uint8_t seed)
{
	cr_expect_arr_eq(mock_ram_host(&ram, gpa), make_frame(len, seed), len);
}

Test(virtio_net, rx_single_buffer)
{
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT);
	uint64_t a = rx_buf(1526);
	int head = add_rx(a, 1526);
	inject_frame(60, 9);
	rx_ready();
	cr_assert_eq(used(RXV, &id, &len), 1);
	cr_expect_eq(id, (uint32_t)head);
	cr_expect_eq(len, HDR + 60);
	struct virtio_net_hdr_v1 h = hdr_at(a);
	cr_expect_eq(h.flags, 0);
	cr_expect_eq(h.gso_type, 0);
	cr_expect_eq(le16toh(h.num_buffers), 1);
	expect_rx_frame(a + HDR, 60, 9);
	cr_expect_eq(*(uint8_t *)mock_ram_host(&ram, a + HDR + 60), 0xee); /* nothing more */
	cr_expect_eq(irqs[VIRTIO_NET_RXQ], 1);
	cr_expect_eq(stats().rx_frames, 1);
	cr_expect_eq(stats().rx_bytes, 60);
}

Test(virtio_net, rx_header_in_its_own_descriptor)
{
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT);
	uint64_t h = rx_buf(HDR), d = rx_buf(1514);
	struct mock_buf b[2] = {{h, HDR, true}, {d, 1514, true}};
	add(RXV, b, 2);
	inject_frame(1514, 4);
	rx_ready();
	cr_assert_eq(used(RXV, &id, &len), 1);
	cr_expect_eq(len, HDR + 1514);
	cr_expect_eq(le16toh(hdr_at(h).num_buffers), 1);
	expect_rx_frame(d, 1514, 4);
}

Test(virtio_net, rx_without_buffers_loses_nothing)
{
	uint32_t id, len;
	uint64_t a[3];

	create(false, 0);
	driver_up(FEAT);
	for (int i = 0; i < 3; i++)
		inject_frame(100 + i, (uint8_t)(20 + i));
	rx_ready();
	cr_expect_eq(used(RXV, &id, &len), 0);
	cr_expect_eq(rx_handler()->events, EPOLLONESHOT, "the backend must no longer be read");
	cr_expect_eq(mock_split_used_flags(RXV) & VRING_USED_F_NO_NOTIFY, 0,
		     "the device must want a kick when buffers arrive");
	rx_ready(); /* a stray wake-up changes nothing */
	cr_expect_eq(used(RXV, &id, &len), 0);

	for (int i = 0; i < 3; i++)
		add_rx(a[i] = rx_buf(2048), 2048);
	kick(VIRTIO_NET_RXQ);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(used(RXV, &id, &len), 1, "frame %d", i);
		cr_expect_eq(len, HDR + 100 + i);
		expect_rx_frame(a[i] + HDR, 100 + i, (uint8_t)(20 + i));
	}
	cr_expect_eq(rx_handler()->events, EPOLLIN, "reading resumes");
	cr_expect_eq(stats().rx_dropped, 0);
	cr_expect_eq(stats().rx_frames, 3);
}

Test(virtio_net, rx_buffer_added_before_notify_reenable_is_seen)
{
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT | F(VIRTIO_RING_F_EVENT_IDX));
	inject_frame(80, 1);
	rx_ready();
	cr_expect_eq(mock_split_avail_event(RXV), 0, "kick wanted at the next buffer");
	/* The driver adds a buffer but its kick is lost: the next pump must still see it. */
	add_rx(rx_buf(256), 256);
	rx_ready();
	cr_expect_eq(used(RXV, &id, &len), 1);
	cr_expect_eq(len, HDR + 80);
}

static void mergeable(bool packed)
{
	uint32_t id, len;
	uint64_t a[4];
	const size_t flen = 4000;

	create(false, 0);
	driver_up_size(FEAT | F(VIRTIO_NET_F_MRG_RXBUF), packed, 256);
	for (int i = 0; i < 4; i++)
		add_rx(a[i] = rx_buf(1526), 1526);
	inject_frame(flen, 5);
	rx_ready();
	uint32_t want[3] = {1526, 1526, HDR + flen - 2 * 1526};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(used(RXV, &id, &len), 1, "buffer %d", i);
		cr_expect_eq(len, want[i], "buffer %d len %u", i, len);
	}
	cr_expect_eq(used(RXV, &id, &len), 0);
	cr_expect_eq(le16toh(hdr_at(a[0]).num_buffers), 3);
	/* The frame continues across the buffers. */
	static uint8_t joined[4000];
	memcpy(joined, mock_ram_host(&ram, a[0] + HDR), 1526 - HDR);
	memcpy(joined + 1526 - HDR, mock_ram_host(&ram, a[1]), 1526);
	memcpy(joined + 2 * 1526 - HDR, mock_ram_host(&ram, a[2]), flen - (2 * 1526 - HDR));
	cr_expect_arr_eq(joined, make_frame(flen, 5), flen);
	cr_expect_eq(irqs[VIRTIO_NET_RXQ], 1);
}

Test(virtio_net, rx_mergeable_frame_spans_buffers)
{
	mergeable(false);
}

Test(virtio_net, rx_mergeable_frame_spans_buffers_packed)
{
	mergeable(true);
}

static void mergeable_waits(bool packed)
{
	uint32_t id, len;
	uint64_t a[3];

	create(false, 0);
	driver_up_size(FEAT | F(VIRTIO_NET_F_MRG_RXBUF), packed, 256);
	add_rx(a[0] = rx_buf(1000), 1000);
	inject_frame(2500, 6);
	rx_ready();
	cr_expect_eq(used(RXV, &id, &len), 0, "a partial frame must not be published");
	if (!packed)
		cr_expect_eq(mock_split_used_idx(RXV), 0);
	add_rx(a[1] = rx_buf(1000), 1000);
	add_rx(a[2] = rx_buf(1000), 1000);
	kick(VIRTIO_NET_RXQ);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(used(RXV, &id, &len), 1);
	cr_expect_eq(len, HDR + 2500 - 2000);
	cr_expect_eq(le16toh(hdr_at(a[0]).num_buffers), 3);
	cr_expect_eq(stats().rx_dropped, 0);
}

Test(virtio_net, rx_mergeable_waits_for_enough_buffers)
{
	mergeable_waits(false);
}

Test(virtio_net, rx_mergeable_waits_for_enough_buffers_packed)
{
	mergeable_waits(true);
}

Test(virtio_net, rx_buffer_too_small_without_mrg_drops_the_frame_not_the_buffer)
{
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT);
	uint64_t a = rx_buf(200);
	add_rx(a, 200);
	inject_frame(1000, 1);
	inject_frame(150, 2);
	rx_ready();
	cr_assert_eq(used(RXV, &id, &len), 1);
	cr_expect_eq(len, HDR + 150);
	expect_rx_frame(a + HDR, 150, 2);
	cr_expect_eq(stats().rx_dropped, 1);
	cr_expect_eq(stats().rx_frames, 1);
}

Test(virtio_net, rx_frame_larger_than_the_whole_ring_is_dropped)
{
	uint32_t id, len;

	create(false, 0);
	driver_up_size(FEAT | F(VIRTIO_NET_F_MRG_RXBUF), false, 4);
	for (int i = 0; i < 4; i++)
		add_rx(rx_buf(100), 100);
	inject_frame(1000, 1); /* 4 x 100 bytes can never hold it */
	inject_frame(300, 2);
	rx_ready();
	for (int i = 0; i < 4; i++)
		cr_assert_eq(used(RXV, &id, &len), 1, "buffer %d", i);
	cr_expect_eq(len, HDR + 300 - 300); /* 12 + 300 = 100 + 100 + 100 + 12 */
	cr_expect_eq(stats().rx_dropped, 1);
	cr_expect_eq(stats().rx_frames, 1);
}

Test(virtio_net, rx_oversized_and_runt_frames_from_the_backend)
{
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT);
	add_rx(rx_buf(2000), 2000);
	static uint8_t big[VIRTIO_NET_MAX_FRAME + 1];
	inject(big, sizeof(big));
	inject(big, 10);
	inject_frame(60, 3);
	rx_ready();
	cr_assert_eq(used(RXV, &id, &len), 1);
	cr_expect_eq(len, HDR + 60);
	cr_expect_eq(stats().rx_dropped, 1);
	cr_expect_eq(stats().rx_errors, 1);
}

Test(virtio_net, rx_offload_header_the_guest_did_not_negotiate_is_dropped)
{
	uint32_t id, len;
	uint8_t buf[HDR + 100];
	struct virtio_net_hdr_v1 h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};

	create(true, ALL_CAPS);
	driver_up(FEAT);
	add_rx(rx_buf(2000), 2000);
	memcpy(buf, &h, HDR);
	memcpy(buf + HDR, make_frame(100, 1), 100);
	inject(buf, sizeof(buf));
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID; /* harmless: cleared */
	memcpy(buf, &h, HDR);
	inject(buf, sizeof(buf));
	rx_ready();
	cr_assert_eq(used(RXV, &id, &len), 1);
	cr_expect_eq(stats().rx_errors, 1);
}

Test(virtio_net, reset_forgets_a_waiting_frame_and_counts_it)
{
	create(false, 0);
	driver_up(FEAT);
	inject_frame(60, 1);
	rx_ready();
	set_status(0);
	cr_expect_eq(stats().rx_dropped, 1);
	cr_expect_eq(rx_handler()->events, EPOLLONESHOT);
}

Test(virtio_net, broken_rx_ring_fails_the_device_only)
{
	create(false, 0);
	driver_up(FEAT);
	mock_split_avail_entry(RXV, 0, 999); /* head out of range */
	mock_split_set_avail_idx(RXV, 1);
	inject_frame(60, 1);
	rx_ready();
	cr_expect(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* ---- frame sizes with offloads ---- */

static const size_t sizes[] = {60, 61, 1514, 1515, 4096, 9000, 65535, VIRTIO_NET_MAX_FRAME};

Test(virtio_net, frame_sizes_60_to_65550_with_offloads)
{
	static uint8_t buf[HDR + VIRTIO_NET_MAX_FRAME];
	struct virtio_net_hdr_v1 gso = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.gso_type = VIRTIO_NET_HDR_GSO_TCPV4};
	uint32_t id, len;

	gso.gso_size = htole16(1448);
	gso.hdr_len = htole16(54);
	gso.csum_start = htole16(34);
	gso.csum_offset = htole16(16);
	create(true, ALL_CAPS);
	driver_up(OFFLOAD_FEAT);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint64_t a = rx_buf(HDR + VIRTIO_NET_MAX_FRAME); /* 65562: 5.1.6.3.1 */
		add_rx(a, HDR + VIRTIO_NET_MAX_FRAME);
		memcpy(buf, &gso, HDR);
		memcpy(buf + HDR, make_frame(n, (uint8_t)i), n);
		inject(buf, HDR + n);
		rx_ready();
		cr_assert_eq(used(RXV, &id, &len), 1, "rx size %zu", n);
		cr_expect_eq(len, HDR + n);
		struct virtio_net_hdr_v1 got = hdr_at(a);
		cr_expect_eq(got.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
		cr_expect_eq(got.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		cr_expect_eq(le16toh(got.gso_size), 1448);
		expect_rx_frame(a + HDR, n, (uint8_t)i);

		struct virtio_net_hdr_v1 want = gso;
		add_tx(&gso, make_frame(n, (uint8_t)i), (uint32_t)n);
		kick(VIRTIO_NET_TXQ);
		cr_assert_eq(used(TXV, &id, &len), 1, "tx size %zu", n);
		want.num_buffers = 0;
		expect_sent(net_loopback_sent_count(be) - 1, &want, make_frame(n, (uint8_t)i), n);
	}
	cr_expect_eq(stats().rx_frames, 8);
	cr_expect_eq(stats().tx_frames, 8);
	cr_expect_eq(stats().tx_errors, 0);
}

Test(virtio_net, frame_sizes_into_mergeable_page_buffers)
{
	uint32_t id, len;

	create(true, ALL_CAPS);
	driver_up(OFFLOAD_FEAT | F(VIRTIO_NET_F_MRG_RXBUF));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], want = (HDR + n + 4095) / 4096, total = 0;
		for (size_t k = 0; k < want; k++)
			add_rx(rx_buf(4096), 4096);
		static uint8_t buf[HDR + VIRTIO_NET_MAX_FRAME];
		memset(buf, 0, HDR);
		memcpy(buf + HDR, make_frame(n, (uint8_t)i), n);
		inject(buf, HDR + n);
		rx_ready();
		for (size_t k = 0; k < want; k++) {
			cr_assert_eq(used(RXV, &id, &len), 1, "size %zu buffer %zu", n, k);
			total += len;
		}
		cr_expect_eq(total, HDR + n);
		cr_expect_eq(used(RXV, &id, &len), 0);
	}
	cr_expect_eq(stats().rx_dropped, 0);
}

/* ---- control queue ---- */

/* Sends class/cmd + data, returns the ack (or 0xff when the device wrote none). */
static uint8_t ctrl(uint8_t class, uint8_t cmd, const void *data, uint32_t len, uint32_t *used_len)
{
	uint8_t hdr[2] = {class, cmd};
	uint64_t ack = mock_alloc(CTV, 1);
	uint32_t id, ulen;
	struct mock_buf b[3];
	int n = 0;

	*(uint8_t *)mock_ram_host(&ram, ack) = 0xff;
	b[n++] = (struct mock_buf){mock_fill(CTV, hdr, 2), 2, false};
	if (len)
		b[n++] = (struct mock_buf){mock_fill(CTV, data, len), len, false};
	b[n++] = (struct mock_buf){ack, 1, true};
	add(CTV, b, n);
	kick(VIRTIO_NET_CTRLQ);
	cr_assert_eq(used(CTV, &id, &ulen), 1);
	if (used_len)
		*used_len = ulen;
	return *(uint8_t *)mock_ram_host(&ram, ack);
}

static struct virtio_net_rx_mode rx_mode(void)
{
	struct virtio_net_rx_mode m;
	virtio_net_get_rx_mode(dev, &m);
	return m;
}

Test(virtio_net, ctrl_rx_mode)
{
	uint8_t on = 1, off = 0;
	uint32_t ulen;

	create(false, 0);
	driver_up(CTRL_FEAT);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1, &ulen),
		     VIRTIO_NET_OK);
	cr_expect_eq(ulen, 1);
	cr_expect(rx_mode().promisc);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1, NULL),
		     VIRTIO_NET_OK);
	cr_expect(rx_mode().allmulti);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1, NULL),
		     VIRTIO_NET_OK);
	cr_expect_not(rx_mode().promisc);
	cr_expect(rx_mode().allmulti);
	/* RX_EXTRA commands are not offered; two data bytes are malformed. */
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1, NULL),
		     VIRTIO_NET_ERR);
	uint8_t two[2] = {1, 1};
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2, NULL),
		     VIRTIO_NET_ERR);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0, NULL),
		     VIRTIO_NET_ERR);
	cr_expect_not(rx_mode().promisc);
	set_status(0); /* reset: back to the defaults */
	cr_expect_not(rx_mode().allmulti);
}

/* entries (le32) + 6 bytes each, for two tables. */
static size_t mac_tables(uint8_t *out, uint32_t nuni, uint32_t nmulti)
{
	size_t off = 0;
	uint32_t n[2] = {nuni, nmulti};
	for (int t = 0; t < 2; t++) {
		uint32_t le = htole32(n[t]);
		memcpy(out + off, &le, 4);
		off += 4;
		for (uint32_t i = 0; i < n[t]; i++, off += 6) {
			uint8_t m[6] = {t ? 0x01 : 0x02, 0, 0x5e, 0, (uint8_t)(i >> 8), (uint8_t)i};
			memcpy(out + off, m, 6);
		}
	}
	return off;
}

Test(virtio_net, ctrl_mac_table_set)
{
	static uint8_t tab[8 + 6 * 300];
	size_t len;

	create(false, 0);
	driver_up(CTRL_FEAT);
	len = mac_tables(tab, 2, 3);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tab, len, NULL),
		     VIRTIO_NET_OK);
	struct virtio_net_rx_mode m = rx_mode();
	cr_expect_eq(m.n_uni, 2);
	cr_expect_eq(m.n_multi, 3);
	cr_expect_not(m.uni_overflow);
	cr_expect_eq(m.multi[2][0], 0x01);
	cr_expect_eq(m.multi[2][5], 2);
	cr_expect_eq(m.uni[1][5], 1);

	/* More than the table holds: kept up to the limit, overflow reported. */
	len = mac_tables(tab, 0, 200);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tab, len, NULL),
		     VIRTIO_NET_OK);
	m = rx_mode();
	cr_expect_eq(m.n_uni, 0);
	cr_expect_eq(m.n_multi, VIRTIO_NET_MAC_TABLE);
	cr_expect(m.multi_overflow);
}

Test(virtio_net, ctrl_mac_table_malformed_changes_nothing)
{
	static uint8_t tab[8 + 6 * 10 + 1];
	size_t len;

	create(false, 0);
	driver_up(CTRL_FEAT);
	len = mac_tables(tab, 1, 1);
	cr_assert_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tab, len, NULL),
		     VIRTIO_NET_OK);
	/* Trailing byte. */
	len = mac_tables(tab, 2, 2);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tab, len + 1, NULL),
		     VIRTIO_NET_ERR);
	/* Entries claiming far more than the data (and 32-bit overflow bait). */
	uint32_t huge = htole32(0xffffffffu);
	memcpy(tab, &huge, 4);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tab, len, NULL),
		     VIRTIO_NET_ERR);
	/* Only the unicast table. */
	len = mac_tables(tab, 1, 0) - 4;
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tab, len, NULL),
		     VIRTIO_NET_ERR);
	cr_expect_eq(rx_mode().n_uni, 1);
	cr_expect_eq(rx_mode().n_multi, 1);
	cr_expect(virtio_dev_running(dev));
}

Test(virtio_net, ctrl_mac_addr_set_updates_the_config_mac)
{
	const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	struct virtio_net_config cfg;

	create(false, 0);
	driver_up(CTRL_FEAT);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6, NULL),
		     VIRTIO_NET_OK);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_read(dev, 0, &cfg, sizeof(cfg));
	pthread_mutex_unlock(&dev->lock);
	cr_expect_arr_eq(cfg.mac, mac, 6);
	cr_expect_arr_eq(rx_mode().mac, mac, 6);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 5, NULL),
		     VIRTIO_NET_ERR);
}

Test(virtio_net, ctrl_unknown_and_unnegotiated_commands_answer_err)
{
	uint8_t on = 1;
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};

	create(false, 0);
	driver_up(FEAT | F(VIRTIO_NET_F_CTRL_VQ)); /* no CTRL_RX, no CTRL_MAC_ADDR */
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1, NULL),
		     VIRTIO_NET_ERR);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6, NULL),
		     VIRTIO_NET_ERR);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MQ, 0, &on, 1, NULL), VIRTIO_NET_ERR);
	cr_expect_eq(ctrl(200, 7, NULL, 0, NULL), VIRTIO_NET_ERR);
	cr_expect_eq(ctrl(VIRTIO_NET_CTRL_MAC, 9, mac, 6, NULL), VIRTIO_NET_ERR);
}

Test(virtio_net, ctrl_malformed_chains_do_not_crash)
{
	uint32_t id, len;
	uint8_t one = VIRTIO_NET_CTRL_RX;

	create(false, 0);
	driver_up(CTRL_FEAT);
	/* A 1-byte header, then an ack. */
	struct mock_buf b[2] = {{mock_fill(CTV, &one, 1), 1, false}, {mock_alloc(CTV, 1), 1, true}};
	add(CTV, b, 2);
	/* No writable byte at all: no answer, used len 0. */
	uint8_t cmd[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1};
	struct mock_buf c = {mock_fill(CTV, cmd, 3), 3, false};
	add(CTV, &c, 1);
	/* Only a writable buffer. */
	struct mock_buf d = {mock_alloc(CTV, 16), 16, true};
	add(CTV, &d, 1);
	kick(VIRTIO_NET_CTRLQ);
	cr_assert_eq(used(CTV, &id, &len), 1);
	cr_expect_eq(len, 1);
	cr_expect_eq(*(uint8_t *)mock_ram_host(&ram, b[1].addr), VIRTIO_NET_ERR);
	cr_assert_eq(used(CTV, &id, &len), 1);
	cr_expect_eq(len, 0);
	cr_expect(rx_mode().promisc, "the command itself was valid");
	cr_assert_eq(used(CTV, &id, &len), 1);
	cr_expect_eq(len, 1);
	cr_expect_eq(*(uint8_t *)mock_ram_host(&ram, d.addr), VIRTIO_NET_ERR);
	cr_expect(virtio_dev_running(dev));
}

/* ---- counters ---- */

Test(virtio_net, counters_add_up)
{
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);

	create(false, 0);
	driver_up(FEAT);
	add_tx(&h, make_frame(100, 0), 100);
	add_tx(&h, make_frame(200, 0), 200);
	add_tx(&h, make_frame(5, 0), 5);
	kick(VIRTIO_NET_TXQ);
	add_rx(rx_buf(2000), 2000);
	inject_frame(300, 0);
	rx_ready();
	struct virtio_net_stats s = stats();
	cr_expect_eq(s.tx_frames, 2);
	cr_expect_eq(s.tx_bytes, 300);
	cr_expect_eq(s.tx_errors, 1);
	cr_expect_eq(s.tx_dropped, 0);
	cr_expect_eq(s.rx_frames, 1);
	cr_expect_eq(s.rx_bytes, 300);
	cr_expect_eq(s.rx_dropped, 0);
	cr_expect_eq(s.rx_errors, 0);
}

Test(virtio_net, event_idx_suppresses_interrupts_the_driver_does_not_want)
{
	struct virtio_net_hdr_v1 h = tx_hdr(0, 0, 0, 0, 0);

	create(false, 0);
	driver_up(FEAT | F(VIRTIO_RING_F_EVENT_IDX));
	mock_split_set_used_event(TXV, 5); /* interrupt when used passes 5 */
	for (int i = 0; i < 3; i++)
		add_tx(&h, make_frame(60, 0), 60);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(irqs[VIRTIO_NET_TXQ], 0);
	for (int i = 0; i < 3; i++)
		add_tx(&h, make_frame(60, 0), 60);
	kick(VIRTIO_NET_TXQ);
	cr_expect_eq(irqs[VIRTIO_NET_TXQ], 1);
	cr_expect_eq(mock_split_avail_event(TXV), 6, "avail_event kept current");
}

/* ---- the device counters (virtio/core/device.h) mean the same as on other devices ---- */

static struct virtio_dev_counters_snapshot dev_counters(void)
{
	struct virtio_dev_counters_snapshot c;
	virtio_dev_counters_read(dev, &c);
	return c;
}

Test(virtio_net, counters_follow_the_net_stats)
{
	struct virtio_net_hdr_v1 ok = tx_hdr(0, 0, 0, 0, 0);
	uint32_t id, len;

	create(false, 0);
	driver_up(FEAT);
	add_tx(&ok, make_frame(13, 0), 13); /* runt: an error, still a completed chain */
	add_tx(&ok, make_frame(100, 0), 100);
	kick(VIRTIO_NET_TXQ);
	struct virtio_dev_counters_snapshot c = dev_counters();
	cr_expect_eq(c.kicks, 1);
	cr_expect_eq(c.requests, 2);
	cr_expect_eq(c.bytes, 100, "frame bytes sent, as tx_bytes");
	cr_expect_eq(c.errors, 1, "as tx_errors");
	cr_expect_eq(c.interrupts, 1);

	inject_frame(60, 1);
	rx_ready();
	cr_expect_eq(dev_counters().stalls, 1, "a frame waits for a guest buffer");
	add_rx(rx_buf(2048), 2048);
	kick(VIRTIO_NET_RXQ);
	cr_assert_eq(used(RXV, &id, &len), 1);
	c = dev_counters();
	cr_expect_eq(c.requests, 3);
	cr_expect_eq(c.bytes, 160, "plus rx_bytes");
	cr_expect_eq(c.errors, 1);
	cr_expect_eq(stats().rx_bytes + stats().tx_bytes, c.bytes);
}
