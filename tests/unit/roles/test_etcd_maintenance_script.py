"""The members' maintenance timer (roles/etcd/files/etcd_maintenance.py), run against a fake etcdctl
from a directory laid out as the role lays it out on a member."""

import ast
import base64
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import host_settings

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "etcd")
SCRIPT = os.path.join(ROLE, "files", "etcd_maintenance.py")
KEY = "/raftops/etcd/run"
A, B, C = 0xA1, 0xB2, 0xC3
SETTINGS = dict(name="etcd-a", etcdctl="/usr/local/bin/etcdctl", endpoint="https://127.0.0.1:2379",
                ca_cert="/etc/etcd/pki/ca.pem", client_cert="/etc/etcd/pki/root.pem",
                client_key="/etc/etcd/pki/root-key.pem", insecure_skip_tls_verify=False, rule="always",
                quota_bytes=0, lock_prefix="/raftops/etcd/", lock_name="run", lock_ttl=45, max_raft_index_gap=50,
                health_timeout=90, defrag_timeout=300)
ROLE_HOLDER = "ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 4242, started 2026-11-22T09:58:00Z"


def lib_files(*extra):
    """(src, dest basename) of what the role copies beside the script (the host's settings,
    plugins/module_utils/host/host_settings.py), with the files of ``extra`` (lists of the settings,
    by their path, like ("backup_push", "lib_files"))."""
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as source:
        variables = yaml.safe_load(source)
    settings = host_settings(variables, ROLE)
    files = list(settings["maintenance_lib_files"])
    for path in extra:
        files += functools.reduce(lambda node, key: node[key], path, settings)
    return [(f["src"], os.path.basename(f["dest"])) for f in files]


def load_script(lib, files, script_name):
    """Import ``script_name`` from ``lib`` laid out with ``files`` as on a member; the module and
    the names of the modules it imported from there (to forget afterwards)."""
    for src, name in files:
        shutil.copy(src, str(lib / name))
    spec = importlib.util.spec_from_file_location(script_name[:-3] + "_timer", str(lib / script_name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, [name[:-3] for _src, name in files]


def loaded_script(tmp_path_factory, files, script_name):
    """A module-scoped fixture's body: ``script_name`` loaded as on a member (load_script), then the
    modules it imported from its directory forgotten."""
    module, imported = load_script(tmp_path_factory.mktemp("lib"), files, script_name)
    yield module
    for name in imported:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    yield from loaded_script(tmp_path_factory, lib_files(), "etcd_maintenance.py")


class FakeEtcdctl:
    """etcdctl against a three-member cluster whose local member is etcd-a (A)."""

    def __init__(self, leader=B):
        self.leader = leader
        self.members = {m: dict(applied=100, index=100, learner=False, healthy=True, size=80 << 20, in_use=20 << 20)
                        for m in (A, B, C)}
        self.keys = {}
        self.leases = {}
        self.next_lease = 0x694D77AA9E38260F
        self.revision = 1
        self.calls = []

    def status(self, member_id):
        m = self.members[member_id]
        return {"Endpoint": "https://%x:2379" % member_id, "Status": {
            "header": {"member_id": member_id}, "leader": self.leader, "raftIndex": m["index"],
            "raftAppliedIndex": m["applied"], "dbSize": m["size"], "dbSizeInUse": m["in_use"],
            "isLearner": m["learner"]}}

    def __call__(self, argv, input=None, **_options):
        args = [a for a in argv[argv.index("--endpoints") + 2:] if a not in ("--cacert", "--cert", "--key")]
        args = [a for a in args if not a.startswith("/etc/etcd/pki/") and a not in ("-w", "json")]
        self.calls.append(" ".join(args))
        out, rc = self.answer(args, input)
        # etcdctl endpoint health prints every member's record, and fails when one is not healthy
        failed = rc != 0 and command_of(args) != ["endpoint", "health"]
        return subprocess.CompletedProcess(argv, rc, stdout="" if failed else out, stderr=out if failed else "")

    def answer(self, args, stdin):
        command = command_of(args)
        if command == ["endpoint", "status"]:
            ids = list(self.members) if "--cluster" in args else [A]
            return json.dumps([self.status(m) for m in ids]), 0
        if command == ["endpoint", "health"]:
            records = [{"endpoint": "https://%x:2379" % m, "health": v["healthy"]} for m, v in self.members.items()]
            return json.dumps(records), 0 if all(r["health"] for r in records) else 1
        if args[0] == "get":
            kv = self.keys.get(args[1])
            return json.dumps({"kvs": [dict(kv, key=base64.b64encode(args[1].encode()).decode())]} if kv else {}), 0
        if command == ["lease", "grant"]:
            lease, self.next_lease = self.next_lease, self.next_lease + 1
            self.leases[lease] = int(args[2])
            return json.dumps({"ID": lease, "TTL": int(args[2])}), 0
        if command == ["lease", "timetolive"]:
            return json.dumps({"ttl": self.leases.get(int(args[2], 16), -1)}), 0
        if command == ["lease", "keep-alive"]:
            lease = int(args[3], 16)
            return (json.dumps({"TTL": self.leases[lease]}), 0) if lease in self.leases else ("lease expired", 2)
        if command == ["lease", "revoke"]:
            lease = int(args[2], 16)
            if lease not in self.leases:
                return "Error: etcdserver: requested lease not found", 1
            del self.leases[lease]
            self.keys = {k: kv for k, kv in self.keys.items() if kv["lease"] != lease}
            return "lease revoked", 0
        if args[0] == "txn":
            return self.txn(stdin), 0
        if args[0] == "move-leader":
            self.leader = int(args[1], 16)
            return "Leadership transferred", 0
        if args[0] == "defrag":
            self.members[A]["size"] = self.members[A]["in_use"]
            return "Finished defragmenting etcd member", 0
        raise AssertionError("unexpected etcdctl %s" % args)

    def txn(self, stdin):
        compare, op = [line for line in stdin.splitlines() if line]
        key, expected = re.match(r'^(?:create|mod)\(("[^"]*")\) = "([0-9]+)"$', compare).groups()
        key = json.loads(key)
        current = self.keys.get(key, {}).get("mod_revision", 0)
        if current != int(expected):
            return json.dumps({"header": {}})
        if op.startswith("put "):
            lease = int(re.match(r"^put --lease=([0-9a-f]+) ", op).group(1), 16)
            value = json.loads(re.findall(r'"(?:[^"\\]|\\.)*"', op)[1])
            self.revision += 1
            self.keys[key] = dict(value=base64.b64encode(value.encode()).decode(), lease=lease,
                                  mod_revision=self.revision)
        else:
            del self.keys[key]
        return json.dumps({"header": {}, "succeeded": True})

    def hold(self, holder):
        lease, self.next_lease = self.next_lease, self.next_lease + 1
        self.leases[lease] = 45
        self.keys[KEY] = dict(value=base64.b64encode(json.dumps(dict(holder=holder)).encode()).decode(), lease=lease,
                              mod_revision=2)


def command_of(args):
    return args[:2]


def run(script, etcdctl, **settings):
    log = []
    clock = {"now": 0.0}
    maintenance = script.Maintenance(
        dict(SETTINGS, **settings), script.Etcdctl(dict(SETTINGS, **settings), run=etcdctl), log.append,
        "scheduled defragmentation of etcd-a on host-a, pid 99", clock=lambda: clock["now"],
        sleep=lambda seconds: clock.update(now=clock["now"] + seconds))
    try:
        return maintenance.run(), log
    except script.EtcdctlError as exc:
        return str(exc), log


def test_the_role_copies_every_module_the_script_imports():
    with open(SCRIPT, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    copied = {name[:-3] for _src, name in lib_files()}
    assert {"etcd_defrag_rule", "etcd_run_lock", "etcd_leadership"} <= copied
    assert imported - copied <= set(sys.stdlib_module_names)


def test_a_rule_that_does_not_hold_only_logs_the_figures(script):
    etcdctl = FakeEtcdctl()
    assert run(script, etcdctl, rule="free > 1GiB") == (0, ["etcd-a: free 0.1 GiB > 1 GiB: no -> do not defragment"])
    assert etcdctl.calls == ["endpoint status"]


def test_an_unhealthy_cluster_is_skipped_before_the_lock(script):
    etcdctl = FakeEtcdctl()
    etcdctl.members[C]["healthy"] = False
    assert run(script, etcdctl)[1][-1] == "skipped: members not healthy: https://c3:2379"
    assert etcdctl.leases == {} and "defrag" not in " ".join(etcdctl.calls)


def test_a_lock_held_by_a_playbook_run_is_left_alone_and_named(script):
    etcdctl = FakeEtcdctl()
    etcdctl.hold(ROLE_HOLDER)
    result, log = run(script, etcdctl)
    assert result == 0
    assert log[-1].startswith("skipped: lock run is held by %s" % ROLE_HOLDER)
    assert "etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/pki/ca.pem --cert=/etc/etcd/pki/root.pem "\
           "--key=/etc/etcd/pki/root-key.pem lease revoke 694d77aa9e38260f" in log[-1]
    assert list(etcdctl.leases) == [0x694D77AA9E38260F]  # the playbook's, and no other
    assert not any(call.startswith(("defrag", "lease grant")) for call in etcdctl.calls)


def test_a_follower_defragments_under_the_lock_and_gives_it_back(script):
    etcdctl = FakeEtcdctl(leader=B)
    result, log = run(script, etcdctl)
    assert result == 0
    assert log[0] == "etcd-a: always -> defragment"
    assert log[1] == "defragmenting etcd-a (80.0 MiB in the file, 20.0 MiB in use)"
    assert re.match(r"^defragmented etcd-a in [0-9.]+ s: 80.0 MiB -> 20.0 MiB, 60.0 MiB reclaimed$", log[2])
    calls = etcdctl.calls
    assert calls.index("lease grant 45") < calls.index("txn") < calls.index("defrag --command-timeout=300s")
    assert calls[-2:] == ["get %s" % KEY, "lease revoke 694d77aa9e38260f"]
    assert etcdctl.keys == {} and etcdctl.leases == {}
    assert "move-leader" not in " ".join(calls)


def test_a_leader_hands_leadership_to_the_follower_that_applied_the_most_first(script):
    etcdctl = FakeEtcdctl(leader=A)
    etcdctl.members[B]["applied"] = 90
    etcdctl.members[C]["applied"] = 99
    result, log = run(script, etcdctl)
    assert result == 0
    assert log[1] == "etcd-a leads: handing leadership to member c3 first"
    assert etcdctl.calls.index("move-leader c3") < etcdctl.calls.index("defrag --command-timeout=300s")
    assert etcdctl.leader == C and etcdctl.keys == {}


def test_a_leader_without_a_caught_up_follower_stops_and_gives_the_lock_back(script):
    etcdctl = FakeEtcdctl(leader=A)
    etcdctl.members[A]["index"] = 200
    result, _log = run(script, etcdctl)
    assert result == "no caught-up follower to hand leadership to"
    assert not any(call.startswith(("defrag", "move-leader")) for call in etcdctl.calls)
    assert etcdctl.keys == {} and etcdctl.leases == {}


@pytest.mark.parametrize("settings, flags", [
    ({}, ["--cacert", "/etc/etcd/pki/ca.pem", "--cert", "/etc/etcd/pki/root.pem", "--key",
          "/etc/etcd/pki/root-key.pem"]),
    (dict(ca_cert="", client_cert="", client_key="", insecure_skip_tls_verify=True), ["--insecure-skip-tls-verify"]),
    (dict(ca_cert="", client_cert="", client_key="", endpoint="http://127.0.0.1:2379"), []),
])
def test_etcdctl_is_given_the_settings_tls(script, settings, flags):
    etcdctl = script.Etcdctl(dict(SETTINGS, **settings))
    assert etcdctl.base == ["/usr/local/bin/etcdctl", "--endpoints", dict(SETTINGS, **settings)["endpoint"], *flags]


def test_the_main_entry_reads_the_settings_file_and_reports_a_stop(script, tmp_path, monkeypatch, capsys):
    settings = tmp_path / "etcd_maintenance.json"
    settings.write_text(json.dumps(dict(SETTINGS, etcdctl="/nonexistent/etcdctl", rule="never")))
    monkeypatch.setattr(script.subprocess, "run", FakeEtcdctl())
    assert script.main(["etcd_maintenance.py", str(settings)]) == 0
    assert capsys.readouterr().out == "etcd-a: never -> do not defragment\n"
    fake = FakeEtcdctl(leader=A)
    fake.members[A]["index"] = 200
    settings.write_text(json.dumps(SETTINGS))
    monkeypatch.setattr(script.subprocess, "run", fake)
    assert script.main(["etcd_maintenance.py", str(settings)]) == 1
    assert capsys.readouterr().err == "maintenance of etcd-a stopped: no caught-up follower to hand leadership to\n"
