"""etcd_adopt_info's read of a running etcd's environment: from the process, or, where root may not
read another user's process (a container without CAP_SYS_PTRACE), as its unit gives it."""

import json
import os
import subprocess

from ansible_collections.raftops.etcd.plugins.module_utils.lock import run_lock as etcd_run_lock
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import GatewayLockStore
from ansible_collections.raftops.etcd.plugins.modules import etcd_adopt_info
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_kv import FIRST_LEASE, FakeKVCluster


def test_the_environment_comes_from_the_process_where_it_may_be_read(monkeypatch):
    monkeypatch.setattr(etcd_adopt_info, "_read", lambda path, mode="rb": b"ETCD_NAME=a\0HOME=/\0")
    assert etcd_adopt_info._environment(7, {}, []) == ({"ETCD_NAME": "a", "HOME": "/"}, "process")


def test_else_from_the_unit_its_files_overriding_its_environment(monkeypatch, tmp_path):
    defaults = tmp_path / "etcd"
    defaults.write_text("# package settings\nETCD_NAME=host0\nETCD_DATA_DIR=\"/var/lib/etcd/default\"\n")

    def read(path, mode="rb"):
        if path.startswith("/proc/"):
            raise PermissionError(13, "Permission denied", path)
        with open(path, mode) as handle:
            return handle.read()

    monkeypatch.setattr(etcd_adopt_info, "_read", read)
    props = {"Environment": ["DAEMON_ARGS= ETCD_NAME=box 'ETCD_X=a b'"]}
    environ, source = etcd_adopt_info._environment(7, props, [str(defaults), str(tmp_path / "missing")])
    assert source == "unit"
    assert environ == {"DAEMON_ARGS": "", "ETCD_NAME": "host0", "ETCD_X": "a b", "ETCD_DATA_DIR": "/var/lib/etcd/default"}


def test_a_data_dir_move_reads_the_target_as_absent_empty_a_link_to_the_data_or_taken(tmp_path):
    data = tmp_path / "data"
    (data / "member").mkdir(parents=True)
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "new" / "etcd")) == dict(
        target=str(tmp_path / "new" / "etcd"), same_filesystem=True, target_state="absent")
    (tmp_path / "empty").mkdir()
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "empty"))["target_state"] == "empty"
    (tmp_path / "link").symlink_to(data)
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "link"))["target_state"] == "link"
    (tmp_path / "elsewhere").symlink_to(tmp_path / "empty")
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "elsewhere"))["target_state"] == "other"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "full"))["target_state"] == "other"


def test_a_target_on_another_filesystem_is_no_rename(tmp_path, monkeypatch):
    data, target = tmp_path / "data", tmp_path / "mnt" / "etcd"
    data.mkdir()
    (tmp_path / "mnt").mkdir()
    real_stat = etcd_adopt_info.os.stat

    class Mounted:
        """The stat of a mount point: a device of its own."""
        st_dev = 99

        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(etcd_adopt_info.os, "stat", lambda path, **kw: Mounted(real_stat(path, **kw))
                        if str(path) == str(tmp_path / "mnt") else real_stat(path, **kw))
    assert etcd_adopt_info._data_move(str(data), str(target)) == dict(
        target=str(target), same_filesystem=False, target_state="absent")


class AnsweringEtcd:
    """An etcd that answers the local read as ``release``, RBAC auth on."""

    def __init__(self, release):
        self.release = release
        self.asked_auth = False

    def __call__(self, endpoint, **_tls):
        return self

    def version(self):
        return dict(etcdserver=self.release)

    def status(self):
        return dict(member_id=1, leader_id=1, cluster_id="c1")

    def member_list(self):
        return []

    def alarms(self):
        return []

    def auth_enabled(self):
        self.asked_auth = True
        return True


SETTINGS = dict(ETCD_ADVERTISE_CLIENT_URLS="http://10.0.0.1:2379")


def test_a_member_on_3_4_says_whether_auth_is_on_which_its_upgrade_to_3_5_needs_off(monkeypatch):
    etcd = AnsweringEtcd("3.4.23")
    monkeypatch.setattr(etcd_adopt_info, "EtcdClient", etcd)
    assert etcd_adopt_info._local_answer(SETTINGS, 5)["auth_enabled"] is True


def test_a_member_on_3_5_is_not_asked(monkeypatch):
    etcd = AnsweringEtcd("3.5.16")
    monkeypatch.setattr(etcd_adopt_info, "EtcdClient", etcd)
    assert "auth_enabled" not in etcd_adopt_info._local_answer(SETTINGS, 5) and not etcd.asked_auth


# -- the run lock, as the role would find it ----------------------------------------------------

LOCK_URL = "http://10.0.0.1:2379"
TLS = dict(ca_cert="/etc/tls/ca.crt", client_cert="/etc/tls/node.crt", client_key="/etc/tls/node.key")
ALIVE = "ansible-playbook (Deploy and converge etcd) on ctl-b by bob, pid 4321, started 2026-11-22T09:58:00Z"
GONE = "ansible-playbook (Adopt) on ctl-a by alice, pid 1234, started 2026-11-22T09:58:00Z"
CONTROLLER = dict(host="ctl-a", run_pids=[999])


def read_lock(cluster, controller):
    store = GatewayLockStore([cluster.client(LOCK_URL)], dict(TLS, endpoints=[LOCK_URL]))
    return etcd_adopt_info.read_run_lock(store, dict(prefix="/raftops/etcd/", controller=controller))


def hold(cluster, holder, ttl=60, lease=True):
    value = json.dumps(dict(holder=holder, acquired_at="2026-11-22T10:00:00Z", ttl=ttl)).encode()
    cluster.put("/raftops/etcd/run", value, lease=cluster.grant(ttl) if lease else 0)


def test_a_free_run_lock_reads_free_and_the_read_writes_nothing():
    cluster = FakeKVCluster()
    assert read_lock(cluster, CONTROLLER) == dict(key="/raftops/etcd/run", state="free")
    assert not {c[1] for c in cluster.calls} & {"lease_grant", "lease_revoke", "lease_keepalive_once", "txn"}


def test_a_lock_another_run_holds_reads_held_with_the_role_s_refusal_and_the_member_s_own_credentials():
    cluster = FakeKVCluster()
    hold(cluster, ALIVE)
    cluster.advance(15)
    read = read_lock(cluster, CONTROLLER)
    assert read["state"] == "held" and read["holder"] == ALIVE
    assert read["refusal"] == (
        "lock run is held by %s since 2026-11-22T10:00:00Z (lease 694d77aa9e38260f, expires in 45 s unless renewed); "
        "wait for that run to finish, or if it died, wait for the lock to expire or release it with: etcdctl "
        "--endpoints=http://10.0.0.1:2379 --cacert=/etc/tls/ca.crt --cert=/etc/tls/node.crt --key=/etc/tls/node.key "
        "lease revoke 694d77aa9e38260f" % ALIVE)
    # Asked, not renewed: the holder's lease keeps its time.
    assert "lease_keepalive_once" not in {c[1] for c in cluster.calls}


def test_a_lock_without_a_lease_never_expires_and_is_released_by_deleting_it():
    cluster = FakeKVCluster()
    hold(cluster, ALIVE, lease=False)
    read = read_lock(cluster, CONTROLLER)
    assert read["state"] == "held" and "(no lease: it never expires)" in read["refusal"]
    assert read["refusal"].endswith("release it with: etcdctl --endpoints=http://10.0.0.1:2379 --cacert=/etc/tls/ca.crt "
                                    "--cert=/etc/tls/node.crt --key=/etc/tls/node.key del /raftops/etcd/run")


def test_a_lock_whose_run_s_keeper_saw_it_end_reads_dead_as_the_role_takes_it_over():
    cluster = FakeKVCluster()
    hold(cluster, GONE)
    # A run that lives (its lease is renewed) reads held, whatever this controller's processes are.
    assert read_lock(cluster, CONTROLLER)["state"] == "held"
    assert read_lock(cluster, None)["state"] == "held"
    note = etcd_run_lock.ended_note(1234, "2026-11-22T10:00:05Z")
    store = GatewayLockStore([cluster.client(LOCK_URL)], dict(TLS, endpoints=[LOCK_URL]))
    assert etcd_run_lock.mark_ended(store, "/raftops/etcd/run", FIRST_LEASE, note)
    assert read_lock(cluster, CONTROLLER) == dict(
        key="/raftops/etcd/run", state="dead", holder=GONE, acquired_at="2026-11-22T10:00:00Z", dead=note)


def test_a_lock_whose_lease_has_run_out_reads_expired():
    cluster = FakeKVCluster()
    hold(cluster, ALIVE, ttl=5)
    cluster.leases[FIRST_LEASE]["expiry"] = cluster.now - 1  # etcd has not deleted the key yet
    assert read_lock(cluster, CONTROLLER)["state"] == "expired"


def test_a_lock_that_cannot_be_read_says_why():
    cluster = FakeKVCluster()
    cluster.down.update(m["id"] for m in cluster.members)
    read = read_lock(cluster, CONTROLLER)
    assert read["state"] == "unread" and read["key"] == "/raftops/etcd/run" and read["error"]


CONTAINER_ID = "ecb956669046ab51fc1d4e8fe71976b7c9160c19efe99f7e7c8af23734481ffa"
PODMAN_INSPECT = os.path.join(os.path.dirname(__file__), "..", "module_utils", "fixtures", "podman-inspect-host.json")


def in_container(monkeypatch, runtime_path):
    """etcd's process in a podman container; ``runtime_path``: where the host has podman (None: it has not)."""
    monkeypatch.setattr(etcd_adopt_info, "_read", lambda path, mode="rb": "0::/machine.slice/libpod-%s.scope\n" % CONTAINER_ID)
    monkeypatch.setattr(etcd_adopt_info.shutil, "which", lambda name: runtime_path)


def test_a_container_is_read_with_its_runtime_s_inspect(monkeypatch):
    in_container(monkeypatch, "/usr/bin/podman")
    calls = []

    def run(argv, **_kwargs):
        calls.append(argv)
        with open(PODMAN_INSPECT) as handle:
            return subprocess.CompletedProcess(argv, 0, stdout=handle.read(), stderr="")

    monkeypatch.setattr(etcd_adopt_info.subprocess, "run", run)
    box = etcd_adopt_info._container(7)
    assert calls == [["/usr/bin/podman", "inspect", "--type", "container", CONTAINER_ID]]
    assert box["command"] == "/usr/bin/podman" and box["name"] == "etcd" and box["network"] == "host"
    settings, sources = etcd_adopt_info._container_settings(box, ["/proc/argv/unused"])
    assert settings["ETCD_DATA_DIR"] == "/var/lib/etcd-data" and sources["ETCD_DATA_DIR"] == "command line"
    assert box["paths"] == {"ETCD_DATA_DIR": "/etcd-data"} and box["inside_only"] == []


def test_a_container_that_runs_etcd_through_a_shell_is_read_from_the_process_s_command_line(monkeypatch):
    box = dict(argv=["/bin/sh", "-c", "exec etcd --name a"], environ={"ETCD_DATA_DIR": "/d"},
               mounts=[dict(type="bind", name="", source="/srv/d", destination="/d")])
    settings, _sources = etcd_adopt_info._container_settings(box, ["etcd", "--name", "a"])
    assert settings == {"ETCD_NAME": "a", "ETCD_DATA_DIR": "/srv/d"}


def test_a_runtime_the_host_does_not_have_is_said_so(monkeypatch):
    in_container(monkeypatch, None)
    assert etcd_adopt_info._container(7) == dict(runtime="podman", id=CONTAINER_ID, error="the host has no podman command")


def test_an_inspect_that_fails_is_said_so(monkeypatch):
    in_container(monkeypatch, "/usr/bin/podman")
    monkeypatch.setattr(etcd_adopt_info.subprocess, "run", lambda argv, **_kwargs: subprocess.CompletedProcess(
        argv, 125, stdout="[]", stderr="Error: no such container\n"))
    assert etcd_adopt_info._container(7)["error"] == "podman inspect failed: Error: no such container"
