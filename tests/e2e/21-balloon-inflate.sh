#!/usr/bin/env bash
# [3/8] Inflate keeps host memory below RAM minus the target; deflate-on-oom
# lets a workload finish without an OOM kill and without a re-inflate loop.
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"

MIB=1024

# thread_ticks PID COMM : CPU ticks (user + system) of PID's thread named COMM.
thread_ticks() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			awk '{print $14 + $15}' "$t/stat"
			return 0
		fi
	done
	echo 0
}

log "inflate: 512 MiB guest, target 256 MiB, then a hog touches all it can"
# The guest waits 20 s for the balloon to inflate, then tries to touch 400 MiB.
ebb_start inflate --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-target-mib 256 \
	--cmdline "$BOOT_ARGS_BASE ebb.run=\"sleep 20; grep MemTotal /proc/meminfo; ebb-hog touch:400 hold:2\""
pid=$EBB_PID
max_rss=0
if wait_for "$OUT/inflate.err" 'guest holds 256 MiB, the target' 120 "$pid"; then
	pass "inflate: the guest's actual reached 256 MiB"
else
	fail "inflate: the guest never reported 256 MiB in the balloon"
fi
if grep -q '^EBB-HOG start' "$OUT/inflate.out"; then
	fail "inflate: the hog started before the balloon was full; the test would prove nothing"
fi
while kill -0 "$pid" 2>/dev/null; do
	read_rss "$pid"
	[ "$RSS_KIB" -gt "$max_rss" ] && max_rss=$RSS_KIB
	grep -q '^EBB-GUEST-EXIT' "$OUT/inflate.out" && break
	sleep 0.2
done
wait_exit "$pid" 60 || true
limit=$(((512 - 256 + 32) * MIB))
if grep -q '^EBB-HOG touched' "$OUT/inflate.out"; then
	fail "inflate: the guest touched 400 MiB with 256 MiB in the balloon"
elif [ "$max_rss" -gt 0 ] && [ "$max_rss" -le "$limit" ]; then
	pass "inflate: ebb's RSS peaked at $((max_rss / MIB)) MiB, below 512 - 256 + 32 MiB"
else
	fail "inflate: ebb's RSS peaked at $((max_rss / MIB)) MiB, limit $((limit / MIB)) MiB"
fi
guest_total=$(awk '/^MemTotal:/ {print $2}' "$OUT/inflate.out")
if [ -n "$guest_total" ] && [ "$guest_total" -lt $(((512 - 256) * MIB)) ]; then
	pass "inflate: the guest's MemTotal shrank to $((guest_total / MIB)) MiB"
else
	fail "inflate: the guest's MemTotal is ${guest_total:-missing} KiB"
fi

log "deflate-on-oom: balloon at 75% of 512 MiB, a workload that needs 60%"
ebb_start oom --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-target-mib 384 \
	--balloon-deflate-on-oom \
	--cmdline "$BOOT_ARGS_BASE ebb.run=\"sleep 20; ebb-hog touch:307 hold:1 free && echo EBB-WORKLOAD-OK; dmesg | grep -c 'Out of memor[y]' | sed 's/^/EBB-OOM-KILLS /'; sleep 5\""
pid=$EBB_PID
wait_for "$OUT/oom.err" 'guest holds 384 MiB, the target' 120 "$pid" ||
	fail "oom: the balloon never reached 384 MiB"
if wait_for "$OUT/oom.out" '^EBB-HOG start' 60 "$pid"; then
	t0=$EPOCHREALTIME
	loop0=$(thread_ticks "$pid" ebb-events)
	# Sample again once the workload is over; the guest then idles 5 s more.
	wait_for "$OUT/oom.out" '^EBB-OOM-KILLS' 300 "$pid" || true
	loop1=$(thread_ticks "$pid" ebb-events)
	t1=$EPOCHREALTIME
fi
wait_exit "$pid" 60 || true
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
if [ -n "${t0:-}" ]; then
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
