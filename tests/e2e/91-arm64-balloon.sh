#!/usr/bin/env bash
# [7/8] arm64: the balloon under real arm64 KVM (the lab's arm64 L1). Free
# page reporting gives 200 MiB the guest frees back within 10 s, and without
# reporting it stays (the negative control); inflating to a target keeps
# ebb's RSS below RAM minus the target.
# lab: --arch aarch64
# timeout: 1500
arm64_file() { # the first of the paths that exists (the cross build's, then a native one)
	local p
	for p; do [ -e "$p" ] && { echo "$p"; return; }; done
	echo "$1"
}
EBB=${EBB:-$(arm64_file build/arm64/ebb build/ebb)}
KERNEL=${KERNEL:-$(arm64_file build/guest-arm64/Image build/guest/Image)}
INITRD=${INITRD:-$(arm64_file build/guest-arm64/initramfs.cpio.gz build/guest/initramfs.cpio.gz)}
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"
[ "$(uname -m)" = aarch64 ] || die "this test runs on arm64 (tools/lab/run --arch aarch64)"

MIB=1024
vm=(--mem-mib 512 --vcpus 1)

log "reclaim: touch and free 200 MiB with reporting on"
reclaim_run anon anon 200 10 "${vm[@]}" --balloon-reporting || fail "anon: run failed"
freed=$((PEAK_KIB - AFTER_KIB))
if [ $((PEAK_KIB - BEFORE_KIB)) -lt $((150 * MIB)) ]; then
	fail "anon: the touch did not show on the host (before $((BEFORE_KIB / MIB)) MiB, peak $((PEAK_KIB / MIB)) MiB)"
elif [ "$freed" -ge $((150 * MIB)) ]; then
	pass "anon: RSS fell by $((freed / MIB)) MiB within 10 s of the free (peak $((PEAK_KIB / MIB)), after $((AFTER_KIB / MIB)) MiB; back within 32 MiB at ${RECLAIM_S}s)"
else
	fail "anon: RSS fell by only $((freed / MIB)) MiB within 10 s (peak $((PEAK_KIB / MIB)), after $((AFTER_KIB / MIB)) MiB)"
fi
expect_grep "anon: ebb discarded reported memory" "$OUT/anon.err" 'balloon: [1-9][0-9]* reports'

log "negative control: no reporting, the memory stays"
reclaim_run control anon 200 10 "${vm[@]}" --balloon-target-mib 0 || fail "control: run failed"
if [ $((AFTER_KIB - BEFORE_KIB)) -ge $((150 * MIB)) ]; then
	pass "control: without reporting ebb keeps $(((AFTER_KIB - BEFORE_KIB) / MIB)) MiB 10 s after the free"
else
	fail "control: usage fell from $((PEAK_KIB / MIB)) to $((AFTER_KIB / MIB)) MiB without reporting"
fi

log "inflate: 512 MiB guest, target 256 MiB, then a hog touches what it can"
ebb_start inflate --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 512 --balloon-target-mib 256 \
	--cmdline "$BOOT_ARGS_BASE ebb.run=\"sleep 20; ebb-hog touch:100 touch:100 touch:100 touch:100 hold:2\""
pid=$EBB_PID
if wait_for "$OUT/inflate.err" 'guest holds 256 MiB, the target' 300 "$pid"; then
	pass "inflate: the guest's actual reached 256 MiB"
else
	fail "inflate: the guest never reported 256 MiB in the balloon"
fi
expect_balloon_caps_guest inflate inflate "$pid"

finish
