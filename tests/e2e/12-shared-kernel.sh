#!/usr/bin/env bash
# ebb.memory.share_kernel (--share-kernel): guests booted from one ELF vmlinux
# map its pages from the file instead of copying them, and share them. Two such
# guests and a control without the flag boot side by side, touch and free
# memory under fast free page reporting and idle. Each sharing guest maps the
# vmlinux read-write private over its RAM, with pages the two share, and holds
# at least 3 MiB less anonymous memory than the control in the guest-physical
# range of the kernel's image (the whole process's anonymous memory also
# counts free blocks that reporting has or has not given back yet: 4 MiB
# either way, seen in two CIs); the control maps no vmlinux that way (the
# negative control). A bzImage, or RAM not anonymous, is refused with exit 1
# and a message that names the setting.
# lab: --mem 4096
# timeout: 600
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$VMLINUX" "$INITRD"

RUN="ebb-hog touch:64 hold:1 free; echo EBB-UP; sleep 600"

# vmlinux_kib PID FIELD : FIELD (Rss, Shared_Clean...) summed over PID's
# read-write private mappings of the vmlinux, which only a shared kernel has
# (ebb's read-only view of the file for loading is r--p).
vmlinux_kib() {
	awk -v f="$2:" '/^[0-9a-f]+-[0-9a-f]+ / { in_k = ($2 == "rw-p" && $6 ~ /vmlinux$/) }
	     in_k && $1 == f { kib += $2 } END { print kib + 0 }' "/proc/$1/smaps"
}
anon_kib() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }

# kernel_range PID: the guest-physical range (offsets into guest RAM) of
# PID's read-write mappings of the vmlinux, the kernel's loaded segments.
kernel_range() {
	local base r s e lo=-1 hi=0 perms name _
	read -r base _ <<<"$(guest_ram_range "$1")"
	while read -r r perms _ _ _ name; do
		[ "$perms" = rw-p ] && [[ $name == */vmlinux ]] || continue
		s=$((16#${r%-*} - base)) e=$((16#${r#*-} - base))
		[ "$lo" -lt 0 ] || [ "$s" -lt "$lo" ] && lo=$s
		[ "$e" -gt "$hi" ] && hi=$e
	done <"/proc/$1/maps"
	[ "$lo" -ge 0 ] || lo=0 # no such mapping: an empty range, and the checks fail
	echo "$lo $hi"
}

# kernel_anon_kib PID LO HI: PID's anonymous KiB in guest RAM from LO to HI.
kernel_anon_kib() {
	local base
	read -r base _ <<<"$(guest_ram_range "$1")"
	anon_kib_in "$1" $((base + $2)) $((base + $3))
}

declare -A PIDS
for name in shared-a shared-b control; do
	# The settled tier off: its reports land 10 to 20 s after a free, each
	# guest's at its own moment, and would blur the difference measured here.
	args=(--kernel "$VMLINUX" --initrd "$INITRD" --mem-mib 256 --balloon-reporting
		--guest-reporting fast --reporting-settled-order 11
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"$RUN\"")
	[ "$name" != control ] && args+=(--share-kernel)
	ebb_start "$name" "${args[@]}"
	PIDS[$name]=$EBB_PID
done
up=1
for name in shared-a shared-b control; do
	wait_for "$OUT/$name.out" '^EBB-UP' 240 "${PIDS[$name]}" || {
		fail "$name: the guest did not reach EBB-UP"
		up=
	}
done
if [ -n "$up" ]; then
	sleep 5 # fast reporting gives the freed 64 MiB back within a second
	declare -A ANON
	read -r k_lo k_hi <<<"$(kernel_range "${PIDS[shared-a]}")"
	log "the kernel's image: guest-physical 0x$(printf %x "$k_lo")..0x$(printf %x "$k_hi")"
	for name in shared-a shared-b control; do
		pid=${PIDS[$name]}
		ANON[$name]=$(kernel_anon_kib "$pid" "$k_lo" "$k_hi")
		log "$name: anon $(($(anon_kib "$pid") / 1024)) MiB, ${ANON[$name]} KiB of it in the kernel's image; vmlinux rw-p Rss $(vmlinux_kib "$pid" Rss) KiB, Shared_Clean $(vmlinux_kib "$pid" Shared_Clean) KiB"
	done
	for name in shared-a shared-b; do
		shared=$(vmlinux_kib "${PIDS[$name]}" Shared_Clean)
		if [ "$shared" -ge 1024 ]; then
			pass "$name: $shared KiB of the kernel's pages shared with the other guest"
		else
			fail "$name: only $shared KiB of its vmlinux mapping shared (want >= 1024)"
		fi
		saved=$((ANON[control] - ANON[$name]))
		if [ "$saved" -ge 3072 ]; then
			pass "$name: $((saved / 1024)) MiB less anonymous memory than the control in the kernel's image"
		else
			fail "$name: anon ${ANON[$name]} KiB in the kernel's image against the control's ${ANON[control]} (want 3072 KiB less)"
		fi
	done
	mapped=$(vmlinux_kib "${PIDS[control]}" Rss)
	if [ "$mapped" -eq 0 ]; then
		pass "control: without --share-kernel no vmlinux page is mapped into guest RAM"
	else
		fail "control: $mapped KiB of vmlinux mapped read-write without --share-kernel"
	fi
fi
for name in shared-a shared-b control; do
	kill -TERM "${PIDS[$name]}" 2>/dev/null || true
	wait_exit "${PIDS[$name]}" 20 || true
done

bad() {
	local what=$1 want=$2
	shift 2
	ebb_run "$what" 60 "$@"
	expect_status "$what" 1
	expect_grep "$what: the message" "$OUT/$what.err" "$want"
}
bad bad-bzimage 'share_kernel needs an uncompressed ELF vmlinux' \
	--kernel "$KERNEL" --initrd "$INITRD" --mem-mib 256 --share-kernel
bad bad-memfd 'share.kernel: the kernel.s pages map over anonymous memory only' \
	--kernel "$VMLINUX" --initrd "$INITRD" --mem-mib 256 --share-kernel --mem-backing memfd
finish
