#!/usr/bin/env bash
# Run Molecule scenarios in lanes side by side: the scenarios of one lane run one after another,
# the lanes at the same time. Each scenario has its own host names and addresses, so lanes do
# not meet on the test network; the test bed (image, network, mirror) is prepared once before
# they start, so no two scenarios build it at once.
#
#   lanes.sh "default pki" "upgrade restore"   two lanes
#
# Each output line carries its scenario's name. A failed scenario does not end its lane: the ones
# after it run too, so that one run tells every failure (each scenario has hosts of its own, and
# its destroy step removes them). At the end, the test bed's state and the failed scenarios'
# failure lines are printed. The last lines list every scenario with its result and duration.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

[[ $# -ge 1 ]] || die "usage: lanes.sh 'SCENARIO...' ['SCENARIO...' ...]"
# Each scenario's log, the summary and the lanes' times stay in RAFTOPS_LANES_RESULTS when it is
# given (suite.sh prints them in its table), in a temporary folder otherwise.
if [[ -n "${RAFTOPS_LANES_RESULTS:-}" ]]; then
  results="$RAFTOPS_LANES_RESULTS"
  rm -rf "$results" && mkdir -p "$results"
else
  results="$(mktemp -d)"
  trap 'rm -rf "$results"' EXIT
fi
# A scenario still running after SCENARIO_MINUTES is stopped (its hosts destroyed) and reported
# TIMEOUT: a hung run fails that scenario alone, and the table still comes before CI's own limit.
SCENARIO_MINUTES="${SCENARIO_MINUTES:-40}"
# Wide lines, so that pytest's summary and Molecule's output keep a failure's message on one line.
export COLUMNS=250

# Each line with its scenario and the time it came: where a scenario's minutes go (its steps,
# each test) reads from the log.
stamped() { # SCENARIO
  local line
  while IFS= read -r line || [[ -n $line ]]; do printf '[%s %(%T)T] %s\n' "$1" -1 "$line"; done
}

run_lane() { # SCENARIO...
  local scenario start one result rc=0 lane_start=$SECONDS
  for scenario in "$@"; do
    start=$SECONDS one=0 result=passed
    timeout -k 60 "${SCENARIO_MINUTES}m" molecule test -s "$scenario" 2>&1 | stamped "$scenario" \
      | tee "$results/$scenario.log" || one=$?
    if [[ $one -eq 124 || $one -eq 137 ]]; then
      result=TIMEOUT
      echo "[$scenario $(date +%T)] stopped after ${SCENARIO_MINUTES} minutes; its hosts are removed" | tee -a "$results/$scenario.log"
      molecule destroy -s "$scenario" >>"$results/$scenario.log" 2>&1 || true
    elif [[ $one -ne 0 ]]; then
      result=FAILED
    fi
    printf '%-12s %-7s %3dm%02ds\n' "$scenario" "$result" \
      $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)) >>"$results/summary"
    [[ $one -eq 0 ]] || rc=$one
  done
  # Each lane's time, by which the Makefile's MOLECULE_LANES are balanced.
  printf 'lane %3dm%02ds  %s\n' $(((SECONDS - lane_start) / 60)) $(((SECONDS - lane_start) % 60)) "$*" >>"$results/lanes"
  [[ $rc -eq 0 ]]
}

"$HERE/prepare.sh"
pids=()
for lane in "$@"; do
  # shellcheck disable=SC2086 # a lane is a space-separated list of scenario names
  run_lane $lane &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done

# The test bed's state first, then each failed scenario's failure lines, the table, and the failed tests.
[[ $rc -eq 0 ]] || "$HERE/host.sh" diagnose
failed_scenarios() { awk '$2 != "passed" {print $1}' "$results/summary"; }
for failed in $(failed_scenarios); do
  echo "--- why $failed failed"
  { grep -E "FAILED |Error|ERROR|CRITICAL|assert|fatal:|failed=[1-9]" "$results/$failed.log" || true; } | tail -n 25 | cut -c1-400
done
echo "--- scenarios (lanes: $#)"
cat "$results/summary" "$results/lanes"
# Last, as a CI report may keep only the end of the output: per failed scenario, the tests that
# failed (pytest's summary) and the first lines of their assertions, or the tasks that failed.
for failed in $(failed_scenarios); do
  echo "--- $failed: what failed"
  sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^\[[a-z0-9_-]* [0-9:]*\] *\(│\)\? *//' "$results/$failed.log" \
    | awk '/^(FAILED|ERROR) / {print; next} /^E   / && e++ < 6 {print; next} /^TASK \[/ {t = $0; next} /^fatal: / && f++ < 3 {print t; print}' \
    | cut -c1-300 | head -n 16
done
exit "$rc"
