"""The restore drill and the backup's record, the operator's way.

The drill restores the newest backup into a private etcd on the first member and checks it,
leaving nothing behind, and refuses a truncated snapshot before any host is touched (a bit-flipped
one is refused by the restore in test_restore.py: both read it with etcd_snapshot_info). The
restore's revision bump is tested on the restore from the bucket (test_backup_push.py).

`make test` walks the backup into a directory of its own (the drill's backup), the drill, and the
refusal of a drill host outside the inventory; the other refusals, the truncated snapshot's failed drill
and the status of an old backup are `make test-full`'s (their decisions: the unit tests).
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from etcdtest import BACKUPS, EPHEMERAL, Gateway, fingerprint, playbook, read_whole, snapshots, why_failed

# The inventory's hosts are their addresses (the README's style).
HOSTS = ["10.250.0.40", "10.250.0.41", "10.250.0.42"]
URLS = ["https://%s:2379" % h for h in HOSTS]
DRILL_HOST = HOSTS[0]   # the first member of the group
OWN = os.path.join(EPHEMERAL, "drill-backups")  # this file's backup directory: the drill takes its newest

state = {}


def leftovers(name=DRILL_HOST):
    """What a drill could leave on its host: a private etcd still running, a private directory. A read
    that did not run to its end (the host unreachable, no shell) fails: it must not read as nothing left."""
    # [e]: not the shell running pgrep.
    return tuple(read_whole(name, command).strip()
                 for command in ("pgrep -af '[e]tcd --name drill '", "ls -a /tmp /var/tmp | grep etcd-drill"))


def test_a_backup_records_revision_keys_and_hash_beside_the_snapshot_and_keeps_the_newest_few():
    """Into a directory of its own (OWN), left world-readable, that holds two older snapshots."""
    gateway = Gateway(URLS[0])
    for i in range(20):
        gateway.put("/drill/%02d" % i, "value-%d" % i)
    shutil.rmtree(OWN, ignore_errors=True)
    os.makedirs(OWN)
    os.chmod(OWN, 0o755)
    old = ["etcd-snapshot-20200101T000000Z.db", "etcd-snapshot-20200102T000000Z.db"]
    for name in old:
        Path(OWN, name).write_bytes(b"an old snapshot")
        Path(OWN, name + ".json").write_text("{}")
    rc, out = playbook("backup", "-e", "etcd_backup_dir=%s" % OWN, "-e", "etcd_backup_keep=2")
    assert rc == 0, why_failed(out)
    new = snapshots(OWN)[-1]
    assert sorted(os.listdir(OWN)) == sorted([old[1], old[1] + ".json", new, new + ".json"])
    assert os.stat(OWN).st_mode & 0o777 == 0o700
    snapshot = os.path.join(OWN, new)
    assert [os.stat(p).st_mode & 0o777 for p in (snapshot, snapshot + ".json")] == [0o600, 0o600]
    with open(snapshot + ".json") as handle:
        record = json.load(handle)
    assert record["snapshot"] == new
    assert record["revision"] > 0 and record["keys"] >= 20
    assert isinstance(record["hash_kv"], int) and record["hash_problem"] is None, record
    state.update(snapshot=snapshot, record=record)


@pytest.mark.full
def test_a_backup_of_a_cluster_that_is_not_deployed_is_refused(tmp_path):
    backups = tmp_path / "backups"
    rc, out = playbook("backup", "-e", "etcd_instance=etcd-nosuch", "-e", "etcd_backup_dir=%s" % backups)
    assert rc != 0
    assert "no host of group etcd has the etcd cluster etcd-nosuch (etcd_instance): none has " \
           "/etc/systemd/system/etcd-nosuch.service" in " ".join(out.split()), out
    assert not backups.exists()


def test_the_drill_passes_on_a_good_backup_reachable_only_by_the_drill_and_leaves_nothing_behind():
    before = fingerprint(HOSTS)
    rc, out = playbook("restore_drill", "-e", "etcd_backup_dir=%s" % OWN)
    assert rc == 0, why_failed(out)
    # No TCP port any local user could reach: unix sockets in the drill's directory (the etcd user's, 0700).
    # As the private etcd's own log said it (the drill's report, its quotes escaped, its line folded).
    assert ('the private etcd listened on: {"listen-client-urls": ["unix://drill-client:0"], '
            '"listen-peer-urls": ["unix://drill-peer:0"], "listen-metrics-urls": []}').replace(" ", "") \
        in "".join(out.split()).replace('\\"', '"'), out
    snapshot, record = state["snapshot"], state["record"]
    assert "drill passed: snapshot %s restored on %s" % (snapshot, DRILL_HOST) in out, out
    assert "revision: %d, keys: %d" % (record["revision"], record["keys"]) in out, out
    assert "hash: hash %d equals the backup's" % record["hash_kv"] in out, out
    assert re.search(r"time taken: [\d.]+ s", out), out
    assert leftovers() == ("", "")
    assert fingerprint(HOSTS) == before, "the members are untouched"


def test_a_drill_host_outside_the_inventory_is_refused():
    """The drill's refusal `make test` keeps: before any host is reached, every host as it was."""
    before = fingerprint(HOSTS)
    rc, out = playbook("restore_drill", "-e", "etcd_drill_host=no-such-host")
    assert rc != 0
    assert "etcd_drill_host no-such-host is not a host of the inventory; nothing was changed" in out, out
    assert "PLAY [Drill a restore of an etcd snapshot]" not in out, out
    assert fingerprint(HOSTS) == before


def unwrapped(out):
    """The status lines as one text: the report wraps a long line into several list items."""
    return " ".join(re.sub(r'",\s*"', " ", out).split())


@pytest.mark.full
def test_the_status_names_a_backup_older_than_the_threshold():
    """Aged by its file time, as a backup job that stopped running leaves it."""
    # With a fresh backup the status has no "backups:" line (test_restore_with_auth.py's status run).
    backups = [os.path.join(BACKUPS, n) for n in snapshots()]
    originals = {path: os.stat(path).st_mtime for path in backups}
    try:
        for path in backups:
            os.utime(path, (originals[path] - 30 * 3600, originals[path] - 30 * 3600))
        rc, out = playbook("status")
    finally:
        for path, mtime in originals.items():
            os.utime(path, (mtime, mtime))
    assert rc == 0, why_failed(out)
    newest = os.path.basename(sorted(backups)[-1])
    assert re.search(r"backups: the newest snapshot, %s, is 3\d hours old \(more than etcd_status_backup_max_age_hours=26\) "
                     r"-> ansible-playbook raftops.etcd.backup" % re.escape(newest), unwrapped(out)), out


def truncated(tmp_path):
    data = Path(state["snapshot"]).read_bytes()[:-100]
    path = tmp_path / "truncated.db"
    path.write_bytes(bytes(data))
    return str(path)


@pytest.mark.full
def test_the_drill_fails_naming_the_reason_on_a_truncated_snapshot(tmp_path):
    path = truncated(tmp_path)
    message = "is not a sound etcd snapshot: truncated or damaged: the size"
    before = fingerprint(HOSTS)
    rc, out = playbook("restore_drill", "-e", "etcd_restore_snapshot=" + path)
    assert rc != 0
    flat = " ".join(out.split())
    assert "drill failed: snapshot %s: " % path in flat and message in flat, out
    assert leftovers() == ("", "")
    assert fingerprint(HOSTS) == before
