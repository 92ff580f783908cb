"""Refusals of the pki scenario (molecule/pki) that `make test` no longer runs on hosts (their tests are
marked full), checked here where they are decided, with the message the scenario asserts:

- an operator's PKI (etcd_pki_managed=false) with four defects at once: a certificate that does not match
  its key, one signed by another CA, a peer certificate that does not cover its member's address and an
  expired CA, each named in one refusal that starts with the directory and says no host was changed
  (test_pki.py's test_operator_pki_with_a_defect_is_refused_before_any_host_changes[four defects]);
- a managed PKI directory the controller cannot write, named with the uid, nothing written into it
  (test_pki.py's test_an_unwritable_managed_pki_dir_is_refused_before_any_host_changes).

The other refusals of the scenario are checked where they are decided: the peer certificates without the
peer name (test_etcd_pki_plan.py's test_members_asking_for_the_peer_name_refuse_peer_certificates_without_it),
a duplicate application name and the peer name as an application's (test_etcd_pki_applications.py), a CA
rotation with a member down (test_etcd_pki_rotation.py's test_members_down_refuse_a_rotation_and_write_nothing).
The refusal's first and last sentences are the rescue of roles/etcd/tasks/pki_issue.yml, rendered here.
"""

import datetime
import ipaddress
import os
import re
import shutil

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_params
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_present
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_verified import verify
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import PkiError
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.pki_helpers import snapshot

TASKS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "etcd", "tasks")
MODULE = "raftops.etcd.etcd_pki"
# The scenario's members: (NODE_NAME, address).
MEMBERS = [("pki-a", "10.250.0.20"), ("pki-b", "10.250.0.21"), ("pki-c", "10.250.0.22")]


def members():
    return [{"name": name, "addresses": [address], "hostnames": []} for name, address in MEMBERS]


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def refusal(pki_dir, managed, error, rotation_request="auto"):
    """The message of pki_issue.yml's rescue for the etcd_pki action's failure ``error`` (the action's
    msg is "raftops.etcd.etcd_pki: <error>", plugins/action/etcd_pki.py)."""
    with open(os.path.join(TASKS, "pki_issue.yml")) as handle:
        block = next(task for task in yaml.safe_load(handle) if "rescue" in task)
    stop = next(task for task in block["rescue"] if task["name"] == "Stop before any host changes")
    templar = Templar(loader=DataLoader(), variables=dict(
        etcd_pki_dir=pki_dir, etcd_pki_managed=managed, ansible_failed_result=dict(msg="%s: %s" % (MODULE, error)),
        _etcd_plan=dict(rotation_request=rotation_request)))
    return " ".join(templar.template(trust_as_template(stop["ansible.builtin.fail"]["msg"])).split())


# --- An operator's PKI with four defects ---------------------------------------------------------


def load_cert(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def load_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def write_cert(path, cert):
    with open(path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


def resign(cert, issuer, issuer_key, not_before, not_after, sans=None):
    """``cert`` again (same key, subject and extensions, or other SANs) with a new validity and issuer,
    as molecule/pki/tests/test_pki.py makes it."""
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


def operator_pki(tmp_path):
    """The PKI an operator brings: one the role made, without the CA key."""
    made = str(tmp_path / "made")
    run_present(pki_params.default_params(path=made, members=members()))
    provided = tmp_path / "provided"
    provided.mkdir()
    for name in os.listdir(made):
        if name != "ca-key.pem" and os.path.isfile(os.path.join(made, name)):
            shutil.copy(os.path.join(made, name), str(provided))
    return str(provided), load_cert(os.path.join(made, "ca.pem")), load_key(os.path.join(made, "ca-key.pem"))


def four_defects(directory, ca, ca_key):
    # pki-a's server certificate with pki-b's key.
    shutil.copy(os.path.join(directory, "pki-b-key.pem"), os.path.join(directory, "pki-a-key.pem"))
    # pki-b's server certificate signed by another CA.
    other_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(other_key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now() - datetime.timedelta(hours=1))
             .not_valid_after(now() + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(other_key, hashes.SHA256()))
    path = os.path.join(directory, "pki-b.pem")
    cert = load_cert(path)
    write_cert(path, resign(cert, other, other_key, cert.not_valid_before_utc, cert.not_valid_after_utc))
    # pki-c's peer certificate without its address.
    path = os.path.join(directory, "pki-c-peer.pem")
    cert = load_cert(path)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    gone = x509.IPAddress(ipaddress.ip_address("10.250.0.22"))
    write_cert(path, resign(cert, ca, ca_key, cert.not_valid_before_utc, cert.not_valid_after_utc,
                            sans=[n for n in sans if n != gone]))
    # The CA expired an hour ago.
    write_cert(os.path.join(directory, "ca.pem"),
               resign(ca, ca, ca_key, now() - datetime.timedelta(days=30), now() - datetime.timedelta(hours=1)))


def test_an_operator_pki_with_four_defects_is_refused_naming_each_and_nothing_is_written(tmp_path):
    directory, ca, ca_key = operator_pki(tmp_path)
    four_defects(directory, ca, ca_key)
    before = snapshot(directory)
    with pytest.raises(PkiError) as refused:
        verify(pki_params.default_params(path=directory, state="verified", members=members()))
    assert snapshot(directory) == before
    text = refusal(directory, False, refused.value)
    d = directory
    assert text.startswith("etcd_pki_dir %s (provided by the operator, etcd_pki_managed=false): " % d), text
    for message in ("%s/pki-a.pem: the certificate does not match its key %s/pki-a-key.pem" % (d, d),
                    "%s/pki-b.pem is not signed by the CA in %s/ca.pem (issuer CN=another CA)" % (d, d),
                    "%s/pki-c-peer.pem does not cover 10.250.0.22 in its subject alternative names" % d,
                    "the CA certificate %s/ca.pem expired on" % d):
        assert message in text, (message, text)
    assert text.endswith(". No host was changed."), text


def test_the_same_pki_without_defects_passes(tmp_path):
    directory, _ca, _ca_key = operator_pki(tmp_path)
    result = verify(pki_params.default_params(path=directory, state="verified", members=members()))
    assert result["changed"] is False and result["issued"] == []


# --- A managed PKI directory the controller cannot write -----------------------------------------


def test_an_unwritable_managed_pki_dir_is_refused_naming_the_uid_and_nothing_is_written(tmp_path, monkeypatch):
    directory = tmp_path / "etcd-pki"
    directory.mkdir(mode=0o500)
    real_access = os.access
    # As the scenario's immutable directory is to root: no write there, whatever the mode says.
    monkeypatch.setattr(pki_params.os, "access",
                        lambda path, mode: False if path == str(directory) else real_access(path, mode))
    with pytest.raises(PkiError) as refused:
        run_present(pki_params.default_params(path=str(directory), members=members()))
    assert str(refused.value) == "the PKI directory %s is not writable by uid %d" % (directory, os.geteuid())
    assert os.listdir(str(directory)) == []
    assert refusal(str(directory), True, refused.value) == (
        "etcd_pki_dir %s (managed by the role): the PKI directory %s is not writable by uid %d. No host was changed."
        % (directory, directory, os.geteuid()))


def test_a_refusal_while_a_rotation_advances_says_the_next_run_resumes_it():
    text = refusal("/ctl/pki", True, "the PKI directory /ctl/pki is not writable by uid 0.", rotation_request="advance")
    assert re.fullmatch(r"etcd_pki_dir /ctl/pki \(managed by the role\): the PKI directory /ctl/pki is not writable by "
                        r"uid 0\. The members run with the files of the last phase; the next run resumes the CA "
                        r"rotation\.", text), text
