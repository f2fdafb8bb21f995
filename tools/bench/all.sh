#!/usr/bin/env bash
# Every benchmark that needs KVM, one after another in one lab run, so each
# ebb/QEMU ratio compares runs on the same (nested) machine.
set -uo pipefail
cd "$(dirname "$0")/../.."
t0=$SECONDS
failed=()
for b in ${BENCH_ONLY:-boot overhead reclaim inflate reporting policy net density settled snapshot}; do
	printf '\n=== bench %s (%d min %02d s elapsed)\n' "$b" $(((SECONDS - t0) / 60)) $(((SECONDS - t0) % 60))
	if tools/bench/"$b".sh; then
		touch "${BENCH:-build/bench}/.done-$b"
	else
		failed+=("$b")
		touch "${BENCH:-build/bench}/.failed-$b"
	fi
done
printf '\n=== benchmarks done in %d min %02d s\n' $(((SECONDS - t0) / 60)) $(((SECONDS - t0) % 60))
if [ ${#failed[@]} -gt 0 ]; then
	echo "=== failed: ${failed[*]}"
	exit 1
fi
