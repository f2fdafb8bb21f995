#!/bin/bash
# tools/lab/run turns a failed CMD into a lab failure (125) only when L1's
# kernel printed a fault on its console; otherwise CMD's status stands.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The run's state as tools/lab/run leaves it (a status file, a console log,
# L1's dmesg), then the runner's verdict on it: its notes and lab_fail's
# reason on stderr, its exit status as the subshell's.
finish_run() {  # STATUS CONSOLE_LINE [DMESG_LINE]
	(
		run_dir=$dir
		console_log=$dir/console.log
		lab_fail() { printf 'lab: %s\n' "$*" >&2; exit 125; }
		lab_note() { printf 'lab: %s\n' "$*" >&2; }
		# shellcheck source=/dev/null
		source "$top/tools/lab/boot.sh"
		echo "$1" >"$dir/status"
		printf '[    1.0] booting\n%s\n' "$2" >"$console_log"
		printf '[    1.0] booting\n%s\n' "${3:-}" >"$dir/dmesg"
		lab_exit_with_cmd_status
	)
}
verdict() {  # STATUS CONSOLE_LINE -> prints the exit status the runner gives
	finish_run "$1" "$2" 2>/dev/null && echo 0 || echo $?
}
bad=0
expect() {  # WANT STATUS LINE
	local got
	got=$(verdict "$2" "$3")
	if [ "$got" = "$1" ]; then echo "ok: status $2 with '$3' -> $got"; else echo "FAILED: status $2 with '$3' -> $got, want $1"; bad=1; fi
}
expect 1 1 "[  20.1] virtio_net: all good"
expect 0 0 "[  20.1] BUG: soft lockup - CPU#1 stuck for 23s!"
expect 125 1 "[  20.1] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [ebb-vcpu0:412]"
expect 125 2 "[  20.1] general protection fault, probably for non-canonical address"
expect 125 143 "[  20.1] rcu: INFO: rcu_preempt self-detected stall on CPU"
expect 125 1 "[  20.1] INFO: task khugepaged:51 blocked for more than 120 seconds."
# L1's tracer saw an L2 exit inside L1's VMRUN function (l1-init).
leak="[ 300.2] lab: L2 state leak: an L2 vCPU exited inside L1's __svm_vcpu_run (at 0xffffffffc0415170): QEMU TCG's nested SVM gave it L1's registers:  ebb-vcpu0-1526 [000] ..... 258.1: kvm_exit: vcpu 0 reason npf rip 0xffffffffc041520c info1 0x0000000000000010 info2 0x0000000102a3c000 intr_info 0x00000000 error_code 0x00000000"
expect 125 2 "$leak"
expect 0 0 "$leak"
expect 1 1 "[ 300.2] ebb: L2 state is fine"
# L1's tracer saw an L2 triple fault: only a fetch from kernel text that
# found no page is the lab's; CI's e2e 10, 2 s into a boot with no balloon.
shutdown="[  38.1] lab: L2 shutdown exit:        ebb-vcpu0-337     [000] .....    38.113091: kvm_exit: vcpu 0 reason shutdown"
expect 125 1 "$shutdown rip 0xffffffff81019ded info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000010"
expect 0 0 "$shutdown rip 0xffffffff81019ded info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000010"
# ci40's e2e 12: a fetch that met reserved bits in a page table (0x18).
expect 125 1 "$shutdown rip 0xffffffff81104f64 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000018"
# A data read that found no page or reserved bits is not that shape.
expect 1 1 "$shutdown rip 0xffffffff81104f64 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000000"
expect 1 1 "$shutdown rip 0xffffffff81104f64 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000008"
expect 1 1 "$shutdown rip 0xffffffff81104f64 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x0000001c"
# An external interrupt's delivery at a kernel text rip: ci61's timer tick
# to a guest in native_safe_halt, ci33's device interrupt.
expect 125 1 "$shutdown rip 0xffffffff8131628b info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x800000ec error_code 0x00000000"
expect 125 1 "$shutdown rip 0xffffffff811b0fc0 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000021 error_code 0x00000000"
# ebb's bare test guests run without EFER.NXE, so their fetch that found no
# page or a reserved bit carries error code 0 or 8: the CI of f82e2f0's e2e
# 31, at the instruction after a queue notify (finding 19). A write there,
# or the same fault outside their text, stays CMD's.
expect 125 1 "$shutdown rip 0x1000179 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000000"
expect 125 1 "$shutdown rip 0x1000179 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000008"
expect 1 1 "$shutdown rip 0x1000179 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000002"
expect 1 1 "$shutdown rip 0x401a2c info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000000"
expect 1 1 "$shutdown rip 0x2000179 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000000"
# e2e 10's own triple-fault guest, a fault in user space, a write fault, an
# exception vector (0x0d: a #GP, type 3), an NMI (type 2), and an external
# interrupt outside kernel text stay CMD's.
expect 1 1 "$shutdown rip 0x1000000 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000306 error_code 0x00000000"
expect 1 1 "$shutdown rip 0x401a2c info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000014"
expect 1 1 "$shutdown rip 0xffffffff81019ded info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000002"
expect 1 1 "$shutdown rip 0xffffffff8131628b info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0d error_code 0x00000000"
expect 1 1 "$shutdown rip 0xffffffff8131628b info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000202 error_code 0x00000000"
expect 1 1 "$shutdown rip 0x401a2c info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x800000ec error_code 0x00000000"
expect 1 1 "$shutdown rip 0xffffffffc041520c info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000010"
# The watchdog ends a run once L1 has been stuck for lockup_limit_s, by the
# age its kernel printed: a soft lockup, a blocked task, an RCU stall.
stuck() {  # WANT LIMIT LINE
	local got
	got=$(
		console_log=$dir/console.log
		lockup_limit_s=$2
		# shellcheck source=/dev/null
		source "$top/tools/lab/watchdog.sh"
		printf '[    1.0] booting\n%s\n' "$3" >"$console_log"
		l1_locked_up && echo stuck || echo running
	)
	if [ "$got" = "$1" ]; then echo "ok: limit $2 s with '$3' -> $got"; else echo "FAILED: limit $2 s with '$3' -> $got, want $1"; bad=1; fi
}
stuck running 120 "[  20.1] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [ebb-vcpu0:412]"
stuck stuck 120 "[ 200.1] watchdog: BUG: soft lockup - CPU#1 stuck for 124s! [ebb-vcpu0:412]"
stuck stuck 120 "[ 200.9] 	(detected by 1, t=36765 jiffies, g=3805, q=428 ncpus=2)"
stuck running 120 "[  74.8] 	(detected by 1, t=5254 jiffies, g=3805, q=428 ncpus=2)"
stuck stuck 120 "[ 200.9] 	(t=31000 jiffies g=3805 q=428 ncpus=2)"
stuck running 120 "[  20.1] virtio_net: all good"
# A CMD that failed gets L1's kernel's word on a process it killed, which
# died without one of its own; a CMD that passed does not.
death_notes() {  # STATUS DMESG_LINE -> the notes the runner prints
	{ finish_run "$1" "" "$2" >/dev/null; } 2>&1 || true
}
death() {  # WANT_NOTE STATUS DMESG_LINE
	local got
	got=$(death_notes "$2" "$3")
	if [ "$got" = "$1" ]; then echo "ok: status $2 with '$3' -> '$got'"; else echo "FAILED: status $2 with '$3' -> '$got', want '$1'"; bad=1; fi
}
sigsys='[  42.0] audit: type=1326 audit(1.2:3): auid=0 uid=0 pid=512 comm="ebb-vcpu0" exe="/work/ebb" sig=31 arch=c000003e syscall=12 compat=0 ip=0x7f00 code=0x80000000'
death "lab: L1 kernel: $sigsys" 1 "$sigsys"
death "" 0 "$sigsys"
segv='[  42.0] ebb[512]: segfault at 8 ip 000055d0 sp 00007ffc error 4 in ebb[55d0+1000]'
death "lab: L1 kernel: $segv" 143 "$segv"
death "" 1 "[  42.0] virtio_net: all good"
# L1's KVM parameters: EBB_LAB_KVM_PARAMS (even empty) wins; a retry of a
# lab failure gets the arch's retry parameters (x86: shadow paging).
params() {  # WANT ENV...
	local want=$1 got
	shift
	got=$(
		unset EBB_LAB_KVM_PARAMS EBB_LAB_RETRY
		# shellcheck source=/dev/null
		source "$top/tools/lab/arch-x86_64.sh"
		# shellcheck source=/dev/null
		source "$top/tools/lab/boot.sh"
		for kv in "$@"; do export "${kv?}"; done
		lab_kvm_params
	)
	if [ "$got" = "$want" ]; then echo "ok: kvm params with '$*' -> '$got'"; else echo "FAILED: kvm params with '$*' -> '$got', want '$want'"; bad=1; fi
}
params ''
params npt=0 EBB_LAB_RETRY=1
params '' EBB_LAB_RETRY=1 EBB_LAB_KVM_PARAMS=
params avic=1 EBB_LAB_KVM_PARAMS=avic=1
exit "$bad"
