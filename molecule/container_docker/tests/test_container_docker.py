"""Members that run etcd from an image under Docker (etcd_runtime: container on hosts with Docker and no
Podman), driven as an operator does: the deploy (converge, then Molecule's idempotence run), the
members' units and containers, the status, a setting rolled under a writer, a move to the binary and
back to the image under a writer, and a run that changes nothing. Marked full: an upgrade under a
writer (the image of the new release).

Tests run in file order: each starts from the cluster the previous one left. Each roll prints its
figures (time, writes acknowledged, failed and lost); the scenario runs pytest with -s.
"""

import pytest
from etcdtest import assert_unchanged, host, main_process, playbook, roll_under_writer

HOSTS = ["dkr-host0", "dkr-host1", "dkr-host2"]
URL = {h: "https://10.250.0.%d:2379" % (177 + i) for i, h in enumerate(HOSTS)}
# The settings every run after the first roll keeps (-e wins over the inventory).
ROLLED = ("-e", "etcd_snapshot_count=5000")


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
    assert "runtime: dkr-host0 container, dkr-host1 container, dkr-host2 container" in out


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
    roll_under_writer("upgrade", URL, *ROLLED, "-e", "etcd_version=3.5.30", name="upgrade")
    assert_runtime("container", "localhost/raftops-etcd:v3.5.30")
