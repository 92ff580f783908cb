# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_adopt_info: a read of the run lock of run_lock_group's cluster is given
the prefix of the role's lock (etcd_run_lock.run_lock_prefix). A lock reads dead when its run's keeper
recorded that the run ended (plugins/module_utils/lock/run_lock.py), whatever controller reads it."""

from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import run_lock_prefix
from ansible_collections.raftops.etcd.plugins.plugin_utils.run_lock import RunLockAction


class ActionModule(RunLockAction):
    MODULE = "raftops.etcd.etcd_adopt_info"
    WHAT = "cannot name the run lock's prefix"

    def fill(self, args, task_vars):
        del task_vars  # the prefix comes from the task alone
        group = args.pop("run_lock_group", None)
        if group and not args.get("run_lock_prefix"):
            # The role's own prefix (etcd_run_lock.run_lock_prefix), not written out again here.
            args["run_lock_prefix"] = run_lock_prefix(group)
