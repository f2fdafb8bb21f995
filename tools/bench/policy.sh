#!/usr/bin/env bash
# Benchmark 7: the automatic balloon policy under load. A 512 MiB guest idles
# while the policy squeezes it (margin BENCH_POLICY_MARGIN_MIB, 16), then needs
# 70% of its RAM at once (ebb-hog touch:358), then frees it and idles again.
# Recorded: OOM kills (the goal is none), the time from the burst's start
# until the balloon reached its lowest during the burst (full deflate), and
# the burst's speed (MiB touched per second) against the same guest with no
# balloon, in the same lab run. A timeline of ebb's RSS and the balloon's
# target and actual (GET /balloon/policy twice a second) goes to policy.csv
# and the plot policy.png. BENCH_POLICY_RUNS (3).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/policy
source tools/lib/vm.sh
source tools/bench/lib.sh
runs=${BENCH_POLICY_RUNS:-3}
csv=$BENCH/policy-runs.csv
timeline=$BENCH/policy.csv
echo "mode,run,oom_kills,burst_s,burst_mib_per_s,full_deflate_s,lowest_target_mib" >"$csv"
sock_dir=$(mktemp -d) # unix sockets cannot live on the lab's 9p share
trap 'rm -rf "$sock_dir"' EXIT

burst_guest="ebb-hog hold:40; echo EBB-BURST; ebb-hog touch:358 hold:5 free; echo EBB-CALM; sleep 40; dmesg | grep -c 'Out of memor[y]' | sed 's/^/EBB-OOM-KILLS /'"

# one MODE RUN : MODE ebb-policy or ebb-off (the control: no balloon at all).
one() {
	local mode=$1 r=$2 name=$1-$2
	SOCK=$sock_dir/$name.sock
	vmm_cmd "$mode" 512 1 "$burst_guest"
	"$EBB_TRACE" --out "$OUT/$name.trace" --console "$OUT/$name.out" -- \
		"${CMD[@]}" --api-sock "$SOCK" 2>"$OUT/$name.err" &
	local tracer=$! t0=$EPOCHREALTIME
	# The balloon's state twice a second, until the guest prints its OOM count.
	: >"$OUT/$name.policy"
	while kill -0 "$tracer" 2>/dev/null && ! grep -q '^EBB-OOM-KILLS' "$OUT/$name.out"; do
		if [ "$mode" = ebb-policy ]; then
			curl -s -m 2 --unix-socket "$SOCK" http://localhost/balloon/policy 2>/dev/null |
				jq -r --arg t "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')" \
					'[$t, .state.target_mib, .state.inputs.available_mib] | @csv' 2>/dev/null |
				tr -d '"' >>"$OUT/$name.policy" || true
		fi
		sleep 0.5
	done
	kill -TERM "$tracer" 2>/dev/null || true
	wait "$tracer" 2>/dev/null || true
	local kills start touched lowest full
	kills=$(sed -n 's/^EBB-OOM-KILLS \([0-9]*\).*/\1/p' "$OUT/$name.out" | head -n 1)
	start=$(trace_event_time "$name" '^EBB-BURST')
	touched=$(trace_event_time "$name" '^EBB-HOG touched')
	local burst_s="n/a" speed="n/a"
	if [ -n "$start" ] && [ -n "$touched" ]; then
		burst_s=$(awk -v a="$start" -v b="$touched" 'BEGIN { printf "%.2f", b - a }')
		speed=$(awk -v s="$burst_s" 'BEGIN { if (s > 0) printf "%.1f", 358 / s; else print "n/a" }')
	fi
	lowest="n/a" full="n/a"
	if [ "$mode" = ebb-policy ] && [ -n "$start" ]; then
		# the policy's samples are on ebb-trace's clock give or take the launch
		read -r lowest full < <(awk -F, -v s="$start" '
			$1 >= s && $1 <= s + 60 { n++; t[n] = $1; v[n] = $2; if (lo == "" || $2 < lo) lo = $2 }
			END { for (i = 1; i <= n; i++) if (v[i] <= lo + 8) { printf "%d %.2f\n", lo, t[i] - s; exit }
			      print "n/a n/a" }' "$OUT/$name.policy")
	fi
	echo "$mode,$r,${kills:-n/a},$burst_s,$speed,$full,$lowest" >>"$csv"
	log "policy: $name: OOM kills ${kills:-?}, burst $burst_s s ($speed MiB/s), full deflate after $full s (lowest target $lowest MiB)"
}

# Interleaved, so drift in the lab hits both alike.
for r in $(seq "$runs"); do
	one ebb-policy "$r"
	one ebb-off "$r"
done

# The first policy run's timeline: ebb's RSS (from the trace) and the target.
{
	echo "seconds,rss_mib,target_mib,guest_available_mib"
	awk -F, '
		NR == FNR { tt[++n] = $1; tg[n] = $2; av[n] = $3; next }
		$2 == "mem" && $1 - last >= 0.25 { last = $1
			while (k < n && tt[k + 1] <= $1) k++
			printf "%.2f,%.1f,%s,%s\n", $1, $3 / 1024, k ? tg[k] : "", k ? av[k] : "" }' \
		"$OUT/ebb-policy-1.policy" "$OUT/ebb-policy-1.trace"
} >"$timeline"

col() { awk -F, -v m="$1" -v c="$2" 'NR > 1 && $1 == m && $c != "n/a" { print $c }' "$csv"; }
{
	echo "7. balloon policy under load: 512 MiB guest squeezed (margin ${BENCH_POLICY_MARGIN_MIB:-16} MiB), then touches 358 MiB ($runs runs each)"
	read -r klo kmed khi <<<"$(stats $(col ebb-policy 3))"
	read -r flo fmed fhi <<<"$(stats $(col ebb-policy 6))"
	read -r plo pmed phi <<<"$(stats $(col ebb-policy 5))"
	read -r olo omed ohi <<<"$(stats $(col ebb-off 5))"
	echo "  OOM kills with the policy: max $khi"
	echo "  full deflate after the burst began: median $fmed s (min $flo, max $fhi)"
	echo "  burst speed: policy median $pmed MiB/s ($plo..$phi), no balloon $omed MiB/s ($olo..$ohi)"
	goal policy "$khi" "<=" 0 "policy: no OOM kill in a 70% burst after idle"
	echo "  burst speed with the policy / without a balloon: $(ratio "$pmed" "$omed") (recorded; no goal)"
} | tee -a "$BENCH/summary.txt"
