#!/usr/bin/env bash
# [8/8] Snapshots of a VM with virtio-net and vsock (docs/snapshot.md), in a
# private network namespace of the lab's L1. Guest A has eth0 on tap ebbtap0
# and a vsock echo server on port 5000 that serves its connections one after
# the other. A host client echoes 1 MiB through it; a second client holds a
# connection open (so the server is stuck on it) while A is paused,
# snapshotted and killed. A fresh ebb restores it over the API with
# network_overrides (eth0 on ebbtap1; ebbtap0 is down and has no address)
# and vsock_override (a new uds_path):
#  - the host pings the restored guest through ebbtap1;
#  - the guest drops the connection held at snapshot time, whose host end
#    died with A: only the TRANSPORT_RESET event ebb sends after a restore
#    tells it so (its server on port 5001 then prints why it ended);
#  - a new CONNECT on the new uds_path echoes 1 MiB through port 5000.
# Negative controls: in A, the held connection stays up (no end printed
# while it is held); before the restore nobody answers a ping; overrides
# naming an interface the snapshot lacks are refused with 400, and that
# ebb then loads the snapshot right.
# lab: --mem 4096
# timeout: 900
source "$(dirname "$0")/lib.sh"
VSOCK_TOOL=${VSOCK_TOOL:-build/ebb-vsock}
require_files "$EBB" "$KERNEL" "$INITRD" "$VSOCK_TOOL"
for tool in curl jq; do
	command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps)"
done

enter_private_netns "$@"

HOST_IP=169.254.77.1
GUEST_IP=169.254.77.2
MIB1=$((1 << 20))
# Sockets and the memory file on the lab's tmpfs (9p can neither hold a
# socket nor be mapped MAP_PRIVATE).
SNAP=$(mktemp -d)
trap 'cleanup_started; rm -rf "$SNAP"' EXIT

ip tuntap add dev ebbtap0 mode tap
ip tuntap add dev ebbtap1 mode tap
ip addr add "$HOST_IP/24" dev ebbtap0
ip link set ebbtap0 up

# echo_ok WHAT FILE : FILE is a sendrecv of 1 MiB whose echo came back whole.
echo_ok() {
	local sent recv
	sent=$(vsock_sum "$2" sent) recv=$(vsock_sum "$2" recv)
	if [ -n "$sent" ] && [ "$sent" = "$recv" ] && [ "${sent%% *}" = "$MIB1" ]; then
		pass "$1: 1 MiB echoed, checksum ${sent#* } both ways"
	else
		fail "$1: sent '$sent', got back '$recv': $(tail -n 2 "$2" | tr '\n' ' ')"
	fi
}

log "A: eth0 on ebbtap0, vsock on $SNAP/a.vsock, an echo server on port 5000"
run="ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0; ebb-vsock -n 8 -t 1500 listen vsock:5000 echo >/tmp/echo.log 2>&1 & (ebb-vsock -t 1500 listen vsock:5001 echo >/tmp/hold.log 2>&1; echo EBB-HOLD-ENDED \$(tail -n 1 /tmp/hold.log)) & until grep -q listening /tmp/echo.log && grep -q listening /tmp/hold.log; do sleep 0.2; done; echo EBB-SNAP-READY; while :; do sleep 1; done"
cat >"$OUT/a.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$KERNEL", "initrd_path": "$INITRD",
                  "boot_args": "$BOOT_ARGS_BASE ebb.run=\\"$run\\""},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "ebbtap0",
                          "guest_mac": "06:00:a9:fe:4d:02"}],
  "vsock": {"vsock_id": "vsock0", "guest_cid": 3, "uds_path": "$SNAP/a.vsock"}
}
JSON
ebb_start a --config-file "$OUT/a.json" --api-sock "$SNAP/a.sock"
A=$EBB_PID
wait_for "$OUT/a.out" '^EBB-SNAP-READY' 300 "$A" || die "A did not come up"
if /bin/busybox ping -c 2 -W 10 "$GUEST_IP" >"$OUT/ping-a.log" 2>&1; then
	pass "A: ping $GUEST_IP over ebbtap0"
else
	fail "A: ping $GUEST_IP: $(tail -n 1 "$OUT/ping-a.log")"
fi
"$VSOCK_TOOL" -t 120 connect "fc:$SNAP/a.vsock:5000" sendrecv "$MIB1" >"$OUT/echo-a.out" 2>&1 || true
echo_ok "A: vsock echo" "$OUT/echo-a.out"

log "A: a connection to port 5001 held open"
"$VSOCK_TOOL" -t 600 connect "fc:$SNAP/a.vsock:5001" hold 500 >"$OUT/hold.out" 2>&1 &
holder=$!
STARTED_PIDS+=("$holder")
wait_for "$OUT/hold.out" 'connected OK' 60 "$holder" || fail "A: the holding client did not connect"
sleep 3
if grep -aq EBB-HOLD-ENDED "$OUT/a.out"; then
	fail "negative control: the held connection ended in A: $(grep -a EBB-HOLD-ENDED "$OUT/a.out")"
else
	pass "negative control: in A the held connection stays up"
fi

log "A: pause, snapshot, exit"
SOCK=$SNAP/a.sock
expect_api "A: pause" 204 PATCH /vm '{"state": "Paused"}'
expect_api "A: snapshot/create" 204 PUT /snapshot/create \
	"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$SNAP/a.state\", \"mem_file_path\": \"$SNAP/a.mem\"}"
kill -TERM "$A"
wait_exit "$A" 60 || fail "A did not exit on SIGTERM"
kill "$holder" 2>/dev/null || true

ip addr flush dev ebbtap0
ip link set ebbtap0 down
ip addr add "$HOST_IP/24" dev ebbtap1
ip link set ebbtap1 up
if /bin/busybox ping -c 1 -W 3 "$GUEST_IP" >/dev/null 2>&1; then
	fail "negative control: $GUEST_IP answered with no guest running"
else
	pass "negative control: no answer from $GUEST_IP before the restore"
fi

log "R: a fresh ebb loads the snapshot with network_overrides and vsock_override"
ebb_start r --api-sock "$SNAP/r.sock"
R=$EBB_PID
SOCK=$SNAP/r.sock
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
load() {
	printf '{"snapshot_path": "%s", "mem_backend": {"backend_type": "File", "backend_path": "%s"}, "resume_vm": true, "network_overrides": [{"iface_id": "%s", "host_dev_name": "ebbtap1"}], "vsock_override": {"uds_path": "%s"}}' \
		"$SNAP/a.state" "$SNAP/a.mem" "$1" "$SNAP/r.vsock"
}
expect_api "R: overriding an interface the snapshot lacks" 400 PUT /snapshot/load "$(load eth7)"
expect_grep "R: says which interface" "$OUT/resp" 'no network interface \\"eth7\\"'
expect_api "R: snapshot/load with the overrides" 204 PUT /snapshot/load "$(load eth0)"
expect_grep "R: eth0 opened ebbtap1" "$OUT/r.err" 'network interface eth0: tap ebbtap1'
expect_grep "R: vsock listens on the new uds_path" "$OUT/r.err" "vsock: guest CID 3, host socket $SNAP/r.vsock"

if /bin/busybox ping -c 3 -W 10 "$GUEST_IP" >"$OUT/ping-r.log" 2>&1; then
	pass "R: ping $GUEST_IP over ebbtap1"
else
	fail "R: ping $GUEST_IP: $(tail -n 1 "$OUT/ping-r.log")"
fi
if wait_for "$OUT/r.out" 'EBB-HOLD-ENDED' 60 "$R"; then
	pass "R: the guest dropped the connection held at snapshot time (TRANSPORT_RESET): $(grep -a EBB-HOLD-ENDED "$OUT/r.out" | tr -d '\r')"
else
	fail "R: the connection held at snapshot time never ended in the guest"
fi
"$VSOCK_TOOL" -t 120 connect "fc:$SNAP/r.vsock:5000" sendrecv "$MIB1" >"$OUT/echo-r.out" 2>&1 || true
echo_ok "R: vsock echo on the new uds_path" "$OUT/echo-r.out"
[ -e "$SNAP/a.vsock" ] && fail "A's uds_path is still there" || pass "A's uds_path was removed"

kill -TERM "$R"
wait_exit "$R" 60 || fail "R did not exit on SIGTERM"
finish
