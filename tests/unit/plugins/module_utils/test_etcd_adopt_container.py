"""A member that `docker run` or `podman run` started: the read of its container (module_utils/host/
container.py, on `podman inspect` and `docker inspect` output of real shape), the plan that moves it
into the collection's unit, and the refusals, each naming the host, before any change."""

import copy
import json
import os

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host.container import (
    container_of_cgroup,
    container_reading,
    host_path,
    host_settings,
)
from ansible_collections.raftops.etcd.plugins.module_utils.plan.adopt import adopt_plan, effective_settings, plan_adoption, shown
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_adopt import INVENTORY, MEMBERS, read

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
PODMAN_ID = "ecb956669046ab51fc1d4e8fe71976b7c9160c19efe99f7e7c8af23734481ffa"
DOCKER_ID = "5b2f8e3c9a1d4e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"


def inspect(name):
    with open(os.path.join(FIXTURES, name + ".json")) as handle:
        return json.load(handle)[0]


@pytest.mark.parametrize("cgroup, expected", [
    # podman 5 on cgroup v1 (a test host of this project), etcd's own line, conmon's beside it
    ("9:name=systemd:/../../machine.slice/libpod-%s.scope\n1:cpu:/machine.slice/libpod-%s.scope\n" % (PODMAN_ID, PODMAN_ID),
     ("podman", PODMAN_ID)),
    ("0::/machine.slice/libpod-conmon-%s.scope\n" % PODMAN_ID, None),
    # podman's cgroupfs manager, docker's systemd and cgroupfs drivers
    ("0::/libpod_parent/libpod-%s\n" % PODMAN_ID, ("podman", PODMAN_ID)),
    ("0::/system.slice/docker-%s.scope\n" % DOCKER_ID, ("docker", DOCKER_ID)),
    ("12:pids:/docker/%s\n" % DOCKER_ID, ("docker", DOCKER_ID)),
    # a unit's process, and docker's own daemon
    ("0::/system.slice/etcd.service\n", None),
    ("0::/system.slice/docker.service\n", None),
])
def test_the_container_a_process_runs_in_is_read_from_its_cgroup(cgroup, expected):
    assert container_of_cgroup(cgroup) == expected


def test_podman_run_with_the_host_network_and_a_data_directory_on_the_host_reads_as_started():
    box = container_reading(inspect("podman-inspect-host"), "podman")
    assert (box["runtime"], box["id"], box["name"], box["image"]) == ("podman", PODMAN_ID, "etcd", "localhost/etcd:v3.5.1")
    assert box["network"] == "host" and box["ports"] == {} and box["restart"] == "always" and box["systemd_unit"] == ""
    assert box["mounts"] == [dict(type="bind", name="", source="/var/lib/etcd-data", destination="/etcd-data")]
    assert box["argv"][:5] == ["/usr/local/bin/etcd", "--name", "etcd-host0", "--data-dir", "/etcd-data"]
    settings, sources = effective_settings(box["argv"][1:], box["environ"])
    # Only etcd's variables, and its command line over them; the token is never shown.
    assert sources["ETCD_INITIAL_CLUSTER_TOKEN"] == "environment" and sources["ETCD_DATA_DIR"] == "command line"
    assert "PATH" not in settings and shown(settings)["ETCD_INITIAL_CLUSTER_TOKEN"] == "<hidden>"
    on_host, paths, inside_only = host_settings(settings, box["mounts"])
    assert on_host["ETCD_DATA_DIR"] == "/var/lib/etcd-data" and paths == {"ETCD_DATA_DIR": "/etcd-data"} and inside_only == []
    assert on_host["ETCD_ADVERTISE_CLIENT_URLS"] == "http://10.0.0.11:2379"


def test_podman_run_on_a_bridge_with_a_named_volume_reads_its_published_ports_and_the_volume_s_place():
    box = container_reading(inspect("podman-inspect-bridge-volume"), "podman")
    assert box["network"] == "bridge" and box["ports"] == {"2379": [12379], "2380": [2380]}
    assert box["mounts"] == [dict(type="volume", name="etcd-vol", source="/var/lib/containers/storage/volumes/etcd-vol/_data",
                                  destination="/data")]
    on_host, _paths, _inside = host_settings(effective_settings(box["argv"][1:], box["environ"])[0], box["mounts"])
    assert on_host["ETCD_DATA_DIR"] == "/var/lib/containers/storage/volumes/etcd-vol/_data/etcd"


def test_docker_run_reads_alike_its_name_without_docker_s_slash():
    box = container_reading(inspect("docker-inspect-bridge"), "docker")
    assert (box["name"], box["image"], box["restart"]) == ("etcd", "gcr.io/etcd-development/etcd:v3.5.16", "unless-stopped")
    assert box["ports"] == {"2379": [2379], "2380": [2380]}
    assert box["mounts"][0]["source"] == "/var/lib/docker/volumes/etcd-data/_data"
    assert effective_settings(box["argv"][1:], box["environ"])[0]["ETCD_INITIAL_CLUSTER_TOKEN"] == "etcd-cluster-1"


def test_a_path_is_on_the_host_below_the_deepest_mount_that_keeps_it():
    mounts = [dict(type="bind", name="", source="/srv/etcd", destination="/var/lib/etcd"),
              dict(type="bind", name="", source="/srv/tls", destination="/var/lib/etcd/tls"),
              dict(type="tmpfs", name="", source="", destination="/tmp")]
    assert host_path("/var/lib/etcd/data/", mounts) == "/srv/etcd/data"
    assert host_path("/var/lib/etcd/tls/ca.crt", mounts) == "/srv/tls/ca.crt"
    assert host_path("/var/lib/etcd", mounts) == "/srv/etcd"
    assert host_path("/var/lib/etcd-other", mounts) == ""
    # A tmpfs keeps nothing on the host.
    assert host_path("/tmp/data", mounts) == ""
    assert host_settings({"ETCD_DATA_DIR": "/tmp/data", "ETCD_CERT_FILE": "/var/lib/etcd/tls/c.pem", "ETCD_NAME": "a"}, mounts) == (
        {"ETCD_DATA_DIR": "/tmp/data", "ETCD_CERT_FILE": "/srv/tls/c.pem", "ETCD_NAME": "a"},
        {"ETCD_DATA_DIR": "/tmp/data", "ETCD_CERT_FILE": "/var/lib/etcd/tls/c.pem"}, ["ETCD_DATA_DIR"])


def container_read(i, fixture="podman-inspect-host", runtime="podman", change_inspect=None, **change):
    """The read of member m<i> as etcd_adopt_info makes it of a container: the fixture's container,
    started with m<i>'s name and address, its settings with the paths the host has."""
    raw = copy.deepcopy(inspect(fixture))
    address = "10.0.0.%d" % (10 + i)
    raw["Path"], raw["Args"] = "/usr/local/bin/etcd", [
        "--name", "m%d" % i, "--data-dir", raw["Mounts"][0]["Destination"] if raw["Mounts"] else "/etcd-data",
        "--advertise-client-urls", "http://%s:2379" % address, "--initial-advertise-peer-urls", "http://%s:2380" % address]
    (change_inspect or (lambda raw: None))(raw)
    box = dict(container_reading(raw, runtime), command="/usr/bin/" + runtime)
    settings, _sources = effective_settings(box.pop("argv")[1:], box.pop("environ"))
    settings, box["paths"], box["inside_only"] = host_settings(settings, box["mounts"])
    result = read(i, unit="", unit_path="", env_files=[], user="root", exe="/usr/local/bin/etcd", version="3.5.16",
                  container=box, **change)
    result["settings"] = shown(settings)
    return result


def container_reads(**kwargs):
    return {"h%d" % i: container_read(i, **kwargs) for i in range(3)}


def test_a_podman_run_cluster_is_planned_into_the_collection_s_unit_its_data_kept_in_place():
    plan = adopt_plan(MEMBERS, container_reads(), dict(etcd_pki_dir="/nonexistent"))
    assert plan["refusal"] == "" and plan["upgrade_first"] == {}
    assert plan["hosts"]["h1"] == dict(etcd_data_dir="/var/lib/etcd-data", etcd_wal_dir="", etcd_user="etcd",
                                       etcd_peer_port=2380, etcd_client_port=2379)
    assert plan["take_over"]["h1"]["container"] == dict(runtime="podman", command="/usr/bin/podman", name="etcd")
    assert plan["take_over"]["h1"]["chown"] == ["/var/lib/etcd-data"] and plan["take_over"]["h1"]["old_unit"] == ""
    lines = plan["lines"]["h2"]
    assert lines[0] == "member m2, cluster c1, the leader: restarted last"
    assert lines[1].startswith("stays: the data in /var/lib/etcd-data, owned by root -> by etcd")
    assert lines[2] == (
        "moves: podman container etcd (image localhost/etcd:v3.5.1, network host, its /etcd-data on the host's "
        "/var/lib/etcd-data) -> the collection's etcd 3.5.16, binaries and unit, run as etcd: the container is stopped at "
        "the unit's start and removed once every member serves from its unit (podman rm, its volumes kept)")
    # The container stops when the collection's unit starts (before the data is given to etcd);
    # the drop-in names it for the removal once every member serves from its unit.
    assert plan["steps"]["h0"]["drop_in"] == (
        "# raftops.etcd adopt playbook: the take-over of this member (removed when the adoption ends).\n"
        "[Unit]\nX-Adopt-Container=/usr/bin/podman etcd\n"
        "[Service]\nExecStartPre=-+/usr/bin/podman stop --time 60 etcd\n"
        "ExecStartPre=+/bin/chown -R etcd:etcd /var/lib/etcd-data\n")
    assert plan["plays"] == dict(plain_take_over=[], upgrade=[], take_over=["h0", "h1", "h2"], tls_move=["h0", "h1", "h2"], retire=["h0", "h1", "h2"])


def test_a_named_volume_s_data_is_moved_to_etcd_data_dir_at_the_take_over():
    plan = plan_adoption(MEMBERS, container_reads(fixture="docker-inspect-bridge", runtime="docker", data_move=dict(
        target="/var/lib/etcd", same_filesystem=True, target_state="absent")), INVENTORY)
    assert plan["refusal"] == ""
    assert plan["hosts"]["h0"]["etcd_data_dir"] == "/var/lib/etcd"
    assert plan["take_over"]["h0"]["move"] == dict(source="/var/lib/docker/volumes/etcd-data/_data", target="/var/lib/etcd",
                                                   empty=False)


def test_a_docker_container_s_drop_in_stops_it_after_its_restart_policy_went():
    plan = adopt_plan(MEMBERS, container_reads(fixture="docker-inspect-bridge", runtime="docker", data_move=dict(
        target="/var/lib/etcd", same_filesystem=True, target_state="absent")), dict(etcd_pki_dir="/nonexistent"))
    drop_in = plan["steps"]["h0"]["drop_in"].splitlines()
    assert drop_in.index("ExecStartPre=-+/usr/bin/docker update --restart=no etcd") < drop_in.index(
        "ExecStartPre=-+/usr/bin/docker stop --time 60 etcd") < next(i for i, line in enumerate(drop_in) if "nsenter" in line)


def without_mounts(raw):
    raw["Mounts"] = []


def published_elsewhere(raw):
    raw["HostConfig"]["NetworkMode"] = "bridge"
    raw["HostConfig"]["PortBindings"] = {"2379/tcp": [{"HostIp": "", "HostPort": "12379"}],
                                         "2380/tcp": [{"HostIp": "", "HostPort": "2380"}]}


def run_by_a_unit(raw):
    raw["Config"]["Labels"] = {"PODMAN_SYSTEMD_UNIT": "container-etcd.service"}


@pytest.mark.parametrize("kwargs, expected", [
    (dict(change_inspect=without_mounts),
     "host h1: its podman container etcd keeps its data (ETCD_DATA_DIR /etcd-data) only inside itself, on no volume or "
     "bind mount: the data goes with the container. With the member stopped, copy it to the host (podman cp "
     "etcd:/etcd-data /var/lib/etcd) and start the container again with that directory mounted (-v "
     "/var/lib/etcd:/etcd-data), then run the adoption again"),
    (dict(change_inspect=published_elsewhere),
     "host h1: its podman container etcd (network bridge) publishes its ports as 2379 -> 12379, 2380 -> 2380 (container "
     "-> host), but its member advertises client URL http://10.0.0.11:2379: the collection's etcd listens on the host "
     "at the ports the member advertises, so with this mapping its URLs would change; publish each of etcd's ports at "
     "the same host port (-p 2380:2380 -p 2379:2379) or run it on the host's network (--network host) first"),
    (dict(fixture="docker-inspect-bridge", runtime="docker"),
     "host h1: its docker container etcd keeps ETCD_DATA_DIR in its volume etcd-data "
     "(/var/lib/docker/volumes/etcd-data/_data), which goes with a removal of the container (rm -v) or a volume "
     "prune: set etcd_data_dir to where the adoption moves the data, on the same filesystem (such as /var/lib/etcd)"),
    (dict(change_inspect=run_by_a_unit),
     "host h1: its podman container etcd is run by the systemd unit container-etcd.service (podman's "
     "PODMAN_SYSTEMD_UNIT label), which the adoption does not take over yet"),
])
def test_what_a_container_cannot_be_adopted_with_is_refused_by_name_before_any_change(kwargs, expected):
    reads = container_reads()
    reads["h1"] = container_read(1, **kwargs)
    plan = adopt_plan(MEMBERS, reads, dict(etcd_pki_dir="/nonexistent"))
    assert expected in plan["refusal"] and plan["refusal"].endswith("; nothing was changed"), plan["refusal"]
    # The other hosts are named in none of it, and no play gets a host.
    assert "host h0" not in plan["refusal"] and "host h2" not in plan["refusal"]
    assert plan["plays"] == dict(plain_take_over=[], upgrade=[], take_over=[], tls_move=[], retire=[])
    assert all(steps["drop_in"] == "" for steps in plan["steps"].values())


def test_a_runtime_the_host_does_not_have_is_refused_by_name_and_not_taken_for_etcd_outside_systemd():
    reads = container_reads()
    reads["h2"]["container"] = dict(runtime="docker", id=DOCKER_ID, error="the host has no docker command")
    plan = plan_adoption(MEMBERS, reads, INVENTORY)
    assert plan["refusal"] == (
        "host h2: its etcd runs in a docker container (5b2f8e3c9a1d), but the host has no docker command; the adoption "
        "reads the container's config, stops it and removes it with docker's own command: install that runtime's "
        "command on the host first; nothing was changed")


def test_a_member_the_collection_runs_already_needs_no_container_step():
    # A run stopped after h0's take-over: the collection's unit runs h0's etcd, its container is
    # stopped (the drop-in that names it stays until the adoption ends).
    reads = container_reads()
    reads["h0"] = read(0, unit="etcd.service", env_files=["/etc/etcd/etcd.env"], version="3.5.16",
                       ETCD_DATA_DIR="/var/lib/etcd-data")
    plan = adopt_plan(MEMBERS, reads, dict(etcd_pki_dir="/nonexistent"))
    assert plan["refusal"] == "" and "h0" not in plan["take_over"]
    assert plan["steps"]["h0"]["drop_in"] == "" and "X-Adopt-Container" in plan["steps"]["h1"]["drop_in"]
    assert plan["plays"]["retire"] == ["h0", "h1", "h2"]
