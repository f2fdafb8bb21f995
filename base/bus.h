/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_BUS_H
#define EBB_BUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * An address space (PIO or MMIO) mapping ranges to device register handlers.
 * Ranges are registered before the vCPUs start and never change afterwards,
 * so lookups need no lock. Each device serialises its own handlers.
 */

struct bus_ops {
	void (*read)(void *dev, uint64_t offset, void *data, unsigned int len);
	void (*write)(void *dev, uint64_t offset, const void *data, unsigned int len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *dev;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name;
	unsigned int nr_ranges;
	struct bus_range ranges[BUS_MAX_RANGES];
	uint64_t unhandled_reads;  /* atomic */
	uint64_t unhandled_writes; /* atomic */
};

void bus_init(struct bus *bus, const char *name);
/* Returns -EEXIST on overlap, -ENOSPC when full, -EINVAL for an empty range. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *dev, const char *name);
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, unsigned int len);

/*
 * Dispatch an access. Unhandled reads return all-ones (a floating bus) and
 * are counted, as are unhandled writes; neither is fatal.
 */
void bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int len);
void bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int len);

#endif
