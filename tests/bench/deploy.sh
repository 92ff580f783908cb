#!/usr/bin/env bash
# make bench: the floor (the least possible work to bring up a TLS cluster: one SSH call per host,
# in parallel, that fetches, verifies, unpacks, writes certificates, unit and settings, starts etcd
# and waits until it is healthy) and the no-change floor (one SSH call per host that checks those
# files, the release and the member's health), then this collection's first deploy, no-change re-run and
# --check run for each member count, each with the slowest tasks, ansible-core's floor of the first
# deploy's and the re-run's shapes (core_floor below), and the ratios the speed goals are stated in.
# A benchmark, not a test: it prints figures and asserts nothing.
# Each figure carries the machine's 1-minute load average before and after its run: a loaded
# machine (Molecule scenarios next to it) makes every figure slower. Each playbook run also carries
# the controller's CPU time (ansible-playbook and its forks, user and system; not the SSH masters
# that outlive the run): the share that grows with the hosts on any controller, whereas on this
# machine the test hosts also share its cores. So each run also carries the hosts' CPU time (their
# containers' cgroups: the modules, sshd, and etcd itself), and the least time the two together
# allow on this machine's cores: a run close to it is bound by CPU, not by waiting.
#   BENCH_COUNTS="3 5 7" member counts to deploy, re-run and check (default all three)
#   BENCH_NO_TLS=1       also the first deploy of 3 members without TLS (default 0)
#   BENCH_DAY2=0         leave out the day-2 runs on the first member count: a backup, a roll
#                        (a changed setting, every member restarted), a scale out by one, the
#                        timers turned on and no-change re-runs with them (default 1)
#   BENCH_HOSTS_FETCH=0  leave out the first deploy with etcd_download_on_hosts=true, where each host
#                        fetches the release from the mirror itself (default 1)
#   BENCH_TOP=5          how many of the slowest tasks to print per run
#   BENCH_REPEAT=3       how many times the re-run and the --check run are timed; their median is
#                        the figure (a single run varies by a second on a busy 2-core machine)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TESTBED="$ROOT/tests/testbed"
WORK="$ROOT/.cache/bench"
# Addresses no Molecule scenario uses (tests/testbed/README.md), so the bench can run beside them.
FIRST_OCTET=200
MAX_HOSTS=7
VERSION=3.5.1
export ANSIBLE_CALLBACK_PLUGINS="$HERE/callback_plugins"
export ANSIBLE_CALLBACKS_ENABLED=task_timer
cd "$ROOT"
# shellcheck source=tests/testbed/lib.sh
source "$TESTBED/lib.sh"

load() { cut -d' ' -f1 /proc/loadavg; }
now() { date +%s%N; }
seconds() { awk "BEGIN {printf \"%.1f\", ($2 - $1) / 1e9}"; }
declare -A FIGURE CPU HOSTS_CPU LEAST TASKS
# The test hosts' SSH key, for the floors' own SSH calls (made once, outside their timed runs).
SSH_KEY=$("$TESTBED/host.sh" key)

# The least time CONTROLLER_CPU and HOSTS_CPU seconds of work take on this machine's cores.
cpu_bound() { awk "BEGIN {printf \"%.1f\", ($1 + $2) / $(nproc)}"; }

report() {  # report KEY LABEL [CHANGED]: the run measure timed last (TOOK)
  local start=${TOOK[0]} end=${TOOK[1]} load_before=${TOOK[2]} controller=${TOOK[3]} hosts=${TOOK[4]}
  FIGURE[$1]=$(seconds "$start" "$end")
  CPU[$1]=$controller
  HOSTS_CPU[$1]=$hosts
  LEAST[$1]=${hosts:+$(cpu_bound "$controller" "$hosts")}
  printf '%-36s %6s s   %-12s load %s -> %s%s\n' "$2" "${FIGURE[$1]}" "${3:+changed=$3}" "$load_before" "$(load)" \
    "   CPU: controller $controller s${hosts:+, hosts $hosts s, least time ${LEAST[$1]} s}"
}

# The CPU seconds, user and system, of this shell's children that have finished (bash's `times`,
# second line), written to FILE: run in this shell, as a command substitution would count its own.
children_cpu() { times >"$1"; }
cpu_between() {  # cpu_between BEFORE AFTER: the CPU seconds between two children_cpu files
  awk 'FNR == 2 {for (i = 1; i <= 2; i++) {split($i, t, /[ms]/); s[FILENAME] += t[1] * 60 + t[2]}}
       END {printf "%.1f", s[ARGV[2]] - s[ARGV[1]]}' "$1" "$2"
}

# The CPU nanoseconds the bench hosts' containers have used so far (cgroup v1 cpuacct, or v2
# cpu.stat); empty when a cgroup cannot be read.
hosts_cpu_ns() {
  local names paths path total=0
  mapfile -t names < <(awk '/^bench-host/ {print $1}' "$WORK/hosts")
  mapfile -t paths < <(podman inspect -f '{{.State.CgroupPath}}' "${names[@]}" 2>/dev/null)
  [[ ${#paths[@]} -eq ${#names[@]} ]] || return 0
  for path in "${paths[@]}"; do
    if [[ -r "/sys/fs/cgroup/cpuacct$path/cpuacct.usage" ]]; then
      total=$((total + $(cat "/sys/fs/cgroup/cpuacct$path/cpuacct.usage")))
    elif [[ -r "/sys/fs/cgroup$path/cpu.stat" ]]; then
      total=$((total + 1000 * $(awk '$1 == "usage_usec" {print $2}' "/sys/fs/cgroup$path/cpu.stat")))
    else
      return 0
    fi
  done
  echo "$total"
}

# measure COMMAND...: runs COMMAND, timed; TOOK holds its START END LOAD_BEFORE CONTROLLER_CPU HOSTS_CPU
measure() {
  local load_before hosts_before hosts_after start end
  load_before=$(load)
  hosts_before=$(hosts_cpu_ns)
  children_cpu "$WORK/cpu-before"
  start=$(now)
  "$@"
  end=$(now)
  children_cpu "$WORK/cpu-after"
  hosts_after=$(hosts_cpu_ns)
  TOOK=("$start" "$end" "$load_before" "$(cpu_between "$WORK/cpu-before" "$WORK/cpu-after")"
    "${hosts_before:+${hosts_after:+$(seconds "$hosts_before" "$hosts_after")}}")
}

playbook() {  # playbook LOG [ansible-playbook options]
  local log=$1
  shift
  ansible-playbook "${PLAYBOOK:-etcd.yml}" -i "$WORK/hosts" "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
}

run() {  # [PLAYBOOK=FILE] run KEY LABEL [ansible-playbook options]: one timed playbook run with its profile
  local key=$1 label=$2 log="$WORK/$1.log" top_tasks=1
  shift 2
  [[ ${BENCH_TOP:-5} == -1 ]] && top_tasks=0
  measure playbook "$log" "$@"
  report "$key" "$label" \
    "$(awk '/^bench-host/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$log")"
  awk -v top="${BENCH_TOP:-5}" '/^task profile/ {p = 1} p && n++ <= top {print "    " $0}' "$log"
  # The tasks each member ran or skipped (the recap's ok and skipped); TASKS[KEY] is the most of any.
  TASKS[$key]=$(awk '/^bench-host/ {for (i = 1; i <= NF; i++) {split($i, a, "="); if (a[1] == "ok" || a[1] == "skipped") s[$1] += a[2]}}
                    END {for (h in s) if (s[h] > m) m = s[h]; print m + 0}' "$log")
  [[ $top_tasks == 1 ]] && awk '/^bench-host/ {for (i = 1; i <= NF; i++) {split($i, a, "="); v[a[1]] = a[2]}
      line = line sprintf("%s%s %d run + %d skipped", line ? ", " : "", $1, v["ok"], v["skipped"])}
    END {print "    tasks per member: " line "; target at most 25 each"}' "$log"
  [[ $top_tasks == 1 ]] && awk '/^plan calls: / {print "    " $0 "; target at most 2"}' "$log"
  return 0
}

median() { printf '%s\n' "$@" | sort -n | awk '{t[NR] = $1} END {print t[int((NR + 1) / 2)]}'; }

repeated() {  # repeated KEY LABEL COMMAND [arguments]: BENCH_REPEAT timed no-change runs, each
  # `COMMAND KEY-i LABEL,i arguments` (run: with the slowest tasks of the first); FIGURE[KEY] is the median
  local key=$1 label=$2 command=$3 i top times=() cpus=() hosts_cpus=()
  shift 3
  for ((i = 1; i <= ${BENCH_REPEAT:-3}; i++)); do
    top=-1
    [[ $i == 1 ]] && top=${BENCH_TOP:-5}
    BENCH_TOP=$top "$command" "$key-$i" "$label, $i" "$@"
    times+=("${FIGURE[$key-$i]}")
    cpus+=("${CPU[$key-$i]}")
    hosts_cpus+=("${HOSTS_CPU[$key-$i]}")
  done
  TASKS[$key]=${TASKS[$key-1]:-}
  FIGURE[$key]=$(median "${times[@]}")
  CPU[$key]=$(median "${cpus[@]}")
  HOSTS_CPU[$key]=$(median "${hosts_cpus[@]}")
  LEAST[$key]=${HOSTS_CPU[$key]:+$(cpu_bound "${CPU[$key]}" "${HOSTS_CPU[$key]}")}
  printf '%-36s %6s s   median of %d, CPU: controller %s s%s\n' "$label" "${FIGURE[$key]}" "${#times[@]}" "${CPU[$key]}" \
    "${HOSTS_CPU[$key]:+, hosts ${HOSTS_CPU[$key]} s, least time ${LEAST[$key]} s}"
}

remove_hosts() {
  local names=()
  for ((i = 0; i < MAX_HOSTS; i++)); do names+=("bench-host$i"); done
  "$TESTBED/host.sh" rm "${names[@]}" >/dev/null 2>&1 || true
}

fresh() {  # fresh COUNT [inventory lines...]: new hosts and an inventory for them
  local count=$1
  shift
  remove_hosts
  rm -rf "$WORK/etcd-pki" "$WORK/etcd-backups"
  "$TESTBED/inventory.sh" "$WORK/hosts" bench-host "$FIRST_OCTET" "$count" "$@" >/dev/null 2>&1
}

# --- the floor ---------------------------------------------------------------------------------
# Certificates are made before the clock starts (the collection's figures include its PKI step):
# a CA and one pair per member, for its peer and client traffic and as the health check's client.
floor_pki() {
  local count=$1 dir="$WORK/floor-pki" ip i
  rm -rf "$dir" && mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=floor-ca \
    -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
  for ((i = 0; i < count; i++)); do
    ip="10.250.0.$((FIRST_OCTET + i))"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=bench-host$i" \
      -keyout "$dir/$i-key.pem" -out "$dir/$i.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$i.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial -days 2 \
      -extfile <(printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$ip") \
      -out "$dir/$i.pem" 2>/dev/null
  done
}

# The files one member's floor writes, in WORK/floor-I/ for its scripts to write and compare.
floor_files() {
  local i=$1 cluster=$2 pki="$WORK/floor-pki" dir="$WORK/floor-$1" ip="10.250.0.$((FIRST_OCTET + $1))"
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$pki/ca.pem" "$dir/ca.pem" && cp "$pki/$i.pem" "$dir/member.pem" && cp "$pki/$i-key.pem" "$dir/member-key.pem"
  cat >"$dir/etcd.env" <<EOF
ETCD_NAME=bench-host$i
ETCD_DATA_DIR=/var/lib/floor
ETCD_LISTEN_PEER_URLS=https://$ip:2380
ETCD_INITIAL_ADVERTISE_PEER_URLS=https://$ip:2380
ETCD_LISTEN_CLIENT_URLS=https://$ip:2379
ETCD_ADVERTISE_CLIENT_URLS=https://$ip:2379
ETCD_INITIAL_CLUSTER=$cluster
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_INITIAL_CLUSTER_TOKEN=floor
ETCD_CERT_FILE=/etc/floor/member.pem
ETCD_KEY_FILE=/etc/floor/member-key.pem
ETCD_TRUSTED_CA_FILE=/etc/floor/ca.pem
ETCD_CLIENT_CERT_AUTH=true
ETCD_PEER_CERT_FILE=/etc/floor/member.pem
ETCD_PEER_KEY_FILE=/etc/floor/member-key.pem
ETCD_PEER_TRUSTED_CA_FILE=/etc/floor/ca.pem
ETCD_PEER_CLIENT_CERT_AUTH=true
EOF
  cat >"$dir/floor.service" <<EOF
[Service]
Type=notify
EnvironmentFile=/etc/floor/etcd.env
ExecStart=/opt/floor/etcd-v$VERSION-linux-amd64/etcd
EOF
}

FLOOR_FILES=(ca.pem member.pem member-key.pem etcd.env floor.service)
# Where each of those files goes on the host.
floor_path() { if [[ $1 == floor.service ]]; then echo /etc/systemd/system/floor.service; else echo "/etc/floor/$1"; fi; }

# Asks the member whether it is healthy, until it is or WAIT seconds have passed.
floor_health() {  # floor_health I WAIT
  local i=$1 ip="10.250.0.$((FIRST_OCTET + $1))"
  cat <<EOF
python3 - <<'PY'
import json, ssl, time, urllib.request
ctx = ssl.create_default_context(cafile="/etc/floor/ca.pem")
ctx.load_cert_chain("/etc/floor/member.pem", "/etc/floor/member-key.pem")
deadline = time.monotonic() + $2
while True:
    try:
        if json.load(urllib.request.urlopen("https://$ip:2379/health", context=ctx, timeout=2))["health"] == "true":
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        raise SystemExit("bench-host$i: not healthy")
    time.sleep(0.05)
PY
EOF
}

# The whole of one host's first deploy, as one script for one SSH call.
floor_script() {
  local i=$1 dir="$WORK/floor-$1" file mode
  local base="http://$TESTBED_GATEWAY:$TESTBED_MIRROR_PORT/v$VERSION" tarball="etcd-v$VERSION-linux-amd64.tar.gz"
  cat <<EOF
set -euo pipefail
mkdir -p /opt/floor /etc/floor /var/lib/floor && chmod 700 /var/lib/floor
python3 - <<'PY'
import hashlib, io, tarfile, urllib.request
data = urllib.request.urlopen("$base/$tarball", timeout=30).read()
sums = urllib.request.urlopen("$base/SHA256SUMS", timeout=30).read().decode()
want = dict(reversed(line.split()) for line in sums.splitlines() if line.strip())["$tarball"]
assert hashlib.sha256(data).hexdigest() == want, "checksum mismatch"
tarfile.open(fileobj=io.BytesIO(data)).extractall("/opt/floor")
PY
EOF
  for file in "${FLOOR_FILES[@]}"; do
    mode=644
    [[ $file == member-key.pem ]] && mode=600
    printf "install -m %s /dev/stdin %s <<'FILE'\n%s\nFILE\n" "$mode" "$(floor_path "$file")" "$(cat "$dir/$file")"
  done
  echo "systemctl daemon-reload"
  echo "systemctl start --no-block floor"
  floor_health "$i" 60
}

# The whole of one host's no-change run, as one script for one SSH call: its files are the wanted
# ones, it runs the wanted release, and it is healthy.
floor_check_script() {
  local i=$1 dir="$WORK/floor-$1" file
  echo "set -euo pipefail"
  echo "sha256sum --quiet -c <<'SUMS'"
  for file in "${FLOOR_FILES[@]}"; do echo "$(sha256sum <"$dir/$file" | cut -d' ' -f1)  $(floor_path "$file")"; done
  echo "SUMS"
  # grep without -q reads all of etcd's output: pipefail would fail on the SIGPIPE of an early exit.
  echo "/opt/floor/etcd-v$VERSION-linux-amd64/etcd --version | grep -x 'etcd Version: $VERSION' >/dev/null"
  echo "systemctl is-active --quiet floor"
  floor_health "$i" 0
}

on_each_host() {  # on_each_host COUNT SCRIPT: WORK/SCRIPT-I.sh on each host, one SSH call each, all at once
  local count=$1 i pids=()
  for ((i = 0; i < count; i++)); do
    ssh -i "$SSH_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
      "root@10.250.0.$((FIRST_OCTET + i))" bash -s <"$WORK/$2-$i.sh" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

# --- ansible-core's floor -----------------------------------------------------------------------
# What ansible-playbook itself costs the controller for a run of the no-change re-run's shape: each
# host runs and skips as many tasks as it did in that run (its recap's ok and skipped); each member
# is reached over SSH once (a ping, as the no-change floor calls each host once), every other task
# run is an assert (no SSH) and each skipped one is `when: false`. No role run by ansible-playbook
# can cost the controller less for the same tasks.
core_floor_play() {  # core_floor_play LOG: the play of the shape of the run whose log is LOG
  awk '
    function tasks(count, skipped, first_module,   i, out) {
      for (i = 0; i < count; i++) out = out "    - " (i == 0 && first_module ? first_module : "ansible.builtin.assert:\n        that: true") "\n"
      for (i = 0; i < skipped; i++) out = out "    - ansible.builtin.assert:\n        that: true\n      when: false\n"
      return out ? out : "    []\n"
    }
    /^(bench-host|localhost)/ {
      for (i = 1; i <= NF; i++) {split($i, a, "="); if (a[1] == "ok") ok[$1] = a[2]; if (a[1] == "skipped") sk[$1] = a[2]}
    }
    END {
      first = "bench-host0"; least_ok = ok[first]; least_sk = sk[first]
      for (h in ok) if (h != "localhost") {if (ok[h] < least_ok) least_ok = ok[h]; if (sk[h] < least_sk) least_sk = sk[h]}
      printf "- name: What localhost ran\n  hosts: localhost\n  gather_facts: false\n  tasks:\n%s", tasks(ok["localhost"], sk["localhost"], "")
      printf "- name: What every member ran\n  hosts: etcd\n  gather_facts: false\n  tasks:\n%s", tasks(least_ok, least_sk, "ansible.builtin.ping:")
      printf "- name: What only the first member ran (the run_once tasks)\n  hosts: %s\n  gather_facts: false\n  tasks:\n%s", first, tasks(ok[first] - least_ok, sk[first] - least_sk, "")
    }' "$1"
}

core_floor() {  # core_floor KEY LABEL RUN: ansible-core's floor for the shape of the run RUN (its first log), timed
  core_floor_play "$WORK/$3.log" >"$WORK/core-floor.yml"
  measure playbook "$WORK/$1.log"
  report "$1" "$2"
}

floor_check() {  # floor_check KEY LABEL COUNT: the no-change floor, timed
  measure on_each_host "$3" floor-check
  report "$1" "$2"
}

floor() {  # floor COUNT: fresh hosts, every host's one SSH call at once, timed; then the no-change floor
  local count=$1 cluster="" i
  fresh "$count"
  floor_pki "$count"
  for ((i = 0; i < count; i++)); do cluster+="${cluster:+,}bench-host$i=https://10.250.0.$((FIRST_OCTET + i)):2380"; done
  for ((i = 0; i < count; i++)); do
    floor_files "$i" "$cluster"
    floor_script "$i" >"$WORK/floor-$i.sh"
    floor_check_script "$i" >"$WORK/floor-check-$i.sh"
  done
  measure on_each_host "$count" floor
  report "floor-$count" "floor, $count members"
  repeated "floor-check-$count" "no-change floor, $count members" floor_check "$count"
}

# Day-2 operations on the COUNT members the runs above left: a backup to the controller, a roll
# (the heartbeat interval changed: every member restarts, the leader last), then one more member
# (started, joined as a learner, promoted); the roll's setting stays, so the scale out rolls nobody.
day2() {  # day2 COUNT
  local count=$1 new="bench-host$1" ip="10.250.0.$((FIRST_OCTET + $1))"
  PLAYBOOK=playbooks/backup.yml run "backup-$count" "backup, $count members"
  run "roll-$count" "roll of $count members" -e etcd_heartbeat_interval=150
  "$TESTBED/host.sh" up "$new=$ip" >/dev/null 2>&1
  sed -i "/^\[etcd:vars\]/i $new ansible_host=$ip NODE_NAME=$new" "$WORK/hosts"
  run "scale-$count" "scale out $count -> $((count + 1)) members" -e etcd_heartbeat_interval=150
  # The members' timers on (scheduled snapshots and defragmentation), then no-change re-runs with them.
  local timers=(-e etcd_heartbeat_interval=150 -e etcd_backup_schedule=hourly -e etcd_maintenance_schedule=weekly)
  run "timers-$count" "timers on, $((count + 1)) members" "${timers[@]}"
  repeated "rerun-timers-$count" "no-change re-run with timers, $((count + 1)) members" run "${timers[@]}"
}

ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
# per_member FIGURE FIRST_FIGURE COUNT FIRST_COUNT: how much FIGURE grew per member from FIRST_COUNT
per_member() { awk "BEGIN {printf \"%.2f\", ($1 - $2) / ($3 - $4)}"; }

mkdir -p "$WORK"
counts=${BENCH_COUNTS:-3 5 7}
echo "raftops.etcd deploy benchmark ($(nproc) cores; hosts are local systemd containers over SSH; etcd $VERSION)"
for count in $counts; do
  floor "$count"
  fresh "$count"
  run "first-$count" "first deploy, $count members"
  PLAYBOOK="$WORK/core-floor.yml" core_floor "core-first-$count" "ansible-core's floor of that deploy" "first-$count"
  repeated "rerun-$count" "no-change re-run, $count members" run
  PLAYBOOK="$WORK/core-floor.yml" repeated "core-$count" "ansible-core's floor of that re-run" core_floor "rerun-$count-1"
  repeated "check-$count" "--check run, $count members" run --check
  if [[ "${BENCH_HOSTS_FETCH:-1}" == 1 ]]; then
    fresh "$count"
    run "fetch-$count" "first deploy, $count, hosts fetch" -e etcd_download_on_hosts=true
  fi
  if [[ "${BENCH_DAY2:-1}" == 1 && "$count" == "${counts%% *}" && "$count" -lt "$MAX_HOSTS" ]]; then
    day2 "$count"
  fi
done
if [[ "${BENCH_NO_TLS:-0}" == 1 ]]; then
  fresh 3 "etcd_tls=false"
  run "first-3-no-tls" "first deploy, 3 members, no TLS"
fi
remove_hosts

echo
echo "ratios"
for count in $counts; do
  printf '  %d members: first deploy / floor %s\n' "$count" "$(ratio "${FIGURE[first-$count]}" "${FIGURE[floor-$count]}")"
  printf '  %d members: no-change re-run / no-change floor %s\n' "$count" \
    "$(ratio "${FIGURE[rerun-$count]}" "${FIGURE[floor-check-$count]}")"
  [[ -n "${FIGURE[fetch-$count]:-}" ]] && printf '  %d members: first deploy, hosts fetch / floor %s\n' "$count" \
    "$(ratio "${FIGURE[fetch-$count]}" "${FIGURE[floor-$count]}")"
  # How close each run came to the least time its CPU work allows on this machine.
  if [[ -n "${LEAST[rerun-$count]:-}" ]]; then
    printf '  %d members: time / least time for its CPU, first deploy %s, re-run %s, --check %s\n' "$count" \
      "$(ratio "${FIGURE[first-$count]}" "${LEAST[first-$count]}")" "$(ratio "${FIGURE[rerun-$count]}" "${LEAST[rerun-$count]}")" \
      "$(ratio "${FIGURE[check-$count]}" "${LEAST[check-$count]}")"
  fi
done
first=${counts%% *}
for count in $counts; do
  [[ "$count" == "$first" ]] && continue
  printf '  %d vs %d members: first deploy %s, re-run %s, --check %s\n' "$count" "$first" \
    "$(ratio "${FIGURE[first-$count]}" "${FIGURE[first-$first]}")" \
    "$(ratio "${FIGURE[rerun-$count]}" "${FIGURE[rerun-$first]}")" \
    "$(ratio "${FIGURE[check-$count]}" "${FIGURE[check-$first]}")"
  # The controller's share, and the floors': on this machine the hosts share the controller's
  # cores, so even the least possible work grows with the member count.
  printf '  %d vs %d members: controller CPU, first deploy %s, re-run %s; the floor itself %s, the no-change floor %s\n' \
    "$count" "$first" \
    "$(ratio "${CPU[first-$count]}" "${CPU[first-$first]}")" "$(ratio "${CPU[rerun-$count]}" "${CPU[rerun-$first]}")" \
    "$(ratio "${FIGURE[floor-$count]}" "${FIGURE[floor-$first]}")" \
    "$(ratio "${FIGURE[floor-check-$count]}" "${FIGURE[floor-check-$first]}")"
  if [[ -n "${LEAST[rerun-$count]:-}" ]]; then
    printf '  %d vs %d members: least time for the CPU (controller and hosts), first deploy %s, re-run %s\n' "$count" "$first" \
      "$(ratio "${LEAST[first-$count]}" "${LEAST[first-$first]}")" "$(ratio "${LEAST[rerun-$count]}" "${LEAST[rerun-$first]}")"
  fi
done
# The speed goals, each with its floor or target beside it.
echo
echo "goals"
for count in $counts; do
  printf '  %d members: first deploy %s x the floor (target at most 3 x; ansible-core alone, for a run of its shape, %s x)\n' "$count" \
    "$(ratio "${FIGURE[first-$count]}" "${FIGURE[floor-$count]}")" "$(ratio "${FIGURE[core-first-$count]}" "${FIGURE[floor-$count]}")"
  printf '  %d members: controller CPU of the no-change re-run %s s (target at most 3 s for 3 members; the no-change floor %s s; ansible-core alone, for a run of its shape, %s s)\n' \
    "$count" "${CPU[rerun-$count]}" "${CPU[floor-check-$count]}" "${CPU[core-$count]}"
  printf '  %d members: tasks per member run or skipped in the no-change re-run, at most %s (target at most 25)\n' \
    "$count" "${TASKS[rerun-$count]}"
  if [[ "$count" != "$first" ]]; then
    printf '  %d vs %d members: controller CPU of the no-change re-run %s s more per added member (target at most 0.3 s; ansible-core alone %s s)\n' \
      "$count" "$first" "$(per_member "${CPU[rerun-$count]}" "${CPU[rerun-$first]}" "$count" "$first")" \
      "$(per_member "${CPU[core-$count]}" "${CPU[core-$first]}" "$count" "$first")"
  fi
done
