"""The adoption of a TLS cluster set up by hand (handmade.yml, on the hosts recreated after the package
cluster's tests): its own CA and pairs, a unit of its own name running etcd as root, the data and
the WAL in directories of its own. Refused by name, nothing changed, with an etcd_data_dir across a
mount; adopted with etcd_pki_managed=true under a writer, its certificates replaced by the
collection's through the CA rotation's trust window (its CA trusted without its key), the run killed
after the first member's take-over and finished by the next, the data renamed to etcd_data_dir: the
cluster ID and member IDs kept, 0 acknowledged writes lost, no member refusing a peer, the old CA no
longer trusted, the old unit disabled and kept on disk, a re-run changed=0; then a fourth host joins
it through the deploy with the inventory lines the adoption printed, a backup of it is restored
into the members' own data and WAL dirs, the status playbook shows it, and a member whose host is
lost is replaced by a fresh host at its address.

Every test here is marked full (`make test-full`): `make test` walks the adoption once, on the package
cluster (test_adopt.py). The hosts are recreated and the hand-made cluster built by the module
fixture `handmade`, which pytest sets up only when a test of this file is selected: under `make
test` (-m "not full") none is, and nothing of it runs."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import pytest
from conftest import FIGURES, kept_lines, scale_out_inventory
from cryptography import x509
from etcdtest import (BACKUPS, EPHEMERAL, INVENTORY, ROOT, Gateway, LeaderWatch, Writer, ansible_env, assert_unchanged, b64,
                      host, interrupted_playbook, longest_leaderless, longest_write_gap, playbook, poll, run_testbed, snapshots,
                      why_failed)

# The adoption is walked in `make test` by test_adopt.py: everything here is a second walk or a refusal
# the plan's unit tests decide (tests/unit/plugins/module_utils/test_etcd_adopt.py).
pytestmark = pytest.mark.full

HOSTS = ["adopt-host0", "adopt-host1", "adopt-host2"]
SPARE = "adopt-host3"
ADDRESS = {"adopt-host0": "10.250.0.130", "adopt-host1": "10.250.0.131", "adopt-host2": "10.250.0.132",
           SPARE: "10.250.0.133"}
HTTPS = {name: "https://%s:2379" % ADDRESS[name] for name in HOSTS}
# Where handmade.yml leaves the cluster's CA and the test's client pair; the PKI directory the
# adoption fills with the members' own files, then the collection's CA and pairs.
HANDMADE = os.path.join(EPHEMERAL, "handmade-tls")
PKI_DIR = os.path.join(EPHEMERAL, "handmade-pki")
PKI = ["-e", "etcd_pki_dir=" + PKI_DIR]
# The collection's default data dir, on the same filesystem as the members' (a rename); /tmp is a
# mount of its own on the test hosts.
MOVE = ["-e", "etcd_data_dir=/var/lib/etcd"]
# The members' timers, on a schedule that does not come during the test (it starts their services
# itself); the defragmentation rule always defragments, so that the maintenance timer asks every
# member (the cluster's health, the run lock, the caught-up wait).
TIMERS = ["-e", json.dumps(dict(etcd_backup_schedule="*-*-* 03:33:00", etcd_maintenance_schedule="*-*-* 03:33:00",
                                etcd_defrag_rule="always"))]
TIMER_UNITS = ["etcd-snapshot.service", "etcd-maintenance.service"]
# The second member's health gate in the take-over roll: the first member is taken over.
SECOND_GATE = "TASK [raftops.etcd.etcd : Wait until the cluster is healthy and caught up before restarting"
# What a member logs when it refuses a peer's (or a client's) certificate, or a peer its own.
REFUSED = "bad certificate|unknown authority|unknown certificate authority"


def tls():
    """A client of the cluster across the CA rotation, as the docs tell an operator: the members
    verified with both CAs (ca-bundle.pem, once there); the cluster's own pair until every member
    trusts the new CA too (phase 2 on, when ca-key.pem is the collection's), then the admin pair."""
    bundle = os.path.join(PKI_DIR, "ca-bundle.pem")
    ca = bundle if os.path.exists(bundle) else os.path.join(HANDMADE, "ca.crt")
    if os.path.exists(os.path.join(PKI_DIR, "ca-key.pem")):
        return dict(ca=ca, cert=os.path.join(PKI_DIR, "admin.pem"), key=os.path.join(PKI_DIR, "admin-key.pem"))
    return dict(ca=ca, cert=os.path.join(HANDMADE, "tester.crt"), key=os.path.join(HANDMADE, "tester.key"))


def gateway(name="adopt-host0"):
    return Gateway(HTTPS[name], **tls())


def note(line):
    with open(FIGURES, "a") as handle:
        handle.write(line + "\n")


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture(scope="module")
def handmade():
    """The package cluster's hosts recreated (in parallel; the spare joined that cluster), and the
    hand-made cluster on them."""
    recreate = [subprocess.Popen([os.path.join(ROOT, "tests", "testbed", "host.sh"), "recreate", name, ADDRESS[name]],
                                 stdout=subprocess.DEVNULL) for name in [*HOSTS, SPARE]]
    assert [p.wait(timeout=180) for p in recreate] == [0, 0, 0, 0]
    for path in (HANDMADE, PKI_DIR):
        shutil.rmtree(path, ignore_errors=True)
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "molecule", "adopt", "handmade.yml")],
                          env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert poll(serving, 60)


def serving():
    """Whether every member of the hand-made cluster serves clients."""
    try:
        return len([m for m in gateway().members() if m.get("clientURLs")]) == 3
    except OSError:
        return False


STATE_READ = "state read"


def state():
    """What a refused run must not change on the hand-made cluster's hosts. The unit, the certificates and
    the data and WAL dirs must be read (a host that cannot be read must not read as unchanged); the
    collection's paths, absent before the adoption, are listed whether they exist or not."""
    prints = {}
    for name in HOSTS:
        read = host(name).run(
            "systemctl show etcd-main -p MainPID -p ActiveState -p UnitFileState && ls -la /etc/systemd/system &&"
            " sha256sum /etc/etcd-main/tls/* && stat -c '%%U %%a %%i %%n' /var/lib/etcd-data/*/member /srv/etcd-wal/* &&"
            " echo %s; ls -la /etc/etcd 2>&1; ls -d /var/lib/etcd /tmp/etcd-data 2>&1" % STATE_READ)
        assert STATE_READ + "\n" in read.stdout, (name, read.rc, (read.stderr or read.stdout)[-500:])
        prints[name] = read.stdout
    return prints


def test_a_run_lock_another_run_holds_and_a_data_dir_move_across_a_mount_are_refused_by_name_and_nothing_changes(
        handmade):
    # One run for both (the plan names every problem). The lock, read with the members' own pairs,
    # is refused by the plan: before the preparation that, without it, copies the cluster's
    # certificates into etcd_pki_dir and writes the take-over's drop-in on the hosts.
    before = state()
    lease = hold_lock(OTHER_RUN)
    try:
        rc, out = playbook("adopt", *PKI, "-e", "etcd_data_dir=/tmp/etcd-data")
    finally:
        gateway().call("/v3/lease/revoke", {"ID": lease})
    assert rc != 0
    text = " ".join(out.split())
    assert ("host adopt-host1: etcd_data_dir is /tmp/etcd-data, on another filesystem (a mount) than the member's data "
            "in /var/lib/etcd-data/adopt-host1: the move would copy the data, not rename it") in text, out[-3000:]
    assert "host adopt-host0: lock run is held by %s since 2026-01-01T00:00:00Z (lease " % OTHER_RUN in text, out[-3000:]
    assert ("wait for that run to finish, or if it died, wait for the lock to expire or release it with: etcdctl "
            "--endpoints=https://10.250.0.130:2379 --cacert=/etc/etcd-main/tls/ca.crt --cert=/etc/etcd-main/tls/node.crt "
            "--key=/etc/etcd-main/tls/node.key lease revoke ") in text, out[-3000:]
    assert "nothing was changed" in text
    assert "TASK [Bring the cluster's own certificates" not in out
    assert state() == before
    assert not os.path.exists(PKI_DIR)


# A run that lives, on another controller (a lock whose run's keeper recorded its end would be taken over).
OTHER_RUN = "ansible-playbook (Adopt a running cluster) on ops-1 by alice, pid 4242, started 2026-01-01T00:00:00Z"


def hold_lock(holder):
    """The run lock as ``holder`` holds it, through the cluster's own client pair (etcdtest's
    hold_run_lock does the same with the collection's); returns its lease."""
    lease = gateway().call("/v3/lease/grant", {"TTL": 900})["ID"]
    value = json.dumps({"holder": holder, "acquired_at": "2026-01-01T00:00:00Z", "ttl": 45})
    gateway().call("/v3/kv/put", {"key": b64("/raftops/etcd/run"), "value": b64(value), "lease": lease})
    return lease


def second_gate():
    """A line matcher: true at the take-over roll's second health gate (the first member is done)."""
    seen = []

    def matches(line):
        if line.startswith(SECOND_GATE):
            seen.append(line)
        return len(seen) == 2 and line.startswith(SECOND_GATE)
    return matches


def the_timers_wait(name):
    """On the member taken over while the others run under their own unit and CA: its client pairs come
    from the collection's CA, which those members do not trust yet, and its timers are not there yet
    (written once the rotation left phase 1), so none can fire and be refused."""
    root = x509.load_pem_x509_certificate(host(name).file("/etc/etcd/pki/root.pem").content)
    with open(os.path.join(HANDMADE, "ca.crt"), "rb") as handle:
        assert root.issuer != x509.load_pem_x509_certificate(handle.read()).subject
    for unit in TIMER_UNITS:
        started = host(name).run("systemctl start %s" % unit)
        assert started.rc != 0 and "not found" in started.stderr, (unit, started.stdout, started.stderr)
    assert host(name).run("systemctl list-units --all --no-legend 'etcd-*.timer'").stdout.strip() == ""


def test_the_handmade_cluster_is_adopted_under_a_writer_its_ca_replaced_through_the_trust_window_a_kill_mid_take_over_finished_by_a_re_run(handmade):
    tls_gateway = gateway()
    for n in range(200):
        tls_gateway.put("/before/%03d" % n, "v%d" % n)
    cluster_id = tls_gateway.status()["header"]["cluster_id"]
    member_ids = sorted(m["ID"] for m in tls_gateway.members())
    inodes = {name: host(name).run("stat -c %%i /var/lib/etcd-data/%s/member" % name).stdout for name in HOSTS}
    since = {name: host(name).run("date +%s").stdout.strip() for name in HOSTS}

    writer = Writer(list(HTTPS.values()), prefix="/tls/", tls=tls)
    watch = LeaderWatch(HTTPS, tls=tls)
    writer.start()
    watch.start()
    started = time.monotonic()
    try:
        # Killed (SIGKILL, as a controller that died) at the second member's gate: the first is
        # taken over, trusting both CAs; the same command finishes the adoption and the rotation.
        rc, killed = interrupted_playbook("adopt", [*PKI, *MOVE, *TIMERS], second_gate())
        assert rc != 0 and killed.count(SECOND_GATE) == 2, killed[-3000:]
        taken_over = [n for n in HOSTS if host(n).run("systemctl is-active etcd").stdout.strip() == "active"]
        assert len(taken_over) == 1, (taken_over, killed[-3000:])
        assert "restarts: three times, one member at a time" in killed
        the_timers_wait(taken_over[0])
        rc, out = playbook("adopt", *PKI, *MOVE, *TIMERS)
    finally:
        writer.stop()
        watch.stop()
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    assert "the collection's already" in out  # the member taken over before the kill
    assert "moves: the data /var/lib/etcd-data/adopt-host2 -> /var/lib/etcd, renamed (one filesystem)" in out + killed

    final = Gateway(HTTPS["adopt-host0"], **tls())
    assert final.status()["header"]["cluster_id"] == cluster_id
    members = final.members()
    assert sorted(m["ID"] for m in members) == member_ids
    assert sorted(u for m in members for u in m["peerURLs"]) == ["https://%s:2380" % ADDRESS[n] for n in HOSTS]
    assert all(final.get("/before/%03d" % n) == "v%d" % n for n in range(200))
    lost = writer.lost(final)
    assert lost == [], lost[:10]
    assert len(writer.acked) > 50

    # The timers, written once every member trusts the new CA, work: started on a member, each
    # succeeds, the defragmentation having asked every member.
    fired = host("adopt-host1").run("systemctl start %s" % " ".join(TIMER_UNITS))
    assert fired.rc == 0, fired.stderr
    logged = host("adopt-host1").run("journalctl -u etcd-snapshot -u etcd-maintenance -o cat --no-pager").stdout
    assert "saved /var/backups/etcd/etcd-snapshot-" in logged and "defragmented adopt-host1 in " in logged, logged

    # No member refused a peer, the writer or a timer at any moment of the window, under either unit.
    for name in HOSTS:
        refused = host(name).run("journalctl -u etcd -u etcd-main -u etcd-snapshot -u etcd-maintenance --since @%s "
                                 "--no-pager | grep -iE '%s'" % (since[name], REFUSED)).stdout
        assert refused == "", (name, refused[:2000])

    # The collection's CA and pairs now; the cluster's CA retired (its key never came here), and
    # no longer trusted: a client with a pair of it is refused.
    own_ca = sha256(os.path.join(HANDMADE, "ca.crt"))
    assert sha256(os.path.join(PKI_DIR, "ca.pem")) != own_ca
    assert [sha256(os.path.join(PKI_DIR, "retired", f)) for f in os.listdir(os.path.join(PKI_DIR, "retired"))] == [own_ca]
    assert not any(f.startswith(("ca-next", "ca-previous", "ca-retiring")) for f in os.listdir(PKI_DIR))
    for name in HOSTS:
        h = host(name)
        assert h.file("/etc/etcd/pki/ca.pem").sha256sum == sha256(os.path.join(PKI_DIR, "ca.pem"))
        old_pair = Gateway(HTTPS[name], ca=os.path.join(PKI_DIR, "ca.pem"), cert=os.path.join(HANDMADE, "tester.crt"),
                           key=os.path.join(HANDMADE, "tester.key"))
        with pytest.raises(OSError):
            old_pair.status()
        assert h.run("systemctl is-active etcd").stdout.strip() == "active"
        # The old unit: stopped, disabled, kept on disk; the take-over's drop-in is gone.
        assert h.run("systemctl is-active etcd-main").stdout.strip() == "inactive"
        assert h.run("systemctl is-enabled etcd-main").stdout.strip() == "disabled"
        assert h.file("/etc/systemd/system/etcd-main.service").exists
        assert not h.file("/etc/systemd/system/etcd.service.d/adopt.conf").exists
        # The data renamed to etcd_data_dir (the same inode), the WAL where it was, both now the
        # collection's user's (etcd ran as root); the peer name asked for, as every peer has it now.
        env = h.file("/etc/etcd/etcd.env")
        assert env.contains("^ETCD_DATA_DIR=/var/lib/etcd$")
        assert env.contains("^ETCD_WAL_DIR=/srv/etcd-wal/%s$" % name)
        assert env.contains("^ETCD_PEER_CERT_ALLOWED_HOSTNAME=etcd-peer.invalid$")
        assert h.run("stat -c %i /var/lib/etcd/member").stdout == inodes[name]
        assert not h.file("/var/lib/etcd-data/" + name).exists
        assert h.run("ps -o user= -C etcd").stdout.split() == ["etcd"]
        assert h.run("find /var/lib/etcd /srv/etcd-wal/%s ! -user etcd" % name).stdout == ""

    # What the operator keeps: the release and the PKI directory for all, each member's WAL dir;
    # the data dir and the user are the role's defaults.
    assert kept_lines(out) == ["[etcd:vars]", "etcd_version=3.5.16", "etcd_pki_dir=" + PKI_DIR, "[etcd]"] + [
        "%s NODE_NAME=%s etcd_wal_dir=/srv/etcd-wal/%s" % (n, n, n) for n in HOSTS]

    leaderless, first_term, last_term = longest_leaderless([watch])
    note("hand-made TLS cluster (own CA replaced by the collection's, unit etcd-main.service, etcd as root, WAL apart): "
         "adoption of 3 members, killed after the first and run again (read, plan, take-over roll, the CA rotation's "
         "two more rolls, data dirs renamed): %.0f s" % took)
    note("writes acknowledged over TLS: %d; lost: %d; failed (sent, not acknowledged): %d"
         % (len(writer.acked), len(lost), len(writer.failed)))
    note("longest gap between acknowledged writes: %.2f s; longest time without a leader: %.2f s; raft terms %d -> %d"
         % (longest_write_gap([writer]), leaderless, first_term, last_term))

    rc, again = playbook("adopt", *PKI, *MOVE, *TIMERS)
    assert rc == 0, again[-4000:]
    assert_unchanged(again, HOSTS)
    assert kept_lines(again) == kept_lines(out)
    with open(os.path.join(EPHEMERAL, "handmade-kept-lines"), "w") as handle:
        handle.write("\n".join(kept_lines(out)))


def test_a_fourth_host_joins_the_adopted_cluster_through_the_deploy_with_the_lines_kept(handmade):
    # The inventory as the adoption said to keep it, the new host beside the adopted members: the
    # collection's CA issues its pairs.
    with open(os.path.join(EPHEMERAL, "handmade-kept-lines")) as handle:
        inventory = scale_out_inventory(handle.read().splitlines(), SPARE)
    started = time.monotonic()
    rc, out = playbook("etcd", inventory=inventory)
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    members = gateway().members()
    assert sorted(m["name"] for m in members) == sorted([*HOSTS, SPARE])
    assert all(not m.get("isLearner") for m in members)
    spare = Gateway("https://%s:2379" % ADDRESS[SPARE], **tls())
    assert spare.get("/before/042") == "v42"
    note("scale out of the adopted cluster to 4 members (the deploy): %.0f s" % took)
    with open(os.path.join(EPHEMERAL, "handmade-inventory"), "w") as handle:
        handle.write(inventory)


def test_the_adopted_cluster_is_restored_into_its_own_data_and_wal_dirs(handmade):
    # The adopted members keep their WAL apart (etcd_wal_dir=/srv/etcd-wal/NAME in the lines the
    # adoption printed), the fourth host in its data dir: the restore moves both aside and restores
    # each member's WAL where it keeps it.
    with open(os.path.join(EPHEMERAL, "handmade-inventory")) as handle:
        inventory = handle.read()
    gateway().put("/before-backup", "acknowledged")
    rc, out = playbook("backup", inventory=inventory)
    assert rc == 0, why_failed(out)
    gateway().put("/after-backup", "not in the backup")
    started = time.monotonic()
    rc, out = playbook("restore", "-e", "etcd_restore_snapshot=" + os.path.join(BACKUPS, snapshots()[-1]),
                       inventory=inventory)
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    restored = gateway("adopt-host1")
    assert restored.get("/before-backup") == "acknowledged" and restored.get("/before/042") == "v42"
    assert restored.get("/after-backup") is None
    assert len(restored.members()) == 4
    for name in HOSTS:
        h = host(name)
        wal = "/srv/etcd-wal/" + name
        assert h.file("/etc/etcd/etcd.env").contains("^ETCD_WAL_DIR=%s$" % wal)
        assert h.run("ls %s/*.wal" % wal).rc == 0, name
        assert h.run("ls -d %s.before-restore-*/*.wal" % wal).rc == 0, name
        assert sorted(h.file("/var/lib/etcd/member").listdir()) == ["snap"], name
        assert h.run("find /var/lib/etcd %s ! -user etcd" % wal).stdout == "", name
    assert host(SPARE).file("/var/lib/etcd/member/wal").is_directory
    note("restore of the adopted cluster, 4 members, its WAL apart on 3: %.0f s" % took)

    # The status playbook shows the adopted cluster as any other: every member, each healthy.
    rc, out = playbook("status", inventory=inventory)
    assert rc == 0, why_failed(out)
    for name in [*HOSTS, SPARE]:
        assert re.search(r"%s +https://%s:2379 .* healthy" % (name, re.escape(ADDRESS[name])), out), out[-4000:]



def test_a_lost_adopted_member_is_replaced_by_a_fresh_host_at_its_address_with_its_wal_apart(handmade):
    # adopt-host2's host is lost, and a fresh one (recreated empty) takes its address; its inventory
    # line, as the adoption printed it, keeps its WAL apart. The new member's etcd makes its WAL
    # beside the WAL dir (as <dir>.tmp) and renames it into place, so the WAL's parent must be etcd's.
    with open(os.path.join(EPHEMERAL, "handmade-inventory")) as handle:
        inventory = handle.read()
    lost = "adopt-host2"
    old_id = {m["name"]: m["ID"] for m in gateway().members()}[lost]
    run_testbed("recreate", lost, ADDRESS[lost])
    started = time.monotonic()
    rc, out = playbook("replace_member", "-e", "etcd_replace=" + lost, inventory=inventory)
    took = time.monotonic() - started
    assert rc == 0, why_failed(out)
    members = {m["name"]: m for m in gateway().members()}
    assert sorted(members) == sorted([*HOSTS, SPARE]) and members[lost]["ID"] != old_id
    assert all(not m.get("isLearner") for m in members.values())
    replaced = Gateway(HTTPS[lost], **tls())
    assert replaced.get("/before-backup") == "acknowledged"
    h = host(lost)
    assert h.run("ls /srv/etcd-wal/%s/*.wal" % lost).rc == 0
    assert sorted(h.file("/var/lib/etcd/member").listdir()) == ["snap"]
    parent = h.file("/srv/etcd-wal")
    assert (parent.user, parent.mode) == ("etcd", 0o700)
    assert h.file("/etc/systemd/system/etcd.service").contains("^ReadWritePaths=/var/lib/etcd /srv/etcd-wal$")
    note("replace of a lost adopted member by a fresh host at its address, its WAL apart: %.0f s" % took)


def test_a_member_removed_leaves_neither_its_data_nor_its_wal_apart_in_place(handmade):
    # Left in place, the WAL would pass for the data of a member that joins on that host later.
    with open(os.path.join(EPHEMERAL, "handmade-inventory")) as handle:
        inventory = handle.read()
    removed = "adopt-host2"
    rc, out = playbook("remove_member", "-e", "etcd_remove=" + removed, inventory=inventory)
    assert rc == 0, why_failed(out)
    assert sorted(m["name"] for m in gateway().members()) == sorted([*HOSTS[:2], SPARE])
    h = host(removed)
    assert not h.file("/srv/etcd-wal/" + removed).exists
    assert h.run("ls /srv/etcd-wal/%s.removed-*/*.wal" % removed).rc == 0
    assert h.run("ls -d /var/lib/etcd.removed-*/member/snap").rc == 0
