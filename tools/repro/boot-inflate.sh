#!/usr/bin/env bash
# Repro, not a test: do guests triple-fault when their balloon inflates
# while they boot, and is that ebb's or the lab's? e2e 24's burst-control
# (a 440 MiB balloon set before boot) triple-faulted twice in CI within half
# a second of the balloon driver starting to inflate (docs/SPEC.md section
# 15, finding 12). ITER boots of each, interleaved, 512 MiB, 1 vCPU:
#   ebb-inflate   ebb, the balloon at 440 MiB from its config, reporting on
#   ebb-none      ebb, the same balloon at 0 MiB (control)
#   qemu-inflate  QEMU microvm, reporting on, its balloon set to 440 MiB
#                 over QMP as it starts (QEMU discards with madvise too)
# The guest sleeps SLEEP_S seconds after its init ran, prints its MemTotal
# (which a balloon without deflate-on-oom shrinks), EBB-DONE, and resets.
# A boot that ends without EBB-DONE is a failure; the line says how it
# ended. In the lab:
#   tools/lab/run --mem 4096 --timeout 3000 -- env ITER=20 tools/repro/boot-inflate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${OUT:-build/repro/boot-inflate}
mkdir -p "$OUT"
source tools/lib/vm.sh
source tools/bench/lib.sh
ITER=${ITER:-20}
MODES=${MODES:-ebb-inflate ebb-none qemu-inflate}
run="sleep ${SLEEP_S:-3}; grep MemTotal /proc/meminfo; echo EBB-DONE"
declare -A fails=()

ebb_config() { # FILE AMOUNT_MIB
	cat >"$1" <<JSON
{
  "boot-source": {"kernel_image_path": "$KERNEL", "initrd_path": "$INITRD",
                  "boot_args": "console=ttyS0 reboot=k panic=1 quiet ebb.run=\\"$run\\""},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 512},
  "balloon": {"amount_mib": $2, "deflate_on_oom": false, "stats_polling_interval_s": 1,
              "free_page_reporting": true}
}
JSON
}

for it in $(seq "$ITER"); do
	for mode in $MODES; do
		name=$mode-$it
		status=0
		case $mode in
		ebb-*)
			amount=440
			[ "$mode" = ebb-none ] && amount=0
			ebb_config "$OUT/$name.json" "$amount"
			timeout -k 5 120 "$EBB" --config-file "$OUT/$name.json" >"$OUT/$name.out" 2>"$OUT/$name.err" || status=$?
			how="exit $status; $(grep -m1 -o 'triple fault[^;]*' "$OUT/$name.err" || true)"
			;;
		qemu-*)
			vmm_cmd qemu-reporting 512 1 "$run"
			sock=${TMPDIR:-/tmp}/$name.qmp # a unix socket cannot live on the lab's shared folder
			rm -f "$sock"
			timeout -k 5 120 "${CMD[@]}" -qmp "unix:$sock,server=on,wait=off" >"$OUT/$name.out" 2>"$OUT/$name.err" &
			pid=$!
			for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
			# QEMU's balloon value is the guest's size to aim for: 512 - 440 MiB.
			printf '%s\n' '{"execute":"qmp_capabilities"}' \
				'{"execute":"balloon","arguments":{"value":75497472}}' |
				socat -t 2 - "unix-connect:$sock" >"$OUT/$name.qmp.log" 2>&1 || true
			wait "$pid" || status=$?
			how="exit $status"
			;;
		esac
		if grep -q '^EBB-DONE' "$OUT/$name.out"; then
			verdict="ok, $(tr -d '\r' <"$OUT/$name.out" | grep -m1 -o 'MemTotal: *[0-9]* kB' | tr -s ' ')"
		else
			verdict="FAILED ($how)"
			fails[$mode]=$((${fails[$mode]:-0} + 1))
		fi
		log "$name: $verdict"
	done
done
for mode in $MODES; do log "$mode: ${fails[$mode]:-0} of $ITER boots failed"; done
