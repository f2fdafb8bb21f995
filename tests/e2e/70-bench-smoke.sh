#!/usr/bin/env bash
# [7/8] A fast run of the reclaim benchmark, so it cannot rot: one run of
# ebb (fast values) and one of QEMU microvm with reporting, and a check of
# the direction only: ebb's guest memory is back before QEMU's.
# (Benchmark 5 has its own smoke test in ctest: bench-report-smoke.)
# lab: --mem 4096
# timeout: 600
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD" build/ebb-trace
export BENCH=$OUT/bench
BENCH_RECLAIM_RUNS=1 BENCH_RECLAIM_MODES="ebb-fast qemu-reporting" tools/bench/reclaim.sh ||
	die "the reclaim benchmark failed"

t90() { awk -F, -v m="$1" '$1 == m { print $7 }' "$BENCH/reclaim.csv"; }
ebb=$(t90 ebb-fast) qemu=$(t90 qemu-reporting)
if [ -z "$ebb" ] || [ -z "$qemu" ] || [ "$ebb" = none ]; then
	fail "no 90%-reclaimed time for ebb ($ebb) or QEMU ($qemu)"
elif [ "$qemu" = none ] || awk -v e="$ebb" -v q="$qemu" 'BEGIN { exit !(e < q) }'; then
	pass "ebb had 90% of the memory back ${ebb}s after the free, QEMU ${qemu}s"
else
	fail "ebb took ${ebb}s to give 90% back, QEMU ${qemu}s"
fi
for f in reclaim-ebb-fast.dat reclaim-qemu-reporting.dat; do
	[ -s "$BENCH/$f" ] && pass "plot data $f written" || fail "no plot data $f"
done

finish
