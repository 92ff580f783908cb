# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""This ansible-playbook run as the run lock names it (plugins/module_utils/etcd_run_lock.py), read
on the controller by the actions of etcd_lock, etcd_lock_keeper and etcd_adopt_info. An action runs
in a worker process that ansible-playbook forked: its parent is the run."""

import os
import socket
import subprocess

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
