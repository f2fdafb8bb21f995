#!/usr/bin/env bash
# Benchmark 4: density under a host memory budget. In a cgroup v2 with
# memory.max = 2 GiB and no swap, 512 MiB guests are launched one after
# another; each touches 400 MiB, frees it and idles. Launching stops when a
# guest dies (the cgroup's OOM killer) or at the cap. Reported: guests alive,
# and the cgroup's memory per idle guest after reclaim. Run again (make
# bench retries it in a fresh lab when the lab died), it keeps the modes
# already in density.csv and runs only the others.
#   BENCH_DENSITY_CAP (16), BENCH_DENSITY_SETTLE_S (6), BENCH_DENSITY_MODES
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/density
source tools/lib/vm.sh
source tools/bench/lib.sh
CAP=${BENCH_DENSITY_CAP:-16}
SETTLE=${BENCH_DENSITY_SETTLE_S:-6}
LIMIT_MIB=2048
read -r -a MODES <<<"${BENCH_DENSITY_MODES:-ebb-off ebb-stock ebb-fast qemu-reporting}"
csv=$BENCH/density.csv
timeline=$BENCH/density-timeline.csv
[ -s "$csv" ] || echo "mode,fit,cap,current_mib,per_guest_mib,launch_failed,alive_after" >"$csv"
[ -s "$timeline" ] || echo "mode,seconds,current_mib" >"$timeline"

cg_root=/sys/fs/cgroup
[ -f "$cg_root/cgroup.controllers" ] || die "no cgroup v2 at $cg_root"
grep -qw memory "$cg_root/cgroup.controllers" || die "cgroup v2 has no memory controller"
echo +memory >"$cg_root/cgroup.subtree_control" 2>/dev/null || true

pids=()
sampler=
stop_all() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	sampler=
}
trap 'stop_all' EXIT

alive_count() {
	local n=0 p
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
	echo "$n"
}

run_mode() {
	local mode=$1
	local cg=$cg_root/ebb-density-$mode
	if grep -q "^$mode," "$csv"; then
		log "density: $mode: measured in an earlier lab run, kept"
		return
	fi
	# A lab that died during this mode left part of its timeline.
	sed -i "/^$mode,/d" "$timeline"
	rmdir "$cg" 2>/dev/null || true
	mkdir "$cg"
	echo $((LIMIT_MIB << 20)) >"$cg/memory.max"
	[ -f "$cg/memory.swap.max" ] && echo 0 >"$cg/memory.swap.max"
	local t0=$EPOCHREALTIME
	(
		while :; do
			read -r cur <"$cg/memory.current" || break
			echo "$mode,$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'),$((cur >> 20))"
			sleep 0.5
		done
	) >>"$timeline" &
	sampler=$!

	# fit: guests idle together before the launch that failed. The OOM
	# killer may then kill older guests rather than the new one, so the
	# guests alive afterwards can be fewer; memory per guest uses those.
	local failed=no i fit=$CAP
	for i in $(seq "$CAP"); do
		local name=$mode-$i
		vmm_cmd "$mode" 512 1 "ebb-hog touch:400 hold:1 free; echo EBB-IDLE; sleep 100000"
		# The subshell joins the cgroup before it becomes the VMM.
		(echo "$BASHPID" >"$cg/cgroup.procs" && exec "${CMD[@]}") \
			>"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
		pids+=($!)
		if ! wait_for "$OUT/$name.out" '^EBB-IDLE' 240 "$!"; then
			failed=yes fit=$((i - 1))
			log "density: $name did not reach idle ($(awk '/^oom_kill / {print $2}' "$cg/memory.events") OOM kills in the cgroup)"
			break
		fi
		sleep "$SETTLE"
		if [ "$(alive_count)" -lt "$i" ]; then
			failed=yes fit=$((i - 1))
			log "density: a guest died after $name was launched"
			break
		fi
		log "density: $mode: $i guests idle, cgroup at $(($(cat "$cg/memory.current") >> 20)) MiB"
	done
	sleep "$SETTLE"
	local alive cur per
	alive=$(alive_count)
	cur=$(($(cat "$cg/memory.current") >> 20))
	per=$(awk -v c="$cur" -v a="$alive" 'BEGIN { if (a) printf "%.1f", c / a; else print "n/a" }')
	echo "$mode,$fit,$CAP,$cur,$per,$failed,$alive" >>"$csv"
	log "density: $mode: $fit guests fit; $alive alive at the end, $cur MiB in the cgroup, $per MiB per idle guest"
	stop_all
	rmdir "$cg" 2>/dev/null || true
}

for mode in "${MODES[@]}"; do
	run_mode "$mode"
done

field() { awk -F, -v m="$1" -v c="$2" '$1 == m { print $c }' "$csv"; }
{
	echo "4. density: 512 MiB guests touching 400 MiB then idle, 2 GiB cgroup, no swap (cap $CAP)"
	for mode in "${MODES[@]}"; do
		printf '  %-16s %3s guests fit   %7s MiB per idle guest (%s alive at the end)%s\n' "$mode" \
			"$(field "$mode" 2)" "$(field "$mode" 5)" "$(field "$mode" 7)" \
			"$([ "$(field "$mode" 6)" = yes ] && echo "   the next launch failed")"
	done
	if [ -n "$(field ebb-fast 5)" ] && [ -n "$(field qemu-reporting 5)" ]; then
		goal density "$(ratio "$(field ebb-fast 5)" "$(field qemu-reporting 5)")" "<=" 0.5 \
			"ebb fast / QEMU memory per idle guest <= 0.5"
	fi
	if [ -n "$(field ebb-fast 2)" ] && [ -n "$(field ebb-off 2)" ]; then
		goal density "$(ratio "$(field ebb-fast 2)" "$(field ebb-off 2)")" ">=" 4 \
			"guests that fit: ebb fast / ebb without a balloon >= 4"
	fi
} | tee -a "$BENCH/summary.txt"
