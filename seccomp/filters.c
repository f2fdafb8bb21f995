// SPDX-License-Identifier: GPL-2.0
/*
 * The allowlists, one table per thread role and one row per rule. A syscall
 * may have several rows (ioctl, one per request code); rows for the same
 * syscall are alternatives. Keep the reason short and true.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/mman.h>
#include <asm/ioctls.h>

#include "seccomp/seccomp.h"
#include "base/util.h"

#define ARG_EQ	       SECCOMP_ARG_EQ
#define ARG_BITS_CLEAR SECCOMP_ARG_BITS_CLEAR
#define ALLOW	       SECCOMP_ALLOW
#define ALLOW_IF       SECCOMP_ALLOW_IF
#define IOCTL	       SECCOMP_IOCTL
#define X86_64	       SCMP_ARCH_X86_64
#define AARCH64	       SCMP_ARCH_AARCH64

/*
 * x86's KVM_GET_LAPIC (struct kvm_lapic_state: 1 KiB), spelt out because every
 * host lists x86's rows and arm64's headers cannot size that struct.
 */
#define X86_KVM_GET_LAPIC _IOC(_IOC_READ, KVMIO, 0x8e, 1024)

static const struct seccomp_rule vcpu_rules[] = {
	IOCTL(KVM_RUN, "run the guest"),
	IOCTL(KVM_IRQ_LINE, "the UART raises its interrupt from a register write"),
	SECCOMP_ARCH_IOCTL(
		X86_64, KVM_GET_REGS,
		"registers: a fatal exit's message, a stop by a signal or at --level debug"),
	SECCOMP_ARCH_IOCTL(
		X86_64, KVM_GET_SREGS,
		"registers: a fatal exit's message, a stop by a signal or at --level debug"),
	SECCOMP_ARCH_IOCTL(
		AARCH64, KVM_GET_ONE_REG,
		"registers: a fatal exit's message, a stop by a signal or at --level debug"),
	SECCOMP_ARCH_IOCTL(X86_64, KVM_GET_MP_STATE, "the same message: is the vCPU halted"),
	{ "ioctl",
	  1,
	  { ARG_EQ(1, X86_KVM_GET_LAPIC) },
	  "request == KVM_GET_LAPIC",
	  "the same message: an interrupt pending in a halted vCPU",
	  X86_64 },
	ALLOW(write, "guest console to stdout, log lines, eventfd kicks"),
	ALLOW(futex, "device locks"),
	ALLOW(clock_gettime, "boot timer: process CPU time has no vDSO path"),
	ALLOW(rt_sigreturn, "return from the vCPU kick signal handler"),
	ALLOW_IF(madvise, ARG_EQ(2, MADV_DONTNEED), "advice == MADV_DONTNEED",
		 "glibc trims a thread's stack when it exits"),
	ALLOW(rt_sigprocmask, "glibc blocks signals while a thread exits"),
	ALLOW(brk, "malloc trims the heap when an exiting thread returns its cache"),
	ALLOW(exit, "the thread ends when ebb stops"),
	ALLOW(exit_group, "exit after a trapped violation (--level debug)"),
};

static const struct seccomp_rule vmm_rules[] = {
	SECCOMP_ARCH_ALLOW(X86_64, epoll_wait, "the device event loop"),
	SECCOMP_ARCH_ALLOW(AARCH64, epoll_pwait, "the device event loop (epoll_wait on arm64)"),
	ALLOW(epoll_ctl, "console input is watched and unwatched at run time"),
	ALLOW(read, "eventfds, timerfds, the signalfd, stdin"),
	ALLOW(write, "irqfds, eventfds, logs, metrics"),
	ALLOW_IF(madvise, ARG_EQ(2, MADV_DONTNEED), "advice == MADV_DONTNEED",
		 "glibc trims a thread's stack when it exits"),
	IOCTL(KVM_IRQ_LINE, "console input raises the UART interrupt"),
	IOCTL(KVM_SET_USER_MEMORY_REGION,
	      "a spare memory slot made and deleted frees KVM's page tables of memory given back"),
	ALLOW(pread64, "read /proc/self/pagemap (opened at start): which zero pages are resident"),
	ALLOW(mincore,
	      "how much guest RAM is resident: a zero-page sweep waits for it to hold still"),
	IOCTL(TCSETS, "restore the terminal on exit"),
	ALLOW(futex, "locks and cross-thread calls"),
	ALLOW(clock_gettime, "timestamps when the vDSO cannot answer"),
	ALLOW_IF(mmap, ARG_BITS_CLEAR(2, PROT_EXEC), "prot has no PROT_EXEC", "malloc"),
	ALLOW_IF(mprotect, ARG_BITS_CLEAR(2, PROT_EXEC), "prot has no PROT_EXEC",
		 "malloc grows thread arenas"),
	ALLOW(brk, "malloc"),
	ALLOW(munmap, "free, and unmapping guest memory on exit"),
	ALLOW(rt_sigprocmask, "pthread_kill and thread exit block signals"),
	ALLOW(getpid, "pthread_kill names the process"),
	ALLOW_IF(tgkill, ARG_EQ(2, SECCOMP_DATUM_KICK_SIGNAL), "signal == vCPU kick",
		 "kick vCPUs out of KVM_RUN to stop them"),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFL), "cmd == F_SETFL", "restore stdin's flags on exit"),
	ALLOW(close, "closing fds on exit"),
	ALLOW(exit, "the event loop thread ends"),
	ALLOW(exit_group, "the process ends"),
};

static const struct seccomp_rule api_rules[] = {
	SECCOMP_ARCH_ALLOW(X86_64, epoll_wait, "wait for API connections and requests"),
	SECCOMP_ARCH_ALLOW(AARCH64, epoll_pwait,
			   "wait for API connections and requests (epoll_wait on arm64)"),
	ALLOW(epoll_ctl, "libmicrohttpd tracks connections"),
	ALLOW(accept4, "accept clients on the socket bound before the filter"),
	ALLOW(recvfrom, "requests"),
	ALLOW(sendmsg, "responses"),
	ALLOW(sendto, "responses"),
	ALLOW(write, "logs, and kicking the event loop with a request"),
	ALLOW(shutdown, "closing API connections"),
	ALLOW(close, "closing API connections"),
	ALLOW_IF(unlinkat, ARG_EQ(0, SECCOMP_DATUM_API_SOCKET_DIR), "dirfd == the socket's directory",
		 "remove the API socket on exit"),
	ALLOW(futex, "waiting for the event loop's answer"),
	ALLOW(clock_gettime, "connection timeouts"),
	ALLOW_IF(mmap, ARG_BITS_CLEAR(2, PROT_EXEC), "prot has no PROT_EXEC", "malloc"),
	ALLOW_IF(mprotect, ARG_BITS_CLEAR(2, PROT_EXEC), "prot has no PROT_EXEC",
		 "malloc grows thread arenas"),
	ALLOW(munmap, "free"),
	ALLOW(brk, "malloc"),
	ALLOW_IF(madvise, ARG_EQ(2, MADV_DONTNEED), "advice == MADV_DONTNEED",
		 "glibc trims a thread's stack when it exits"),
	ALLOW(rt_sigprocmask, "glibc blocks signals while a thread exits"),
	ALLOW(exit, "the thread ends"),
	ALLOW(exit_group, "exit after a trapped violation (--level debug)"),
};

static const struct seccomp_table tables[SECCOMP_NR_ROLES] = {
	[SECCOMP_ROLE_VMM] = { "vmm", vmm_rules, ARRAY_SIZE(vmm_rules) },
	[SECCOMP_ROLE_VCPU] = { "vcpu", vcpu_rules, ARRAY_SIZE(vcpu_rules) },
	[SECCOMP_ROLE_API] = { "api", api_rules, ARRAY_SIZE(api_rules) },
};

const struct seccomp_table *seccomp_table(enum seccomp_role role)
{
	return role < SECCOMP_NR_ROLES ? &tables[role] : NULL;
}
