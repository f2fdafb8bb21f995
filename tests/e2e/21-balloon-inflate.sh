#!/usr/bin/env bash
# [3/8] Inflate gives memory the guest had touched back to the host (the
# negative control: the same guest without an inflate keeps it); a boot-time
# target keeps host memory below RAM minus the target; deflate-on-oom lets a
# workload finish without an OOM kill and without a re-inflate loop.
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"

MIB=1024

# Unix sockets cannot live on the lab's 9p share.
sock_dir=$(mktemp -d)
trap 'rm -rf "$sock_dir"; cleanup_started' EXIT

# The guest of the inflate runs: it touches 400 MiB and frees it (so its free
# memory is resident on the host), waits to see its balloon inflate and then
# deflate (its MemTotal below 300 MiB, then above 450 MiB), and touches
# 400 MiB again. No double quotes: it is one quoted kernel parameter.
meminfo_total="awk '/MemTotal/ {print \$2}' /proc/meminfo"
inflate_guest="ebb-hog touch:400 hold:1 free; until [ \$($meminfo_total) -lt 300000 ]; do sleep 1; done; echo EBB-INFLATED; until [ \$($meminfo_total) -gt 450000 ]; do sleep 1; done; echo EBB-DEFLATED; ebb-hog touch:400 hold:1 free; sleep 600"

# inflate_after_touch NAME TARGET_MIB WAIT_S : runs that guest without
# reporting and sets the balloon's target to TARGET_MIB over the API once it
# has freed. Sets BEFORE_MIB (RSS once freed), AFTER_MIB (RSS WAIT_S seconds
# after the balloon reached the target, or after the target was set when it
# is 0) and TOOK_S (from the target to that reading); leaves ebb running as
# PID with its socket in SOCK.
inflate_after_touch() {
	local name=$1 target=$2 wait_s=$3 start
	SOCK=$sock_dir/$name.sock
	ebb_start "$name" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 \
		--balloon-target-mib 0 --api-sock "$SOCK" \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"$inflate_guest\""
	PID=$EBB_PID
	BEFORE_MIB=0 AFTER_MIB=0
	wait_for "$OUT/$name.out" '^EBB-HOG freed' 180 "$PID" || return 1
	sleep 2
	read_rss "$PID" || { rss_gone "$name"; return 1; }
	BEFORE_MIB=$((RSS_KIB / MIB))
	start=$SECONDS
	api PATCH /balloon "{\"amount_mib\": $target}"
	[ "$CODE" = 204 ] || { log "$name: PATCH /balloon -> $CODE $BODY_OUT"; return 1; }
	if [ "$target" -gt 0 ]; then
		wait_for "$OUT/$name.err" "guest holds $target MiB, the target" 120 "$PID" || return 1
	fi
	sleep "$wait_s"
	read_rss "$PID" || { rss_gone "$name"; return 1; }
	AFTER_MIB=$((RSS_KIB / MIB)) TOOK_S=$((SECONDS - start))
	log "$name: RSS $BEFORE_MIB MiB once the guest freed 400 MiB, $AFTER_MIB MiB $TOOK_S s after target $target"
}

rss_gone() { log "process $PID exited ($(exit_status_of "$PID")) before $1's RSS reading"; }

stop_ebb() {
	kill -TERM "$PID" 2>/dev/null || true
	wait_exit "$PID" 20 || true
}

log "inflate: pages the guest had touched go back to the host"
if inflate_after_touch inflate 300 2; then
	if [ "$BEFORE_MIB" -ge 380 ] && [ $((BEFORE_MIB - AFTER_MIB)) -ge 200 ]; then
		pass "inflate: 300 MiB inflated gave back $((BEFORE_MIB - AFTER_MIB)) MiB of touched memory"
	else
		fail "inflate: RSS went from $BEFORE_MIB to $AFTER_MIB MiB; want >= 380 before and 200 MiB back"
	fi
	if wait_for "$OUT/inflate.out" '^EBB-INFLATED' 30 "$PID"; then
		pass "inflate: the guest saw its memory shrink"
	else
		fail "inflate: the guest's MemTotal never fell below 300 MiB"
	fi
	log "deflate: the guest gets its memory back and uses it"
	expect_api "deflate" 204 PATCH /balloon '{"amount_mib": 0}'
	touches=0
	if wait_for "$OUT/inflate.out" '^EBB-DEFLATED' 120 "$PID"; then
		for _ in $(seq 240); do
			touches=$(grep -c '^EBB-HOG touched mib=400' "$OUT/inflate.out" || true)
			[ "$touches" = 2 ] || ! kill -0 "$PID" 2>/dev/null && break
			sleep 0.5
		done
	fi
	if [ "$touches" = 2 ]; then
		pass "deflate: the guest's MemTotal came back and it touched 400 MiB again"
	else
		fail "deflate: the guest did not get its memory back ($touches touches of 400 MiB)"
	fi
else
	fail "inflate: the run did not get through"
fi
stop_ebb
# The control waits three times as long as the inflate took, at least 10 s.
control_s=$(control_window "${TOOK_S:-5}" 10)
log "negative control: no inflate, the freed memory stays on the host for $control_s s"
if inflate_after_touch noinflate 0 "$control_s"; then
	if [ "$BEFORE_MIB" -ge 380 ] && [ $((BEFORE_MIB - AFTER_MIB)) -lt 32 ]; then
		pass "control: without inflate RSS stayed at $AFTER_MIB MiB (was $BEFORE_MIB)"
	else
		fail "control: RSS went from $BEFORE_MIB to $AFTER_MIB MiB without inflate"
	fi
	if grep -q '^EBB-INFLATED' "$OUT/noinflate.out"; then
		fail "control: the guest saw its memory shrink without a target"
	fi
else
	fail "control: the run did not get through"
fi
stop_ebb

log "boot-time target: a 512 MiB guest with 256 MiB in the balloon cannot touch 400 MiB"
# The guest waits 20 s for the balloon to inflate, then tries to touch 400 MiB.
ebb_start boottarget --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-target-mib 256 \
	--cmdline "$BOOT_ARGS_BASE ebb.run=\"sleep 20; grep MemTotal /proc/meminfo; ebb-hog touch:100 touch:100 touch:100 touch:100 hold:2\""
pid=$EBB_PID
if wait_for "$OUT/boottarget.err" 'guest holds 256 MiB, the target' 120 "$pid"; then
	pass "boottarget: the guest's actual reached 256 MiB"
else
	fail "boottarget: the guest never reported 256 MiB in the balloon"
fi
if grep -q '^EBB-HOG start' "$OUT/boottarget.out"; then
	fail "boottarget: the hog started before the balloon was full; the test would prove nothing"
fi
expect_balloon_caps_guest boottarget boottarget "$pid"
guest_total=$(awk '/^MemTotal:/ {print $2}' "$OUT/boottarget.out")
if [ -n "$guest_total" ] && [ "$guest_total" -lt $(((512 - 256) * MIB)) ]; then
	pass "boottarget: the guest's MemTotal shrank to $((guest_total / MIB)) MiB"
else
	fail "boottarget: the guest's MemTotal is ${guest_total:-missing} KiB"
fi

log "deflate-on-oom: balloon at 75% of 512 MiB, a workload that needs 60%"
ebb_start oom --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-target-mib 384 \
	--balloon-deflate-on-oom --level debug \
	--cmdline "$BOOT_ARGS_BASE ebb.run=\"sleep 20; ebb-hog touch:307 hold:1 free && echo EBB-WORKLOAD-OK; dmesg | grep -c 'Out of memor[y]' | sed 's/^/EBB-OOM-KILLS /'; sleep 5\""
pid=$EBB_PID
wait_for "$OUT/oom.err" 'guest holds 384 MiB, the target' 120 "$pid" ||
	fail "oom: the balloon never reached 384 MiB"
if wait_for "$OUT/oom.out" '^EBB-HOG start' 60 "$pid"; then
	t0=$EPOCHREALTIME
	loop0=$(thread_ticks "$pid" ebb-events) || fail "oom: ebb has no ebb-events thread"
	# Sample again once the workload is over; the guest then idles 5 s more.
	if ! wait_for "$OUT/oom.out" '^EBB-OOM-KILLS' 300 "$pid"; then
		log_stuck oom "$pid"
	fi
	loop1=$(thread_ticks "$pid" ebb-events) || fail "oom: the ebb-events thread is gone"
	t1=$EPOCHREALTIME
fi
wait_exit "$pid" 60 || log_tail oom "$OUT/oom.err"
expect_grep "oom: the workload completed" "$OUT/oom.out" '^EBB-WORKLOAD-OK'
expect_grep "oom: no OOM kill in the guest" "$OUT/oom.out" '^EBB-OOM-KILLS 0([^0-9]|$)'
oom_deflates=$(sed -n 's/.* \([0-9]*\) OOM deflates.*/\1/p' "$OUT/oom.err")
inflated=$(sed -n 's/.* \([0-9]*\) pages inflated.*/\1/p' "$OUT/oom.err")
if [ "${oom_deflates:-0}" -gt 0 ]; then
	pass "oom: the guest deflated on OOM $oom_deflates times"
else
	fail "oom: no OOM deflate was seen"
fi
# Re-inflating after each OOM deflate would show as many more inflated pages than the target.
if [ -n "$inflated" ] && [ "$inflated" -le $((384 * 256 + 384 * 256 / 10)) ]; then
	pass "oom: $inflated pages inflated in all, no re-inflate loop"
else
	fail "oom: ${inflated:-?} pages inflated for a 384 MiB target: the guest kept re-inflating"
fi
if [ -n "${t0:-}" ] && [ -n "${loop0:-}" ] && [ -n "${loop1:-}" ]; then
	hz=$(getconf CLK_TCK)
	busy=$(awk -v a="$t0" -v b="$t1" -v l0="$loop0" -v l1="$loop1" -v hz="$hz" \
		'BEGIN { w = b - a; printf "%.1f", (w > 0 ? 100 * (l1 - l0) / hz / w : 0) }')
	if awk -v b="$busy" 'BEGIN { exit !(b >= 0 && b < 25) }'; then
		pass "oom: the event loop used ${busy}% of one CPU during the workload"
	else
		fail "oom: the event loop used ${busy}% of one CPU during the workload"
	fi
fi

finish
