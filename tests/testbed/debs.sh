#!/usr/bin/env bash
# Debian packages for the test hosts, which reach no Debian archive: PACKAGE... of Debian SUITE and
# every package they depend on that the suite's test bed image lacks (no recommends), as a flat apt
# repository in the mirror, served at http://GATEWAY:8080/debs-SUITE/ (a host's sources.list line:
# `deb [trusted=yes] http://10.250.0.1:8080/debs-SUITE ./`). Cached: built again only for a package it
# lacks, then with every package asked for before too, so that scenarios asking one suite for different
# packages do not take each other's away.
#
#   debs.sh SUITE PACKAGE...
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

(($# >= 2)) || die "usage: debs.sh SUITE PACKAGE..."
SUITE="$1"
shift
OUT="$TESTBED_CACHE/mirror/debs-$SUITE"
served() { [[ -f "$OUT/Packages" ]] && cat "$OUT/.packages" 2>/dev/null; }
# Whether the repository serves every package asked for.
has_all() { [[ -z "$(comm -13 <(served | tr ' ' '\n' | sort -u) <(printf '%s\n' "$@" | sort -u))" ]]; }
has_all "$@" && exit 0

exec {lock}>"$TESTBED_CACHE/mirror.lock"
flock "$lock"
has_all "$@" && exit 0 # built by another run meanwhile
# shellcheck disable=SC2046  # one word a package
set -- $(printf '%s\n' "$@" $(served) | sort -u)
WANT="$*"
ST="$TESTBED_CACHE/downloads/debian/apt-$SUITE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/raftops-debs.XXXXXX")"
# shellcheck disable=SC2064  # the folder of this run, fixed now
trap "rm -rf '$WORK'" EXIT
mkdir -p "$ST/lists/partial" "$ST/cache/archives/partial" "$WORK/archives/partial" "$WORK/repo"
printf 'deb %s %s main\n' "$(debian_mirror)" "$SUITE" >"$ST/sources.list"
# What the image has installed already, which apt then leaves out.
image="$(testbed_image "$SUITE")"
podman image exists "$image" || die "image $image is missing: run image.sh $SUITE"
cid="$(podman create "$image" true)"
podman cp "$cid:/var/lib/dpkg/status" "$WORK/status"
podman rm "$cid" >/dev/null
apt_private() {
  apt-get -qq -o APT::Sandbox::User=root -o Acquire::Languages=none -o Debug::NoLocking=1 \
    -o Dir::Etc::SourceList="$ST/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$ST/lists" -o Dir::Cache="$ST/cache" -o Dir::State::status="$WORK/status" \
    -o Dir::Cache::archives="$WORK/archives" "$@"
}
retry apt_private update >&2 || die "apt-get update failed for Debian $SUITE"
retry apt_private install -y --download-only --no-install-recommends "$@" >&2 || die "apt-get could not fetch $WANT"
mv "$WORK"/archives/*.deb "$WORK/repo/"
(cd "$WORK/repo" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null)
echo "$WANT" >"$WORK/repo/.packages"
rm -rf "$OUT.old"
if [[ -d "$OUT" ]]; then mv "$OUT" "$OUT.old"; fi
mv "$WORK/repo" "$OUT"
rm -rf "$OUT.old"
log "fetched $WANT and $(($(find "$OUT" -name '*.deb' | wc -l) - $#)) more packages of Debian $SUITE into $OUT"
