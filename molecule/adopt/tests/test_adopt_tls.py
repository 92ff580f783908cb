"""The adoption of a TLS cluster set up by hand (handmade.yml, on the hosts recreated after the package
cluster's tests): its own CA and pairs, a unit of its own name running etcd as root, the data and
the WAL in directories of its own. Refused by name, nothing changed, without etcd_pki_managed=false
and with an etcd_data_dir across a mount; adopted keeping its certificates under a writer, the data
renamed to etcd_data_dir: the cluster ID and member IDs kept, 0 acknowledged writes lost, the old
unit disabled and kept on disk, a re-run changed=0; then a fourth host joins it through the deploy."""

import hashlib
import os
import shutil
import subprocess
import time

import pytest
import yaml
from conftest import FIGURES
from etcdtest import (
    EPHEMERAL,
    INVENTORY,
    ROOT,
    Gateway,
    LeaderWatch,
    Writer,
    ansible_env,
    host,
    playbook,
    poll,
    recap,
)

HOSTS = ["adopt-host0", "adopt-host1", "adopt-host2"]
SPARE = "adopt-host3"
ADDRESS = {"adopt-host0": "10.250.0.130", "adopt-host1": "10.250.0.131", "adopt-host2": "10.250.0.132",
           SPARE: "10.250.0.133"}
HTTPS = {name: "https://%s:2379" % ADDRESS[name] for name in HOSTS}
# Where handmade.yml leaves the cluster's CA and the test's client pair; the PKI directory the
# adoption fills from the members' own files (the operator's, etcd_pki_managed=false).
HANDMADE = os.path.join(EPHEMERAL, "handmade-tls")
PKI_DIR = os.path.join(EPHEMERAL, "handmade-pki")
BYO = ["-e", "etcd_pki_managed=false", "-e", "etcd_pki_dir=" + PKI_DIR]
# The collection's default data dir, on the same filesystem as the members' (a rename); /tmp is a
# mount of its own on the test hosts.
MOVE = ["-e", "etcd_data_dir=/var/lib/etcd"]


def tls():
    return dict(ca=os.path.join(HANDMADE, "ca.crt"), cert=os.path.join(HANDMADE, "tester.crt"),
                key=os.path.join(HANDMADE, "tester.key"))


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
    """The package cluster's hosts recreated (in parallel), and the hand-made cluster on them."""
    recreate = [subprocess.Popen([os.path.join(ROOT, "tests", "testbed", "host.sh"), "recreate", name, ADDRESS[name]],
                                 stdout=subprocess.DEVNULL) for name in HOSTS]
    assert [p.wait(timeout=180) for p in recreate] == [0, 0, 0]
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


def state():
    """What a refused run must not change on the hand-made cluster's hosts."""
    return {name: host(name).run(
        "systemctl show etcd-main -p MainPID -p ActiveState -p UnitFileState; ls -la /etc/etcd /etc/systemd/system 2>&1;"
        " sha256sum /etc/etcd-main/tls/*; stat -c '%U %a %i %n' /var/lib/etcd-data/*/member /srv/etcd-wal/*;"
        " ls -d /var/lib/etcd /tmp/etcd-data 2>&1").stdout
        for name in HOSTS}


def test_a_tls_cluster_is_refused_by_name_unless_its_certificates_are_kept_or_a_move_crosses_a_mount(handmade):
    before = state()
    rc, out = playbook("adopt", "-e", "etcd_data_dir=/tmp/etcd-data")
    assert rc != 0
    assert ("host adopt-host1: its etcd serves TLS with certificates of its own; keep them (its CA and pairs, copied "
            "into etcd_pki_dir): set etcd_pki_managed=false; replacing them with the collection's "
            "(etcd_pki_managed=true) is not built yet") in out, out[-3000:]
    assert ("host adopt-host1: etcd_data_dir is /tmp/etcd-data, on another filesystem (a mount) than the member's data "
            "in /var/lib/etcd-data/adopt-host1: the move would copy the data, not rename it") in out, out[-3000:]
    assert "nothing was changed" in out
    assert state() == before
    assert not os.path.exists(PKI_DIR)


def test_the_handmade_cluster_is_adopted_under_a_writer_keeping_its_certificates(handmade):
    tls_gateway = gateway()
    for n in range(200):
        tls_gateway.put("/before/%03d" % n, "v%d" % n)
    cluster_id = tls_gateway.status()["header"]["cluster_id"]
    member_ids = sorted(m["ID"] for m in tls_gateway.members())
    inodes = {name: host(name).run("stat -c %%i /var/lib/etcd-data/%s/member" % name).stdout for name in HOSTS}

    writer = Writer(list(HTTPS.values()), prefix="/tls/", tls=tls)
    watch = LeaderWatch(HTTPS, tls=tls)
    writer.start()
    watch.start()
    started = time.monotonic()
    try:
        rc, out = playbook("adopt", *BYO, *MOVE)
    finally:
        writer.stop()
        watch.stop()
    took = time.monotonic() - started
    assert rc == 0, out[-6000:]
    assert "restarts: once, one member at a time" in out
    assert "moves: the data /var/lib/etcd-data/adopt-host2 -> /var/lib/etcd, renamed (one filesystem)" in out

    assert tls_gateway.status()["header"]["cluster_id"] == cluster_id
    members = tls_gateway.members()
    assert sorted(m["ID"] for m in members) == member_ids
    assert sorted(u for m in members for u in m["peerURLs"]) == ["https://%s:2380" % ADDRESS[n] for n in HOSTS]
    assert all(tls_gateway.get("/before/%03d" % n) == "v%d" % n for n in range(200))
    lost = writer.lost(tls_gateway)
    assert lost == [], lost[:10]
    assert len(writer.acked) > 50

    # The cluster's own CA and pairs, in etcd_pki_dir and on the members; its CA key never left
    # the host it was made on.
    assert sha256(os.path.join(PKI_DIR, "ca.pem")) == sha256(os.path.join(HANDMADE, "ca.crt"))
    assert sorted(os.listdir(PKI_DIR)) == sorted(["ca.pem"] + ["%s%s.pem" % (n, s) for n in HOSTS
                                                               for s in ("", "-key", "-peer", "-peer-key")])
    assert all(os.stat(os.path.join(PKI_DIR, f)).st_mode & 0o077 == 0 for f in os.listdir(PKI_DIR) if f.endswith("-key.pem"))
    for name in HOSTS:
        h = host(name)
        assert h.run("systemctl is-active etcd").stdout.strip() == "active"
        # The old unit: stopped, disabled, kept on disk; the take-over's drop-in is gone.
        assert h.run("systemctl is-active etcd-main").stdout.strip() == "inactive"
        assert h.run("systemctl is-enabled etcd-main").stdout.strip() == "disabled"
        assert h.file("/etc/systemd/system/etcd-main.service").exists
        assert not h.file("/etc/systemd/system/etcd.service.d/adopt.conf").exists
        # The data renamed to etcd_data_dir (the same inode), the WAL where it was, both now the
        # collection's user's (etcd ran as root).
        env = h.file("/etc/etcd/etcd.env")
        assert env.contains("^ETCD_DATA_DIR=/var/lib/etcd$")
        assert env.contains("^ETCD_WAL_DIR=/srv/etcd-wal/%s$" % name)
        assert h.run("stat -c %i /var/lib/etcd/member").stdout == inodes[name]
        assert not h.file("/var/lib/etcd-data/" + name).exists
        assert h.run("ps -o user= -C etcd").stdout.split() == ["etcd"]
        assert h.run("find /var/lib/etcd /srv/etcd-wal/%s ! -user etcd" % name).stdout == ""
        assert h.file("/etc/etcd/pki/ca.pem").sha256sum == sha256(os.path.join(HANDMADE, "ca.crt"))

    acked_times = sorted(float(v.split("-", 1)[1]) for v in writer.acked.values())
    led = sorted(t for t, _name, _me, leader, _term in watch.samples if leader != "0")
    terms = watch.terms()
    note("hand-made TLS cluster (own CA, unit etcd-main.service, etcd as root, WAL apart): adoption of 3 members "
         "(read, plan, one roll, data dirs renamed): %.0f s" % took)
    note("writes acknowledged over TLS: %d; lost: %d; failed (sent, not acknowledged): %d"
         % (len(writer.acked), len(lost), len(writer.failed)))
    note("longest gap between acknowledged writes: %.2f s; longest time without a leader: %.2f s; raft terms %d -> %d"
         % (max(b - a for a, b in zip(acked_times, acked_times[1:])), max(b - a for a, b in zip(led, led[1:])),
            terms[0], terms[-1]))

    rc, out = playbook("adopt", *BYO, *MOVE)
    assert rc == 0, out[-4000:]
    assert all(counts["changed"] == 0 for name, counts in recap(out).items() if name in HOSTS), recap(out)
    assert "the collection's already" in out


def test_a_fourth_host_joins_the_adopted_cluster_through_the_deploy(handmade):
    # As an operator of their own PKI does: the new member's pairs (issued with the cluster's CA
    # by handmade.yml) go into etcd_pki_dir, the host into the inventory beside the adopted members,
    # whose WAL dirs the inventory now names (their data is in the default place, moved there).
    for suffix in ("", "-peer"):
        shutil.copy(os.path.join(HANDMADE, SPARE + ".crt"), os.path.join(PKI_DIR, "%s%s.pem" % (SPARE, suffix)))
        shutil.copy(os.path.join(HANDMADE, SPARE + ".key"), os.path.join(PKI_DIR, "%s%s-key.pem" % (SPARE, suffix)))
    path = os.path.join(EPHEMERAL, "inventory-scale-out")
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(os.path.dirname(INVENTORY), path)
    inventory = os.path.join(path, os.path.basename(INVENTORY))
    with open(inventory) as handle:
        groups = yaml.safe_load(handle)
    groups["etcd"]["hosts"][SPARE] = groups["spare"]["hosts"].pop(SPARE)
    with open(inventory, "w") as handle:
        yaml.safe_dump(groups, handle)
    for name in HOSTS:
        with open(os.path.join(path, "host_vars", name)) as handle:
            variables = yaml.safe_load(handle) or {}
        variables.update(etcd_wal_dir="/srv/etcd-wal/" + name)
        with open(os.path.join(path, "host_vars", name), "w") as handle:
            yaml.safe_dump(variables, handle)

    started = time.monotonic()
    rc, out = playbook("etcd", *BYO, inventory=inventory)
    took = time.monotonic() - started
    assert rc == 0, out[-6000:]
    members = gateway().members()
    assert sorted(m["name"] for m in members) == sorted([*HOSTS, SPARE])
    assert all(not m.get("isLearner") for m in members)
    spare = Gateway("https://%s:2379" % ADDRESS[SPARE], **tls())
    assert spare.get("/before/042") == "v42"
    note("scale out of the adopted cluster to 4 members (the deploy): %.0f s" % took)
