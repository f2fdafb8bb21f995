#!/usr/bin/env bash
# Repro, not a test: boots CONFIG (examples/smp.json: 4 vCPUs, 4 GiB, the guest
# only prints its CPU count) RUNS times in one lab session and counts how each boot
# ended. e2e 42's smp case exited 2 (a VM error) once in CI, with no log kept.
# LOAD=N runs N busy loops in L1 beside the boots, as a slower CI host would
# leave the lab less CPU. CONFIG: another config to boot (examples/smp.json).
# VMM=qemu boots CONFIG's kernel, initrd, vCPUs, RAM and ebb.run under QEMU
# microvm instead (the control; the benchmarks' command line, vmm_cmd
# qemu-off, so its guest boots quiet). A boot is fine when the guest printed
# its CPU count and the VMM exited 0; under QEMU the guest's reset is a triple
# fault (reboot=t), so one during the boot shows as a missing CPU count. The
# guest's exit marker is not required: its console output can be cut off by
# the reset that follows it. EBB_ARGS: more ebb options (--level debug logs where
# each vCPU was when a hung boot is stopped). KEEP=1 keeps the logs of the
# boots that went fine too. Run in the lab:
#   tools/lab/run --mem 6144 --timeout 1200 -- env OUT=build/repro/smp RUNS=40 tools/repro/smp-boots.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
source "$(dirname "$0")/../bench/lib.sh"
config=${CONFIG:-examples/smp.json}
vcpus=$(jq -r '."machine-config".vcpu_count' "$config")
mkdir -p "$OUT"

if [ "${VMM:-ebb}" = qemu ]; then
	# shellcheck disable=SC2034 # KERNEL and INITRD are read by vmm_cmd
	KERNEL=$(jq -r '."boot-source".kernel_image_path' "$config")
	# shellcheck disable=SC2034
	INITRD=$(jq -r '."boot-source".initrd_path' "$config")
	guest_run=$(jq -r '."boot-source".boot_args' "$config" | sed -n 's/.*ebb\.run="\(.*\)".*/\1/p')
	vmm_cmd qemu-off "$(jq -r '."machine-config".mem_size_mib' "$config")" "$vcpus" "$guest_run"
fi

loads=()
for _ in $(seq "${LOAD:-0}"); do
	(while :; do :; done) &
	loads+=($!)
done
ok=0
bad=0
for i in $(seq "${RUNS:-40}"); do
	if [ "${VMM:-ebb}" = qemu ]; then
		set +e
		timeout -k 5 120 "${CMD[@]}" >"$OUT/smp$i.out" 2>"$OUT/smp$i.err" </dev/null
		EBB_STATUS=$?
		set -e
	else
		# shellcheck disable=SC2086 # EBB_ARGS is a list of options
		ebb_run "smp$i" 120 --config-file "$config" ${EBB_ARGS:-}
	fi
	if [ "$EBB_STATUS" = 0 ] && grep -q "^EBB-NPROC ${vcpus}[[:space:]]*\$" "$OUT/smp$i.out"; then
		ok=$((ok + 1))
		[ "${KEEP:-0}" = 1 ] || rm -f "$OUT/smp$i.out" "$OUT/smp$i.err"
	else
		bad=$((bad + 1))
		log "boot $i: exit $EBB_STATUS; last lines of its log:"
		tail -n 4 "$OUT/smp$i.err" | sed 's/^/    | /'
	fi
done
[ ${#loads[@]} = 0 ] || kill "${loads[@]}"
log "smp boots (${VMM:-ebb}): $ok fine, $bad failed, of ${RUNS:-40} ($config, LOAD=${LOAD:-0})"
