/* vmmctl: live migration (docs/migration.md): PUT /vmm/send-migration, GET /vmm/migration,
 * PUT /vmm/migration/cancel, PUT /vmm/receive-migration. The VMM checks the addresses; vmmctl
 * only checks the number. */
#include <errno.h>
#include <string.h>

#include "tools/vmmctl/commands.h"

/* The VMM's ranges (vmm/api/api_migration.h), checked here too for an early, local message. */
#define MAX_DOWNTIME_MS 60000
#define MAX_ROUNDS	1000
#define MIN_BANDWIDTH	(64LL << 10)
#define MAX_BANDWIDTH	(1LL << 40)

/* "N", "NK", "NM" or "NG" (binary: K is 1024) bytes per second, within the VMM's range. */
static int parse_bandwidth(const char *s, long long *out)
{
	static const char units[] = "KMG";
	char num[24];
	size_t len = strlen(s);
	const char *u = len ? strchr(units, s[len - 1]) : NULL;
	int shift = u && *u ? 10 * (int)(u - units + 1) : 0;

	if (shift)
		len--;
	if (!len || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len);
	num[len] = '\0';
	if (cmd_parse_int(num, 0, MAX_BANDWIDTH >> shift, out))
		return -EINVAL;
	*out <<= shift;
	return *out >= MIN_BANDWIDTH ? 0 : -EINVAL;
}

int cmd_migrate(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *downtime = arg_opt(a, "max-downtime-ms");
	const char *rounds = arg_opt(a, "max-rounds");
	const char *bandwidth = arg_opt(a, "max-bandwidth");
	long long ms = 0, nrounds = 0, bw = 0;

	if (downtime && cmd_parse_int(downtime, 1, MAX_DOWNTIME_MS, &ms))
		return cmd_fail(e, n, "%s: --max-downtime-ms wants 1-%d, not '%s'", a->cmd,
				MAX_DOWNTIME_MS, downtime);
	if (rounds && cmd_parse_int(rounds, 1, MAX_ROUNDS, &nrounds))
		return cmd_fail(e, n, "%s: --max-rounds wants 1-%d, not '%s'", a->cmd, MAX_ROUNDS,
				rounds);
	if (bandwidth && parse_bandwidth(bandwidth, &bw))
		return cmd_fail(e, n,
				"%s: --max-bandwidth wants bytes per second from 64K to 1024G "
				"(suffix K, M or G: 1024, 1024^2, 1024^3), not '%s'",
				a->cmd, bandwidth);
	cmd_set(r, "PUT", "/vmm/send-migration", VIEW_NONE);
	r->body = json_pack("{s:s, s:b}", "destination_url", a->pos[0], "local",
			    arg_opt(a, "local") != NULL);
	if (downtime)
		json_object_set_new(r->body, "max_downtime_ms", json_integer(ms));
	if (rounds)
		json_object_set_new(r->body, "max_rounds", json_integer(nrounds));
	if (bandwidth)
		json_object_set_new(r->body, "max_bandwidth_bytes_per_s", json_integer(bw));
	return 0;
}

int cmd_migration(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	cmd_set(r, "GET", "/vmm/migration", VIEW_RAW);
	return 0;
}

int cmd_migrate_cancel(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	cmd_set(r, "PUT", "/vmm/migration/cancel", VIEW_NONE);
	r->body = json_object();
	return 0;
}

int cmd_receive_migration(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)e, (void)n;
	cmd_set(r, "PUT", "/vmm/receive-migration", VIEW_NONE);
	r->body = json_pack("{s:s}", "receiver_url", a->pos[0]);
	return 0;
}
