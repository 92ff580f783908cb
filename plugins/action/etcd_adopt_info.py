# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_adopt_info: a read of the run lock (run_lock_prefix, or the prefix of
the role's lock of run_lock_group's cluster) without controller is given this controller, found on the
controller as the run lock finds it (plugins/plugin_utils/run_lock.py), so that the lock of a run of
it that died reads dead."""

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_run_lock import run_lock_prefix
from ansible_collections.raftops.etcd.plugins.plugin_utils.run_lock import RunLockAction, this_controller


class ActionModule(RunLockAction):
    MODULE = "raftops.etcd.etcd_adopt_info"
    WHAT = "cannot read this controller"

    def fill(self, args, task_vars):
        del task_vars  # the controller is read here, not from the task
        group = args.pop("run_lock_group", None)
        if group and not args.get("run_lock_prefix"):
            # The role's own prefix (etcd_run_lock.run_lock_prefix), not written out again here.
            args["run_lock_prefix"] = run_lock_prefix(group)
        if args.get("run_lock_prefix") and args.get("controller") is None:
            controller = this_controller()
            if controller:
                args["controller"] = controller
