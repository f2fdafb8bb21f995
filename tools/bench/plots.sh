#!/usr/bin/env bash
# PNG plots of the benchmark results (gnuplot), from build/bench/.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BENCH:-build/bench}
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
	for w in $(awk -F, 'NR > 1 { print $1 }' "$B/density-timeline.csv" | sort -u); do
		plot=""
		for m in $(awk -F, -v w="$w" 'NR > 1 && $1 == w { print $2 }' "$B/density-timeline.csv" | uniq | awk '!seen[$0]++'); do
			# the cgroup's memory against the guests launched so far
			awk -F, -v w="$w" -v m="$m" '$1 == w && $2 == m { print $3, $5 }' \
				"$B/density-timeline.csv" >"$B/density-$w-$m.dat"
			plot+="${plot:+, }\"$B/density-$w-$m.dat\" using 1:2 with lines lw 2 title \"$m\""
		done
		case $w in
		touch) what="each touches 400 MiB, frees it, idles" ;;
		cache) what="each reads 200 MiB from a drive, idles" ;;
		*) what=$w ;;
		esac
		gnuplot <<GP
set terminal pngcairo size 1000,540 font "sans,11"
set output "$B/density-$w.png"
set title "512 MiB guests launched one after another into a 2 GiB cgroup ($what)"
set xlabel "guests launched"
set ylabel "memory charged to the cgroup (MiB)"
set key top left
set grid
set yrange [0:2200]
plot $plot, 2048 with lines dt 2 lc rgb "gray" title "memory.max"
GP
		echo "plot: $B/density-$w.png"
	done
fi

if [ -s "$B/policy.csv" ]; then
	gnuplot <<GP
set terminal pngcairo size 1000,540 font "sans,11"
set output "$B/policy.png"
set datafile separator ","
set title "the balloon policy: a 512 MiB guest idles, needs 358 MiB at once, frees it, idles"
set xlabel "time since ebb started (s)"
set ylabel "MiB"
set key top right
set grid
set yrange [0:560]
plot "$B/policy.csv" using 1:2 skip 1 with lines lw 2 title "host: ebb resident memory (VmRSS)", \
     "$B/policy.csv" using 1:3 skip 1 with lines lw 2 title "balloon target set by the policy", \
     "$B/policy.csv" using 1:4 skip 1 with lines lw 1 dt 2 title "guest: available memory (its statistics)"
GP
	echo "plot: $B/policy.png"
fi
