#!/usr/bin/env bash
# [issue 19] Debian's own kernel (linux-image-amd64, unpatched, virtio_mmio a
# module without virtio_mmio.device= support) finds ebb's devices through
# ACPI: the balloon and a disk, free page reporting gives a 200 MiB fill+free
# back, `poweroff -f` (S5 through the FADT's sleep control register) and
# `reboot -f` with reboot=a (the FADT's reset register) end ebb with status 0.
# Negative control: with --no-acpi the same kernel finds no virtio device.
# The guest comes from tools/guest/build-stock (`make stock-guest`, cached).
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
STOCK_KERNEL=${STOCK_KERNEL:-build/stock/vmlinuz}
STOCK_INITRD=${STOCK_INITRD:-build/stock/initramfs.cpio.gz}
require_files "$EBB" "$STOCK_KERNEL" "$STOCK_INITRD"
log "stock kernel $(cat build/stock/version 2>/dev/null || echo '?')"

MIB=1024
DISK=$OUT/data.img
truncate -s 16M "$DISK"
# Free page reporting as Linux ships it: no page_reporting.* parameters (those
# are for ebb's patched guest).
STOCK_ARGS="console=ttyS0 reboot=k panic=1 quiet"

# config FILE RUN [CMDLINE [ACPI]] : 512 MiB, 1 vCPU, a reporting balloon, a
# data drive, ACPI on unless ACPI is false. RUN (no double quotes) is what the
# guest's init runs.
config() {
	local file=$1 run=$2 args=${3:-$STOCK_ARGS} acpi=${4:-true}
	cat >"$file" <<JSON
{
  "boot-source": {"kernel_image_path": "$STOCK_KERNEL", "initrd_path": "$STOCK_INITRD",
                  "boot_args": "$args ebb.run=\\"$run\\""},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 512},
  "balloon": {"amount_mib": 0, "deflate_on_oom": false, "free_page_reporting": true},
  "drives": [{"drive_id": "data", "path_on_host": "$DISK", "is_root_device": false, "is_read_only": false}],
  "ebb": {"page_reporting": {"profile": "stock"}, "acpi": $acpi}
}
JSON
}

# One line per virtio device: EBB-VIRTIO <name> <device id>; then the disk.
# shellcheck disable=SC2016 # expanded by the guest's shell
LIST='for d in /sys/bus/virtio/devices/*; do [ -e $d/device ] && echo EBB-VIRTIO ${d##*/} $(cat $d/device); done; echo EBB-VIRTIO-COUNT $(ls /sys/bus/virtio/devices | wc -l); [ -b /dev/vda ] && echo EBB-VDA $(cat /sys/block/vda/size)'

# ---- devices, and poweroff -f as a clean exit ----

log "ACPI: the stock kernel finds the balloon and the disk, then powers off"
config "$OUT/devices.json" "$LIST; poweroff -f"
ebb_run devices 300 --config-file "$OUT/devices.json"
expect_status devices 0
expect_grep "devices: the guest reached init" "$OUT/devices.out" '^EBB-GUEST-READY'
expect_grep "devices: the balloon (virtio id 5) is there" "$OUT/devices.out" '^EBB-VIRTIO virtio[0-9]+ 0x0005'
expect_grep "devices: the block device (virtio id 2) is there" "$OUT/devices.out" '^EBB-VIRTIO virtio[0-9]+ 0x0002'
expect_grep "devices: /dev/vda is the 16 MiB drive" "$OUT/devices.out" '^EBB-VDA 32768'
# poweroff -f ends the machine at once: init never prints its exit line, and a
# kernel that could not power off would halt and leave ebb running (timeout).
if grep -q '^EBB-GUEST-EXIT' "$OUT/devices.out"; then
	fail "devices: the guest's command returned: poweroff -f did not power off"
else
	pass "devices: poweroff -f ended the VM"
fi
if grep -q 'virtio_mmio.device=' "$OUT/devices.err" "$OUT/devices.out"; then
	fail "devices: virtio_mmio.device= is still on the command line with ACPI on"
else
	pass "devices: no virtio_mmio.device= on the command line"
fi

log "ACPI: reboot -f through the FADT's reset register (reboot=a)"
config "$OUT/reset.json" "reboot -f" "console=ttyS0 reboot=a panic=1 quiet"
ebb_run reset 300 --config-file "$OUT/reset.json"
expect_status reset 0
expect_grep "reset: the guest reached init" "$OUT/reset.out" '^EBB-GUEST-READY'
# Linux falls back to the i8042 when the ACPI reset does nothing: ebb's exit
# message must say which one it was (ebb's wording must name ACPI).
if grep -q 'i8042' "$OUT/reset.err"; then
	fail "reset: the i8042 reset the VM, not the ACPI reset register"
elif grep -qi 'acpi' "$OUT/reset.err"; then
	pass "reset: ebb names the ACPI reset register"
else
	fail "reset: ebb's log does not say what reset the VM"
fi

# ---- free page reporting with the unpatched kernel ----

log "ACPI: a 200 MiB fill and free comes back to the host within 10 s"
config "$OUT/reclaim.json" "$(reclaim_hog 200 15)"
if reclaim_measure reclaim anon 10 --config-file "$OUT/reclaim.json"; then
	# The first sample at least 150 MiB below the peak (the csv holds seconds
	# since the guest's free, KiB).
	fell=$(awk -F, -v p="$PEAK_KIB" -v d=$((150 * MIB)) '$2 <= p - d { print $1; exit }' "$OUT/reclaim.csv")
	if [ "$PEAK_KIB" -lt $((BEFORE_KIB + 180 * MIB)) ]; then
		fail "reclaim: the fill did not show on the host (before $((BEFORE_KIB / MIB)) MiB, peak $((PEAK_KIB / MIB)) MiB)"
	elif [ -n "$fell" ] && awk -v t="$fell" 'BEGIN { exit !(t <= 10) }'; then
		pass "reclaim: RSS fell 150 MiB below its $((PEAK_KIB / MIB)) MiB peak ${fell}s after the free"
	else
		fail "reclaim: RSS did not fall 150 MiB below its $((PEAK_KIB / MIB)) MiB peak within 10 s (after $((AFTER_KIB / MIB)) MiB)"
	fi
	expect_grep "reclaim: ebb discarded reported memory" "$OUT/reclaim.err" 'balloon: [1-9][0-9]* reports'
else
	fail "reclaim: run failed"
fi

# ---- negative control: no ACPI, no devices ----

log "ebb.acpi false (--no-acpi): the same kernel finds no virtio device (it has no command-line form)"
config "$OUT/noacpi.json" "$LIST" "$STOCK_ARGS" false
ebb_run noacpi 300 --config-file "$OUT/noacpi.json"
expect_status noacpi 0
expect_grep "noacpi: the guest reached init" "$OUT/noacpi.out" '^EBB-GUEST-READY'
expect_grep "noacpi: no virtio device" "$OUT/noacpi.out" '^EBB-VIRTIO-COUNT 0'
if grep -q '^EBB-VDA' "$OUT/noacpi.out"; then
	fail "noacpi: /dev/vda exists without ACPI"
else
	pass "noacpi: no /dev/vda"
fi

finish
