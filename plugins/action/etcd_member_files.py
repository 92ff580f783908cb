# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_member_files: a host whose files are all as asked is not called.

With host_files, what etcd_host_info read of the host's paths earlier, a call that would change
nothing (every run after the first, for most members) is answered here. Anything else, or a doubt,
runs the module as without it (plugins/module_utils/etcd_member_files_state.py decides).
"""

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_member_files_state import unchanged
from ansible_collections.raftops.etcd.plugins.plugin_utils.host_read import HostReadAction


class ActionModule(HostReadAction):
    MODULE = "raftops.etcd.etcd_member_files"
    READ_OPTION = "host_files"

    def answer(self, read, args):
        if not unchanged(read, args.get("directories") or [], args.get("files") or [], args.get("private_files") or [],
                         args.get("stage_dir"), args.get("activate") or [], args.get("absent") or []):
            return None
        result = dict(changed=False, changed_paths=[], staged_paths=[], restart_needed=False)
        if self._task.diff:
            result["diff"] = []
        return result
