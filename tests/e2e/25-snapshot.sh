#!/usr/bin/env bash
# [8/8] Snapshots (docs/snapshot.md). A 512 MiB, 2-vCPU guest booted from a
# root drive counts on its console; it touches and frees 300 MiB, is paused
# and snapshotted (Full), and a new ebb restores it with --restore: the count
# goes on from where it stopped (a fresh boot would start at 1), the console
# answers with the file written before the snapshot, and the balloon still
# reports (RSS rises on a 100 MiB touch and falls after the free). A Diff of
# that restore, written into a copy of the memory file, restores too (its
# count is past the Diff's, not the Full's), and that guest shuts down with a
# clean file system. Sizes: the memory file's blocks are at most 1.5x ebb's
# RSS at snapshot time and far below 512 MiB; with free page hinting on a
# 256 MiB guest without reporting, a snapshot after a free is 100+ MiB
# smaller than the same snapshot without the hinting run, which holds the
# freed memory (controls: that one, and a snapshot while 150 MiB are held).
# Clones: 8 restores of one snapshot in a cgroup use at most 2x the memory
# of one (control: one clone touching 64 MiB shows in memory.current). Bad
# input: truncated, corrupted, other architecture, other version, wrong
# memory file size, VM flags with --restore, create on a running VM, load
# into a running VM and after configuration: each a clear error, no file
# changed.
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
ROOTFS=${ROOTFS:-build/guest/rootfs.ext4}
require_files "$EBB" "$KERNEL" "$INITRD" "$ROOTFS"
for tool in curl jq e2fsck; do
	command -v $tool >/dev/null || die "$tool is missing (scripts/install-deps installs it)"
done

# Snapshot files on the lab's tmpfs: a memory file is mapped MAP_PRIVATE, which
# 9p (the repo's share) cannot do. Sockets cannot live on 9p either.
SNAP=$(mktemp -d)
CG=/sys/fs/cgroup/ebb-e2e-snapshot
trap 'cleanup_started; [ -d "$CG" ] && rmdir "$CG" 2>/dev/null; rm -rf "$SNAP"' EXIT
ROOT_IMG=$SNAP/root.ext4 # on tmpfs: copies and the guest's writes stay off 9p
cp --sparse=always "$ROOTFS" "$ROOT_IMG"
TOKEN=$RANDOM$RANDOM
MIB=1024

# The guest counts once a second on its console and gives the console a shell.
# shellcheck disable=SC2016 # expanded by the guest's shell
COUNTER='(i=0; while :; do i=$((i+1)); echo EBB-COUNT $i; sleep 1; done) &'
boot_args() { echo "$BOOT_ARGS_BASE ebb.shell=1 ebb.run=\"$COUNTER\""; }

# ---- helpers ----

declare -A CON # NAME -> the fd of its console FIFO (we keep it open for writing)

# vm NAME ARGS... : ebb in the background, its console on a FIFO (console NAME)
vm() {
	local name=$1 fd
	shift
	mkfifo "$SNAP/$name.con"
	exec {fd}<>"$SNAP/$name.con"
	CON[$name]=$fd
	"$EBB" "$@" <"$SNAP/$name.con" >"$OUT/$name.out" 2>"$OUT/$name.err" &
	EBB_PID=$!
	STARTED_PIDS+=("$EBB_PID")
}

# run NAME TAG CMD PID [TIMEOUT] : types CMD into the guest's shell, then a line
# printing EBB-DONE-TAG, and waits for that (the typed line reads EBB-DONE-""TAG,
# so it cannot match).
run() {
	local name=$1 tag=$2 cmd=$3 pid=$4
	printf '%s\necho EBB-DONE-""%s\n' "$cmd" "$tag" >&"${CON[$name]}"
	wait_for "$OUT/$name.out" "EBB-DONE-$tag" "${5:-120}" "$pid"
}

# A pause can stop the guest in the middle of a line ("EBB-COUNT 1" of 17):
# only lines the console finished count.
last_count() {
	local f=$OUT/$1.out
	if [ -n "$(tail -c 1 "$f")" ]; then sed '$d' "$f"; else cat "$f"; fi |
		grep -ao 'EBB-COUNT [0-9]*' | tail -n 1 | cut -d' ' -f2
}
first_count() { grep -ao 'EBB-COUNT [0-9]*' "$OUT/$1.out" | head -n 1 | cut -d' ' -f2; }
blocks_mib() { echo $(($(stat -c %b "$1") * 512 >> 20)); }
rss_mib() { read_rss "$1" && echo $((RSS_KIB / MIB)); }

# snap SOCK TYPE STATE MEM : pause, create, (no resume)
snap() {
	SOCK=$1
	api PATCH /vm '{"state": "Paused"}'
	[ "$CODE" = 204 ] || return 1
	api PUT /snapshot/create "{\"snapshot_type\": \"$2\", \"snapshot_path\": \"$3\", \"mem_file_path\": \"$4\"}"
	[ "$CODE" = 204 ] || { log "snapshot/create: $CODE $BODY_OUT"; return 1; }
}
resume() {
	SOCK=$1
	api PATCH /vm '{"state": "Resumed"}'
}

# expect_le WHAT A B : A <= B
expect_le() {
	if [ "$2" -le "$3" ]; then pass "$1 ($2 <= $3)"; else fail "$1 ($2 > $3)"; fi
}

# ===== A: a guest on a root drive, with reporting and hinting =====

jq -n --arg k "$KERNEL" --arg args "$(boot_args)" --arg root "$ROOT_IMG" '{
  "boot-source": {kernel_image_path: $k, boot_args: $args},
  "machine-config": {vcpu_count: 2, mem_size_mib: 512},
  balloon: {amount_mib: 0, deflate_on_oom: false, free_page_reporting: true,
            free_page_hinting: true},
  drives: [{drive_id: "rootfs", path_on_host: $root, is_root_device: true}]
}' >"$OUT/a.json"
log "A: boot from the root drive, 512 MiB, 2 vCPUs"
vm a --config-file "$OUT/a.json" --api-sock "$SNAP/a.sock"
A=$EBB_PID
wait_for "$OUT/a.out" 'starting a shell' 300 $A || die "A did not boot"
wait_for "$OUT/a.out" 'EBB-COUNT 3' 60 $A || die "A does not count"

# Bad input on a running VM: nothing is created or changed.
echo keep-me >"$SNAP/existing.state"
echo keep-me >"$SNAP/existing.mem"
SOCK=$SNAP/a.sock
expect_api "create on a running VM" 400 PUT /snapshot/create \
	"{\"snapshot_path\": \"$SNAP/existing.state\", \"mem_file_path\": \"$SNAP/existing.mem\"}"
expect_grep "create on a running VM: says why" "$OUT/resp" 'pause it first'
expect_api "load into a running VM" 400 PUT /snapshot/load \
	"{\"snapshot_path\": \"$SNAP/existing.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$SNAP/existing.mem\"}}"
if [ "$(cat "$SNAP/existing.state" "$SNAP/existing.mem")" = "$(printf 'keep-me\nkeep-me')" ]; then
	pass "refused requests wrote nothing"
else
	fail "a refused request changed or created files"
fi

run a WROTE "echo snapshot-$TOKEN >/root/marker && sync" $A || die "A: no shell"
run a HOG "ebb-hog touch:300 hold:100000 &" $A || die "A: no shell"
wait_for "$OUT/a.out" 'EBB-HOG touched mib=300' 180 $A || die "A: the hog did not touch"

run a FREED 'kill $!; sleep 1' $A || fail "A: could not free"
# Reporting gives the 300 MiB back: wait for RSS to settle below 250 MiB.
for _ in $(seq 60); do
	kill -0 "$A" 2>/dev/null || die "A: ebb exited ($(exit_status_of "$A")) while its guest gave the hog's memory back"
	[ "$(rss_mib "$A")" -lt 250 ] && break
	sleep 0.5
done
SOCK=$SNAP/a.sock
api PATCH /vm '{"state": "Paused"}'
api GET /
if [[ $BODY_OUT == *'"Paused"'* ]]; then pass "paused: GET / says so"; else fail "paused: GET / says $BODY_OUT"; fi
RSS_A=$(rss_mib $A)
N1=$(last_count a)
snap "$SNAP/a.sock" Full "$SNAP/s1.state" "$SNAP/s1.mem" || die "A: Full snapshot failed"
cp --sparse=always "$ROOT_IMG" "$SNAP/root-at-s1.ext4" # the drive as the snapshot knows it
S1_MIB=$(blocks_mib "$SNAP/s1.mem")
sleep 2
if [ "$(last_count a)" = "$N1" ]; then pass "paused: the count stopped at $N1"; else fail "paused: the count went on ($N1 -> $(last_count a))"; fi
log "A: RSS $RSS_A MiB at snapshot time; memory file $S1_MIB MiB allocated of $(($(stat -c %s "$SNAP/s1.mem") >> 20)) MiB"
expect_le "size: memory file <= 1.5x RSS" $((S1_MIB * 2)) $((RSS_A * 3))
expect_le "size: memory file far below 512 MiB" "$S1_MIB" 200
expect_api "Diff without dirty tracking" 400 PUT /snapshot/create \
	"{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$SNAP/d.state\", \"mem_file_path\": \"$SNAP/d.mem\"}"
kill -KILL $A
wait $A 2>/dev/null || true
log "A: gone"
cp --sparse=always "$SNAP/root-at-s1.ext4" "$ROOT_IMG"

# ===== R: A restored by a new process =====

# What the snapshot's files are: restores map them, refusals read them; none may change them.
files_id() { stat -c '%n %s %b %Y %Z' "$SNAP/s1.state" "$SNAP/s1.mem"; }
S1_ID=$(files_id)
log "R: restore A's Full snapshot (--restore, dirty tracking for a Diff)"
vm r --restore "$SNAP/s1.state" --api-sock "$SNAP/r.sock" --track-dirty-pages
R=$EBB_PID
wait_for "$OUT/r.out" 'EBB-COUNT' 60 $R || die "R: no count after the restore"
F=$(first_count r)
if [ "$F" -ge "$N1" ] && [ "$F" -le $((N1 + 3)) ]; then
	pass "restore: the count goes on from $N1 (first after restore: $F)"
else
	fail "restore: first count $F, stopped at $N1 (a fresh boot starts at 1)"
fi
expect_grep "restore: logged" "$OUT/r.err" "restored .*s1.state"
if run r READ "echo EBB-FILE \$(cat /root/marker)" $R 60; then pass "restore: the console answers"; else fail "restore: the console is dead"; fi
expect_grep "restore: the file written before the snapshot is there" "$OUT/r.out" "EBB-FILE snapshot-$TOKEN"
sleep 1
BEFORE=$(rss_mib $R)
printf 'ebb-hog touch:100 hold:3\n' >&"${CON[r]}"
wait_for "$OUT/r.out" 'EBB-HOG touched mib=100' 180 $R || fail "R: touch"
PEAK=$(rss_mib $R)
wait_for "$OUT/r.out" 'EBB-HOG held' 60 $R || fail "R: hold"
LOW=$PEAK
for _ in $(seq 60); do
	LOW=$(rss_mib $R)
	[ "$LOW" -lt $((BEFORE + 32)) ] && break
	sleep 0.5
done
log "R: RSS $BEFORE MiB -> $PEAK MiB touching 100 MiB -> $LOW MiB after the free"
expect_le "restore: the touch shows in RSS" $((BEFORE + 80)) "$PEAK"
expect_le "restore: the balloon still reports (RSS falls back)" "$LOW" $((BEFORE + 32))
# Diff into a copy of the Full's memory file, and into an empty one (only what changed).
cp --sparse=always "$SNAP/s1.mem" "$SNAP/d.mem"
snap "$SNAP/r.sock" Diff "$SNAP/d.state" "$SNAP/d.mem" || fail "R: Diff"
expect_api "R: create over the memory file it runs from" 400 PUT /snapshot/create \
	"{\"snapshot_path\": \"$SNAP/x.state\", \"mem_file_path\": \"$SNAP/s1.mem\"}"
expect_grep "R: says why" "$OUT/resp" 'the memory file this microVM runs from'
log "R: Diff into the copy: $(grep -a 'snapshot (Diff)' "$OUT/r.err" | tail -n 1 | sed 's/.*: //')"
N2=$(last_count r)
api PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$SNAP/d2.state\", \"mem_file_path\": \"$SNAP/d2.mem\"}"
log "R: Diff at count $N2; a second Diff into an empty file: $(blocks_mib "$SNAP/d2.mem") MiB (the Full: $S1_MIB MiB)"
expect_le "Diff: only what changed since the last snapshot" "$(blocks_mib "$SNAP/d2.mem")" $((S1_MIB / 2))
rm -f "$SNAP/d2.mem" "$SNAP/d2.state"
kill -KILL $R
wait $R 2>/dev/null || true

log "C: restore the Diff"
vm c --restore "$SNAP/d.state" --restore-mem "$SNAP/d.mem"
C=$EBB_PID
wait_for "$OUT/c.out" 'EBB-COUNT' 60 $C || fail "C: no count"
F=$(first_count c)
if [ -n "$F" ] && [ "$F" -ge "$N2" ] && [ "$N2" -gt $((N1 + 5)) ]; then
	pass "Diff restore: the count goes on from the Diff's $N2 (Full's: $N1), first $F"
else
	fail "Diff restore: first count '$F', Diff at $N2, Full at $N1"
fi
run c READ2 "echo EBB-FILE2 \$(cat /root/marker)" $C 60 || true
expect_grep "Diff restore: the file is there" "$OUT/c.out" "EBB-FILE2 snapshot-$TOKEN"
printf 'exit\n' >&"${CON[c]}"
wait_exit $C 120 || true
if [ "$EXIT_STATUS" = 0 ]; then pass "C: the guest shut down cleanly (exit 0)"; else fail "C: exit $EXIT_STATUS"; fi
if e2fsck -fn "$ROOT_IMG" >"$OUT/fsck.log" 2>&1; then
	pass "after restores: e2fsck finds the root file system clean"
else
	fail "e2fsck: $(tail -n 3 "$OUT/fsck.log" | tr '\n' ' ')"
fi
rm -f "$SNAP/d.mem" "$SNAP/root-at-s1.ext4"

# ===== B: free page hinting without reporting, and the clones' snapshot =====

jq -n --arg k "$KERNEL" --arg i "$INITRD" --arg args "$(boot_args)" '{
  "boot-source": {kernel_image_path: $k, initrd_path: $i, boot_args: $args},
  "machine-config": {vcpu_count: 1, mem_size_mib: 256},
  balloon: {amount_mib: 0, deflate_on_oom: false, free_page_hinting: true}
}' >"$OUT/b.json"
log "B: 256 MiB, hinting, no reporting"
vm b --config-file "$OUT/b.json" --api-sock "$SNAP/b.sock"
B=$EBB_PID
wait_for "$OUT/b.out" 'starting a shell' 300 $B || die "B did not boot"
wait_for "$OUT/b.out" 'EBB-COUNT 2' 60 $B || die "B does not count"
run b HOG "ebb-hog touch:150 hold:100000 &" $B || die "B: no shell"
wait_for "$OUT/b.out" 'EBB-HOG touched mib=150' 120 $B || die "B: the hog did not touch"
snap "$SNAP/b.sock" Full "$SNAP/b0.state" "$SNAP/b0.mem" || die "B: snapshot while held"
resume "$SNAP/b.sock"
expect_le "control: a snapshot with 150 MiB held holds them" 150 "$(blocks_mib "$SNAP/b0.mem")"
run b FREED 'kill $!; sleep 1' $B || fail "B: could not free"
snap "$SNAP/b.sock" Full "$SNAP/bf.state" "$SNAP/bf.mem" || fail "B: snapshot after the free"
resume "$SNAP/b.sock"
SOCK=$SNAP/b.sock
expect_api "hinting: start (the body is optional)" 204 PATCH /balloon/hinting/start
for _ in $(seq 100); do
	api GET /balloon/hinting/status
	[ "$(jq -r '.guest_cmd // empty' <<<"$BODY_OUT")" = 0 ] && break
	sleep 0.2
done
if [ "$(jq -c . <<<"$BODY_OUT")" = '{"host_cmd":1,"guest_cmd":0}' ]; then
	pass "hinting: the guest finished its run and the host said DONE ($BODY_OUT)"
else
	fail "hinting: status $BODY_OUT"
fi
snap "$SNAP/b.sock" Full "$SNAP/b1.state" "$SNAP/b1.mem" || fail "B: hinted snapshot"
BF_MIB=$(blocks_mib "$SNAP/bf.mem")
B1_MIB=$(blocks_mib "$SNAP/b1.mem")
log "B: after freeing 150 MiB with no reporting: $BF_MIB MiB; after a hinting run: $B1_MIB MiB ($(grep -a 'snapshot (Full)' "$OUT/b.err" | tail -n 1 | sed 's/.*written//'))"
expect_le "control: without hinting the freed memory is in the file" 150 "$BF_MIB"
expect_le "hinting: 100+ MiB fewer" $((B1_MIB + 100)) "$BF_MIB"
kill -KILL $B
wait $B 2>/dev/null || true
rm -f "$SNAP/bf.mem" "$SNAP/bf.state"

log "restore of the hinted snapshot: the guest runs on"
vm bh --restore "$SNAP/b1.state"
BH=$EBB_PID
wait_for "$OUT/bh.out" 'EBB-COUNT' 60 $BH || fail "hinted restore: no count"
if run bh HOG2 "ebb-hog touch:150 hold:1 free" $BH 120; then
	pass "hinted restore: the hinted memory is usable"
else
	fail "hinted restore: touching the hinted memory failed"
fi
kill -KILL $BH
wait $BH 2>/dev/null || true

# ===== clones: 8 restores of B's snapshot (150 MiB held) in a cgroup =====

echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
mkdir -p "$CG"
# The memory file's pages are charged to the clones' cgroup: a copy made from inside it.
(echo $BASHPID >"$CG/cgroup.procs" && exec cp --sparse=always "$SNAP/b0.mem" "$SNAP/clone.mem")
M0=$(($(cat "$CG/memory.current") >> 20))
clone() { # NAME: clone-1 has a console FIFO, the others /dev/null
	local name=$1 fd in=/dev/null
	if [ "$name" = clone-1 ]; then
		in=$SNAP/$name.con
		mkfifo "$in"
		exec {fd}<>"$in"
		CON[$name]=$fd
	fi
	(echo $BASHPID >"$CG/cgroup.procs" &&
		exec "$EBB" --restore "$SNAP/b0.state" --restore-mem "$SNAP/clone.mem" \
			<"$in" >"$OUT/$name.out" 2>"$OUT/$name.err") &
	EBB_PID=$!
	STARTED_PIDS+=("$EBB_PID")
}
settle() { # waits for each clone's next count, then 3 s more
	local pid name
	for name in "$@"; do
		pid=${CLONE_PID[$name]}
		wait_for "$OUT/$name.out" 'EBB-COUNT' 60 "$pid" || fail "$name: no count"
	done
	sleep 3
}
declare -A CLONE_PID
clone clone-1
CLONE_PID[clone-1]=$EBB_PID
settle clone-1
M1=$(($(cat "$CG/memory.current") >> 20))
for n in 2 3 4 5 6 7 8; do
	clone clone-$n
	CLONE_PID[clone-$n]=$EBB_PID
done
settle clone-2 clone-3 clone-4 clone-5 clone-6 clone-7 clone-8
M8=$(($(cat "$CG/memory.current") >> 20))
log "clones: cgroup $M0 MiB with the memory file alone, $M1 MiB with one restore, $M8 MiB with eight ($(((M8 - M1) / 7)) MiB more per clone)"
expect_le "clones: 8 restores use at most 2x one" "$M8" $((2 * M1))
run clone-1 CTOUCH "ebb-hog touch:64 hold:100000 &" "${CLONE_PID[clone-1]}" || true
wait_for "$OUT/clone-1.out" 'EBB-HOG touched mib=64' 120 "${CLONE_PID[clone-1]}" || fail "clone-1: touch"
M9=$(($(cat "$CG/memory.current") >> 20))
expect_le "control: a clone's own 64 MiB show in memory.current ($M8 -> $M9 MiB)" $((M8 + 48)) "$M9"
for n in 1 2 3 4 5 6 7 8; do kill -KILL "${CLONE_PID[clone-$n]}" 2>/dev/null || true; done
for n in 1 2 3 4 5 6 7 8; do wait "${CLONE_PID[clone-$n]}" 2>/dev/null || true; done
rm -f "$SNAP/clone.mem"

# ===== bad input =====

# The refusals run at once (each is an ebb that starts and exits); checked after.
declare -A BAD_WANT BAD_PID
bad() { # NAME WANT_REGEX ARGS...
	local name=$1
	BAD_WANT[$name]=$2
	shift 2
	timeout -k 5 30 "$EBB" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
	BAD_PID[$name]=$!
	STARTED_PIDS+=("$!")
}
bad_check() { # NAME
	local name=$1
	EBB_STATUS=0
	wait "${BAD_PID[$name]}" || EBB_STATUS=$?
	expect_status "$name" 1
	expect_grep "$name: says why" "$OUT/$name.err" "${BAD_WANT[$name]}"
	if grep -aq 'EBB-COUNT' "$OUT/$name.out"; then fail "$name: a guest ran"; fi
}
head -c 3000 "$SNAP/s1.state" >"$SNAP/trunc.state"
cp "$SNAP/s1.state" "$SNAP/flip.state"
printf '\xa5' | dd of="$SNAP/flip.state" bs=1 seek=3000 conv=notrunc status=none
cp "$SNAP/s1.state" "$SNAP/arch.state"
printf 'aarch64\0\0\0\0\0\0\0\0\0' | dd of="$SNAP/arch.state" bs=1 seek=16 conv=notrunc status=none
cp "$SNAP/s1.state" "$SNAP/version.state"
printf '\x07' | dd of="$SNAP/version.state" bs=1 seek=8 conv=notrunc status=none
truncate -s 256M "$SNAP/small.mem"
bad bad-truncated 'truncated' --restore "$SNAP/trunc.state" --restore-mem "$SNAP/s1.mem"
bad bad-corrupted 'checksum' --restore "$SNAP/flip.state" --restore-mem "$SNAP/s1.mem"
bad bad-arch 'made on aarch64; this ebb runs x86_64' --restore "$SNAP/arch.state"
bad bad-version 'format version 7' --restore "$SNAP/version.state"
bad bad-mem-size "memory file .*small.mem: 268435456 bytes, but the snapshot's RAM is" \
	--restore "$SNAP/s1.state" --restore-mem "$SNAP/small.mem"
bad bad-with-vm-flags 'restore takes the VM from the snapshot' --restore "$SNAP/s1.state" --mem-mib 64
for name in bad-truncated bad-corrupted bad-arch bad-version bad-mem-size bad-with-vm-flags; do
	bad_check "$name"
done

log "API: snapshot/load"
vm e --api-sock "$SNAP/e.sock"
E=$EBB_PID
SOCK=$SNAP/e.sock
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
expect_api "load: a truncated file" 400 PUT /snapshot/load \
	"{\"snapshot_path\": \"$SNAP/trunc.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$SNAP/s1.mem\"}}"
expect_api "load after a failed load, paused" 204 PUT /snapshot/load \
	"{\"snapshot_path\": \"$SNAP/b0.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$SNAP/b0.mem\"}}"
api GET /
if [[ $BODY_OUT == *'"Paused"'* ]]; then pass "load: paused (resume_vm false)"; else fail "load: GET / $BODY_OUT"; fi
sleep 1
if grep -aq 'EBB-COUNT' "$OUT/e.out"; then fail "load: a paused VM ran"; fi
expect_api "resume" 204 PATCH /vm '{"state": "Resumed"}'
if wait_for "$OUT/e.out" 'EBB-COUNT' 60 $E; then pass "load: resumed, it counts"; else fail "load: no count after resume"; fi
kill -KILL $E
wait $E 2>/dev/null || true

vm f --api-sock "$SNAP/f.sock"
F_PID=$EBB_PID
SOCK=$SNAP/f.sock
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
expect_api "configure first" 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
expect_api "load after configuration" 400 PUT /snapshot/load \
	"{\"snapshot_path\": \"$SNAP/b0.state\", \"mem_file_path\": \"$SNAP/b0.mem\"}"
expect_grep "load after configuration: says why" "$OUT/resp" 'before any other configuration'
kill -KILL $F_PID
wait $F_PID 2>/dev/null || true

if [ "$(files_id)" = "$S1_ID" ]; then
	pass "the snapshot's files never changed, not even their allocated blocks (restores, refusals)"
else
	fail "the snapshot's files changed: $S1_ID -> $(files_id)"
fi
finish
