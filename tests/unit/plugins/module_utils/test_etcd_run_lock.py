import ast
import datetime
import json
import os

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.lock import run_lock as etcd_run_lock
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import (
    PkiDirBusy, keep, lease_problem, lock_pki_dir, mark_ended, parse_holder, pki_connection, same_run)

HOLDER = ("ansible-playbook (Deploy and converge etcd) on ctl-a by alice,\n  pid 4242,\n"
          "  run 9f3c2a1b0e4d5c6f of machine 1a2b3c4d5e6f7a8b,\n  started 2026-11-22T09:58:00Z")
# A holder of a release before run IDs: still read, and never judged dead by its pid.
OLD_HOLDER = "ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 4242, started 2026-11-22T09:58:00Z"


def test_parse_the_holder_the_role_writes_even_as_folded_yaml_leaves_it():
    assert parse_holder(HOLDER) == dict(play="Deploy and converge etcd", host="ctl-a", user="alice", pid=4242,
                                        run="9f3c2a1b0e4d5c6f", machine="1a2b3c4d5e6f7a8b",
                                        started="2026-11-22T09:58:00Z")
    assert parse_holder(OLD_HOLDER) == dict(play="Deploy and converge etcd", host="ctl-a", user="alice", pid=4242,
                                            run=None, machine=None, started="2026-11-22T09:58:00Z")


@pytest.mark.parametrize("text", [
    "ansible-playbook on ctl-b by bob, pid 4321, started 2026-11-22T09:58:00Z",  # no play: not the role's
    "schema migration by alice",
    "",
    None,
])
def test_other_holders_are_not_parsed(text):
    assert parse_holder(text) is None


@pytest.mark.parametrize("group, prefix", [("etcd", "/raftops/etcd/"), ("prod-a", "/raftops/prod-a/")])
def test_the_run_lock_prefix_of_a_group_s_cluster(group, prefix):
    assert etcd_run_lock.run_lock_prefix(group) == prefix


def test_one_run_is_its_run_id_and_machine_not_its_host_name_and_pid():
    # Two controllers with one host name (cloned machines, CI containers), even one pid: two runs.
    other = HOLDER.replace("9f3c2a1b0e4d5c6f", "0123456789abcdef")
    assert not same_run(HOLDER, other) and same_run(HOLDER, HOLDER.replace("alice", "bob"))
    assert not same_run(HOLDER, HOLDER.replace("1a2b3c4d5e6f7a8b", "ffffffffffffffff"))
    assert not same_run(HOLDER, OLD_HOLDER)  # same host and pid, but only one names its run
    assert same_run(OLD_HOLDER, OLD_HOLDER) and not same_run(OLD_HOLDER, OLD_HOLDER.replace("4242", "17"))
    assert not same_run("alice by hand", "alice by hand")


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


def test_keep_records_in_the_lock_a_run_that_ended_without_releasing_it():
    clock = Clock()
    ended = []
    keep(4242, lambda: 45, 15, lives=lambda pid: clock.now < 20, clock=clock, sleep=clock.sleep,
         ended=lambda: ended.append(clock.now))
    assert ended == [20.0]  # within a second of the run's end


def test_keep_records_nothing_once_the_lease_is_gone_and_tries_again_while_etcd_does_not_answer():
    clock = Clock()
    ended = []
    # released by the run (or expired): nothing to record
    keep(4242, lambda: 0, 10, lives=lambda pid: clock.now < 30, clock=clock, sleep=clock.sleep,
         ended=lambda: ended.append(clock.now))
    assert ended == []
    answers = [OSError("no route"), OSError("no route"), True]

    def ended_once():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        ended.append(clock.now)

    clock.now = 0.0
    keep(4242, lambda: 45, 10, lives=lambda pid: clock.now < 5, clock=clock, sleep=clock.sleep, ended=ended_once)
    assert ended == [7.0] and answers == []
    # an etcd that never answers: the keeper gives up after one interval; the lease runs out
    clock.now = 0.0
    calls = []

    def unreachable():
        calls.append(clock.now)
        raise OSError("no route")

    keep(4242, lambda: 45, 10, lives=lambda pid: clock.now < 5, clock=clock, sleep=clock.sleep, ended=unreachable)
    assert calls[0] == 5.0 and calls[-1] == 15.0


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


@pytest.mark.parametrize("text, expected", [
    ("694d77aa9e38260f", 0x694d77aa9e38260f), ("0x" + "694d77aa9e38260f", 0x694d77aa9e38260f), (" 694D77AA9E38260F ", 0x694d77aa9e38260f),
    (str(0x694d77aa9e38260f), 0x694d77aa9e38260f), ("b0b", 0xB0B), ("1234", 0x1234),
])
def test_parse_lease_id(text, expected):
    assert etcd_run_lock.parse_lease_id(text) == expected


@pytest.mark.parametrize("text", ["", "0", "0x", "xyz", "-5", "8" + "0" * 15, "1" * 20, "0x" + "f" * 17])
def test_parse_lease_id_rejects_what_is_not_a_lease(text):
    with pytest.raises(ValueError, match="is not a lease ID"):
        etcd_run_lock.parse_lease_id(text)


def test_a_value_not_written_by_the_module_is_the_holder():
    assert etcd_run_lock.decode_value(b"carol") == dict(holder="carol", acquired_at="unknown", ttl=None, ended=None)
    assert etcd_run_lock.decode_value(b'{"x": 1}')["holder"] == '{"x": 1}'


# -- the lock on a store (what the module and the members' timer share) ---------------------

class StoreError(Exception):
    pass


class StoreUnreachable(StoreError):
    def __init__(self, message, sent=True):
        super().__init__(message)
        self.sent = sent


class MemoryStore:
    """The store contract of etcd_run_lock.Lock, in memory: leases expire on ``now``."""

    Error = StoreError
    Unreachable = StoreUnreachable

    def __init__(self):
        self.now = 0.0
        self.keys = {}  # key -> dict(value, lease, mod_revision)
        self.leases = {}  # id -> dict(ttl, expires)
        self.revision = 1
        self.next_lease = 0x694D77AA9E38260F
        self.calls = []
        self.before_put = None

    def _expire(self):
        for lease_id in [i for i, lease in self.leases.items() if lease["expires"] <= self.now]:
            self._drop(lease_id)

    def _drop(self, lease_id):
        del self.leases[lease_id]
        for key in [k for k, kv in self.keys.items() if kv["lease"] == lease_id]:
            del self.keys[key]

    def get(self, key):
        self.calls.append("get")
        self._expire()
        return dict(self.keys[key]) if key in self.keys else None

    def grant(self, ttl):
        self.calls.append("grant")
        lease_id, self.next_lease = self.next_lease, self.next_lease + 1
        self.leases[lease_id] = dict(ttl=ttl, expires=self.now + ttl)
        return dict(id=lease_id, ttl=ttl)

    def time_left(self, lease_id):
        self.calls.append("time_left")
        lease = self.leases.get(lease_id)
        return int(lease["expires"] - self.now) if lease else -1

    def keepalive(self, lease_id):
        self.calls.append("keepalive")
        self._expire()
        lease = self.leases.get(lease_id)
        if not lease:
            return 0
        lease["expires"] = self.now + lease["ttl"]
        return lease["ttl"]

    def revoke(self, lease_id):
        self.calls.append("revoke")
        if lease_id not in self.leases:
            return False
        self._drop(lease_id)
        return True

    def put_if(self, key, value, lease_id, mod_revision):
        self.calls.append("put_if")
        if self.before_put:
            self.before_put()
        current = self.keys.get(key)
        if (current["mod_revision"] if current else 0) != mod_revision:
            return False, dict(current) if current else None
        self.revision += 1
        self.keys[key] = dict(value=value.encode(), lease=lease_id, mod_revision=self.revision)
        return True, None

    def delete_if(self, key, mod_revision):
        self.calls.append("delete_if")
        if key in self.keys and self.keys[key]["mod_revision"] == mod_revision:
            del self.keys[key]
            return True
        return False

    def command(self, *args):
        return "etcdctl " + " ".join(args)


ROLE_HOLDER = ("ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 4242, run 9f3c2a1b0e4d5c6f of machine "
               "1a2b3c4d5e6f7a8b, started 2026-11-22T09:58:00Z")
# A second controller with the same host name (a cloned machine, a CI container): its own run ID.
CLONE_HOLDER = ("ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 5000, run 0123456789abcdef of machine "
                "1a2b3c4d5e6f7a8b, started 2026-11-22T10:00:00Z")
OTHER_HOLDER = "scheduled defragmentation of etcd-host1 on host1, pid 77"
KEY = "/raftops/etcd/run"


def new_lock(store, holder=OTHER_HOLDER, check_mode=False, **settings):
    settings = dict(dict(name="run", prefix="/raftops/etcd/", holder=holder, ttl=60, wait_timeout=0, lease_id=None),
                    **settings)
    return etcd_run_lock.Lock(store, settings, check_mode=check_mode, clock=lambda: store.now,
                              sleep=lambda s: setattr(store, "now", store.now + s),
                              now=lambda: datetime.datetime(2026, 11, 22, 10, 0, 0, tzinfo=datetime.timezone.utc))


def test_a_free_lock_is_taken_with_the_holder_text_and_a_lease_of_the_ttl():
    store = MemoryStore()
    result = new_lock(store).acquire()
    assert result["acquired"] is True and result["changed"] is True
    assert json.loads(store.keys[KEY]["value"]) == dict(holder=OTHER_HOLDER, acquired_at="2026-11-22T10:00:00Z",
                                                        ttl=60)
    assert store.keys[KEY]["lease"] == int(result["lease_id"], 16)
    assert store.leases[store.keys[KEY]["lease"]]["ttl"] == 60


def test_a_lock_held_by_another_is_refused_naming_it_and_the_release_command():
    store = MemoryStore()
    role = new_lock(store, holder=ROLE_HOLDER).acquire()
    store.now = 10
    with pytest.raises(etcd_run_lock.LockError) as refused:
        new_lock(store).acquire()
    assert str(refused.value) == (
        "lock run is held by %s since 2026-11-22T10:00:00Z (lease %s, expires in 50 s unless renewed); wait for "
        "that run to finish, or if it died, wait for the lock to expire or release it with: etcdctl lease revoke %s"
        % (ROLE_HOLDER, role["lease_id"], role["lease_id"]))
    assert refused.value.result["held_by"]["holder"] == ROLE_HOLDER
    assert len(store.leases) == 1  # nothing granted for the refusal


@pytest.mark.parametrize("holder, clone", [(ROLE_HOLDER, CLONE_HOLDER), (OLD_HOLDER, OLD_HOLDER.replace("4242", "5000"))],
                         ids=["holders-with-run-ids", "holders-of-an-earlier-release"])
@pytest.mark.parametrize("controller", [dict(host="ctl-a", run_pids=[5000]), dict(host="ctl-a", run_pids=[]), None])
def test_two_controllers_with_one_host_name_never_take_each_other_s_live_lock(controller, holder, clone):
    # The run on the other controller lives (its keeper renews its lease), though its pid runs
    # nothing here: its lock is refused, named, whatever this controller's processes are, and the
    # lock is left as it was.
    store = MemoryStore()
    held = new_lock(store, holder=holder).acquire()
    before = dict(store.keys)
    store.now = 10
    with pytest.raises(etcd_run_lock.LockError) as refused:
        new_lock(store, holder=clone, controller=controller).acquire()
    assert str(refused.value).startswith("lock run is held by %s since 2026-11-22T10:00:00Z (lease %s, expires in 50 s "
                                         "unless renewed)" % (holder, held["lease_id"]))
    assert store.keys == before and len(store.leases) == 1


def test_a_run_whose_keeper_saw_it_die_is_taken_over_at_once_naming_it():
    store = MemoryStore()
    held = new_lock(store, holder=ROLE_HOLDER).acquire()
    lease_id = int(held["lease_id"], 16)
    note = etcd_run_lock.ended_note(4242, "2026-11-22T10:00:05Z")
    assert mark_ended(store, KEY, lease_id, note) is True
    assert json.loads(store.keys[KEY]["value"])["ended"] == note and store.keys[KEY]["lease"] == lease_id
    store.now = 6  # the lease still lives: its keeper renews it no more
    lock = new_lock(store, holder=CLONE_HOLDER)
    result = lock.acquire()
    assert result["taken_over"] == ROLE_HOLDER and store.keys[KEY]["lease"] == int(result["lease_id"], 16)
    assert lock.warnings == [
        "lock run was held by %s since 2026-11-22T10:00:00Z (lease %s), a run that died (its keeper saw its "
        "ansible-playbook process (pid 4242) end at 2026-11-22T10:00:05Z without releasing the lock, and renews its "
        "lease no more): it may have stopped part-way; the lock was taken over" % (ROLE_HOLDER, held["lease_id"])]


def test_a_keeper_records_no_end_in_a_lock_its_lease_no_longer_holds():
    store = MemoryStore()
    mine = new_lock(store, holder=ROLE_HOLDER).acquire()
    new_lock(store, holder=ROLE_HOLDER, lease_id=mine["lease_id"]).release()
    theirs = new_lock(store, holder=CLONE_HOLDER).acquire()
    before = dict(store.keys)
    assert mark_ended(store, KEY, int(mine["lease_id"], 16), "ended") is False
    assert store.keys == before and json.loads(store.keys[KEY]["value"])["holder"] == CLONE_HOLDER
    assert theirs["acquired"]


def test_a_holder_whose_lease_ran_out_is_taken_over():
    # The other run died where its keeper could not say so (its host crashed): its lease runs out.
    store = MemoryStore()
    new_lock(store, holder=ROLE_HOLDER).acquire()
    store.now = 59
    with pytest.raises(etcd_run_lock.LockError, match="lock run is held by"):
        new_lock(store, holder=CLONE_HOLDER).acquire()
    store.now = 60
    result = new_lock(store, holder=CLONE_HOLDER).acquire()
    assert result["acquired"] and json.loads(store.keys[KEY]["value"])["holder"] == CLONE_HOLDER


def test_lease_problem_says_whether_the_run_s_lease_still_holds_its_lock():
    store = MemoryStore()
    mine = new_lock(store, holder=ROLE_HOLDER, ttl=45).acquire()
    lease_id = int(mine["lease_id"], 16)
    assert lease_problem(store, KEY, lease_id) is None
    assert store.leases[lease_id]["expires"] == 45  # read, not renewed
    # its keeper cut off for longer than the TTL: the lease ran out, and another run took the lock
    store.now = 46
    theirs = new_lock(store, holder=CLONE_HOLDER).acquire()
    assert lease_problem(store, KEY, lease_id) == (
        "its lease %s expired or was revoked (its keeper could not renew it for the lease's whole TTL: the controller "
        "was cut off from the cluster, or the keeper stopped), and it is held now by %s since 2026-11-22T10:00:00Z"
        % (mine["lease_id"], CLONE_HOLDER))
    new_lock(store, lease_id=theirs["lease_id"]).release()
    assert lease_problem(store, KEY, lease_id).endswith("and nobody holds it now")
    # the key outlives its lease for a moment
    mine = new_lock(store, holder=ROLE_HOLDER).acquire()
    store.time_left = lambda _lease: 0
    assert "has expired" in lease_problem(store, KEY, int(mine["lease_id"], 16))


def test_a_lock_whose_lease_expired_is_taken_over_unless_it_changed_meanwhile():
    store = MemoryStore()
    new_lock(store, holder=ROLE_HOLDER).acquire()
    store.leases[next(iter(store.leases))]["expires"] = 1e9  # the key outlives its lease for a moment
    store.time_left = lambda lease_id: 0
    lock = new_lock(store)
    result = lock.acquire()
    assert result["taken_over"] == ROLE_HOLDER and result["previous_holder"] == ROLE_HOLDER
    assert "which had expired" in lock.warnings[0]


def test_a_lost_race_revokes_the_lease_it_granted_and_reports_the_winner():
    store = MemoryStore()

    def the_role_takes_it_first():
        store.before_put = None
        new_lock(store, holder=ROLE_HOLDER).acquire()

    store.before_put = the_role_takes_it_first
    with pytest.raises(etcd_run_lock.LockError, match="is held by ansible-playbook"):
        new_lock(store).acquire()
    assert [json.loads(kv["value"])["holder"] for kv in store.keys.values()] == [ROLE_HOLDER]
    assert len(store.leases) == 1  # the loser's lease is gone


def test_the_same_holder_again_renews_its_lease_and_changes_nothing():
    store = MemoryStore()
    first = new_lock(store).acquire()
    store.now = 30
    again = new_lock(store).acquire()
    assert again["changed"] is False and again["lease_id"] == first["lease_id"]
    assert store.leases[int(first["lease_id"], 16)]["expires"] == 90


def test_release_by_lease_and_a_lock_someone_else_took_is_left_alone():
    store = MemoryStore()
    mine = new_lock(store).acquire()
    assert new_lock(store, lease_id=mine["lease_id"]).release()["released"] is True
    assert store.keys == {} and store.leases == {}
    theirs = new_lock(store, holder=ROLE_HOLDER).acquire()
    lock = new_lock(store, lease_id=mine["lease_id"])
    assert lock.release()["released"] is False
    assert store.keys[KEY]["lease"] == int(theirs["lease_id"], 16)
    assert "no longer holds it" in lock.warnings[0]


def test_the_lock_file_is_plain_python_for_the_members():
    # the role copies etcd_run_lock.py onto the members, where the maintenance timer imports it
    # with python3 alone: only standard library imports, none of the collection or of Ansible
    with open(etcd_run_lock.__file__, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules <= {"datetime", "errno", "fcntl", "json", "os", "re", "shlex", "time"}


# -- the holder the actions name (plugins/plugin_utils/run_lock.py) ---------------------------

RUN = dict(run="9f3c2a1b0e4d5c6f", machine="1a2b3c4d5e6f7a8b")


@pytest.mark.parametrize("play, user, expected", [
    ("Deploy and converge etcd", "alice",
     "ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 4242, run 9f3c2a1b0e4d5c6f of machine "
     "1a2b3c4d5e6f7a8b, started 2026-11-22T09:58:00Z"),
    # A play name over lines, or none; no user in the environment.
    ("Deploy\n  (again)", None, "ansible-playbook (Deploy (again)) on ctl-a by an unknown user, pid 4242, run "
                                "9f3c2a1b0e4d5c6f of machine 1a2b3c4d5e6f7a8b, started 2026-11-22T09:58:00Z"),
    ("", "bob smith", "ansible-playbook () on ctl-a by bob smith, pid 4242, run 9f3c2a1b0e4d5c6f of machine "
                      "1a2b3c4d5e6f7a8b, started 2026-11-22T09:58:00Z"),
])
def test_run_holder_is_read_back_by_parse_holder(play, user, expected):
    holder = etcd_run_lock.run_holder(play, "ctl-a", user, 4242, "2026-11-22T09:58:00Z", **RUN)
    assert holder == expected
    assert parse_holder(holder) == dict(play=" ".join(play.split()), host="ctl-a", user=user or "an unknown user",
                                        pid=4242, started="2026-11-22T09:58:00Z", **RUN)


@pytest.mark.parametrize("host, pid, started, run, machine, message", [
    ("", 4242, "2026-11-22T09:58:00Z", RUN["run"], "m", "the controller's host name must be one word, got ''"),
    ("ctl a", 4242, "2026-11-22T09:58:00Z", RUN["run"], "m", "the controller's host name must be one word, got 'ctl a'"),
    ("ctl-a", 0, "2026-11-22T09:58:00Z", RUN["run"], "m", "the ansible-playbook pid must be a whole number above 0, got 0"),
    ("ctl-a", "4242", "2026-11-22T09:58:00Z", RUN["run"], "m",
     "the ansible-playbook pid must be a whole number above 0, got '4242'"),
    ("ctl-a", True, "2026-11-22T09:58:00Z", RUN["run"], "m",
     "the ansible-playbook pid must be a whole number above 0, got True"),
    ("ctl-a", 4242, "", RUN["run"], "m", "the start time must be one word (ISO 8601), got ''"),
    ("ctl-a", 4242, "22 Nov 2026", RUN["run"], "m", "the start time must be one word (ISO 8601), got '22 Nov 2026'"),
    ("ctl-a", 4242, "2026-11-22T09:58:00Z", "", "m", "the run ID must be 8 or more hex digits, got ''"),
    ("ctl-a", 4242, "2026-11-22T09:58:00Z", "xyz", "m", "the run ID must be 8 or more hex digits, got 'xyz'"),
    ("ctl-a", 4242, "2026-11-22T09:58:00Z", RUN["run"], "a b",
     "the machine ID must be lowercase letters and digits, got 'a b'"),
])
def test_run_holder_refuses_what_parse_holder_could_not_read_back(host, pid, started, run, machine, message):
    with pytest.raises(ValueError) as refused:
        etcd_run_lock.run_holder("play", host, "alice", pid, started, run, machine)
    assert str(refused.value) == message


@pytest.mark.parametrize("run_tags, skip_tags, selected", [
    (None, None, True),
    (["all"], [], True),
    (["etcd_cluster"], [], True),
    (["tagged"], [], True),
    # A run of only the preflight or the status changes no host: no lock.
    (["etcd_preflight", "etcd_status"], [], False),
    # Skipping any phase that changes hosts skips the task tagged with all of them, as Ansible does.
    (["all"], ["etcd_backup"], False),
    (["all"], ["tagged"], False),
    (["etcd_cluster"], ["etcd_status"], True),
])
def test_the_run_lock_is_taken_as_ansible_selects_a_task_tagged_with_the_changing_phases(run_tags, skip_tags, selected):
    assert etcd_run_lock.lock_tags_selected(run_tags, skip_tags) is selected
