"""The adoption of a cluster started with `podman run` (converge.yml: a container per host, the
host's network, the data in a directory of the host): the read finds each member's container and
its settings in the container's config; a container it cannot take over (data only inside it, a
port mapping that moves the advertised port) and a runtime the host lacks are refused by name with
every host unchanged; the adopt playbook then moves each member into the collection's unit under a
writer, killed after the first member and run again, the cluster ID kept and 0 acknowledged
writes lost, and removes the containers once every member serves from its unit; a re-run changes
nothing.

`make test` (-m "not full") walks the read, the refused run and the adoption; the no-change re-run
is marked full."""

import json
import time

import pytest
from conftest import FIGURES
from etcdtest import (Gateway, LeaderWatch, Writer, assert_unchanged, fingerprint, host, interrupted_playbook, playbook,
                      poll, read_whole, why_failed)

HOSTS = ["dr-host0", "dr-host1", "dr-host2"]
ADDRESS = {"dr-host0": "10.250.0.160", "dr-host1": "10.250.0.161", "dr-host2": "10.250.0.162"}
HTTP = {name: "http://%s:2379" % address for name, address in ADDRESS.items()}
HTTPS = {name: "https://%s:2379" % address for name, address in ADDRESS.items()}
IMAGE = "localhost/etcd:v3.5.16"
PODMAN = "PODMAN_IGNORE_CGROUPSV1_WARNING=1 podman"
MOVE_PLAY = "PLAY [Move each member to TLS"
GATE = "TASK [raftops.etcd.etcd : Wait until the cluster is healthy and caught up before restarting"


def note(line):
    with open(FIGURES, "a") as handle:
        handle.write(line + "\n")


def state():
    """What a refused run must not change: the collection's files and process, the containers, the
    data directory's owner, and no take-over drop-in."""
    prints = fingerprint(HOSTS)
    for name in HOSTS:
        prints[name] += read_whole(name, "%s ps -a --format '{{.Names}} {{.State}} {{.ID}}'; stat -c '%%U %%a' "
                                         "/var/lib/etcd-data; ls /etc/systemd/system/etcd.service.d 2>&1" % PODMAN)
    return prints


def plan_lines(out, name):
    """The plan the adoption showed for ``name`` (its debug message, as JSON)."""
    shown = out.split("TASK [Show the plan of each member]", 1)[1].split("ok: [%s] => {" % name, 1)[1]
    return [json.loads(line.strip().rstrip(",")) for line in shown.split("]", 1)[0].splitlines()[2:] if line.strip()]


def run(name, script):
    result = host(name).run("set -e\nexport PODMAN_IGNORE_CGROUPSV1_WARNING=1\n" + script)
    assert result.rc == 0, (name, result.stdout[-1000:], result.stderr[-2000:])
    return result.stdout


def healthy(urls):
    """Every member answers at its client URL, and they agree on a leader."""
    try:
        return len({Gateway(url, timeout=3).status()["leader"] for url in urls}) == 1
    except (OSError, ValueError, KeyError):
        return False


def test_the_read_finds_the_container_and_its_settings_in_the_container_s_config():
    result = host("dr-host1").ansible("raftops.etcd.etcd_adopt_info", check=False, become=True)
    assert result["running"] and result["unit"] == "" and result["environment_from"] == "container", result
    box = result["container"]
    assert (box["runtime"], box["name"], box["image"], box["network"]) == ("podman", "etcd", IMAGE, "host")
    assert box["mounts"] == [dict(type="bind", name="", source="/var/lib/etcd-data", destination="/etcd-data")]
    assert box["paths"] == {"ETCD_DATA_DIR": "/etcd-data"} and box["inside_only"] == []
    # The data dir as the host has it; the token from the container's environment, hidden.
    assert result["settings"]["ETCD_DATA_DIR"] == "/var/lib/etcd-data" and result["settings"]["ETCD_NAME"] == "dr-host1"
    assert result["settings"]["ETCD_INITIAL_CLUSTER_TOKEN"] == "<hidden>"
    assert result["sources"]["ETCD_INITIAL_CLUSTER_TOKEN"] == "environment"
    assert result["version"] == "3.5.16" and len(result["local"]["members"]) == 3


# dr-host2's member moved, for the refused run, into a container that keeps its data inside itself
# and publishes its client port at another host port (bridge network), advertised there; back
# into its own container afterwards, with what it wrote meanwhile.
INTO_A_BAD_CONTAINER = f"""
{PODMAN} stop etcd >/dev/null
{PODMAN} create --name etcd-inside -p 12379:2379 -p 2380:2380 {IMAGE} /usr/local/bin/etcd --name dr-host2 \\
  --data-dir /etcd-data --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://10.250.0.162:12379 \\
  --listen-peer-urls http://0.0.0.0:2380 --initial-advertise-peer-urls http://10.250.0.162:2380 >/dev/null
{PODMAN} cp /var/lib/etcd-data etcd-inside:/etcd-data
{PODMAN} start etcd-inside >/dev/null
"""
BACK_INTO_ITS_OWN = f"""
{PODMAN} stop etcd-inside >/dev/null
rm -rf /var/lib/etcd-data/member
{PODMAN} cp etcd-inside:/etcd-data/member /var/lib/etcd-data/member
{PODMAN} rm etcd-inside >/dev/null
{PODMAN} start etcd >/dev/null
"""


def test_what_cannot_be_adopted_is_refused_by_name_and_nothing_changes():
    before = state()
    run("dr-host2", INTO_A_BAD_CONTAINER)
    try:
        assert poll(lambda: healthy([HTTP["dr-host0"], HTTP["dr-host1"], "http://10.250.0.162:12379"]), 60)
        # dr-host1 lacks the runtime of the container that runs its member (its command moved away).
        run("dr-host1", "mv /usr/bin/podman /usr/bin/podman.away")
        try:
            rc, out = playbook("adopt")
        finally:
            run("dr-host1", "mv /usr/bin/podman.away /usr/bin/podman")
    finally:
        run("dr-host2", BACK_INTO_ITS_OWN)
    assert rc != 0
    assert ("host dr-host2: its podman container etcd-inside keeps its data (ETCD_DATA_DIR /etcd-data) only inside "
            "itself, on no volume or bind mount: the data goes with the container.") in out, out[-4000:]
    assert ("host dr-host2: its podman container etcd-inside (network bridge) publishes its ports as 2379 -> 12379, "
            "2380 -> 2380 (container -> host), but its member advertises client URL http://10.250.0.162:12379") in out
    assert "host dr-host1: its etcd runs in a podman container (" in out
    assert "but the host has no podman command; the adoption reads the container's config" in out
    assert "host dr-host0:" not in out and "nothing was changed" in out
    assert "TASK [raftops.etcd.etcd" not in out
    assert poll(lambda: healthy(list(HTTP.values())), 60)
    after = state()
    # dr-host2's own container ran again (a new ID is none: the same container), its member wrote on.
    assert after == before


def test_the_containers_are_adopted_under_a_writer_killed_after_the_first_member_and_run_again():
    plain = Gateway(HTTP["dr-host0"])
    assert poll(lambda: len([m for m in plain.members() if m.get("clientURLs")]) == 3, 60)
    for n in range(200):
        plain.put("/before/%03d" % n, "v%d" % n)
    cluster_id = plain.status()["header"]["cluster_id"]
    member_ids = sorted(m["ID"] for m in plain.members())

    plain_writer = Writer(list(HTTP.values()), prefix="/plain/")
    tls_writer = Writer(list(HTTPS.values()), prefix="/tls/")
    plain_writer.start()
    watches = [LeaderWatch(HTTP)]
    watches[0].start()
    gates = []

    def second_gate(line):
        # The take-over roll's second health gate: the first member serves from the unit.
        if line.startswith(GATE):
            gates.append(line)
        return len(gates) == 2 and line.startswith(GATE)

    def tls_from_here():
        tls_writer.start()
        watches.append(LeaderWatch(HTTPS))
        watches[-1].start()

    started = time.monotonic()
    times = []
    try:
        rc, killed = interrupted_playbook("adopt", [], second_gate)
        assert rc != 0 and len(gates) == 2, killed[-3000:]
        assert "moves: podman container etcd (image %s, network host, its /etcd-data on the host's /var/lib/etcd-data)" \
            % IMAGE in killed
        taken_over = [n for n in HOSTS if run(n, "systemctl is-active etcd || true").strip() == "active"]
        assert len(taken_over) == 1, (taken_over, killed[-3000:])
        # Its container stopped, not removed yet: that waits until every member serves from its unit.
        assert run(taken_over[0], "%s ps -a --format '{{.Names}} {{.State}}'" % PODMAN).split() == ["etcd", "exited"]
        rc, out = interrupted_playbook("adopt", [], MOVE_PLAY, fault=tls_from_here, times=times)
    finally:
        plain_writer.stop()
        if tls_writer.is_alive():
            tls_writer.stop()
        for watch in watches:
            watch.stop()
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    assert "the collection's already" in out

    tls = Gateway(HTTPS["dr-host0"])
    assert tls.status()["header"]["cluster_id"] == cluster_id
    assert sorted(m["ID"] for m in tls.members()) == member_ids
    assert sorted(u for m in tls.members() for u in m["clientURLs"]) == sorted(HTTPS.values())
    assert all(tls.get("/before/%03d" % n) == "v%d" % n for n in range(200))
    lost = plain_writer.lost(tls) + tls_writer.lost(tls)
    assert lost == [], lost[:10]
    assert len(plain_writer.acked) > 50 and len(tls_writer.acked) > 50

    for name in HOSTS:
        h = host(name)
        # The collection's unit runs the member as etcd, from the data where the container had it;
        # the containers are gone, the image stays.
        assert h.run("systemctl show etcd -p FragmentPath").stdout.strip() == "FragmentPath=/etc/systemd/system/etcd.service"
        assert h.file("/etc/etcd/etcd.env").contains("^ETCD_DATA_DIR=/var/lib/etcd-data$")
        assert h.run("ps -o user= -C etcd").stdout.split() == ["etcd"]
        assert h.run("find /var/lib/etcd-data ! -user etcd").stdout == ""
        assert run(name, "%s ps -a --format '{{.Names}}'" % PODMAN).strip() == ""
        assert run(name, "%s image exists %s && echo kept" % (PODMAN, IMAGE)).strip() == "kept"
        assert not h.file("/etc/systemd/system/etcd.service.d/adopt.conf").exists
    assert "etcd_data_dir=/var/lib/etcd-data" in out.split("Keep these lines in the inventory", 1)[1]

    acked_times = sorted(float(v.split("-", 1)[1]) for w in (plain_writer, tls_writer) for v in w.acked.values())
    move_at = next(t for t, line in times if line.startswith(MOVE_PLAY))
    note("adoption of 3 podman-run members, killed after the first and run again (read, plan, take-over roll, TLS "
         "move roll, containers removed): %.0f s; the second run's TLS move from %.0f s on" % (took, move_at - times[0][0]))
    note("writes acknowledged: %d over plaintext, %d over TLS; lost: %d; failed (sent, not acknowledged): %d + %d"
         % (len(plain_writer.acked), len(tls_writer.acked), len(lost), len(plain_writer.failed), len(tls_writer.failed)))
    note("longest gap between acknowledged writes: %.2f s" % max(b - a for a, b in zip(acked_times, acked_times[1:])))
    led = sorted(t for watch in watches for t, _name, _me, leader, _term in watch.samples if leader != "0")
    note("longest time without a leader: %.2f s" % max(b - a for a, b in zip(led, led[1:])))
    note("the plan of dr-host0, as the killed run showed it:\n  " + "\n  ".join(plan_lines(killed, "dr-host0")))


@pytest.mark.full
def test_a_re_run_of_the_adoption_changes_nothing():
    rc, again = playbook("adopt")
    assert rc == 0, again[-4000:]
    assert_unchanged(again, HOSTS)
    assert again.count("the collection's already") == len(HOSTS)
