# Shared settings for the test bed scripts (sourced, not executed).
# shellcheck shell=bash disable=SC2034  # settings used by the scripts that source this

# One image per Debian suite (tests/testbed/image.sh); hosts run the first unless told otherwise.
TESTBED_SUITES=(bookworm trixie)
testbed_image() { echo "localhost/raftops-etcd-testbed:$1"; }
TESTBED_IMAGE="${RAFTOPS_TESTBED_IMAGE:-$(testbed_image bookworm)}"
# A host that runs containers itself (podman_image.sh): the suite's image with Podman.
testbed_podman_image() { echo "localhost/raftops-etcd-testbed:$1-podman"; }
TESTBED_NETWORK="${RAFTOPS_TESTBED_NETWORK:-raftops-etcd}"
TESTBED_SUBNET="10.250.0.0/24"
TESTBED_GATEWAY="10.250.0.1"
TESTBED_MIRROR_PORT="8080"
TESTBED_CACHE="${RAFTOPS_ETCD_CACHE:-${HOME:-/root}/.cache/raftops-etcd}"
TESTBED_KEY="$TESTBED_CACHE/ssh/id_ed25519"

# Every `podman run` here needs these: crun cannot run on this kind of machine and podman's
# default rlimits are refused (the hard limit for open files here is 20000). NET_ADMIN lets a
# test cut a host off with iptables; SYS_ADMIN lets systemd build the mount namespaces behind
# ProtectSystem=, PrivateTmp=, ReadWritePaths=, ... Without it systemd logs "Failed to set up
# namespace, assuming containerized execution and ignoring" and runs the unit unsandboxed, so
# a unit that misses a ReadWritePaths= would pass here and fail on a real host.
TESTBED_RUN_OPTS=(--runtime runc --systemd=always
  --ulimit nofile=20000:20000 --ulimit nproc=8192:8192
  --cap-add NET_ADMIN --cap-add SYS_ADMIN)
# And those of a host that runs containers itself: a nested container needs the devices and
# mounts of --privileged (/dev/fuse among them) and a cgroup namespace of its own (in the machine's,
# runc inside finds its cgroups at the machine's paths, which the host does not have).
TESTBED_PODMAN_HOST_OPTS=(--privileged --cgroupns private)

# RAFTOPS_TESTBED_TRACE=1: trace every command, with times, to $TESTBED_CACHE/trace.log.
if [[ -n "${RAFTOPS_TESTBED_TRACE:-}" ]]; then
  mkdir -p "$TESTBED_CACHE"
  exec {BASH_XTRACEFD}>>"$TESTBED_CACHE/trace.log"
  PS4='+ $(date +%T.%3N) ${BASH_SOURCE[0]##*/}:${LINENO} '
  set -x
fi

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

# retry CMD...: run a download from a package registry up to 4 times, 5, 10 and 20 s apart (a
# registry that fails for a moment must not fail a whole test run).
retry() {
  local attempt pause=5
  for attempt in 1 2 3 4; do
    "$@" && return 0
    ((attempt < 4)) || break
    log "attempt $attempt of 4 failed: $*; again in ${pause}s"
    sleep "$pause"
    pause=$((pause * 2))
  done
  return 1
}

# The Debian mirror this machine's apt uses (first bookworm "main" source), never hard-coded.
debian_mirror() {
  python3 - <<'PY'
import glob, re, sys
cands = []
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        for line in open(path):
            line = line.split("#", 1)[0].strip()
            m = re.match(r"deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)", line)
            if m:
                cands.append((m.group(2), [m.group(3)], m.group(4).split()))
    except OSError:
        pass
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path).read()):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            k, v = line.split(":", 1)
            fields[k.strip().lower()] = v.split()
        if "deb" not in fields.get("types", []) or fields.get("enabled", ["yes"])[0] == "no":
            continue
        for uri in fields.get("uris", []):
            cands.append((uri, fields.get("suites", []), fields.get("components", [])))
for uri, suites, comps in cands:
    if "bookworm" in suites and "main" in comps:
        print(uri.rstrip("/"))
        sys.exit(0)
sys.exit("no Debian bookworm main source found in the apt sources")
PY
}
