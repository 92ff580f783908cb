"""This run as the run lock names it (plugin_utils/run_lock.py), and the actions that fill it in:
etcd_lock's holder and controller when the task gives no holder, etcd_adopt_info's controller
with a read of the run lock. What the task gives wins."""

import os
import socket

import pytest

from ansible_collections.raftops.etcd.plugins.action import etcd_adopt_info, etcd_lock
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_run_lock import parse_holder
from ansible_collections.raftops.etcd.plugins.plugin_utils import run_lock
from ansible_collections.raftops.etcd.tests.unit.plugins.action.in_process import controller_action

STARTED = "2026-11-22T09:58:00Z"


@pytest.mark.parametrize("environ, user", [
    (dict(USER="alice", LOGNAME="al"), "alice"),
    (dict(LOGNAME="al"), "al"),
    ({}, "an unknown user"),
])
def test_this_run_names_the_user_host_pid_and_time(environ, user):
    run = run_lock.this_run("Deploy etcd", environ=environ, pid=4242, host="ctl-a", started=STARTED,
                            runs=lambda: "4242\n99\n")
    assert run == dict(pid=4242, controller=dict(host="ctl-a", run_pids=[99, 4242]), holder=(
        "ansible-playbook (Deploy etcd) on ctl-a by %s, pid 4242, started %s" % (user, STARTED)))


def test_this_run_reads_this_process_s_parent_and_host_and_the_time_now():
    run = run_lock.this_run("p", runs=lambda: "")
    holder = parse_holder(run["holder"])
    assert run["pid"] == os.getppid() == holder["pid"] and run["controller"] is None
    assert holder["host"] == socket.gethostname() and holder["started"].endswith("Z")


def test_this_run_refuses_a_host_name_it_could_not_read_back():
    with pytest.raises(ValueError, match="the controller's host name must be one word, got 'ctl a'"):
        run_lock.this_run("p", environ={}, pid=1, host="ctl a", started=STARTED, runs=lambda: "")


def test_this_controller_finds_this_process_among_the_runs_pgrep_lists(monkeypatch):
    monkeypatch.setattr(run_lock.subprocess, "run", lambda *a, **k: type("Done", (), dict(stdout="%d\n" % os.getpid())))
    assert run_lock.this_controller() == dict(host=socket.gethostname(), run_pids=[os.getpid()])


def test_without_pgrep_no_run_is_known_dead(monkeypatch):
    def missing(*_args, **_kwargs):
        raise FileNotFoundError("pgrep")
    monkeypatch.setattr(run_lock.subprocess, "run", missing)
    assert run_lock.pgrep_runs() == "" and run_lock.this_controller(host="ctl-a") is None


# -- the actions ------------------------------------------------------------------------------


@pytest.fixture
def lock_action(monkeypatch):
    action = controller_action(etcd_lock.ActionModule, monkeypatch)
    action._templar.template = lambda value: value.replace("{{ env }}", "prod")
    monkeypatch.setattr(etcd_lock, "this_run", lambda play: dict(
        pid=4242, controller=dict(host="ctl-a", run_pids=[4242]),
        holder="ansible-playbook (%s) on ctl-a by alice, pid 4242, started %s" % (play, STARTED)))
    return action


def lock(action, **args):
    action._task.args = args
    return action.run(task_vars=dict(ansible_play_name="Deploy {{ env }}"))


def test_a_lock_taken_without_holder_is_this_run_s_with_this_controller(lock_action):
    assert lock(lock_action, name="run", prefix="/raftops/etcd/") == {"changed": False, "from": "module"}
    assert lock_action.calls == [("raftops.etcd.etcd_lock", dict(
        name="run", prefix="/raftops/etcd/", controller=dict(host="ctl-a", run_pids=[4242]),
        holder="ansible-playbook (Deploy prod) on ctl-a by alice, pid 4242, started %s" % STARTED))]


@pytest.mark.parametrize("args", [
    dict(name="m", holder="schema migration by alice"),
    dict(name="m", state="released", lease_id="694d77aa9e38260f"),
    dict(name="m", state="released"),
])
def test_a_holder_given_or_a_release_is_left_as_the_task_gives_it(lock_action, args):
    lock(lock_action, **args)
    assert lock_action.calls == [("raftops.etcd.etcd_lock", args)]


def test_the_controller_given_wins_and_none_found_is_not_given(lock_action, monkeypatch):
    given = dict(host="ctl-b", run_pids=[1])
    lock(lock_action, name="run", controller=given)
    assert lock_action.calls[-1][1]["controller"] == given
    monkeypatch.setattr(etcd_lock, "this_run", lambda play: dict(pid=1, controller=None, holder="h"))
    lock(lock_action, name="run")
    assert lock_action.calls[-1][1] == dict(name="run", holder="h")


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
    action = controller_action(etcd_adopt_info.ActionModule, monkeypatch)
    monkeypatch.setattr(etcd_adopt_info, "this_controller", lambda: dict(host="ctl-a", run_pids=[4242]))
    return action


@pytest.mark.parametrize("args, controller", [
    (dict(run_lock_prefix="/raftops/etcd/"), dict(host="ctl-a", run_pids=[4242])),
    (dict(run_lock_prefix="/raftops/etcd/", controller=dict(host="ctl-b", run_pids=[1])), dict(host="ctl-b", run_pids=[1])),
    # No read of the run lock: no controller to give.
    (dict(data_dir="/var/lib/etcd"), None),
])
def test_the_adoption_s_read_of_the_run_lock_is_given_this_controller(adopt_action, args, controller):
    adopt_action._task.args = args
    adopt_action.run(task_vars={})
    (module, sent), = adopt_action.calls
    assert module == "raftops.etcd.etcd_adopt_info" and sent.get("controller") == controller
    assert {k: v for k, v in sent.items() if k != "controller"} == {k: v for k, v in args.items() if k != "controller"}


def test_the_adoption_s_read_without_pgrep_has_no_controller(adopt_action, monkeypatch):
    monkeypatch.setattr(etcd_adopt_info, "this_controller", lambda: None)
    adopt_action._task.args = dict(run_lock_prefix="/raftops/etcd/")
    adopt_action.run(task_vars={})
    assert adopt_action.calls == [("raftops.etcd.etcd_adopt_info", dict(run_lock_prefix="/raftops/etcd/"))]


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
    assert sent["run_lock_prefix"] == prefix and "run_lock_group" not in sent
    assert sent["controller"] == dict(host="ctl-a", run_pids=[4242])
