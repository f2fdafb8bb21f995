#!/usr/bin/env bash
# [issue 16] The settled tier gives an idle guest's small free blocks back.
# A 512 MiB guest touches 300 MiB, frees it and idles. By default (the fast
# profile) ebb passes settled_order 5 and settle_ms 10000, and after the
# settle time ebb's anon RSS falls below what the fast tier alone left (its
# value 6 s after the free). Negative control: settled_order 11, from a
# config file, turns the tier off; the RSS then stays where the fast tier
# left it. The
# balloon's counters say which tier reported what, in the log and in GET
# /balloon/statistics. The direction only, never a time. Both runs keep
# zero pages (--keep-zero-pages): an idle guest's sweep gives back a few MiB
# whichever tier runs, in the window measured here.
# lab: --mem 4096
# timeout: 600
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD" build/ebb-trace
MIB=1024
FAST_AT=6 SETTLED_AT=27
# No double quotes: the workload is one quoted kernel parameter.
WORK="ebb-hog hold:3 touch:300 hold:1 free idle:$((SETTLED_AT + 2)); grep page_reporting /proc/vmstat; echo EBB-SETTLED-QUERY; sleep 5"

# settled_of NAME : the guest's page_reporting_settled (pages) at the end.
# The console ends lines with CR LF.
settled_of() { tr -d '\r' <"$OUT/$1.out" | awk '$1 == "page_reporting_settled" { print $2 }'; }

# drop NAME : sets AT_FAST and AT_END (KiB of anon RSS) and prints the drop.
drop() {
	AT_FAST=$(trace_usage_at "$1" $FAST_AT) AT_END=$(trace_usage_at "$1" $SETTLED_AT)
	log "$1: anon RSS ${FAST_AT} s after the free $((AT_FAST / MIB)) MiB, ${SETTLED_AT} s after $((AT_END / MIB)) MiB"
	log "$1: anon MiB at 0..${SETTLED_AT} s after the free: $(usage_by_second "$1")"
}

# usage_by_second NAME : anon RSS (MiB) at each whole second after the free.
usage_by_second() {
	local s series=
	for ((s = 0; s <= SETTLED_AT; s++)); do series+="$(($(trace_usage_at "$1" $s) / MIB)) "; done
	echo "$series"
}

log "settled tier on (the default), statistics over the API"
# A unix socket cannot live in the lab's shared build/ directory.
SOCK_DIR=$(mktemp -d)
SOCK=$SOCK_DIR/on.sock
(
	if wait_for "$OUT/on.out" '^EBB-SETTLED-QUERY' 240 "$$"; then
		api GET /balloon/statistics
		echo "$CODE $BODY_OUT" >"$OUT/on.stats"
	fi
) &
query=$!
trace_run on 300 --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-reporting \
	--balloon-stats-interval 1 --keep-zero-pages --api-sock "$SOCK" --cmdline "$BOOT_ARGS_BASE ebb.run=\"$WORK\""
# The guest idles 5 s after the marker: the answer is in by the time ebb ends.
kill "$query" 2>/dev/null || true
wait "$query" 2>/dev/null || true
expect_status on 0
expect_grep "on: ebb passed the settled tier's values" "$OUT/on.err" \
	'page_reporting.settled_order=5 page_reporting.settle_ms=10000'
drop on
on_fast=$AT_FAST on_end=$AT_END
if [ "$on_end" -gt 0 ] && [ "$on_end" -le $((on_fast - 4 * MIB)) ]; then
	pass "on: the settled tier gave back $(((on_fast - on_end) / MIB)) MiB more after the settle time"
else
	fail "on: anon RSS fell by $(((on_fast - on_end) / MIB)) MiB after the fast tier, want 4 or more"
fi
n=$(settled_of on)
[ "${n:-0}" -gt 0 ] && pass "on: the guest's settled tier reported $n pages" ||
	fail "on: the guest's page_reporting_settled is '${n:-}'"
expect_grep "on: ebb counted settled-tier blocks" "$OUT/on.err" \
	'settled tier [1-9][0-9]* blocks \([0-9.]+ MiB\)'
if [ -s "$OUT/on.stats" ] && grep -qE '^200 .*"ebb_reporting": *\{[^}]*"settled_blocks": *[1-9]' "$OUT/on.stats"; then
	pass "on: GET /balloon/statistics has ebb_reporting.settled_blocks > 0"
else
	fail "on: GET /balloon/statistics: $(cat "$OUT/on.stats" 2>/dev/null || echo 'no answer')"
fi

log "negative control: the tier off (settled_order 11), from a config file"
cat >"$OUT/off.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$KERNEL", "initrd_path": "$INITRD",
                  "boot_args": "$BOOT_ARGS_BASE ebb.run=\\"$WORK\\""},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 512},
  "balloon": {"amount_mib": 0, "deflate_on_oom": false, "free_page_reporting": true},
  "ebb": {"page_reporting": {"settled_order": 11}, "memory": {"free_zero_pages": false}}
}
JSON
trace_run off 300 --config-file "$OUT/off.json"
expect_status off 0
expect_grep "off: ebb passed the fast profile" "$OUT/off.err" 'page_reporting.delay_ms=200'
expect_grep "off: ebb passed settled_order 11" "$OUT/off.err" 'page_reporting.settled_order=11'
if grep -q 'page_reporting.settle_ms' "$OUT/off.err"; then
	fail "off: ebb passed a settle time with the tier off: $(grep -o 'page_reporting.settle_ms[^ ]*' "$OUT/off.err" | head -1)"
else
	pass "off: ebb passed no settle time with the tier off"
fi
drop off
if [ "$AT_END" -gt $((AT_FAST - 2 * MIB)) ]; then
	pass "off: anon RSS stayed where the fast tier left it ($(((AT_FAST - AT_END) / MIB)) MiB less)"
else
	fail "off: anon RSS fell by $(((AT_FAST - AT_END) / MIB)) MiB with the settled tier off"
fi
n=$(settled_of off)
[ "${n:-x}" = 0 ] && pass "off: the guest's settled tier reported nothing" ||
	fail "off: the guest's page_reporting_settled is '${n:-}'"
expect_grep "off: ebb counted no settled-tier blocks" "$OUT/off.err" 'settled tier 0 blocks'
if [ "$on_end" -gt 0 ] && [ "$on_end" -le $((AT_END - 4 * MIB)) ]; then
	pass "idle guest: $((on_end / MIB)) MiB with the settled tier, $((AT_END / MIB)) MiB without"
else
	fail "idle guest: $((on_end / MIB)) MiB with the settled tier, $((AT_END / MIB)) MiB without"
fi

finish
