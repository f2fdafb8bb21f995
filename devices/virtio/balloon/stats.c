// SPDX-License-Identifier: GPL-2.0
/*
 * The balloon's statistics queue: the guest posts a buffer of (tag, value)
 * pairs; the device keeps it until the next poll and hands it back, which is
 * the request for fresh numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/balloon/balloon.h"

#define STAT_ENTRY_SIZE 10 /* packed u16 tag + u64 value */

const char *balloon_stat_name(uint16_t tag)
{
	/* Tags 0-9 since Linux 2.6; 10-15 since Linux 6.12. */
	static const char *const names[] = {
		"swap_in",	   "swap_out",	  "major_faults",	"minor_faults",
		"free_memory",	   "total_memory", "available_memory", "disk_caches",
		"hugetlb_allocations", "hugetlb_failures", "oom_kill",	"alloc_stall",
		"async_scan",	   "direct_scan",  "async_reclaim",	"direct_reclaim",
	};
	return tag < ARRAY_SIZE(names) ? names[tag] : NULL;
}

void balloon_store_stats(struct balloon *b, const struct vq_chain *chain)
{
	uint64_t len = vq_chain_readable_len(chain);
	unsigned int n = MIN(len / STAT_ENTRY_SIZE, BALLOON_MAX_STATS);
	uint8_t raw[BALLOON_MAX_STATS * STAT_ENTRY_SIZE];
	if (vq_chain_read(b->mem, chain, 0, raw, (uint64_t)n * STAT_ENTRY_SIZE) < 0) {
		b->counters.bad_descriptors++;
		return;
	}
	/* Keep every tag, known or not: newer guests send more than we name. */
	for (unsigned int i = 0; i < n; i++) {
		memcpy(&b->stats[i].tag, raw + i * STAT_ENTRY_SIZE, 2);
		memcpy(&b->stats[i].value, raw + i * STAT_ENTRY_SIZE + 2, 8);
	}
	b->nr_stats = n;
	clock_gettime(CLOCK_REALTIME, &b->stats_time);
	b->counters.stats_updates++;
	balloon_policy_update(b);
	if (log_get_level() >= LOG_DEBUG) {
		char line[1024];
		int off = 0;
		for (unsigned int i = 0; i < n && off < (int)sizeof(line) - 40; i++)
			off += snprintf(line + off, sizeof(line) - off, " %u=%llu", b->stats[i].tag,
					(unsigned long long)b->stats[i].value);
		log_debug_limited(&b->log_stats, "balloon: stats%s", n ? line : " (none)");
	}
}

void balloon_release_stats(struct balloon *b)
{
	if (!b->stats_held)
		return;
	struct virtq *vq = virtio_mmio_queue(&b->transport, b->roles.stats);
	b->stats_held = false;
	if (!vq || !vq->ready)
		return;
	vq_push(vq, b->stats_head, 0);
	virtio_mmio_used(&b->transport, b->roles.stats);
}

void balloon_stats_timer_fired(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	uint64_t expirations;
	if (read(b->stats_timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	pthread_mutex_lock(&b->transport.lock);
	/* Handing the buffer back is the request for fresh statistics. */
	if (virtio_mmio_driver_ok(&b->transport))
		balloon_release_stats(b);
	pthread_mutex_unlock(&b->transport.lock);
}

int balloon_arm_stats_timer(struct balloon *b, uint32_t seconds)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = seconds },
		.it_interval = { .tv_sec = seconds },
	};
	if (timerfd_settime(b->stats_timer_fd, 0, &its, NULL) < 0)
		return -errno;
	b->stats_interval_s = seconds;
	return 0;
}


/* The driver disabled the stats queue: the buffer it posted belongs to the old ring. */
void balloon_drop_stats(struct balloon *b)
{
	b->stats_held = false;
}
