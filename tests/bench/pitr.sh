#!/usr/bin/env bash
# make bench-data's point-in-time restore: the time to restore to a point an hour after the last full
# backup (tests/bench/pitr.py says how). Three members on new test hosts; a benchmark, not a test: it
# prints figures and asserts nothing.
#   BENCH_PITR_RATE=100    the hour's writes a second (360,000 revisions at 100; 1000 where the machine allows)
#   BENCH_PITR_COMPARE=DIR also the replay (in --check) with the collection at DIR/ansible_collections/raftops/etcd
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TESTBED="$ROOT/tests/testbed"
WORK="$ROOT/.cache/bench-pitr"
# Addresses of this bench alone (10.250.0.153-155): no scenario and no other bench uses them.
FIRST_OCTET=153
PREFIX=bench-pitr-host
cd "$ROOT"

rm -rf "$WORK"
mkdir -p "$WORK"
"$TESTBED/host.sh" rm "$PREFIX"{0..2} >/dev/null 2>&1 || true
"$TESTBED/inventory.sh" "$WORK/hosts" "$PREFIX" "$FIRST_OCTET" 3 "etcd_version=3.5.30" >/dev/null
echo "pitr bench: 3 members; machine: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
# The push's S3 client (Debian's python3-boto3) from the test bed's mirror, as the pitr scenario has it.
MOLECULE_PROJECT_DIRECTORY="$ROOT" ansible-playbook -i "$WORK/hosts" molecule/shared/boto3_from_mirror.yml >"$WORK/prepare.log"
python3 "$HERE/pitr.py" "$WORK/hosts" "$WORK" "$("$TESTBED/host.sh" key)" "${BENCH_PITR_RATE:-100}" 2>&1 | tee "$WORK/pitr.log"
"$TESTBED/host.sh" rm "$PREFIX"{0..2} >/dev/null
