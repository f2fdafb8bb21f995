#!/usr/bin/env bash
# Repro, not a test: would a shorter fast-tier delay meet issue 16's latency
# goal (90% of a 300 MiB free back in 0.25 s) without costing a churning
# guest? In one lab run, interleaved:
#   A  the fast tier alone at the fast profile's delay (200 ms): the profile
#      before the settled tier;
#   B  today's default: the settled tier on, 200 ms;
#   C  the settled tier on, DELAY ms (default 150);
# RUNS residual runs of each (t90 and anon RSS 30 s after the free, as in
# tools/bench/settled.sh), then CHURN_RUNS pairs of ebb-hog churn:128:20,
# A against C (CHURN_PAIR="A B": against B). Prints the CSV (res,MODE,RUN,T90_S,RSS30_KIB and
# churn,MODE,RUN,MIB_PER_S). docs/SPEC.md section 9 has a run:
#   tools/lab/run --mem 4096 --timeout 3000 -- tools/repro/reporting-delay.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${OUT:-build/repro/reporting-delay}
mkdir -p "$OUT"
source tools/lib/vm.sh
source tools/bench/lib.sh
RUNS=${RUNS:-5}
CHURN_RUNS=${CHURN_RUNS:-6}
DELAY=${DELAY:-150}
CSV=$OUT/delay.csv
: >"$CSV"
declare -A mode=([A]=ebb-fast-nosettled [B]=ebb-fast-settled [C]=ebb-fast-settled)
declare -A delay=([A]=200 [B]=200 [C]=$DELAY)
for v in ${CHURN_PAIR:-A C}; do
	[ -n "${mode[$v]:-}" ] || { echo "reporting-delay.sh: CHURN_PAIR: no mode '$v' (A, B or C)" >&2; exit 1; }
done

# run_one TAG VARIANT WORKLOAD
run_one() {
	BENCH_EBB_ARGS="--reporting-delay-ms ${delay[$2]}" bench_trace "$1" 240 "${mode[$2]}" 512 1 "$3"
	[ "$EBB_STATUS" = 0 ] || log "$1: exit $EBB_STATUS (see $OUT/$1.err)"
}

for r in $(seq "$RUNS"); do
	for v in A B C; do
		run_one "res-$v-$r" "$v" "$(reclaim_hog 300 35)"
		trace_metrics "res-$v-$r" || continue
		# shellcheck disable=SC2154 # t90_s: set by trace_metrics
		echo "res,$v,$r,$t90_s,$(trace_usage_at "res-$v-$r" 30)" >>"$CSV"
	done
done
for r in $(seq "$CHURN_RUNS"); do
	for v in ${CHURN_PAIR:-A C}; do
		run_one "churn-$v-$r" "$v" "ebb-hog idle:12 churn:128:20"
		mibs=$(churn_mib_per_s "churn-$v-$r")
		echo "churn,$v,$r,${mibs:-none}" >>"$CSV"
		log "churn-$v-$r: ${mibs:-none} MiB/s"
	done
done
cat "$CSV"
