/* vmmctl: the balloon's commands (Firecracker's bodies): GET / PUT / PATCH /balloon and GET /
 * PATCH /balloon/statistics. */
#include <errno.h>

#include "tools/vmmctl/commands.h"

#define MAX_MIB	    (1LL << 30) /* as put-machine-config --mem-mib */
#define MAX_STATS_S 86400	/* the VMM's limit: a day */

static int parse_mib(const struct args *a, long long *mib, char *e, size_t n)
{
	if (cmd_parse_int(a->pos[0], 0, MAX_MIB, mib))
		return cmd_fail(e, n, "%s: MIB wants 0-%lld, not '%s'", a->cmd, MAX_MIB, a->pos[0]);
	return 0;
}

int cmd_balloon(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	cmd_set(r, "GET", "/balloon", VIEW_BALLOON);
	return 0;
}

/* PUT /balloon: deflate_on_oom is required by the API, so always sent; the interval and free
 * page reporting only when asked for (0 seconds: no statistics). */
int cmd_put_balloon(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *interval = arg_opt(a, "stats-interval");
	long long mib, s = 0;
	if (parse_mib(a, &mib, e, n))
		return -EINVAL;
	if (interval && cmd_parse_int(interval, 0, MAX_STATS_S, &s))
		return cmd_fail(e, n, "put-balloon: --stats-interval wants seconds 0-%d, not '%s'",
				MAX_STATS_S, interval);
	cmd_set(r, "PUT", "/balloon", VIEW_NONE);
	r->body = json_pack("{s:I, s:b}", "amount_mib", (json_int_t)mib, "deflate_on_oom",
			    arg_opt(a, "deflate-on-oom") != NULL);
	if (s)
		json_object_set_new(r->body, "stats_polling_interval_s", json_integer(s));
	if (arg_opt(a, "free-page-reporting"))
		json_object_set_new(r->body, "free_page_reporting", json_true());
	return 0;
}

int cmd_patch_balloon(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	long long mib;
	if (parse_mib(a, &mib, e, n))
		return -EINVAL;
	cmd_set(r, "PATCH", "/balloon", VIEW_NONE);
	r->body = json_pack("{s:I}", "amount_mib", (json_int_t)mib);
	return 0;
}

int cmd_balloon_stats(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	cmd_set(r, "GET", "/balloon/statistics", VIEW_BALLOON_STATS);
	return 0;
}

/* PATCH /balloon/statistics: statistics cannot be turned on or off after start, so 0 is refused. */
int cmd_patch_balloon_stats(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	long long s;
	if (cmd_parse_int(a->pos[0], 1, MAX_STATS_S, &s))
		return cmd_fail(e, n,
				"patch-balloon-stats: INTERVAL_S wants seconds 1-%d, not '%s'",
				MAX_STATS_S, a->pos[0]);
	cmd_set(r, "PATCH", "/balloon/statistics", VIEW_NONE);
	r->body = json_pack("{s:I}", "stats_polling_interval_s", (json_int_t)s);
	return 0;
}
