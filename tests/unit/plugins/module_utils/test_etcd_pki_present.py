"""etcd_pki_present: what gets issued, idempotence, re-issue reasons and check mode."""

import datetime
import hashlib
import os
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_x509
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_pki, run_present
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.pki_helpers import (
    ekus_of,
    load,
    member_list,
    params,
    read,
    reasons,
    sans_of,
    snapshot,
)

DAY = datetime.timedelta(days=1)


# ------------------------------------------------------------------------------------------
# What gets issued


def test_first_run_issues_ca_members_and_admin_with_safe_modes(pki):
    result = run_present(params(pki))

    assert result["changed"] is True
    names = {
        "ca.pem",
        "ca-key.pem",
        "etcd-host0.pem",
        "etcd-host0-key.pem",
        "etcd-host0-peer.pem",
        "etcd-host0-peer-key.pem",
        "etcd-host1.pem",
        "etcd-host1-key.pem",
        "etcd-host1-peer.pem",
        "etcd-host1-peer-key.pem",
        "admin.pem",
        "admin-key.pem",
    }
    assert set(os.listdir(pki)) == names | {"crl.pem"}
    assert reasons(result) == dict.fromkeys(names, "missing")
    assert stat.S_IMODE(os.stat(pki).st_mode) == 0o700
    for name in names | {"crl.pem"}:
        mode = stat.S_IMODE(os.stat(os.path.join(pki, name)).st_mode)
        assert mode == (0o600 if name.endswith("-key.pem") else 0o644), name

    assert result["ca"]["path"] == os.path.join(pki, "ca.pem")
    assert result["ca"]["fingerprint"] == pki_x509.fingerprint(load(os.path.join(pki, "ca.pem")))
    host0 = result["certificates"]["etcd-host0"]
    assert host0["cert"] == os.path.join(pki, "etcd-host0.pem")
    assert host0["key"] == os.path.join(pki, "etcd-host0-key.pem")
    assert host0["peer_cert"] == os.path.join(pki, "etcd-host0-peer.pem")
    assert host0["peer_key"] == os.path.join(pki, "etcd-host0-peer-key.pem")
    assert host0["sans"] == ["10.0.0.11", "127.0.0.1", "etcd-host0", "host0.example.com", "localhost"]
    assert result["clients"] == {
        "admin": {
            "cert": os.path.join(pki, "admin.pem"),
            "key": os.path.join(pki, "admin-key.pem"),
            "not_after": result["clients"]["admin"]["not_after"],
        }
    }
    assert result["clients"]["admin"]["not_after"].endswith("Z")


def test_member_certificates_have_sans_cn_and_both_ekus(pki):
    run_present(params(pki, extra_sans=["etcd.example.com", "192.0.2.10", "2001:db8::1"]))
    ca = load(os.path.join(pki, "ca.pem"))
    for filename in ("etcd-host0.pem", "etcd-host0-peer.pem"):
        cert = load(os.path.join(pki, filename))
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "etcd-host0"
        # Only the peer pair carries the name the members' peer port asks for.
        assert sans_of(cert) == [
            "10.0.0.11",
            "127.0.0.1",
            "192.0.2.10",
            "2001:db8::1",
            "etcd-host0",
        ] + (["etcd-peer.invalid"] if "peer" in filename else []) + [
            "etcd.example.com",
            "host0.example.com",
            "localhost",
        ]
        # serverAuth AND clientAuth: the gateway dials its own gRPC port with the server cert.
        assert ekus_of(cert) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
        assert pki_x509.signed_by(cert, ca)
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
        assert cert.public_key().curve.name == "secp256r1"


def test_admin_client_certificate_is_san_only_client_auth(pki):
    run_present(params(pki))
    cert = load(os.path.join(pki, "admin.pem"))
    assert list(cert.subject) == []  # no CN: etcd's gateway rejects CN certs once auth is on
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical  # RFC 5280: empty subject needs a critical SAN
    assert san.value.get_values_for_type(x509.DNSName) == ["admin"]
    assert ekus_of(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert pki_x509.signed_by(cert, load(os.path.join(pki, "ca.pem")))


def test_a_client_with_sans_carries_them_and_a_change_reissues_it(pki):
    # etcd's metrics listener checks a client certificate's SANs against the address it connects from.
    scraper = {"name": "prometheus", "sans": ["10.0.0.5", "Prom.example.com"]}
    run_present(params(pki, clients=["admin", scraper]))
    cert = load(os.path.join(pki, "prometheus.pem"))
    assert sans_of(cert) == ["10.0.0.5", "prom.example.com", "prometheus"]
    assert list(cert.subject) == [] and ekus_of(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert run_present(params(pki, clients=["admin", scraper]))["changed"] is False
    moved = run_present(params(pki, clients=["admin", dict(scraper, sans=["10.0.0.6"])]))
    assert reasons(moved) == {"prometheus.pem": "sans changed"}


ROOT_PAIR = {"name": "root", "user": "root"}


def test_a_client_with_a_user_has_it_as_common_name_and_is_renewed_like_the_others(pki):
    # The role's root pair: etcd takes the common name for the user on its gRPC port.
    result = run_present(params(pki, clients=["admin", ROOT_PAIR]))
    assert result["clients"]["root"] == dict(result["clients"]["root"], cert=os.path.join(pki, "root.pem"),
                                             key=os.path.join(pki, "root-key.pem"))
    cert = load(os.path.join(pki, "root.pem"))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "root"
    assert sans_of(cert) == ["root"] and ekus_of(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert not san.critical  # RFC 5280: only an empty subject needs a critical SAN
    assert list(load(os.path.join(pki, "admin.pem")).subject) == []
    assert run_present(params(pki, clients=["admin", ROOT_PAIR]))["changed"] is False
    # A CN-less pair of the same name (an earlier release's) is re-issued with its key.
    key = read(os.path.join(pki, "root-key.pem"))
    again = run_present(params(pki, clients=["admin", {"name": "root"}]))
    assert reasons(again) == {"root.pem": "profile changed"}
    assert list(load(os.path.join(pki, "root.pem")).subject) == []
    assert reasons(run_present(params(pki, clients=["admin", ROOT_PAIR]))) == {"root.pem": "profile changed"}
    assert read(os.path.join(pki, "root-key.pem")) == key


@pytest.mark.parametrize("user", ["", " root", "a" * 65, "ro\not", 7])
def test_a_bad_client_user_is_named(pki, user):
    with pytest.raises(pki_x509.PkiError, match=r"clients\[1\]\.user .*: user must be an etcd user name"):
        run_present(params(pki, clients=["admin", {"name": "root", "user": user}]))
    assert not os.path.exists(pki)


def test_bad_client_sans_are_named(pki):
    with pytest.raises(pki_x509.PkiError, match=r"clients\[1\]\.sans\[0\]"):
        run_present(params(pki, clients=["admin", {"name": "prometheus", "sans": ["bad name!"]}]))
    with pytest.raises(pki_x509.PkiError, match=r"clients\[1\]\.sans must be a list"):
        run_present(params(pki, clients=["admin", {"name": "prometheus", "sans": "10.0.0.5"}]))


def test_ca_profile_and_validity_periods(pki):
    now = pki_x509.utcnow()
    run_present(params(pki), now=now)
    ca = load(os.path.join(pki, "ca.pem"))
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert ca.subject.rfc4514_string() == "CN=raftops etcd CA"
    assert abs(pki_x509.not_after(ca) - (now + 3650 * DAY)) < datetime.timedelta(seconds=2)
    for filename in ("etcd-host1.pem", "etcd-host1-peer.pem", "admin.pem"):
        cert = load(os.path.join(pki, filename))
        assert abs(pki_x509.not_after(cert) - (now + 730 * DAY)) < datetime.timedelta(seconds=2)
        # backdated a little for members whose clock lags the controller's
        assert pki_x509.not_before(cert) < now


def test_rsa_keys_and_key_encipherment(pki):
    run_present(params(pki, members=member_list()[:1], key_type="rsa", rsa_key_size=2048))
    cert = load(os.path.join(pki, "etcd-host0.pem"))
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
    assert pki_x509.describe_key(pki_x509.load_key(os.path.join(pki, "ca-key.pem"), "k")) == "rsa:2048"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_accepts_the_certificates_for_their_purpose(pki):
    run_present(params(pki))
    ca = os.path.join(pki, "ca.pem")
    for filename, purpose in (
        ("etcd-host0.pem", "sslserver"),
        ("etcd-host0.pem", "sslclient"),
        ("etcd-host0-peer.pem", "sslserver"),
        ("etcd-host0-peer.pem", "sslclient"),
        ("admin.pem", "sslclient"),
    ):
        out = subprocess.run(
            ["openssl", "verify", "-purpose", purpose, "-CAfile", ca, os.path.join(pki, filename)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, (filename, purpose, out.stdout, out.stderr)
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", os.path.join(pki, "admin.pem")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:admin" in text and "CN" not in text.split("Subject:")[1].splitlines()[0]


# ------------------------------------------------------------------------------------------
# Idempotence and re-issue reasons


def test_second_run_issues_nothing_and_touches_nothing(pki):
    run_present(params(pki))
    before = snapshot(pki)
    result = run_present(params(pki))
    assert result["changed"] is False
    assert result["issued"] == []
    assert snapshot(pki) == before


def test_san_change_reissues_only_that_members_certificates_and_keeps_keys(pki):
    run_present(params(pki))
    before = snapshot(pki)
    members = member_list()
    members[0]["addresses"] = ["10.0.0.11", "10.0.1.11"]
    result = run_present(params(pki, members=members))
    assert reasons(result) == {"etcd-host0.pem": "sans changed", "etcd-host0-peer.pem": "sans changed"}
    assert "10.0.1.11" in sans_of(load(os.path.join(pki, "etcd-host0.pem")))
    after = snapshot(pki)
    changed = sorted(os.path.basename(p) for p in before if before[p] != after[p])
    assert changed == ["etcd-host0-peer.pem", "etcd-host0.pem"]


def test_a_peer_pair_without_the_peer_identity_is_reissued_with_its_key_and_nothing_else(pki, tmp_path):
    # A peer pair of an earlier release: the same pair without the name the peer port asks for.
    run_present(params(pki))
    ca, ca_key = load(os.path.join(pki, "ca.pem")), pki_x509.load_key(os.path.join(pki, "ca-key.pem"), "CA key")
    peer_path = os.path.join(pki, "etcd-host0-peer.pem")
    peer, key = load(peer_path), pki_x509.load_key(os.path.join(pki, "etcd-host0-peer-key.pem"), "key")
    sans = [s for s in sans_of(peer) if s != "etcd-peer.invalid"]
    old = pki_x509.build_leaf(key, "peer", "etcd-host0", {pki_x509.parse_san(s, "test") for s in sans}, ca, ca_key,
                              pki_x509.utcnow(), 2)
    with open(peer_path, "wb") as handle:
        handle.write(pki_x509.cert_pem(old))
    before = snapshot(pki)

    result = run_present(params(pki))

    assert result["peer_identity"] == "etcd-peer.invalid"
    assert reasons(result) == {"etcd-host0-peer.pem": "sans changed"}
    after = snapshot(pki)
    assert sorted(os.path.basename(p) for p in before if before[p] != after[p]) == ["etcd-host0-peer.pem"]
    assert sans_of(load(peer_path)) == sans_of(peer)
    assert run_present(params(pki))["changed"] is False


def test_without_peer_identity_no_certificate_carries_it(pki):
    # The etcd_proxy role's call: its proxies are "members" for a server pair, and are no peers.
    result = run_present(params(pki, peer_identity=False))
    assert result["peer_identity"] is None
    assert sans_of(load(os.path.join(pki, "etcd-host0-peer.pem"))) == sans_of(load(os.path.join(pki, "etcd-host0.pem")))
    assert "etcd-peer.invalid" not in sans_of(load(os.path.join(pki, "etcd-host0-peer.pem")))


@pytest.mark.parametrize("client", [
    {"name": "etcd-peer.invalid"},
    {"name": "prometheus", "sans": ["10.0.0.5", "ETCD-PEER.invalid"]},
], ids=["name", "sans"])
def test_a_client_that_would_carry_the_peer_identity_is_refused(pki, client):
    with pytest.raises(pki_x509.PkiError) as refused:
        run_present(params(pki, clients=["admin", client]))
    assert str(refused.value) == (
        "clients[1] (client %s): etcd-peer.invalid is the name only the members' peer certificates carry "
        "(the members' peer port admits no other certificate); a client pair must not carry it" % client["name"])
    assert not os.path.exists(pki)


def test_extra_sans_change_reissues_every_member_but_not_clients(pki):
    run_present(params(pki))
    result = run_present(params(pki, extra_sans=["lb.example.com"]))
    assert set(reasons(result)) == {"etcd-host0.pem", "etcd-host0-peer.pem", "etcd-host1.pem", "etcd-host1-peer.pem"}


def test_renewal_window(pki):
    now = pki_x509.utcnow()
    run_present(params(pki), now=now)
    assert run_present(params(pki), now=now + 699 * DAY)["issued"] == []
    result = run_present(params(pki), now=now + 701 * DAY)
    expected = {
        name: "expiring"
        for name in (
            "etcd-host0.pem",
            "etcd-host0-peer.pem",
            "etcd-host1.pem",
            "etcd-host1-peer.pem",
            "admin.pem",
        )
    }
    assert reasons(result) == expected
    renewed = load(os.path.join(pki, "admin.pem"))
    assert abs(pki_x509.not_after(renewed) - (now + 701 * DAY + 730 * DAY)) < datetime.timedelta(seconds=2)
    assert run_present(params(pki), now=now + 701 * DAY)["issued"] == []


def test_expired_certificate_is_reissued(pki):
    now = pki_x509.utcnow()
    run_present(params(pki), now=now)
    result = run_present(params(pki, renew_before_days=0), now=now + 731 * DAY)
    assert reasons(result)["etcd-host0.pem"] == "expired"


def test_key_mismatch_replaces_key_and_certificate(pki):
    run_present(params(pki))
    shutil.copy(os.path.join(pki, "etcd-host1-key.pem"), os.path.join(pki, "etcd-host0-key.pem"))
    result = run_present(params(pki))
    assert reasons(result) == {"etcd-host0-key.pem": "key mismatch", "etcd-host0.pem": "key mismatch"}
    key = pki_x509.load_key(os.path.join(pki, "etcd-host0-key.pem"), "k")
    assert pki_x509.key_matches(load(os.path.join(pki, "etcd-host0.pem")), key)
    assert read(os.path.join(pki, "etcd-host0-key.pem")) != read(os.path.join(pki, "etcd-host1-key.pem"))


def test_missing_key_gets_a_new_key_and_certificate(pki):
    run_present(params(pki))
    os.unlink(os.path.join(pki, "admin-key.pem"))
    result = run_present(params(pki))
    assert reasons(result) == {"admin-key.pem": "missing", "admin.pem": "new key"}


def test_new_ca_reissues_every_certificate_and_keeps_keys(pki):
    run_present(params(pki))
    keys_before = {
        n: read(os.path.join(pki, n)) for n in os.listdir(pki) if n.endswith("-key.pem") and n != "ca-key.pem"
    }
    os.unlink(os.path.join(pki, "ca.pem"))
    os.unlink(os.path.join(pki, "ca-key.pem"))
    result = run_present(params(pki))
    got = reasons(result)
    assert got.pop("ca.pem") == "missing" and got.pop("ca-key.pem") == "missing"
    assert set(got.values()) == {"ca changed"}
    assert len(got) == 5
    ca = load(os.path.join(pki, "ca.pem"))
    for name in ("etcd-host0.pem", "etcd-host1-peer.pem", "admin.pem"):
        assert pki_x509.signed_by(load(os.path.join(pki, name)), ca)
    assert {n: read(os.path.join(pki, n)) for n in keys_before} == keys_before


def test_certificate_from_another_ca_is_reissued(pki, tmp_path):
    run_present(params(pki))
    other = str(tmp_path / "other")
    run_present(params(other))
    shutil.copy(os.path.join(other, "etcd-host1.pem"), os.path.join(pki, "etcd-host1.pem"))
    shutil.copy(os.path.join(other, "etcd-host1-key.pem"), os.path.join(pki, "etcd-host1-key.pem"))
    result = run_present(params(pki))
    assert reasons(result) == {"etcd-host1.pem": "ca changed"}


def test_key_type_change_rekeys_members_and_clients_but_not_the_ca(pki):
    run_present(params(pki, members=member_list()[:1]))
    ca_before = read(os.path.join(pki, "ca.pem"))
    result = run_present(params(pki, members=member_list()[:1], key_type="rsa", rsa_key_size=2048))
    got = reasons(result)
    assert got["etcd-host0-key.pem"] == "key type changed" and got["etcd-host0.pem"] == "new key"
    assert got["admin-key.pem"] == "key type changed"
    assert "ca.pem" not in got and read(os.path.join(pki, "ca.pem")) == ca_before


def test_world_readable_key_is_fixed_to_0600(pki):
    run_present(params(pki))
    key = os.path.join(pki, "admin-key.pem")
    os.chmod(key, 0o644)
    result = run_present(params(pki))
    assert result["changed"] is True
    assert result["issued"] == []
    assert result["modes_fixed"] == [{"file": key, "mode_was": "0644", "mode": "0600"}]
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_ca_expiring_soon_warns_caps_leaves_and_stays_idempotent(pki):
    now = pki_x509.utcnow()
    run_present(params(pki, ca_validity_days=100), now=now - 80 * DAY)  # CA ends in 20 days
    os.unlink(os.path.join(pki, "admin.pem"))
    result = run_present(params(pki))
    assert reasons(result) == {"admin.pem": "missing"}
    ca = load(os.path.join(pki, "ca.pem"))
    assert pki_x509.not_after(load(os.path.join(pki, "admin.pem"))) == pki_x509.not_after(ca)
    assert any("ca.pem expires on" in w for w in result["warnings"])
    again = run_present(params(pki))
    assert again["issued"] == []


# ------------------------------------------------------------------------------------------
# Check mode


def test_check_mode_on_empty_directory_reports_and_writes_nothing(pki):
    result = run_present(params(pki), check_mode=True)
    assert result["changed"] is True
    assert len(result["issued"]) == 12
    assert result["ca"]["not_after"] is None
    assert not os.path.exists(pki)


def test_check_mode_reports_reissue_without_writing(pki):
    run_present(params(pki))
    before = snapshot(pki)
    members = member_list()
    members[1]["hostnames"] = ["host1.example.com"]
    result = run_present(params(pki, members=members), check_mode=True)
    assert reasons(result) == {"etcd-host1.pem": "sans changed", "etcd-host1-peer.pem": "sans changed"}
    assert result["certificates"]["etcd-host1"]["not_after"] is None
    assert result["certificates"]["etcd-host0"]["not_after"] is not None
    assert snapshot(pki) == before


def test_check_mode_on_converged_pki_is_not_changed(pki):
    run_present(params(pki))
    result = run_present(params(pki), check_mode=True)
    assert result["changed"] is False and result["issued"] == []


# ------------------------------------------------------------------------------------------
# The members that already run (running_members)


THREE = [*member_list(), {"name": "etcd-host2", "addresses": ["10.0.0.13"], "hostnames": []}]


def test_a_directory_whose_ca_the_running_members_do_not_trust_is_refused_before_anything_is_written(pki):
    run_present(params(pki))
    ca_sha256 = hashlib.sha256(read(os.path.join(pki, "ca.pem"))).hexdigest()
    before = snapshot(pki)
    running = [dict(name="etcd-host0", ca_sha256=ca_sha256, peer_name=True), dict(name="etcd-host1", ca_sha256="other")]
    # A new member would be issued (and is not): the refusal comes first.
    with pytest.raises(pki_x509.PkiError, match=r"^its ca\.pem is another CA, but etcd-host1 run with another CA; "):
        run_pki(params(pki, members=THREE, running_members=running))
    assert snapshot(pki) == before
    # Trusted by every member, and every peer certificate carries the peer name: made as asked.
    trusted = [dict(name="etcd-host0", ca_sha256=ca_sha256, peer_name=True)]
    assert "etcd-host2.pem" in reasons(run_pki(params(pki, members=THREE, running_members=trusted)))


def test_a_fresh_directory_for_running_members_is_refused_and_not_made(pki):
    with pytest.raises(pki_x509.PkiError, match=r"^it holds no ca\.pem yet, but etcd-host0 run with another CA"):
        run_pki(params(pki, running_members=[dict(name="etcd-host0", ca_sha256="ab" * 32)]))
    assert snapshot(pki) is None


def test_members_asking_for_the_peer_name_refuse_peer_certificates_made_without_it(pki):
    with pytest.raises(pki_x509.PkiError, match=r"^etcd-host0 ask their peers for the name etcd-peer\.invalid"):
        run_pki(params(pki, peer_identity=False, running_members=[dict(name="etcd-host0", ca_sha256="", peer_name=True)]))
    assert snapshot(pki) is None
