/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_SNAPFILE_H
#define EBB_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The container of a snapshot's state file (docs/snapshot.md): a fixed
 * header naming the format version and the architecture, then sections
 * (a tag, an index and a length each), then a trailer with a CRC-32C of
 * everything before it. The reader checks the header field by field, so a
 * file of another version or architecture gets a message that says so, then
 * the size and the checksum, then that every section lies inside the file.
 * It knows nothing of what the sections hold.
 */

#define SNAPFILE_MAGIC	     "EBBSNAP\n"
#define SNAPFILE_VERSION     1
#define SNAPFILE_ARCH_LEN    16
#define SNAPFILE_HEADER_LEN  64
#define SNAPFILE_SECTION_LEN 16
#define SNAPFILE_TRAILER_LEN 8
#define SNAPFILE_END_MAGIC   0x21444e45u /* "END!" */
/* A state file is small (no guest memory); anything bigger is not one of ours. */
#define SNAPFILE_MAX_SIZE (64u << 20)

/* Header flags. */
#define SNAPFILE_F_DIFF 0x1u /* the memory file holds only the pages dirtied since the last one */

#define SNAPFILE_TAG(a, b, c, d) \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

struct snapfile_header {
	char magic[8];
	uint32_t version;
	uint32_t header_len;
	char arch[SNAPFILE_ARCH_LEN]; /* NUL-padded */
	uint64_t file_size;	      /* header, sections and trailer */
	uint32_t nr_sections;
	uint32_t flags;
	uint8_t reserved[16];
};

struct snapfile_section {
	uint32_t tag;
	uint32_t index; /* which vCPU or device; 0 for the one-of-a-kind */
	uint64_t len;	/* payload bytes; the payload is padded to 8 */
};

/* A file being written: sections are appended to a growing buffer. */
struct snapfile_writer {
	uint8_t *data;
	size_t len, cap;
	uint32_t nr_sections;
	int error; /* sticky, negative errno */
};

int snapfile_writer_init(struct snapfile_writer *w, const char *arch, uint32_t flags);
int snapfile_add(struct snapfile_writer *w, uint32_t tag, uint32_t index, const void *data,
		 size_t len);
/* Completes header and trailer; *data and *len stay valid until snapfile_writer_free(). */
int snapfile_finish(struct snapfile_writer *w, const uint8_t **data, size_t *len);
void snapfile_writer_free(struct snapfile_writer *w);

/* A verified file, read in place (data must outlive it). */
struct snapfile {
	const uint8_t *data;
	size_t len;
	uint32_t flags;
	uint32_t nr_sections;
	char arch[SNAPFILE_ARCH_LEN + 1];
};

/*
 * Checks data[0..len) as a state file for arch: magic, version, header size,
 * architecture, file size, checksum and section bounds, in that order.
 * Returns 0, or -EINVAL (not a snapshot, or damaged), -EPROTONOSUPPORT
 * (another format version), -EXDEV (another architecture), with one line in
 * err saying what is wrong.
 */
int snapfile_open(struct snapfile *f, const void *data, size_t len, const char *arch, char *err,
		  size_t errlen);
/* The payload of section (tag, index); -ENOENT when there is none. */
int snapfile_find(const struct snapfile *f, uint32_t tag, uint32_t index, const void **data,
		  size_t *len);
/* How many sections carry tag. */
unsigned int snapfile_count(const struct snapfile *f, uint32_t tag);

uint32_t snapfile_crc32c(uint32_t crc, const void *data, size_t len);

#endif
