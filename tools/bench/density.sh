#!/usr/bin/env bash
# Benchmark 4: density under a host memory budget. In a cgroup v2 with
# memory.max = 2 GiB and no swap, 512 MiB guests (1 vCPU) are launched one
# after another until one dies (the cgroup's OOM killer) or CAP are alive.
# Two workloads:
#   touch  each guest touches 400 MiB, frees it and idles;
#   cache  each guest mounts a read-only ext4 drive and reads a 200 MiB file
#          (its page cache holds it), then idles. All guests read the same
#          image, which sits in the lab's tmpfs outside the cgroup: 64 private
#          copies would not fit the lab's RAM, and the guest's page cache is
#          the same either way.
# Modes: ebb-off (no balloon), qemu-reporting, ebb-fast, ebb-policy (the
# automatic balloon policy), ebb-policy-thp (and guest RAM advised
# MADV_HUGEPAGE, as QEMU's is; not in the default list), ebb-policy-settled (and
# the settled tier on; not in the default list), ebb-policy-shared (and the
# guest kernel's pages shared: ebb.memory.share_kernel, booting the vmlinux
# beside KERNEL), ebb-policy-merge and qemu-reporting-ksm (ksmd running; QEMU
# merges by default, ebb with ebb.memory.merge).
# Reported per workload and mode: guests that fit, how the run ended (cap;
# oom: the cgroup's limit; died: a guest failed with no OOM kill, which is
# no limit, so its "fit" is only a lower bound), the cgroup's memory per
# idle guest once it stopped falling (the policy squeezes the newest guest
# for about 20 s), and per VMM process its RSS and its private memory (what
# one more guest costs: shared libraries and merged pages left out). Run again
# (make bench retries it in a fresh lab when the lab died), it keeps the
# pairs already in density.csv and runs only the others.
#   BENCH_DENSITY_CAP (64), BENCH_DENSITY_SETTLE_S (8), BENCH_DENSITY_MODES,
#   BENCH_DENSITY_WORKLOADS, BENCH_POLICY_MARGIN_MIB (16),
#   BENCH_DENSITY_LAUNCH_S (300: how long one launch may take to reach idle;
#   in a 1-vCPU lab the idle guests share its CPU, so late launches are slow)
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/density
source tools/lib/vm.sh
source tools/bench/lib.sh
CAP=${BENCH_DENSITY_CAP:-64}
SETTLE=${BENCH_DENSITY_SETTLE_S:-8}
LAUNCH_S=${BENCH_DENSITY_LAUNCH_S:-300}
LIMIT_MIB=2048
read -r -a MODES <<<"${BENCH_DENSITY_MODES:-ebb-off qemu-reporting ebb-fast ebb-policy ebb-policy-shared ebb-policy-merge qemu-reporting-ksm}"
read -r -a WORKLOADS <<<"${BENCH_DENSITY_WORKLOADS:-touch cache}"
csv=$BENCH/density.csv
timeline=$BENCH/density-timeline.csv
header="workload,mode,fit,cap,current_mib,per_guest_mib,ended,alive_after,rss_mib_per_vmm,private_mib_per_vmm,ksm_sharing_mib"
[ -s "$csv" ] || echo "$header" >"$csv"
[ -s "$timeline" ] || echo "workload,mode,guests,seconds,current_mib" >"$timeline"

cg_root=/sys/fs/cgroup
[ -f "$cg_root/cgroup.controllers" ] || die "no cgroup v2 at $cg_root"
grep -qw memory "$cg_root/cgroup.controllers" || die "cgroup v2 has no memory controller"
echo +memory >"$cg_root/cgroup.subtree_control" 2>/dev/null || true
ksm=/sys/kernel/mm/ksm

scratch=$(mktemp -d)
DATA_IMG=$scratch/data.ext4
pids=()
sampler=
stop_all() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	sampler=
	[ -w "$ksm/run" ] && echo 2 >"$ksm/run" 2>/dev/null || true # unmerge, stop
}
trap 'stop_all; rm -rf "$scratch"' EXIT

alive_count() {
	local n=0 p
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
	echo "$n"
}

# vmm_memory : "RSS_MIB PRIVATE_MIB" averaged over the VMMs still alive.
vmm_memory() {
	local p
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || continue
		awk '/^Rss:/ { r = $2 } /^Private_(Clean|Dirty|Hugetlb):/ { u += $2 }
		     END { print r, u }' "/proc/$p/smaps_rollup" 2>/dev/null || true
	done | awk '{ r += $1; u += $2; n++ } END { if (n) printf "%.1f %.1f", r / n / 1024, u / n / 1024; else print "n/a n/a" }'
}

guest_run() {
	case $1 in
	touch) echo "ebb-hog touch:400 hold:1 free; echo EBB-IDLE; sleep 100000" ;;
	cache) echo "$(cache_read_cmd); echo EBB-IDLE; sleep 100000" ;;
	esac
}

# oom_kills CG
oom_kills() { awk '/^oom_kill / { print $2 }' "$1/memory.events"; }

run_pair() {
	local workload=$1 mode=$2
	local cg=$cg_root/ebb-density-$mode
	if grep -q "^$workload,$mode," "$csv"; then
		log "density: $workload $mode: measured in an earlier lab run, kept"
		return
	fi
	# A lab that died during this pair left part of its timeline.
	sed -i "/^$workload,$mode,/d" "$timeline"
	case $mode in
	*-ksm | *-merge)
		[ -w "$ksm/run" ] || { log "density: $mode: no KSM in this kernel, skipped"; return; }
		echo 2000 >"$ksm/pages_to_scan"
		echo 20 >"$ksm/sleep_millisecs"
		echo 1 >"$ksm/run"
		;;
	*) [ -w "$ksm/run" ] && echo 2 >"$ksm/run" ;;
	esac
	DRIVE=
	[ "$workload" = cache ] && DRIVE=$DATA_IMG
	rmdir "$cg" 2>/dev/null || true
	mkdir "$cg"
	echo $((LIMIT_MIB << 20)) >"$cg/memory.max"
	[ -f "$cg/memory.swap.max" ] && echo 0 >"$cg/memory.swap.max"
	local t0=$EPOCHREALTIME
	echo 0 >"$scratch/launched"
	(
		while :; do
			read -r cur <"$cg/memory.current" || break
			read -r n <"$scratch/launched" || n=0
			echo "$workload,$mode,$n,$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'),$((cur >> 20))"
			sleep 0.5
		done
	) >>"$timeline" &
	sampler=$!

	# fit: guests idle together before the launch that failed. The OOM
	# killer may then kill older guests rather than the new one, so the
	# guests alive afterwards can be fewer; memory per guest uses those.
	local ended=cap i fit=$CAP run
	run=$(guest_run "$workload")
	for i in $(seq "$CAP"); do
		local name=$workload-$mode-$i
		vmm_cmd "$mode" 512 1 "$run"
		echo "$i" >"$scratch/launched"
		# The subshell joins the cgroup before it becomes the VMM.
		(echo "$BASHPID" >"$cg/cgroup.procs" && exec "${CMD[@]}") \
			>"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
		pids+=($!)
		if ! wait_for "$OUT/$name.out" '^EBB-IDLE' "$LAUNCH_S" "$!"; then
			guest_irq_frames "$!" # the lab's hang (SPEC finding 16) names itself
			fit=$((i - 1)) ended=died
			[ "$(oom_kills "$cg")" -gt 0 ] && ended=oom
			log "density: $name did not reach idle ($(oom_kills "$cg") OOM kills in the cgroup)"
			break
		fi
		sleep "$SETTLE"
		if [ "$(alive_count)" -lt "$i" ]; then
			fit=$((i - 1)) ended=died
			[ "$(oom_kills "$cg")" -gt 0 ] && ended=oom
			log "density: a guest died after $name was launched ($(oom_kills "$cg") OOM kills in the cgroup)"
			break
		fi
		log "density: $workload $mode: $i guests idle, cgroup at $(($(cat "$cg/memory.current") >> 20)) MiB"
	done
	cgroup_settled "$cg" 10 120 100 # less than 1% over 10 s, at most 120 s
	local alive cur per mem sharing=0
	alive=$(alive_count)
	cur=$(($(cat "$cg/memory.current") >> 20))
	per=$(awk -v c="$cur" -v a="$alive" 'BEGIN { if (a) printf "%.1f", c / a; else print "n/a" }')
	mem=$(vmm_memory)
	[ -r "$ksm/pages_sharing" ] && sharing=$(($(cat "$ksm/pages_sharing") * 4 / 1024))
	echo "$workload,$mode,$fit,$CAP,$cur,$per,$ended,$alive,${mem% *},${mem#* },$sharing" >>"$csv"
	log "density: $workload $mode: $fit guests fit (ended: $ended); $alive alive at the end, $cur MiB in the cgroup, $per MiB per idle guest; per VMM: RSS ${mem% *} MiB, private ${mem#* } MiB; KSM sharing $sharing MiB"
	stop_all
	rmdir "$cg" 2>/dev/null || true
}

for workload in "${WORKLOADS[@]}"; do
	if [ "$workload" = cache ] && [ ! -e "$DATA_IMG" ]; then
		make_cache_drive "$DATA_IMG" 200
	fi
	for mode in "${MODES[@]}"; do
		run_pair "$workload" "$mode"
	done
done

field() { awk -F, -v w="$1" -v m="$2" -v c="$3" '$1 == w && $2 == m { print $c }' "$csv"; }
ending() {
	case $1 in
	cap) echo "  (the cap)" ;;
	oom) echo "  then the cgroup's limit (an OOM kill)" ;;
	died) echo "  then a guest died with no OOM kill: no limit reached" ;;
	esac
}
# fit_goal WORKLOAD MODE BASE_MODE LIMIT TEXT: guests that fit, MODE against
# BASE_MODE. Only a run that ended at the cgroup's limit has an exact count;
# one that ended at the cap or with a guest's death has a lower bound, which
# still settles a ">=" goal against an exact base when it reaches it.
fit_goal() {
	local r
	r=$(ratio "$(field "$1" "$2" 3)" "$(field "$1" "$3" 3)")
	if [ "$(field "$1" "$3" 7)" != oom ]; then
		log "density: $1 $3 did not end at the cgroup's limit: no exact count to compare against"
		r=n/a
	elif [ "$(field "$1" "$2" 7)" != oom ] && ! awk -v v="$r" -v l="$4" 'BEGIN { exit !(v >= l) }'; then
		log "density: $1 $2 ended with no limit reached at $r of $3's count: not measured to the limit"
		r=n/a
	elif [ "$(field "$1" "$2" 7)" != oom ]; then
		log "density: $1 $2's $r is a lower bound (no limit reached)"
	fi
	goal density "$r" ">=" "$4" "$5"
}
{
	echo "4. density: 512 MiB guests, 2 GiB cgroup, no swap, launched until one dies or $CAP are alive"
	for workload in "${WORKLOADS[@]}"; do
		case $workload in
		touch) echo "  touch: each touches 400 MiB, frees it, idles" ;;
		cache) echo "  cache: each reads 200 MiB from a drive (page cache), idles" ;;
		esac
		for mode in "${MODES[@]}"; do
			[ -n "$(field "$workload" "$mode" 3)" ] || continue
			printf '    %-20s %3s fit  %7s MiB per idle guest  (per VMM: RSS %s, private %s MiB)%s\n' "$mode" \
				"$(field "$workload" "$mode" 3)" "$(field "$workload" "$mode" 6)" \
				"$(field "$workload" "$mode" 9)" "$(field "$workload" "$mode" 10)" \
				"$(ending "$(field "$workload" "$mode" 7)")"
		done
	done
	if [ -n "$(field touch ebb-policy 6)" ] && [ -n "$(field touch qemu-reporting 6)" ]; then
		goal density "$(ratio "$(field touch ebb-policy 6)" "$(field touch qemu-reporting 6)")" "<=" 0.5 \
			"touch: ebb policy / QEMU memory per idle guest <= 0.5"
	fi
	if [ -n "$(field touch ebb-policy-shared 6)" ] && [ -n "$(field touch qemu-reporting 6)" ]; then
		goal density "$(ratio "$(field touch ebb-policy-shared 6)" "$(field touch qemu-reporting 6)")" "<=" 0.5 \
			"touch: ebb policy, shared kernel / QEMU memory per idle guest <= 0.5"
	fi
	if [ -n "$(field cache ebb-policy 6)" ] && [ -n "$(field cache qemu-reporting 6)" ]; then
		goal density "$(ratio "$(field cache ebb-policy 6)" "$(field cache qemu-reporting 6)")" "<=" 0.25 \
			"cache: ebb policy / QEMU memory per idle guest <= 0.25"
		fit_goal cache ebb-policy qemu-reporting 2 "cache: guests that fit, ebb policy / QEMU >= 2"
	fi
	if [ -n "$(field touch ebb-fast 3)" ] && [ -n "$(field touch ebb-off 3)" ]; then
		fit_goal touch ebb-fast ebb-off 4 "touch: guests that fit, ebb fast / ebb without a balloon >= 4"
	fi
} | tee -a "$BENCH/summary.txt"
