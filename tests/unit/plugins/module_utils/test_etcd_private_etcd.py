"""The restore drill's one implementation (module_utils/cluster/private_etcd.py): its command lines, the
log line it reports, and one drill's steps against a fake etcdutl and a fake private etcd (the real
ones run in molecule/restore, by the operator's drill and by the members')."""

import json
import os
import pwd
import subprocess

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import private_etcd as private

ME = pwd.getpwuid(os.getuid()).pw_name
TLS = dict(server_cert="/pki/server.pem", server_key="/pki/server-key.pem", ca_cert="/pki/ca.pem")
OBSERVED = dict(revision=42, keys=40, hash=7, compact_revision=-1, hash_problem=None)
RECORD = dict(revision=42, keys=40, hash_kv=7, compact_revision=-1)
SERVING = {"level": "info", "msg": private.SERVING, "listen-client-urls": ["unix://drill-client:0"],
           "listen-peer-urls": ["unix://drill-peer:0"], "listen-metrics-urls": []}


def test_the_private_etcd_listens_on_unix_sockets_in_its_directory_only():
    argv = private.serve_argv("/opt/etcd/etcd", "/w/data", None)
    assert [argv[argv.index(f) + 1] for f in ("--listen-client-urls", "--advertise-client-urls", "--listen-peer-urls",
                                              "--initial-advertise-peer-urls", "--initial-cluster")] == [
        "unix://drill-client:0", "unix://drill-client:0", "unix://drill-peer:0", "unix://drill-peer:0",
        "drill=unix://drill-peer:0"]
    assert not [a for a in argv if "--cert" in a or "--trusted" in a or a == "--client-cert-auth"]
    assert private.endpoint("/var/tmp/.etcd-drill.x", None) == "unix:///var/tmp/.etcd-drill.x/drill-client:0"


def test_with_tls_it_serves_on_a_socket_named_for_loopback_and_takes_the_cas_clients_only():
    argv = private.serve_argv("/opt/etcd/etcd", "/w/data", TLS)
    assert argv[argv.index("--listen-client-urls") + 1] == "unixs://127.0.0.1:0"
    assert argv[-7:] == ["--cert-file", TLS["server_cert"], "--key-file", TLS["server_key"], "--client-cert-auth",
                         "--trusted-ca-file", TLS["ca_cert"]]
    assert private.endpoint("/w", TLS) == "unixs:///w/127.0.0.1:0"


def test_the_restore_is_one_member_at_the_peer_socket_with_the_directorys_token():
    assert private.restore_argv("/opt/etcd/etcdutl", "/s.db", "/w/data", "tok") == [
        "/opt/etcd/etcdutl", "snapshot", "restore", "/s.db", "--data-dir", "/w/data", "--name", "drill",
        "--initial-cluster", "drill=unix://drill-peer:0", "--initial-advertise-peer-urls", "unix://drill-peer:0",
        "--initial-cluster-token", "tok"]


@pytest.mark.parametrize("log, found", [
    ("not json\n" + json.dumps(SERVING) + "\n", {k: SERVING[k] for k in private.LISTENER_FIELDS}),
    (json.dumps(dict(SERVING, **{"listen-metrics-urls": None})),
     {"listen-client-urls": ["unix://drill-client:0"], "listen-peer-urls": ["unix://drill-peer:0"], "listen-metrics-urls": []}),
    ("2026-11-26 03:00:00.000 I | embed: serving client requests\n[1, 2]\n", None),  # 3.4's text log
])
def test_what_it_listened_on_is_read_from_its_own_log(log, found):
    assert private.listeners(log) == found


class Fakes:
    """etcdutl (``run``) and the private etcd (``popen``), noting what each did."""

    def __init__(self, status=None, restore_rc=0, exits=False):
        self.calls, self.started, self.status, self.restore_rc, self.exits = [], [], status, restore_rc, exits

    def run(self, argv, cwd=None, **_options):
        self.calls.append((argv[1:3], cwd))
        if argv[1:3] == ["snapshot", "status"]:
            return subprocess.CompletedProcess(argv, 0, stdout=self.status or json.dumps(
                {"hash": 1, "revision": 42, "totalKey": 45, "totalSize": 1}), stderr="")
        if self.restore_rc:
            return subprocess.CompletedProcess(argv, self.restore_rc, stdout="", stderr="Error: snapshot file has wrong hash")
        os.makedirs(argv[argv.index("--data-dir") + 1])
        open(os.path.join(argv[argv.index("--data-dir") + 1], "db"), "w").close()
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")

    def popen(self, argv, cwd=None, user=None, stdout=None, **_options):
        fakes = self

        class Etcd:
            stopped = False

            def poll(self):
                return 1 if fakes.exits or self.stopped else None

            def terminate(self):
                self.stopped = True

            def wait(self, timeout=None):
                return 0

        stdout.write((json.dumps(SERVING) + "\n").encode())
        etcd = Etcd()
        self.started.append(dict(argv=argv, cwd=cwd, user=user, mode=os.stat(cwd).st_mode & 0o777, etcd=etcd))
        return etcd


def drill_with(tmp_path, fakes, read, record=None, tls=None, timeout=60, no_record=False):
    etcd = private.PrivateEtcd(dict(etcd="/opt/etcd/etcd", etcdutl="/opt/etcd/etcdutl"), ME, tls=tls,
                               work_dir=str(tmp_path), run=fakes.run, popen=fakes.popen, sleep=lambda s: None,
                               start_timeout=timeout)
    return etcd.drill("/s.db", None if no_record else (record or RECORD), read, (ConnectionError,))


def test_a_drill_restores_serves_reads_judges_and_leaves_nothing(tmp_path):
    fakes, asked = Fakes(), []
    waits = iter([ConnectionError("not yet"), None])

    def read(url):
        asked.append(url)
        if next(waits):
            raise ConnectionError("not yet")
        return OBSERVED

    found = drill_with(tmp_path, fakes, read)
    assert found["problems"] == [] and found["notes"] == ["hash 7 equals the backup's"]
    assert found["snapshot"] == dict(revision=42, total_key=45) and found["observed"] == OBSERVED
    assert found["listeners"] == {k: SERVING[k] for k in private.LISTENER_FIELDS}
    started = fakes.started[0]
    work = started["cwd"]
    assert os.path.basename(work).startswith(private.WORK_PREFIX) and started["mode"] == 0o700 and started["user"] == ME
    assert [c[0] for c in fakes.calls] == [["snapshot", "status"], ["snapshot", "restore"]] and fakes.calls[1][1] == work
    assert asked == ["unix://%s/drill-client:0" % work] * 2  # asked again while it started
    assert started["etcd"].stopped and os.listdir(str(tmp_path)) == []


def test_what_the_restored_etcd_holds_is_judged_against_the_record(tmp_path):
    found = drill_with(tmp_path, Fakes(), lambda url: dict(OBSERVED, keys=39))
    assert found["problems"] == ["the restored etcd holds 39 keys, the backup counted 40"]
    found = drill_with(tmp_path, Fakes(), lambda url: OBSERVED, no_record=True)
    assert found["problems"] == [] and found["notes"][0].startswith("hash not compared: the snapshot has no backup record")


@pytest.mark.parametrize("fakes, timeout, message", [
    (Fakes(exits=True), 60, "the private etcd ended (exit code 1) without answering (refused); its log ends: " + json.dumps(SERVING)),
    (Fakes(), 0, "the private etcd did not answer within 0 s (refused); its log ends: {"),
])
def test_an_etcd_that_never_answers_fails_the_drill_stopped_and_removed(tmp_path, fakes, timeout, message):
    def read(url):
        raise ConnectionError("refused")

    with pytest.raises(private.DrillError) as failed:
        drill_with(tmp_path, fakes, read, timeout=timeout)
    assert str(failed.value).startswith(message)
    assert fakes.started[0]["etcd"].stopped and os.listdir(str(tmp_path)) == []


def test_a_read_that_fails_otherwise_stops_at_once_and_a_failed_restore_starts_nothing(tmp_path):
    fakes = Fakes()

    def read(url):
        raise private.DrillError("the private etcd refused the read")

    with pytest.raises(private.DrillError, match="refused the read"):
        drill_with(tmp_path, fakes, read)
    assert fakes.started[0]["etcd"].stopped and os.listdir(str(tmp_path)) == []
    fakes = Fakes(restore_rc=1)
    with pytest.raises(private.DrillError, match=r"the snapshot's restore \(etcdutl\): Error: snapshot file has wrong hash"):
        drill_with(tmp_path, fakes, lambda url: OBSERVED)
    assert fakes.started == [] and os.listdir(str(tmp_path)) == []


def test_with_tls_the_reader_is_given_the_tls_socket(tmp_path):
    fakes, asked = Fakes(), []
    drill_with(tmp_path, fakes, lambda url: asked.append(url) or OBSERVED, tls=TLS)
    assert asked == ["unixs://%s/127.0.0.1:0" % fakes.started[0]["cwd"]]
    assert "--client-cert-auth" in fakes.started[0]["argv"]


@pytest.mark.parametrize("tool, no_fsync", [("/opt/etcd/etcdutl", True), ("/opt/etcd/etcdctl", False)])
def test_a_replay_s_etcd_skips_fsync_where_the_release_can_and_a_drill_s_never_does(tmp_path, tool, no_fsync):
    """--unsafe-no-fsync came with etcd 3.5, the release of etcdutl: 3.4 (etcdctl restores) would refuse it."""
    fakes = Fakes()
    etcd = private.PrivateEtcd(dict(etcd="/opt/etcd/etcd", etcdutl=tool), ME, work_dir=str(tmp_path), run=fakes.run,
                               popen=fakes.popen, sleep=lambda s: None)
    assert etcd.replay("/s.db", lambda url: "applied", (ConnectionError,))["applied"] == "applied"
    etcd.drill("/s.db", RECORD, lambda url: OBSERVED, (ConnectionError,))
    replayed, drilled = (started["argv"] for started in fakes.started)
    assert ("--unsafe-no-fsync" in replayed) == no_fsync and "--unsafe-no-fsync" not in drilled
