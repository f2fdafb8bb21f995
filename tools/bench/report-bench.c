// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark 5: host-side report processing, no KVM needed. The balloon
 * device processes free page reports (chains of 32 x 2 MiB) over real,
 * touched memory, driven by the in-process fake driver; the baseline is a
 * bare madvise(MADV_DONTNEED) loop over the same 2 MiB ranges. Each round
 * touches the memory again first. Prints one CSV row per round:
 *   method,round,mib,seconds,gib_per_s
 * and exits 1 if the device left touched memory resident (a smoke check).
 */
#include <errno.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "devices/virtio/balloon/balloon.h"
#include "tests/unit/support/fake_driver.h"
#include "base/util.h"

#define BLOCK	     MiB(2)
#define CHAIN	     32 /* PAGE_REPORTING_CAPACITY */
#define REPORT_QUEUE 2	/* reporting right after inflate and deflate: no stats */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t resident_bytes(void *p, uint64_t len)
{
	size_t pages = len / 4096;
	unsigned char *vec = malloc(pages);
	if (!vec || mincore(p, len, vec) < 0) {
		free(vec);
		return UINT64_MAX;
	}
	uint64_t n = 0;
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n * 4096;
}

static void touch(uint8_t *p, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += 4096)
		p[off] = 1;
}

/* The balloon device: all reports queued, one notification, one wakeup. */
static int balloon_round(struct fake_driver *fd, uint8_t *ram, uint64_t data, unsigned int blocks,
			 int r, unsigned int mib)
{
	touch(ram, data);
	struct fake_buf bufs[CHAIN];
	for (unsigned int blk = 0; blk < blocks; blk += CHAIN) {
		unsigned int n = MIN(CHAIN, blocks - blk);
		for (unsigned int i = 0; i < n; i++)
			bufs[i] = (struct fake_buf){ .gpa = (uint64_t)(blk + i) * BLOCK,
						     .len = BLOCK,
						     .writable = true };
		fake_add_chain(fd, REPORT_QUEUE, bufs, n);
	}
	double t0 = now();
	fake_kick(fd, REPORT_QUEUE);
	double dt = now() - t0;
	uint32_t id, len;
	unsigned int done = 0;
	while (fake_get_used(fd, REPORT_QUEUE, &id, &len))
		done++;
	int ret = 0;
	if (done != (blocks + CHAIN - 1) / CHAIN || resident_bytes(ram, data) != 0) {
		fprintf(stderr,
			"report-bench: round %d: %u chains completed, %llu bytes still resident\n",
			r, done, (unsigned long long)resident_bytes(ram, data));
		ret = 1;
	}
	printf("balloon,%d,%u,%.6f,%.3f\n", r, mib, dt, mib / 1024.0 / dt);
	return ret;
}

/* The baseline: the same ranges, one madvise each. */
static int madvise_round(uint8_t *ram, uint64_t data, unsigned int blocks, int r, unsigned int mib)
{
	touch(ram, data);
	int ret = 0;
	double t0 = now();
	for (unsigned int blk = 0; blk < blocks; blk++)
		if (madvise(ram + (uint64_t)blk * BLOCK, BLOCK, MADV_DONTNEED) < 0)
			ret = 1;
	double dt = now() - t0;
	printf("madvise,%d,%u,%.6f,%.3f\n", r, mib, dt, mib / 1024.0 / dt);
	return ret;
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (mib < 64 || mib % 64 || rounds < 1) {
		fprintf(stderr,
			"usage: report-bench [MIB (multiple of 64, default 1024)] [ROUNDS]\n");
		return 2;
	}
	uint64_t data = MiB(mib);
	unsigned int blocks = data / BLOCK;
	unsigned int queue = 1;
	while (queue < blocks)
		queue <<= 1;

	struct fake_driver fd;
	fake_init_ram(&fd, data + MiB(32));
	struct balloon b;
	struct balloon_params params = { .reporting = true, .reporting_queue_size = queue };
	if (balloon_init(&b, &params, &fd.mem, &fd.loop, 0xd0001000, 5) < 0) {
		fprintf(stderr, "report-bench: balloon_init failed\n");
		return 2;
	}
	fake_attach(&fd, &b.transport);
	uint64_t features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BALLOON_F_REPORTING);
	if (!(fake_negotiate(&fd, features) & VIRTIO_CONFIG_S_FEATURES_OK))
		return 2;
	for (unsigned int i = 0; i < 3; i++) {
		fake_write_reg(&fd, VIRTIO_MMIO_QUEUE_SEL, i);
		uint16_t max = fake_read_reg(&fd, VIRTIO_MMIO_QUEUE_NUM_MAX);
		if (!fake_setup_queue(&fd, i, i == REPORT_QUEUE ? queue : max))
			return 2;
	}
	fake_driver_ok(&fd);

	uint8_t *ram = fake_ptr(&fd, 0, data);
	int ret = 0;
	printf("method,round,mib,seconds,gib_per_s\n");
	for (int r = 1; r <= rounds; r++) {
		/* Alternate which goes first, so cache and THP state favour neither. */
		for (int turn = 0; turn < 2; turn++) {
			if ((turn == 0) == (r % 2 == 1))
				ret |= balloon_round(&fd, ram, data, blocks, r, mib);
			else
				ret |= madvise_round(ram, data, blocks, r, mib);
		}
	}
	balloon_destroy(&b);
	fake_destroy(&fd);
	return ret;
}
