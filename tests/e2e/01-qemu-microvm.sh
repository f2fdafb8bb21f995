#!/usr/bin/env bash
# Peer baseline: ebb's guest image (build/guest) boots under QEMU microvm with
# KVM, runs ebb-hog through init's ebb.run, binds virtio_balloon with free
# page reporting, and resets so QEMU exits by itself. Proves the image is
# sound independently of ebb. Negative control: the guest's own markers and
# QEMU's exit status are required, so a guest that never ran fails.
#
# Runs inside the nested-KVM lab (tools/lab/run), from the repo top.
# Overrides: QEMU_ACCEL=tcg (no /dev/kvm: slow but works), QEMU=path,
#            GUEST_KERNEL=build/guest/vmlinux, E2E_TIMEOUT=seconds.
# timeout: 180
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

name=01-qemu-microvm
fail() {
	echo "FAIL $name: $*" >&2
	if [ -n "${log:-}" ] && [ -s "$log" ]; then
		echo "---- guest console (last 40 lines) ----" >&2
		tail -n 40 "$log" >&2
		echo "---- end of console ----" >&2
	fi
	if [ -n "${qlog:-}" ] && [ -s "$qlog" ]; then
		echo "---- qemu stderr ----" >&2
		cat "$qlog" >&2
	fi
	exit 1
}

qemu=${QEMU:-qemu-system-x86_64}
accel=${QEMU_ACCEL:-kvm}
kernel=${GUEST_KERNEL:-build/guest/bzImage}
initrd=build/guest/initramfs.cpio.gz

command -v "$qemu" >/dev/null || fail "$qemu not found (apt-get install qemu-system-x86)"
for f in "$kernel" "$initrd"; do
	[ -s "$f" ] || fail "$f missing: run 'make guest' first"
done
case $accel in
kvm)
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		fail "/dev/kvm not usable here (run through tools/lab/run, or QEMU_ACCEL=tcg)"
	fi
	cpu=host
	timeout=${E2E_TIMEOUT:-60}
	;;
tcg)
	cpu=max
	timeout=${E2E_TIMEOUT:-180}
	;;
*) fail "QEMU_ACCEL must be kvm or tcg, not '$accel'" ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/ebb-e2e-$name.XXXXXX")
log=$work/console.log
qlog=$work/qemu.log
qpid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# quiet: every console byte is a VM exit, costly under nested emulation.
# What the guest runs (no double quotes inside: the kernel command line
# cannot escape them). The balloon's feature bits are a string of 0/1, bit 5
# is VIRTIO_BALLOON_F_REPORTING. Expanded by the guest's shell, not here:
# shellcheck disable=SC2016
run='read up _ </proc/uptime; echo GUEST-UPTIME $up; nproc; grep MemTotal /proc/meminfo;'
run+=' ebb-hog touch:64 hold:0.5 free meminfo;'
# shellcheck disable=SC2016
run+=' echo BALLOON-FEATURES $(cat /sys/bus/virtio/drivers/virtio_balloon/virtio*/features)'

: >"$log"
start=$(date +%s.%N)
"$qemu" \
	-M microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off \
	-accel "$accel" -cpu "$cpu" -smp 1 -m 256 \
	-display none -monitor none -serial "file:$log" -no-reboot \
	-device virtio-balloon-device,free-page-reporting=on \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 reboot=t panic=1 quiet ebb.run=\"$run\"" \
	</dev/null >"$qlog" 2>&1 &
qpid=$!

# Wait for the exit marker, while QEMU lives and the deadline holds.
ready_at=
deadline=$((SECONDS + timeout))
while :; do
	if [ -z "$ready_at" ] && grep -q '^EBB-GUEST-READY' "$log"; then
		ready_at=$(date +%s.%N)
	fi
	grep -q '^EBB-GUEST-EXIT rc=' "$log" && break
	if ! kill -0 "$qpid" 2>/dev/null; then
		wait "$qpid"
		rc=$?
		qpid=
		# It may have printed the marker just before exiting.
		grep -q '^EBB-GUEST-EXIT rc=' "$log" && break
		fail "QEMU exited (status $rc) before the guest printed EBB-GUEST-EXIT"
	fi
	[ "$SECONDS" -lt "$deadline" ] || fail "no EBB-GUEST-EXIT within ${timeout}s"
	sleep 0.1
done

# After the run, init resets the machine; with -no-reboot QEMU must exit.
if [ -n "$qpid" ]; then
	for _ in $(seq 150); do
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$qpid" 2>/dev/null && fail "guest finished but QEMU did not exit within 15 s (reset failed?)"
	wait "$qpid"
	rc=$?
	qpid=
	[ "$rc" = 0 ] || fail "QEMU exited with status $rc"
fi
end=$(date +%s.%N)
[ -n "$ready_at" ] || ready_at=$end

grep -q '^EBB-GUEST-READY' "$log" || fail "no EBB-GUEST-READY line"
grep -q '^EBB-GUEST-EXIT rc=0' "$log" || fail "the guest command failed: $(grep '^EBB-GUEST-EXIT' "$log")"
grep -q '^EBB-HOG freed mib=64 ' "$log" || fail "ebb-hog did not touch and free 64 MiB"
features=$(sed -n 's/^BALLOON-FEATURES \([01]*\).*/\1/p' "$log" | tr -d '\r')
[ -n "$features" ] || fail "virtio_balloon did not bind (no features in sysfs)"
[ "${features:5:1}" = 1 ] || fail "free page reporting not negotiated (features $features)"

uptime=$(sed -n 's/^GUEST-UPTIME \([0-9.]*\).*/\1/p' "$log" | tr -d '\r')
printf 'PASS %s: accel=%s ready after %.2f s wall (guest uptime %s s), whole run %.2f s, balloon reporting negotiated\n' \
	"$name" "$accel" "$(echo "$ready_at - $start" | bc)" "${uptime:-?}" "$(echo "$end - $start" | bc)"
exit 0
