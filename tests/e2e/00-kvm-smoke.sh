#!/bin/bash
# The lab's own proof: /dev/kvm really runs guest code here.  Runs
# build/kvm-smoke (tools/lab/kvm-smoke.c: one vCPU in real mode, expects an IO
# exit then a HLT exit) and shows the kernel lines that say how KVM loaded.
# Negative control: kvm-smoke checks each exit reason, so a /dev/kvm that
# opens but runs nothing (or the wrong code) fails.
# lab: --mem 1024 --cpus 2
# timeout: 300
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

smoke=build/kvm-smoke
if [ ! -x "$smoke" ]; then
	echo "00-kvm-smoke: $smoke is not built (run make at the repo top)" >&2
	exit 1
fi

echo "00-kvm-smoke: kernel $(uname -r), $(ls -l /dev/kvm)"
# dmesg may be restricted to root on a real host; the lab runs CMD as root.
dmesg 2>/dev/null | sed 's/^\[[^]]*\] *//' | grep -E '^(kvm|kvm_amd|SVM):' | sed 's/^/00-kvm-smoke: dmesg: /' || true

"$smoke"
