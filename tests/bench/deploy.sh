#!/usr/bin/env bash
# make bench: wall time of a first deploy of 3 and of 5 members (TLS, the default), of a
# no-change re-run with its changed count, and of a first deploy without TLS, each with the
# slowest tasks. A benchmark, not a test: it prints figures and asserts nothing.
# Each figure carries the machine's 1-minute load average before and after its run: a loaded
# machine (Molecule scenarios next to it) makes every figure slower.
#   BENCH_COUNTS="3 5"   member counts to deploy and re-run (default both)
#   BENCH_NO_TLS=1       also the first deploy without TLS (default 1)
#   BENCH_TOP=5          how many of the slowest tasks to print per run
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TESTBED="$ROOT/tests/testbed"
WORK="$ROOT/.cache/bench"
export ANSIBLE_CALLBACK_PLUGINS="$HERE/callback_plugins"
export ANSIBLE_CALLBACKS_ENABLED=task_timer
cd "$ROOT"

load() { cut -d' ' -f1 /proc/loadavg; }

run() {  # run LABEL INVENTORY: one timed playbook run; prints its time, changed count, load and profile
  local label=$1 inventory=$2 start end log load_before
  log="$WORK/$label.log"
  load_before=$(load)
  start=$(date +%s%N)
  ansible-playbook etcd.yml -i "$inventory" >"$log" 2>&1 || { cat "$log"; exit 1; }
  end=$(date +%s%N)
  printf '%-34s %6.1f s   changed=%-3s load %s -> %s\n' "$label" "$(awk "BEGIN {print ($end - $start) / 1e9}")" \
    "$(awk '/^bench-host/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$log")" \
    "$load_before" "$(load)"
  awk -v top="${BENCH_TOP:-5}" '/^task profile/ {p = 1} p && n++ <= top {print "    " $0}' "$log"
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
for count in ${BENCH_COUNTS:-3 5}; do
  fresh "$count"
  run "first deploy, $count members" "$WORK/hosts"
  run "no-change re-run, $count members" "$WORK/hosts"
done
if [[ "${BENCH_NO_TLS:-1}" == 1 ]]; then
  fresh 3 "etcd_tls=false"
  run "first deploy, 3 members, no TLS" "$WORK/hosts"
fi
"$TESTBED/host.sh" rm bench-host0 bench-host1 bench-host2 >/dev/null 2>&1 || true
