#!/usr/bin/env bash
# Benchmark 3: a 512 MiB guest touches 300 MiB and frees it. Residual RSS
# 10 s after the free and time to 90% reclaimed, for ebb with Linux's
# reporting values, ebb with its fast values, and QEMU with reporting.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/reclaim
source tools/lib/vm.sh
source tools/bench/lib.sh
runs=${BENCH_RECLAIM_RUNS:-2}
csv=$BENCH/reclaim.csv
echo "mode,run,baseline_mib,peak_mib,residual10_mib,rss10_mib,t90_s,back_s,vmm_status" >"$csv"
read -r -a modes <<<"${BENCH_RECLAIM_MODES:-ebb-stock ebb-fast qemu-reporting}"
for r in $(seq "$runs"); do
	for mode in "${modes[@]}"; do
		log "reclaim: $mode run $r/$runs"
		bench_trace "$mode-$r" 180 "$mode" 512 1 "$(reclaim_hog 300 12)"
		trace_metrics "$mode-$r" || die "$mode-$r: no metrics"
		echo "$mode,$r,$((baseline_kib / 1024)),$((peak_kib / 1024)),$((residual10_kib / 1024)),$(((baseline_kib + residual10_kib) / 1024)),$t90_s,$back_s,$EBB_STATUS" >>"$csv"
	done
done
# One trace per mode for the plot: usage against time since the free.
for mode in "${modes[@]}"; do
	awk -F, '$2 == "console" && $3 ~ /^EBB-HOG freed/ && f == "" { f = $1 }
		 $2 == "mem" { t[++n] = $1; v[n] = $4 }
		 END { for (i = 1; i <= n; i++) if (t[i] >= f - 6 && t[i] <= f + 12) printf "%.3f %.1f\n", t[i] - f, v[i] / 1024 }' \
		"$OUT/$mode-1.trace" >"$BENCH/reclaim-$mode.dat"
done
col() { awk -F, -v m="$1" -v c="$2" '$1 == m && $c != "none" { print $c }' "$csv"; }
{
	echo "3. reclaim: 512 MiB guest touches 300 MiB and frees it ($runs runs each, medians)"
	for mode in "${modes[@]}"; do
		# shellcheck disable=SC2046
		read -r _ rss _ < <(stats $(col "$mode" 6))
		# shellcheck disable=SC2046
		read -r _ t90 _ < <(stats $(col "$mode" 7))
		printf '  %-16s anon RSS 10 s after the free %6s MiB   90%% reclaimed after %6s s\n' "$mode" "$rss" "$t90"
		declare "rss_${mode//-/_}=$rss"
	done
	goal reclaim "$(ratio "$rss_ebb_fast" "$rss_qemu_reporting")" "<=" 0.5 "ebb fast / QEMU anon RSS 10 s after the free <= 0.5"
} | tee -a "$BENCH/summary.txt"
