#!/bin/sh
# docs/security.md embeds `ebb --print-seccomp`; fail when they disagree.
set -eu
ebb=$1
doc=$2
expected=$(mktemp)
documented=$(mktemp)
trap 'rm -f "$expected" "$documented"' EXIT
"$ebb" --print-seccomp >"$expected"
awk '/^```$/ { if (inblock) exit; inblock = 1; next } inblock' "$doc" >"$documented"
if ! diff -u "$documented" "$expected"; then
	echo "docs/security.md is out of date: paste the output of ebb --print-seccomp into it" >&2
	exit 1
fi
