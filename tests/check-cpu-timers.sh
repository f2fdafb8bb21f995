#!/bin/bash
# tools/lib/vm.sh's overdue_cpu_timers names a CPU whose next timer expiry
# passed over a second ago, and only that one, in the words run-all retries
# on (tests/e2e/stop-message.sh). Uses made-up /proc/timer_list files.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
OUT=$dir/out
# shellcheck source=../tools/lib/vm.sh
source "$top/tools/lib/vm.sh"
trap 'rm -rf "$dir"' EXIT # vm.sh set its own
# shellcheck source=e2e/stop-message.sh
source "$top/tests/e2e/stop-message.sh"
bad=0

# timer_list NOW EXPIRES... : a timer list at NOW ns, CPU i next due at the
# i-th EXPIRES, in high-resolution mode unless HRES=0.
timer_list() {
	local now=$1 cpu=0 e
	shift
	printf 'Timer List Version: v0.9\nHRTIMER_MAX_CLOCK_BASES: 8\nnow at %s nsecs\n\n' "$now"
	for e in "$@"; do
		printf 'cpu: %d\n clock 0:\n  .base:       0000000000000000\n' "$cpu"
		printf '  .expires_next   : %s nsecs\n  .hres_active    : %s\n' "$e" "${HRES:-1}"
		cpu=$((cpu + 1))
	done
	printf 'Tick Device: mode:     1\nPer CPU device: 0\nClock Event Device: lapic\n next_event:     %s nsecs\n' "$now"
}

# expect WHAT WANT NOW EXPIRES... : overdue_cpu_timers's lines for that list are WANT.
expect() {
	local what=$1 want=$2 got
	shift 2
	timer_list "$@" >"$dir/timer_list"
	rm -f "$OUT/cpu-timers.log"
	got=$(CPU_TIMER_LIST=$dir/timer_list overdue_cpu_timers 2>&1)
	if [ "$got" = "$want" ] && { [ -z "$want" ] || [ "$(cat "$OUT/cpu-timers.log")" = "$want" ]; }; then
		echo "ok: $what"
	else
		echo "FAILED: $what: got '$got', want '$want'"
		bad=1
	fi
}

expect "timers due soon: nothing" "" 300143196477 300144000000 300148000000
expect "one just late (under a second): nothing" "" 300143196477 299500000000
expect "a CPU with no timer (KTIME_MAX): nothing" "" 300143196477 9223372036854775807
expect "CPU 1 overdue by 212 s: named, with how long" \
	"CPU 1: its next timer is 212.0 s overdue: the interrupt for it never came" \
	300143196477 300144000000 88143196477
expect "both overdue: both named" \
	"CPU 0: its next timer is 2.0 s overdue: the interrupt for it never came
CPU 1: its next timer is 3.0 s overdue: the interrupt for it never came" \
	10000000000 8000000000 7000000000
HRES=0 expect "low-resolution mode, whose expiry may be stale: nothing" "" \
	300143196477 300144000000 88143196477
line="CPU 1: its next timer is 212.0 s overdue: the interrupt for it never came"
if [[ $line =~ $cpu_timer_overdue_re ]]; then
	echo "ok: run-all's pattern matches the line"
else
	echo "FAILED: cpu_timer_overdue_re does not match '$line'"
	bad=1
fi
CPU_TIMER_LIST=$dir/missing overdue_cpu_timers && echo "ok: no timer list: nothing, status 0" || {
	echo "FAILED: a missing timer list failed"
	bad=1
}
exit "$bad"
