"""Per-task wall time for `make bench`: the slowest tasks of a run, printed at its end, and how many
times the run called the roles' plan (the action raftops.etcd.etcd_plan: a call is a result of it)."""

import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_timer
type: aggregate
short_description: print the slowest tasks of a run
description: Records the wall time of every task and prints the slowest ones, then all in order, and the plan's calls, at the end of the run.
requirements: [enable in ansible.cfg or ANSIBLE_CALLBACKS_ENABLED]
"""


# The roles' plan action.
PLAN_ACTIONS = ("etcd_plan",)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._times = []
        self._current = None
        self._plan_calls = []

    def _count_plan_call(self, result):
        if result._task.action.split(".")[-1] in PLAN_ACTIONS:
            self._plan_calls.append(result._task.get_name())

    def v2_runner_on_ok(self, result):
        self._count_plan_call(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count_plan_call(result)

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
        self._display.display("plan calls: %d (%s)" % (len(self._plan_calls), "; ".join(self._plan_calls)))
        self._display.display("task timeline:")
        for seconds, name in self._times:
            self._display.display("  %6.2f s  %s" % (seconds, name))
