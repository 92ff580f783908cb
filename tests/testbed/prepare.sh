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
"$HERE/image.sh"
"$HERE/host.sh" network
"$HERE/mirror.sh" serve
