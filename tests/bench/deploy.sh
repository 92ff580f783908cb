#!/usr/bin/env bash
# make bench: wall time of a first deploy of 3 and of 5 members (TLS, the default), of a
# no-change re-run with its changed count, and of a first deploy without TLS, each with the
# slowest tasks. A benchmark, not a test: it prints figures and asserts nothing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TESTBED="$ROOT/tests/testbed"
WORK="$ROOT/.cache/bench"
export ANSIBLE_CALLBACK_PLUGINS="$HERE/callback_plugins"
export ANSIBLE_CALLBACKS_ENABLED=task_timer
cd "$ROOT"

run() {  # run LABEL INVENTORY: one timed playbook run; prints its time, changed count and profile
  local label=$1 inventory=$2 start end log
  log="$WORK/$label.log"
  start=$(date +%s%N)
  ansible-playbook etcd.yml -i "$inventory" >"$log" 2>&1 || { cat "$log"; exit 1; }
  end=$(date +%s%N)
  printf '%-34s %6.1f s   changed=%s\n' "$label" "$(awk "BEGIN {print ($end - $start) / 1e9}")" \
    "$(awk '/^bench-host/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$log")"
  sed -n '/^task profile/,$p' "$log" | head -6 | sed 's/^/    /'
}

fresh() {  # fresh COUNT [inventory lines...]: new hosts and an inventory for them
  local count=$1
  shift
  "$TESTBED/host.sh" rm bench-host0 bench-host1 bench-host2 bench-host3 bench-host4 >/dev/null 2>&1 || true
  rm -rf "$WORK/etcd-pki"
  "$TESTBED/inventory.sh" "$WORK/hosts" bench-host 60 "$count" "$@" >/dev/null 2>&1
}

mkdir -p "$WORK"
echo "raftops.etcd deploy benchmark ($(nproc) cores; hosts are local systemd containers over SSH)"
for count in 3 5; do
  fresh "$count"
  run "first deploy, $count members" "$WORK/hosts"
  run "no-change re-run, $count members" "$WORK/hosts"
done
fresh 3 "etcd_tls=false"
run "first deploy, 3 members, no TLS" "$WORK/hosts"
"$TESTBED/host.sh" rm bench-host0 bench-host1 bench-host2 >/dev/null 2>&1 || true
