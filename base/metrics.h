/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_METRICS_H
#define EBB_METRICS_H

#include <stddef.h>
#include <stdint.h>

/*
 * A component's counters are a struct of uint64_t; a table names them, so
 * the metrics writer reads every component the same way and a counter is
 * added in one place.
 */
struct metric_field {
	const char *name;
	size_t offset; /* of a uint64_t in the counters struct */
};

#define METRIC(type, field)                   \
	{                                     \
#field, offsetof(type, field) \
	}
#define METRIC_NAMED(name, type, field)     \
	{                                   \
		name, offsetof(type, field) \
	}

static inline uint64_t metric_value(const void *counters, const struct metric_field *f)
{
	uint64_t v;
	__atomic_load((const uint64_t *)((const char *)counters + f->offset), &v, __ATOMIC_RELAXED);
	return v;
}

#endif
