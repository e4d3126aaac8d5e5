/* vmmctl: live migration (docs/migration.md): PUT /vmm/send-migration, GET /vmm/migration,
 * PUT /vmm/migration/cancel, PUT /vmm/receive-migration. The VMM checks the addresses; vmmctl
 * only checks the number. */
#include <errno.h>

#include "tools/vmmctl/commands.h"

int cmd_migrate(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *downtime = arg_opt(a, "max-downtime-ms");
	long long ms = 0;

	if (downtime && cmd_parse_int(downtime, 1, 60000, &ms))
		return cmd_fail(e, n, "%s: --max-downtime-ms wants 1-60000, not '%s'", a->cmd,
				downtime);
	cmd_set(r, "PUT", "/vmm/send-migration", VIEW_NONE);
	r->body = json_pack("{s:s, s:b}", "destination_url", a->pos[0], "local",
			    arg_opt(a, "local") != NULL);
	if (downtime)
		json_object_set_new(r->body, "max_downtime_ms", json_integer(ms));
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
