#!/bin/sh
# No C file outside tests/ is over 700 lines (the style guide's limit).
# Usage: tests/check-file-size.sh [REPO_TOP]
set -eu
cd "${1:-$(dirname "$0")/..}"
big=$(find base seccomp devices vmm tools -name '*.[ch]' -exec wc -l {} + |
	awk '$2 != "total" && $1 > 700 { print "  " $2 ": " $1 " lines" }')
if [ -n "$big" ]; then
	printf 'C files over 700 lines:\n%s\n' "$big"
	exit 1
fi
echo "check-file-size: every C file outside tests/ is at most 700 lines"
