# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_maintenance: the module runs as it would alone, and a defragmentation
it did or would do is reported in the run's output as each member is done (its msg: the member, the
time it took and the space reclaimed), without a register and a debug task after it."""

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

MODULE = "raftops.etcd.etcd_maintenance"

display = Display()


def defragment_report(args, result):
    """The line to show for a module run with ``args`` that answered ``result``, or None: the msg of
    a defragmentation, not of the other actions nor of one that failed or was skipped."""
    if args.get("action") != "defragment" or result.get("failed") or result.get("skipped"):
        return None
    return result.get("msg") or None


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name=MODULE, module_args=self._task.args, task_vars=task_vars))
        # As ansible.builtin.normal does once the module answered.
        self._remove_tmp_path(self._connection._shell.tmpdir)
        line = defragment_report(self._task.args, result)
        if line:
            display.display(line)
        return result
