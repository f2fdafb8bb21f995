# shellcheck shell=bash
# tools/lab/arch-aarch64.sh: the arm64 L1 (QEMU TCG's virt machine with EL2,
# a GICv3 and the "max" CPU, Debian's arm64 kernel with KVM built in, in VHE
# mode).  Sourced by tools/lab/run for --arch aarch64; arch-x86_64.sh lists
# the names an arch file defines.
#
# The host's files are x86_64, so CMD's userland in L1 is arm64: arch_userland
# builds (once, in the cache) a /usr/bin and /usr/sbin of arm64 busybox
# applets plus arm64 bash, which L1 mounts over the shared host root's.  The
# arm64 libraries and loader come from the host's multiarch packages
# (/usr/lib/aarch64-linux-gnu, /lib/ld-linux-aarch64.so.1), so a cross-built,
# dynamically linked ebb (build/arm64/ebb) runs as it is.

KVM_MODULES=() # built in
KVM_PARAMS=''
KVM_PARAMS_RETRY=''

arch_host_tools() {
	qemu=$(command -v qemu-system-aarch64 || true)
	[ -n "$qemu" ] || lab_fail "qemu-system-aarch64 not found (install qemu-system-arm: scripts/install-deps)"
	local bb_dir
	bb_dir=$("$LAB_DIR/../../scripts/arm64-deb" busybox-static 2>>"${TMPDIR:-/tmp}/ebb-lab-arm64-deb.log") ||
		lab_fail "cannot fetch busybox-static:arm64 (scripts/arm64-deb; log: ${TMPDIR:-/tmp}/ebb-lab-arm64-deb.log)"
	busybox=$bb_dir/bin/busybox
	[ -x "$busybox" ] || lab_fail "busybox-static:arm64 has no bin/busybox ($bb_dir)"
	if [ "$(uname -m)" = aarch64 ]; then
		busybox_exec=()
		cc=cc
	else
		busybox_exec=(qemu-aarch64-static)
		command -v qemu-aarch64-static >/dev/null 2>&1 ||
			lab_fail "qemu-aarch64-static not found (install qemu-user-static: scripts/install-deps)"
		cc=aarch64-linux-gnu-gcc
		command -v "$cc" >/dev/null 2>&1 ||
			lab_fail "$cc not found (install gcc-aarch64-linux-gnu: scripts/install-deps)"
	fi
	[ -e /lib/ld-linux-aarch64.so.1 ] ||
		lab_fail "no arm64 loader /lib/ld-linux-aarch64.so.1 (install libc6:arm64: scripts/install-deps)"
}

arch_kernel_meta() { printf 'linux-image-arm64'; }
arch_kernel_flavour() { printf 'arm64'; }
arch_kernel_package() { printf 'linux-image-%s-unsigned:arm64' "$1"; }

# QEMU inflates the gzip'd vmlinuz itself, on the host: nothing to prepare.
arch_prepare_kernel() { :; }
arch_kernel_prepared() { return 0; }
arch_boot_image() { printf '%s/vmlinuz' "$1"; }

arch_cmdline() {
	printf 'console=ttyAMA0 panic=-1 mitigations=off cryptomgr.notests'
}

# pauth-impdef: QEMU's own pointer-authentication hash instead of QARMA,
# which costs much time under TCG; SVE off for the same reason.
arch_qemu_args() {
	qemu_args+=(-machine virt,virtualization=on,gic-version=3 -accel tcg,thread=multi
		-cpu max,sve=off,pauth-impdef=on)
}

arch_describe() { printf 'QEMU TCG, virt with EL2 and GICv3, cpu max'; }

# A /usr/bin and /usr/sbin for CMD in L1 (printed as one directory holding
# usr/bin and usr/sbin): every busybox applet, and bash.  Built once per
# busybox and bash version, in the cache.
arch_userland() {
	local bash_dir key dir tmp a
	bash_dir=$("$LAB_DIR/../../scripts/arm64-deb" bash 2>>"$cache_log") ||
		lab_fail "cannot fetch bash:arm64 (scripts/arm64-deb; log: $cache_log)"
	[ -e /usr/lib/aarch64-linux-gnu/libtinfo.so.6 ] || [ -e /lib/aarch64-linux-gnu/libtinfo.so.6 ] ||
		lab_fail "arm64 bash needs libtinfo6:arm64 (scripts/install-deps)"
	key=$({
		sha256sum <"$busybox"
		sha256sum <"$bash_dir/bin/bash"
		echo 1
	} | sha256sum | cut -c1-12)
	dir=$cache/userland-$key
	if [ ! -e "$dir/.done" ]; then
		tmp=$(mktemp -d "$cache/.userland.XXXXXX")
		mkdir -p "$tmp/usr/bin" "$tmp/usr/sbin"
		cp -- "$busybox" "$tmp/usr/bin/busybox"
		cp -- "$bash_dir/bin/bash" "$tmp/usr/bin/bash"
		while read -r a; do
			case $a in
			*/busybox | */bash | '') continue ;;
			sbin/* | usr/sbin/*) ln -sf ../bin/busybox "$tmp/usr/sbin/${a##*/}" ;;
			*) ln -sf busybox "$tmp/usr/bin/${a##*/}" ;;
			esac
		done < <(${busybox_exec[@]+"${busybox_exec[@]}"} "$busybox" --list-full)
		: >"$tmp/.done"
		rm -rf -- "$dir"
		mv -- "$tmp" "$dir"
	fi
	printf '%s' "$dir"
}

arch_leak_watch() { :; } # no such failure seen on arm64

arch_shutdown_watch() { :; }

arch_monitor_probe() { :; } # QEMU's monitor names no arm64 stack register
