/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_ARM64_IMAGE_H
#define EBB_ARM64_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An arm64 kernel Image (Documentation/arm64/booting.rst), read into memory
 * and, if it was an Image.gz, inflated first. No KVM here: unit tests run
 * this on any host.
 */

#define ARM64_IMAGE_MAGIC	   0x644d5241u /* "ARM\x64" */
#define ARM64_IMAGE_HEADER_SIZE	   64
#define ARM64_IMAGE_DEFAULT_OFFSET 0x80000ull /* text_offset when image_size is 0 */
/* An inflated Image larger than this is refused (a 6.1 distro Image is ~30 MiB). */
#define ARM64_IMAGE_MAX_SIZE (256ull << 20)

struct arm64_image {
	uint8_t *data; /* the uncompressed Image, malloc'd */
	size_t size;
	uint64_t text_offset; /* load at a 2 MiB aligned base + text_offset */
	uint64_t image_size;  /* bytes from the load address the kernel may use */
	bool was_gzip;
};

/*
 * Checks the 64-byte header at buf and fills text_offset and image_size.
 * On failure returns negative errno and writes a one-line reason to err.
 */
int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image *img, char *err,
		      size_t errlen);

/* Takes ownership of buf (malloc'd): inflates it if gzip, then parses. */
int arm64_image_from_buffer(uint8_t *buf, size_t len, struct arm64_image *img, char *err,
			    size_t errlen);

/* Reads path and calls arm64_image_from_buffer(). */
int arm64_image_read(const char *path, struct arm64_image *img, char *err, size_t errlen);

void arm64_image_free(struct arm64_image *img);

#endif
