# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""An action that may answer from what raftops.etcd.etcd_host_info read of the host earlier: when
that read shows that the module would change nothing, the host is spared the call (a module call
costs about 0.25 s even when it does nothing). Otherwise, or without the read, the module runs as
usual; the option that carries the read is never passed to it."""

from ansible.plugins.action import ActionBase


class HostReadAction(ActionBase):
    """Subclasses name their ``MODULE`` and ``READ_OPTION`` and give ``answer(read, args)``: the
    result when ``read`` shows nothing to change, else None. ``call_host(args, read, task_vars)``
    runs the module; a subclass that sends something with the call overrides it."""

    MODULE = ""
    READ_OPTION = ""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        read = args.pop(self.READ_OPTION, None)
        answer = self.answer(read, args) if read else None
        result.update(answer if answer is not None else self.call_host(args, read, task_vars))
        return result

    def answer(self, read, args):
        raise NotImplementedError

    def call_host(self, args, read, task_vars):
        del read  # what the host is asked does not depend on it here
        return self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
