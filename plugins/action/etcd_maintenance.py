# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_maintenance: the module runs as it would alone, and a defragmentation
it did or would do is reported in the run's output as each member is done (its msg: the member, the
time it took and the space reclaimed), and so is a hash check (the members' count, the revision and
the reference member, or why no hash was compared), without a register and a debug task after it."""

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

MODULE = "raftops.etcd.etcd_maintenance"

display = Display()


def shown_line(args, result):
    """The line to show for a module run with ``args`` that answered ``result``, or None: the msg of
    a defragmentation or a hash check (``no hash check: `` before it when the hash check was not
    made, unsupported), not of the other actions nor of one that failed or was skipped."""
    if args.get("action") not in ("defragment", "hash_check") or result.get("failed") or result.get("skipped"):
        return None
    if not result.get("msg"):
        return None
    return ("no hash check: " if result.get("unsupported") else "") + result["msg"]


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name=MODULE, module_args=self._task.args, task_vars=task_vars))
        # As ansible.builtin.normal does once the module answered.
        self._remove_tmp_path(self._connection._shell.tmpdir)
        line = shown_line(self._task.args, result)
        if line:
            display.display(line)
        return result
