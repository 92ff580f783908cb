# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""This ansible-playbook run as the run lock names it (plugins/module_utils/lock/run_lock.py), read
on the controller by the actions of etcd_lock and etcd_lock_keeper. An action runs in a worker
process that ansible-playbook forked: its parent is the run.

A run is named by a random ID and its machine, not by its host name and pid (two controllers with
one host name, cloned machines or CI containers, would name each other's runs): the ID is made once
per run, in the private temporary directory ansible-core makes for each ansible-playbook process at
its start (DEFAULT_LOCAL_TMP, which its workers inherit and which goes with the run), and read there
by every later action of the run. The machine is a hash of /etc/machine-id keyed for this use (the
ID itself is not to be shown: machine-id(5))."""

import hashlib
import json
import os
import secrets
import socket

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import run_holder, utcnow

RUN_FILE = "raftops-etcd-run.json"
MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def machine_of(paths=MACHINE_ID_FILES):
    """This machine as the run lock names it: 16 hex digits of a hash of its machine ID, or
    ``unknown`` without one (the run's random ID still tells runs apart)."""
    for path in paths:
        try:
            with open(path, "rb") as source:
                machine_id = source.read().strip()
        except OSError:
            continue
        if machine_id:
            return hashlib.sha256(b"raftops.etcd run lock\0" + machine_id).hexdigest()[:16]
    return "unknown"


def run_identity(directory=None):
    """dict(run, started) of this ansible-playbook run: made by its first call in ``directory``
    (this run's private temporary directory), read back by every later one."""
    directory = directory or C.DEFAULT_LOCAL_TMP
    path = os.path.join(directory, RUN_FILE)
    try:
        return _read_identity(path)
    except FileNotFoundError:
        pass
    made = dict(run=secrets.token_hex(8), started=utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
    part = os.path.join(directory, ".%s.%s" % (RUN_FILE, secrets.token_hex(4)))
    with open(part, "x", encoding="utf-8") as out:
        json.dump(made, out)
    try:
        # Two workers at once: the first link wins, and both read what it wrote, whole.
        os.link(part, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(part)
    return _read_identity(path)


def _read_identity(path):
    with open(path, encoding="utf-8") as source:
        found = json.load(source)
    if not (isinstance(found, dict) and isinstance(found.get("run"), str) and isinstance(found.get("started"), str)):
        raise ValueError("%s does not name this run" % path)
    return found


def this_run(play, environ=None, pid=None, host=None, identity=None, machine=None):
    """dict(pid, holder) of this run, the play ``play`` of it running. The other arguments stand for
    what is read here when not given (the tests give them): ``identity`` is run_identity's."""
    environ = os.environ if environ is None else environ
    pid = os.getppid() if pid is None else pid
    host = socket.gethostname() if host is None else host
    identity = identity or run_identity()
    machine = machine or machine_of()
    holder = run_holder(play, host, environ.get("USER") or environ.get("LOGNAME"), pid, identity["started"],
                        identity["run"], machine)
    return dict(pid=pid, holder=holder)


class RunLockAction(ActionBase):
    """An action that fills its module's arguments with this run before the module runs: subclasses
    name their ``MODULE`` and give ``fill(args, task_vars)``, which changes ``args`` in place (a
    ValueError there fails the task, naming ``WHAT`` it could not do)."""

    MODULE = ""
    WHAT = ""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            self.fill(args, task_vars or {})
        except (ValueError, OSError, AnsibleError) as exc:
            result.update(failed=True, changed=False, msg="%s: %s: %s" % (self.MODULE, self.WHAT, exc))
            return result
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        return result

    def fill(self, args, task_vars):
        raise NotImplementedError
