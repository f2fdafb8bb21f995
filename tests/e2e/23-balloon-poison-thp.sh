#!/usr/bin/env bash
# [3/8] What the guest and the flags ask of guest RAM:
#  - a guest booted with page_poison=1 acks PAGE_POISON: ebb completes its
#    reports without discarding (a discard would hand back zeroed pages that
#    fail the guest's poison check), and the guest allocates those pages again
#    without a corruption report. Negative control: the same guest without
#    page_poison=1, whose reports are discarded.
#  - --thp marks guest RAM MADV_HUGEPAGE ("hg" in smaps); without it, no "hg".
#  - a balloon marks guest RAM MADV_NOHUGEPAGE ("nh"): inflate gives back 4 KiB
#    pages, which a huge page faulted in next to them would bring back.
#    Negative control: without a balloon, no "nh".
#  - --reporting-order 5 reaches the guest's page_reporting_order (without it
#    the guest keeps order 9).
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"

# ram_flags PID MIB : the VmFlags of PID's mapping of at least MIB MiB (guest RAM).
ram_flags() {
	awk -v min=$(($2 * 1024)) '
		/^[0-9a-f]+-[0-9a-f]+ / { big = 0 }
		/^Size:/ { big = ($2 >= min) }
		/^VmFlags:/ && big { sub(/^VmFlags: */, ""); print; exit }' "/proc/$1/smaps"
}

# No double quotes in a guest command: it is one quoted kernel parameter.
# The [i] keeps the pattern from matching the kernel command line that dmesg holds.
again="ebb-hog touch:300 hold:1 free; echo EBB-CORRUPTION \$(dmesg | grep -c -E 'memory corrupt[i]on|single bit err[o]r')"

# poison_run NAME EXTRA_CMDLINE : touch, free and idle, then allocate the same
# memory again and count the kernel's corruption reports.
poison_run() {
	local name=$1 extra=$2
	ebb_run "$name" 300 --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-reporting \
		--cmdline "$BOOT_ARGS_BASE $extra ebb.run=\"ebb-hog touch:300 hold:1 free idle:5; $again\""
	expect_status "$name" 0
	expect_grep "$name: the guest allocated the reported memory again" "$OUT/$name.out" \
		'^EBB-HOG touched mib=300.*'
	expect_grep "$name: no corruption report in the guest" "$OUT/$name.out" '^EBB-CORRUPTION 0\b'
}

log "page_poison=1: reports are completed, never discarded"
poison_run poison page_poison=1
expect_grep "poison: the guest reported memory" "$OUT/poison.err" 'balloon: [1-9][0-9]* reports'
expect_grep "poison: nothing was discarded, all was skipped" "$OUT/poison.err" \
	'balloon: [1-9][0-9]* reports \([1-9][0-9]* MiB reported, 0 MiB discarded, [1-9][0-9]* MiB skipped'
log "negative control: the same guest without page_poison=1 has its reports discarded"
poison_run nopoison ""
expect_grep "nopoison: reported memory was discarded" "$OUT/nopoison.err" \
	'balloon: [1-9][0-9]* reports \([1-9][0-9]* MiB reported, [1-9][0-9]* MiB discarded'

# flags_run NAME ARGS... : boots an idle guest that prints its reporting
# order, and records guest RAM's VmFlags in $OUT/NAME.flags.
flags_run() {
	local name=$1
	shift
	ebb_start "$name" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 256 "$@" \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"echo EBB-ORDER \$(cat /sys/module/page_reporting/parameters/page_reporting_order); sleep 600\""
	if wait_for "$OUT/$name.out" '^EBB-ORDER' 120 "$EBB_PID"; then
		ram_flags "$EBB_PID" 256 >"$OUT/$name.flags" || true
		log "$name: guest RAM VmFlags: $(cat "$OUT/$name.flags")"
	else
		fail "$name: the guest did not come up"
	fi
	kill -TERM "$EBB_PID"
	wait_exit "$EBB_PID" 20 || true
}

has_flag() { grep -qw "$2" "$OUT/$1.flags"; }

log "--thp: guest RAM is advised MADV_HUGEPAGE"
flags_run thp --balloon-reporting --thp
flags_run plain --balloon-reporting
[ -s "$OUT/plain.flags" ] || fail "plain: no guest RAM mapping found in smaps"
has_flag thp hg && pass "thp: guest RAM has VmFlags hg" || fail "thp: no hg in $(cat "$OUT/thp.flags")"
has_flag plain hg && fail "plain: hg without --thp: $(cat "$OUT/plain.flags")" ||
	pass "plain: no hg without --thp"

has_flag plain nh && pass "plain: a balloon's guest RAM has VmFlags nh" ||
	fail "plain: no nh with a balloon: $(cat "$OUT/plain.flags")"
has_flag thp nh && fail "thp: nh with --thp: $(cat "$OUT/thp.flags")" || pass "thp: no nh with --thp"

log "no balloon: no advice (the negative control)"
flags_run noballoon
[ -s "$OUT/noballoon.flags" ] || fail "noballoon: no guest RAM mapping found in smaps"
has_flag noballoon nh && fail "noballoon: nh without a balloon: $(cat "$OUT/noballoon.flags")" ||
	pass "noballoon: no nh without a balloon"

log "--reporting-order 5: the guest reports 128 KiB blocks"
flags_run order5 --balloon-reporting --reporting-order 5
expect_grep "order5: the guest's page_reporting_order is 5" "$OUT/order5.out" '^EBB-ORDER 5\b'
expect_grep "plain: the guest keeps order 9" "$OUT/plain.out" '^EBB-ORDER 9\b'
has_flag order5 nh && pass "order5: guest RAM has VmFlags nh" || fail "order5: no nh in $(cat "$OUT/order5.flags")"

finish
