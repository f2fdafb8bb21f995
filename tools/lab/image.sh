# shellcheck shell=bash
# tools/lab/image.sh: the L1 image, sourced by tools/lab/run.  Debian's L1
# kernel fetched with apt-get download, its module tree (depmod), the base
# initramfs (static busybox + the 9p and KVM modules), all cached under
# $EBB_CACHE_DIR/lab/<arch>/<ver>/; and per run, the initramfs that adds
# l1-init and kvm-hold to the cached base.
#
# Uses from run: arch, kernel, LAB_DIR, lab_fail, lab_note and the arch_*
# functions.  Sets: qemu, busybox, cc, cache, cache_log, kver, kdir, kernel.

# Bump when the cached base initramfs layout changes, to force a rebuild.
BASE_FORMAT=1
# Module groups loaded by L1's init; modprobe --show-depends orders them.
# KVM_MODULES comes from the arch file.
SHARE_MODULES=(virtio_pci 9pnet_virtio 9p)

# What the nested lab needs on the host, checked before anything is fetched.
lab_check_host() {
	arch_host_tools
	command -v cpio >/dev/null 2>&1 || lab_fail "cpio not found (install cpio: scripts/install-deps)"
	if [ -n "$kernel" ]; then
		[ -f "$kernel" ] && [ -r "$kernel" ] || lab_fail "L1 kernel not found: $kernel"
		kernel=$(realpath -e -- "$kernel")
	fi
}

lab_cache_init() {
	local home
	home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
	cache=${EBB_CACHE_DIR:-$home/.cache/ebb}/lab/$arch
	mkdir -p -- "$cache" || lab_fail "cannot create the cache directory $cache"
	cache=$(realpath -e -- "$cache")
	cache_log=$cache/fetch.log
	apt_updated=0
}

# The linux-image-<ver>-<flavour> that the arch's metapackage depends on
# today.  apt-cache takes ~1 s, so the answer is kept until the apt lists change.
resolve_kver() {
	local stamp=$cache/resolved lists=/var/lib/apt/lists v
	if [ -s "$stamp" ] && [ -d "$lists" ] &&
		[ -z "$(find "$lists" -maxdepth 1 -newer "$stamp" -print -quit 2>/dev/null)" ]; then
		kver=$(<"$stamp")
		return 0
	fi
	command -v apt-cache >/dev/null 2>&1 || return 1
	v=$(apt-cache depends "$(arch_kernel_meta)" 2>/dev/null |
		sed -n "s/^ *Depends: linux-image-\([0-9][^ :]*-$(arch_kernel_flavour)\)\(:[a-z0-9]*\)\{0,1\}\$/\1/p" | head -n 1)
	[ -n "$v" ] || return 1
	kver=$v
	printf '%s\n' "$kver" >"$stamp.tmp.$$" && mv -f -- "$stamp.tmp.$$" "$stamp"
}

apt_update_once() {
	[ "$apt_updated" = 0 ] || return 1
	apt_updated=1
	[ "$(id -u)" = 0 ] || return 1
	lab_note "refreshing apt lists (apt-get update)"
	apt-get update >>"$cache_log" 2>&1
}

kernel_ready() {
	[ -e "$cache/$1/.unpacked" ] && [ -f "$cache/$1/vmlinuz" ]
}

base_key() {  # what the base initramfs depends on besides the kernel
	printf '%s %s %s %s\n' "$BASE_FORMAT" "$(sha256sum <"$busybox" | cut -c1-16)" \
		"${SHARE_MODULES[*]}" "${KVM_MODULES[*]}"
}

# Named by a hash of its key, so checkouts with different layouts coexist
# instead of rebuilding it back and forth.
base_cpio() {
	printf '%s/%s/base-%s.cpio' "$cache" "$1" "$(base_key | sha256sum | cut -c1-12)"
}

base_ready() {
	[ -f "$(base_cpio "$1")" ]
}

# Download and unpack the L1 kernel package of version $1 into $cache/<ver>.
fetch_kernel() {
	local v=$1 pkg tmp deb mods
	local apt_opts=()
	pkg=$(arch_kernel_package "$v")
	if [ "$(id -u)" = 0 ]; then apt_opts=(-o APT::Sandbox::User=root); fi
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	lab_note "fetching the L1 kernel $pkg (once per kernel version; cache: $cache)"
	if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download "$pkg") >>"$cache_log" 2>&1; then
		rm -rf -- "$tmp"
		return 1
	fi
	deb=$(find "$tmp" -maxdepth 1 -name '*.deb' -print -quit)
	dpkg -x "$deb" "$tmp/root" >>"$cache_log" 2>&1 || {
		rm -rf -- "$tmp"
		lab_fail "cannot unpack $deb (log: $cache_log)"
	}
	mods=$tmp/root/lib/modules/$v
	[ -d "$mods" ] || mods=$tmp/root/usr/lib/modules/$v
	[ -f "$tmp/root/boot/vmlinuz-$v" ] && [ -d "$mods" ] || {
		rm -rf -- "$tmp"
		lab_fail "$pkg has no boot/vmlinuz-$v or modules (log: $cache_log)"
	}
	mkdir -p "$tmp/k/lib/modules"
	mv -- "$tmp/root/boot/vmlinuz-$v" "$tmp/k/vmlinuz"
	mv -- "$tmp/root/boot/config-$v" "$tmp/k/config" 2>/dev/null || true
	mv -- "$mods" "$tmp/k/lib/modules/$v"
	command -v depmod >/dev/null 2>&1 || {
		rm -rf -- "$tmp"
		lab_fail "depmod not found (install kmod: scripts/install-deps)"
	}
	depmod -b "$tmp/k" "$v" >>"$cache_log" 2>&1 || {
		rm -rf -- "$tmp"
		lab_fail "depmod -b failed for $v (log: $cache_log)"
	}
	: >"$tmp/k/.unpacked"
	rm -rf -- "${cache:?}/$v"
	mv -- "$tmp/k" "$cache/$v"
	rm -rf -- "$tmp"
	prune_kernels "$v"
}

# A new kernel replaces the old ones (~470 MB each), unless a run used them in
# the last day: one that started before apt's lists changed may still boot it.
prune_kernels() {
	local d
	for d in "$cache"/*/; do
		d=${d%/}
		[ "${d##*/}" != "$1" ] && [ -e "$d/.unpacked" ] || continue
		if [ -z "$(find "$d/.unpacked" -mmin -1440 2>/dev/null)" ]; then
			lab_note "removing the old L1 kernel ${d##*/} from the cache"
			rm -rf -- "$d"
		fi
	done
}

# The base initramfs: static busybox, the 9p + KVM modules in load order, and
# an /init that hands over to busybox init (which runs /lab/stage2, added per run).
build_base() {
	local v=$1 kdir=$cache/$1 st m line path rel out
	local -A seen=()
	lab_note "building the L1 initramfs for $v (once per kernel/busybox; cache: $kdir)"
	st=$(mktemp -d "$kdir/.base.XXXXXX")
	mkdir -p "$st"/{bin,dev,proc,sys,tmp,out,host,lab,etc,lib/modules}
	cp -- "$busybox" "$st/bin/busybox"
	for m in $(${busybox_exec[@]+"${busybox_exec[@]}"} "$busybox" --list); do
		[ "$m" = busybox ] || ln -s busybox "$st/bin/$m"
	done
	cat >"$st/init" <<'EOF'
#!/bin/busybox sh
# devtmpfs first: the console and the init applet need /dev.
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1
exec /bin/busybox init
EOF
	chmod 755 "$st/init"
	printf '::sysinit:/bin/sh /lab/stage2\n' >"$st/etc/inittab"
	for group in share kvm; do
		local -n mods="${group^^}_MODULES"
		: >"$st/lib/modules/$group.list"
		for m in "${mods[@]}"; do
			modprobe -d "$kdir" -S "$v" --show-depends "$m" >"$st/deps" 2>>"$cache_log" || {
				rm -rf -- "$st"
				lab_fail "module $m not found for L1 kernel $v (log: $cache_log)"
			}
			while read -r line; do
				[[ $line == insmod\ * ]] || continue # "builtin X" needs nothing
				path=${line#insmod }
				path=${path%% }
				rel=${path#"$kdir/lib/modules/"}
				[ -z "${seen[$rel]:-}" ] || continue
				seen[$rel]=1
				mkdir -p "$st/lib/modules/${rel%/*}"
				cp -- "$path" "$st/lib/modules/$rel"
				printf '%s\n' "$rel" >>"$st/lib/modules/$group.list"
			done <"$st/deps"
		done
		unset -n mods
	done
	rm -f -- "$st/deps"
	out=$(base_cpio "$v")
	(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp" || {
		rm -rf -- "$st"
		lab_fail "cpio failed building the L1 initramfs in $kdir"
	}
	mv -f -- "$out.tmp" "$out"
	rm -rf -- "$st"
}

# The kernel, its modules and the base initramfs in the cache, fetched or
# built under a lock when missing; sets kver, kdir and (unless --kernel) kernel.
lab_prepare_image() {
	lab_cache_init
	resolve_kver || { apt_update_once && resolve_kver; } || {
		# Offline or no apt: fall back to the newest kernel already cached.
		kver=$(find "$cache" -mindepth 2 -maxdepth 2 -name .unpacked -printf '%h\n' 2>/dev/null |
			xargs -r -n1 basename | sort -V | tail -n 1)
		[ -n "$kver" ] || lab_fail "cannot resolve the L1 kernel: apt-cache knows no $(arch_kernel_meta) (run apt-get update)"
		lab_note "apt cannot resolve $(arch_kernel_meta); using the cached L1 kernel $kver"
	}
	if ! { kernel_ready "$kver" && arch_kernel_prepared "$kver" && base_ready "$kver"; }; then
		local lockfd
		exec {lockfd}>"$cache/.lock"
		if ! flock -n "$lockfd"; then
			lab_note "waiting for another lab run to finish preparing $cache"
			flock -w 1800 "$lockfd" || lab_fail "timed out waiting for the cache lock $cache/.lock"
		fi
		if ! kernel_ready "$kver"; then
			if ! fetch_kernel "$kver"; then
				# Stale lists name a version the mirror no longer has: refresh once.
				apt_update_once && resolve_kver || true
				kernel_ready "$kver" || fetch_kernel "$kver" ||
					lab_fail "cannot download $(arch_kernel_package "$kver"): $(grep -E '^(E|W):' "$cache_log" | tail -n 1) (log: $cache_log)"
			fi
		fi
		arch_kernel_prepared "$kver" || arch_prepare_kernel "$kver"
		base_ready "$kver" || build_base "$kver"
		exec {lockfd}>&-
	fi
	kdir=$cache/$kver
	touch -- "$kdir/.unpacked" 2>/dev/null || true # "in use" stamp for prune_kernels
	if [ -z "$kernel" ]; then kernel=$(arch_boot_image "$kdir"); fi
}

# This run's initramfs in $run_dir/initrd: the cached base plus a tiny cpio
# with this runner's stage 2 (so editing l1-init never needs a cache rebuild)
# and kvm-hold (kvm-hold.c says why), built static once per source version.
lab_run_initrd() {
	local hold
	mkdir -p "$run_dir/overlay/lab"
	cp -- "$LAB_DIR/l1-init" "$run_dir/overlay/lab/stage2"
	hold=$cache/kvm-hold-$(sha256sum <"$LAB_DIR/kvm-hold.c" | cut -c1-12)
	if [ ! -x "$hold" ]; then
		"$cc" -static -O2 -o "$hold.$$" "$LAB_DIR/kvm-hold.c" 2>>"$cache_log" && mv -f -- "$hold.$$" "$hold" ||
			lab_fail "could not build $LAB_DIR/kvm-hold.c with $cc -static (log: $cache_log; scripts/install-deps installs build-essential)"
	fi
	cp -- "$hold" "$run_dir/overlay/lab/kvm-hold"
	(cd "$run_dir/overlay" && find . | cpio -o -H newc -R 0:0 --quiet) >"$run_dir/overlay.cpio" ||
		lab_fail "cpio failed building the per-run initramfs"
	cat -- "$(base_cpio "$kver")" "$run_dir/overlay.cpio" >"$run_dir/initrd"
	rm -rf -- "$run_dir/overlay" "$run_dir/overlay.cpio"
}
