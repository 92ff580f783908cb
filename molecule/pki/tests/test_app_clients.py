"""Application client certificates (etcd_pki_clients) on the running 3-member cluster, in the order
an operator meets them: two applications get their pairs and every member accepts them, a second
run changes nothing, a duplicate name and the members' peer name are refused before anything
changes, an application taken out of the list is refused by every member (through the CRL, no
restart) while the other keeps working, and an empty list revokes the last one.

The tests run in file order and each starts from what the one before left; the last leaves no
application, as the scenario's other verifiers expect.

`make test` walks the issue of two pairs that every member accepts and the empty list that revokes
them (every member refuses the pair taken out); the no-change runs, the refusal of a duplicate name
and of the peer name (decided in etcd_pki_params: tests/unit test_etcd_pki_applications.py) and the
removal of one application while the other keeps working are `make test-full`'s.
"""

import http.client
import json
import os
import pathlib
import shutil
import time

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from etcdtest import PKI, Gateway, assert_unchanged, fingerprint, host, playbook, why_failed

# inventory host -> (NODE_NAME, address)
MEMBERS = {"pki-host0": ("pki-a", "10.250.0.20"), "pki-host1": ("pki-b", "10.250.0.21"),
           "pki-host2": ("pki-c", "10.250.0.22")}
URLS = ["https://%s:2379" % address for _, address in MEMBERS.values()]
HOSTS = list(MEMBERS)
TWO = [{"name": "billing"}, {"name": "web", "user": "web-app"}]
ONE = [{"name": "web", "user": "web-app"}]
CLIENTS = os.path.join(PKI, "clients")
REVOKED = os.path.join(PKI, "revoked")


def with_clients(clients):
    return ["-e", json.dumps({"etcd_pki_clients": clients})]


def flat(text):
    """The output on one line, whether the callback shows messages as JSON or as YAML (which doubles
    single quotes)."""
    return " ".join(text.split()).replace("''", "'")


def pair(name, directory=CLIENTS):
    return os.path.join(directory, name + ".pem"), os.path.join(directory, name + "-key.pem")


def saved_pair(name, tmp_path):
    """A copy of an application's pair as the application holds it, kept when the run moves the files."""
    for path in pair(name):
        shutil.copy(path, tmp_path)
    return pair(name, str(tmp_path))


def read(path):
    return pathlib.Path(path).read_bytes()


def load_cert(path):
    return x509.load_pem_x509_certificate(read(path))


def serial_hex(serial):
    """A serial as etcd logs it when it refuses the certificate."""
    return serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big").hex()


def pki_files():
    """Every file below etcd_pki_dir on the controller, with its bytes."""
    return {str(p.relative_to(PKI)): p.read_bytes() for p in pathlib.Path(PKI).rglob("*") if p.is_file()}


def etcd_processes():
    return {h: host(h).check_output("systemctl show etcd -p MainPID -p NRestarts -p ExecMainStartTimestamp")
            for h in HOSTS}


def status_with(url, cert, key):
    """The member's status, asked over TLS with this client pair."""
    return Gateway(url, cert=cert, key=key).status()


def refuses(url, cert, key):
    """True when the member will not serve a request made with this client pair."""
    try:
        status_with(url, cert, key)
    except (OSError, http.client.HTTPException):  # handshake failed, connection closed or reset
        return True
    return False


def test_each_application_gets_a_pair_with_its_user_as_common_name_that_every_member_accepts():
    rc, out = playbook("etcd", *with_clients(TWO))
    assert rc == 0, why_failed(out)

    assert sorted(os.listdir(CLIENTS)) == ["billing-key.pem", "billing.pem", "web-key.pem", "web.pem"]
    assert os.stat(CLIENTS).st_mode & 0o777 == 0o700
    for name, user in (("billing", "billing"), ("web", "web-app")):
        cert_path, key_path = pair(name)
        cert = load_cert(cert_path)
        assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [user]
        assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
            ExtendedKeyUsageOID.CLIENT_AUTH]
        assert cert.issuer == load_cert(os.path.join(PKI, "ca.pem")).subject
        assert os.stat(key_path).st_mode & 0o777 == 0o600
        for url in URLS:
            assert status_with(url, cert_path, key_path)["version"].startswith("3."), (name, url)


def a_run_changes_nothing(clients):
    hosts, files = fingerprint(HOSTS), pki_files()
    rc, out = playbook("etcd", *with_clients(clients))
    assert rc == 0, why_failed(out)
    assert_unchanged(out, HOSTS)
    assert_unchanged(out)
    assert fingerprint(HOSTS) == hosts
    assert pki_files() == files


@pytest.mark.full
def test_a_second_run_changes_nothing():
    a_run_changes_nothing(TWO)


@pytest.mark.full
def test_a_duplicate_name_and_the_peer_name_are_refused_before_anything_changes():
    hosts, files = fingerprint(HOSTS), pki_files()
    # The peer name only the members' peer certificates carry (test_peer_trust.py) is no application's.
    rc, out = playbook("etcd", *with_clients([{"name": "web", "user": "web-app"}, {"name": "web"},
                                               {"name": "etcd-peer.invalid"}]))
    assert rc != 0, out
    text = flat(out)
    assert ("host pki-host0: etcd_pki_clients[1]={'name': 'web'}: name 'web' is also the name of "
            "etcd_pki_clients[0] (compared ignoring case, as the file names may be); each application needs "
            "its own name") in text, out
    assert ("host pki-host0: etcd_pki_clients[2]={'name': 'etcd-peer.invalid'}: name 'etcd-peer.invalid': "
            "etcd-peer.invalid is the name only the members' peer certificates carry (the members' peer port "
            "admits no other certificate); a client pair must not carry it (its pair carries its name)") in text, out
    assert "nothing was changed" in text, out
    assert fingerprint(HOSTS) == hosts
    assert pki_files() == files


@pytest.mark.full
def test_a_removed_application_is_refused_by_every_member_and_the_other_keeps_working(tmp_path):
    old_cert, old_key = saved_pair("billing", tmp_path)
    serial = load_cert(old_cert).serial_number
    web = {p: read(p) for p in pair("web")}
    processes = etcd_processes()
    started = int(time.time())
    revoked_before = set(os.listdir(REVOKED)) if os.path.isdir(REVOKED) else set()

    rc, out = playbook("etcd", *with_clients(ONE))
    assert rc == 0, why_failed(out)

    # On the controller: billing's files moved to revoked/, its serial in the CRL, web untouched.
    assert sorted(os.listdir(CLIENTS)) == ["web-key.pem", "web.pem"]
    assert {p: read(p) for p in web} == web
    moved = sorted(set(os.listdir(REVOKED)) - revoked_before)  # the key sorts first
    assert [n.split("-", 1)[1] for n in moved] == ["clients-billing-key.pem", "clients-billing.pem"], moved
    assert read(os.path.join(REVOKED, moved[1])) == read(old_cert)
    assert os.stat(os.path.join(REVOKED, moved[0])).st_mode & 0o777 == 0o600
    crl = read(os.path.join(PKI, "crl.pem"))
    assert serial in {r.serial_number for r in x509.load_pem_x509_crl(crl)}

    # Every member has the new CRL and refuses the old certificate, without a restart.
    for inventory_host in HOSTS:
        assert host(inventory_host).file("/etc/etcd/pki/crl.pem").content == crl, inventory_host
    for url in URLS:
        assert refuses(url, old_cert, old_key), url
        assert status_with(url, *pair("web"))["version"].startswith("3."), url
        assert Gateway(url).status()["version"].startswith("3."), url  # the admin pair
    for inventory_host in HOSTS:
        logged = host(inventory_host).run(
            "journalctl -u etcd --since @%d -o cat --no-pager | grep -c 'certificate serial %s revoked'"
            % (started, serial_hex(serial))).stdout.strip()
        assert int(logged or 0) > 0, inventory_host
    assert etcd_processes() == processes


@pytest.mark.full
def test_a_run_after_the_removal_changes_nothing():
    a_run_changes_nothing(ONE)


def test_an_empty_list_revokes_the_last_application(tmp_path):
    old_cert, old_key = saved_pair("web", tmp_path)
    rc, out = playbook("etcd", *with_clients([]))
    assert rc == 0, why_failed(out)
    assert os.listdir(CLIENTS) == []
    for url in URLS:
        assert refuses(url, old_cert, old_key), url
        assert Gateway(url).status()["version"].startswith("3."), url
