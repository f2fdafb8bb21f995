#!/usr/bin/env bash
# PNG plots of the benchmark results (gnuplot), from build/bench/.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/bench
export XDG_CACHE_HOME=${TMPDIR:-/tmp}/ebb-gnuplot-cache # fontconfig wants a writable cache
mkdir -p "$XDG_CACHE_HOME"

if [ -f "$B/reclaim-ebb-fast.dat" ]; then
	gnuplot <<GP
set terminal pngcairo size 1000,540 font "sans,11"
set output "$B/reclaim.png"
set title "One 512 MiB guest touches 300 MiB, frees it at t = 0 and idles"
set xlabel "time since the guest freed the memory (s)"
set ylabel "VMM anonymous resident memory, RssAnon (MiB)"
set key top right
set grid
set xrange [-6:12]
set yrange [0:*]
plot "$B/reclaim-ebb-fast.dat" using 1:2 with lines lw 2 title "ebb, fast guest reporting", \
     "$B/reclaim-ebb-stock.dat" using 1:2 with lines lw 2 title "ebb, Linux's reporting values", \
     "$B/reclaim-qemu-reporting.dat" using 1:2 with lines lw 2 title "QEMU microvm, free-page-reporting=on"
GP
	echo "plot: $B/reclaim.png"
fi

if [ -f "$B/density-timeline.csv" ]; then
	modes=$(awk -F, 'NR > 1 { print $1 }' "$B/density-timeline.csv" | sort -u)
	plot=""
	for m in $modes; do
		awk -F, -v m="$m" '$1 == m { print $2, $3 }' "$B/density-timeline.csv" >"$B/density-$m.dat"
		plot+="${plot:+, }\"$B/density-$m.dat\" using 1:2 with lines lw 2 title \"$m\""
	done
	gnuplot <<GP
set terminal pngcairo size 1000,540 font "sans,11"
set output "$B/density.png"
set title "512 MiB guests launched one after another (each touches 400 MiB, frees it, idles)"
set xlabel "time since the first launch (s)"
set ylabel "memory charged to the 2 GiB cgroup (MiB)"
set key top left
set grid
set yrange [0:2200]
plot $plot, 2048 with lines dt 2 lc rgb "gray" title "memory.max"
GP
	echo "plot: $B/density.png"
fi
