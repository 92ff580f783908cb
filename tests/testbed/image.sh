#!/usr/bin/env bash
# Build the local base images for the Molecule test bed, one per Debian suite (bookworm, and
# trixie for the second OS and the package-built clusters to adopt): systemd as PID 1, sshd and
# python3, plus what the test hosts cannot fetch later because they reach no package mirror:
# dnsmasq-base (the DNS server of the discovery scenario) and python3-cryptography (what the role
# installs from the host's own packages when members push backups off-host). No container
# registry is needed: debootstrap from the machine's own Debian mirror, then `podman import`. Each
# image is labelled with a hash of this script and its suite, so it is rebuilt only when they
# change.  Usage: image.sh [--force] [SUITE...]   (default: every suite in TESTBED_SUITES)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

LABEL=raftops.testbed.hash
FORCE=""
if [[ "${1:-}" == "--force" ]]; then FORCE=1; shift; fi
(($#)) || set -- "${TESTBED_SUITES[@]}"
MIRROR=""

build() { # SUITE
  local SUITE="$1" IMAGE HASH ROOTFS
  IMAGE="$(testbed_image "$SUITE")"
  HASH="$( (cat "$HERE/image.sh"; echo "$SUITE") | sha256sum | cut -c1-16)"
  if [[ -z "$FORCE" ]] && podman image exists "$IMAGE" &&
    [[ "$(podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$IMAGE")" == "$HASH" ]]; then
    log "image $IMAGE is up to date ($HASH)"
    return 0
  fi

  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  [[ -n "$MIRROR" ]] || MIRROR="$(debian_mirror)"
  mkdir -p "$TESTBED_CACHE/debootstrap-debs-$SUITE"
  ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/raftops-rootfs.XXXXXX")"
  # shellcheck disable=SC2064  # the folder of this build, fixed now
  trap "rm -rf '$ROOTFS'" EXIT

  start=$SECONDS
  log "debootstrap $SUITE from $MIRROR"
  bootstrap() { # a failed attempt leaves a partial tree: start each one from an empty folder
    find "$ROOTFS" -mindepth 1 -delete
    debootstrap --variant=minbase \
      --cache-dir="$TESTBED_CACHE/debootstrap-debs-$SUITE" \
      --include=systemd,systemd-sysv,dbus,python3,python3-cryptography,python3-cffi-backend,openssh-server,iproute2,iptables,ca-certificates,procps,tar,gzip,dnsmasq-base \
      "$SUITE" "$ROOTFS" "$MIRROR" >"$TESTBED_CACHE/debootstrap-$SUITE.log" 2>&1
  }
  retry bootstrap || { tail -n 30 "$TESTBED_CACHE/debootstrap-$SUITE.log" >&2; die "debootstrap $SUITE failed"; }

  # --- tailor the root file system for a container -------------------------------------------
  R="$ROOTFS"
  # A fresh machine-id per container (systemd writes one at first boot when the file is empty).
  : >"$R/etc/machine-id"
  rm -f "$R/var/lib/dbus/machine-id"
  # Units that fail or make no sense in a container.
  for unit in getty@tty1.service console-getty.service getty.target serial-getty@.service \
    systemd-remount-fs.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
    sys-kernel-tracing.mount sys-fs-fuse-connections.mount systemd-firstboot.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "$R/etc/systemd/system/$unit"
  done
  # sshd: on at boot, root by key only, quick logins.
  mkdir -p "$R/etc/systemd/system/multi-user.target.wants" "$R/root/.ssh"
  ln -sf /lib/systemd/system/ssh.service "$R/etc/systemd/system/multi-user.target.wants/ssh.service"
  chmod 700 "$R/root/.ssh"
  cat >"$R/etc/ssh/sshd_config.d/testbed.conf" <<'CONF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
GSSAPIAuthentication no
MaxSessions 50
MaxStartups 100:30:200
CONF
  printf 'testbed\n' >"$R/etc/hostname"
  # Slim down: package caches and docs are not needed.
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/usr/share/doc/* \
    "$R"/usr/share/man/* "$R"/usr/share/locale/*

  log "importing $IMAGE"
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  tar --numeric-owner -C "$R" -c . | podman import --quiet \
    --change "LABEL $LABEL=$HASH" --change "CMD [\"/sbin/init\"]" --change "STOPSIGNAL SIGRTMIN+3" \
    - "$IMAGE" >/dev/null
  rm -rf "$ROOTFS"
  log "image $IMAGE built in $((SECONDS - start)) s ($HASH)"
}

for suite in "$@"; do build "$suite"; done
