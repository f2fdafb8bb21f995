#!/usr/bin/env bash
# [2/8] Bad input: each case exits 1 with one line naming the problem, and
# no VM is created (nothing reaches the guest console). Every case is its own
# negative control: the same command without the fault boots (10-boot).
# timeout: 600
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$INITRD"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"; cleanup_started' EXIT

# bad NAME REGEX ARGS... : ebb must exit 1 with exactly one stderr line matching REGEX.
bad() {
	local name=$1 regex=$2
	shift 2
	ebb_run "$name" 60 "$@"
	local lines
	lines=$(wc -l <"$OUT/$name.err")
	if [ "$EBB_STATUS" != 1 ]; then
		fail "$name: exit status $EBB_STATUS, want 1"
	elif [ "$lines" != 1 ]; then
		fail "$name: $lines lines on stderr, want exactly one"
		sed 's/^/    | /' "$OUT/$name.err" >&2
	elif ! grep -qE -- "$regex" "$OUT/$name.err"; then
		fail "$name: message does not match '$regex': $(cat "$OUT/$name.err")"
	elif [ -s "$OUT/$name.out" ]; then
		fail "$name: something reached the guest console"
	else
		pass "$name: $(sed 's/^.*\] error //' "$OUT/$name.err")"
	fi
}

boot=(--initrd "$INITRD" --mem-mib 128)

bad missing-kernel "kernel /nonexistent/bzImage: No such file or directory" \
	--kernel /nonexistent/bzImage "${boot[@]}"
bad directory-kernel "kernel /etc: not a regular file" --kernel /etc "${boot[@]}"

head -c 65536 /dev/urandom >"$scratch/random.bin"
bad non-kernel "not a Linux kernel" --kernel "$scratch/random.bin" "${boot[@]}"
bad tiny-kernel "too small to be a kernel" --kernel /etc/hostname "${boot[@]}"
bad non-x86-elf "not an executable|not for x86_64" --kernel /bin/true "${boot[@]}"

cp "$KERNEL" "$scratch/unreadable"
chmod 000 "$scratch/unreadable"
chmod 755 "$scratch"
ebb_abs=$(readlink -f "$EBB")
# Root reads anything, so the unreadable case runs as nobody.
name=unreadable-kernel
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups "$ebb_abs" --kernel "$scratch/unreadable" \
	--mem-mib 128 >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null
EBB_STATUS=$?
set -e
if [ "$EBB_STATUS" = 1 ] && grep -q "Permission denied" "$OUT/$name.err" &&
	[ "$(wc -l <"$OUT/$name.err")" = 1 ]; then
	pass "$name: $(sed 's/^.*\] error //' "$OUT/$name.err")"
else
	fail "$name: status $EBB_STATUS, stderr: $(cat "$OUT/$name.err")"
fi

truncate -s 150M "$scratch/huge-initrd"
bad initrd-too-big "initrd .* does not fit in 128 MiB" --kernel "$KERNEL" \
	--initrd "$scratch/huge-initrd" --mem-mib 128
bad missing-initrd "initrd /nonexistent: No such file" --kernel "$KERNEL" \
	--initrd /nonexistent --mem-mib 128

bad mem-zero "--mem-mib: must be at least 1, got 0" --kernel "$KERNEL" --mem-mib 0
bad mem-too-small "too small for kernel" --kernel "$KERNEL" --mem-mib 8
bad mem-unmappable "cannot map 100000000 MiB of guest RAM" --kernel "$KERNEL" \
	--mem-mib 100000000
bad mem-not-a-number "--mem-mib: 'lots' is not" --kernel "$KERNEL" --mem-mib lots

bad vcpus-zero "--vcpus: must be 1..32, got 0" --kernel "$KERNEL" --vcpus 0
# The same limit as machine-config.vcpu_count: the flag goes through the config's schema.
bad vcpus-too-many "--vcpus: must be 1..32, got 5000" --kernel "$KERNEL" --vcpus 5000

long=$(printf 'x%.0s' $(seq 1 3000))
bad cmdline-too-long "kernel command line is [0-9]+ bytes; kernel .* accepts at most 2047" \
	--kernel "$KERNEL" --cmdline "console=ttyS0 $long"

bad balloon-over-ram "--balloon-target-mib: 256 MiB is more than the guest's 128 MiB" \
	--kernel "$KERNEL" --mem-mib 128 --balloon-target-mib 256
# A hugetlbfs pool too small for guest RAM: the mapping fails, and says what it needs.
echo 16 >/proc/sys/vm/nr_hugepages
bad short-hugetlbfs-pool "cannot map 128 MiB of guest RAM \(hugetlbfs\).*needs 64 free 2 MiB pages" \
	--kernel "$KERNEL" --initrd "$INITRD" --mem-mib 128 --mem-backing hugetlbfs
echo 0 >/proc/sys/vm/nr_hugepages

bad unknown-flag "unknown option '--frobnicate'" --kernel "$KERNEL" --frobnicate
bad bad-backing '--mem-backing: must be one of "anon", "memfd", "hugetlbfs", got "tmpfs"' \
	--kernel "$KERNEL" --mem-backing tmpfs

finish
