#!/usr/bin/env bash
# [4/8] Every ebb thread runs under a seccomp filter while the guest runs,
# the API thread included, each exactly its own one; --no-seccomp is the only
# way to turn that off, and it says so (the negative control: Seccomp 0).
# timeout: 600
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"

# thread_modes PID : one "name mode filters" line per thread.
thread_modes() {
	local t
	for t in /proc/"$1"/task/*; do
		awk -v name="$(cat "$t/comm")" '
			/^Seccomp:/ { mode = $2 }
			/^Seccomp_filters:/ { filters = $2 }
			END { print name, mode, filters }' "$t/status"
	done
}

# run_and_inspect NAME ARGS... : boots a 2-vCPU guest that idles, records
# its threads' seccomp modes in $OUT/NAME.threads, then stops it.
run_and_inspect() {
	local name=$1
	shift
	ebb_start "$name" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 256 --vcpus 2 \
		--balloon-reporting --balloon-stats-interval 1 "$@" \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"echo EBB-IDLE; sleep 60\""
	local pid=$EBB_PID
	if ! wait_for "$OUT/$name.out" '^EBB-IDLE' 120 "$pid"; then
		fail "$name: the guest did not come up"
		return
	fi
	thread_modes "$pid" >"$OUT/$name.threads"
	kill -TERM "$pid"
	wait_exit "$pid" 20 || true
	sed 's/^/    /' "$OUT/$name.threads"
}
EXIT_STATUS=none

# Unix sockets cannot live on the lab's 9p share.
sock_dir=$(mktemp -d)
trap 'rm -rf "$sock_dir"; cleanup_started' EXIT

log "default: seccomp on, with an API socket"
run_and_inspect filtered --api-sock "$sock_dir/api.sock"
names=$(awk '{print $1}' "$OUT/filtered.threads" | sort | tr '\n' ' ')
for want in ebb ebb-events ebb-vcpu0 ebb-vcpu1 ebb-api; do
	if ! grep -q "^$want " "$OUT/filtered.threads"; then
		fail "filtered: no thread named $want (have: $names)"
	fi
done
if awk '$2 != 2 { bad = 1 } END { exit bad }' "$OUT/filtered.threads"; then
	pass "filtered: all $(wc -l <"$OUT/filtered.threads") threads show Seccomp: 2 ($names)"
else
	fail "filtered: a thread is not in seccomp filter mode: $(awk '$2 != 2' "$OUT/filtered.threads")"
fi
# Each thread installs its own filter and inherits none: exactly one each.
if awk '$3 != 1 { bad = 1 } END { exit bad }' "$OUT/filtered.threads"; then
	pass "filtered: every thread has exactly one filter"
else
	fail "filtered: a thread has another number of filters: $(awk '$3 != 1' "$OUT/filtered.threads")"
fi
EBB_STATUS=$EXIT_STATUS
expect_status "filtered (SIGTERM)" 143
expect_grep "filtered: SIGTERM went through teardown" "$OUT/filtered.err" \
	'received Terminated; exiting with status 143'
expect_grep "filtered: the balloon's summary (teardown ran under the filters)" "$OUT/filtered.err" \
	'balloon: [0-9]+ reports'

log "--no-seccomp: the debugging aid"
run_and_inspect unfiltered --no-seccomp
if awk '$2 != 0 { bad = 1 } END { exit bad }' "$OUT/unfiltered.threads"; then
	pass "unfiltered: all threads show Seccomp: 0"
else
	fail "unfiltered: a thread has a filter: $(awk '$2 != 0' "$OUT/unfiltered.threads")"
fi
expect_grep "unfiltered: a loud warning" "$OUT/unfiltered.err" 'warn .*seccomp is OFF'

log "--print-seccomp lists every role"
"$EBB" --print-seccomp >"$OUT/print.txt"
for role in vmm vcpu api; do
	expect_grep "print: role $role" "$OUT/print.txt" "^$role: [0-9]+ syscalls"
done

finish
