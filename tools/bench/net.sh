#!/usr/bin/env bash
# Benchmark 8: virtio-net throughput over a tap, ebb against QEMU microvm's
# virtio-net-device (tap, no vhost), same kernel, initramfs and tool
# (tools/guest/ebb-vsock), in a private network namespace with link-local
# addresses: 256 MiB guest -> host and host -> guest, as the receiver
# measured it. BENCH_NET_RUNS (3), interleaved.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT=${BENCH:-build/bench}/net
source tools/lib/vm.sh
source tools/bench/lib.sh
runs=${BENCH_NET_RUNS:-3}
VSOCK_TOOL=build/ebb-vsock
require_files "$EBB" "$KERNEL" "$INITRD" "$VSOCK_TOOL"
enter_private_netns "$@"
HOST_IP=169.254.78.1
GUEST_IP=169.254.78.2
MAC=06:00:a9:fe:4e:02
BYTES=$((256 << 20))
ip tuntap add dev benchtap0 mode tap
ip addr add "$HOST_IP/24" dev benchtap0
ip link set benchtap0 up
csv=$BENCH/net.csv
echo "vmm,run,direction,mibps" >"$csv"

# one VMM RUN : both directions in one boot.
one() {
	local vmm=$1 r=$2 name=$1-$2
	local run="ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0 && sleep 1 && ebb-vsock -t 600 connect tcp:$HOST_IP:5301 send $BYTES; ebb-vsock -t 600 listen tcp:5302 recv"
	"$VSOCK_TOOL" -t 700 listen "tcp:$HOST_IP:5301" recv >"$OUT/$name-g2h.out" 2>&1 &
	local recv=$!
	if [ "$vmm" = ebb ]; then
		cat >"$OUT/$name.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$KERNEL", "initrd_path": "$INITRD",
                  "boot_args": "console=ttyS0 reboot=k panic=1 quiet ebb.run=\\"$run\\""},
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 512},
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "benchtap0", "guest_mac": "$MAC"}]
}
JSON
		CMD=("$EBB" --config-file "$OUT/$name.json")
	else
		CMD=("$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off
			-accel kvm -cpu host -smp 2 -m 512 -display none -monitor none -serial stdio -no-reboot
			-netdev tap,id=n0,ifname=benchtap0,script=no,downscript=no,vhost=off
			-device "virtio-net-device,netdev=n0,mac=$MAC"
			-kernel "$KERNEL" -initrd "$INITRD"
			-append "console=ttyS0 reboot=t panic=1 quiet ebb.run=\"$run\"")
	fi
	"${CMD[@]}" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
	local pid=$!
	local g2h=n/a h2g=n/a
	if wait_exit "$recv" 700; then
		g2h=$(vsock_rate "$OUT/$name-g2h.out" recv)
	fi
	if wait_for "$OUT/$name.out" 'EBB-VSOCK listening' 120 "$pid" &&
		"$VSOCK_TOOL" -t 600 connect "tcp:$GUEST_IP:5302" send "$BYTES" >"$OUT/$name-h2g.out" 2>&1; then
		wait_for "$OUT/$name.out" 'EBB-VSOCK recv=' 120 "$pid" || true
		h2g=$(vsock_rate "$OUT/$name.out" recv)
	fi
	kill -TERM "$pid" 2>/dev/null || true
	wait_exit "$pid" 30 || true
	echo "$vmm,$r,guest-to-host,${g2h:-n/a}" >>"$csv"
	echo "$vmm,$r,host-to-guest,${h2g:-n/a}" >>"$csv"
	log "net: $name: guest -> host ${g2h:-n/a} MiB/s, host -> guest ${h2g:-n/a} MiB/s"
}

for r in $(seq "$runs"); do
	one ebb "$r"
	one qemu "$r"
done

col() { awk -F, -v v="$1" -v d="$2" 'NR > 1 && $1 == v && $3 == d && $4 != "n/a" { print $4 }' "$csv"; }
{
	echo "8. virtio-net over a tap: 256 MiB each way, MiB/s as the receiver saw it ($runs runs each)"
	for d in guest-to-host host-to-guest; do
		read -r elo emed ehi <<<"$(stats $(col ebb "$d"))"
		read -r qlo qmed qhi <<<"$(stats $(col qemu "$d"))"
		printf '  %-14s ebb median %s (%s..%s)   QEMU median %s (%s..%s)\n' "$d" "$emed" "$elo" "$ehi" "$qmed" "$qlo" "$qhi"
		goal net "$(ratio "$emed" "$qmed")" ">=" 1.0 "net $d: ebb / QEMU throughput >= 1.0"
	done
} | tee -a "$BENCH/summary.txt"
