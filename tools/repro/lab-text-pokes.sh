#!/usr/bin/env bash
# Repro, not a test: which live kernel-text patches (static key flips) L1
# makes while GUESTS ebb guests boot, run and exit one after another. Under
# QEMU TCG such a patch once left both L1 CPUs stuck (docs/SPEC.md section
# 15, finding 5); tools/lab/kvm-hold.c holds the keys that guests flip, and
# this shows whether any flip is left. Run in the lab:
#   tools/lab/run --mem 2048 --timeout 600 -- env OUT=build/repro/pokes tools/repro/lab-text-pokes.sh
# HOLD: a kvm-hold binary to run instead of the lab's (to compare an older
# one); GUESTS (3); VCPUS (1) per guest. Ends with a positive control (kernel.sched_schedstats on
# and off: 2 patches) and prints each patch with its stack.
source "$(dirname "$0")/../../tests/e2e/lib.sh"
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T
if [ -n "${HOLD:-}" ]; then
	pkill -f /lab/kvm-hold || true
	"$HOLD" &
	sleep 1
fi
log "vCPUs held: $(ls -l /proc/[0-9]*/fd 2>/dev/null | grep -c anon_inode:kvm-vcpu || true)"
echo 0 >$T/tracing_on
echo arch_jump_label_transform_apply >$T/set_ftrace_filter
echo text_poke_bp_batch >>$T/set_ftrace_filter
echo function >$T/current_tracer
echo 1 >$T/options/func_stack_trace
echo >$T/trace
echo 1 >$T/tracing_on
for i in $(seq "${GUESTS:-3}"); do
	ebb_start "g$i" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --vcpus "${VCPUS:-1}" \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"ebb-hog touch:100 hold:1 free; sleep 3\""
	wait_exit "$EBB_PID" 120 || true
	log "guest $i: exit $EXIT_STATUS; text patches so far: $(grep -c ': text_poke_bp_batch' $T/trace || true)"
done
echo 1 >/proc/sys/kernel/sched_schedstats
echo 0 >/proc/sys/kernel/sched_schedstats
echo 0 >$T/tracing_on
log "with the positive control: $(grep -c ': text_poke_bp_batch' $T/trace || true) text patches"
grep -v '^#' $T/trace
