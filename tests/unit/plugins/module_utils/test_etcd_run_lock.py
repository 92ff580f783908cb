import os

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_run_lock
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_run_lock import (
    PkiDirBusy, dead_holder, keep, lock_pki_dir, parse_holder, pki_connection, run_pids)

HOLDER = ("ansible-playbook (Deploy and converge etcd) on ctl-a by alice,\n  pid 4242,\n"
          "  started 2026-11-22T09:58:00Z")


def test_parse_the_holder_the_role_writes_even_as_folded_yaml_leaves_it():
    assert parse_holder(HOLDER) == dict(play="Deploy and converge etcd", host="ctl-a", user="alice", pid=4242,
                                        started="2026-11-22T09:58:00Z")


@pytest.mark.parametrize("text", [
    "ansible-playbook on ctl-b by bob, pid 4321, started 2026-11-22T09:58:00Z",  # no play: not the role's
    "schema migration by alice",
    "",
    None,
])
def test_other_holders_are_not_parsed(text):
    assert parse_holder(text) is None


def test_run_pids_from_pgrep_output():
    assert run_pids("4242\n17\n4242\n") == [17, 4242]
    assert run_pids("") == []


@pytest.mark.parametrize("controller, dead", [
    (dict(host="ctl-a", run_pids=[17, 99]), "pid 4242 on ctl-a runs no ansible-playbook any more"),
    (dict(host="ctl-a", run_pids=[]), "pid 4242 on ctl-a runs no ansible-playbook any more"),
    (dict(host="ctl-a", run_pids=[4242]), None),  # it runs
    (dict(host="ctl-a", run_pids=["4242"]), None),
    (dict(host="ctl-b", run_pids=[]), None),  # another controller's run: unknown here
    (None, None),
    ({}, None),
])
def test_dead_holder(controller, dead):
    assert dead_holder(HOLDER, controller) == dead


def test_a_holder_not_written_by_the_role_is_never_dead():
    assert dead_holder("alice by hand", dict(host="ctl-a", run_pids=[])) is None


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_keep_renews_every_interval_while_the_run_lives_and_ends_with_it():
    clock = Clock()
    renewed = []

    def renew():
        renewed.append(clock.now)
        return 45

    renewals = keep(4242, renew, 15, lives=lambda pid: clock.now < 50, clock=clock, sleep=clock.sleep)
    assert renewed == [15.0, 30.0, 45.0] and renewals == 3
    assert clock.now == 50.0  # it ends within a second of the run


def test_keep_stops_renewing_a_lease_that_is_gone_but_stays_while_the_run_lives():
    clock = Clock()
    renewed = []

    def renew():
        renewed.append(clock.now)
        return 0  # released by the run's end, or expired

    keep(4242, renew, 10, lives=lambda pid: clock.now < 100, clock=clock, sleep=clock.sleep)
    assert renewed == [10.0] and clock.now == 100.0


def test_keep_tries_again_after_a_renewal_that_failed():
    clock = Clock()
    answers = [OSError("no route"), 45, 45]

    def renew():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    # failed at 10 s, renewed at 20 s and 30 s
    assert keep(1, renew, 10, lives=lambda pid: clock.now < 31, clock=clock, sleep=clock.sleep) == 2
    assert answers == []


def test_process_lives():
    assert etcd_run_lock.process_lives(os.getpid())
    assert not etcd_run_lock.process_lives(2 ** 22 + 1)  # above pid_max


def test_the_pki_dir_lock_refuses_a_second_run_naming_the_first(tmp_path):
    fd = lock_pki_dir(str(tmp_path), HOLDER)
    try:
        with pytest.raises(PkiDirBusy) as refused:
            lock_pki_dir(str(tmp_path), "another run")
        assert str(refused.value) == "%s is in use by %s" % (tmp_path, HOLDER)
        # beside the directory, not in it
        assert oct(os.stat(str(tmp_path) + ".lock").st_mode & 0o777) == "0o600"
        assert os.listdir(tmp_path) == []
    finally:
        os.close(fd)
    # freed when its holder ends (here: closes it), whatever the file still says
    os.close(lock_pki_dir(str(tmp_path), "another run"))
    with open(str(tmp_path) + ".lock") as lock_file:
        assert lock_file.read() == "another run"
    # a later play of the same run (host and pid) finds it its own
    fd = lock_pki_dir(str(tmp_path), HOLDER)
    try:
        assert lock_pki_dir(str(tmp_path), HOLDER.replace("09:58:00Z", "10:05:00Z")) is None
    finally:
        os.close(fd)


def test_pki_connection_trusts_the_bundle_during_and_after_a_rotation(tmp_path):
    assert pki_connection(str(tmp_path)) == (str(tmp_path / "ca.pem"), str(tmp_path / "admin.pem"),
                                             str(tmp_path / "admin-key.pem"))
    (tmp_path / "ca-bundle.pem").write_text("x")
    assert pki_connection(str(tmp_path))[0] == str(tmp_path / "ca-bundle.pem")
