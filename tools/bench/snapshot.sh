#!/usr/bin/env bash
# Benchmark 10: snapshot speed (issue 22). A 512 MiB, 1-vCPU guest with free
# page reporting touches 400 MiB, keeps it and prints a line every 10 ms.
# Per run:
#   create   the VM is paused and PUT /snapshot/create (Full) is timed with
#            curl; divided by ebb's RSS at that moment: seconds per GiB of
#            resident memory written (the files go to the lab's tmpfs);
#   restore  a new ebb --restore of it, process start to the first console
#            line the guest prints after it (under ebb-trace, 10 ms steps);
#   cold     the same guest booted from scratch: process start to
#            EBB-GUEST-READY.
# Runs are interleaved. BENCH_SNAPSHOT_RUNS (5).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/snapshot
source tools/lib/vm.sh
source tools/bench/lib.sh
command -v curl >/dev/null || die "curl is missing (scripts/install-deps installs it)"
runs=${BENCH_SNAPSHOT_RUNS:-5}
csv=$BENCH/snapshot.csv
echo "run,rss_mib,file_mib,create_s,create_s_per_gib,restore_s,cold_s" >"$csv"
# Memory files are mapped MAP_PRIVATE on restore, which 9p cannot do.
SNAP=$(mktemp -d)
trap 'cleanup_started; rm -rf "$SNAP"' EXIT
held="ebb-hog touch:400 watch:100000:0.01"
restore_t=() cold_t=() per_gib=()
for r in $(seq "$runs"); do
	log "snapshot: run $r/$runs: source VM"
	SOCK=$SNAP/src.sock
	rm -f "$SOCK" "$SNAP"/s.*
	ebb_start "src-$r" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --vcpus 1 \
		--balloon-reporting --guest-reporting fast --api-sock "$SOCK" \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"$held\""
	src=$EBB_PID
	wait_for "$OUT/src-$r.out" 'EBB-HOG touched' 300 $src || die "run $r: the source guest did not touch"
	wait_for "$OUT/src-$r.out" 'EBB-HOG meminfo' 60 $src || die "run $r: the source guest does not print"
	api PATCH /vm '{"state": "Paused"}'
	[ "$CODE" = 204 ] || die "run $r: pause answered $CODE $BODY_OUT"
	rss=$(($(rss_kib $src) >> 10))
	t=$(curl -m 300 -s -o "$OUT/resp" -w '%{http_code} %{time_total}' --unix-socket "$SOCK" -X PUT \
		-H 'Content-Type: application/json' \
		--data-binary "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$SNAP/s.state\", \"mem_file_path\": \"$SNAP/s.mem\"}" \
		http://localhost/snapshot/create) || die "run $r: snapshot/create: curl failed"
	[ "${t% *}" = 204 ] || die "run $r: snapshot/create answered ${t% *} $(cat "$OUT/resp")"
	create=${t#* }
	file=$(($(stat -c %b "$SNAP/s.mem") * 512 >> 20))
	kill -KILL $src
	wait $src 2>/dev/null || true
	gib=$(awk -v c="$create" -v m="$rss" 'BEGIN { printf "%.3f", c / (m / 1024) }')

	log "snapshot: run $r/$runs: restore"
	trace_run "restore-$r" 8 --restore "$SNAP/s.state"
	restore=$(trace_event_time "restore-$r" '.')
	[ -n "$restore" ] || die "run $r: the restored guest printed nothing (see $OUT/restore-$r.err)"

	log "snapshot: run $r/$runs: cold boot"
	bench_trace "cold-$r" 120 ebb-fast 512 1 ""
	cold=$(trace_event_time "cold-$r" '^EBB-GUEST-READY')
	[ -n "$cold" ] || die "run $r: the cold boot never printed EBB-GUEST-READY (see $OUT/cold-$r.out)"

	echo "$r,$rss,$file,$create,$gib,$restore,$cold" >>"$csv"
	log "snapshot: run $r: RSS $rss MiB, file $file MiB, create $create s ($gib s/GiB), restore $restore s, cold boot $cold s"
	restore_t+=("$restore") cold_t+=("$cold") per_gib+=("$gib")
done
read -r rmin rmed rmax < <(stats "${restore_t[@]}")
read -r cmin cmed cmax < <(stats "${cold_t[@]}")
read -r gmin gmed gmax < <(stats "${per_gib[@]}")
{
	echo "10. snapshots: 512 MiB guest holding 400 MiB, $runs interleaved runs"
	printf '  %-30s min %.3f  median %.3f  max %.3f\n' "restore to running (s)" "$rmin" "$rmed" "$rmax"
	printf '  %-30s min %.3f  median %.3f  max %.3f\n' "cold boot to ready (s)" "$cmin" "$cmed" "$cmax"
	printf '  %-30s min %.3f  median %.3f  max %.3f\n' "create, s per GiB resident" "$gmin" "$gmed" "$gmax"
	echo "  restore / cold boot: $(ratio "$rmed" "$cmed")"
} | tee -a "$BENCH/summary.txt"
