"""The adoption of a cluster built with Debian 12's etcd-server package (etcd 3.4.23, plaintext;
converge.yml): the plan shown first, then the adopt playbook takes the members over in plaintext at
3.4.23, upgrades them to 3.5 in plaintext (etcd 3.4 cannot serve plaintext and TLS callers on one
client port) and moves them to TLS, under a writer and a watcher through every step: killed in the
upgrade and run again, the cluster ID and member IDs kept, 0 acknowledged writes lost; a re-run
changes nothing.

`make test` (-m "not full") walks the read, the adoption (killed once, run again) and the re-run; marked
full: the plan-only run, the refusal of the cluster with auth on (nothing changed), and, on the package
cluster built again on fresh hosts, an adoption SIGKILLed in its plaintext take-over, then again in its
move to TLS, which a third run finishes (the other resume points)."""

import collections
import os
import subprocess
import time

import pytest
from conftest import FIGURES
from etcdtest import (INVENTORY, ROOT, Gateway, PlaintextToTls, UserGateway, ansible_env, assert_moved_to_tls,
                      assert_unchanged, host, interrupted_playbook, longest_leaderless, longest_write_gap,
                      package_cluster_state, playbook, run_testbed, seed_before, why_failed)

HOSTS = ["adopt-bookworm-host0", "adopt-bookworm-host1", "adopt-bookworm-host2"]
ADDRESS = dict(zip(HOSTS, ["10.250.0.150", "10.250.0.151", "10.250.0.152"]))
HTTP = {name: "http://%s:2379" % address for name, address in ADDRESS.items()}
HTTPS = {name: "https://%s:2379" % address for name, address in ADDRESS.items()}
PLAIN_TAKE_OVER_PLAY = "PLAY [Take each member over in plaintext"
UPGRADE_PLAY = "PLAY [Upgrade each member to 3.5 in plaintext"
TAKE_OVER_PLAY = "PLAY [Take each member over (a plaintext one serving TLS beside plaintext)"
MOVE_PLAY = "PLAY [Move each member to TLS"
UPGRADE_LINE = ("upgrades: etcd 3.4.23 -> 3.5.30 in plaintext, by the collection's upgrade roll (a snapshot first), "
                "before the move to TLS: etcd before 3.5.16 cannot serve plaintext and TLS callers on one client port")


def note(line):
    with open(FIGURES, "a") as handle:
        handle.write(line + "\n")


def test_the_read_shows_what_debian_12_s_package_runs():
    result = host("adopt-bookworm-host1").ansible("raftops.etcd.etcd_adopt_info", check=False, become=True)
    assert result["running"] and result["version"] == "3.4.23", result
    assert result["exe"] == "/usr/bin/etcd" and result["user"] == "etcd" and result["unit"] == "etcd.service"
    # Debian 12's package puts its unit below /lib
    assert result["unit_path"] == "/lib/systemd/system/etcd.service" and result["env_files"] == ["/etc/default/etcd"]
    assert result["settings"]["ETCD_DATA_DIR"] == "/var/lib/etcd/default"
    assert len(result["local"]["members"]) == 3 and result["local"]["status"]["leader_id"]


@pytest.mark.full
def test_asked_for_the_plan_only_it_shows_the_way_through_3_5_and_nothing_changes():
    before = package_cluster_state(HOSTS)
    rc, out = playbook("adopt", check=True)
    assert rc == 0, why_failed(out)
    assert UPGRADE_LINE in out, out[-3000:]
    assert "restarts: four times, one member at a time" in out
    assert "only the plan was asked for (--check or etcd_adopt_plan_only), nothing was changed" in out
    for play in (PLAIN_TAKE_OVER_PLAY, UPGRADE_PLAY, TAKE_OVER_PLAY, MOVE_PLAY):
        assert out.split(play, 1)[1].split("\n")[1].strip() == "skipping: no hosts matched", out[-3000:]
    assert package_cluster_state(HOSTS) == before


@pytest.mark.full
def test_a_cluster_with_auth_on_is_refused_by_name_and_nothing_changes():
    gateway = Gateway(HTTP["adopt-bookworm-host0"])
    gateway.call("/v3/auth/user/add", {"name": "root", "password": "root-pw"})
    gateway.call("/v3/auth/user/grant", {"user": "root", "role": "root"})
    gateway.call("/v3/auth/enable")
    try:
        before = package_cluster_state(HOSTS)
        rc, out = playbook("adopt")
        assert rc != 0
        assert ("hosts adopt-bookworm-host0, adopt-bookworm-host1, adopt-bookworm-host2: the cluster has auth (RBAC) "
                "enabled, and a plaintext cluster on etcd 3.4.23 is upgraded to 3.5") in " ".join(out.split()), why_failed(out)
        for play in (PLAIN_TAKE_OVER_PLAY, UPGRADE_PLAY, TAKE_OVER_PLAY, MOVE_PLAY):
            assert play not in out or out.split(play, 1)[1].split("\n")[1].strip() == "skipping: no hosts matched"
        assert package_cluster_state(HOSTS) == before
    finally:
        # As the refusal says: auth off for the adoption (here: and the user gone, as before the test).
        UserGateway(HTTP["adopt-bookworm-host0"], "root", "root-pw").call("/v3/auth/disable")
        gateway.call("/v3/auth/user/delete", {"name": "root"})


def after_the_first_restart_in(play, on_play=None):
    """A matcher of interrupted_playbook: true at the first member's gate after its restart in ``play``
    (the others not restarted there yet); ``on_play()`` is called once as the play begins."""
    seen = []

    def matches(line):
        if line.startswith(play):
            seen.append(line)
            if on_play is not None and len(seen) == 1:
                on_play()
        return bool(seen) and line.startswith("TASK [raftops.etcd.etcd : Wait until the cluster is healthy and caught up with ")
    return matches


def in_the_upgrade_after_the_first_restart():
    """On the first member's restart on 3.5, in the upgrade play (the others still run 3.4.23)."""
    return after_the_first_restart_in(UPGRADE_PLAY)


def test_the_package_cluster_is_adopted_through_3_5_under_a_writer_and_a_watcher_killed_in_the_upgrade():
    cluster_id, member_ids = seed_before(Gateway(HTTP["adopt-bookworm-host0"]))
    clients = PlaintextToTls(HTTP, HTTPS)
    clients.start()
    started = time.monotonic()
    times = []
    try:
        # SIGKILLed (a controller that died) once the first member runs 3.5.30 and the others 3.4.23.
        rc, killed = interrupted_playbook("adopt", [], in_the_upgrade_after_the_first_restart(), times=times)
        assert rc != 0 and PLAIN_TAKE_OVER_PLAY in killed and MOVE_PLAY not in killed, killed[-3000:]
        assert UPGRADE_LINE in killed
        versions = sorted(Gateway(url).status()["version"] for url in HTTP.values())
        assert versions == ["3.4.23", "3.4.23", "3.5.30"], versions
        killed_at = time.monotonic()
        # The same command finishes: the upgrade goes on, then the move to TLS.
        rc, out = interrupted_playbook("adopt", [], MOVE_PLAY, fault=clients.tls_from_here, times=times)
    finally:
        clients.stop()
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    assert "the collection's already" in out and "the members on 3.4.23 are upgraded to 3.5.30 in plaintext" in out
    assert PLAIN_TAKE_OVER_PLAY in out and out.split(PLAIN_TAKE_OVER_PLAY, 1)[1].split("\n")[1].strip() == \
        "skipping: no hosts matched", out[-3000:]
    lost = assert_moved_to_tls(HTTP, HTTPS, cluster_id, member_ids, clients)
    assert all(Gateway(url).status()["version"] == "3.5.30" for url in HTTPS.values())

    for name in HOSTS:
        h = host(name)
        # The collection's unit runs the member, with its data where the package had it.
        assert h.run("systemctl show etcd -p FragmentPath").stdout.strip() == "FragmentPath=/etc/systemd/system/etcd.service"
        assert h.file("/etc/etcd/etcd.env").contains("^ETCD_DATA_DIR=/var/lib/etcd/default$")
        assert h.file("/lib/systemd/system/etcd.service").exists and h.file("/etc/default/etcd").exists
        assert h.run("readlink -f /usr/local/bin/etcd").stdout.strip() == "/opt/etcd/v3.5.30/etcd"

    def play_at(play):
        return next(t for t, line in times if line.startswith(play)) - times[0][0]

    plain_writer, tls_writer = clients.writers()
    leaderless, first_term, last_term = longest_leaderless(clients.watches)
    note("adoption of Debian 12's package cluster, 3 members (read, plan, plaintext take-over at 3.4.23, upgrade to "
         "3.5.30, TLS beside plaintext, TLS move), SIGKILLed in the upgrade after its first member and run again: %.0f s "
         "(the upgrade from %.0f s, killed at %.0f s; the re-run's TLS move from %.0f s)"
         % (took, play_at(UPGRADE_PLAY), killed_at - started, play_at(MOVE_PLAY)))
    note("writes acknowledged: %d over plaintext, %d over TLS; lost: %d; failed (sent, not acknowledged): %d + %d"
         % (len(plain_writer.acked), len(tls_writer.acked), len(lost), len(plain_writer.failed), len(tls_writer.failed)))
    # Those a plaintext client saw while it still had to be served: before the move to TLS began.
    move_began = next(t for t, line in times if line.startswith(MOVE_PLAY))
    early = [(url, why) for t, url, why in plain_writer.failed if t < move_began]
    note("plaintext writes not acknowledged before the move to TLS began: %d %s"
         % (len(early), collections.Counter(why[:60] for _url, why in early).most_common(3)))
    note("longest gap between acknowledged writes: %.2f s; longest time without a leader: %.2f s; raft terms %d -> %d"
         % (longest_write_gap(clients.writers()), leaderless, first_term, last_term))


def test_a_re_run_of_the_adoption_changes_nothing():
    started = time.monotonic()
    rc, again = playbook("adopt")
    took = time.monotonic() - started
    assert rc == 0, again[-4000:]
    assert_unchanged(again, HOSTS)
    assert "the collection's already" in again and UPGRADE_PLAY in again
    note("re-run of the adoption, nothing changed: %.0f s" % took)


def package_cluster_on_fresh_hosts():
    """The starting point again (converge.yml) on hosts recreated empty: Debian 12's package cluster."""
    for name, address in ADDRESS.items():
        run_testbed("recreate", name, address)
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "molecule", "adopt_bookworm", "converge.yml")],
                          env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.full
def test_an_adoption_killed_in_its_plaintext_take_over_then_in_its_move_to_tls_is_finished_by_the_next_run():
    package_cluster_on_fresh_hosts()
    cluster_id, member_ids = seed_before(Gateway(HTTP["adopt-bookworm-host0"]))
    clients = PlaintextToTls(HTTP, HTTPS)
    clients.start()
    started = time.monotonic()
    try:
        # SIGKILLed once the first member runs from the collection's unit (still 3.4.23, plaintext).
        rc, first = interrupted_playbook("adopt", [], after_the_first_restart_in(PLAIN_TAKE_OVER_PLAY))
        assert rc != 0 and PLAIN_TAKE_OVER_PLAY in first and UPGRADE_PLAY not in first, why_failed(first)
        assert {Gateway(url).status()["version"] for url in HTTP.values()} == {"3.4.23"}
        # The next run takes the others over, upgrades, serves TLS beside plaintext, and is SIGKILLed once
        # the first member has moved to TLS only (the TLS client starts with the move, as in the short run).
        rc, second = interrupted_playbook("adopt", [], after_the_first_restart_in(MOVE_PLAY, clients.tls_from_here))
        assert rc != 0 and MOVE_PLAY in second and "the collection's already" in second, why_failed(second)
        peer_urls = sorted(u for m in Gateway(HTTPS["adopt-bookworm-host0"]).members() for u in m["peerURLs"])
        assert [u[:5] for u in peer_urls].count("https") == 1, peer_urls
        rc, out = playbook("adopt")
    finally:
        clients.stop()
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    lost = assert_moved_to_tls(HTTP, HTTPS, cluster_id, member_ids, clients)
    assert all(Gateway(url).status()["version"] == "3.5.30" for url in HTTPS.values())
    plain_writer, tls_writer = clients.writers()
    note("adoption of Debian 12's package cluster SIGKILLed in the plaintext take-over, run again and SIGKILLed in the "
         "TLS move after its first member, then finished by a third run: %.0f s" % took)
    note("writes acknowledged: %d over plaintext, %d over TLS; lost: %d; failed (sent, not acknowledged): %d + %d"
         % (len(plain_writer.acked), len(tls_writer.acked), len(lost), len(plain_writer.failed), len(tls_writer.failed)))
