// SPDX-License-Identifier: GPL-2.0
#include "base/bus.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *dev, const char *name)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	if (bus->nr_ranges == BUS_MAX_RANGES)
		return -ENOSPC;

	unsigned int pos = 0;
	while (pos < bus->nr_ranges && bus->ranges[pos].base < base)
		pos++;
	if (pos > 0) {
		const struct bus_range *prev = &bus->ranges[pos - 1];
		if (prev->base + prev->len > base)
			return -EEXIST;
	}
	if (pos < bus->nr_ranges && base + len > bus->ranges[pos].base)
		return -EEXIST;

	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->nr_ranges - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){
		.base = base, .len = len, .ops = ops, .dev = dev, .name = name,
	};
	bus->nr_ranges++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, unsigned int len)
{
	unsigned int lo = 0, hi = bus->nr_ranges;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			/* The whole access must fit in the range. */
			return addr - r->base + len <= r->len ? r : NULL;
		}
	}
	return NULL;
}

void bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int len)
{
	const struct bus_range *r = bus_find(bus, addr, len);
	if (r && r->ops->read) {
		r->ops->read(r->dev, addr - r->base, data, len);
		return;
	}
	memset(data, 0xff, len);
	uint64_t n = __atomic_add_fetch(&bus->unhandled_reads, 1, __ATOMIC_RELAXED);
	if (log_nth_worthy(n))
		log_debug("%s: unhandled read at 0x%llx len %u (%llu so far)", bus->name,
			  (unsigned long long)addr, len, (unsigned long long)n);
}

void bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int len)
{
	const struct bus_range *r = bus_find(bus, addr, len);
	if (r && r->ops->write) {
		r->ops->write(r->dev, addr - r->base, data, len);
		return;
	}
	uint64_t n = __atomic_add_fetch(&bus->unhandled_writes, 1, __ATOMIC_RELAXED);
	if (log_nth_worthy(n))
		log_debug("%s: unhandled write at 0x%llx len %u (%llu so far)", bus->name,
			  (unsigned long long)addr, len, (unsigned long long)n);
}
