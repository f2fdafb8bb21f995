# shellcheck shell=bash
# Shared by the benchmarks in tools/bench/: how to start ebb and QEMU microvm
# on the same kernel, initramfs, memory and workload, under ebb-trace.
# Sourced after tools/lib/vm.sh (which gives ebb_start, wait_for, trace_metrics,
# log, die...).

QEMU=${QEMU:-qemu-system-x86_64}
BENCH=${BENCH:-build/bench}
mkdir -p "$BENCH"

# vmm_cmd MODE MEM_MIB VCPUS GUEST_RUN : fills CMD with a VMM command line.
# MODE: ebb-off (no balloon), ebb-noacpi (no balloon, no ACPI tables), ebb-stock, ebb-fast (free page reporting with
# Linux's or ebb's values; the fast profile runs the settled tier), ebb-fast-nosettled (the settled tier off),
# ebb-fast-settled (the tier on, named: settled_order 5, as in ebb-fast), ebb-policy (ebb-fast with the automatic balloon
# policy, margin BENCH_POLICY_MARGIN_MIB, default 16), ebb-policy-merge (and
# guest RAM mergeable by KSM), ebb-policy-thp (and guest RAM advised
# MADV_HUGEPAGE, as QEMU's is), ebb-policy-settled (the settled tier named, as in ebb-policy),
# ebb-policy-shared (and the kernel's pages shared: ebb.memory.share_kernel,
# booting KERNEL_ELF, default the vmlinux beside KERNEL),
# qemu-off, qemu-reporting, qemu-reporting-ksm
# (the same QEMU: its default mem-merge=on marks RAM mergeable; whether
# ksmd runs is the caller's business). GUEST_RUN may be empty (the guest
# prints EBB-GUEST-READY and resets at once). With DRIVE set, that image is
# the guest's read-only /dev/vda; ebb then gets a config file ($OUT/MODE.json).
# BENCH_EBB_ARGS: more ebb arguments, e.g. "--level debug" (a system call
# outside the seccomp allowlist is then named in ebb's log before it exits).
vmm_cmd() {
	local mode=$1 mem=$2 vcpus=$3 run=$4 kernel=$KERNEL
	local args="quiet"
	[ -n "$run" ] && args="quiet ebb.run=\"$run\""
	case $mode in
	ebb-*)
		local balloon="" ebb=""
		case $mode in
		ebb-stock) balloon=reporting ebb='"page_reporting": {"profile": "stock"}' ;;
		ebb-fast) balloon=reporting ebb='"page_reporting": {"profile": "fast"}' ;;
		ebb-fast-nosettled) balloon=reporting ebb='"page_reporting": {"profile": "fast", "settled_order": 11}' ;;
		ebb-fast-settled) balloon=reporting ebb='"page_reporting": {"profile": "fast", "settled_order": 5}' ;;
		ebb-policy | ebb-policy-merge | ebb-policy-thp | ebb-policy-settled | ebb-policy-shared)
			balloon=policy
			local reporting='"profile": "fast"'
			[ "$mode" = ebb-policy-settled ] && reporting+=', "settled_order": 5'
			ebb="\"page_reporting\": {$reporting}, \"balloon\": {\"policy\": {\"enabled\": true, \"margin_mib\": ${BENCH_POLICY_MARGIN_MIB:-16}}}"
			[ "$mode" = ebb-policy-merge ] && ebb+=', "memory": {"merge": true}'
			[ "$mode" = ebb-policy-thp ] && ebb+=', "thp": true'
			if [ "$mode" = ebb-policy-shared ]; then
				ebb+=', "memory": {"share_kernel": true}'
				kernel=${KERNEL_ELF:-$(dirname "$KERNEL")/vmlinux}
			fi
			;;
		ebb-off | ebb-noacpi) ;;
		*) die "unknown mode $mode" ;;
		esac
		if [ -z "${DRIVE:-}" ] && [ "$balloon" != policy ]; then
			CMD=("$EBB" --kernel "$KERNEL" --initrd "$INITRD" --mem-mib "$mem" --vcpus "$vcpus")
			case $mode in
			ebb-stock) CMD+=(--balloon-reporting --guest-reporting stock) ;;
			ebb-fast) CMD+=(--balloon-reporting --guest-reporting fast) ;;
			ebb-fast-nosettled) CMD+=(--balloon-reporting --guest-reporting fast --reporting-settled-order 11) ;;
			ebb-fast-settled) CMD+=(--balloon-reporting --guest-reporting fast --reporting-settled-order 5) ;;
			ebb-noacpi) CMD+=(--no-acpi) ;;
			esac
			CMD+=(--cmdline "console=ttyS0 reboot=k panic=1 $args")
			# shellcheck disable=SC2206 # split on purpose
			CMD+=(${BENCH_EBB_ARGS:-})
			return
		fi
		local json=$OUT/$mode.json sections=""
		case $balloon in
		reporting) sections+=', "balloon": {"amount_mib": 0, "deflate_on_oom": false, "free_page_reporting": true}' ;;
		policy) sections+=', "balloon": {"amount_mib": 0, "deflate_on_oom": true, "stats_polling_interval_s": 1, "free_page_reporting": true}' ;;
		esac
		[ -n "${DRIVE:-}" ] && sections+=", \"drives\": [{\"drive_id\": \"data\", \"path_on_host\": \"$DRIVE\", \"is_root_device\": false, \"is_read_only\": true}]"
		[ -n "$ebb" ] && sections+=", \"ebb\": {$ebb}"
		local boot_args="console=ttyS0 reboot=k panic=1 $args"
		cat >"$json" <<JSON
{
  "boot-source": {"kernel_image_path": "$kernel", "initrd_path": "$INITRD",
                  "boot_args": "${boot_args//\"/\\\"}"},
  "machine-config": {"vcpu_count": $vcpus, "mem_size_mib": $mem}$sections
}
JSON
		# shellcheck disable=SC2206 # split on purpose
		CMD=("$EBB" --config-file "$json" ${BENCH_EBB_ARGS:-})
		;;
	qemu-*)
		if [ "$(uname -m)" = aarch64 ]; then
			# virt, its PL011 the console; -nodefaults: no PCI NIC, so no option ROM to find.
			CMD=("$QEMU" -M virt,gic-version=host -accel kvm -cpu host -nodefaults
				-smp "$vcpus" -m "$mem" -display none -monitor none -serial stdio -no-reboot)
			args="console=ttyAMA0 panic=1 $args"
		else
			# QEMU microvm has no i8042: the guest resets by triple fault (reboot=t).
			CMD=("$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off
				-accel kvm -cpu host -smp "$vcpus" -m "$mem"
				-display none -monitor none -serial stdio -no-reboot)
			args="console=ttyS0 reboot=t panic=1 $args"
		fi
		case $mode in
		qemu-reporting | qemu-reporting-ksm) CMD+=(-device virtio-balloon-device,free-page-reporting=on) ;;
		qemu-off) ;;
		*) die "unknown mode $mode" ;;
		esac
		[ -n "${DRIVE:-}" ] && CMD+=(-drive "if=none,id=data,file=$DRIVE,format=raw,readonly=on"
			-device virtio-blk-device,drive=data)
		CMD+=(-kernel "$KERNEL" -initrd "$INITRD" -append "$args")
		;;
	*) die "unknown mode $mode" ;;
	esac
}

# bench_trace NAME TIMEOUT MODE MEM VCPUS GUEST_RUN : runs a VMM to the end under
# ebb-trace ($OUT/NAME.trace, .out, .err); sets EBB_STATUS.
bench_trace() {
	local name=$1 timeout=$2
	shift 2
	vmm_cmd "$@"
	set +e
	timeout -k 5 "$timeout" "$EBB_TRACE" --out "$OUT/$name.trace" --console "$OUT/$name.out" \
		-- "${CMD[@]}" 2>"$OUT/$name.err"
	EBB_STATUS=$?
	set -e
}

# churn_mib_per_s NAME : the speed ebb-hog's churn printed on NAME's console
# ($OUT/NAME.out), in MiB/s; empty if it printed none.
churn_mib_per_s() {
	sed -n 's/^EBB-HOG churn .*mib_per_s=\([0-9.]*\).*/\1/p' "$OUT/$1.out"
}

# trace_event_time NAME REGEX : seconds since the VMM started when a console
# line matching REGEX arrived (empty if never).
trace_event_time() {
	awk -F, -v re="$2" '$2 == "console" && $3 ~ re { print $1; exit }' "$OUT/$1.trace"
}

# stats VALUES... : "min median max" of numbers.
stats() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "none none none"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print v[1], m, v[NR] }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "none" || b == "none" || a == "n/a" || b == "n/a") print "n/a"; else printf "%.2f", a / b }'; }

# goal NAME VALUE OP LIMIT TEXT : prints "met"/"not met" and records it.
goal() {
	local name=$1 value=$2 op=$3 limit=$4 text=$5 verdict
	if awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN {
		if (v == "n/a" || v == "none") exit 1
		exit !((op == "<=" && v <= l) || (op == ">=" && v >= l)) }'; then
		verdict="met"
	else
		verdict="NOT MET"
	fi
	printf '  goal %-10s %-58s %8s  %s\n' "$name" "$text" "$value" "$verdict" | tee -a "$BENCH/goals.txt"
}

# cgroup_settled CG STEP_S MAX_S DIVISOR : waits until the cgroup's memory
# fell by less than 1/DIVISOR over STEP_S seconds, at most MAX_S seconds (the
# policy squeezes a newly idle guest for a while after it idles).
cgroup_settled() {
	local cg=$1 step=$2 max=$3 divisor=$4 cur last waited=0
	last=$(cat "$cg/memory.current")
	while [ "$waited" -lt "$max" ]; do
		sleep "$step"
		waited=$((waited + step))
		cur=$(cat "$cg/memory.current")
		[ "$cur" -ge $((last - last / divisor)) ] && break
		last=$cur
	done
}
