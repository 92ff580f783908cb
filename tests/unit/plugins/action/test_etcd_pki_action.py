"""The etcd_pki action: on the controller (local connection, no become) the module's code runs in
this process, with its options, check mode, warnings and diff; anywhere else the module runs."""

import os

import pytest

from ansible_collections.raftops.etcd.plugins.action.etcd_pki import ActionModule
from ansible_collections.raftops.etcd.tests.unit.plugins.action.in_process import controller_action

MEMBERS = [{"name": "etcd-host0", "addresses": ["10.0.0.10"]}]


@pytest.fixture
def action(monkeypatch, tmp_path):
    module = controller_action(ActionModule, monkeypatch)
    module.pki = str(tmp_path / "pki")
    return module


def run(action, **args):
    action._task.args = dict({"path": action.pki, "members": MEMBERS}, **args)
    return action.run(task_vars={})


def test_on_the_controller_it_issues_in_this_process_then_changes_nothing(action):
    first = run(action)
    assert first["changed"] is True and action.calls == []
    assert {os.path.basename(i["file"]) for i in first["issued"]} >= {"ca.pem", "etcd-host0.pem", "admin.pem"}
    assert "diff" not in first
    again = run(action)
    assert again["changed"] is False and again["issued"] == []
    verified = run(action, state="verified")
    assert verified["changed"] is False and set(verified["certificates"]) == {"etcd-host0"}


def test_check_mode_writes_nothing(action):
    action._task.check_mode = True
    assert run(action)["changed"] is True
    assert not os.path.exists(action.pki)


def test_a_revocation_reports_its_diff_only_in_diff_mode(action):
    two = [*MEMBERS, {"name": "etcd-host1", "addresses": ["10.0.0.11"]}]
    run(action, members=two)
    assert "diff" not in run(action, members=two, revoke=[])
    action._task.diff = True
    result = run(action, revoke=["etcd-host1"])
    assert result["changed"] is True and result["revoked"][0]["name"] == "etcd-host1"
    crl_diff, files_diff = result["diff"]
    assert crl_diff["before"] == ""
    assert files_diff["before"].splitlines()[0] == os.path.join(action.pki, "etcd-host1.pem")
    assert "PRIVATE KEY" not in str(result)


@pytest.mark.parametrize("transport, become", [("ssh", False), ("local", True)])
def test_elsewhere_the_module_runs(action, transport, become):
    action._connection.transport = transport
    action._play_context.become = become
    assert run(action) == {"changed": False, "from": "module"}
    assert action.calls == [("raftops.etcd.etcd_pki", {"path": action.pki, "members": MEMBERS})]
    assert not os.path.exists(action.pki)


def test_an_unknown_option_is_refused_and_nothing_is_written(action):
    result = run(action, colour="blue")
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("raftops.etcd.etcd_pki: ") and "colour" in result["msg"]
    assert not os.path.exists(action.pki)


def test_bad_input_fails_with_the_modules_message_and_problems(action):
    result = run(action, members=[{"name": "bad name"}])
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("raftops.etcd.etcd_pki: ") and "bad name" in result["msg"]
    assert not os.path.exists(action.pki)
