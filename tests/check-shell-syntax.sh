#!/bin/sh
# Every bash script of the tests, tools and CI parses: a syntax error in an e2e
# script would otherwise show only when the lab, minutes in, reaches that line.
# Usage: tests/check-shell-syntax.sh [REPO_TOP]
set -eu
cd "${1:-$(dirname "$0")/..}"
bad=0
n=0
for f in $(grep -rlE '^#!.*\bbash\b' tests tools scripts .ci 2>/dev/null); do
	n=$((n + 1))
	bash -n "$f" || bad=$((bad + 1))
done
if [ "$bad" -ne 0 ]; then
	echo "check-shell-syntax: $bad of $n bash scripts do not parse"
	exit 1
fi
echo "check-shell-syntax: all $n bash scripts parse"
