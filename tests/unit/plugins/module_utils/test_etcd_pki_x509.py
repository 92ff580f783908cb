"""etcd_pki_x509: SAN parsing and matching, signature checks, CRLs, across cryptography releases."""

import datetime
import ipaddress

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_params
from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_x509 as lib


@pytest.mark.parametrize(
    "value, expected",
    [
        ("10.0.0.11", ("ip", ipaddress.ip_address("10.0.0.11"))),
        (" 2001:DB8::1 ", ("ip", ipaddress.ip_address("2001:db8::1"))),
        ("Host0.Example.COM.", ("dns", "host0.example.com")),
        ("*.etcd.example.com", ("dns", "*.etcd.example.com")),
        ("_etcd-server-ssl._tcp.example.com", ("dns", "_etcd-server-ssl._tcp.example.com")),
        ("localhost", ("dns", "localhost")),
    ],
)
def test_parse_san(value, expected):
    assert lib.parse_san(value, "x") == expected


@pytest.mark.parametrize("value", ["", "  ", "https://h", "h:2379", "a b", "-a", "a.*.b", "a" * 64, None, 5])
def test_parse_san_rejects_and_names_the_option(value):
    with pytest.raises(lib.PkiError, match=r"^extra_sans\[3\]: "):
        lib.parse_san(value, "extra_sans[3]")


def test_sort_sans_puts_ips_first_in_numeric_order():
    sans = {lib.parse_san(v, "x") for v in ["localhost", "10.0.0.9", "10.0.0.10", "::1", "a.example"]}
    assert [lib.san_text(s) for s in lib.sort_sans(sans)] == ["10.0.0.9", "10.0.0.10", "::1", "a.example", "localhost"]


def test_san_covers_matches_exact_names_and_single_label_wildcards():
    sans = {("dns", "*.example.com"), ("ip", ipaddress.ip_address("10.0.0.1"))}
    assert lib.san_covers(sans, ("dns", "h0.example.com"))
    assert not lib.san_covers(sans, ("dns", "a.h0.example.com"))
    assert not lib.san_covers(sans, ("dns", "example.com"))
    assert lib.san_covers(sans, ("ip", ipaddress.ip_address("10.0.0.1")))
    assert not lib.san_covers(sans, ("ip", ipaddress.ip_address("10.0.0.2")))


class _OldCertificate:
    """A certificate as older cryptography releases present it (no *_utc, no verify_directly_issued_by)."""

    def __init__(self, cert):
        self._cert = cert

    def __getattr__(self, name):
        if name in ("verify_directly_issued_by", "not_valid_after_utc", "not_valid_before_utc"):
            raise AttributeError(name)
        return getattr(self._cert, name)

    @property
    def not_valid_after(self):
        return self._cert.not_valid_after_utc.replace(tzinfo=None)


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_signature_check_without_verify_directly_issued_by(key_type):
    params = pki_params.default_params(key_type=key_type, rsa_key_size=2048)
    now = lib.utcnow()
    ca_key, other_key = lib.generate_key(params), lib.generate_key(params)
    ca = lib.build_ca(ca_key, "test CA", now, 10)
    other = lib.build_ca(other_key, "test CA", now, 10)  # same name, different key
    leaf_key = lib.generate_key(params)
    leaf = lib.build_leaf(leaf_key, "client", None, {("dns", "c")}, ca, ca_key, now, 5)
    assert lib.signed_by(_OldCertificate(leaf), ca)
    assert not lib.signed_by(_OldCertificate(leaf), other)
    assert lib.signed_by(leaf, ca) and not lib.signed_by(leaf, other)
    assert lib.not_after(_OldCertificate(leaf)) == lib.not_after(leaf)
    assert lib.not_after(leaf) - now < datetime.timedelta(days=5, seconds=1)


def test_leaf_never_outlives_its_ca():
    params = pki_params.default_params()
    now = lib.utcnow()
    ca_key = lib.generate_key(params)
    ca = lib.build_ca(ca_key, "test CA", now, 10)
    leaf = lib.build_leaf(lib.generate_key(params), "server", "n", {("dns", "n")}, ca, ca_key, now, 730)
    assert lib.not_after(leaf) == lib.not_after(ca)


class _OldCrl:
    """A CRL as older cryptography releases present it (naive datetimes, no *_utc)."""

    def __init__(self, crl):
        self._crl = crl

    def __getattr__(self, name):
        if name in ("next_update_utc", "last_update_utc"):
            raise AttributeError(name)
        return getattr(self._crl, name)

    @property
    def next_update(self):
        return self._crl.next_update_utc.replace(tzinfo=None)


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_crl_is_signed_by_its_ca_only_and_ends_with_it(key_type):
    params = pki_params.default_params(key_type=key_type, rsa_key_size=2048)
    now = lib.utcnow()
    ca_key, other_key = lib.generate_key(params), lib.generate_key(params)
    ca = lib.build_ca(ca_key, "test CA", now, 10)
    other = lib.build_ca(other_key, "test CA", now, 10)  # same name, different key
    entries = [lib.CrlEntry(0x0A01, now), lib.CrlEntry(5, now)]
    crl = lib.build_crl(ca, ca_key, entries, 3, now)
    assert lib.crl_signed_by(crl, ca) and not lib.crl_signed_by(crl, other)
    assert lib.crl_serials(crl) == {0x0A01, 5}
    assert lib.crl_number(crl) == 3
    assert lib.crl_next_update(crl) == lib.not_after(ca)
    assert lib.crl_next_update(_OldCrl(crl)) == lib.not_after(ca)
    assert [lib.serial_hex(r.serial_number) for r in crl] == ["05", "0a01"]


def test_load_crl_reads_pem_and_der_and_names_the_file(tmp_path):
    params = pki_params.default_params()
    now = lib.utcnow()
    ca_key = lib.generate_key(params)
    ca = lib.build_ca(ca_key, "test CA", now, 10)
    crl = lib.build_crl(ca, ca_key, [], 1, now)
    pem, der, bad = tmp_path / "crl.pem", tmp_path / "crl.der", tmp_path / "bad.pem"
    pem.write_bytes(lib.crl_pem(crl))
    der.write_bytes(crl.public_bytes(lib.serialization.Encoding.DER))
    bad.write_bytes(b"not a CRL")
    assert len(lib.load_crl(str(pem))) == 0 and len(lib.load_crl(str(der))) == 0
    with pytest.raises(lib.PkiError, match=r"^the CRL .*bad\.pem is not a readable PEM or DER CRL"):
        lib.load_crl(str(bad))
