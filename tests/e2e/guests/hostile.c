// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest for tests/e2e/31-hostile-guest.sh: a bare ELF "kernel"
 * (no Linux) that drives the virtio-balloon at ebb's first device slot
 * directly and floods it. ebb enters it in 64-bit mode with the first 4 GiB
 * identity-mapped and RSI pointing at the zero page; the command line picks
 * the flood:
 *   mode=inflate  inflate chains of 256 buffers that each span all of RAM,
 *                 resubmitted as fast as they come back, forever;
 *   mode=log      every guest-triggered message ebb has, forever: actual
 *                 around the target, FEATURES_OK with a feature never
 *                 offered, DRIVER_OK without FEATURES_OK after a reset.
 * It never returns; ebb is stopped from outside.
 */
#include <stdint.h>

#define MMIO_BASE 0xd0001000ull
#define RAM_BYTES (128u << 20) /* the test boots it with --mem-mib 128 */

/* virtio-mmio v2 registers (linux/virtio_mmio.h) */
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DESC_HIGH	0x084
#define REG_QUEUE_AVAIL_LOW	0x090
#define REG_QUEUE_AVAIL_HIGH	0x094
#define REG_QUEUE_USED_LOW	0x0a0
#define REG_QUEUE_USED_HIGH	0x0a4
#define REG_CONFIG		0x100

#define STATUS_ACK	   1
#define STATUS_DRIVER	   2
#define STATUS_DRIVER_OK   4
#define STATUS_FEATURES_OK 8

#define QUEUE_SIZE 256
#define DESC_NEXT  1

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Rings in guest RAM at 32 MiB, far from this program (16 MiB) and its stack. */
#define DESC_GPA  0x2000000ull
#define AVAIL_GPA 0x2010000ull
#define USED_GPA  0x2020000ull

static inline void w32(uint64_t off, uint32_t v)
{
	*(volatile uint32_t *)(MMIO_BASE + off) = v;
}

static inline uint32_t r32(uint64_t off)
{
	return *(volatile uint32_t *)(MMIO_BASE + off);
}

static void start_device(void)
{
	w32(REG_STATUS, 0);
	w32(REG_STATUS, STATUS_ACK | STATUS_DRIVER);
	w32(REG_DRIVER_FEATURES_SEL, 1);
	w32(REG_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 */
	w32(REG_DRIVER_FEATURES_SEL, 0);
	w32(REG_DRIVER_FEATURES, 0);
	w32(REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
}

static void flood_inflate(void)
{
	volatile struct desc *d = (volatile struct desc *)DESC_GPA;
	volatile uint16_t *avail = (volatile uint16_t *)AVAIL_GPA; /* flags, idx, ring[] */
	volatile uint16_t *used = (volatile uint16_t *)USED_GPA;   /* flags, idx, ring[] */
	start_device();
	for (unsigned int i = 0; i < QUEUE_SIZE; i++) {
		d[i].addr = 0;
		d[i].len = RAM_BYTES;
		d[i].flags = i + 1 < QUEUE_SIZE ? DESC_NEXT : 0;
		d[i].next = (uint16_t)(i + 1);
	}
	w32(REG_QUEUE_SEL, 0); /* inflate */
	w32(REG_QUEUE_NUM, QUEUE_SIZE);
	w32(REG_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	w32(REG_QUEUE_DESC_HIGH, 0);
	w32(REG_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA);
	w32(REG_QUEUE_AVAIL_HIGH, 0);
	w32(REG_QUEUE_USED_LOW, (uint32_t)USED_GPA);
	w32(REG_QUEUE_USED_HIGH, 0);
	w32(REG_QUEUE_READY, 1);
	w32(REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	uint16_t next = 0;
	for (;;) {
		/* Keep the ring full of the same 256-buffer chain (head 0). */
		uint16_t first = next;
		while ((uint16_t)(next - used[1]) < QUEUE_SIZE) {
			avail[2 + next % QUEUE_SIZE] = 0;
			next++;
			__atomic_store_n(&avail[1], next, __ATOMIC_RELEASE);
		}
		/*
		 * A kick per refill, not a kick per spin on a full ring: the lab's
		 * nested SVM (QEMU TCG) loads this vCPU with its host's registers
		 * after enough in-kernel MMIO notifies (docs/SPEC.md section 15).
		 */
		if (next != first)
			w32(REG_QUEUE_NOTIFY, 0);
		else
			__asm__ volatile("pause");
	}
}

static void flood_log(void)
{
	for (;;) {
		start_device();
		w32(REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
		/* actual around the target (0): up, then down */
		w32(REG_CONFIG + 4, 256);
		w32(REG_CONFIG + 4, 0);
		/* FEATURES_OK with a feature never offered */
		w32(REG_STATUS, 0);
		w32(REG_DRIVER_FEATURES_SEL, 1);
		w32(REG_DRIVER_FEATURES, 0x80000001u);
		w32(REG_STATUS, STATUS_FEATURES_OK);
		/* DRIVER_OK without FEATURES_OK, after a reset */
		w32(REG_STATUS, 0);
		w32(REG_STATUS, STATUS_DRIVER_OK);
		(void)r32(REG_STATUS);
	}
}

static int has_word(const char *s, const char *word)
{
	for (; *s; s++) {
		const char *a = s, *b = word;
		while (*a && *b && *a == *b)
			a++, b++;
		if (!*b && (!*a || *a == ' '))
			return 1;
	}
	return 0;
}

void guest_main(const uint8_t *zero_page)
{
	const char *cmdline = (const char *)(uintptr_t)*(const uint32_t *)(zero_page + 0x228);
	if (has_word(cmdline, "mode=log"))
		flood_log();
	flood_inflate();
}

/* Our own stack: the boot stack is a few KiB under the page tables. */
uint8_t hostile_stack[16384] __attribute__((aligned(16)));

__attribute__((naked, noreturn, section(".text.start"))) void _start(void)
{
	__asm__ volatile("lea hostile_stack+16384(%rip), %rsp\n\t"
			 "mov %rsi, %rdi\n\t"
			 "call guest_main\n\t"
			 "1: hlt\n\t"
			 "jmp 1b");
}
