#!/usr/bin/env bash
# The guest kernel patches, measured (issue [6/8]): stock values against
# ebb's fast values, in one lab run. Run through tools/bench/run, or alone:
#   tools/lab/run --mem 4096 -- tools/bench/reporting.sh
# Writes build/bench/reporting.csv (one row per run) and prints a summary.
#   BENCH_RUNS   repetitions of the latency and cost runs (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/reporting
source tools/lib/vm.sh
source tools/bench/lib.sh
require_files "$EBB" "$KERNEL" "$INITRD" "$EBB_TRACE"
RUNS=${BENCH_RUNS:-3}
CSV=${BENCH:-build/bench}/reporting.csv
echo "measurement,config,run,metric,value" >"$CSV"
MIB=1024

record() { echo "$1,$2,$3,$4,$5" >>"$CSV"; }

# guest RUN_NAME MEM_MIB EBB_ARGS... -- GUEST_COMMAND
guest() {
	local name=$1 mem=$2
	shift 2
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	trace_run "$name" 600 --kernel "$KERNEL" --initrd "$INITRD" --mem-mib "$mem" "${args[@]}" \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"$*\""
	[ "$EBB_STATUS" = 0 ] || die "$name: ebb exited $EBB_STATUS (see $OUT/$name.err)"
}

declare -A profile_args=(
	[stock]="--balloon-reporting --guest-reporting stock"
	[fast]="--balloon-reporting --guest-reporting fast"
	# The fast delay and budget, but the upstream watermark: isolates the watermark patch.
	[fast-upstream-watermark]="--balloon-reporting --guest-reporting stock --reporting-delay-ms 200 --reporting-budget 0"
	[off]=""
)

log "1. reclaim latency: 512 MiB guest, touch 300 MiB and free ($RUNS runs each)"
for r in $(seq "$RUNS"); do
	for p in stock fast; do
		# shellcheck disable=SC2086
		guest "latency-$p-$r" 512 ${profile_args[$p]} -- "$(reclaim_hog 300 12)"
		trace_metrics "latency-$p-$r"
		record latency "$p" "$r" back_s "$back_s"
		record latency "$p" "$r" t90_s "$t90_s"
		record latency "$p" "$r" touched_mib $(((peak_kib - baseline_kib) / MIB))
	done
done

log "2. idle drain: 512 MiB guest, touch 400 MiB and free"
for p in stock fast; do
	# shellcheck disable=SC2086
	guest "drain-$p" 512 ${profile_args[$p]} -- "$(reclaim_hog 400 40)"
	trace_metrics "drain-$p"
	record drain "$p" 1 drain_s "$drain_s"
	record drain "$p" 1 residual_mib $((residual10_kib / MIB))
done

log "3. small guest: 256 MiB; touch 180 MiB and free it all, or touch 200 MiB and free 20 (its free memory then stays under the upstream 64 MiB headroom)"
for p in stock fast-upstream-watermark fast; do
	# shellcheck disable=SC2086
	guest "small-$p" 256 ${profile_args[$p]} -- "$(reclaim_hog 180 12)"
	trace_metrics "small-$p"
	record small "$p" 1 returned_mib $(((peak_kib - baseline_kib - residual10_kib) / MIB))
	# shellcheck disable=SC2086
	guest "partial-$p" 256 ${profile_args[$p]} -- "ebb-hog hold:3 touch:200 hold:1 free:20 idle:12"
	before=$(trace_usage_at "partial-$p" 0) after=$(trace_usage_at "partial-$p" 10)
	record partial "$p" 1 returned_mib $(((before - after) / MIB))
	log "partial-$p: $(((before - after) / MIB)) MiB of the 20 freed came back in 10 s"
done

COST_RUNS=${BENCH_COST_RUNS:-5}
log "4. cost: page-fault-heavy churn (touch, free, touch again) for 20 s ($COST_RUNS runs each, interleaved)"
for r in $(seq "$COST_RUNS"); do
	for p in off stock fast; do
		# shellcheck disable=SC2086
		guest "cost-$p-$r" 512 ${profile_args[$p]} -- "ebb-hog churn:128:20"
		mibs=$(churn_mib_per_s "cost-$p-$r")
		[ -n "$mibs" ] || die "cost-$p-$r: no churn result"
		record cost "$p" "$r" mib_per_s "$mibs"
	done
done

# ---- summary: medians ----
median() { # median of column "value" for measurement $1, config $2, metric $3
	awk -F, -v m="$1" -v c="$2" -v k="$3" '$1 == m && $2 == c && $4 == k && $5 != "none" { v[++n] = $5 }
		END { if (!n) { print "none"; exit }
		      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		      print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }' "$CSV"
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%+.1f%%", 100 * (a - b) / b }'; }

ls=$(median latency stock back_s) lf=$(median latency fast back_s)
ds=$(median drain stock drain_s) df=$(median drain fast drain_s)
co=$(median cost off mib_per_s) cs=$(median cost stock mib_per_s) cf=$(median cost fast mib_per_s)
{
	echo "7. guest reporting patches: Linux's values against ebb's fast values ($RUNS runs)"
	printf '  %-52s %10s %10s %8s\n' "" stock fast ratio
	printf '  %-52s %10s %10s %8s\n' "reclaim latency: freed -> within 32 MiB (s, median)" "$ls" "$lf" "$(ratio "$lf" "$ls")"
	printf '  %-52s %10s %10s %8s\n' "idle drain after 400 MiB: last fall (s)" "$ds" "$df" "$(ratio "$df" "$ds")"
	printf '  %-52s %10s %10s\n' "small guest 256/180 MiB: returned in 10 s (MiB)" \
		"$(median small stock returned_mib)" "$(median small fast returned_mib)"
	printf '  %-52s %10s\n' "  ... fast delay/budget, upstream watermark (MiB)" \
		"$(median small fast-upstream-watermark returned_mib)"
	printf '  %-52s %10s %10s\n' "small guest, 20 of 200 MiB freed: returned (MiB)" \
		"$(median partial stock returned_mib)" "$(median partial fast returned_mib)"
	printf '  %-52s %10s\n' "  ... fast delay/budget, upstream watermark (MiB)" \
		"$(median partial fast-upstream-watermark returned_mib)"
	printf '  %-52s %10s %10s %10s\n' "churn throughput (MiB/s, median): off / stock / fast" "$co" "$cs" "$cf"
	printf '  %-52s %10s %10s\n' "  ... change against reporting off" "$(pct "$cs" "$co")" "$(pct "$cf" "$co")"
	goal latency "$(ratio "$lf" "$ls")" "<=" 0.2 "fast / stock reclaim latency <= 0.2"
	goal cost "$(awk -v f="$cf" -v o="$co" 'BEGIN { printf "%.1f", 100 * (o - f) / o }')" "<=" 3 \
		"churn throughput lost with fast reporting (%) <= 3"
} | tee -a "$BENCH/summary.txt"
