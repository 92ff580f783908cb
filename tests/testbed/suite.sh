#!/usr/bin/env bash
# The whole test suite, as `make test` (short) and `make test-full` (full) run it:
#
#   suite.sh short|full
#
# 1. The checks (ruff, ansible-lint, shellcheck, the EE check, ansible-test sanity, the unit tests),
#    one after another, each run whatever the one before it gave, beside the test bed's preparation.
# 2. The Molecule scenarios in two lanes (lanes.sh), each scenario under a time limit. `short` runs
#    each scenario's verifier without the tests marked `full` (molecule/pytest.ini) and leaves the
#    seeded fault campaign's sample (chaos) to `full` and `make chaos`; `full` runs everything.
# 3. The timing table: each stage and scenario with its result and time, and the total. It is the
#    last thing printed, so that a report that keeps only the end still has it.
# The exit status is 0 only when every stage and scenario passed; a failed check does not stop the
# scenarios, so one run reports every failure.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=tests/testbed/lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

suite="${1:-}"
case "$suite" in
  # Lanes balanced by the scenarios' measured times (the closing table of a run prints them); short,
  # in minutes (2026-11-29): restore 2.8, pki 3.8, membership 3.0, hardening 1.0, maintenance 0.8,
  # discovery 0.7, adopt_bookworm about 8, pitr about 3.5 | default 1.0, proxy 2.8, adopt 2.1,
  # upgrade 1.9, recovery 4.5, adopt_container about 6, container about 6; adopt_docker about 2.
  # bigdata's tests are all full, and container_docker (Docker's slower image steps, about 13) walks
  # what container walks: they run in `full` only.
  short)
    lanes=("restore pki membership hardening maintenance discovery adopt_bookworm pitr adopt_docker"
           "default proxy adopt upgrade recovery adopt_container container")
    scenario_minutes="${SCENARIO_MINUTES:-20}"
    target="make test"
    select="-m 'not full'"
    ;;
  full)
    lanes=("restore pki hardening membership discovery maintenance adopt_bookworm pitr bigdata container_docker"
           "proxy default upgrade adopt recovery adopt_container container adopt_docker chaos")
    scenario_minutes="${SCENARIO_MINUTES:-40}"
    target="make test-full"
    select=""
    ;;
  *) die "usage: suite.sh short|full" ;;
esac
# MOLECULE_LANES='"a b" "c"' runs other lanes (the Makefile's own quoting, as for `make molecule`).
[[ -z "${MOLECULE_LANES:-}" ]] || eval "lanes=($MOLECULE_LANES)"

results="$ROOT/.cache/suite"
rm -rf "$results" && mkdir -p "$results"
started=$SECONDS
minutes() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

"$HERE/prepare.sh" >"$results/prepare.log" 2>&1 &
prepare=$!

rc=0
for check in ruff ansible-lint shellcheck ee sanity unit; do
  start=$SECONDS result=passed
  make --no-print-directory -C "$ROOT" "$check" 2>&1 | sed -u "s/^/[$check] /" || result=FAILED
  [[ $result == passed ]] || rc=1
  printf '%-22s %-7s %s\n' "$check" "$result" "$(minutes $((SECONDS - start)))" >>"$results/table"
done

start=$SECONDS result=passed
wait "$prepare" || result=FAILED
sed 's/^/[prepare] /' "$results/prepare.log"
printf '%-22s %-7s %s\n' "test bed" "$result" "beside the checks, then waited $(minutes $((SECONDS - start)))" \
  >>"$results/table"

if [[ $result == passed ]]; then
  PYTEST_ADDOPTS="${PYTEST_ADDOPTS:-}${select:+ $select}" RAFTOPS_LANES_RESULTS="$results/lanes" \
    SCENARIO_MINUTES="$scenario_minutes" "$HERE/lanes.sh" "${lanes[@]}" || rc=1
  awk '{printf "%-22s %-7s %s\n", "molecule " $1, $2, $3}' "$results/lanes/summary" >>"$results/table"
  sed -n 's/^lane \+\([0-9ms]*\) \+\(.*\)/lanes: \2 -> \1/p' "$results/lanes/lanes" >>"$results/table"
else
  rc=1
  echo "molecule               SKIPPED (the test bed could not be prepared)" >>"$results/table"
fi

echo "--- $target: timing"
cat "$results/table"
printf '%-22s %-7s %s\n' "total" "$([[ $rc -eq 0 ]] && echo passed || echo FAILED)" "$(minutes $((SECONDS - started)))"
exit "$rc"
