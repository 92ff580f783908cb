# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""This ansible-playbook run as the run lock names it (plugins/module_utils/etcd_run_lock.py), read
on the controller by the actions of etcd_lock, etcd_lock_keeper and etcd_adopt_info. An action runs
in a worker process that ansible-playbook forked: its parent is the run."""

import os
import socket
import subprocess

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_run_lock import run_controller, run_holder, utcnow


def pgrep_runs():
    """``pgrep -f ansible-playbook``'s output; empty without pgrep (no run is then known dead)."""
    try:
        return subprocess.run(["pgrep", "-f", "ansible-playbook"], capture_output=True, check=False, text=True,
                              timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def this_controller(host=None, runs=pgrep_runs):
    """This controller as etcd_lock's ``controller`` takes it (host, run_pids), or None without
    pgrep. ``host`` and ``runs`` stand for what is read here when not given (the tests give them)."""
    return run_controller(socket.gethostname() if host is None else host, runs())


def this_run(play, environ=None, pid=None, host=None, started=None, runs=pgrep_runs):
    """dict(pid, holder, controller) of this run, the play ``play`` of it running. The other
    arguments stand for what is read here when not given (the tests give them)."""
    environ = os.environ if environ is None else environ
    pid = os.getppid() if pid is None else pid
    host = socket.gethostname() if host is None else host
    started = started or utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    holder = run_holder(play, host, environ.get("USER") or environ.get("LOGNAME"), pid, started)
    return dict(pid=pid, holder=holder, controller=this_controller(host, runs))


class RunLockAction(ActionBase):
    """An action that fills its module's arguments with this run before the module runs: subclasses
    name their ``MODULE`` and give ``fill(args, task_vars)``, which changes ``args`` in place (a
    ValueError there fails the task, naming ``WHAT`` it could not do)."""

    TRANSFERS_FILES = False
    MODULE = ""
    WHAT = ""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        args = dict(self._task.args)
        try:
            self.fill(args, task_vars or {})
        except (ValueError, AnsibleError) as exc:
            result.update(failed=True, changed=False, msg="%s: %s: %s" % (self.MODULE, self.WHAT, exc))
            return result
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        return result

    def fill(self, args, task_vars):
        raise NotImplementedError
