#!/usr/bin/env bash
# Hardware faults on one test host, for the preflight's tests:
#
#   fault.sh slow-disk NAME DIR IOPS  DIR on NAME becomes a file system of its own, on a loop
#                                     device whose writes are throttled to IOPS per second for
#                                     NAME's processes (blkio/io cgroup of its container): a slow
#                                     disk under etcd's data dir
#   fault.sh fast-disk NAME DIR       undo slow-disk (DIR is empty again afterwards)
#   fault.sh delay NAME MS            every TCP packet NAME sends or receives, but SSH's, waits MS
#                                     ms (NFQUEUE and tests/testbed/delayer.py: the kernel has no
#                                     netem): a round trip to or from NAME grows by 2 x MS
#   fault.sh undelay NAME             undo delay
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

pid_of() { podman inspect --format '{{.State.Pid}}' "$1"; }
in_host() { # NAME CMD...: a command in NAME's mount namespace, outside its cgroups (so that its
  # device rules do not apply to mounting)
  local name="$1"
  shift
  nsenter -t "$(pid_of "$name")" -m -- "$@"
}

# The write-IOPS limit of NAME's container for device MAJ:MIN; IOPS 0 lifts it.
throttle() { # NAME MAJ:MIN IOPS
  local pid cgroup
  pid="$(pid_of "$1")"
  if [[ -d /sys/fs/cgroup/blkio ]]; then
    cgroup="$(awk -F: '$2 == "blkio" {print $3}' "/proc/$pid/cgroup")"
    echo "$2 $3" >"/sys/fs/cgroup/blkio$cgroup/blkio.throttle.write_iops_device"
  else
    cgroup="$(awk -F: '$1 == "0" {print $3}' "/proc/$pid/cgroup")"
    echo "$2 wiops=$([[ "$3" -eq 0 ]] && echo max || echo "$3")" >"/sys/fs/cgroup$cgroup/io.max"
  fi
}

slow_disk() { # NAME DIR IOPS
  local name="$1" dir="$2" iops="$3" image loop device
  mkdir -p "$TESTBED_CACHE/faults"
  image="$(mktemp "$TESTBED_CACHE/faults/$name-disk.XXXXXX")"
  truncate -s 128M "$image"
  mkfs.ext4 -q -F "$image"
  loop="$(losetup --find --show "$image")"
  rm -f "$image" # the loop device keeps it open
  device="$(lsblk -dno MAJ:MIN "$loop" | tr -d ' ')"
  in_host "$name" sh -c "mkdir -p '$dir' && rm -f /dev/raftops-slow && mknod /dev/raftops-slow b ${device/:/ } &&
    mount /dev/raftops-slow '$dir' && rmdir '$dir/lost+found'"
  # Detached while mounted: the device goes away by itself when the file system is unmounted,
  # or when the host is removed.
  losetup --detach "$loop"
  throttle "$name" "$device" "$iops"
  log "$name: $dir on $loop, writes limited to $iops IOPS"
}

fast_disk() { # NAME DIR
  local name="$1" dir="$2" device
  device="$(in_host "$name" sh -c "stat -c '%t:%T' /dev/raftops-slow 2>/dev/null" || true)"
  if [[ -n "$device" ]]; then
    throttle "$name" "$((16#${device%%:*})):$((16#${device##*:}))" 0
  fi
  in_host "$name" sh -c "if mountpoint -q '$dir'; then umount '$dir'; fi; rm -f /dev/raftops-slow"
  log "$name: $dir back on the host's own disk"
}

# SSH is left alone so that Ansible is not slowed; --queue-bypass lets packets through unheld
# should the delayer stop.
DELAY_RULES=("INPUT -p tcp ! --dport 22" "OUTPUT -p tcp ! --sport 22")
delay() { # NAME MS
  local name="$1" rule
  podman cp "$HERE/delayer.py" "$name:/run/raftops-delayer.py"
  podman exec "$name" systemd-run --quiet --unit raftops-delayer --collect python3 /run/raftops-delayer.py 0 "$2"
  for rule in "${DELAY_RULES[@]}"; do
    # shellcheck disable=SC2086 # a rule is a list of iptables words
    podman exec "$name" iptables -A $rule -j NFQUEUE --queue-num 0 --queue-bypass
  done
  log "$name: TCP but SSH delayed by $2 ms each way"
}

undelay() { # NAME
  local name="$1" rule
  for rule in "${DELAY_RULES[@]}"; do
    # shellcheck disable=SC2086
    while podman exec "$name" iptables -D $rule -j NFQUEUE --queue-num 0 --queue-bypass 2>/dev/null; do :; done
  done
  podman exec "$name" systemctl stop raftops-delayer 2>/dev/null || true
  log "$name: no added delay"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  slow-disk) [[ $# -eq 3 ]] || die "usage: fault.sh slow-disk NAME DIR IOPS"; slow_disk "$@" ;;
  fast-disk) [[ $# -eq 2 ]] || die "usage: fault.sh fast-disk NAME DIR"; fast_disk "$@" ;;
  delay) [[ $# -eq 2 ]] || die "usage: fault.sh delay NAME MS"; delay "$@" ;;
  undelay) [[ $# -eq 1 ]] || die "usage: fault.sh undelay NAME"; undelay "$@" ;;
  *) die "usage: fault.sh {slow-disk NAME DIR IOPS|fast-disk NAME DIR|delay NAME MS|undelay NAME}" ;;
esac
