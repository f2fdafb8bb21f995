// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshot state file's container (base/snapfile.c): a file round-trips;
 * every truncation, every flipped byte and every hostile header is refused
 * with an error naming what is wrong, never a crash or an out-of-bounds
 * read (this also runs under ASan); another version or architecture gets
 * its own error code and message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/snapfile.h"

#define TAG_A SNAPFILE_TAG('A', 'A', 'A', 'A')
#define TAG_B SNAPFILE_TAG('B', 'B', 'B', 'B')

/* A file with three sections: A/0 (13 bytes), B/0 (empty), B/1 (100 bytes). */
static uint8_t *make_file(size_t *len, const char *arch, uint32_t flags)
{
	struct snapfile_writer w;
	const uint8_t *data;
	uint8_t payload[100];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	assert_int_equal(snapfile_writer_init(&w, arch, flags), 0);
	assert_int_equal(snapfile_add(&w, TAG_A, 0, "hello, world!", 13), 0);
	assert_int_equal(snapfile_add(&w, TAG_B, 0, NULL, 0), 0);
	assert_int_equal(snapfile_add(&w, TAG_B, 1, payload, sizeof(payload)), 0);
	assert_int_equal(snapfile_finish(&w, &data, len), 0);
	uint8_t *copy = malloc(*len);
	assert_non_null(copy);
	memcpy(copy, data, *len);
	snapfile_writer_free(&w);
	return copy;
}

/* Rewrites the trailer's checksum, as someone editing the file on purpose would. */
static void reseal(uint8_t *data, size_t len)
{
	uint32_t crc = snapfile_crc32c(0, data, len - SNAPFILE_TRAILER_LEN);
	memcpy(data + len - SNAPFILE_TRAILER_LEN, &crc, sizeof(crc));
}

static void test_crc32c_known_value(void **state)
{
	/* The standard check value of CRC-32C. */
	assert_int_equal(snapfile_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(snapfile_crc32c(0, "", 0), 0);
}

static void test_round_trip(void **state)
{
	size_t len;
	uint8_t *data = make_file(&len, "x86_64", SNAPFILE_F_DIFF);
	struct snapfile f;
	char err[256] = "";
	const void *p;
	size_t n;
	assert_int_equal(len % 8, 0);
	assert_int_equal(snapfile_open(&f, data, len, "x86_64", err, sizeof(err)), 0);
	assert_int_equal(f.flags, SNAPFILE_F_DIFF);
	assert_int_equal(f.nr_sections, 3);
	assert_string_equal(f.arch, "x86_64");
	assert_int_equal(snapfile_find(&f, TAG_A, 0, &p, &n), 0);
	assert_int_equal(n, 13);
	assert_memory_equal(p, "hello, world!", 13);
	assert_int_equal(snapfile_find(&f, TAG_B, 0, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(snapfile_find(&f, TAG_B, 1, &p, &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(((const uint8_t *)p)[99], (uint8_t)(99 * 7));
	assert_int_equal(snapfile_find(&f, TAG_A, 1, &p, &n), -ENOENT);
	assert_int_equal(snapfile_count(&f, TAG_B), 2);
	assert_int_equal(snapfile_count(&f, TAG_A), 1);
	free(data);
}

static void test_every_truncation_refused(void **state)
{
	size_t len;
	uint8_t *data = make_file(&len, "x86_64", 0);
	for (size_t cut = 0; cut < len; cut++) {
		/* A heap copy of exactly cut bytes: ASan catches any read past it. */
		uint8_t *part = malloc(cut ? cut : 1);
		memcpy(part, data, cut);
		struct snapfile f;
		char err[256] = "";
		int ret = snapfile_open(&f, part, cut, "x86_64", err, sizeof(err));
		assert_int_equal(ret, -EINVAL);
		if (cut == 0)
			assert_non_null(strstr(err, "empty"));
		else if (cut >= SNAPFILE_HEADER_LEN || cut < 8)
			assert_non_null(strstr(err, "truncated"));
		free(part);
	}
	free(data);
}

static void test_every_flipped_byte_refused(void **state)
{
	size_t len;
	uint8_t *data = make_file(&len, "x86_64", 0);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			uint8_t *bad = malloc(len);
			memcpy(bad, data, len);
			bad[i] ^= (uint8_t)(1u << bit);
			struct snapfile f;
			char err[256] = "";
			int ret = snapfile_open(&f, bad, len, "x86_64", err, sizeof(err));
			/* Some flips in the reserved bytes still fail: the checksum covers them. */
			assert_true(ret < 0);
			assert_true(err[0] != '\0');
			free(bad);
		}
	}
	free(data);
}

static void test_checksum_message(void **state)
{
	size_t len;
	uint8_t *data = make_file(&len, "x86_64", 0);
	data[SNAPFILE_HEADER_LEN + SNAPFILE_SECTION_LEN + 2] ^= 0x20; /* inside section A */
	struct snapfile f;
	char err[256];
	assert_int_equal(snapfile_open(&f, data, len, "x86_64", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "checksum"));
	free(data);
}

static void test_other_architecture(void **state)
{
	size_t len;
	uint8_t *data = make_file(&len, "aarch64", 0);
	struct snapfile f;
	char err[256];
	assert_int_equal(snapfile_open(&f, data, len, "x86_64", err, sizeof(err)), -EXDEV);
	assert_non_null(strstr(err, "made on aarch64"));
	assert_non_null(strstr(err, "x86_64"));
	/* The architecture is read before the checksum: an edited one says so too. */
	memcpy(data + 16, "riscv64\0", 8);
	assert_int_equal(snapfile_open(&f, data, len, "x86_64", err, sizeof(err)), -EXDEV);
	assert_non_null(strstr(err, "riscv64"));
	free(data);
}

static void test_other_version(void **state)
{
	size_t len;
	uint8_t *data = make_file(&len, "x86_64", 0);
	uint32_t v = SNAPFILE_VERSION + 1;
	memcpy(data + 8, &v, sizeof(v));
	struct snapfile f;
	char err[256];
	assert_int_equal(snapfile_open(&f, data, len, "x86_64", err, sizeof(err)),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "version 2"));
	free(data);
}

static void test_not_a_snapshot(void **state)
{
	struct snapfile f;
	char err[256];
	const char *text = "{\"boot-source\": {}}\n";
	assert_int_equal(snapfile_open(&f, text, strlen(text), "x86_64", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not an ebb snapshot"));
}

/* Sections that lie about their size, with a valid checksum: the walk must catch them. */
static void test_hostile_section_lengths(void **state)
{
	size_t len;
	uint8_t *data = make_file(&len, "x86_64", 0);
	const uint64_t lies[] = { 1ull << 40, UINT64_MAX, UINT64_MAX - 3, 200, 17 };
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		uint8_t *bad = malloc(len);
		memcpy(bad, data, len);
		memcpy(bad + SNAPFILE_HEADER_LEN + 8, &lies[i], sizeof(lies[i]));
		reseal(bad, len);
		struct snapfile f;
		char err[256] = "";
		assert_int_equal(snapfile_open(&f, bad, len, "x86_64", err, sizeof(err)), -EINVAL);
		assert_true(strstr(err, "section") || strstr(err, "bytes after"));
		free(bad);
	}
	/* More sections than there are. */
	uint8_t *bad = malloc(len);
	memcpy(bad, data, len);
	uint32_t many = 1000;
	memcpy(bad + 40, &many, sizeof(many));
	reseal(bad, len);
	struct snapfile f;
	char err[256];
	assert_int_equal(snapfile_open(&f, bad, len, "x86_64", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "past the end"));
	free(bad);
	free(data);
}

static void test_file_size_field(void **state)
{
	size_t len;
	uint8_t *data = make_file(&len, "x86_64", 0);
	uint8_t *longer = calloc(1, len + 8);
	memcpy(longer, data, len);
	struct snapfile f;
	char err[256];
	/* Bytes appended after the trailer. */
	assert_int_equal(snapfile_open(&f, longer, len + 8, "x86_64", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "header names"));
	free(longer);
	free(data);
}

static void test_writer_limits(void **state)
{
	struct snapfile_writer w;
	assert_int_equal(snapfile_writer_init(&w, "an-architecture-name-too-long", 0), -EINVAL);
	snapfile_writer_free(&w);
	assert_int_equal(snapfile_writer_init(&w, "x86_64", 0), 0);
	assert_int_equal(snapfile_add(&w, TAG_A, 0, NULL, (size_t)SNAPFILE_MAX_SIZE + 1), -EFBIG);
	/* The error sticks. */
	assert_int_equal(snapfile_add(&w, TAG_A, 0, "x", 1), -EFBIG);
	const uint8_t *data;
	size_t len;
	assert_int_equal(snapfile_finish(&w, &data, &len), -EFBIG);
	snapfile_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_value),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_truncation_refused),
		cmocka_unit_test(test_every_flipped_byte_refused),
		cmocka_unit_test(test_checksum_message),
		cmocka_unit_test(test_other_architecture),
		cmocka_unit_test(test_other_version),
		cmocka_unit_test(test_not_a_snapshot),
		cmocka_unit_test(test_hostile_section_lengths),
		cmocka_unit_test(test_file_size_field),
		cmocka_unit_test(test_writer_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
