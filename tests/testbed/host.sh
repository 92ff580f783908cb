#!/usr/bin/env bash
# Test hosts: systemd + sshd containers on the podman network raftops-etcd, reached by Ansible
# over SSH as root at their fixed address, like real hosts.
#
#   host.sh network                   ensure the network (10.250.0.0/24, gateway .1; .2 is taken
#                                     by an anchor container) and its traffic guards
#   host.sh key                       create the SSH key pair once; print the private key path
#   host.sh up [--instance-config FILE] NAME=IP[@SUITE][+KIND] [NAME=IP[@SUITE][+KIND] ...]
#                                     start fresh hosts in parallel, wait for systemd and SSH;
#                                     then write Molecule's instance config to FILE. SUITE is
#                                     the Debian suite of the host's image (lib.sh
#                                     TESTBED_SUITES; default bookworm); KIND: +podman, a host
#                                     that runs containers itself (podman_image.sh, privileged),
#                                     or +privileged, the suite's image started --privileged, where
#                                     the role installs Podman itself (etcd_runtime: container)
#   host.sh kill NAME                 simulate a lost host: SIGKILL it (the stopped container,
#                                     disk included, stays until recreate/rm)
#   host.sh revive NAME IP            start a killed host again with its disk intact; wait for SSH
#   host.sh recreate NAME IP          replace the host with a fresh one, same name, address and
#                                     Debian suite (and a fresh data filesystem when it had one)
#
# RAFTOPS_TESTBED_DATA_FS=DIR:SIZE (for `up`): each host gets a filesystem of its own of SIZE at DIR,
# a tmpfs of the machine bound in, which a test can fill (the fault campaign's full data
# filesystem). It survives the host's crash, kill and reboot, not its recreation or removal.
#   host.sh rm [--instance-config FILE] NAME [NAME ...]
#                                     remove hosts (and empty Molecule's instance config)
#   host.sh teardown                  remove every test bed container, the anchor, the mirror
#                                     server, the network and its guards (not the image/cache)
#   host.sh diagnose                  print the test bed's state (after a failed scenario, so that
#                                     the end of a CI log says what was missing)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

SSH_OPTS=(-i "$TESTBED_KEY" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ControlMaster=no -o ControlPath=none
  -o ConnectTimeout=2)
WAIT_TIMEOUT="${RAFTOPS_TESTBED_WAIT:-90}"

# The network, plus three guards that keep test traffic on it:
# - an "anchor" container at .2 keeps the bridge, and so the gateway address the mirror server
#   listens on, up between scenarios (netavark removes the bridge with the last container);
# - an unreachable route for the subnet (metric 4242, below the bridge's own route) so that,
#   should the bridge be down anyway, packets for a test address fail at once instead of
#   leaving through the default route;
# - a REJECT rule so that containers reach nothing outside the test network (the role's default
#   release URL on the internet fails fast instead of going out).
ANCHOR=raftops-etcd-anchor
ANCHOR_IP=10.250.0.2
FWD_RULE=(-s "$TESTBED_SUBNET" ! -d "$TESTBED_SUBNET" -m comment --comment "raftops-etcd testbed: nothing leaves the test network" -j REJECT --reject-with icmp-net-prohibited)
ensure_network() {
  podman network exists "$TESTBED_NETWORK" ||
    podman network create --subnet "$TESTBED_SUBNET" --gateway "$TESTBED_GATEWAY" "$TESTBED_NETWORK" >/dev/null
  [[ "$(ip route show table main type unreachable)" == *"$TESTBED_SUBNET metric 4242"* ]] ||
    ip route add unreachable "$TESTBED_SUBNET" metric 4242
  if [[ "$(podman inspect --format '{{.State.Running}}' "$ANCHOR" 2>/dev/null)" != true ]]; then
    podman image exists "$TESTBED_IMAGE" || die "image $TESTBED_IMAGE is missing: run image.sh"
    podman rm -f -t 0 "$ANCHOR" >/dev/null 2>&1 || true
    podman run -d --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=64:64 \
      --network "$TESTBED_NETWORK" --ip "$ANCHOR_IP" --name "$ANCHOR" --label raftops.testbed=anchor \
      "$TESTBED_IMAGE" sleep infinity >/dev/null 2>"$TESTBED_CACHE/run-$ANCHOR.err" ||
      { cat "$TESTBED_CACHE/run-$ANCHOR.err" >&2; die "could not start $ANCHOR"; }
  fi
  iptables -C FORWARD "${FWD_RULE[@]}" 2>/dev/null || iptables -I FORWARD 1 "${FWD_RULE[@]}"
}

ensure_key() {
  if [[ ! -f "$TESTBED_KEY" ]]; then
    mkdir -p "$(dirname "$TESTBED_KEY")"
    chmod 700 "$(dirname "$TESTBED_KEY")"
    ssh-keygen -q -t ed25519 -N '' -C raftops-etcd-testbed -f "$TESTBED_KEY"
  fi
}

# Forget a host that is gone or replaced: end Ansible's persistent SSH connections to it
# (ControlPersist masters, named <ip>-<port>-<user> in ~/.ansible/cp by Molecule's control_path;
# asking a master whose peer died to exit can hang, so its pid is ended instead), and drop the
# neighbour entry so a connection to a dead address fails in ~3 s ("No route to host") rather
# than timing out.
forget_host() {
  local ip="$1" sock pid
  for sock in "${HOME:-/root}/.ansible/cp/$ip"-*; do
    [[ -S "$sock" ]] || continue
    # A master killed with its host leaves its socket behind: the check then fails, which must
    # not end this script (set -e, pipefail) before the socket is removed.
    pid="$(ssh -o ControlPath="$sock" -O check "$ip" 2>&1 | sed -n 's/.*pid=\([0-9]*\).*/\1/p' || true)"
    if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
    rm -f "$sock"
  done
  ip neigh flush to "$ip" 2>/dev/null || true
}

# Boot is done when the only job still running is etcd's (the rest wait on it): a member that comes
# back without a quorum to join stays "activating" until its start timeout, as on real hosts.
boot_waits_only_for_etcd() { # NAME
  local running
  running="$(podman exec "$1" systemctl list-jobs --no-legend 2>/dev/null | awk '$4 == "running" {print $2}')" ||
    return 1
  [[ -n "$running" ]] && ! grep -qvE '^etcd[^ ]*\.service$' <<<"$running"
}

wait_ready() { # NAME IP: systemd finished booting (running or degraded), then SSH answers
  local name="$1" ip="$2" deadline=$((SECONDS + WAIT_TIMEOUT)) state
  while :; do
    state="$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)"
    [[ "$state" == running || "$state" == degraded ]] && break
    [[ "$state" == starting ]] && boot_waits_only_for_etcd "$name" && break
    ((SECONDS < deadline)) || die "$name: systemd is '$state' after ${WAIT_TIMEOUT}s"
    sleep 0.2
  done
  until ssh "${SSH_OPTS[@]}" "root@$ip" true 2>/dev/null; do
    ((SECONDS < deadline)) || die "$name: no SSH on $ip after ${WAIT_TIMEOUT}s"
    sleep 0.2
  done
}

data_fs_dir() { echo "$TESTBED_CACHE/datafs/$1"; }

drop_data_fs() { # NAME: unmount the host's data filesystem, if it has one
  local dir
  dir="$(data_fs_dir "$1")"
  if mountpoint -q "$dir"; then umount "$dir"; fi
  rm -f "$dir.spec"
}

SUITE_LABEL=raftops.testbed.suite
# The suite a host was started with (its container's label), or nothing when there is no such host.
suite_of() { podman inspect --format "{{index .Config.Labels \"$SUITE_LABEL\"}}" "$1" 2>/dev/null || true; }
KIND_LABEL=raftops.testbed.kind
# +podman or +privileged for a host that runs containers (its container's label), else nothing.
kind_of() { podman inspect --format "{{index .Config.Labels \"$KIND_LABEL\"}}" "$1" 2>/dev/null || true; }

start_one() { # NAME IP SUITE [+KIND]: a fresh container (any old one of that name is removed first)
  local name="$1" ip="$2" suite="$3" kind="${4:-}" dir spec="${RAFTOPS_TESTBED_DATA_FS:-}" fs=() image opts=()
  image="$(testbed_image "$suite")"
  if [[ "$kind" == +podman ]]; then image="$(testbed_podman_image "$suite")"; opts=("${TESTBED_PODMAN_HOST_OPTS[@]}"); fi
  # Nested containers need it: without, fuse-overlayfs cannot mount and runc cannot mount proc.
  if [[ "$kind" == +privileged ]]; then opts=(--privileged); fi
  dir="$(data_fs_dir "$name")"
  # A recreated host gets the kind of data filesystem it had, empty.
  if [[ -z "$spec" && -f "$dir.spec" ]]; then spec="$(cat "$dir.spec")"; fi
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  forget_host "$ip"
  drop_data_fs "$name"
  if [[ -n "$spec" ]]; then
    [[ "$spec" == /*:* ]] || die "RAFTOPS_TESTBED_DATA_FS: expected DIR:SIZE, got '$spec'"
    mkdir -p "$dir"
    mount -t tmpfs -o "size=${spec#*:},mode=0755" tmpfs "$dir"
    echo "$spec" >"$dir.spec"
    fs=(--mount "type=bind,src=$dir,dst=${spec%%:*}")
  fi
  podman run -d "${TESTBED_RUN_OPTS[@]}" "${opts[@]}" \
    --network "$TESTBED_NETWORK" --ip "$ip" --hostname "$name" --name "$name" \
    --label raftops.testbed=1 --label "$SUITE_LABEL=$suite" --label "$KIND_LABEL=$kind" "${fs[@]}" \
    --mount "type=bind,src=$TESTBED_KEY.pub,dst=/root/.ssh/authorized_keys,ro=true" \
    "$image" /sbin/init >/dev/null 2>"$TESTBED_CACHE/run-$name.err" ||
    { cat "$TESTBED_CACHE/run-$name.err" >&2; die "$name: podman run failed"; }
  wait_ready "$name" "$ip"
}

# Molecule's instance config: one entry per host, from which Molecule's delegated driver makes
# ansible_host / ansible_user / ansible_port / ansible_private_key_file.
write_instance_config() { # FILE NAME=IP...
  local file="$1" spec
  shift
  {
    [[ $# -eq 0 ]] && echo "[]"
    for spec in "$@"; do
      spec="$(bare "$spec")"
      spec="${spec%@*}"
      printf -- '- instance: %s\n  address: %s\n  user: root\n  port: 22\n  identity_file: %s\n' \
        "${spec%%=*}" "${spec#*=}" "$TESTBED_KEY"
    done
  } >"$file.tmp"
  mv "$file.tmp" "$file"
}

bare() { # NAME=IP[@SUITE][+KIND]: without its kind
  local spec="${1%+podman}"
  echo "${spec%+privileged}"
}
suite_in() { # NAME=IP[@SUITE][+KIND]: its suite, the first of TESTBED_SUITES unless it names one
  local spec
  spec="$(bare "$1")"
  if [[ "$spec" == *@* ]]; then echo "${spec##*@}"; else echo "${TESTBED_SUITES[0]}"; fi
}
kind_in() { # NAME=IP[@SUITE][+KIND]: its kind, +podman or +privileged, else nothing
  case "$1" in *+podman) echo +podman ;; *+privileged) echo +privileged ;; esac
}

up() {
  local spec suite addr pids=() rc=0 conf=""
  if [[ "${1:-}" == --instance-config ]]; then conf="$2"; shift 2; fi
  for spec in "$@"; do # every spec checked before any host starts
    [[ "$spec" == *=* ]] || die "expected NAME=IP[@SUITE], got '$spec'"
    suite="$(suite_in "$spec")"
    [[ " ${TESTBED_SUITES[*]} " == *" $suite "* ]] ||
      die "$spec: unknown suite '$suite' (test bed suites: ${TESTBED_SUITES[*]})"
    podman image exists "$(testbed_image "$suite")" || die "image $(testbed_image "$suite") is missing: run image.sh"
    if [[ "$(kind_in "$spec")" == +podman ]]; then "$HERE/podman_image.sh" "$suite"; fi
  done
  ensure_network
  ensure_key
  for spec in "$@"; do
    addr="$(bare "$spec")"
    addr="${addr%@*}"
    start_one "${addr%%=*}" "${addr#*=}" "$(suite_in "$spec")" "$(kind_in "$spec")" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  if [[ "$rc" -eq 0 && -n "$conf" ]]; then write_instance_config "$conf" "$@"; fi
  return "$rc"
}

ip_of() { podman inspect --format "{{(index .NetworkSettings.Networks \"$TESTBED_NETWORK\").IPAddress}}" "$1" 2>/dev/null || true; }

mkdir -p "$TESTBED_CACHE"
cmd="${1:-}"
shift || true
case "$cmd" in
  network) ensure_network ;;
  key) ensure_key && echo "$TESTBED_KEY" ;;
  up) up "$@" ;;
  kill)
    [[ $# -ge 1 ]] || die "usage: host.sh kill NAME"
    ip="$(ip_of "$1")"
    podman kill "$1" >/dev/null
    podman wait "$1" >/dev/null 2>&1 || true
    if [[ -n "$ip" ]]; then forget_host "$ip"; fi
    log "$1 killed"
    ;;
  revive)
    [[ $# -eq 2 ]] || die "usage: host.sh revive NAME IP"
    forget_host "$2"
    podman start "$1" >/dev/null
    wait_ready "$1" "$2"
    log "$1 is back on $2 (disk intact)"
    ;;
  recreate)
    [[ $# -eq 2 ]] || die "usage: host.sh recreate NAME IP"
    # The fresh host runs the suite the old one ran (read before up removes it).
    suite="$(suite_of "$1")"
    suite="${suite:-${TESTBED_SUITES[0]}}"
    up "$1=$2@$suite$(kind_of "$1")"
    log "$1 recreated fresh on $2 ($suite)"
    ;;
  rm)
    if [[ "${1:-}" == --instance-config ]]; then write_instance_config "$2"; shift 2; fi
    for name in "$@"; do
      ip="$(ip_of "$name")"
      podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
      if [[ -n "$ip" ]]; then forget_host "$ip"; fi
      drop_data_fs "$name"
    done
    ;;
  teardown)
    "$HERE/mirror.sh" stop
    for name in $(podman ps -a --filter label=raftops.testbed --format '{{.Names}}'); do
      ip="$(ip_of "$name")"
      podman rm -f -t 0 "$name" >/dev/null
      if [[ -n "$ip" ]]; then forget_host "$ip"; fi
      drop_data_fs "$name"
    done
    podman network rm -f "$TESTBED_NETWORK" >/dev/null 2>&1 || true
    while iptables -C FORWARD "${FWD_RULE[@]}" 2>/dev/null; do iptables -D FORWARD "${FWD_RULE[@]}"; done
    ip route del unreachable "$TESTBED_SUBNET" metric 4242 2>/dev/null || true
    log "test bed removed"
    ;;
  diagnose)
    {
      echo "--- test bed state"
      podman image exists "$TESTBED_IMAGE" && echo "image $TESTBED_IMAGE: present" || echo "image $TESTBED_IMAGE: MISSING"
      podman network exists "$TESTBED_NETWORK" && echo "network $TESTBED_NETWORK: present" || echo "network $TESTBED_NETWORK: MISSING"
      "$HERE/mirror.sh" status && echo "mirror: answering" || echo "mirror: NOT answering"
      podman ps -a --filter label=raftops.testbed --format '{{.Names}} {{.Status}}'
      df -h "$TESTBED_CACHE" | tail -n 1
      for f in "$TESTBED_CACHE"/run-*.err "$TESTBED_CACHE/mirror-http.log"; do
        [[ -s "$f" ]] && { echo "--- $f"; tail -n 5 "$f"; }
      done
      [[ -f "$TESTBED_CACHE/debootstrap.log" ]] && { echo "--- debootstrap.log"; tail -n 5 "$TESTBED_CACHE/debootstrap.log"; }
    } >&2 || true
    ;;
  *) die "usage: host.sh {network|key|up NAME=IP[@SUITE]...|kill NAME|revive NAME IP|recreate NAME IP|rm NAME...|teardown|diagnose}" ;;
esac
