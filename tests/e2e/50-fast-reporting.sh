#!/usr/bin/env bash
# [6/8] The patched guest's fast reporting values give memory back sooner
# than Linux's own. The direction only, never a time: both profiles run the
# same workload in this one lab run, and when the fast run is back, the
# stock run at the same time since its free must still hold the memory.
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"
MIB=1024

vm=(--mem-mib 512 --vcpus 1 --balloon-reporting)

reclaim_run fast anon 300 10 "${vm[@]}" --guest-reporting fast || fail "fast: run failed"
fast_before=$BEFORE_KIB fast_peak=$PEAK_KIB fast_back=$RECLAIM_S
expect_grep "fast: ebb passed the fast values" "$OUT/fast.err" 'page_reporting.delay_ms=100 page_reporting.budget=0'

reclaim_run stock anon 300 10 "${vm[@]}" --guest-reporting stock || fail "stock: run failed"
stock_before=$BEFORE_KIB
if grep -q 'page_reporting\.' "$OUT/stock.err"; then
	fail "stock: ebb passed page_reporting values to a stock run"
fi

if [ "$fast_back" = none ] || [ $((fast_peak - fast_before)) -lt $((200 * MIB)) ]; then
	fail "fast: never back within 32 MiB (before $((fast_before / MIB)), peak $((fast_peak / MIB)) MiB)"
else
	# The stock sample taken at (or last before) the moment the fast run was back.
	stock_then=$(awk -F, -v t="$fast_back" '$1 <= t { v = $2 } END { print v + 0 }' "$OUT/stock.csv")
	limit=$((stock_before + 32 * MIB))
	if [ "$stock_then" -gt "$limit" ]; then
		pass "fast was back ${fast_back}s after the free; stock still held $(((stock_then - stock_before) / MIB)) MiB above its baseline then"
	else
		fail "at ${fast_back}s the stock run was already back too ($((stock_then / MIB)) MiB, limit $((limit / MIB))): no difference shown"
	fi
fi
log "stock was back at ${RECLAIM_S}s (for the record, not a check)"

finish
