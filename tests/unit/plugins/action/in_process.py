"""What the tests of the in-process actions (plugin_utils/in_process.py) share: an action set up
as on the controller (local connection, no become), whose module runs are recorded instead."""

from unittest.mock import MagicMock

from ansible.plugins.action import ActionBase


def controller_action(action_class, monkeypatch):
    """An ``action_class`` on the controller; ``calls`` lists the (module, args) it ran as a module,
    each answered with ``{"changed": False, "from": "module"}``."""
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    action = action_class(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    action._connection.transport = "local"
    action._play_context.become = False
    action._task.check_mode = False
    action._task.diff = False
    action.calls = []

    def execute_module(module_name, module_args, task_vars):
        action.calls.append((module_name, module_args))
        return {"changed": False, "from": "module"}
    action._execute_module = execute_module
    return action
