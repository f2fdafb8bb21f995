#!/usr/bin/env bash
# [5/8] The HTTP API, driven with curl the way Firecracker's getting-started
# guide does: configure, start, change the balloon, read statistics; errors
# are 4xx with a fault_message and ebb keeps running; concurrent load while
# the guest churns. Negative controls: actual_mib must follow the target both
# ways (128, then 0), and the churn's markers must bracket the load.
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"
command -v curl >/dev/null || die "curl is missing (scripts/install-deps installs it)"

# Unix sockets cannot live on the lab's 9p share, so the socket goes to /tmp.
SOCK_DIR=$(mktemp -d)
SOCK=$SOCK_DIR/api.sock


# json_field FIELD : a top-level number or string from BODY_OUT.
json_field() {
	sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$BODY_OUT"
}

log "ebb with only an API socket waits to be configured"
ebb_start api --api-sock "$SOCK" --id api-test
pid=$EBB_PID
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
expect_api "pre-boot instance" 200 GET /
[ "$(json_field state)" = "Not started" ] && pass "state is Not started" || fail "state: $BODY_OUT"

# The churn runs long enough to cover the load below; its markers show it did.
boot_args="console=ttyS0 reboot=k panic=1 quiet ebb.run=\\\"echo EBB-IDLE; ebb-hog hold:10 churn:64:90; echo EBB-WORKLOAD-DONE; sleep 600\\\""
expect_api "logger" 204 PUT /logger "{\"log_path\": \"$OUT/api.log\", \"level\": \"Info\", \"show_level\": true}"
expect_api "boot-source" 204 PUT /boot-source \
	"{\"kernel_image_path\": \"$KERNEL\", \"initrd_path\": \"$INITRD\", \"boot_args\": \"$boot_args\"}"
expect_api "machine-config" 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 512}'
expect_api "balloon" 204 PUT /balloon \
	'{"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1, "free_page_reporting": true}'
expect_api "metrics" 204 PUT /metrics "{\"metrics_path\": \"$OUT/metrics.json\"}"
expect_api "start" 204 PUT /actions '{"action_type": "InstanceStart"}'
if wait_for "$OUT/api.out" '^EBB-IDLE' 180 "$pid"; then
	pass "the guest reached init after InstanceStart"
else
	fail "the guest did not come up"
fi
expect_api "running instance" 200 GET /
[ "$(json_field state)" = "Running" ] && pass "state is Running" || fail "state: $BODY_OUT"

log "balloon at run time"
expect_api "inflate" 204 PATCH /balloon '{"amount_mib": 128}'
actual=0
for _ in $(seq 60); do
	api GET /balloon/statistics
	actual=$(json_field actual_mib)
	[ "$actual" = 128 ] && break
	sleep 0.5
done
[ "$actual" = 128 ] && pass "actual_mib followed the target to 128" || fail "actual_mib is $actual, want 128"
expect_api "statistics" 200 GET /balloon/statistics
for field in target_pages actual_pages target_mib actual_mib free_memory total_memory available_memory major_faults; do
	if [ -z "$(json_field "$field")" ]; then
		fail "statistics lack $field: $BODY_OUT"
	fi
done
expect_api "statistics interval" 204 PATCH /balloon/statistics '{"stats_polling_interval_s": 2}'
expect_api "balloon config" 200 GET /balloon
[ "$(json_field stats_polling_interval_s)" = 2 ] && pass "the interval is now 2 s" ||
	fail "interval: $BODY_OUT"
expect_api "deflate" 204 PATCH /balloon '{"amount_mib": 0}'
for _ in $(seq 60); do
	api GET /balloon/statistics
	actual=$(json_field actual_mib)
	[ "$actual" = 0 ] && break
	sleep 0.5
done
[ "$actual" = 0 ] && pass "deflate: actual_mib came back to 0" ||
	fail "deflate: actual_mib is still $actual, want 0"

log "errors are 4xx with a reason, and ebb keeps running"
expect_api "pre-boot-only after boot" 400 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
grep -q fault_message <<<"$BODY_OUT" || fail "no fault_message: $BODY_OUT"
expect_api "bad JSON" 400 PUT /balloon/statistics '{"stats_polling_interval_s": '
expect_api "unknown route" 404 GET /no/such/route
expect_api "wrong method" 405 DELETE /balloon
expect_api "bad value" 400 PATCH /balloon '{"amount_mib": -5}'
expect_api "stats cannot be turned off" 400 PATCH /balloon/statistics '{"stats_polling_interval_s": 0}'
head -c 60000 /dev/zero | tr '\0' ' ' >"$OUT/big.json"
api PUT /balloon "$(cat "$OUT/big.json")"
[ "$CODE" = 413 ] && pass "oversized body -> 413 $BODY_OUT" || fail "oversized body -> $CODE"
expect_api "still alive" 200 GET /

log "200 requests from 8 concurrent clients while the guest churns memory"
# "held" is printed when the hold ends and the churn starts; the churn's own
# line when it ends: the load must come between the two.
wait_for "$OUT/api.out" '^EBB-HOG held' 120 "$pid" || fail "the guest's churn never started"
if grep -q '^EBB-HOG churn' "$OUT/api.out"; then
	fail "the churn was over before the load began: nothing overlapped"
fi
clients=()
for client in $(seq 8); do
	(
		for i in $(seq 25); do
			case $((i % 3)) in
			0) path=/ ;;
			1) path=/balloon/statistics ;;
			2) path=/machine-config ;;
			esac
			curl -s -m 60 -o /dev/null -w '%{http_code}\n' --unix-socket "$SOCK" \
				"http://localhost$path" || echo 000
		done >"$OUT/load.$client"
	) &
	clients+=($!)
done
wait "${clients[@]}" # not a bare wait: ebb itself is a background job too
answered=$(cat "$OUT"/load.* | grep -c '^200$' || true)
[ "$answered" = 200 ] && pass "all 200 requests answered with 200" ||
	fail "$answered of 200 requests answered 200: $(sort "$OUT"/load.* | uniq -c | tr '\n' ' ')"
if grep -q '^EBB-HOG churn' "$OUT/api.out"; then
	fail "the churn ended before the last answer: the load did not overlap it throughout"
else
	pass "the load ran while the guest churned (its churn line came after the last answer)"
fi
if wait_for "$OUT/api.out" '^EBB-WORKLOAD-DONE' 240 "$pid"; then
	pass "the guest's workload finished unharmed ($(grep -m1 'EBB-HOG churn' "$OUT/api.out" | cut -c1-60))"
else
	fail "the guest's workload did not finish"
fi
expect_api "flush metrics" 204 PUT /actions '{"action_type": "FlushMetrics"}'
if grep -q '"balloon"' "$OUT/metrics.json" 2>/dev/null; then
	pass "metrics file has balloon counters"
else
	fail "metrics file: $(head -c 200 "$OUT/metrics.json" 2>/dev/null)"
fi

log "SendCtrlAltDel reboots the guest and ebb exits cleanly"
expect_api "ctrl-alt-del" 204 PUT /actions '{"action_type": "SendCtrlAltDel"}'
if wait_exit "$pid" 60; then
	[ "$EXIT_STATUS" = 0 ] && pass "ebb exited 0 after SendCtrlAltDel" ||
		fail "ebb exited $EXIT_STATUS after SendCtrlAltDel"
else
	fail "ebb still runs 60 s after SendCtrlAltDel"
fi
[ -e "$SOCK" ] && fail "the API socket was left behind" || pass "the API socket file is gone"

log "config file and API together; stale and live sockets"
cat >"$OUT/both.json" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$KERNEL",
    "initrd_path": "$INITRD",
    "boot_args": "console=ttyS0 reboot=k panic=1 quiet ebb.run=\\"sleep 600\\""
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "balloon": { "amount_mib": 0, "deflate_on_oom": false, "free_page_reporting": true }
}
JSON
ebb_start both --config-file "$OUT/both.json" --api-sock "$SOCK"
pid=$EBB_PID
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
expect_api "booted from the file" 200 GET /
[ "$(json_field state)" = "Running" ] && pass "state is Running" || fail "state: $BODY_OUT"
ebb_run live 30 --api-sock "$SOCK"
expect_status live 1
expect_grep "live socket refused" "$OUT/live.err" 'in use by another process'
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
[ -S "$SOCK" ] && pass "SIGKILL left a stale socket behind" || fail "no stale socket to test with"
ebb_start stale --api-sock "$SOCK"
pid=$EBB_PID
for _ in $(seq 100); do curl -s --unix-socket "$SOCK" http://localhost/ >/dev/null && break; sleep 0.1; done
expect_api "stale socket replaced" 200 GET /
kill -TERM "$pid"
wait_exit "$pid" 20 || true
expect_grep "stale socket logged" "$OUT/stale.err" 'replacing stale socket'

finish
