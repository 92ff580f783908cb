"""The etcd_member_files action: a host whose etcd_host_info read shows every directory and file as
asked is not called; any other host is called, without host_files among the arguments."""

import hashlib
from unittest.mock import MagicMock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_member_files import ActionModule

ENV = "ETCD_NAME=etcd-host0\n"
ARGS = dict(
    directories=[dict(path="/etc/etcd", owner="root", group="etcd", mode="0750")],
    files=[dict(path="/etc/etcd/etcd.env", owner="root", group="etcd", mode="0640", content=ENV)],
    private_files=[],
    stage_dir="/etc/etcd/staged",
)
READ = {
    "/etc/etcd": dict(kind="directory", owner="root", group="etcd", mode="0750"),
    "/etc/etcd/etcd.env": dict(kind="file", owner="root", group="etcd", mode="0640",
                               sha256=hashlib.sha256(ENV.encode()).hexdigest()),
    "/etc/etcd/staged/etcd.env": dict(kind="absent"),
}
CHANGED = {"changed": True, "changed_paths": ["/etc/etcd/etcd.env"], "staged_paths": []}


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._task.diff = False
    module.calls = []

    def execute_module(module_name, module_args, task_vars):
        module.calls.append((module_name, module_args))
        return dict(CHANGED)
    module._execute_module = execute_module
    return module


def run(action, **args):
    action._task.args = dict(ARGS, **args)
    return action.run(task_vars={})


def test_a_host_with_every_file_as_asked_is_not_called(action):
    assert run(action, host_files=READ) == dict(changed=False, changed_paths=[], staged_paths=[], restart_needed=False)
    assert action.calls == []


def test_in_diff_mode_an_unchanged_host_shows_an_empty_diff(action):
    action._task.diff = True
    assert run(action, host_files=READ)["diff"] == []
    assert action.calls == []


@pytest.mark.parametrize("read", [
    dict(READ, **{"/etc/etcd/etcd.env": dict(READ["/etc/etcd/etcd.env"], sha256="0" * 64)}),
    dict(READ, **{"/etc/etcd/staged/etcd.env": dict(READ["/etc/etcd/etcd.env"])}),
    {path: state for path, state in READ.items() if path != "/etc/etcd"},
    {},
    None,
])
def test_any_other_host_is_called_without_the_read(action, read):
    result = run(action, **({"host_files": read} if read is not None else {}))
    assert result == CHANGED
    assert action.calls == [("raftops.etcd.etcd_member_files", ARGS)]


def test_removing_files_always_calls_the_host(action):
    run(action, host_files=READ, absent=["/etc/etcd/etcd-initial.env"])
    assert action.calls == [("raftops.etcd.etcd_member_files", dict(ARGS, absent=["/etc/etcd/etcd-initial.env"]))]
