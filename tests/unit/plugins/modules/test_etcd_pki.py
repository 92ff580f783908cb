"""Behaviour of raftops.etcd.etcd_pki: profiles, idempotence, re-issue reasons, check mode, bad input."""

import datetime
import json
import os
import re
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_pki_lib as lib
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_files import write_file_atomically
from ansible_collections.raftops.etcd.plugins.modules import etcd_pki

DAY = datetime.timedelta(days=1)
MEMBERS = [
    {"name": "etcd-host0", "addresses": ["10.0.0.11"], "hostnames": ["host0.example.com"]},
    {"name": "etcd-host1", "addresses": ["10.0.0.12"], "hostnames": []},
]


def member_list():
    return [dict(m) for m in MEMBERS]


@pytest.fixture
def pki(tmp_path):
    return str(tmp_path / "pki")


def params(path, **overrides):
    overrides.setdefault("members", member_list())
    return lib.default_params(path=path, **overrides)


def load(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def snapshot(directory):
    """Every file below ``directory`` with its bytes and mode (or None when it does not exist)."""
    if not os.path.exists(directory):
        return None
    state = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            state[path] = (read(path), stat.S_IMODE(os.stat(path).st_mode))
    return state


def reasons(result):
    return {os.path.basename(item["file"]): item["reason"] for item in result["issued"]}


def sans_of(cert):
    value = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(str(v) for v in value.get_values_for_type(x509.IPAddress)) + sorted(
        value.get_values_for_type(x509.DNSName)
    )


def ekus_of(cert):
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


# ------------------------------------------------------------------------------------------
# What gets issued


def test_first_run_issues_ca_members_and_admin_with_safe_modes(pki):
    result = lib.run(params(pki))

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
    assert result["ca"]["fingerprint"] == lib.fingerprint(load(os.path.join(pki, "ca.pem")))
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
    lib.run(params(pki, extra_sans=["etcd.example.com", "192.0.2.10", "2001:db8::1"]))
    ca = load(os.path.join(pki, "ca.pem"))
    for filename in ("etcd-host0.pem", "etcd-host0-peer.pem"):
        cert = load(os.path.join(pki, filename))
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "etcd-host0"
        assert sans_of(cert) == [
            "10.0.0.11",
            "127.0.0.1",
            "192.0.2.10",
            "2001:db8::1",
            "etcd-host0",
            "etcd.example.com",
            "host0.example.com",
            "localhost",
        ]
        # serverAuth AND clientAuth: the gateway dials its own gRPC port with the server cert.
        assert ekus_of(cert) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
        assert lib.signed_by(cert, ca)
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
        assert cert.public_key().curve.name == "secp256r1"


def test_admin_client_certificate_is_san_only_client_auth(pki):
    lib.run(params(pki))
    cert = load(os.path.join(pki, "admin.pem"))
    assert list(cert.subject) == []  # no CN: etcd's gateway rejects CN certs once auth is on
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical  # RFC 5280: empty subject needs a critical SAN
    assert san.value.get_values_for_type(x509.DNSName) == ["admin"]
    assert ekus_of(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert lib.signed_by(cert, load(os.path.join(pki, "ca.pem")))


def test_ca_profile_and_validity_periods(pki):
    now = lib.utcnow()
    lib.run(params(pki), now=now)
    ca = load(os.path.join(pki, "ca.pem"))
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert ca.subject.rfc4514_string() == "CN=raftops etcd CA"
    assert abs(lib.not_after(ca) - (now + 3650 * DAY)) < datetime.timedelta(seconds=2)
    for filename in ("etcd-host1.pem", "etcd-host1-peer.pem", "admin.pem"):
        cert = load(os.path.join(pki, filename))
        assert abs(lib.not_after(cert) - (now + 730 * DAY)) < datetime.timedelta(seconds=2)
        # backdated a little for members whose clock lags the controller's
        assert lib.not_before(cert) < now


def test_rsa_keys_and_key_encipherment(pki):
    lib.run(params(pki, members=member_list()[:1], key_type="rsa", rsa_key_size=2048))
    cert = load(os.path.join(pki, "etcd-host0.pem"))
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
    assert lib.describe_key(lib.load_key(os.path.join(pki, "ca-key.pem"), "k")) == "rsa:2048"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_accepts_the_certificates_for_their_purpose(pki):
    lib.run(params(pki))
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
    lib.run(params(pki))
    before = snapshot(pki)
    result = lib.run(params(pki))
    assert result["changed"] is False
    assert result["issued"] == []
    assert snapshot(pki) == before


def test_san_change_reissues_only_that_members_certificates_and_keeps_keys(pki):
    lib.run(params(pki))
    before = snapshot(pki)
    members = member_list()
    members[0]["addresses"] = ["10.0.0.11", "10.0.1.11"]
    result = lib.run(params(pki, members=members))
    assert reasons(result) == {"etcd-host0.pem": "sans changed", "etcd-host0-peer.pem": "sans changed"}
    assert "10.0.1.11" in sans_of(load(os.path.join(pki, "etcd-host0.pem")))
    after = snapshot(pki)
    changed = sorted(os.path.basename(p) for p in before if before[p] != after[p])
    assert changed == ["etcd-host0-peer.pem", "etcd-host0.pem"]


def test_extra_sans_change_reissues_every_member_but_not_clients(pki):
    lib.run(params(pki))
    result = lib.run(params(pki, extra_sans=["lb.example.com"]))
    assert set(reasons(result)) == {"etcd-host0.pem", "etcd-host0-peer.pem", "etcd-host1.pem", "etcd-host1-peer.pem"}


def test_renewal_window(pki):
    now = lib.utcnow()
    lib.run(params(pki), now=now)
    assert lib.run(params(pki), now=now + 699 * DAY)["issued"] == []
    result = lib.run(params(pki), now=now + 701 * DAY)
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
    assert abs(lib.not_after(renewed) - (now + 701 * DAY + 730 * DAY)) < datetime.timedelta(seconds=2)
    assert lib.run(params(pki), now=now + 701 * DAY)["issued"] == []


def test_expired_certificate_is_reissued(pki):
    now = lib.utcnow()
    lib.run(params(pki), now=now)
    result = lib.run(params(pki, renew_before_days=0), now=now + 731 * DAY)
    assert reasons(result)["etcd-host0.pem"] == "expired"


def test_key_mismatch_replaces_key_and_certificate(pki):
    lib.run(params(pki))
    shutil.copy(os.path.join(pki, "etcd-host1-key.pem"), os.path.join(pki, "etcd-host0-key.pem"))
    result = lib.run(params(pki))
    assert reasons(result) == {"etcd-host0-key.pem": "key mismatch", "etcd-host0.pem": "key mismatch"}
    key = lib.load_key(os.path.join(pki, "etcd-host0-key.pem"), "k")
    assert lib.key_matches(load(os.path.join(pki, "etcd-host0.pem")), key)
    assert read(os.path.join(pki, "etcd-host0-key.pem")) != read(os.path.join(pki, "etcd-host1-key.pem"))


def test_missing_key_gets_a_new_key_and_certificate(pki):
    lib.run(params(pki))
    os.unlink(os.path.join(pki, "admin-key.pem"))
    result = lib.run(params(pki))
    assert reasons(result) == {"admin-key.pem": "missing", "admin.pem": "new key"}


def test_new_ca_reissues_every_certificate_and_keeps_keys(pki):
    lib.run(params(pki))
    keys_before = {
        n: read(os.path.join(pki, n)) for n in os.listdir(pki) if n.endswith("-key.pem") and n != "ca-key.pem"
    }
    os.unlink(os.path.join(pki, "ca.pem"))
    os.unlink(os.path.join(pki, "ca-key.pem"))
    result = lib.run(params(pki))
    got = reasons(result)
    assert got.pop("ca.pem") == "missing" and got.pop("ca-key.pem") == "missing"
    assert set(got.values()) == {"ca changed"}
    assert len(got) == 5
    ca = load(os.path.join(pki, "ca.pem"))
    for name in ("etcd-host0.pem", "etcd-host1-peer.pem", "admin.pem"):
        assert lib.signed_by(load(os.path.join(pki, name)), ca)
    assert {n: read(os.path.join(pki, n)) for n in keys_before} == keys_before


def test_certificate_from_another_ca_is_reissued(pki, tmp_path):
    lib.run(params(pki))
    other = str(tmp_path / "other")
    lib.run(params(other))
    shutil.copy(os.path.join(other, "etcd-host1.pem"), os.path.join(pki, "etcd-host1.pem"))
    shutil.copy(os.path.join(other, "etcd-host1-key.pem"), os.path.join(pki, "etcd-host1-key.pem"))
    result = lib.run(params(pki))
    assert reasons(result) == {"etcd-host1.pem": "ca changed"}


def test_key_type_change_rekeys_members_and_clients_but_not_the_ca(pki):
    lib.run(params(pki, members=member_list()[:1]))
    ca_before = read(os.path.join(pki, "ca.pem"))
    result = lib.run(params(pki, members=member_list()[:1], key_type="rsa", rsa_key_size=2048))
    got = reasons(result)
    assert got["etcd-host0-key.pem"] == "key type changed" and got["etcd-host0.pem"] == "new key"
    assert got["admin-key.pem"] == "key type changed"
    assert "ca.pem" not in got and read(os.path.join(pki, "ca.pem")) == ca_before


def test_world_readable_key_is_fixed_to_0600(pki):
    lib.run(params(pki))
    key = os.path.join(pki, "admin-key.pem")
    os.chmod(key, 0o644)
    result = lib.run(params(pki))
    assert result["changed"] is True
    assert result["issued"] == []
    assert result["modes_fixed"] == [{"file": key, "mode_was": "0644", "mode": "0600"}]
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_ca_expiring_soon_warns_caps_leaves_and_stays_idempotent(pki):
    now = lib.utcnow()
    lib.run(params(pki, ca_validity_days=100), now=now - 80 * DAY)  # CA ends in 20 days
    os.unlink(os.path.join(pki, "admin.pem"))
    result = lib.run(params(pki))
    assert reasons(result) == {"admin.pem": "missing"}
    ca = load(os.path.join(pki, "ca.pem"))
    assert lib.not_after(load(os.path.join(pki, "admin.pem"))) == lib.not_after(ca)
    assert any("ca.pem expires on" in w for w in result["warnings"])
    again = lib.run(params(pki))
    assert again["issued"] == []


# ------------------------------------------------------------------------------------------
# Check mode


def test_check_mode_on_empty_directory_reports_and_writes_nothing(pki):
    result = lib.run(params(pki), check_mode=True)
    assert result["changed"] is True
    assert len(result["issued"]) == 12
    assert result["ca"]["not_after"] is None
    assert not os.path.exists(pki)


def test_check_mode_reports_reissue_without_writing(pki):
    lib.run(params(pki))
    before = snapshot(pki)
    members = member_list()
    members[1]["hostnames"] = ["host1.example.com"]
    result = lib.run(params(pki, members=members), check_mode=True)
    assert reasons(result) == {"etcd-host1.pem": "sans changed", "etcd-host1-peer.pem": "sans changed"}
    assert result["certificates"]["etcd-host1"]["not_after"] is None
    assert result["certificates"]["etcd-host0"]["not_after"] is not None
    assert snapshot(pki) == before


def test_check_mode_on_converged_pki_is_not_changed(pki):
    lib.run(params(pki))
    result = lib.run(params(pki), check_mode=True)
    assert result["changed"] is False and result["issued"] == []


# ------------------------------------------------------------------------------------------
# Bad input: a clear error and nothing written


def assert_refused(pki, match, check_mode=False, **overrides):
    before = snapshot(pki)
    with pytest.raises(lib.PkiError, match=match):
        lib.run(params(pki, **overrides), check_mode=check_mode)
    assert snapshot(pki) == before


def test_directory_not_writable_is_named(pki, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(lib.os, "access", lambda p, mode: False if p == os.path.dirname(pki) else real_access(p, mode))
    assert_refused(
        pki, re.escape("cannot create the PKI directory %s: %s is not writable" % (pki, os.path.dirname(pki)))
    )
    assert not os.path.exists(pki)


def test_existing_directory_not_writable_is_named(pki, monkeypatch):
    lib.run(params(pki))
    os.unlink(os.path.join(pki, "admin.pem"))
    monkeypatch.setattr(lib.os, "access", lambda p, mode: p != pki)
    assert_refused(pki, re.escape("the PKI directory %s is not writable" % pki))
    assert_refused(pki, "is not writable", check_mode=True)


def test_path_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "pki"
    path.write_text("x")
    assert_refused(str(path), "exists and is not a directory")


@pytest.mark.parametrize("name", ["-lead", "has space", "", "ünï", "a/b", ".hidden"])
def test_invalid_member_names_are_refused(pki, name):
    assert_refused(pki, r"members\[0\]\.name .* is not a valid name", members=[{"name": name, "addresses": []}])


def test_duplicate_member_names_are_refused(pki):
    assert_refused(
        pki,
        r"member name 'etcd-host0' appears twice \(members\[0\] and members\[1\]\)",
        members=[{"name": "etcd-host0"}, {"name": "etcd-host0"}],
    )


@pytest.mark.parametrize("value", ["https://10.0.0.11:2379", "10.0.0.11:2379", "bad name", "a..b"])
def test_invalid_addresses_are_refused(pki, value):
    assert_refused(
        pki, r"members\[0\]\.addresses\[0\] of member n0: .* neither", members=[{"name": "n0", "addresses": [value]}]
    )


def test_invalid_extra_san_is_refused(pki):
    assert_refused(pki, r"extra_sans\[1\]", extra_sans=["ok.example.com", "not ok"])


def test_file_name_collisions_are_refused(pki):
    assert_refused(
        pki,
        "the peer certificate of member a and the server certificate of member a-peer",
        members=[{"name": "a"}, {"name": "a-peer"}],
    )
    assert_refused(pki, "the CA certificate and the server certificate of member ca", members=[{"name": "ca"}])
    assert_refused(pki, "client name 'etcd-host0' is also a member name", clients=["admin", "etcd-host0"])
    assert_refused(pki, r"clients\[0\]\.name", clients=["bad name"])


def test_per_member_paths_only_with_verified(pki):
    members = member_list()
    members[0]["cert"] = "/etc/somewhere.pem"
    assert_refused(pki, r"members\[0\]\.cert \(member etcd-host0\) is only used with state=verified", members=members)


def test_validity_must_exceed_renewal_window(pki):
    assert_refused(pki, r"validity_days \(20\) must be greater than renew_before_days \(30\)", validity_days=20)


def test_expired_ca_fails_naming_file_date_and_remedy(pki):
    lib.run(params(pki, ca_validity_days=100), now=lib.utcnow() - 200 * DAY)
    expires = lib.iso(lib.not_after(load(os.path.join(pki, "ca.pem"))))
    os.unlink(os.path.join(pki, "admin.pem"))
    ca = os.path.join(pki, "ca.pem")
    for check_mode in (False, True):
        assert_refused(
            pki,
            "%s.*move %s"
            % (
                re.escape("the CA certificate %s expired on %s" % (ca, expires)),
                re.escape("%s and %s" % (ca, os.path.join(pki, "ca-key.pem"))),
            ),
            check_mode=check_mode,
        )


def test_ca_key_not_matching_ca_certificate_is_refused(pki, tmp_path):
    lib.run(params(pki))
    other = str(tmp_path / "other")
    lib.run(params(other, members=[]))
    shutil.copy(os.path.join(other, "ca-key.pem"), os.path.join(pki, "ca-key.pem"))
    assert_refused(pki, "the CA key .*ca-key.pem does not match the CA certificate .*ca.pem")


def test_missing_ca_key_only_matters_when_something_must_be_signed(pki):
    lib.run(params(pki))
    os.unlink(os.path.join(pki, "ca-key.pem"))
    assert lib.run(params(pki))["issued"] == []
    os.unlink(os.path.join(pki, "admin.pem"))
    assert_refused(pki, "the CA key .*ca-key.pem is missing, so .*admin.pem cannot be issued")


def test_unreadable_key_is_refused_not_overwritten(pki):
    lib.run(params(pki))
    with open(os.path.join(pki, "etcd-host0-key.pem"), "w") as handle:
        handle.write("garbage")
    assert_refused(pki, "etcd-host0-key.pem is not a readable PEM private key")


# ------------------------------------------------------------------------------------------
# state=verified (bring your own PKI)


def byo(tmp_path, pki):
    """An operator's PKI with its own file names, made by the module into a scratch directory."""
    lib.run(params(pki))
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
    return lib.default_params(path=path, state="verified", members=members, **overrides)


def test_verified_accepts_a_good_pki_and_writes_nothing(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    before = snapshot(own)
    result = lib.run(verified(own, members))
    assert result["changed"] is False and result["issued"] == []
    assert result["certificates"]["etcd-host0"]["cert"] == os.path.join(own, "etcd-host0.cert")
    assert "10.0.0.11" in result["certificates"]["etcd-host0"]["sans"]
    assert result["ca"]["path"] == os.path.join(own, "root.crt")
    assert snapshot(own) == before


def test_verified_defaults_to_the_module_file_names(pki):
    lib.run(params(pki))
    result = lib.run(lib.default_params(path=pki, state="verified", members=member_list()))
    assert set(result["certificates"]) == {"etcd-host0", "etcd-host1"}
    assert result["clients"]["admin"]["not_after"]


def test_verified_lists_every_problem_with_file_names(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    other = str(tmp_path / "other")
    lib.run(params(other))
    # host0: server cert paired with host1's key; peer cert from another CA.
    shutil.copy(members[1]["key"], members[0]["key"])
    shutil.copy(os.path.join(other, "etcd-host0-peer.pem"), members[0]["peer_cert"])
    shutil.copy(os.path.join(other, "etcd-host0-peer-key.pem"), members[0]["peer_key"])
    # host1 now claims an address its certificates do not carry.
    members[1]["addresses"] = ["10.0.0.12", "10.0.9.9"]
    before = snapshot(own)
    with pytest.raises(lib.PkiError) as info:
        lib.run(verified(own, members))
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
    lib.run(params(old, validity_days=40, renew_before_days=1), now=lib.utcnow() - 60 * DAY)
    os.unlink(os.path.join(old, "etcd-host1-peer-key.pem"))
    with pytest.raises(lib.PkiError) as info:
        lib.run(lib.default_params(path=old, state="verified", members=member_list(), clients=[]))
    text = "\n".join(info.value.problems)
    assert "%s expired on" % os.path.join(old, "etcd-host0.pem") in text
    assert "cannot read the member etcd-host1 peer key %s" % os.path.join(old, "etcd-host1-peer-key.pem") in text


def test_verified_reports_an_expired_ca(tmp_path):
    old = str(tmp_path / "old")
    lib.run(
        params(old, members=[], ca_validity_days=40, validity_days=35, renew_before_days=1), now=lib.utcnow() - 60 * DAY
    )
    with pytest.raises(lib.PkiError, match=re.escape("the CA certificate %s expired on" % os.path.join(old, "ca.pem"))):
        lib.run(lib.default_params(path=old, state="verified", members=[], clients=[]))


def test_verified_requires_client_auth_on_server_certificate(tmp_path, pki):
    """A server certificate without clientAuth breaks etcd's gateway self-dial (#9785)."""
    own, members = byo(tmp_path, pki)
    ca_key = lib.load_key(os.path.join(pki, "ca-key.pem"), "k")
    ca = load(os.path.join(pki, "ca.pem"))
    key = lib.load_key(members[0]["key"], "k")
    original = load(members[0]["cert"])
    now = lib.utcnow()
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
        .sign(ca_key, lib.hashes.SHA256())
    )
    write_file_atomically(members[0]["cert"], lib.cert_pem(cert), 0o644)
    with pytest.raises(
        lib.PkiError, match=r"etcd-host0.cert lacks the extended key usage clientAuth \(needed by the gateway"
    ):
        lib.run(verified(own, members))


def test_verified_client_entries_with_explicit_paths(tmp_path, pki):
    own, members = byo(tmp_path, pki)
    client = {"name": "ops", "cert": os.path.join(pki, "admin.pem"), "key": os.path.join(pki, "etcd-host0-key.pem")}
    with pytest.raises(lib.PkiError, match=r"admin\.pem: the certificate does not match its key"):
        lib.run(verified(own, members, clients=[client]))
    client["key"] = os.path.join(pki, "admin-key.pem")
    assert lib.run(verified(own, members, clients=[client]))["clients"]["ops"]["cert"] == client["cert"]


# ------------------------------------------------------------------------------------------
# The module entry point


def run_main(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_pki.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_main_issues_then_is_idempotent_and_honours_check_mode(pki, capsys):
    args = {"path": pki, "members": [{"name": "etcd-host0", "addresses": ["10.0.0.11"]}]}
    code, out = run_main(dict(args, _ansible_check_mode=True), capsys)
    assert code == 0 and out["changed"] is True and not os.path.exists(pki)

    code, out = run_main(args, capsys)
    assert code == 0 and out["changed"] is True
    assert {os.path.basename(i["file"]) for i in out["issued"]} >= {"ca.pem", "etcd-host0.pem", "admin.pem"}
    assert out["certificates"]["etcd-host0"]["sans"] == ["10.0.0.11", "127.0.0.1", "etcd-host0", "localhost"]

    code, out = run_main(args, capsys)
    assert code == 0 and out["changed"] is False and out["issued"] == []


def test_main_fails_with_a_clear_message(pki, capsys):
    code, out = run_main({"path": pki, "members": [{"name": "bad name"}]}, capsys)
    assert code == 1 and out["failed"] is True
    assert out["msg"].startswith("raftops.etcd.etcd_pki: members[0].name 'bad name' is not a valid name")
    assert not os.path.exists(pki)


def test_main_rejects_unknown_member_keys(pki, capsys):
    code, out = run_main({"path": pki, "members": [{"name": "a", "adresses": ["10.0.0.1"]}]}, capsys)
    assert code == 1 and "adresses" in out["msg"]
