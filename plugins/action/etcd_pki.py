# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_pki: on the controller, the PKI is kept within this process.

The work itself (reading, checking and now and then signing a few certificates) takes
milliseconds; run as a module it paid for packaging the module, a new Python and its imports on
every run, about 0.4 s. So a task that runs on the controller (a local connection without become,
as the roles' PKI tasks do) runs the module's code here, with the module's options, check mode and
diff; any other task runs the module as usual.
"""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_pki_params import argument_spec
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_pki_present import run_pki
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_pki_x509 import HAS_CRYPTOGRAPHY, PkiError

MODULE = "raftops.etcd.etcd_pki"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        # Without cryptography here the module says what is missing.
        if not (HAS_CRYPTOGRAPHY and self._runs_on_controller()):
            result.update(self._execute_module(module_name=MODULE, module_args=self._task.args, task_vars=task_vars))
            return result
        validated = ArgumentSpecValidator(argument_spec()).validate(self._task.args)
        if validated.error_messages:
            result.update(failed=True, changed=False, msg="%s: %s" % (MODULE, "; ".join(validated.error_messages)))
            return result
        try:
            answer = run_pki(validated.validated_parameters, check_mode=bool(self._task.check_mode))
        except PkiError as exc:
            result.update(failed=True, changed=False, msg="%s: %s" % (MODULE, exc), problems=exc.problems)
            return result
        warnings = answer.pop("warnings", [])
        diff = answer.pop("diff", [])
        result.update(answer)
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        if self._task.diff and diff:
            result["diff"] = diff
        return result

    def _runs_on_controller(self):
        return self._connection.transport == "local" and not self._play_context.become
