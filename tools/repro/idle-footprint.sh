#!/usr/bin/env bash
# tools/repro/idle-footprint.sh: where one more idle guest's memory goes, for
# each VMM mode of the density benchmark (tools/bench/density.sh, touch
# workload). GUESTS guests of a mode are launched one after another into one
# cgroup; each touches 400 MiB, frees it and idles. Once the cgroup stopped
# falling, its memory.stat divided by GUESTS says what kind of memory an idle
# guest costs (the page cache of files, shared by all, counts once), the
# last VMM's smaps say which of its mappings hold its private memory, its
# pagemap which 2 MiB blocks of guest RAM are resident and how much of it
# holds only zeros, and the last guest
# prints its /proc/meminfo, free lists and /proc/iomem IDLE_S s after its
# free (the policy squeezes an idle guest only after a minute or more).
# Not part of make bench; run it in the lab:
#   tools/lab/run --cpus 1 --mem 4096 -- tools/repro/idle-footprint.sh
# MODES (ebb-policy qemu-reporting), GUESTS (3), IDLE_S (150),
# BENCH_POLICY_MARGIN_MIB (16), KERNEL (build/guest/bzImage; a vmlinux
# boots in both VMMs too; ebb-policy-shared boots KERNEL_ELF). Output: $OUT/footprint.txt.
export OUT=${OUT:-build/repro/idle-footprint}
source "$(dirname "$0")/../lib/vm.sh"
source "$(dirname "$0")/../bench/lib.sh"
GUESTS=${GUESTS:-3}
IDLE_S=${IDLE_S:-150}
require_files "$KERNEL" "$INITRD" "$EBB"
cg_root=/sys/fs/cgroup
[ -f "$cg_root/cgroup.controllers" ] || die "no cgroup v2 at $cg_root"
echo +memory >"$cg_root/cgroup.subtree_control" 2>/dev/null || true
report=$OUT/footprint.txt
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done' EXIT
run="ebb-hog touch:400 hold:1 free; echo EBB-IDLE; sleep $IDLE_S; cat /proc/meminfo /proc/buddyinfo /proc/pagetypeinfo /proc/iomem; grep page_reporting /proc/vmstat; dmesg | grep -iE 'initrd|ramdisk|Memory:|Freeing'; echo EBB-MEMINFO-END; sleep 100000"

# per_guest CG N : memory.current and memory.stat's byte counts over N, KiB.
per_guest() {
	{
		echo "current $(cat "$1/memory.current")"
		grep -E '^(anon|anon_thp|file|kernel|kernel_stack|pagetables|sec_pagetables|percpu|sock|vmalloc|shmem|slab|slab_reclaimable|slab_unreclaimable) ' "$1/memory.stat"
	} | awk -v n="$2" '$2 > 0 { printf "  %-20s %8.0f\n", $1, $2 / n / 1024 }'
}

# ram_blocks PID : for guest RAM (guest_ram_range, tools/lib/vm.sh), which
# 2 MiB blocks are resident, from /proc/PID/pagemap: "first_block-last_block
# KiB" for each run of blocks with the same size.
ram_blocks() {
	local start end
	read -r start end <<<"$(guest_ram_range "$1")"
	echo "  $(((end - start) >> 20)) MiB of adjacent mappings (512 when they are guest RAM alone)"
	pagemap_entries "$1" "$start" "$end" |
		awk '{ if (index("89abcdef", substr($1, 1, 1))) kib[int((NR - 1) / 512)] += 4 }
		     END { n = int((NR + 511) / 512)
		           for (b = 0; b <= n; b++) {
		               k = (b < n) ? kib[b] + 0 : -1
		               if (b > 0 && k == prev) continue
		               if (b > 0) printf "  blocks %d-%d (%d-%d MiB): %d KiB each\n", first, b - 1, first * 2, b * 2, prev
		               first = b; prev = k } }'
}

# mappings PID : per mapping of PID, private and RSS KiB, largest first.
mappings() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 ? $6 : "[anon " $1 "]" }
	     /^Rss:/ { rss[name] += $2 }
	     /^Private_(Clean|Dirty):/ { priv[name] += $2 }
	     END { for (n in rss) if (rss[n] > 0) printf "%8d %8d  %s\n", priv[n], rss[n], n }' "/proc/$1/smaps" |
		sort -rn | awk 'NR <= 20' # head would end sort with SIGPIPE
}

for mode in ${MODES:-ebb-policy qemu-reporting}; do
	cg=$cg_root/footprint-$mode
	rmdir "$cg" 2>/dev/null || true
	mkdir "$cg"
	pids=()
	for i in $(seq "$GUESTS"); do
		name=$mode-$i
		vmm_cmd "$mode" 512 1 "$run"
		(echo "$BASHPID" >"$cg/cgroup.procs" && exec "${CMD[@]}") \
			>"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
		pids+=($!)
		if ! wait_for "$OUT/$name.out" '^EBB-IDLE' 300 "$!"; then
			# Stopped by SIGTERM, ebb logs its vCPUs' registers into $name.err.
			log_stuck "$name" "${pids[-1]}"
			kill -TERM "${pids[-1]}" 2>/dev/null || true
			wait_exit "${pids[-1]}" 20 || true
			die "$name did not reach idle"
		fi
		sleep 8
		log "$name idle, cgroup at $(($(cat "$cg/memory.current") >> 20)) MiB"
	done
	wait_for "$OUT/$name.out" '^EBB-MEMINFO-END' $((IDLE_S + 120)) "${pids[-1]}" || die "$name printed no meminfo"
	cgroup_settled "$cg" 20 240 200 # less than 0.5% over 20 s, at most 240 s
	{
		echo "== $mode: per idle guest of $GUESTS, KiB"
		per_guest "$cg" "$GUESTS"
		echo "-- its VMM's mappings: private KiB, RSS KiB"
		mappings "${pids[-1]}"
		echo "-- its guest RAM's resident memory per 2 MiB block"
		ram_blocks "${pids[-1]}"
		echo "  $(zero_page_kib "${pids[-1]}") KiB of it hold only zeros (build/zero-pages)"
		echo "-- the guest's view"
		sed -n '/^MemTotal/,/^EBB-MEMINFO-END/p' "$OUT/$name.out" | tr -d '\r' |
			grep -E '^(MemTotal|MemFree|MemAvailable|Cached|Shmem|Slab|SUnreclaim|Node|Free pages count|page_reporting|[0-9a-f]+-|  [0-9a-f]+-|\[)' || true
	} | tee -a "$report"
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rmdir "$cg" 2>/dev/null || true
done
