#!/usr/bin/env bash
# Start fresh test hosts and write an operator-style inventory for them (used by `make demo` and
# `make bench`): inventory.sh FILE PREFIX FIRST_IP_OCTET COUNT [extra group var lines...]
# Hosts are PREFIX0..PREFIX{COUNT-1} at 10.250.0.FIRST.., group [etcd], NODE_NAME = host name.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

file=$1 prefix=$2 first=$3 count=$4
shift 4
"$HERE/prepare.sh"
hosts=()
for ((i = 0; i < count; i++)); do hosts+=("$prefix$i=10.250.0.$((first + i))"); done
"$HERE/host.sh" up "${hosts[@]}"

mkdir -p "$(dirname "$file")"
{
  echo "[etcd]"
  for ((i = 0; i < count; i++)); do
    echo "$prefix$i ansible_host=10.250.0.$((first + i)) NODE_NAME=$prefix$i"
  done
  echo
  echo "[etcd:vars]"
  echo "ansible_user=root"
  echo "ansible_ssh_private_key_file=$("$HERE/host.sh" key)"
  echo "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
  echo "etcd_release_base_url=http://$TESTBED_GATEWAY:$TESTBED_MIRROR_PORT"
  echo "etcd_version=3.5.1"
  echo "etcd_limit_nofile=20000"
  for line in "$@"; do echo "$line"; done
} >"$file"
