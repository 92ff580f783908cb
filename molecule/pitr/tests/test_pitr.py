"""The change stream off-host and the point-in-time restore (docs/backup-restore.md).

A converge turns the push and the stream on (an S3 bucket on a moto server on the test network's
gateway, and an SSH target on a member's host); the members push one full backup by hand (their
timer fires once a day here). A writer then writes through every member, recording when each write
was acknowledged; a "bad script" deletes its whole prefix a second after a moment the test records;
the stream ships every revision within its interval, to the S3 target and, through its forced
command, to the SSH target. `restore_drill -e etcd_restore_to=<that moment>` from the SSH target
proves the replayed keyspace equals the live cluster's at the revision reached (HashKV).
`restore -e etcd_restore_to=<that moment>` brings back every key acknowledged by then and none
written after it. Before that, `--check` names the full backup, the segments and the last revision,
and a tampered or missing segment refuses the restore by name with every host unchanged.

`make test` (-m "not full") walks the stream, the check, the drill of a point and the point-in-time
restore once; the member that holds the stream killed mid-segment, and another taking over with no
gap, and the tampered and missing segments (whose refusals the unit tests decide too) are `make
test-full`'s.
"""

import base64
import json
import os
import re
import sys
import threading
import time

import pytest
from conftest import FIGURES
from etcdtest import EPHEMERAL, ROOT, Gateway, b64, fingerprint, host, playbook, poll, prefix_end, why_failed

sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins"))
from moto_server import moto_bucket

sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import stream_segments as segments

HOSTS = ["10.250.0.140", "10.250.0.141", "10.250.0.142"]
MEMBERS = ["pitr-host0", "pitr-host1", "pitr-host2"]
URLS = ["https://%s:2379" % h for h in HOSTS]
GATEWAY = "10.250.0.1"  # the controller, as the members reach it
BUCKET, PREFIX = "etcd-pitr", "etcd/etcd/"
KEY_FILE = os.path.join(EPHEMERAL, "etcd-backup.key")
STATUS = "/var/backups/etcd/stream-status.json"
CLAIM = "/raftops/etcd/backup-stream"
INTERVAL = 5
SSH_HOST, SSH_PATH = HOSTS[2], "/srv/etcd-pitr-vault"
# How much later than its commit the stream may receive a revision (a watch on a loaded test bed):
# a write acknowledged this close to the point may be received after it, and is left out of the check.
WATCH_LATENCY = 0.5

state = {}


@pytest.fixture(scope="module")
def moto():
    with moto_bucket(BUCKET, GATEWAY) as server:
        yield server


def pitr_vars(url, **more):
    # The snapshot timer fires once a day here: the test takes the full backup by hand. The SSH target is
    # on a member's host, as the operators' backup host would be: the push's key there is its forced command.
    return dict(etcd_backup_targets=[dict(name="offsite", type="s3", bucket=BUCKET, endpoint_url=url, keep=3,
                                          access_key="AKIDRAFTOPSPITR", secret_key="raftops-pitr-secret"),
                                     dict(name="vault", type="ssh", host=SSH_HOST, path=SSH_PATH, keep=3)],
                etcd_backup_key_file=KEY_FILE, etcd_backup_push=True, etcd_backup_push_window=20,
                etcd_backup_schedule="*-*-* 03:33:00", etcd_backup_stream_interval=INTERVAL, **more)


def objects(s3):
    return sorted(o["Key"][len(PREFIX):] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", []))


def ssh_objects():
    return sorted(host(SSH_HOST).check_output("ls -1 %s" % SSH_PATH).split())


def stream_status(name):
    found = host(name).run("cat %s" % STATUS)
    return json.loads(found.stdout) if found.rc == 0 and found.stdout.strip() else {}


def holder():
    """The host whose member holds the stream's claim, as its value names it; None when no one does."""
    value = Gateway(URLS[0]).get(CLAIM) or ""
    return next((h for h, m in zip(HOSTS, MEMBERS) if "backup stream of %s " % m in value), None)


def shipped_up_to(revision):
    """The stream's status on the holder once it shipped ``revision``; None before."""
    name = holder()
    status = stream_status(name) if name else {}
    return status if int(status.get("last_revision") or 0) >= revision else None


class AckWriter(threading.Thread):
    """Puts ``<prefix><n>`` through the members in turn, recording for each write when it began, when
    it was acknowledged and its revision (acks); a write that failed is recorded in ``failed``."""

    def __init__(self, prefix, interval=0.05):
        super().__init__(daemon=True)
        self.prefix, self.interval = prefix, interval
        self.acks, self.failed = [], []
        self.stopped = threading.Event()

    def run(self):
        gateways = [Gateway(u, timeout=3) for u in URLS]
        n = 0
        while not self.stopped.is_set() and n < 20000:
            key, value = "%s%05d" % (self.prefix, n), "v%d" % n
            began = time.time()
            try:
                revision = int(gateways[n % 3].put(key, value)["header"]["revision"])
                self.acks.append(dict(key=key, value=value, began=began, acked=time.time(), revision=revision))
            except OSError as exc:
                self.failed.append((began, str(exc)[:120]))
            n += 1
            time.sleep(self.interval)

    def stop(self):
        self.stopped.set()
        self.join(30)


def figure(**found):
    state.setdefault("figures", {}).update(found)
    with open(FIGURES, "w") as out:
        out.write("".join("%s: %s\n" % item for item in sorted(state["figures"].items())))


def test_the_stream_ships_every_change_within_its_interval(moto):
    s3 = moto["s3"]
    for name in HOSTS:  # node_exporter's textfile directory, before the stream starts: it writes its metrics there
        host(name).check_output("mkdir -p /var/lib/prometheus/node-exporter")
    rc, out = playbook("etcd", "--tags", "etcd_backup", "-e", json.dumps(pitr_vars(moto["url"])))
    assert rc == 0, why_failed(out)
    assert "raftops-pitr-secret" not in out
    gateway = Gateway(URLS[0])
    gateway.put("/app/before-backup", "in the full backup")
    # Every member's timer would fire at once: one of them pushes.
    for name in HOSTS:
        host(name).check_output("systemctl start --no-block etcd-snapshot.service")
    assert poll(lambda: [o for o in objects(s3) if crypto.is_backup_object(o)], seconds=120), objects(s3)
    assert poll(holder, seconds=60), "no member holds the stream"
    lease = int(gateway.call("/v3/lease/grant", {"TTL": 3600})["ID"])
    gateway.call("/v3/kv/put", {"key": b64("/app/leased"), "value": b64("with a lease"), "lease": lease})

    writer = AckWriter("/app/%d-key-" % time.time())  # of this run only: a verifier run again finds earlier ones
    writer.start()
    time.sleep(8)
    point = time.time()
    time.sleep(1.0)
    # The bad script: the whole prefix, at once.
    deleted = gateway.call("/v3/kv/deleterange", {"key": b64("/app/"), "range_end": b64(prefix_end("/app/"))})
    deleted_at, deleted_revision = time.time(), int(deleted["header"]["revision"])
    assert int(deleted.get("deleted", 0)) > 20
    time.sleep(3)
    writer.stop()
    assert writer.failed == [] and writer.acks, writer.failed
    last = writer.acks[-1]["revision"]
    shipped = poll(lambda: shipped_up_to(last), seconds=4 * INTERVAL + 30)
    assert shipped, (holder(), stream_status(holder() or HOSTS[0]))
    assert shipped.get("gap") is None and shipped.get("error") is None, shipped
    names = objects(s3)
    assert [n for n in names if segments.is_segment_object(n)] and segments.gaps(names) == [], names
    # The SSH target got every segment too, through its forced command, as the account that owns the directory.
    on_ssh = poll(lambda: [n for n in ssh_objects() if segments.is_segment_object(n)] == [
        n for n in objects(s3) if segments.is_segment_object(n)] and ssh_objects(), seconds=2 * INTERVAL)
    assert on_ssh and segments.gaps(on_ssh) == [], (on_ssh, objects(s3))
    assert host(SSH_HOST).check_output("stat -c %%U %s/%s" % (SSH_PATH, on_ssh[-1])) == "etcd-backup"
    rpo = poll(lambda: shipped_up_to(deleted_revision), seconds=1)
    figure(recovery_point_s=round(float(rpo["shipped_at"]) - deleted_at, 1) if rpo else None,
           writes_per_s=round(len(writer.acks) / (writer.acks[-1]["acked"] - writer.acks[0]["began"]), 1),
           segments=len([n for n in names if segments.is_segment_object(n)]), segment_bytes=shipped.get("bytes"))
    metrics = host(holder()).check_output("cat /var/lib/prometheus/node-exporter/etcd-backup-stream.prom")
    assert re.search(r"raftops_etcd_backup_stream_gap\{[^}]*\} 0", metrics), metrics
    state.update(point=point, writer=writer, deleted_revision=deleted_revision)


@pytest.mark.full
def test_the_stream_s_member_killed_mid_segment_another_takes_over_with_no_gap(moto):
    first = holder()
    assert first, "no member holds the stream"
    writer = AckWriter("/takeover/key-", interval=0.1)
    writer.start()
    time.sleep(INTERVAL / 2.0)  # mid-segment: revisions read, not yet shipped
    killed_at = time.time()
    # The member's stream dies at once and stays down (its timer would start it again).
    host(first).check_output("systemctl kill -s KILL etcd-backup-stream.service; systemctl stop etcd-backup-stream.timer")
    taken = poll(lambda: holder() not in (None, first) and holder(), seconds=60)
    took_over = time.time() - killed_at
    time.sleep(INTERVAL)
    writer.stop()
    try:
        assert taken, "no other member took the stream over"
        assert writer.failed == [], writer.failed
        shipped = poll(lambda: shipped_up_to(writer.acks[-1]["revision"]), seconds=4 * INTERVAL + 30)
        assert shipped and shipped.get("gap") is None, shipped
        names = objects(moto["s3"])
        assert segments.gaps(names) == [], names
        figure(takeover_s=round(took_over, 1))
    finally:
        host(first).check_output("systemctl start etcd-backup-stream.timer")


def restore_vars(moto, **more):
    return json.dumps(pitr_vars(moto["url"], etcd_restore_target="offsite",
                                etcd_restore_to=segments.shown_time(state["point"]), **more))


def test_check_mode_names_the_backup_the_segments_and_the_revision_reached(moto):
    before = fingerprint(HOSTS)
    rc, out = playbook("restore", "-e", restore_vars(moto), check=True)
    assert rc == 0, why_failed(out)
    said = " ".join(out.split())
    check = re.search(r"check mode: (etcd-snapshot-\S+\.db\.enc) \(revision (\d+)\) of target offsite and (\d+) "
                      r"segment\(s\), (etcd-stream-\S+) to (etcd-stream-\S+) of its change stream up to revision (\d+)", said)
    assert check, out[-3000:]
    state["first_segment"], reached = check.group(4), int(check.group(6))
    assert state["writer"].acks[0]["revision"] < reached < state["deleted_revision"]
    assert fingerprint(HOSTS) == before


def test_the_drill_of_a_point_from_the_ssh_target_equals_the_cluster_at_that_revision(moto):
    before = fingerprint(HOSTS)
    started = time.monotonic()
    rc, out = playbook("restore_drill", "-e", json.dumps(pitr_vars(
        moto["url"], etcd_restore_target="vault", etcd_restore_to=segments.shown_time(state["point"]))))
    assert rc == 0, why_failed(out)
    figure(drill_of_a_point_s=round(time.monotonic() - started, 1))
    said = " ".join(out.split())
    passed = re.search(r"drill passed: snapshot (etcd-snapshot-\S+\.db\.enc) \(revision \d+\) of target vault and \d+ "
                       r"segment\(s\), \S+ to \S+ of its change stream up to revision (\d+)", said)
    assert passed, out[-3000:]
    reached = int(passed.group(2))
    assert state["writer"].acks[0]["revision"] < reached < state["deleted_revision"]
    # The live cluster's hash at that revision, as a member gives it (HashKV), is the replayed etcd's.
    assert re.search(r"hash: hash \d+ equals the cluster's at revision %d \(HashKV from compact revision -?\d+\)" % reached,
                     said), out[-3000:]
    assert fingerprint(HOSTS) == before


@pytest.mark.full
def test_a_tampered_or_missing_segment_refuses_the_restore_by_name(moto):
    s3 = moto["s3"]
    before = fingerprint(HOSTS)
    first_used = state["first_segment"]
    body = s3.get_object(Bucket=BUCKET, Key=PREFIX + first_used)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=PREFIX + first_used, Body=body[:-40] + bytes([body[-40] ^ 1]) + body[-39:])
    try:
        rc, out = playbook("restore", "-e", restore_vars(moto))
        assert rc != 0, out[-3000:]
        assert "object %s on target offsite: authentication failed: tampered or wrong key" % first_used in out, out[-3000:]
        assert "nothing was changed" in out and fingerprint(HOSTS) == before
        s3.delete_object(Bucket=BUCKET, Key=PREFIX + first_used)
        rc, out = playbook("restore", "-e", restore_vars(moto))
        assert rc != 0, out[-3000:]
        last = segments.parse_segment_name(first_used)[1]
        assert re.search(r"target offsite holds no segment of revisions \d+\.\.%d \(segments " % last, out), out[-3000:]
        assert "nothing was changed" in out and fingerprint(HOSTS) == before
    finally:
        s3.put_object(Bucket=BUCKET, Key=PREFIX + first_used, Body=body)


def test_restore_to_a_point_brings_back_every_key_acknowledged_by_then_and_none_after(moto):
    started = time.monotonic()
    rc, out = playbook("restore", "-e", restore_vars(moto))
    assert rc == 0, why_failed(out)
    figure(restore_to_point_s=round(time.monotonic() - started, 1))
    assert "restored etcd-snapshot-" in " ".join(out.split()), out[-3000:]
    point, acks = state["point"], state["writer"].acks
    stored = {}
    for url in URLS:
        gateway = Gateway(url)
        stored = {k: v for k, v in gateway.values("/app/").items()}
        by_then = [a for a in acks if a["acked"] <= point - WATCH_LATENCY]
        assert [a["key"] for a in by_then if stored.get(a["key"]) != a["value"]] == [], url
        after = [a["key"] for a in acks if a["began"] > point]
        assert after and [k for k in after if k in stored] == [], url
        assert stored.get("/app/before-backup") == "in the full backup" and stored.get("/app/leased") == "with a lease"
    borderline = [a for a in acks if point - WATCH_LATENCY < a["acked"] <= point]
    figure(keys_restored=len(stored), acked_by_the_point_near_it=len(borderline),
           acked_by_the_point_missing=len([a for a in borderline if stored.get(a["key"]) != a["value"]]))
    # The key with a lease kept it (etcd's restore starts its TTL again).
    lease = Gateway(URLS[0]).call("/v3/kv/range", {"key": b64("/app/leased")})["kvs"][0].get("lease")
    assert lease and int(lease) > 0
    assert base64.b64decode(Gateway(URLS[1]).call("/v3/kv/range", {"key": b64("/app/leased")})["kvs"][0]["value"]) == b"with a lease"
