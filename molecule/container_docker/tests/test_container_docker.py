"""Members that run etcd from an image under Docker (etcd_runtime: container on hosts with Docker and no
Podman), driven as an operator does: the deploy (converge, then Molecule's idempotence run), the
members' units and containers, the status, a setting rolled under a writer, a move to the binary and
back to the image under a writer, and a run that changes nothing. Marked full: an upgrade under a
writer (the image of the new release), a backup and a restore, the maintenance timer, a quorum
recovery from one survivor after two hosts were killed and recreated empty (given Docker by
prepare.yml: the role installs nothing), then a CA rotation and a downgrade under a writer.

Tests run in file order: each starts from the cluster the previous one left. Each roll prints its
figures (time, writes acknowledged, failed and lost); the scenario runs pytest with -s.
"""

import os

import pytest
from etcdtest import (PKI, Gateway, assert_maintenance_runs, assert_unchanged, backup_then_restore, host, main_process, playbook,
                      recover_quorum_under_writer, roll_under_writer, rotating_tls)

HOSTS = ["dkr-host0", "dkr-host1", "dkr-host2"]
URL = {h: "https://10.250.0.%d:2379" % (177 + i) for i, h in enumerate(HOSTS)}
# The settings every run after the first roll keeps (-e wins over the inventory).
ROLLED = ("-e", "etcd_snapshot_count=5000")
UPGRADED = (*ROLLED, "-e", "etcd_version=3.5.30")
DOWNGRADED = (*ROLLED, "-e", "etcd_version=3.5.16")


def assert_runtime(runtime, image=None):
    for name in HOSTS:
        h = host(name)
        unit = h.file("/etc/systemd/system/etcd.service").content_string
        assert h.service("etcd").is_running
        if runtime == "container":
            # The docker command, attached, is the unit's main process; no User= (docker runs as root).
            assert main_process(name)[1] == "docker" and "Type=exec" in unit and "User=" not in unit
            assert h.check_output("docker ps --filter name=^etcd$ --format {{.Image}}") == image
        else:
            assert main_process(name)[1] == "etcd" and "docker" not in unit and "User=etcd" in unit
        # etcd runs as its user either way, with the same data directory.
        assert h.check_output("ps -o user= -C etcd") == "etcd"
        assert h.check_output("stat -c %U /var/lib/etcd/member") == "etcd"


def test_the_members_run_etcd_under_docker_from_the_image_built_of_the_release_as_their_user():
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")
    for name in HOSTS:
        h = host(name)
        # No Podman installed beside Docker.
        assert not h.exists("podman")
        script = h.file("/etc/etcd/etcd-start").content_string
        assert "/usr/bin/docker run" in script and "--read-only" in script and "--cap-drop=all" in script
        # The settings reach etcd by name, and its logs the unit's journal (not Docker's own).
        environ = h.check_output("docker inspect --format '{{join .Config.Env \"\\n\"}}' etcd")
        assert "ETCD_NAME=%s" % name in environ.splitlines()
        assert "ready to serve client requests" in h.check_output("journalctl -u etcd --no-pager -o cat")
        # Active only once the member answered: the wait after the start ended well, after etcd's readiness.
        assert "code=exited ; status=0 }" in h.check_output("systemctl show --property=ExecStartPost --value etcd")


def test_the_status_names_each_member_s_runtime():
    rc, out = playbook("status")
    assert rc == 0, out[-3000:]
    assert "runtime: dkr-host0 container (docker), dkr-host1 container (docker), dkr-host2 container (docker)" in out


def test_a_setting_rolls_the_containers_one_at_a_time_with_no_write_lost():
    roll_under_writer("setting", URL, *ROLLED)
    for name in HOSTS:
        assert "ETCD_SNAPSHOT_COUNT=5000" in host(name).file("/etc/etcd/etcd.env").content_string
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")


def test_the_members_move_to_the_binary_and_back_to_the_image_with_no_write_lost():
    roll_under_writer("to-host", URL, *ROLLED, "-e", "etcd_runtime=host")
    assert_runtime("host")
    roll_under_writer("to-container", URL, *ROLLED)
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")


def test_a_run_without_changes_changes_nothing():
    rc, out = playbook("etcd", *ROLLED)
    assert rc == 0, out[-3000:]
    assert_unchanged(out)


@pytest.mark.full
def test_an_upgrade_runs_the_image_of_the_new_release_with_no_write_lost():
    roll_under_writer("upgrade", URL, *UPGRADED, name="upgrade")
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")


@pytest.mark.full
def test_a_backup_restores_into_the_containers():
    backup_then_restore(URL, *UPGRADED)
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")


@pytest.mark.full
def test_the_maintenance_timer_runs_against_a_container_member():
    assert_maintenance_runs(HOSTS[0], *UPGRADED)


@pytest.mark.full
def test_quorum_is_recovered_from_the_survivor_s_container_after_two_hosts_are_killed_with_no_write_lost():
    recover_quorum_under_writer(URL, "container_docker", *UPGRADED)
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")
    for name in HOSTS[1:]:
        # The recreated hosts got Docker from prepare.yml; the role installed no Podman beside it.
        assert not host(name).exists("podman")


@pytest.mark.full
def test_a_ca_rotation_rolls_the_containers_three_times_with_no_write_lost():
    with open(os.path.join(PKI, "ca.pem"), "rb") as handle:
        old_ca = handle.read()
    roll_under_writer("ca-rotation", URL, *UPGRADED, "-e", "etcd_pki_rotate_ca=true", rolls=3, tls=rotating_tls)
    with open(os.path.join(PKI, "ca-bundle.pem"), "rb") as handle:
        assert old_ca not in handle.read(), "the old CA is still trusted"
    assert {Gateway(url).status()["version"] for url in URL.values()} == {"3.5.30"}
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")


@pytest.mark.full
def test_a_downgrade_runs_the_image_of_the_older_release_with_no_write_lost():
    roll_under_writer("downgrade", URL, *DOWNGRADED, "-e", "etcd_allow_downgrade=true", name="upgrade")
    assert_runtime("container", "localhost/raftops-etcd:v3.5.16")
    assert {Gateway(url).status()["version"] for url in URL.values()} == {"3.5.16"}
