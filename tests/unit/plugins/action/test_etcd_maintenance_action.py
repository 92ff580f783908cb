"""The etcd_maintenance action: the module runs with the task's arguments, its answer is the task's,
and a defragmentation's msg is shown in the run's output (the space reclaimed, member by member);
no other action's, nor a failed or skipped one's."""

from unittest.mock import MagicMock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action import etcd_maintenance
from ansible_collections.raftops.etcd.plugins.action.etcd_maintenance import ActionModule, defragment_report

DONE = "etcd-b: defragmented in 2.40 s, 250.0 MiB given back (400.0 MiB -> 150.0 MiB)"


@pytest.mark.parametrize("args, result, shown", [
    (dict(action="defragment", member="etcd-b"), dict(changed=True, msg=DONE), DONE),
    (dict(action="defragment"), dict(changed=False, msg="etcd-b: free 1 MiB -> keep"), "etcd-b: free 1 MiB -> keep"),
    (dict(action="defragment"), dict(failed=True, msg="etcd-b: the defragmentation timed out"), None),
    (dict(action="defragment"), dict(skipped=True, msg="skipped"), None),
    (dict(action="defragment"), dict(changed=False), None),
    (dict(action="plan"), dict(changed=False, msg="3 members, none to defragment"), None),
    (dict(action="disarm"), dict(changed=True, msg="NOSPACE disarmed"), None),
])
def test_only_a_defragmentation_s_msg_is_shown(args, result, shown):
    assert defragment_report(args, result) == shown


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._execute_module = MagicMock(return_value=dict(changed=True, msg=DONE))
    module._remove_tmp_path = MagicMock()
    shown = []
    monkeypatch.setattr(etcd_maintenance.display, "display", lambda msg, *a, **kw: shown.append(msg))
    module.shown = shown
    return module


def test_the_module_runs_with_the_task_s_arguments_and_its_answer_is_the_task_s(action):
    action._task.args = dict(action="defragment", member="etcd-b", allow_leader=False)
    result = action.run(task_vars=dict(inventory_hostname="h0"))
    assert result == dict(changed=True, msg=DONE)
    action._execute_module.assert_called_once_with(module_name="raftops.etcd.etcd_maintenance",
                                                   module_args=action._task.args, task_vars=dict(inventory_hostname="h0"))
    assert action.shown == [DONE]
    action._remove_tmp_path.assert_called_once()


def test_another_action_shows_nothing(action):
    action._task.args = dict(action="plan")
    action._execute_module.return_value = dict(changed=False, msg="plan", members=[])
    assert action.run(task_vars={}) == dict(changed=False, msg="plan", members=[])
    assert action.shown == []
