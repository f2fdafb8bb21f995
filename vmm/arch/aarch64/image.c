// SPDX-License-Identifier: GPL-2.0
/* The arm64 Image header (booting.rst, section 4) and Image.gz inflation. */
#include "vmm/arch/aarch64/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What a file that is not an arm64 Image most likely is, for the message. */
static const char *what_else(const uint8_t *buf, size_t len)
{
	if (len >= 4 && !memcmp(buf,
				"\x7f"
				"ELF",
				4))
		return " (it is an ELF file; ebb boots an arm64 Image or Image.gz)";
	if (len >= 0x206 && !memcmp(buf + 0x202, "HdrS", 4))
		return " (it is an x86 bzImage)";
	return "";
}

int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image *img, char *err,
		      size_t errlen)
{
	if (len < ARM64_IMAGE_HEADER_SIZE) {
		snprintf(err, errlen,
			 "truncated: %zu bytes, shorter than the %d-byte arm64 Image header", len,
			 ARM64_IMAGE_HEADER_SIZE);
		return -ENOEXEC;
	}
	uint32_t magic = le32(buf + 56);
	if (magic != ARM64_IMAGE_MAGIC) {
		snprintf(err, errlen, "not an arm64 Image: no \"ARM\\x64\" magic at offset 56%s",
			 what_else(buf, len));
		return -ENOEXEC;
	}
	uint64_t text_offset = le64(buf + 8);
	uint64_t image_size = le64(buf + 16);
	uint64_t flags = le64(buf + 24);
	if (image_size == 0) {
		/* Before v3.17: the offset is 0x80000 and the size unknown. */
		text_offset = ARM64_IMAGE_DEFAULT_OFFSET;
		image_size = len;
	}
	if (flags & 1) {
		snprintf(err, errlen,
			 "a big-endian kernel (header flags bit 0); KVM guests here are "
			 "little-endian");
		return -ENOEXEC;
	}
	if (text_offset >= (2u << 20) || (text_offset & 0xfff)) {
		snprintf(err, errlen,
			 "bad text_offset 0x%llx in the Image header (must be page aligned, below "
			 "2 MiB)",
			 (unsigned long long)text_offset);
		return -ENOEXEC;
	}
	if (image_size < len || image_size > ARM64_IMAGE_MAX_SIZE) {
		snprintf(err, errlen, "bad image_size %llu in the Image header for a %zu-byte file",
			 (unsigned long long)image_size, len);
		return -ENOEXEC;
	}
	img->text_offset = text_offset;
	img->image_size = image_size;
	return 0;
}

/* Inflates a gzip stream into a new buffer of at most ARM64_IMAGE_MAX_SIZE. */
static int gunzip(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, char *err,
		  size_t errlen)
{
	z_stream zs = { 0 };
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		snprintf(err, errlen, "zlib: inflateInit2 failed");
		return -ENOMEM;
	}
	size_t cap = in_len * 4 > (1u << 20) ? in_len * 4 : (1u << 20), used = 0;
	uint8_t *buf = NULL;
	int ret = -ENOEXEC, z = Z_OK;
	zs.next_in = (Bytef *)in;
	zs.avail_in = in_len;
	while (z != Z_STREAM_END) {
		if (!buf || used == cap) {
			if (buf)
				cap *= 2;
			if (cap > ARM64_IMAGE_MAX_SIZE)
				cap = ARM64_IMAGE_MAX_SIZE;
			if (buf && used == cap) {
				snprintf(err, errlen, "Image.gz inflates to more than %llu MiB",
					 (unsigned long long)(ARM64_IMAGE_MAX_SIZE >> 20));
				goto out;
			}
			uint8_t *bigger = realloc(buf, cap);
			if (!bigger) {
				ret = -ENOMEM;
				snprintf(err, errlen, "out of memory inflating Image.gz");
				goto out;
			}
			buf = bigger;
		}
		zs.next_out = buf + used;
		zs.avail_out = cap - used;
		z = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
		if (z == Z_STREAM_END)
			break;
		if (z != Z_OK && z != Z_BUF_ERROR) {
			snprintf(err, errlen, "corrupt gzip data: %s",
				 zs.msg ? zs.msg : "inflate failed");
			goto out;
		}
		if (z == Z_BUF_ERROR && zs.avail_in == 0) {
			snprintf(err, errlen, "truncated gzip data");
			goto out;
		}
	}
	*out = buf;
	*out_len = used;
	buf = NULL;
	ret = 0;
out:
	inflateEnd(&zs);
	free(buf);
	return ret;
}

int arm64_image_from_buffer(uint8_t *buf, size_t len, struct arm64_image *img, char *err,
			    size_t errlen)
{
	memset(img, 0, sizeof(*img));
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		uint8_t *plain;
		size_t plain_len;
		int ret = gunzip(buf, len, &plain, &plain_len, err, errlen);
		free(buf);
		if (ret < 0)
			return ret;
		buf = plain;
		len = plain_len;
		img->was_gzip = true;
	}
	int ret = arm64_image_parse(buf, len, img, err, errlen);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	img->data = buf;
	img->size = len;
	return 0;
}

int arm64_image_read(const char *path, struct arm64_image *img, char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "not a regular file");
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > ARM64_IMAGE_MAX_SIZE) {
		close(fd);
		snprintf(err, errlen, "%lld bytes, larger than any arm64 kernel ebb loads",
			 (long long)st.st_size);
		return -EFBIG;
	}
	size_t len = st.st_size;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			free(buf);
			snprintf(err, errlen, "reading: %s", strerror(e));
			return -e;
		}
		done += n;
	}
	close(fd);
	return arm64_image_from_buffer(buf, len, img, err, errlen);
}

void arm64_image_free(struct arm64_image *img)
{
	free(img->data);
	img->data = NULL;
	img->size = 0;
}
