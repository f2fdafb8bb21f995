#!/bin/bash
# tests/e2e/run-all retries, twice at most, only what the lab calls its own
# failure (125, a device interrupt left pending or in service in a
# halted guest, an interrupt delivered to a guest with interrupts off, or a
# CPU of L1 whose timer interrupt never came):
# a script that fails once with any other status fails the run, and one
# that passes after a lab failure passes with a WARNING. Uses a stand-in for
# the lab, so it needs no KVM.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# fixture NAME STATUS...: a script whose Nth run exits the Nth STATUS (a
# "FAIL:" line before any status but 0), and 0 once they run out.
fixture() {
	local name=$1
	shift
	cat >"$dir/$name.sh" <<SCRIPT
#!/bin/bash
echo "run \${EBB_LAB_RETRY:-0}" >>"$dir/$name.runs"
statuses=($*)
status=\${statuses[\$((\$(wc -l <"$dir/$name.runs") - 1))]:-0}
[ "\$status" = 0 ] || echo "FAIL: $name said why"
exit "\$status"
SCRIPT
	chmod +x "$dir/$name.sh"
}
fixture 10-ebb-fails-once 1
fixture 20-lab-fails-once 125
fixture 30-ebb-hangs-once 124
fixture 60-lab-fails-twice 125 125
fixture 70-lab-fails-always 125 125 125 125 125
# The lab fails, then the script fails on its own: not retried again.
fixture 80-lab-then-ebb 125 1
# A guest whose vCPU the hypervisor left halted over a pending interrupt.
lost='[ebb] info  vCPU 1 stopped after 2219 exits; rip=0xffffffff813161cb; halted with interrupts on and vector 0x21 pending in its local APIC'
# lost_once NAME MESSAGE FILE: NAME fails once, leaving MESSAGE in FILE,
# its ebb's log.
lost_once() {
	cat >"$dir/$1.sh" <<SCRIPT
#!/bin/bash
if [ ! -e "$dir/$1.ran" ]; then
	touch "$dir/$1.ran"; mkdir -p "$dir/e2e-out/$1"
	echo '$2' >"$dir/e2e-out/$1/$3"; echo "FAIL: no reply"; exit 1
fi
exit 0
SCRIPT
	chmod +x "$dir/$1.sh"
}
lost_once 40-lost-interrupt-once "$lost" vm.err
# Delivered, never ended: the guest never ran its handler. In a log an ebb
# started with --log-path wrote.
lost_once 41-never-ended-once "${lost/pending/in service}" vm.stop.ebb.log
# A guest's RAM held an interrupt's frame pushed with interrupts off.
lost_once 42-irq-if-off-once 'guest-irq-frames: mapping 0x7f81ce400000+0x1f405e10: asm_sysvec_apic_timer_interrupt entered over update_vsyscall+0x11f with interrupts off (rflags 0x13)' guest-irq-frames.log
# A CPU of L1 whose timer interrupt never came.
lost_once 43-cpu-timer-once 'CPU 1: its next timer is 212.0 s overdue: the interrupt for it never came' cpu-timers.log
# An IPI (vector 0xfd) pending while ebb stopped the vCPUs is not a lost one.
cat >"$dir/50-ipi-pending.sh" <<SCRIPT
#!/bin/bash
mkdir -p "$dir/e2e-out/50-ipi-pending"
echo '${lost/0x21/0xfd}' >"$dir/e2e-out/50-ipi-pending/vm.err"; echo "FAIL: no reply"; exit 1
SCRIPT
chmod +x "$dir/50-ipi-pending.sh"
sed -i '2i # lab: --mem 6144' "$dir/10-ebb-fails-once.sh"
# wait_for's timeout, with the console lines it logged (tools/lib/vm.sh).
sed -i '2i echo "[13:45:04.271] timed out after 300s waiting for READY in vm.out"; echo "[13:45:04.272] last of vm.out: / # the prompt"; seq 6' "$dir/30-ebb-hangs-once.sh"
# The lab's contract without a VM: options, "--", then CMD.
cat >"$dir/fake-lab" <<'LAB'
#!/bin/bash
while [ "$1" != -- ]; do shift; done
shift
exec "$@"
LAB
chmod +x "$dir/fake-lab"
# What ebb logged in a failing script's output folder reaches the summary.
mkdir -p "$dir/e2e-out/10-ebb-fails-once"
printf '%s\n' '2026-12-04T05:36:24Z [ebb] info  balloon: guest holds 320 MiB' \
	'2026-12-04T05:36:25Z [ebb] error vCPU 0: triple fault (KVM_EXIT_SHUTDOWN); rip=0xfff0' \
	>"$dir/e2e-out/10-ebb-fails-once/boot.err"
printf '%s\n' '2026-12-05T03:08:30Z [ebb] error received Terminated; exiting with status 143' \
	'2026-12-05T03:08:30Z [ebb] info  vCPU 0 stopped after 257 exits; rip=0xffffffff813161cb' \
	>"$dir/e2e-out/10-ebb-fails-once/hung.err"
printf '%s\n' '2026-12-04T13:40:49Z [ebb] error vCPU 0: triple fault (KVM_EXIT_SHUTDOWN); from --log-path' \
	>"$dir/e2e-out/10-ebb-fails-once/api.log"
# The same message from an earlier run does not excuse this one.
echo "$lost" >"$dir/e2e-out/10-ebb-fails-once/stale.err"
touch -d '1 hour ago' "$dir/e2e-out/10-ebb-fails-once/stale.err"

rc=0
E2E_SKIP_SELFTEST=1 E2E_DIR="$dir" E2E_LAB="$dir/fake-lab" E2E_WARNINGS="$dir/warnings.txt" E2E_LOG_DIR="$dir/logs" E2E_OUT_ROOT="$dir/e2e-out" \
	"$top/tests/e2e/run-all" >"$dir/out" 2>&1 || rc=$?
bad=0
check() {
	if grep -q -- "$2" "$dir/out"; then echo "ok: $1"; else echo "FAILED: $1 (no '$2')"; bad=1; fi
}
[ "$rc" != 0 ] && echo "ok: the run fails" || { echo "FAILED: run-all passed"; bad=1; }
check "the nested lab, then the script's own lab options" "fake-lab --nested --mem 6144 -- "
check "a status-1 failure is not retried" "=== FAIL 10-ebb-fails-once (status 1"
check "a hang (124) is not retried" "=== FAIL 30-ebb-hangs-once (status 124"
check "a lab failure is retried" "=== PASS 20-lab-fails-once"
check "twice, if it fails again" "=== PASS 60-lab-fails-twice"
check "but not a third time" "=== FAIL 70-lab-fails-always (status 125"
check "a script's own failure after a lab failure is not retried" "=== FAIL 80-lab-then-ebb (status 1"
runs() { [ "$(wc -l <"$dir/$1.runs")" = "$2" ] && echo "ok: $1 ran $2 times" || { echo "FAILED: $1 ran $(wc -l <"$dir/$1.runs") times, not $2"; bad=1; }; }
runs 10-ebb-fails-once 1
runs 60-lab-fails-twice 3
runs 70-lab-fails-always 3
runs 80-lab-then-ebb 2
if [ "$(tr '\n' ' ' <"$dir/60-lab-fails-twice.runs")" = "run 0 run 1 run 1 " ]; then
	echo "ok: retries, and only they, run with EBB_LAB_RETRY=1"
else
	echo "FAILED: EBB_LAB_RETRY per try: $(tr '\n' ' ' <"$dir/60-lab-fails-twice.runs")"
	bad=1
fi
check "the summary repeats why an item failed" "^    FAIL: 10-ebb-fails-once said why"
check "the summary carries ebb's error lines" "^    .*boot.err:.*\\[ebb\\] error vCPU 0: triple fault"
check "and those of an ebb started with --log-path" "^    .*api.log:.*from --log-path"
check "and the console's last lines a timed-out wait logged" "^    \[13:45:04.272\] last of vm.out: / # the prompt"
check "and where a hung guest's vCPUs were when ebb was stopped" "^    .*hung.err:.*\\[ebb\\] info  vCPU 0 stopped after 257 exits"
if grep -q "guest holds 320" "$dir/out"; then echo "FAILED: an info line reached the summary"; bad=1; else echo "ok: only error and stopped-vCPU lines"; fi
check "the retry is a warning" "WARNING: retried after a lab failure: 20-lab-fails-once (try 1: the lab failed"
check "each retry is" "WARNING: retried after a lab failure: 60-lab-fails-twice (try 2: the lab failed"
check "a vCPU halted over a pending interrupt is the lab's: retried" "=== PASS 40-lost-interrupt-once"
check "so is one halted over a device vector in service" "=== PASS 41-never-ended-once"
check "an IPI pending at the stop is not: not retried" "=== FAIL 50-ipi-pending (status 1"
check "an interrupt delivered with interrupts off is the lab's: retried" "=== PASS 42-irq-if-off-once"
check "and says so" "WARNING: retried after a lab failure: 42-irq-if-off-once (try 1: the hypervisor delivered an interrupt to a guest that had interrupts off"
check "and says why" "WARNING: retried after a lab failure: 40-lost-interrupt-once (try 1: a guest's vCPU sat halted"
check "a CPU of L1 whose timer never fired is the lab's: retried" "=== PASS 43-cpu-timer-once"
check "and says so" "WARNING: retried after a lab failure: 43-cpu-timer-once (try 1: a CPU of L1 never got its timer interrupt"
if grep -q 20-lab-fails-once "$dir/warnings.txt" && grep -q 40-lost "$dir/warnings.txt" && grep -q 41-never "$dir/warnings.txt" && grep -q 42-irq "$dir/warnings.txt" && grep -q 43-cpu-timer "$dir/warnings.txt" && ! grep -qE "10-ebb|50-ipi" "$dir/warnings.txt"; then
	echo "ok: warnings.txt names the retried scripts only (not one with a stale message)"
else
	echo "FAILED: warnings.txt: $(cat "$dir/warnings.txt")"
	bad=1
fi
rc=0
E2E_LAB_RETRIES=two E2E_SKIP_SELFTEST=1 E2E_LOG_DIR="$dir/logs2" E2E_DIR="$dir" E2E_LAB="$dir/fake-lab" "$top/tests/e2e/run-all" >"$dir/bad-count" 2>&1 || rc=$?
if [ "$rc" = 2 ] && grep -q "E2E_LAB_RETRIES must be a count of retries (0 or more), got 'two'" "$dir/bad-count"; then
	echo "ok: a bad E2E_LAB_RETRIES is refused with its value, status 2"
else
	echo "FAILED: E2E_LAB_RETRIES=two -> status $rc: $(cat "$dir/bad-count")"
	bad=1
fi
if [ "$bad" != 0 ]; then
	sed 's/^/    | /' "$dir/out"
	exit 1
fi
