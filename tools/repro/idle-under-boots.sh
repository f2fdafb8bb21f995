#!/usr/bin/env bash
# Repro, not a test: IDLE guests touch 400 MiB, free it and idle (as in the
# density benchmark), then BOOTS more guests boot and reset one after
# another beside them; counts the idle guests that died (a triple fault or
# any exit) and the booting ones that failed. The density runs with the
# policy ended on such deaths far below the memory limit (docs/SPEC.md
# section 13); comparing MODE=ebb-policy with MODE=ebb-fast (no inflate)
# in one lab session tells whether the balloon's traffic is involved.
#   tools/lab/run --mem 8192 --timeout 2400 -- env OUT=build/repro/x \
#       MODES="ebb-policy ebb-fast" tools/repro/idle-under-boots.sh
# MODES (ebb-policy ebb-fast), IDLE (8), BOOTS (20), SQUEEZE_S (30: the
# policy's inflate after the last idle guest, before the boots start).
source "$(dirname "$0")/../../tests/e2e/lib.sh"
source "$(dirname "$0")/../bench/lib.sh"
IDLE=${IDLE:-8}
BOOTS=${BOOTS:-20}
idle_run="ebb-hog touch:400 hold:1 free; echo EBB-IDLE; sleep 100000"
for mode in ${MODES:-ebb-policy ebb-fast}; do
	pids=()
	for i in $(seq "$IDLE"); do
		vmm_cmd "$mode" 512 1 "$idle_run"
		"${CMD[@]}" >"$OUT/$mode-idle$i.out" 2>"$OUT/$mode-idle$i.err" </dev/null &
		pids+=($!)
		wait_for "$OUT/$mode-idle$i.out" '^EBB-IDLE' 300 "$!" || log "$mode: idle guest $i never idled"
	done
	sleep "${SQUEEZE_S:-30}"
	boot_failures=0
	for b in $(seq "$BOOTS"); do
		vmm_cmd "$mode" 512 1 ""
		"${CMD[@]}" >"$OUT/$mode-boot$b.out" 2>"$OUT/$mode-boot$b.err" </dev/null &
		if ! wait_exit "$!" 120 || ! grep -q EBB-GUEST-READY "$OUT/$mode-boot$b.out"; then
			boot_failures=$((boot_failures + 1))
			log "$mode: boot $b failed (exit $EXIT_STATUS): $(grep -h 'error' "$OUT/$mode-boot$b.err" | head -n 1 | cut -c1-160)"
		fi
	done
	dead=0
	for i in $(seq "$IDLE"); do
		if ! kill -0 "${pids[i - 1]}" 2>/dev/null; then
			dead=$((dead + 1))
			log "$mode: idle guest $i died: $(grep -h 'error' "$OUT/$mode-idle$i.err" | head -n 1 | cut -c1-160)"
		fi
	done
	log "$mode: $dead of $IDLE idle guests died, $boot_failures of $BOOTS boots failed"
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
done
