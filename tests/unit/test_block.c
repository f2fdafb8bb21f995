// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk over virtio-mmio, driven by the in-process fake driver against
 * temporary files: the requests a driver sends, and the malformed ones a
 * hostile guest could send. Every chain must come back on the used ring.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/block/block.h"
#include "tests/unit/support/fake_driver.h"
#include "base/util.h"

#define F(bit)	  (1ull << (bit))
#define V1	  F(VIRTIO_F_VERSION_1)
#define SECTOR	  BLOCK_SECTOR_SIZE
#define NO_STATUS 0xee /* what the test puts in a status byte before a request */

struct fixture {
	struct fake_driver fd;
	struct block b;
	char path[64];
	int file; /* the test's own fd on the image, to check what the device did */
	uint64_t sectors;
};

/* Byte i of the image's initial content. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + i / 512);
}

static void make_image(char *path, uint64_t bytes)
{
	strcpy(path, "/tmp/ebb-test-block-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t buf[4096];
	for (uint64_t off = 0; off < bytes; off += sizeof(buf)) {
		size_t n = MIN(sizeof(buf), bytes - off);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		assert_int_equal(pwrite(fd, buf, n, off), (ssize_t)n);
	}
	close(fd);
}

static struct fixture *make_with(uint64_t sectors, bool read_only, bool writeback,
				 const char *drive_id)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fake_init(&fx->fd);
	make_image(fx->path, sectors * SECTOR);
	fx->file = open(fx->path, O_RDWR | O_CLOEXEC);
	assert_true(fx->file >= 0);

	struct block_params p = {
		.drive_id = drive_id,
		.read_only = read_only,
		.writeback = writeback,
	};
	char err[256];
	assert_int_equal(block_open_image(fx->path, read_only, &p.fd, &p.sectors, err, sizeof(err)),
			 0);
	assert_int_equal(p.sectors, sectors);
	fx->sectors = sectors;
	assert_int_equal(block_init(&fx->b, &p, &fx->fd.mem, &fx->fd.loop, 0xd0002000, 6), 0);
	fake_attach(&fx->fd, &fx->b.transport);
	return fx;
}

static struct fixture *make(uint64_t sectors)
{
	return make_with(sectors, false, false, "disk0");
}

static void destroy(struct fixture *fx)
{
	block_destroy(&fx->b);
	fake_destroy(&fx->fd);
	close(fx->file);
	unlink(fx->path);
	free(fx);
}

static void bring_up(struct fixture *fx)
{
	uint64_t offered = fake_device_features(&fx->fd);
	uint32_t status = fake_negotiate(&fx->fd, offered & ~F(VIRTIO_RING_F_EVENT_IDX));
	assert_true(status & VIRTIO_CONFIG_S_FEATURES_OK);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX), BLOCK_QUEUE_SIZE);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(fake_setup_queue(&fx->fd, 0, BLOCK_QUEUE_SIZE), 1);
	fake_driver_ok(&fx->fd);
}

static struct fixture *up(uint64_t sectors)
{
	struct fixture *fx = make(sectors);
	bring_up(fx);
	return fx;
}

/* ---- building requests ---- */

static struct fake_buf header(struct fixture *fx, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };
	uint64_t gpa = fake_alloc(&fx->fd, sizeof(h), 16);
	memcpy(fake_ptr(&fx->fd, gpa, sizeof(h)), &h, sizeof(h));
	return (struct fake_buf){ .gpa = gpa, .len = sizeof(h) };
}

static struct fake_buf status_buf(struct fixture *fx, uint32_t len)
{
	uint64_t gpa = fake_alloc(&fx->fd, MAX(len, 1u), 1);
	memset(fake_ptr(&fx->fd, gpa, MAX(len, 1u)), NO_STATUS, MAX(len, 1u));
	return (struct fake_buf){ .gpa = gpa, .len = len, .writable = true };
}

static struct fake_buf data_buf(struct fixture *fx, uint32_t len, bool writable, uint8_t fill)
{
	uint64_t gpa = fake_alloc(&fx->fd, len, 8);
	memset(fake_ptr(&fx->fd, gpa, len), fill, len);
	return (struct fake_buf){ .gpa = gpa, .len = len, .writable = writable };
}

static uint8_t *host(struct fixture *fx, const struct fake_buf *b)
{
	return fake_ptr(&fx->fd, b->gpa, b->len);
}

/* Sends one chain and takes it back from the used ring; returns the used length. */
static uint32_t submit(struct fixture *fx, const struct fake_buf *bufs, unsigned int n)
{
	uint16_t head = fake_add_chain(&fx->fd, 0, bufs, n);
	fake_kick(&fx->fd, 0);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, 0, &id, &len));
	assert_int_equal(id, head);
	assert_false(fake_get_used(&fx->fd, 0, &id, &len));
	return len;
}

/*
 * header(type, sector), the data buffers, a one-byte status. Returns the
 * status the device wrote, and the used length in *used.
 */
static uint8_t request(struct fixture *fx, uint32_t type, uint64_t sector,
		       const struct fake_buf *data, unsigned int nr_data, uint32_t *used)
{
	struct fake_buf bufs[VQ_MAX_CHAIN];
	assert_true(nr_data + 2 <= VQ_MAX_CHAIN);
	bufs[0] = header(fx, type, sector);
	if (nr_data)
		memcpy(&bufs[1], data, nr_data * sizeof(*data));
	bufs[nr_data + 1] = status_buf(fx, 1);
	uint32_t len = submit(fx, bufs, nr_data + 2);
	if (used)
		*used = len;
	return *host(fx, &bufs[nr_data + 1]);
}

static void read_file(struct fixture *fx, uint64_t offset, void *buf, size_t len)
{
	assert_int_equal(pread(fx->file, buf, len, offset), (ssize_t)len);
}

static void assert_file_untouched(struct fixture *fx)
{
	uint8_t buf[4096];
	for (uint64_t off = 0; off < fx->sectors * SECTOR; off += sizeof(buf)) {
		size_t n = MIN(sizeof(buf), fx->sectors * SECTOR - off);
		read_file(fx, off, buf, n);
		for (size_t i = 0; i < n; i++)
			if (buf[i] != pattern(off + i))
				fail_msg("image byte %llu changed", (unsigned long long)(off + i));
	}
}

static uint64_t config_capacity(struct fixture *fx)
{
	uint64_t lo = fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG);
	uint64_t hi = fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG + 4);
	return lo | hi << 32;
}

/* ---- features, config, opening images ---- */

static void test_features_and_config(void **state)
{
	struct fixture *fx = make(2048 + 5);
	uint64_t f = fake_device_features(&fx->fd);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_true(f & V1);
	assert_true(f & F(VIRTIO_BLK_F_SEG_MAX));
	assert_false(f & F(VIRTIO_BLK_F_RO));
	assert_false(f & F(VIRTIO_BLK_F_FLUSH));
	assert_int_equal(config_capacity(fx), 2048 + 5);
	uint32_t seg_max = fake_read_reg(
		&fx->fd, VIRTIO_MMIO_CONFIG + offsetof(struct virtio_blk_config, seg_max));
	assert_int_equal(seg_max, BLOCK_SEG_MAX);
	destroy(fx);

	fx = make_with(8, true, true, "ro");
	f = fake_device_features(&fx->fd);
	assert_true(f & F(VIRTIO_BLK_F_RO));
	assert_true(f & F(VIRTIO_BLK_F_FLUSH));
	assert_int_equal(config_capacity(fx), 8);
	destroy(fx);
}

static void test_capacity_from_file_size(void **state)
{
	/* 1 sector, and a size above 4 GiB worth of sectors in the high word. */
	struct fixture *fx = make(1);
	assert_int_equal(config_capacity(fx), 1);
	destroy(fx);

	char path[64];
	make_image(path, SECTOR);
	assert_int_equal(truncate(path, (6ll << 40) + 3 * SECTOR), 0); /* sparse */
	int fd;
	uint64_t sectors;
	char err[256];
	assert_int_equal(block_open_image(path, true, &fd, &sectors, err, sizeof(err)), 0);
	assert_int_equal(sectors, ((6ull << 40) >> 9) + 3);
	close(fd);
	unlink(path);
}

static void test_open_image_refusals(void **state)
{
	int fd = -1;
	uint64_t sectors = 0;
	char err[256];

	assert_int_equal(
		block_open_image("/nonexistent/ebb.img", false, &fd, &sectors, err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, "/nonexistent/ebb.img: No such file or directory"));

	char dir[] = "/tmp/ebb-test-block-dir-XXXXXX";
	assert_non_null(mkdtemp(dir));
	for (int ro = 0; ro <= 1; ro++) {
		err[0] = '\0';
		assert_int_equal(block_open_image(dir, ro, &fd, &sectors, err, sizeof(err)),
				 -EISDIR);
		assert_non_null(strstr(err, "is a directory"));
	}
	rmdir(dir);

	char path[64];
	make_image(path, 1000);
	assert_int_equal(block_open_image(path, false, &fd, &sectors, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a multiple of 512"));
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(block_open_image(path, false, &fd, &sectors, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is empty"));
	unlink(path);
	assert_int_equal(fd, -1); /* never set on failure */
}

/* ---- reads and writes ---- */

static void test_read_write_round_trip(void **state)
{
	struct fixture *fx = up(64);
	uint32_t used;

	/* Two buffers whose sizes are not sector multiples; their sum is. */
	struct fake_buf out[2] = { data_buf(fx, 700, false, 0xa1), data_buf(fx, 324, false, 0xb2) };
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 3, out, 2, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);

	/* The file really changed there, and only there. */
	uint8_t buf[3 * SECTOR];
	read_file(fx, 2 * SECTOR, buf, sizeof(buf));
	for (int i = 0; i < SECTOR; i++)
		assert_int_equal(buf[i], pattern(2 * SECTOR + i));
	for (int i = 0; i < 700; i++)
		assert_int_equal(buf[SECTOR + i], 0xa1);
	for (int i = 700; i < 2 * SECTOR; i++)
		assert_int_equal(buf[SECTOR + i], 0xb2);

	/* Read back across three buffers, one of them empty. */
	struct fake_buf in[3] = { data_buf(fx, 100, true, 0), data_buf(fx, 0, true, 0),
				  data_buf(fx, 1436, true, 0) };
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 2, in, 3, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1536 + 1);
	uint8_t got[1536];
	memcpy(got, host(fx, &in[0]), 100);
	memcpy(got + 100, host(fx, &in[2]), 1436);
	assert_memory_equal(got, buf, sizeof(buf));

	/* The last sector of the disk is readable and writable. */
	struct fake_buf last = data_buf(fx, SECTOR, false, 0x77);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 63, &last, 1, NULL), VIRTIO_BLK_S_OK);
	read_file(fx, 63 * SECTOR, buf, SECTOR);
	assert_int_equal(buf[0], 0x77);
	assert_int_equal(buf[SECTOR - 1], 0x77);

	assert_int_equal(fx->b.counters.reads, 1);
	assert_int_equal(fx->b.counters.writes, 2);
	assert_int_equal(fx->b.counters.read_bytes, 1536);
	assert_int_equal(fx->b.counters.write_bytes, 1024 + SECTOR);
	assert_int_equal(fx->b.counters.bad_requests, 0);
	assert_true(fake_take_interrupts(&fx->fd) > 0);
	destroy(fx);
}

static void test_read_only_refuses_writes(void **state)
{
	struct fixture *fx = make_with(16, true, false, "ro");
	bring_up(fx);
	uint32_t used;
	struct fake_buf out = data_buf(fx, SECTOR, false, 0x55);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, &out, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_file_untouched(fx);
	assert_int_equal(fx->b.counters.bad_requests, 1);

	struct fake_buf in = data_buf(fx, SECTOR, true, 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 1, &in, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, SECTOR + 1);
	assert_int_equal(host(fx, &in)[0], pattern(SECTOR));
	destroy(fx);
}

static void test_sector_past_the_end(void **state)
{
	struct fixture *fx = up(32);
	uint32_t used;
	struct fake_buf one = data_buf(fx, SECTOR, true, 0x11);
	struct fake_buf two = data_buf(fx, 2 * SECTOR, true, 0x22);
	struct fake_buf wtwo = data_buf(fx, 2 * SECTOR, false, 0x33);

	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 32, &one, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(host(fx, &one)[0], 0x11); /* nothing was read into it */
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 31, &two, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 31, &wtwo, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 1000000, &one, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_file_untouched(fx);
	assert_int_equal(fx->b.counters.bad_requests, 4);
	/* The edge itself is fine. */
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 30, &two, 1, &used), VIRTIO_BLK_S_OK);
	destroy(fx);
}

static void test_overflowing_sector(void **state)
{
	struct fixture *fx = up(32);
	struct fake_buf in = data_buf(fx, 2 * SECTOR, true, 0);
	struct fake_buf out = data_buf(fx, 2 * SECTOR, false, 0x44);
	/* sector + count wraps to a small number; sector * 512 wraps too. */
	const uint64_t sectors[] = { UINT64_MAX, UINT64_MAX - 1, 1ull << 55, (1ull << 55) + 1,
				     UINT64_MAX / SECTOR + 1 };
	for (size_t i = 0; i < ARRAY_SIZE(sectors); i++) {
		uint32_t used;
		assert_int_equal(request(fx, VIRTIO_BLK_T_IN, sectors[i], &in, 1, &used),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
		assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, sectors[i], &out, 1, &used),
				 VIRTIO_BLK_S_IOERR);
	}
	assert_file_untouched(fx);
	assert_int_equal(fx->b.counters.bad_requests, 2 * ARRAY_SIZE(sectors));
	destroy(fx);
}

static void test_length_not_a_multiple_of_512(void **state)
{
	struct fixture *fx = up(32);
	uint32_t used;
	struct fake_buf out = data_buf(fx, 513, false, 0x66);
	struct fake_buf in = data_buf(fx, 511, true, 0x67);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, &out, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, &in, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(host(fx, &in)[0], 0x67);
	struct fake_buf split[2] = { data_buf(fx, 256, false, 1), data_buf(fx, 257, false, 2) };
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, split, 2, &used), VIRTIO_BLK_S_IOERR);
	assert_file_untouched(fx);
	destroy(fx);
}

/* ---- descriptor layouts ---- */

static void test_bad_layouts(void **state)
{
	struct fixture *fx = up(32);
	uint32_t used;

	/* Header missing: only a status byte. */
	struct fake_buf st = status_buf(fx, 1);
	assert_int_equal(submit(fx, &st, 1), 1);
	assert_int_equal(*host(fx, &st), VIRTIO_BLK_S_IOERR);

	/* Header device-writable. */
	struct fake_buf data = data_buf(fx, SECTOR, true, 0x10);
	struct fake_buf bufs[3] = { header(fx, VIRTIO_BLK_T_IN, 0), data, status_buf(fx, 1) };
	bufs[0].writable = true;
	assert_int_equal(submit(fx, bufs, 3), 1);
	assert_int_equal(*host(fx, &bufs[2]), VIRTIO_BLK_S_IOERR);
	assert_int_equal(host(fx, &data)[0], 0x10);

	/* Header shorter than 16 bytes. */
	bufs[0] = header(fx, VIRTIO_BLK_T_IN, 0);
	bufs[0].len = 8;
	bufs[2] = status_buf(fx, 1);
	assert_int_equal(submit(fx, bufs, 3), 1);
	assert_int_equal(*host(fx, &bufs[2]), VIRTIO_BLK_S_IOERR);

	/* Header outside guest RAM. */
	bufs[0] = (struct fake_buf){ .gpa = FAKE_RAM_SIZE + 4096, .len = 16 };
	bufs[2] = status_buf(fx, 1);
	assert_int_equal(submit(fx, bufs, 3), 1);
	assert_int_equal(*host(fx, &bufs[2]), VIRTIO_BLK_S_IOERR);

	/* Status missing (the last buffer is device-readable): completed, nothing written. */
	struct fake_buf out = data_buf(fx, SECTOR, false, 0x99);
	struct fake_buf nostatus[2] = { header(fx, VIRTIO_BLK_T_OUT, 0), out };
	assert_int_equal(submit(fx, nostatus, 2), 0);
	/* Only a header. */
	assert_int_equal(submit(fx, nostatus, 1), 0);

	/* Status of zero length. */
	struct fake_buf zero[3] = { header(fx, VIRTIO_BLK_T_OUT, 0), out, status_buf(fx, 0) };
	assert_int_equal(submit(fx, zero, 3), 0);
	assert_int_equal(*host(fx, &zero[2]), NO_STATUS);

	/* Status outside guest RAM. */
	zero[2] = (struct fake_buf){ .gpa = FAKE_RAM_SIZE, .len = 1, .writable = true };
	assert_int_equal(submit(fx, zero, 3), 0);

	/* A status buffer longer than a byte: refused, the answer in its last byte. */
	struct fake_buf longer[3] = { header(fx, VIRTIO_BLK_T_OUT, 0), out, status_buf(fx, 4) };
	assert_int_equal(submit(fx, longer, 3), 1);
	assert_int_equal(host(fx, &longer[2])[3], VIRTIO_BLK_S_IOERR);
	assert_int_equal(host(fx, &longer[2])[0], NO_STATUS);

	/* Data in the wrong direction: a read into a readable buffer... */
	struct fake_buf ro_data = data_buf(fx, SECTOR, false, 0x21);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, &ro_data, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(host(fx, &ro_data)[0], 0x21);
	/* ...one of two buffers in the wrong direction... */
	struct fake_buf mixed[2] = { data_buf(fx, SECTOR, true, 0x22), ro_data };
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, mixed, 2, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(host(fx, &mixed[0])[0], 0x22);
	/* ...and a write from a writable one. */
	struct fake_buf wr_data = data_buf(fx, SECTOR, true, 0x23);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, &wr_data, 1, &used), VIRTIO_BLK_S_IOERR);

	/* Flush and get-id with data in the wrong place. */
	assert_int_equal(request(fx, VIRTIO_BLK_T_FLUSH, 0, &wr_data, 1, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(fx, VIRTIO_BLK_T_GET_ID, 0, &ro_data, 1, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(fx, VIRTIO_BLK_T_GET_ID, 0, NULL, 0, &used), VIRTIO_BLK_S_IOERR);

	assert_file_untouched(fx);
	assert_int_equal(fx->b.counters.unanswered, 4);
	assert_int_equal(fx->b.counters.requests, 15);
	assert_int_equal(fx->b.counters.bad_requests, 15);
	assert_int_equal(fx->b.counters.reads + fx->b.counters.writes, 0);

	/* The device still works. */
	struct fake_buf in = data_buf(fx, SECTOR, true, 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 5, &in, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(host(fx, &in)[0], pattern(5 * SECTOR));
	destroy(fx);
}

static void test_unsupported_types(void **state)
{
	struct fixture *fx = up(32);
	const uint32_t types[] = { VIRTIO_BLK_T_SCSI_CMD,
				   VIRTIO_BLK_T_DISCARD,
				   VIRTIO_BLK_T_WRITE_ZEROES,
				   VIRTIO_BLK_T_SECURE_ERASE,
				   3,
				   0xdeadbeef,
				   VIRTIO_BLK_T_BARRIER | VIRTIO_BLK_T_OUT };
	struct fake_buf out = data_buf(fx, SECTOR, false, 0x31);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		uint32_t used;
		assert_int_equal(request(fx, types[i], 0, &out, 1, &used), VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(used, 1);
	}
	assert_int_equal(fx->b.counters.unsupported, ARRAY_SIZE(types));
	assert_file_untouched(fx);
	destroy(fx);
}

static void test_flush(void **state)
{
	/*
	 * fdatasync fails on an eventfd: that tells a flush that syncs
	 * (Writeback) from one that does not (Unsafe).
	 */
	for (int writeback = 0; writeback <= 1; writeback++) {
		struct fixture *fx = make_with(8, false, writeback, "flush");
		bring_up(fx);
		uint32_t used;
		assert_int_equal(request(fx, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used),
				 VIRTIO_BLK_S_OK);
		assert_int_equal(used, 1);

		int efd = eventfd(0, EFD_CLOEXEC);
		assert_true(efd >= 0);
		pthread_mutex_lock(&fx->b.transport.lock);
		block_swap_image(&fx->b, efd, 8);
		pthread_mutex_unlock(&fx->b.transport.lock);
		uint8_t want = writeback ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		assert_int_equal(request(fx, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), want);
		assert_int_equal(fx->b.counters.flushes, 2);
		assert_int_equal(fx->b.counters.io_errors, writeback ? 1 : 0);
		destroy(fx);
	}
}

/*
 * Flushes that sync cost a queue's budget / 8: a string of them is spread
 * over wakeups (the kick's pass takes 8 of 20), while
 * flushes that do not sync go in one pass.
 */
static void test_flushes_that_sync_are_spread(void **state)
{
	for (int writeback = 0; writeback <= 1; writeback++) {
		struct fixture *fx = make_with(8, false, writeback, "flush");
		bring_up(fx);
		for (unsigned int i = 0; i < 20; i++) {
			struct fake_buf bufs[2] = { header(fx, VIRTIO_BLK_T_FLUSH, 0),
						    status_buf(fx, 1) };
			fake_add_chain(&fx->fd, 0, bufs, 2);
		}
		fake_kick(&fx->fd, 0);
		assert_int_equal(fx->b.counters.flushes, writeback ? 8 : 20);
		fake_run_loop(&fx->fd, 100);
		fake_run_loop(&fx->fd, 100);
		assert_int_equal(fx->b.counters.flushes, 20);
		uint32_t id, len;
		for (unsigned int i = 0; i < 20; i++)
			assert_true(fake_get_used(&fx->fd, 0, &id, &len));
		destroy(fx);
	}
}

static void test_get_id(void **state)
{
	struct fixture *fx = make_with(8, false, false, "rootfs");
	bring_up(fx);
	uint32_t used;
	struct fake_buf id = data_buf(fx, VIRTIO_BLK_ID_BYTES, true, 0xff);
	assert_int_equal(request(fx, VIRTIO_BLK_T_GET_ID, 0, &id, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	uint8_t want[VIRTIO_BLK_ID_BYTES] = "rootfs";
	assert_memory_equal(host(fx, &id), want, sizeof(want));

	/* A smaller buffer gets what fits. */
	struct fake_buf small = data_buf(fx, 4, true, 0xff);
	assert_int_equal(request(fx, VIRTIO_BLK_T_GET_ID, 0, &small, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 4 + 1);
	assert_memory_equal(host(fx, &small), "root", 4);
	destroy(fx);

	/* A long id: its first 20 bytes, no terminator. */
	fx = make_with(8, false, false, "a-drive-id-longer-than-twenty-bytes");
	bring_up(fx);
	struct fake_buf big = data_buf(fx, 64, true, 0xff);
	assert_int_equal(request(fx, VIRTIO_BLK_T_GET_ID, 0, &big, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(host(fx, &big), "a-drive-id-longer-th", VIRTIO_BLK_ID_BYTES);
	assert_int_equal(host(fx, &big)[VIRTIO_BLK_ID_BYTES], 0xff);
	assert_int_equal(fx->b.counters.get_ids, 1);
	destroy(fx);
}

/* ---- chains a driver must not send ---- */

static void test_chain_longer_than_seg_max(void **state)
{
	struct fixture *fx = up(1024);
	uint32_t used;
	struct fake_buf data[BLOCK_SEG_MAX + 1];
	for (unsigned int i = 0; i < ARRAY_SIZE(data); i++)
		data[i] = data_buf(fx, SECTOR, false, 0x40);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, data, BLOCK_SEG_MAX + 1, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_file_untouched(fx);

	/* seg_max buffers are fine. */
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, data, BLOCK_SEG_MAX, &used),
			 VIRTIO_BLK_S_OK);
	uint8_t buf[SECTOR];
	read_file(fx, (BLOCK_SEG_MAX - 1) * SECTOR, buf, SECTOR);
	assert_int_equal(buf[0], 0x40);
	destroy(fx);
}

static void test_data_outside_ram(void **state)
{
	struct fixture *fx = up(32);
	uint32_t used;
	/* Straddling the end of RAM, and wholly beyond it. */
	struct fake_buf bad[] = {
		{ .gpa = FAKE_RAM_SIZE - SECTOR, .len = 2 * SECTOR, .writable = true },
		{ .gpa = FAKE_RAM_SIZE + (1ull << 30), .len = SECTOR, .writable = true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, &bad[i], 1, &used),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
		bad[i].writable = false;
		assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, &bad[i], 1, &used),
				 VIRTIO_BLK_S_IOERR);
	}
	/* A good buffer then a bad one: nothing is read, not even the first part. */
	struct fake_buf two[2] = { data_buf(fx, SECTOR, true, 0x5c),
				   { .gpa = FAKE_RAM_SIZE, .len = SECTOR, .writable = true } };
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, two, 2, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(host(fx, &two[0])[0], 0x5c);

	/* An address whose end wraps: the ring walk refuses the chain; it is still completed. */
	struct fake_buf wrap[3] = { header(fx, VIRTIO_BLK_T_IN, 0),
				    { .gpa = UINT64_MAX - 100, .len = SECTOR, .writable = true },
				    status_buf(fx, 1) };
	assert_int_equal(submit(fx, wrap, 3), 0);
	assert_int_equal(*host(fx, &wrap[2]), NO_STATUS);
	assert_file_untouched(fx);
	assert_int_equal(fx->b.counters.bad_requests, 6);
	destroy(fx);
}

static void test_four_gib_in_one_request_refused(void **state)
{
	struct fixture *fx = up(32);
	/* An 8 GiB sparse image, so the range check alone would let it through. */
	char path[64];
	make_image(path, SECTOR);
	assert_int_equal(truncate(path, 8ll << 30), 0);
	int fd;
	uint64_t sectors;
	char err[256];
	assert_int_equal(block_open_image(path, false, &fd, &sectors, err, sizeof(err)), 0);
	unlink(path);
	pthread_mutex_lock(&fx->b.transport.lock);
	block_swap_image(&fx->b, fd, sectors);
	pthread_mutex_unlock(&fx->b.transport.lock);

	/* 128 overlapping 40 MiB buffers: 5 GiB, more than a used length can say. */
	struct fake_buf data[BLOCK_SEG_MAX];
	for (unsigned int i = 0; i < BLOCK_SEG_MAX; i++)
		data[i] = (struct fake_buf){ .gpa = 0, .len = 40 << 20, .writable = true };
	uint32_t used;
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, data, BLOCK_SEG_MAX, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(fx->b.counters.bad_requests, 1);
	assert_int_equal(fx->b.counters.reads, 0);
	destroy(fx);
}

static void test_descriptor_loop_completed(void **state)
{
	struct fixture *fx = up(32);
	struct fake_buf bufs[3] = { header(fx, VIRTIO_BLK_T_IN, 0), data_buf(fx, SECTOR, true, 0),
				    status_buf(fx, 1) };
	uint16_t head = fake_add_chain(&fx->fd, 0, bufs, 3);
	/* The status descriptor points back at the head. */
	struct vring_desc *desc = fake_desc(&fx->fd, 0);
	desc[(head + 2) % BLOCK_QUEUE_SIZE].flags |= VRING_DESC_F_NEXT;
	desc[(head + 2) % BLOCK_QUEUE_SIZE].next = head;
	fake_kick(&fx->fd, 0);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_int_equal(fx->b.counters.unanswered, 1);
	destroy(fx);
}

static void test_host_read_failure_is_ioerr(void **state)
{
	struct fixture *fx = up(32);
	/* The image shrinks behind ebb's back: a read past the new end hits EOF. */
	assert_int_equal(ftruncate(fx->file, 16 * SECTOR), 0);
	uint32_t used;
	struct fake_buf in = data_buf(fx, 2 * SECTOR, true, 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 15, &in, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(fx->b.counters.io_errors, 1);
	destroy(fx);
}

static void test_swap_image_changes_capacity(void **state)
{
	struct fixture *fx = up(32);
	fake_take_interrupts(&fx->fd);
	uint32_t gen = fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG_GENERATION);

	char path[64];
	make_image(path, 100 * SECTOR);
	int fd;
	uint64_t sectors;
	char err[256];
	assert_int_equal(block_open_image(path, false, &fd, &sectors, err, sizeof(err)), 0);
	int check = open(path, O_RDWR | O_CLOEXEC);
	unlink(path);
	assert_true(check >= 0);
	uint8_t mark[SECTOR];
	memset(mark, 0xc3, sizeof(mark));
	assert_int_equal(pwrite(check, mark, SECTOR, 99 * SECTOR), SECTOR);

	pthread_mutex_lock(&fx->b.transport.lock);
	block_swap_image(&fx->b, fd, sectors);
	pthread_mutex_unlock(&fx->b.transport.lock);
	assert_int_equal(config_capacity(fx), 100);
	assert_int_not_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_true(fake_read_reg(&fx->fd, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_true(fake_take_interrupts(&fx->fd) > 0);

	uint32_t used;
	struct fake_buf in = data_buf(fx, SECTOR, true, 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 99, &in, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(host(fx, &in)[0], 0xc3);
	struct fake_buf out = data_buf(fx, SECTOR, false, 0x3c);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 50, &out, 1, &used), VIRTIO_BLK_S_OK);
	uint8_t buf[1];
	assert_int_equal(pread(check, buf, 1, 50 * SECTOR), 1);
	assert_int_equal(buf[0], 0x3c);
	/* The old image was left alone. */
	assert_file_untouched(fx);
	close(check);
	destroy(fx);
}

static void test_many_requests_in_one_kick(void **state)
{
	struct fixture *fx = up(256);
	struct fake_buf in[40];
	uint16_t heads[40];
	struct fake_buf st[40];
	for (unsigned int i = 0; i < 40; i++) {
		in[i] = data_buf(fx, 2 * SECTOR, true, 0);
		st[i] = status_buf(fx, 1);
		struct fake_buf bufs[3] = { header(fx, VIRTIO_BLK_T_IN, i * 2), in[i], st[i] };
		heads[i] = fake_add_chain(&fx->fd, 0, bufs, 3);
	}
	fake_kick(&fx->fd, 0);
	for (unsigned int i = 0; i < 40; i++) {
		uint32_t id, len;
		assert_true(fake_get_used(&fx->fd, 0, &id, &len));
		assert_int_equal(id, heads[i]);
		assert_int_equal(len, 2 * SECTOR + 1);
		assert_int_equal(*host(fx, &st[i]), VIRTIO_BLK_S_OK);
		assert_int_equal(host(fx, &in[i])[SECTOR], pattern((i * 2 + 1) * SECTOR));
	}
	/* One interrupt for the whole batch. */
	assert_int_equal(fake_take_interrupts(&fx->fd), 1);
	destroy(fx);
}

/* A limiter of 2 requests per 100 ms: two go at once, the others as their tokens come back. */
static void test_rate_limited(void **state)
{
	struct fixture *fx = make(64);
	block_destroy(&fx->b);
	struct block_params p = { .drive_id = "disk0" };
	p.limit.ops = (struct token_bucket_conf){ .set = true, .size = 2, .refill_time_ms = 100 };
	char err[256];
	assert_int_equal(block_open_image(fx->path, false, &p.fd, &p.sectors, err, sizeof(err)), 0);
	assert_int_equal(block_init(&fx->b, &p, &fx->fd.mem, &fx->fd.loop, 0xd0002000, 6), 0);
	bring_up(fx);
	struct fake_buf st[5];
	for (int i = 0; i < 5; i++) {
		struct fake_buf bufs[3] = { header(fx, VIRTIO_BLK_T_IN, (uint64_t)i),
					    data_buf(fx, SECTOR, true, 0), status_buf(fx, 1) };
		st[i] = bufs[2];
		fake_add_chain(&fx->fd, 0, bufs, 3);
	}
	uint64_t t0 = rate_limit_now_ns();
	fake_kick(&fx->fd, 0);
	uint32_t id, len;
	unsigned int done = 0;
	while (fake_get_used(&fx->fd, 0, &id, &len))
		done++;
	assert_int_equal(done, 2);
	assert_int_equal(*host(fx, &st[2]), NO_STATUS); /* not started */
	assert_true(fx->b.counters.rate_limited >= 1);
	while (done < 5 && rate_limit_now_ns() - t0 < 5000000000ull) {
		fake_run_loop(&fx->fd, 200);
		while (fake_get_used(&fx->fd, 0, &id, &len))
			done++;
	}
	assert_int_equal(done, 5);
	/* Three more ops at 20 per second. */
	assert_true(rate_limit_now_ns() - t0 >= 140000000ull);
	for (int i = 0; i < 5; i++)
		assert_int_equal(*host(fx, &st[i]), VIRTIO_BLK_S_OK);
	/* PATCH /drives: no limit, and the queue runs at once. */
	struct rate_limiter_conf none;
	memset(&none, 0, sizeof(none));
	block_set_limit(&fx->b, &none);
	for (int i = 0; i < 4; i++) {
		struct fake_buf data = data_buf(fx, SECTOR, true, 0);
		assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, &data, 1, NULL), VIRTIO_BLK_S_OK);
	}
	destroy(fx);
}

/* A page-aligned buffer of n pages, for the dirty-page checks. */
static struct fake_buf pages_buf(struct fixture *fx, unsigned int n)
{
	uint64_t gpa = fake_alloc(&fx->fd, n * 4096ull, 4096);
	return (struct fake_buf){ .gpa = gpa, .len = n * 4096, .writable = true };
}

static bool page_dirty(struct fixture *fx, uint64_t gpa)
{
	return mem_page_dirty(&fx->fd.mem, gpa / 4096);
}

/*
 * Diff snapshots see what the device wrote into guest memory, and only
 * that: a refused request's buffers, however large, are not marked.
 */
static void test_marks_what_it_wrote(void **state)
{
	struct fixture *fx = up(64);
	fake_dirty_source(&fx->fd);
	assert_int_equal(mem_track_start(&fx->fd.mem), 0);
	struct fake_buf in = pages_buf(fx, 3);
	in.len = 2 * SECTOR;
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, &in, 1, NULL), VIRTIO_BLK_S_OK);
	uint64_t status_page = in.gpa + 3 * 4096; /* the header and status follow the buffer */
	assert_int_equal(mem_dirty_sync(&fx->fd.mem), 0);
	assert_true(page_dirty(fx, in.gpa));
	assert_false(page_dirty(fx, in.gpa + 4096));
	assert_true(page_dirty(fx, status_page));
	mem_dirty_reset(&fx->fd.mem);

	struct fake_buf big = pages_buf(fx, 256);
	assert_int_equal(request(fx, 99, 0, &big, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	status_page = big.gpa + 256 * 4096;
	assert_int_equal(mem_dirty_sync(&fx->fd.mem), 0);
	for (unsigned int i = 0; i < 256; i++)
		assert_false(page_dirty(fx, big.gpa + i * 4096ull));
	assert_true(page_dirty(fx, status_page));
	mem_dirty_reset(&fx->fd.mem);

	/* A read that failed midway wrote its first sector: marked all the same. */
	assert_int_equal(ftruncate(fx->file, 16 * SECTOR), 0);
	struct fake_buf cut = pages_buf(fx, 1);
	cut.len = 2 * SECTOR;
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 15, &cut, 1, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(host(fx, &cut)[0], pattern(15 * SECTOR));
	assert_int_equal(mem_dirty_sync(&fx->fd.mem), 0);
	assert_true(page_dirty(fx, cut.gpa));
	destroy(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_and_config),
		cmocka_unit_test(test_capacity_from_file_size),
		cmocka_unit_test(test_open_image_refusals),
		cmocka_unit_test(test_read_write_round_trip),
		cmocka_unit_test(test_read_only_refuses_writes),
		cmocka_unit_test(test_sector_past_the_end),
		cmocka_unit_test(test_overflowing_sector),
		cmocka_unit_test(test_length_not_a_multiple_of_512),
		cmocka_unit_test(test_bad_layouts),
		cmocka_unit_test(test_unsupported_types),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_flushes_that_sync_are_spread),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_chain_longer_than_seg_max),
		cmocka_unit_test(test_data_outside_ram),
		cmocka_unit_test(test_four_gib_in_one_request_refused),
		cmocka_unit_test(test_descriptor_loop_completed),
		cmocka_unit_test(test_host_read_failure_is_ioerr),
		cmocka_unit_test(test_swap_image_changes_capacity),
		cmocka_unit_test(test_many_requests_in_one_kick),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_marks_what_it_wrote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
