// SPDX-License-Identifier: GPL-2.0
/* virtio-blk as a device type: everything the VMM needs to compose a drive. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/block/block.h"
#include "devices/virtio/block/conf.h"

extern const struct device_route block_routes[];

/* The image, opened and checked before any VM exists. */
struct block_image {
	int fd;
	uint64_t sectors;
};

static int block_prepare(const void *conf, void **prepared)
{
	const struct block_conf *d = conf;
	struct block_image *img = calloc(1, sizeof(*img));
	char err[512];
	if (!img)
		return -ENOMEM;
	int ret = block_open_image(d->path_on_host, d->is_read_only, &img->fd, &img->sectors, err,
				   sizeof(err));
	if (ret < 0) {
		log_err("drive %s: %s", d->drive_id, err);
		free(img);
		return ret;
	}
	*prepared = img;
	return 0;
}

static void block_unprepare(void *prepared)
{
	struct block_image *img = prepared;
	if (img && img->fd >= 0)
		close(img->fd);
	free(img);
}

static int block_create(const struct device_create_args *a, void **out)
{
	const struct block_conf *d = a->conf;
	struct block_image *img = a->prepared;
	struct block_params params = {
		.drive_id = d->drive_id,
		.fd = img->fd,
		.sectors = img->sectors,
		.read_only = d->is_read_only,
		.writeback = d->cache_type == BLOCK_CACHE_WRITEBACK,
		.limit = d->rate_limiter,
	};
	free(img); /* the device owns the fd now */
	struct block *b = calloc(1, sizeof(*b));
	if (!b) {
		close(params.fd);
		return -ENOMEM;
	}
	*out = b; /* destroyed by the caller, even on failure */
	int ret = block_init(b, &params, a->mem, a->loop, a->slot.addr, a->slot.gsi);
	if (ret == 0)
		log_info("drive %s: %s, %llu MiB, %s%s%s%s", d->drive_id, d->path_on_host,
			 (unsigned long long)(params.sectors * BLOCK_SECTOR_SIZE >> 20),
			 d->is_read_only ? "read-only" : "read-write",
			 params.writeback ? ", cache Writeback" : ", cache Unsafe",
			 d->is_root_device ? ", root device" : "",
			 rate_limiter_conf_limits(&d->rate_limiter) ? ", rate limited" : "");
	return ret;
}

static void block_free(void *dev)
{
	block_destroy(dev);
	free(dev);
}

static struct virtio_mmio *block_transport(void *dev)
{
	return &((struct block *)dev)->transport;
}

static const void *block_counters_of(void *dev)
{
	return &((struct block *)dev)->counters;
}

static const struct metric_field block_metrics[] = {
	METRIC(struct block_counters, requests),     METRIC(struct block_counters, reads),
	METRIC(struct block_counters, writes),	     METRIC(struct block_counters, flushes),
	METRIC(struct block_counters, read_bytes),   METRIC(struct block_counters, write_bytes),
	METRIC(struct block_counters, bad_requests), METRIC(struct block_counters, unsupported),
	METRIC(struct block_counters, io_errors),    METRIC(struct block_counters, unanswered),
	METRIC(struct block_counters, image_swaps),  METRIC(struct block_counters, rate_limited),
};

static const struct seccomp_rule block_seccomp[] = {
	SECCOMP_ALLOW(preadv, "reads into guest buffers"),
	SECCOMP_ALLOW(pwritev, "writes from guest buffers"),
	SECCOMP_ALLOW(fdatasync, "flush (cache_type Writeback)"),
	SECCOMP_ALLOW_IF(openat, SECCOMP_ARG_EQ(2, O_RDWR | O_CLOEXEC), "flags == O_RDWR|O_CLOEXEC",
			 "PATCH /drives opens the new image (no O_CREAT, no O_TRUNC)"),
	SECCOMP_ALLOW_IF(openat, SECCOMP_ARG_EQ(2, O_RDONLY | O_CLOEXEC),
			 "flags == O_RDONLY|O_CLOEXEC",
			 "PATCH /drives opens the new image of a read-only drive"),
	SECCOMP_ALLOW_IF(newfstatat, SECCOMP_ARG_EQ(3, AT_EMPTY_PATH), "flags == AT_EMPTY_PATH",
			 "PATCH /drives: fstat of the new image (type, size)"),
	SECCOMP_ALLOW(timerfd_settime, "the rate limiter resumes when tokens refill"),
};

#define BLOCK_STATE_TAG	    STATE_TAG('B', 'L', 'K', 'S')
#define BLOCK_STATE_VERSION 1

struct block_record {
	uint32_t version;
	uint32_t pad;
	uint64_t sectors;
	struct block_counters counters;
};

/* The image itself is the user's file: only its size is state, and it must still match. */
static int block_save(void *dev, struct state_stream *s)
{
	const struct block *b = dev;
	struct block_record r;
	memset(&r, 0, sizeof(r));
	r.version = BLOCK_STATE_VERSION;
	r.sectors = b->sectors;
	r.counters = b->counters;
	int ret = virtio_mmio_save(&b->transport, s);
	return ret ? ret : state_put(s, BLOCK_STATE_TAG, &r, sizeof(r));
}

static int block_restore(void *dev, struct state_stream *s)
{
	struct block *b = dev;
	struct block_record r;
	int ret = virtio_mmio_restore(&b->transport, s);
	if (ret == 0)
		ret = state_get(s, BLOCK_STATE_TAG, &r, sizeof(r));
	if (ret == 0 && (r.version != BLOCK_STATE_VERSION || r.sectors != b->sectors))
		ret = -EPROTO;
	if (ret == 0)
		b->counters = r.counters;
	return ret;
}

const struct device_type block_device_type = {
	.name = "block",
	.noun = "drive",
	.section = "drives",
	.many = true,
	.id_field = "drive_id",
	.max_confs = BLOCK_MAX_DRIVES,
	.schema = &block_conf_schema,
	.conf_size = sizeof(struct block_conf),
	.check = block_conf_check,
	.check_all = block_conf_check_all,
	.cmdline = block_cmdline,
	.slot_rank = block_slot_rank,
	.conf_id = block_conf_id,
	.prepare = block_prepare,
	.unprepare = block_unprepare,
	.create = block_create,
	.destroy = block_free,
	.transport = block_transport,
	.routes = block_routes,
	.metrics = block_metrics,
	.nr_metrics = ARRAY_SIZE(block_metrics),
	.counters = block_counters_of,
	.seccomp_rules = block_seccomp,
	.nr_seccomp_rules = ARRAY_SIZE(block_seccomp),
	.save = block_save,
	.restore = block_restore,
};
