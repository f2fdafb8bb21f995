// SPDX-License-Identifier: GPL-2.0
/*
 * Creating a snapshot of a paused VM: the memory file first, then the state
 * file (META, CONF, the architecture's VM state, each vCPU, each device;
 * docs/snapshot.md). A Full memory file and every state file are written
 * next to their target and renamed over it, so a failure leaves the old
 * file as it was, and a VM still running from an old memory file keeps its
 * inode. A Diff is written into its memory file in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/state.h"
#include "base/util.h"
#include "devices/virtio/mmio.h"
#include "vmm/vmm.h"

#define DEVICE_NAME_TAG STATE_TAG('D', 'N', 'A', 'M')

/* ebb's working directory, read before seccomp: relative paths in META are made absolute. */
static char cwd[PATH_MAX];
static bool have_cwd;

int snapshot_attach(struct vmm *vmm)
{
	if (!have_cwd)
		have_cwd = getcwd(cwd, sizeof(cwd)) != NULL;
	int ret = snapshot_mem_attach(vmm);
	if (ret < 0)
		log_err("snapshots: starting dirty page tracking: %s", strerror(-ret));
	return ret;
}

/*
 * What the event loop adds to its allowlist for snapshots: creating the two
 * files next to their targets (never through a symlink) and renaming them
 * into place, writing guest RAM into them, the pagemap and the file's holes,
 * and KVM's dirty log. The architecture adds the reads of its own state.
 */
static const struct seccomp_rule snapshot_seccomp[] = {
	SECCOMP_ALLOW_IF(openat,
			 SECCOMP_ARG_EQ(2, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC),
			 "flags == O_WRONLY|O_CREAT|O_TRUNC|O_NOFOLLOW|O_CLOEXEC",
			 "create a snapshot file under a temporary name beside its target"),
	SECCOMP_ALLOW_IF(openat, SECCOMP_ARG_EQ(2, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC),
			 "flags == O_WRONLY|O_CREAT|O_NOFOLLOW|O_CLOEXEC",
			 "open a Diff's memory file to write it in place"),
	SECCOMP_ARCH_ALLOW(SCMP_ARCH_X86_64, renameat, "move a finished snapshot file into place"),
	SECCOMP_ARCH_ALLOW(SCMP_ARCH_AARCH64, renameat2,
			   "move a finished snapshot file into place (renameat on arm64)"),
	SECCOMP_ALLOW_IF(unlinkat, SECCOMP_ARG_EQ(2, 0), "flags == 0",
			 "remove the temporary file of a snapshot that failed"),
	SECCOMP_ALLOW(ftruncate, "size the memory file to guest RAM (the rest stays holes)"),
	SECCOMP_ALLOW_IF(fallocate, SECCOMP_ARG_EQ(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
			 "mode == PUNCH_HOLE|KEEP_SIZE",
			 "a Diff turns pages given back since the last snapshot into holes"),
	SECCOMP_ALLOW(pwrite64, "write guest RAM into the memory file"),
	SECCOMP_ALLOW(pread64,
		      "read /proc/self/pagemap (opened at start): which pages are resident"),
	SECCOMP_ALLOW_IF(lseek, SECCOMP_ARG_EQ(2, SEEK_DATA), "whence == SEEK_DATA",
			 "find what a memfd or the restored-from memory file holds"),
	SECCOMP_ALLOW_IF(lseek, SECCOMP_ARG_EQ(2, SEEK_HOLE), "whence == SEEK_HOLE",
			 "find what a memfd or the restored-from memory file holds"),
	SECCOMP_ALLOW_IF(newfstatat, SECCOMP_ARG_EQ(3, 0), "flags == 0",
			 "stat: is a target the memory file this VM runs from"),
	SECCOMP_ALLOW_IF(newfstatat, SECCOMP_ARG_EQ(3, AT_EMPTY_PATH), "flags == AT_EMPTY_PATH",
			 "fstat: the memory file's size and blocks"),
	SECCOMP_IOCTL(KVM_GET_DIRTY_LOG, "pages the guest wrote (Diff snapshots, hinting)"),
	SECCOMP_IOCTL(KVM_SET_USER_MEMORY_REGION,
		      "turn on dirty logging when a hinting run starts"),
};

unsigned int snapshot_seccomp_extras(struct seccomp_extra *extra)
{
	unsigned int n = 0;
	extra[n++] = (struct seccomp_extra){ .origin = "snapshot",
					     .rules = snapshot_seccomp,
					     .nr_rules = ARRAY_SIZE(snapshot_seccomp) };
	if (host_arch.nr_snapshot_seccomp)
		extra[n++] = (struct seccomp_extra){ .origin = "snapshot",
						     .rules = host_arch.snapshot_seccomp,
						     .nr_rules = host_arch.nr_snapshot_seccomp };
	return n;
}

int snapshot_open_new(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen)
{
	if ((size_t)snprintf(tmp, tmplen, "%s.ebb-%d.tmp", path, (int)getpid()) >= tmplen) {
		snprintf(err, errlen, "%s: the path is too long", path);
		return -ENAMETOOLONG;
	}
	/* Our own name next to the target; never through a symlink someone left there. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot create a file there: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

int snapshot_commit(int fd, const char *tmp, const char *path, char *err, size_t errlen)
{
	int ret = close(fd) < 0 ? -errno : 0;
	if (ret == 0 && renameat(AT_FDCWD, tmp, AT_FDCWD, path) < 0)
		ret = -errno;
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		unlinkat(AT_FDCWD, tmp, 0);
	}
	return ret;
}

static void discard_new(int fd, const char *tmp)
{
	close(fd);
	unlinkat(AT_FDCWD, tmp, 0);
}

/* ---- the state file's sections ---- */

static json_t *meta_json(struct vmm *vmm, const struct snapshot_create_args *a,
			 const struct snapshot_mem_stats *st)
{
	const struct vm *vm = &vmm->vm;
	json_t *regions = json_array(), *devices = json_array();
	for (unsigned int i = 0; regions && i < vm->mem.nr_regions; i++)
		json_array_append_new(regions,
				      json_pack("[I, I]", (json_int_t)vm->mem.regions[i].gpa,
						(json_int_t)vm->mem.regions[i].size));
	for (unsigned int i = 0; devices && i < vm->nr_devices; i++)
		json_array_append_new(devices, json_string(vm->devices[i].name));
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:i, s:o, s:I, s:I}", "ebb_version",
			 EBB_VERSION, "snapshot_type", a->type == SNAPSHOT_DIFF ? "Diff" : "Full",
			 "mem_file_path", a->mem_file_path, "mem_size",
			 (json_int_t)vm->mem.ram_size, "page_size", (json_int_t)vm->mem.page_size,
			 "regions", regions, "vcpus", (int)vm->nr_vcpus, "devices", devices,
			 "created_unix", (json_int_t)time(NULL), "pages_written",
			 (json_int_t)st->pages_written);
}

static int add_json(struct snapfile_writer *w, uint32_t tag, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	int ret = snapfile_add(w, tag, 0, text, strlen(text));
	free(text);
	return ret;
}

static int add_stream(struct snapfile_writer *w, uint32_t tag, uint32_t index,
		      struct state_stream *s, int ret)
{
	if (ret == 0)
		ret = s->error;
	if (ret == 0)
		ret = snapfile_add(w, tag, index, s->data, s->len);
	state_free(s);
	return ret;
}

static int save_device(struct snapfile_writer *w, struct device *d, unsigned int index)
{
	struct state_stream s;
	char name[sizeof(d->name)];
	state_writer_init(&s);
	memset(name, 0, sizeof(name));
	snprintf(name, sizeof(name), "%s", d->name);
	state_put(&s, DEVICE_NAME_TAG, name, sizeof(name));
	struct virtio_mmio *t = d->type->transport ? d->type->transport(d->dev) : NULL;
	if (t)
		pthread_mutex_lock(&t->lock);
	int ret = d->type->save(d->dev, &s);
	if (t)
		pthread_mutex_unlock(&t->lock);
	if (ret < 0)
		log_err("snapshot: saving %s: %s", d->name, strerror(-ret));
	return add_stream(w, SNAP_DEVICE, index, &s, ret);
}

static int build_state(struct vmm *vmm, const struct snapshot_create_args *a,
		       const struct snapshot_mem_stats *st, struct snapfile_writer *w)
{
	struct vm *vm = &vmm->vm;
	int ret = snapfile_writer_init(w, vm->arch->name,
				       a->type == SNAPSHOT_DIFF ? SNAPFILE_F_DIFF : 0);
	if (ret == 0)
		ret = add_json(w, SNAP_META, meta_json(vmm, a, st));
	if (ret == 0)
		ret = add_json(w, SNAP_CONFIG, snapshot_config_json(vmm->cfg));
	struct state_stream s;
	if (ret == 0) {
		state_writer_init(&s);
		ret = add_stream(w, SNAP_ARCH, 0, &s, vm->arch->vm_save(vm->arch_vm, &s));
	}
	for (unsigned int i = 0; ret == 0 && i < vm->nr_vcpus; i++) {
		state_writer_init(&s);
		ret = vm->arch->vcpu_save(vm->arch_vm, vm->vcpus[i].fd, &s);
		if (ret < 0)
			log_err("snapshot: saving vCPU %u: %s", i, strerror(-ret));
		ret = add_stream(w, SNAP_VCPU, i, &s, ret);
	}
	for (unsigned int i = 0; ret == 0 && i < vm->nr_devices; i++)
		ret = save_device(w, &vm->devices[i], i);
	return ret;
}

/* ---- checks before anything is written ---- */

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static int check_create(struct vmm *vmm, const struct snapshot_create_args *a, char *err,
			size_t errlen)
{
	struct vm *vm = &vmm->vm;
	struct stat st, own;
	if (!vm->arch->vm_save || !vm->arch->vcpu_save) {
		snprintf(err, errlen, "snapshots are not supported on %s yet", vm->arch->name);
		return -ENOTSUP;
	}
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		if (!vm->devices[i].type->save) {
			snprintf(err, errlen,
				 "%s cannot be saved yet: no snapshots of a VM with it",
				 vm->devices[i].name);
			return -ENOTSUP;
		}
	}
	if (!vcpus_paused(vm)) {
		snprintf(err, errlen,
			 "the microVM is running: pause it first (PATCH /vm {\"state\": "
			 "\"Paused\"})");
		return -EBUSY;
	}
	if (a->type == SNAPSHOT_DIFF && !mem_tracking(&vm->mem)) {
		snprintf(err, errlen,
			 "a Diff snapshot needs dirty page tracking: "
			 "machine-config.track_dirty_pages "
			 "at boot, or track_dirty_pages on snapshot/load");
		return -EINVAL;
	}
	if (strcmp(a->snapshot_path, a->mem_file_path) == 0 ||
	    same_file(a->snapshot_path, a->mem_file_path)) {
		snprintf(err, errlen, "snapshot_path and mem_file_path name the same file");
		return -EINVAL;
	}
	/* Writing into the file this VM's RAM is mapped from would change the guest under it. */
	if (vm->mem.file_fd >= 0 && fstat(vm->mem.file_fd, &own) == 0) {
		const char *paths[] = { a->mem_file_path, a->snapshot_path };
		for (unsigned int i = 0; i < 2; i++) {
			if (stat(paths[i], &st) == 0 && st.st_dev == own.st_dev &&
			    st.st_ino == own.st_ino) {
				snprintf(err, errlen,
					 "%s is the memory file this microVM runs from; write the "
					 "snapshot elsewhere",
					 paths[i]);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* A relative path as the restoring process will need it: from where ebb started. */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	char *out = NULL;
	if (have_cwd && asprintf(&out, "%s/%s", cwd, path) < 0)
		out = NULL;
	return out ? out : strdup(path);
}

static int write_memory(struct vmm *vmm, const struct snapshot_create_args *a,
			struct snapshot_mem_stats *st, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 32];
	int ret;
	if (a->type == SNAPSHOT_DIFF) {
		int fd = open(a->mem_file_path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			int e = errno;
			snprintf(err, errlen, "mem_file_path %s: %s", a->mem_file_path,
				 strerror(e));
			return -e;
		}
		ret = snapshot_mem_write(vmm, fd, a->type, st, err, errlen);
		if (close(fd) < 0 && ret == 0) {
			ret = -errno;
			snprintf(err, errlen, "mem_file_path %s: %s", a->mem_file_path,
				 strerror(errno));
		}
		return ret;
	}
	int fd = snapshot_open_new(a->mem_file_path, tmp, sizeof(tmp), err, errlen);
	if (fd < 0)
		return fd;
	ret = snapshot_mem_write(vmm, fd, a->type, st, err, errlen);
	if (ret < 0) {
		discard_new(fd, tmp);
		return ret;
	}
	return snapshot_commit(fd, tmp, a->mem_file_path, err, errlen);
}

static int write_state(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 32];
	int fd = snapshot_open_new(path, tmp, sizeof(tmp), err, errlen);
	if (fd < 0)
		return fd;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			snprintf(err, errlen, "snapshot_path %s: %s", path, strerror(e));
			discard_new(fd, tmp);
			return -e;
		}
		done += (size_t)w;
	}
	return snapshot_commit(fd, tmp, path, err, errlen);
}

int snapshot_create(struct vmm *vmm, const struct snapshot_create_args *args, char *err,
		    size_t errlen)
{
	struct snapshot_mem_stats st;
	struct snapfile_writer w;
	const uint8_t *data;
	size_t len;
	int ret = check_create(vmm, args, err, errlen);
	if (ret < 0)
		return ret;
	char *mem_path = absolute(args->mem_file_path);
	if (!mem_path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct snapshot_create_args a = *args;
	a.mem_file_path = mem_path;
	ret = write_memory(vmm, args, &st, err, errlen);
	if (ret == 0) {
		ret = build_state(vmm, &a, &st, &w);
		if (ret == 0)
			ret = snapfile_finish(&w, &data, &len);
		if (ret < 0)
			snprintf(err, errlen, "building the state file: %s", strerror(-ret));
		else
			ret = write_state(args->snapshot_path, data, len, err, errlen);
		snapfile_writer_free(&w);
	}
	free(mem_path);
	if (ret < 0)
		return ret;
	vmm->snapshot.created++;
	log_info("snapshot (%s): %llu MiB of RAM written (%llu MiB allocated, %llu MiB hinted free "
		 "left out) in %llu ms; state %zu KiB in %s",
		 args->type == SNAPSHOT_DIFF ? "Diff" : "Full",
		 (unsigned long long)(st.pages_written * 4096 >> 20),
		 (unsigned long long)(st.bytes_allocated >> 20),
		 (unsigned long long)(st.pages_hinted_out * 4096 >> 20),
		 (unsigned long long)(st.ns / 1000000), len >> 10, args->snapshot_path);
	return 0;
}
