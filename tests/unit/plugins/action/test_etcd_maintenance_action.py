"""The etcd_maintenance action: the module runs with the task's arguments, its answer is the task's,
and a defragmentation's msg is shown in the run's output (the space reclaimed, member by member), and
a hash check's (or why it compared nothing); no other action's, nor a failed or skipped one's."""

from unittest.mock import MagicMock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action import etcd_maintenance
from ansible_collections.raftops.etcd.plugins.action.etcd_maintenance import ActionModule, shown_line

AGREE = "the KV hashes of 3 members agree at revision 37 (hash 1234)"
OLD = "m0 does not serve HashKV at http://10.0.0.1:2379: the hash check needs etcd 3.5.10 or later"
DONE = "etcd-b: defragmented in 2.40 s, 250.0 MiB given back (400.0 MiB -> 150.0 MiB)"


@pytest.mark.parametrize("args, result, shown", [
    (dict(action="defragment", member="etcd-b"), dict(changed=True, msg=DONE), DONE),
    (dict(action="defragment"), dict(changed=False, msg="etcd-b: free 1 MiB -> keep"), "etcd-b: free 1 MiB -> keep"),
    (dict(action="defragment"), dict(failed=True, msg="etcd-b: the defragmentation timed out"), None),
    (dict(action="defragment"), dict(skipped=True, msg="skipped"), None),
    (dict(action="defragment"), dict(changed=False), None),
    (dict(action="plan"), dict(changed=False, msg="3 members, none to defragment"), None),
    (dict(action="disarm"), dict(changed=True, msg="NOSPACE disarmed"), None),
    (dict(action="hash_check"), dict(changed=False, msg=AGREE), AGREE),
    (dict(action="hash_check", fail_on_unsupported=False), dict(changed=False, unsupported=True, msg=OLD),
     "no hash check: " + OLD),
    (dict(action="hash_check"), dict(failed=True, unsupported=True, msg=OLD), None),
    (dict(action="hash_check"), dict(failed=True, msg="the keyspace of m1 differs from the majority's"), None),
])
def test_only_a_defragmentation_s_or_a_hash_check_s_msg_is_shown(args, result, shown):
    assert shown_line(args, result) == shown


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
