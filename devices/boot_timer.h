/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_BOOT_TIMER_H
#define EBB_BOOT_TIMER_H

#include <stdint.h>
#include <time.h>

#include "base/bus.h"

/*
 * A write of BOOT_TIMER_MAGIC to this MMIO slot (the guest init does it)
 * logs the time since ebb started, as Firecracker's boot timer does.
 */

#define BOOT_TIMER_MAGIC 123

struct boot_timer {
	struct timespec start; /* CLOCK_MONOTONIC at process start */
	uint64_t boot_time_us; /* atomic; 0 until the guest signals */
};

extern const struct bus_ops boot_timer_bus_ops;

void boot_timer_init(struct boot_timer *bt, const struct timespec *start);

#endif
