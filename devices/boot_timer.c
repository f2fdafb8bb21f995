// SPDX-License-Identifier: GPL-2.0
#include "devices/boot_timer.h"

#include <string.h>

#include "base/log.h"

void boot_timer_init(struct boot_timer *bt, const struct timespec *start)
{
	memset(bt, 0, sizeof(*bt));
	bt->start = *start;
}

static uint64_t elapsed_us(const struct timespec *from, const struct timespec *to)
{
	return (uint64_t)(to->tv_sec - from->tv_sec) * 1000000 +
	       (to->tv_nsec - from->tv_nsec) / 1000;
}

static void boot_timer_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct boot_timer *bt = dev;
	if (offset != 0 || ((const uint8_t *)data)[0] != BOOT_TIMER_MAGIC)
		return;
	struct timespec now, cpu;
	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	uint64_t wall = elapsed_us(&bt->start, &now);
	uint64_t cpu_us = (uint64_t)cpu.tv_sec * 1000000 + cpu.tv_nsec / 1000;
	uint64_t expected = 0;
	if (!__atomic_compare_exchange_n(&bt->boot_time_us, &expected, wall ? wall : 1, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return; /* only the first signal counts */
	log_info("Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		 (unsigned long long)wall, (unsigned long long)(wall / 1000),
		 (unsigned long long)cpu_us, (unsigned long long)(cpu_us / 1000));
}

static void boot_timer_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	memset(data, 0, len);
}

const struct bus_ops boot_timer_bus_ops = {
	.read = boot_timer_read,
	.write = boot_timer_write,
};
