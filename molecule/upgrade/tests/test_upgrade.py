"""Refused version changes on a 3.4.23 cluster, then a rolling upgrade to 3.5.16 (the gates ask
the 3.4.23 members /health and the 3.5.16 ones /readyz), a refused 3.6 upgrade from too old a 3.5
patch, and two rolling setting changes: one whose first run is killed half-way, one that stops at
a member that does not come back; each roll runs the upgrade playbook while a client writes
through every client URL. Then a run that must change nothing, a patch upgrade to 3.5.30 and a
consented patch downgrade back to 3.5.16, both under the writer and gated by /readyz: the path
3.4.23 -> 3.5.16 -> 3.5.30 -> 3.5.16 with no acknowledged write lost.

Tests run in file order: each step starts from the cluster the previous one left. Each roll
prints its figures (time, failed and lost writes, longest time without a leader); the scenario
runs pytest with -s, so they show in Molecule's output.

`make test` walks the upgrade 3.4.23 -> 3.5.16 and the interrupted setting change once, reads the
running members' logs, and keeps one refused run of the upgrade playbook (a downgrade without
consent); the other refusals (decided where their unit tests check them: tests/unit, see
tests/unit/plugins/module_utils/test_refusals_upgrade.py), the roll stopped at a member that does not
come back, the run without changes and the patch upgrade and downgrade are marked full.
"""

import datetime
import glob
import json
import os
import signal
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from etcdtest import (BACKUPS, INVENTORY, PKI, Gateway, LeaderWatch, Writer, ansible_env, assert_unchanged, fingerprint,
                      host, interrupted_playbook, playbook, private_key_secrets, release_run_lock, where_leaked,
                      why_failed)

HOSTS = ["upg-host0", "upg-host1", "upg-host2"]
URL = {h: "https://10.250.0.5%d:2379" % i for i, h in enumerate(HOSTS)}
ELECTION_TIMEOUT = 1.0  # etcd_election_timeout, in seconds
# The watch asks every 50 ms with a 0.5 s timeout, on a busy machine: it may see a leader late.
LEADER_WATCH_SLACK = 0.5
# A failed write and a restart are timed on different clocks of the same machine, a few
# milliseconds apart; this is the tolerance.
CLOCK_SLACK = 0.5


def versions(name):
    """A member's /version: its own release and the cluster version."""
    gateway = Gateway(URL[name])
    with urllib.request.urlopen(URL[name] + "/version", context=gateway.ctx, timeout=5) as resp:
        return json.load(resp)


def leader_host():
    status = Gateway(URL[HOSTS[0]]).status()
    return {m["ID"]: m["name"] for m in Gateway(URL[HOSTS[0]]).members()}[status["leader"]]


def snapshots():
    return sorted(glob.glob(os.path.join(BACKUPS, "etcd-snapshot-*.db")))


def on_every_host(function):
    """{host: function(host)}, the hosts asked at once."""
    with ThreadPoolExecutor(len(HOSTS)) as pool:
        return dict(zip(HOSTS, pool.map(function, HOSTS)))


def unchanged_state():
    """Every host's fingerprint plus the controller's snapshots: what a refused run must not touch."""
    return on_every_host(lambda name: fingerprint([name])), snapshots()


def _systemd_time(text):
    return datetime.datetime.strptime(text.strip(), "%a %Y-%m-%d %H:%M:%S.%f %Z").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def restarts():
    """Per host: MainPID and the last restart as (stop began, ready again), in epoch seconds."""
    def read(name):
        props = dict(line.split("=", 1) for line in host(name).check_output(
            "systemctl show etcd --timestamp=us+utc -p MainPID -p ActiveExitTimestamp -p ActiveEnterTimestamp").splitlines())
        stopped = _systemd_time(props["ActiveExitTimestamp"]) if props["ActiveExitTimestamp"] else None
        return dict(pid=props["MainPID"], stop=stopped, ready=_systemd_time(props["ActiveEnterTimestamp"]))
    return on_every_host(read)


def roll(extra_vars, interrupt_before=None):
    """Run the upgrade playbook while a client writes and leadership is watched; return what was seen.

    With ``interrupt_before`` (a host), a first run is killed as it is about to roll that host,
    and a second run with the same variables finishes the roll."""
    args = [a for k, v in extra_vars.items() for a in ("-e", "%s=%s" % (k, v))]
    before = restarts()
    snapshots_before = snapshots()
    watch, writer = LeaderWatch(URL), Writer(URL.values(), prefix="/roll-%d/" % time.time())
    watch.start()
    writer.start()
    time.sleep(1)
    started = time.time()
    leader_before = watch.leader_at(started)
    interrupted = None
    if interrupt_before:
        rc, out = interrupted_playbook("upgrade", args, "TASK [raftops.etcd.etcd : Wait until the cluster is healthy and "
                                                   "caught up before restarting %s]" % interrupt_before)
        noted = on_every_host(lambda name: host(name).file("/etc/etcd/restart-pending").exists)
        interrupted = dict(rc=rc, out=out, restarts=restarts(), noted=[h for h in HOSTS if noted[h]],
                           lock_left=release_run_lock(URL[HOSTS[0]]))
    rc, out = playbook("upgrade", *args)
    elapsed = time.time() - started
    time.sleep(1)
    writer.stop()
    watch.stop()
    after = restarts()
    return dict(rc=rc, out=out, elapsed=elapsed, before=before, after=after, leader_before=leader_before,
                watch=watch, writer=writer, lost=writer.lost(Gateway(URL[HOSTS[0]])), interrupted=interrupted,
                new_snapshots=[s for s in snapshots() if s not in snapshots_before])


def check_roll(result, label):
    """What every roll must show; prints the figures."""
    assert result["rc"] == 0, result["out"]
    after, before, writer, watch = result["after"], result["before"], result["writer"], result["watch"]
    restarting = max(r["ready"] for r in after.values()) - min(r["stop"] for r in after.values())
    print("\n%s: run %.1f s, members restarted within %.1f s; %d writes acknowledged, %d failed, %d lost; "
          "connections refused and sent to the next member: %s"
          % (label, result["elapsed"], restarting, len(writer.acked), len(writer.failed), len(result["lost"]),
             ", ".join("%s %d" % item for item in rerouted_by_host(writer).items())))

    assert result["lost"] == [], "acknowledged writes that cannot be read back"
    assert len(writer.acked) > 100, "the client hardly wrote: %s" % writer.failed[:5]

    # Every member restarted exactly once, one at a time, the one that led at the start last.
    assert all(after[h]["pid"] != before[h]["pid"] for h in HOSTS), (before, after)
    order = sorted(HOSTS, key=lambda h: after[h]["stop"])
    for earlier, later in zip(order, order[1:]):
        assert after[earlier]["ready"] < after[later]["stop"], "%s and %s were down together" % (earlier, later)
    assert result["leader_before"] in HOSTS
    assert order[-1] == result["leader_before"], "restart order %s, leader at the start %s" % (order, result["leader_before"])
    # ... after leadership had moved to a member that was already restarted.
    leader = result["leader_before"]
    moved_to = watch.leader_at(after[leader]["stop"])
    assert moved_to in order[:-1], "leader when %s stopped: %s" % (leader, moved_to)

    # One new term only, the hand-off's: no restart caused an election, and the cluster was without
    # a leader only while leadership moved.
    assert len(watch.terms()) == 2, "raft terms seen: %s" % watch.terms()
    leader_gone, leader_back = watch.handoff()
    print("  without a leader at the hand-off: %.2f s" % (leader_back - leader_gone))
    assert leader_back - leader_gone < ELECTION_TIMEOUT + LEADER_WATCH_SLACK

    # The client fails over as etcd's own does: a member that refuses the connection while it
    # restarts is skipped. A write fails only when it was sent and not acknowledged, which may
    # happen to a write in flight at the hand-off (etcd drops proposals while leadership moves):
    # fewer failed writes than member restarts.
    print("  failed: %s" % ("; ".join("%s: %s" % f[1:] for f in writer.failed) or "none"))
    assert len(writer.failed) < len(HOSTS), writer.failed
    host_of = {url: h for h, url in URL.items()}

    def explained(failure):
        at, url = failure[0], failure[1]
        if leader_gone - CLOCK_SLACK <= at <= leader_back + CLOCK_SLACK:
            return True
        down = after[host_of[url]] if url in host_of else None
        return down is not None and down["stop"] - CLOCK_SLACK <= at <= down["ready"] + CLOCK_SLACK

    away = [f for f in writer.failed if not explained(f)]
    assert away == [], "writes failed away from a restart or the hand-off: %s" % away


def rerouted_by_host(writer):
    return {h: len([r for r in writer.rerouted if r[1] == URL[h]]) for h in HOSTS}


@pytest.fixture(scope="module")
def refused_versions(request):
    """The refused version changes of the tests this session runs (three with `make test-full`, the one
    kept with `make test`: the others are marked full), run at once against the 3.4.23 cluster. Each
    takes the run lock when it reads the cluster, before its checks; they wait for it in turn
    (etcd_run_lock_wait), as runs started together would, so that each is refused for its version,
    not for the lock."""
    cases = [item.callspec.params["version"] for item in request.session.items
             if getattr(item, "originalname", None) == "test_a_refused_version_changes_nothing"]
    assert cases, "no refused version selected, yet the fixture was asked for"
    state = unchanged_state()
    with ThreadPoolExecutor(len(cases)) as pool:
        runs = dict(zip(cases, pool.map(
            lambda v: playbook("upgrade", "-e", "etcd_version=" + v, "-e", "etcd_run_lock_wait=120"), cases)))
    return runs, state, unchanged_state()


@pytest.mark.parametrize("version, message", [
    pytest.param("3.6.0", "upgrading 3.4.23 to 3.6.0 skips a minor version: upgrade one minor version at a time (3.5 first); "
                 "nothing was changed", id="skipped minor", marks=pytest.mark.full),
    # The one refused run of the upgrade playbook that `make test` keeps: it names the variable that
    # consents.
    pytest.param("3.4.22", "3.4.22 is older than the running 3.4.23: a downgrade needs etcd_allow_downgrade=true; nothing was "
                 "changed", id="downgrade without consent"),
    pytest.param("3.5.99", "etcd 3.5.99 could not be downloaded and verified from http://10.250.0.1:8080/v3.5.99/ (no host was "
                 "changed)", id="release missing from the mirror", marks=pytest.mark.full),
])
def test_a_refused_version_changes_nothing(refused_versions, version, message):
    runs, before, after = refused_versions
    rc, out = runs[version]
    assert rc != 0, out
    assert message in " ".join(out.split()), out
    assert after == before


@pytest.mark.full
def test_an_unhealthy_cluster_is_not_rolled():
    stopped = host("upg-host2")
    stopped.check_output("systemctl stop etcd")
    try:
        before = unchanged_state()
        rc, out = playbook("upgrade", "-e", "etcd_version=3.5.16")
        assert rc != 0, out
        text = " ".join(out.split())
        assert "the cluster is not healthy, so it will not be rolled from 3.4.23 to 3.5.16: upg-host2 (https://10.250.0.52:2379)" in text, out
        assert "nothing was changed" in text, out
        assert unchanged_state() == before
    finally:
        stopped.check_output("systemctl start etcd")


def test_upgrade_rolls_one_member_at_a_time_the_leader_last():
    version = "3.5.16"
    result = roll({"etcd_version": version})
    check_roll(result, "upgrade 3.4.23 -> " + version)
    # A snapshot was brought to the controller before the first member stopped.
    assert len(result["new_snapshots"]) == 1, result["new_snapshots"]
    first_stop = min(r["stop"] for r in result["after"].values())
    assert os.path.getmtime(result["new_snapshots"][0]) < first_stop
    assert os.path.getsize(result["new_snapshots"][0]) % 512 == 32  # a whole snapshot: data and its hash
    # Every member runs the release and etcd raised the cluster version to its minor version.
    for h in HOSTS:
        assert versions(h) == {"etcdserver": version, "etcdcluster": "3.5.0"}
    assert host(HOSTS[0]).file("/usr/local/bin/etcd").linked_to == "/opt/etcd/v%s/etcd" % version
    # The gates asked each restarted 3.5.16 member /readyz (3.5.11 on).
    asked = on_every_host(readyz_checks)
    assert all(count > 0 for count in asked.values()), asked


def test_a_changed_setting_rolls_every_member_also_when_a_run_is_interrupted():
    # Followers roll in inventory order, the leader last: kill the first run when it is about to
    # restart the second follower.
    leader = leader_host()
    first, second = [h for h in HOSTS if h != leader]
    result = roll({"etcd_version": "3.5.16", "etcd_heartbeat_interval": 150}, interrupt_before=second)
    interrupted = result["interrupted"]
    assert interrupted["rc"] == -signal.SIGKILL, interrupted["out"]
    assert interrupted["lock_left"], "the killed run left its run lock"
    restarted = [h for h in HOSTS if interrupted["restarts"][h]["pid"] != result["before"][h]["pid"]]
    assert restarted == [first], interrupted["out"]
    # The members still to restart kept their note: the second run, which changes no file,
    # restarts them and only them.
    assert interrupted["noted"] == sorted([second, leader])
    assert result["after"][first]["pid"] == interrupted["restarts"][first]["pid"]
    check_roll(result, "heartbeat interval 100 -> 150 ms, interrupted after %s" % first)
    assert result["new_snapshots"] == []  # no version change, no snapshot
    settings = on_every_host(lambda name: host(name).check_output("cat /etc/etcd/etcd.env; ls /etc/etcd"))
    for h in HOSTS:
        assert "ETCD_HEARTBEAT_INTERVAL=150\n" in settings[h] and "restart-pending" not in settings[h]


@pytest.mark.full
def test_a_minor_upgrade_from_an_older_patch_than_etcd_requires_is_refused():
    # Refused in preflight, before the download: 3.6.0 is not even on the mirror.
    before = unchanged_state()
    rc, out = playbook("upgrade", "-e", "etcd_version=3.6.0")
    assert rc != 0, out
    assert ("upgrading 3.5.16 to 3.6.0 needs 3.5.32 or later first: etcd's upgrade guide requires it before 3.6 "
            "(a patch upgrade to 3.5.32 is allowed); nothing was changed") in " ".join(out.split()), out
    assert unchanged_state() == before


def test_running_members_whose_log_began_on_3_4_hold_what_3_6_refuses_until_their_next_snapshot():
    # The read behind the v2 store check before 3.6 (docs/upgrade.md), which the 3.5.32 floor keeps
    # this scenario's runs from reaching, on the running 3.5.16 members: their logs began on 3.4.23,
    # whose /health is a v2 quorum read (QGET) written to the log, which etcd 3.6's apply_v2.go stops
    # at, until a raft snapshot (etcd_snapshot_count entries, far more than this scenario writes)
    # puts it behind; 3.5's /health reads through v3. The read finds them and disturbs nothing.
    before = unchanged_state()
    args = json.dumps(dict(data_dir="/var/lib/etcd", v2store_target="3.6.14"))
    out = subprocess.run(["ansible", "-i", INVENTORY, "etcd", "-o", "-m", "raftops.etcd.etcd_host_info", "-a", args],
                         env=ansible_env(), stdout=subprocess.PIPE, text=True, timeout=120, check=False).stdout
    reads = {line.split(" | ", 1)[0]: json.loads(line.split(" => ", 1)[1])["v2store"]
             for line in out.splitlines() if " => " in line}
    assert sorted(reads) == HOSTS, out
    for read in reads.values():
        assert (read["snapshot_index"], read["nodes"]) == (0, []), reads
        assert read["requests"] and set(read["requests"]) == {"QGET"}, reads
    assert on_every_host(lambda name: host(name).check_output("find /var/lib/etcd -name '*.broken'")) == {
        h: "" for h in HOSTS}
    assert unchanged_state() == before
    print("\nv2 requests 3.6 does not apply, in the running members' logs: %s"
          % {h: len(read["requests"]) for h, read in reads.items()})


UNREACHABLE = "/etc/systemd/system/etcd.service.d/zz-test-unreachable.conf"


@pytest.mark.full
def test_a_member_that_does_not_come_back_stops_the_roll_until_it_is_fixed():
    # The follower rolled first starts, then drops everything sent to its client port: it never
    # becomes healthy for the wait.
    leader = leader_host()
    first, second = [h for h in HOSTS if h != leader]
    host(first).check_output(
        "mkdir -p %s && printf '[Service]\\nExecStartPost=+/usr/sbin/iptables -I INPUT -p tcp --dport 2379 -j DROP\\n' > %s"
        " && systemctl daemon-reload" % (os.path.dirname(UNREACHABLE), UNREACHABLE))
    before = restarts()
    # At -vvv, failure path included: the members' settings change, so their files (keys included)
    # are sent to them.
    rc, out = playbook("upgrade", "-vvv", "-e", "etcd_version=3.5.16", "-e", "etcd_heartbeat_interval=120",
                       "-e", "etcd_health_timeout=15")
    stopped = restarts()
    noted = on_every_host(lambda name: host(name).file("/etc/etcd/restart-pending").exists)
    try:
        assert rc != 0, out
        text = " ".join(out.split())
        assert "the roll stopped at %s (member %s): etcd cluster not healthy after 15s" % (first, first) in text, out
        assert "%s (%s)" % (first, URL[first]) in text.split("the roll stopped at", 1)[1], out
        assert "No further member was restarted" in text, out
        assert where_leaked(out, private_key_secrets(PKI)) == "", "at -vvv: " + where_leaked(out, private_key_secrets(PKI))
        # Only that member restarted; every member keeps its note for the next run.
        assert [h for h in HOSTS if stopped[h]["pid"] != before[h]["pid"]] == [first]
        assert all(noted.values()), noted
        # The other two keep the cluster writable.
        Gateway(URL[second]).put("/after-a-stopped-roll", "written")
    finally:
        host(first).check_output("rm -f %s && systemctl daemon-reload && "
                                 "while iptables -D INPUT -p tcp --dport 2379 -j DROP 2>/dev/null; do :; done"
                                 % UNREACHABLE)

    # Fixed: the same command finishes the roll, one member at a time, the leader last.
    result = roll({"etcd_version": "3.5.16", "etcd_heartbeat_interval": 120})
    check_roll(result, "heartbeat interval 150 -> 120 ms, after a roll stopped at %s" % first)
    settings = on_every_host(lambda name: host(name).check_output("cat /etc/etcd/etcd.env; ls /etc/etcd"))
    for h in HOSTS:
        assert "ETCD_HEARTBEAT_INTERVAL=120\n" in settings[h] and "restart-pending" not in settings[h]


@pytest.mark.full
def test_a_run_without_changes_restarts_nothing():
    before = unchanged_state()
    rc, out = playbook("upgrade", "-e", "etcd_version=3.5.16", "-e", "etcd_heartbeat_interval=120")
    assert rc == 0, why_failed(out)
    assert_unchanged(out, [*HOSTS, "localhost"])
    assert unchanged_state() == before


def readyz_checks(name):
    """How many /readyz checks the member answered since it started (etcd_server_healthchecks_total)."""
    metrics = host(name).check_output(
        "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:2381/metrics', timeout=5)"
        ".read().decode())\"")
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("etcd_server_healthchecks_total{") and 'type="readyz"' in line)


@pytest.mark.full
def test_a_patch_upgrade_to_3_5_30_and_a_patch_downgrade_back_to_3_5_16_lose_no_write():
    up = roll({"etcd_version": "3.5.30", "etcd_heartbeat_interval": 120})
    check_roll(up, "upgrade to 3.5.30")
    for h in HOSTS:
        assert versions(h) == {"etcdserver": "3.5.30", "etcdcluster": "3.5.0"}
    # 3.5.30 serves /readyz (3.5.11 on): the waits after each restart asked it of every member.
    asked = on_every_host(readyz_checks)
    assert all(count > 0 for count in asked.values()), asked

    down = roll({"etcd_version": "3.5.16", "etcd_heartbeat_interval": 120, "etcd_allow_downgrade": "true"})
    check_roll(down, "patch downgrade 3.5.30 -> 3.5.16")
    for h in HOSTS:
        assert versions(h) == {"etcdserver": "3.5.16", "etcdcluster": "3.5.0"}
    asked = on_every_host(readyz_checks)
    assert all(count > 0 for count in asked.values()), asked
