#!/usr/bin/env bash
# [2/8] ebb boots Linux: bzImage and ELF, 1/2/4 vCPUs, 128 MiB to 4 GiB,
# the boot timer, clean exit on reset and on ACPI poweroff, devices through
# ACPI and (--no-acpi) the command line, fatal exits, SIGTERM and SIGINT
# (also before boot). Negative controls: the triple-fault guest must exit 2, not 0;
# a signal's status counts only with the log lines of a real teardown.
# lab: --mem 6144
# timeout: 900
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/stop-message.sh
source "$(dirname "$0")/stop-message.sh"
require_files "$EBB" "$KERNEL" "$VMLINUX" "$INITRD" build/tests/triple-fault-guest

# No double quotes inside: the whole command is one quoted kernel parameter.
GUEST_REPORT="echo EBB-NPROC \$(nproc); grep MemTotal /proc/meminfo; dmesg | grep -m1 'Memory: [0-9]'"

# boot NAME KERNEL MEM VCPUS [extra ebb args...]
boot() {
	local name=$1 kernel=$2 mem=$3 vcpus=$4
	shift 4
	ebb_run "$name" 300 --kernel "$kernel" --initrd "$INITRD" --mem-mib "$mem" \
		--vcpus "$vcpus" --cmdline "$BOOT_ARGS_BASE ebb.run=\"$GUEST_REPORT\"" "$@"
}

check_cpus() {
	local name=$1 want=$2
	expect_grep "$name: guest sees $want CPU(s)" "$OUT/$name.out" "^EBB-NPROC $want\b"
}

# MemTotal must be within 5% of what was asked, once the kernel's own
# reservations (from its "Memory: avail/total ... reserved" line) are removed.
# That line counts the initramfs as reserved, but it is freed once unpacked
# and MemTotal has it back, so it is added to what is expected.
check_memory() {
	local name=$1 mem_mib=$2
	local total_kib line avail_kib phys_kib
	total_kib=$(awk '/^MemTotal:/ {print $2}' "$OUT/$name.out")
	line=$(grep -m1 'Memory: [0-9]' "$OUT/$name.out" || true)
	avail_kib=$(sed -n 's/.*Memory: \([0-9]*\)K\/\([0-9]*\)K available.*/\1/p' <<<"$line")
	phys_kib=$(sed -n 's/.*Memory: \([0-9]*\)K\/\([0-9]*\)K available.*/\2/p' <<<"$line")
	if [ -z "$total_kib" ] || [ -z "$phys_kib" ]; then
		fail "$name: no MemTotal or Memory: line in the guest output"
		return
	fi
	local asked_kib=$((mem_mib * 1024))
	local reserved_kib=$((phys_kib - avail_kib))
	local initrd_kib=$(($(stat -L -c %s "$INITRD") / 1024))
	local expected_kib=$((asked_kib - reserved_kib + initrd_kib))
	if awk -v t="$total_kib" -v e="$expected_kib" 'BEGIN { d = t - e; if (d < 0) d = -d; exit !(d <= 0.05 * e) }'; then
		pass "$name: MemTotal ${total_kib} KiB, expected ~${expected_kib} KiB (asked ${asked_kib}, kernel reserved ${reserved_kib})"
	else
		fail "$name: MemTotal ${total_kib} KiB is not within 5% of ${expected_kib} KiB (asked ${asked_kib}, reserved ${reserved_kib})"
	fi
	# The kernel saw all the RAM that was asked for, less the legacy holes.
	if awk -v p="$phys_kib" -v a="$asked_kib" 'BEGIN { exit !(p <= a && p >= 0.95 * a) }'; then
		pass "$name: kernel manages ${phys_kib} KiB of ${asked_kib} KiB asked"
	else
		fail "$name: kernel manages ${phys_kib} KiB, asked ${asked_kib} KiB"
	fi
}

log "boot: bzImage, 256 MiB, 1 vCPU, boot timer"
boot basic "$KERNEL" 256 1 --boot-timer
expect_status "basic boot" 0
expect_grep "basic: guest reached init" "$OUT/basic.out" '^EBB-GUEST-READY'
expect_grep "basic: guest command finished" "$OUT/basic.out" '^EBB-GUEST-EXIT rc=0'
expect_grep "basic: ebb saw the reset" "$OUT/basic.err" 'guest reset'
# The negative of the signal runs' register line: a guest that ended on its
# own was not stopped anywhere worth logging at the default level.
if grep -q 'vCPU [0-9]* stopped after' "$OUT/basic.err"; then
	fail "basic: ebb logged a stopped vCPU's registers for a guest that reset on its own"
else
	pass "basic: no stopped-vCPU registers after a reset of the guest's own"
fi
check_cpus basic 1
if grep -qE 'EBB-GUEST-READY|Linux version' "$OUT/basic.err"; then
	fail "basic: guest console leaked into the log (stderr)"
else
	pass "basic: log and console are separate"
fi
boot_us=$(sed -n 's/.*Guest-boot-time = *\([0-9]*\) us.*/\1/p' "$OUT/basic.err" | head -1)
if [ -n "$boot_us" ] && [ "$boot_us" -gt 0 ]; then
	pass "basic: boot timer logged Guest-boot-time = $boot_us us"
else
	fail "basic: no positive Guest-boot-time line in $OUT/basic.err"
fi

log "boot: bzImage, 128 MiB, 1 vCPU"
boot mem128 "$KERNEL" 128 1
expect_status "128 MiB boot" 0
check_memory mem128 128

log "boot: ELF vmlinux, 1024 MiB, 2 vCPUs"
boot elf "$VMLINUX" 1024 2
expect_status "ELF boot" 0
expect_grep "elf: guest reached init" "$OUT/elf.out" '^EBB-GUEST-READY'
check_cpus elf 2
check_memory elf 1024

log "boot: bzImage, 4096 MiB across the 32-bit gap, 4 vCPUs"
boot big "$KERNEL" 4096 4
expect_status "4 GiB boot" 0
check_cpus big 4
check_memory big 4096

# The devices the guest found: the balloon needs to be announced somehow.
# shellcheck disable=SC2016 # expanded by the guest's shell
VIRTIO_COUNT='echo EBB-VIRTIO-COUNT $(ls /sys/bus/virtio/devices | wc -l)'

log "ACPI (the default): the devices are found through the DSDT, and poweroff -f is a clean exit"
ebb_run acpi 300 --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 256 --balloon-reporting \
	--cmdline "$BOOT_ARGS_BASE ebb.run=\"$VIRTIO_COUNT; poweroff -f\""
expect_status "acpi boot" 0
expect_grep "acpi: the guest found the balloon" "$OUT/acpi.out" '^EBB-VIRTIO-COUNT 1\b'
expect_grep "acpi: poweroff -f powered off through ACPI S5" "$OUT/acpi.err" 'guest powered off \(ACPI S5\)'
if grep -q 'virtio_mmio.device=' "$OUT/acpi.err"; then
	fail "acpi: virtio_mmio.device= on the command line with ACPI on"
else
	pass "acpi: no virtio_mmio.device= on the command line"
fi
log "--no-acpi: the command line announces the devices; poweroff -f only halts"
ebb_run noacpi 300 --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 256 --balloon-reporting --no-acpi \
	--cmdline "$BOOT_ARGS_BASE ebb.run=\"$VIRTIO_COUNT\""
expect_status "no-acpi boot" 0
expect_grep "noacpi: the guest found the balloon" "$OUT/noacpi.out" '^EBB-VIRTIO-COUNT 1\b'
expect_grep "noacpi: virtio_mmio.device= is on the command line" "$OUT/noacpi.err" 'virtio_mmio.device=4K@0xd0001000'

log "fatal exit: a guest that triple-faults"
ebb_run triple 60 --kernel build/tests/triple-fault-guest --mem-mib 64
expect_status "triple fault" 2
expect_grep "triple: message names the fault" "$OUT/triple.err" 'triple fault'
# After a shutdown, AMD's KVM reinitialises the vCPU, so the dump shows its reset state.
expect_grep "triple: message carries the registers" "$OUT/triple.err" 'rip=0x[0-9a-f]+ rsp=0x[0-9a-f]+ '

# expect_teardown NAME SIGNAL STATUS : ebb ended on its own terms: the status
# is 128+N *and* the log shows the signal read from the signalfd and the
# balloon's summary, which only teardown prints. (A process killed by an
# unblocked signal would give the shell the same status and neither line.)
expect_teardown() {
	local name=$1 sig=$2 want=$3
	[ "$EXIT_STATUS" = "$want" ] && pass "$name: exit status $want (128 + SIG$sig)" ||
		fail "$name: exit status $EXIT_STATUS, want $want"
	expect_grep "$name: ebb read SIG$sig and chose to exit" "$OUT/$name.err" \
		"received [A-Za-z]+; exiting with status $want"
	expect_grep "$name: teardown ran (the balloon's summary)" "$OUT/$name.err" 'balloon: [0-9]+ reports'
	# What a hung guest's timeout leaves behind: where it was.
	expect_grep "$name: ebb logged where vCPU 0 was" "$OUT/$name.err" \
		'info +vCPU 0 stopped after [0-9]+ exits; rip=0x[0-9a-f]+ '
	# A sleeping guest's vCPU is halted with no device interrupt pending or
	# in service, so not what the e2e runner takes for the lab's lost one (a
	# tick, 0xec, can land as ebb stops it).
	if grep -qE "$halted_device_vector_re" "$OUT/$name.err"; then
		fail "$name: an idle guest stopped over a device interrupt: $(grep -m1 -o 'halted with.*' "$OUT/$name.err")"
	else
		pass "$name: no device interrupt pending or in service in an idle guest's halted vCPU ($(grep -m1 -o 'halted with.*' "$OUT/$name.err" || echo 'none at all'))"
	fi
}

# signal_run NAME SIGNAL STATUS : a sleeping guest gets SIGNAL, and must end
# within 1 s with STATUS, after a real teardown.
signal_run() {
	local name=$1 sig=$2 want=$3
	log "SIG$sig: a running guest stops promptly"
	ebb_start "$name" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib 128 --balloon-reporting \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"echo EBB-SLEEPING; sleep 600\""
	if ! wait_for "$OUT/$name.out" '^EBB-SLEEPING' 120 "$EBB_PID"; then
		fail "$name: the guest never started sleeping"
		return
	fi
	# Only shell builtins between the two timestamps: spawning a process
	# costs a good part of a second under nested emulation.
	(sleep 30 && kill -KILL "$EBB_PID" 2>/dev/null) &
	local watchdog=$! t0 t1 elapsed
	t0=$EPOCHREALTIME
	kill "-$sig" "$EBB_PID"
	set +e
	wait "$EBB_PID"
	EXIT_STATUS=$?
	set -e
	t1=$EPOCHREALTIME
	kill "$watchdog" 2>/dev/null || true
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	expect_teardown "$name" "$sig" "$want"
	# A hang, not a speed: a teardown stuck behind a vCPU or a device takes
	# the watchdog's 30 s; a loaded lab can take a second or two.
	if awk -v e="$elapsed" 'BEGIN { exit !(e <= 10.0) }'; then
		pass "$name: ebb ended ${elapsed}s after SIG$sig (a hang would be 30 s)"
	else
		fail "$name: ebb took ${elapsed}s to end after SIG$sig"
	fi
}

signal_run sigterm TERM 143
signal_run sigint INT 130

log "SIGTERM before boot: ebb waiting on its API socket ends cleanly"
sock_dir=$(mktemp -d)
ebb_start preboot --api-sock "$sock_dir/api.sock"
for _ in $(seq 100); do [ -S "$sock_dir/api.sock" ] && break; sleep 0.1; done
[ -S "$sock_dir/api.sock" ] || fail "preboot: no API socket appeared"
kill -TERM "$EBB_PID"
if wait_exit "$EBB_PID" 10; then
	[ "$EXIT_STATUS" = 143 ] && pass "preboot: exit status 143" ||
		fail "preboot: exit status $EXIT_STATUS, want 143"
	expect_grep "preboot: ebb read SIGTERM and chose to exit" "$OUT/preboot.err" \
		'received Terminated; exiting with status 143'
	[ -e "$sock_dir/api.sock" ] && fail "preboot: the API socket was left behind" ||
		pass "preboot: the API socket was removed"
else
	fail "preboot: ebb still runs 10 s after SIGTERM"
fi
rm -rf "$sock_dir"

finish
