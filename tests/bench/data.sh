#!/usr/bin/env bash
# make bench-data: the collection's day-2 operations on a production-sized keyspace, each beside the
# floor of the same work done by hand with etcd's own tools on the same hosts in the same run (issue
# "Production-sized data", docs/sizing.md "Large keyspaces"). Three members are deployed and filled
# with pod-like JSON objects of about 1 MiB (tests/bench/podlike.py; a third of the keys written
# once, the rest overwritten: many revisions), then:
#   backup  - the backup playbook (snapshot, copy to the controller, seal, send to an SSH target)
#             against `etcdctl snapshot save` on a member and one copy of the file to the controller
#   drill   - the restore drill of the newest backup, against one `etcdutl snapshot restore`
#   defrag  - the maintenance playbook defragmenting every member (per member) against `etcdctl
#             defrag` of one member
#   restore - the restore playbook (every member) against its floor: the snapshot copied to each
#             member in parallel, then `etcdutl snapshot restore` on each in parallel, then the
#             members started together until each answers healthy
#   learner - a fourth member joining (a deploy with it in the inventory: learner, catch-up by
#             snapshot, promotion) against the raw copy of the snapshot to it
#   re-run  - the no-change deploy re-run (must not grow with the data)
# with the peak memory of a member (its container's resident memory, etcd's included, sampled
# every half second) and of the controller (the largest process of the run, GNU time's %M).
# A benchmark, not a test: it prints figures and asserts nothing. Not part of make test.
#   BENCH_DATA_MIB=1024  the data written, in MiB (4096 where the machine allows)
#   BENCH_DATA_REUSE=1   keep the hosts and the data of the last run (its deploy and fill) and
#                        measure the operations again (default 0: new hosts, filled anew)
#   BENCH_DATA_ONLY="backup drill defrag restore learner"  the operations measured, in that order
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TESTBED="$ROOT/tests/testbed"
WORK="$ROOT/.cache/bench-data"
# Addresses of this bench alone (10.250.0.190-193): no scenario and no other bench uses them.
FIRST_OCTET=190
PREFIX=bench-data-host
DATA_MIB=${BENCH_DATA_MIB:-1024}
# Each playbook's log ends with its slowest tasks: what bounds a figure.
export ANSIBLE_CALLBACK_PLUGINS="$HERE/callback_plugins"
export ANSIBLE_CALLBACKS_ENABLED=task_timer
cd "$ROOT"
# shellcheck source=tests/testbed/lib.sh
source "$TESTBED/lib.sh"
SSH_KEY=$("$TESTBED/host.sh" key)
SSH_OPTIONS=(-i "$SSH_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
PKI_HOST_DIR=/etc/etcd/pki

address() { echo "10.250.0.$((FIRST_OCTET + $1))"; }
on() {  # on I COMMAND: COMMAND on host I (a command line made here, on purpose)
  local i=$1
  shift
  # shellcheck disable=SC2029
  ssh "${SSH_OPTIONS[@]}" "root@$(address "$i")" "$@"
}
etcdctl_on() {  # etcdctl_on I ARGS: etcdctl on host I against its own member, with the member's pair
  local i=$1
  shift
  on "$i" "ETCDCTL_API=3 etcdctl --endpoints https://$(address "$i"):2379 --cacert $PKI_HOST_DIR/ca.pem" \
    "--cert $PKI_HOST_DIR/server.pem --key $PKI_HOST_DIR/server-key.pem $*"
}
now() { date +%s%N; }
seconds() { awk "BEGIN {printf \"%.1f\", ($2 - $1) / 1e9}"; }
ratio() { awk "BEGIN {if ($2 > 0) printf \"%.1fx\", $1 / $2; else print \"-\"}"; }

# The peak resident memory of the members' containers (cgroup v1 memory.stat total_rss, v2
# memory.stat anon), sampled every half second into WORK/peak-member while a measure runs.
member_rss() {
  local path file
  for path in $(podman inspect -f '{{.State.CgroupPath}}' "$PREFIX"{0..3} 2>/dev/null); do
    for file in "/sys/fs/cgroup/memory$path/memory.stat" "/sys/fs/cgroup$path/memory.stat"; do
      [[ -r $file ]] && awk '$1 == "total_rss" || $1 == "anon" {print $2; exit}' "$file" && break
    done
  done | sort -n | tail -1
}
sample_members() {
  local peak=0 rss
  while [[ -e "$WORK/sampling" ]]; do
    rss=$(member_rss)
    ((${rss:-0} > peak)) && peak=$rss && echo "$peak" >"$WORK/peak-member"
    sleep 0.5
  done
}

declare -A FIGURE MEMBER CONTROLLER
measure() {  # measure KEY COMMAND...: FIGURE[KEY] seconds, MEMBER[KEY] and CONTROLLER[KEY] MiB
  local key=$1 start end
  shift
  echo 0 >"$WORK/peak-member"
  echo 0 >"$WORK/peak-controller"
  touch "$WORK/sampling"
  sample_members &
  # A floor (a function of this script) is etcd's tools on the hosts: its controller side is scp.
  local timed=(/usr/bin/time -f %M -o "$WORK/peak-controller")
  [[ $(type -t "$1") == function ]] && timed=()
  start=$(now)
  "${timed[@]}" "$@" >"$WORK/$key.log" 2>&1 || {
    rm -f "$WORK/sampling"
    tail -40 "$WORK/$key.log"
    echo "$key failed (log: $WORK/$key.log)"
    exit 1
  }
  end=$(now)
  rm -f "$WORK/sampling"
  wait
  FIGURE[$key]=$(seconds "$start" "$end")
  MEMBER[$key]=$(($(cat "$WORK/peak-member") / 1048576))
  CONTROLLER[$key]=$(($(tail -1 "$WORK/peak-controller") / 1024))
  printf '%-12s %8s s   peak memory: member %5s MiB, controller %5s MiB   load %s\n' "$key" "${FIGURE[$key]}" \
    "${MEMBER[$key]}" "${CONTROLLER[$key]}" "$(cut -d' ' -f1 /proc/loadavg)"
}

# --- the hosts and the data ----------------------------------------------------------------------
mkdir -p "$WORK"
if [[ ${BENCH_DATA_REUSE:-0} != 1 ]]; then
  rm -rf "$WORK/etcd-pki" "$WORK/etcd-backups" "$WORK/floor.db" "$WORK"/*.log
  "$TESTBED/host.sh" rm "$PREFIX"{0..3} >/dev/null 2>&1 || true
  "$TESTBED/inventory.sh" "$WORK/all" "$PREFIX" "$FIRST_OCTET" 4 "etcd_version=3.5.30" \
    "etcd_quota_backend_bytes=8589934592" "etcd_health_timeout=600" >/dev/null
fi
# The first three are the cluster; the fourth keeps the SSH target's backups, then joins.
awk -v spare="$PREFIX"3 '$1 != spare' "$WORK/all" >"$WORK/three"
{
  printf '\n[backup]\n%s ansible_host=%s\n\n[backup:vars]\n' "$PREFIX"3 "$(address 3)"
  awk '/^\[etcd:vars\]/ {on = 1; next} on' "$WORK/all"
} >>"$WORK/three"
TARGETS="{\"etcd_backup_targets\": [{\"name\": \"vault\", \"type\": \"ssh\", \"host\": \"${PREFIX}3\", \"path\": \"/srv/etcd-backups\"}]}"

echo "data bench: 3 members, $DATA_MIB MiB of pod-like objects; machine: $(nproc) cores, $(free -g | awk '/^Mem/ {print $2}') GiB, load $(cut -d' ' -f1 /proc/loadavg)"
if [[ ${BENCH_DATA_REUSE:-0} != 1 ]]; then
  measure deploy ansible-playbook -i "$WORK/three" etcd.yml
  measure fill python3 "$HERE/fill.py" "https://$(address 0):2379" "$WORK/etcd-pki" "$DATA_MIB"
  cat "$WORK/fill.log"
fi
DB_BYTES=$(etcdctl_on 0 endpoint status -w json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Status"]["dbSize"])')
echo "database: $((DB_BYTES / 1048576)) MiB per member"

want() { [[ " ${BENCH_DATA_ONLY:-backup drill defrag restore learner} " == *" $1 "* ]]; }

# --- backup ----------------------------------------------------------------------------------------
floor_backup() {
  etcdctl_on 0 snapshot save /var/tmp/floor.db >/dev/null
  scp -q "${SSH_OPTIONS[@]}" "root@$(address 0):/var/tmp/floor.db" "$WORK/floor.db"
  on 0 rm -f /var/tmp/floor.db
}
want backup && measure floor-backup floor_backup
want backup && measure backup ansible-playbook -i "$WORK/three" playbooks/backup.yml -e "$TARGETS"

# --- drill -----------------------------------------------------------------------------------------
floor_restore_one() {
  scp -q "${SSH_OPTIONS[@]}" "$WORK/floor.db" "root@$(address 0):/var/tmp/floor.db"
  on 0 "etcdutl snapshot restore /var/tmp/floor.db --data-dir /var/tmp/floor-restore --skip-hash-check >/dev/null 2>&1;" \
    "rm -rf /var/tmp/floor.db /var/tmp/floor-restore"
}
[[ -f "$WORK/floor.db" ]] || floor_backup
want drill && measure floor-drill floor_restore_one
want drill && measure drill ansible-playbook -i "$WORK/three" playbooks/restore_drill.yml

# --- defragmentation -------------------------------------------------------------------------------
# etcdctl's 5 s command timeout is too short for a database of GiBs.
want defrag && measure floor-defrag etcdctl_on 1 --command-timeout=600s defrag
want defrag && measure defrag ansible-playbook -i "$WORK/three" playbooks/maintenance.yml -e etcd_defrag_rule=always

# --- restore ---------------------------------------------------------------------------------------
# Each member restored as the playbook restores it (its own name, the cluster's peers, a new token),
# then the three started together and polled until each answers healthy: a cluster of its own beside
# the bench's, on other ports (FLOOR_PEER, FLOOR_CLIENT), over plain HTTP.
FLOOR_PEER=12380
FLOOR_CLIENT=12379
floor_cluster() {
  local i peers=()
  for i in 0 1 2; do peers+=("floor$i=http://$(address "$i"):$FLOOR_PEER"); done
  (IFS=,; echo "${peers[*]}")
}
floor_restore() {
  local i copies=() endpoints=()
  for i in 0 1 2; do
    (scp -q "${SSH_OPTIONS[@]}" "$WORK/floor.db" "root@$(address "$i"):/var/tmp/floor.db" &&
      on "$i" "etcdutl snapshot restore /var/tmp/floor.db --data-dir /var/tmp/floor-restore --skip-hash-check" \
        "--name floor$i --initial-cluster $(floor_cluster) --initial-cluster-token floor" \
        "--initial-advertise-peer-urls http://$(address "$i"):$FLOOR_PEER >/dev/null 2>&1 &&" \
        "systemd-run --quiet --unit floor-etcd etcd --name floor$i --data-dir /var/tmp/floor-restore" \
        "--listen-peer-urls http://$(address "$i"):$FLOOR_PEER --listen-client-urls http://$(address "$i"):$FLOOR_CLIENT" \
        "--advertise-client-urls http://$(address "$i"):$FLOOR_CLIENT --quota-backend-bytes 8589934592") &
    copies+=($!)
    endpoints+=("http://$(address "$i"):$FLOOR_CLIENT")
  done
  wait "${copies[@]}"  # these only: the memory sampler runs beside them
  on 0 "timeout 600 sh -c 'until ETCDCTL_API=3 etcdctl --endpoints $(IFS=,; echo "${endpoints[*]}")" \
    "--dial-timeout 1s --command-timeout 1s endpoint health >/dev/null 2>&1; do sleep 0.1; done'"
}
floor_restore_clean() {  # outside the measure: the floor's cluster stopped and its files removed
  local i
  for i in 0 1 2; do
    on "$i" "systemctl kill --signal=SIGKILL floor-etcd 2>/dev/null; systemctl stop floor-etcd 2>/dev/null;" \
      "systemctl reset-failed floor-etcd 2>/dev/null; rm -rf /var/tmp/floor.db /var/tmp/floor-restore" &
  done
  wait
}
want restore && floor_restore_clean && measure floor-restore floor_restore && floor_restore_clean
# The newest backup, or the floor's snapshot where this run's hosts have had none (BENCH_DATA_ONLY=restore).
NEWEST=$({ find "$WORK/etcd-backups" -name 'etcd-snapshot-*.db' 2>/dev/null || true; } | sort | tail -1)
NEWEST=${NEWEST:-$WORK/floor.db}
want restore && measure restore ansible-playbook -i "$WORK/three" playbooks/restore.yml -e "etcd_restore_snapshot=$NEWEST"

# --- a learner joins -------------------------------------------------------------------------------
floor_learner() {  # the snapshot's bytes to the new host (the hosts hold no key to each other)
  scp -q "${SSH_OPTIONS[@]}" "$WORK/floor.db" "root@$(address 3):/var/tmp/floor-copy"
  on 3 rm -f /var/tmp/floor-copy
}
want learner && measure floor-learner floor_learner
want learner && measure learner ansible-playbook -i "$WORK/all" etcd.yml
# The re-run's inventory is the cluster as this run left it: the fourth host is a member only once it
# joined here (after a restore of the three, a fourth host that joined in an earlier run holds another
# cluster's data, which the deploy rightly refuses).
if want learner; then MEMBERS_NOW="$WORK/all"; else MEMBERS_NOW="$WORK/three"; fi
measure rerun ansible-playbook -i "$MEMBERS_NOW" etcd.yml

# --- the table ---------------------------------------------------------------------------------------
per_member_defrag=$(awk "BEGIN {printf \"%.1f\", ${FIGURE[defrag]:-0} / 3}")
{
  echo
  echo "| operation ($((DB_BYTES / 1048576)) MiB database, 3 members) | the collection | etcd's own / the floor | ratio | peak memory, member / controller |"
  echo "|---|---|---|---|---|"
  echo "| snapshot, seal, push / \`etcdctl snapshot save\` + one copy | ${FIGURE[backup]:--} s | ${FIGURE[floor-backup]:--} s | $(ratio "${FIGURE[backup]:-0}" "${FIGURE[floor-backup]:-0}") | ${MEMBER[backup]:--} / ${CONTROLLER[backup]:--} MiB |"
  echo "| restore of every member / copy to each + \`etcdutl snapshot restore\` on each + start | ${FIGURE[restore]:--} s | ${FIGURE[floor-restore]:--} s | $(ratio "${FIGURE[restore]:-0}" "${FIGURE[floor-restore]:-0}") | ${MEMBER[restore]:--} / ${CONTROLLER[restore]:--} MiB |"
  echo "| defragmentation, per member / \`etcdctl defrag\` of one | $per_member_defrag s | ${FIGURE[floor-defrag]:--} s | $(ratio "$per_member_defrag" "${FIGURE[floor-defrag]:-0}") | ${MEMBER[defrag]:--} / ${CONTROLLER[defrag]:--} MiB |"
  echo "| a learner joins / raw copy of the snapshot to it | ${FIGURE[learner]:--} s | ${FIGURE[floor-learner]:--} s | $(ratio "${FIGURE[learner]:-0}" "${FIGURE[floor-learner]:-0}") | ${MEMBER[learner]:--} / ${CONTROLLER[learner]:--} MiB |"
  echo "| drill of the newest backup / one \`etcdutl snapshot restore\` | ${FIGURE[drill]:--} s | ${FIGURE[floor-drill]:--} s | $(ratio "${FIGURE[drill]:-0}" "${FIGURE[floor-drill]:-0}") | ${MEMBER[drill]:--} / ${CONTROLLER[drill]:--} MiB |"
  echo "| no-change re-run ($(want learner && echo 4 || echo 3) members) | ${FIGURE[rerun]:--} s | | | ${MEMBER[rerun]:--} / ${CONTROLLER[rerun]:--} MiB |"
} | tee "$WORK/table.md"
