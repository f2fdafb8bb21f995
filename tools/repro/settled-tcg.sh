#!/usr/bin/env bash
# Repro, not a test: the churn of churn-under-load.sh, without the nested lab.
# QEMU runs the guest under TCG alone (no KVM at any level, so none of the
# lab's nested SVM), with QEMU's balloon and free page reporting, ITER
# times: the guest churns 64 MiB, QMP inflates the balloon by 128 MiB and
# lets it go, and the guest prints its reporting counters and reboots.
# One line per run: whether the workload finished, and the settled tier's
# pages. It tells a fault of the guest kernel's from one of the lab's
# (docs/SPEC.md section 15, finding 1). Runs on the host, no /dev/kvm:
#   OUT=build/repro/tcg ITER=10 tools/repro/settled-tcg.sh
# GUEST_ARGS the reporting parameters (default: the settled tier at order 5
# and 10 s); SMP guest vCPUs (1); CHURN_S (60); HOLD_S seconds the balloon
# stays inflated (20); NO_INFLATE=1 skips it; KERNEL, INITRD another guest.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-build/repro/tcg}
ITER=${ITER:-10}
KERNEL=${KERNEL:-build/guest/bzImage}
INITRD=${INITRD:-build/guest/initramfs.cpio.gz}
GUEST_ARGS=${GUEST_ARGS:-page_reporting.settled_order=5 page_reporting.settle_ms=10000}
for f in "$KERNEL" "$INITRD"; do
	[ -f "$f" ] || { echo "settled-tcg: $f missing (make guest)" >&2; exit 1; }
done
mkdir -p "$OUT"

# qmp SOCK LOG COMMAND... : sends each JSON command after the handshake.
qmp() {
	local sock=$1 log=$2
	shift 2
	printf '%s\n' '{"execute":"qmp_capabilities"}' "$@" | socat -t 2 - "unix-connect:$sock" >>"$log" 2>&1
}

work="echo EBB-IDLE; ebb-hog hold:5 churn:64:${CHURN_S:-60}; grep page_reporting /proc/vmstat; echo EBB-WORKLOAD-DONE; reboot -f"
args="console=ttyS0 reboot=t panic=1 quiet ebb.run=\"$work\" page_reporting.delay_ms=200"
args+=" page_reporting.budget=0 page_reporting.watermark_mib=0 $GUEST_ARGS"
for it in $(seq "$ITER"); do
	sock=$OUT/qmp$it.sock
	rm -f "$sock" "$OUT/it$it.out"
	timeout -k 5 "${LIMIT:-600}" qemu-system-x86_64 \
		-M microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off -accel tcg -cpu max \
		-smp "${SMP:-1}" -m 512 -display none -monitor none -serial "file:$OUT/it$it.out" \
		-no-reboot -qmp "unix:$sock,server=on,wait=off" \
		-device virtio-balloon-device,free-page-reporting=on \
		-kernel "$KERNEL" -initrd "$INITRD" -append "$args" 2>"$OUT/it$it.err" &
	pid=$!
	for _ in $(seq 1200); do
		grep -q '^EBB-HOG held' "$OUT/it$it.out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if [ -z "${NO_INFLATE:-}" ]; then
		# QEMU's balloon value is the guest's RAM size to aim for.
		qmp "$sock" "$OUT/qmp$it.log" '{"execute":"balloon","arguments":{"value":402653184}}'
		sleep "${HOLD_S:-20}"
		qmp "$sock" "$OUT/qmp$it.log" '{"execute":"query-balloon"}' \
			'{"execute":"balloon","arguments":{"value":536870912}}'
	fi
	wait "$pid"
	status=$?
	settled=$(tr -d '\r' <"$OUT/it$it.out" | awk '$1 == "page_reporting_settled" { print $2 }')
	if grep -q '^EBB-WORKLOAD-DONE' "$OUT/it$it.out"; then
		verdict=finished
	else
		verdict="did not finish: $(grep -a -m1 -i 'panic\|BUG:\|Oops\|WARNING:' "$OUT/it$it.out" | cut -c1-100)"
	fi
	echo "$(date +%T) it$it: $verdict; qemu exit $status; settled tier ${settled:-?} pages"
done
