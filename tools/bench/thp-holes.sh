#!/usr/bin/env bash
# What the settled tier's small reports do to the host's huge pages, per THP
# mode and huge page advice (docs/balloon.md, "Huge pages"). A functional
# measurement, not a benchmark: it prints figures, it does not pass or fail,
# and it is not part of make bench. Run it in the lab from the repo top:
#
#   tools/lab/run -- tools/bench/thp-holes.sh always:guard-thp always:noguard-thp ...
#
# A run is THP:VARIANT[:max_ptes_none=N]. THP (always, madvise, never) is
# written to L1's /sys/kernel/mm/transparent_hugepage/enabled. VARIANT:
#   off       ebb, settled tier off (--reporting-settled-order 11)
#   guard     ebb as built (settled tier on, small-report blocks guarded)
#   noguard   $EBB_NOGUARD: an ebb without the guards (settled tier on)
#   guard-thp, noguard-thp   the same with --thp (MADV_HUGEPAGE)
# khugepaged is sped up for the runs (scan_sleep_millisecs 2000,
# pages_to_scan 65536: a 512 MiB guest's RAM every 4 s instead of every
# 5 minutes at the defaults), so that what it does to a hole shows within
# the run. max_ptes_none=N sets khugepaged's threshold for that run.
# EBB_ARGS: more arguments for every ebb (e.g. --no-acpi).
# Guest RAM with a balloon is MADV_NOHUGEPAGE unless --thp: only the -thp
# variants put huge pages under the settled holes (docs/balloon.md).
#
# The guest (512 MiB, 1 vCPU) touches 300 MiB, frees it, idles 40 s, then
# touches 300 MiB again, frees it and idles 40 s. Sampled about once a second
# from ebb's cgroup and /proc: RssAnon, the cgroup's anon and anon_thp
# (memory.stat: a huge page whose mapping was split stays charged whole
# until it is split itself), AnonHugePages mapped, and the VMA count.
# Printed per run: those at the first touch's peak (the most RssAnon seen),
# 10 s, 25 s and 38 s after the first free, at the second touch's peak and 28 s after the
# second free, and once more after drop_caches=2 runs the shrinkers
# (which split partly unmapped huge pages); THP event deltas from
# /proc/vmstat; ebb's balloon summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${OUT:-build/thp-holes}
source tools/lib/vm.sh
EBB_NOGUARD=${EBB_NOGUARD:-build/ebb-noguard}
require_files "$EBB" "$KERNEL" "$INITRD" "$EBB_TRACE"
thp=/sys/kernel/mm/transparent_hugepage
cg=/sys/fs/cgroup
grep -q memory "$cg/cgroup.controllers" || die "no memory controller in $cg"
echo +memory >"$cg/cgroup.subtree_control" 2>/dev/null || true
echo 2000 >"$thp/khugepaged/scan_sleep_millisecs"
echo 65536 >"$thp/khugepaged/pages_to_scan"
default_mpn=$(cat "$thp/khugepaged/max_ptes_none")
workload="ebb-hog hold:3 touch:300 hold:1 free idle:40 touch:300 hold:3 free idle:40"
events="thp_fault_alloc thp_collapse_alloc thp_split_pmd thp_split_page thp_deferred_split_page"

vmstat_of() { # the THP events, space-separated, in $events order
	local e
	for e in $events; do awk -v k="$e" '$1 == k { print $2 }' /proc/vmstat; done | paste -sd' '
}

# sample PID CGROUP : one CSV line: RssAnon, cg anon, cg anon_thp, AnonHugePages (KiB), VMAs
sample() {
	local pid=$1 dir=$2 k v _u rss=0 anon=0 athp=0 huge=0
	{ exec 8<"/proc/$pid/status"; } 2>/dev/null || return 1
	while read -r -u 8 k v _u; do [ "$k" = RssAnon: ] && rss=$v; done
	exec 8<&-
	while read -r k v; do
		case $k in anon) anon=$((v / 1024)) ;; anon_thp) athp=$((v / 1024)) ;; esac
	done <"$dir/memory.stat"
	{ exec 8<"/proc/$pid/smaps_rollup"; } 2>/dev/null || return 1
	while read -r -u 8 k v _u; do [ "$k" = AnonHugePages: ] && huge=$v; done
	exec 8<&-
	local maps
	mapfile -t maps <"/proc/$pid/maps" 2>/dev/null || return 1
	SAMPLE="$rss,$anon,$athp,$huge,${#maps[@]}"
}

run() {
	local spec=$1 mode variant mpn name args=() bin=$EBB
	IFS=: read -r mode variant mpn <<<"$spec"
	mpn=${mpn#max_ptes_none=}
	name=${spec//[:=]/-}
	case $variant in
	off) args=(--reporting-settled-order 11) ;;
	guard) ;;
	noguard) bin=$EBB_NOGUARD ;;
	guard-thp) args=(--thp) ;;
	noguard-thp) bin=$EBB_NOGUARD args=(--thp) ;;
	*) die "unknown variant $variant" ;;
	esac
	[ -x "$bin" ] || die "missing $bin"
	echo "$mode" >"$thp/enabled"
	echo "${mpn:-$default_mpn}" >"$thp/khugepaged/max_ptes_none"
	local dir=$cg/thp-$name
	mkdir -p "$dir"
	local ev0
	ev0=$(vmstat_of)
	# The cgroup is joined before exec, so ebb and everything it maps are charged there.
	sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$dir" \
		timeout -k 5 400 "$EBB_TRACE" --out "$OUT/$name.trace" --console "$OUT/$name.out" -- \
		"$bin" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-reporting "${args[@]}" ${EBB_ARGS:-} \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"$workload; grep page_reporting /proc/vmstat\"" \
		2>"$OUT/$name.err" &
	local tracer=$! pid="" t0="" freed=0 touched=0
	: >"$OUT/$name.csv"
	while kill -0 "$tracer" 2>/dev/null; do
		[ -n "$pid" ] || pid=$(awk -F, '$2 == "start" { print $3; exit }' "$OUT/$name.trace" 2>/dev/null || true)
		# Markers first: a sample is never labelled with a phase that began after it.
		touched=$(grep -c '^EBB-HOG touched' "$OUT/$name.out" 2>/dev/null || true)
		freed=$(grep -c '^EBB-HOG freed' "$OUT/$name.out" 2>/dev/null || true)
		if [ -n "$pid" ] && sample "$pid" "$dir"; then
			echo "$EPOCHREALTIME,$touched,$freed,$SAMPLE" >>"$OUT/$name.csv"
			if [ "$freed" = 2 ] && [ -z "$t0" ]; then t0=$EPOCHREALTIME; fi
			# 30 s after the second free: one more sample after the shrinkers ran.
			if [ -n "$t0" ] && [ "$t0" != shrunk ] &&
				awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a >= 30) }'; then
				echo 2 >/proc/sys/vm/drop_caches
				sleep 1
				sample "$pid" "$dir" && echo "$EPOCHREALTIME,shrunk,$freed,$SAMPLE" >>"$OUT/$name.csv"
				t0=shrunk
			fi
		fi
		sleep 0.3
	done
	wait "$tracer" || log "$name: ebb-trace exited $?"
	local ev1
	ev1=$(vmstat_of)
	rmdir "$dir" 2>/dev/null || true
	echo "== $name: THP $mode, $variant, max_ptes_none ${mpn:-$default_mpn}"
	# Columns: time, touches, frees, rss, cg anon, cg anon_thp, AnonHugePages, VMAs (KiB, count).
	awk -F, '
		function show(what, i) { if (i) printf "   %-22s RssAnon %6.1f  cg anon %6.1f  cg anon_thp %6.1f  AnonHugePages %6.1f MiB  VMAs %d\n", what, r[i] / 1024, a[i] / 1024, h[i] / 1024, g[i] / 1024, v[i] }
		{ n++; t[n] = $1; tc[n] = $2; f[n] = $3; r[n] = $4; a[n] = $5; h[n] = $6; g[n] = $7; v[n] = $8 }
		$3 == 0 && $4 > pr1 { pr1 = $4; p1 = n }
		$3 == 1 && $4 > pr2 { pr2 = $4; p2 = n }
		$3 == 1 && f1 == "" { f1 = $1 }
		$3 == 2 && $2 != "shrunk" && f2 == "" { f2 = $1 }
		$2 == "shrunk" { sh = n }
		END {
			for (i = 1; i <= n; i++) {
				if (f1 != "" && f[i] == 1 && tc[i] == 1) { d = t[i] - f1; if (d <= 10) i10 = i; if (d <= 25) i25 = i; if (d <= 38) i38 = i }
				if (f2 != "" && f[i] == 2 && tc[i] != "shrunk") { d = t[i] - f2; if (d <= 28) j28 = i }
			}
			show("first touch, peak", p1); show("10 s after the free", i10)
			show("25 s after the free", i25); show("38 s after the free", i38)
			show("second touch, peak", p2); show("28 s after 2nd free", j28)
			show("after drop_caches=2", sh)
		}' "$OUT/$name.csv"
	paste -d' ' <(echo "$events" | tr ' ' '\n') <(echo "$ev0" | tr ' ' '\n') <(echo "$ev1" | tr ' ' '\n') |
		awk '{ printf "%s+%d ", $1, $3 - $2 } END { print "" }' | sed 's/^/   vmstat: /'
	{ grep -E '^page_reporting' "$OUT/$name.out" || true; } | paste -sd' ' | sed 's/^/   guest: /'
	{ grep -E 'balloon: (reported|[0-9]+ reports)' "$OUT/$name.err" || true; } | sed 's/.*balloon:/   host:/'
}

[ $# -gt 0 ] || set -- always:off always:noguard-thp always:guard-thp madvise:guard madvise:noguard-thp \
	madvise:guard-thp never:guard always:noguard-thp:max_ptes_none=0
log "thp-holes: $*"
for r in "$@"; do
	run "$r"
done
echo "$default_mpn" >"$thp/khugepaged/max_ptes_none"
