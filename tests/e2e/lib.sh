# shellcheck shell=bash
# Helpers for e2e tests. Sourced by tests/e2e/NN-*.sh, which run inside the
# lab (tests/lab/run) from the repo top with a working /dev/kvm.
#
# Every wait checks that the process it waits for is still alive, and every
# assertion prints what it saw, so a failure explains itself.

set -euo pipefail

EBB=${EBB:-build/ebb}
KERNEL=${KERNEL:-build/guest/bzImage}
VMLINUX=${VMLINUX:-build/guest/vmlinux}
INITRD=${INITRD:-build/guest/initramfs.cpio.gz}
# quiet keeps the kernel log short: every console byte is a VM exit, and
# under nested emulation exits are what costs time.
BOOT_ARGS_BASE="console=ttyS0 reboot=k panic=1 quiet"

E2E_NAME=${E2E_NAME:-$(basename "${BASH_SOURCE[1]:-e2e}" .sh)}
OUT=${OUT:-build/e2e/$E2E_NAME}
rm -rf "$OUT"
mkdir -p "$OUT"

FAILURES=0
declare -a STARTED_PIDS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" "$*"; }
pass() { log "PASS: $*"; }
fail() {
	log "FAIL: $*" >&2
	FAILURES=$((FAILURES + 1))
}
die() {
	log "FAIL: $*" >&2
	exit 1
}
finish() {
	if [ "$FAILURES" -gt 0 ]; then
		log "$E2E_NAME: $FAILURES check(s) failed (logs in $OUT)" >&2
		exit 1
	fi
	log "$E2E_NAME: all checks passed"
}

cleanup_started() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
}
trap cleanup_started EXIT

require_files() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || die "missing $f (run make and make guest first)"
	done
}

# now_s: monotonic seconds with fractions.
now_s() { awk '{print $1}' /proc/uptime; }

# ebb_start NAME ARGS... : runs ebb in the background; stdout (the guest
# console) goes to $OUT/NAME.out, stderr (logs) to $OUT/NAME.err. Sets EBB_PID.
ebb_start() {
	local name=$1
	shift
	"$EBB" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
	EBB_PID=$!
	STARTED_PIDS+=("$EBB_PID")
}

# ebb_run NAME TIMEOUT ARGS... : runs ebb to completion (killed after TIMEOUT
# seconds); sets EBB_STATUS.
ebb_run() {
	local name=$1 timeout=$2
	shift 2
	set +e
	timeout -k 5 "$timeout" "$EBB" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null
	EBB_STATUS=$?
	set -e
}

# wait_for FILE REGEX TIMEOUT PID : true once REGEX appears in FILE; false on
# timeout or when PID died first.
wait_for() {
	local file=$1 regex=$2 timeout=$3 pid=$4
	local deadline
	deadline=$(awk -v t="$timeout" '{print $1 + t}' /proc/uptime)
	while :; do
		if grep -qE -- "$regex" "$file" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			grep -qE -- "$regex" "$file" 2>/dev/null && return 0
			log "process $pid exited before '$regex' appeared in $file"
			return 1
		fi
		if awk -v d="$deadline" '{exit !($1 > d)}' /proc/uptime; then
			log "timed out after ${timeout}s waiting for '$regex' in $file"
			return 1
		fi
		sleep 0.05
	done
}

# wait_exit PID TIMEOUT : waits for PID (a child) and sets EXIT_STATUS; kills
# it and returns 1 on timeout.
wait_exit() {
	local pid=$1 timeout=$2
	local deadline
	deadline=$(awk -v t="$timeout" '{print $1 + t}' /proc/uptime)
	while kill -0 "$pid" 2>/dev/null; do
		if awk -v d="$deadline" '{exit !($1 > d)}' /proc/uptime; then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			EXIT_STATUS=timeout
			return 1
		fi
		sleep 0.05
	done
	set +e
	wait "$pid"
	EXIT_STATUS=$?
	set -e
	return 0
}

# rss_kib PID : resident set of PID in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# cpu_ticks PID : user + system clock ticks used by PID so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

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
