"""CA rotation (etcd_pki_rotate_ca) of the running 3-member cluster: refused while a member is down
(no host changed), then a rotation under a continuous writer and a leader monitor whose first run
stops after phase 1 (etcd_pki_rotate_ca_pause, the status naming the phase and the bundle to hand
over), whose second run stops when a member's host drops out (nothing more changed), and which the
next run finishes; a run after it changes nothing. (A rotation's check mode writes
nothing: tests/unit etcd_pki_rotation, and the default scenario's check runs of every tag.)

While it runs, a probe connects to every member again and again with the admin pair of the old CA
(copied before the rotation) and, once it exists, the admin pair of the new CA, both trusting the
CAs of ca-bundle.pem as an application told to would. A gRPC proxy on pki-proxy (group etcd_proxy
through this test's own inventory) follows the rotation, while a client on its host writes through
it with the files the proxy has at each moment.

`make test` walks the rotation stopped after phase 1 and finished by the next run (the run the dropped
host stops included), and reads the peer port after it; the refusal with a member down (decided by
etcd_pki: tests/unit test_etcd_pki_rotation.py) and the no-change run are `make test-full`'s.
"""

import glob
import http.client
import json
import os
import shutil
import subprocess
import threading
import time

import pytest
from cryptography import x509
from peerprobe import client_pairs, member_pairs, peer_port_answers, show
from etcdtest import (EPHEMERAL, PKI, Gateway, LeaderWatch, Writer, assert_unchanged, fingerprint, host,
                      interrupted_playbook, playbook, recap, release_run_lock, restarts, rotating_tls, why_failed)

MEMBERS = {"pki-host0": ("pki-a", "10.250.0.20"), "pki-host1": ("pki-b", "10.250.0.21"),
           "pki-host2": ("pki-c", "10.250.0.22")}
URLS = ["https://%s:2379" % address for _, address in MEMBERS.values()]
HOSTS = list(MEMBERS)
ROTATE = ["-e", "etcd_pki_rotate_ca=true"]
APP = ["-e", '{"etcd_pki_clients": [{"name": "rot-app"}]}']
PAUSE = ["-e", "etcd_pki_rotate_ca_pause=true"]
# etcd's default election timeout (1 s) and the leader monitor's sampling slack: a hand-off is done
# well within it.
HANDOFF_LIMIT = 1.5


def load(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def pki_files():
    state = {}
    for root, _dirs, files in os.walk(PKI):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                state[os.path.relpath(os.path.join(root, name), PKI)] = handle.read()
    return state


def answers(url, cert, key):
    """True when the member serves a request from this client pair (trusting the CAs to trust now)."""
    try:
        Gateway(url, cert=cert, key=key, timeout=3, **rotating_tls()).status()
        return True
    except (OSError, ValueError, http.client.HTTPException):
        return False


class Probe(threading.Thread):
    """Every 0.3 s, each member with the old CA's admin pair and, once issued, the new CA's."""

    def __init__(self, old_pair, old_issuer):
        super().__init__(daemon=True)
        self.old_pair, self.old_issuer = old_pair, old_issuer
        self.old, self.new, self._stop_event = [], [], threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            new_pair = (os.path.join(PKI, "admin.pem"), os.path.join(PKI, "admin-key.pem"))
            fresh = load(new_pair[0]).issuer != self.old_issuer
            for url in URLS:
                self.old.append((time.time(), url, answers(url, *self.old_pair)))
                if fresh:
                    self.new.append((time.time(), url, answers(url, *new_pair)))
            self._stop_event.wait(0.3)

    def stop(self):
        self._stop_event.set()
        self.join(30)


def restart_windows(since):
    """{client URL: [(stopping, started)]}: when each member's etcd was restarting."""
    return {"https://%s:2379" % address: restarts(h, "etcd", since) for h, (_name, address) in MEMBERS.items()}


PROXY = "pki-proxy"
PROXY_PKI = "/etc/etcd-proxy/pki"
PROXY_LOG = "/root/through-proxy.log"
PROXY_STOP = "/root/through-proxy.stop"
# etcdctl through the proxy on its host, with the proxy's own CA file and client pair as they are then.
THROUGH_PROXY = (f"etcdctl --endpoints=https://127.0.0.1:23790 --cacert={PROXY_PKI}/ca.pem --cert={PROXY_PKI}/client.pem "
                 f"--key={PROXY_PKI}/client-key.pem")


def with_proxy():
    """A second inventory (-i) that makes pki-proxy a gRPC proxy host, with the settings the members have."""
    settings = dict(etcd_release_base_url="http://10.250.0.1:8080", etcd_version="3.5.1", etcd_limit_nofile=20000,
                    etcd_pki_dir=PKI, etcd_proxy_mode="grpc")
    path = os.path.join(EPHEMERAL, "inventory-proxy.json")
    with open(path, "w") as out:
        json.dump({"etcd_proxy": {"hosts": {PROXY: settings}}}, out)
    return ["-i", path]


def start_proxy_client():
    """On the proxy's host, a write through the proxy every 0.3 s (each with a new connection and the
    proxy's own CA file and client pair as they are then), one line "<time> <exit code>" each, until
    PROXY_STOP exists or 900 s passed."""
    host(PROXY).check_output("rm -f %s %s" % (PROXY_LOG, PROXY_STOP))
    loop = ("end=$((SECONDS + 900)); n=0; while [ ! -e %s ] && [ $SECONDS -lt $end ]; do n=$((n + 1)); "
            "t=$(date +%%s.%%N); %s --dial-timeout=1s --command-timeout=3s put /through-proxy/$n $n >/dev/null 2>&1; "
            "echo \"$t $?\" >> %s; sleep 0.3; done" % (PROXY_STOP, THROUGH_PROXY, PROXY_LOG))
    host(PROXY).check_output("nohup bash -c '%s' >/dev/null 2>&1 &" % loop)


def stop_proxy_client():
    """[(time, ok)] of every write through the proxy."""
    host(PROXY).check_output("touch %s && sleep 1" % PROXY_STOP)
    lines = host(PROXY).check_output("cat %s" % PROXY_LOG).splitlines()
    return [(float(t), rc == "0") for t, rc in (line.split() for line in lines)]


def unexcused(samples, windows, keep):
    """Failed probes outside a restart of their member (1 s before it stopped to 3 s after it was
    ready: a member restarting refuses or drops connections, whatever the pair)."""
    return [(t, url) for t, url, ok in samples if keep(t) and not ok
            and not any(stop - 1 <= t <= started + 3 for stop, started in windows[url])]


# The host that drops out mid-rotation, and the task of the run during which it does.
DROPPED = "pki-host2"
RESUMED = "TASK [raftops.etcd.etcd : Issue, renew or check the certificates on the controller]"


def host_command(name, *argv):
    subprocess.run(["podman", "exec", name, *argv], check=True, timeout=60)


def ssh_stopped(name):
    """Stop sshd on the host, its etcd still serving, and close the controller's SSH masters to it (a
    master outlives sshd and would keep the host reachable): it drops out of the run."""
    host_command(name, "systemctl", "stop", "ssh")
    address = MEMBERS[name][1]
    for socket in glob.glob(os.path.expanduser("~/.ansible/cp/%s-*" % address)):
        subprocess.run(["ssh", "-o", "ControlPath=" + socket, "-O", "exit", address], check=False, capture_output=True,
                       timeout=30)


def line_time(times, text, occurrence=1):
    hits = [t for t, line in times if text in line]
    assert len(hits) >= occurrence, (text, occurrence)
    return hits[occurrence - 1]


@pytest.mark.full
def test_a_rotation_with_a_member_down_is_refused_before_any_host_changes():
    host("pki-host1").check_output("systemctl stop etcd")
    try:
        before, files = fingerprint(HOSTS), pki_files()
        rc, out = playbook("etcd", *ROTATE)
        assert rc != 0, out
        text = " ".join(out.split())
        assert ("a CA rotation needs every member up and healthy, and member pki-b on host pki-host1 is not: "
                "start it and run again. Nothing was written. No host was changed.") in text, out
        assert fingerprint(HOSTS) == before
        assert pki_files() == files
    finally:
        host("pki-host1").check_output("systemctl start etcd")
    deadline = time.monotonic() + 60
    while not answers(URLS[1], None, None) and time.monotonic() < deadline:
        time.sleep(1)


def test_a_rotation_stopped_after_phase_1_is_finished_by_the_next_run_without_downtime(tmp_path):
    old_ca = load(os.path.join(PKI, "ca.pem"))
    crl_before = x509.load_pem_x509_crl(pki_files()["crl.pem"])
    old_pair = (str(tmp_path / "old-admin.pem"), str(tmp_path / "old-admin-key.pem"))
    shutil.copy(os.path.join(PKI, "admin.pem"), old_pair[0])
    shutil.copy(os.path.join(PKI, "admin-key.pem"), old_pair[1])

    # The gRPC proxy, deployed as the proxy playbook does it, before the rotation.
    rc, out = playbook("proxy", *with_proxy())
    assert rc == 0, why_failed(out)
    writer = Writer(URLS, prefix="/rotation/", tls=rotating_tls)
    watch = LeaderWatch({name: "https://%s:2379" % address for name, address in MEMBERS.values()}, tls=rotating_tls)
    probe = Probe(old_pair, old_ca.subject)
    writer.start()
    watch.start()
    probe.start()
    start_proxy_client()
    second, through_proxy = [], []
    try:
        began, wall_began = time.monotonic(), int(time.time()) - 1
        # Stopped once phase 1 is in place on every member, for the applications to take the bundle.
        rc, out = playbook("etcd", *ROTATE, *PAUSE, *APP, *with_proxy())
        stopped = time.monotonic()
        assert rc == 0, why_failed(out)
        said = " ".join(out.split())
        assert ("CA rotation: phase 1 of 3 is in place on every member (members trust the old and the new CA, "
                "certificates come from the old one). Applications: trust %s/ca-bundle.pem from now on; their pairs "
                "of the old CA work until phase 3. The rotation stops here (etcd_pki_rotate_ca_pause): hand the "
                "applications these files, then run the etcd playbook again for phase 2." % PKI) in said, out
        assert "phase 2 of 3" not in out
        assert os.path.exists(os.path.join(PKI, "ca-next.pem")), out
        bundle = pki_files()["ca-bundle.pem"]
        for h in HOSTS:
            assert host(h).file("/etc/etcd/pki/ca.pem").content == bundle, h
            assert not host(h).file("/etc/etcd/restart-pending").exists, h
        app_old = load(os.path.join(PKI, "clients", "rot-app.pem"))
        assert app_old.issuer == old_ca.subject
        # The status, at the end of that run and from the status playbook, names the phase and the bundle.
        rc, status = playbook("status", *with_proxy())
        assert rc == 0, why_failed(status)
        # (Its lines as the callback shows them: one problem's text and each action wrapped on lines of their own.)
        for text in (out, status):
            assert "CA rotation: stopped in phase 1 of 3 (" in text and "%s/ca-bundle.pem" % PKI in text, text[-3000:]
        print("\nthe status while the rotation is stopped:\n" + status[status.index("CA rotation: stopped"):][:900])

        # A member's host drops out of the next run (its sshd stopped once the run resumed the rotation
        # on the controller; etcd still serves): the run stops naming it, and nothing more changes.
        before, files = fingerprint(HOSTS), pki_files()
        dropped_at = time.monotonic()
        try:
            rc, dropped = interrupted_playbook("etcd", APP + with_proxy(), RESUMED, fault=lambda: ssh_stopped(DROPPED))
        finally:
            host_command(DROPPED, "systemctl", "start", "ssh")
        assert rc != 0 and "fatal: [%s]: UNREACHABLE!" % DROPPED in dropped, dropped[-3000:]
        assert recap(dropped)[DROPPED]["unreachable"] == 1 and "CA rotation: phase 2 of 3" not in dropped
        assert pki_files() == files and fingerprint(HOSTS) == before
        release_run_lock(URLS[0])
        print("\nthe run with %s dropped out mid-rotation, refused: %.1fs" % (DROPPED, time.monotonic() - dropped_at))

        # With the host back, the next run, without etcd_pki_rotate_ca: the phase is read from etcd_pki_dir.
        resumed = time.monotonic()
        rc, out = interrupted_playbook("etcd", APP + with_proxy(), "\0never", times=second)
        ended = time.monotonic()
        assert rc == 0, why_failed(out)
    finally:
        writer.stop()
        watch.stop()
        probe.stop()
        through_proxy = stop_proxy_client()

    # Every phase: 1 (resumed, already in place), 2, 3; the status no longer reports a rotation.
    for phase in (1, 2, 3):
        assert "CA rotation: phase %d of 3 is in place on every member" % phase in out, out
    assert "CA rotation: stopped" not in out and "stops here" not in out
    phase2 = line_time(second, "CA rotation: phase 2 of 3 is in place")
    new_ca = load(os.path.join(PKI, "ca.pem"))
    assert new_ca.subject != old_ca.subject
    assert sorted(os.listdir(os.path.join(PKI, "retired")))[-1].endswith("-ca.pem")
    assert not [n for n in os.listdir(PKI) if n.startswith(("ca-next", "ca-previous", "ca-retiring"))]
    assert pki_files()["ca-bundle.pem"] == pki_files()["ca.pem"]

    # Members trust the new CA only; every certificate, the admin's and the application's, is the new CA's.
    for h, (name, _address) in MEMBERS.items():
        assert host(h).file("/etc/etcd/pki/ca.pem").content == pki_files()["ca.pem"], h
        for leaf in (name + ".pem", name + "-peer.pem", "admin.pem", os.path.join("clients", "rot-app.pem")):
            assert load(os.path.join(PKI, leaf)).issuer == new_ca.subject, leaf
    # The proxy followed: it trusts the new CA only and reaches the members with a pair of it. Its
    # client wrote through it all along, but while the proxy or a member restarted: the members
    # never moved on before the proxy trusted both CAs (phase 1) and held a new-CA pair (phase 2).
    assert host(PROXY).file(PROXY_PKI + "/ca.pem").content == pki_files()["ca.pem"]
    assert x509.load_pem_x509_certificate(host(PROXY).file(PROXY_PKI + "/client.pem").content).issuer == new_ca.subject
    proxy_restarts = restarts(PROXY, "etcd-proxy", wall_began)
    assert len(proxy_restarts) == 3  # phase 1, phase 2, the end
    proxy_windows = proxy_restarts + [w for spans in restart_windows(wall_began).values() for w in spans]
    proxy_failed = [t for t, ok in through_proxy if not ok and not any(stop - 1 <= t <= started + 3
                                                                       for stop, started in proxy_windows)]
    assert len([ok for _t, ok in through_proxy if ok]) > 100 and proxy_failed == [], proxy_failed
    after = host(PROXY).run(THROUGH_PROXY + " --dial-timeout=2s --command-timeout=5s put /through-proxy/after yes")
    assert after.rc == 0, after.stderr

    # The CRL is the new CA's and still lists what it listed before.
    crl = x509.load_pem_x509_crl(pki_files()["crl.pem"])
    assert crl.issuer == new_ca.subject
    assert {r.serial_number for r in crl} == {r.serial_number for r in crl_before}
    for h in HOSTS:
        assert host(h).file("/etc/etcd/pki/crl.pem").content == pki_files()["crl.pem"], h

    # The old CA's client worked until the last phase began and is refused after it; the new CA's
    # works from phase 2 on.
    windows = restart_windows(wall_began)
    old_before = [ok for t, _url, ok in probe.old if t < phase2]
    assert old_before and unexcused(probe.old, windows, lambda t: t < phase2) == []
    for url in URLS:
        assert not answers(url, *old_pair), url
        assert answers(url, os.path.join(PKI, "admin.pem"), os.path.join(PKI, "admin-key.pem")), url
    new_after = [ok for t, _url, ok in probe.new if t >= phase2]
    assert new_after and unexcused(probe.new, windows, lambda t: t >= phase2) == []

    # No acknowledged write lost, and a leader at every sample but at a hand-off: the roll moves
    # leadership away before the leader restarts, and a member already in the new term may answer
    # before the new leader's first heartbeat reaches it. Around such an answer, the last member that
    # answered as leader and the first one to answer as leader in the new term are apart by less
    # than an election timeout; a lost leader is only replaced after one.
    lost = writer.lost(Gateway(URLS[0], **rotating_tls()))
    leaderless = [s for s in watch.samples if s[3] == "0"]
    claims = [(at, term) for at, _name, me, leader, term in watch.samples if leader == me]
    gaps = []
    for at, name, _me, _leader, term in leaderless:
        before = [t for t, _term in claims if t < at]
        after = [t for t, claim_term in claims if t > at and claim_term >= term]
        assert before and after, "no leader around %s's answer without one in term %d" % (name, term)
        gaps.append(after[0] - before[-1])
    print("\nwrites through the gRPC proxy: %d, failed %d (all while the proxy or a member restarted)"
          % (len(through_proxy), len([ok for _t, ok in through_proxy if not ok])))
    print("\nCA rotation of 3 members: first run %.1fs (stopped after phase 1), second run %.1fs (phases 2 and 3), "
          "%.1fs in all; writes acknowledged %d, failed %d, lost %d; leader samples %d, without a leader %d "
          "(at hand-offs, a leader within %.2fs), "
          "terms %d; old-CA client probes %d (failed %d, all while its member restarted or after phase 2), new-CA client "
          "probes %d (failed %d, all while its member restarted)"
          % (stopped - began, ended - resumed, (stopped - began) + (ended - resumed), len(writer.acked),
             len(writer.failed), len(lost), len(watch.samples), len(leaderless), max(gaps, default=0.0),
             len(watch.terms()),
             len(probe.old), len([p for p in probe.old if not p[2]]), len(probe.new),
             len([p for p in probe.new if not p[2]])))
    assert len(writer.acked) > 100
    assert lost == []
    assert len(watch.samples) > 100
    assert max(gaps, default=0.0) < HANDOFF_LIMIT, leaderless


@pytest.mark.full
def test_a_run_after_the_rotation_changes_nothing():
    before, files = fingerprint(HOSTS), pki_files()
    rc, out = playbook("etcd", *APP, *with_proxy())
    assert rc == 0, why_failed(out)
    # The proxy's plays have no host in a run without a rotation: the members are named, every host
    # of the recap is checked.
    assert_unchanged(out, HOSTS)
    assert_unchanged(out)
    assert fingerprint(HOSTS) == before
    assert pki_files() == files


def test_after_the_rotation_the_peer_port_still_takes_only_peers():
    # The new CA's peer pairs carry the peer name too; its client pairs naming a member's address do not.
    result = peer_port_answers("pki-host0", "10.250.0.21", dict(client_pairs("10.250.0.20"), **member_pairs()))
    show("peer port of pki-b after the CA rotation, asked from pki-a's address", result)
    assert result.pop("member's peer pair") == "200", result
    assert all(a.startswith("refused:") and "BAD_CERTIFICATE" in a for a in result.values()), result
