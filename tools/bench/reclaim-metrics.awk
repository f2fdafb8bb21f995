# Reclaim figures from an ebb-trace timeline of a guest running
#   ebb-hog hold:H touch:T hold:H2 free idle:I
# Usage: awk -F, -v field=rss -f tools/bench/reclaim-metrics.awk trace.csv
#   field: rss (RssAnon, default: the guest's anon RAM and the VMM's own
#   memory, without shared-library pages), shmem (RssShmem: memfd) or huge
# Prints one line of key=value (KiB and seconds since the guest's "freed"):
#   baseline_kib  usage just before the touch began (end of the first hold)
#   peak_kib      the most after the touch
#   back_s        first sample within 32 MiB of the baseline (or none)
#   t90_s         first sample with 90% of (peak - baseline) given back
#   residual10_kib usage above the baseline 10 s after the free
#   drain_s       the last time usage fell by 1 MiB or more (idle drain)
#   freed_s       when the guest said "freed", since the VMM started
BEGIN {
	col = field == "shmem" ? 6 : field == "huge" ? 7 : 4
	slack = 32 * 1024
	held = -1; touched = -1; freed = -1; done = -1
}
$2 == "console" && $3 ~ /^EBB-HOG held/ && held < 0 { held = $1 }
$2 == "console" && $3 ~ /^EBB-HOG touched/ && touched < 0 { touched = $1 }
$2 == "console" && $3 ~ /^EBB-HOG freed/ && freed < 0 { freed = $1 }
# The workload's end bounds the analysis: after it the VM shuts down and unmaps.
$2 == "console" && $3 ~ /^EBB-HOG (done|error)/ && done < 0 { done = $1 }
$2 == "mem" && (done < 0 || $1 <= done) {
	t[++n] = $1; v[n] = $col
}
END {
	if (held < 0 || touched < 0 || freed < 0 || n == 0) {
		print "error=markers-missing"
		exit 1
	}
	base = -1; peak = 0
	for (i = 1; i <= n; i++) {
		if (t[i] < held) base = v[i]
		if (t[i] >= touched && v[i] > peak) peak = v[i]
	}
	if (base < 0) base = v[1]
	back = "none"; t90 = "none"; res10 = ""; drain = 0; last = -1
	for (i = 1; i <= n; i++) {
		if (t[i] < freed) continue
		dt = t[i] - freed
		if (back == "none" && v[i] <= base + slack) back = sprintf("%.3f", dt)
		if (t90 == "none" && peak - v[i] >= 0.9 * (peak - base)) t90 = sprintf("%.3f", dt)
		if (dt <= 10) res10 = v[i] - base
		if (last >= 0 && last - v[i] >= 1024) drain = dt
		if (last < 0 || v[i] < last) last = v[i]
	}
	if (res10 == "") res10 = v[n] - base
	printf "baseline_kib=%d peak_kib=%d back_s=%s t90_s=%s residual10_kib=%d drain_s=%.3f freed_s=%.3f\n",
		base, peak, back, t90, res10, drain, freed
}
