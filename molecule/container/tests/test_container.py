"""Members that run etcd from an image under Podman (etcd_runtime: container), driven as an operator
does: the deploy (converge, then Molecule's idempotence run), the members' units and containers,
the status, a setting rolled under a writer, a move to the binary and back to the image under a
writer, and a run that changes nothing. Marked full: an upgrade under a writer (the image of the
new release), a backup and a restore, and the maintenance timer.

Tests run in file order: each starts from the cluster the previous one left. Each roll prints its
figures (time, writes acknowledged, failed and lost); the scenario runs pytest with -s.
"""

import os

import pytest
from etcdtest import BACKUPS, Gateway, assert_unchanged, host, main_process, playbook, roll_under_writer, snapshots

HOSTS = ["ctr-host0", "ctr-host1", "ctr-host2"]
URL = {h: "https://10.250.0.17%d:2379" % i for i, h in enumerate(HOSTS)}
# The settings every run after the first roll keeps (-e wins over the inventory).
ROLLED = ("-e", "etcd_snapshot_count=5000")
UPGRADED = (*ROLLED, "-e", "etcd_version=3.5.30")


def assert_runtime(runtime, image=None):
    for name in HOSTS:
        unit = host(name).file("/etc/systemd/system/etcd.service").content_string
        assert host(name).service("etcd").is_running
        if runtime == "container":
            assert main_process(name)[1] == "conmon" and "User=" not in unit
            assert host(name).check_output("podman ps --filter name=^etcd$ --format {{.Image}}") == image
        else:
            assert main_process(name)[1] == "etcd" and "podman" not in unit and "User=etcd" in unit
        # etcd runs as its user either way, with the same data directory.
        assert host(name).check_output("ps -o user= -C etcd") == "etcd"
        assert host(name).check_output("stat -c %U /var/lib/etcd/member") == "etcd"


def roll(label, *args, name="etcd"):
    return roll_under_writer(label, URL, *args, name=name)


def test_the_members_run_etcd_from_the_image_built_of_the_release_as_their_user():
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")
    for name in HOSTS:
        script = host(name).file("/etc/etcd/etcd-start").content_string
        assert "--read-only" in script and "--cap-drop=all" in script and "--sdnotify=container" in script
        # etcd's own readiness: the unit became active when etcd said so, and etcd logs to its journal.
        assert "ready to serve client requests" in host(name).check_output("journalctl -u etcd --no-pager -o cat")


def test_the_status_names_each_member_s_runtime():
    rc, out = playbook("status")
    assert rc == 0, out[-3000:]
    assert "runtime: ctr-host0 container, ctr-host1 container, ctr-host2 container" in out


def test_a_setting_rolls_the_containers_one_at_a_time_with_no_write_lost():
    roll("setting", *ROLLED)
    for name in HOSTS:
        assert "ETCD_SNAPSHOT_COUNT=5000" in host(name).file("/etc/etcd/etcd.env").content_string
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")


def test_the_members_move_to_the_binary_and_back_to_the_image_with_no_write_lost():
    roll("to-host", *ROLLED, "-e", "etcd_runtime=host")
    assert_runtime("host")
    rc, out = playbook("status", *ROLLED, "-e", "etcd_runtime=host")
    assert rc == 0, out[-3000:]
    assert "runtime: ctr-host0 host, ctr-host1 host, ctr-host2 host" in out, out[-3000:]
    roll("to-container", *ROLLED)
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")


def test_a_run_without_changes_changes_nothing():
    rc, out = playbook("etcd", *ROLLED)
    assert rc == 0, out[-3000:]
    assert_unchanged(out)


@pytest.mark.full
def test_an_upgrade_runs_the_image_of_the_new_release_with_no_write_lost():
    roll("upgrade", *UPGRADED, name="upgrade")
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")


@pytest.mark.full
def test_a_backup_restores_into_the_containers():
    gateway = Gateway(URL[HOSTS[0]])
    gateway.put("/restore/kept", "before")
    rc, out = playbook("backup", *UPGRADED)
    assert rc == 0, out[-3000:]
    gateway.put("/restore/kept", "after")
    rc, out = playbook("restore", *UPGRADED, "-e", "etcd_restore_snapshot=" + os.path.join(BACKUPS, snapshots()[-1]))
    assert rc == 0, out[-5000:]
    assert Gateway(URL[HOSTS[1]]).get("/restore/kept") == "before"
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")


@pytest.mark.full
def test_the_maintenance_timer_runs_against_a_container_member():
    rc, out = playbook("etcd", *UPGRADED, "-e", "etcd_maintenance_schedule=hourly")
    assert rc == 0, out[-3000:]
    name = HOSTS[0]
    host(name).check_output("systemctl start etcd-maintenance.service")
    result = host(name).run("systemctl show --property=Result --value etcd-maintenance.service")
    assert result.stdout.strip() == "success", host(name).check_output("journalctl -u etcd-maintenance --no-pager -o cat")
