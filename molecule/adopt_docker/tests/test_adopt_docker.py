"""The adoption of a cluster started with `docker run` under Docker's own engine (converge.yml: a
container per host, the host's network, the data in a directory of the host): the read finds each
member's container in `docker inspect`; the adopt playbook moves each member into the collection's
unit under a writer, killed after the first member, whose container then stays stopped through a
restart of Docker's daemon (its restart policy `always` is dropped first), and run again: the
cluster ID and member IDs kept, 0 acknowledged writes lost, the containers removed once every
member serves from its unit; a re-run changes nothing.

`make test` (-m "not full") walks the read and the adoption; the no-change re-run is marked full."""

import time

import pytest
from conftest import FIGURES
from etcdtest import (Gateway, PlaintextToTls, assert_moved_to_tls, assert_unchanged, host, interrupted_playbook,
                      longest_leaderless, longest_write_gap, playbook, seed_before, why_failed)

HOSTS = ["dk-host0", "dk-host1", "dk-host2"]
ADDRESS = {"dk-host0": "10.250.0.173", "dk-host1": "10.250.0.174", "dk-host2": "10.250.0.175"}
HTTP = {name: "http://%s:2379" % address for name, address in ADDRESS.items()}
HTTPS = {name: "https://%s:2379" % address for name, address in ADDRESS.items()}
IMAGE = "localhost/etcd:v3.5.16"
MOVE_PLAY = "PLAY [Move each member to TLS"
GATE = "TASK [raftops.etcd.etcd : Wait until the cluster is healthy and caught up before restarting"


def note(line):
    with open(FIGURES, "a") as handle:
        handle.write(line + "\n")


def run(name, command):
    result = host(name).run(command)
    assert result.rc == 0, (name, command, result.stdout[-1000:], result.stderr[-2000:])
    return result.stdout.strip()


def test_the_read_finds_the_docker_container_and_its_settings():
    result = host("dk-host1").ansible("raftops.etcd.etcd_adopt_info", check=False, become=True)
    assert result["running"] and result["unit"] == "" and result["environment_from"] == "container", result
    box = result["container"]
    assert (box["runtime"], box["name"], box["image"], box["network"], box["restart"]) == (
        "docker", "etcd", IMAGE, "host", "always")
    assert box["command"] == "/usr/bin/docker"
    assert box["mounts"] == [dict(type="bind", name="", source="/var/lib/etcd-data", destination="/etcd-data")]
    assert box["paths"] == {"ETCD_DATA_DIR": "/etcd-data"} and box["inside_only"] == []
    assert result["settings"]["ETCD_DATA_DIR"] == "/var/lib/etcd-data" and result["settings"]["ETCD_NAME"] == "dk-host1"
    assert result["settings"]["ETCD_INITIAL_CLUSTER_TOKEN"] == "<hidden>"
    assert result["version"] == "3.5.16" and len(result["local"]["members"]) == 3


def test_the_containers_are_adopted_under_a_writer_killed_after_the_first_member_and_run_again():
    cluster_id, member_ids = seed_before(Gateway(HTTP["dk-host0"]))
    clients = PlaintextToTls(HTTP, HTTPS)
    clients.start()
    gates = []

    def second_gate(line):
        # The take-over roll's second health gate: the first member serves from the unit.
        if line.startswith(GATE):
            gates.append(line)
        return len(gates) == 2 and line.startswith(GATE)

    started = time.monotonic()
    times = []
    try:
        rc, killed = interrupted_playbook("adopt", [], second_gate)
        assert rc != 0 and len(gates) == 2, killed[-3000:]
        assert "moves: docker container etcd (image %s, network host, its /etcd-data on the host's /var/lib/etcd-data)" \
            % IMAGE in killed
        taken_over = [n for n in HOSTS if host(n).run("systemctl is-active etcd").stdout.strip() == "active"]
        assert len(taken_over) == 1, (taken_over, killed[-3000:])
        first = taken_over[0]
        # Its container stopped, not removed yet (that waits until every member serves from its unit),
        # and no longer restarted by Docker: a restart of the daemon leaves it stopped.
        run(first, "systemctl restart docker")
        assert run(first, "docker ps -a --format '{{.Names}} {{.State}}'") == "etcd exited"
        assert run(first, "docker inspect --format '{{.HostConfig.RestartPolicy.Name}}' etcd") == "no"
        assert run(first, "systemctl is-active etcd") == "active"
        rc, out = interrupted_playbook("adopt", [], MOVE_PLAY, fault=clients.tls_from_here, times=times)
    finally:
        clients.stop()
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    assert "the collection's already" in out
    lost = assert_moved_to_tls(HTTP, HTTPS, cluster_id, member_ids, clients)

    for name in HOSTS:
        h = host(name)
        # The collection's unit runs the member as etcd, from the data where the container had it;
        # the containers are gone, the image stays.
        assert h.run("systemctl show etcd -p FragmentPath").stdout.strip() == "FragmentPath=/etc/systemd/system/etcd.service"
        assert h.file("/etc/etcd/etcd.env").contains("^ETCD_DATA_DIR=/var/lib/etcd-data$")
        assert h.run("ps -o user= -C etcd").stdout.split() == ["etcd"]
        assert h.run("find /var/lib/etcd-data ! -user etcd").stdout == ""
        assert run(name, "docker ps -a --format '{{.Names}}'") == ""
        assert run(name, "docker image ls --format '{{.Repository}}:{{.Tag}}'") == IMAGE
        assert not h.file("/etc/systemd/system/etcd.service.d/adopt.conf").exists

    move_at = next(t for t, line in times if line.startswith(MOVE_PLAY))
    plain, tls = clients.writers()
    note("adoption of 3 docker-run members, killed after the first and run again (read, plan, take-over roll, TLS "
         "move roll, containers removed): %.0f s; the second run's TLS move from %.0f s on" % (took, move_at - times[0][0]))
    note("writes acknowledged: %d over plaintext, %d over TLS; lost: %d; failed (sent, not acknowledged): %d + %d"
         % (len(plain.acked), len(tls.acked), len(lost), len(plain.failed), len(tls.failed)))
    note("longest gap between acknowledged writes: %.2f s" % longest_write_gap(clients.writers()))
    note("longest time without a leader: %.2f s" % longest_leaderless(clients.watches)[0])


@pytest.mark.full
def test_a_re_run_of_the_adoption_changes_nothing():
    rc, again = playbook("adopt")
    assert rc == 0, again[-4000:]
    assert_unchanged(again, HOSTS)
    assert again.count("the collection's already") == len(HOSTS)
