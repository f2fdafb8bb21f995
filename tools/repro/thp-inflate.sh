#!/usr/bin/env bash
# tools/repro/thp-inflate.sh: what an inflate gives back when transparent
# huge pages back guest RAM (--thp). A 512 MiB guest touches 400 MiB and
# frees it (no reporting, so its free memory stays resident), then the
# balloon's target goes to 300 MiB. Printed per run: how far ebb's cgroup
# fell (memory.current: what the host really got back) beside how far its
# RSS fell (the pages unmapped), and the discards that split a huge page.
# Each ebb binary in EBBS (default build/ebb) runs RUNS times, interleaved.
# Not part of make bench; run it in the lab:
#   tools/lab/run --mem 4096 -- env EBBS="build/ebb build/old-ebb" tools/repro/thp-inflate.sh
source "$(dirname "$0")/../lib/vm.sh"
OUT=${OUT:-build/repro/thp-inflate}
RUNS=${RUNS:-3}
read -r -a bins <<<"${EBBS:-build/ebb}"
mkdir -p "$OUT"
require_files "$KERNEL" "$INITRD" "${bins[@]}"
cg_root=/sys/fs/cgroup
[ -f "$cg_root/cgroup.controllers" ] || die "no cgroup v2 at $cg_root"
echo +memory >"$cg_root/cgroup.subtree_control" 2>/dev/null || true
sock_dir=$(mktemp -d)
trap 'cleanup_started; rm -rf "$sock_dir"' EXIT
guest="ebb-hog touch:400 hold:1 free; sleep 600"

kib_of_cg() { echo $(($(cat "$1/memory.current") / 1024)); }

one_run() {
	local bin=$1 name=$2 cg=$cg_root/thp-inflate-$2
	SOCK=$sock_dir/$name.sock
	mkdir -p "$cg"
	# ebb starts in the run's cgroup; this shell goes back to the root.
	echo "$BASHPID" >"$cg/cgroup.procs"
	EBB=$bin ebb_start "$name" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --thp \
		--balloon-target-mib 0 --api-sock "$SOCK" --cmdline "$BOOT_ARGS_BASE ebb.run=\"$guest\""
	echo "$BASHPID" >"$cg_root/cgroup.procs"
	local pid=$EBB_PID
	if ! wait_for "$OUT/$name.out" '^EBB-HOG freed' 180 "$pid"; then
		log "$name: the guest never freed"
		return 1
	fi
	sleep 3
	local cg0 rss0 cg1 rss1
	cg0=$(kib_of_cg "$cg")
	read_rss "$pid" && rss0=$RSS_KIB
	api PATCH /balloon '{"amount_mib": 300}'
	wait_for "$OUT/$name.err" 'guest holds 300 MiB, the target' 120 "$pid" ||
		log "$name: the balloon never reached 300 MiB"
	sleep 5
	cg1=$(kib_of_cg "$cg")
	read_rss "$pid" && rss1=$RSS_KIB
	api GET /metrics
	local splits
	splits=$(jq -r '.memory.thp_split_requests // "n/a"' <<<"$BODY_OUT" 2>/dev/null || echo n/a)
	echo "$bin,$name,$(((cg0 - cg1) / 1024)),$(((rss0 - rss1) / 1024)),$((cg1 / 1024)),$((rss1 / 1024)),$splits" |
		tee -a "$OUT/runs.csv"
	kill -TERM "$pid" 2>/dev/null || true
	wait_exit "$pid" 20 || true
	rmdir "$cg" 2>/dev/null || true
}

echo "ebb,run,cgroup_drop_mib,rss_drop_mib,cgroup_after_mib,rss_after_mib,thp_split_requests" >"$OUT/runs.csv"
log "THP mode: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
for run in $(seq "$RUNS"); do
	i=0
	for bin in "${bins[@]}"; do
		i=$((i + 1))
		one_run "$bin" "ebb$i-$run" || true
	done
done
column -t -s, "$OUT/runs.csv"
