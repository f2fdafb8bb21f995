#!/bin/bash
# tools/lab/run turns a failed CMD into a lab failure (125) only when L1's
# kernel printed a fault on its console; otherwise CMD's status stands.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The run's state as tools/lab/run leaves it: a status file and a console log.
verdict() {  # STATUS CONSOLE_LINE -> prints the exit status the runner gives
	(
		run_dir=$dir
		console_log=$dir/console.log
		lab_fail() { printf 'lab: %s\n' "$*" >&2; exit 125; }
		# shellcheck source=/dev/null
		source "$top/tools/lab/boot.sh"
		echo "$1" >"$dir/status"
		printf '[    1.0] booting\n%s\n' "$2" >"$console_log"
		lab_exit_with_cmd_status
	) 2>/dev/null && echo 0 || echo $?
}
bad=0
expect() {  # WANT STATUS LINE
	local got
	got=$(verdict "$2" "$3")
	if [ "$got" = "$1" ]; then echo "ok: status $2 with '$3' -> $got"; else echo "FAILED: status $2 with '$3' -> $got, want $1"; bad=1; fi
}
expect 1 1 "[  20.1] virtio_net: all good"
expect 0 0 "[  20.1] BUG: soft lockup - CPU#1 stuck for 23s!"
expect 125 1 "[  20.1] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [ebb-vcpu0:412]"
expect 125 2 "[  20.1] general protection fault, probably for non-canonical address"
expect 125 143 "[  20.1] rcu: INFO: rcu_preempt self-detected stall on CPU"
expect 125 1 "[  20.1] INFO: task khugepaged:51 blocked for more than 120 seconds."
exit "$bad"
