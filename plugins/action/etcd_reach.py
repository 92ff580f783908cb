# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_reach: the first contact with a host, bounded on the controller
(plugins/plugin_utils/reach.py says why and how)."""

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.plugin_utils.reach import reach


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("timeout", "setting"))
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        host = (task_vars or {}).get("inventory_hostname") or "?"
        result.update(reach(self, self._task.args.get("timeout", 20), str(self._task.args.get("setting") or "timeout"), host))
        return result
