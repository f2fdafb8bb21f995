#!/bin/sh
# The layering rules of docs/architecture.md, checked on every #include of
# the product code (base/, seccomp/, devices/, vmm/):
#   - layers point down: base < seccomp < devices < vmm; a file includes only
#     its own layer or lower ones;
#   - architecture code stays in its folder: only vmm/arch/<arch>/ includes
#     vmm/arch/<arch>/ headers, and no other file tests __x86_64__ or
#     __aarch64__;
#   - no include cycle between any two files.
# Prints each violation and exits 1 when there is one.
# Usage: tests/check-layers.sh [REPO_TOP]
set -eu
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"

files=$(find base seccomp devices vmm -name '*.[ch]' | LC_ALL=C sort)
# One line per include: "FILE INCLUDED" (quoted includes only: the project's own).
edges=$(for f in $files; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
		while read -r inc; do echo "$f $inc"; done
done)

arch_macros=$(grep -n -E '^[[:space:]]*#[[:space:]]*(if|ifdef|ifndef|elif).*(__x86_64__|__aarch64__|__i386__|__arm__)' $files |
	grep -v '^vmm/arch/' || true)

printf '%s\n' "$edges" | awk -v arch_macros="$arch_macros" '
function layer(path) {
	if (path ~ /^base\//) return 0
	if (path ~ /^seccomp\//) return 1
	if (path ~ /^devices\//) return 2
	if (path ~ /^vmm\//) return 3
	return -1
}
function arch_of(path,   m) {
	if (match(path, /^vmm\/arch\/[^\/]+\//)) return substr(path, RSTART, RLENGTH)
	return ""
}
NF == 2 {
	from = $1; to = $2
	nodes[from] = 1
	lf = layer(from); lt = layer(to)
	if (lt < 0) {
		printf "%s includes \"%s\", which is not in base/, seccomp/, devices/ or vmm/\n", from, to
		bad++
		next
	}
	if (lt > lf) {
		printf "%s includes %s: a layer may not include a layer above it (base < seccomp < devices < vmm)\n", from, to
		bad++
	}
	if (arch_of(to) != "" && arch_of(from) != arch_of(to)) {
		printf "%s includes %s: architecture code is reached only through vmm/arch.h\n", from, to
		bad++
	}
	adj[from] = adj[from] " " to
	nodes[to] = 1
}
# Depth-first search for a cycle; state 1 on the stack, 2 done.
function visit(n,   list, k, i, m) {
	state[n] = 1
	stack[++depth] = n
	m = split(adj[n], list, " ")
	for (i = 1; i <= m; i++) {
		if (list[i] == "") continue
		if (state[list[i]] == 1) {
			cycle = list[i]
			for (k = depth; k >= 1 && stack[k] != list[i]; k--) cycle = stack[k] " -> " cycle
			printf "include cycle: %s -> %s\n", list[i], cycle
			bad++
		} else if (state[list[i]] == 0) {
			visit(list[i])
		}
	}
	depth--
	state[n] = 2
}
END {
	for (n in nodes) state[n] = 0
	for (n in nodes) if (state[n] == 0) visit(n)
	if (arch_macros != "") {
		printf "architecture tests outside vmm/arch/:\n%s\n", arch_macros
		bad++
	}
	if (bad) { printf "check-layers: %d violation(s)\n", bad; exit 1 }
	printf "check-layers: %d files, every include points down, no cycle\n", length(nodes)
}'
