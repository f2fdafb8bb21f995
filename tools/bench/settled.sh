#!/usr/bin/env bash
# Benchmark 9 (issue 16): the settled tier. In one lab run:
#   1. idle residual: a 512 MiB guest touches 300 MiB, frees it and idles;
#      anon RSS 30 s after the free for ebb with the settled tier
#      (ebb-fast-settled: settled_order 5, the fast profile's default, off
#      from 2026-12-03 to 2026-12-05: docs/balloon.md), without it
#      (ebb-fast-nosettled: the fast tier alone) and
#      QEMU microvm with reporting; and 90% of the free back after;
#   2. churn cost: ebb-hog churn:128:20 after 12 s idle (so that the boot's
#      small blocks are settled and reported first), the tier on against
#      off, interleaved; medians, ranges, and the ratio of each pair.
# Run through tools/bench/run, or alone:
#   tools/lab/run --mem 4096 -- tools/bench/settled.sh
#   BENCH_SETTLED_RUNS   repetitions of the residual runs (default 3)
#   BENCH_COST_RUNS      repetitions of the churn runs (default 5; 0: none)
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/settled
source tools/lib/vm.sh
source tools/bench/lib.sh
require_files "$EBB" "$KERNEL" "$INITRD" "$EBB_TRACE"
RUNS=${BENCH_SETTLED_RUNS:-3}
COST_RUNS=${BENCH_COST_RUNS:-5}
CSV=$BENCH/settled.csv
echo "measurement,mode,run,metric,value" >"$CSV"
MIB=1024
record() { echo "$1,$2,$3,$4,$5" >>"$CSV"; }
modes=(ebb-fast-settled ebb-fast-nosettled qemu-reporting)

log "1. idle residual: 512 MiB guest, touch 300 MiB, free, idle 35 s ($RUNS runs each, interleaved)"
for r in $(seq "$RUNS"); do
	for mode in "${modes[@]}"; do
		bench_trace "residual-$mode-$r" 240 "$mode" 512 1 "$(reclaim_hog 300 35)"
		[ "$EBB_STATUS" = 0 ] || die "residual-$mode-$r: exit $EBB_STATUS (see $OUT/residual-$mode-$r.err)"
		trace_metrics "residual-$mode-$r"
		rss30=$(trace_usage_at "residual-$mode-$r" 30)
		log "residual-$mode-$r: anon RSS 30 s after the free $((rss30 / MIB)) MiB"
		record residual "$mode" "$r" rss30_kib "$rss30"
		record residual "$mode" "$r" t90_s "$t90_s"
		record residual "$mode" "$r" back_s "$back_s"
	done
done

log "2. churn: ebb-hog idle:12 churn:128:20 ($COST_RUNS runs each, interleaved)"
for r in $(seq "$COST_RUNS"); do
	for mode in ebb-fast-nosettled ebb-fast-settled; do
		bench_trace "churn-$mode-$r" 240 "$mode" 512 1 "ebb-hog idle:12 churn:128:20"
		[ "$EBB_STATUS" = 0 ] || die "churn-$mode-$r: exit $EBB_STATUS (see $OUT/churn-$mode-$r.err)"
		mibs=$(churn_mib_per_s "churn-$mode-$r")
		[ -n "$mibs" ] || die "churn-$mode-$r: no churn result"
		log "churn-$mode-$r: $mibs MiB/s"
		record churn "$mode" "$r" mib_per_s "$mibs"
		# What each tier reported in the whole run (ebb's summary at exit):
		# the tier's work during a churn is what it could cost.
		read -r fast settled < <(sed -n 's/.*by the fast tier [0-9]* blocks (\([0-9.]*\) MiB), by the settled tier [0-9]* blocks (\([0-9.]*\) MiB).*/\1 \2/p' \
			"$OUT/churn-$mode-$r.err" | tail -n 1) || true
		record tiers "$mode" "$r" fast_mib "${fast:-none}"
		record tiers "$mode" "$r" settled_mib "${settled:-none}"
	done
done

# ---- summary ----
col() { awk -F, -v m="$1" -v c="$2" -v k="$3" '$1 == m && $2 == c && $4 == k && $5 != "none" { print $5 }' "$CSV"; }
mib() { awk '{ printf "%.1f\n", $1 / 1024 }'; }
# Each churn pair's ratio, tier on / off, in run order.
pair_ratios() {
	awk -F, '$1 == "churn" { v[$2, $3] = $5 }
		END { for (r = 1; ("ebb-fast-settled", r) in v; r++) printf "%.3f\n", v["ebb-fast-settled", r] / v["ebb-fast-nosettled", r] }' "$CSV"
}
{
	echo "9. settled tier: 512 MiB guest, 300 MiB touched and freed ($RUNS runs), churn ($COST_RUNS runs)"
	for mode in "${modes[@]}"; do
		# shellcheck disable=SC2046
		read -r lo med hi < <(stats $(col residual "$mode" rss30_kib | mib))
		printf '  %-20s anon RSS 30 s after the free %6s MiB (min %s, max %s)\n' "$mode" "$med" "$lo" "$hi"
		declare "rss_${mode//-/_}=$med"
	done
	# shellcheck disable=SC2046
	read -r lo t90 hi < <(stats $(col residual ebb-fast-settled t90_s))
	printf '  %-20s 90%% of the free back after %s s (min %s, max %s)\n' ebb-fast-settled "$t90" "$lo" "$hi"
	goal residual "$(ratio "$rss_ebb_fast_settled" "$rss_qemu_reporting")" "<=" 0.5 \
		"ebb default (tier on) / QEMU anon RSS 30 s after the free <= 0.5"
	printf '  with the settled tier off: ebb / QEMU %s\n' "$(ratio "$rss_ebb_fast_nosettled" "$rss_qemu_reporting")"
	if [ "$COST_RUNS" -gt 0 ]; then
		for mode in ebb-fast-nosettled ebb-fast-settled; do
			# shellcheck disable=SC2046
			read -r lo med hi < <(stats $(col churn "$mode" mib_per_s))
			printf '  %-20s churn %8s MiB/s (min %s, max %s)\n' "$mode" "$med" "$lo" "$hi"
			declare "churn_${mode//-/_}=$med"
		done
		# shellcheck disable=SC2046
		read -r plo pmed phi < <(stats $(pair_ratios))
		# With n pairs the range of the pair ratios covers their median with
		# probability 1 - 2^(1-n) (sign test): 94% for 5 pairs.
		printf '  churn, tier on / off: ratio of medians %s; pair ratios median %s, range %s..%s (%s)\n' \
			"$(ratio "$churn_ebb_fast_settled" "$churn_ebb_fast_nosettled")" "$pmed" "$plo" "$phi" \
			"$(awk -v n="$COST_RUNS" 'BEGIN { printf "a %.0f%% interval for the median ratio", 100 * (1 - 2 ^ (1 - n)) }')"
		# shellcheck disable=SC2046
		read -r slo smed shi < <(stats $(col tiers ebb-fast-settled settled_mib))
		# shellcheck disable=SC2046
		read -r flo fmed fhi < <(stats $(col tiers ebb-fast-settled fast_mib))
		printf '  churn runs, settled tier on: the settled tier reported %s..%s MiB per run, the fast tier %s..%s MiB\n' \
			"$slo" "$shi" "$flo" "$fhi"
		goal churn "$pmed" ">=" 0.97 "churn, settled tier on / off (median pair ratio) >= 0.97"
	fi
	goal t90 "$t90" "<=" 0.25 "90% of a 300 MiB free back (s, ebb with the settled tier) <= 0.25"
} | tee -a "$BENCH/summary.txt"
