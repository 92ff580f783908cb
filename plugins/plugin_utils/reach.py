# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The first contact with a host, bounded on the controller: the actions of raftops.etcd.etcd_reach and
of raftops.etcd.etcd_host_info (option contact_timeout) reach a host here.

An SSH client that goes through a ControlPersist master whose host died asks the master for a session
and waits; the master waits on TCP (retransmissions, many minutes) unless it was started with
ServerAliveInterval. ConnectTimeout does not apply (the connection is there) and the client's own
keepalive options do not either (the master keeps the connection). So the bound is kept here, around
the connection's call: on the worker's main thread by SIGALRM, which interrupts the connection's wait
as the task keyword ``timeout`` does, else by a thread. A host that does not answer within it is
reported unreachable, as the connection reports one it cannot reach, and the SSH client the call left
waiting is ended."""

import os
import signal
import threading
import time

from ansible_collections.raftops.etcd.plugins.module_utils.plan.settings import FIRST_CONTACT_TEXT, MAX_FIRST_CONTACT, show, whole_number
from ansible_collections.raftops.etcd.plugins.module_utils.host.values import integer

COMMAND = "true"
# The children a call that was cut short may leave waiting: the SSH client (sshpass's too).
CLIENTS = ("ssh", "sshpass")


class _NoAnswer(BaseException):
    """The bound passed (a BaseException, as the task timeout's: no ``except Exception`` keeps it)."""


def bounded(call, seconds):
    """``(True, call())``, or ``(False, None)`` when ``call`` did not return within ``seconds``; what it
    raises is raised."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None):
        return _by_alarm(call, seconds)
    return _by_thread(call, seconds)


def _by_alarm(call, seconds):
    def on_alarm(_signum, _frame):
        raise _NoAnswer()

    signal.signal(signal.SIGALRM, on_alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return True, call()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _NoAnswer:
        return False, None
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def _by_thread(call, seconds):
    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as e:  # handed to the caller, whatever it is
            outcome["error"] = e

    worker = threading.Thread(target=target, name="etcd_reach", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        return False, None
    if "error" in outcome:
        raise outcome["error"]
    return True, outcome.get("value")


def _children():
    """{pid: command name} of this process's children (Linux's /proc; none elsewhere)."""
    found, me = {}, os.getpid()
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return found
    for entry in entries:
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: the command name may hold spaces and parentheses.
        name, _paren, rest = stat.partition("(")[2].rpartition(")")
        fields = rest.split()
        if len(fields) > 1 and fields[1] == str(me):
            found[int(entry)] = name
    return found


def end_clients(before):
    """End the SSH clients among this process's children that were not there ``before``; their pids."""
    ended = []
    for pid, name in _children().items():
        if pid not in before and name in CLIENTS:
            try:
                os.kill(pid, signal.SIGTERM)
                ended.append(pid)
            except OSError:
                pass
    return ended


def reach(action, timeout, setting, host):
    """Reach the host of ``action`` (an action plugin, over its connection) with one command within
    ``timeout`` seconds. Returns the result: failed for a bound that bounds nothing (``setting`` names
    it) or a command that failed, unreachable (naming the host and the bound) when the host did not
    answer in time, else ``{"changed": False, "seconds": ...}``. A connection failure (refused, no route,
    a failed login) is raised as the connection raises it: unreachable as without the bound."""
    if whole_number(1, MAX_FIRST_CONTACT)(timeout, {}):
        return dict(failed=True, changed=False, msg="host %s: %s=%s: %s; no host was reached"
                    % (host, setting, show(timeout), FIRST_CONTACT_TEXT))
    seconds = integer(timeout)
    before = _children()
    started = time.monotonic()
    answered, answer = bounded(lambda: action._low_level_execute_command(COMMAND, sudoable=False), seconds)
    if not answered:
        end_clients(before)
        return dict(unreachable=True, changed=False, msg=(
            "host %s did not answer within %d s (%s): a dead or cut-off host, for which its SSH connection (a "
            "ControlPersist master left open, or a long ConnectTimeout) would have waited longer; it is left out "
            "of this run as unreachable. If it is alive on a slow link, raise %s"
            % (host, seconds, setting, setting)))
    if answer.get("rc") != 0:
        return dict(failed=True, changed=False, msg="host %s: '%s' over its connection ended with %s: %s"
                    % (host, COMMAND, answer.get("rc"), (answer.get("stderr") or answer.get("stdout") or "").strip()))
    return dict(changed=False, seconds=round(time.monotonic() - started, 3))
