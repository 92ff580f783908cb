#!/usr/bin/env bash
# make demo: three local test hosts and a TLS etcd cluster on them, deployed the way an operator
# does it (ansible-playbook etcd.yml -i hosts). Re-running it converges the same cluster.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DEMO="$ROOT/.cache/demo"
inventory="$DEMO/hosts"

if [[ -f "$inventory" ]] && podman container exists demo-host0; then
  echo "[demo] reusing the demo hosts in $inventory"
else
  "$HERE/inventory.sh" "$inventory" demo-host 70 3
fi
cd "$ROOT"
ansible-playbook etcd.yml -i "$inventory"

key=$(sed -n 's/^ansible_ssh_private_key_file=//p' "$inventory")
cat <<INFO

The demo cluster is up: 3 members, TLS with client certificates, etcd 3.5.1.
  inventory:        $inventory
  certificates:     $DEMO/etcd-pki (CA, admin pair; the CA key stays here)

Reach it from this machine with the admin client pair:
  curl --cacert $DEMO/etcd-pki/ca.pem --cert $DEMO/etcd-pki/admin.pem --key $DEMO/etcd-pki/admin-key.pem https://10.250.0.70:2379/health
or with etcdctl on a member:
  ssh -i $key root@10.250.0.70 etcdctl --endpoints https://10.250.0.70:2379 \\
      --cacert /etc/etcd/pki/ca.pem --cert /etc/etcd/pki/server.pem --key /etc/etcd/pki/server-key.pem member list -w table
Try a day-2 operation:
  ansible-playbook playbooks/backup.yml -i $inventory
Remove the demo hosts: make demo-destroy
INFO
