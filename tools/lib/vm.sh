# shellcheck shell=bash
# tools/lib/vm.sh: shell helpers to run and measure ebb (and QEMU) guests,
# shared by the e2e tests (through tests/e2e/lib.sh), the benchmarks
# (tools/bench/) and the demo (tools/demo/).  Source it from the repo top
# where /dev/kvm works (natively, or inside tools/lab/run), with OUT set to
# this script's log directory: it is emptied and created.
#
# Every wait checks that the process it waits for is still alive, and every
# failure says what it saw.

set -euo pipefail

EBB=${EBB:-build/ebb}
EBB_TRACE=${EBB_TRACE:-build/ebb-trace}
ZERO_PAGES=${ZERO_PAGES:-build/zero-pages}
KERNEL=${KERNEL:-build/guest/bzImage}
VMLINUX=${VMLINUX:-build/guest/vmlinux}
INITRD=${INITRD:-build/guest/initramfs.cpio.gz}
# quiet keeps the kernel log short: every console byte is a VM exit, and
# under nested emulation exits are what costs time.
BOOT_ARGS_BASE="console=ttyS0 reboot=k panic=1 quiet"

: "${OUT:?set OUT (the directory for the logs) before sourcing tools/lib/vm.sh}"
rm -rf "$OUT"
mkdir -p "$OUT"

declare -a STARTED_PIDS=()

# bash's own clock: the arm64 lab's date(1) has no %N.
log() {
	local now=$EPOCHREALTIME
	printf '[%(%H:%M:%S)T.%.3s] %s\n' "${now%.*}" "${now#*.}" "$*"
}
die() {
	log "FAIL: $*" >&2
	exit 1
}

# guest_irq_frames PID: looks in the RAM of PID's guest (ebb or QEMU) for an
# interrupt delivered while the guest had interrupts off, which hardware never
# does and the lab has done (docs/SPEC.md, finding 16). What it finds goes to
# $OUT/guest-irq-frames.log, where tests/e2e/run-all looks, and to stderr.
GUEST_IRQ_FRAMES=${GUEST_IRQ_FRAMES:-build/guest-irq-frames}
guest_irq_frames() {
	local pid=$1 comm found
	[ -x "$GUEST_IRQ_FRAMES" ] && [ -r "$VMLINUX" ] || return 0
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
	case $comm in ebb | qemu-system-*) ;; *) return 0 ;; esac
	[ -s "$OUT/vmlinux.syms" ] || nm -n "$VMLINUX" >"$OUT/vmlinux.syms" 2>/dev/null || return 0
	found=$("$GUEST_IRQ_FRAMES" "$OUT/vmlinux.syms" "$pid" 2>/dev/null) || return 0
	printf '%s\n' "$found" | tee -a "$OUT/guest-irq-frames.log" >&2
}

# overdue_cpu_timers: on a wait that timed out or a stuck guest, logs each
# CPU of the kernel this runs on (L1, in the lab) whose next high-resolution
# timer expiry passed over a second ago, to $OUT/cpu-timers.log, where
# tests/e2e/run-all looks, and to stderr. A CPU takes its timer interrupt
# within microseconds of that time unless its interrupts stay off that long
# (a kernel bug, which past about 20 s the lockup detector reports) or the
# machine below never delivered it: the lab has lost L1's timer interrupts,
# stalling all of L1 (the heartbeat watchdog's "clock stopped") or one CPU,
# whose timers (a TCP retransmit, a guest's tick) then wait for the next
# IPI. A CPU in low-resolution mode (hres_active 0) may keep a stale expiry:
# it is left out.
overdue_cpu_timers() {
	local found
	found=$(awk 'function check() {
			if (cpu != "" && hres == 1 && next_exp != "9223372036854775807" && now - next_exp > 1e9)
				printf "CPU %s: its next timer is %.1f s overdue: the interrupt for it never came\n", cpu, (now - next_exp) / 1e9
			cpu = ""
		}
		/^now at / { now = $3 }
		/^cpu: / { check(); cpu = $2; hres = 0; next_exp = "" }
		/^ *\.expires_next *:/ { next_exp = $3 }
		/^ *\.hres_active *:/ { hres = $3 }
		/^Tick Device/ { check() }
		END { check() }' "${CPU_TIMER_LIST:-/proc/timer_list}" 2>/dev/null) || return 0
	[ -z "$found" ] || printf '%s\n' "$found" | tee -a "$OUT/cpu-timers.log" >&2 || true
}

# alive_count: how many of STARTED_PIDS still run.
alive_count() {
	local pid n=0
	for pid in "${STARTED_PIDS[@]}"; do
		! kill -0 "$pid" 2>/dev/null || n=$((n + 1))
	done
	echo "$n"
}

# On a failure, a guest still running may be one the lab hung. SIGTERM
# first, so that its ebb logs where each vCPU was (a failure digest shows
# those lines); SIGKILL whatever is left 5 s later.
cleanup_started() {
	local status=$? pid waited
	if [ "$status" != 0 ]; then
		for pid in "${STARTED_PIDS[@]}"; do
			# Evidence only: its failing must not end the trap early.
			guest_irq_frames "$pid" || true
			kill -TERM "$pid" 2>/dev/null || true
		done
		for ((waited = 0; waited < 50 && $(alive_count) > 0; waited++)); do
			sleep 0.1
		done
	fi
	for pid in "${STARTED_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
}
trap cleanup_started EXIT

require_files() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || die "missing $f (run make and make guest first)"
	done
}

# now_s: monotonic seconds with fractions.
now_s() { awk '{print $1}' /proc/uptime; }

# ebb_start NAME ARGS... : runs ebb in the background; stdout (the guest
# console) goes to $OUT/NAME.out, stderr (logs) to $OUT/NAME.err. Sets EBB_PID.
ebb_start() {
	local name=$1
	shift
	"$EBB" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
	EBB_PID=$!
	STARTED_PIDS+=("$EBB_PID")
}

# ebb_run NAME TIMEOUT ARGS... : runs ebb to completion (killed after TIMEOUT
# seconds); sets EBB_STATUS.
ebb_run() {
	local name=$1 timeout=$2
	shift 2
	set +e
	timeout -k 5 "$timeout" "$EBB" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null
	EBB_STATUS=$?
	set -e
}

# exit_status_of PID : how PID, a child that has ended, ended ("status 1",
# "signal SIGSEGV"). Bash keeps that status for a later wait on PID too.
exit_status_of() {
	local st=0
	wait "$1" 2>/dev/null || st=$?
	if [ "$st" = 127 ] && ! kill -0 "$1" 2>/dev/null; then
		echo "status 127 or not a child of this shell"
	elif [ "$st" -gt 128 ]; then
		echo "signal SIG$(kill -l $((st - 128)) 2>/dev/null || echo "$((st - 128))")"
	else
		echo "status $st"
	fi
}

# log_last_lines FILE: FILE's last lines, each logged as "last of NAME: LINE",
# so that a wait that timed out shows where the guest's console stopped.
log_last_lines() {
	local line
	while IFS= read -r line; do
		log "last of ${1##*/}: $line"
	done < <(tail -n 6 "$1" 2>/dev/null | tr -d '\r' | cut -c1-200)
}

# wait_for FILE REGEX TIMEOUT PID : true once REGEX appears in FILE; false on
# timeout or when PID died first.
wait_for() {
	local file=$1 regex=$2 timeout=$3 pid=$4
	local deadline
	deadline=$(awk -v t="$timeout" '{print $1 + t}' /proc/uptime)
	while :; do
		if grep -qE -- "$regex" "$file" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			grep -qE -- "$regex" "$file" 2>/dev/null && return 0
			log "process $pid exited ($(exit_status_of "$pid")) before '$regex' appeared in $file"
			log_last_lines "$file"
			return 1
		fi
		if awk -v d="$deadline" '{exit !($1 > d)}' /proc/uptime; then
			log "timed out after ${timeout}s waiting for '$regex' in $file"
			log_last_lines "$file"
			overdue_cpu_timers
			return 1
		fi
		sleep 0.05
	done
}

# wait_exit PID TIMEOUT : waits for PID (a child) and sets EXIT_STATUS; on
# timeout stops it and returns 1. SIGTERM first, so that ebb logs its
# devices' summaries (a hung guest's rings among them); SIGKILL 10 s later.
wait_exit() {
	local pid=$1 timeout=$2
	local deadline term_sent=
	deadline=$(awk -v t="$timeout" '{print $1 + t}' /proc/uptime)
	while kill -0 "$pid" 2>/dev/null; do
		if awk -v d="$deadline" '{exit !($1 > d)}' /proc/uptime; then
			if [ -n "$term_sent" ]; then
				kill -KILL "$pid" 2>/dev/null || true
				wait "$pid" 2>/dev/null || true
				EXIT_STATUS=timeout
				return 1
			fi
			overdue_cpu_timers
			guest_irq_frames "$pid"
			log "process $pid still runs after ${timeout}s: SIGTERM"
			kill -TERM "$pid" 2>/dev/null || true
			term_sent=1
			deadline=$(awk '{print $1 + 10}' /proc/uptime)
		fi
		sleep 0.05
	done
	set +e
	wait "$pid"
	EXIT_STATUS=$?
	set -e
	if [ -n "$term_sent" ]; then
		EXIT_STATUS=timeout
		return 1
	fi
	return 0
}

# rss_kib PID : resident set of PID in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# cpu_ticks PID : user + system clock ticks used by PID so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# guest_ram_range PID: the start and end (decimal, the end exclusive) of PID's
# guest RAM: its largest run of adjacent anonymous mappings and mappings of a
# vmlinux, since a shared kernel's file pages split guest RAM.
guest_ram_range() {
	local r s e run_s=0 run_e=0 start=0 end=0 _ name
	while read -r r _ _ _ _ name; do
		s=$((16#${r%-*})) e=$((16#${r#*-}))
		case $name in
		'' | '[anon:'* | */vmlinux) ;;
		*) run_e=0 && continue ;;
		esac
		[ "$s" -eq "$run_e" ] || run_s=$s
		run_e=$e
		[ $((run_e - run_s)) -gt $((end - start)) ] && start=$run_s end=$run_e
	done <"/proc/$1/maps"
	echo "$start $end"
}

# pagemap_entries PID START END: one pagemap entry (16 hex digits) per page
# of [START, END) in PID's address space.
pagemap_entries() {
	dd if="/proc/$1/pagemap" bs=64K iflag=skip_bytes,count_bytes skip=$(($2 / 4096 * 8)) \
		count=$((($3 - $2) / 4096 * 8)) 2>/dev/null | od -An -v -tx8 -w8
}

# anon_kib_in PID START END: KiB of [START, END) in PID's address space
# held as private anonymous pages: present (bit 63), neither a file's page
# nor shared (bit 61).
anon_kib_in() {
	pagemap_entries "$@" | awk '{ if (index("89cd", substr($1, 1, 1))) kib += 4 } END { print kib + 0 }'
}

# ---- host-side memory of a running ebb, sampled without spawning processes ----

# read_rss PID : sets RSS_KIB (VmRSS) from /proc without a subshell; returns 1
# when PID is gone.
read_rss() {
	local k v _u
	RSS_KIB=0
	# The process may end between a caller's kill -0 and here: return 1, never exit.
	{ exec 9<"/proc/$1/status"; } 2>/dev/null || return 1
	while read -r -u 9 k v _u; do
		if [ "$k" = VmRSS: ]; then
			RSS_KIB=$v
			exec 9<&-
			return 0
		fi
	done
	exec 9<&-
	return 1
}

# memfd_fd PID : the fd number of ebb's guest-RAM memfd (one exec, not one per fd).
memfd_fd() {
	local path
	path=$(find "/proc/$1/fd" -lname '*ebb-guest-ram*' -print -quit 2>/dev/null)
	[ -n "$path" ] || return 1
	echo "${path##*/}"
}

# read_usage BACKING PID [MEMFD] : sets USAGE_KIB, the host memory backing
# the guest: VmRSS for anon, the memfd's allocated blocks for memfd, and the
# huge pages in use for hugetlbfs. Returns 1 when PID is gone.
read_usage() {
	local backing=$1 pid=$2 memfd=${3:-}
	case $backing in
	anon)
		read_rss "$pid" || return 1
		USAGE_KIB=$RSS_KIB
		;;
	memfd)
		local blocks
		blocks=$(stat -L -c %b "/proc/$pid/fd/$memfd" 2>/dev/null) || return 1
		USAGE_KIB=$((blocks / 2))
		;;
	hugetlbfs)
		local k v _u total=0 free=0
		while read -r k v _u; do
			case $k in
			HugePages_Total:) total=$v ;;
			HugePages_Free:) free=$v ;;
			esac
		done </proc/meminfo
		USAGE_KIB=$(((total - free) * 2048))
		;;
	esac
}

# The guest workload every reclaim measurement expects (examples/ use it too).
reclaim_hog() { echo "ebb-hog hold:5 touch:$1 hold:1 free idle:$2"; }

# reclaim_run NAME BACKING TOUCH_MIB WINDOW_S EBB_ARGS... : boots a guest that
# runs reclaim_hog and measures it with reclaim_measure.
reclaim_run() {
	local name=$1 backing=$2 touch=$3 window=$4
	shift 4
	reclaim_measure "$name" "$backing" "$window" --kernel "$KERNEL" --initrd "$INITRD" "$@" \
		--cmdline "$BOOT_ARGS_BASE ebb.run=\"$(reclaim_hog "$touch" $((window + 5)))\""
}

# thread_ticks PID COMM : CPU ticks (user + system) of PID's thread named
# COMM; returns 1 (and prints nothing) when there is no such thread.
thread_ticks() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			awk '{print $14 + $15}' "$t/stat"
			return 0
		fi
	done
	return 1
}

# log_stuck WHAT PID : for a guest whose workload never ended, logs whether
# vCPU 0 spins or halts (a guest stuck in its kernel against one waiting for
# ebb) and where each ebb thread waits. Stopped by a signal, ebb then logs
# each vCPU's registers, and at --level debug each ring's state.
log_stuck() {
	local what=$1 pid=$2 v0 v1 t
	overdue_cpu_timers
	v0=$(thread_ticks "$pid" ebb-vcpu0) && sleep 2 && v1=$(thread_ticks "$pid" ebb-vcpu0) &&
		log "$what: stuck; vCPU 0 used $((v1 - v0)) ticks in 2 s" || true
	for t in /proc/"$pid"/task/*; do
		log "$what: thread $(cat "$t/comm" 2>/dev/null): state $(awk '{print $3}' "$t/stat" 2>/dev/null), in $(cat "$t/wchan" 2>/dev/null)"
	done
}

# log_tail WHAT FILE : ebb's last lines (at --level debug, its rings at exit).
log_tail() {
	log "$1: last lines of $2:"
	tail -n 25 "$2" | sed 's/^/    | /'
}

# reclaim_measure NAME BACKING WINDOW_S EBB_ARGS... : starts ebb with EBB_ARGS,
# whose guest must run reclaim_hog, and samples host usage. It writes
# $OUT/NAME.csv (seconds since the guest's "freed" marker, KiB) and sets
# BEFORE_KIB (just before the touch), PEAK_KIB (the most seen before the
# free), AFTER_KIB
# (at the end of the window) and RECLAIM_S (the first sample within 32 MiB
# of BEFORE_KIB, or "none"); and PEAK_PTE_KIB and AFTER_PTE_KIB, ebb's page
# tables (VmPTE) at the same moments, PEAK_KVM_PT_KIB and AFTER_KVM_PT_KIB
# KVM's (the host's SecPageTables: run one VM at a time); AFTER_ZERO_KIB,
# the guest RAM that is ebb's own and holds only zeros at the end.
reclaim_measure() {
	reclaim_sample "$@" && return 0
	# A stuck guest is stopped here, so it neither loads the next
	# measurement nor goes unexplained (stopped by SIGTERM, ebb logs its vCPUs).
	if kill -0 "$EBB_PID" 2>/dev/null; then
		log "$1: stopped partway (peak $((PEAK_KIB / 1024)) MiB); last guest line: $(tail -n 1 "$OUT/$1.out" | cut -c1-120)"
		log_stuck "$1" "$EBB_PID"
		kill -TERM "$EBB_PID" 2>/dev/null || true
		wait_exit "$EBB_PID" 20 || true
	fi
	log_tail "$1" "$OUT/$1.err"
	return 1
}

# page_table_kib PID : the process's page tables, KiB (0 if unreadable).
page_table_kib() { awk '/^VmPTE:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# kvm_page_table_kib : KVM's page tables on this host, KiB (0 if not shown).
kvm_page_table_kib() { awk '/^SecPageTables:/ { print $2; f = 1 } END { if (!f) print 0 }' /proc/meminfo; }

# zero_page_kib PID : KiB of PID's guest RAM that is its own and holds only
# zeros (build/zero-pages); -1 when it cannot tell.
zero_page_kib() {
	local s e out
	read -r s e <<<"$(guest_ram_range "$1")"
	out=$("$ZERO_PAGES" "$1" "$s" "$e" 2>/dev/null) || out="-1 -1"
	echo "${out#* }"
}

reclaim_sample() {
	local name=$1 backing=$2 window=$3
	shift 3
	ebb_start "$name" "$@"
	local pid=$EBB_PID memfd=""
	RECLAIM_S=none
	BEFORE_KIB=0 PEAK_KIB=0 AFTER_KIB=0 PEAK_PTE_KIB=0 AFTER_PTE_KIB=0
	PEAK_KVM_PT_KIB=0 AFTER_KVM_PT_KIB=0 AFTER_ZERO_KIB=-1
	wait_for "$OUT/$name.out" '^EBB-GUEST-READY' 180 "$pid" || return 1
	[ "$backing" = memfd ] && memfd=$(memfd_fd "$pid")
	wait_for "$OUT/$name.out" '^EBB-HOG start' 60 "$pid" || return 1
	# The guest holds still for 5 s (a loaded lab can take 3 s to see its
	# start) and then touches: the baseline is the last sample that was
	# complete before the hold ended.
	while :; do
		kill -0 "$pid" 2>/dev/null || return 1
		read_usage "$backing" "$pid" "$memfd" || return 1
		grep -q '^EBB-HOG held' "$OUT/$name.out" && break
		BEFORE_KIB=$USAGE_KIB
		sleep 0.1
	done
	# The peak is sampled while the hog holds its memory: with fast guest
	# values the free is back on the host before a poll could see it.
	local deadline=$((SECONDS + 120))
	until grep -q '^EBB-HOG freed' "$OUT/$name.out"; do
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$SECONDS" -lt "$deadline" ] || return 1
		read_usage "$backing" "$pid" "$memfd" || return 1
		if [ "$USAGE_KIB" -gt "$PEAK_KIB" ]; then
			PEAK_KIB=$USAGE_KIB PEAK_PTE_KIB=$(page_table_kib "$pid")
			PEAK_KVM_PT_KIB=$(kvm_page_table_kib)
		fi
		sleep 0.1
	done
	local t0=$EPOCHREALTIME
	local limit=$((BEFORE_KIB + 32 * 1024)) elapsed
	: >"$OUT/$name.csv"
	while :; do
		kill -0 "$pid" 2>/dev/null || return 1
		read_usage "$backing" "$pid" "$memfd" || return 1
		elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
		echo "$elapsed,$USAGE_KIB" >>"$OUT/$name.csv"
		if [ "$RECLAIM_S" = none ] && [ "$USAGE_KIB" -le "$limit" ]; then
			RECLAIM_S=$elapsed
		fi
		awk -v e="$elapsed" -v w="$window" 'BEGIN { exit !(e >= w) }' && break
		sleep 0.2
	done
	AFTER_KIB=$USAGE_KIB
	AFTER_PTE_KIB=$(page_table_kib "$pid") AFTER_KVM_PT_KIB=$(kvm_page_table_kib)
	AFTER_ZERO_KIB=$(zero_page_kib "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	wait_exit "$pid" 20 || true
	log "$name: before $((BEFORE_KIB / 1024)) MiB, peak $((PEAK_KIB / 1024)) MiB, after $((AFTER_KIB / 1024)) MiB, back within 32 MiB at ${RECLAIM_S}s"
}

# ---- a drive whose file the guest reads into its page cache ----

# make_cache_drive PATH MIB : an ext4 image holding data.bin, MIB MiB of
# random bytes (no root needed: mkfs.ext4 -d). A raw block device would not
# do: Linux drops a block device's page cache on its last close.
make_cache_drive() {
	local dir
	dir=$(mktemp -d)
	head -c $(($2 << 20)) /dev/urandom >"$dir/data.bin"
	/sbin/mkfs.ext4 -q -F -E lazy_itable_init=0 -d "$dir" "$1" $(($2 + 32))M >/dev/null
	rm -rf "$dir"
}

# The guest side: mount the drive (/dev/vda unless given) and read data.bin.
# It stays mounted: an unmount would drop the page cache too.
cache_read_cmd() { echo "mkdir -p /mnt/d && mount -t ext4 -o ro ${1:-/dev/vda} /mnt/d && cat /mnt/d/data.bin >/dev/null"; }

# ---- networking (tools/guest/ebb-vsock) ----

# enter_private_netns ARGS... : the calling script runs again in a network
# namespace of its own, holding only lo, so its taps and addresses never
# meet the lab's. Call it with the script's own arguments.
enter_private_netns() {
	local tool
	for tool in ip unshare; do
		command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps)"
	done
	if [ -z "${EBB_NET_NS:-}" ]; then
		EBB_NET_NS=1 exec unshare --net -- "$0" "$@"
	fi
	ip link set lo up
}

# vsock_sum FILE DIR : "bytes sum" of ebb-vsock's last line for DIR (sent|recv) in FILE.
vsock_sum() {
	sed -n "s/.*EBB-VSOCK $2=\([0-9]*\) sum=\([0-9a-f]*\).*/\1 \2/p" "$1" | tail -n 1 | tr -d '\r'
}
# vsock_rate FILE DIR : the MiB/s of that line.
vsock_rate() {
	sed -n "s/.*EBB-VSOCK $2=.* mibps=\([0-9.]*\).*/\1/p" "$1" | tail -n 1 | tr -d '\r'
}

# ---- precise timelines (build/ebb-trace) ----

# trace_run NAME TIMEOUT ARGS... : runs ebb under ebb-trace; the timeline goes
# to $OUT/NAME.trace, the console to $OUT/NAME.out, the log to $OUT/NAME.err.
trace_run() {
	local name=$1 timeout=$2
	shift 2
	set +e
	timeout -k 5 "$timeout" "$EBB_TRACE" --out "$OUT/$name.trace" --console "$OUT/$name.out" \
		-- "$EBB" "$@" 2>"$OUT/$name.err"
	EBB_STATUS=$?
	set -e
}

# trace_metrics NAME [FIELD] : sets the reclaim figures of a trace as shell
# variables (baseline_kib, peak_kib, back_s, t90_s, residual10_kib, drain_s,
# freed_s); see tools/bench/reclaim-metrics.awk.
trace_metrics() {
	local line
	line=$(awk -F, -v field="${2:-rss}" -f tools/bench/reclaim-metrics.awk "$OUT/$1.trace") || {
		log "$1: $line"
		return 1
	}
	log "$1: $line"
	eval "$line"
}

# trace_usage_at NAME SECONDS_AFTER_FREED [FIELD] : the last sample at or before then.
trace_usage_at() {
	local col=4
	case ${3:-rss} in shmem) col=6 ;; huge) col=7 ;; esac
	awk -F, -v at="$2" -v col=$col '
		$2 == "console" && $3 ~ /^EBB-HOG freed/ && freed == "" { freed = $1 }
		$2 == "mem" { t[++n] = $1; v[n] = $col }
		END { for (i = 1; i <= n && t[i] <= freed + at; i++) last = v[i]; print last + 0 }' "$OUT/$1.trace"
}

# ---- the HTTP API with curl ----

# api METHOD PATH [BODY] : a request to the ebb listening on $SOCK; sets CODE
# and BODY_OUT.
api() {
	local method=$1 path=$2 data=${3:-}
	local args=(-s -o "$OUT/resp" -w '%{http_code}' --unix-socket "$SOCK" -X "$method")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	CODE=$(curl -m 60 "${args[@]}" "http://localhost$path" || echo 000)
	BODY_OUT=$(cat "$OUT/resp" 2>/dev/null || true)
}
