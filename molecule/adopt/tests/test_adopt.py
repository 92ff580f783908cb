"""The adoption of a cluster built with Debian's etcd-server package (converge.yml): bad input is
refused by name with every host unchanged; the adopt playbook then takes the members over under a
writer, the cluster ID kept, 0 acknowledged writes lost, plaintext moved to TLS with client and peer
certificate auth; a re-run changes nothing.

`make test` (-m "not full") walks the read, one refused run and the adoption under a writer with its
move to TLS; the plan-only runs, the refusal of a plan-only value that is no boolean (decided in
tests/unit/plugins/module_utils/test_refusals_adopt.py), the no-change re-run and the later steps of
the package cluster (a fourth host, the upgrade, the way back) are marked full. test_adopt_tls.py is
full as a whole: its module fixture `handmade` recreates the hosts and builds the hand-made cluster
only when one of its tests is selected, so `make test` does not pay for it."""

import glob
import os
import shutil
import time

import pytest
import yaml
from conftest import FIGURES, kept_lines, scale_out_inventory
from etcdtest import (EPHEMERAL, INVENTORY, PKI, Gateway, PlaintextToTls, Writer, assert_moved_to_tls, assert_unchanged,
                      host, interrupted_playbook, longest_leaderless, longest_write_gap, package_cluster_state,
                      playbook, poll, seed_before, why_failed)

HOSTS = ["adopt-host0", "adopt-host1", "adopt-host2"]
ADDRESS = {"adopt-host0": "10.250.0.130", "adopt-host1": "10.250.0.131", "adopt-host2": "10.250.0.132"}
HTTP = {name: "http://%s:2379" % address for name, address in ADDRESS.items()}
HTTPS = {name: "https://%s:2379" % address for name, address in ADDRESS.items()}
SPARE = "adopt-host3"
TAKE_OVER_PLAY = "PLAY [Take each member over"
MOVE_PLAY = "PLAY [Move each member to TLS"


# What the adoption test leaves for the scale out after it: the inventory lines to keep.
KEPT = {}


def edited_inventory(label, drop=None, names=None):
    """A copy of Molecule's inventory (its group_vars and host_vars with it) as an operator might
    get it wrong: ``drop`` a host's line, ``names``: host -> another NODE_NAME."""
    path = os.path.join(EPHEMERAL, "inventory-" + label)
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(os.path.dirname(INVENTORY), path)
    inventory = os.path.join(path, os.path.basename(INVENTORY))
    with open(inventory) as handle:
        groups = yaml.safe_load(handle)
    for group in groups.values():
        (group.get("hosts") or {}).pop(drop, None)
    with open(inventory, "w") as handle:
        yaml.safe_dump(groups, handle)
    for name, node_name in (names or {}).items():
        for vars_file in glob.glob(os.path.join(path, "host_vars", name + "*")):
            with open(vars_file) as handle:
                variables = yaml.safe_load(handle) or {}
            variables["NODE_NAME"] = node_name
            with open(vars_file, "w") as handle:
                yaml.safe_dump(variables, handle)
    return inventory


def note(line):
    with open(FIGURES, "a") as handle:
        handle.write(line + "\n")


def test_the_read_shows_what_the_package_runs():
    result = host("adopt-host1").ansible("raftops.etcd.etcd_adopt_info", check=False, become=True)
    assert result["running"], result
    assert result["exe"] == "/usr/bin/etcd" and result["user"] == "etcd" and result["unit"] == "etcd.service"
    # Debian 13's package puts its unit below /usr/lib
    assert result["unit_path"] == "/usr/lib/systemd/system/etcd.service" and result["env_files"] == ["/etc/default/etcd"]
    assert result["settings"]["ETCD_NAME"] == "adopt-host1" and result["sources"]["ETCD_NAME"] == "environment"
    assert result["settings"]["ETCD_DATA_DIR"] == "/var/lib/etcd/default"
    assert result["version"] == "3.5.16"
    assert len(result["local"]["members"]) == 3 and result["local"]["status"]["leader_id"]


def test_bad_input_is_refused_by_name_and_changes_nothing():
    # Four mistakes in one run (the refusal names every problem): a wrong NODE_NAME, a member the
    # inventory lacks, a stopped member, started again afterwards (its own unit, as the operator
    # would), and a release other than the one the cluster runs (a release the collection does not
    # handle at all, 3.3, is refused alike: tests/unit test_etcd_adopt).
    before = package_cluster_state(HOSTS)
    wrong = edited_inventory("wrong", drop="adopt-host0", names={"adopt-host1": "etcd-b"})
    assert host("adopt-host2").run("systemctl stop etcd").rc == 0
    try:
        rc, out = playbook("adopt", "-e", "etcd_version=3.5.17", inventory=wrong)
    finally:
        assert host("adopt-host2").run("systemctl start etcd").rc == 0
    assert rc != 0
    assert ("host adopt-host1: NODE_NAME is etcd-b, but the etcd there runs as member adopt-host1 (its --name); "
            "set NODE_NAME=adopt-host1 for adopt-host1 in the inventory") in out, out[-3000:]
    assert ("member adopt-host0 (peer URL http://10.250.0.130:2380) of the running cluster is not in the inventory: "
            "add its host with NODE_NAME=adopt-host0") in out, out[-3000:]
    assert "host adopt-host2: no etcd runs there (a stopped member?)" in out, out[-3000:]
    assert "etcd_version is 3.5.17, but the cluster runs 3.5.16; adoption keeps the release" in out, out[-3000:]
    assert "nothing was changed" in out
    after = package_cluster_state(HOSTS)
    for name in HOSTS:
        if name != "adopt-host2":
            assert after[name] == before[name], name
    # The stopped member's process changed (it was restarted by the test), nothing else of it.
    assert [line for line in after["adopt-host2"].splitlines() if "MainPID" not in line and "Timestamp" not in line] == \
        [line for line in before["adopt-host2"].splitlines() if "MainPID" not in line and "Timestamp" not in line]


@pytest.mark.full
@pytest.mark.parametrize("ask", [["--check"], ["-e", "etcd_adopt_plan_only=true"]])
def test_asked_for_the_plan_only_it_is_shown_and_nothing_changes(ask):
    before = package_cluster_state(HOSTS)
    rc, out = playbook("adopt", *ask)
    assert rc == 0, why_failed(out)
    assert "member adopt-host1, cluster " in out and "stays: the data in /var/lib/etcd/default, owned by etcd" in out
    assert "only the plan was asked for (--check or etcd_adopt_plan_only), nothing was changed" in out
    assert "Carried out, it would stop here" not in out
    # The take-over's and the move's plays find no hosts.
    for play in (TAKE_OVER_PLAY, MOVE_PLAY):
        assert out.split(play, 1)[1].split("\n")[1].strip() == "skipping: no hosts matched", out[-3000:]
    assert package_cluster_state(HOSTS) == before


@pytest.mark.full
def test_a_plan_only_that_is_no_boolean_is_refused_and_changes_nothing():
    # Ansible's bool would take it as false, and carry the adoption out.
    before = package_cluster_state(HOSTS)
    rc, out = playbook("adopt", "-e", "etcd_adopt_plan_only=ture")
    assert rc != 0
    assert ("etcd_adopt_plan_only=ture: true (show the plan only) or false (yes/no, on/off and 1/0 work too); "
            "nothing was changed") in out, out[-3000:]
    assert "TASK [Read the etcd each host runs]" not in out and TAKE_OVER_PLAY not in out
    assert package_cluster_state(HOSTS) == before


def test_the_package_cluster_is_adopted_under_a_writer_and_moved_to_tls():
    cluster_id, member_ids = seed_before(Gateway(HTTP["adopt-host0"]))
    # Writers and who leads, as each member says over plaintext until the move, and over TLS too
    # from then on.
    clients = PlaintextToTls(HTTP, HTTPS)
    clients.start()
    started = time.monotonic()
    times = []
    try:
        rc, out = interrupted_playbook("adopt", [], MOVE_PLAY, fault=clients.tls_from_here, times=times)
    finally:
        clients.stop()
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    assert TAKE_OVER_PLAY in out
    lost = assert_moved_to_tls(HTTP, HTTPS, cluster_id, member_ids, clients)

    for name in HOSTS:
        h = host(name)
        # The collection's unit runs the member, with its data where the package had it; the
        # package's unit and settings stay on disk, unused.
        assert h.run("systemctl show etcd -p FragmentPath").stdout.strip() == "FragmentPath=/etc/systemd/system/etcd.service"
        assert h.file("/etc/etcd/etcd.env").contains("^ETCD_DATA_DIR=/var/lib/etcd/default$")
        assert h.file("/lib/systemd/system/etcd.service").exists and h.file("/etc/default/etcd").exists
        # (its cmdline: root in these containers may not read another user's /proc/PID/exe)
        assert h.run("tr '\\0' ' ' < /proc/$(systemctl show etcd -p MainPID --value)/cmdline").stdout.startswith(
            "/usr/local/bin/etcd")
        assert h.run("readlink -f /usr/local/bin/etcd").stdout.strip() == "/opt/etcd/v3.5.16/etcd"

    # The figures: time to adopt, writes, and the longest gap between acknowledged writes (the
    # longest time the cluster took no write, an upper bound of the time without a leader).
    gap = longest_write_gap(clients.writers())
    move_at = next(t for t, line in times if line.startswith(MOVE_PLAY))
    note("adoption of 3 members (read, plan, take-over roll, TLS move roll): %.0f s; the TLS move from %.0f s on"
         % (took, move_at - times[0][0]))
    note("writes acknowledged: %d over plaintext, %d over TLS; lost: %d; failed (sent, not acknowledged): %d + %d"
         % (len(clients.plain_writer.acked), len(clients.tls_writer.acked), len(lost), len(clients.plain_writer.failed),
            len(clients.tls_writer.failed)))
    note("longest gap between acknowledged writes: %.2f s" % gap)
    # The longest time no member named a leader (samples every 50 ms of every member, both schemes).
    leaderless, first_term, last_term = longest_leaderless(clients.watches)
    note("longest time without a leader: %.2f s; raft terms %d -> %d (%d elections or hand-overs)"
         % (leaderless, first_term, last_term, last_term - first_term))

    # What the operator keeps: the release, the package's data dir and the scenario's etcd_pki_dir;
    # the user, the ports and the WAL dir are the role's defaults.
    assert kept_lines(out) == [
        "[etcd:vars]", "etcd_version=3.5.16", "etcd_data_dir=/var/lib/etcd/default", "etcd_pki_dir=" + PKI, "[etcd]"] + [
        "%s NODE_NAME=%s" % (n, n) for n in HOSTS]
    KEPT["lines"] = kept_lines(out)


@pytest.mark.full
def test_a_re_run_of_the_adoption_changes_nothing_and_prints_the_same_lines():
    rc, again = playbook("adopt")
    assert rc == 0, again[-4000:]
    assert_unchanged(again, HOSTS)
    assert "the collection's already" in again
    assert kept_lines(again) == KEPT["lines"]


@pytest.mark.full
def test_a_fourth_host_joins_the_adopted_package_cluster_through_the_deploy_with_the_lines_kept():
    started = time.monotonic()
    KEPT["inventory"] = scale_out_inventory(KEPT["lines"], SPARE)
    rc, out = playbook("etcd", inventory=KEPT["inventory"])
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    members = Gateway(HTTPS["adopt-host0"]).members()
    assert sorted(m["name"] for m in members) == sorted([*HOSTS, SPARE])
    assert all(not m.get("isLearner") for m in members)
    assert Gateway("https://10.250.0.133:2379").get("/before/042") == "v42"
    note("scale out of the adopted package cluster to 4 members (the deploy): %.0f s" % took)


@pytest.mark.full
def test_the_adopted_package_cluster_is_upgraded_under_a_writer():
    # The inventory as the adoption said to keep it (the package's data dir, /var/lib/etcd/default, in
    # [etcd:vars]), with the release moved on: a patch step the mirror has. The upgrade rolls every
    # member, the leader last. (The restore of an adopted cluster, into data and WAL dirs of its own:
    # test_adopt_tls.py.)
    urls = [*HTTPS.values(), "https://10.250.0.133:2379"]
    newer = ["-e", "etcd_version=3.5.30"]
    gateway = Gateway(HTTPS["adopt-host0"])
    gateway.put("/before-upgrade", "acknowledged")
    member_ids = sorted(m["ID"] for m in gateway.members())
    writer = Writer(urls, prefix="/upgrade/")
    writer.start()
    started = time.monotonic()
    try:
        rc, out = playbook("upgrade", *newer, inventory=KEPT["inventory"])
    finally:
        writer.stop()
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    assert all(Gateway(url).status()["version"] == "3.5.30" for url in urls)
    assert sorted(m["ID"] for m in gateway.members()) == member_ids
    lost = writer.lost(gateway)
    assert lost == [] and len(writer.acked) > 50, (lost[:10], len(writer.acked))
    note("upgrade of the adopted package cluster, 4 members 3.5.16 -> 3.5.30 (snapshot, then the roll): %.0f s; "
         "writes acknowledged %d, lost %d" % (took, len(writer.acked), len(lost)))


# docs/adopt.md, "The way back", after the move to TLS: the package's settings take the ETCD_* lines
# of the collection's (TLS kept: the member list holds https:// peer URLs), then the collection's
# unit goes and the package's runs the member again, from the same data.
WAY_BACK = """set -e
{ grep -v '^ETCD_' /etc/default/etcd || true; grep '^ETCD_' /etc/etcd/etcd.env; } > /etc/default/etcd.way-back
mv /etc/default/etcd.way-back /etc/default/etcd
rm /etc/systemd/system/etcd.service
systemctl daemon-reload
systemctl reenable etcd
systemctl restart etcd
"""


@pytest.mark.full
def test_the_way_back_the_package_s_unit_runs_each_member_again_one_at_a_time_under_a_writer():
    urls = [*HTTPS.values(), "https://10.250.0.133:2379"]
    gateway = Gateway(HTTPS["adopt-host0"])
    member_ids = sorted(m["ID"] for m in gateway.members())
    writer = Writer(urls, prefix="/way-back/")
    writer.start()
    started = time.monotonic()
    try:
        for name in HOSTS:
            step = host(name).run(WAY_BACK)
            assert step.rc == 0, step.stdout + step.stderr
            member = Gateway(HTTPS[name])
            # The package's binary (3.5.16) serves again, a patch release below the cluster's others.
            assert poll(lambda member=member: _version(member) == "3.5.16", 60), name
            assert poll(lambda: all(_version(Gateway(url)) for url in urls), 60), name
    finally:
        writer.stop()
    took = time.monotonic() - started
    for name in HOSTS:
        h = host(name)
        unit = h.run("systemctl show etcd -p FragmentPath -p UnitFileState -p MainPID").stdout
        assert "FragmentPath=/usr/lib/systemd/system/etcd.service" in unit or \
            "FragmentPath=/lib/systemd/system/etcd.service" in unit, unit
        assert "UnitFileState=enabled" in unit, unit
        pid = unit.split("MainPID=")[1].split()[0]
        assert h.file("/proc/%s/cmdline" % pid).content_string.split("\0")[0] == "/usr/bin/etcd"
    assert sorted(m["ID"] for m in gateway.members()) == member_ids
    assert Gateway(HTTPS["adopt-host2"]).get("/before/042") == "v42"
    lost = writer.lost(gateway)
    assert lost == [] and len(writer.acked) > 50, (lost[:10], len(writer.acked))
    note("the way back, 3 members to the package's unit one at a time (TLS kept): %.0f s; writes acknowledged %d, "
         "lost %d" % (took, len(writer.acked), len(lost)))


def _version(gateway):
    try:
        return gateway.status()["version"]
    except (OSError, ValueError, KeyError):
        return None
