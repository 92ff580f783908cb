"""The etcd_snapshot action: with fetch_dest, the snapshot the module saved on the host comes to the
controller by the connection's own transfer and is checked there by one SHA-256 against the one the
module read; a copy that differs is refused by name and removed. Without it, and in check mode or when
the module failed, the module's result is the task's."""

import hashlib
import os
import shutil
import stat
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_snapshot import ActionModule

MODULE = "raftops.etcd.etcd_snapshot"
SAVED = b"a snapshot, as the member saved it" * 100


@pytest.fixture
def action(monkeypatch, tmp_path):
    """The action; the host's file is ``action.on_host``, and ``action.events`` lists the module runs
    and the transfers, in order."""
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._task.check_mode = False
    module.on_host = tmp_path / "host" / "etcd-snapshot-1.db"
    module.on_host.parent.mkdir()
    module.on_host.write_bytes(SAVED)
    module.store = tmp_path / "etcd-backups"
    module.store.mkdir()
    module.events = []
    module.answer = {"changed": True, "path": str(module.on_host), "sha256": hashlib.sha256(SAVED).hexdigest()}

    def execute_module(module_name, module_args, task_vars):
        module.events.append(("module", module_name, module_args))
        return dict(module.answer)

    def fetch_file(src, dest):
        module.events.append(("fetched", src, os.path.dirname(dest)))
        shutil.copyfile(src, dest)

    module._execute_module = execute_module
    module._connection.fetch_file = fetch_file
    return module


def run(action, **args):
    action._task.args = dict({"dest": str(action.on_host), "inspect": True}, **args)
    return action.run(task_vars={"inventory_hostname": "etcd-1"})


def test_the_snapshot_comes_to_the_controller_checked_by_its_sha256(action):
    dest = action.store / "etcd-snapshot-1.db"
    result = run(action, fetch_dest=str(dest))
    assert not result.get("failed"), result
    assert result["fetched"] == str(dest) and result["sha256"] == action.answer["sha256"]
    assert action.events == [("module", MODULE, {"dest": str(action.on_host), "inspect": True}),
                             ("fetched", str(action.on_host), str(action.store))]
    assert dest.read_bytes() == SAVED and stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert os.listdir(action.store) == ["etcd-snapshot-1.db"]


def test_a_copy_that_differs_is_refused_by_name_and_removed(action):
    action.on_host.write_bytes(SAVED[:-1] + b"!")  # altered on its way
    dest = action.store / "etcd-snapshot-1.db"
    result = run(action, fetch_dest=str(dest))
    assert result["failed"] is True
    assert result["msg"] == (
        "%s: the copy of %s from etcd-1 at %s has SHA-256 %s, the snapshot saved there %s: the copy was removed"
        % (MODULE, action.on_host, dest, hashlib.sha256(SAVED[:-1] + b"!").hexdigest(), action.answer["sha256"]))
    assert os.listdir(action.store) == []


def test_a_transfer_that_fails_leaves_nothing(action):
    def broken(src, dest):
        with open(dest, "wb") as handle:
            handle.write(b"half")
        raise AnsibleError("failed to transfer file to %s" % dest)

    action._connection.fetch_file = broken
    result = run(action, fetch_dest=str(action.store / "etcd-snapshot-1.db"))
    assert result["failed"] is True and result["msg"].startswith("%s: failed to transfer file to " % MODULE)
    assert os.listdir(action.store) == []


@pytest.mark.parametrize("case", ["no fetch_dest", "check mode", "module failed"])
def test_nothing_is_fetched_without_fetch_dest_in_check_mode_or_after_a_failure(action, case):
    args = {} if case == "no fetch_dest" else {"fetch_dest": str(action.store / "etcd-snapshot-1.db")}
    action._task.check_mode = case == "check mode"
    if case == "module failed":
        action.answer = {"failed": True, "msg": "cannot ask etcd for a snapshot"}
    result = run(action, **args)
    assert [event[0] for event in action.events] == ["module"]
    assert "fetch_dest" not in action.events[0][2] and "fetched" not in result
    assert os.listdir(action.store) == []
