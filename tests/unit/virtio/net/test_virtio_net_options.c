/* The --net option parser (virtio/net/options.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/net/options.h"

static struct virtio_net_opts o;
static char msg[256];

/* The parser as the CLI calls it; its message stays in `msg`. */
static int parse(const char *spec)
{
	msg[0] = '\0';
	return virtio_net_opts_parse(spec, &o, msg, sizeof(msg));
}

Test(net_options, tap_with_mac)
{
	const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};

	cr_assert_eq(parse("tap=vmtap0,mac=52:54:00:AB:cd:ef"), 0);
	cr_expect_eq(o.kind, VIRTIO_NET_TAP);
	cr_expect_str_eq(o.ifname, "vmtap0");
	cr_expect(o.has_mac);
	cr_expect_arr_eq(o.mac, mac, 6);
	cr_expect_eq(o.nhostfwd, 0);
}

Test(net_options, a_doubled_comma_is_a_comma_in_the_tap_name)
{
	cr_assert_eq(parse("tap=t,,0,mac=52:54:00:AB:cd:ef"), 0, "%s", msg);
	cr_expect_str_eq(o.ifname, "t,0");
	cr_expect(o.has_mac);
}

Test(net_options, tapfd)
{
	cr_assert_eq(parse("tapfd=3"), 0);
	cr_expect_eq(o.kind, VIRTIO_NET_TAPFD);
	cr_expect_eq(o.tapfd, 3);
	cr_expect_not(o.has_mac);
}

Test(net_options, user_with_forwards)
{
	cr_assert_eq(parse("user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:"
			   "5353-10.0.2.16:53,hostfwd=::8080-:80"),
		     0, "%s", msg);
	cr_expect_eq(o.kind, VIRTIO_NET_USER);
	cr_assert_eq(o.nhostfwd, 3);
	cr_expect_not(o.hostfwd[0].udp);
	cr_expect_eq(o.hostfwd[0].host_addr, 0);
	cr_expect_eq(o.hostfwd[0].host_port, 2222);
	cr_expect_eq(o.hostfwd[0].guest_addr, 0);
	cr_expect_eq(o.hostfwd[0].guest_port, 22);
	cr_expect(o.hostfwd[1].udp);
	cr_expect_eq(o.hostfwd[1].host_addr, htonl(0x7f000001));
	cr_expect_eq(o.hostfwd[1].guest_addr, htonl(0x0a000210));
	cr_expect_eq(o.hostfwd[1].guest_port, 53);
	cr_expect_not(o.hostfwd[2].udp);
	cr_expect_eq(o.hostfwd[2].host_port, 8080);
}

Test(net_options, errors)
{
	const char *bad[] = {
	    "",
	    "bridge=br0",
	    "tap=",
	    "tap=averyveryverylongname",
	    "tap=a/b",
	    "tapfd=-1",
	    "tapfd=x",
	    "user,mac=52:54:00:12:34",
	    "user,mac=53:54:00:12:34:56", /* multicast */
	    "user,mac=52:54:00:12:34:5g",
	    "user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57",
	    "user,hostfwd=tcp::0-:22",
	    "user,hostfwd=tcp::2222-:65536",
	    "user,hostfwd=sctp::1-:2",
	    "user,hostfwd=tcp::2222:22",
	    "user,hostfwd=tcp:1.2.3:2222-:22",
	    "tap=t0,hostfwd=tcp::2222-:22",
	    "user,,mac=52:54:00:12:34:56", /* one item: the kind "user,mac=..." */
	    "user,mac=52:54:00:12:34:56,,,",
	    "user,",
	    "user,speed=10",
	    "user,mac",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse(bad[i]), -EINVAL, "'%s' accepted", bad[i]);
		cr_expect_neq(msg[0], '\0', "'%s': no message", bad[i]);
	}
	cr_expect_eq(parse(NULL), -EINVAL);
	cr_expect_neq(msg[0], '\0');
}

Test(net_options, hostfwd_limit)
{
	char spec[2048] = "user";

	for (int i = 0; i < VIRTIO_NET_MAX_HOSTFWD; i++)
		sprintf(spec + strlen(spec), ",hostfwd=tcp::%d-:22", 2000 + i);
	cr_expect_eq(parse(spec), 0);
	cr_expect_eq(o.nhostfwd, VIRTIO_NET_MAX_HOSTFWD);
	strcat(spec, ",hostfwd=tcp::3000-:22");
	cr_expect_eq(parse(spec), -EINVAL);
}

/* The parser says what was wrong in the caller's buffer and logs nothing (base/errors.h). */
Test(net_options, errors_go_to_the_buffer, .init = cr_redirect_stderr)
{
	struct virtio_net_opts o;
	char err[256] = "";
	cr_assert_eq(virtio_net_opts_parse("user,mac=01:00:00:00:00:01", &o, err, sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "bad MAC address"), "%s", err);
	cr_assert_eq(virtio_net_opts_parse("tap=x,hostfwd=tcp::1-:2", &o, err, sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "hostfwd needs user-mode"), "%s", err);
	cr_assert_eq(virtio_net_opts_parse("user", &o, err, 0), 0, "no buffer needed on success");
	fflush(stderr);
	cr_assert_stderr_eq_str("");
}

Test(net_options, rate_limits_per_direction)
{
	char err[200] = "";
	cr_assert_eq(
	    virtio_net_opts_parse("user,rx-bw=1M:1000,tx-ops=100:1000:50", &o, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(o.rx_rl.bw.size, 1u << 20);
	cr_assert_eq(o.rx_rl.ops.size, 0);
	cr_assert_eq(o.tx_rl.ops.size, 100);
	cr_assert_eq(o.tx_rl.ops.one_time_burst, 50);
	cr_assert_eq(o.tx_rl.bw.size, 0);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,rx-iops=1:1", &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "rx-iops"), "%s", err);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,tx-bw=1:1,tx-bw=1:1", &o, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(virtio_net_opts_parse("tap=t0,tx-bw=1", &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "rate limit"), "%s", err);
}

/* id=NAME: the API's iface_id, kept in snapshots (vmm/snapshot/vm_snapshot.h finds NIC overrides by
 * it). */
/* mtu=: Firecracker's NetworkInterface mtu range, 68 to 65535; 0 when not given (1500). */
Test(net_options, mtu)
{
	cr_assert_eq(parse("tap=t0"), 0);
	cr_expect_eq(o.mtu, 0);
	cr_assert_eq(parse("tap=t0,mtu=9000"), 0);
	cr_expect_eq(o.mtu, 9000);
	cr_assert_eq(parse("user,mtu=68"), 0);
	cr_expect_eq(o.mtu, 68);
	cr_assert_eq(parse("tap=t0,mtu=65535"), 0);
	cr_assert_neq(parse("tap=t0,mtu=67"), 0);
	cr_expect(strstr(msg, "mtu=67: from 68 to 65535"), "%s", msg);
	cr_assert_neq(parse("tap=t0,mtu=65536"), 0);
	cr_assert_neq(parse("tap=t0,mtu=x"), 0);
}

Test(net_options, id)
{
	cr_assert_eq(parse("tap=t0,id=eth0"), 0, "%s", msg);
	cr_expect_str_eq(o.id, "eth0");
	cr_assert_eq(parse("user,id=a.b-c_1"), 0, "%s", msg);
	cr_expect_str_eq(o.id, "a.b-c_1");
	cr_assert_eq(parse("tap=t0"), 0);
	cr_expect_str_eq(o.id, "");
	char longid[80] = "tap=t0,id=";
	memset(longid + strlen(longid), 'x', 64);
	static const char *const bad[] = {"tap=t0,id=", "tap=t0,id=a/b", "tap=t0,id=a b",
					  "tap=t0,id=a,id=b", "tap=t0,id=\x7f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i]), -EINVAL, "%s", bad[i]);
		cr_assert(strstr(msg, "id"), "%s: %s", bad[i], msg);
	}
	cr_assert_eq(parse(longid), -EINVAL);
	cr_assert(strstr(msg, "1 to 63 characters"), "%s", msg);
}

Test(net_options, egress_rules_repeat_and_add_up)
{
	cr_assert_eq(parse("user,egress=10.0.2.2/32:tcp:8000-8080;dns=10.0.2.3,egress=none,"
			   "egress=[2001:db8::]/32"),
		     0, "%s", msg);
	cr_expect(o.egress.on);
	cr_expect_eq(o.egress.n, 3);
	cr_expect_eq(o.egress.rule[1].kind, EGRESS_DNS);
	cr_assert_eq(parse("tap=t0"), 0);
	cr_expect_not(o.egress.on, "no egress=: everything passes");
	cr_assert_eq(parse("tap=t0,egress=none"), 0);
	cr_expect(o.egress.on);
	cr_expect_eq(o.egress.n, 0);
}

Test(net_options, bad_egress_rule_says_which)
{
	cr_expect_eq(parse("user,egress=10.0.2.2:tcp:99999"), -EINVAL);
	cr_expect(strstr(msg, "egress rule '10.0.2.2:tcp:99999': bad port") != NULL, "%s", msg);
	cr_expect_eq(parse("user,egress="), -EINVAL);
}
