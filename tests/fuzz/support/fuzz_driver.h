/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_FUZZ_DRIVER_H
#define EBB_FUZZ_DRIVER_H

/*
 * A virtio driver whose every move comes from a fuzz input, on top of the
 * unit tests' fake driver (tests/unit/support/fake_driver.h). Guest RAM is
 * small (1 MiB) so that a buffer spanning all of it stays cheap under ASan:
 * data in [0, FZ_DATA_SIZE), and each queue's rings at a fixed slot in the
 * top 256 KiB, re-zeroed whenever the queue is set up again.
 *
 * Besides memory safety, it checks the virtio protocol as a driver sees it:
 * the device completes only chains that were made available and not yet
 * completed, and at the end of an input every chain on a live queue has come
 * back (but for what the harness allows the device to hold). An input that
 * voids the driver's own bookkeeping (raw register writes, a made-up avail
 * index, a device write into the rings through a buffer it was given, more
 * chains out than the ring has entries) marks itself hostile, and only
 * memory safety is checked from then on.
 */

#include <stdbool.h>
#include <stdint.h>

#include "tests/fuzz/support/fuzz_input.h"
#include "tests/unit/support/fake_driver.h"

#define FZ_RAM_SIZE  (1ull << 20)
#define FZ_RING_SLOT (32ull << 10)
#define FZ_RING_BASE (FZ_RAM_SIZE - FAKE_MAX_QUEUES * FZ_RING_SLOT)
#define FZ_DATA_SIZE FZ_RING_BASE
#define FZ_MAX_QUEUE 1024 /* the largest queue a ring slot holds */
#define FZ_MAX_OPS   128  /* operations per input */

/* The operations every device harness shares; a harness numbers its own from FZ_NR_OPS. */
enum fz_op {
	FZ_OP_CHAIN,	 /* a chain of up to 8 buffers */
	FZ_OP_INDIRECT,	 /* the same through an indirect table */
	FZ_OP_REPEAT,	 /* one buffer up to 300 times in one chain */
	FZ_OP_DESC,	 /* any value in any descriptor */
	FZ_OP_HEAD,	 /* any head in the avail ring */
	FZ_OP_KICK,	 /* QueueNotify, then the event loop until idle */
	FZ_OP_POKE,	 /* bytes into guest data memory */
	FZ_OP_U32S,	 /* an arithmetic run of u32 values into guest data memory */
	FZ_OP_REQUEUE,	 /* QueueReady 0, then maybe set the queue up again */
	FZ_OP_RESET,	 /* Status 0 */
	FZ_OP_BRING_UP,	 /* negotiate, set up every queue, DRIVER_OK */
	FZ_OP_SUPPRESS,	 /* avail flags and used_event */
	FZ_OP_AVAIL_IDX, /* a made-up avail index (hostile) */
	FZ_OP_REGISTER,	 /* any register write (hostile) */
	FZ_OP_RUN,	 /* the event loop until idle, nothing notified */
	FZ_NR_OPS,
};

struct fz_track {
	uint16_t pending[FZ_MAX_QUEUE]; /* per head: made available, not completed */
	uint32_t nr_pending;
};

struct fuzz_driver {
	struct fake_driver fake;
	struct fz_track track[FAKE_MAX_QUEUES];
	bool hostile;
	/*
	 * Pages the input or the device may have written, zeroed before the next
	 * input: cheaper here than a discard (page faults, TLB shootdowns).
	 */
	uint8_t dirty[FZ_RAM_SIZE / 4096];
	bool dirty_all; /* writes went where the harness cannot tell */
};

/* Once per process: guest RAM. */
void fzd_init(struct fuzz_driver *d);
/*
 * Per input, before the device is created: RAM is zeroed and the event loop
 * is a new one, so nothing a device left in the old loop carries over. A
 * hostile input has no protocol checks and may write anywhere.
 */
void fzd_begin(struct fuzz_driver *d, bool hostile);
/* The device to drive: a new one, or one restored from the old one's saved state. */
void fzd_attach(struct fuzz_driver *d, struct virtio_mmio *t);
/* Per input, after the device is destroyed: the event loop goes. */
void fzd_end(struct fuzz_driver *d);

/* Features (offered & input's mask, VERSION_1 kept), every queue, DRIVER_OK. */
void fzd_bring_up(struct fuzz_driver *d, struct fuzz_input *in);
/* Queue idx of size entries at its fixed slot; zeroes its rings. */
void fzd_setup_queue(struct fuzz_driver *d, unsigned int idx, uint16_t size);
/* A guest address in the data area for len bytes, from two input bytes. */
uint64_t fzd_data_gpa(struct fuzz_input *in, uint64_t len, uint64_t align);
/* One buffer: data area, page-aligned, any length, or any address at all. */
void fzd_buf(struct fuzz_driver *d, struct fuzz_input *in, struct fake_buf *b);
/* Makes a chain available on queue idx (tracked); false if the queue has no rings. */
bool fzd_chain(struct fuzz_driver *d, unsigned int idx, const struct fake_buf *bufs,
	       unsigned int n);
/* The device may write [gpa, gpa + len): into the rings, that voids the checks. */
void fzd_device_writes(struct fuzz_driver *d, uint64_t gpa, uint64_t len);
/* The harness writes guest memory (mem_write, and the page is zeroed after the input). */
void fzd_write(struct fuzz_driver *d, uint64_t gpa, const void *src, uint64_t len);
/* Something may have written anywhere in guest RAM. */
void fzd_dirty_all(struct fuzz_driver *d);

/* QueueNotify idx, run the loop until idle, take what was used. */
void fzd_kick(struct fuzz_driver *d, unsigned int idx);
/* Runs the loop until idle, then takes and checks every used entry. */
void fzd_run(struct fuzz_driver *d);
/* Runs one shared operation; false if op is not one (a device operation). */
bool fzd_op(struct fuzz_driver *d, struct fuzz_input *in, unsigned int op);
/* End of input: notifies every queue, runs, and checks nothing was left behind. */
void fzd_finish(struct fuzz_driver *d, const unsigned int may_hold[FAKE_MAX_QUEUES]);

#endif
