"""The etcd_reach action: one command over the host's connection within the bound; a host that does not
answer in time is unreachable, named with the bound, and the SSH client left waiting is ended; any other
answer is as without the bound."""

import subprocess
import threading
import time

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.raftops.etcd.plugins.action.etcd_reach import ActionModule
from ansible_collections.raftops.etcd.plugins.plugin_utils import reach
from ansible_collections.raftops.etcd.plugins.plugin_utils.reach import bounded, end_clients
from ansible_collections.raftops.etcd.tests.unit.plugins.action.in_process import controller_action

TASK_VARS = dict(inventory_hostname="10.0.0.13")


@pytest.fixture
def action(monkeypatch):
    action = controller_action(ActionModule, monkeypatch)
    action.commands = []
    action.answer = lambda: dict(rc=0, stdout="", stderr="")

    def low_level(cmd, sudoable=True, **_kwargs):
        action.commands.append((cmd, sudoable))
        return action.answer()
    action._low_level_execute_command = low_level
    return action


def run(action, **args):
    action._task.args = args
    return action.run(task_vars=dict(TASK_VARS))


def test_a_host_that_answers_is_reached_with_one_command_and_no_become(action):
    result = run(action, timeout=20, setting="etcd_first_contact_timeout")
    assert action.commands == [("true", False)]
    assert not result.get("unreachable") and not result.get("failed") and result["changed"] is False
    assert 0 <= result["seconds"] < 5


def test_a_host_that_does_not_answer_in_time_is_unreachable_named_with_the_bound(action):
    action.answer = lambda: time.sleep(30)
    started = time.monotonic()
    result = run(action, timeout=1, setting="etcd_first_contact_timeout")
    assert time.monotonic() - started < 5
    assert result["unreachable"] is True and not result.get("failed")
    assert result["msg"].startswith("host 10.0.0.13 did not answer within 1 s (etcd_first_contact_timeout): ")
    assert "raise etcd_first_contact_timeout" in result["msg"]


def test_a_connection_failure_is_raised_as_without_the_bound(action):
    def refused():
        raise AnsibleConnectionFailure("ssh: connect to host 10.0.0.13 port 22: Connection refused")
    action.answer = refused
    with pytest.raises(AnsibleConnectionFailure, match="Connection refused"):
        run(action, timeout=20)


def test_a_command_that_fails_is_a_failure_naming_the_host(action):
    action.answer = lambda: dict(rc=126, stdout="", stderr="/bin/sh: permission denied")
    result = run(action, timeout=20)
    assert result["failed"] is True and not result.get("unreachable")
    assert result["msg"] == "host 10.0.0.13: 'true' over its connection ended with 126: /bin/sh: permission denied"


@pytest.mark.parametrize("timeout", [0, -1, 601, "20s", None, True])
def test_a_bound_that_bounds_nothing_is_refused_before_any_host_is_reached(action, timeout):
    result = run(action, timeout=timeout, setting="etcd_first_contact_timeout")
    assert result["failed"] is True and action.commands == []
    assert result["msg"].startswith("host 10.0.0.13: etcd_first_contact_timeout=")
    assert result["msg"].endswith(": a whole number of seconds from 1 to 600; no host was reached")


def test_the_bound_holds_off_the_main_thread_too():
    outcome = {}

    def off_main():
        started = time.monotonic()
        outcome["late"] = bounded(lambda: time.sleep(30), 1)
        outcome["took"] = time.monotonic() - started
        outcome["in_time"] = bounded(lambda: "answer", 5)
    worker = threading.Thread(target=off_main)
    worker.start()
    worker.join(10)
    assert outcome == dict(late=(False, None), took=pytest.approx(1, abs=1), in_time=(True, "answer"))


def test_on_the_main_thread_the_alarm_is_put_back_as_it_was():
    import signal
    assert bounded(lambda: "answer", 5) == (True, "answer")
    assert bounded(lambda: time.sleep(5), 1) == (False, None)
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_only_the_clients_started_since_are_ended(monkeypatch):
    monkeypatch.setattr(reach, "CLIENTS", ("sleep",))
    older = subprocess.Popen(["sleep", "30"])
    try:
        before = reach._children()
        waiting = subprocess.Popen(["sleep", "30"])
        other = subprocess.Popen(["tail", "-f", "/dev/null"])
        assert end_clients(before) == [waiting.pid]
        assert waiting.wait(timeout=5) < 0
        assert older.poll() is None and other.poll() is None
    finally:
        for process in (older, waiting, other):
            process.kill()
            process.wait()
