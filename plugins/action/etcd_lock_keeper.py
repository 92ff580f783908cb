# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_lock_keeper: on the controller the keeper is started from this
process (plugin_utils/in_process.py). Run as a module, each of the role's two calls in a run paid
for packaging it and a new Python with its imports, about 0.3 s of CPU and 0.5 s each."""

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_lock_keeper import MODULE, argument_spec, start_keeper
from ansible_collections.raftops.etcd.plugins.plugin_utils.in_process import InProcessAction


class ActionModule(InProcessAction):
    MODULE = MODULE

    def argument_spec(self):
        return argument_spec()

    def run_here(self, params, check_mode):
        if check_mode:
            # As the module, which does not support check mode: it would start a process.
            return dict(skipped=True, changed=False, msg="%s starts a process: skipped in check mode" % MODULE)
        return start_keeper(params)
