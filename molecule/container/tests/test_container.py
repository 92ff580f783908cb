"""Members that run etcd from an image under Podman (etcd_runtime: container), driven as an operator
does: the deploy (converge, then Molecule's idempotence run), the members' units and containers,
the status, a setting rolled under a writer, a move to the binary and back to the image under a
writer, and a run that changes nothing. Marked full: an upgrade under a writer (the image of the
new release), a backup and a restore, the maintenance timer, a CA rotation and a downgrade under a
writer, and a quorum recovery from one survivor after two hosts were killed (Podman's SIGKILL of the
test host: gone), recreated empty, with a writer through it all.

Tests run in file order: each starts from the cluster the previous one left. Each roll prints its
figures (time, writes acknowledged, failed and lost); the scenario runs pytest with -s.
"""

import os

import pytest
from etcdtest import (PKI, Gateway, assert_maintenance_runs, assert_unchanged, backup_then_restore, host, main_process, playbook,
                      recover_quorum_under_writer, roll_under_writer, rotating_tls)

HOSTS = ["ctr-host0", "ctr-host1", "ctr-host2"]
URL = {h: "https://10.250.0.17%d:2379" % i for i, h in enumerate(HOSTS)}
# The settings every run after the first roll keeps (-e wins over the inventory).
ROLLED = ("-e", "etcd_snapshot_count=5000")
UPGRADED = (*ROLLED, "-e", "etcd_version=3.5.30")
DOWNGRADED = (*ROLLED, "-e", "etcd_version=3.5.16")


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


def roll(label, *args, name="etcd", rolls=1, tls=None):
    return roll_under_writer(label, URL, *args, name=name, rolls=rolls, tls=tls)


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
    assert "runtime: ctr-host0 container (podman), ctr-host1 container (podman), ctr-host2 container (podman)" in out


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
    backup_then_restore(URL, *UPGRADED)
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")


@pytest.mark.full
def test_the_maintenance_timer_runs_against_a_container_member():
    assert_maintenance_runs(HOSTS[0], *UPGRADED)


def ca_certificate():
    with open(os.path.join(PKI, "ca.pem"), "rb") as handle:
        return handle.read()


@pytest.mark.full
def test_a_ca_rotation_rolls_the_containers_three_times_with_no_write_lost():
    old_ca = ca_certificate()
    # Trust the new CA, take pairs it signed, drop the old CA: three rolls; the client trusts what
    # ca-bundle.pem holds at each write, as an application told of the rotation does.
    roll("ca-rotation", *UPGRADED, "-e", "etcd_pki_rotate_ca=true", rolls=3, tls=rotating_tls)
    with open(os.path.join(PKI, "ca-bundle.pem"), "rb") as handle:
        assert ca_certificate() != old_ca and old_ca not in handle.read(), "the old CA is still trusted"
    for name in HOSTS:
        # Each container serves a pair of the new CA and takes the admin pair it signed, trusting it only.
        assert Gateway(URL[name]).status()["version"] == "3.5.30"
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")


@pytest.mark.full
def test_a_downgrade_runs_the_image_of_the_older_release_with_no_write_lost():
    roll("downgrade", *DOWNGRADED, "-e", "etcd_allow_downgrade=true", name="upgrade")
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")
    assert {Gateway(url).status()["version"] for url in URL.values()} == {"3.5.16"}


@pytest.mark.full
def test_quorum_is_recovered_from_the_survivor_s_container_after_two_hosts_are_killed_with_no_write_lost():
    recover_quorum_under_writer(URL, "container", *DOWNGRADED)
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")
