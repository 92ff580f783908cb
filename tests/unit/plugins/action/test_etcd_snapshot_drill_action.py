"""The etcd_snapshot_drill action: with remote_src false the controller's snapshot is copied into the
task's private temporary directory on the host, the module drills that copy, and the directory is
removed on every path; otherwise, and in check mode, the module runs as given."""

from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_snapshot_drill import ActionModule

MODULE = "raftops.etcd.etcd_snapshot_drill"
TMP = "/root/.ansible/tmp/ansible-tmp-1-2"


@pytest.fixture
def action(monkeypatch, tmp_path):
    """The action, its host's temporary directory TMP; ``events`` lists what it did there, in order."""
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._task.check_mode = False
    module._connection._shell.tmpdir = TMP
    module._connection._shell.join_path = lambda *parts: "/".join(parts)
    module.snapshot = tmp_path / "etcd-snapshot-1.db"
    module.snapshot.write_bytes(b"snapshot")
    module.events = []

    def find_needle(dirname, needle):
        if not needle.startswith("/"):
            raise AnsibleError("could not find %s" % needle)
        return needle

    def execute_module(module_name, module_args, task_vars):
        module.events.append(("module", module_name, module_args))
        return module.answer

    def remove(path, force=False):
        module.events.append(("removed", path, force))
        module._connection._shell.tmpdir = None

    module._find_needle = find_needle
    module._transfer_file = lambda local, remote: module.events.append(("copied", local, remote))
    module._fixup_perms2 = lambda paths: module.events.append(("perms", tuple(paths)))
    module._remove_tmp_path = remove
    module._execute_module = execute_module
    module.answer = {"changed": False, "revision": 7}
    return module


def run(action, **args):
    action._task.args = dict({"src": str(action.snapshot), "etcd_path": "/opt/etcd/bin/etcd"}, **args)
    return action.run(task_vars={"inventory_hostname": "drill-host"})


def test_a_controller_snapshot_is_copied_privately_drilled_and_removed(action):
    result = run(action, remote_src=False, label="the backup on drill-host")
    assert result == {"changed": False, "revision": 7}
    copy = TMP + "/snapshot.db"
    assert action.events == [
        ("copied", str(action.snapshot), copy),
        ("perms", (TMP, copy)),
        ("module", MODULE, {"src": copy, "etcd_path": "/opt/etcd/bin/etcd", "label": "the backup on drill-host"}),
        ("removed", TMP, True),
    ]


def test_without_a_label_the_failure_names_the_controllers_snapshot_not_its_copy(action):
    run(action, remote_src="no")
    assert action.events[2][2]["label"] == str(action.snapshot)


def test_the_copy_is_removed_when_the_drill_fails_on_the_way(action):
    def broken(module_name, module_args, task_vars):
        raise AnsibleError("the connection broke")
    action._execute_module = broken
    with pytest.raises(AnsibleError):
        run(action, remote_src=False)
    assert action.events[-1] == ("removed", TMP, True)


def test_by_default_and_in_check_mode_the_module_runs_as_given_and_nothing_is_copied(action):
    assert run(action) == {"changed": False, "revision": 7}
    action._task.check_mode = True
    run(action, remote_src=False)
    assert [event[0] for event in action.events] == ["module", "module"]
    assert action.events[1][2] == {"src": str(action.snapshot), "etcd_path": "/opt/etcd/bin/etcd"}


@pytest.mark.parametrize("args, says", [
    ({"src": "/no/such/snapshot.db", "remote_src": False},
     "raftops.etcd.etcd_snapshot_drill: src /no/such/snapshot.db is no file on the controller; nothing was copied to "
     "drill-host"),
    ({"src": "relative.db", "remote_src": False},
     "raftops.etcd.etcd_snapshot_drill: src relative.db is no file on the controller; nothing was copied to drill-host"),
    ({"remote_src": "perhaps"}, "raftops.etcd.etcd_snapshot_drill: remote_src: "),
])
def test_a_bad_source_is_refused_and_the_host_not_touched(action, args, says):
    result = run(action, **args)
    assert result["failed"] is True and result["changed"] is False and result["msg"].startswith(says), result
    assert action.events == []


def test_the_result_names_the_controllers_snapshot_it_drilled_not_its_copy(action):
    action.answer = {"changed": False, "src": TMP + "/snapshot.db", "revision": 7}
    result = run(action, remote_src=False)
    assert result == {"changed": False, "src": str(action.snapshot), "revision": 7}
