"""The members' change stream (roles/etcd/files/etcd_backup_stream.py), loaded as the role lays it out
on a member, with fakes only: a fake etcdctl watch (its JSON lines), a fake etcdctl, a fake claim, a
clock the test moves, and two targets - an SSH target whose commands run through the real forced
command (etcd_backup_receive.py) in a local directory, and an in-memory one. No host, no etcd."""

import base64
import io
import json
import os
import queue
import sys

import pytest
from test_etcd_backup_push_script import KEY, MEMBERS, local_ssh
from test_etcd_backup_push_script import lib_files as push_lib_files
from test_etcd_maintenance_script import SETTINGS, loaded_script

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import stream_segments as segments

CLUSTER_ID = 0xEF37AD9DC622A7C4
BACKUP = "etcd-snapshot-20261128T130000Z.db.enc"


def lib_files():
    """What the role copies for the stream: the push's files, the stream's among them."""
    files = push_lib_files()
    assert "etcd_backup_stream.py" in [name for _src, name in files]
    return files


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    yield from loaded_script(tmp_path_factory, lib_files(), "etcd_backup_stream.py")


def b64(text):
    return base64.b64encode(text.encode()).decode()


def event(revision, key, value="v", lease=0, delete=False):
    kv = dict(key=b64(key), mod_revision=revision)
    if not delete:
        kv.update(value=b64(value), lease=lease)
    return dict(type=1, kv=kv) if delete else dict(kv=kv)


def answer(*events, **more):
    return dict(Header=dict(revision=events[-1]["kv"]["mod_revision"] if events else 0), Events=list(events), **more)


class Clock:
    def __init__(self, now=1764334800.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeEtcdctl:
    """What the stream asks etcdctl besides the watch: the endpoint's status and a lease's TTL."""

    def __init__(self, revision=7, leases=None):
        self.revision, self.leases, self.asked = revision, leases or {}, []
        self.base = ["etcdctl", "--endpoints", "https://127.0.0.1:2379"]

    def json(self, *args):
        self.asked.append(" ".join(args))
        if args[:2] == ("endpoint", "status"):
            return [{"Status": {"header": {"cluster_id": CLUSTER_ID, "revision": self.revision}}}]
        if args[:2] == ("lease", "timetolive"):
            return {"granted-ttl": self.leases.get(int(args[2], 16), 0)}
        raise AssertionError("unexpected etcdctl %s" % (args,))


class FakeClaim:
    holder = "backup stream of etcd-a on host-a, pid 7"

    def __init__(self, lost=None):
        self.lost, self.checked = lost, 0

    def claim_held(self):
        self.checked += 1
        if self.lost:
            raise self.lost


class FakeWatch:
    """A watch whose answers the test gives: each (received, response), then None (etcdctl ended)."""

    started = []

    def __init__(self, _etcdctl, start, answers=()):
        FakeWatch.started.append(start)
        self.answers = queue.Queue()
        for item in answers:
            self.answers.put(item)
        self.stopped = False

    def why_ended(self):
        return "etcdctl ended: the test's answers ran out"

    def stop(self):
        self.stopped = True


class MemoryTarget:
    """A target in memory, as the stream uses one (the push's S3Target's methods)."""

    def __init__(self, name="offsite"):
        self.name, self.objects_held, self.target = name, {}, dict(name=name, type="s3")

    def where(self):
        return "memory:%s" % self.name

    def objects(self):
        return [dict(name=n, size=len(b), mtime=m) for n, (b, m) in sorted(self.objects_held.items())]

    def present(self, name, _sha256):
        return name in self.objects_held

    def send(self, path, name, _metadata):
        with open(path, "rb") as source:
            self.objects_held[name] = (source.read(), 1764334800.0 + len(self.objects_held))

    def read_head(self, name, size):
        return self.objects_held[name][0][:size]

    def delete(self, name):
        del self.objects_held[name]


def stream_settings(tmp_path, targets):
    to = crypto.recipient(KEY)
    own = crypto.signer(KEY, crypto.member_signer(SETTINGS["name"]))
    backup_dir = tmp_path / "snapshots"
    backup_dir.mkdir(exist_ok=True)
    return dict(SETTINGS, instance="etcd", cluster="prod/etcd", compression="zlib", window=300,
                public_key=base64.b64encode(to.public_key).decode(), key_id=to.key_id, signer=own.name,
                signing_seed=base64.b64encode(own.seed).decode(),
                signers=crypto.encoded_signers(crypto.cluster_signers(KEY, MEMBERS)),
                stream_status_file=str(tmp_path / "stream-status.json"), stream_interval=20,
                backup_dir=str(backup_dir), etcdutl="/nonexistent/etcdutl", metrics_dir="", ssh_key="/k",
                known_hosts="/h", targets=targets)


@pytest.fixture
def vault(tmp_path):
    path = tmp_path / "vault"
    path.mkdir()
    return dict(name="vault", type="ssh", host="backup1", address="10.0.0.9", port=22, path=str(path), keep=2,
                max_age_days=30)


def make_stream(script, tmp_path, targets, etcdctl=None, claim=None, clock=None):
    settings = stream_settings(tmp_path, [t.target for t in targets])
    log = []
    stream = script.Stream(settings, etcdctl or FakeEtcdctl(), log.append, targets, claim or FakeClaim(),
                           clock=clock or Clock())
    stream.cluster_id = "%x" % CLUSTER_ID
    return stream, log


def ssh_target(script, vault):
    """The push's SshTarget (the stream's targets are the push's), its ssh run through the forced command."""
    return sys.modules[script.Push.__module__].SshTarget(vault, "/k", "/h", run=local_ssh)


def opened(target, name, tmp_path):
    """The decoded segment ``name`` of ``target``: verified, decrypted, checked against its name."""
    sealed, plain = tmp_path / ("sealed-" + name), tmp_path / ("plain-" + name)
    sealed.write_bytes(target.objects_held[name][0] if isinstance(target, MemoryTarget) else target.ssh("get", name))
    crypto.decrypt_file(str(sealed), str(plain), KEY, crypto.cluster_signers(KEY, MEMBERS), what=name, name=name,
                        cluster="prod/etcd")
    return segments.decode_segment(plain.read_bytes(), name, "prod/etcd")


# -- the watch's output --------------------------------------------------------------------------


class Process:
    """etcdctl watch as Popen gives it: its stdout lines, its stderr and exit code once they are read."""

    def __init__(self, lines, stderr=b"", returncode=0):
        self.stdout, self.stderr, self.returncode = iter(lines), io.BytesIO(stderr), returncode

    def wait(self):
        return self.returncode

    def poll(self):
        return self.returncode


def test_the_watch_reads_etcdctl_s_json_answers_and_says_why_it_ended(script):
    lines = [json.dumps(answer(event(8, "/a"), event(8, "/b"))).encode() + b"\n", b"\n",
             b"  " + json.dumps(answer(event(9, "/a", delete=True))).encode() + b"\n"]
    process = Process(lines, stderr=b"Error: context deadline exceeded\n", returncode=1)
    started = []

    def popen(argv, **options):
        started.append((argv, options))
        return process

    watch = script.Watch(FakeEtcdctl(), 8, popen=popen)
    watch.reader.join(5)
    argv, options = started[0]
    assert argv == ["etcdctl", "--endpoints", "https://127.0.0.1:2379", "watch", "--prefix", "", "--rev=8", "-w", "json"]
    assert options["env"] == {"ETCDCTL_API": "3"}
    first, second, end = watch.answers.get_nowait(), watch.answers.get_nowait(), watch.answers.get_nowait()
    assert [e["kv"]["mod_revision"] for e in first[1]["Events"]] == [8, 8] and second[1]["Events"][0]["type"] == 1
    assert end is None and watch.answers.empty()
    assert watch.why_ended() == "Error: context deadline exceeded"
    assert script.Watch(FakeEtcdctl(), 8, popen=lambda argv, **o: Process([], returncode=3)).why_ended() == "exit 3"


def test_watch_answers_become_revisions_in_order_with_their_puts_deletes_and_leases(script, tmp_path):
    stream, _log = make_stream(script, tmp_path, [MemoryTarget()], etcdctl=FakeEtcdctl(leases={0x1F: 60}))
    reply = answer(event(8, "/a", "1"), event(8, "/b", "2", lease=0x1F), event(9, "/a", delete=True))
    assert stream.take((100.5, reply), 8, None) == 10
    assert stream.pending == [[8, 100.5, [["put", b64("/a"), b64("1"), 0], ["put", b64("/b"), b64("2"), 0x1F]]],
                              [9, 100.5, [["delete", b64("/a"), "", 0]]]]
    assert stream.leases == {0x1F: 60} and stream.started == stream.clock()
    with pytest.raises(script.StreamError, match=r"^the watch gave revision 11 where 10 was next$"):
        stream.take((101.0, answer(event(11, "/c"))), 10, None)
    with pytest.raises(script.StreamError, match=r"^the watch was canceled: "):
        stream.take((101.0, dict(Canceled=True, Events=[])), 10, None)


# -- cutting segments ----------------------------------------------------------------------------


def run_until_the_watch_ends(script, stream, answers, interval=20):
    FakeWatch.started = []
    with pytest.raises(script.StreamError, match=r"^the watch ended: etcdctl ended"):
        stream.run(interval, watch_factory=lambda etcdctl, start: FakeWatch(etcdctl, start, answers))


def test_a_segment_is_cut_every_interval_and_holds_the_revisions_read_since_the_last(script, tmp_path):
    target, clock = MemoryTarget(), Clock()
    stream, log = make_stream(script, tmp_path, [target], clock=clock)

    class TickingWatch(FakeWatch):
        """Revisions 8..14, one an answer; the clock moves 12 s as the stream reads each (the interval is 20 s)."""

        def __init__(self, etcdctl, start):
            super().__init__(etcdctl, start, [(clock.now, answer(event(rev, "/k%d" % rev))) for rev in range(8, 15)] + [None])
            read = self.answers.get

            def get(timeout=None):
                clock.now += 12
                return read(timeout=timeout)

            self.answers.get = get

    FakeWatch.started = []
    with pytest.raises(script.StreamError, match=r"^the watch ended: etcdctl ended"):
        stream.run(20, watch_factory=TickingWatch)
    names = segments.ordered(target.objects_held)
    # 8 read at 12 s, 9 at 24 s, 10 at 36 s: 24 s after the first, past the interval; then 11..13; 14 is not due yet.
    assert [segments.parse_segment_name(n) for n in names] == [(8, 10), (11, 13)]
    assert [rev for rev, _t, _ops in opened(target, names[0], tmp_path)["revisions"]] == [8, 9, 10]
    assert FakeWatch.started == [8] and [rev for rev, _t, _ops in stream.pending] == [14]
    status = json.loads((tmp_path / "stream-status.json").read_text())
    assert (status["last_segment"], status["last_revision"], status["segments"]) == (names[-1], 13, 2)
    assert any(line.startswith("shipped %s: 3 revisions, " % names[0]) for line in log), log


def test_a_segment_is_cut_sooner_past_its_size(script, tmp_path, monkeypatch):
    monkeypatch.setattr(script, "MAX_SEGMENT_BYTES", 100)
    target = MemoryTarget()
    stream, _log = make_stream(script, tmp_path, [target])
    big = "x" * 60
    answers = [(1.0, answer(event(8 + n, "/k%d" % n, big))) for n in range(4)]
    run_until_the_watch_ends(script, stream, [*answers, None], interval=3600)
    # Each revision is 80+ bytes as etcd sent it (base64): two pass the size.
    assert [segments.parse_segment_name(n) for n in segments.ordered(target.objects_held)] == [(8, 9), (10, 11)]


# -- where the stream starts, and the gaps -------------------------------------------------------


def shipped(script, stream, target, revisions, received=1000.0):
    """A segment of ``revisions`` shipped by ``stream`` to its targets."""
    stream.pending = [[rev, received, [["put", b64("/k%d" % rev), b64("v"), 0]]] for rev in revisions]
    stream.ship()
    return segments.segment_name(revisions[0], revisions[-1])


def test_a_stream_goes_on_after_the_last_segment_of_this_cluster_on_the_targets(script, tmp_path, vault):
    ssh = ssh_target(script, vault)
    stream, _log = make_stream(script, tmp_path, [ssh])
    shipped(script, stream, ssh, [8, 9, 10])
    # Another cluster's segment (a restore since): passed over.
    other, _log = make_stream(script, tmp_path, [ssh])
    other.cluster_id = "c0ffee"
    shipped(script, other, ssh, [11, 12])
    again, _log = make_stream(script, tmp_path, [ssh])
    assert again.start_revision(30) == (11, 1000.0)
    assert again.status.get("gap") is None


def full_backup(target, tmp_path, name, taken, revision=None, cluster_id="%x" % CLUSTER_ID):
    """A full backup on ``target`` as a member's push or the backup playbook seals it."""
    plain, sealed = tmp_path / ("plain-" + name), tmp_path / name
    plain.write_bytes(b"snapshot")
    crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY),
                        crypto.make_label(name, "prod/etcd", cluster_id, taken, revision), crypto.signer(KEY, crypto.CONTROLLER))
    target.send(str(sealed), name, {})


def test_a_stream_with_no_segment_starts_after_the_revision_the_targets_newest_full_backup_names(script, tmp_path):
    # The playbook's backup: no snapshot of this member's, and no segment on the targets yet.
    target = MemoryTarget()
    full_backup(target, tmp_path, "etcd-snapshot-20261128T120000Z.db.enc", "20261128T120000Z", revision=15)
    full_backup(target, tmp_path, BACKUP, "20261128T130000Z", revision=20)
    stream, log = make_stream(script, tmp_path, [target])
    # From the revision after the newest: every revision since is in a segment.
    assert stream.start_revision(30) == (21, 0.0)
    assert stream.status.get("gap") is None and log == []
    # A newer snapshot of this member's goes first; a backup naming no revision (sealed before headers
    # named it), or one past the cluster's revision, leaves the start where it was.
    stream, _log = make_stream(script, tmp_path, [target])
    stream.snapshot_revision = lambda: 25
    assert stream.start_revision(30) == (26, 0.0)
    unnamed = MemoryTarget()
    full_backup(unnamed, tmp_path, BACKUP, "20261128T130000Z")
    stream, _log = make_stream(script, tmp_path, [unnamed])
    assert stream.start_revision(30) == (31, 0.0)
    stream, _log = make_stream(script, tmp_path, [target])
    assert stream.start_revision(18) == (19, 0.0)


def test_a_target_with_full_backups_and_none_of_the_others_segments_is_a_gap(script, tmp_path, vault):
    ssh, added = ssh_target(script, vault), MemoryTarget("added")
    stream, _log = make_stream(script, tmp_path, [ssh])
    shipped(script, stream, ssh, [8, 9, 10])
    full_backup(added, tmp_path, BACKUP, "20261128T130000Z", revision=6)
    both, log = make_stream(script, tmp_path, [ssh, added])
    # The stream goes on after the last segment; the added target misses revisions 7..10.
    assert both.start_revision(30) == (11, 1000.0)
    why = "target added holds no segment of cluster %x yet, only full backups" % CLUSTER_ID
    assert both.status["gap"] == dict(first=7, last=10, why=why, seen=round(both.clock()))
    assert log == ["GAP: revisions 7..10 are in no segment: %s; the next full backup closes it" % why]
    # A full backup there past the others' last segment leaves nothing out.
    full_backup(added, tmp_path, "etcd-snapshot-20261128T140000Z.db.enc", "20261128T140000Z", revision=12)
    again, log = make_stream(script, tmp_path, [ssh, added])
    assert again.start_revision(30) == (11, 1000.0) and log == []


def test_segments_past_the_cluster_s_revision_are_a_gap(script, tmp_path, vault):
    ssh, memory = ssh_target(script, vault), MemoryTarget()
    stream, _log = make_stream(script, tmp_path, [ssh])
    shipped(script, stream, ssh, [8, 9, 10])
    both, log = make_stream(script, tmp_path, [ssh, memory])
    # The lowest of the targets' last revisions: the one without any reads again from there.
    assert both.start_revision(30) == (11, 1000.0)
    # Segments past the cluster's revision: another cluster's history under this cluster's ID.
    ahead, log = make_stream(script, tmp_path, [ssh])
    assert ahead.start_revision(5) == (6, 0.0)
    assert ahead.status["gap"] == dict(first=6, last=10, seen=round(ahead.clock()),
                                       why="the targets' segments of cluster %x go past its revision 5" % CLUSTER_ID)
    assert log == ["GAP: revisions 6..10 are in no segment: the targets' segments of cluster %x go past its revision 5; "
                   "the next full backup closes it" % CLUSTER_ID]


def test_a_compacted_revision_is_a_gap_and_the_watch_starts_again_after_it(script, tmp_path):
    target = MemoryTarget()
    etcdctl = FakeEtcdctl(revision=7)
    stream, log = make_stream(script, tmp_path, [target], etcdctl=etcdctl)
    answers = [(1.0, answer(event(8, "/a"))), (2.0, dict(CompactRevision=20, Events=[]))]
    FakeWatch.started = []
    watches = iter([answers, [(3.0, answer(event(20, "/b"))), None]])
    with pytest.raises(script.StreamError, match=r"^the watch ended"):
        stream.run(3600, watch_factory=lambda e, start: FakeWatch(e, start, next(watches)))
    # What was read before the compaction is shipped, the gap named, and the watch starts at 20.
    assert segments.ordered(target.objects_held) == [segments.segment_name(8, 8)]
    assert FakeWatch.started == [8, 20]
    assert stream.status["gap"]["first"] == 9 and stream.status["gap"]["last"] == 19
    assert "GAP: revisions 9..19 are in no segment: revisions compacted before the stream read them; the next full " \
           "backup closes it" in log
    assert json.loads((tmp_path / "stream-status.json").read_text())["gap"]["last"] == 19


def test_a_gap_is_closed_by_a_full_backup_of_a_later_revision(script, tmp_path, monkeypatch):
    stream, log = make_stream(script, tmp_path, [MemoryTarget()])
    stream.gap(9, 19, "revisions compacted before the stream read them")
    monkeypatch.setattr(stream, "snapshot_revision", lambda: 18)
    stream.gap_closed()
    assert stream.status["gap"]["last"] == 19
    monkeypatch.setattr(stream, "snapshot_revision", lambda: 25)
    stream.gap_closed()
    assert stream.status["gap"] is None and log[-1] == "the gap of revisions 9..19 is closed: a full backup holds them"


# -- the claim -----------------------------------------------------------------------------------


def test_a_member_waits_for_the_claim_naming_its_holder_once_then_streams(script):
    said, slept = [], []

    class Claim:
        answers = [(False, dict(value=b"backup stream of etcd-b on host-b, pid 9")),
                   (False, dict(value=b"backup stream of etcd-b on host-b, pid 9")), (True, None)]
        taken = []

        def timer(self):
            return 0.0

        def take(self, key, revision):
            self.taken.append((key, revision))
            return self.answers.pop(0)

    claim = Claim()
    script.claim_stream(dict(lock_prefix="/raftops/etcd/"), claim, said.append, sleep=slept.append)
    assert claim.taken == [("/raftops/etcd/backup-stream", 0)] * 3
    assert said[0] == "waiting: backup stream of etcd-b on host-b, pid 9 keeps the stream"
    assert said[1].startswith("claimed the stream at ") and len(said) == 2
    assert slept == [script.FALLBACK_POLL] * 2


def test_a_holder_that_lost_its_claim_ships_nothing(script, tmp_path, vault):
    ssh = ssh_target(script, vault)
    stream, _log = make_stream(script, tmp_path, [ssh], claim=FakeClaim(lost=script.PushError("the claim was lost")))
    with pytest.raises(script.PushError, match="the claim was lost"):
        shipped(script, stream, ssh, [8, 9])
    assert os.listdir(vault["path"]) == []


# -- an SSH target ---------------------------------------------------------------------------------


def test_segments_go_to_an_ssh_target_through_its_forced_command_and_are_pruned_there(script, tmp_path, vault):
    ssh, memory = ssh_target(script, vault), MemoryTarget()
    stream, log = make_stream(script, tmp_path, [ssh, memory])
    first = shipped(script, stream, ssh, [8, 9, 10])
    assert sorted(os.listdir(vault["path"])) == [first] and first in memory.objects_held
    assert opened(ssh, first, tmp_path)["revisions"][0][0] == 8
    assert opened(memory, first, tmp_path)["cluster_id"] == "%x" % CLUSTER_ID
    # A full backup taken after the first segment was uploaded (the target's own time) and before the
    # later one: every revision of the first is in it, and it goes; the later one stays.
    os.utime(os.path.join(vault["path"], first), (1000000000, 1000000000))
    plain = tmp_path / "backup.db"
    plain.write_bytes(b"snapshot")
    sealed = tmp_path / BACKUP
    own = crypto.signer(KEY, crypto.member_signer("etcd-a"))
    crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY),
                        crypto.make_label(BACKUP, "prod/etcd", "%x" % CLUSTER_ID, "20261128T130000Z"), own)
    ssh.send(str(sealed), BACKUP, {})
    later = shipped(script, stream, ssh, [11])
    stream.prune()
    assert sorted(os.listdir(vault["path"])) == [BACKUP, later], log
    assert log[-1] == "target vault: deleted 1 segment(s) older than its oldest full backup"


def test_an_ssh_target_that_fails_is_named_and_the_segment_sent_again_with_the_next(script, tmp_path, vault):
    vault = dict(vault, path=str(tmp_path / "missing"))
    ssh, memory = ssh_target(script, vault), MemoryTarget()
    stream, log = make_stream(script, tmp_path, [ssh, memory])
    shipped(script, stream, ssh, [8])
    assert stream.pending and stream.status["error"].startswith("target vault (backup1:%s): ssh to 10.0.0.9: " % vault["path"])
    assert "directory %s cannot be opened" % vault["path"] in stream.status["error"]
    assert any(line.startswith("segment %s not shipped: " % segments.segment_name(8, 8)) for line in log)


def test_the_stream_runs_on_every_target_of_the_push_ssh_included(script, tmp_path, vault, monkeypatch):
    settings = stream_settings(tmp_path, [vault])
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings))
    made = []

    class Stop(Exception):
        """Raised where the stream would wait for its claim: the test has what it wanted."""

    def claim_stream(*_args):
        raise Stop()

    monkeypatch.setattr(script, "Push", lambda conf, etcdctl, log, holder, targets: made.append(targets) or FakeClaim())
    monkeypatch.setattr(script, "claim_stream", claim_stream)
    with pytest.raises(Stop):
        script.main(["etcd_backup_stream.py", str(path)])
    assert [(t.name, type(t).__name__) for t in made[0]] == [("vault", "SshTarget")]
