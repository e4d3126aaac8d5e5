/* Boot-time phases of the VMM process (see stats.h for what "process start" means). */
#include "base/stats.h"
#include "base/clock.h"

#include <string.h>

/* Marks hold ns since start plus one, so 0 means "not recorded" and a CAS from 0 keeps the first.
 */
static uint64_t start_ns;
static uint64_t marks[STATS_NPHASES];
static unsigned timer_hits;
static size_t scan_matched; /* bytes of STATS_RUN_INIT_TEXT matched so far */

void stats_init(void)
{
	start_ns = mono_ns();
	for (int i = 0; i < STATS_NPHASES; i++)
		__atomic_store_n(&marks[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&timer_hits, 0, __ATOMIC_RELAXED);
	scan_matched = 0;
}

uint64_t stats_start_monotonic_ns(void)
{
	return start_ns;
}

static uint64_t since_start_ns(void)
{
	uint64_t t = mono_ns();

	return t > start_ns ? t - start_ns : 0;
}

static void mark_at(enum stats_phase phase, uint64_t ns)
{
	uint64_t expected = 0;

	if ((unsigned)phase >= STATS_NPHASES)
		return;
	__atomic_compare_exchange_n(&marks[phase], &expected, ns + 1, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
}

void stats_mark(enum stats_phase phase)
{
	if ((unsigned)phase < STATS_NPHASES && __atomic_load_n(&marks[phase], __ATOMIC_RELAXED))
		return; /* the common case after the first mark: no clock read */
	mark_at(phase, since_start_ns());
}

uint64_t stats_boot_timer_hit(void)
{
	uint64_t ns = since_start_ns();

	__atomic_add_fetch(&timer_hits, 1, __ATOMIC_RELAXED);
	mark_at(STATS_BOOT_TIMER, ns);
	return ns / 1000;
}

unsigned stats_boot_timer_hits(void)
{
	return __atomic_load_n(&timer_hits, __ATOMIC_RELAXED);
}

bool stats_get_ns(enum stats_phase phase, uint64_t *ns)
{
	uint64_t v;

	if ((unsigned)phase >= STATS_NPHASES)
		return false;
	v = __atomic_load_n(&marks[phase], __ATOMIC_RELAXED);
	if (!v)
		return false;
	*ns = v - 1;
	return true;
}

/* "Run /init" has no proper prefix that is also a suffix (its only 'R' is the first byte), so
 * on a mismatch the match can only restart at this byte: a one-comparison fallback instead of a
 * KMP table. test_stats checks the property, so a new text cannot break it silently. */
void stats_scan_console(const uint8_t *buf, size_t n)
{
	static const char text[] = STATS_RUN_INIT_TEXT;
	const size_t len = sizeof(text) - 1;
	size_t m = scan_matched;

	if (__atomic_load_n(&marks[STATS_RUN_INIT], __ATOMIC_RELAXED))
		return;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != (uint8_t)text[m])
			m = buf[i] == (uint8_t)text[0];
		else if (++m == len) {
			stats_mark(STATS_RUN_INIT);
			m = 0;
			break;
		}
	}
	scan_matched = m;
}

/* One field: "name=<us>" or "name=-" when a phase is missing or the order is impossible. */
static void field(char *buf, size_t size, const char *name, bool have, uint64_t from_ns,
		  uint64_t to_ns)
{
	if (have && to_ns >= from_ns)
		snprintf(buf, size, "%s=%llu", name,
			 (unsigned long long)((to_ns - from_ns) / 1000));
	else
		snprintf(buf, size, "%s=-", name);
}

int stats_report(FILE *out)
{
	uint64_t run = 0, timer = 0, init = 0, end = 0;
	bool have_run = stats_get_ns(STATS_FIRST_RUN, &run);
	bool have_timer = stats_get_ns(STATS_BOOT_TIMER, &timer);
	bool have_init = stats_get_ns(STATS_RUN_INIT, &init);
	char f[5][64];

	stats_mark(STATS_EXIT);
	stats_get_ns(STATS_EXIT, &end);
	field(f[0], sizeof(f[0]), "setup-to-first-run-us", have_run, 0, run);
	field(f[1], sizeof(f[1]), "first-run-to-timer-us", have_run && have_timer, run, timer);
	field(f[2], sizeof(f[2]), "to-run-init-us", have_init, 0, init);
	field(f[3], sizeof(f[3]), "total-us", true, 0, end);
	field(f[4], sizeof(f[4]), "to-timer-us", have_timer, 0, timer);
	return fprintf(out, "boot-timer: %s %s %s %s %s timer-hits=%u start-monotonic-ns=%llu\n",
		       f[0], f[1], f[2], f[3], f[4], stats_boot_timer_hits(),
		       (unsigned long long)start_ns);
}
