#!/usr/bin/env bash
# The image of a test host that runs containers itself (a platform with `podman: true`: etcd
# started with `podman run` inside it, the adopt_container scenario): the suite's base image
# (image.sh) with Podman, runc, fuse-overlayfs (the nested storage driver: overlay does not
# stack on the host's overlay) and nftables (netavark's firewall, for published ports) installed
# from Debian's archive. The build container runs on
# Podman's default network, not the test network, which reaches no package mirror. Labelled with a
# hash of this script and the base image's ID, so it is rebuilt only when either changes.
#   Usage: podman_image.sh SUITE   (prints nothing; the image is testbed_podman_image SUITE)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

SUITE="${1:?usage: podman_image.sh SUITE}"
BASE="$(testbed_image "$SUITE")"
IMAGE="$(testbed_podman_image "$SUITE")"
LABEL=raftops.testbed.hash
podman image exists "$BASE" || die "image $BASE is missing: run image.sh"
HASH="$( (cat "$HERE/podman_image.sh"; podman image inspect --format '{{.Id}}' "$BASE") | sha256sum | cut -c1-16)"

# One build at a time (hosts of one scenario start in parallel).
exec {lock}>"$TESTBED_CACHE/podman-image-$SUITE.lock"
flock "$lock"
if podman image exists "$IMAGE" &&
  [[ "$(podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$IMAGE")" == "$HASH" ]]; then
  exit 0
fi
start=$SECONDS
builder="raftops-testbed-podman-build-$SUITE"
podman rm -f -t 0 "$builder" >/dev/null 2>&1 || true
install() {
  podman rm -f -t 0 "$builder" >/dev/null 2>&1 || true
  podman run --name "$builder" "${TESTBED_RUN_OPTS[@]}" "$BASE" sh -c \
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc fuse-overlayfs nftables && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb' \
    >"$TESTBED_CACHE/podman-image-$SUITE.log" 2>&1
}
retry install || { tail -n 20 "$TESTBED_CACHE/podman-image-$SUITE.log" >&2; die "installing podman into $BASE failed"; }
podman commit --quiet --change "LABEL $LABEL=$HASH" --change 'CMD ["/sbin/init"]' --change "STOPSIGNAL SIGRTMIN+3" \
  "$builder" "$IMAGE" >/dev/null
podman rm "$builder" >/dev/null
log "image $IMAGE built in $((SECONDS - start)) s ($HASH)"
