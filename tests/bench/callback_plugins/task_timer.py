"""Per-task wall time for `make bench`: the slowest tasks of a run, printed at its end."""

import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_timer
type: aggregate
short_description: print the slowest tasks of a run
description: Records the wall time of every task and prints the slowest ones, then all in order, at the end of the run.
requirements: [enable in ansible.cfg or ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._times = []
        self._current = None

    def _close(self):
        if self._current:
            name, started = self._current
            self._times.append((time.monotonic() - started, name))
            self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._current = (task.get_name(), time.monotonic())

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_stats(self, stats):
        self._close()
        total = sum(seconds for seconds, _name in self._times)
        self._display.display("task profile: %d tasks, %.1f s in tasks; slowest:" % (len(self._times), total))
        for seconds, name in sorted(self._times, reverse=True)[:12]:
            self._display.display("  %6.2f s  %s" % (seconds, name))
        self._display.display("task timeline:")
        for seconds, name in self._times:
            self._display.display("  %6.2f s  %s" % (seconds, name))
