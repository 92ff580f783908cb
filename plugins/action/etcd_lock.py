# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_lock: a lock taken without a holder is this ansible-playbook run's,
named on the controller in the run lock's words (plugins/plugin_utils/run_lock.py: its random run ID
and its machine). What the task gives wins."""

from ansible_collections.raftops.etcd.plugins.plugin_utils.run_lock import RunLockAction, this_run


class ActionModule(RunLockAction):
    MODULE = "raftops.etcd.etcd_lock"
    WHAT = "cannot name this run as the holder"

    def fill(self, args, task_vars):
        if args.get("state", "acquired") != "acquired" or args.get("holder"):
            return
        run = this_run(self._templar.template(task_vars.get("ansible_play_name") or ""))
        args["holder"] = run["holder"]
