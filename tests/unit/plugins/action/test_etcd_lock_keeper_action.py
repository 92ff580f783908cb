"""The etcd_lock_keeper action: on the controller (local connection, no become) the keeper is started
from this process, a refusal comes back as the module's, check mode starts nothing; anywhere else
the module runs."""

import os
import subprocess
import time

import pytest

from ansible_collections.raftops.etcd.plugins.action.etcd_lock_keeper import ActionModule
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import PkiDirBusy, lock_pki_dir, process_lives
from ansible_collections.raftops.etcd.tests.unit.plugins.action.in_process import controller_action


def holder(pid):
    return "ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid %d, started 2026-11-22T09:58:00Z" % pid


@pytest.fixture
def action(monkeypatch):
    return controller_action(ActionModule, monkeypatch)


@pytest.fixture
def run():
    """A process standing for the ansible-playbook run the keeper lives with."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def start(action, **args):
    action._task.args = args
    return action.run(task_vars={})


def wait_until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)
    return condition()


def test_on_the_controller_the_keeper_is_started_from_this_process_and_ends_with_the_run(action, run, tmp_path):
    pki = str(tmp_path / "pki")
    result = start(action, pid=run.pid, holder=holder(run.pid), pki_dir=pki, hold_pki_dir=True)
    assert result["changed"] is False and "failed" not in result, result
    assert result["msg"] == "%s held while pid %d runs" % (pki, run.pid)
    assert action.calls == []
    keeper = result["keeper_pid"]
    assert keeper != os.getpid() and process_lives(keeper)
    with pytest.raises(PkiDirBusy, match="is in use by"):
        lock_pki_dir(pki, holder(os.getpid()))
    # Another run is refused as the module refuses it, naming the run that holds the directory.
    refused = start(action, pid=os.getpid(), holder=holder(os.getpid()), pki_dir=pki, hold_pki_dir=True)
    assert refused["failed"] is True and refused["msg"] == (
        "etcd_pki_dir %s is in use by %s: wait for that run to finish; nothing was changed" % (pki, holder(run.pid)))
    run.kill()
    run.wait()
    assert wait_until(lambda: not process_lives(keeper))
    os.close(lock_pki_dir(pki, holder(os.getpid())))


def test_a_lease_that_cannot_be_renewed_fails_and_starts_no_keeper(action, run, tmp_path):
    pki = str(tmp_path / "pki")
    result = start(action, pid=run.pid, holder=holder(run.pid), pki_dir=pki, hold_pki_dir=True, tls=False,
                   lease_id="694d77aa9e38260f", endpoints=["http://127.0.0.1:9"], timeout=1,
                   auth_user="root", auth_password="s3cret-pw")
    assert result["failed"] is True and "keeper_pid" not in result
    assert result["msg"].startswith("the run lock's lease 694d77aa9e38260f cannot be renewed from this controller")
    assert "s3cret-pw" not in repr(result)
    # The directory this call held is free again.
    os.close(lock_pki_dir(pki, holder(os.getpid())))


def test_check_mode_starts_nothing(action, run, tmp_path):
    action._task.check_mode = True
    pki = str(tmp_path / "pki")
    result = start(action, pid=run.pid, holder=holder(run.pid), pki_dir=pki, hold_pki_dir=True)
    assert result["skipped"] is True and "keeper_pid" not in result
    assert not os.path.exists(pki + ".lock")


@pytest.mark.parametrize("args, says", [
    ({"pid": 1, "holder": "x", "colour": "blue"}, "colour"),
    ({"pid": "many", "holder": "x"}, "pid"),
    ({"pid": 2 ** 22 + 1, "holder": "x"}, "pid 4194305 runs no process: give the pid of this ansible-playbook run"),
])
def test_a_bad_option_is_refused(action, args, says):
    result = start(action, **args)
    assert result["failed"] is True and says in result["msg"]


@pytest.mark.parametrize("transport, become", [("ssh", False), ("local", True)])
def test_elsewhere_the_module_runs(action, transport, become):
    action._connection.transport = transport
    action._play_context.become = become
    assert start(action, pid=1, holder="x") == {"changed": False, "from": "module"}
    assert action.calls == [("raftops.etcd.etcd_lock_keeper", {"pid": 1, "holder": "x"})]


# -- the keeper's run and the role's options, filled by the action ----------------------------

ROLE_VARS = dict(etcd_tls=True, etcd_auto_tls=False, etcd_pki_managed=True, etcd_pki_dir="/ctl/pki",
                 etcd_run_lock_ttl=45, ansible_play_hosts=["h1"], ansible_play_name="Deploy etcd")


def filled(action, monkeypatch, task_vars=None, **args):
    """The arguments the module gets from the action (run as a module, elsewhere than here)."""
    action._connection.transport = "ssh"
    action._templar.template = lambda value: value
    monkeypatch.setattr("ansible_collections.raftops.etcd.plugins.action.etcd_lock_keeper.this_run",
                        lambda play: dict(pid=4242, holder=holder(4242)))
    action._task.args = args
    result = action.run(task_vars=dict(ROLE_VARS, **(task_vars or {})))
    return result, (action.calls[-1][1] if action.calls else None)


def test_without_pid_and_holder_the_keeper_lives_with_this_run(action, monkeypatch):
    _result, args = filled(action, monkeypatch, pki_dir="/p", hold_pki_dir=True)
    assert args == dict(pki_dir="/p", hold_pki_dir=True, pid=4242, holder=holder(4242))


def test_the_role_s_options_come_from_its_variables_and_the_task_s_own_win(action, monkeypatch):
    role = dict(lease_id="694d77aa9e38260f", hold_pki_dir=True, endpoints=["https://10.0.0.11:2379"])
    _result, args = filled(action, monkeypatch, role=role, interval=2)
    assert args == dict(hold_pki_dir=True, lease_id="694d77aa9e38260f", lock_key=None,
                        endpoints=["https://10.0.0.11:2379"], tls=True, tls_verify=True, interval=2, pki_dir="/ctl/pki",
                        client_pair="admin", pid=4242, holder=holder(4242))


@pytest.mark.parametrize("role, task_vars, message", [
    (dict(hold_pki_dir="perhaps"), {}, "role: "),
    (dict(colour="blue"), {}, "role: "),
    (dict(), dict(etcd_tls="maybe"), "etcd_tls must be true or false, got 'maybe'"),
    (dict(lease_id="1", members=[dict(host="h9", name="etcd-9")]), dict(etcd_pki_managed=False),
     "no member among the run's hosts (h1) whose server pair renews the lease"),
])
def test_a_bad_role_value_fails_before_the_module_runs(action, monkeypatch, role, task_vars, message):
    result, args = filled(action, monkeypatch, task_vars=task_vars, role=role)
    assert result["failed"] is True and result["msg"].startswith("raftops.etcd.etcd_lock_keeper: " + message)
    assert args is None


def test_a_role_variable_not_defined_is_named(action, monkeypatch):
    action._connection.transport = "ssh"
    action._task.args = dict(role={})
    result = action.run(task_vars=dict(ansible_play_hosts=["h1"]))
    assert result == dict(failed=True, changed=False, msg="raftops.etcd.etcd_lock_keeper: the role's variable "
                                                          "'etcd_tls' is not defined")
    assert action.calls == []


def test_the_role_with_nothing_to_keep_starts_no_keeper(action, run):
    action._templar.template = lambda value: value
    action._task.args = dict(role=dict(hold_pki_dir=True), pid=run.pid, holder=holder(run.pid))
    result = action.run(task_vars=dict(ROLE_VARS, etcd_pki_managed=False))
    assert result == dict(changed=False, msg="nothing to keep: no lease_id, and no PKI directory to hold")
