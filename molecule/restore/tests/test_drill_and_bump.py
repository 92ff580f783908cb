"""The restore drill and the Kubernetes-safe restore (the revision bump), the operator's way.

The drill restores the newest backup into a private etcd on the first member and checks it,
leaving nothing behind, and refuses a truncated or bit-flipped snapshot before any host is
touched. A restore raises the revision past every revision the old cluster handed out and marks
it compacted: a watcher of the old cluster, watching again from where it was, is told that its
revision was compacted (etcd 3.5.30's etcdutl, molecule.yml).
"""

import json
import os
import re
import time
from pathlib import Path

import pytest
from etcdtest import BACKUPS, Gateway, b64, fingerprint, host, playbook, snapshots

# The inventory's hosts are their addresses (the README's style).
HOSTS = ["10.250.0.40", "10.250.0.41", "10.250.0.42"]
URLS = ["https://%s:2379" % h for h in HOSTS]
DRILL_HOST = HOSTS[0]   # the first member of the group

state = {}


def leftovers(name=DRILL_HOST):
    """What a drill could leave on its host: a transient unit, a private directory."""
    h = host(name)
    units = h.run("systemctl list-units --all --plain --no-legend 'etcd-drill-*'").stdout.strip()
    dirs = h.run("ls -d /tmp/*.etcd-drill /var/tmp/*.etcd-drill 2>/dev/null").stdout.strip()
    return units, dirs


def newest_backup():
    snapshot = os.path.join(BACKUPS, snapshots()[-1])
    with open(snapshot + ".json") as record:
        return snapshot, json.load(record)


def test_a_backup_records_revision_keys_and_hash_beside_the_snapshot():
    gateway = Gateway(URLS[0])
    for i in range(20):
        gateway.put("/drill/%02d" % i, "value-%d" % i)
    rc, out = playbook("backup")
    assert rc == 0, out
    snapshot, record = newest_backup()
    assert record["snapshot"] == os.path.basename(snapshot)
    assert record["revision"] > 0 and record["keys"] >= 20
    assert isinstance(record["hash_kv"], int) and record["hash_problem"] is None, record
    assert os.stat(snapshot + ".json").st_mode & 0o777 == 0o600
    state.update(snapshot=snapshot, record=record)


def test_a_backup_keeps_the_newest_few_each_with_its_record(tmp_path):
    """Into a directory of its own, left world-readable, that holds two older snapshots."""
    backups = tmp_path / "backups"
    backups.mkdir()
    os.chmod(str(backups), 0o755)
    old = ["etcd-snapshot-20200101T000000Z.db", "etcd-snapshot-20200102T000000Z.db"]
    for name in old:
        (backups / name).write_bytes(b"an old snapshot")
        (backups / (name + ".json")).write_text("{}")
    rc, out = playbook("backup", "-e", "etcd_backup_dir=%s" % backups, "-e", "etcd_backup_keep=2")
    assert rc == 0, out
    new = snapshots(str(backups))[-1]
    assert sorted(os.listdir(str(backups))) == sorted([old[1], old[1] + ".json", new, new + ".json"])
    assert os.stat(str(backups)).st_mode & 0o777 == 0o700
    assert [os.stat(str(backups / n)).st_mode & 0o777 for n in (new, new + ".json")] == [0o600, 0o600]
    with open(str(backups / (new + ".json"))) as record:
        assert json.load(record)["snapshot"] == new


def test_a_backup_of_a_cluster_that_is_not_deployed_is_refused(tmp_path):
    backups = tmp_path / "backups"
    rc, out = playbook("backup", "-e", "etcd_instance=etcd-nosuch", "-e", "etcd_backup_dir=%s" % backups)
    assert rc != 0
    assert "no host of group etcd has the etcd cluster etcd-nosuch (etcd_instance): none has " \
           "/etc/systemd/system/etcd-nosuch.service" in " ".join(out.split()), out
    assert not backups.exists()


def drill_listeners(since, name=DRILL_HOST):
    """What the drill etcds started since ``since`` (seconds since the epoch) listened on, from their journal."""
    lines = host(name).check_output("journalctl -u 'etcd-drill-*' --since @%d -o cat" % int(since)).splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [{k: entry.get(k) for k in ("listen-client-urls", "listen-peer-urls", "listen-metrics-urls")}
            for entry in entries if entry.get("msg") == "now serving peer/client/metrics"]


def test_the_drill_passes_on_a_good_backup_reachable_only_by_the_drill_and_leaves_nothing_behind():
    before = fingerprint(HOSTS)
    started = time.time() - 1
    rc, out = playbook("restore_drill")
    assert rc == 0, out
    # No TCP port any local user could reach: unix sockets in the drill's directory (the etcd user's, 0700).
    assert drill_listeners(started) == [{"listen-client-urls": ["unix://drill-client:0"],
                                         "listen-peer-urls": ["unix://drill-peer:0"], "listen-metrics-urls": []}]
    snapshot, record = state["snapshot"], state["record"]
    assert "drill passed: snapshot %s restored on %s" % (snapshot, DRILL_HOST) in out, out
    assert "revision: %d, keys: %d" % (record["revision"], record["keys"]) in out, out
    assert "hash: hash %d equals the backup's" % record["hash_kv"] in out, out
    assert re.search(r"time taken: [\d.]+ s", out), out
    assert leftovers() == ("", "")
    assert fingerprint(HOSTS) == before, "the members are untouched"


def test_a_drill_host_outside_the_inventory_is_refused():
    rc, out = playbook("restore_drill", "-e", "etcd_drill_host=no-such-host")
    assert rc != 0
    assert "etcd_drill_host no-such-host is not a host of the inventory; nothing was changed" in out, out
    assert "PLAY [Drill a restore of an etcd snapshot]" not in out, out


def unwrapped(out):
    """The status lines as one text: the report wraps a long line into several list items."""
    return " ".join(re.sub(r'",\s*"', " ", out).split())


def test_the_status_names_a_backup_older_than_the_threshold():
    """Aged by its file time, as a backup job that stopped running leaves it."""
    backups = [os.path.join(BACKUPS, n) for n in snapshots()]
    rc, out = playbook("status")
    assert rc == 0 and "backups:" not in out, out
    originals = {path: os.stat(path).st_mtime for path in backups}
    try:
        for path in backups:
            os.utime(path, (originals[path] - 30 * 3600, originals[path] - 30 * 3600))
        rc, out = playbook("status")
    finally:
        for path, mtime in originals.items():
            os.utime(path, (mtime, mtime))
    assert rc == 0, out
    newest = os.path.basename(sorted(backups)[-1])
    assert re.search(r"backups: the newest snapshot, %s, is 3\d hours old \(more than etcd_status_backup_max_age_hours=26\) "
                     r"-> ansible-playbook raftops.etcd.backup" % re.escape(newest), unwrapped(out)), out


def damaged(tmp_path, how):
    data = bytearray(Path(state["snapshot"]).read_bytes())
    if how == "flipped":
        data[len(data) // 2] ^= 0x01
    else:
        data = data[:-100]
    path = tmp_path / ("%s.db" % how)
    path.write_bytes(bytes(data))
    return str(path)


BAD = [
    ("flipped", "is not a sound etcd snapshot: SHA-256 mismatch: the trailer expects"),
    ("truncated", "is not a sound etcd snapshot: truncated or damaged: the size"),
]


@pytest.mark.parametrize("how, message", BAD, ids=[b[0] for b in BAD])
def test_the_drill_fails_naming_the_reason_on_a_damaged_snapshot(how, message, tmp_path):
    path = damaged(tmp_path, how)
    before = fingerprint(HOSTS)
    rc, out = playbook("restore_drill", "-e", "etcd_restore_snapshot=" + path)
    assert rc != 0
    flat = " ".join(out.split())
    assert "drill failed: snapshot %s: " % path in flat and message in flat, out
    assert leftovers() == ("", "")
    assert fingerprint(HOSTS) == before


def watch_once(url, start_revision, prefix="/drill/"):
    """Open a watch of ``prefix`` from ``start_revision`` through the gateway's /v3/watch stream and
    return its first message that is not only the creation (or the creation, when nothing else
    comes within the timeout)."""
    gateway = Gateway(url, timeout=5)
    connection = gateway.connect(5)
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    body = {"create_request": {"key": b64(prefix), "range_end": b64(end), "start_revision": str(start_revision)}}
    connection.request("POST", "/v3/watch", json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    first = None
    try:
        for _ in range(3):
            line = response.readline()
            if not line:
                break
            result = json.loads(line).get("result", {})
            first = first or result
            if result.get("compact_revision") or result.get("canceled") or result.get("events"):
                return result
    except OSError:
        pass
    finally:
        connection.close()
    return first


def test_a_restore_bumps_the_revision_so_old_watchers_are_told_to_resync():
    snapshot, record = state["snapshot"], state["record"]
    gateway = Gateway(URLS[0])
    # The old cluster goes on after the backup: these revisions are lost with it.
    for i in range(30):
        gateway.put("/drill/after-backup-%02d" % i, "lost")
    old_revision = int(gateway.status()["header"]["revision"])
    assert old_revision > record["revision"]
    # A watcher of the old cluster sees its events up to old_revision.
    assert watch_once(URLS[1], old_revision)["events"]

    rc, out = playbook("restore", "-e", "etcd_restore_snapshot=" + snapshot)
    assert rc == 0, out
    bumped = re.search(r"restored %s: revision %d, \d+ keys, cluster token \S+; revision bumped by (\d+), marked "
                       r"compacted" % (re.escape(snapshot), record["revision"]), out)
    assert bumped, out
    assert "WARNING:" not in out

    # Watching again from where it was, the watcher learns its revision was compacted.
    answer = watch_once(URLS[1], old_revision + 1)
    assert int(answer.get("compact_revision", 0)) >= record["revision"] + int(bumped.group(1)), answer
    assert answer.get("canceled") is True, answer
    # Every new revision is above every revision the old cluster handed out.
    revision = int(Gateway(URLS[2]).put("/drill/after-restore", "new")["header"]["revision"])
    assert revision > old_revision
    assert Gateway(URLS[0]).get("/drill/after-backup-00") is None
