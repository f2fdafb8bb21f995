#!/usr/bin/env bash
# [7/8] arm64: ebb under real arm64 KVM (the lab's arm64 L1): bad kernels
# and too many vCPUs exit 1 with a clear message; an Image boots with 1 vCPU
# (boot timer, device tree dump, PSCI reset), an Image.gz with 2 vCPUs that
# the guest sees (PSCI poweroff), and a root drive without an initrd.
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
ROOTFS=${ROOTFS:-$(arm64_file build/guest-arm64/rootfs.ext4 build/guest/rootfs.ext4)}
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD" "$ROOTFS"
[ "$(uname -m)" = aarch64 ] || die "this test runs on arm64 (tools/lab/run --arch aarch64)"

# No double quotes inside: the whole command is one quoted kernel parameter.
REPORT="echo EBB-NPROC \$(nproc)"

# bad NAME WHY-REGEX ARGS... : ebb must refuse with status 1 and say why.
bad() {
	local name=$1 why=$2
	shift 2
	ebb_run "$name" 60 --mem-mib 128 "$@"
	expect_status "$name" 1
	expect_grep "$name: the message says why" "$OUT/$name.err" "$why"
}

log "bad input: not an arm64 kernel, a truncated header, too many vCPUs for the GIC"
printf 'this is not a kernel at all, just text that is longer than a header%.0s' 1 2 >"$OUT/text"
bad not-arm64 'not an arm64 Image' --kernel "$OUT/text"
head -c 40 "$KERNEL" >"$OUT/truncated"
bad truncated 'truncated: 40 bytes' --kernel "$OUT/truncated"
# The configuration's own limit (32) is below what the GIC takes (120 in ebb's
# layout, 8 with a GICv2, which KVM_CAP_MAX_VCPUS reports), so it speaks first.
bad too-many-vcpus 'vcpus.*must be 1\.\.32' --kernel "$KERNEL" --initrd "$INITRD" --vcpus 200

log "boot: Image, 256 MiB, 1 vCPU, boot timer, device tree dumped, reset"
EBB_DUMP_DTB=$OUT/guest.dtb ebb_run basic 600 --kernel "$KERNEL" --initrd "$INITRD" \
	--mem-mib 256 --boot-timer --cmdline "$BOOT_ARGS_BASE ebb.run=\"$REPORT\""
expect_status "basic boot" 0
expect_grep "basic: guest reached init" "$OUT/basic.out" '^EBB-GUEST-READY'
expect_grep "basic: guest sees 1 CPU" "$OUT/basic.out" '^EBB-NPROC 1\b'
expect_grep "basic: guest command finished" "$OUT/basic.out" '^EBB-GUEST-EXIT rc=0'
expect_grep "basic: ebb saw the PSCI reset" "$OUT/basic.err" 'guest reset'
expect_grep "basic: boot timer logged" "$OUT/basic.err" 'Guest-boot-time = *[1-9][0-9]* us'
if [ "$(od -An -tx1 -N4 "$OUT/guest.dtb" 2>/dev/null | tr -d ' ')" = d00dfeed ]; then
	pass "basic: EBB_DUMP_DTB wrote a device tree blob"
else
	fail "basic: $OUT/guest.dtb is not a device tree blob"
fi

log "boot: Image.gz, 512 MiB, 2 vCPUs, poweroff"
gzip -c "$KERNEL" >"$OUT/Image.gz"
ebb_run smp 600 --kernel "$OUT/Image.gz" --initrd "$INITRD" --mem-mib 512 --vcpus 2 \
	--cmdline "$BOOT_ARGS_BASE ebb.run=\"$REPORT; poweroff -f\""
expect_status "2 vCPU boot" 0
expect_grep "smp: guest sees 2 CPUs" "$OUT/smp.out" '^EBB-NPROC 2\b'
expect_grep "smp: ebb saw the PSCI poweroff" "$OUT/smp.err" 'guest shut down'

log "root drive: rootfs.ext4, no initrd"
cp "$ROOTFS" /tmp/root.ext4
cat >"$OUT/root.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$KERNEL",
                  "boot_args": "$BOOT_ARGS_BASE ebb.run=\\"grep ' / ' /proc/mounts | sed 's/^/EBB-ROOT /'\\""},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "drives": [{"drive_id": "rootfs", "path_on_host": "/tmp/root.ext4", "is_root_device": true,
              "is_read_only": false}]
}
JSON
ebb_run root 600 --config-file "$OUT/root.json"
expect_status "root drive boot" 0
expect_grep "root: / is the ext4 drive, read-write" "$OUT/root.out" '^EBB-ROOT /dev/root / ext4 rw'
rm -f /tmp/root.ext4

finish
