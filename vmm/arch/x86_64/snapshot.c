// SPDX-License-Identifier: GPL-2.0
/*
 * x86_64 state for snapshots. A vCPU: CPUID, registers, special registers,
 * XSAVE (or the legacy FPU), XCRs, debug registers, every MSR KVM can save,
 * the LAPIC, the MP state, pending events and the TSC frequency. The VM:
 * both PICs, the IOAPIC, the PIT, the KVM clock, and the platform devices
 * (UART, i8042, ACPI power management). Each piece is one record of the
 * state stream; a piece whose size depends on the host (XSAVE, CPUID, MSRs)
 * is preceded by a length record, so a file from a host with other sizes
 * fails with -EPROTO instead of restoring a short buffer.
 *
 * Restore follows the order KVM needs (QEMU's): MSRs after the special
 * registers, the LAPIC after the MP state, the TSC deadline after the LAPIC
 * (it is ignored unless the LAPIC timer is in deadline mode) and after the
 * TSC itself, and pending events last.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "base/util.h"
#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/snapshot.h"
#include "vmm/arch/x86_64/x86.h"

#define MSR_IA32_TSC	      0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

#define TAG_LEN	   STATE_TAG('X', 'L', 'E', 'N')
#define TAG_CAPS   STATE_TAG('X', 'C', 'A', 'P')
#define TAG_CPUID  STATE_TAG('X', 'C', 'P', 'I')
#define TAG_MP	   STATE_TAG('X', 'M', 'P', 'S')
#define TAG_REGS   STATE_TAG('X', 'R', 'E', 'G')
#define TAG_SREGS  STATE_TAG('X', 'S', 'R', 'G')
#define TAG_XSAVE  STATE_TAG('X', 'S', 'A', 'V')
#define TAG_FPU	   STATE_TAG('X', 'F', 'P', 'U')
#define TAG_XCRS   STATE_TAG('X', 'X', 'C', 'R')
#define TAG_DEBUG  STATE_TAG('X', 'D', 'B', 'G')
#define TAG_LAPIC  STATE_TAG('X', 'L', 'A', 'P')
#define TAG_TSCKHZ STATE_TAG('X', 'T', 'S', 'C')
#define TAG_MSRS   STATE_TAG('X', 'M', 'S', 'R')
#define TAG_EVENTS STATE_TAG('X', 'E', 'V', 'T')
#define TAG_PIC	   STATE_TAG('X', 'P', 'I', 'C')
#define TAG_PIT	   STATE_TAG('X', 'P', 'I', 'T')
#define TAG_CLOCK  STATE_TAG('X', 'C', 'L', 'K')
#define TAG_PM	   STATE_TAG('X', 'A', 'P', 'M')

#define VCPU_STATE_VERSION 1

/* Which optional pieces follow; a restoring host must have them all. */
struct vcpu_caps {
	uint32_t version;
	uint32_t xsave_size; /* 0: the legacy FPU record instead */
	uint8_t xcrs;
	uint8_t pad[7];
};

static int put_blob(struct state_stream *s, uint32_t tag, const void *data, uint32_t len)
{
	uint32_t n = len;
	state_put(s, TAG_LEN, &n, sizeof(n));
	return state_put(s, tag, data, len);
}

/* A length-prefixed record into a fresh buffer of at most max bytes. */
static int get_blob(struct state_stream *s, uint32_t tag, uint32_t max, void **data, uint32_t *len)
{
	uint32_t n;
	int ret = state_get(s, TAG_LEN, &n, sizeof(n));
	if (ret < 0)
		return ret;
	if (n > max)
		return s->error = -EPROTO;
	*data = calloc(1, n ? n : 1);
	if (!*data)
		return s->error = -ENOMEM;
	ret = state_get(s, tag, *data, n);
	if (ret < 0) {
		free(*data);
		*data = NULL;
		return ret;
	}
	*len = n;
	return 0;
}

static int xsave_size(int kvm_fd)
{
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) <= 0)
		return 0;
	int size = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	return size > (int)sizeof(struct kvm_xsave) ? size : (int)sizeof(struct kvm_xsave);
}

/* ---- MSRs ---- */

static struct kvm_msr_list *msr_index_list(int kvm_fd)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return NULL;
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return NULL;
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return NULL;
	}
	return list;
}

/*
 * Reads every MSR KVM lists. KVM_GET_MSRS stops at the first one this vCPU
 * does not have (its CPUID hides the feature): that one is dropped and the
 * read goes on from there.
 */
static int save_msrs(struct arch_vm *a, int vcpu_fd, struct state_stream *s)
{
	struct kvm_msr_list *list = msr_index_list(a->kvm_fd);
	if (!list)
		return errno ? -errno : -ENOMEM;
	size_t n = list->nmsrs;
	struct kvm_msr_entry *entries = calloc(n ? n : 1, sizeof(*entries));
	struct kvm_msrs *call = calloc(1, sizeof(*call) + n * sizeof(struct kvm_msr_entry));
	int ret = entries && call ? 0 : -ENOMEM;
	size_t kept = 0, done = 0;
	for (size_t i = 0; ret == 0 && i < n; i++)
		entries[kept++].index = list->indices[i];
	while (ret == 0 && done < kept) {
		call->nmsrs = kept - done;
		memcpy(call->entries, &entries[done], call->nmsrs * sizeof(*entries));
		int got = ioctl(vcpu_fd, KVM_GET_MSRS, call);
		if (got < 0) {
			ret = -errno;
			break;
		}
		memcpy(&entries[done], call->entries, got * sizeof(*entries));
		done += got;
		if (done < kept) {
			memmove(&entries[done], &entries[done + 1],
				(kept - done - 1) * sizeof(*entries));
			kept--;
		}
	}
	if (ret == 0)
		ret = put_blob(s, TAG_MSRS, entries, kept * sizeof(*entries));
	free(call);
	free(entries);
	free(list);
	return ret;
}

/* Sets entries whose index passes want(); -EIO naming the MSR KVM refused. */
static int set_msrs(int vcpu_fd, const struct kvm_msr_entry *all, size_t n,
		    bool (*want)(uint32_t index))
{
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(struct kvm_msr_entry));
	if (!msrs)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (want(all[i].index))
			msrs->entries[k++] = all[i];
	msrs->nmsrs = k;
	int set = k ? ioctl(vcpu_fd, KVM_SET_MSRS, msrs) : 0;
	int ret = 0;
	if (set < 0) {
		ret = -errno;
	} else if ((size_t)set != k) {
		log_err("restoring MSR 0x%x (value 0x%llx): KVM refused it",
			msrs->entries[set].index, (unsigned long long)msrs->entries[set].data);
		ret = -EIO;
	}
	free(msrs);
	return ret;
}

static bool is_tsc(uint32_t index)
{
	return index == MSR_IA32_TSC;
}

static bool is_plain_msr(uint32_t index)
{
	return index != MSR_IA32_TSC && index != MSR_IA32_TSC_DEADLINE;
}

static bool is_tsc_deadline(uint32_t index)
{
	return index == MSR_IA32_TSC_DEADLINE;
}

/* ---- one vCPU ---- */

#define GET(req, ptr)                                                       \
	do {                                                                \
		if (ioctl(vcpu_fd, (req), (ptr)) < 0) {                     \
			ret = -errno;                                       \
			log_err("snapshot: %s: %s", #req, strerror(errno)); \
			goto out;                                           \
		}                                                           \
	} while (0)

int x86_vcpu_save(struct arch_vm *a, int vcpu_fd, struct state_stream *s)
{
	struct vcpu_caps caps = { .version = VCPU_STATE_VERSION,
				  .xsave_size = xsave_size(a->kvm_fd),
				  .xcrs = ioctl(a->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0 };
	struct kvm_cpuid2 *cpuid = NULL;
	void *xsave = NULL;
	int ret = 0;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs debug;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;

	state_put(s, TAG_CAPS, &caps, sizeof(caps));
	/* MP state first: reading it lets the LAPIC take pending INIT/SIPI, which changes the rest.
	 */
	GET(KVM_GET_MP_STATE, &mp);
	cpuid = x86_cpuid_of_vcpu(vcpu_fd);
	if (!cpuid) {
		ret = -errno ? -errno : -ENOMEM;
		log_err("snapshot: KVM_GET_CPUID2: %s", strerror(-ret));
		goto out;
	}
	put_blob(s, TAG_CPUID, cpuid, sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0]));
	state_put(s, TAG_MP, &mp, sizeof(mp));
	GET(KVM_GET_REGS, &regs);
	state_put(s, TAG_REGS, &regs, sizeof(regs));
	GET(KVM_GET_SREGS, &sregs);
	state_put(s, TAG_SREGS, &sregs, sizeof(sregs));
	if (caps.xsave_size) {
		xsave = calloc(1, caps.xsave_size);
		if (!xsave) {
			ret = -ENOMEM;
			goto out;
		}
		GET(caps.xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
		    xsave);
		put_blob(s, TAG_XSAVE, xsave, caps.xsave_size);
	} else {
		struct kvm_fpu fpu;
		GET(KVM_GET_FPU, &fpu);
		state_put(s, TAG_FPU, &fpu, sizeof(fpu));
	}
	if (caps.xcrs) {
		struct kvm_xcrs xcrs;
		GET(KVM_GET_XCRS, &xcrs);
		state_put(s, TAG_XCRS, &xcrs, sizeof(xcrs));
	}
	GET(KVM_GET_DEBUGREGS, &debug);
	state_put(s, TAG_DEBUG, &debug, sizeof(debug));
	GET(KVM_GET_LAPIC, &lapic);
	state_put(s, TAG_LAPIC, &lapic, sizeof(lapic));
	int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	uint32_t tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	state_put(s, TAG_TSCKHZ, &tsc_khz, sizeof(tsc_khz));
	ret = save_msrs(a, vcpu_fd, s);
	if (ret < 0) {
		log_err("snapshot: reading MSRs: %s", strerror(-ret));
		goto out;
	}
	/* Events last: the other reads may still change what is pending. */
	GET(KVM_GET_VCPU_EVENTS, &events);
	state_put(s, TAG_EVENTS, &events, sizeof(events));
	ret = s->error;
out:
	free(cpuid);
	free(xsave);
	return ret;
}

#define SET(req, ptr)                                                      \
	do {                                                               \
		if (ioctl(vcpu_fd, (req), (ptr)) < 0) {                    \
			ret = -errno;                                      \
			log_err("restore: %s: %s", #req, strerror(errno)); \
			goto out;                                          \
		}                                                          \
	} while (0)

/* The records in the order they were saved. */
struct vcpu_records {
	struct vcpu_caps caps;
	struct kvm_cpuid2 *cpuid;
	uint32_t cpuid_len;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	void *xsave;
	uint32_t xsave_len;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debug;
	struct kvm_lapic_state lapic;
	uint32_t tsc_khz;
	struct kvm_msr_entry *msrs;
	uint32_t msrs_len;
	struct kvm_vcpu_events events;
};

static int read_records(struct arch_vm *a, struct state_stream *s, struct vcpu_records *r)
{
	state_get(s, TAG_CAPS, &r->caps, sizeof(r->caps));
	if (s->error)
		return s->error;
	if (r->caps.version != VCPU_STATE_VERSION)
		return -EPROTO;
	if (r->caps.xsave_size != (uint32_t)xsave_size(a->kvm_fd)) {
		log_err("restore: the snapshot's XSAVE area is %u bytes, this host's %d",
			r->caps.xsave_size, xsave_size(a->kvm_fd));
		return -EPROTO;
	}
	if (r->caps.xcrs && ioctl(a->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) <= 0) {
		log_err("restore: the snapshot has XCRs, this host's KVM does not");
		return -EPROTO;
	}
	if (get_blob(s, TAG_CPUID,
		     sizeof(struct kvm_cpuid2) + 4096 * sizeof(struct kvm_cpuid_entry2),
		     (void **)&r->cpuid, &r->cpuid_len) < 0)
		return s->error;
	if (r->cpuid_len < sizeof(*r->cpuid) ||
	    r->cpuid_len != sizeof(*r->cpuid) + r->cpuid->nent * sizeof(r->cpuid->entries[0]))
		return -EPROTO;
	state_get(s, TAG_MP, &r->mp, sizeof(r->mp));
	state_get(s, TAG_REGS, &r->regs, sizeof(r->regs));
	state_get(s, TAG_SREGS, &r->sregs, sizeof(r->sregs));
	if (r->caps.xsave_size)
		get_blob(s, TAG_XSAVE, r->caps.xsave_size, &r->xsave, &r->xsave_len);
	else
		state_get(s, TAG_FPU, &r->fpu, sizeof(r->fpu));
	if (r->caps.xcrs)
		state_get(s, TAG_XCRS, &r->xcrs, sizeof(r->xcrs));
	state_get(s, TAG_DEBUG, &r->debug, sizeof(r->debug));
	state_get(s, TAG_LAPIC, &r->lapic, sizeof(r->lapic));
	state_get(s, TAG_TSCKHZ, &r->tsc_khz, sizeof(r->tsc_khz));
	if (s->error == 0)
		get_blob(s, TAG_MSRS, 4096 * sizeof(struct kvm_msr_entry), (void **)&r->msrs,
			 &r->msrs_len);
	state_get(s, TAG_EVENTS, &r->events, sizeof(r->events));
	if (s->error)
		return s->error;
	if (r->xsave_len != r->caps.xsave_size || r->msrs_len % sizeof(struct kvm_msr_entry))
		return -EPROTO;
	return 0;
}

/* A guest's TSC runs at the rate it booted with: ask KVM to scale if this host differs. */
static int restore_tsc_khz(int vcpu_fd, uint32_t khz)
{
	int now = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	if (!khz || now <= 0 || (uint32_t)now == khz)
		return 0;
	if (ioctl(vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0) {
		log_err("restore: the guest's TSC ran at %u kHz, this host's at %d kHz, and KVM "
			"cannot scale it: %s",
			khz, now, strerror(errno));
		return -errno;
	}
	return 0;
}

int x86_vcpu_restore(struct arch_vm *a, int vcpu_fd, struct state_stream *s)
{
	struct vcpu_records r;
	memset(&r, 0, sizeof(r));
	int ret = read_records(a, s, &r);
	if (ret < 0)
		goto out;
	size_t nmsrs = r.msrs_len / sizeof(struct kvm_msr_entry);
	SET(KVM_SET_CPUID2, r.cpuid);
	ret = restore_tsc_khz(vcpu_fd, r.tsc_khz);
	if (ret < 0)
		goto out;
	SET(KVM_SET_REGS, &r.regs);
	if (r.caps.xsave_size)
		SET(KVM_SET_XSAVE, r.xsave); /* takes the XSAVE2 size too */
	else
		SET(KVM_SET_FPU, &r.fpu);
	if (r.caps.xcrs)
		SET(KVM_SET_XCRS, &r.xcrs);
	SET(KVM_SET_SREGS, &r.sregs);
	/* The TSC before the rest (TSC_ADJUST and the clock MSRs depend on it). */
	ret = set_msrs(vcpu_fd, r.msrs, nmsrs, is_tsc);
	if (ret == 0)
		ret = set_msrs(vcpu_fd, r.msrs, nmsrs, is_plain_msr);
	if (ret < 0)
		goto out;
	SET(KVM_SET_MP_STATE, &r.mp);
	SET(KVM_SET_LAPIC, &r.lapic);
	ret = set_msrs(vcpu_fd, r.msrs, nmsrs, is_tsc_deadline);
	if (ret < 0)
		goto out;
	SET(KVM_SET_VCPU_EVENTS, &r.events);
	SET(KVM_SET_DEBUGREGS, &r.debug);
out:
	free(r.cpuid);
	free(r.xsave);
	free(r.msrs);
	return ret;
}

/* ---- the VM ---- */

struct pm_record {
	uint8_t slp_typ;
	uint8_t sleep_status;
	uint8_t pad[6];
};

int x86_vm_save(struct arch_vm *a, struct state_stream *s)
{
	int vm_fd = a->vm_fd;
	for (uint32_t chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_IOAPIC; chip++) {
		struct kvm_irqchip ic = { .chip_id = chip };
		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &ic) < 0) {
			log_err("snapshot: KVM_GET_IRQCHIP %u: %s", chip, strerror(errno));
			return -errno;
		}
		state_put(s, TAG_PIC, &ic, sizeof(ic));
	}
	struct kvm_pit_state2 pit;
	if (ioctl(vm_fd, KVM_GET_PIT2, &pit) < 0) {
		log_err("snapshot: KVM_GET_PIT2: %s", strerror(errno));
		return -errno;
	}
	state_put(s, TAG_PIT, &pit, sizeof(pit));
	struct kvm_clock_data clock;
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm_fd, KVM_GET_CLOCK, &clock) < 0) {
		log_err("snapshot: KVM_GET_CLOCK: %s", strerror(errno));
		return -errno;
	}
	state_put(s, TAG_CLOCK, &clock, sizeof(clock));
	struct pm_record pm = {
		.slp_typ = __atomic_load_n(&a->pm.slp_typ, __ATOMIC_ACQUIRE),
		.sleep_status = __atomic_load_n(&a->pm.sleep_status, __ATOMIC_ACQUIRE),
	};
	state_put(s, TAG_PM, &pm, sizeof(pm));
	serial_save(&a->serial, s);
	i8042_save(&a->i8042, s);
	return s->error;
}

int x86_vm_restore(struct arch_vm *a, struct state_stream *s, bool clock_realtime)
{
	int vm_fd = a->vm_fd;
	struct kvm_irqchip ic[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct pm_record pm;
	for (uint32_t chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_IOAPIC; chip++)
		state_get(s, TAG_PIC, &ic[chip], sizeof(ic[chip]));
	state_get(s, TAG_PIT, &pit, sizeof(pit));
	state_get(s, TAG_CLOCK, &clock, sizeof(clock));
	state_get(s, TAG_PM, &pm, sizeof(pm));
	if (s->error == 0)
		serial_restore(&a->serial, s);
	if (s->error == 0)
		i8042_restore(&a->i8042, s);
	if (s->error)
		return s->error;
	for (uint32_t chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_IOAPIC; chip++) {
		if (ic[chip].chip_id != chip)
			return -EPROTO;
		if (ioctl(vm_fd, KVM_SET_IRQCHIP, &ic[chip]) < 0) {
			log_err("restore: KVM_SET_IRQCHIP %u: %s", chip, strerror(errno));
			return -errno;
		}
	}
	if (ioctl(vm_fd, KVM_SET_PIT2, &pit) < 0) {
		log_err("restore: KVM_SET_PIT2: %s", strerror(errno));
		return -errno;
	}
	/* KVM_CLOCK_REALTIME moves the clock on by the wall time since it was read. */
	bool realtime = clock_realtime && (clock.flags & KVM_CLOCK_REALTIME);
	if (clock_realtime && !realtime)
		log_warn("restore: clock_realtime: the snapshot's clock has no wall time; the "
			 "guest's clock resumes where it stopped");
	clock.flags = realtime ? KVM_CLOCK_REALTIME : 0;
	if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0) {
		log_err("restore: KVM_SET_CLOCK: %s", strerror(errno));
		return -errno;
	}
	__atomic_store_n(&a->pm.slp_typ, pm.slp_typ, __ATOMIC_RELEASE);
	__atomic_store_n(&a->pm.sleep_status, pm.sleep_status, __ATOMIC_RELEASE);
	return 0;
}
