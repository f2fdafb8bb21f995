// SPDX-License-Identifier: GPL-2.0
/*
 * The automatic balloon policy. It runs when the guest's statistics arrive
 * (every stats_polling_interval_s), on the event loop with the device lock.
 * Inputs: the guest's available, free and cached memory, its OOM deflates,
 * and the host's memory pressure (PSI of ebb's cgroup, else the system's;
 * the cgroup's headroom under memory.high/max). The target only moves by the
 * rate limits, never past RAM minus the margin, never up within the OOM
 * cooldown or while deflate-on-oom is waiting to ask again (oom.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_balloon.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/balloon/balloon.h"

/* ---- the host's pressure ---- */

static int open_in(const char *dir, const char *name)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

void balloon_pressure_open(struct balloon_pressure *p)
{
	char line[512] = "", dir[600];
	p->psi_fd = p->current_fd = p->high_fd = p->max_fd = -1;
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (f) {
		/* cgroup v2: "0::/path" */
		while (fgets(line, sizeof(line), f) && strncmp(line, "0::", 3) != 0)
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "0::", 3)) {
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", line + 3);
		p->psi_fd = open_in(dir, "memory.pressure");
		p->current_fd = open_in(dir, "memory.current");
		p->high_fd = open_in(dir, "memory.high");
		p->max_fd = open_in(dir, "memory.max");
	}
	if (p->psi_fd < 0)
		p->psi_fd = open("/proc/pressure/memory", O_RDONLY | O_CLOEXEC);
}

void balloon_pressure_close(struct balloon_pressure *p)
{
	int *fds[] = { &p->psi_fd, &p->current_fd, &p->high_fd, &p->max_fd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int read_text(int fd, char *buf, size_t len)
{
	if (fd < 0)
		return -EBADF;
	ssize_t n = pread(fd, buf, len - 1, 0);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

/* A cgroup limit in bytes; -1 for "max" or unknown. */
static int64_t read_limit(int fd)
{
	char buf[64];
	if (read_text(fd, buf, sizeof(buf)) < 0 || !strncmp(buf, "max", 3))
		return -1;
	return strtoll(buf, NULL, 10);
}

void balloon_pressure_read(const struct balloon_pressure *p, int32_t *psi_x100, int64_t *headroom)
{
	char buf[256];
	*psi_x100 = -1;
	*headroom = -1;
	/* "some avg10=1.23 avg60=... total=..." */
	if (read_text(p->psi_fd, buf, sizeof(buf)) == 0) {
		const char *s = strstr(buf, "some avg10=");
		if (s)
			*psi_x100 = (int32_t)(strtod(s + 11, NULL) * 100);
	}
	int64_t current = read_limit(p->current_fd);
	int64_t high = read_limit(p->high_fd), max = read_limit(p->max_fd);
	int64_t limit = high >= 0 && (max < 0 || high < max) ? high : max;
	if (current >= 0 && limit >= 0)
		*headroom = (limit - current) / (1 << 20);
}

/* ---- the policy ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* A statistic in MiB, or -1 when the guest did not send it. */
static int64_t stat_mib(const struct balloon *b, uint16_t tag)
{
	for (unsigned int i = 0; i < b->nr_stats; i++) {
		if (b->stats[i].tag == tag)
			return (int64_t)(b->stats[i].value >> 20);
	}
	return -1;
}

static void set_target(struct balloon *b, uint32_t mib, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_target(struct balloon *b, uint32_t mib, const char *fmt, ...)
{
	struct balloon_policy_state *st = &b->policy;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	if (mib == b->requested_pages / BALLOON_PAGES_PER_MIB)
		return;
	st->target_mib = mib;
	st->changes++;
	b->requested_pages = b->num_pages = mib * BALLOON_PAGES_PER_MIB;
	b->counters.config_interrupts++;
	virtio_mmio_config_changed(&b->transport);
	log_debug_limited(&b->log_policy, "balloon: policy target %u MiB: %s", mib, st->reason);
}

/*
 * Host pressure moves every guest's margin at once, which an operator reading
 * one guest's log could not tell from the guest's own demand.
 */
static void log_pressure_change(struct balloon *b, uint32_t margin)
{
	const struct balloon_policy_state *st = &b->policy;
	char psi[24] = "unknown", headroom[24] = "unknown";
	if (st->psi_some_avg10_x100 >= 0)
		snprintf(psi, sizeof(psi), "%d.%02d%%", st->psi_some_avg10_x100 / 100,
			 st->psi_some_avg10_x100 % 100);
	if (st->headroom_mib >= 0)
		snprintf(headroom, sizeof(headroom), "%lld MiB", (long long)st->headroom_mib);
	log_info_limited(&b->log_pressure,
			 "balloon: policy: host memory pressure %s (PSI some avg10 %s, cgroup "
			 "headroom %s); margin now %u MiB",
			 st->host_pressure ? "began" : "ended", psi, headroom, margin);
}

static void hold(struct balloon *b, const char *why)
{
	snprintf(b->policy.reason, sizeof(b->policy.reason), "holding: %s", why);
}

void balloon_policy_update(struct balloon *b)
{
	const struct balloon_policy_conf *pc = &b->policy_conf;
	struct balloon_policy_state *st = &b->policy;
	if (!virtio_mmio_driver_ok(&b->transport))
		return;
	/*
	 * The guest's start and its OOM deflates are tracked while the policy
	 * is off too: one turned on later knows both, and only a deflate after
	 * it is news.
	 */
	uint64_t now = now_ns();
	if (!st->started_ns)
		st->started_ns = now;
	bool oom_now = b->counters.oom_deflates > st->oom_deflates_seen;
	if (oom_now) {
		st->oom_deflates_seen = b->counters.oom_deflates;
		st->last_oom_ns = now;
	}
	if (!pc->enabled)
		return;
	st->updates++;
	uint32_t pressure_margin =
		pc->pressure_margin_mib ? pc->pressure_margin_mib : MAX(pc->margin_mib / 2, 1u);
	int64_t avail = stat_mib(b, VIRTIO_BALLOON_S_AVAIL);
	st->free_mib = (uint64_t)MAX(stat_mib(b, VIRTIO_BALLOON_S_MEMFREE), 0);
	st->disk_caches_mib = (uint64_t)MAX(stat_mib(b, VIRTIO_BALLOON_S_CACHES), 0);
	if (avail < 0) {
		hold(b, "the guest sends no available_memory");
		return;
	}
	st->available_mib = (uint64_t)avail;
	balloon_pressure_read(&b->pressure, &st->psi_some_avg10_x100, &st->headroom_mib);
	bool was_pressure = st->host_pressure;
	st->host_pressure = (st->psi_some_avg10_x100 >= 0 &&
			     st->psi_some_avg10_x100 >= (int32_t)pc->psi_some_percent * 100) ||
			    (st->headroom_mib >= 0 && st->headroom_mib < (int64_t)pc->margin_mib);
	uint32_t margin = st->host_pressure ? pressure_margin : pc->margin_mib;
	if (st->host_pressure != was_pressure)
		log_pressure_change(b, margin);
	uint32_t interval = MAX(b->stats_interval_s, 1u);
	uint32_t ram_mib = (uint32_t)(b->mem->ram_size >> 20);
	uint32_t target = b->requested_pages / BALLOON_PAGES_PER_MIB;
	uint32_t actual = b->actual / BALLOON_PAGES_PER_MIB;
	int64_t excess = avail - (int64_t)margin;
	uint64_t burst_ns = (uint64_t)pc->burst_hold_s * 1000000000ull;
	bool in_burst = st->last_short_ns && now - st->last_short_ns < burst_ns;

	if (oom_now || excess < -(int64_t)pc->hysteresis_mib) {
		/*
		 * The guest needs memory: give it back now, from what it actually
		 * holds. Shortfalls close together are a burst that the guest's
		 * reclaim keeps just above its watermarks, so each understates
		 * the need: the step doubles with each shortfall of a burst. A
		 * guest that had to deflate on OOM is past that: it gets all the
		 * rate allows at once.
		 */
		st->deflate_streak = in_burst ? st->deflate_streak + 1 : 0;
		st->last_short_ns = now;
		uint32_t doubling = MIN(st->deflate_streak, 10u);
		uint64_t most = (uint64_t)pc->deflate_mib_per_s * interval;
		uint64_t step = oom_now ? most : MIN((uint64_t)MAX(-excess, 1) << doubling, most);
		uint32_t from = MIN(target, actual);
		set_target(b, from > step ? from - (uint32_t)step : 0,
			   "deflating: %s %lld MiB, margin %u MiB%s",
			   oom_now ? "the guest deflated on OOM; available" : "available",
			   (long long)avail, margin,
			   st->host_pressure ? " (host under pressure)" : "");
		return;
	}
	if (excess <= (int64_t)pc->hysteresis_mib) {
		hold(b, "the guest's available memory is near the margin");
		return;
	}
	/* A guest's demand is unknown while it boots and starts its work. */
	if (now - st->started_ns < (uint64_t)pc->startup_grace_s * 1000000000ull) {
		hold(b, "the guest started lately");
		return;
	}
	/* What a burst's deflate gave is not taken back while the burst may go on. */
	if (in_burst) {
		hold(b, "the guest was short of memory lately");
		return;
	}
	if (st->last_oom_ns &&
	    now - st->last_oom_ns < (uint64_t)pc->oom_cooldown_s * 1000000000ull) {
		hold(b, "the guest deflated on OOM lately");
		return;
	}
	if (b->num_pages < b->requested_pages) {
		hold(b, "deflate-on-oom asks again later");
		return;
	}
	if (actual < target) {
		hold(b, "the guest has not reached the last target yet");
		return;
	}
	uint64_t step = MIN((uint64_t)excess, (uint64_t)pc->inflate_mib_per_s * interval);
	uint64_t want =
		MIN((uint64_t)target + step, (uint64_t)(ram_mib > margin ? ram_mib - margin : 0));
	set_target(b, (uint32_t)want, "inflating: available %lld MiB, margin %u MiB%s",
		   (long long)avail, margin, st->host_pressure ? " (host under pressure)" : "");
}

void balloon_policy_reset(struct balloon *b)
{
	struct balloon_policy_state *st = &b->policy;
	st->started_ns = 0;
	st->last_short_ns = 0;
	st->deflate_streak = 0;
}

void balloon_policy_operator_target(struct balloon *b)
{
	if (!b->policy_conf.enabled)
		return;
	b->policy_conf.enabled = false;
	snprintf(b->policy.reason, sizeof(b->policy.reason), "off: the operator set a target");
	log_info("balloon: the automatic policy is off: the operator set a target");
}
