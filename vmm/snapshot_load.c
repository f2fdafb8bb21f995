// SPDX-License-Identifier: GPL-2.0
/*
 * Restoring a snapshot into a fresh process: the state file is read whole
 * and checked (snapfile.c), the VM is rebuilt from the configuration it
 * carries, guest RAM maps the memory file MAP_PRIVATE, and then the
 * architecture's VM state, each vCPU's and each device's are set. Until KVM
 * objects exist, every failure is the input's (exit 1, or 400 with the
 * process as fresh as before); after, it is a VM error.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/mmio.h"
#include "vmm/vmm.h"

#define DEVICE_NAME_TAG STATE_TAG('D', 'N', 'A', 'M')

struct loaded {
	uint8_t *data;
	struct snapfile file;
	json_t *meta;
	const char *mem_path;
	int mem_fd;
	void *prepared[DEVICE_MAX_CONFS];
};

static int read_state_file(const char *path, struct loaded *l, const char *arch, char *err,
			   size_t errlen)
{
	char why[400];
	/* O_NONBLOCK: a FIFO named by mistake is refused below instead of hanging here. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errmsg(err, errlen, -errno, "snapshot_path %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SNAPFILE_MAX_SIZE) {
		int e = errno;
		close(fd);
		if (!S_ISREG(st.st_mode))
			return errmsg(err, errlen, -EINVAL, "snapshot_path %s: not a regular file",
				      path);
		return errmsg(err, errlen, -EFBIG, "snapshot_path %s: %s", path,
			      st.st_size > SNAPFILE_MAX_SIZE ? "too big for a state file"
							     : strerror(e));
	}
	size_t len = (size_t)st.st_size;
	l->data = malloc(len ? len : 1);
	if (!l->data) {
		close(fd);
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	}
	size_t done = 0;
	while (done < len) {
		ssize_t r = read(fd, l->data + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	int ret = snapfile_open(&l->file, l->data, done, arch, why, sizeof(why));
	if (ret < 0)
		return errmsg(err, errlen, ret, "snapshot_path %s: %s", path, why);
	return 0;
}

static int json_section(const struct loaded *l, uint32_t tag, json_t **out, char *err,
			size_t errlen)
{
	const void *text;
	size_t len;
	json_error_t jerr;
	if (snapfile_find(&l->file, tag, 0, &text, &len) < 0)
		return errmsg(err, errlen, -EINVAL, "the snapshot has no %.4s section",
			      (const char *)&tag);
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out || !json_is_object(*out))
		return errmsg(err, errlen, -EINVAL,
			      "the snapshot's %.4s section is not a JSON object",
			      (const char *)&tag);
	return 0;
}

static json_int_t meta_int(const json_t *meta, const char *key)
{
	json_t *v = json_object_get(meta, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* The machine the configuration builds must be the one that was saved. */
static int check_machine(struct vm *vm, const struct loaded *l, char *err, size_t errlen)
{
	const json_t *meta = l->meta;
	struct mem_region layout[MEM_MAX_REGIONS];
	unsigned int nr = vm->arch->ram_layout(MiB(vm->cfg->mem_mib), layout);
	json_t *regions = json_object_get(meta, "regions");
	if (meta_int(meta, "vcpus") != (json_int_t)vm->cfg->vcpus ||
	    meta_int(meta, "mem_size") != (json_int_t)MiB(vm->cfg->mem_mib))
		return errmsg(err, errlen, -EINVAL,
			      "the snapshot's description (META) disagrees with its configuration");
	if (!json_is_array(regions) || json_array_size(regions) != nr)
		return errmsg(err, errlen, -EINVAL,
			      "the snapshot's RAM layout is not this machine's");
	for (unsigned int i = 0; i < nr; i++) {
		json_t *r = json_array_get(regions, i);
		json_t *gpa = json_array_get(r, 0), *size = json_array_get(r, 1);
		if (!json_is_integer(gpa) || !json_is_integer(size) ||
		    (uint64_t)json_integer_value(gpa) != layout[i].gpa ||
		    (uint64_t)json_integer_value(size) != layout[i].size)
			return errmsg(err, errlen, -EINVAL,
				      "the snapshot's RAM layout is not this machine's");
	}
	if (snapfile_count(&l->file, SNAP_VCPU) != vm->cfg->vcpus)
		return errmsg(err, errlen, -EINVAL,
			      "the snapshot holds %u vCPUs, its configuration %u",
			      snapfile_count(&l->file, SNAP_VCPU), vm->cfg->vcpus);
	json_t *devices = json_object_get(meta, "devices");
	if (!json_is_array(devices) || json_array_size(devices) != vm->nr_devices ||
	    snapfile_count(&l->file, SNAP_DEVICE) != vm->nr_devices)
		return errmsg(err, errlen, -EINVAL,
			      "the snapshot's devices are not the ones its configuration makes");
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		json_t *name = json_array_get(devices, i);
		if (!json_is_string(name) || strcmp(json_string_value(name), vm->devices[i].name))
			return errmsg(err, errlen, -EINVAL,
				      "device %u of the snapshot is %s, its configuration makes %s",
				      i, json_is_string(name) ? json_string_value(name) : "?",
				      vm->devices[i].name);
	}
	return 0;
}

static int open_memory(struct loaded *l, const struct snapshot_load_args *a, uint64_t ram,
		       char *err, size_t errlen)
{
	json_t *named = json_object_get(l->meta, "mem_file_path");
	l->mem_path = a->mem_file_path	      ? a->mem_file_path
		      : json_is_string(named) ? json_string_value(named)
					      : NULL;
	if (!l->mem_path)
		return errmsg(err, errlen, -EINVAL, "no memory file: the snapshot names none");
	l->mem_fd = open(l->mem_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (l->mem_fd < 0)
		return errmsg(err, errlen, -errno, "memory file %s: %s", l->mem_path,
			      strerror(errno));
	struct stat st;
	if (fstat(l->mem_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return errmsg(err, errlen, -EINVAL, "memory file %s: not a regular file",
			      l->mem_path);
	if ((uint64_t)st.st_size != ram)
		return errmsg(
			err, errlen, -EINVAL,
			"memory file %s: %lld bytes, but the snapshot's RAM is %llu (%llu MiB): "
			"not this snapshot's memory file",
			l->mem_path, (long long)st.st_size, (unsigned long long)ram,
			(unsigned long long)(ram >> 20));
	return 0;
}

/* network_overrides and vsock_override, onto the snapshot's configuration. */
static int apply_overrides(json_t *conf, const struct snapshot_load_args *a, char *err,
			   size_t errlen)
{
	json_t *ifaces = json_object_get(conf, "network-interfaces"), *o, *iface;
	size_t i, j;
	json_array_foreach (a->network_overrides, i, o) {
		const char *id = json_string_value(json_object_get(o, "iface_id"));
		json_t *found = NULL;
		json_array_foreach (ifaces, j, iface) {
			const char *have = json_string_value(json_object_get(iface, "iface_id"));
			if (have && id && !strcmp(have, id))
				found = iface;
		}
		if (!found)
			return errmsg(
				err, errlen, -EINVAL,
				"network_overrides: the snapshot has no network interface \"%s\"",
				id ? id : "");
		if (json_object_set(found, "host_dev_name", json_object_get(o, "host_dev_name")))
			return errmsg(err, errlen, -ENOMEM, "out of memory");
	}
	if (a->vsock_override) {
		json_t *vsock = json_object_get(conf, "vsock");
		if (!json_is_object(vsock))
			return errmsg(err, errlen, -EINVAL,
				      "vsock_override: the snapshot's VM has no vsock device");
		if (json_object_set(vsock, "uds_path",
				    json_object_get(a->vsock_override, "uds_path")))
			return errmsg(err, errlen, -ENOMEM, "out of memory");
	}
	return 0;
}

/* Up to guest RAM: every failure here is the input's, and is undone by the caller. */
static int prepare(struct vmm *vmm, const struct snapshot_load_args *a, struct loaded *l, char *err,
		   size_t errlen)
{
	struct vm *vm = &vmm->vm;
	json_t *conf = NULL;
	int ret = read_state_file(a->snapshot_path, l, vm->arch->name, err, errlen);
	if (ret == 0)
		ret = json_section(l, SNAP_META, &l->meta, err, errlen);
	if (ret == 0)
		ret = json_section(l, SNAP_CONFIG, &conf, err, errlen);
	if (ret == 0)
		ret = apply_overrides(conf, a, err, errlen);
	if (ret < 0) {
		json_decref(conf);
		return ret;
	}
	char *text = json_dumps(conf, JSON_COMPACT);
	json_decref(conf);
	if (!text)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	ret = snapshot_config_apply(vmm->cfg, text, strlen(text), err, errlen);
	free(text);
	if (ret < 0)
		return ret;
	vmm->cfg->track_dirty_pages = a->track_dirty_pages;
	if (vm_plan_devices(vm) < 0)
		return errmsg(err, errlen, -EINVAL, "%s", log_last_error());
	ret = check_machine(vm, l, err, errlen);
	if (ret == 0)
		ret = open_memory(l, a, MiB(vmm->cfg->mem_mib), err, errlen);
	if (ret < 0)
		return ret;
	log_clear_last_error();
	if (vm_prepare_devices(vm, l->prepared) < 0)
		return errmsg(err, errlen, -EINVAL, "%s", log_last_error());
	if (vm->kvm_fd < 0 && vm_open_kvm(vm) < 0)
		return errmsg(err, errlen, -ENODEV, "%s", log_last_error());
	unsigned int limit = MIN(vm->max_vcpus, vm->arch->max_vcpus);
	if (vmm->cfg->vcpus > limit)
		return errmsg(err, errlen, -EINVAL,
			      "the snapshot has %u vCPUs; this host allows %u", vmm->cfg->vcpus,
			      limit);
	struct mem_region layout[MEM_MAX_REGIONS];
	unsigned int nr = vm->arch->ram_layout(MiB(vmm->cfg->mem_mib), layout);
	ret = mem_init_file(&vm->mem, l->mem_fd, layout, nr);
	l->mem_fd = -1; /* the memory owns it now */
	if (ret < 0)
		return errmsg(err, errlen, ret, "mapping the memory file %s: %s", l->mem_path,
			      strerror(-ret));
	vm->mem_ready = true;
	if (vmm->cfg->mem_merge && mem_advise_mergeable(&vm->mem) < 0)
		log_warn("restore: ebb.memory.merge: MADV_MERGEABLE failed; no merging");
	return 0;
}

static int section_stream(const struct loaded *l, uint32_t tag, uint32_t index,
			  struct state_stream *s)
{
	const void *data;
	size_t len;
	if (snapfile_find(&l->file, tag, index, &data, &len) < 0)
		return -ENOENT;
	state_reader_init(s, data, len);
	return 0;
}

/* A restored queue may hold chains the driver made available before the snapshot. */
static void kick_queues(struct virtio_mmio *t)
{
	if (!virtio_mmio_driver_ok(t))
		return;
	for (unsigned int q = 0; q < t->nr_queues; q++) {
		uint64_t one = 1;
		if (t->queues[q].ready && write(t->notifiers[q].fd, &one, sizeof(one)) < 0)
			t->bad_register_accesses++;
	}
}

static int restore_device(struct device *d, const struct loaded *l, unsigned int index)
{
	struct state_stream s;
	char name[sizeof(d->name)];
	if (section_stream(l, SNAP_DEVICE, index, &s) < 0 ||
	    state_get(&s, DEVICE_NAME_TAG, name, sizeof(name)) < 0 ||
	    strncmp(name, d->name, sizeof(name)) != 0 || !d->type->restore)
		return -EPROTO;
	int ret = d->type->restore(d->dev, &s);
	if (ret == 0 && !state_at_end(&s))
		ret = -EPROTO;
	struct virtio_mmio *t = d->type->transport ? d->type->transport(d->dev) : NULL;
	if (ret == 0 && t)
		kick_queues(t);
	return ret;
}

/* From KVM objects on: a failure is a VM error. */
static int build(struct vmm *vmm, const struct snapshot_load_args *a, struct loaded *l, char *err,
		 size_t errlen)
{
	struct vm *vm = &vmm->vm;
	struct state_stream s;
	int ret;
	if (vm_create_kvm(vm) < 0 || vcpus_create(vm, 0) < 0 ||
	    (vm->arch->vcpus_created && vm->arch->vcpus_created(vm->arch_vm, vm->nr_vcpus) < 0) ||
	    vm_create_devices(vm, l->prepared) < 0)
		return errmsg(err, errlen, -EIO, "building the VM: %s", log_last_error());
	if (section_stream(l, SNAP_ARCH, 0, &s) < 0)
		return errmsg(err, errlen, -EPROTO, "the snapshot has no VM state");
	ret = vm->arch->vm_restore(vm->arch_vm, &s, a->clock_realtime);
	if (ret == 0 && !state_at_end(&s))
		ret = -EPROTO;
	if (ret < 0)
		return errmsg(err, errlen, ret, "restoring the VM's state: %s", strerror(-ret));
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = section_stream(l, SNAP_VCPU, i, &s);
		if (ret == 0)
			ret = vm->arch->vcpu_restore(vm->arch_vm, vm->vcpus[i].fd, &s);
		if (ret == 0 && !state_at_end(&s))
			ret = -EPROTO;
		if (ret < 0)
			return errmsg(err, errlen, ret, "restoring vCPU %u: %s", i, strerror(-ret));
	}
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		ret = restore_device(&vm->devices[i], l, i);
		if (ret < 0)
			return errmsg(err, errlen, ret, "restoring %s: %s", vm->devices[i].name,
				      strerror(-ret));
	}
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int snapshot_load(struct vmm *vmm, const struct snapshot_load_args *args, char *err, size_t errlen)
{
	struct vm *vm = &vmm->vm;
	struct loaded l = { .mem_fd = -1 };
	struct vm_config saved;
	struct timespec t0;
	int status = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The paths may live in the configuration, which the snapshot's replaces. */
	struct snapshot_load_args copy = *args, *a = &copy;
	char *snapshot_path = strdup(args->snapshot_path);
	char *mem_path = args->mem_file_path ? strdup(args->mem_file_path) : NULL;
	if (!snapshot_path || (args->mem_file_path && !mem_path)) {
		free(snapshot_path);
		snprintf(err, errlen, "out of memory");
		return EBB_EXIT_USAGE;
	}
	copy.snapshot_path = snapshot_path;
	copy.mem_file_path = mem_path;
	if (!vm->arch->vm_restore || !vm->arch->vcpu_restore) {
		snprintf(err, errlen, "snapshots are not supported on %s yet", vm->arch->name);
		status = EBB_EXIT_USAGE;
		goto out;
	}
	if (config_copy(&saved, vmm->cfg) < 0) {
		snprintf(err, errlen, "out of memory");
		status = EBB_EXIT_USAGE;
		goto out;
	}
	log_clear_last_error();
	if (prepare(vmm, a, &l, err, errlen) < 0) {
		/* As fresh as before: an API client may load another snapshot. */
		vm_unprepare_devices(vm, l.prepared);
		vm_destroy_devices(vm);
		if (vm->mem_ready)
			mem_destroy(&vm->mem);
		vm->mem_ready = false;
		config_free(vmm->cfg);
		*vmm->cfg = saved;
		status = EBB_EXIT_USAGE;
		goto out;
	}
	config_free(&saved);
	if (build(vmm, a, &l, err, errlen) < 0) {
		status = EBB_EXIT_VM_ERROR;
		goto out;
	}
	status = vmm_attach_loop(vmm);
	if (status != 0) {
		snprintf(err, errlen, "%s", log_last_error());
		goto out;
	}
	vmm->snapshot.restored = true;
	__atomic_store_n(&vm->paused, !a->resume_vm, __ATOMIC_RELEASE);
	log_info("restored %s (memory %s): %u vCPU(s), %u MiB, %u device(s) in %.1f ms%s",
		 a->snapshot_path, l.mem_path, vm->nr_vcpus, vmm->cfg->mem_mib, vm->nr_devices,
		 ms_since(&t0), a->resume_vm ? "" : "; paused");
	status = vmm_start_threads(vmm);
	if (status != 0)
		snprintf(err, errlen, "%s", log_last_error());
out:
	vm_unprepare_devices(vm, l.prepared);
	if (l.mem_fd >= 0)
		close(l.mem_fd);
	json_decref(l.meta);
	free(l.data);
	free(snapshot_path);
	free(mem_path);
	return status;
}

int snapshot_restore_cli(struct vmm *vmm)
{
	const struct vm_config *cfg = vmm->cfg;
	struct snapshot_load_args a = {
		.snapshot_path = cfg->restore_path,
		.mem_file_path = cfg->restore_mem_path,
		.resume_vm = !cfg->restore_paused,
		.track_dirty_pages = cfg->track_dirty_pages,
	};
	char err[1024];
	int status = snapshot_load(vmm, &a, err, sizeof(err));
	if (status != 0)
		log_err("--restore: %s", err);
	return status;
}
