// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon. The rules that matter (docs/balloon.md has the rest):
 *  - queue roles come from the acked features, packed in order;
 *  - a reported range is discarded before its chain is completed, and every
 *    chain is completed, whether or not anything was discarded;
 *  - inflate PFNs are sorted and coalesced so each range costs one syscall;
 *  - when the guest deflates on OOM, the device adopts the guest's size as
 *    its target instead of pushing it to inflate again.
 */
#include "devices/virtio/balloon/balloon.h"

#include <errno.h>
#include <linux/virtio_balloon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define FEATURE(bit)	 (1ull << (bit))
#define PFN_BATCH	 1024
#define STAT_ENTRY_SIZE	 10 /* packed u16 tag + u64 value */
#define BALLOON_PAGE	 (1ull << VIRTIO_BALLOON_PFN_SHIFT)

void balloon_queue_roles(uint64_t acked, struct balloon_queue_roles *roles)
{
	int next = 0;
	roles->inflate = next++;
	roles->deflate = next++;
	roles->stats = (acked & FEATURE(VIRTIO_BALLOON_F_STATS_VQ)) ? next++ : -1;
	roles->free_page_hint = (acked & FEATURE(VIRTIO_BALLOON_F_FREE_PAGE_HINT)) ? next++ : -1;
	roles->reporting = (acked & FEATURE(VIRTIO_BALLOON_F_REPORTING)) ? next++ : -1;
	roles->count = next;
}

static struct balloon *to_balloon(void *dev)
{
	return dev;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- virtio device ops ---- */

static uint64_t balloon_features(void *dev)
{
	struct balloon *b = to_balloon(dev);
	/* PAGE_POISON is always offered: without it a poisoning guest turns reporting off. */
	uint64_t f = FEATURE(VIRTIO_BALLOON_F_PAGE_POISON);
	if (b->params.stats_interval_s)
		f |= FEATURE(VIRTIO_BALLOON_F_STATS_VQ);
	if (b->params.deflate_on_oom)
		f |= FEATURE(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	if (b->params.reporting)
		f |= FEATURE(VIRTIO_BALLOON_F_REPORTING);
	return f;
}

static uint16_t balloon_queue_max_size(void *dev, unsigned int idx, uint64_t acked)
{
	struct balloon *b = to_balloon(dev);
	struct balloon_queue_roles roles;
	balloon_queue_roles(acked, &roles);
	if ((int)idx == roles.reporting)
		return b->params.reporting_queue_size;
	return idx < roles.count ? BALLOON_QUEUE_SIZE : 0;
}

void balloon_features_acked(struct balloon *b, uint64_t acked)
{
	balloon_queue_roles(acked, &b->roles);
	b->poison_acked = acked & FEATURE(VIRTIO_BALLOON_F_PAGE_POISON);
	b->deflate_on_oom_acked = acked & FEATURE(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	log_debug("balloon: acked 0x%llx: inflate %d deflate %d stats %d reporting %d",
		  (unsigned long long)acked, b->roles.inflate, b->roles.deflate, b->roles.stats,
		  b->roles.reporting);
}

static int balloon_features_ok(void *dev, uint64_t acked)
{
	balloon_features_acked(to_balloon(dev), acked);
	return 0;
}

static void config_bytes(const struct balloon *b, uint8_t out[sizeof(struct virtio_balloon_config)])
{
	struct virtio_balloon_config c = {
		.num_pages = b->num_pages,
		.actual = b->actual,
		.poison_val = b->poison_val,
	};
	memcpy(out, &c, sizeof(c));
}

static void balloon_config_read(void *dev, uint32_t offset, void *data, unsigned int len)
{
	uint8_t bytes[sizeof(struct virtio_balloon_config)];
	config_bytes(to_balloon(dev), bytes);
	memcpy(data, bytes + offset, len);
}

/*
 * The guest gave back pages on its own although the target says keep them:
 * that is deflate-on-oom. Adopting its size as the target ends the guest's
 * inflate worker; asking again is left to the operator.
 */
static void note_actual(struct balloon *b, uint32_t old_actual)
{
	if (!b->deflate_on_oom_acked || b->actual >= old_actual || b->actual >= b->num_pages)
		return;
	b->counters.oom_deflates++;
	if (b->counters.oom_deflates == 1 || b->counters.oom_deflates % 64 == 0)
		log_info("balloon: guest deflated on OOM to %u MiB (target was %u MiB); keeping its size",
			 b->actual / BALLOON_PAGES_PER_MIB, b->num_pages / BALLOON_PAGES_PER_MIB);
	b->num_pages = b->actual;
	b->transport.config_generation++;
}

static void balloon_config_write(void *dev, uint32_t offset, const void *data, unsigned int len)
{
	struct balloon *b = to_balloon(dev);
	uint8_t bytes[sizeof(struct virtio_balloon_config)];
	config_bytes(b, bytes);
	memcpy(bytes + offset, data, len);
	struct virtio_balloon_config c;
	memcpy(&c, bytes, sizeof(c));

	/* The driver owns actual and poison_val; num_pages and the hint id are ours. */
	uint32_t old_actual = b->actual;
	b->actual = c.actual;
	b->poison_val = c.poison_val;
	if (b->actual == old_actual)
		return;
	note_actual(b, old_actual);
	if (b->actual == b->requested_pages)
		log_info("balloon: guest holds %u MiB, the target", b->actual / BALLOON_PAGES_PER_MIB);
}

static void balloon_reset(void *dev)
{
	struct balloon *b = to_balloon(dev);
	b->stats_held = false;
	b->actual = 0;
	b->poison_val = 0;
	b->poison_acked = false;
	b->deflate_on_oom_acked = false;
	balloon_queue_roles(0, &b->roles);
	b->roles.count = 0;
	b->num_pages = b->requested_pages;
}

/* ---- inflate and deflate ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void discard_pfn_ranges(struct balloon *b, uint32_t *pfns, unsigned int n)
{
	qsort(pfns, n, sizeof(pfns[0]), cmp_u32);
	unsigned int i = 0;
	while (i < n) {
		uint64_t start = pfns[i];
		uint64_t count = 1;
		/* Duplicates are skipped; consecutive PFNs extend the range. */
		while (i + 1 < n && pfns[i + 1] <= start + count) {
			if (pfns[i + 1] == start + count)
				count++;
			i++;
		}
		i++;
		uint64_t t0 = now_ns();
		int64_t ret = b->discard(b->mem, start * BALLOON_PAGE, count * BALLOON_PAGE);
		b->counters.discard_ns += now_ns() - t0;
		b->counters.inflate_ranges++;
		if (ret < 0)
			b->counters.bad_descriptors++;
	}
}

static void process_pfn_chain(struct balloon *b, const struct vq_chain *chain, bool inflate)
{
	uint32_t pfns[PFN_BATCH];
	uint64_t total = vq_chain_readable_len(chain);
	for (unsigned int i = 0; i < chain->nr; i++)
		if (chain->bufs[i].device_writable)
			b->counters.bad_descriptors++;

	uint64_t count = total / sizeof(uint32_t);
	for (uint64_t done = 0; done < count;) {
		unsigned int n = MIN(count - done, PFN_BATCH);
		if (vq_chain_read(b->mem, chain, done * sizeof(uint32_t), pfns,
				  n * sizeof(uint32_t)) < 0) {
			b->counters.bad_descriptors++;
			return;
		}
		done += n;
		if (inflate) {
			b->counters.inflated_pages += n;
			discard_pfn_ranges(b, pfns, n);
		} else {
			b->counters.deflated_pages += n;
		}
	}
}

/* ---- statistics ---- */

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

static void store_stats(struct balloon *b, const struct vq_chain *chain)
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
	if (log_get_level() >= LOG_DEBUG) {
		char line[1024];
		int off = 0;
		for (unsigned int i = 0; i < n && off < (int)sizeof(line) - 40; i++)
			off += snprintf(line + off, sizeof(line) - off, " %u=%llu", b->stats[i].tag,
					(unsigned long long)b->stats[i].value);
		log_debug("balloon: stats%s", n ? line : " (none)");
	}
}

static void release_stats_buffer(struct balloon *b)
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

static void stats_timer_fired(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	uint64_t expirations;
	if (read(b->stats_timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	pthread_mutex_lock(&b->transport.lock);
	/* Handing the buffer back is the request for fresh statistics. */
	if (virtio_mmio_driver_ok(&b->transport))
		release_stats_buffer(b);
	pthread_mutex_unlock(&b->transport.lock);
}

static int arm_stats_timer(struct balloon *b, uint32_t seconds)
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

/* ---- queue processing ---- */

static void complete(struct balloon *b, unsigned int idx, struct virtq *vq, uint16_t head)
{
	vq_push(vq, head, 0);
	virtio_mmio_used(&b->transport, idx);
}

static void report_chain(struct balloon *b, const struct vq_chain *chain)
{
	/* A poisoned guest checks free pages on allocation; zero-filled ones would fail. */
	bool skip = b->poison_acked && b->poison_val != 0;
	b->counters.reports++;
	for (unsigned int i = 0; i < chain->nr; i++) {
		const struct vq_buf *buf = &chain->bufs[i];
		b->counters.report_ranges++;
		b->counters.bytes_reported += buf->len;
		if (!buf->device_writable || !mem_range_is_discardable(b->mem, buf->gpa, buf->len)) {
			b->counters.bad_descriptors++;
			b->counters.bytes_skipped += buf->len;
			continue;
		}
		if (skip) {
			b->counters.bytes_skipped += buf->len;
			continue;
		}
		uint64_t t0 = now_ns();
		int64_t ret = b->discard(b->mem, buf->gpa, buf->len);
		b->counters.discard_ns += now_ns() - t0;
		if (ret < 0) {
			b->counters.bytes_skipped += buf->len;
			continue;
		}
		b->counters.bytes_discarded += ret;
		b->counters.bytes_skipped += buf->len - ret;
	}
}

/*
 * One function per queue. A malformed chain is refused and counted, and
 * still completed: the guest must never hang on a buffer ebb kept.
 */
static void balloon_process_inflate(void *dev, struct virtq *vq, unsigned int idx,
				    const struct vq_chain *chain, enum vq_error err)
{
	struct balloon *b = to_balloon(dev);
	if (err != VQ_ERR_NONE)
		b->counters.bad_descriptors++;
	else
		process_pfn_chain(b, chain, true);
	complete(b, idx, vq, chain->head);
}

static void balloon_process_deflate(void *dev, struct virtq *vq, unsigned int idx,
				    const struct vq_chain *chain, enum vq_error err)
{
	struct balloon *b = to_balloon(dev);
	if (err != VQ_ERR_NONE)
		b->counters.bad_descriptors++;
	else
		process_pfn_chain(b, chain, false);
	complete(b, idx, vq, chain->head);
}

static void balloon_process_reporting(void *dev, struct virtq *vq, unsigned int idx,
				      const struct vq_chain *chain, enum vq_error err)
{
	struct balloon *b = to_balloon(dev);
	if (err != VQ_ERR_NONE) {
		b->counters.bad_descriptors++;
		b->counters.reports++;
	} else {
		report_chain(b, chain);
	}
	complete(b, idx, vq, chain->head);
}

/* The buffer is kept until the next poll; an older one goes back first. */
static void balloon_process_stats(void *dev, struct virtq *vq, unsigned int idx,
				  const struct vq_chain *chain, enum vq_error err)
{
	struct balloon *b = to_balloon(dev);
	if (err != VQ_ERR_NONE) {
		b->counters.bad_descriptors++;
		complete(b, idx, vq, chain->head);
		return;
	}
	release_stats_buffer(b);
	store_stats(b, chain);
	b->stats_head = chain->head;
	b->stats_held = true;
}

static void balloon_queue_notify(void *dev, unsigned int idx)
{
	struct balloon *b = to_balloon(dev);
	virtio_chain_fn process = NULL;
	if ((int)idx == b->roles.inflate)
		process = balloon_process_inflate;
	else if ((int)idx == b->roles.deflate)
		process = balloon_process_deflate;
	else if ((int)idx == b->roles.stats)
		process = balloon_process_stats;
	else if ((int)idx == b->roles.reporting)
		process = balloon_process_reporting;
	if (process)
		virtio_mmio_process_queue(&b->transport, idx, process);
}

static const struct virtio_device_ops balloon_ops = {
	.name = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.config_size = sizeof(struct virtio_balloon_config),
	.max_queues = 5,
	.features = balloon_features,
	.queue_max_size = balloon_queue_max_size,
	.features_ok = balloon_features_ok,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_queue_notify,
	.reset = balloon_reset,
};

/* ---- lifecycle and control ---- */

int balloon_init(struct balloon *b, const struct balloon_params *params, struct guest_memory *mem,
		 struct event_loop *loop, uint64_t base, unsigned int gsi)
{
	memset(b, 0, sizeof(*b));
	b->params = *params;
	b->mem = mem;
	b->loop = loop;
	b->discard = mem_discard;
	b->stats_timer_fd = -1;
	b->requested_pages = b->num_pages = params->target_mib * BALLOON_PAGES_PER_MIB;
	balloon_queue_roles(0, &b->roles);
	b->roles.count = 0;
	if (params->reporting && params->reporting_queue_size < 32) {
		log_err("balloon: the reporting queue needs at least 32 entries, got %u",
			params->reporting_queue_size);
		return -EINVAL;
	}

	int ret = virtio_mmio_init(&b->transport, &balloon_ops, b, mem, loop, base, gsi);
	if (ret < 0)
		return ret;
	if (params->stats_interval_s) {
		b->stats_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (b->stats_timer_fd < 0)
			return -errno;
		ret = event_loop_add(loop, b->stats_timer_fd, EPOLLIN, stats_timer_fired, b, NULL);
		if (ret == 0)
			ret = arm_stats_timer(b, params->stats_interval_s);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void log_summary(const struct balloon *b)
{
	const struct balloon_counters *c = &b->counters;
	log_info("balloon: %llu reports (%llu MiB reported, %llu MiB discarded, %llu MiB skipped), "
		 "%llu pages inflated in %llu ranges, %llu deflated, %llu OOM deflates, "
		 "%llu bad descriptors, %llu ms discarding",
		 (unsigned long long)c->reports, (unsigned long long)(c->bytes_reported >> 20),
		 (unsigned long long)(c->bytes_discarded >> 20),
		 (unsigned long long)(c->bytes_skipped >> 20), (unsigned long long)c->inflated_pages,
		 (unsigned long long)c->inflate_ranges, (unsigned long long)c->deflated_pages,
		 (unsigned long long)c->oom_deflates, (unsigned long long)c->bad_descriptors,
		 (unsigned long long)(c->discard_ns / 1000000));
}

void balloon_destroy(struct balloon *b)
{
	log_summary(b);
	if (b->stats_timer_fd >= 0)
		close(b->stats_timer_fd);
	virtio_mmio_destroy(&b->transport);
}

/* The configuration's rules keep mib within guest RAM (balloon_conf_check). */
int balloon_set_target(struct balloon *b, uint32_t mib)
{
	b->requested_pages = b->num_pages = mib * BALLOON_PAGES_PER_MIB;
	virtio_mmio_config_changed(&b->transport);
	b->counters.config_interrupts++;
	log_info("balloon: target set to %u MiB", mib);
	return 0;
}

bool balloon_stats_enabled(const struct balloon *b)
{
	return b->stats_timer_fd >= 0;
}

int balloon_set_stats_interval(struct balloon *b, uint32_t seconds)
{
	if (!balloon_stats_enabled(b))
		return -ENOTSUP;
	return arm_stats_timer(b, seconds);
}
