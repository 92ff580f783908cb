# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_snapshot_store: the backup's directory on the controller is kept
within this process (plugin_utils/in_process.py): a few file operations, where starting the module
would cost about 0.5 s."""

from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_store import MODULE, argument_spec, store_result
from ansible_collections.raftops.etcd.plugins.plugin_utils.in_process import InProcessAction


class ActionModule(InProcessAction):
    MODULE = MODULE

    def argument_spec(self):
        return argument_spec()

    def run_here(self, params, check_mode):
        return store_result(params, check_mode=check_mode)
