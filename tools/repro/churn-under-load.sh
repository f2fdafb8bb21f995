#!/usr/bin/env bash
# Repro, not a test: a guest that churns memory while the host inflates the
# balloon, sends 200 API requests and then SendCtrlAltDel, ITER times in one
# lab session; one line per run with ebb's exit status. It found the settled
# tier's guest crashes (docs/SPEC.md section 15). Run in the lab:
#   tools/lab/run --mem 4096 --timeout 2400 -- env OUT=build/repro/x ITER=12 \
#       EBB_EXTRA="--reporting-settled-order 5" tools/repro/churn-under-load.sh
# ITER runs (12); EBB_EXTRA more ebb flags; NO_INFLATE=1 skips the inflate;
# KERNEL another guest kernel. ebb runs at --level debug, so a forbidden
# syscall is named in its log.
source "$(dirname "$0")/../../tests/e2e/lib.sh"
ITER=${ITER:-12}
SOCK_DIR=$(mktemp -d)
SOCK=$SOCK_DIR/api.sock
boot_args="console=ttyS0 reboot=k panic=1 quiet ebb.run=\\\"echo EBB-IDLE; ebb-hog hold:5 churn:64:60; echo EBB-WORKLOAD-DONE; sleep 600\\\""
for it in $(seq "$ITER"); do
	rm -f "$SOCK"
	# shellcheck disable=SC2086 # EBB_EXTRA holds several flags
	ebb_start "it$it" --api-sock "$SOCK" --id churn --level debug ${EBB_EXTRA:-}
	pid=$EBB_PID
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
	api PUT /boot-source "{\"kernel_image_path\": \"$KERNEL\", \"initrd_path\": \"$INITRD\", \"boot_args\": \"$boot_args\"}"
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 512}'
	api PUT /balloon '{"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1, "free_page_reporting": true}'
	api PUT /actions '{"action_type": "InstanceStart"}'
	wait_for "$OUT/it$it.out" '^EBB-HOG held' 120 "$pid" || log "it$it: the churn did not start"
	[ -n "${NO_INFLATE:-}" ] || api PATCH /balloon '{"amount_mib": 128}'
	clients=()
	for _ in $(seq 8); do
		(for i in $(seq 25); do
			case $((i % 3)) in 0) p=/ ;; 1) p=/balloon/statistics ;; 2) p=/machine-config ;; esac
			curl -s -m 60 -o /dev/null --unix-socket "$SOCK" "http://localhost$p" || true
		done) &
		clients+=($!)
	done
	wait "${clients[@]}"
	api PATCH /balloon '{"amount_mib": 0}'
	api PUT /actions '{"action_type": "SendCtrlAltDel"}'
	wait_exit "$pid" 60 || true
	log "it$it: exit $EXIT_STATUS; $(grep -h -m2 'triple fault\|forbidden' "$OUT/it$it.err" | cut -c1-100)"
done
