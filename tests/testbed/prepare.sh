#!/usr/bin/env bash
# Everything a scenario needs before its hosts start, all cached: the collection symlink tree
# (.cache/collections/ansible_collections/raftops/etcd -> this checkout), the base image, the
# network with its guards, and the etcd release mirror served on http://10.250.0.1:8080.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

link="$ROOT/.cache/collections/ansible_collections/raftops/etcd"
if [[ "$(readlink "$link" 2>/dev/null)" != "$ROOT" ]]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$ROOT" "$link"
  log "linked $link -> $ROOT"
fi
# Each container's systemd takes several inotify instances; the kernel's default of 128 per user
# runs out at about 17 hosts (two lanes of scenarios, or a scenario beside `make demo`), and a
# host's systemd then never finishes booting. Raised only, never lowered.
if (( $(sysctl -n fs.inotify.max_user_instances) < 1024 )); then
  sysctl -q -w fs.inotify.max_user_instances=1024
  log "fs.inotify.max_user_instances raised to 1024"
fi
"$HERE/image.sh"
"$HERE/host.sh" network
"$HERE/mirror.sh" serve
