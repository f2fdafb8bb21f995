# shellcheck shell=bash
# tools/lab/watchdog.sh: watching L1 and explaining its failures, sourced by
# tools/lab/run.  While QEMU runs: stream CMD's output, and stop a run that
# hit --timeout, a soft lockup or hung task in L1, a silent stall, a stopped
# heartbeat, an L2 state leak CMD outlived, a boot that never came up, or a
# poweroff that never came.  Before QEMU is killed, dump where L1 was (QEMU's threads, L1's
# kernel base, every CPU's registers).
# Afterwards: one "lab: " reason from what the run left behind.
#
# Uses from run: cpus, timeout, boot_timeout, lockup_limit_s, stall_limit_s,
# heartbeat_limit_s, leak_grace_s, kernel, lab_fail, lab_note, stop_pid;
# from boot.sh: run_dir, console_log, qemu_pid, tick_fd, up, pump, report_up,
# elapsed_us.
# Sets: why_stopped, qemu_rc.

# L1 stuck for good: under TCG its kernel has been seen to soft-lock both
# CPUs for many minutes, with CMD's own timeouts frozen too, and to leave
# tasks blocked for good with both CPUs idle (khugepaged among them, while
# the runner's stall check saw the hung-task warnings as activity). Neither
# ever recovered; end the run now rather than at --timeout. An RCU stall
# counts too: an L1 CPU was seen with its timer vector pending in the APIC's
# IRR and interrupts on, never taking it, while its RCU stall reports kept the
# console busy (so the silent-stall check never fired). Its age is in
# jiffies; Debian's amd64 and arm64 kernels tick at 250 Hz.
l1_locked_up() {
	local worst
	worst=$({
		grep -o 'soft lockup - CPU#[0-9]* stuck for [0-9]*s' "$console_log" |
			sed 's/.* for \([0-9]*\)s$/\1/'
		grep -o 'INFO: task .* blocked for more than [0-9]* seconds' "$console_log" |
			sed 's/.* more than \([0-9]*\) seconds$/\1/'
		grep -oE '[( ]t=[0-9]+ jiffies' "$console_log" |
			sed -E 's/.*t=([0-9]+) jiffies/\1/' | awk '{ print int($1 / 250) }'
	} 2>/dev/null | sort -n | tail -n 1) || true
	[ -n "$worst" ] && ((worst >= lockup_limit_s))
}

# L1 silent: CMD's output and L1's console unchanged for stall_limit_s. Hangs
# without a lockup message were seen too; with a limit the run ends then.
activity_size() {
	{ stat -c %s "$run_dir/stdout" "$run_dir/stderr" "$console_log" 2>/dev/null || true; } |
		awk '{ n += $1 } END { print n + 0 }'
}

# An L2 given L1's registers (l1-init's leak watch) hangs or faults, and L1
# itself has died of it minutes later; a test step with a long timeout then
# waited out the stall limit. CMD gets leak_grace_s to end on its own (its
# failure is then the lab's, lab_exit_with_cmd_status); after that the run
# is the lab's failure.
l2_state_leak() {
	grep -m1 -o 'lab: L2 state leak.*' "$console_log" 2>/dev/null || true
}

# monitor COMMANDS : QEMU's monitor's answer to COMMANDS (lines), prompts cut.
monitor() {
	printf '%s\n' "$1" | timeout 15 socat -t 8 - "UNIX-CONNECT:$run_dir/monitor" 2>&1 |
		tr -d '\r' | grep -v '^(qemu)'
}

# Before a stuck L1 is killed: whether QEMU's vCPU threads were spinning or
# blocked, where each L1 CPU was (QEMU's monitor; needs socat), whether it
# moved, and the arch's interrupt state and stack words (arch_monitor_probe)
# that show a CPU looping against one waiting for an interrupt.
dump_stuck_l1() {
	local round stat line name
	echo "QEMU threads (tid, name, state, CPU ticks used), 2 s apart:"
	for round in 1 2; do
		for stat in /proc/"$qemu_pid"/task/*/stat; do
			read -r line <"$stat" 2>/dev/null || continue
			name=${line#*\(} name=${name%\)*}
			# shellcheck disable=SC2086 # the fields after the name, split
			set -- ${line##*\) }
			echo "${line%% *} $name $1 $((${12} + ${13}))"
		done
		[ "$round" = 2 ] || { echo; sleep 2; }
	done
	cat "$run_dir/kernel-text" 2>/dev/null || echo "no kernel-text: L1's base address unknown"
	if ! command -v socat >/dev/null 2>&1; then
		echo "socat not installed: no register dump"
		return 0
	fi
	# A busy TCG main loop can miss the first query: ask up to three times.
	local attempt regs cpu
	for attempt in 1 2 3; do
		regs=$(monitor $'info cpus\ninfo registers -a') || true
		if grep -q "^CPU#$((cpus - 1))" <<<"$regs"; then
			echo "$regs"
			break
		fi
		sleep 1
	done
	if [ "$attempt" = 3 ] && ! grep -q "^CPU#$((cpus - 1))" <<<"$regs"; then
		echo "QEMU's monitor gave no register dump in 3 tries; the last answer:"
		echo "$regs"
		return 0
	fi
	echo
	echo "Each CPU's pc, 3 more times 0.5 s apart:"
	for round in 1 2 3; do
		monitor 'info registers -a' | grep -oE '^CPU#[0-9]+|^ ?(RIP|PC)=[0-9a-f]+' | paste -sd ' ' || true
		[ "$round" = 3 ] || sleep 0.5
	done
	local probe
	probe=$(arch_monitor_probe)
	[ -n "$probe" ] || return 0
	for ((cpu = 0; cpu < cpus; cpu++)); do
		echo
		echo "CPU#$cpu, from the monitor's probe:"
		monitor "cpu $cpu"$'\n'"$probe" || true
	done
}

# Until QEMU exits or a limit is hit: report L1 up, stream CMD's output, run
# the health checks every 10 s.  Then QEMU is stopped (with a dump first if
# L1 was stuck) and reaped, and the last output streamed.
lab_watch() {
	local now_us size done_us='' tick=0.1 next_health_check_us=0
	local last_size=-1 last_activity_us=0 leak_us='' beat last_beat='' last_beat_us=0
	why_stopped=
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ "$up" = 0 ] && [ -e "$run_dir/up" ]; then
			report_up
			tick=0.25
		fi
		if [ "$up" = 1 ]; then pump; fi
		now_us=$(elapsed_us)
		# CMD is done; L1 only has to power off.  Do not wait on a stuck poweroff.
		if [ -z "$done_us" ] && [ -e "$run_dir/status" ]; then done_us=$now_us; fi
		if [ -n "$done_us" ] && ((now_us - done_us > 20000000)); then
			lab_note "L1 did not power off within 20 s after CMD finished; killing QEMU"
			why_stopped=stuck
			break
		fi
		if ((now_us >= timeout * 1000000)); then
			why_stopped=timeout
			break
		fi
		if ((now_us >= next_health_check_us)); then
			next_health_check_us=$((now_us + 10000000))
			if l1_locked_up; then
				why_stopped=lockup
				break
			fi
			if [ -z "$leak_us" ] && [ -n "$(l2_state_leak)" ]; then leak_us=$now_us; fi
			if [ -n "$leak_us" ] && [ -z "$done_us" ] && ((now_us - leak_us >= leak_grace_s * 1000000)); then
				why_stopped=leak
				break
			fi
			# Judged only once a first count came: an L1 that never
			# wrote one is boot_timeout's or the stall check's.
			beat=$(cat "$run_dir/heartbeat" 2>/dev/null || true)
			if [ "$up" = 0 ] || { [ -n "$beat" ] && [ "$beat" != "$last_beat" ]; }; then
				[ -z "$beat" ] || last_beat=$beat
				last_beat_us=$now_us
			elif [ -n "$last_beat" ] && [ -z "$done_us" ] && [ "$heartbeat_limit_s" -gt 0 ] &&
				((now_us - last_beat_us >= heartbeat_limit_s * 1000000)); then
				why_stopped=heartbeat
				break
			fi
			size=$(activity_size)
			# A slow, quiet boot is boot_timeout's to judge, not a stall.
			if [ "$size" != "$last_size" ] || [ "$up" = 0 ]; then
				last_size=$size
				last_activity_us=$now_us
			elif [ "$stall_limit_s" -gt 0 ] && ((now_us - last_activity_us >= stall_limit_s * 1000000)); then
				why_stopped=stall
				break
			fi
		fi
		if [ "$up" = 0 ] && ((now_us >= boot_timeout * 1000000)); then
			why_stopped=boot
			break
		fi
		read -r -t "$tick" -u "$tick_fd" _ || true
	done
	if [ -n "$why_stopped" ]; then
		case $why_stopped in stall | heartbeat | lockup | timeout | boot) dump_stuck_l1 >"$run_dir/stall" 2>&1 || true ;; esac
		stop_pid "$qemu_pid"
	fi
	qemu_rc=0
	wait "$qemu_pid" || qemu_rc=$?
	qemu_pid=
	# L1 may have come up and finished between two ticks.
	if [ "$up" = 0 ] && [ -e "$run_dir/up" ]; then report_up; fi
	pump
}

# CMD left no exit status: say why, in one "lab: " line, and exit 125.
lab_explain_failure() {
	local reason panic qerr
	case $why_stopped in
	stall) lab_fail "L1 silent for $stall_limit_s s: no output from CMD, nothing on L1's console; QEMU killed (console log: $console_log; where L1 was: $run_dir/stall)" ;;
	heartbeat) lab_fail "L1's clock stopped: its heartbeat on the run share unchanged for $heartbeat_limit_s s, so CMD's own timeouts are frozen too; QEMU killed (console log: $console_log; where L1 was: $run_dir/stall)" ;;
	lockup) lab_fail "L1 kernel locked up (a CPU stuck, or a task blocked, for $lockup_limit_s s or more); QEMU killed (console log: $console_log; where L1 was: $run_dir/stall)" ;;
	timeout) lab_fail "timed out after $timeout s (--timeout); QEMU killed (console log: $console_log; where L1 was: $run_dir/stall)" ;;
	leak) lab_fail "CMD still running $leak_grace_s s after L1's watch reported: $(l2_state_leak | tr -s " " | cut -c 6-200); QEMU killed (console log: $console_log)" ;;
	boot)
		if [ -e "$run_dir/booted" ]; then
			lab_fail "L1 booted but did not come up within $boot_timeout s (console log: $console_log; where L1 was: $run_dir/stall)"
		fi
		lab_fail "L1 kernel did not boot within $boot_timeout s (console log: $console_log)"
		;;
	esac
	if [ -s "$run_dir/error" ]; then
		lab_fail "$(head -n 1 "$run_dir/error") (console log: $console_log)"
	fi
	# || true: a console log or QEMU log that is missing or says nothing
	# must still end in a reason and 125, not in set -e's status 1.
	reason=$(sed -n 's/^EBB-LAB-FAIL: //p' "$console_log" 2>/dev/null | head -n 1) || true
	[ -z "$reason" ] || lab_fail "$reason (console log: $console_log)"
	if [ ! -e "$run_dir/booted" ]; then
		panic=$(grep -m1 -o 'Kernel panic.*' "$console_log" 2>/dev/null || true)
		if [ -n "$panic" ]; then
			lab_fail "L1 kernel panicked: $panic (console log: $console_log)"
		fi
		if [ "$qemu_rc" != 0 ]; then
			qerr=$(grep -v -i 'warning' "$run_dir/qemu.log" | tail -n 1) || true
			lab_fail "QEMU could not boot the L1 kernel $kernel (exit $qemu_rc): ${qerr:-no message} (QEMU log: $run_dir/qemu.log)"
		fi
		lab_fail "L1 kernel $kernel stopped before its init ran (console log: $console_log)"
	fi
	lab_fail "L1 stopped while CMD was running (QEMU exit $qemu_rc, no exit status written; console log: $console_log)"
}
