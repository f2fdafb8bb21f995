// SPDX-License-Identifier: GPL-2.0
/*
 * guest-irq-frames: finds, in an x86_64 Linux guest's RAM, an interrupt
 * that was delivered while the guest had interrupts off. Real hardware
 * never does that; the lab's nested SVM (QEMU TCG under L1's KVM) has been
 * caught doing it (docs/SPEC.md, finding 16), and a guest it hits hangs in
 * its timer interrupt. The tests run this on a guest that stopped making
 * progress, to tell that lab failure from ebb's.
 *
 *   guest-irq-frames SYMBOLS PID    scans the rw mappings of 32 MiB and more
 *                                   of process PID (ebb's guest RAM)
 *   guest-irq-frames SYMBOLS --ram FILE   scans a file (a copy of guest RAM)
 *
 * SYMBOLS is `nm -n vmlinux` of the guest's kernel. What is looked for:
 * the return address of an interrupt entry stub's call into its handler
 * (asm_sysvec_*, asm_common_interrupt, asm_spurious_interrupt), and 0x88
 * bytes above it, past the 16 words of struct pt_regs below ip, the frame
 * the CPU pushed: a kernel text ip, cs 0x10, and rflags with IF clear.
 * Exit status: 0 one found (each printed), 1 none in all of the RAM, 2
 * none found and an error (part of the RAM unread, say).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK	     (1u << 20)
#define FRAME_SPAN   0xa0 /* return address to the end of the iret frame's rflags */
#define RFLAGS_FIXED 0x2ull
#define RFLAGS_IF    0x200ull
#define KERNEL_CS    0x10
#define MIN_MAPPING  (32ull << 20)

struct sym {
	uint64_t addr;
	char *name;
	bool stub;
};

static struct sym *syms;
static size_t nr_syms;
static uint64_t text_start, text_end;
static int found;

static bool is_stub(const char *name)
{
	return !strncmp(name, "asm_sysvec_", 11) || !strcmp(name, "asm_common_interrupt") ||
	       !strcmp(name, "asm_spurious_interrupt");
}

static int load_symbols(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "guest-irq-frames: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[512], name[256], type;
	uint64_t addr;
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) != 3)
			continue;
		if (!strcmp(name, "_text"))
			text_start = addr;
		else if (!strcmp(name, "_etext"))
			text_end = addr;
		if (type != 't' && type != 'T')
			continue;
		if (nr_syms == cap) {
			cap = cap ? cap * 2 : 4096;
			struct sym *n = realloc(syms, cap * sizeof(*syms));
			if (!n) {
				fclose(f);
				return -1;
			}
			syms = n;
		}
		syms[nr_syms++] = (struct sym){ addr, strdup(name), is_stub(name) };
	}
	fclose(f);
	if (!text_start || text_end <= text_start || !nr_syms) {
		fprintf(stderr,
			"guest-irq-frames: %s: no _text/_etext or text symbols (nm -n vmlinux?)\n",
			path);
		return -1;
	}
	return 0;
}

/* The text symbol at or below addr (nm -n sorts them). */
static const struct sym *sym_of(uint64_t addr)
{
	if (addr < text_start || addr >= text_end)
		return NULL;
	size_t lo = 0, hi = nr_syms;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return syms[lo].addr <= addr ? &syms[lo] : NULL;
}

static uint64_t word(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

/* Scans buf[0, len) for frames whose return address lies below scan_end. */
static void scan(const char *where, uint64_t base, const unsigned char *buf, size_t len,
		 size_t scan_end)
{
	for (size_t o = 0; o + FRAME_SPAN <= len && o < scan_end; o += 8) {
		const struct sym *stub = sym_of(word(buf + o));
		if (!stub || !stub->stub)
			continue;
		uint64_t ip = word(buf + o + 0x88), cs = word(buf + o + 0x90);
		uint64_t flags = word(buf + o + 0x98);
		const struct sym *at = sym_of(ip);
		if (!at || cs != KERNEL_CS || !(flags & RFLAGS_FIXED) || (flags & RFLAGS_IF) ||
		    flags >> 22)
			continue;
		printf("guest-irq-frames: %s+0x%" PRIx64 ": %s entered over %s+0x%" PRIx64
		       " with interrupts off (rflags 0x%" PRIx64 ")\n",
		       where, base + o, stub->name, at->name, ip - at->addr, flags);
		found++;
	}
}

/*
 * Reads [start, end) of fd in chunks that overlap by a frame's span. A read
 * error is one: "none found" must mean all of it was looked at.
 */
static int scan_fd(int fd, const char *where, uint64_t start, uint64_t end)
{
	unsigned char *buf = malloc(CHUNK + FRAME_SPAN);
	int ret = 0;
	if (!buf)
		return -1;
	for (uint64_t off = start; off < end; off += CHUNK) {
		size_t want =
			(size_t)(end - off < CHUNK + FRAME_SPAN ? end - off : CHUNK + FRAME_SPAN);
		ssize_t got = pread(fd, buf, want, (off_t)off);
		if (got < 0) {
			fprintf(stderr,
				"guest-irq-frames: %s: cannot read at +0x%" PRIx64 " of 0x%" PRIx64
				": %s\n",
				where, off - start, end - start, strerror(errno));
			ret = -1;
			break;
		}
		if (got == 0)
			break;
		scan(where, off - start, buf, (size_t)got, CHUNK);
	}
	free(buf);
	return ret;
}

static int scan_process(const char *pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	int fd = open(path, O_RDONLY);
	if (!maps || fd < 0) {
		fprintf(stderr, "guest-irq-frames: process %s: %s\n", pid, strerror(errno));
		if (maps)
			fclose(maps);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char line[512], perms[8];
	uint64_t lo, hi;
	int mappings = 0, ret = 0;
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &lo, &hi, perms) != 3 ||
		    strncmp(perms, "rw", 2) || hi - lo < MIN_MAPPING)
			continue;
		char where[64];
		snprintf(where, sizeof(where), "mapping 0x%" PRIx64, lo);
		if (scan_fd(fd, where, lo, hi) < 0)
			ret = -1;
		mappings++;
	}
	fclose(maps);
	close(fd);
	if (!mappings)
		fprintf(stderr,
			"guest-irq-frames: process %s has no rw mapping of 32 MiB or more\n", pid);
	return mappings ? ret : -1;
}

static void free_symbols(void)
{
	for (size_t i = 0; i < nr_syms; i++)
		free(syms[i].name);
	free(syms);
}

int main(int argc, char **argv)
{
	if (argc < 3 || (!strcmp(argv[2], "--ram") && argc != 4)) {
		fprintf(stderr, "usage: guest-irq-frames SYMBOLS PID | SYMBOLS --ram FILE\n");
		return 2;
	}
	if (load_symbols(argv[1]) < 0) {
		free_symbols();
		return 2;
	}
	int ret;
	if (!strcmp(argv[2], "--ram")) {
		int fd = open(argv[3], O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "guest-irq-frames: %s: %s\n", argv[3], strerror(errno));
			ret = -1;
		} else {
			/* A block device's size is its end, not st_size (0). */
			struct stat st;
			off_t size = fstat(fd, &st) < 0	   ? -1
				     : S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END)
							   : st.st_size;
			if (size < 0) {
				fprintf(stderr, "guest-irq-frames: %s: cannot tell its size: %s\n",
					argv[3], strerror(errno));
				ret = -1;
			} else {
				ret = scan_fd(fd, "ram", 0, (uint64_t)size);
			}
			close(fd);
		}
	} else {
		ret = scan_process(argv[2]);
	}
	free_symbols();
	/* A frame found is proof enough; none found after an error proves nothing. */
	if (found)
		return 0;
	return ret < 0 ? 2 : 1;
}
