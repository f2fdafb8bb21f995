// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk behind the split virtqueue, on an image in a memfd whose size,
 * read-only flag and cache mode come from the input. The input is one byte
 * of options, one of image size, the bring-up (features, queue size) and up
 * to FZ_MAX_OPS operations: the shared ones of support/fuzz_driver.h and
 * the block device's below. Besides ASan and UBSan, the driver checks that
 * every chain comes back exactly once.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/conf.h"
#include "devices/virtio/block/block.h"
#include "tests/fuzz/support/fuzz_driver.h"
#include "tests/fuzz/support/fuzz_env.h"

#define MAX_DATA 4 /* data buffers a built request has; FZ_OP_REPEAT goes past seg_max */

enum {
	OP_REQUEST = FZ_NR_OPS, /* a request: header, data buffers, status */
	OP_CONFIG_READ,
	OP_RESIZE,   /* the image file changes size under the device */
	OP_SWAP,     /* PATCH /drives: a new image (the same memfd, maybe resized) */
	OP_SNAPSHOT, /* saved, restored into a new device, which carries on */
	NR_OPS,
};

static struct fuzz_driver drv;
static const struct device_type *block_type;
static int image = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	fzd_init(&drv);
	block_type = device_type_by_section(device_registry(), "drives");
	image = memfd_create("fuzz-block-image", MFD_CLOEXEC);
	if (image < 0)
		fuzz_fail("memfd_create failed");
	return 0;
}

/* The image: sectors of zeros. */
static void size_image(uint64_t sectors)
{
	if (ftruncate(image, 0) < 0 || ftruncate(image, sectors * BLOCK_SECTOR_SIZE) < 0)
		fuzz_fail("cannot size the image");
}

static struct block *create(struct block_params *p)
{
	struct block *b = calloc(1, sizeof(*b));
	p->fd = dup(image);
	if (!b || p->fd < 0 || block_init(b, p, &drv.fake.mem, &drv.fake.loop, 0xd0001000, 6) < 0)
		fuzz_fail("block_init failed");
	return b;
}

static void destroy(struct block *b)
{
	block_destroy(b);
	free(b);
}

static uint32_t request_type(struct fuzz_input *in, uint8_t shape)
{
	static const uint32_t types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH,
					  VIRTIO_BLK_T_GET_ID };
	return shape & 4 ? fz_u32(in) : types[shape % 4];
}

/* Mostly what a driver sends; shape bits make each part wrong in its own way. */
static void op_request(struct block *b, struct fuzz_input *in)
{
	uint8_t shape = fz_u8(in);
	struct virtio_blk_outhdr hdr = { .type = request_type(in, shape) };
	hdr.sector = shape & 8 ? fz_u64(in) : fz_u8(in) % (b->sectors + 2);
	bool to_device = hdr.type == VIRTIO_BLK_T_IN || hdr.type == VIRTIO_BLK_T_GET_ID;

	struct fake_buf bufs[MAX_DATA + 2];
	unsigned int n = 0;
	bufs[n].len = shape & 0x10 ? fz_u8(in) % 32 : sizeof(hdr);
	bufs[n].gpa = fzd_data_gpa(in, sizeof(hdr), 8);
	bufs[n].writable = false;
	fzd_write(&drv, bufs[n].gpa, &hdr, sizeof(hdr));
	n++;
	unsigned int nr_data = fz_u8(in) % (MAX_DATA + 1);
	for (unsigned int i = 0; i < nr_data; i++, n++) {
		uint8_t how = fz_u8(in);
		bufs[n].len = how & 0x80 ? fz_u16(in) : (how % 9) * BLOCK_SECTOR_SIZE;
		bufs[n].gpa = fzd_data_gpa(in, bufs[n].len, how & 0x40 ? 1 : BLOCK_SECTOR_SIZE);
		bufs[n].writable = to_device ^ !!(how & 0x20);
	}
	bufs[n].len = shape & 0x20 ? fz_u8(in) % 3 : 1;
	bufs[n].gpa = fzd_data_gpa(in, 1, 1);
	bufs[n].writable = !(shape & 0x40);
	n++;
	for (unsigned int i = 0; i < n; i++)
		if (bufs[i].writable)
			fzd_device_writes(&drv, bufs[i].gpa, bufs[i].len);
	if (fzd_chain(&drv, 0, bufs, n))
		fzd_kick(&drv, 0);
}

static void op_config_read(struct fuzz_input *in)
{
	uint8_t data[8];
	uint32_t offset = fz_u8(in) % (sizeof(struct virtio_blk_config) + 8);
	unsigned int len = 1u << (fz_u8(in) % 4);
	virtio_mmio_bus_ops.read(drv.fake.t, VIRTIO_MMIO_CONFIG + offset, data, len);
}

static void op_swap(struct block *b, struct fuzz_input *in)
{
	uint64_t sectors = 1 + fz_u8(in);
	int fd = dup(image);
	if (fd < 0 || ftruncate(image, sectors * BLOCK_SECTOR_SIZE) < 0)
		fuzz_fail("cannot swap the image");
	pthread_mutex_lock(&b->transport.lock);
	block_swap_image(b, fd, sectors);
	pthread_mutex_unlock(&b->transport.lock);
}

static struct block *op_snapshot(struct block *b, struct block_params *p)
{
	struct state_stream s, rd;
	state_writer_init(&s);
	if (block_type->save(b, &s) < 0)
		fuzz_fail("saving the drive failed");
	p->sectors = b->sectors;
	struct block *copy = create(p);
	state_reader_init(&rd, s.data, s.len);
	int ret = block_type->restore(copy, &rd);
	if (ret < 0 || !state_at_end(&rd))
		fuzz_fail("restoring a state just saved failed: %d", ret);
	state_free(&s);
	destroy(b);
	fzd_attach(&drv, &copy->transport);
	return copy;
}

static struct block *op(struct block *b, struct block_params *p, struct fuzz_input *in,
			unsigned int op)
{
	switch (op) {
	case OP_REQUEST:
		op_request(b, in);
		break;
	case OP_CONFIG_READ:
		op_config_read(in);
		break;
	case OP_RESIZE:
		if (ftruncate(image, (uint64_t)fz_u16(in) * 64) < 0)
			fuzz_fail("cannot resize the image");
		break;
	case OP_SWAP:
		op_swap(b, in);
		break;
	case OP_SNAPSHOT:
		return op_snapshot(b, p);
	default:
		fzd_op(&drv, in, op);
		break;
	}
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = { "rootfs", "", "a-drive-id-longer-than-twenty-bytes" };
	struct fuzz_input in;
	fz_init(&in, data, size);
	uint8_t opts = fz_u8(&in);
	fuzz_env_begin(opts & 1);
	struct block_params p = {
		.drive_id = ids[(opts >> 3) % 3],
		.sectors = 1 + fz_u8(&in),
		.read_only = opts & 2,
		.writeback = opts & 4,
	};
	size_image(p.sectors);
	fzd_begin(&drv, false);
	struct block *b = create(&p);
	fzd_attach(&drv, &b->transport);
	fzd_bring_up(&drv, &in);
	for (int i = 0; i < FZ_MAX_OPS && !fz_empty(&in); i++)
		b = op(b, &p, &in, fz_u8(&in) % NR_OPS);

	static const unsigned int may_hold[FAKE_MAX_QUEUES];
	fzd_finish(&drv, may_hold);
	const struct block_counters *c = &b->counters;
	fuzz_trace("status 0x%x%s: %llu requests: %llu reads, %llu writes, %llu flushes, "
		   "%llu get-id, %llu bad, %llu unsupported, %llu I/O errors, %llu unanswered",
		   b->transport.status, drv.hostile ? " (hostile)" : "",
		   (unsigned long long)c->requests, (unsigned long long)c->reads,
		   (unsigned long long)c->writes, (unsigned long long)c->flushes,
		   (unsigned long long)c->get_ids, (unsigned long long)c->bad_requests,
		   (unsigned long long)c->unsupported, (unsigned long long)c->io_errors,
		   (unsigned long long)c->unanswered);
	destroy(b);
	fzd_end(&drv);
	fuzz_env_end();
	return 0;
}
