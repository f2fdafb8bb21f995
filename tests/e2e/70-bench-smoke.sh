#!/usr/bin/env bash
# [7/8] A fast run of the reclaim benchmark, so it cannot rot: one run of
# ebb (fast values) and one of QEMU microvm with reporting, and a check of
# the direction only: ebb's guest memory is back before QEMU's. Negative
# controls: the touch must show on the host and QEMU must reclaim too, so a
# broken baseline or an invisible workload fails instead of passing.
# (Benchmark 5 has its own smoke test in ctest: bench-report-smoke.)
# lab: --mem 4096
# timeout: 600
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD" build/ebb-trace
export BENCH=$OUT/bench
BENCH_RECLAIM_RUNS=1 BENCH_RECLAIM_MODES="ebb-fast qemu-reporting" tools/bench/reclaim.sh ||
	die "the reclaim benchmark failed"

field() { awk -F, -v m="$1" -v c="$2" '$1 == m { print $c }' "$BENCH/reclaim.csv"; }
# Each VMM ran to its end, and each one's touch showed on the host: a touch
# that never showed would give a t90 of about 0, which proves nothing.
for mode in ebb-fast qemu-reporting; do
	status=$(field "$mode" 9) base=$(field "$mode" 3) peak=$(field "$mode" 4)
	[ "$status" = 0 ] && pass "$mode: the VMM exited 0" || fail "$mode: the VMM exited '${status:-?}'"
	if [ -n "$peak" ] && [ -n "$base" ] && [ $((peak - base)) -ge 200 ]; then
		pass "$mode: the 300 MiB touch showed on the host ($base -> $peak MiB)"
	else
		fail "$mode: the touch did not show on the host (baseline ${base:-?} MiB, peak ${peak:-?} MiB)"
	fi
done
# Both must give the memory back, QEMU too (its stock delay is 2 s): a broken
# baseline may not pass for a slow one.
ebb=$(field ebb-fast 7) qemu=$(field qemu-reporting 7)
if ! [[ $ebb =~ ^[0-9.]+$ ]] || ! [[ $qemu =~ ^[0-9.]+$ ]]; then
	fail "no 90%-reclaimed time for ebb (${ebb:-?}) or QEMU (${qemu:-?})"
elif awk -v e="$ebb" -v q="$qemu" 'BEGIN { exit !(e < q) }'; then
	pass "ebb had 90% of the memory back ${ebb}s after the free, QEMU ${qemu}s"
else
	fail "ebb took ${ebb}s to give 90% back, QEMU ${qemu}s"
fi
for f in reclaim-ebb-fast.dat reclaim-qemu-reporting.dat; do
	[ -s "$BENCH/$f" ] && pass "plot data $f written" || fail "no plot data $f"
done

finish
