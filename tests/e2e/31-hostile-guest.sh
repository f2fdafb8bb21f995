#!/usr/bin/env bash
# [4/8] A guest that floods ebb cannot stall its control or fill its log
# (tests/e2e/guests/hostile.c, a bare ELF that drives the balloon itself):
#  - inflate chains of 256 buffers that each span all of RAM, resubmitted
#    forever: GET / answers every time (within 5 s; about 0.1 s when the lab is quiet), PATCH /balloon is applied,
#    and SIGTERM ends ebb with 143 (within 5 s; a stall lasts minutes);
#  - every guest-triggered message, forever, for 10 s: fewer than 100 lines.
# Negative controls: ebb's own counters must show the flood happening
# (oversized chains, driver errors by the thousand), so a guest that did
# nothing cannot pass. The guest kicks once per refill, not in a spin on a
# full ring: a storm of notifies makes the lab's nested SVM load the vCPU
# with its host's registers (docs/SPEC.md section 15, finding 4).
# timeout: 600
source "$(dirname "$0")/lib.sh"
GUEST=build/tests/hostile-guest
require_files "$EBB" "$GUEST"
command -v curl >/dev/null || die "curl is missing (scripts/install-deps installs it)"

# Unix sockets cannot live on the lab's 9p share.
sock_dir=$(mktemp -d)
trap 'rm -rf "$sock_dir"; cleanup_started' EXIT

# metric NAME : a number from the balloon's metrics (GET /metrics).
metric() {
	api GET /metrics
	sed -n "s/.*\"balloon\": *{[^}]*\"$1\": *\([0-9]*\).*/\1/p" <<<"$BODY_OUT"
}

flood() {
	local name=$1 mode=$2
	SOCK=$sock_dir/$name.sock
	ebb_start "$name" --kernel "$GUEST" --mem-mib 128 --balloon-target-mib 0 \
		--api-sock "$SOCK" --cmdline "mode=$mode"
	PID=$EBB_PID
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || fail "$name: no API socket"
}

# stop_within NAME : SIGTERM must end ebb promptly, with 143 and a real teardown.
# The stall this guards against lasts minutes to hours; the bound is 5 s so
# a loaded lab cannot fail it (the time is printed; about 0.2 s when quiet).
stop_within() {
	local name=$1 t0 t1 elapsed
	(sleep 30 && kill -KILL "$PID" 2>/dev/null) &
	local watchdog=$!
	t0=$EPOCHREALTIME
	kill -TERM "$PID"
	set +e
	wait "$PID"
	EXIT_STATUS=$?
	set -e
	t1=$EPOCHREALTIME
	kill "$watchdog" 2>/dev/null || true
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	[ "$EXIT_STATUS" = 143 ] && pass "$name: SIGTERM -> 143" || fail "$name: status $EXIT_STATUS, want 143"
	awk -v e="$elapsed" 'BEGIN { exit !(e <= 5.0) }' &&
		pass "$name: ebb ended ${elapsed}s after SIGTERM" ||
		fail "$name: ebb took ${elapsed}s to end after SIGTERM (limit 5 s)"
	expect_grep "$name: teardown ran" "$OUT/$name.err" 'received Terminated; exiting with status 143'
}

log "inflate flood: chains of 256 whole-RAM buffers, forever"
flood inflate inflate
sleep 3
before=$(metric oversized_chains)
slow=0
for i in $(seq 10); do
	t=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' --unix-socket "$SOCK" \
		http://localhost/ || echo "000 timeout")
	log "GET / #$i: $t"
	[ "${t%% *}" = 200 ] || slow=$((slow + 1))
	sleep 0.2
done
[ "$slow" = 0 ] && pass "inflate: GET / answered 200 within 5 s, 10 times out of 10 (times above)" ||
	fail "inflate: $slow of 10 GET / took over 5 s or failed"
expect_api "inflate: PATCH /balloon during the flood" 204 PATCH /balloon '{"amount_mib": 64}'
api GET /balloon
grep -q '"amount_mib": *64' <<<"$BODY_OUT" && pass "inflate: the new target is in place" ||
	fail "inflate: GET /balloon says $BODY_OUT"
after=$(metric oversized_chains)
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] && [ "$after" -ge 1000 ]; then
	pass "inflate: the guest kept flooding ($after oversized chains refused, $((after - before)) during the checks)"
else
	fail "inflate: no flood to be seen (oversized chains ${before:-?} then ${after:-?})"
fi
stop_within inflate

log "log flood: every guest-triggered message, for 10 s"
flood logs log
sleep 10
resets=$(api GET /metrics && sed -n 's/.*"balloon": *{[^}]*"needs_reset_events": *\([0-9]*\).*/\1/p' <<<"$BODY_OUT")
stop_within logs
lines=$(wc -l <"$OUT/logs.err")
if [ "${resets:-0}" -ge 1000 ]; then
	pass "logs: the guest broke the protocol ${resets} times"
else
	fail "logs: no flood to be seen (needs_reset_events ${resets:-?})"
fi
[ "$lines" -lt 100 ] && pass "logs: $lines log lines for 10 s of flooding" ||
	fail "logs: $lines log lines for 10 s of flooding (limit 100)"

finish
