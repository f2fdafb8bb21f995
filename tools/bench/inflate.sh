#!/usr/bin/env bash
# Benchmark 6: time to inflate the balloon by 1 GiB in an idle 2 GiB guest,
# from the request to the guest holding the new target. ebb (HTTP API)
# against QEMU (QMP). BENCH_INFLATE_RUNS (2).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/inflate
source tools/lib/vm.sh
source tools/bench/lib.sh
runs=${BENCH_INFLATE_RUNS:-2}
csv=$BENCH/inflate.csv
echo "vmm,run,seconds" >"$csv"
command -v socat >/dev/null || die "socat is missing (scripts/install-deps)"
sock_dir=$(mktemp -d) # unix sockets cannot live on the lab's 9p share

# ISO timestamp at the start of a log line -> seconds since midnight.
log_secs() { sed -n "s/^[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z.*$1.*/\1 \2 \3/p" "$2" | head -1 |
	awk '{ printf "%.6f\n", $1 * 3600 + $2 * 60 + $3 }'; }

for r in $(seq "$runs"); do
	log "inflate: ebb run $r"
	vmm_cmd ebb-off 2048 1 "echo EBB-IDLE; sleep 600"
	"${CMD[@]}" --balloon-target-mib 0 --api-sock "$sock_dir/ebb.sock" \
		>"$OUT/ebb-$r.out" 2>"$OUT/ebb-$r.err" </dev/null &
	pid=$!
	wait_for "$OUT/ebb-$r.out" '^EBB-IDLE' 120 "$pid" || die "ebb did not boot"
	sleep 2
	curl -s -m 30 --unix-socket "$sock_dir/ebb.sock" -X PATCH http://localhost/balloon \
		-d '{"amount_mib": 1024}' >/dev/null
	wait_for "$OUT/ebb-$r.err" 'guest holds 1024 MiB, the target' 300 "$pid" || die "ebb never inflated"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	t0=$(log_secs 'balloon: target set to 1024 MiB' "$OUT/ebb-$r.err")
	t1=$(log_secs 'guest holds 1024 MiB, the target' "$OUT/ebb-$r.err")
	echo "ebb,$r,$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" >>"$csv"

	log "inflate: qemu run $r"
	vmm_cmd qemu-reporting 2048 1 "echo EBB-IDLE; sleep 600"
	"${CMD[@]}" -qmp "unix:$sock_dir/qmp.sock,server=on,wait=off" \
		>"$OUT/qemu-$r.out" 2>"$OUT/qemu-$r.err" </dev/null &
	pid=$!
	wait_for "$OUT/qemu-$r.out" '^EBB-IDLE' 120 "$pid" || die "qemu did not boot"
	sleep 2
	# QEMU's balloon value is the guest's size after inflating: 1 GiB of 2 GiB.
	{
		echo '{"execute": "qmp_capabilities"}'
		sleep 0.2
		echo '{"execute": "balloon", "arguments": {"value": 1073741824}}'
		for _ in $(seq 3000); do
			echo '{"execute": "query-balloon"}'
			sleep 0.05
		done
	} | socat - "UNIX-CONNECT:$sock_dir/qmp.sock" | while IFS= read -r line; do
		echo "$EPOCHREALTIME $line"
		[[ $line == *'"actual": 1073741824'* ]] && break
	done >"$OUT/qemu-$r.qmp" || true
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	# The balloon command's reply is the third line (greeting, capabilities, balloon).
	secs=$(awk 'NR == 3 { t0 = $1 } /"actual": 1073741824/ { printf "%.3f", $1 - t0; exit }' "$OUT/qemu-$r.qmp")
	[ -n "$secs" ] || die "qemu never inflated (see $OUT/qemu-$r.qmp)"
	echo "qemu,$r,$secs" >>"$csv"
done
col() { awk -F, -v v="$1" '$1 == v { print $3 }' "$csv"; }
# shellcheck disable=SC2046
read -r _ e _ < <(stats $(col ebb))
# shellcheck disable=SC2046
read -r _ q _ < <(stats $(col qemu))
{
	echo "6. inflate: 1 GiB of an idle 2 GiB guest, request to guest holding the target (median of $runs)"
	printf '  ebb %s s   qemu %s s   ratio %s\n' "$e" "$q" "$(ratio "$e" "$q")"
} | tee -a "$BENCH/summary.txt"
