/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VIRTIO_BLOCK_H
#define EBB_VIRTIO_BLOCK_H

#include <linux/virtio_blk.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/ratelimit.h"
#include "devices/virtio/mmio.h"

/*
 * virtio-blk backed by a host file (docs/block.md). One request queue,
 * processed on the event loop thread with preadv/pwritev straight into and
 * out of guest buffers. Every function here except block_init() and
 * block_open_image() expects the transport lock (the event loop holds it
 * while it processes a queue).
 */

#define BLOCK_SECTOR_SIZE 512
#define BLOCK_QUEUE_SIZE  256
/* Data buffers per request; the header and the status come on top. */
#define BLOCK_SEG_MAX 128
/* The largest data buffer: with SEG_MAX, it bounds one request's work. */
#define BLOCK_SIZE_MAX	  (256u << 10)
#define BLOCK_MAX_REQUEST ((uint64_t)BLOCK_SEG_MAX * BLOCK_SIZE_MAX)

struct block_params {
	const char *drive_id; /* GET_ID answers its first 20 bytes */
	int fd;		      /* block_init() owns it from then on, even on failure */
	uint64_t sectors;     /* from block_open_image() */
	bool read_only;
	bool writeback; /* cache_type Writeback: FLUSH is offered and honoured */
	struct rate_limiter_conf limit;
};

struct block_counters {
	uint64_t requests; /* chains completed */
	uint64_t reads;
	uint64_t writes;
	uint64_t flushes;
	uint64_t get_ids;
	uint64_t read_bytes;
	uint64_t write_bytes;
	uint64_t bad_requests; /* answered IOERR for what the guest sent */
	uint64_t unsupported;  /* answered UNSUPP */
	uint64_t io_errors;    /* answered IOERR because the host I/O failed */
	uint64_t unanswered;   /* completed without a status: none could be written */
	uint64_t image_swaps;
	uint64_t rate_limited; /* times the rate limiter made the queue wait */
};

struct block {
	struct virtio_mmio transport;
	struct guest_memory *mem;
	char drive_id[65];
	uint8_t serial[VIRTIO_BLK_ID_BYTES];
	int fd;
	uint64_t sectors;
	bool read_only;
	bool writeback;
	struct rate_limiter limit;
	struct rate_timer limit_timer;
	struct block_counters counters;
	struct log_limit log_requests, log_io;
};

/*
 * Opens a disk image: O_RDONLY or O_RDWR (always O_CLOEXEC, never O_CREAT),
 * a regular file whose size is a non-zero multiple of 512. On success sets
 * *fd and *sectors; on failure returns negative errno and writes one line
 * saying why to err.
 */
int block_open_image(const char *path, bool read_only, int *fd, uint64_t *sectors, char *err,
		     size_t err_len);

int block_init(struct block *b, const struct block_params *params, struct guest_memory *mem,
	       struct event_loop *loop, uint64_t base, unsigned int gsi);
void block_destroy(struct block *b);

/*
 * Replaces the backing file (PATCH /drives): the device takes fd, closes the
 * old one and tells the driver about the new capacity (config interrupt).
 */
void block_swap_image(struct block *b, int fd, uint64_t sectors);
/* PATCH /drives: a new rate limiter (full buckets). */
void block_set_limit(struct block *b, const struct rate_limiter_conf *limit);

#endif
