#!/usr/bin/env bash
# [8/8] virtio-blk: boot from build/guest/rootfs.ext4 as the root drive with
# no initrd, write and read back across boots, a read-only root, two drives
# (the root is /dev/vda whatever the config order), bad drive configs, PATCH
# /drives after boot, and dd throughput (MB/s, printed; next to QEMU microvm
# on the same kernel when QEMU is there). Negative controls: data read back
# is checked byte for byte, a read-only root must refuse writes, bad drive
# configs must fail before boot, and the QEMU baseline must run.
# lab: --mem 4096
# timeout: 1200
source "$(dirname "$0")/lib.sh"
ROOTFS=${ROOTFS:-build/guest/rootfs.ext4}
require_files "$EBB" "$KERNEL" "$INITRD" "$ROOTFS"
command -v curl >/dev/null || die "curl is missing (scripts/install-deps installs it)"

# The root images are copies in $OUT: no test may change build/guest. The
# big data images live on the lab's tmpfs, so dd measures ebb, not 9p.
ROOT_IMG=$OUT/root.ext4
cp --sparse=always "$ROOTFS" "$ROOT_IMG"
SCRATCH=$(mktemp -d)
SOCK_DIR=$(mktemp -d) # unix sockets cannot live on the lab's 9p share
ROOT_SECTORS=$(($(stat -c %s "$ROOTFS") / 512))

# drive ID PATH ROOT READ_ONLY [CACHE] : one "drives" entry.
drive() {
	printf '{"drive_id": "%s", "path_on_host": "%s", "is_root_device": %s, "is_read_only": %s, "cache_type": "%s"}' \
		"$1" "$2" "$3" "$4" "${5:-Unsafe}"
}

# config FILE MEM_MIB RUN DRIVE... : a config file booting the kernel without
# an initrd; RUN (no double quotes) is what the guest's init runs.
config() {
	local file=$1 mem=$2 run=$3
	shift 3
	local drives
	drives=$(IFS=,; echo "$*")
	cat >"$file" <<JSON
{
  "boot-source": {"kernel_image_path": "$KERNEL", "boot_args": "$BOOT_ARGS_BASE ebb.run=\\"$run\\""},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": $mem},
  "drives": [$drives],
  "metrics": {"metrics_path": "$file.metrics"}
}
JSON
}

# boot NAME MEM RUN DRIVE... : runs ebb to completion from a config.
boot() {
	local name=$1 mem=$2 run=$3
	shift 3
	config "$OUT/$name.json" "$mem" "$run" "$@"
	ebb_run "$name" 900 --config-file "$OUT/$name.json"
}

# guest_line NAME MARKER : the rest of the guest's first line starting with MARKER.
guest_line() {
	sed -n "s/^$2 //p" "$OUT/$1.out" | head -n 1 | tr -d '\r'
}

fsck_clean() {
	local what=$1
	if e2fsck -fn "$ROOT_IMG" >"$OUT/fsck.log" 2>&1; then
		pass "$what: e2fsck finds the image clean"
	else
		fail "$what: e2fsck: $(tail -n 3 "$OUT/fsck.log" | tr '\n' ' ')"
	fi
}

# ---- a read-write root drive, written, then read back by a second boot ----

log "root drive, read-write, no initrd: write a file"
boot rw1 256 "echo ebb-block-marker >/root/marker && sync && echo EBB-WROTE; grep ' / ' /proc/mounts | sed 's/^/EBB-ROOT /'" \
	"$(drive rootfs "$ROOT_IMG" true false)"
expect_status rw1 0
expect_grep "rw1: the guest reached init from the disk" "$OUT/rw1.out" '^EBB-GUEST-READY'
expect_grep "rw1: root is the ext4 drive, read-write" "$OUT/rw1.out" '^EBB-ROOT /dev/root / ext4 rw'
expect_grep "rw1: the guest wrote and synced a file" "$OUT/rw1.out" '^EBB-WROTE'
expect_grep "rw1: the kernel command line names the root" "$OUT/rw1.err" 'root=/dev/vda rw'
if [ "$(debugfs -R 'cat /root/marker' "$ROOT_IMG" 2>/dev/null)" = ebb-block-marker ]; then
	pass "rw1: the file is in the image on the host"
else
	fail "rw1: /root/marker is not in $ROOT_IMG"
fi
fsck_clean rw1

log "root drive: a second boot reads the file back"
# shellcheck disable=SC2016 # expanded by the guest's shell
boot rw2 256 'echo EBB-READ $(cat /root/marker)' "$(drive rootfs "$ROOT_IMG" true false)"
expect_status rw2 0
expect_grep "rw2: the second boot read the file" "$OUT/rw2.out" '^EBB-READ ebb-block-marker\s*$'
fsck_clean rw2

# ---- read-only ----

log "read-only root drive: the guest's write fails, ebb keeps running"
sum_before=$(sha256sum <"$ROOT_IMG")
boot ro 256 "if echo x >/root/ro-test; then echo EBB-RO-WRITE-OK; else echo EBB-RO-WRITE-FAILED; fi; grep ' / ' /proc/mounts | sed 's/^/EBB-ROOT /'; sed 's/^/EBB-RO-FLAG /' /sys/block/vda/ro" \
	"$(drive rootfs "$ROOT_IMG" true true)"
expect_status ro 0
expect_grep "ro: the write failed inside the guest" "$OUT/ro.out" '^EBB-RO-WRITE-FAILED'
expect_grep "ro: root mounted read-only" "$OUT/ro.out" '^EBB-ROOT /dev/root / ext4 ro'
expect_grep "ro: the disk itself is read-only (VIRTIO_BLK_F_RO)" "$OUT/ro.out" '^EBB-RO-FLAG 1'
expect_grep "ro: the guest ran on to the end" "$OUT/ro.out" '^EBB-GUEST-EXIT rc=0'
expect_grep "ro: the kernel command line says ro" "$OUT/ro.err" 'root=/dev/vda ro'
if [ "$(sha256sum <"$ROOT_IMG")" = "$sum_before" ]; then
	pass "ro: the image did not change"
else
	fail "ro: the image changed"
fi

# ---- bad configurations ----

log "bad drive configs are refused at start"
printf 'x' >"$OUT/odd.img"
for bad in "missing:$SCRATCH/no-such.img:No such file or directory" \
	"directory:$SCRATCH:is a directory, not a disk image" \
	"odd-size:$OUT/odd.img:not a multiple of 512"; do
	IFS=: read -r name path message <<<"$bad"
	boot "bad-$name" 128 true "$(drive rootfs "$ROOT_IMG" true false)" "$(drive data "$path" false false)"
	expect_status "bad-$name" 1
	expect_grep "bad-$name: one clear line" "$OUT/bad-$name.err" "error drive data: $path.*$message"
	if grep -q 'Linux version\|EBB-GUEST' "$OUT/bad-$name.out" "$OUT/bad-$name.err"; then
		fail "bad-$name: a guest ran"
	fi
done

# ---- two drives, throughput ----

# The guest's dd run on DEV: 256 MiB written with conv=fsync, the page cache
# dropped, read back; then 1 MiB of random data at 262.5 MiB, and the 16 bytes
# the host left at 300 MiB. No double quotes (kernel command line).
# shellcheck disable=SC2016 # expanded by the guest's shell
dd_run() {
	local dev=$1
	printf '%s' "read a _ </proc/uptime; dd if=/dev/zero of=$dev bs=1M count=256 conv=fsync 2>/dev/null || echo EBB-DD-FAILED write;"
	printf '%s' ' read b _ </proc/uptime; echo 3 >/proc/sys/vm/drop_caches; read c _ </proc/uptime;'
	printf '%s' " dd if=$dev of=/dev/null bs=1M count=256 2>/dev/null || echo EBB-DD-FAILED read;"
	printf '%s' ' read d _ </proc/uptime; echo EBB-DD $a $b $c $d;'
	printf '%s' " dd if=/dev/urandom of=/tmp/r bs=64k count=16 2>/dev/null; dd if=/tmp/r of=$dev bs=64k seek=4200 conv=fsync 2>/dev/null;"
	printf '%s' ' echo EBB-MD5 $(md5sum </tmp/r);'
	printf '%s' " echo EBB-HOSTDATA \$(dd if=$dev bs=1M skip=300 count=1 2>/dev/null | head -c 16)"
}

# mbps NAME : sets WRITE_MBPS and READ_MBPS from the guest's EBB-DD line.
mbps() {
	local t
	t=$(guest_line "$1" EBB-DD)
	WRITE_MBPS=$(awk -v t="$t" 'BEGIN { split(t, v, " "); s = v[2] - v[1]; if (s > 0) printf "%.1f", 268.435456 / s; else print "?" }')
	READ_MBPS=$(awk -v t="$t" 'BEGIN { split(t, v, " "); s = v[4] - v[3]; if (s > 0) printf "%.1f", 268.435456 / s; else print "?" }')
}

# check_data NAME IMAGE : the guest's random MiB landed at 262.5 MiB of IMAGE,
# and the guest read what the host put at 300 MiB.
check_data() {
	local name=$1 image=$2 want got
	want=$(guest_line "$name" EBB-MD5 | cut -d' ' -f1)
	got=$(dd if="$image" bs=64k skip=4200 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	if [ -n "$want" ] && [ "$want" = "$got" ]; then
		pass "$name: the guest's random MiB is in the image at the right offset ($got)"
	else
		fail "$name: guest md5 '${want}', image md5 '$got'"
	fi
	expect_grep "$name: the guest read the host's data at 300 MiB" "$OUT/$name.out" '^EBB-HOSTDATA EBB-HOST-PATTERN\s*$'
}

new_data_image() {
	truncate -s 320M "$1"
	printf 'EBB-HOST-PATTERN' | dd of="$1" bs=1M seek=300 conv=notrunc 2>/dev/null
}

log "two drives: the root and a 320 MiB data drive (Writeback), dd of 256 MiB"
DATA_IMG=$SCRATCH/data.img
new_data_image "$DATA_IMG"
# The data drive comes first in the config; the root must still be /dev/vda.
# shellcheck disable=SC2016 # expanded by the guest's shell
two_run='echo EBB-SIZES $(cat /sys/block/vda/size) $(cat /sys/block/vdb/size); echo EBB-SERIALS $(cat /sys/block/vda/serial) $(cat /sys/block/vdb/serial); '
boot two 512 "$two_run$(dd_run /dev/vdb)" \
	"$(drive data "$DATA_IMG" false false Writeback)" "$(drive rootfs "$ROOT_IMG" true false)"
expect_status two 0
sizes=$(guest_line two EBB-SIZES)
if [ "$sizes" = "$ROOT_SECTORS 655360" ]; then
	pass "two: /dev/vda is the root ($ROOT_SECTORS sectors), /dev/vdb the data drive (655360)"
else
	fail "two: sizes of vda and vdb are '$sizes', want '$ROOT_SECTORS 655360'"
fi
expect_grep "two: GET_ID gives each disk its drive_id" "$OUT/two.out" '^EBB-SERIALS rootfs data\s*$'
if grep -q '^EBB-DD-FAILED' "$OUT/two.out" || [ -z "$(guest_line two EBB-DD)" ]; then
	fail "two: dd failed: $(grep '^EBB-DD' "$OUT/two.out" | tr '\n' ' ')"
else
	mbps two
	EBB_WRITE=$WRITE_MBPS EBB_READ=$READ_MBPS
	pass "two: ebb dd 256 MiB: write (conv=fsync) $EBB_WRITE MB/s, read $EBB_READ MB/s"
fi
check_data two "$DATA_IMG"
expect_grep "two: ebb counted the flushes" "$OUT/two.err" 'block data: .* [1-9][0-9]* flushes'
expect_grep "two: the metrics have the data drive's counters" "$OUT/two.json.metrics" \
	'"block_data": *\{"requests": *[1-9][0-9]*, *"reads": *[1-9][0-9]*, *"writes": *[1-9][0-9]*, *"flushes": *[1-9]'
rm -f "$DATA_IMG"

# The same dd under QEMU microvm (initramfs root, the data drive is vda).
if command -v qemu-system-x86_64 >/dev/null && [ -w /dev/kvm ]; then
	log "QEMU microvm, same kernel, same dd, a 320 MiB data drive (cache=writeback)"
	QDATA=$SCRATCH/qemu-data.img
	new_data_image "$QDATA"
	set +e
	timeout -k 5 900 qemu-system-x86_64 \
		-M microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off \
		-accel kvm -cpu host -smp 1 -m 512 \
		-display none -monitor none -serial "file:$OUT/qemu.out" -no-reboot \
		-drive "id=data,file=$QDATA,format=raw,if=none,cache=writeback" \
		-device virtio-blk-device,drive=data \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 reboot=t panic=1 quiet ebb.run=\"$(dd_run /dev/vda)\"" \
		</dev/null >"$OUT/qemu.err" 2>&1
	qstatus=$?
	set -e
	if [ "$qstatus" = 0 ] && [ -n "$(guest_line qemu EBB-DD)" ] && ! grep -q '^EBB-DD-FAILED' "$OUT/qemu.out"; then
		mbps qemu
		pass "qemu: QEMU microvm dd 256 MiB: write $WRITE_MBPS MB/s, read $READ_MBPS MB/s"
		check_data qemu "$QDATA"
		if [ -n "${EBB_WRITE:-}" ]; then
			ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }
			log "throughput ebb/QEMU: write $(ratio "$EBB_WRITE" "$WRITE_MBPS"), read $(ratio "$EBB_READ" "$READ_MBPS")"
		fi
	else
		fail "qemu: the baseline run failed (status $qstatus): $(tail -n 3 "$OUT/qemu.err" | tr '\n' ' ')"
	fi
	rm -f "$QDATA"
else
	# The lab has both (scripts/install-deps installs QEMU): their absence is a broken setup.
	fail "qemu: QEMU or /dev/kvm missing; no baseline"
fi

# ---- PATCH /drives after boot ----

SOCK=$SOCK_DIR/api.sock

log "PATCH /drives: swap the data drive's image after boot"
DISK1=$SCRATCH/disk1.img DISK2=$SCRATCH/disk2.img
truncate -s 1M "$DISK1"
truncate -s 2M "$DISK2"
printf 'EBB-DISK-ONE' | dd of="$DISK1" conv=notrunc 2>/dev/null
printf 'EBB-DISK-TWO' | dd of="$DISK2" conv=notrunc 2>/dev/null
# The guest waits for vdb to grow (the config interrupt), then reads it again.
# shellcheck disable=SC2016 # expanded by the guest's shell
patch_run='echo EBB-BEFORE $(head -c 12 /dev/vdb) $(cat /sys/block/vdb/size); i=0; while [ $(cat /sys/block/vdb/size) = 2048 ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done; echo 3 >/proc/sys/vm/drop_caches; echo EBB-AFTER $(head -c 12 /dev/vdb) $(cat /sys/block/vdb/size)'
ebb_start patch --api-sock "$SOCK"
pid=$EBB_PID
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
expect_api "boot-source" 204 PUT /boot-source \
	"{\"kernel_image_path\": \"$KERNEL\", \"boot_args\": \"$BOOT_ARGS_BASE ebb.run=\\\"$patch_run\\\"\"}"
expect_api "machine-config" 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
expect_api "root drive" 204 PUT /drives/rootfs "$(drive rootfs "$ROOT_IMG" true false)"
expect_api "data drive" 204 PUT /drives/data "$(drive data "$DISK1" false false)"
expect_api "PATCH before boot is refused" 400 PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$DISK2\"}"
expect_api "start" 204 PUT /actions '{"action_type": "InstanceStart"}'
if wait_for "$OUT/patch.out" '^EBB-BEFORE' 300 "$pid"; then
	before=$(guest_line patch EBB-BEFORE)
	if [ "$before" = "EBB-DISK-ONE 2048" ]; then
		pass "patch: the guest reads disk one (2048 sectors)"
	else
		fail "patch: before the swap the guest saw '$before'"
	fi
	expect_api "PATCH to a missing file" 400 PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$SCRATCH/none.img\"}"
	expect_api "PATCH to a directory" 400 PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$SCRATCH\"}"
	expect_api "PATCH an unknown drive" 400 PATCH /drives/nope '{"drive_id": "nope", "path_on_host": "x"}'
	expect_api "PATCH with a new image" 204 PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$DISK2\"}"
	if wait_for "$OUT/patch.out" '^EBB-AFTER' 300 "$pid"; then
		after=$(guest_line patch EBB-AFTER)
		if [ "$after" = "EBB-DISK-TWO 4096" ]; then
			pass "patch: after the swap the guest reads disk two (4096 sectors)"
		else
			fail "patch: after the swap the guest saw '$after'"
		fi
	else
		fail "patch: the guest never saw the new disk"
	fi
else
	fail "patch: the guest did not come up"
fi
if wait_exit "$pid" 120; then
	if [ "$EXIT_STATUS" = 0 ]; then
		pass "patch: ebb exited 0 (seccomp on: openat and fstat were allowed)"
	else
		fail "patch: ebb exited $EXIT_STATUS"
	fi
else
	fail "patch: ebb still runs 120 s after the guest finished"
fi
expect_grep "patch: ebb logged the swap" "$OUT/patch.err" "drive data: now $DISK2, 2 MiB"

rm -rf "$SCRATCH" "$SOCK_DIR"
finish
