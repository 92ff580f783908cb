# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_adopt_info: a read of the run lock (run_lock_prefix) without
controller is given this controller, found on the controller as the run lock finds it
(plugins/plugin_utils/run_lock.py), so that the lock of a run of it that died reads dead."""

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.plugin_utils.run_lock import this_controller

MODULE = "raftops.etcd.etcd_adopt_info"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        args = dict(self._task.args)
        if args.get("run_lock_prefix") and args.get("controller") is None:
            controller = this_controller()
            if controller:
                args["controller"] = controller
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result
