# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""An action of plan steps made on the controller: its module's options name the step (``stage``)
and carry its ``settings``; each step is a method ``_<stage>(params, settings, task_vars)`` that
returns the step's answer."""

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.plugin_utils.arguments import task_params


class PlanAction(ActionBase):
    """Subclasses name their ``MODULE``, give ``argument_spec()`` and the steps, and may widen
    ``ERRORS`` (what a step raises that makes a refusal to plan, not a traceback) and override
    ``answer(result, plan, params)``."""

    TRANSFERS_FILES = False
    MODULE = ""
    ERRORS = (ValueError, KeyError, TypeError, AnsibleError)

    def argument_spec(self):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        params = task_params(result, self.MODULE, self.argument_spec(), self._task.args)
        if params is None:
            return result
        stage = params["stage"]
        try:
            plan = getattr(self, "_" + stage)(params, params["settings"], task_vars or {})
        except self.ERRORS as exc:
            result.update(failed=True, changed=False, msg="%s: cannot plan the %s step: %s" % (self.MODULE, stage, exc))
            return result
        return self.answer(result, plan, params)

    def answer(self, result, plan, params):
        """The task's result: the plan; failed with its refusal when the task asks to refuse, or with its
        message when a step that asked something failed (``failed`` in the plan)."""
        if plan.pop("failed", False) or (params["refuse"] and plan.get("refusal")):
            result.update(plan, failed=True, changed=False, msg=plan.get("msg") or plan["refusal"])
            return result
        result.update(plan, changed=False)
        return result
