"""This run as the run lock names it (plugin_utils/run_lock.py: a random run ID made once per run and
the machine, not the host name and pid), and the actions that fill it in: etcd_lock's holder when the
task gives no holder, etcd_adopt_info's run lock prefix. What the task gives wins."""

import json
import os
import socket
import threading

import pytest

from ansible_collections.raftops.etcd.plugins.action import etcd_adopt_info, etcd_lock
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import parse_holder, same_run
from ansible_collections.raftops.etcd.plugins.plugin_utils import run_lock
from ansible_collections.raftops.etcd.tests.unit.plugins.action.in_process import controller_action

STARTED = "2026-11-22T09:58:00Z"
IDENTITY = dict(run="9f3c2a1b0e4d5c6f", started=STARTED)


@pytest.mark.parametrize("environ, user", [
    (dict(USER="alice", LOGNAME="al"), "alice"),
    (dict(LOGNAME="al"), "al"),
    ({}, "an unknown user"),
])
def test_this_run_names_the_user_host_pid_run_and_machine(environ, user):
    run = run_lock.this_run("Deploy etcd", environ=environ, pid=4242, host="ctl-a", identity=IDENTITY,
                            machine="1a2b3c4d5e6f7a8b")
    assert run == dict(pid=4242, holder=(
        "ansible-playbook (Deploy etcd) on ctl-a by %s, pid 4242, run 9f3c2a1b0e4d5c6f of machine 1a2b3c4d5e6f7a8b, "
        "started %s" % (user, STARTED)))


def test_this_run_reads_this_process_s_parent_host_run_and_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(run_lock.C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    run = run_lock.this_run("p")
    holder = parse_holder(run["holder"])
    assert run["pid"] == os.getppid() == holder["pid"]
    assert holder["host"] == socket.gethostname() and holder["started"].endswith("Z")
    assert holder["machine"] == run_lock.machine_of() and len(holder["run"]) == 16
    # every later action of the run names the same run, with the same start
    assert run_lock.this_run("p")["holder"] == run["holder"]
    assert json.loads((tmp_path / run_lock.RUN_FILE).read_text()) == dict(run=holder["run"], started=holder["started"])


def test_two_runs_on_controllers_with_one_host_name_and_one_pid_are_two_runs(tmp_path):
    # Cloned machines or CI containers: one host name, the same pid, even one machine ID; each run
    # makes its own random ID in its own temporary directory.
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    holders = [run_lock.this_run("p", environ={}, pid=7, host="ci", identity=run_lock.run_identity(str(where)),
                                 machine="unknown")["holder"] for where in (first, second)]
    assert holders[0] != holders[1] and not same_run(*holders)


def test_the_run_id_is_made_once_when_workers_ask_at_once(tmp_path):
    found = []
    threads = [threading.Thread(target=lambda: found.append(run_lock.run_identity(str(tmp_path)))) for _thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and all(identity == found[0] for identity in found)
    assert sorted(os.listdir(tmp_path)) == [run_lock.RUN_FILE]


def test_the_machine_is_a_keyed_hash_of_the_machine_id_never_the_id_itself(tmp_path):
    machine_id = tmp_path / "machine-id"
    machine_id.write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    machine = run_lock.machine_of([str(tmp_path / "missing"), str(machine_id)])
    assert len(machine) == 16 and machine not in "3d1219c7c4c5404aaa1f6d2a48adfda4"
    assert run_lock.machine_of([str(tmp_path / "missing")]) == "unknown"


def test_this_run_refuses_a_host_name_it_could_not_read_back():
    with pytest.raises(ValueError, match="the controller's host name must be one word, got 'ctl a'"):
        run_lock.this_run("p", environ={}, pid=1, host="ctl a", identity=IDENTITY, machine="m")


# -- the actions ------------------------------------------------------------------------------


@pytest.fixture
def lock_action(monkeypatch):
    action = controller_action(etcd_lock.ActionModule, monkeypatch)
    action._templar.template = lambda value: value.replace("{{ env }}", "prod")
    monkeypatch.setattr(etcd_lock, "this_run", lambda play: dict(
        pid=4242, holder="ansible-playbook (%s) on ctl-a by alice, pid 4242, started %s" % (play, STARTED)))
    return action


def lock(action, **args):
    action._task.args = args
    return action.run(task_vars=dict(ansible_play_name="Deploy {{ env }}"))


def test_a_lock_taken_without_holder_is_this_run_s_and_no_process_list_goes_with_it(lock_action):
    assert lock(lock_action, name="run", prefix="/raftops/etcd/") == {"changed": False, "from": "module"}
    assert lock_action.calls == [("raftops.etcd.etcd_lock", dict(
        name="run", prefix="/raftops/etcd/",
        holder="ansible-playbook (Deploy prod) on ctl-a by alice, pid 4242, started %s" % STARTED))]


@pytest.mark.parametrize("args", [
    dict(name="m", holder="schema migration by alice"),
    dict(name="m", state="released", lease_id="694d77aa9e38260f"),
    dict(name="m", state="released"),
])
def test_a_holder_given_or_a_release_is_left_as_the_task_gives_it(lock_action, args):
    lock(lock_action, **args)
    assert lock_action.calls == [("raftops.etcd.etcd_lock", args)]


def test_a_controller_given_is_passed_on_as_given(lock_action):
    # The module ignores it (kept so that tasks that give it still run).
    given = dict(host="ctl-b", run_pids=[1])
    lock(lock_action, name="run", controller=given)
    assert lock_action.calls[-1][1]["controller"] == given


def test_a_run_that_cannot_be_named_fails_before_the_module_runs(lock_action, monkeypatch):
    def unnamed(play):
        raise ValueError("the controller's host name must be one word, got ''")
    monkeypatch.setattr(etcd_lock, "this_run", unnamed)
    result = lock(lock_action, name="run")
    assert result == dict(failed=True, changed=False, msg="raftops.etcd.etcd_lock: cannot name this run as the holder: "
                                                          "the controller's host name must be one word, got ''")
    assert lock_action.calls == []


@pytest.fixture
def adopt_action(monkeypatch):
    return controller_action(etcd_adopt_info.ActionModule, monkeypatch)


@pytest.mark.parametrize("args", [
    dict(run_lock_prefix="/raftops/etcd/"),
    dict(run_lock_prefix="/raftops/etcd/", controller=dict(host="ctl-b", run_pids=[1])),
    dict(data_dir="/var/lib/etcd"),
])
def test_the_adoption_s_read_of_the_run_lock_gets_no_process_list(adopt_action, args):
    adopt_action._task.args = args
    adopt_action.run(task_vars={})
    assert adopt_action.calls == [("raftops.etcd.etcd_adopt_info", args)]


@pytest.mark.parametrize("args, prefix", [
    # The group's cluster: the role's own prefix of its run lock (the role's host settings give the same).
    (dict(run_lock_group="prod"), "/raftops/prod/"),
    # A prefix given wins.
    (dict(run_lock_group="prod", run_lock_prefix="/other/"), "/other/"),
])
def test_the_adoption_s_read_of_a_group_s_run_lock_has_the_role_s_prefix(adopt_action, args, prefix):
    adopt_action._task.args = args
    adopt_action.run(task_vars={})
    (module, sent), = adopt_action.calls
    assert module == "raftops.etcd.etcd_adopt_info"
    assert sent == dict(run_lock_prefix=prefix)
