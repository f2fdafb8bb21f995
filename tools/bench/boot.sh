#!/usr/bin/env bash
# Benchmark 1: process start to EBB-GUEST-READY, ebb against QEMU microvm,
# same kernel and initramfs, 256 MiB, 1 vCPU, no balloon; ebb both with its
# ACPI tables (the default) and with --no-acpi. BENCH_BOOT_RUNS (10).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/boot
source tools/lib/vm.sh
source tools/bench/lib.sh
runs=${BENCH_BOOT_RUNS:-10}
csv=$BENCH/boot.csv
echo "vmm,run,ready_s" >"$csv"
declare -A ready=([ebb]="" [ebb-noacpi]="" [qemu]="")
for r in $(seq "$runs"); do
	for vmm in ebb ebb-noacpi qemu; do
		log "boot: $vmm run $r/$runs"
		mode=$vmm-off
		[ "$vmm" = ebb-noacpi ] && mode=ebb-noacpi
		bench_trace "$vmm-$r" 120 "$mode" 256 1 ""
		t=$(trace_event_time "$vmm-$r" '^EBB-GUEST-READY')
		[ -n "$t" ] || die "$vmm-$r never printed EBB-GUEST-READY (see $OUT/$vmm-$r.out)"
		echo "$vmm,$r,$t" >>"$csv"
		ready[$vmm]+=" $t"
	done
done
# shellcheck disable=SC2086
read -r emin emed emax < <(stats ${ready[ebb]})
# shellcheck disable=SC2086
read -r qmin qmed qmax < <(stats ${ready[qemu]})
# shellcheck disable=SC2086
read -r nmin nmed nmax < <(stats ${ready[ebb-noacpi]})
{
	echo "1. boot: process start to EBB-GUEST-READY, $runs runs each (s)"
	printf '  %-8s min %.3f  median %.3f  max %.3f\n' ebb "$emin" "$emed" "$emax"
	printf '  %-8s min %.3f  median %.3f  max %.3f\n' qemu "$qmin" "$qmed" "$qmax"
	printf '  %-8s min %.3f  median %.3f  max %.3f   (ebb --no-acpi; ACPI costs %s x)\n' no-acpi \
		"$nmin" "$nmed" "$nmax" "$(ratio "$emed" "$nmed")"
	goal boot "$(ratio "$emed" "$qmed")" "<=" 0.5 "ebb/QEMU median boot time <= 0.5"
} | tee -a "$BENCH/summary.txt"
