# shellcheck shell=bash
# tools/lab/arch-x86_64.sh: the x86_64 L1 (QEMU TCG, an EPYC with SVM,
# Debian's amd64 kernel with kvm-amd).  Sourced by tools/lab/run for
# --arch x86_64.
#
# Everything the lab does differently per L1 architecture is here.  Another
# architecture is one more arch-<name>.sh that sets and defines the same
# names, plus its line in run's --arch case:
#   KVM_MODULES              modules L1's init loads for /dev/kvm (none if built in)
#   KVM_PARAMS               module parameters for the last of them
#                            ($EBB_LAB_KVM_PARAMS, even empty, replaces them)
#   KVM_PARAMS_RETRY         the same for a run that retries a lab failure
#                            (EBB_LAB_RETRY=1)
#   arch_host_tools          sets qemu, busybox (static, for L1), busybox_exec
#                            (how the host runs it: empty, or an emulator) and cc
#                            (builds kvm-hold.c for L1), or fails the lab
#   arch_kernel_meta         Debian's metapackage whose Depends names the L1 kernel
#   arch_kernel_flavour      the suffix of that kernel's version (<ver>-<flavour>)
#   arch_kernel_package VER  the package apt-get downloads for VER
#   arch_kernel_prepared VER / arch_prepare_kernel VER
#                            a one-time step on the cached kernel (under the lock)
#   arch_boot_image KDIR     the image in the cache that QEMU boots
#   arch_cmdline             L1's kernel command line (without "quiet")
#   arch_qemu_args           appends firmware, machine, accelerator and CPU to qemu_args
#   arch_describe            a few words for the "lab: nested KVM (...)" line
#   arch_userland            a directory whose usr/bin and usr/sbin L1 mounts over
#                            the host root's for CMD, or nothing (the host's own)
#   arch_leak_watch          "EVENT SYMBOL": an L2 exit traced by EVENT (a
#                            tracefs kvm event with a guest_rip field) at an
#                            address within 4 KiB of L1's SYMBOL means L2 was
#                            given L1's registers; or nothing
#   arch_shutdown_watch      "EVENT FILTER": the tracefs event and filter that
#                            match an L2 triple fault; or nothing
#   arch_monitor_probe       QEMU monitor commands run on each CPU of a stuck
#                            L1 (after "cpu N"): its interrupt controller and
#                            stack; or nothing

KVM_MODULES=(kvm_amd)
# None: EBB_LAB_KVM_PARAMS=npt=0 gives L1's KVM shadow paging instead of
# nested paging, to tell TCG's nested page tables apart from the rest
# (docs/SPEC.md section 15, finding 10).
KVM_PARAMS=''
# A run that retries a lab failure (EBB_LAB_RETRY=1): shadow paging. Every
# L2 state leak the lab's watch caught exited as a nested page fault, and
# shadow paging takes TCG's nested page tables out of the path: finding 10's
# churn repro under it failed 0 times in 18 runs. Not the default: e2e 25
# ran 27% longer under it (133 s against 105).
KVM_PARAMS_RETRY='npt=0'

arch_host_tools() {
	qemu=$(command -v qemu-system-x86_64 || true)
	[ -n "$qemu" ] || lab_fail "qemu-system-x86_64 not found (install qemu-system-x86: scripts/install-deps)"
	busybox=$(command -v busybox || true)
	[ -n "$busybox" ] || busybox=/bin/busybox
	[ -x "$busybox" ] || lab_fail "busybox not found (install busybox-static: scripts/install-deps)"
	# A dynamic busybox would not run in the library-less initramfs.
	if ldd "$busybox" >/dev/null 2>&1; then
		lab_fail "$busybox is not statically linked (install busybox-static: scripts/install-deps)"
	fi
	busybox_exec=()
	cc=cc
}

arch_kernel_meta() { printf 'linux-image-amd64'; }
arch_kernel_flavour() { printf 'amd64'; }
arch_kernel_package() { printf 'linux-image-%s-unsigned' "$1"; }

# Decompress vmlinuz into an ELF vmlinux once: QEMU boots that through its PVH
# entry point, which skips the xz decompressor, ~3 s under TCG.  Optional: on
# any failure the lab boots vmlinuz instead.
arch_prepare_kernel() {
	local kdir=$cache/$1 z=$cache/$1/vmlinuz magic tool off tmp
	tmp=$kdir/.vmlinux.$$
	lab_note "decompressing the L1 kernel $1 for a PVH boot (once; cache: $kdir)"
	for magic in xz gzip zstd; do
		case $magic in
		xz) tool=(xz -dc); off=$(LC_ALL=C grep -abo -m1 $'\xfd7zXZ\x00' "$z" | head -n 1 | cut -d: -f1) ;;
		gzip) tool=(gzip -dc); off=$(LC_ALL=C grep -abo -m1 $'\x1f\x8b\x08' "$z" | head -n 1 | cut -d: -f1) ;;
		zstd) tool=(zstd -dc); off=$(LC_ALL=C grep -abo -m1 $'\x28\xb5\x2f\xfd' "$z" | head -n 1 | cut -d: -f1) ;;
		esac
		[ -n "$off" ] && command -v "${tool[0]}" >/dev/null 2>&1 || continue
		# The compressed stream is followed by other data: ignore the
		# decompressor's complaint, check the result is an ELF instead.
		tail -c "+$((off + 1))" "$z" | "${tool[@]}" >"$tmp" 2>/dev/null || true
		if [ "$(head -c 4 "$tmp" 2>/dev/null)" = $'\x7fELF' ]; then
			mv -f -- "$tmp" "$kdir/vmlinux"
			return 0
		fi
	done
	rm -f -- "$tmp"
	: >"$kdir/.no-vmlinux"
}

arch_kernel_prepared() {
	[ -f "$cache/$1/vmlinux" ] || [ -e "$cache/$1/.no-vmlinux" ]
}

arch_boot_image() {
	if [ -f "$1/vmlinux" ]; then printf '%s/vmlinux' "$1"; else printf '%s/vmlinuz' "$1"; fi
}

# Measured under TCG: tsc=reliable (TCG's TSC is one host clock for all vCPUs;
# also gives L2 a stable kvmclock), no crypto self-tests, no PS/2 probing and
# mitigations=off each save 0.2-1 s.  panic=-1 + -no-reboot: a panic ends QEMU.
arch_cmdline() {
	printf 'console=ttyS0 panic=-1 mitigations=off tsc=reliable cryptomgr.notests i8042.noaux i8042.nokbd'
}

arch_qemu_args() {
	# qboot is a much shorter firmware path than SeaBIOS for a -kernel boot.
	if [ -f /usr/share/qemu/qboot.rom ]; then qemu_args+=(-bios /usr/share/qemu/qboot.rom); fi
	qemu_args+=(-machine pc -accel tcg,thread=multi -cpu EPYC,+svm)
}

arch_describe() { printf 'QEMU TCG, EPYC+svm'; }

arch_userland() { :; } # the host's binaries run in L1 as they are

# QEMU TCG's nested SVM has been seen to save L1's own registers, taken at
# the VMRUN in KVM's __svm_vcpu_run, as an L2 vCPU's (docs/SPEC.md section
# 15, findings 4 and 7). The L2 then "runs" at that address with L1's page
# tables: it hangs in a loop of page faults or triple-faults.
arch_leak_watch() { printf 'kvm/kvm_exit __svm_vcpu_run'; }

# SVM_EXIT_SHUTDOWN (0x7f), an L2 triple fault: KVM resets the VMCB on it, so
# the VMM only sees reset-state registers; the trace keeps where it happened.
arch_shutdown_watch() { printf 'kvm/kvm_exit exit_reason == 127'; }

# The local APIC (a vector pending in IRR that a CPU never takes, or a timer
# armed in the past) and 48 words of the kernel stack, whose text addresses
# are the callers ($esp is the whole RSP in a 64-bit QEMU).
arch_monitor_probe() { printf 'info lapic\nx/48gx $esp'; }
