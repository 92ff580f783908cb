# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_pki: on the controller, the PKI is kept within this process.

The work itself (reading, checking and now and then signing a few certificates) takes
milliseconds; run as a module it paid for packaging the module, a new Python and its imports on
every run, about 0.4 s. So a task that runs on the controller (a local connection without become,
as the roles' PKI tasks do) runs the module's code here, with the module's options, check mode and
diff; any other task runs the module as usual (plugin_utils/in_process.py).
"""

from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import argument_spec
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_pki
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import HAS_CRYPTOGRAPHY, PkiError
from ansible_collections.raftops.etcd.plugins.plugin_utils.in_process import InProcessAction


class ActionModule(InProcessAction):
    MODULE = "raftops.etcd.etcd_pki"

    def can_run_here(self):
        # Without cryptography here the module says what is missing.
        return HAS_CRYPTOGRAPHY

    def argument_spec(self):
        return argument_spec()

    def run_here(self, params, check_mode):
        try:
            answer = run_pki(params, check_mode=check_mode)
        except PkiError as exc:
            return dict(failed=True, changed=False, msg="%s: %s" % (self.MODULE, exc), problems=exc.problems)
        diff = answer.pop("diff", [])
        if self._task.diff and diff:
            answer["diff"] = diff
        return answer
