"""The host side the snapshot modules share: the etcdutl program, inspect, owners, free space, ending a task."""

import grp
import json
import os
import pwd

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import snapshot_host as sh
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import build_snapshot

SNAPSHOT = build_snapshot()
STATUS = json.dumps({"hash": 12345, "revision": 7, "totalKey": 7, "totalSize": 28672})


class FakeModule:
    """Just enough of AnsibleModule: programs found by name, and canned answers by (program, first argument)."""

    def __init__(self, answers=None, bins=None):
        self.answers = answers or {}
        self.bins = bins or {}
        self.calls = []
        self.warnings = []
        self.params = {}

    def get_bin_path(self, name, opt_dirs=None):
        return self.bins.get(name)

    def run_command(self, args, environ_update=None):
        self.calls.append((list(args), environ_update))
        return self.answers[(args[0], args[1])]

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise SystemExit(("exit", result))

    def fail_json(self, **result):
        raise SystemExit(("fail", result))


def version(kind, number):
    return (0, "%s version: %s\nAPI version: 3.5\n" % (kind, number), "")


@pytest.fixture
def snapshot(tmp_path):
    path = tmp_path / "snap.db"
    path.write_bytes(SNAPSHOT)
    return str(path)


# -- the program -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, number, parsed, environ",
    [("etcdutl", "3.5.1", (3, 5, 1), {}), ("etcdutl", "v3.6.4", (3, 6, 4), {}),
     ("etcdctl", "3.4.23", (3, 4, 23), {"ETCDCTL_API": "3"}), ("etcdctl", "3.5.17", (3, 5, 17), {"ETCDCTL_API": "3"})],
)
def test_probe_tool_tells_the_kind_and_version(kind, number, parsed, environ):
    module = FakeModule({("/bin/x", "version"): version(kind, number)})
    tool = sh.probe_tool(module, "/bin/x")
    assert isinstance(tool, sh.Tool)
    assert (tool.path, tool.kind, tool.version, tool.environ) == ("/bin/x", kind, parsed, environ)
    assert tool.version_text == ".".join(map(str, parsed))
    assert module.calls == [(["/bin/x", "version"], {"ETCDCTL_API": "3"})]


@pytest.mark.parametrize(
    "answer, problem",
    [(version("etcdctl", "3.6.0"), "/bin/x is etcdctl 3.6.0, which has no snapshot status or restore: use etcdutl"),
     ((1, "", "boom\n"), "/bin/x version failed (rc=1): boom"),
     ((0, "etcd Version: 3.5.1\n", ""), "/bin/x version failed (rc=0): etcd Version: 3.5.1")],
)
def test_probe_tool_says_why_a_program_cannot_serve(answer, problem):
    assert sh.probe_tool(FakeModule({("/bin/x", "version"): answer}), "/bin/x") == problem


def test_find_tool_prefers_etcdutl_and_falls_back_to_etcdctl():
    both = {"etcdutl": "/u/etcdutl", "etcdctl": "/u/etcdctl"}
    module = FakeModule({("/u/etcdutl", "version"): version("etcdutl", "3.5.1")}, both)
    tool, problems = sh.find_tool(module, None, required=True)
    assert tool.path == "/u/etcdutl" and problems == []

    module = FakeModule({("/u/etcdutl", "version"): (1, "", "broken"),
                         ("/u/etcdctl", "version"): version("etcdctl", "3.4.23")}, both)
    tool, problems = sh.find_tool(module, None, required=True)
    assert tool.path == "/u/etcdctl" and problems == ["/u/etcdutl version failed (rc=1): broken"]


def test_find_tool_without_one(monkeypatch):
    monkeypatch.setattr(sh, "TOOL_SEARCH_DIRS", ["/opt/etcd"])
    module = FakeModule({("/u/etcdctl", "version"): version("etcdctl", "3.6.4")}, {"etcdctl": "/u/etcdctl"})
    assert sh.find_tool(module, None, required=False) == (
        None, ["/u/etcdctl is etcdctl 3.6.4, which has no snapshot status or restore: use etcdutl"])
    with pytest.raises(sh.Failure) as info:
        sh.find_tool(module, None, required=True)
    assert info.value.msg == (
        "no usable etcdutl (etcd 3.5+) or etcdctl (etcd 3.4) found in /opt/etcd or PATH; set etcdutl_path: "
        "/u/etcdctl is etcdctl 3.6.4, which has no snapshot status or restore: use etcdutl")


def test_find_tool_given_a_path_uses_only_that_one(tmp_path):
    program = tmp_path / "etcdutl"
    program.write_text("")
    with pytest.raises(sh.Failure, match="etcdutl_path %s is not an executable file" % program):
        sh.find_tool(FakeModule(), str(program), required=False)
    program.chmod(0o755)
    module = FakeModule({(str(program), "version"): version("etcdutl", "3.5.1")}, {"etcdutl": "/elsewhere"})
    tool, _problems = sh.find_tool(module, str(program), required=True)
    assert tool.path == str(program) and len(module.calls) == 1


# -- inspect -----------------------------------------------------------------------------------


def test_inspect_reads_the_file_when_there_is_no_program(snapshot):
    result, tool, warnings = sh.inspect(FakeModule(), snapshot)
    assert tool is None and warnings == []
    assert set(sh.FILE_FIELDS) <= set(result) and result["path"] == snapshot
    assert (result["revision"], result["total_key"], result["total_size"]) == (7, 7, 28672)
    assert (result["status_source"], result["hash"], result["tool"], result["tool_version"]) == ("file", None, None, None)


def test_inspect_takes_the_status_of_the_program(snapshot):
    module = FakeModule({("/u/etcdctl", "version"): version("etcdctl", "3.4.23"),
                         ("/u/etcdctl", "snapshot"): (0, "a warning first\n" + STATUS + "\n", "")},
                        {"etcdctl": "/u/etcdctl"})
    result, tool, warnings = sh.inspect(module, snapshot, tool_required=True)
    assert tool.kind == "etcdctl" and warnings == []
    assert (result["status_source"], result["hash"], result["tool"], result["tool_version"]) == (
        "etcdctl", 12345, "/u/etcdctl", "3.4.23")
    assert module.calls[-1] == (["/u/etcdctl", "snapshot", "status", snapshot, "-w", "json"], {"ETCDCTL_API": "3"})


@pytest.mark.parametrize(
    "answer, message",
    [((2, "", "Error: bad\n"), "/u/etcdutl snapshot status failed on %s (rc=2): Error: bad"),
     ((0, "nothing\n", ""), "snapshot status printed no JSON: 'nothing\\n'")],
)
def test_inspect_fails_with_the_file_fields_when_the_program_does(snapshot, answer, message):
    module = FakeModule({("/u/etcdutl", "version"): version("etcdutl", "3.5.1"), ("/u/etcdutl", "snapshot"): answer},
                        {"etcdutl": "/u/etcdutl"})
    with pytest.raises(sh.Failure) as info:
        sh.inspect(module, snapshot)
    assert info.value.msg == (message % snapshot if "%s" in message else message)
    assert info.value.result["path"] == snapshot and info.value.result["size"] == len(SNAPSHOT)


def test_inspect_of_a_directory_fails_naming_it(tmp_path):
    with pytest.raises(sh.Failure) as info:
        sh.inspect(FakeModule(), str(tmp_path))
    assert info.value.msg == "%s is not a regular file" % tmp_path and info.value.result == {"path": str(tmp_path)}


# -- owners, free space, fields ----------------------------------------------------------------


def test_resolve_ids():
    me = pwd.getpwuid(os.getuid()).pw_name
    my_group = grp.getgrgid(os.getgid()).gr_name
    assert sh.resolve_ids(None, None) == (-1, -1)
    assert sh.resolve_ids("", "") == (-1, -1)
    assert sh.resolve_ids("4242", "4343") == (4242, 4343)
    assert sh.resolve_ids(me, my_group) == (os.getuid(), os.getgid())
    with pytest.raises(sh.Failure, match="owner 'no-such-user-raftops': no such user on this host"):
        sh.resolve_ids("no-such-user-raftops", None)
    with pytest.raises(sh.Failure, match="group 'no-such-group-raftops': no such group on this host"):
        sh.resolve_ids(None, "no-such-group-raftops")


def test_free_bytes_is_what_this_user_may_use(monkeypatch):
    # The blocks free to unprivileged users, not f_bfree (root's reserve): a fixed reading, as the
    # real one moves with every other writer on the machine.
    reading = os.statvfs_result((4096, 4096, 1000, 500, 300, 0, 0, 0, 0, 255))
    monkeypatch.setattr(sh.os, "statvfs", lambda path: reading)
    assert sh.free_bytes("/var/backups") == 300 * 4096


def test_file_fields_are_the_shared_ones():
    fields = sh.file_fields(dict(path="/s.db", size=1, revision=7, errors=[]))
    assert list(fields) == list(sh.FILE_FIELDS)
    assert fields["path"] == "/s.db" and fields["size"] == 1 and fields["checks"] is None


# -- ending the task ---------------------------------------------------------------------------


def test_run_module_exits_with_the_result_and_its_warnings():
    module = FakeModule()
    with pytest.raises(SystemExit) as info:
        sh.run_module(module, lambda m: dict(changed=False, revision=7, warnings=["a", "b"]))
    assert info.value.args[0] == ("exit", dict(changed=False, revision=7))
    assert module.warnings == ["a", "b"]


def test_run_module_fails_with_the_failure_and_its_fields():
    def action(module):
        raise sh.Failure("no good", path="/s.db")

    with pytest.raises(SystemExit) as info:
        sh.run_module(FakeModule(), action)
    assert info.value.args[0] == ("fail", dict(msg="no good", path="/s.db"))


# -- etcdctl snapshot save ---------------------------------------------------------------------


CONNECTION = dict(timeout=10.0, ca_cert="/etc/etcd/pki/ca.pem", client_cert="/etc/etcd/pki/client.pem",
                  client_key="/etc/etcd/pki/client-key.pem", tls_verify=True, auth_user="root",
                  auth_password="s3cret-pass", client_cert_content=None, client_key_content=None)


def test_etcdctl_is_given_the_connection_in_its_environment_and_only_the_file_on_its_command_line():
    endpoint = "https://127.0.0.1:2379"
    argv = sh.etcdctl_save_command("/usr/local/bin/etcdctl", "/tmp/t/.etcd.db.x.part")
    env = sh.etcdctl_environment(CONNECTION, endpoint, {"HOME": "/root"})
    assert argv == ["/usr/local/bin/etcdctl", "snapshot", "save", "/tmp/t/.etcd.db.x.part"]
    assert env == dict(ETCDCTL_API="3", ETCDCTL_ENDPOINTS=endpoint, ETCDCTL_DIAL_TIMEOUT="10s",
                       ETCDCTL_CACERT="/etc/etcd/pki/ca.pem", ETCDCTL_CERT="/etc/etcd/pki/client.pem",
                       ETCDCTL_KEY="/etc/etcd/pki/client-key.pem", ETCDCTL_INSECURE_TRANSPORT="false",
                       ETCDCTL_USER="root", ETCDCTL_PASSWORD="s3cret-pass")


def test_etcdctl_environment_blanks_what_the_hosts_own_would_add():
    """etcdctl reads every ETCDCTL_* variable: one the module inherited (a user, another cluster's
    endpoints) must not change the connection; an empty one counts as unset."""
    params = dict(CONNECTION, auth_user=None, auth_password=None, ca_cert=None, client_cert=None, client_key=None)
    env = sh.etcdctl_environment(params, "http://10.0.0.1:2379",
                                 {"ETCDCTL_USER": "admin:x", "ETCDCTL_ENDPOINTS": "https://other:2379", "PATH": "/bin"})
    assert env == dict(ETCDCTL_API="3", ETCDCTL_ENDPOINTS="http://10.0.0.1:2379", ETCDCTL_DIAL_TIMEOUT="10s",
                       ETCDCTL_USER="")


def test_etcdctl_environment_of_auto_tls_encrypts_without_verifying():
    params = dict(CONNECTION, tls_verify=False, ca_cert=None, auth_user=None, auth_password=None)
    env = sh.etcdctl_environment(params, "https://127.0.0.1:2379", {})
    assert env["ETCDCTL_INSECURE_TRANSPORT"] == "false" and env["ETCDCTL_INSECURE_SKIP_TLS_VERIFY"] == "true"
    assert "ETCDCTL_CACERT" not in env and "ETCDCTL_PASSWORD" not in env


@pytest.mark.parametrize(
    "overrides, endpoint, reason",
    [
        ({}, "https://127.0.0.1:2379", None),
        ({"client_cert_content": "PEM", "client_key_content": "KEY", "client_cert": None, "client_key": None},
         "https://127.0.0.1:2379", "the client pair is given as text, and etcdctl reads a pair from files only"),
        ({}, "unix:///run/etcd.sock", "the endpoint unix:///run/etcd.sock is a unix socket"),
    ],
)
def test_etcdctl_unusable_says_why(overrides, endpoint, reason):
    assert sh.etcdctl_unusable(dict(CONNECTION, **overrides), endpoint) == reason


def test_find_etcdctl(tmp_path):
    module = FakeModule(bins={"etcdctl": "/usr/local/bin/etcdctl"})
    assert sh.find_etcdctl(module, None) == "/usr/local/bin/etcdctl"
    assert sh.find_etcdctl(FakeModule(), None) is None
    given = tmp_path / "etcdctl"
    given.write_text("#!/bin/sh\n")
    given.chmod(0o755)
    assert sh.find_etcdctl(module, str(given)) == str(given)
    with pytest.raises(sh.Failure, match="etcdctl_path %s is not an executable file" % (tmp_path / "none")):
        sh.find_etcdctl(module, str(tmp_path / "none"))
