// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/bus.h"
#include "base/log.h"

struct fake_dev {
	uint64_t last_offset;
	uint8_t last_value;
	unsigned int reads, writes;
};

static void fake_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	struct fake_dev *d = dev;
	d->reads++;
	d->last_offset = offset;
	memset(data, 0x5a, len);
}

static void fake_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct fake_dev *d = dev;
	d->writes++;
	d->last_offset = offset;
	d->last_value = ((const uint8_t *)data)[0];
}

static const struct bus_ops fake_ops = { .read = fake_read, .write = fake_write };

static void test_dispatch_and_offsets(void **state)
{
	struct bus bus;
	struct fake_dev a = { 0 }, b = { 0 };
	bus_init(&bus, "test");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &fake_ops, &a, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x60, 5, &fake_ops, &b, "b"), 0);

	uint8_t v = 0x42;
	bus_write(&bus, 0x3fb, &v, 1);
	assert_int_equal(a.writes, 1);
	assert_int_equal(a.last_offset, 3);
	assert_int_equal(a.last_value, 0x42);
	bus_write(&bus, 0x64, &v, 1);
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.last_offset, 4);

	uint8_t r = 0;
	bus_read(&bus, 0x3f8, &r, 1);
	assert_int_equal(r, 0x5a);
}

static void test_unhandled_is_counted_not_fatal(void **state)
{
	struct bus bus;
	struct fake_dev a = { 0 };
	bus_init(&bus, "test");
	assert_int_equal(bus_register(&bus, 0x1000, 0x100, &fake_ops, &a, "a"), 0);

	uint32_t r = 0;
	bus_read(&bus, 0x80, &r, 4);
	assert_int_equal(r, 0xffffffff);
	bus_write(&bus, 0x2000, &r, 4);
	/* An access that starts inside but runs past the range is not the device's. */
	bus_read(&bus, 0x10fe, &r, 4);
	assert_int_equal(a.reads, 0);
	assert_int_equal(bus.unhandled_reads, 2);
	assert_int_equal(bus.unhandled_writes, 1);
}

/* A guest's unhandled accesses are all counted, but logged less and less often. */
static void test_unhandled_logging_thins_out(void **state)
{
	unsigned int logged = 0;
	for (unsigned long long n = 1; n <= 1000000; n++)
		logged += log_nth_worthy(n);
	assert_int_equal(logged, LOG_LIMIT_BURST + 17); /* then 8, 16, ..., 2^19 */
	assert_true(log_nth_worthy(1) && log_nth_worthy(LOG_LIMIT_BURST));
	assert_false(log_nth_worthy(LOG_LIMIT_BURST + 1));
	assert_true(log_nth_worthy(1024));
	assert_false(log_nth_worthy(1025));
}

static void test_overlaps_refused(void **state)
{
	struct bus bus;
	struct fake_dev a = { 0 };
	bus_init(&bus, "test");
	assert_int_equal(bus_register(&bus, 0x1000, 0x1000, &fake_ops, &a, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x1800, 0x1000, &fake_ops, &a, "b"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x800, 0x1000, &fake_ops, &a, "c"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x2000, 0x1000, &fake_ops, &a, "d"), 0);
	assert_int_equal(bus_register(&bus, 0x0, 0x1000, &fake_ops, &a, "e"), 0);
	assert_int_equal(bus_register(&bus, 0x5000, 0, &fake_ops, &a, "f"), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX - 10, 100, &fake_ops, &a, "g"), -EINVAL);
	assert_int_equal(bus.nr_ranges, 3);
	assert_non_null(bus_find(&bus, 0x2fff, 1));
	assert_null(bus_find(&bus, 0x3000, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_and_offsets),
		cmocka_unit_test(test_unhandled_is_counted_not_fatal),
		cmocka_unit_test(test_overlaps_refused),
		cmocka_unit_test(test_unhandled_logging_thins_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
