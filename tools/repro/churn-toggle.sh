#!/usr/bin/env bash
# Repro, not a test: issue 16's churn cost, the settled tier on against off,
# measured inside one guest. Guests of the two modes run one after another
# scattered by a factor of 4 in one lab run (docs/SPEC.md section 9), which
# hides a 3% effect; here one guest turns the tier on and off at run time
# (page_reporting.settled_order, 5 or 11) between SEG_S-second segments of
# ebb-hog's churn:128, in the order off on on off off on ..., and each
# adjacent pair of segments gives a ratio, on over off. The guest's
# page_reporting counters after each segment show whether the tier reported
# (off segments must add no settled reports). Prints the CSV
# (seg,N,SETTLED_ORDER,MIB_PER_S,SETTLED_KIB,FAST_KIB) and the pair ratios.
#   tools/lab/run --mem 4096 --timeout 3000 -- tools/repro/churn-toggle.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${OUT:-build/repro/churn-toggle}
mkdir -p "$OUT"
source tools/lib/vm.sh
source tools/bench/lib.sh
PAIRS=${PAIRS:-12}
SEG_S=${SEG_S:-20}

orders=""
for p in $(seq "$PAIRS"); do
	if [ $((p % 2)) = 1 ]; then orders+=" 11 5"; else orders+=" 5 11"; fi
done
param=/sys/module/page_reporting/parameters/settled_order
# No double quote may appear here: the kernel's command line has no escape.
# The counters are in pages (patch 0005's vmstat items).
counters="grep -E '^page_reporting_(settled|fast) ' /proc/vmstat | tr ' \\n' '= '"
run="ebb-hog idle:12; echo EBB-COUNTERS-BASE \$($counters); for o in$orders; do echo \$o > $param;"
run+=" echo EBB-TOGGLE settled_order=\$(cat $param); ebb-hog churn:128:$SEG_S;"
run+=" echo EBB-COUNTERS \$($counters); done"
case $run in *'"'*) die "churn-toggle.sh: a double quote in the guest's command" ;; esac
bench_trace toggle $((PAIRS * 2 * (SEG_S + 15) + 120)) ebb-fast-settled 512 1 "$run"
[ "$EBB_STATUS" = 0 ] || log "toggle: exit $EBB_STATUS (see $OUT/toggle.err)"

tr -d '\r' <"$OUT/toggle.out" | awk '/^EBB-TOGGLE/ { split($2, a, "="); o = a[2] }
	/^EBB-HOG churn/ { for (i = 1; i <= NF; i++) if ($i ~ /^mib_per_s=/) { split($i, a, "="); s = a[2] } }
	/^EBB-COUNTERS/ {
		for (i = 2; i <= NF; i++) { split($i, a, "="); c[a[1]] = a[2] }
		if ($1 == "EBB-COUNTERS-BASE") { ps = c["page_reporting_settled"]; pf = c["page_reporting_fast"]; next }
		n++
		printf "seg,%d,%s,%s,%d,%d\n", n, o, s, 4 * (c["page_reporting_settled"] - ps), 4 * (c["page_reporting_fast"] - pf)
		ps = c["page_reporting_settled"]; pf = c["page_reporting_fast"]; s = "none" }' >"$OUT/toggle.csv"
cat "$OUT/toggle.csv"
awk -F, '{ o[$2] = $3; v[$2] = $4 } END {
	for (i = 1; i + 1 <= NR; i += 2) {
		on = o[i] == 5 ? v[i] : v[i + 1]; off = o[i] == 5 ? v[i + 1] : v[i]
		if (on != "none" && off != "none" && off > 0) printf "pair %d: on/off %.3f\n", (i + 1) / 2, on / off
	} }' "$OUT/toggle.csv"
