#!/usr/bin/env bash
# [3/8] The automatic balloon policy and memory merging. A guest that read
# 256 MiB from a drive keeps it as page cache: under the policy its RSS falls
# by 150 MiB or more; without the policy (the negative control) it stays. A
# guest squeezed by the policy then touches 70% of its RAM and finishes
# without an OOM kill; in the control, the same squeeze set by hand with no
# policy and no deflate-on-oom, the burst fails. --mem-merge marks guest RAM
# mergeable (VmFlags "mg" in smaps) under ebb's seccomp filter; without it,
# no "mg". Bad policy settings are refused with exit 1 or API 400.
# lab: --mem 4096
# timeout: 2400
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"
command -v curl >/dev/null || die "curl is missing (scripts/install-deps installs it)"

MIB=1024
SCRATCH=$(mktemp -d) # the lab's tmpfs: the data image and the API sockets
trap 'rm -rf "$SCRATCH"; cleanup_started' EXIT
DATA_IMG=$SCRATCH/data.ext4
make_cache_drive "$DATA_IMG" 256

# config FILE POLICY RUN [BALLOON] : a 512 MiB guest with a balloon
# (statistics every second, free page reporting, deflate-on-oom) and the data
# drive (an ext4 image with a 256 MiB file) as /dev/vda; POLICY is the
# ebb.balloon.policy object or "".
config() {
	local file=$1 policy=$2 run=$3 balloon=${4:-'"amount_mib": 0, "deflate_on_oom": true'}
	local ebb=""
	[ -n "$policy" ] && ebb=", \"ebb\": {\"balloon\": {\"policy\": $policy}}"
	cat >"$file" <<JSON
{
  "boot-source": {"kernel_image_path": "$KERNEL", "initrd_path": "$INITRD",
                  "boot_args": "$BOOT_ARGS_BASE ebb.run=\\"$run\\""},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 512},
  "balloon": {$balloon, "stats_polling_interval_s": 1, "free_page_reporting": true},
  "drives": [{"drive_id": "data", "path_on_host": "$DATA_IMG", "is_root_device": false,
              "is_read_only": true}]$ebb
}
JSON
}

stop_ebb() {
	kill -TERM "$1" 2>/dev/null || true
	wait_exit "$1" 30 || true
}

# ---- page cache: given back under the policy, kept without it ----

cache_guest="$(cache_read_cmd); echo EBB-CACHED; grep -E '^(Cached|Buffers)' /proc/meminfo; sleep 600"

# page_cache NAME ON WATCH_S : boots the guest with the policy configured but
# off, waits for it to have read the drive, turns the policy on when ON is 1
# (the control leaves it off), then watches RSS for WATCH_S seconds (stopping
# early once it fell 200 MiB). Sets PEAK_MIB (RSS once the guest read the
# drive), LOW_MIB (the lowest after) and WATCHED_S (how long it watched).
page_cache() {
	local name=$1 on=$2 watch_s=$3
	SOCK=$SCRATCH/$name.sock
	config "$OUT/$name.json" '{"enabled": false, "margin_mib": 32}' "$cache_guest"
	ebb_start "$name" --config-file "$OUT/$name.json" --api-sock "$SOCK"
	local pid=$EBB_PID
	PEAK_MIB=0 LOW_MIB=0
	if ! wait_for "$OUT/$name.out" '^EBB-CACHED' 600 "$pid"; then
		log_stuck "$name" "$pid"
		stop_ebb "$pid"
		return 1
	fi
	sleep 2
	read_rss "$pid" || return 1
	PEAK_MIB=$((RSS_KIB / MIB)) LOW_MIB=$PEAK_MIB
	if [ "$on" = 1 ]; then
		api PATCH /balloon/policy '{"enabled": true}'
		[ "$CODE" = 204 ] || { log "$name: PATCH /balloon/policy -> $CODE $BODY_OUT"; return 1; }
	fi
	local start=$SECONDS
	while [ $((SECONDS - start)) -lt "$watch_s" ] && [ $((PEAK_MIB - LOW_MIB)) -lt 200 ]; do
		sleep 1
		read_rss "$pid" || return 1
		[ $((RSS_KIB / MIB)) -lt "$LOW_MIB" ] && LOW_MIB=$((RSS_KIB / MIB))
	done
	WATCHED_S=$((SECONDS - start))
	api GET /balloon/policy
	log "$name: RSS $PEAK_MIB MiB once the guest cached the drive, lowest $LOW_MIB MiB in the $WATCHED_S s after; policy: ${BODY_OUT:0:400}"
	stop_ebb "$pid"
}

log "page cache: the policy (margin 32 MiB) turned on once the guest cached 256 MiB"
if page_cache cache-policy 1 120; then
	if [ "$PEAK_MIB" -lt 256 ]; then
		fail "cache-policy: RSS was $PEAK_MIB MiB after reading 256 MiB; the cache never was on the host"
	elif [ $((PEAK_MIB - LOW_MIB)) -ge 150 ]; then
		pass "cache-policy: RSS fell $((PEAK_MIB - LOW_MIB)) MiB ($PEAK_MIB -> $LOW_MIB MiB)"
	else
		fail "cache-policy: RSS fell only $((PEAK_MIB - LOW_MIB)) MiB ($PEAK_MIB -> $LOW_MIB MiB), want >= 150"
	fi
else
	fail "cache-policy: the run did not get through"
fi

# The control watches three times as long as the policy needed, at least 30 s:
# a fall the policy made in 20 s would show in 60.
control_s=$(control_window "${WATCHED_S:-40}" 30 120)
log "negative control: the same guest, the policy left off, keeps its page cache for $control_s s"
if page_cache cache-control 0 "$control_s"; then
	if [ "$PEAK_MIB" -ge 256 ] && [ $((PEAK_MIB - LOW_MIB)) -lt 48 ]; then
		pass "cache-control: RSS stayed at $LOW_MIB MiB (was $PEAK_MIB)"
	else
		fail "cache-control: RSS went from $PEAK_MIB to $LOW_MIB MiB without the policy"
	fi
else
	fail "cache-control: the run did not get through"
fi

# ---- a burst after idle ----

# The guest waits until less than 100 MiB is available (the balloon took the
# rest), then touches 358 MiB (70% of 512) and counts OOM kills.
avail_kib="awk '/MemAvailable/ {print \$2}' /proc/meminfo"
burst_guest="until [ \$($avail_kib) -lt 102400 ]; do sleep 1; done; echo EBB-SQUEEZED; ebb-hog touch:358 hold:1 free && echo EBB-BURST-OK; dmesg | grep -c 'Out of memor[y]' | sed 's/^/EBB-OOM-KILLS /'; sleep 600"

# burst NAME POLICY BALLOON : sets BURST_OK (1 when the hog finished) and OOM_KILLS.
burst() {
	local name=$1 policy=$2 balloon=$3
	SOCK=$SCRATCH/$name.sock
	config "$OUT/$name.json" "$policy" "$burst_guest" "$balloon"
	ebb_start "$name" --config-file "$OUT/$name.json" --api-sock "$SOCK" --level debug
	local pid=$EBB_PID
	BURST_OK=0 OOM_KILLS=
	if ! wait_for "$OUT/$name.out" '^EBB-SQUEEZED' 600 "$pid" ||
		! wait_for "$OUT/$name.out" '^EBB-OOM-KILLS' 600 "$pid"; then
		log_stuck "$name" "$pid"
		api GET /balloon/policy
		log "$name: policy: ${BODY_OUT:0:600}"
		stop_ebb "$pid"
		log_tail "$name" "$OUT/$name.err"
		return 1
	fi
	grep -q '^EBB-BURST-OK' "$OUT/$name.out" && BURST_OK=1
	OOM_KILLS=$(sed -n 's/^EBB-OOM-KILLS \([0-9]*\).*/\1/p' "$OUT/$name.out" | head -n 1)
	api GET /balloon/policy
	log "$name: burst ok=$BURST_OK, OOM kills ${OOM_KILLS:-?}; policy: ${BODY_OUT:0:400}"
	stop_ebb "$pid"
}

log "burst after idle: the policy squeezes the guest, then it needs 70% of its RAM"
if burst burst-policy '{"enabled": true, "margin_mib": 32}' '"amount_mib": 0, "deflate_on_oom": true'; then
	if [ "$BURST_OK" = 1 ] && [ "$OOM_KILLS" = 0 ]; then
		pass "burst-policy: the guest touched 358 MiB after the squeeze, no OOM kill"
	else
		fail "burst-policy: burst ok=$BURST_OK, OOM kills ${OOM_KILLS:-?}"
	fi
else
	fail "burst-policy: the run did not get through"
fi

log "negative control: the same squeeze set by hand, no policy, no deflate-on-oom"
if burst burst-control "" '"amount_mib": 440, "deflate_on_oom": false'; then
	# Its MemTotal shrank by the balloon, so the hog's mmap may be refused
	# outright (overcommit) instead of the hog being OOM-killed: either fails it.
	if [ "$BURST_OK" = 0 ]; then
		pass "burst-control: the burst failed ($OOM_KILLS OOM kills; $(grep -m1 -o 'EBB-HOG.*fail.*\|mmap failed.*' "$OUT/burst-control.out" || echo 'no hog error'))"
	else
		fail "burst-control: burst ok=$BURST_OK, OOM kills ${OOM_KILLS:-?}; the squeeze did not bite"
	fi
else
	fail "burst-control: the run did not get through"
fi

# ---- memory merging ----

# merge_flags PID : the VmFlags of ebb's guest-RAM mapping (the one 512 MiB long).
merge_flags() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { big = 0 }
	     /^Size:/ { big = ($2 == 524288) }
	     /^VmFlags:/ && big { print; exit }' "/proc/$1/smaps"
}

# filtered_threads PID : how many of PID's threads run under a seccomp filter.
filtered_threads() {
	cat /proc/"$1"/task/*/status 2>/dev/null | grep -c '^Seccomp:[[:space:]]*2' || true
}

for mode in merge nomerge; do
	args=(--kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --cmdline "$BOOT_ARGS_BASE ebb.run=\"echo EBB-UP; sleep 600\"")
	[ "$mode" = merge ] && args+=(--mem-merge)
	ebb_start "$mode" "${args[@]}"
	pid=$EBB_PID
	if wait_for "$OUT/$mode.out" '^EBB-UP' 180 "$pid"; then
		sleep 1
		flags=$(merge_flags "$pid")
		filtered=$(filtered_threads "$pid")
		log "$mode: guest RAM $flags; $filtered thread(s) under seccomp"
		if ! kill -0 "$pid" 2>/dev/null; then
			fail "$mode: ebb died after boot (seccomp?)"
		elif [ "$filtered" -lt 2 ]; then
			fail "$mode: only $filtered thread(s) of ebb run under seccomp"
		elif [ -z "$flags" ]; then
			fail "$mode: no 512 MiB guest-RAM mapping in /proc/$pid/smaps"
		elif [ "$mode" = merge ] && [[ " $flags " == *" mg "* ]]; then
			pass "merge: guest RAM is mergeable (mg) and ebb runs under its seccomp filter"
		elif [ "$mode" = nomerge ] && [[ " $flags " != *" mg "* ]]; then
			pass "nomerge: without --mem-merge guest RAM is not mergeable"
		else
			fail "$mode: VmFlags '$flags'"
		fi
	else
		fail "$mode: the guest did not boot"
	fi
	stop_ebb "$pid"
done

# ---- bad input ----

bad() {
	local what=$1 want=$2
	shift 2
	ebb_run "$what" 30 "$@"
	expect_status "$what" 1
	expect_grep "$what: the message" "$OUT/$what.err" "$want"
}
base=(--kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-target-mib 0)
bad bad-margin 'balloon-margin-mib: 600 MiB is not below the guest.s 512 MiB' \
	"${base[@]}" --balloon-stats-interval 1 --balloon-policy --balloon-margin-mib 600
bad bad-nostats 'needs balloon statistics' "${base[@]}" --balloon-policy
bad bad-noballoon 'needs a balloon' --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-policy
bad bad-range 'balloon-margin-mib: must be 16' "${base[@]}" --balloon-stats-interval 1 --balloon-policy --balloon-margin-mib 8
config "$OUT/bad-config.json" '{"enabled": true, "margin_mib": 600}' "true"
bad bad-config 'ebb.balloon.policy.margin_mib.*600 MiB is not below the guest.s 512 MiB' --config-file "$OUT/bad-config.json"
bad bad-merge-memfd 'merge' --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --mem-merge --mem-backing memfd

log "bad input over the API: 400 and the policy unchanged"
SOCK=$SCRATCH/api.sock
config "$OUT/api.json" "" "echo EBB-UP; sleep 600"
ebb_start api --config-file "$OUT/api.json" --api-sock "$SOCK"
pid=$EBB_PID
if wait_for "$OUT/api.out" '^EBB-UP' 180 "$pid"; then
	expect_api "api: margin above RAM" 400 PATCH /balloon/policy '{"enabled": true, "margin_mib": 4096}'
	expect_api "api: rate out of range" 400 PATCH /balloon/policy '{"inflate_mib_per_s": 0}'
	expect_api "api: unknown key" 400 PATCH /balloon/policy '{"enable": true}'
	api GET /balloon/policy
	if [[ "$BODY_OUT" == *'"enabled": false'* || "$BODY_OUT" == *'"enabled":false'* ]]; then
		pass "api: the refused changes left the policy off"
	else
		fail "api: policy after refused changes: $BODY_OUT"
	fi
	expect_api "api: turned on" 204 PATCH /balloon/policy '{"enabled": true, "margin_mib": 48}'
	api GET /balloon/policy
	expect_grep "api: the state says why" "$OUT/resp" '"reason"'
	expect_api "api: an operator target" 204 PATCH /balloon '{"amount_mib": 10}'
	api GET /balloon/policy
	if [[ "$BODY_OUT" == *'the operator set a target'* ]]; then
		pass "api: an operator target turned the policy off"
	else
		fail "api: policy after an operator target: $BODY_OUT"
	fi
else
	fail "api: the guest did not boot"
fi
stop_ebb "$pid"

finish
