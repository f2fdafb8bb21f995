#!/usr/bin/env bash
# Repro, not a test: the churn of churn-under-load.sh, without the nested lab.
# QEMU runs the guest under TCG alone (no KVM at any level, so none of the
# lab's nested SVM), with QEMU's balloon and free page reporting, ITER
# times: the guest churns 64 MiB, QMP inflates the balloon by 128 MiB and
# lets it go, and the guest prints its reporting counters and reboots.
# One line per run: whether the workload finished, and the settled tier's
# pages. It tells a fault of the guest kernel's from one of the lab's
# (docs/SPEC.md section 15, finding 9). Runs on the host, no /dev/kvm:
#   OUT=build/repro/tcg ITER=10 tools/repro/settled-tcg.sh
# GUEST_ARGS the reporting parameters (default: the settled tier at order 5
# and 10 s); SMP guest vCPUs (1); CHURN_S (60); HOLD_S seconds the balloon
# stays inflated (20); NO_INFLATE=1 skips it; KERNEL, INITRD another guest.
cd "$(dirname "$0")/../.." || exit 1
export OUT=${OUT:-build/repro/tcg}
source tools/lib/vm.sh
ITER=${ITER:-10}
GUEST_ARGS=${GUEST_ARGS:-page_reporting.settled_order=5 page_reporting.settle_ms=10000}
require_files "$KERNEL" "$INITRD"

# qmp SOCK LOG COMMAND... : sends each JSON command after the handshake.
qmp() {
	local sock=$1 log=$2
	shift 2
	printf '%s\n' '{"execute":"qmp_capabilities"}' "$@" | socat -t 2 - "unix-connect:$sock" >>"$log" 2>&1
}

work="echo EBB-IDLE; ebb-hog hold:5 churn:64:${CHURN_S:-60}; grep page_reporting /proc/vmstat; echo EBB-WORKLOAD-DONE; reboot -f"
cmdline="console=ttyS0 reboot=t panic=1 quiet ebb.run=\"$work\" page_reporting.delay_ms=200"
cmdline+=" page_reporting.budget=0 page_reporting.watermark_mib=0 $GUEST_ARGS"
for it in $(seq "$ITER"); do
	sock=$OUT/qmp$it.sock
	rm -f "$sock" "$OUT/it$it.out"
	timeout -k 5 "${LIMIT:-600}" qemu-system-x86_64 \
		-M microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off -accel tcg -cpu max \
		-smp "${SMP:-1}" -m 512 -display none -monitor none -serial "file:$OUT/it$it.out" \
		-no-reboot -qmp "unix:$sock,server=on,wait=off" \
		-device virtio-balloon-device,free-page-reporting=on \
		-kernel "$KERNEL" -initrd "$INITRD" -append "$cmdline" 2>"$OUT/it$it.err" &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_for "$OUT/it$it.out" '^EBB-HOG held' 600 "$pid" || true
	if [ -z "${NO_INFLATE:-}" ]; then
		# QEMU's balloon value is the guest's RAM size to aim for.
		qmp "$sock" "$OUT/qmp$it.log" '{"execute":"balloon","arguments":{"value":402653184}}'
		sleep "${HOLD_S:-20}"
		qmp "$sock" "$OUT/qmp$it.log" '{"execute":"query-balloon"}' \
			'{"execute":"balloon","arguments":{"value":536870912}}'
	fi
	status=0
	wait "$pid" || status=$?
	settled=$(tr -d '\r' <"$OUT/it$it.out" | awk '$1 == "page_reporting_settled" { print $2 }')
	if grep -q '^EBB-WORKLOAD-DONE' "$OUT/it$it.out"; then
		verdict=finished
	else
		verdict="did not finish: $(grep -a -m1 -i 'panic\|BUG:\|Oops\|WARNING:' "$OUT/it$it.out" | cut -c1-100 || true)"
	fi
	echo "$(date +%T) it$it: $verdict; qemu exit $status; settled tier ${settled:-?} pages"
done
