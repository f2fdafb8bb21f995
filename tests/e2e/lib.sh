# shellcheck shell=bash
# Helpers for e2e tests. Sourced by tests/e2e/NN-*.sh, which run inside the
# lab (tools/lab/run) from the repo top with a working /dev/kvm.
#
# Running and measuring guests (ebb_start, wait_for, read_usage,
# reclaim_measure, trace_*, api, log, die...) is tools/lib/vm.sh, shared with
# the benchmarks and the demo. This adds what only tests need: counting
# checks (pass, fail, finish) and the expect_* assertions, each of which
# prints what it saw, so a failure explains itself.

set -euo pipefail

E2E_NAME=${E2E_NAME:-$(basename "${BASH_SOURCE[1]:-e2e}" .sh)}
OUT=${OUT:-build/e2e/$E2E_NAME}
# shellcheck source=../../tools/lib/vm.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lib/vm.sh"

FAILURES=0

pass() { log "PASS: $*"; }
fail() {
	log "FAIL: $*" >&2
	FAILURES=$((FAILURES + 1))
}
finish() {
	if [ "$FAILURES" -gt 0 ]; then
		log "$E2E_NAME: $FAILURES check(s) failed (logs in $OUT)" >&2
		exit 1
	fi
	log "$E2E_NAME: all checks passed"
}

# control_window TOOK_S MIN_S [MAX_S] : how long a negative control watches:
# three times what its positive run took, within MIN_S..MAX_S, so a slow lab
# stretches the control as it stretched the run.
control_window() {
	local s=$((3 * $1))
	[ "$s" -lt "$2" ] && s=$2
	[ -n "${3:-}" ] && [ "$s" -gt "$3" ] && s=$3
	echo "$s"
}

# expect_status NAME WANT : checks EBB_STATUS after ebb_run.
expect_status() {
	local what=$1 want=$2
	if [ "$EBB_STATUS" = "$want" ]; then
		pass "$what: exit status $want"
	else
		fail "$what: exit status $EBB_STATUS, want $want"
		tail -n 5 "$OUT/$what.err" 2>/dev/null | sed 's/^/    | /' >&2 || true
	fi
}

# expect_grep WHAT FILE REGEX
expect_grep() {
	local what=$1 file=$2 regex=$3
	if grep -qE -- "$regex" "$file"; then
		pass "$what"
	else
		fail "$what: no '$regex' in $file:"
		tail -n 20 "$file" | sed 's/^/    | /' >&2
	fi
}

# expect_api WHAT CODE METHOD PATH [BODY]
expect_api() {
	local what=$1 want=$2
	shift 2
	api "$@"
	if [ "$CODE" = "$want" ]; then
		pass "$what: $1 $2 -> $CODE ${BODY_OUT:0:140}"
	else
		fail "$what: $1 $2 -> $CODE (want $want) $BODY_OUT"
	fi
}

# expect_same_bytes WHAT A B WANT : two "bytes sum" pairs (vsock_sum), equal
# and of WANT bytes: what one end sent is what the other received.
expect_same_bytes() {
	local what=$1 a=$2 b=$3 want=$4
	if [ -n "$a" ] && [ "$a" = "$b" ] && [ "${a%% *}" = "$want" ]; then
		pass "$what: $want bytes, checksum ${a#* } at both ends"
	else
		fail "$what: sender '$a', receiver '$b', want $want bytes"
	fi
}

# expect_balloon_caps_guest WHAT NAME PID : a 512 MiB guest with 256 MiB in
# the balloon runs "ebb-hog touch:100 touch:100 touch:100 touch:100"; until
# PID ends (or the guest prints EBB-GUEST-EXIT), checks that ebb's RSS peaks
# above 64 MiB (the guest ran) and at most 512 - 256 + 32 MiB, and that the
# hog could not touch all 400 MiB. One mmap above MemTotal would fail at once
# under the guest's overcommit heuristic and touch nothing, hence the steps.
expect_balloon_caps_guest() {
	local what=$1 name=$2 pid=$3 max_rss=0
	local limit=$(((512 - 256 + 32) * 1024))
	while kill -0 "$pid" 2>/dev/null; do
		# A read that misses (ebb just forked, or exiting) is skipped, not the end of sampling.
		if read_rss "$pid" && [ "$RSS_KIB" -gt "$max_rss" ]; then max_rss=$RSS_KIB; fi
		grep -q '^EBB-GUEST-EXIT' "$OUT/$name.out" && break
		sleep 0.2
	done
	wait_exit "$pid" 120 || true
	if [ "$(grep -c '^EBB-HOG touched' "$OUT/$name.out")" -ge 4 ]; then
		fail "$what: the guest touched 400 MiB with 256 MiB in the balloon"
	elif [ "$max_rss" -gt $((64 * 1024)) ] && [ "$max_rss" -le "$limit" ]; then
		pass "$what: ebb's RSS peaked at $((max_rss >> 10)) MiB, below 512 - 256 + 32 MiB; the hog could not touch 400 MiB"
	else
		fail "$what: ebb's RSS peaked at $((max_rss >> 10)) MiB, want 64..$((limit >> 10)) MiB"
	fi
}

