#!/usr/bin/env bash
# ebbctl drives several ebb VMs: launch three from one config, list them,
# move one's balloon and watch its statistics follow, check the JSON output
# and the errors, then stop them all and leave the run directory clean.
# Negative controls: the VM whose balloon is not moved must keep its target,
# bad input must fail, and stop must end each guest by Ctrl-Alt-Del (a
# fallback to SIGTERM fails).
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
EBBCTL=${EBBCTL:-build/ebbctl}
require_files "$EBB" "$EBBCTL" "$KERNEL" "$INITRD"

command -v jq >/dev/null || die "jq is missing (scripts/install-deps installs it)"
json_ok() { jq -e . "$1" >/dev/null 2>&1; }
# json_get FILE FILTER : the jq FILTER's raw output.
json_get() { jq -r "$2" "$1"; }

# Unix sockets cannot live on the lab's 9p shares (bind fails with ENXIO), so
# the run directory is on a local filesystem; the VMs' logs are copied to $OUT.
RUN=$(mktemp -d "${TMPDIR:-/tmp}/ebbctl-e2e.XXXXXX")
CONFIG=$OUT/vm.json
NAMES=(vm-1 vm-2 vm-3)
declare -A PIDS=()

# save_logs : copies each VM's log and console to $OUT (stop removes them).
save_logs() {
	local d n
	for d in "$RUN"/*/; do
		[ -d "$d" ] || continue
		n=$(basename "$d")
		cp "$d/console.log" "$OUT/$n.console.log" 2>/dev/null || true
		cp "$d/ebb.log" "$OUT/$n.ebb.log" 2>/dev/null || true
	done
}

# However the test ends, no VM outlives it and the run directory goes.
on_exit() {
	save_logs
	"$EBBCTL" stop --all --run-dir "$RUN" --timeout 1 >/dev/null 2>&1 || true
	rm -rf "$RUN"
}
trap on_exit EXIT

# ctl NAME ARGS... : runs ebbctl ARGS with stdout in $OUT/NAME.out and stderr
# in $OUT/NAME.err; sets RC.
ctl() {
	local name=$1
	shift
	set +e
	"$EBBCTL" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	RC=$?
	set -e
}

show() { sed 's/^/    | /' "$@" >&2; }

cat >"$CONFIG" <<EOF
{
  "boot-source": {
    "kernel_image_path": "$KERNEL",
    "initrd_path": "$INITRD",
    "boot_args": "$BOOT_ARGS_BASE ebb.run=\"echo EBB-IDLE; sleep 600\""
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "logger": { "level": "Debug" },
  "balloon": {
    "amount_mib": 0,
    "deflate_on_oom": false,
    "stats_polling_interval_s": 1,
    "free_page_reporting": true
  }
}
EOF

log "launch: three VMs from $CONFIG into $RUN"
ctl launch launch --config "$CONFIG" --count 3 --run-dir "$RUN" --ebb "$EBB" --timeout 120
if [ "$RC" = 0 ]; then
	pass "launch: exit status 0"
else
	fail "launch: exit status $RC"
	show "$OUT/launch.err"
fi
show "$OUT/launch.out"
for n in "${NAMES[@]}"; do
	if grep -qE "^$n +[0-9]+ +Running +1 +256 " "$OUT/launch.out"; then
		pass "launch: $n is in the table, Running, 1 vCPU, 256 MiB"
	else
		fail "launch: no Running row for $n"
	fi
	for f in api.sock pid ebb.log console.log; do
		[ -e "$RUN/$n/$f" ] || fail "launch: $RUN/$n/$f is missing"
	done
	PIDS[$n]=$(cat "$RUN/$n/pid" 2>/dev/null || echo 0)
done
[ "$RC" = 0 ] || die "launch failed; see $OUT/launch.err and $OUT/vm-*.ebb.log"

# Everything else talks to this run directory through the environment.
export EBBCTL_RUN_DIR=$RUN

for n in "${NAMES[@]}"; do
	if wait_for "$RUN/$n/console.log" '^EBB-IDLE' 240 "${PIDS[$n]}"; then
		pass "$n: the guest is up (EBB-IDLE on its console)"
	else
		fail "$n: the guest never printed EBB-IDLE"
		tail -n 5 "$RUN/$n/ebb.log" | show
	fi
done

log "ps: three running VMs"
ctl ps ps
show "$OUT/ps.out"
running=$(grep -cE '^vm-[123] +[0-9]+ +running +256 ' "$OUT/ps.out" || true)
if [ "$RC" = 0 ] && [ "$running" = 3 ]; then
	pass "ps: 3 VMs running with 256 MiB guests"
else
	fail "ps: status $RC, $running running rows"
	show "$OUT/ps.err"
fi

log "launch refuses a name that is running"
ctl relaunch launch --config "$CONFIG" --name vm-2 --ebb "$EBB"
if [ "$RC" = 1 ] && grep -q 'vm-2: already running' "$OUT/relaunch.err"; then
	pass "launch --name vm-2: refused while vm-2 runs ($(head -n 1 "$OUT/relaunch.err"))"
else
	fail "launch --name vm-2: status $RC"
	show "$OUT/relaunch.err"
fi

log "balloon: vm-2 to 64 MiB, and stats show it getting there"
ctl balloon balloon vm-2 --target-mib 64
if [ "$RC" = 0 ]; then
	pass "balloon vm-2 --target-mib 64: $(cat "$OUT/balloon.out")"
else
	fail "balloon vm-2: status $RC"
	show "$OUT/balloon.err"
fi
# Polls until actual_mib shows 64 and the guest's own statistics are in (the
# guest reports them every stats_polling_interval_s).
reached=0 guest_stats=0
deadline=$(awk '{print $1 + 120}' /proc/uptime)
while awk -v d="$deadline" '{exit !($1 < d)}' /proc/uptime; do
	ctl stats stats vm-2
	if [ "$RC" = 0 ]; then
		grep -qE '^actual_mib +64 MiB$' "$OUT/stats.out" && reached=1
		grep -qE '^free_memory +[0-9]+\.[0-9] MiB$' "$OUT/stats.out" && guest_stats=1
		[ "$reached" = 1 ] && [ "$guest_stats" = 1 ] && break
	fi
	kill -0 "${PIDS[vm-2]}" 2>/dev/null || break
	sleep 1
done
show "$OUT/stats.out"
if [ "$reached" = 1 ]; then
	pass "stats vm-2: actual_mib reached 64"
else
	fail "stats vm-2: actual_mib never showed 64 MiB (status $RC)"
	show "$OUT/stats.err"
fi
if [ "$guest_stats" = 1 ]; then
	pass "stats vm-2: the guest's free_memory is shown in MiB"
else
	fail "stats vm-2: no free_memory within 120 s: the guest's statistics never arrived"
fi
ctl stats-json stats vm-2 --json
if [ "$RC" = 0 ] && json_ok "$OUT/stats-json.out" &&
	[ "$(json_get "$OUT/stats-json.out" .actual_mib)" = 64 ]; then
	pass "stats --json: valid JSON, actual_mib 64"
else
	fail "stats --json: status $RC, not valid JSON or wrong actual_mib"
	show "$OUT/stats-json.out"
fi

log "ps --json"
ctl ps-json ps --json
if [ "$RC" = 0 ] && json_ok "$OUT/ps-json.out"; then
	pass "ps --json: valid JSON"
	names=$(json_get "$OUT/ps-json.out" '[.[] | .name] | join(" ")')
	states=$(json_get "$OUT/ps-json.out" '[.[] | .state] | join(" ")')
	guests=$(json_get "$OUT/ps-json.out" '[.[] | .guest_mib] | join(" ")')
	balloons=$(json_get "$OUT/ps-json.out" '[.[] | .balloon_actual_mib] | join(" ")')
	rss=$(json_get "$OUT/ps-json.out" '[.[] | .rss_kib] | join(" ")')
	log "ps --json: names '$names', states '$states', guest '$guests', balloon '$balloons', rss KiB '$rss'"
	[ "$names" = "vm-1 vm-2 vm-3" ] && pass "ps --json: the three VMs in order" ||
		fail "ps --json: names '$names'"
	[ "$states" = "running running running" ] && pass "ps --json: all running" ||
		fail "ps --json: states '$states'"
	[ "$guests" = "256 256 256" ] && pass "ps --json: guest_mib 256 each" ||
		fail "ps --json: guest_mib '$guests'"
	[ "$(awk '{print $2}' <<<"$balloons")" = 64 ] && pass "ps --json: vm-2's balloon is at 64 MiB" ||
		fail "ps --json: balloon_actual_mib '$balloons'"
	# The negative control: the VMs whose balloon was not moved stay empty.
	[ "$(awk '{print $1, $3}' <<<"$balloons")" = "0 0" ] &&
		pass "ps --json: vm-1 and vm-3 kept their empty balloons" ||
		fail "ps --json: the untouched VMs' balloons: '$balloons'"
else
	fail "ps --json: status $RC or invalid JSON"
	show "$OUT/ps-json.out"
fi

ctl metrics metrics vm-1 --json
if [ "$RC" = 0 ] && json_ok "$OUT/metrics.out"; then
	pass "metrics --json: valid JSON"
else
	fail "metrics --json: status $RC"
	show "$OUT/metrics.err"
fi

log "bad input gets one clear line and a non-zero status"
ctl nosuch stats nosuch
if [ "$RC" = 1 ] && grep -qFx "ebbctl: nosuch: no such VM in $(cd "$RUN" && pwd -P)" "$OUT/nosuch.err"; then
	pass "stats nosuch: $(cat "$OUT/nosuch.err")"
else
	fail "stats nosuch: status $RC"
	show "$OUT/nosuch.err"
fi
ctl badnum balloon vm-1 --target-mib lots
if [ "$RC" = 2 ] && [ "$(wc -l <"$OUT/badnum.err")" = 1 ] && [ ! -s "$OUT/badnum.out" ]; then
	pass "balloon --target-mib lots: $(cat "$OUT/badnum.err")"
else
	fail "balloon --target-mib lots: status $RC"
	show "$OUT/badnum.err"
fi
ctl toobig balloon vm-1 --target-mib 4096
if [ "$RC" = 1 ] && grep -q '^ebbctl: vm-1: PATCH /balloon: HTTP 400: ' "$OUT/toobig.err"; then
	pass "balloon beyond guest RAM: $(cat "$OUT/toobig.err")"
else
	fail "balloon beyond guest RAM: status $RC"
	show "$OUT/toobig.err"
fi

save_logs

log "stop --all"
# stop removes each VM's folder once ebb has ended; followers keep the ends
# of its log and console, where a guest that ignored the keys shows itself.
followers=()
for n in "${NAMES[@]}"; do
	for f in console.log ebb.log; do
		tail -n +1 -F "$RUN/$n/$f" >"$OUT/$n.stop.$f" 2>/dev/null &
		followers+=($!)
	done
done
ctl stop stop --all --timeout 20 --json
sleep 1
kill "${followers[@]}" 2>/dev/null || true
wait "${followers[@]}" 2>/dev/null || true
show "$OUT/stop.err"
if [ "$RC" = 0 ] && json_ok "$OUT/stop.out"; then
	pass "stop --all: exit status 0, valid JSON"
else
	fail "stop --all: status $RC"
	show "$OUT/stop.out"
fi
stopped=$(json_get "$OUT/stop.out" '[.[] | .stopped] | join(" ")' 2>/dev/null || true)
clean=$(json_get "$OUT/stop.out" '[.[] | .clean] | join(" ")' 2>/dev/null || true)
ended_by=$(json_get "$OUT/stop.out" '[.[] | .ended_by] | join(" ")' 2>/dev/null || true)
statuses=$(json_get "$OUT/stop.out" '[.[] | .exit_status] | join(" ")' 2>/dev/null || true)
log "stop: ended by '$ended_by', exit statuses '$statuses'"
[ "$stopped" = "true true true" ] && pass "stop: all three stopped" || fail "stop: stopped '$stopped'"
[ "$clean" = "true true true" ] && pass "stop: all three ended cleanly (exit $statuses)" ||
	fail "stop: clean '$clean' (exit statuses '$statuses')"
# A fallback to SIGTERM would mean the guest never saw the key press.
if [ "$ended_by" = "ctrl-alt-del ctrl-alt-del ctrl-alt-del" ]; then
	pass "stop: every guest rebooted on Ctrl-Alt-Del"
else
	# Where each guest that ignored the keys was, from ebb's debug lines.
	why=
	for n in "${NAMES[@]}"; do
		by=$(json_get "$OUT/stop.out" ".[] | select(.name == \"$n\") | .ended_by" 2>/dev/null || true)
		[ "$by" = ctrl-alt-del ] && continue
		why+="; $n: $(grep -h 'vCPU [0-9]* stopped after\|i8042:' "$OUT/$n.stop.ebb.log" |
			sed 's/^.*\] *//' | tr '\n' ' ' | cut -c1-600)"
		why+="console: $(tail -n 1 "$OUT/$n.stop.console.log" | tr -d '\r' | cut -c1-120)"
	done
	fail "stop: not every guest rebooted on Ctrl-Alt-Del (ended by: $ended_by)$why"
fi

for n in "${NAMES[@]}"; do
	pid=${PIDS[$n]}
	if [ -z "$pid" ] || [ "$pid" = 0 ]; then
		fail "$n: no pid was recorded for it, so its end cannot be checked"
	elif kill -0 "$pid" 2>/dev/null; then
		fail "$n: pid $pid is still there"
	else
		pass "$n: pid $pid is gone"
	fi
	if [ -e "$RUN/$n" ]; then
		fail "$n: $RUN/$n is still there: $(ls -A "$RUN/$n" | tr '\n' ' ')"
	else
		pass "$n: its run-directory entry is gone"
	fi
done
ctl ps-after ps --json
if [ "$RC" = 0 ] && [ "$(json_get "$OUT/ps-after.out" length)" = 0 ]; then
	pass "ps --json after stop: no VMs"
else
	fail "ps --json after stop: status $RC"
	show "$OUT/ps-after.out"
fi

finish
