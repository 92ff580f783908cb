import hashlib
import json
import os
import stat
import sys

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_client as ec
from ansible_collections.raftops.etcd.plugins.module_utils import etcd_snapshot_host
from ansible_collections.raftops.etcd.plugins.modules import etcd_snapshot
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import build_snapshot, stream_messages

SNAPSHOT = build_snapshot()


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    def exit_json(self, **result):
        raise ExitJson(result)

    def fail_json(self, **result):
        raise FailJson(result)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def run_module(args, check=False):
    """(result, failed) of one module run."""
    if check:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args), pytest.raises((ExitJson, FailJson)) as info:
        etcd_snapshot.main()
    return info.value.args[0], isinstance(info.value, FailJson)


def listing(path):
    return sorted(os.listdir(str(path)))


# -- argument handling -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "state is saved but all of the following are missing: dest"),
        ({"state": "inspected"}, "state is inspected but all of the following are missing: src"),
        ({"state": "restored", "src": "/s.db"},
         "missing: data_dir, name, initial_cluster_token, initial_advertise_peer_urls"),
        ({"state": "saved", "dest": "/tmp/x.db", "src": "/s.db", "data_dir": "/d"},
         "state=saved does not use data_dir, src (data_dir is for state=restored; src is for state=inspected/restored)"),
        ({"state": "inspected", "src": "/s.db", "force": True}, "state=inspected does not use force"),
        ({"state": "bogus"}, "value of state must be one of: saved, inspected, restored"),
    ],
)
def test_argument_errors(args, message):
    result, failed = run_module(args)
    assert failed
    assert message in result["msg"]


RESTORE = dict(state="restored", name="etcd-host0", initial_cluster_token="restore-1",
               initial_advertise_peer_urls=["https://10.0.0.11:2380"])


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"name": "-bad"}, "name '-bad' is not a valid member name"),
        ({"initial_advertise_peer_urls": ["10.0.0.11:2380"]}, "'10.0.0.11:2380' is not an http(s)://HOST:PORT URL"),
        ({"initial_cluster_token": " "}, "initial_cluster_token is empty"),
        ({"initial_cluster": "etcd-host1=https://10.0.0.12:2380"}, "has no entry for this member's name 'etcd-host0'"),
        ({"initial_cluster": "etcd-host0=https://10.0.0.99:2380"},
         "initial_cluster gives etcd-host0 the peer URLs https://10.0.0.99:2380 but initial_advertise_peer_urls is "
         "https://10.0.0.11:2380: they must match"),
        ({"initial_cluster": "etcd-host0"}, "initial_cluster entry 'etcd-host0' is not NAME=PEER_URL"),
        ({"owner": "no-such-user-raftops"}, "owner 'no-such-user-raftops': no such user on this host"),
        ({"group": "no-such-group-raftops"}, "group 'no-such-group-raftops': no such group on this host"),
    ],
)
def test_restore_argument_errors_come_before_anything_else(tmp_path, overrides, message):
    args = dict(RESTORE, src=str(tmp_path / "missing.db"), data_dir=str(tmp_path / "data"), **overrides)
    result, failed = run_module(args)
    assert failed and message in result["msg"]
    assert listing(tmp_path) == []


# -- state=saved -------------------------------------------------------------------------------


class FakeClient:
    def __init__(self, endpoint, messages=None, fail_after=None, unreachable=False):
        self.endpoint = endpoint
        self.messages = messages if messages is not None else stream_messages(SNAPSHOT, wrap=False)
        self.fail_after = fail_after
        self.unreachable = unreachable
        self.streamed = False

    def status(self):
        if self.unreachable:
            raise ec.EtcdUnreachable("connection refused", endpoint=self.endpoint)
        return ec.normalize_status(
            {"header": {"member_id": "6456791215661163647", "revision": "7"}, "version": "3.5.1", "dbSize": "28672"},
            endpoint=self.endpoint,
        )

    def stream(self, path, body=None, timeout=None):
        assert path == "/v3/maintenance/snapshot"
        self.streamed = True
        for index, message in enumerate(self.messages):
            if index == self.fail_after:
                raise ec.EtcdError("etcdserver: server stopped", endpoint=self.endpoint)
            yield message


@pytest.fixture
def clients(monkeypatch):
    """The fake clients the module gets, one per endpoint; tests adjust them before running."""
    made = {}

    def factory(params):
        return [made.setdefault(endpoint, FakeClient(endpoint)) for endpoint in params["endpoints"]]

    monkeypatch.setattr(etcd_snapshot, "clients_from_params", factory)
    return made


def test_save_streams_from_first_answering_endpoint_and_writes_atomically(tmp_path, clients):
    clients["https://dead:2379"] = FakeClient("https://dead:2379", unreachable=True)
    dest = tmp_path / "etcd.db"
    result, failed = run_module(dict(dest=str(dest), endpoints=["https://dead:2379", "https://live:2379"]))
    assert not failed, result
    assert dest.read_bytes() == SNAPSHOT
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert listing(tmp_path) == ["etcd.db"]
    assert result["changed"] is True
    assert result["endpoint"] == "https://live:2379" and result["member_id"] == "599b2166ae58a47f"
    assert result["size"] == len(SNAPSHOT) and result["db_size"] == len(SNAPSHOT) - 32
    assert result["sha256"] == hashlib.sha256(SNAPSHOT).hexdigest()
    assert result["hash_expected"] == result["hash_actual"] == SNAPSHOT[-32:].hex()
    assert result["checks"] == dict(size_aligned=True, hash_ok=True, page_aligned=True, meta_ok=True)
    assert result["revision"] == 7 and result["page_size"] == 4096
    assert result["duration"] >= 0 and result["throughput"] >= 0
    assert not clients["https://dead:2379"].streamed


def test_save_check_mode_writes_nothing(tmp_path, clients):
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db")), check=True)
    assert not failed and result["changed"] is True
    assert result["revision"] == 7 and result["db_size"] == 28672
    assert listing(tmp_path) == []
    assert not clients["https://127.0.0.1:2379"].streamed


def test_save_check_mode_checks_free_space(tmp_path, clients, monkeypatch):
    monkeypatch.setattr(etcd_snapshot, "free_bytes", lambda path: 4096)
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db")), check=True)
    assert failed and result["msg"] == (
        "not enough space in %s for the snapshot: it needs about 28 KiB (the member's database size), 4 KiB "
        "is available" % tmp_path
    )


def test_save_refuses_existing_dest_without_force(tmp_path, clients):
    dest = tmp_path / "etcd.db"
    dest.write_bytes(b"old")
    result, failed = run_module(dict(dest=str(dest)))
    assert failed and "already exists: set force=true to replace it" in result["msg"]
    assert dest.read_bytes() == b"old"
    assert clients == {}


def test_save_force_replaces_existing_dest(tmp_path, clients):
    dest = tmp_path / "etcd.db"
    dest.write_bytes(b"old")
    dest.chmod(0o644)
    _result, failed = run_module(dict(dest=str(dest), force=True))
    assert not failed
    assert dest.read_bytes() == SNAPSHOT and stat.S_IMODE(dest.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "make_client, message",
    [
        (lambda e: FakeClient(e, fail_after=3),
         "saving the snapshot failed after 12288 bytes, %s was removed: https://127.0.0.1:2379: etcdserver: server stopped"),
        (lambda e: FakeClient(e, messages=stream_messages(SNAPSHOT[:-1] + b"\0", wrap=False)),
         "saving the snapshot failed, %s was removed: SHA-256 mismatch in the snapshot stream"),
        (lambda e: FakeClient(e, messages=[]), "the snapshot stream was empty"),
        (lambda e: FakeClient(e, messages=stream_messages(SNAPSHOT, wrap=False)[:-1]),
         "ended without the SHA-256 trailer"),
    ],
)
def test_save_failure_removes_the_partial_file_and_keeps_the_old_one(tmp_path, clients, monkeypatch, make_client,
                                                                     message):
    dest = tmp_path / "etcd.db"
    dest.write_bytes(b"old")
    clients["https://127.0.0.1:2379"] = make_client("https://127.0.0.1:2379")
    temps = []
    real_mkstemp = etcd_snapshot.tempfile.mkstemp

    def mkstemp(**kwargs):
        fd, path = real_mkstemp(**kwargs)
        temps.append(path)
        return fd, path

    monkeypatch.setattr(etcd_snapshot.tempfile, "mkstemp", mkstemp)
    result, failed = run_module(dict(dest=str(dest), force=True))
    assert failed
    assert temps and temps[0].startswith(str(tmp_path / ".etcd.db.")) and temps[0].endswith(".part")
    assert (message % temps[0] if "%s" in message else message) in result["msg"]
    assert listing(tmp_path) == ["etcd.db"] and dest.read_bytes() == b"old"


def test_save_needs_the_space_etcd_announces(tmp_path, clients, monkeypatch):
    monkeypatch.setattr(etcd_snapshot, "free_bytes", lambda path: 1000)
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db")))
    assert failed
    assert result["msg"] == ("not enough space in %s for the snapshot: it needs 28 KiB (28704 bytes), 1000 B is "
                             "available" % tmp_path)
    assert listing(tmp_path) == []


def test_save_refuses_snapshot_that_fails_file_checks(tmp_path, clients):
    bogus = b"\0" * 4096
    bogus += hashlib.sha256(bogus).digest()
    clients["https://127.0.0.1:2379"] = FakeClient("https://127.0.0.1:2379", messages=stream_messages(bogus))
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db")))
    assert failed and "etcd sent a snapshot that fails the file checks: not an etcd snapshot" in result["msg"]
    assert listing(tmp_path) == []


def test_save_when_no_endpoint_answers(tmp_path, clients):
    clients["https://127.0.0.1:2379"] = FakeClient("https://127.0.0.1:2379", unreachable=True)
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db")))
    assert failed
    assert result["msg"] == ("cannot ask etcd for a snapshot: no endpoint answered: https://127.0.0.1:2379: "
                             "connection refused")


@pytest.mark.parametrize("where, message", [("dir", "is a directory"), ("nodir", "of dest does not exist")])
def test_save_dest_must_be_a_file_in_an_existing_directory(tmp_path, clients, where, message):
    dest = tmp_path if where == "dir" else tmp_path / "missing" / "etcd.db"
    result, failed = run_module(dict(dest=str(dest)))
    assert failed and message in result["msg"]


def test_save_sets_owner_and_group(tmp_path, clients):
    dest = tmp_path / "etcd.db"
    _result, failed = run_module(dict(dest=str(dest), owner=str(os.getuid()), group=str(os.getgid())))
    assert not failed
    assert (dest.stat().st_uid, dest.stat().st_gid) == (os.getuid(), os.getgid())


# -- etcdutl / etcdctl -------------------------------------------------------------------------

FAKE_TOOL = r'''#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
kind = os.environ.get("FAKE_KIND", "etcdutl")
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "api": os.environ.get("ETCDCTL_API")}}) + "\n")
if args == ["version"]:
    print("%s version: %s\nAPI version: 3.5" % (kind, os.environ.get("FAKE_VERSION", "3.5.1")))
elif args[:2] == ["snapshot", "status"]:
    print(json.dumps({{"hash": 12345, "revision": int(os.environ.get("FAKE_REVISION", "7")), "totalKey": 7,
                      "totalSize": 28672}}))
elif args[:2] == ["snapshot", "restore"]:
    opts = dict(zip(args[3::2], args[4::2]))
    data_dir = opts["--data-dir"]
    if os.path.exists(data_dir):
        sys.exit("Error: data-dir %r exists" % data_dir)
    os.makedirs(os.path.join(data_dir, "member", "snap"), 0o700)
    os.makedirs(os.path.join(data_dir, "member", "wal"), 0o700)
    shutil.copy(args[2], os.path.join(data_dir, "member", "snap", "db"))
    if os.environ.get("FAKE_FAIL"):
        sys.exit("Error: failed to restore: fake failure")
else:
    sys.exit("unexpected arguments %r" % args)
'''


@pytest.fixture
def tool(tmp_path, monkeypatch):
    """A fake etcdutl on PATH (nothing else), logging each call; returns (path, calls())."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    path = bin_dir / "etcdutl"
    path.write_text(FAKE_TOOL.format(python=sys.executable))
    path.chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("")
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(etcd_snapshot_host, "TOOL_SEARCH_DIRS", [])

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()]

    return str(path), calls


@pytest.fixture
def no_tool(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(etcd_snapshot_host, "TOOL_SEARCH_DIRS", [])


@pytest.fixture
def snapshot_file(tmp_path):
    path = tmp_path / "snap.db"
    path.write_bytes(SNAPSHOT)
    return path


# -- state=inspected ---------------------------------------------------------------------------


def test_inspect_without_a_tool_reads_the_file(snapshot_file, no_tool):
    result, failed = run_module(dict(state="inspected", src=str(snapshot_file)))
    assert not failed and result["changed"] is False
    assert (result["revision"], result["total_key"], result["total_size"]) == (7, 7, 28672)
    assert result["status_source"] == "file" and result["tool"] is None and result["hash"] is None
    assert result["sha256"] == hashlib.sha256(SNAPSHOT).hexdigest()
    assert all(result["checks"].values())


def test_inspect_with_etcdutl_reports_its_status(snapshot_file, tool):
    path, calls = tool
    result, failed = run_module(dict(state="inspected", src=str(snapshot_file)))
    assert not failed and result["changed"] is False
    assert result["status_source"] == "etcdutl" and result["tool"] == path and result["tool_version"] == "3.5.1"
    assert result["hash"] == 12345 and result["revision"] == 7
    assert [c["args"] for c in calls()] == [["version"], ["snapshot", "status", str(snapshot_file), "-w", "json"]]
    assert snapshot_file.read_bytes() == SNAPSHOT


def test_inspect_warns_when_the_tool_disagrees_with_the_file(snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_REVISION", "8")
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    result, failed = run_module(dict(state="inspected", src=str(snapshot_file)))
    assert not failed and result["revision"] == 8
    assert warnings == ["etcdutl reports revision 8, the file reads 7"]


def test_inspect_etcdctl_34_gets_api_3(snapshot_file, tool, monkeypatch):
    path, calls = tool
    monkeypatch.setenv("FAKE_KIND", "etcdctl")
    monkeypatch.setenv("FAKE_VERSION", "3.4.23")
    result, failed = run_module(dict(state="inspected", src=str(snapshot_file), etcdutl_path=path))
    assert not failed and result["status_source"] == "etcdctl" and result["tool_version"] == "3.4.23"
    assert calls()[-1]["api"] == "3"


def test_inspect_skips_etcdctl_36(snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_KIND", "etcdctl")
    monkeypatch.setenv("FAKE_VERSION", "3.6.4")
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    result, failed = run_module(dict(state="inspected", src=str(snapshot_file)))
    assert not failed and result["status_source"] == "file"
    assert "is etcdctl 3.6.4, which has no snapshot status or restore: use etcdutl" in warnings[0]


def test_inspect_flipped_byte_fails_with_both_hashes(tmp_path, no_tool):
    damaged = bytearray(SNAPSHOT)
    damaged[3 * 4096 + 7] ^= 0x40
    src = tmp_path / "bad.db"
    src.write_bytes(bytes(damaged))
    result, failed = run_module(dict(state="inspected", src=str(src)))
    assert failed
    assert result["msg"].startswith("%s is not a sound etcd snapshot: SHA-256 mismatch: the trailer expects %s"
                                    % (src, SNAPSHOT[-32:].hex()))
    assert result["hash_expected"] != result["hash_actual"]
    assert result["checks"]["hash_ok"] is False


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "snapshot file %s does not exist"),
        (SNAPSHOT[:-700], "is not a sound etcd snapshot: truncated or damaged"),
        (b"PK\x03\x04" + b"\0" * 4124, "not an etcd snapshot: no bbolt magic 0xED0CDAED at offset 16"),
    ],
)
def test_inspect_clear_errors(tmp_path, no_tool, content, message):
    src = tmp_path / "x.db"
    if content is not None:
        src.write_bytes(content)
    result, failed = run_module(dict(state="inspected", src=str(src)))
    assert failed and (message % src if "%s" in message else message) in result["msg"]


# -- state=restored ----------------------------------------------------------------------------


def restore_args(snapshot_file, data_dir, **extra):
    return dict(RESTORE, src=str(snapshot_file), data_dir=str(data_dir), **extra)


def test_restore_into_a_new_directory(tmp_path, snapshot_file, tool):
    path, calls = tool
    data_dir = tmp_path / "data"
    result, failed = run_module(restore_args(snapshot_file, data_dir, owner=str(os.getuid()),
                                             group=str(os.getgid())))
    assert not failed, result
    assert result["changed"] is True and result["data_dir"] == str(data_dir)
    assert (data_dir / "member" / "snap" / "db").read_bytes() == SNAPSHOT
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert listing(tmp_path) == ["bin", "calls.log", "data", "snap.db"]  # no staging directory left
    cmd = result["cmd"]
    staging = cmd[cmd.index("--data-dir") + 1]
    assert staging.startswith(str(tmp_path / ".data.restore-")) and staging.endswith("/data")
    assert cmd[:4] == [path, "snapshot", "restore", str(snapshot_file)]
    assert cmd[4:] == ["--name", "etcd-host0", "--data-dir", staging,
                       "--initial-cluster", "etcd-host0=https://10.0.0.11:2380",
                       "--initial-cluster-token", "restore-1",
                       "--initial-advertise-peer-urls", "https://10.0.0.11:2380"]
    assert (result["revision"], result["total_key"], result["status_source"]) == (7, 7, "etcdutl")
    assert result["space"]["needed"] == 2 * len(SNAPSHOT) + 128 * 1024 * 1024
    assert [c["args"][:2] for c in calls()] == [["version"], ["snapshot", "status"], ["snapshot", "restore"]]


def test_restore_into_an_existing_empty_directory(tmp_path, snapshot_file, tool):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    result, failed = run_module(restore_args(snapshot_file, data_dir))
    assert not failed, result
    assert listing(data_dir) == ["member"]
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert result["cmd"][result["cmd"].index("--data-dir") + 1].startswith(str(data_dir / ".restore-"))


def test_restore_refuses_a_non_empty_data_dir(tmp_path, snapshot_file, tool):
    _path, calls = tool
    data_dir = tmp_path / "data"
    (data_dir / "member").mkdir(parents=True)
    result, failed = run_module(restore_args(snapshot_file, data_dir))
    assert failed
    assert result["msg"] == ("data_dir %s is not empty (member): a restore never overwrites a data directory; "
                             "move it aside first" % data_dir)
    assert listing(data_dir) == ["member"]
    assert ["snapshot", "restore"] not in [c["args"][:2] for c in calls()]


def test_restore_allows_lost_and_found_on_a_mounted_data_dir(tmp_path, snapshot_file, tool):
    data_dir = tmp_path / "data"
    (data_dir / "lost+found").mkdir(parents=True)
    result, failed = run_module(restore_args(snapshot_file, data_dir))
    assert not failed, result
    assert listing(data_dir) == ["lost+found", "member"]


def test_restore_refuses_a_symlinked_data_dir(tmp_path, snapshot_file, tool):
    (tmp_path / "real").mkdir()
    (tmp_path / "data").symlink_to(tmp_path / "real")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert failed and result["msg"] == "data_dir %s exists and is a symlink or not a directory" % (tmp_path / "data")


def test_restore_refuses_a_bad_file_before_touching_anything(tmp_path, tool):
    _path, calls = tool
    src = tmp_path / "bad.db"
    src.write_bytes(SNAPSHOT[:-1] + b"\0")
    result, failed = run_module(restore_args(src, tmp_path / "data"))
    assert failed and "SHA-256 mismatch" in result["msg"]
    assert calls() == [] and not (tmp_path / "data").exists()


def test_restore_refuses_without_enough_space(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setattr(etcd_snapshot, "free_bytes", lambda path: 10 << 20)
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert failed
    assert result["msg"] == (
        "not enough free space for the restore on the filesystem of %s: a 28 KiB snapshot needs about 128.1 MiB "
        "(twice its size plus 128 MiB for the WAL), 10 MiB is available" % tmp_path
    )
    assert result["space"] == dict(needed=2 * len(SNAPSHOT) + (128 << 20), available=10 << 20)
    assert not (tmp_path / "data").exists()


def test_failed_restore_leaves_nothing_behind(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "1")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert failed
    assert "etcdutl snapshot restore failed (rc=1), nothing was left behind: Error: failed to restore" in result["msg"]
    assert listing(tmp_path) == ["bin", "calls.log", "snap.db"]


def test_failed_restore_into_existing_dir_leaves_it_empty(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "1")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _result, failed = run_module(restore_args(snapshot_file, data_dir))
    assert failed and listing(data_dir) == []


def test_restore_check_mode_checks_but_writes_nothing(tmp_path, snapshot_file, tool):
    _path, calls = tool
    data_dir = tmp_path / "data"
    result, failed = run_module(restore_args(snapshot_file, data_dir), check=True)
    assert not failed and result["changed"] is True
    assert result["cmd"][result["cmd"].index("--data-dir") + 1] == str(data_dir)
    assert not data_dir.exists()
    assert [c["args"][:2] for c in calls()] == [["version"], ["snapshot", "status"]]


def test_restore_without_a_tool_fails_clearly(tmp_path, snapshot_file, no_tool):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert failed
    assert result["msg"] == "no usable etcdutl (etcd 3.5+) or etcdctl (etcd 3.4) found in  or PATH; set etcdutl_path"


def test_restore_with_etcdctl_36_fails_clearly(tmp_path, snapshot_file, tool, monkeypatch):
    path, _calls = tool
    monkeypatch.setenv("FAKE_KIND", "etcdctl")
    monkeypatch.setenv("FAKE_VERSION", "3.6.1")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", etcdutl_path=path))
    assert failed and "is etcdctl 3.6.1, which has no snapshot status or restore: use etcdutl" in result["msg"]


def test_restore_etcdutl_path_must_be_executable(tmp_path, snapshot_file):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", etcdutl_path=str(snapshot_file)))
    assert failed and result["msg"] == "etcdutl_path %s is not an executable file" % snapshot_file


def test_restore_parent_of_data_dir_must_exist(tmp_path, snapshot_file, tool):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "no" / "data"))
    assert failed and result["msg"] == "the parent directory %s of data_dir does not exist" % (tmp_path / "no")


def test_restore_with_etcdctl_34_sets_api_3(tmp_path, snapshot_file, tool, monkeypatch):
    path, calls = tool
    monkeypatch.setenv("FAKE_KIND", "etcdctl")
    monkeypatch.setenv("FAKE_VERSION", "3.4.23")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", etcdutl_path=path,
                                             initial_cluster="etcd-host0=https://10.0.0.11:2380,"
                                                             "etcd-host1=https://10.0.0.12:2380"))
    assert not failed, result
    assert all(c["api"] == "3" for c in calls())
    assert "etcd-host0=https://10.0.0.11:2380,etcd-host1=https://10.0.0.12:2380" in result["cmd"]


def test_save_names_a_missing_ca_file_and_writes_nothing(tmp_path):
    missing = str(tmp_path / "missing-ca.pem")
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), ca_cert=missing))
    assert failed
    assert result["msg"].startswith("cannot ask etcd for a snapshot: ")
    assert "ca_cert" in result["msg"] and missing in result["msg"]
    assert listing(tmp_path) == []
