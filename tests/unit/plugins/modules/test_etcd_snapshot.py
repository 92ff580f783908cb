import hashlib
import json
import os
import sys
import stat
import tempfile
from functools import partial

import pytest
from ansible.module_utils import basic

from ansible_collections.raftops.etcd.plugins.module_utils.backup import snapshot_host as etcd_snapshot_host
from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.modules import etcd_snapshot
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import stream_messages
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import SNAPSHOT, listing
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import run_module as run_any

run_module = partial(run_any, etcd_snapshot)


# -- argument handling -------------------------------------------------------------------------


def test_documented_options_match_the_code():
    assert_documented_options_match(etcd_snapshot)


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "missing required arguments: dest"),
        ({"dest": "/tmp/x.db", "src": "/s.db", "data_dir": "/d"},
         ") module: data_dir, src. Supported parameters include: auth_password, auth_user, ca_cert,"),
    ],
)
def test_argument_errors(args, message):
    result, failed = run_module(args)
    assert failed
    assert message in result["msg"]


@pytest.mark.parametrize("state", ["saved", "inspected", "restored"])
def test_state_is_refused_before_anything_happens(tmp_path, state):
    """The option of the one module that also inspected and restored is gone; a task that sets it fails."""
    result, failed = run_module(dict(state=state, dest=str(tmp_path / "etcd.db")))
    assert failed
    assert result["msg"].startswith("Unsupported parameters for (")  # the module's file name, basic.py here
    assert ") module: state. Supported parameters include: auth_password, auth_user, ca_cert," in result["msg"]
    assert listing(tmp_path) == []


# -- saving ------------------------------------------------------------------------------------


class FakeClient:
    def __init__(self, endpoint, messages=None, fail_after=None, unreachable=False):
        self.endpoint = endpoint
        self.messages = messages if messages is not None else stream_messages(SNAPSHOT, wrap=False)
        self.fail_after = fail_after
        self.unreachable = unreachable
        self.streamed = False
        self.keyspace_asked = None
        self.keyspace_fails = False

    def status(self):
        if self.unreachable:
            raise ec.EtcdUnreachable("connection refused", endpoint=self.endpoint)
        return ec.normalize_status(
            {"header": {"member_id": "6456791215661163647", "revision": "7"}, "version": "3.5.1", "dbSize": "28672"},
            endpoint=self.endpoint,
        )

    def keyspace(self, revision=0):
        self.keyspace_asked = revision
        if self.keyspace_fails:
            raise ec.EtcdError("etcdserver: permission denied", endpoint=self.endpoint)
        return dict(revision=revision, current_revision=9, keys=5, hash=None, compact_revision=None,
                    hash_problem="etcd 3.5.1 does not serve HashKV through its gateway (3.5.10 and later do)")

    def stream(self, path, body=None, timeout=None):
        assert path == "/v3/maintenance/snapshot"
        self.streamed = True
        for index, message in enumerate(self.messages):
            if index == self.fail_after:
                raise ec.EtcdError("etcdserver: server stopped", endpoint=self.endpoint)
            yield message


@pytest.fixture
def clients(tmp_path_factory, monkeypatch):
    """The fake clients the module gets, one per endpoint; tests adjust them before running. No etcdctl
    is found (PATH is empty): the snapshot streams through the gateway, unless a test gives one."""
    made = {}
    monkeypatch.setenv("PATH", str(tmp_path_factory.mktemp("no-bin")))
    monkeypatch.setattr(etcd_snapshot_host, "TOOL_SEARCH_DIRS", [])

    def factory(params):
        return [made.setdefault(endpoint, FakeClient(endpoint)) for endpoint in params["endpoints"]]

    monkeypatch.setattr(etcd_snapshot, "clients_from_params", factory)
    return made


@pytest.fixture
def temps(monkeypatch):
    """The temporary files the module reserves (tempfile.mkstemp), in order."""
    made = []
    real_mkstemp = tempfile.mkstemp

    def mkstemp(**kwargs):
        fd, path = real_mkstemp(**kwargs)
        made.append(path)
        return fd, path

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
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
def test_save_failure_removes_the_partial_file_and_keeps_the_old_one(tmp_path, clients, temps, make_client, message):
    dest = tmp_path / "etcd.db"
    dest.write_bytes(b"old")
    clients["https://127.0.0.1:2379"] = make_client("https://127.0.0.1:2379")
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


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"owner": "no-such-user-raftops"}, "owner 'no-such-user-raftops': no such user on this host"),
        ({"group": "no-such-group-raftops"}, "group 'no-such-group-raftops': no such group on this host"),
    ],
)
def test_save_unknown_owner_or_group_fails_before_asking_etcd(tmp_path, clients, overrides, message):
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), **overrides))
    assert failed and result["msg"] == message
    assert clients == {} and listing(tmp_path) == []


def test_save_names_a_missing_ca_file_and_writes_nothing(tmp_path):
    missing = str(tmp_path / "missing-ca.pem")
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), ca_cert=missing))
    assert failed
    assert result["msg"].startswith("cannot ask etcd for a snapshot: ")
    assert "ca_cert" in result["msg"] and missing in result["msg"]
    assert listing(tmp_path) == []


# -- inspecting the saved file and reading the keyspace in the same call -------------------------


def test_without_inspect_or_keyspace_neither_is_read(tmp_path, clients, tool):
    _path, calls = tool
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db")))
    assert not failed and "inspected" not in result and "keyspace" not in result and "keyspace_error" not in result
    assert calls() == [] and clients["https://127.0.0.1:2379"].keyspace_asked is None


def test_inspect_runs_the_tools_snapshot_status_on_the_saved_file(tmp_path, clients, tool):
    _path, calls = tool
    dest = tmp_path / "etcd.db"
    result, failed = run_module(dict(dest=str(dest), inspect=True))
    assert not failed, result
    assert result["inspected"]["status_source"] == "etcdutl" and result["inspected"]["revision"] == 7
    assert result["inspected"]["total_key"] == 7 and result["inspected"]["hash"] == 12345
    assert [c["args"][:3] for c in calls()] == [["version"], ["snapshot", "status", str(dest)]]


def test_inspect_without_a_tool_reads_the_file_alone(tmp_path, clients, no_tool):
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), inspect=True))
    assert not failed and result["inspected"]["status_source"] == "file" and result["inspected"]["revision"] == 7


def test_inspect_does_not_hash_the_saved_file_again(tmp_path, clients, no_tool, monkeypatch):
    """The stream's SHA-256 was verified as it was written: inspecting reads the pages, not every byte again."""
    hashed = []
    real_sha256 = hashlib.sha256

    def counting_sha256(*args):
        hashed.append(sum(len(arg) for arg in args))
        return real_sha256(*args)

    monkeypatch.setattr(hashlib, "sha256", counting_sha256)
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), inspect=True))
    assert not failed, result
    assert hashed == [0]  # the stream's running hash only, fed block by block
    assert result["inspected"]["sha256"] == result["sha256"] == real_sha256(SNAPSHOT).hexdigest()
    assert result["inspected"]["hash_expected"] == result["inspected"]["hash_actual"] == SNAPSHOT[-32:].hex()
    assert result["inspected"]["checks"] == dict(size_aligned=True, hash_ok=True, page_aligned=True, meta_ok=True)


def test_keyspace_is_read_from_the_same_member_at_the_snapshots_revision(tmp_path, clients):
    clients["https://dead:2379"] = FakeClient("https://dead:2379", unreachable=True)
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), endpoints=["https://dead:2379", "https://live:2379"],
                                     keyspace=True))
    assert not failed and result["keyspace_error"] is None
    assert result["keyspace"] == dict(revision=7, current_revision=9, keys=5, hash=None, compact_revision=None,
                                      hash_problem="etcd 3.5.1 does not serve HashKV through its gateway (3.5.10 and later do)",
                                      endpoint="https://live:2379")
    assert clients["https://live:2379"].keyspace_asked == 7 and clients["https://dead:2379"].keyspace_asked is None


def test_a_keyspace_the_member_does_not_give_is_no_failure(tmp_path, clients):
    clients["https://127.0.0.1:2379"] = client = FakeClient("https://127.0.0.1:2379")
    client.keyspace_fails = True
    dest = tmp_path / "etcd.db"
    result, failed = run_module(dict(dest=str(dest), keyspace=True))
    assert not failed and "keyspace" not in result and dest.read_bytes() == SNAPSHOT
    assert result["keyspace_error"] == "cannot read the keyspace: https://127.0.0.1:2379: etcdserver: permission denied"


# -- saving with the host's etcdctl ------------------------------------------------------------------

# A stand-in for etcdctl snapshot save: logs its command line and its ETCDCTL_* environment, then
# writes FAKE_SNAPSHOT's bytes as etcdctl does (NAME.part, then renamed to NAME).
FAKE_ETCDCTL = r"""#!{python}
import json, os, sys
with open(os.environ["FAKE_ETCDCTL_LOG"], "a") as log:
    log.write(json.dumps(dict(argv=sys.argv[1:], env={{k: v for k, v in os.environ.items() if k.startswith("ETCDCTL_")}})) + "\n")
if os.environ.get("FAKE_ETCDCTL_FAIL"):
    sys.stderr.write('{{"level":"info","msg":"created temporary db file"}}\nError: etcdserver: user name is empty\n')
    sys.exit(5)
with open(os.environ["FAKE_SNAPSHOT"], "rb") as src, open(sys.argv[-1] + ".part", "wb") as out:
    out.write(src.read())
os.rename(sys.argv[-1] + ".part", sys.argv[-1])
print("Snapshot saved at %s" % sys.argv[-1])
if os.environ.get("FAKE_SERVER_VERSION"):
    print("Server version %s" % os.environ["FAKE_SERVER_VERSION"])
"""


@pytest.fixture
def etcdctl(tmp_path_factory, monkeypatch):
    """A fake etcdctl (not on PATH) that saves FAKE_SNAPSHOT; returns (path, calls())."""
    bin_dir = tmp_path_factory.mktemp("etcdctl-bin")
    path = bin_dir / "etcdctl"
    path.write_text(FAKE_ETCDCTL.format(python=sys.executable))
    path.chmod(0o755)
    snapshot = bin_dir / "served.db"
    snapshot.write_bytes(SNAPSHOT)
    log = bin_dir / "etcdctl.log"
    log.write_text("")
    monkeypatch.setenv("FAKE_SNAPSHOT", str(snapshot))
    monkeypatch.setenv("FAKE_ETCDCTL_LOG", str(log))

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()]

    return str(path), calls


def test_etcdctl_saves_with_the_modules_connection_and_no_secret_on_its_command_line(
        tmp_path, clients, etcdctl, monkeypatch):
    path, calls = etcdctl
    monkeypatch.setenv("PATH", "%s:%s" % (os.path.dirname(path), os.environ["PATH"]))
    monkeypatch.setenv("ETCDCTL_DISCOVERY_SRV", "example.com")
    monkeypatch.setenv("FAKE_SERVER_VERSION", "3.6.0")
    clients["https://dead:2379"] = FakeClient("https://dead:2379", unreachable=True)
    dest = tmp_path / "out" / "etcd.db"
    dest.parent.mkdir()
    result, failed = run_module(dict(dest=str(dest), auth_user="root", auth_password="s3cret-pass", timeout=7,
                                     endpoints=["https://dead:2379", "https://live:2379"]))
    assert not failed, result
    (call,) = calls()
    assert call["argv"] == ["snapshot", "save", call["argv"][2]]
    assert call["argv"][2].startswith(str(tmp_path / "out" / ".etcd.db.")) and call["argv"][2].endswith(".part")
    assert "s3cret-pass" not in json.dumps(call["argv"])
    assert call["env"] == dict(ETCDCTL_API="3", ETCDCTL_ENDPOINTS="https://live:2379", ETCDCTL_DIAL_TIMEOUT="7s",
                               ETCDCTL_INSECURE_TRANSPORT="false", ETCDCTL_USER="root", ETCDCTL_PASSWORD="s3cret-pass",
                               ETCDCTL_DISCOVERY_SRV="")
    assert dest.read_bytes() == SNAPSHOT and stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert listing(dest.parent) == ["etcd.db"]
    assert result["method"] == "etcdctl" and result["etcdctl"] == path and result["storage_version"] == "3.6.0"
    assert result["sha256"] == hashlib.sha256(SNAPSHOT).hexdigest()
    assert result["hash_expected"] == result["hash_actual"] == SNAPSHOT[-32:].hex()
    assert result["checks"] == dict(size_aligned=True, hash_ok=True, page_aligned=True, meta_ok=True)
    assert result["revision"] == 7 and result["size"] == len(SNAPSHOT)
    assert not clients["https://live:2379"].streamed


def test_a_snapshot_etcdctl_saved_with_a_bad_trailer_is_refused_by_name(tmp_path, clients, etcdctl, temps, monkeypatch):
    """etcdctl checks only the size: the trailer is checked here, and the file that fails it is removed."""
    path, _calls = etcdctl
    corrupted = tmp_path / "corrupted.db"
    corrupted.write_bytes(SNAPSHOT[:5000] + bytes([SNAPSHOT[5000] ^ 0xFF]) + SNAPSHOT[5001:])
    monkeypatch.setenv("FAKE_SNAPSHOT", str(corrupted))
    dest = tmp_path / "etcd.db"
    dest.write_bytes(b"old")
    result, failed = run_module(dict(dest=str(dest), force=True, etcdctl_path=path))
    assert failed
    assert result["msg"].startswith("the snapshot %s saved for %s fails its checks, %s was removed: SHA-256 mismatch: "
                                    "the trailer expects %s" % (path, dest, temps[0], SNAPSHOT[-32:].hex()))
    assert listing(tmp_path) == ["corrupted.db", "etcd.db"]
    assert dest.read_bytes() == b"old"


def test_a_failed_etcdctl_is_named_with_its_error_and_leaves_nothing(tmp_path, clients, etcdctl, monkeypatch):
    path, _calls = etcdctl
    monkeypatch.setenv("FAKE_ETCDCTL_FAIL", "1")
    out = tmp_path / "out"
    out.mkdir()
    result, failed = run_module(dict(dest=str(out / "etcd.db"), etcdctl_path=path, method="etcdctl"))
    assert failed
    assert result["msg"].startswith("%s snapshot save from https://127.0.0.1:2379 failed (rc=5), %s" % (path, out / ".etcd.db."))
    assert result["msg"].endswith(".part was removed: Error: etcdserver: user name is empty")
    assert listing(out) == [] and not clients["https://127.0.0.1:2379"].streamed


def test_with_method_auto_the_gateway_takes_over_from_a_failed_etcdctl(tmp_path, clients, etcdctl, monkeypatch):
    path, calls = etcdctl
    monkeypatch.setenv("FAKE_ETCDCTL_FAIL", "1")
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    dest = tmp_path / "etcd.db"
    result, failed = run_module(dict(dest=str(dest), etcdctl_path=path))
    assert not failed, result
    assert result["method"] == "gateway" and result["etcdctl"] is None and len(calls()) == 1
    assert clients["https://127.0.0.1:2379"].streamed and dest.read_bytes() == SNAPSHOT
    (warning,) = warnings
    assert warning.startswith("%s snapshot save from https://127.0.0.1:2379 failed (rc=5)" % path)
    assert warning.endswith("Error: etcdserver: user name is empty; the snapshot was streamed through the gateway instead")


@pytest.mark.parametrize(
    "args, on_path, method",
    [
        ({}, True, "etcdctl"),
        ({}, False, "gateway"),
        ({"method": "gateway"}, True, "gateway"),
        # etcdctl reads a pair from files only
        ({"client_cert_content": "PEM", "client_key_content": "KEY"}, True, "gateway"),
    ],
)
def test_method_auto_takes_etcdctl_when_there_is_one_that_can_connect(tmp_path, clients, etcdctl, monkeypatch, args,
                                                                      on_path, method):
    path, calls = etcdctl
    if on_path:
        monkeypatch.setenv("PATH", os.path.dirname(path))
    dest = tmp_path / "etcd.db"
    result, failed = run_module(dict(dest=str(dest), **args))
    assert not failed, result
    assert result["method"] == method and result["etcdctl"] == (path if method == "etcdctl" else None)
    assert len(calls()) == (method == "etcdctl") and clients["https://127.0.0.1:2379"].streamed == (method == "gateway")
    assert dest.read_bytes() == SNAPSHOT


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "method=etcdctl: no etcdctl in /usr/local/bin or PATH, set etcdctl_path; set method=gateway or auto"),
        ({"endpoints": ["unix:///run/etcd.sock"]},
         "method=etcdctl: the endpoint unix:///run/etcd.sock is a unix socket; set method=gateway or auto"),
    ],
)
def test_method_etcdctl_without_a_usable_one_fails_before_anything_is_written(tmp_path, clients, args, message):
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), method="etcdctl", **args))
    assert failed and result["msg"] == message
    assert "etcd.db" not in listing(tmp_path) and not any(c.streamed for c in clients.values())


def test_check_mode_says_which_method_would_save(tmp_path, clients, etcdctl):
    path, calls = etcdctl
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), etcdctl_path=path), check=True)
    assert not failed and result["method"] == "etcdctl" and result["etcdctl"] == path
    assert calls() == [] and "etcd.db" not in listing(tmp_path)


def test_etcdctl_needs_the_space_of_the_members_database(tmp_path, clients, etcdctl, monkeypatch):
    path, calls = etcdctl
    monkeypatch.setattr(etcd_snapshot, "free_bytes", lambda directory: 4096)
    result, failed = run_module(dict(dest=str(tmp_path / "etcd.db"), etcdctl_path=path))
    assert failed and result["msg"] == (
        "not enough space in %s for the snapshot: it needs about 28 KiB (the member's database size), 4 KiB "
        "is available" % tmp_path)
    assert calls() == []
