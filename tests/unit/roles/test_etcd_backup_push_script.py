"""The members' backup push (roles/etcd/files/etcd_backup_push.py), run from a directory laid out as
the role lays it out on a member, against a fake etcdctl, a real (moto) S3 server and a directory
standing for an SSH target (the commands the push sends over ssh, run by a local shell)."""

import ast
import base64
import json
import os
import shutil
import subprocess
import sys

import pytest
from test_etcd_maintenance_script import SETTINGS, A, B, FakeEtcdctl, loaded_script
from test_etcd_maintenance_script import lib_files as maintenance_lib_files

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.tests.unit.plugins.moto_server import moto_server

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "etcd")
KEY = bytes(range(32))
MEMBERS = ["etcd-a", "etcd-b", "etcd-c"]
# The signers of the test cluster, as the controller derives them (the lookup backup_recipient).
SIGNERS = crypto.cluster_signers(KEY, MEMBERS)
CLUSTER_ID = 0xEF37AD9DC622A7C4
SECRET = "push-secret-never-shown"
NAME = "etcd-snapshot-20261126T030000Z.db"


def lib_files():
    """What the role copies for the push: the maintenance timer's code and the push's."""
    return maintenance_lib_files(("backup_push", "lib_files"))


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    yield from loaded_script(tmp_path_factory, lib_files(), "etcd_backup_push.py")


class Etcd(FakeEtcdctl):
    """The maintenance tests' fake etcdctl, whose status also carries the cluster ID."""

    def status(self, member_id):
        record = super().status(member_id)
        record["Status"]["header"]["cluster_id"] = CLUSTER_ID
        return record


RECEIVE = os.path.join(ROLE, "files", "etcd_backup_receive.py")


def forced(argv):
    """What sshd runs for the push's key on the target's host: the forced command (the receiving
    script, for the directory the request names, as the role authorizes it for the target's directory),
    with the client's command as SSH_ORIGINAL_COMMAND."""
    request = argv[-1]
    directory = request.split(" ")[1] if " " in request else "/nowhere"
    return [sys.executable, "-I", RECEIVE, directory], dict(os.environ, SSH_ORIGINAL_COMMAND=request)


def local_ssh(argv, stdin=None, **_options):
    """ssh's remote command, run as the target's host runs it: through the forced command."""
    command, env = forced(argv)
    return subprocess.run(command, env=env, stdin=stdin, capture_output=True, check=False)


def settings(tmp_path, url, **more):
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir(exist_ok=True)
    to = crypto.recipient(KEY)
    targets = [dict(name="offsite", type="s3", bucket="push", prefix="c/", endpoint_url=url, region="",
                    access_key="AKIDPUSH", secret_key=SECRET, keep=2, max_age_days=30),
               dict(name="vault", type="ssh", host="backup1", address="10.0.0.9", port=22,
                    path=str(tmp_path / "vault"), keep=2, max_age_days=30)]
    own = crypto.signer(KEY, crypto.member_signer(SETTINGS["name"]))
    return dict(SETTINGS, instance="etcd", window=300, leader_delay=5, cluster="prod/etcd", compression="zlib",
                public_key=base64.b64encode(to.public_key).decode(), key_id=to.key_id, signer=own.name,
                signing_seed=base64.b64encode(own.seed).decode(), signers=crypto.encoded_signers(SIGNERS),
                status_file=str(snapshots / "push-status.json"), ssh_key="/k", known_hosts="/h", targets=targets,
                **more)


def snapshot(tmp_path, name=NAME):
    path = tmp_path / "snapshots" / name
    path.write_bytes(b"".join(b"/registry/key-%05d value\n" % i for i in range(4000)))
    return str(path)


def push(script, conf, etcd, log=None, slept=None):
    targets = [script.S3Target(t) if t["type"] == "s3" else script.SshTarget(t, "/k", "/h", run=local_ssh)
               for t in conf["targets"]]
    return script.Push(conf, script.Etcdctl(conf, run=etcd), (log if log is not None else []).append,
                       "backup push of etcd-a on host-a, pid 7", targets,
                       sleep=(slept if slept is not None else []).append)


def status(conf):
    with open(conf["status_file"], encoding="utf-8") as handle:
        return json.load(handle)


def test_the_role_copies_every_module_the_push_imports():
    copied = {name[:-3] for _src, name in lib_files()}
    for path in (os.path.join(ROLE, "files", "etcd_backup_push.py"),
                 os.path.join(ROLE, "..", "..", "plugins", "module_utils", "backup", "backup_crypto.py"),
                 os.path.join(ROLE, "..", "..", "plugins", "module_utils", "backup", "s3.py")):
        with open(path, encoding="utf-8") as source:
            tree = ast.parse(source.read())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("ansible")}
        # Debian's python3-cryptography and python3-boto3 (which the role installs for an S3 target).
        assert imported - copied - {"cryptography", "boto3", "botocore"} <= set(sys.stdlib_module_names), path


def test_a_follower_seals_sends_to_every_target_and_prunes_each(script, server, tmp_path):
    url, s3 = server
    conf = settings(tmp_path, url)
    os.makedirs(conf["targets"][1]["path"])
    (tmp_path / "vault" / "notes.txt").write_text("not a backup")
    etcd, log, slept = Etcd(leader=B), [], []
    for minute in range(3):
        name = "etcd-snapshot-20261126T03%02d00Z.db" % minute
        assert push(script, conf, etcd, log, slept).run(snapshot(tmp_path, name)) == 0, log
        etcd.keys.clear()  # the claim's lease ran out: the next period
    assert slept == []  # a follower does not wait
    objects = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="push", Prefix="c/")["Contents"])
    assert objects == ["c/etcd-snapshot-20261126T030100Z.db.enc", "c/etcd-snapshot-20261126T030200Z.db.enc"]
    assert sorted(os.listdir(tmp_path / "vault")) == ["etcd-snapshot-20261126T030100Z.db.enc",
                                                      "etcd-snapshot-20261126T030200Z.db.enc", "notes.txt"]
    newest = "etcd-snapshot-20261126T030200Z.db.enc"
    stored = s3.get_object(Bucket="push", Key="c/" + newest)
    for body in (stored["Body"].read(), (tmp_path / "vault" / newest).read_bytes()):
        (tmp_path / "x.enc").write_bytes(body)
        opened = crypto.decrypt_file(str(tmp_path / "x.enc"), str(tmp_path / "x.db"), KEY, SIGNERS, name=newest,
                                     cluster="prod/etcd")
        assert (tmp_path / "x.db").read_bytes() == (tmp_path / "snapshots" / newest[:-4]).read_bytes()
        assert opened["label"] == dict(name=newest, cluster="prod/etcd", cluster_id="%x" % CLUSTER_ID,
                                       time="20261126T030200Z", signer="member:etcd-a")
        assert opened["compression"] == "zlib" and opened["compressed_size"] < opened["size"] // 4
    assert stored["Metadata"] == crypto.object_metadata(opened["size"], opened["sha256"], crypto.key_id(KEY))
    record = status(conf)
    assert record["result"] == "pushed" and record["snapshot"] == newest[:-4]
    assert [(t["name"], t["uploaded"], t["kept"], t["deleted"]) for t in record["targets"]] == [
        ("offsite", True, 2, ["etcd-snapshot-20261126T030000Z.db.enc"]),
        ("vault", True, 2, ["etcd-snapshot-20261126T030000Z.db.enc"])]
    assert oct(os.stat(conf["status_file"]).st_mode & 0o777) == "0o600"
    assert [p for p in os.listdir(tmp_path / "snapshots") if p.startswith(".push.")] == []  # no sealed copy left
    assert SECRET not in "\n".join(log) + json.dumps(record)


def test_a_push_logs_when_it_claimed_the_period_and_when_it_ended_before_its_release(script, server, tmp_path):
    """What molecule/restore orders the members' pushes by: two overlap when one's claim time falls before
    another's end."""
    url, _s3 = server
    conf = settings(tmp_path, url)
    conf["targets"] = conf["targets"][:1]
    etcd, log = Etcd(leader=B), []
    run = push(script, conf, etcd, log)
    ticks = iter(1000 + 0.25 * n for n in range(100))
    run.clock = lambda: next(ticks)
    released = []
    real_release = run.release
    run.release = lambda pushed: released.append((log[-1], pushed)) or real_release(pushed)
    assert run.run(snapshot(tmp_path)) == 0, log
    # The record's time is the clock's first reading, the claim's its second; the pruning read it once.
    assert log[0] == "claimed the push of this period at 1000.250"
    assert log[-1].startswith("push ended at 1000.750; its claim is marked pushed for the rest of the window (")
    assert released and not released[0][0].startswith("push ended")  # the end is taken before the release


def test_a_second_member_of_the_same_window_skips_naming_the_one_that_pushes(script, server, tmp_path):
    url, _s3 = server
    conf = settings(tmp_path, url)
    etcd, log = Etcd(leader=B), []
    first = push(script, conf, etcd)
    assert first.claim() == (True, None)
    assert push(script, conf, etcd, log).run(snapshot(tmp_path)) == 0
    assert log == ["skipped: backup push of etcd-a on host-a, pid 7 pushes this period"]
    assert etcd.leases and len(etcd.leases) == 1  # its own lease revoked
    # The status file still holds this member's last push (none here): a skip does not hide a failure.
    assert not os.path.exists(conf["status_file"])


def test_the_leader_waits_so_that_a_follower_pushes(script, server, tmp_path):
    url, _s3 = server
    conf = settings(tmp_path, url)
    slept = []
    assert push(script, conf, Etcd(leader=A), slept=slept).claim() == (True, None)
    assert slept == [5]


def test_the_leader_that_finds_the_claim_held_skips_at_once_as_the_followers_do(script, server, tmp_path):
    # A window longer than the period: the followers find the last period's claim and skip; the
    # leader, waiting past its end, would otherwise push every such period.
    url, _s3 = server
    conf = settings(tmp_path, url)
    etcd, slept = Etcd(leader=A), []
    last = push(script, conf, etcd)
    assert last.claim() == (True, None)
    assert last.release(True) in ("is marked pushed for the rest of the window (300 s)",
                                  "is marked pushed for the rest of the window (299 s)")
    leases = dict(etcd.leases)
    assert push(script, conf, etcd, slept=slept).claim() == (
        False, "backup push of etcd-a on host-a, pid 7 (pushed)")
    assert slept == [] and etcd.leases == leases  # no wait, no lease of its own


def test_an_unreachable_target_fails_the_run_keeps_the_snapshot_and_the_other_target(
        script, server, tmp_path, monkeypatch):
    url, _s3 = server
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # nothing listens on port 9: no retries
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    conf = settings(tmp_path, url, metrics_dir=str(metrics))
    os.makedirs(conf["targets"][1]["path"])  # as the role makes it, the account's
    conf["targets"][0]["endpoint_url"] = "http://127.0.0.1:9"
    log = []
    path = snapshot(tmp_path)
    assert push(script, conf, Etcd(leader=B), log).run(path) == 1
    record = status(conf)
    assert record["result"] == "failed" and os.path.exists(path)
    errors = {t["name"]: t.get("error") for t in record["targets"]}
    assert errors["offsite"].startswith("target offsite (s3://push/c/): looking for object %s.enc failed: Could not "
                                        "connect to the endpoint URL: \"http://127.0.0.1:9/push/c/" % NAME), errors
    assert errors["vault"] is None
    assert SECRET not in "\n".join(log) + json.dumps(record)
    labels = 'cluster="prod/etcd",member="etcd-a"'
    failed = (metrics / "etcd-backup-push.prom").read_text()
    for line in ("push_success{%s} 0" % labels, 'push_target_success{%s,target="offsite"} 0' % labels,
                 'push_target_success{%s,target="vault"} 1' % labels, "push_last_success_timestamp_seconds{%s} 0" % labels):
        assert "raftops_etcd_backup_" + line + "\n" in failed, failed
    # The target back, the next push clears the failure from the metrics.
    conf["targets"][0]["endpoint_url"] = url
    assert push(script, conf, Etcd(leader=B)).run(snapshot(tmp_path, "etcd-snapshot-20261126T040000Z.db")) == 0
    cleared = (metrics / "etcd-backup-push.prom").read_text()
    for line in ("push_success{%s} 1" % labels, 'push_target_success{%s,target="offsite"} 1' % labels,
                 "push_last_success_timestamp_seconds{%s} %d" % (labels, status(conf)["time"])):
        assert "raftops_etcd_backup_" + line + "\n" in cleared, cleared


def test_the_schedule_period_is_systemds(script):
    """systemd-analyze's next two elapses of the timer's calendar: what the alert rules allow a push."""
    out = ("  Original form: hourly\nNormalized form: *-*-* *:00:00\n    Next elapse: Thu 2026-11-26 10:00:00 UTC\n"
           "       From now: 12min left\n       Iter. #2: Thu 2026-11-26 11:00:00 UTC\n       From now: 1h 12min left\n")
    calls = []

    def analyze(argv, **_options):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, stdout=out, stderr="")

    assert script.schedule_period("hourly", run=analyze) == 3600
    assert calls == [["systemd-analyze", "calendar", "--iterations=2", "hourly"]]
    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="Failed to parse calendar specification")
    assert script.schedule_period("nonsense", run=lambda argv, **_o: failed) is None
    if shutil.which("systemd-analyze"):  # the real one, as on a member
        assert (script.schedule_period("*:0/15"), script.schedule_period("daily")) == (900, 86400)


def test_a_push_writes_the_schedules_period_beside_its_metrics(script, server, tmp_path):
    """With systemd-analyze (as on every member); without it the period is left out, not guessed."""
    url, _s3 = server
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    conf = settings(tmp_path, url, metrics_dir=str(metrics), schedule="hourly")
    os.makedirs(conf["targets"][1]["path"])
    assert push(script, conf, Etcd(leader=B)).run(snapshot(tmp_path)) == 0
    line = 'raftops_etcd_backup_push_interval_seconds{cluster="prod/etcd",member="etcd-a"} 3600\n'
    assert (line in (metrics / "etcd-backup-push.prom").read_text()) == bool(shutil.which("systemd-analyze"))


def test_no_push_without_the_claim_when_etcd_does_not_answer(script, server, tmp_path):
    url, s3 = server
    conf = settings(tmp_path, url)

    def down(argv, **_options):
        return subprocess.CompletedProcess(argv, 1, stdout="", stderr="context deadline exceeded")

    before = s3.list_objects_v2(Bucket="push", Prefix="c/").get("KeyCount")
    assert push(script, conf, down).run(snapshot(tmp_path)) == 1
    record = status(conf)
    assert record["result"] == "failed" and "cannot claim the push of this period" in record["error"]
    assert s3.list_objects_v2(Bucket="push", Prefix="c/").get("KeyCount") == before


def test_when_the_claimants_push_fails_another_member_pushes_that_period_and_only_one(script, server, tmp_path):
    url, s3 = server
    conf = settings(tmp_path, url)
    conf["targets"][0]["prefix"] = "fallback/"
    os.makedirs(conf["targets"][1]["path"])
    etcd = Etcd(leader=B)
    failing = dict(conf, targets=[dict(conf["targets"][0], endpoint_url="http://127.0.0.1:9")])
    first = push(script, failing, etcd)
    assert first.claim() == (True, None)
    waiting, log, slept = push(script, conf, etcd), [], []
    waiting.log, waiting.sleep = log.append, slept.append
    gets = []

    def claimant_fails_meanwhile(seconds):
        slept.append(seconds)
        if len(slept) == 2:  # the claimant's push fails while this member waits: it marks its claim so
            first.release(False)
        gets.append(etcd.keys.get("/raftops/etcd/backup-push"))

    waiting.sleep = claimant_fails_meanwhile
    assert waiting.run(snapshot(tmp_path)) == 0, log
    assert log[:2] == ["taking the period over: the claim of backup push of etcd-a on host-a, pid 7 is marked failed",
                       "falling back: this member pushes in place of the member that claimed this period"]
    assert slept == [2, 2] and gets[0] is not None
    assert base64.b64decode(gets[1]["value"]).decode() == "backup push of etcd-a on host-a, pid 7 (failed)"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="push", Prefix="fallback/")["Contents"]] == ["fallback/" + NAME + ".enc"]
    # Pushed, the fallback marks its claim so: a third member waiting on it skips at once.
    held = base64.b64decode(etcd.keys["/raftops/etcd/backup-push"]["value"]).decode()
    assert held == "backup push of etcd-a on host-a, pid 7 (pushed)"
    third, third_log, third_slept = push(script, conf, etcd), [], []
    third.log, third.sleep = third_log.append, third_slept.append
    assert third.run(snapshot(tmp_path, "etcd-snapshot-20261126T030001Z.db")) == 0
    assert third_slept == [2] and third_log == ["skipped: %s pushes this period" % held]
    assert len(s3.list_objects_v2(Bucket="push", Prefix="fallback/")["Contents"]) == 1


def expire(etcd, lease):
    """etcd lets a lease run out: the lease and every key under it go."""
    etcd.leases.pop(lease, None)
    etcd.keys = {k: kv for k, kv in etcd.keys.items() if kv["lease"] != lease}


def test_a_claimant_killed_mid_push_is_taken_over_within_seconds_not_after_the_window(script, server, tmp_path):
    """The claimant is SIGKILLed (or its host crashes) mid-push: nothing renews its claim's short lease,
    which runs out within CLAIM_TTL seconds, and a waiting member pushes the period then - not after
    the window (300 s here), when nobody would have pushed it."""
    url, s3 = server
    conf = settings(tmp_path, url)
    conf["targets"][0]["prefix"] = "killed/"
    os.makedirs(conf["targets"][1]["path"])
    etcd = Etcd(leader=B)
    killed = push(script, conf, etcd)
    assert killed.claim() == (True, None)
    assert etcd.leases[killed.lease] == script.CLAIM_TTL <= 10  # seconds, not the window
    waiting, log, slept = push(script, conf, etcd), [], []
    waiting.log = log.append

    def time_passes(seconds):
        slept.append(seconds)
        if sum(slept) >= script.CLAIM_TTL:
            expire(etcd, killed.lease)

    waiting.sleep = time_passes
    assert waiting.run(snapshot(tmp_path)) == 0, log
    assert sum(slept) <= script.CLAIM_TTL + script.FALLBACK_POLL
    assert log[:2] == ["taking the period over: the claim of this period vanished without being marked pushed (its "
                       "holder died, or could not keep it alive)",
                       "falling back: this member pushes in place of the member that claimed this period"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="push", Prefix="killed/")["Contents"]] == ["killed/%s.enc" % NAME]
    assert status(conf)["result"] == "pushed"
    # The pushed period stays marked, under a lease of the rest of the window (not the claim's short
    # one, revoked): a third member of this period skips at its first look.
    held = etcd.keys["/raftops/etcd/backup-push"]
    assert base64.b64decode(held["value"]).decode() == "backup push of etcd-a on host-a, pid 7 (pushed)"
    assert held["lease"] != waiting.lease and waiting.lease not in etcd.leases
    assert 290 <= etcd.leases[held["lease"]] <= 300
    third, third_log, third_slept = push(script, conf, etcd), [], []
    third.log, third.sleep = third_log.append, third_slept.append
    assert third.run(snapshot(tmp_path, "etcd-snapshot-20261126T030001Z.db")) == 0
    assert third_slept == [2] and third_log == ["skipped: backup push of etcd-a on host-a, pid 7 (pushed) pushes this period"]
    assert len(s3.list_objects_v2(Bucket="push", Prefix="killed/")["Contents"]) == 1


def test_the_pushed_mark_of_the_period_before_running_out_is_no_claim_to_take_over(script, server, tmp_path):
    """A window longer than the period: a member finds the last period's claim marked pushed, which runs
    out while it waits. That mark is not a claim that vanished unmarked: it skips, as before (found by
    molecule/restore: the leader, whose first look came after the mark ran out, pushed every period)."""
    url, s3 = server
    conf = settings(tmp_path, url)
    conf["targets"] = conf["targets"][:1]
    conf["targets"][0]["prefix"] = "overlap/"
    etcd = Etcd(leader=A)
    last = push(script, conf, etcd)
    assert last.claim() == (True, None)
    assert last.release(True).startswith("is marked pushed for the rest of the window (")
    marked = etcd.keys["/raftops/etcd/backup-push"]["lease"]
    leader, log, slept = push(script, conf, etcd), [], []
    leader.log = log.append

    def mark_runs_out(seconds):
        slept.append(seconds)
        expire(etcd, marked)

    leader.sleep = mark_runs_out
    assert leader.run(snapshot(tmp_path)) == 0
    assert log == ["skipped: backup push of etcd-a on host-a, pid 7 (pushed) pushes this period"] and slept == [2]
    assert s3.list_objects_v2(Bucket="push", Prefix="overlap/").get("KeyCount") == 0
    assert "/raftops/etcd/backup-push" not in etcd.keys


@pytest.mark.parametrize("window, ttl", [(300, 10), (60, 10), (6, 2), (3, 2)])
def test_the_claim_s_lease_is_seconds_and_at_most_a_third_of_the_window(script, tmp_path, window, ttl):
    # A member waiting for the claimant's result (up to its window) outlives a claim nobody renews.
    assert push(script, dict(settings(tmp_path, "http://127.0.0.1:9"), window=window), Etcd(leader=B)).claim_ttl() == ttl


def test_a_claimant_whose_keepalive_fails_stops_before_it_sends_anything(script, server, tmp_path):
    url, s3 = server
    conf = settings(tmp_path, url)
    conf["targets"][0]["prefix"] = "lost/"
    os.makedirs(conf["targets"][1]["path"])
    etcd, log = Etcd(leader=B), []
    cut_off = push(script, conf, etcd, log)
    real_claim = cut_off.claim

    def claim_then_lose_it():
        claimed = real_claim()
        cut_off.lost = "the claim of this period could not be kept alive: etcdctl lease keep-alive: context deadline exceeded"
        return claimed

    cut_off.claim = claim_then_lose_it
    assert cut_off.run(snapshot(tmp_path)) == 1
    stopped = ("the push stopped: ClaimLost: the claim of this period could not be kept alive: etcdctl lease keep-alive: "
               "context deadline exceeded; another member may push this period now, so this one stops")
    assert status(conf)["result"] == "failed" and status(conf)["error"] == stopped
    assert s3.list_objects_v2(Bucket="push", Prefix="lost/").get("KeyCount") == 0
    assert os.listdir(conf["targets"][1]["path"]) == []


def test_a_claim_not_renewed_in_time_stops_the_push_before_it_prunes(script, server, tmp_path):
    url, s3 = server
    conf = settings(tmp_path, url)
    conf["targets"] = conf["targets"][:1]
    conf["targets"][0]["prefix"] = "late/"
    etcd, log = Etcd(leader=B), []
    late = push(script, conf, etcd, log)
    now = {"t": 0.0}
    late.timer = lambda: now["t"]
    pruned = []
    late.prune = lambda target, outcome: pruned.append(target.name)
    late.keep_claim = lambda stop: stop.wait()  # its renewal hangs
    real_send = late.targets[0].send

    def slow_send(*args):
        real_send(*args)
        now["t"] += script.CLAIM_TTL  # the keeper's renewal hangs meanwhile: the lease may have run out

    late.targets[0].send = slow_send
    assert late.run(snapshot(tmp_path)) == 1
    assert status(conf)["error"] == ("the push stopped: ClaimLost: the claim of this period was not renewed in time (its "
                                     "lease may have run out); another member may push this period now, so this one "
                                     "stops")
    assert pruned == []  # sent, then stopped before pruning
    assert s3.list_objects_v2(Bucket="push", Prefix="late/")["KeyCount"] == 1


def test_a_push_that_outlasts_its_window_keeps_its_claim_then_ends_it(script, server, tmp_path, monkeypatch):
    """A claim that ran out mid-push let the next period's push start beside it (found by
    molecule/restore under load): the holder renews it while it pushes, and ends it once done."""
    url, _s3 = server
    conf = dict(settings(tmp_path, url), window=2)
    monkeypatch.setattr(script, "CLAIM_TTL", 3)  # renewed every second
    etcd, log = Etcd(leader=B), []
    slow = push(script, conf, etcd, log)
    assert slow.claim() == (True, None)
    renewed = []
    real_keepalive = slow.etcdctl.keepalive
    slow.etcdctl.keepalive = lambda lease: renewed.append(lease) or real_keepalive(lease)
    pushing = script.threading.Event()
    keeper = script.threading.Thread(target=slow.keep_claim, args=(pushing,))
    keeper.start()
    try:
        assert script.time.sleep(1.5) is None and renewed == [slow.lease], renewed
    finally:
        pushing.set()
        keeper.join()
    slow.claim_held()  # kept: the push goes on
    # Another member of the next period finds the claim held and skips.
    assert push(script, conf, etcd).claim()[0] is False
    slow.started -= 5  # its window is over
    assert slow.release(True) == "kept past its window, is ended"
    assert "/raftops/etcd/backup-push" not in etcd.keys and slow.lease not in etcd.leases
    assert push(script, conf, etcd).claim() == (True, None)
    assert log == []


def test_a_claim_that_cannot_be_kept_is_logged_and_stops_the_push(script, server, tmp_path, monkeypatch):
    url, _s3 = server
    conf = dict(settings(tmp_path, url), window=2)
    monkeypatch.setattr(script, "CLAIM_TTL", 1)
    etcd, log = Etcd(leader=B), []
    slow = push(script, conf, etcd, log)
    assert slow.claim() == (True, None)
    expire(etcd, slow.lease)  # it ran out (a member that stalled longer than its lease)
    pushing = script.threading.Event()
    slow.keep_claim(pushing)
    assert log == ["the claim of this period could not be kept alive: its lease ran out"]
    with pytest.raises(script.ClaimLost, match="its lease ran out; another member may push this period now"):
        slow.claim_held()
    assert slow.release(False) == "was lost meanwhile; left alone"


def test_a_push_killed_mid_copy_leaves_no_object_under_its_name_and_the_next_one_pushes(script, server, tmp_path):
    """ssh killed mid-way: the target's cat sees its input end early, as if the copy were whole."""
    url, _s3 = server
    conf = settings(tmp_path, url)
    vault = tmp_path / "vault"
    os.makedirs(vault)
    (vault / ".etcd-snapshot-20261126T010000Z.db.enc.part").write_bytes(b"a part left by a push killed long ago")
    os.utime(vault / ".etcd-snapshot-20261126T010000Z.db.enc.part", (1, 1))

    def cut_short(argv, stdin=None, **options):
        if stdin is None:
            return local_ssh(argv, **options)
        half = stdin.read()[:1000]
        command, env = forced(argv)
        return subprocess.run(command, env=env, input=half, capture_output=True, check=False)

    target = script.SshTarget(conf["targets"][1], "/k", "/h", run=cut_short)
    sealed = tmp_path / "sealed.enc"
    sealed.write_bytes(os.urandom(5000))
    with pytest.raises(script.PushError, match=r"the copy of %s\.enc is not what was sent \(cut short\?\)" % NAME):
        target.send(str(sealed), NAME + ".enc", {})
    assert os.listdir(vault) == []  # the old part went, and the copy cut short with it: no object under its name
    assert target.listing() == []
    # The next period pushes whole, and its object is the newest (the part is never a backup).
    later = "etcd-snapshot-20261126T031000Z.db"
    assert push(script, conf, Etcd(leader=B)).run(snapshot(tmp_path, later)) == 0
    assert [o["name"] for o in target.listing()] == [later + ".enc"]


def test_etcd_killed_mid_push_still_pushes_whole_without_a_drill_record(script, server, tmp_path):
    url, s3 = server
    conf = settings(tmp_path, url)
    conf["targets"][0]["prefix"] = "etcd-killed/"
    os.makedirs(conf["targets"][1]["path"])

    class Killed(Etcd):
        """etcd answers the claim, then is killed: every later call fails."""

        def __call__(self, argv, input=None, **options):
            if self.keys and os.path.basename(argv[0]) == "etcdctl":
                return subprocess.CompletedProcess(argv, 1, stdout="", stderr="connection refused")
            if os.path.basename(argv[0]) == "etcdutl":
                return subprocess.CompletedProcess(argv, 0, stdout=json.dumps({"revision": 9, "totalKey": 3}),
                                                   stderr="")
            return super().__call__(argv, input=input, **options)

    log = []
    path = snapshot(tmp_path)
    conf["etcdutl"] = "/usr/local/bin/etcdutl"
    assert push(script, conf, Killed(leader=B), log).run(path) == 0, log
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="push", Prefix="etcd-killed/")["Contents"]] == [
        "etcd-killed/%s.enc" % NAME]
    assert status(conf)["result"] == "pushed"
    # The sealed header names the snapshot's revision (where a change stream with no segment yet starts).
    head = s3.get_object(Bucket="push", Key="etcd-killed/%s.enc" % NAME)["Body"].read()[:crypto.MAX_HEAD_SIZE]
    assert crypto.label_revision(crypto.parse_head(head, NAME)) == 9
    # The drill's record holds what could be read: the revision, and why not the keys and hash.
    with open(path + ".json", encoding="utf-8") as handle:
        record = json.load(handle)
    assert (record["revision"], record["keys"], record["hash_kv"]) == (9, None, None)
    assert record["hash_problem"].startswith("read at revision 9: etcdctl get") and "connection refused" in record["hash_problem"]
    assert "the claim of this period was not released: " in log[-1]


@pytest.mark.parametrize("planted", ["etcd-backup-push.prom", "etcd-backup-push.prom.part"])
def test_the_metrics_file_is_written_without_following_a_planted_link(script, tmp_path, planted):
    # A link planted in the metrics directory (writable by a collector's group, not only by root) must
    # not make the push, run as root, write through it: the 0600 file it names stays as it was.
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    victim = tmp_path / "shadow"
    victim.write_text("root-only\n")
    victim.chmod(0o600)
    os.symlink(victim, metrics / planted)
    conf = dict(metrics_dir=str(metrics), instance="etcd", cluster="prod", name="m0")
    script.write_metrics(conf, "push", [("last_success", 1, {})])
    assert victim.read_text() == "root-only\n" and oct(victim.stat().st_mode & 0o777) == "0o600"
    written = metrics / "etcd-backup-push.prom"
    assert not written.is_symlink() and oct(written.stat().st_mode & 0o777) == "0o644"
    assert written.read_text() == 'raftops_etcd_backup_last_success{cluster="prod",member="m0"} 1\n'


def test_a_member_without_python3_cryptography_records_why_and_claims_nothing(script, server, tmp_path, monkeypatch):
    url, _s3 = server
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    conf = settings(tmp_path, url, metrics_dir=str(metrics))
    monkeypatch.setattr(script.crypto, "HAS_CRYPTOGRAPHY", False)
    monkeypatch.setattr(script.crypto, "CRYPTOGRAPHY_IMPORT_ERROR", ImportError("No module named 'cryptography'"))
    etcd, log = Etcd(leader=B), []
    assert push(script, conf, etcd, log).run(snapshot(tmp_path)) == 1
    error = ("this member cannot seal backups: its python3 cannot import the cryptography package (No module named "
             "'cryptography'); install Debian's python3-cryptography on it")
    assert log == ["push of %s failed: %s" % (NAME, error)]
    assert status(conf)["result"] == "failed" and status(conf)["error"] == error
    assert 'raftops_etcd_backup_push_success{cluster="prod/etcd",member="etcd-a"} 0\n' in (
        metrics / "etcd-backup-push.prom").read_text()
    assert "/raftops/etcd/backup-push" not in etcd.keys  # the period is left to the other members


def test_a_push_that_crashes_is_recorded_and_its_claim_marked_failed_for_the_others(script, server, tmp_path, monkeypatch):
    url, _s3 = server
    conf = settings(tmp_path, url)
    os.makedirs(conf["targets"][1]["path"])

    def crash(*_args, **_kwargs):
        raise NameError("name 'X25519PrivateKey' is not defined")

    monkeypatch.setattr(script.crypto, "encrypt_file", crash)
    etcd, log = Etcd(leader=B), []
    assert push(script, conf, etcd, log).run(snapshot(tmp_path)) == 1
    stopped = "the push stopped: NameError: name 'X25519PrivateKey' is not defined"
    assert "push of %s failed: %s" % (NAME, stopped) in log
    assert status(conf)["result"] == "failed" and status(conf)["error"] == stopped
    held = base64.b64decode(etcd.keys["/raftops/etcd/backup-push"]["value"]).decode()
    assert held == "backup push of etcd-a on host-a, pid 7 (failed)"  # a waiting member takes it over at once
    assert [p for p in os.listdir(tmp_path / "snapshots") if p.startswith(".push.")] == []


# -- retention by verified header, and credentials that may not delete ----------------------------


def test_objects_planted_under_the_prefix_make_the_push_prune_nothing_real(script, server, tmp_path):
    url, s3 = server
    conf = settings(tmp_path, url)
    conf["targets"] = [dict(conf["targets"][0], prefix="planted/", keep=2)]
    etcd, log = Etcd(leader=B), []
    real = ["etcd-snapshot-20261126T03%02d00Z.db" % minute for minute in range(3)]
    # Planted with newer names and times, sealed to the public key every member holds: signed with a
    # key of their own under the controller's and a member's names, or no backup at all.
    plain = tmp_path / "evil.db"
    plain.write_bytes(b"evil")
    planted = []
    for day, by in ((27, crypto.Signer("controller", os.urandom(32))), (28, crypto.Signer("member:etcd-b", os.urandom(32))),
                    (29, crypto.signer(KEY, "member:etcd-gone"))):
        name = "etcd-snapshot-202611%02dT000000Z.db.enc" % day
        crypto.encrypt_file(str(plain), str(tmp_path / name), crypto.recipient(KEY),
                            crypto.make_label(name, "prod/etcd", "", "202611%02dT000000Z" % day), by)
        s3.upload_file(str(tmp_path / name), "push", "planted/" + name)
        planted.append(name)
    s3.put_object(Bucket="push", Key="planted/etcd-snapshot-29990101T000000Z.db.enc", Body=b"garbage")
    s3.put_object(Bucket="push", Key="planted/etcd-snapshot-39990101T000000Z.db.enc", Body=b"")
    planted += ["etcd-snapshot-29990101T000000Z.db.enc", "etcd-snapshot-39990101T000000Z.db.enc"]
    for name in real:
        assert push(script, conf, etcd, log).run(snapshot(tmp_path, name)) == 0, log
        etcd.keys.clear()
    objects = sorted(o["Key"][len("planted/"):] for o in s3.list_objects_v2(Bucket="push", Prefix="planted/")["Contents"])
    # The real backups pruned to their keep of 2 (the planted ones count for nothing), the planted left alone.
    assert objects == sorted([real[1] + ".enc", real[2] + ".enc", *planted])
    record = status(conf)
    assert record["result"] == "pushed" and record["targets"][0]["deleted"] == [real[0] + ".enc"]
    assert record["targets"][0]["kept"] == 2 and len(record["targets"][0]["unverified"]) == len(planted)
    assert len(record["warnings"]) == len(planted)
    assert any('is signed by "member:etcd-gone", which is not a signer of this cluster' in w for w in record["warnings"])
    assert sum("neither kept nor deleted, an operator decides" in line for line in log) == 3 * len(planted)


def test_a_push_whose_credentials_cannot_delete_sends_and_records_that_pruning_failed(script, tmp_path):
    """Against a moto server that enforces IAM (INITIAL_NO_AUTH_ACTION_COUNT): the push's user may put,
    get and list, not delete."""
    import boto3
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    # The first 4 requests (the bucket, the user, its policy, its key) are made before IAM is enforced.
    with moto_server(env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")) as url:
        admin = dict(endpoint_url=url, aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1")
        boto3.client("s3", **admin).create_bucket(Bucket="push")
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="pusher")
        iam.put_user_policy(UserName="pusher", PolicyName="push", PolicyDocument=json.dumps(dict(
            Version="2012-10-17", Statement=[dict(Effect="Allow", Resource="*",
                                                  Action=["s3:PutObject", "s3:GetObject", "s3:ListBucket"])])))
        created = iam.create_access_key(UserName="pusher")["AccessKey"]
        conf = settings(tmp_path, url, metrics_dir=str(metrics))
        conf["targets"] = [dict(conf["targets"][0], keep=1, access_key=created["AccessKeyId"],
                                secret_key=created["SecretAccessKey"])]
        etcd, log = Etcd(leader=B), []
        first, second = "etcd-snapshot-20261126T030000Z.db", "etcd-snapshot-20261126T030100Z.db"
        assert push(script, conf, etcd, log).run(snapshot(tmp_path, first)) == 0, log
        etcd.keys.clear()
        # Sent, not pruned: the push succeeds, and says so in its log, status file and metrics.
        assert push(script, conf, etcd, log).run(snapshot(tmp_path, second)) == 0, log
        record = status(conf)
        (target,) = record["targets"]
        assert record["result"] == "pushed" and target["uploaded"] is True and "error" not in target
        assert target["prune_error"].startswith("target offsite (s3://push/c/): pruning failed: deleting object %s.enc "
                                                "failed: An error occurred (AccessDenied)" % first), target["prune_error"]
        assert record["warnings"] == [target["prune_error"]]
        assert any("WARNING: %s (old backups stay until it works)" % target["prune_error"] in line for line in log)
        labels = 'cluster="prod/etcd",member="etcd-a",target="offsite"'
        written = (metrics / "etcd-backup-push.prom").read_text()
        assert "raftops_etcd_backup_push_prune_success{%s} 0\n" % labels in written, written
        assert 'raftops_etcd_backup_push_success{cluster="prod/etcd",member="etcd-a"} 1\n' in written
        pusher = boto3.client("s3", endpoint_url=url, aws_access_key_id=created["AccessKeyId"],
                              aws_secret_access_key=created["SecretAccessKey"], region_name="us-east-1")
        assert sorted(o["Key"] for o in pusher.list_objects_v2(Bucket="push", Prefix="c/")["Contents"]) == [
            "c/%s.enc" % first, "c/%s.enc" % second]
        assert created["SecretAccessKey"] not in "\n".join(log) + json.dumps(record)
