#!/usr/bin/env bash
# Benchmark 2: the VMM's own resident memory (everything but guest RAM, from
# /proc/PID/smaps) with an idle 1 vCPU / 128 MiB guest. ebb against QEMU.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/overhead
source tools/lib/vm.sh
source tools/bench/lib.sh
csv=$BENCH/overhead.csv
echo "vmm,run,total_kib,guest_ram_kib,overhead_kib" >"$csv"
MEM=128

# overhead_of PID : "total guest overhead" in KiB; the guest RAM mapping is
# the one exactly MEM MiB long.
overhead_of() {
	awk -v ram=$((MEM * 1024)) '
		/^Size:/ { size = $2 }
		/^Rss:/ { total += $2; if (size == ram) guest += $2 }
		END { print total, guest, total - guest }' "/proc/$1/smaps"
}

for vmm in ebb qemu; do
	for r in 1 2 3; do
		vmm_cmd "$vmm-off" "$MEM" 1 "echo EBB-IDLE; sleep 600"
		"${CMD[@]}" >"$OUT/$vmm-$r.out" 2>"$OUT/$vmm-$r.err" </dev/null &
		pid=$!
		wait_for "$OUT/$vmm-$r.out" '^EBB-IDLE' 120 "$pid" || die "$vmm-$r did not boot"
		sleep 3 # let the guest settle into idle
		cp "/proc/$pid/smaps" "$OUT/$vmm-$r.smaps" 2>/dev/null || true
		read -r total guest over < <(overhead_of "$pid")
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null || true
		echo "$vmm,$r,$total,$guest,$over" >>"$csv"
		log "overhead: $vmm run $r: total $total KiB, guest RAM $guest KiB, VMM $over KiB"
	done
done
med() { awk -F, -v v="$1" '$1 == v { print $5 }' "$csv" | sort -n | sed -n 2p; }
e=$(med ebb) q=$(med qemu)
{
	echo "2. VMM overhead: resident memory outside guest RAM, idle 1 vCPU / 128 MiB guest (median of 3)"
	printf '  ebb %.2f MiB   qemu %.2f MiB   ratio %s\n' "$(awk -v k="$e" 'BEGIN{print k/1024}')" \
		"$(awk -v k="$q" 'BEGIN{print k/1024}')" "$(ratio "$e" "$q")"
	goal overhead "$(awk -v k="$e" 'BEGIN{printf "%.2f", k/1024}')" "<=" 2 "ebb's overhead <= 2 MiB (Firecracker publishes 5)"
} | tee -a "$BENCH/summary.txt"
