# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_member_files: a host whose files are all as asked is not called.

With host_files, what etcd_host_info read of the host's paths earlier, a call that would change
nothing (every run after the first, for most members) is answered here. Anything else, or a doubt,
runs the module as without it (plugins/module_utils/etcd_member_files_state.py decides).
"""

from ansible.plugins.action import ActionBase
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_member_files_state import unchanged

MODULE = "raftops.etcd.etcd_member_files"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        args = dict(self._task.args)
        known = args.pop("host_files", None)
        if known and unchanged(known, args.get("directories") or [], args.get("files") or [],
                               args.get("private_files") or [], args.get("stage_dir"),
                               args.get("activate") or [], args.get("absent") or []):
            result.update(changed=False, changed_paths=[], staged_paths=[])
            if self._task.diff:
                result["diff"] = []
            return result
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result
