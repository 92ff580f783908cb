"""The etcd_snapshot_store action: on the controller (local connection, no become) the module's code
runs in this process, with its check mode and messages; anywhere else the module runs."""

import os
import stat

import pytest

from ansible_collections.raftops.etcd.plugins.action.etcd_snapshot_store import ActionModule
from ansible_collections.raftops.etcd.tests.unit.plugins.action.in_process import controller_action

SNAPSHOT = "etcd-snapshot-20261124T221500Z.db"


@pytest.fixture
def action(monkeypatch, tmp_path):
    module = controller_action(ActionModule, monkeypatch)
    module.backups = str(tmp_path / "etcd-backups")
    return module


def run(action, **args):
    action._task.args = dict({"path": action.backups}, **args)
    return action.run(task_vars={})


def test_on_the_controller_it_keeps_the_directory_in_this_process(action):
    first = run(action)
    assert first["changed"] is True and first["created"] is True and action.calls == []
    assert stat.S_IMODE(os.stat(action.backups).st_mode) == 0o700
    with open(os.path.join(action.backups, SNAPSHOT), "wb") as handle:
        handle.write(b"snapshot")
    recorded = run(action, snapshot=SNAPSHOT, record={"revision": 3}, keep="2")
    assert recorded["changed"] is True and recorded["kept"] == [SNAPSHOT]
    assert run(action, snapshot=SNAPSHOT, record={"revision": 3}, keep=2)["changed"] is False


def test_check_mode_makes_nothing(action):
    action._task.check_mode = True
    assert run(action)["created"] is True
    assert not os.path.exists(action.backups)


@pytest.mark.parametrize("transport, become", [("ssh", False), ("local", True)])
def test_elsewhere_the_module_runs(action, transport, become):
    action._connection.transport = transport
    action._play_context.become = become
    assert run(action, keep=7) == {"changed": False, "from": "module"}
    assert action.calls == [("raftops.etcd.etcd_snapshot_store", {"path": action.backups, "keep": 7})]
    assert not os.path.exists(action.backups)


@pytest.mark.parametrize("args, says", [
    ({"colour": "blue"}, "colour"),
    ({"keep": "many"}, "keep"),
    ({"keep": 0}, "keep is 0: keep at least 1 snapshot; nothing was changed"),
])
def test_a_bad_option_is_refused_and_nothing_is_made(action, args, says):
    result = run(action, **args)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("raftops.etcd.etcd_snapshot_store: ") and says in result["msg"]
    assert not os.path.exists(action.backups)
