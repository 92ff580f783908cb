# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""An action that runs its module's code within ansible-playbook's own process when the task runs
on the controller (a local connection without become): work of a few milliseconds there would
otherwise pay for packaging the module and starting a Python with its imports, 0.3 to 0.5 s a task.
Any other task runs the module as usual."""

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.plugin_utils.arguments import task_params


class InProcessAction(ActionBase):
    """Subclasses name their ``MODULE`` and give ``argument_spec()`` and ``run_here(params, check_mode)``,
    which returns the module's result (``failed`` and ``msg`` for a failure); they may fill the
    module's arguments in ``module_args(task_vars)`` (a ValueError there fails the task with its message)."""

    MODULE = ""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            args = self.module_args(task_vars or {})
        except ValueError as exc:
            result.update(failed=True, changed=False, msg="%s: %s" % (self.MODULE, exc))
            return result
        if not (self.can_run_here() and self._runs_on_controller()):
            result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
            return result
        params = task_params(result, self.MODULE, self.argument_spec(), args)
        if params is None:
            return result
        answer = self.run_here(params, bool(self._task.check_mode))
        warnings = answer.pop("warnings", [])
        result.update(answer)
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        return result

    def module_args(self, task_vars):
        """The module's arguments: the task's."""
        del task_vars  # used by subclasses that fill arguments
        return self._task.args

    def can_run_here(self):
        """Whether this process has what the module's code needs."""
        return True

    def argument_spec(self):
        raise NotImplementedError

    def run_here(self, params, check_mode):
        raise NotImplementedError

    def _runs_on_controller(self):
        return self._connection.transport == "local" and not self._play_context.become
