#!/usr/bin/env bash
# Host check of tools/lab/guest-irq-frames: on a made-up guest RAM file, it
# finds an interrupt entry frame pushed with IF clear, and nothing when IF
# was set, when the return address is not an interrupt entry stub, when the
# frame is a user-mode one, or when the ip is outside kernel text; a frame
# across its 1 MiB read chunks is found too; a bad symbols file and a RAM
# file that cannot be read are errors.
#   tests/check-guest-irq-frames.sh BUILD/guest-irq-frames
set -euo pipefail
tool=${1:?usage: tests/check-guest-irq-frames.sh PATH-TO-guest-irq-frames}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0

cat >"$dir/syms" <<'EOF'
ffffffff81000000 T _text
ffffffff81000100 T update_vsyscall
ffffffff81000200 T clear_page_rep
ffffffff81000300 T asm_sysvec_apic_timer_interrupt
ffffffff81000340 T asm_common_interrupt
ffffffff81000380 T asm_exc_page_fault
ffffffff81001000 T _etext
ffffffff82000000 D tk_core
EOF

# put_word FILE OFFSET VALUE: VALUE (hex, no 0x) as 8 little-endian bytes.
put_word() {
	local hex i esc=''
	hex=$(printf '%016x' "0x$3")
	for i in 14 12 10 8 6 4 2 0; do esc+="\\x${hex:i:2}"; done
	# shellcheck disable=SC2059 # the escapes are the format
	printf "$esc" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# frame FILE OFFSET RETURN IP CS FLAGS: an entry stub's return address at
# OFFSET, the CPU's frame (ip, cs, rflags) 0x88 bytes above it.
frame() {
	put_word "$1" "$2" "$3"
	put_word "$1" $(($2 + 0x88)) "$4"
	put_word "$1" $(($2 + 0x90)) "$5"
	put_word "$1" $(($2 + 0x98)) "$6"
}

# expect NAME STATUS REGEX: runs the tool on $dir/ram.
expect() {
	local name=$1 want=$2 re=$3 out rc=0
	out=$("$tool" "$dir/syms" --ram "$dir/ram" 2>&1) || rc=$?
	if [ "$rc" = "$want" ] && grep -qE -- "$re" <<<"$out"; then
		echo "ok: $name"
	else
		echo "FAIL: $name: status $rc (want $want), output: $out"
		fails=$((fails + 1))
	fi
}

# one NAME STATUS REGEX OFFSET RETURN IP CS FLAGS: a RAM file with that one frame.
one() {
	truncate -s 0 "$dir/ram" && truncate -s 4M "$dir/ram"
	frame "$dir/ram" "$4" "$5" "$6" "$7" "$8"
	expect "$1" "$2" "$3"
}

stub=ffffffff81000316 ip=ffffffff8100011f at=$((0x1f5e10))
one "IF clear: found" 0 '^guest-irq-frames: ram\+0x1f5e10: asm_sysvec_apic_timer_interrupt entered over update_vsyscall\+0x1f with interrupts off \(rflags 0x13\)$' \
	$at $stub $ip 10 13
one "IF set: nothing" 1 '^$' $at $stub $ip 10 246
one "a page fault's frame (not an interrupt stub): nothing" 1 '^$' $at ffffffff81000396 $ip 10 13
one "user-mode cs: nothing" 1 '^$' $at $stub $ip 33 13
one "ip outside kernel text: nothing" 1 '^$' $at $stub 00007f0000001000 10 13
one "across a 1 MiB chunk: found" 0 'ram\+0xfffc0: asm_common_interrupt entered over clear_page_rep\+0x7 with interrupts off \(rflags 0x86\)$' \
	$((0x100000 - 0x40)) ffffffff81000350 ffffffff81000207 10 86

# A RAM "file" that cannot be read (a directory: EISDIR) is an error, not "none".
rc=0
out=$("$tool" "$dir/syms" --ram "$dir" 2>&1) || rc=$?
if [ "$rc" = 2 ] && grep -qE '^guest-irq-frames: ram: cannot read at \+0x0 of 0x[0-9a-f]+: Is a directory$' <<<"$out"; then
	echo "ok: an unreadable RAM file: error"
else
	echo "FAIL: an unreadable RAM file: status $rc (want 2), output: $out"
	fails=$((fails + 1))
fi

echo 'nothing here' >"$dir/syms"
expect "a symbols file without _text: error" 2 'no _text/_etext'

[ "$fails" = 0 ] || exit 1
echo "check-guest-irq-frames: all cases pass"
