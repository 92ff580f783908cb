"""etcd_pki_verified: a PKI the operator provides is checked, every problem named, nothing written."""

import datetime
import hashlib
import os
import re
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_params
from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_x509
from ansible_collections.raftops.etcd.plugins.module_utils.host.files import write_file_atomically
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_pki, run_present
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_verified import verify
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.pki_helpers import (
    load,
    member_list,
    params,
    read,
    snapshot,
)

DAY = datetime.timedelta(days=1)


# ------------------------------------------------------------------------------------------
# state=verified (bring your own PKI)


def byo(tmp_path, pki):
    """An operator's PKI with its own file names, made by the module into a scratch directory."""
    run_present(params(pki))
    own = tmp_path / "own"
    own.mkdir()
    members = []
    for member in member_list():
        name = member["name"]
        entry = dict(member)
        for option, suffix in (
            ("cert", ".pem"),
            ("key", "-key.pem"),
            ("peer_cert", "-peer.pem"),
            ("peer_key", "-peer-key.pem"),
        ):
            target = str(own / ("%s.%s" % (name, option)))
            shutil.copy(os.path.join(pki, name + suffix), target)
            entry[option] = target
        members.append(entry)
    shutil.copy(os.path.join(pki, "ca.pem"), str(own / "root.crt"))
    return str(own), members


def verified(path, members, **overrides):
    overrides.setdefault("ca_cert", os.path.join(path, "root.crt"))
    overrides.setdefault("clients", [])
    return pki_params.default_params(path=path, state="verified", members=members, **overrides)


def test_verified_accepts_a_good_pki_and_writes_nothing(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    before = snapshot(own)
    result = verify(verified(own, members))
    assert result["changed"] is False and result["issued"] == []
    assert result["certificates"]["etcd-host0"]["cert"] == os.path.join(own, "etcd-host0.cert")
    assert "10.0.0.11" in result["certificates"]["etcd-host0"]["sans"]
    assert result["ca"]["path"] == os.path.join(own, "root.crt")
    assert snapshot(own) == before


def test_verified_reports_the_peer_name_only_when_every_peer_certificate_carries_it(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    assert verify(verified(own, members))["peer_identity"] == "etcd-peer.invalid"
    # One peer certificate without it (the server certificate, which has everything else): none.
    shutil.copy(members[1]["cert"], members[1]["peer_cert"])
    shutil.copy(members[1]["key"], members[1]["peer_key"])
    assert verify(verified(own, members))["peer_identity"] is None


def test_verified_defaults_to_the_module_file_names(pki):
    run_present(params(pki))
    result = verify(pki_params.default_params(path=pki, state="verified", members=member_list()))
    assert set(result["certificates"]) == {"etcd-host0", "etcd-host1"}
    assert result["clients"]["admin"]["not_after"]


def test_verified_lists_every_problem_with_file_names(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    other = str(tmp_path / "other")
    run_present(params(other))
    # host0: server cert paired with host1's key; peer cert from another CA.
    shutil.copy(members[1]["key"], members[0]["key"])
    shutil.copy(os.path.join(other, "etcd-host0-peer.pem"), members[0]["peer_cert"])
    shutil.copy(os.path.join(other, "etcd-host0-peer-key.pem"), members[0]["peer_key"])
    # host1 now claims an address its certificates do not carry.
    members[1]["addresses"] = ["10.0.0.12", "10.0.9.9"]
    before = snapshot(own)
    with pytest.raises(pki_x509.PkiError) as info:
        verify(verified(own, members))
    problems = info.value.problems
    assert "%s: the certificate does not match its key %s" % (members[0]["cert"], members[0]["key"]) in problems
    assert any(
        p.startswith("%s is not signed by the CA in %s" % (members[0]["peer_cert"], os.path.join(own, "root.crt")))
        for p in problems
    )
    assert "%s does not cover 10.0.9.9 in its subject alternative names" % members[1]["cert"] in problems
    assert "%s does not cover 10.0.9.9 in its subject alternative names" % members[1]["peer_cert"] in problems
    assert len(problems) == 4
    assert str(info.value).startswith("4 problem(s) in the provided PKI")
    assert snapshot(own) == before


def test_verified_reports_expired_certificates_and_missing_files(tmp_path, pki):
    old = str(tmp_path / "old")
    run_present(params(old, validity_days=40, renew_before_days=1), now=pki_x509.utcnow() - 60 * DAY)
    os.unlink(os.path.join(old, "etcd-host1-peer-key.pem"))
    with pytest.raises(pki_x509.PkiError) as info:
        verify(pki_params.default_params(path=old, state="verified", members=member_list(), clients=[]))
    text = "\n".join(info.value.problems)
    assert "%s expired on" % os.path.join(old, "etcd-host0.pem") in text
    assert "cannot read the member etcd-host1 peer key %s" % os.path.join(old, "etcd-host1-peer-key.pem") in text


def test_verified_reports_an_expired_ca(tmp_path):
    old = str(tmp_path / "old")
    run_present(
        params(old, members=[], ca_validity_days=40, validity_days=35, renew_before_days=1), now=pki_x509.utcnow() - 60 * DAY
    )
    with pytest.raises(pki_x509.PkiError, match=re.escape("the CA certificate %s expired on" % os.path.join(old, "ca.pem"))):
        verify(pki_params.default_params(path=old, state="verified", members=[], clients=[]))


def test_verified_requires_client_auth_on_server_certificate(tmp_path, pki):
    """A server certificate without clientAuth breaks etcd's gateway self-dial (#9785)."""
    own, members = byo(tmp_path, pki)
    ca_key = pki_x509.load_key(os.path.join(pki, "ca-key.pem"), "k")
    ca = load(os.path.join(pki, "ca.pem"))
    key = pki_x509.load_key(members[0]["key"], "k")
    original = load(members[0]["cert"])
    now = pki_x509.utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(original.subject)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - DAY)
        .not_valid_after(now + 90 * DAY)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(original.extensions.get_extension_for_class(x509.SubjectAlternativeName).value, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_file_atomically(members[0]["cert"], pki_x509.cert_pem(cert), 0o644)
    with pytest.raises(
        pki_x509.PkiError, match=r"etcd-host0.cert lacks the extended key usage clientAuth \(needed by the gateway"
    ):
        verify(verified(own, members))


def test_verified_client_entries_with_explicit_paths(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    client = {"name": "ops", "cert": os.path.join(pki, "admin.pem"), "key": os.path.join(pki, "etcd-host0-key.pem")}
    with pytest.raises(pki_x509.PkiError, match=r"admin\.pem: the certificate does not match its key"):
        verify(verified(own, members, clients=[client]))
    client["key"] = os.path.join(pki, "admin-key.pem")
    assert verify(verified(own, members, clients=[client]))["clients"]["ops"]["cert"] == client["cert"]


def test_verified_client_with_a_user_needs_that_common_name(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    run_present(params(pki, clients=["admin", {"name": "root", "user": "root"}]))
    root = {"name": "root", "user": "root", "cert": os.path.join(pki, "root.pem"), "key": os.path.join(pki, "root-key.pem")}
    result = verify(verified(own, members, ca_cert=os.path.join(pki, "ca.pem"), clients=[root]))
    assert result["clients"]["root"]["cert"] == root["cert"]
    assert not [w for w in result.get("warnings", []) if "root.pem" in w]  # its CN is wanted
    admin = dict(root, cert=os.path.join(pki, "admin.pem"), key=os.path.join(pki, "admin-key.pem"))
    with pytest.raises(pki_x509.PkiError, match=re.escape("admin.pem has the common name (none), not root")):
        verify(verified(own, members, ca_cert=os.path.join(pki, "ca.pem"), clients=[admin]))


def test_verified_refuses_a_directory_whose_ca_a_running_member_does_not_trust(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    ca_sha256 = hashlib.sha256(read(os.path.join(own, "root.crt"))).hexdigest()
    assert run_pki(verified(own, members, running_members=[dict(name="etcd-host0", ca_sha256=ca_sha256, peer_name=True)]))
    with pytest.raises(pki_x509.PkiError, match=r"^its ca\.pem is another CA, but etcd-host1 run with another CA"):
        run_pki(verified(own, members, running_members=[dict(name="etcd-host1", ca_sha256="other")]))
