// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk on a host file. The rules that matter (docs/block.md has the rest):
 *  - a request is a device-readable header (at least 16 bytes), data buffers
 *    all in one direction, and a one-byte device-writable status at the end;
 *  - every guest buffer becomes a pointer only through vmm/memory, and the
 *    whole request is checked (range, length, direction, read-only) before
 *    any I/O starts;
 *  - every chain is completed, with a status whenever there is a place to
 *    put one: a bad request costs the guest an IOERR, never a hang.
 */
#include "devices/virtio/block/block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define FEATURE(bit) (1ull << (bit))

/* ---- the backing file ---- */

int block_open_image(const char *path, bool read_only, int *fd_out, uint64_t *sectors, char *err,
		     size_t err_len)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		int ret = -errno;
		if (errno == EISDIR)
			snprintf(err, err_len, "%s is a directory, not a disk image", path);
		else
			snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return ret;
	}
	struct stat st;
	int ret = 0;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		snprintf(err, err_len, "%s is a directory, not a disk image", path);
	} else if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, err_len, "%s is not a regular file", path);
	} else if (st.st_size == 0) {
		ret = -EINVAL;
		snprintf(err, err_len, "%s is empty", path);
	} else if (st.st_size % BLOCK_SECTOR_SIZE) {
		ret = -EINVAL;
		snprintf(err, err_len, "%s: its size, %lld bytes, is not a multiple of %d", path,
			 (long long)st.st_size, BLOCK_SECTOR_SIZE);
	}
	if (ret < 0) {
		close(fd);
		return ret;
	}
	*fd_out = fd;
	*sectors = (uint64_t)st.st_size / BLOCK_SECTOR_SIZE;
	return 0;
}

/* ---- virtio device ops ---- */

static struct block *to_block(void *dev)
{
	return dev;
}

static uint64_t block_features(void *dev)
{
	struct block *b = to_block(dev);
	uint64_t f = FEATURE(VIRTIO_BLK_F_SEG_MAX) | FEATURE(VIRTIO_BLK_F_SIZE_MAX);
	if (b->read_only)
		f |= FEATURE(VIRTIO_BLK_F_RO);
	if (b->writeback)
		f |= FEATURE(VIRTIO_BLK_F_FLUSH);
	return f;
}

static uint16_t block_queue_max_size(void *dev, unsigned int idx, uint64_t acked)
{
	return idx == 0 ? BLOCK_QUEUE_SIZE : 0;
}

static void block_config_read(void *dev, uint32_t offset, void *data, unsigned int len)
{
	struct block *b = to_block(dev);
	struct virtio_blk_config c;
	memset(&c, 0, sizeof(c));
	c.capacity = b->sectors;
	c.seg_max = BLOCK_SEG_MAX;
	c.size_max = BLOCK_SIZE_MAX;
	memcpy(data, (const uint8_t *)&c + offset, len);
}

/* ---- requests ---- */

struct request {
	const struct vq_chain *chain;
	struct virtio_blk_outhdr hdr;
	const struct vq_buf *data; /* the buffers between header and status */
	unsigned int nr_data;
	uint64_t data_len;
	uint32_t written; /* bytes put into the guest's data buffers */
	uint64_t touched; /* bytes that may have been: a read that failed midway wrote some */
};

static uint8_t refuse(struct block *b, const char *why)
{
	b->counters.bad_requests++;
	log_debug_limited(&b->log_requests, "block %s: bad request: %s", b->drive_id, why);
	return VIRTIO_BLK_S_IOERR;
}

/* The data buffers all go the one way, and each is guest RAM: fills iov. */
static const char *map_data(struct block *b, struct request *r, bool device_writes,
			    struct iovec *iov, int *nr_iov)
{
	*nr_iov = 0;
	for (unsigned int i = 0; i < r->nr_data; i++) {
		const struct vq_buf *buf = &r->data[i];
		if (buf->device_writable != device_writes)
			return device_writes ? "a read into a device-readable buffer"
					     : "a write from a device-writable buffer";
		void *hva = mem_gpa_to_hva(b->mem, buf->gpa, buf->len);
		if (!hva)
			return "a data buffer outside guest RAM";
		if (buf->len)
			iov[(*nr_iov)++] = (struct iovec){ .iov_base = hva, .iov_len = buf->len };
	}
	return NULL;
}

static const char *check_range(struct block *b, const struct request *r)
{
	if (r->data_len % BLOCK_SECTOR_SIZE)
		return "a data length that is not a multiple of 512";
	/* What seg_max and size_max allow: one request's work on the event loop is bounded. */
	if (r->data_len > BLOCK_MAX_REQUEST)
		return "more data in one request than seg_max x size_max";
	uint64_t count = r->data_len / BLOCK_SECTOR_SIZE;
	/* Written so that no sum can overflow. */
	if (r->hdr.sector > b->sectors || count > b->sectors - r->hdr.sector)
		return "sectors past the end of the disk";
	return NULL;
}

/* Moves total bytes between the file at offset and iov, resuming short transfers. */
static int transfer(int fd, struct iovec *iov, int nr_iov, uint64_t offset, uint64_t total,
		    bool to_file)
{
	uint64_t done = 0;
	while (done < total) {
		ssize_t n = to_file ? pwritev(fd, iov, nr_iov, offset + done)
				    : preadv(fd, iov, nr_iov, offset + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		done += n;
		size_t left = n;
		while (nr_iov && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			nr_iov--;
		}
		if (nr_iov) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static uint8_t do_rw(struct block *b, struct request *r, bool is_write)
{
	struct iovec iov[BLOCK_SEG_MAX];
	int nr_iov;
	if (is_write && b->read_only)
		return refuse(b, "a write to a read-only drive");
	const char *why = map_data(b, r, !is_write, iov, &nr_iov);
	if (!why)
		why = check_range(b, r);
	if (why)
		return refuse(b, why);

	if (!is_write)
		r->touched = r->data_len;
	int ret = transfer(b->fd, iov, nr_iov, r->hdr.sector * BLOCK_SECTOR_SIZE, r->data_len,
			   is_write);
	if (ret < 0) {
		b->counters.io_errors++;
		log_warn_limited(&b->log_io, "block %s: %s of %llu bytes at sector %llu failed: %s",
				 b->drive_id,
			 is_write ? "write" : "read", (unsigned long long)r->data_len,
			 (unsigned long long)r->hdr.sector, strerror(-ret));
		return VIRTIO_BLK_S_IOERR;
	}
	if (is_write) {
		b->counters.writes++;
		b->counters.write_bytes += r->data_len;
	} else {
		b->counters.reads++;
		b->counters.read_bytes += r->data_len;
		r->written = r->data_len;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_flush(struct block *b, struct request *r)
{
	if (r->nr_data)
		return refuse(b, "a flush with data buffers");
	b->counters.flushes++;
	/* Unsafe: the host's page cache is the disk, and nothing is synced. */
	if (b->writeback && fdatasync(b->fd) < 0) {
		b->counters.io_errors++;
		log_warn_limited(&b->log_io, "block %s: fdatasync: %s", b->drive_id, strerror(errno));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct block *b, struct request *r)
{
	struct iovec iov[BLOCK_SEG_MAX];
	int nr_iov;
	const char *why = map_data(b, r, true, iov, &nr_iov);
	if (why)
		return refuse(b, why);
	if (r->nr_data == 0)
		return refuse(b, "a get-id without a buffer");
	uint32_t off = 0;
	for (int i = 0; i < nr_iov && off < sizeof(b->serial); i++) {
		size_t n = MIN(iov[i].iov_len, sizeof(b->serial) - off);
		memcpy(iov[i].iov_base, b->serial + off, n);
		off += n;
	}
	r->written = off;
	r->touched = off;
	b->counters.get_ids++;
	return VIRTIO_BLK_S_OK;
}

static uint8_t execute(struct block *b, struct request *r)
{
	const struct vq_chain *c = r->chain;
	if (c->nr < 2)
		return refuse(b, "no header");
	const struct vq_buf *hdr = &c->bufs[0];
	if (hdr->device_writable || hdr->len < sizeof(r->hdr))
		return refuse(b, "the header is device-writable or shorter than 16 bytes");
	if (mem_read(b->mem, hdr->gpa, &r->hdr, sizeof(r->hdr)) < 0)
		return refuse(b, "the header is outside guest RAM");
	r->data = &c->bufs[1];
	r->nr_data = c->nr - 2;
	if (r->nr_data > BLOCK_SEG_MAX)
		return refuse(b, "more data buffers than seg_max");
	r->data_len = 0;
	for (unsigned int i = 0; i < r->nr_data; i++)
		r->data_len += r->data[i].len;

	switch (r->hdr.type) {
	case VIRTIO_BLK_T_IN:
		return do_rw(b, r, false);
	case VIRTIO_BLK_T_OUT:
		return do_rw(b, r, true);
	case VIRTIO_BLK_T_FLUSH:
		return do_flush(b, r);
	case VIRTIO_BLK_T_GET_ID:
		return do_get_id(b, r);
	default:
		b->counters.unsupported++;
		log_debug_limited(&b->log_requests, "block %s: unsupported request type %u",
				  b->drive_id, r->hdr.type);
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * The status is the chain's last buffer: device-writable, in guest RAM, and
 * one byte (a longer one is refused, with the answer in its last byte).
 * Returns where to write it, or NULL when there is nowhere to answer.
 */
static uint8_t *status_byte(struct block *b, const struct vq_chain *c)
{
	if (c->nr == 0)
		return NULL;
	const struct vq_buf *s = &c->bufs[c->nr - 1];
	if (!s->device_writable || s->len == 0)
		return NULL;
	return mem_gpa_to_hva(b->mem, s->gpa + s->len - 1, 1);
}

/*
 * KVM's dirty log does not see the device's writes; Diff snapshots must.
 * Only what was written: a refused chain's buffers, however large, cost nothing.
 */
static void mark_written(struct block *b, const struct request *r, const struct vq_buf *status)
{
	uint64_t left = r->touched;
	for (unsigned int i = 0; i < r->nr_data && left; i++) {
		uint64_t n = MIN(left, (uint64_t)r->data[i].len);
		mem_mark_dirty(b->mem, r->data[i].gpa, n);
		left -= n;
	}
	mem_mark_dirty(b->mem, status->gpa + status->len - 1, 1);
}

static void process_request(struct block *b, struct virtq *vq, const struct vq_chain *c)
{
	struct request r = { .chain = c };
	uint8_t *status = status_byte(b, c);
	uint32_t used = 0;
	b->counters.requests++;
	if (!status) {
		/* Nothing is done for a request that cannot be answered. */
		refuse(b, "no device-writable status byte at the end");
		b->counters.unanswered++;
	} else {
		uint8_t st = c->bufs[c->nr - 1].len == 1
				     ? execute(b, &r)
				     : refuse(b, "a status buffer longer than one byte");
		*status = st;
		used = r.written + 1;
		mark_written(b, &r, &c->bufs[c->nr - 1]);
	}
	vq_push(vq, c->head, used);
}

/* The rate limiter is dry: the queue waits for its timer. */
static bool block_limited(struct block *b)
{
	if (!rate_limiter_hold(&b->limit, &b->limit_timer))
		return false;
	b->counters.rate_limited++;
	return true;
}

/*
 * A flush that syncs waits for the disk: as much as a queue's budget / 8,
 * so that a guest's string of them cannot hold the loop for long.
 */
#define BLOCK_SYNC_COST (VIRTIO_QUEUE_BUDGET / 8)

/* Returns the request's cost: one, and one more per 64 KiB moved, or per flush that synced. */
static unsigned int block_chain(void *dev, struct virtq *vq, unsigned int idx,
				const struct vq_chain *chain, enum vq_error err)
{
	struct block *b = to_block(dev);
	uint64_t moved = b->counters.read_bytes + b->counters.write_bytes;
	uint64_t flushes = b->counters.flushes;
	if (err != VQ_ERR_NONE) {
		/* Where a malformed chain's status would be is unknown: complete it with nothing written. */
		b->counters.bad_requests++;
		b->counters.unanswered++;
		b->counters.requests++;
		vq_push(vq, chain->head, 0);
	} else {
		process_request(b, vq, chain);
	}
	virtio_mmio_used(&b->transport, idx);
	moved = b->counters.read_bytes + b->counters.write_bytes - moved;
	if (rate_limiter_active(&b->limit)) {
		rate_limiter_consume(&b->limit, moved, 1, rate_limit_now_ns());
		if (block_limited(b))
			return VIRTIO_QUEUE_STOP;
	}
	unsigned int synced = b->writeback && b->counters.flushes != flushes ? BLOCK_SYNC_COST : 0;
	return 1 + (unsigned int)(moved >> 16) + synced;
}

static void block_queue_notify(void *dev, unsigned int idx)
{
	struct block *b = to_block(dev);
	if (!block_limited(b))
		virtio_mmio_process_queue(&b->transport, idx, block_chain);
}

static void limit_timer_fired(void *opaque, uint32_t events)
{
	struct block *b = opaque;
	pthread_mutex_lock(&b->transport.lock);
	rate_timer_ack(&b->limit_timer);
	struct virtq *vq = virtio_mmio_queue(&b->transport, 0);
	if (virtio_mmio_driver_ok(&b->transport) && vq && vq->ready)
		block_queue_notify(b, 0);
	pthread_mutex_unlock(&b->transport.lock);
}

static const struct virtio_device_ops block_ops = {
	.name = "block",
	.device_id = VIRTIO_ID_BLOCK,
	.config_size = sizeof(struct virtio_blk_config),
	.max_queues = 1,
	.features = block_features,
	.queue_max_size = block_queue_max_size,
	.config_read = block_config_read,
	.queue_notify = block_queue_notify,
};

/* ---- lifecycle ---- */

int block_init(struct block *b, const struct block_params *params, struct guest_memory *mem,
	       struct event_loop *loop, uint64_t base, unsigned int gsi)
{
	memset(b, 0, sizeof(*b));
	b->fd = params->fd;
	b->mem = mem;
	b->sectors = params->sectors;
	b->read_only = params->read_only;
	b->writeback = params->writeback;
	snprintf(b->drive_id, sizeof(b->drive_id), "%s", params->drive_id ? params->drive_id : "");
	/* The serial is the id's first 20 bytes, zero-padded, not NUL-terminated at 20. */
	memcpy(b->serial, b->drive_id, MIN(strlen(b->drive_id), sizeof(b->serial)));
	rate_limiter_init(&b->limit, &params->limit, rate_limit_now_ns());
	int ret = virtio_mmio_init(&b->transport, &block_ops, b, mem, loop, base, gsi);
	return ret ? ret : rate_timer_init(&b->limit_timer, loop, limit_timer_fired, b);
}

void block_destroy(struct block *b)
{
	const struct block_counters *c = &b->counters;
	log_info("block %s: %llu requests: %llu reads (%llu MiB), %llu writes (%llu MiB), "
		 "%llu flushes, %llu get-id, %llu bad, %llu unsupported, %llu I/O errors",
		 b->drive_id, (unsigned long long)c->requests, (unsigned long long)c->reads,
		 (unsigned long long)(c->read_bytes >> 20), (unsigned long long)c->writes,
		 (unsigned long long)(c->write_bytes >> 20), (unsigned long long)c->flushes,
		 (unsigned long long)c->get_ids, (unsigned long long)c->bad_requests,
		 (unsigned long long)c->unsupported, (unsigned long long)c->io_errors);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	rate_timer_destroy(&b->limit_timer);
	virtio_mmio_destroy(&b->transport);
}

void block_set_limit(struct block *b, const struct rate_limiter_conf *limit)
{
	rate_limiter_init(&b->limit, limit, rate_limit_now_ns());
	/* A queue that waited for the old limiter tries again now. */
	rate_timer_arm(&b->limit_timer, 1000);
}

void block_swap_image(struct block *b, int fd, uint64_t sectors)
{
	int old = b->fd;
	b->fd = fd;
	b->sectors = sectors;
	b->counters.image_swaps++;
	if (old >= 0)
		close(old);
	virtio_mmio_config_changed(&b->transport);
}
