#!/usr/bin/env bash
# [6/8] The patched guest's fast reporting values give memory back sooner
# than Linux's own. The direction only, never a time: both profiles run the
# same workload in this one lab run, and when the fast run is back, the
# stock run at the same time since its free must still hold the memory.
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD" build/ebb-trace
MIB=1024

run() {
	trace_run "$1" 300 --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-reporting \
		--guest-reporting "$1" --cmdline "$BOOT_ARGS_BASE ebb.run=\"$(reclaim_hog 300 10)\""
	expect_status "$1" 0
	trace_metrics "$1"
}

run fast
fast_back=$back_s fast_touch=$((peak_kib - baseline_kib))
expect_grep "fast: ebb passed the fast values" "$OUT/fast.err" 'page_reporting.delay_ms=200 page_reporting.budget=0'
run stock
stock_base=$baseline_kib
if grep -q 'page_reporting\.' "$OUT/stock.err"; then
	fail "stock: ebb passed page_reporting values to a stock run"
fi

if [ "$fast_touch" -lt $((200 * MIB)) ]; then
	fail "fast: the touch did not show on the host ($((fast_touch / MIB)) MiB)"
elif [ "$fast_back" = none ]; then
	fail "fast: never back within 32 MiB of its baseline"
else
	stock_then=$(trace_usage_at stock "$fast_back")
	if [ "$stock_then" -gt $((stock_base + 32 * MIB)) ]; then
		pass "fast back ${fast_back}s after the free; stock then still $(((stock_then - stock_base) / MIB)) MiB above its baseline (stock back at ${back_s}s)"
	else
		fail "at ${fast_back}s after the free the stock run was back too ($(((stock_then - stock_base) / MIB)) MiB above)"
	fi
fi

finish
