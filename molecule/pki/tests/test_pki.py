"""Certificates of a running 3-member cluster, in the order an operator meets them: renewal while a
client keeps writing, a second run that changes nothing, operator-provided PKI refused (message
checked, no host changed) and then deployed, and recovery of a cluster whose certificates have
already expired.

Certificates the role would not make (expired ones, foreign ones, ones missing a SAN) are made here
with ``cryptography`` by re-signing the real ones, so no clock needs to move.

`make test` walks the renewal under a writer; the rest is `make test-full`'s: the no-change run, the
refusals (decided by etcd_pki: tests/unit test_etcd_pki_verified.py, test_etcd_pki_plan.py,
test_etcd_pki_params.py and test_refusals_pki.py), the operator's PKI deployed and the recovery from
expired certificates.
"""

import datetime
import ipaddress
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from etcdtest import PKI, Gateway, Writer, assert_unchanged, fingerprint, host, playbook, recap, why_failed

# inventory host -> (NODE_NAME, address)
MEMBERS = {"pki-host0": ("pki-a", "10.250.0.20"), "pki-host1": ("pki-b", "10.250.0.21"),
           "pki-host2": ("pki-c", "10.250.0.22")}
URLS = ["https://%s:2379" % address for _, address in MEMBERS.values()]
HOSTS = list(MEMBERS)
# A renewal window wider than the scenario's 2-day validity: the next run renews everything.
RENEW_NOW = ["-e", "etcd_pki_renew_before_days=3", "-e", "etcd_pki_validity_days=4"]


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def load_cert(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def load_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def write_cert(path, cert):
    pem = cert.public_bytes(serialization.Encoding.PEM)
    with open(path, "wb") as handle:
        handle.write(pem)
    return pem.decode()


def contents(directory):
    return {p.name: p.read_bytes() for p in pathlib.Path(directory).iterdir()}


def resign(cert, issuer, issuer_key, not_before, not_after, sans=None):
    """``cert`` again (same key, subject and extensions, or other SANs) with a new validity, serial and issuer."""
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(issuer.subject)
               .public_key(cert.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after))
    for ext in cert.extensions:
        value = ext.value
        if isinstance(value, x509.AuthorityKeyIdentifier):
            value = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        elif isinstance(value, x509.SubjectAlternativeName) and sans is not None:
            value = x509.SubjectAlternativeName(sans)
        builder = builder.add_extension(value, ext.critical)
    return builder.sign(issuer_key, hashes.SHA256())


def managed_ca():
    return load_cert(os.path.join(PKI, "ca.pem")), load_key(os.path.join(PKI, "ca-key.pem"))


def served_certificate(address, port):
    """The certificate a member presents on a port, read without judging it (it may be expired).
    The peer port takes only a peer pair (test_peer_trust.py)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    pair = "pki-a-peer" if port == 2380 else "admin"
    ctx.load_cert_chain(os.path.join(PKI, pair + ".pem"), os.path.join(PKI, pair + "-key.pem"))
    with socket.create_connection((address, port), timeout=5) as sock, ctx.wrap_socket(sock) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def served_serials():
    return {(name, port): served_certificate(address, port).serial_number
            for name, address in MEMBERS.values() for port in (2379, 2380)}


def down_window(name):
    """(stop began, ready again) of etcd's last restart on a host, in the shared monotonic clock."""
    out = host(name).check_output("systemctl show etcd -p ActiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic")
    values = dict(line.split("=", 1) for line in out.splitlines())
    return int(values["ActiveExitTimestampMonotonic"]), int(values["ActiveEnterTimestampMonotonic"])


def restarts_one_at_a_time():
    """The members' last restarts, in order, after checking that none began before the previous
    member was ready again."""
    windows = sorted((down_window(h), MEMBERS[h][0]) for h in HOSTS)
    for (earlier, _), (later, _) in zip(windows, windows[1:]):
        assert earlier[1] < later[0], windows
    return windows


def leader_name():
    gateway = Gateway(URLS[0])
    leader = gateway.status()["leader"]
    return next(m["name"] for m in gateway.members() if m["ID"] == leader)


def test_renewal_rolls_one_member_at_a_time_and_loses_no_write():
    serials_before = served_serials()
    leader_before = leader_name()
    writer = Writer(URLS, prefix="/renewal/")
    writer.start()
    run_started, began = int(time.time()), time.monotonic()
    try:
        rc, out = playbook("etcd", *RENEW_NOW)
    finally:
        writer.stop()
    seconds = time.monotonic() - began
    assert rc == 0, why_failed(out)
    assert all(recap(out)[h]["changed"] > 0 for h in HOSTS), out

    # Every member serves new certificates, on the client and on the peer port.
    serials_after = served_serials()
    assert all(serials_after[k] != serials_before[k] for k in serials_before), (serials_before, serials_after)
    for name, address in MEMBERS.values():
        ends = served_certificate(address, 2379).not_valid_after_utc - now()
        assert datetime.timedelta(days=3) < ends <= datetime.timedelta(days=4), (name, ends)

    # Each member started once, and no restart began before the previous member was ready again.
    for h in HOSTS:
        starts = host(h).check_output("journalctl -u etcd --since @%d -o cat | grep -c '^Started etcd'" % run_started)
        assert starts == "1", (h, starts)
    windows = restarts_one_at_a_time()
    # The leader of before the run restarted last, after leadership moved away.
    assert windows[-1][1] == leader_before, (windows, leader_before)

    gateway = Gateway(URLS[0])
    lost = writer.lost(gateway)
    roll = (windows[-1][0][1] - windows[0][0][0]) / 1e6
    print("\nrenewal run %.1fs, roll of 3 members %.1fs (first stop to last ready); writes acknowledged %d, "
          "failed %d, lost %d" % (seconds, roll, len(writer.acked), len(writer.failed), len(lost)))
    assert len(writer.acked) > 50
    assert lost == []


@pytest.mark.full
def test_a_run_after_the_renewal_changes_nothing():
    before = fingerprint(HOSTS)
    rc, out = playbook("etcd")
    assert rc == 0, why_failed(out)
    assert_unchanged(out, HOSTS)
    assert_unchanged(out)
    assert fingerprint(HOSTS) == before


# --- Bring your own PKI -----------------------------------------------------------------------


def operator_pki(directory):
    """What an operator brings: a copy of the managed PKI without the CA key."""
    for name in os.listdir(PKI):
        # Files only: clients/ and revoked/ (test_app_clients.py) are not the operator's to bring.
        if name != "ca-key.pem" and os.path.isfile(os.path.join(PKI, name)):
            shutil.copy(os.path.join(PKI, name), directory)
    return str(directory)


def swap_key(directory):
    shutil.copy(os.path.join(directory, "pki-b-key.pem"), os.path.join(directory, "pki-a-key.pem"))


def sign_with_another_ca(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now() - datetime.timedelta(hours=1))
             .not_valid_after(now() + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(key, hashes.SHA256()))
    path = os.path.join(directory, "pki-b.pem")
    cert = load_cert(path)
    write_cert(path, resign(cert, other, key, cert.not_valid_before_utc, cert.not_valid_after_utc))


def drop_a_san(pair, san):
    """A spoiler that re-signs ``pair``'s certificate without the subject alternative name ``san``."""
    def spoil(directory):
        ca, ca_key = managed_ca()
        path = os.path.join(directory, pair + ".pem")
        cert = load_cert(path)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        write_cert(path, resign(cert, ca, ca_key, cert.not_valid_before_utc, cert.not_valid_after_utc,
                                sans=[n for n in sans if n != san]))
    return spoil


def expire_the_ca(directory):
    ca, ca_key = managed_ca()
    write_cert(os.path.join(directory, "ca.pem"),
               resign(ca, ca, ca_key, now() - datetime.timedelta(days=30), now() - datetime.timedelta(hours=1)))


# Defects of an operator's PKI, one run per batch: the certificate check names every defect of the
# first batch at once; the peer name is checked once the rest holds.
BROKEN = [
    ("four defects", [swap_key, sign_with_another_ca, drop_a_san("pki-c-peer", x509.IPAddress(ipaddress.ip_address("10.250.0.22"))),
                      expire_the_ca],
     ["{d}/pki-a.pem: the certificate does not match its key {d}/pki-a-key.pem",
      "{d}/pki-b.pem is not signed by the CA in {d}/ca.pem (issuer CN=another CA)",
      "{d}/pki-c-peer.pem does not cover 10.250.0.22 in its subject alternative names",
      "the CA certificate {d}/ca.pem expired on"]),
    # The members ask for it (test_peer_trust.py): a peer pair without it would cut its member off.
    ("peer certificate without the peer name", [drop_a_san("pki-b-peer", x509.DNSName("etcd-peer.invalid"))],
     ["pki-host0, pki-host1, pki-host2 ask their peers for the name etcd-peer.invalid (ETCD_PEER_CERT_ALLOWED_HOSTNAME), "
      "but not every peer certificate in the directory carries it; a member given one would be shut out by the others. "
      "Issue every peer certificate with the subject alternative name DNS:etcd-peer.invalid (docs/pki.md). No host was "
      "changed."]),
]


@pytest.mark.full
@pytest.mark.parametrize("case, spoilers, messages", BROKEN, ids=[c[0] for c in BROKEN])
def test_operator_pki_with_a_defect_is_refused_before_any_host_changes(case, spoilers, messages, tmp_path):
    directory = operator_pki(tmp_path)
    for spoil in spoilers:
        spoil(directory)
    before = fingerprint(HOSTS)
    rc, out = playbook("etcd", "-e", "etcd_pki_managed=false", "-e", "etcd_pki_dir=" + directory)
    assert rc != 0, out
    text = " ".join(out.split())
    assert "etcd_pki_dir %s (provided by the operator, etcd_pki_managed=false)" % directory in text, out
    for message in messages:
        assert message.format(d=directory) in text, (message, out)
    assert "No host was changed." in text, out
    assert fingerprint(HOSTS) == before


@pytest.mark.full
def test_an_unwritable_managed_pki_dir_is_refused_before_any_host_changes(tmp_path):
    directory = tmp_path / "etcd-pki"
    directory.mkdir(mode=0o500)
    # Permissions do not stop root; the immutable attribute does.
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(directory)], check=True)
    try:
        before = fingerprint(HOSTS)
        rc, out = playbook("etcd", "-e", "etcd_pki_dir=%s" % directory)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
    assert rc != 0, out
    text = " ".join(out.split())
    assert "etcd_pki_dir %s (managed by the role): the PKI directory %s is not writable by uid %d" % (
        directory, directory, os.geteuid()) in text, out
    assert "No host was changed." in text, out
    assert fingerprint(HOSTS) == before
    assert os.listdir(directory) == []


@pytest.mark.full
def test_operator_pki_is_deployed_as_provided(tmp_path):
    directory = operator_pki(tmp_path)
    # The operator's CA issued every member certificate anew (new serials, same keys) for the
    # member's address and loopback only: no host names, which operator certificates need not carry;
    # the peer certificates also carry the peer name the members ask for (docs/pki.md).
    ca, ca_key = managed_ca()
    for name, address in MEMBERS.values():
        sans = [x509.IPAddress(ipaddress.ip_address(a)) for a in (address, "127.0.0.1")]
        for suffix, more in (("", []), ("-peer", [x509.DNSName("etcd-peer.invalid")])):
            path = os.path.join(directory, name + suffix + ".pem")
            write_cert(path, resign(load_cert(path), ca, ca_key, now() - datetime.timedelta(minutes=5),
                                    now() + datetime.timedelta(days=3), sans=sans + more))
    provided = contents(directory)

    rc, out = playbook("etcd", "-e", "etcd_pki_managed=false", "-e", "etcd_pki_dir=" + directory)
    assert rc == 0, why_failed(out)
    for inventory_host, (name, address) in MEMBERS.items():
        on_host = host(inventory_host)
        for suffix, installed in (("", "server.pem"), ("-peer", "peer.pem")):
            assert on_host.file("/etc/etcd/pki/" + installed).content == provided[name + suffix + ".pem"]
        for port, suffix in ((2379, ""), (2380, "-peer")):
            served = served_certificate(address, port).serial_number
            assert served == load_cert(os.path.join(directory, name + suffix + ".pem")).serial_number
    # Its peer certificates all carry the peer name: the members go on asking for it.
    for inventory_host in HOSTS:
        assert "ETCD_PEER_CERT_ALLOWED_HOSTNAME=etcd-peer.invalid" in host(inventory_host).file(
            "/etc/etcd/etcd.env").content_string.splitlines(), inventory_host
    # Nothing is written into an operator's PKI.
    assert contents(directory) == provided


# --- Expired certificates ---------------------------------------------------------------------


def refused_as_expired(name, old_invocation):
    """True once etcd on a host runs as a new process that is not ready (no quorum) and has logged
    an expired certificate."""
    state, invocation, expired = host(name).run(
        "systemctl is-active etcd; id=$(systemctl show -p InvocationID --value etcd); echo $id; "
        "journalctl _SYSTEMD_INVOCATION_ID=$id -o cat --no-pager | grep -c 'certificate has expired'").stdout.split()
    return state == "activating" and invocation != old_invocation and int(expired) > 0


@pytest.mark.full
def test_a_cluster_whose_certificates_expired_is_recovered():
    Gateway(URLS[0]).put("/expiry/marker", "written-before-expiry")
    keys_before = Gateway(URLS[0]).count("/")

    # The members' certificates expired an hour ago, on the controller and on the members. etcd
    # reads its certificate files at every handshake, so no client can verify a member any more.
    ca, ca_key = managed_ca()
    for inventory_host, (name, _) in MEMBERS.items():
        for suffix, installed in (("", "server.pem"), ("-peer", "peer.pem")):
            path = os.path.join(PKI, name + suffix + ".pem")
            pem = write_cert(path, resign(load_cert(path), ca, ca_key, now() - datetime.timedelta(days=2),
                                          now() - datetime.timedelta(hours=1)))
            host(inventory_host).check_output("printf '%%s' '%s' > /etc/etcd/pki/%s" % (pem, installed))
    for url in URLS:
        with pytest.raises(urllib.error.URLError, match="certificate has expired"):
            Gateway(url).status()

    # Then the members restarted (a reboot, a crash): the peers refuse each other, so no quorum.
    invocations = {h: host(h).check_output("systemctl show -p InvocationID --value etcd") for h in HOSTS}
    for inventory_host in HOSTS:
        host(inventory_host).check_output("systemctl restart --no-block etcd")
    deadline = time.monotonic() + 90
    waiting = set(HOSTS)
    while waiting and time.monotonic() < deadline:
        waiting = {h for h in waiting if not refused_as_expired(h, invocations[h])}
        if waiting:
            time.sleep(1)
    assert not waiting, "etcd did not restart into a member refused for expired certificates on %s" % sorted(waiting)

    began = time.monotonic()
    rc, out = playbook("etcd")
    assert rc == 0, why_failed(out)
    print("\nrecovery from expired certificates: run %.1fs" % (time.monotonic() - began))
    # Once healthy again, the members restarted with the new certificates one at a time (the
    # hosts are containers on this kernel: their monotonic clock is ours).
    assert all(stop / 1e6 > began for (stop, _), _ in restarts_one_at_a_time())
    for url in URLS:
        assert Gateway(url).get("/expiry/marker") == "written-before-expiry"
    assert Gateway(URLS[2]).count("/") == keys_before
    for name, address in MEMBERS.values():
        assert served_certificate(address, 2380).not_valid_after_utc > now() + datetime.timedelta(days=1), name
