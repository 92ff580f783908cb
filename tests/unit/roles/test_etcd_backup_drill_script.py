"""The members' scheduled drill (roles/etcd/files/etcd_backup_drill.py), laid out as the role lays
it out on a member, after a real push (etcd_backup_push.py) to a real (moto) S3 server and a
directory standing for an SSH target; etcd, etcdctl and etcdutl are fakes that answer as the
releases do (their output formats were read from etcd 3.5.30)."""

import json
import os
import pathlib
import pwd
import subprocess
import sys

import pytest
from test_etcd_backup_push_script import Etcd, forced, local_ssh, settings, snapshot
from test_etcd_maintenance_script import load_script
from test_etcd_maintenance_script import lib_files as maintenance_lib_files

from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import FakePrivateEtcd

ME = pwd.getpwuid(os.getuid()).pw_name
REVISION, KEYS, HASH, COMPACTED = 4242, 4000, 3628877040, -1


class Tools(Etcd):
    """The live member (Etcd, for the push), etcdutl, and the drill's private etcd on its unix socket,
    whose answers ``restored`` sets (what the restored keyspace holds)."""

    def __init__(self, **restored):
        super().__init__()
        self.restored = dict(dict(revision=REVISION, keys=KEYS, hash=HASH, compact_revision=COMPACTED), **restored)
        self.tool_calls = []
        self.private_calls = []  # etcdctl's calls to the drill's private etcd

    def __call__(self, argv, input=None, **options):
        if os.path.basename(argv[0]) == "etcdutl":
            self.tool_calls.append(argv[1:3])
            if argv[1:3] == ["snapshot", "status"]:
                return self.done(argv, json.dumps({"hash": 1, "revision": REVISION, "totalKey": KEYS + 7, "totalSize": 1}))
            os.makedirs(argv[argv.index("--data-dir") + 1])
            return self.done(argv, "")
        endpoint = argv[argv.index("--endpoints") + 1]
        args = [a for a in argv[argv.index("--endpoints") + 2:] if a not in ("-w", "json", "--cacert", "--cert", "--key")
                and not a.startswith("/etc/etcd/pki/")]
        private = endpoint.startswith(("unix://", "unixs://"))
        if private:
            self.private_calls.append(argv)
        source = self.restored if private else dict(revision=REVISION, keys=KEYS, hash=HASH, compact_revision=COMPACTED)
        if args[:2] == ["endpoint", "hashkv"]:
            return self.done(argv, json.dumps([{"HashKV": {"hash": source["hash"],
                                                           "compact_revision": source["compact_revision"]}}]))
        if args[0] == "get" and "--count-only" in args:
            return self.done(argv, '"Revision" : %d\n"Count" : %d\n' % (source["revision"], source["keys"]))
        if private and args[:2] == ["endpoint", "status"]:
            return self.done(argv, json.dumps([{"Status": {"header": {"revision": source["revision"]}}}]))
        return super().__call__(argv, input=input, **options)

    @staticmethod
    def done(argv, out):
        return subprocess.CompletedProcess(argv, 0, stdout=out, stderr="")


class PrivateEtcd(FakePrivateEtcd):
    """The private etcd the drill starts: its command line, and that it was stopped."""

    started = []


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    files = maintenance_lib_files(("backup_push", "lib_files"))
    lib = tmp_path_factory.mktemp("lib")
    pushing = load_script(lib, files, "etcd_backup_push.py")[0]
    drilling, imported = load_script(lib, files, "etcd_backup_drill.py")
    yield pushing, drilling
    for name in imported:
        sys.modules.pop(name, None)


def conf_of(tmp_path, server):
    url, s3 = server
    metrics = tmp_path / "metrics"
    metrics.mkdir(exist_ok=True)
    (tmp_path / "work").mkdir(exist_ok=True)
    conf = settings(tmp_path, url, etcd="/opt/etcd/bin/etcd", etcdutl="/opt/etcd/bin/etcdutl", etcd_user=ME,
                    backup_dir=str(tmp_path / "snapshots"), work_dir=str(tmp_path / "work"),
                    drill_status_file=str(tmp_path / "snapshots" / "drill-status.json"), metrics_dir=str(metrics),
                    max_age_seconds=93600, server_cert="/etc/etcd/pki/server.pem", server_key="/etc/etcd/pki/server-key.pem")
    os.makedirs(conf["targets"][1]["path"], exist_ok=True)
    conf["targets"][0]["prefix"] = PREFIX  # the bucket is the module's: each test empties the prefix first
    for stored in s3.list_objects_v2(Bucket="push", Prefix=PREFIX).get("Contents", []):
        s3.delete_object(Bucket="push", Key=stored["Key"])
    return conf


def local_ssh_to(argv, stdin=None, stdout=None, **options):
    """local_ssh, whose output may go to a file (the drill's download)."""
    if stdout is None:
        return local_ssh(argv, stdin=stdin, **options)
    command, env = forced(argv)
    return subprocess.run(command, env=env, stdout=stdout, stderr=subprocess.PIPE, check=False)


def targets_of(push, conf):
    """The targets as ``push`` (the push script, or the one the drill imported) makes them."""
    return [push.S3Target(t) if t["type"] == "s3" else push.SshTarget(t, "/k", "/h", run=local_ssh_to)
            for t in conf["targets"]]


def pushed(scripts, conf, tools, name):
    pushing = scripts[0]
    log = []
    run = pushing.Push(conf, pushing.Etcdctl(conf, run=tools), log.append, "holder", targets_of(pushing, conf))
    assert run.run(snapshot(pathlib.Path(conf["backup_dir"]).parent, name)) == 0, log
    tools.keys.clear()  # the claim's lease ran out: the next period
    return log


def drill(scripts, conf, tools):
    drilling = scripts[1]
    log = []
    PrivateEtcd.started.clear()
    rc = drilling.Drill(conf, targets_of(drilling.push, conf), log.append, run=tools, popen=PrivateEtcd).run()
    return rc, log, read(conf["drill_status_file"])


def read(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


NEWEST = "etcd-snapshot-20261126T040000Z.db"
PREFIX = "drill/"


def test_the_push_records_what_the_drill_proves_beside_the_snapshot(scripts, server, tmp_path):
    conf = conf_of(tmp_path, server)
    pushed(scripts, conf, Tools(), NEWEST)
    record = read(os.path.join(conf["backup_dir"], NEWEST + ".json"))
    sealed = tmp_path / "vault" / (NEWEST + ".enc")
    assert record["object"] == NEWEST + ".enc" and record["sealed_size"] == sealed.stat().st_size
    assert (record["revision"], record["keys"], record["hash_kv"], record["compact_revision"]) == (
        REVISION, KEYS, HASH, COMPACTED)
    assert oct(os.stat(os.path.join(conf["backup_dir"], NEWEST + ".json")).st_mode & 0o777) == "0o600"
    metrics = (tmp_path / "metrics" / "etcd-backup-push.prom").read_text()
    assert 'raftops_etcd_backup_push_success{cluster="prod/etcd",member="etcd-a"} 1' in metrics
    assert 'raftops_etcd_backup_push_target_success{cluster="prod/etcd",member="etcd-a",target="vault"} 1' in metrics


def test_the_pushing_member_proves_the_newest_backup_and_the_others_skip(scripts, server, tmp_path):
    conf = conf_of(tmp_path, server)
    tools = Tools()
    pushed(scripts, conf, tools, "etcd-snapshot-20261126T035900Z.db")
    pushed(scripts, conf, tools, NEWEST)
    rc, log, status = drill(scripts, conf, tools)
    assert rc == 0, log
    assert status["result"] == "passed" and status["problems"] == [], status
    assert status["proven"]["object"] == NEWEST + ".enc" and status["proven"]["backup_time"] == "20261126T040000Z"
    assert "hash %d equals the backup's" % HASH in status["notes"]
    etcd = PrivateEtcd.started[0]
    assert etcd.stopped and etcd.user == ME
    # TLS on a unix socket named for the loopback address (the server certificate's SAN), with the
    # member's server pair, taking client certificates of the member's CA only.
    assert flags(etcd.argv, "--listen-client-urls", "--advertise-client-urls", "--cert-file", "--key-file",
                 "--trusted-ca-file") == ["unixs://127.0.0.1:0", "unixs://127.0.0.1:0", conf["server_cert"],
                                          conf["server_key"], conf["ca_cert"]] and "--client-cert-auth" in etcd.argv
    peers = [a for a in etcd.argv if "://" in a and not a.startswith("unixs://")]
    assert peers and all(a.startswith(("unix://", "drill=unix://")) for a in peers), peers
    # etcdctl reaches it on that socket with the timers' pair, whose CN (root) is the user auth sees.
    assert tools.private_calls and all(
        flags(call, "--endpoints", "--cacert", "--cert", "--key") == [
            "unixs://%s/127.0.0.1:0" % etcd.cwd, conf["ca_cert"], conf["client_cert"], conf["client_key"]]
        for call in tools.private_calls)
    assert os.listdir(conf["work_dir"]) == []  # its private directory removed
    metrics = (tmp_path / "metrics" / "etcd-backup-drill.prom").read_text()
    assert 'raftops_etcd_backup_drill_success{cluster="prod/etcd",member="etcd-a"} 1' in metrics
    assert 'raftops_etcd_backup_max_age_seconds{cluster="prod/etcd",member="etcd-a"} 93600' in metrics
    assert 'raftops_etcd_backup_drill_proven_backup_timestamp_seconds{cluster="prod/etcd",member="etcd-a"} 1795665600' \
        in metrics
    # Another member holds no record of that backup: it skips and writes nothing.
    os.remove(os.path.join(conf["backup_dir"], NEWEST + ".json"))
    os.remove(conf["drill_status_file"])
    rc, log, status = drill(scripts, conf, tools)
    assert (rc, status, log) == (0, None, ["skipped: %s.enc was not made from a snapshot of this member" % NEWEST])


def flags(argv, *names):
    return [argv[argv.index(name) + 1] if name in argv else None for name in names]


def test_without_tls_the_private_etcd_serves_a_plain_unix_socket(scripts, server, tmp_path):
    conf = conf_of(tmp_path, server)
    conf.update(ca_cert="", client_cert="", client_key="")
    tools = Tools()
    pushed(scripts, conf, tools, NEWEST)
    rc, log, _status = drill(scripts, conf, tools)
    assert rc == 0, log
    etcd = PrivateEtcd.started[0]
    assert flags(etcd.argv, "--listen-client-urls", "--cert-file", "--trusted-ca-file") == ["unix://drill-client:0", None, None]
    assert "--client-cert-auth" not in etcd.argv
    assert {flags(call, "--endpoints", "--cert")[0] for call in tools.private_calls} == {"unix://%s/drill-client:0" % etcd.cwd}
    assert all("--cert" not in call for call in tools.private_calls)


@pytest.mark.parametrize("damage, message", [
    ("truncated", "target offsite (s3://push/drill/): %s.enc is truncated: " % NEWEST),
    ("tampered", "target offsite (s3://push/drill/): %s.enc is not what was pushed (" % NEWEST),
])
def test_a_damaged_copy_fails_the_drill_before_any_restore_and_keeps_the_proven_one(scripts, server, tmp_path, damage, message):
    conf = conf_of(tmp_path, server)
    s3 = server[1]
    tools = Tools()
    pushed(scripts, conf, tools, "etcd-snapshot-20261126T035900Z.db")
    assert drill(scripts, conf, tools)[0] == 0
    pushed(scripts, conf, tools, NEWEST)
    body = s3.get_object(Bucket="push", Key="drill/%s.enc" % NEWEST)["Body"].read()
    body = body[:-100] if damage == "truncated" else body[:-40] + bytes([body[-40] ^ 1]) + body[-39:]
    s3.put_object(Bucket="push", Key="drill/%s.enc" % NEWEST, Body=body)
    tools.tool_calls.clear()
    rc, log, status = drill(scripts, conf, tools)
    assert rc == 1 and status["result"] == "failed"
    assert [p for p in status["problems"] if p.startswith(message)], status["problems"]
    assert PrivateEtcd.started == [] and tools.tool_calls == []  # nothing restored
    assert status["proven"]["object"] == "etcd-snapshot-20261126T035900Z.db.enc"  # the last one proven stays
    assert log[-1].startswith("drill of %s.enc failed: " % NEWEST)
    metrics = (tmp_path / "metrics" / "etcd-backup-drill.prom").read_text()
    assert 'raftops_etcd_backup_drill_success{cluster="prod/etcd",member="etcd-a"} 0' in metrics


@pytest.mark.parametrize("restored, message", [
    (dict(keys=KEYS - 1), "the restored etcd holds %d keys, the backup counted %d" % (KEYS - 1, KEYS)),
    (dict(hash=HASH + 1), "the restored etcd's keyspace hash at revision %d is %d, the backup recorded %d"
     % (REVISION, HASH + 1, HASH)),
    (dict(revision=REVISION - 1), "the restored etcd is at revision %d, the snapshot at %d" % (REVISION - 1, REVISION)),
])
def test_a_restored_keyspace_that_differs_from_the_record_fails_the_drill(scripts, server, tmp_path, restored, message):
    conf = conf_of(tmp_path, server)
    tools = Tools(**restored)
    pushed(scripts, conf, tools, NEWEST)
    rc, _log, status = drill(scripts, conf, tools)
    assert rc == 1 and status["problems"] == [message] and status["proven"] is None
    assert PrivateEtcd.started[0].stopped and os.listdir(conf["work_dir"]) == []


def test_a_local_snapshot_that_is_gone_or_changed_cannot_be_proven(scripts, server, tmp_path):
    conf = conf_of(tmp_path, server)
    tools = Tools()
    pushed(scripts, conf, tools, NEWEST)
    local = os.path.join(conf["backup_dir"], NEWEST)
    with open(local, "ab") as handle:
        handle.write(b"more")
    assert "the pushed backup was sealed from" in drill(scripts, conf, tools)[2]["problems"][0]
    os.remove(local)
    assert "is gone (pruned: etcd_backup_host_keep)" in drill(scripts, conf, tools)[2]["problems"][0]


def test_an_empty_target_fails_the_drill_naming_the_targets(scripts, server, tmp_path):
    conf = conf_of(tmp_path, server)
    conf["targets"][0]["prefix"] = "empty/"
    rc, _log, status = drill(scripts, conf, Tools())
    assert rc == 1 and status["problems"] == ["no backup on offsite, vault"]


def test_an_object_planted_with_a_newer_name_does_not_keep_the_members_from_proving_the_newest(scripts, server, tmp_path):
    from test_etcd_backup_push_script import KEY

    from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
    conf = conf_of(tmp_path, server)
    tools = Tools()
    pushed(scripts, conf, tools, NEWEST)
    # Newer than any real backup, sealed to the public key every member holds, signed with a key of its own.
    planted = "etcd-snapshot-20991231T000000Z.db.enc"
    evil = tmp_path / "evil.db"
    evil.write_bytes(b"evil")
    crypto.encrypt_file(str(evil), str(tmp_path / planted), crypto.recipient(KEY),
                        crypto.make_label(planted, "prod/etcd", "", "20261127T000000Z"),
                        crypto.Signer("member:etcd-b", os.urandom(32)))
    server[1].upload_file(str(tmp_path / planted), "push", PREFIX + planted)
    rc, log, status = drill(scripts, conf, tools)
    assert rc == 0 and status["result"] == "passed" and status["proven"]["object"] == NEWEST + ".enc", log
    assert ("passed over: object %s on target offsite: its signature by member:etcd-b does not verify: a changed or "
            "forged header" % planted) in log
