#!/usr/bin/env bash
# [3/8] Free page reporting gives freed guest memory back to the host, for
# anon, memfd and hugetlbfs backings, through reports (the log's counters);
# the negative control for each backing: without reporting it stays. Anon
# RAM's page tables go with it; memfd RAM's, the control, stay. KVM's go
# with either backing, and stay with --keep-page-tables (the control).
# Anon RAM that holds only zeros goes too, and stays with --keep-zero-pages.
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD" "$ZERO_PAGES"

MIB=1024
vm=(--mem-mib 512 --vcpus 1)

# expect_reclaimed NAME: back within 32 MiB of the pre-touch usage within 10 s.
expect_reclaimed() {
	local name=$1
	if [ "$BEFORE_KIB" = 0 ] || [ $((PEAK_KIB - BEFORE_KIB)) -lt $((200 * MIB)) ]; then
		fail "$name: the touch did not show on the host (before $((BEFORE_KIB / MIB)) MiB, peak $((PEAK_KIB / MIB)) MiB)"
	elif [ "$RECLAIM_S" != none ] && awk -v r="$RECLAIM_S" 'BEGIN { exit !(r <= 10) }'; then
		pass "$name: back within 32 MiB of $((BEFORE_KIB / MIB)) MiB ${RECLAIM_S}s after the free (peak $((PEAK_KIB / MIB)) MiB)"
	else
		fail "$name: not back within 32 MiB of $((BEFORE_KIB / MIB)) MiB within 10 s (after $((AFTER_KIB / MIB)) MiB)"
	fi
}

# expect_reported NAME : the memory came back through reports, not some other way.
expect_reported() {
	expect_grep "$1: ebb discarded reported memory" "$OUT/$1.err" \
		'balloon: [1-9][0-9]* reports \([1-9][0-9]* MiB reported, [1-9][0-9]* MiB discarded'
}

# expect_tables WHAT NAME WHOSE : the page tables (ebb's or KVM's) of the
# freed range went with it (freed), or stayed (kept). ebb maps discarded
# 2 MiB blocks of anon RAM afresh under Linux 6.1 (the lab's), whose
# MADV_DONTNEED keeps them; memfd RAM's are kept: 300 MiB touched is 600 KiB
# of them. KVM keeps its own until a memory slot is deleted, which ebb does
# on x86 once the discards stop.
expect_tables() {
	local peak=$PEAK_PTE_KIB after=$AFTER_PTE_KIB ok=0
	[ "$3" = kvm ] && peak=$PEAK_KVM_PT_KIB after=$AFTER_KVM_PT_KIB
	local drop=$((peak - after))
	case $1 in
	freed) [ "$drop" -ge 400 ] && ok=1 ;;
	kept) [ "$peak" -ge 600 ] && [ "$drop" -lt 200 ] && ok=1 ;;
	esac
	if [ "$ok" = 1 ]; then
		pass "$2: $3's page tables $1 ($peak KiB at the peak, $after after the free)"
	else
		fail "$2: $3's page tables not $1 ($peak KiB at the peak, $after after the free)"
	fi
}

# expect_zero_pages : the anon run's guest RAM holds less that is only
# zeros than the keep run's (--keep-zero-pages), which holds the guest's
# boot-time zeros (its kernel's bss alone is over 1 MiB) at the end.
expect_zero_pages() {
	if [ "$KEEP_ZERO_KIB" -ge 1024 ] && [ "$ANON_ZERO_KIB" -ge 0 ] &&
		[ "$ANON_ZERO_KIB" -le $((KEEP_ZERO_KIB - 512)) ]; then
		pass "zero pages: anon's guest RAM ends with $ANON_ZERO_KIB KiB of them, keep's (--keep-zero-pages) $KEEP_ZERO_KIB"
	else
		fail "zero pages: anon's guest RAM ends with $ANON_ZERO_KIB KiB of them, keep's (--keep-zero-pages) $KEEP_ZERO_KIB"
	fi
}

# expect_kept NAME : without reporting, the freed memory stays on the host.
expect_kept() {
	local name=$1
	if [ "$BEFORE_KIB" -gt 0 ] && [ $((AFTER_KIB - BEFORE_KIB)) -ge $((250 * MIB)) ]; then
		pass "$name: without reporting ebb keeps $(((AFTER_KIB - BEFORE_KIB) / MIB)) MiB 10 s after the free"
	else
		fail "$name: usage fell from $((PEAK_KIB / MIB)) to $((AFTER_KIB / MIB)) MiB without reporting"
	fi
}

log "reporting on, anonymous memory"
reclaim_run anon anon 300 10 "${vm[@]}" --balloon-reporting || fail "anon: run failed"
expect_reclaimed anon
expect_reported anon
expect_tables freed anon vmm
expect_tables freed anon kvm
expect_grep "anon: ebb freed KVM's page tables with a spare slot" "$OUT/anon.err" \
	"KVM's page tables freed [1-9][0-9]* times"
expect_grep "anon: ebb gave back zero pages" "$OUT/anon.err" \
	'zero pages: [1-9][0-9]* KiB of guest RAM given back in [1-9][0-9]* sweeps'
ANON_ZERO_KIB=$AFTER_ZERO_KIB

log "negative control: reporting on, page tables and zero pages kept (--keep-page-tables --keep-zero-pages)"
reclaim_run keep anon 300 10 "${vm[@]}" --balloon-reporting --keep-page-tables --keep-zero-pages ||
	fail "keep: run failed"
expect_reclaimed keep
expect_tables kept keep vmm
expect_tables kept keep kvm
KEEP_ZERO_KIB=$AFTER_ZERO_KIB
expect_zero_pages

log "negative control: no reporting, the memory stays"
reclaim_run control anon 300 10 "${vm[@]}" --balloon-target-mib 0 || fail "control: run failed"
expect_kept control

log "reporting on, memfd backing"
reclaim_run memfd memfd 300 10 "${vm[@]}" --balloon-reporting --mem-backing memfd ||
	fail "memfd: run failed"
expect_reclaimed memfd
expect_reported memfd
expect_tables kept memfd vmm
expect_tables freed memfd kvm
log "negative control: memfd, no reporting"
reclaim_run memfd-control memfd 300 10 "${vm[@]}" --balloon-target-mib 0 --mem-backing memfd ||
	fail "memfd-control: run failed"
expect_kept memfd-control

log "reporting on, hugetlbfs backing"
echo 300 >/proc/sys/vm/nr_hugepages
huge=$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)
if [ "$huge" -lt 256 ]; then
	fail "hugetlbfs: could reserve only $huge huge pages"
else
	free_before=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	reclaim_run hugetlbfs hugetlbfs 300 10 "${vm[@]}" --balloon-reporting --mem-backing hugetlbfs ||
		fail "hugetlbfs: run failed"
	expect_reclaimed hugetlbfs
	expect_reported hugetlbfs
	log "negative control: hugetlbfs, no reporting"
	reclaim_run hugetlbfs-control hugetlbfs 300 10 "${vm[@]}" --balloon-target-mib 0 \
		--mem-backing hugetlbfs || fail "hugetlbfs-control: run failed"
	expect_kept hugetlbfs-control
	free_after=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	if [ "$free_after" -ge "$free_before" ]; then
		pass "hugetlbfs: all $free_after huge pages free again after ebb exited"
	else
		fail "hugetlbfs: $free_after huge pages free after exit, $free_before before"
	fi
fi
echo 0 >/proc/sys/vm/nr_hugepages

finish
