#!/usr/bin/env bash
# [5/8] The boot and balloon scenarios again, each from a file in examples/
# through --config-file, including a config in Firecracker's own format.
# Each reclaim must come from reports (the log's counters), and the inflate
# from inflated pages, so memory that came back some other way does not pass;
# 20-balloon-reporting holds the no-reporting negative controls.
# lab: --mem 6144
# timeout: 1200
source "$(dirname "$0")/lib.sh"
require_files "$EBB" "$KERNEL" "$VMLINUX" "$INITRD"
MIB=1024

log "examples/boot.json: the smallest config"
ebb_run boot 300 --config-file examples/boot.json
expect_status boot 0
expect_grep "boot: guest reached init" "$OUT/boot.out" '^EBB-GUEST-READY'

log "examples/firecracker-vm.json: a Firecracker config, unchanged (ELF vmlinux, 2 vCPUs)"
ebb_run firecracker 300 --config-file examples/firecracker-vm.json
expect_status firecracker 0
expect_grep "firecracker: guest reached init" "$OUT/firecracker.out" '^EBB-GUEST-READY'
expect_grep "firecracker: booted the ELF vmlinux" "$OUT/firecracker.err" 'booting build/guest/vmlinux: 2 vCPU'

log "examples/smp.json: 4 vCPUs, 4 GiB"
ebb_run smp 300 --config-file examples/smp.json
expect_status smp 0
expect_grep "smp: guest sees 4 CPUs" "$OUT/smp.out" '^EBB-NPROC 4'
total=$(awk '/^MemTotal:/ {print $2}' "$OUT/smp.out")
if [ -n "$total" ] && [ "$total" -gt $((3900 * MIB)) ]; then
	pass "smp: MemTotal $((total / MIB)) MiB of 4096"
else
	fail "smp: MemTotal ${total:-missing} KiB"
fi

# reclaimed NAME : the measured usage came back within 32 MiB in 10 s.
reclaimed() {
	local name=$1
	if [ "$BEFORE_KIB" -gt 0 ] && [ $((PEAK_KIB - BEFORE_KIB)) -ge $((200 * MIB)) ] &&
		[ "$RECLAIM_S" != none ] && awk -v r="$RECLAIM_S" 'BEGIN { exit !(r <= 10) }'; then
		pass "$name: back within 32 MiB ${RECLAIM_S}s after the free (peak $((PEAK_KIB / MIB)) MiB)"
	else
		fail "$name: before $((BEFORE_KIB / MIB)), peak $((PEAK_KIB / MIB)), after $((AFTER_KIB / MIB)) MiB, reclaimed at $RECLAIM_S"
	fi
	# The file turned reporting on: the memory came back through reports.
	expect_grep "$name: the memory came back through free page reporting" "$OUT/$name.err" \
		'balloon: [1-9][0-9]* reports \([1-9][0-9]* MiB reported, [1-9][0-9]* MiB discarded'
}

log "examples/balloon-reporting.json, memfd.json, hugetlbfs.json: reporting"
reclaim_measure reporting anon 10 --config-file examples/balloon-reporting.json --level debug || fail "reporting: run failed"
reclaimed reporting
reclaim_measure memfd memfd 10 --config-file examples/memfd.json --level debug || fail "memfd: run failed"
reclaimed memfd
echo 300 >/proc/sys/vm/nr_hugepages
reclaim_measure hugetlbfs hugetlbfs 10 --config-file examples/hugetlbfs.json --level debug || fail "hugetlbfs: run failed"
reclaimed hugetlbfs
echo 0 >/proc/sys/vm/nr_hugepages

log "examples/balloon-inflate.json: a boot-time target"
ebb_start inflate --config-file examples/balloon-inflate.json
expect_balloon_caps_guest inflate inflate "$EBB_PID"
expect_grep "inflate: the guest's actual reached 256 MiB" "$OUT/inflate.err" 'guest holds 256 MiB, the target'
expect_grep "inflate: the file's target went through the balloon" "$OUT/inflate.err" \
	'[1-9][0-9]* pages inflated in [1-9][0-9]* ranges'

log "examples/balloon-stats.json: statistics (and the logger section)"
ebb_run stats 300 --config-file examples/balloon-stats.json
expect_status stats 0
updates=$(grep -c 'balloon: stats' "$OUT/stats.err" || true)
[ "$updates" -ge 5 ] && pass "stats: $updates updates" || fail "stats: $updates updates"

log "a config error is one line with file:line:col and the JSON path"
printf '{\n  "machine-config": {\n    "vcpu_count": 0,\n    "mem_size_mib": 128\n  }\n}\n' >"$OUT/bad.json"
ebb_run bad 30 --config-file "$OUT/bad.json"
expect_status bad 1
expect_grep "bad: position and path" "$OUT/bad.err" "bad.json:3:19: machine-config.vcpu_count: must be 1..32, got 0"
ebb_run mixed 30 --config-file examples/boot.json --mem-mib 64
expect_status mixed 1
expect_grep "mixed: flags and file do not silently disagree" "$OUT/mixed.err" 'cannot be combined with --config-file'

finish
