"""Maintenance, the operator's way: defragmentation by rule, NOSPACE recovery, hash checks, timers.

In order: every bad input is refused with nothing defragmented (a rule that does not parse, a
negative keep, a schedule that is not a calendar, a member down, a member's host that does not
answer, a learner catching up); a cluster
filled to NOSPACE while a client writes is recovered by the maintenance playbook, one member at a
time with the leader last and one leader change, no acknowledged write lost, the members'
hashes equal under that load, and (run at -vvv with a root password) no secret in its output; a run again changes nothing; --check defragments nothing; a member
that goes down mid-run stops it by name and a run again finishes the job; and the
scheduled defragmentation of two members never runs on both at once, nor on a leader.

`make test` walks the NOSPACE recovery once and keeps one refused run of the maintenance playbook (a
negative etcd_maintenance_compact_keep); the other refusals (decided where their unit tests check
them: tests/unit, see tests/unit/plugins/module_utils/test_refusals_maintenance.py), the run with
nothing to do, --check, the member failing mid-run and the scheduled defragmentation are marked full.
"""

import glob
import hashlib
import json
import os
import re
import subprocess
import time

import pytest
from etcdtest import (PKI, Gateway, LeaderWatch, Writer, assert_unchanged, b64, fingerprint, host, interrupted_playbook,
                      inventory_secrets, leaked, move_leadership, playbook, recap, why_failed)

HOSTS = ["mnt-host0", "mnt-host1", "mnt-host2"]
URL = {h: "https://10.250.0.8%d:2379" % i for i, h in enumerate(HOSTS)}
MiB = 1024 * 1024
BIG = "x" * MiB
DEFRAGMENTED = re.compile(r"^TASK \[raftops\.etcd\.etcd : Defragment (\S+)\]", re.M)
# Given to the NOSPACE recovery's run: with auth off the modules send no token, yet every one of them
# gets it (module_defaults), the leadership hand-over and the defragmentations included.
ROOT_PASSWORD = "maintenance-root-secret-never-shown"


def gateway(name=HOSTS[0], timeout=5):
    return Gateway(URL[name], timeout=timeout)


def sizes(hosts=HOSTS):
    """{host: (dbSize, dbSizeInUse)} as each member reports them."""
    result = {}
    for name in hosts:
        status = gateway(name).status()
        result[name] = (int(status["dbSize"]), int(status.get("dbSizeInUse", status["dbSize"])))
    return result


def alarms():
    return [a for a in gateway().call("/v3/maintenance/alarm", {"action": "GET"}).get("alarms") or []
            if a.get("alarm", "NONE") != "NONE"]


def leader_name():
    names = {m["ID"]: m["name"] for m in gateway().members()}
    return names[gateway().status()["leader"]]


def revision():
    return int(gateway().call("/v3/kv/range", {"key": b64("/"), "count_only": True})["header"]["revision"])


def poll_call(path, body, seconds=30):
    """A gateway call retried while etcd answers 503 (a cluster that just became healthy again)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return gateway().call(path, body)
        except OSError as exc:
            if getattr(exc, "code", None) != 503 or time.monotonic() > deadline:
                raise
            time.sleep(1)


def fragment(megabytes=8):
    """Write, delete and compact that many MiB: every member's file keeps them as free pages."""
    for i in range(megabytes):
        gateway().put("/fragment/%d" % i, BIG)
    gateway().call("/v3/kv/deleterange", {"key": b64("/fragment/"), "range_end": b64("/fragment0")})
    gateway().call("/v3/kv/compaction", {"revision": revision(), "physical": True})


def fill_until_nospace():
    """Overwrite one key with 1 MiB values (no compaction: every revision stays) until the quota is hit."""
    for written in range(200):
        try:
            gateway().put("/fill", BIG)
        except OSError as exc:
            body = exc.read().decode() if hasattr(exc, "read") else str(exc)
            assert "database space exceeded" in body, body
            return written
    raise AssertionError("no NOSPACE after 200 MiB of writes")


def wait_healthy(seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if all(gateway(h, timeout=2).status().get("leader", "0") != "0" for h in HOSTS):
                return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError("the cluster did not become healthy")


def not_shrunk(before):
    """No member's file is smaller than ``before`` (sizes()): none was defragmented."""
    after = sizes(list(before))
    return all(after[name][0] >= before[name][0] for name in before)


def refused(args, message, check_files=True, up=HOSTS):
    """Run the maintenance with ``args``; it must fail with ``message`` and defragment nothing on
    the members that are ``up``."""
    before_sizes, before_files = sizes(up), fingerprint(HOSTS) if check_files else None
    rc, out = playbook("maintenance", *args)
    assert rc != 0, out
    assert message in " ".join(out.split()), out
    assert not DEFRAGMENTED.search(out), out
    if check_files:
        assert fingerprint(HOSTS) == before_files
    assert not_shrunk(before_sizes)
    return out


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    pytest.param(["-e", "etcd_defrag_rule='free >> 5'"], "etcd_defrag_rule", marks=pytest.mark.full),
    pytest.param(["-e", "etcd_defrag_rule='free > 5 parsecs'"], "etcd_defrag_rule", marks=pytest.mark.full),
    # The one refused run of the maintenance playbook that `make test` keeps.
    (["-e", "etcd_maintenance_compact_keep=-1"], "etcd_maintenance_compact_keep='-1': a whole number of revisions"),
    pytest.param(["-e", "etcd_maintenance_defrag_timeout=0"],
                 "etcd_maintenance_defrag_timeout='0': a whole number of seconds, at least 1", marks=pytest.mark.full),
])
def test_a_bad_value_is_refused_and_nothing_changes(args, message):
    fragment(2)
    refused(args, message)


@pytest.mark.full
def test_a_schedule_that_is_not_a_calendar_is_refused_before_any_host_changes():
    before = fingerprint(HOSTS)
    rc, out = playbook("etcd", "-e", "etcd_maintenance_schedule='evry sunday'")
    assert rc != 0
    assert "etcd_maintenance_schedule=evry sunday: systemd does not read it as a calendar expression" in out
    assert fingerprint(HOSTS) == before


@pytest.mark.full
def test_a_member_down_is_refused_naming_it():
    host("mnt-host2").run("systemctl stop etcd")
    try:
        refused(["-e", "etcd_defrag_rule=always"], "mnt-host2", check_files=False, up=HOSTS[:2])
    finally:
        host("mnt-host2").run("systemctl start etcd")
        wait_healthy()


@pytest.mark.full
def test_a_learner_catching_up_is_refused_naming_it():
    # etcd refuses to add a member until every member has been connected for a few seconds.
    added = poll_call("/v3/cluster/member/add", {"peerURLs": ["https://10.250.0.89:2380"], "isLearner": True})
    try:
        refused(["-e", "etcd_defrag_rule=always"], "learner")
    finally:
        gateway().call("/v3/cluster/member/remove", {"ID": added["member"]["ID"]})


def address(name):
    return URL[name].split("//")[1].split(":")[0]


def ssh_stopped(name):
    """Stop sshd on the host, its etcd still serving, and close the controller's SSH masters to it (a
    master outlives sshd and would keep the host reachable): it drops out of the next run's play."""
    subprocess.run(["podman", "exec", name, "systemctl", "stop", "ssh"], check=True, timeout=60)
    for socket in glob.glob(os.path.expanduser("~/.ansible/cp/%s-*" % address(name))):
        subprocess.run(["ssh", "-o", "ControlPath=" + socket, "-O", "exit", address(name)], check=False,
                       capture_output=True, timeout=30)


def controller_pki():
    """{file: its SHA-256} of etcd_pki_dir on the controller."""
    found = {}
    for path in sorted(glob.glob(os.path.join(PKI, "**"), recursive=True)):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                found[os.path.relpath(path, PKI)] = hashlib.sha256(f.read()).hexdigest()
    return found


@pytest.mark.full
def test_a_member_whose_host_does_not_answer_is_refused_naming_it_and_nothing_changes():
    # Its sshd stopped, mnt-host2 drops out of the play; its etcd still serves, so the members' read
    # passes. With its address in the inventory the maintenance's plan refuses the run by name;
    # without, the members' records do (its address came from its facts). A CA rotation asked for
    # then stops at the first read (the etcd playbook's plays stop on any host's failure), before
    # etcd_pki_dir or any host changes.
    fragment(2)
    started = time.monotonic()
    before_sizes, before_files, before_pki = sizes(), fingerprint(HOSTS), controller_pki()
    # Each host's own address, through one extra variable templated per host.
    addresses = json.dumps({"etcd_address": "{{ %r[inventory_hostname] }}" % {h: address(h) for h in HOSTS}})
    ssh_stopped("mnt-host2")
    try:
        rc, planned = playbook("maintenance", "-e", "etcd_defrag_rule=always", "-e", addresses)
        rc_records, records = playbook("maintenance", "-e", "etcd_defrag_rule=always")
        rc_rotation, rotation = playbook("etcd", "-e", "etcd_pki_rotate_ca=true", "-e", addresses)
    finally:
        subprocess.run(["podman", "exec", "mnt-host2", "systemctl", "start", "ssh"], check=True, timeout=60)
    assert rc != 0 and rc_records != 0 and rc_rotation != 0, (planned, records, rotation)
    assert ("the hosts mnt-host2 did not answer the maintenance's read; nothing was changed. Run again once they "
            "answer") in " ".join(planned.split()), planned
    assert ("host mnt-host2: did not answer this run (unreachable, or a task failed on it), and its address is "
            "unknown") in " ".join(records.split()), records
    assert "fatal: [mnt-host2]: UNREACHABLE!" in rotation and "Issue, renew or check the certificates" not in rotation
    assert all(recap(out)["mnt-host2"]["unreachable"] == 1 for out in (planned, records, rotation))
    assert not DEFRAGMENTED.search(planned + records)
    assert "Hold the run lock" not in planned + records
    assert controller_pki() == before_pki
    assert fingerprint(HOSTS) == before_files and not_shrunk(before_sizes)
    print("\nrefusals of a host that does not answer: %.1f s" % (time.monotonic() - started))


# --- NOSPACE recovery ---------------------------------------------------------------------------


def test_nospace_is_recovered_one_member_at_a_time_with_the_leader_last():
    fill_until_nospace()
    assert [a["alarm"] for a in alarms()] == ["NOSPACE"] * len(alarms()) and alarms()
    before = sizes()
    leader_before = leader_name()

    watch, writer = LeaderWatch(URL), Writer(URL.values(), prefix="/during-maintenance/")
    watch.start()
    writer.start()
    started = time.monotonic()
    rc, out = playbook("maintenance", "-vvv", "-e", "etcd_auth_root_password=" + ROOT_PASSWORD)
    elapsed = time.monotonic() - started
    time.sleep(2)  # writes acknowledged after the disarm
    writer.stop()
    watch.stop()
    assert rc == 0, why_failed(out)
    secrets = inventory_secrets(dict(etcd_auth_root_password=ROOT_PASSWORD))
    assert leaked(out, secrets) == [], "the maintenance at -vvv prints %s" % leaked(out, secrets)

    # Every member, one at a time, the leader of the start last; one hand-off, so one new term.
    order = DEFRAGMENTED.findall(out)
    assert sorted(order) == HOSTS and order[-1] == leader_before, (order, leader_before)
    assert len(watch.terms()) == 2, watch.terms()
    # The alarm is gone and writes work again; every file shrank; nothing acknowledged was lost.
    assert alarms() == []
    gateway().put("/after-maintenance", "ok")
    assert gateway("mnt-host2").get("/after-maintenance") == "ok"
    after = sizes()
    for name in HOSTS:
        assert after[name][0] < before[name][0] / 2, (name, before[name], after[name])
    lost = writer.lost(gateway())
    assert lost == [], lost
    assert writer.acked, "no write was acknowledged after the recovery"
    # The members' hashes were compared at one revision while the client wrote.
    assert re.search(r"the KV hashes of 3 members agree at revision \d+", out), out

    gap = watch.handoff()
    print("\nNOSPACE recovery: %.1f s; longest time without a leader %.2f s; writes failed %d (NOSPACE "
          "until the disarm), acknowledged %d, lost %d" % (
              elapsed, gap[1] - gap[0], len(writer.failed), len(writer.acked), len(lost)))
    for name in HOSTS:
        print("  %s: %.1f MiB -> %.1f MiB" % (name, before[name][0] / MiB, after[name][0] / MiB))
    for line in re.findall(r"\S+: defragmented in [^\"'\n]+", out):
        print("  " + line)


@pytest.mark.full
def test_a_run_with_nothing_to_do_changes_nothing():
    before = sizes()
    rc, out = playbook("maintenance")
    assert rc == 0, why_failed(out)
    assert not DEFRAGMENTED.search(out)
    assert_unchanged(out, HOSTS)
    assert not_shrunk(before)


@pytest.mark.full
def test_check_mode_shows_the_plan_and_defragments_nothing():
    fragment(8)
    before = sizes()
    rc, out = playbook("maintenance", "-e", "etcd_defrag_rule='free > 1MiB'", check=True)
    assert rc == 0, why_failed(out)
    for name in HOSTS:
        assert re.search(r"%s: free .*-> defragment" % name, out), out
    assert not_shrunk(before)


@pytest.mark.full
def test_a_member_that_fails_mid_run_stops_it_by_name_and_a_run_again_finishes():
    fragment(8)
    args = ["-e", "etcd_defrag_rule='free > 1MiB'", "-e", "etcd_health_timeout=10"]
    # Once the first member is done, the leader (last in the order) goes down.
    leader = leader_name()
    rc, out = interrupted_playbook(
        "maintenance", args, lambda line: ": defragmented in " in line,
        fault=lambda: host(leader).run("systemctl stop etcd"))
    text = " ".join(out.split())
    assert rc != 0, out
    first = DEFRAGMENTED.findall(out)
    assert len(first) == 1 and first[0] != leader, first
    assert "the maintenance stopped at member" in text and leader in text, out
    host(leader).run("systemctl start etcd")
    wait_healthy()

    rc, out = playbook("maintenance", *args)
    assert rc == 0, why_failed(out)
    second = DEFRAGMENTED.findall(out)
    assert first[0] not in second and sorted(first + second) == HOSTS, (first, second)


# --- scheduled defragmentation -------------------------------------------------------------------


def journal(name):
    """(epoch seconds, message) of every line the member's maintenance service logged."""
    out = host(name).run("journalctl -u etcd-maintenance -o short-unix --no-pager -q").stdout
    lines = []
    for line in out.splitlines():
        stamp, _, rest = line.partition(" ")
        lines.append((float(stamp), rest.split(": ", 1)[-1]))
    return lines


def defragmentations(name):
    """(start, end) of each defragmentation the member's timer ran."""
    lines = journal(name)
    starts = [t for t, text in lines if text.startswith("defragmenting ")]
    ends = [t for t, text in lines if text.startswith("defragmented ")]
    return list(zip(starts, ends))


@pytest.mark.full
def test_scheduled_defragmentation_runs_on_one_member_at_a_time_and_never_on_the_leader():
    # mnt-host1 leads, and its timer and mnt-host2's fire at the same second.
    move_leadership({h: gateway(h) for h in HOSTS}, "mnt-host1")
    assert leader_name() == "mnt-host1"
    fragment(8)
    rc, out = playbook("etcd", "-e", "two_member_schedule=*:*:0/20", "-e", "etcd_defrag_rule='free > 1MiB'")
    assert rc == 0, why_failed(out)

    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and not all(defragmentations(h) for h in ("mnt-host1", "mnt-host2")):
        time.sleep(3)
    runs = {h: defragmentations(h) for h in ("mnt-host1", "mnt-host2")}
    assert all(runs.values()), (runs, journal("mnt-host1"), journal("mnt-host2"))
    # Never both at once: each defragmentation ended before the other began.
    for start1, end1 in runs["mnt-host1"]:
        for start2, end2 in runs["mnt-host2"]:
            assert end1 <= start2 or end2 <= start1, runs
    # The leader handed leadership over before it defragmented itself.
    texts = [text for _t, text in journal("mnt-host1")]
    assert any(text.startswith("mnt-host1 leads: handing leadership") for text in texts), texts
    assert not host("mnt-host0").file("/etc/systemd/system/etcd-maintenance.timer").exists
    print("\nscheduled defragmentations: %s" % runs)
