# shellcheck shell=bash
# tools/lab/boot.sh: booting L1 and sharing with it, sourced by tools/lab/run.
# The per-run directory (shared read-write with L1 as "labrun") carries CMD's
# argv, environment and cwd in, and its output and exit status out; the host
# root is shared read-only, the repo and $EBB_LAB_RW read-write, all over 9p.
#
# Uses from run: cpus, mem, kernel, kver, kdir, LAB_DIR, lab_fail, lab_note
# and the arch_* functions.  Sets: run_dir, console_log, rw_paths,
# qemu_args, qemu_pid, t0, up and the fds tick_fd, out_fd, err_fd.

# The run directory with what L1 needs to rebuild CMD ($@): NUL-separated
# argv, environment and cwd, l1-exec, and "config" for l1-init.
lab_prepare_run() {
	local kv
	run_dir=$(mktemp -d "${TMPDIR:-/tmp}/ebb-lab.XXXXXX") || lab_fail "cannot create a run directory in ${TMPDIR:-/tmp}"
	run_dir=$(realpath -e -- "$run_dir")
	console_log=$run_dir/console.log

	printf '%s\0' "$@" >"$run_dir/argv"
	while IFS= read -r -d '' kv; do
		case ${kv%%=*} in
		PWD | OLDPWD | SHLVL | _) ;;
		*) printf '%s\0' "$kv" ;;
		esac
	done < <(env -0) >"$run_dir/env"
	printf '%s\0' "$PWD" "$(pwd -P)" >"$run_dir/cwd"
	: >"$run_dir/stdout"
	: >"$run_dir/stderr"
	cp -- "$LAB_DIR/l1-exec" "$run_dir/l1-exec"

	lab_rw_shares
	local i
	{
		printf 'kver %s\n' "$kver"
		printf 'moddir %s\n' "$kdir/lib/modules/$kver"
		printf 'libmod %s\n' "$(realpath -m /lib/modules)"
		printf 'bash %s\n' "$BASH"
		local userland
		userland=$(arch_userland) || lab_fail "could not prepare the L1 userland (log: $cache_log)"
		if [ -n "$userland" ]; then printf 'userland %s\n' "$userland"; fi
		local watch
		watch=$(arch_leak_watch)
		if [ -n "$watch" ]; then printf 'leakwatch %s\n' "$watch"; fi
		watch=$(arch_shutdown_watch)
		if [ -n "$watch" ]; then printf 'shutdownwatch %s\n' "$watch"; fi
		local kvm_params
		kvm_params=$(lab_kvm_params)
		if [ -n "$kvm_params" ] && [ ${#KVM_MODULES[@]} -gt 0 ]; then
			printf 'kvmmod %s\n' "${KVM_MODULES[-1]//_/-}"
			printf 'kvmparams %s\n' "$kvm_params"
		fi
		for i in "${!rw_paths[@]}"; do printf 'rw rw%d %s\n' "$i" "${rw_paths[$i]}"; done
	} >"$run_dir/config"
}

# lab_kvm_params: the module parameters for L1's KVM module.
# EBB_LAB_KVM_PARAMS, even empty, wins; a run that retries a lab failure
# (EBB_LAB_RETRY=1) gets the arch's KVM_PARAMS_RETRY, which keeps the lab's
# known faults out of its way; any other run the arch's KVM_PARAMS.
lab_kvm_params() {
	if [ -n "${EBB_LAB_KVM_PARAMS+set}" ]; then
		printf '%s\n' "$EBB_LAB_KVM_PARAMS"
	elif [ "${EBB_LAB_RETRY:-0}" = 1 ]; then
		printf '%s\n' "$KVM_PARAMS_RETRY"
	else
		printf '%s\n' "$KVM_PARAMS"
	fi
}

# Writable shares: the repo (or the cwd) and $EBB_LAB_RW, canonical (L1 mounts
# them under /host, where an absolute symlink would point outside), parents
# first, into rw_paths.
lab_rw_shares() {
	local repo p q covered extra
	local rw_raw=()
	repo=
	if command -v git >/dev/null 2>&1; then repo=$(git rev-parse --show-toplevel 2>/dev/null || true); fi
	[ -n "$repo" ] || repo=$(pwd -P)
	rw_raw=("$repo")
	if [ -n "${EBB_LAB_RW:-}" ]; then
		IFS=: read -r -a extra <<<"$EBB_LAB_RW"
		for p in "${extra[@]}"; do
			[ -n "$p" ] || continue
			[ -d "$p" ] || lab_fail "EBB_LAB_RW path is not a directory: $p"
			rw_raw+=("$p")
		done
	fi
	rw_paths=()
	while IFS= read -r p; do
		case $p in
		/) lab_fail "refusing to share / read-write (from the repo or EBB_LAB_RW)" ;;
		*$'\n'*) lab_fail "cannot share a path containing a newline" ;;
		esac
		# A path inside one already shared is covered by that mount.
		covered=0
		for q in "${rw_paths[@]}"; do
			case $p in "$q"/*) covered=1 ;; esac
		done
		[ "$covered" = 1 ] || rw_paths+=("$p")
	done < <(for p in "${rw_raw[@]}"; do realpath -e -- "$p"; done | LC_ALL=C sort -u)
}

qesc() { printf '%s' "${1//,/,,}"; } # QEMU option values escape "," as ",,"

# QEMU's command line: the arch's machine, the kernel and initramfs, the
# console into console.log, the monitor (for the register dump) and the shares.
lab_qemu_args() {
	local cmdline i
	cmdline=$(arch_cmdline)
	# quiet: printing the boot log on the emulated UART costs time; the full dmesg
	# is saved in the run dir anyway once init is up.
	if [ "${EBB_LAB_VERBOSE:-0}" != 1 ]; then cmdline+=" quiet"; fi
	qemu_args=(-nodefaults -no-user-config -display none -no-reboot)
	arch_qemu_args
	qemu_args+=(
		-smp "$cpus" -m "$mem"
		-kernel "$kernel" -initrd "$run_dir/initrd"
		-append "$cmdline"
		-chardev "file,id=con,path=$(qesc "$console_log")" -serial chardev:con
		-monitor "unix:$(qesc "$run_dir/monitor"),server=on,wait=off"
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
		-virtfs "local,path=$(qesc "$run_dir"),mount_tag=labrun,security_model=none"
	)
	for i in "${!rw_paths[@]}"; do
		qemu_args+=(-virtfs "local,path=$(qesc "${rw_paths[$i]}"),mount_tag=rw$i,security_model=none,multidevs=remap")
	done
}

lab_start_qemu() {
	local kdesc pdeath=()
	lab_qemu_args
	if [ "${kernel%/vmlinu[xz]}" = "$kdir" ]; then kdesc="L1 $kver"; else kdesc="L1 $kernel, modules $kver"; fi
	lab_note "nested KVM ($(arch_describe), $kdesc, $cpus cpus, $mem MiB)"

	mkfifo "$run_dir/tick"
	exec {tick_fd}<>"$run_dir/tick" {out_fd}<"$run_dir/stdout" {err_fd}<"$run_dir/stderr"
	t0=$EPOCHREALTIME
	up=0
	# pdeathsig: QEMU dies with the runner even if the runner is SIGKILLed.
	if [[ $(setpriv --help 2>/dev/null || true) == *--pdeathsig* ]]; then pdeath=(setpriv --pdeathsig KILL --); fi
	"${pdeath[@]}" "$qemu" "${qemu_args[@]}" </dev/null >"$run_dir/qemu.log" 2>&1 &
	qemu_pid=$!
}

elapsed_us() {  # microseconds since t0; EPOCHREALTIME may use "," as the point
	echo $((10#${EPOCHREALTIME//[.,]/} - 10#${t0//[.,]/}))
}
elapsed() {  # seconds since t0, one decimal
	local us
	us=$(elapsed_us)
	printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10))
}

# Copy whatever CMD wrote since the last call (the fds keep their offsets).
pump() {
	cat <&"$out_fd"
	cat <&"$err_fd" >&2
}

# Once L1 is up: say so, with the kernel's own word that KVM loaded.
report_up() {
	local line
	up=1
	lab_note "L1 up in $(elapsed) s"
	if [ -f "$run_dir/kvm-dmesg" ]; then
		while IFS= read -r line; do lab_note "dmesg: $line"; done <"$run_dir/kvm-dmesg"
	fi
}

# What L1's kernel prints when it, not CMD, went wrong: an oops or BUG, a
# general protection fault, a soft lockup, an RCU stall, a task blocked for
# minutes. Under TCG all of these have been seen in L1's KVM.
L1_FAULT_RE='lab: L2 state leak|BUG: |Oops|general protection fault|soft lockup - CPU|rcu: INFO: .*stall|rcu_(sched|preempt) (self-)?detected stall|blocked for more than [0-9]+ seconds'

# Three L2 triple faults are the lab's too (docs/SPEC.md section 15, findings
# 12, 13, 17 and 19), the first two at a rip in a Linux guest's kernel text.
# L1's tracer (l1-init) saw the shutdown while delivering
#  - a page fault for an instruction fetch from that text that found no page
#    (error code 0x10) or an entry with reserved bits set (0x18: page tables
#    read from memory that holds none, which a discard, reading back as
#    zeros, never gives). A Linux guest maps its text from its first
#    instructions to its reset; in CI this came 2 s into a boot with no
#    balloon traffic at all, and it is what a guest run on L1's CR3 (finding
#    7's leak) would do;
#  - an external interrupt (vector 0x20 and up): seen three times in CI, twice
#    to a guest idle in native_safe_halt. Delivering one reads only memory a
#    guest never frees (its IDT, GDT and stacks, through its kernel's page
#    tables), so a guest faults there only on page tables that are gone;
#  - in ebb's bare test guests (tests/e2e/guests, text at 16 MiB), a page
#    fault that found no page or a reserved bit (error code 0 or 8): they
#    run on ebb's identity map of the first 4 GiB, which nothing unmaps, and
#    ebb enters them without EFER.NXE, so a fetch sets no I/D bit. The
#    project's CI of f82e2f0 met it in the hostile guest, at the instruction
#    after a queue notify's exit, where finding 12's faults strike too.
# ebb discarding a page the guest still uses could look the same, so any of
# these is only ever retried, twice at most and with a warning, and then with
# shadow paging in L1, where such a bug of ebb's would fault all the same
# (tests/e2e/run-all).
L2_LAB_SHUTDOWN_RE='lab: L2 shutdown exit: .* reason shutdown (rip 0xffffffff[89][0-9a-f]{7} .*intr_info (0x80000b0e error_code 0x000000(10|18)|0x800000[2-9a-f][0-9a-f] )|rip 0x10[0-9a-f]{5} .*intr_info 0x80000b0e error_code 0x000000(00|08))'

# L1's kernel log lines about a process killed: by seccomp (audit type 1326),
# a fatal signal, the OOM killer.
L1_PROCESS_DEATH_RE='type=1326|segfault at|traps: |general protection|Out of memory|Killed process|oom-kill'

# The first line of L1's console that matches L1_FAULT_RE or
# L2_LAB_SHUTDOWN_RE, if any.
l1_fault() {
	grep -m1 -E "$L1_FAULT_RE|$L2_LAB_SHUTDOWN_RE" "$console_log" 2>/dev/null || true
}

# A status means CMD ran to completion, whatever happened to L1 afterwards:
# exit with it. A failure while L1's kernel faulted is the lab's (125), since
# nothing CMD did can be told apart from it. Returns only if there is none.
lab_exit_with_cmd_status() {
	local rc fault
	[ -f "$run_dir/status" ] || return 0
	rc=$(<"$run_dir/status")
	[[ $rc =~ ^[0-9]+$ ]] || lab_fail "L1 wrote a bad exit status '$rc' (run dir: $run_dir)"
	if [ "$rc" != 0 ]; then
		fault=$(l1_fault)
		[ -z "$fault" ] || lab_fail "CMD failed (status $rc) while L1 reported: ${fault:0:300} (console log: $console_log)"
		# Where L2 triple faults happened (l1-init): no verdict, only
		# evidence for whoever reads the failure.
		local line
		while IFS= read -r line; do lab_note "${line#*lab: }"; done < <(grep -o 'lab: L2 shutdown exit: .*' "$console_log" 2>/dev/null | head -n 4)
		# A process that died without a word of its own (a seccomp kill,
		# a segfault, the OOM killer): only L1's kernel log says so.
		while IFS= read -r line; do lab_note "L1 kernel: $line"; done < <(grep -E "$L1_PROCESS_DEATH_RE" "$run_dir/dmesg" 2>/dev/null | head -n 6)
	fi
	exit "$rc"
}
