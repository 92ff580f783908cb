# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_lock: a lock taken without a holder is this ansible-playbook run's,
named on the controller in the run lock's words (plugins/plugin_utils/run_lock.py), with this
controller for taking over the lock of one of its runs that died. What the task gives wins."""

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.plugin_utils.run_lock import this_run

MODULE = "raftops.etcd.etcd_lock"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        args = dict(self._task.args)
        if args.get("state", "acquired") == "acquired" and not args.get("holder"):
            try:
                run = this_run(self._templar.template((task_vars or {}).get("ansible_play_name") or ""))
            except (ValueError, AnsibleError) as exc:
                result.update(failed=True, changed=False, msg="%s: cannot name this run as the holder: %s" % (MODULE, exc))
                return result
            args["holder"] = run["holder"]
            if args.get("controller") is None and run["controller"]:
                args["controller"] = run["controller"]
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result
