// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon. The rules that matter (docs/balloon.md has the rest):
 *  - queue roles come from the acked features, packed in order;
 *  - a reported range is discarded before its chain is completed, and every
 *    chain is completed, whether or not anything was discarded;
 *  - inflate PFNs are sorted and coalesced so each range costs one syscall;
 *  - a chain of PFNs holds at most 256 of them, a report at most 32 ranges
 *    (what Linux sends); a longer one is completed unread and counted bad;
 *  - deflate-on-oom never changes the operator's target (oom.c).
 */
#include "devices/virtio/balloon/balloon.h"

#include <errno.h>
#include <linux/virtio_balloon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define FEATURE(bit)	 (1ull << (bit))
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
	if (b->params.hinting)
		f |= FEATURE(VIRTIO_BALLOON_F_FREE_PAGE_HINT);
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
	log_debug_limited(&b->log_acked,
			  "balloon: acked 0x%llx: inflate %d deflate %d stats %d reporting %d",
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
		.free_page_hint_cmd_id = b->hinting.host_cmd,
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
	balloon_oom_actual_changed(b, old_actual);
	if (b->actual == b->requested_pages)
		log_info_limited(&b->log_target, "balloon: guest holds %u MiB, the target",
				 b->actual / BALLOON_PAGES_PER_MIB);
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
	b->hinting.host_cmd = VIRTIO_BALLOON_CMD_ID_STOP;
	b->hinting.guest_cmd_seen = false;
	balloon_policy_reset(b);
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
		balloon_holes_given_back(b, start * BALLOON_PAGE, count * BALLOON_PAGE);
		uint64_t t0 = now_ns();
		int64_t ret = b->discard(b->mem, start * BALLOON_PAGE, count * BALLOON_PAGE);
		b->counters.discard_ns += now_ns() - t0;
		b->counters.inflate_ranges++;
		if (ret < 0)
			b->counters.bad_descriptors++;
	}
}

/* Returns the chain's cost in VIRTIO_QUEUE_BUDGET units. */
static unsigned int process_pfn_chain(struct balloon *b, const struct vq_chain *chain, bool inflate)
{
	uint32_t pfns[BALLOON_MAX_CHAIN_PFNS];
	uint64_t total = vq_chain_readable_len(chain);
	for (unsigned int i = 0; i < chain->nr; i++)
		if (chain->bufs[i].device_writable)
			b->counters.bad_descriptors++;
	if (total > sizeof(pfns)) {
		b->counters.bad_descriptors++;
		b->counters.oversized_chains++;
		return 1;
	}
	unsigned int n = total / sizeof(uint32_t);
	if (vq_chain_read(b->mem, chain, 0, pfns, n * sizeof(uint32_t)) < 0) {
		b->counters.bad_descriptors++;
		return 1;
	}
	if (inflate) {
		b->counters.inflated_pages += n;
		discard_pfn_ranges(b, pfns, n);
	} else {
		b->counters.deflated_pages += n;
	}
	return 1 + n / 16;
}

/* ---- queue processing ---- */

static void complete(struct balloon *b, unsigned int idx, struct virtq *vq, uint16_t head)
{
	vq_push(vq, head, 0);
	virtio_mmio_used(&b->transport, idx);
}

/*
 * The guest's fast tier reports blocks of its reporting order and up, the
 * settled tier only smaller ones (guest patch 0005), so a block's size
 * tells its tier.
 */
static void count_tier(struct balloon *b, uint64_t len)
{
	uint64_t fast = b->params.fast_block_bytes ? b->params.fast_block_bytes : MEM_HUGE_BLOCK;
	if (len >= fast) {
		b->counters.fast_blocks++;
		b->counters.fast_bytes += len;
	} else {
		b->counters.settled_blocks++;
		b->counters.settled_bytes += len;
	}
}

static void report_chain(struct balloon *b, const struct vq_chain *chain)
{
	/*
	 * A guest that acked PAGE_POISON relies on what its free pages hold:
	 * the poison value, checked on allocation, or zeros (init_on_free).
	 * Discarded pages come back zero-filled, or, on a private file mapping
	 * (RAM restored from a snapshot, a shared kernel image), as the file's
	 * page: skip those.
	 */
	bool poison = b->poison_acked;
	bool skip = poison && b->poison_val != 0;
	b->counters.reports++;
	if (chain->nr > BALLOON_MAX_REPORT_RANGES) {
		b->counters.bad_descriptors++;
		b->counters.oversized_chains++;
		return;
	}
	for (unsigned int i = 0; i < chain->nr; i++) {
		const struct vq_buf *buf = &chain->bufs[i];
		b->counters.report_ranges++;
		b->counters.bytes_reported += buf->len;
		count_tier(b, buf->len);
		/*
		 * Guest pages inside RAM; a block finer than the backing page (a
		 * settled block under hugetlbfs) is fine, and clipped to nothing.
		 */
		if (!buf->device_writable || !buf->len || buf->gpa % BALLOON_PAGE ||
		    buf->len % BALLOON_PAGE || !mem_gpa_to_hva(b->mem, buf->gpa, buf->len)) {
			b->counters.bad_descriptors++;
			b->counters.bytes_skipped += buf->len;
			continue;
		}
		if (skip || (poison && !mem_discard_zeroes(b->mem, buf->gpa, buf->len))) {
			b->counters.bytes_skipped += buf->len;
			continue;
		}
		balloon_holes_given_back(b, buf->gpa, buf->len);
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
 * One function per queue, each returning what the chain cost. A malformed
 * chain is refused and counted, and still completed: the guest must never
 * hang on a buffer ebb kept.
 */
static unsigned int process_pfn_queue(void *dev, struct virtq *vq, unsigned int idx,
				      const struct vq_chain *chain, enum vq_error err, bool inflate)
{
	struct balloon *b = to_balloon(dev);
	unsigned int cost = 1;
	if (err != VQ_ERR_NONE)
		b->counters.bad_descriptors++;
	else
		cost = process_pfn_chain(b, chain, inflate);
	complete(b, idx, vq, chain->head);
	return cost;
}

static unsigned int balloon_process_inflate(void *dev, struct virtq *vq, unsigned int idx,
					    const struct vq_chain *chain, enum vq_error err)
{
	return process_pfn_queue(dev, vq, idx, chain, err, true);
}

static unsigned int balloon_process_deflate(void *dev, struct virtq *vq, unsigned int idx,
					    const struct vq_chain *chain, enum vq_error err)
{
	return process_pfn_queue(dev, vq, idx, chain, err, false);
}

static unsigned int balloon_process_reporting(void *dev, struct virtq *vq, unsigned int idx,
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
	return 1 + chain->nr;
}

/* The buffer is kept until the next poll; an older one goes back first. */
static unsigned int balloon_process_stats(void *dev, struct virtq *vq, unsigned int idx,
					  const struct vq_chain *chain, enum vq_error err)
{
	struct balloon *b = to_balloon(dev);
	if (err != VQ_ERR_NONE) {
		b->counters.bad_descriptors++;
		complete(b, idx, vq, chain->head);
		return 1;
	}
	balloon_release_stats(b);
	balloon_store_stats(b, chain);
	b->stats_head = chain->head;
	b->stats_held = true;
	return 1;
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
	else if ((int)idx == b->roles.free_page_hint)
		process = balloon_process_hinting;
	if (process)
		virtio_mmio_process_queue(&b->transport, idx, process);
}

static void balloon_queue_disable(void *dev, unsigned int idx)
{
	struct balloon *b = to_balloon(dev);
	if ((int)idx == b->roles.stats)
		balloon_drop_stats(b);
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
	.queue_disable = balloon_queue_disable,
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
	b->oom_timer_fd = b->oom_kick_fd = -1;
	b->policy_conf = params->policy;
	b->policy.psi_some_avg10_x100 = -1;
	b->policy.headroom_mib = -1;
	b->pressure.psi_fd = b->pressure.current_fd = b->pressure.high_fd = b->pressure.max_fd = -1;
	if (params->stats_interval_s)
		balloon_pressure_open(&b->pressure);
	if (!b->params.oom_backoff_min_s)
		b->params.oom_backoff_min_s = BALLOON_OOM_BACKOFF_MIN_S;
	if (b->params.oom_backoff_max_s < b->params.oom_backoff_min_s)
		b->params.oom_backoff_max_s = MAX(BALLOON_OOM_BACKOFF_MAX_S, b->params.oom_backoff_min_s);
	b->requested_pages = b->num_pages = params->target_mib * BALLOON_PAGES_PER_MIB;
	b->hinting.next_id = 2; /* 0 and 1 are STOP and DONE */
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
	if (params->reporting && (ret = balloon_holes_init(b)) < 0)
		return ret;
	if (params->deflate_on_oom) {
		b->oom_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (b->oom_timer_fd < 0)
			return -errno;
		ret = event_loop_add(loop, b->oom_timer_fd, EPOLLIN, balloon_oom_timer_fired, b,
				     &b->oom_src);
		if (ret < 0)
			return ret;
		b->oom_kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (b->oom_kick_fd < 0)
			return -errno;
		ret = event_loop_add(loop, b->oom_kick_fd, EPOLLIN, balloon_oom_kicked, b,
				     &b->oom_kick_src);
		if (ret < 0)
			return ret;
	}
	if (params->stats_interval_s) {
		b->stats_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (b->stats_timer_fd < 0)
			return -errno;
		ret = event_loop_add(loop, b->stats_timer_fd, EPOLLIN, balloon_stats_timer_fired, b,
				     &b->stats_src);
		if (ret == 0)
			ret = balloon_arm_stats_timer(b, params->stats_interval_s);
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
		 "%llu bad descriptors (%llu oversized chains), %llu ms discarding",
		 (unsigned long long)c->reports, (unsigned long long)(c->bytes_reported >> 20),
		 (unsigned long long)(c->bytes_discarded >> 20),
		 (unsigned long long)(c->bytes_skipped >> 20), (unsigned long long)c->inflated_pages,
		 (unsigned long long)c->inflate_ranges, (unsigned long long)c->deflated_pages,
		 (unsigned long long)c->oom_deflates, (unsigned long long)c->bad_descriptors,
		 (unsigned long long)c->oversized_chains, (unsigned long long)(c->discard_ns / 1000000));
	if (b->params.reporting)
		log_info(
			"balloon: reported by the fast tier %llu blocks (%.1f MiB), by the settled "
			"tier %llu blocks (%.1f MiB); 2 MiB blocks kept from huge pages around "
			"small ones %llu, lifted %llu, holes left unguarded %llu",
			(unsigned long long)c->fast_blocks, c->fast_bytes / 1048576.0,
			(unsigned long long)c->settled_blocks, c->settled_bytes / 1048576.0,
			(unsigned long long)c->thp_guards, (unsigned long long)c->thp_guards_lifted,
			(unsigned long long)c->thp_unguarded);
}

void balloon_destroy(struct balloon *b)
{
	log_summary(b);
	log_limit_flush(&b->log_oom, "balloon");
	log_limit_flush(&b->hinting.log_runs, "balloon: hinting runs");
	event_loop_remove(b->loop, b->stats_src);
	event_loop_remove(b->loop, b->oom_src);
	event_loop_remove(b->loop, b->oom_kick_src);
	if (b->oom_kick_fd >= 0)
		close(b->oom_kick_fd);
	if (b->stats_timer_fd >= 0)
		close(b->stats_timer_fd);
	if (b->oom_timer_fd >= 0)
		close(b->oom_timer_fd);
	balloon_pressure_close(&b->pressure);
	balloon_holes_destroy(b);
	virtio_mmio_destroy(&b->transport);
}

/* The configuration's rules keep mib within guest RAM (balloon_conf_check). */
int balloon_set_target(struct balloon *b, uint32_t mib)
{
	balloon_policy_operator_target(b);
	balloon_oom_forget(b);
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
	return balloon_arm_stats_timer(b, seconds);
}
