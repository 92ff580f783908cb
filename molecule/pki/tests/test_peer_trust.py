"""A credential is no peer: the members' peer port refuses every client pair of the cluster's CA,
even one used from a member host's own address, while the members' own peer pairs work; the files
etcd only reads are root's and read by etcd through its group, so the etcd user cannot empty the
CRL; a cluster deployed before both (peer pairs without the peer name, files owned by etcd) is
migrated by the next run of the etcd playbook in one gated roll that loses no write. (A client that
would carry the peer name is refused in test_app_clients.py.)

`make test` reads the peer port and the files (no run); the migration and the run after it are
`make test-full`'s (the renewal in test_pki.py walks a gated roll under a writer).
"""

import base64
import datetime
import json
import os
import pathlib
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from etcdtest import PKI, Gateway, Writer, assert_unchanged, fingerprint, host, playbook, poll, why_failed
from peerprobe import client_pairs, member_pairs, peer_port_answers, show

MEMBERS = {"pki-host0": ("pki-a", "10.250.0.20"), "pki-host1": ("pki-b", "10.250.0.21"),
           "pki-host2": ("pki-c", "10.250.0.22")}
URLS = ["https://%s:2379" % address for _, address in MEMBERS.values()]
HOSTS = list(MEMBERS)
PEER_NAME = "etcd-peer.invalid"
ALLOWED = "ETCD_PEER_CERT_ALLOWED_HOSTNAME=" + PEER_NAME
# What each file of /etc/etcd/pki is (owner, group, mode): root's, read by etcd through its group.
PKI_FILES = {"": ("root", "etcd", 0o750), "ca.pem": ("root", "etcd", 0o644), "crl.pem": ("root", "etcd", 0o644),
             "server.pem": ("root", "etcd", 0o644), "peer.pem": ("root", "etcd", 0o644),
             "server-key.pem": ("root", "etcd", 0o640), "peer-key.pem": ("root", "etcd", 0o640)}


def probe():
    """What pki-host1's peer port answers, asked from pki-host0 (10.250.0.20) with each client pair
    naming that address and with pki-host0's own pairs."""
    return peer_port_answers("pki-host0", MEMBERS["pki-host1"][1], dict(client_pairs(MEMBERS["pki-host0"][1]), **member_pairs()))


def ownership(name):
    h = host(name)
    return {f: (h.file("/etc/etcd/pki/" + f).user, h.file("/etc/etcd/pki/" + f).group, h.file("/etc/etcd/pki/" + f).mode)
            for f in PKI_FILES}


def pki_files():
    return {str(p.relative_to(PKI)): p.read_bytes() for p in pathlib.Path(PKI).rglob("*") if p.is_file()}


def only_peers_are_taken(result):
    refused = {name: answer for name, answer in result.items() if name != "member's peer pair"}
    assert result["member's peer pair"] == "200", result
    # etcd ends the handshake with a bad-certificate alert: the certificate was judged, and refused.
    assert all(a.startswith("refused:") and "BAD_CERTIFICATE" in a for a in refused.values()), result


def test_the_peer_port_takes_only_peer_pairs_even_from_a_member_address():
    result = probe()
    show("peer port of pki-b, asked from pki-a's address", result)
    only_peers_are_taken(result)
    for name in HOSTS:
        assert ALLOWED in host(name).file("/etc/etcd/etcd.env").content_string.splitlines(), name
        peer = x509.load_pem_x509_certificate(host(name).file("/etc/etcd/pki/peer.pem").content)
        server = x509.load_pem_x509_certificate(host(name).file("/etc/etcd/pki/server.pem").content)
        assert PEER_NAME in peer.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        assert PEER_NAME not in server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


def test_files_etcd_only_reads_are_roots_and_the_etcd_user_cannot_change_them():
    for name in HOSTS:
        assert ownership(name) == PKI_FILES, name
        h = host(name)
        crl = h.file("/etc/etcd/pki/crl.pem").content
        # etcd reads its key through its group, and can change nothing there.
        assert h.run("runuser -u etcd -- cat /etc/etcd/pki/peer-key.pem").rc == 0
        for command in (": > /etc/etcd/pki/crl.pem", "rm -f /etc/etcd/pki/crl.pem",
                        "cp /etc/etcd/pki/server.pem /etc/etcd/pki/ca.pem", "touch /etc/etcd/pki/new.pem"):
            attempt = h.run("runuser -u etcd -- sh -c %s" % json.dumps(command))
            assert attempt.rc != 0 and "Permission denied" in attempt.stderr, (name, command, attempt.stderr)
        assert h.file("/etc/etcd/pki/crl.pem").content == crl


# --- A cluster deployed before: peer pairs without the peer name, files owned by etcd -------------


def without_peer_name(path):
    """The peer certificate at ``path`` re-issued by the CA without the peer name, as releases before
    made it (same key, subject and other extensions)."""
    with open(os.path.join(PKI, "ca.pem"), "rb") as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(PKI, "ca-key.pem"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    with open(path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(ca.subject)
               .public_key(cert.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(cert.not_valid_after_utc))
    for ext in cert.extensions:
        value = ext.value
        if isinstance(value, x509.SubjectAlternativeName):
            value = x509.SubjectAlternativeName([n for n in value if n != x509.DNSName(PEER_NAME)])
        builder = builder.add_extension(value, ext.critical)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def healthy(url):
    try:
        return Gateway(url).status()["leader"] != "0"
    except OSError:
        return False


def make_it_a_cluster_of_before():
    """The members as releases before this one left them, reached one restart at a time."""
    for name in HOSTS:
        h = host(name)
        h.check_output("sed -i '/^ETCD_PEER_CERT_ALLOWED_HOSTNAME=/d' /etc/etcd/etcd.env && systemctl restart etcd")
        assert poll(lambda: all(healthy(u) for u in URLS), seconds=60), name
    for name, (member, _) in MEMBERS.items():
        path = os.path.join(PKI, member + "-peer.pem")
        pem = without_peer_name(path)
        with open(path, "wb") as handle:
            handle.write(pem)
        host(name).check_output(
            "echo %s | base64 -d > /etc/etcd/pki/peer.pem && chown etcd:etcd /etc/etcd/pki/*.pem "
            "&& chmod 0600 /etc/etcd/pki/server-key.pem /etc/etcd/pki/peer-key.pem"
            % base64.b64encode(pem).decode())


def down_window(name):
    """(stop began, ready again) of etcd's last restart on a host, in the shared monotonic clock."""
    out = host(name).check_output("systemctl show etcd -p ActiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic")
    values = dict(line.split("=", 1) for line in out.splitlines())
    return int(values["ActiveExitTimestampMonotonic"]), int(values["ActiveEnterTimestampMonotonic"])


@pytest.mark.full
def test_a_cluster_of_before_is_migrated_by_one_gated_roll_without_losing_a_write():
    make_it_a_cluster_of_before()
    before = probe()
    show("before the migration (as releases before left the members)", before)
    # Any certificate of the CA that names pki-a's address was a peer.
    assert all(answer == "200" for answer in before.values()), before
    assert ownership("pki-host0")["crl.pem"] == ("etcd", "etcd", 0o644)

    # journalctl --since counts whole seconds: start on the next one, so that the setup's own
    # restarts (the last one less than a second ago) are not counted as the run's.
    run_started = int(time.time()) + 1
    time.sleep(run_started - time.time())
    writer = Writer(URLS, prefix="/peer-trust/")
    writer.start()
    began = time.monotonic()
    try:
        rc, out = playbook("etcd")
    finally:
        writer.stop()
    seconds = time.monotonic() - began
    assert rc == 0, why_failed(out)

    after = probe()
    show("after the migration", after)
    only_peers_are_taken(after)
    for name in HOSTS:
        assert ownership(name) == PKI_FILES, name
        assert ALLOWED in host(name).file("/etc/etcd/etcd.env").content_string.splitlines(), name
        starts = host(name).check_output("journalctl -u etcd --since @%d -o cat | grep -c '^Started etcd'" % run_started)
        assert starts == "1", (name, starts)
    windows = sorted(down_window(h) for h in HOSTS)
    for earlier, later in zip(windows, windows[1:]):
        assert earlier[1] < later[0], windows
    lost = writer.lost(Gateway(URLS[0]))
    print("\nmigration run %.1fs, roll of 3 members %.1fs (first stop to last ready), one restart each; "
          "writes acknowledged %d, failed %d, lost %d"
          % (seconds, (windows[-1][1] - windows[0][0]) / 1e6, len(writer.acked), len(writer.failed), len(lost)))
    assert len(writer.acked) > 50
    assert lost == []


@pytest.mark.full
def test_a_run_after_the_migration_changes_nothing():
    before = fingerprint(HOSTS)
    rc, out = playbook("etcd")
    assert rc == 0, why_failed(out)
    assert_unchanged(out, HOSTS)
    assert_unchanged(out)
    assert fingerprint(HOSTS) == before
