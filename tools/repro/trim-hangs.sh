#!/usr/bin/env bash
# Repro, not a test: does freeing KVM's page tables (vmm/page_tables.c) make
# the lab's guest hangs (docs/SPEC.md section 15, finding 10) more frequent?
# ITER runs alternate between ebb-policy guests that free them ("free") and
# guests with "free_page_tables": false ("keep"). Each guest touches 400 MiB
# and frees it 3 times, 11 s apart (trims are at least 10 s apart), under
# the balloon policy, as the density benchmark's guests do. One line per
# run: the arm, whether the workload finished, and the trims. Run in the lab:
#   tools/lab/run --cpus 1 --mem 4096 --timeout 3000 -- env ITER=12 \
#       OUT=build/repro/trim-hangs tools/repro/trim-hangs.sh
export OUT=${OUT:-build/repro/trim-hangs}
source "$(dirname "$0")/../lib/vm.sh"
source "$(dirname "$0")/../bench/lib.sh"
ITER=${ITER:-12}
require_files "$KERNEL" "$INITRD" "$EBB"
run="for i in 1 2 3; do ebb-hog touch:400 hold:1 free; sleep 11; done; echo EBB-DONE; sleep 600"
pid=""
trap '[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true' EXIT
for it in $(seq "$ITER"); do
	arm=free
	[ $((it % 2)) = 0 ] && arm=keep
	name=$arm-$it
	vmm_cmd ebb-policy 512 1 "$run"
	[ "$arm" = keep ] &&
		sed -i 's/"ebb": {/"ebb": {"memory": {"free_page_tables": false}, /' "$OUT/ebb-policy.json"
	"${CMD[@]}" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
	pid=$!
	result=finished
	if ! wait_for "$OUT/$name.out" '^EBB-DONE' 300 "$pid"; then
		result=HUNG
		log_stuck "$name" "$pid"
	fi
	# Stopped by SIGTERM, ebb logs the trims and, for a hung guest, its vCPUs.
	kill -TERM "$pid" 2>/dev/null || true
	wait_exit "$pid" 20 || true
	pid=""
	log "$name: $result; $(grep -h -o "KVM's page tables freed [0-9]* times" "$OUT/$name.err" || echo "no trims logged")"
done
