# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The logic of ``raftops.etcd.etcd_pki``: a small CA and etcd's member and client certificates.

Everything here is plain Python on top of ``cryptography``; the module only maps parameters in
and results out. The work is split in two phases so that bad input never leaves half a PKI
behind:

1. ``plan``: read every existing file, validate the input and decide, per file, whether it must be
   (re)issued and why. Any problem raises :class:`PkiError` before anything is written.
2. ``apply``: generate keys and sign certificates in memory, then write each file atomically
   (temporary file in the same directory, fsync, rename), keys with mode 0600 from their creation.

Profiles (what etcd needs):

* CA: ``CA:TRUE, pathlen:0``, keyCertSign + cRLSign.
* member server certificate ``NAME.pem``: serverAuth **and** clientAuth, because the HTTP/JSON
  gateway dials its own gRPC port presenting the server certificate as a client certificate.
* member peer certificate ``NAME-peer.pem``: serverAuth + clientAuth (peers dial each other).
* client certificate ``CLIENT.pem``: clientAuth only and an **empty subject** (no CN) with a
  critical SAN ``DNS:CLIENT``; etcd's gateway answers HTTP 400 to a client certificate with a CN
  when RBAC auth is enabled.

Revocation: ``crl.pem`` is a CRL signed by the CA, always present in a managed PKI (empty at
first), ``nextUpdate`` at the CA's end because etcd never fetches a new one. etcd
(``--client-crl-file``/``--peer-crl-file``, ``checkCRL`` in its pkg/transport) reads the file on
every new TLS connection and compares serial numbers only: it checks neither the CRL's signature
nor its dates, and refuses every connection when the file cannot be parsed. So the file is always
written whole (atomically), and a name in ``revoke`` has its certificates' serials added to the
CRL *before* its files are moved into ``revoked/``: a crash in between leaves the files in place
for the next run, never a moved certificate missing from the CRL.
"""

import datetime
import ipaddress
import os
import re

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_files import fsync_directory, write_file_atomically
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_formats import NAME_PATTERN, is_valid_name

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as exc:  # reported by the module through missing_required_lib()
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

# A DNS SAN: labels of letters, digits, '-' and '_', optionally a leading '*.' wildcard.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_DNS_RE = re.compile(r"^(?:\*\.)?%s(?:\.%s)*\.?$" % (_LABEL, _LABEL))

DEFAULT_CA_COMMON_NAME = "raftops etcd CA"
DEFAULT_VALIDITY_DAYS = 730
DEFAULT_CA_VALIDITY_DAYS = 3650
DEFAULT_RENEW_BEFORE_DAYS = 30
DEFAULT_RSA_KEY_SIZE = 3072
LOOPBACK_SANS = ("127.0.0.1", "localhost")
# Certificates start a little in the past so that a member whose clock lags the controller's
# still accepts them.
BACKDATE = datetime.timedelta(minutes=5)

KEY_MODE = 0o600
CERT_MODE = 0o644
DIR_MODE = 0o700

# Reasons reported for each (re)issued file.
MISSING = "missing"
KEY_MISMATCH = "key mismatch"
KEY_TYPE_CHANGED = "key type changed"
SANS_CHANGED = "sans changed"
EXPIRING = "expiring"
EXPIRED = "expired"
CA_CHANGED = "ca changed"
PROFILE_CHANGED = "profile changed"
NEW_KEY = "new key"

REVOKED = "revoked"
NEXT_UPDATE_CHANGED = "next update changed"

CRL_FILE = "crl.pem"
REVOKED_DIR = "revoked"
CRL_MODE = 0o644

_MEMBER_FILE_KEYS = ("cert", "key", "peer_cert", "peer_key")


class PkiError(Exception):
    """Bad input or a PKI that cannot be used; the message names the file or value at fault."""

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = list(problems or [])


def default_params(**overrides):
    """The module's parameters with their defaults (used by tests and by :func:`run` callers)."""
    params = dict(
        path=None,
        state="present",
        members=[],
        clients=["admin"],
        extra_sans=[],
        ca_cert=None,
        ca_key=None,
        ca_common_name=DEFAULT_CA_COMMON_NAME,
        validity_days=DEFAULT_VALIDITY_DAYS,
        ca_validity_days=DEFAULT_CA_VALIDITY_DAYS,
        renew_before_days=DEFAULT_RENEW_BEFORE_DAYS,
        key_type="ec",
        rsa_key_size=DEFAULT_RSA_KEY_SIZE,
        revoke=[],
        crl=None,
    )
    params.update(overrides)
    return params


# --------------------------------------------------------------------------------------------
# Small helpers over cryptography (kept compatible with releases older than the pinned one).


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fingerprint(cert):
    return ":".join("%02X" % b for b in cert.fingerprint(hashes.SHA256()))


def _public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert, key):
    return _public_der(cert.public_key()) == _public_der(key.public_key())


def signed_by(cert, issuer):
    """True when ``issuer`` (a certificate) names and signed ``cert``."""
    if cert.issuer != issuer.subject:
        return False
    public_key = issuer.public_key()
    try:
        if hasattr(cert, "verify_directly_issued_by"):
            cert.verify_directly_issued_by(issuer)
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
            )
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _extension(cert, ext_class):
    try:
        return cert.extensions.get_extension_for_class(ext_class).value
    except x509.ExtensionNotFound:
        return None


def _common_names(cert):
    return [attr.value for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def _ekus(cert):
    value = _extension(cert, x509.ExtendedKeyUsage)
    return None if value is None else set(value)


def _is_ca(cert):
    value = _extension(cert, x509.BasicConstraints)
    return bool(value and value.ca)


def describe_key(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ec:%s" % key.curve.name
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa:%d" % key.key_size
    return type(key).__name__


def wanted_key_description(params):
    if params["key_type"] == "rsa":
        return "rsa:%d" % params["rsa_key_size"]
    return "ec:secp256r1"


def generate_key(params):
    if params["key_type"] == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=params["rsa_key_size"])
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


_PEM_CERT_RE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def _read(path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise PkiError("cannot read the %s %s: %s" % (what, path, exc.strerror or exc)) from exc


def load_certs(path, what):
    """Every certificate in a PEM file (a bundle is allowed), first one first."""
    data = _read(path, what)
    blocks = _PEM_CERT_RE.findall(data)
    if not blocks:
        raise PkiError("the %s %s holds no PEM certificate" % (what, path))
    certs = []
    for block in blocks:
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise PkiError("the %s %s holds an unreadable certificate: %s" % (what, path, exc)) from exc
    return certs


def load_key(path, what):
    data = _read(path, what)
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # encrypted
        raise PkiError("the %s %s is encrypted; etcd needs an unencrypted key" % (what, path)) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise PkiError("the %s %s is not a readable PEM private key: %s" % (what, path, exc)) from exc


# --------------------------------------------------------------------------------------------
# CRL helpers


def serial_hex(serial):
    """A serial number as etcd prints it (``transport: certificate serial %x revoked``): lowercase
    hex of its big-endian bytes, so ``0a...`` keeps its leading zero."""
    if serial < 0:
        return "-" + serial_hex(-serial)
    return serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big").hex()


def crl_next_update(crl):
    value = getattr(crl, "next_update_utc", None)
    if value is not None:
        return value
    value = crl.next_update
    return None if value is None else value.replace(tzinfo=datetime.timezone.utc)


def revocation_date(revoked):
    value = getattr(revoked, "revocation_date_utc", None)
    return value if value is not None else revoked.revocation_date.replace(tzinfo=datetime.timezone.utc)


def load_crl(path, what="CRL"):
    """The CRL in ``path``, PEM or DER (etcd accepts both)."""
    data = _read(path, what)
    try:
        if b"-----BEGIN X509 CRL-----" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise PkiError("the %s %s is not a readable PEM or DER CRL: %s" % (what, path, exc)) from exc


def crl_signed_by(crl, ca):
    """True when ``ca`` (a certificate) names and signed ``crl``."""
    if crl.issuer != ca.subject:
        return False
    try:
        return bool(crl.is_signature_valid(ca.public_key()))
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def crl_serials(crl):
    return {revoked.serial_number for revoked in crl}


def crl_number(crl):
    value = None
    try:
        value = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        pass
    return value or 0


def _signature_hash(key):
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    return hashes.SHA256()


def crl_pem(crl):
    return crl.public_bytes(serialization.Encoding.PEM)


# --------------------------------------------------------------------------------------------
# SANs


def parse_san(value, where):
    """``('ip', ip_address)`` or ``('dns', lowercased name)``; PkiError naming ``where`` if neither."""
    if not isinstance(value, str) or not value.strip():
        raise PkiError("%s: %r is not an IP address or DNS name" % (where, value))
    text = value.strip()
    try:
        return ("ip", ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _DNS_RE.match(text) or len(text) > 253:
        raise PkiError(
            "%s: %r is neither an IP address nor a DNS name (give a bare address or host name, "
            "without scheme or port)" % (where, value)
        )
    return ("dns", text.rstrip(".").lower())


def san_text(san):
    return str(san[1])


def _san_sort_key(san):
    return (0, san[1].version, int(san[1])) if san[0] == "ip" else (1, 0, san[1])


def sort_sans(sans):
    return sorted(sans, key=_san_sort_key)


def cert_sans(cert):
    value = _extension(cert, x509.SubjectAlternativeName)
    if value is None:
        return set()
    sans = set()
    for general_name in value:
        if isinstance(general_name, x509.IPAddress):
            sans.add(("ip", general_name.value))
        elif isinstance(general_name, x509.DNSName):
            sans.add(("dns", general_name.value.rstrip(".").lower()))
        else:
            sans.add(("other", "%s:%s" % (type(general_name).__name__, general_name.value)))
    return sans


def san_covers(sans, wanted):
    """True when a certificate with ``sans`` is valid for ``wanted`` (wildcards match one label)."""
    if wanted in sans:
        return True
    if wanted[0] != "dns":
        return False
    labels = wanted[1].split(".")
    return len(labels) > 2 and ("dns", "*." + ".".join(labels[1:])) in sans


def _general_names(sans):
    names = []
    for kind, value in sort_sans(sans):
        names.append(x509.IPAddress(value) if kind == "ip" else x509.DNSName(value))
    return names


# --------------------------------------------------------------------------------------------
# Issuing


def build_ca(key, common_name, now, days):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def build_leaf(key, profile, common_name, sans, ca_cert, ca_key, now, days):
    """A member (``server``/``peer``) or ``client`` certificate signed by the CA."""
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if profile != "client":
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    end = min(now + datetime.timedelta(days=days), not_after(ca_cert))
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        # RFC 5280 4.2.1.6: with an empty subject the SAN extension must be critical.
        .add_extension(x509.SubjectAlternativeName(_general_names(sans)), critical=not common_name)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


class _CrlEntry:
    """One revoked serial: kept from the existing CRL (with its date and extensions) or new."""

    def __init__(self, serial, date, extensions=()):
        self.serial = serial
        self.date = date
        self.extensions = list(extensions)  # (value, critical)

    @classmethod
    def from_revoked(cls, revoked):
        return cls(
            revoked.serial_number,
            revocation_date(revoked),
            [(ext.value, ext.critical) for ext in revoked.extensions],
        )


def build_crl(ca_cert, ca_key, entries, number, now):
    """A CRL of ``entries`` signed by the CA, valid until the CA ends (etcd never fetches a newer
    one, and nothing the CA signs outlives it)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - BACKDATE)
        .next_update(not_after(ca_cert))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    for entry in sorted(entries, key=lambda e: e.serial):
        revoked = x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.date)
        for value, critical in entry.extensions:
            revoked = revoked.add_extension(value, critical)
        builder = builder.add_revoked_certificate(revoked.build())
    return builder.sign(ca_key, _signature_hash(ca_key))


def _profile_ok(cert, profile, common_name):
    ekus = _ekus(cert)
    wanted = {ExtendedKeyUsageOID.CLIENT_AUTH}
    if profile != "client":
        wanted.add(ExtendedKeyUsageOID.SERVER_AUTH)
    return ekus == wanted and _common_names(cert) == ([common_name] if common_name else []) and not _is_ca(cert)


# --------------------------------------------------------------------------------------------
# Input


def validate_name(name, where):
    if not is_valid_name(name):
        raise PkiError("%s %r is not a valid name: it must match %s" % (where, name, NAME_PATTERN))


def _normalize_clients(raw):
    clients = []
    for index, item in enumerate(raw or []):
        where = "clients[%d]" % index
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise PkiError("%s must be a client name or a dict with name, cert and key, not %r" % (where, item))
        unknown = sorted(set(item) - {"name", "cert", "key"})
        if unknown:
            raise PkiError("%s has unknown keys %s (allowed: name, cert, key)" % (where, ", ".join(unknown)))
        validate_name(item.get("name"), where + ".name")
        clients.append({"name": item["name"], "cert": item.get("cert"), "key": item.get("key")})
    return clients


def _abspath(path):
    return os.path.abspath(os.path.expanduser(path))


def _validate(params):
    if not params.get("path"):
        raise PkiError("path is required")
    for option in ("validity_days", "ca_validity_days"):
        if params[option] <= params["renew_before_days"]:
            raise PkiError(
                "%s (%s) must be greater than renew_before_days (%s), or every run would re-issue"
                % (option, params[option], params["renew_before_days"])
            )
    if params["renew_before_days"] < 0:
        raise PkiError("renew_before_days must not be negative, got %s" % params["renew_before_days"])
    if params["key_type"] not in ("ec", "rsa"):
        raise PkiError("key_type must be ec or rsa, got %r" % params["key_type"])
    if params["key_type"] == "rsa" and params["rsa_key_size"] < 2048:
        raise PkiError("rsa_key_size must be at least 2048, got %s" % params["rsa_key_size"])
    if not params.get("ca_common_name"):
        raise PkiError("ca_common_name must not be empty")

    base = _abspath(params["path"])
    state = params["state"]
    extra = [parse_san(value, "extra_sans[%d]" % i) for i, value in enumerate(params.get("extra_sans") or [])]

    members = []
    seen = {}
    for index, member in enumerate(params.get("members") or []):
        where = "members[%d]" % index
        name = member.get("name")
        validate_name(name, where + ".name")
        if name in seen:
            raise PkiError("member name %r appears twice (members[%d] and %s)" % (name, seen[name], where))
        seen[name] = index
        required = set()
        for option in ("addresses", "hostnames"):
            for i, value in enumerate(member.get(option) or []):
                required.add(parse_san(value, "%s.%s[%d] of member %s" % (where, option, i, name)))
        files = {}
        for option in _MEMBER_FILE_KEYS:
            if member.get(option) and state != "verified":
                raise PkiError("%s.%s (member %s) is only used with state=verified" % (where, option, name))
            files[option] = _abspath(member[option]) if member.get(option) else None
        default_names = {
            "cert": "%s.pem" % name,
            "key": "%s-key.pem" % name,
            "peer_cert": "%s-peer.pem" % name,
            "peer_key": "%s-peer-key.pem" % name,
        }
        for option, filename in default_names.items():
            if files[option] is None:
                files[option] = os.path.join(base, filename)
        try:
            name_san = parse_san(name, "%s.name" % where)
        except PkiError:
            # A valid member name that is not a valid host name (``a..b``, ``host-``) is still an
            # IA5 string that certificates can carry.
            name_san = ("dns", name.lower())
        wanted = set(required) | set(extra) | {name_san} | {parse_san(v, "loopback") for v in LOOPBACK_SANS}
        members.append({"name": name, "required": required, "wanted": wanted, "files": files})

    clients = []
    for client in _normalize_clients(params.get("clients")):
        name = client["name"]
        if (client["cert"] or client["key"]) and state != "verified":
            raise PkiError("clients entry %s: cert and key are only used with state=verified" % name)
        if name in seen:
            raise PkiError("client name %r is also a member name" % name)
        seen[name] = -1
        clients.append(
            {
                "name": name,
                "cert": _abspath(client["cert"]) if client["cert"] else os.path.join(base, "%s.pem" % name),
                "key": _abspath(client["key"]) if client["key"] else os.path.join(base, "%s-key.pem" % name),
                "wanted": {("dns", name.lower())},
            }
        )

    ca_cert = _abspath(params["ca_cert"]) if params.get("ca_cert") else os.path.join(base, "ca.pem")
    ca_key = _abspath(params["ca_key"]) if params.get("ca_key") else os.path.join(base, "ca-key.pem")
    crl = _abspath(params["crl"]) if params.get("crl") else os.path.join(base, CRL_FILE)
    revoke = _validate_revoke(params, base, seen, (ca_cert, ca_key, crl))

    if state == "present":
        owners = {}

        def claim(path, owner):
            if path in owners:
                raise PkiError("%s and %s would both be written to %s; rename one" % (owners[path], owner, path))
            owners[path] = owner

        claim(ca_cert, "the CA certificate")
        claim(ca_key, "the CA key")
        claim(crl, "the CRL")
        for member in members:
            for option, label in (
                ("cert", "server certificate"),
                ("key", "server key"),
                ("peer_cert", "peer certificate"),
                ("peer_key", "peer key"),
            ):
                claim(member["files"][option], "the %s of member %s" % (label, member["name"]))
        for client in clients:
            claim(client["cert"], "the certificate of client %s" % client["name"])
            claim(client["key"], "the key of client %s" % client["name"])

    return base, members, clients, ca_cert, ca_key, crl, revoke


def revoke_files(base, name):
    """The files a name may own in the PKI directory: (certificate, key) for the server or client
    pair and for the peer pair."""
    return (
        (os.path.join(base, "%s.pem" % name), os.path.join(base, "%s-key.pem" % name)),
        (os.path.join(base, "%s-peer.pem" % name), os.path.join(base, "%s-peer-key.pem" % name)),
    )


def _validate_revoke(params, base, seen, protected):
    """The names in ``revoke``, unique, in order; refused when also issued in this call or when
    their file names are the CA's or the CRL's."""
    names = []
    for index, name in enumerate(params.get("revoke") or []):
        where = "revoke[%d]" % index
        validate_name(name, where)
        if name in seen:
            kind = "members" if seen[name] >= 0 else "clients"
            raise PkiError(
                "%s %r is also in %s: revoke moves its certificates aside and %s would issue new ones in "
                "the same run. Revoke it in one run (with it no longer in %s) and list it in %s again in a "
                "later run when it comes back" % (where, name, kind, kind, kind, kind)
            )
        if params["state"] != "present":
            raise PkiError(
                "%s: revoke needs state=present (a PKI this module manages); with a PKI you provide, revoke "
                "with your own CA and put its CRL at %s" % (where, protected[2])
            )
        for cert_path, key_path in revoke_files(base, name):
            for path in (cert_path, key_path):
                if path in protected:
                    raise PkiError(
                        "%s %r would move %s, which is the %s, not a member or client certificate"
                        % (where, name, path, ("CA certificate", "CA key", "CRL")[protected.index(path)])
                    )
        if name not in names:
            names.append(name)
    return names


def _check_writable(paths, base):
    """Every directory that receives a file must exist (or be creatable) and be writable."""
    directories = sorted({os.path.dirname(path) for path in paths} | {base})
    for directory in directories:
        probe = directory
        while not os.path.exists(probe):
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            probe = parent
        if not os.path.isdir(probe):
            raise PkiError("cannot create the PKI directory %s: %s is not a directory" % (directory, probe))
        if not os.access(probe, os.W_OK | os.X_OK):
            if probe == directory:
                raise PkiError("the PKI directory %s is not writable by uid %d" % (directory, os.geteuid()))
            raise PkiError(
                "cannot create the PKI directory %s: %s is not writable by uid %d" % (directory, probe, os.geteuid())
            )


# --------------------------------------------------------------------------------------------
# state=present


class _Item:
    """One certificate/key pair to keep: what exists, what is wanted, and what must change."""

    def __init__(self, kind, owner, cert_path, key_path, common_name, sans):
        self.kind = kind  # ca | server | peer | client
        self.owner = owner
        self.cert_path = cert_path
        self.key_path = key_path
        self.common_name = common_name
        self.sans = sans
        self.cert = None
        self.key = None
        self.key_reason = None  # set when a new key is generated
        self.cert_reason = None  # set when the certificate is (re)issued
        self.fix_key_mode = None  # old mode when the key file is readable by others


def _load_existing(item):
    if os.path.exists(item.key_path):
        item.key = load_key(item.key_path, "%s key" % item.owner)
        mode = os.stat(item.key_path).st_mode & 0o777
        if mode & 0o077:
            item.fix_key_mode = mode
    if os.path.exists(item.cert_path):
        item.cert = load_certs(item.cert_path, "%s certificate" % item.owner)[0]


def _plan_leaf(item, params, ca, ca_replaced, now, renew_before):
    """Decide why (if at all) a member or client pair must be re-issued."""
    wanted_key = wanted_key_description(params)
    if item.key is None:
        item.key_reason = MISSING
    elif describe_key(item.key) != wanted_key:
        item.key_reason = KEY_TYPE_CHANGED
    elif item.cert is not None and not key_matches(item.cert, item.key):
        item.key_reason = KEY_MISMATCH

    if item.cert is None:
        item.cert_reason = MISSING
    elif item.key_reason == KEY_MISMATCH:
        item.cert_reason = KEY_MISMATCH
    elif item.key_reason is not None:
        item.cert_reason = NEW_KEY
    elif ca_replaced or not signed_by(item.cert, ca):
        item.cert_reason = CA_CHANGED
    elif cert_sans(item.cert) != item.sans:
        item.cert_reason = SANS_CHANGED
    elif not _profile_ok(item.cert, item.kind, item.common_name):
        item.cert_reason = PROFILE_CHANGED
    elif not_after(item.cert) <= now:
        item.cert_reason = EXPIRED
    elif not_after(item.cert) - now <= renew_before and not_after(item.cert) < not_after(ca):
        # Re-issuing cannot help when the certificate already ends with the CA.
        item.cert_reason = EXPIRING


def _ca_item(ca_cert, ca_key):
    return _Item("ca", "CA", ca_cert, ca_key, None, None)


def _leaf_items(members, clients):
    items = []
    for member in members:
        files = member["files"]
        for kind, cert_key, key_key in (("server", "cert", "key"), ("peer", "peer_cert", "peer_key")):
            owner = "member %s %s" % (member["name"], kind)
            items.append(_Item(kind, owner, files[cert_key], files[key_key], member["name"], member["wanted"]))
    for client in clients:
        items.append(
            _Item("client", "client %s" % client["name"], client["cert"], client["key"], None, client["wanted"])
        )
    return items


def plan_present(params, now=None):
    """Read and judge everything; raise PkiError on bad input. Returns the plan (nothing written)."""
    now = now or utcnow()
    base, members, clients, ca_cert_path, ca_key_path, crl_path, revoke = _validate(params)
    if os.path.exists(base) and not os.path.isdir(base):
        raise PkiError("the PKI path %s exists and is not a directory" % base)
    renew_before = datetime.timedelta(days=params["renew_before_days"])
    warnings = []

    ca = _ca_item(ca_cert_path, ca_key_path)
    cert_exists, key_exists = os.path.exists(ca_cert_path), os.path.exists(ca_key_path)
    if cert_exists:
        ca.cert = load_certs(ca_cert_path, "CA certificate")[0]
    if key_exists:
        ca.key = load_key(ca_key_path, "CA key")
        mode = os.stat(ca_key_path).st_mode & 0o777
        if mode & 0o077:
            ca.fix_key_mode = mode
    if cert_exists and not key_exists:
        ca_key_missing = True
    elif key_exists and not cert_exists:
        raise PkiError(
            "the CA key %s exists but its certificate %s is missing; restore %s, or move both away to "
            "create a new CA (every certificate is then re-issued)" % (ca_key_path, ca_cert_path, ca_cert_path)
        )
    else:
        ca_key_missing = False
    if not cert_exists and not key_exists:
        ca.key_reason = ca.cert_reason = MISSING
    else:
        if not _is_ca(ca.cert):
            raise PkiError("%s is not a CA certificate (basicConstraints CA:TRUE is missing)" % ca_cert_path)
        if ca.key is not None and not key_matches(ca.cert, ca.key):
            raise PkiError(
                "the CA key %s does not match the CA certificate %s; restore the matching pair "
                "(nothing was written)" % (ca_key_path, ca_cert_path)
            )
        expires = not_after(ca.cert)
        if expires <= now:
            raise PkiError(
                "the CA certificate %s expired on %s. etcd rejects every certificate it signed. To start over "
                "with a new CA, move %s and %s out of the way (keep a backup) and run again: every member and "
                "client certificate is then re-issued, and all members must be restarted with the new CA. "
                "Nothing was written." % (ca_cert_path, iso(expires), ca_cert_path, ca_key_path)
            )
        if expires - now <= renew_before:
            warnings.append(
                "the CA certificate %s expires on %s; certificates it signs end then too. Plan a CA rotation: "
                "move %s and %s away and run again to create a new CA and re-issue everything."
                % (ca_cert_path, iso(expires), ca_cert_path, ca_key_path)
            )

    existing_crl = None
    if os.path.exists(crl_path):
        try:
            existing_crl = load_crl(crl_path)
        except PkiError as exc:
            raise PkiError(
                "%s. Restore it from a backup, or move it away to start an empty CRL (the certificates it "
                "revoked are then accepted again until revoked anew). Nothing was written." % exc
            ) from exc
    listed = crl_serials(existing_crl) if existing_crl is not None else set()

    items = _leaf_items(members, clients)
    for item in items:
        _load_existing(item)
    for item in items:
        # A new CA means every existing certificate is signed by something else.
        _plan_leaf(item, params, ca.cert, ca.cert_reason is not None, now, renew_before)
        if item.cert is not None and item.cert.serial_number in listed:
            # A revoked pair put back (a restored backup): etcd refuses it, and its key was on a
            # host that left, so both are new.
            item.key_reason = item.key_reason or REVOKED
            item.cert_reason = REVOKED
        if item.cert_reason is None and not_after(item.cert) - now <= renew_before:
            warnings.append(
                "%s ends on %s together with the CA and cannot be renewed before the CA is rotated"
                % (item.cert_path, iso(not_after(item.cert)))
            )

    to_sign = [item for item in items if item.cert_reason]
    if ca_key_missing and to_sign:
        raise PkiError(
            "the CA key %s is missing, so %s cannot be issued (%s). Restore the CA key, or move %s away "
            "as well to create a new CA. Nothing was written."
            % (ca_key_path, to_sign[0].cert_path, to_sign[0].cert_reason, ca_cert_path)
        )

    # The current CA when it is kept; a new CA has signed nothing yet.
    kept_ca = None if ca.cert_reason else ca.cert
    revocations = _plan_revocations(revoke, base, kept_ca, items, now, warnings)
    crl = _plan_crl(crl_path, existing_crl, ca, revocations, os.path.join(base, REVOKED_DIR), now)
    if ca_key_missing and crl["reason"]:
        raise PkiError(
            "the CA key %s is missing, so the CRL %s cannot be signed (%s). Restore the CA key. Nothing was "
            "written." % (ca_key_path, crl_path, crl["reason"])
        )

    writes = []
    for item in [ca, *items]:
        if item.key_reason:
            writes.append(item.key_path)
        if item.cert_reason:
            writes.append(item.cert_path)
    if crl["reason"]:
        writes.append(crl_path)
    for revocation in revocations:
        writes.extend(move["moved_to"] for move in revocation["files"])
    if writes or not os.path.isdir(base):
        _check_writable(writes, base)

    return {
        "base": base,
        "ca": ca,
        "items": items,
        "members": members,
        "clients": clients,
        "crl": crl,
        "revocations": revocations,
        "warnings": warnings,
        "now": now,
    }


def _names(cert, name):
    """True when ``cert`` is ``name``'s: its common name (member pairs), or no common name and the
    DNS name ``name`` (client pairs)."""
    common_names = _common_names(cert)
    if common_names:
        return common_names == [name]
    return ("dns", name.lower()) in cert_sans(cert)


def _plan_revocations(names, base, ca_cert, items, now, warnings):
    """What revoking ``names`` means: per name the serials to list in the CRL and the files to move
    into ``revoked/``. Names without certificates are left out (nothing to do)."""
    in_use = {}
    for item in items:
        in_use[item.cert_path] = in_use[item.key_path] = item.owner
    revoked_dir = os.path.join(base, REVOKED_DIR)
    stamp = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    taken = set()
    plan = []

    def target(path):
        """``revoked/STAMP-FILE``, or ``revoked/STAMP.N-FILE`` when that exists already."""
        filename = os.path.basename(path)
        candidate = os.path.join(revoked_dir, "%s-%s" % (stamp, filename))
        number = 0
        while candidate in taken or os.path.lexists(candidate):
            number += 1
            candidate = os.path.join(revoked_dir, "%s.%d-%s" % (stamp, number, filename))
        taken.add(candidate)
        return candidate

    for name in names:
        files = []
        serials = []
        for cert_path, key_path in revoke_files(base, name):
            if not os.path.exists(cert_path):
                continue
            cert = load_certs(cert_path, "certificate of %s (to revoke)" % name)[0]
            if not _names(cert, name):
                warnings.append(
                    "revoke %s: %s is not a certificate of %s (subject %r, names %s); it was left in place"
                    % (
                        name,
                        cert_path,
                        name,
                        cert.subject.rfc4514_string(),
                        ", ".join(sorted(san_text(s) for s in cert_sans(cert))) or "none",
                    )
                )
                continue
            for path in (cert_path, key_path):
                if path in in_use:
                    raise PkiError(
                        "revoke %s would move %s, which is the file of %s in this run; rename one of them. "
                        "Nothing was written." % (name, path, in_use[path])
                    )
            serial = None
            if ca_cert is not None and signed_by(cert, ca_cert):
                serial = cert.serial_number
                serials.append(serial)
            else:
                warnings.append(
                    "revoke %s: %s is not signed by the current CA, which the members trust alone; it is moved "
                    "aside without a CRL entry" % (name, cert_path)
                )
            files.append({"file": cert_path, "moved_to": target(cert_path), "key": False, "serial": serial})
            if os.path.exists(key_path):
                files.append({"file": key_path, "moved_to": target(key_path), "key": True, "serial": None})
        if files:
            plan.append({"name": name, "serials": serials, "files": files})
    return plan


def _expired_revoked_serials(revoked_dir, now):
    """Serials of the certificates in ``revoked/`` that have expired: their CRL entries can go."""
    serials = set()
    try:
        filenames = os.listdir(revoked_dir)
    except OSError:
        return serials
    for filename in filenames:
        path = os.path.join(revoked_dir, filename)
        if filename.endswith("-key.pem") or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            blocks = _PEM_CERT_RE.findall(data)
            cert = x509.load_pem_x509_certificate(blocks[0]) if blocks else None
        except (OSError, ValueError):
            continue
        if cert is not None and not_after(cert) <= now:
            serials.add(cert.serial_number)
    return serials


def _plan_crl(crl_path, existing, ca, revocations, revoked_dir, now):
    """Whether (and why) ``crl.pem`` is signed again, and the entries it then holds."""
    listed = crl_serials(existing) if existing is not None else set()
    new = []
    for revocation in revocations:
        for serial in revocation["serials"]:
            if serial not in listed and serial not in new:
                new.append(serial)
    if existing is None:
        reason = MISSING
    elif ca.cert_reason or not crl_signed_by(existing, ca.cert):
        # Entries are kept: until every member trusts the new CA alone, the old one's revoked
        # certificates must stay refused.
        reason = CA_CHANGED
    elif crl_next_update(existing) != not_after(ca.cert):
        reason = NEXT_UPDATE_CHANGED
    elif new:
        reason = REVOKED
    else:
        reason = None

    entries = None
    dropped = []
    if reason:
        entries = [_CrlEntry.from_revoked(revoked) for revoked in existing] if existing is not None else []
        expired = _expired_revoked_serials(revoked_dir, now)
        dropped = sorted(entry.serial for entry in entries if entry.serial in expired)
        entries = [entry for entry in entries if entry.serial not in expired]
        why = [(x509.CRLReason(x509.ReasonFlags.cessation_of_operation), False)]
        entries.extend(_CrlEntry(serial, now, why) for serial in new)
        after = {entry.serial for entry in entries}
    else:
        after = listed
    return {
        "path": crl_path,
        "existing": existing,
        "reason": reason,
        "entries": entries,
        "before": sorted(listed),
        "after": sorted(after),
        "dropped": dropped,
        "number": (crl_number(existing) if existing is not None else 0) + 1,
    }


def apply_plan(plan, params, check_mode=False):
    """Issue what the plan says (unless check mode) and build the module result."""
    now = plan["now"]
    ca = plan["ca"]
    items = plan["items"]
    base = plan["base"]
    issued = []
    modes_fixed = []

    for item in [ca, *items]:
        if item.key_reason:
            issued.append({"file": item.key_path, "reason": item.key_reason})
        if item.cert_reason:
            issued.append({"file": item.cert_path, "reason": item.cert_reason})
        if item.fix_key_mode is not None and not item.key_reason:
            modes_fixed.append({"file": item.key_path, "mode_was": "%04o" % item.fix_key_mode, "mode": "0600"})

    crl = plan["crl"]
    revocations = plan["revocations"]
    created_dir = not os.path.isdir(base)
    changed = bool(issued or modes_fixed or created_dir or crl["reason"] or revocations)

    if not check_mode:
        # Everything is generated in memory first, so a signing error writes nothing.
        if ca.key_reason:
            ca.key = generate_key(params)
        if ca.cert_reason:
            ca.cert = build_ca(ca.key, params["ca_common_name"], now, params["ca_validity_days"])
        for item in items:
            if item.key_reason:
                item.key = generate_key(params)
            if item.cert_reason:
                item.cert = build_leaf(
                    item.key,
                    item.kind,
                    item.common_name,
                    item.sans,
                    ca.cert,
                    ca.key,
                    now,
                    params["validity_days"],
                )
        new_crl = None
        if crl["reason"]:
            new_crl = build_crl(ca.cert, ca.key, crl["entries"], crl["number"], now)
        if created_dir:
            os.makedirs(base, mode=DIR_MODE, exist_ok=True)

        def write_item(item):
            for path, needed in ((item.key_path, item.key_reason), (item.cert_path, item.cert_reason)):
                if needed and not os.path.isdir(os.path.dirname(path)):
                    os.makedirs(os.path.dirname(path), mode=DIR_MODE, exist_ok=True)
            if item.key_reason:
                write_file_atomically(item.key_path, key_pem(item.key), KEY_MODE)
            elif item.fix_key_mode is not None:
                os.chmod(item.key_path, KEY_MODE)
            if item.cert_reason:
                write_file_atomically(item.cert_path, cert_pem(item.cert), CERT_MODE)

        # Order matters: the CA before the CRL it signs, and the CRL listing a revoked serial
        # before that certificate is moved aside (a crash in between leaves the files for the next
        # run; never a moved certificate that the CRL does not list).
        write_item(ca)
        if new_crl is not None:
            if not os.path.isdir(os.path.dirname(crl["path"])):
                os.makedirs(os.path.dirname(crl["path"]), mode=DIR_MODE, exist_ok=True)
            write_file_atomically(crl["path"], crl_pem(new_crl), CRL_MODE)
        _move_revoked(revocations)
        for item in items:
            write_item(item)

    def fresh(item):
        return not check_mode or not item.cert_reason

    if crl["reason"]:
        next_update = iso(not_after(ca.cert)) if fresh(ca) else None
    else:
        next_update = iso(crl_next_update(crl["existing"]))
    result = {
        "changed": changed,
        "issued": issued,
        "modes_fixed": modes_fixed,
        "ca": {
            "path": ca.cert_path,
            "not_after": iso(not_after(ca.cert)) if fresh(ca) else None,
            "fingerprint": fingerprint(ca.cert) if fresh(ca) else None,
        },
        "crl": {
            "path": crl["path"],
            "changed": bool(crl["reason"]),
            "reason": crl["reason"],
            "revoked_serials": [serial_hex(serial) for serial in crl["after"]],
            "dropped_serials": [serial_hex(serial) for serial in crl["dropped"]],
            "next_update": next_update,
        },
        "revoked": [
            {
                "name": revocation["name"],
                "serials": [serial_hex(serial) for serial in revocation["serials"]],
                "files": [{"file": move["file"], "moved_to": move["moved_to"]} for move in revocation["files"]],
            }
            for revocation in revocations
        ],
        "certificates": {},
        "clients": {},
        "warnings": plan["warnings"],
        "diff": _diff(crl, revocations),
    }
    index = 0
    for member in plan["members"]:
        server, peer = items[index], items[index + 1]
        index += 2
        ends = [not_after(i.cert) for i in (server, peer) if fresh(i)]
        result["certificates"][member["name"]] = {
            "cert": server.cert_path,
            "key": server.key_path,
            "peer_cert": peer.cert_path,
            "peer_key": peer.key_path,
            "not_after": iso(min(ends)) if len(ends) == 2 else None,
            "sans": [san_text(s) for s in sort_sans(member["wanted"])],
        }
    for client in plan["clients"]:
        item = items[index]
        index += 1
        result["clients"][client["name"]] = {
            "cert": item.cert_path,
            "key": item.key_path,
            "not_after": iso(not_after(item.cert)) if fresh(item) else None,
        }
    return result


def _move_revoked(revocations):
    """Move the files of revoked names into ``revoked/`` (0700), keys ending up 0600."""
    directories = set()
    for revocation in revocations:
        for move in revocation["files"]:
            directory = os.path.dirname(move["moved_to"])
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
            os.rename(move["file"], move["moved_to"])
            if move["key"]:
                os.chmod(move["moved_to"], KEY_MODE)
            directories.update((directory, os.path.dirname(move["file"])))
    for directory in sorted(directories):
        fsync_directory(directory)


def _diff(crl, revocations):
    """Ansible diffs: the CRL's serials, and where the files of revoked names go. No key material."""
    diffs = []
    if crl["reason"]:
        diffs.append(
            {
                "before_header": "%s (revoked serials)" % crl["path"] if crl["existing"] is not None else "(no CRL)",
                "after_header": "%s (revoked serials)" % crl["path"],
                "before": "".join("%s\n" % serial_hex(s) for s in crl["before"]),
                "after": "".join("%s\n" % serial_hex(s) for s in crl["after"]),
            }
        )
    moves = [move for revocation in revocations for move in revocation["files"]]
    if moves:
        diffs.append(
            {
                "before_header": "revoked files",
                "after_header": "revoked files",
                "before": "".join("%s\n" % move["file"] for move in moves),
                "after": "".join("%s\n" % move["moved_to"] for move in moves),
            }
        )
    return diffs


# --------------------------------------------------------------------------------------------
# state=verified


def verify(params, now=None):
    """Check operator-provided files; never writes. Raises PkiError listing every problem."""
    now = now or utcnow()
    _base, members, clients, ca_cert_path, _ca_key_path, crl_path, _revoke = _validate(params)
    problems = []
    warnings = []
    result = {
        "changed": False,
        "issued": [],
        "modes_fixed": [],
        "ca": {"path": ca_cert_path, "not_after": None, "fingerprint": None},
        "crl": {
            "path": None,
            "changed": False,
            "reason": None,
            "revoked_serials": [],
            "dropped_serials": [],
            "next_update": None,
        },
        "revoked": [],
        "certificates": {},
        "clients": {},
        "warnings": warnings,
        "diff": [],
    }

    cas = []
    try:
        cas = load_certs(ca_cert_path, "CA certificate")
    except PkiError as exc:
        problems.append(str(exc))
    for ca in cas:
        if not_after(ca) <= now:
            problems.append("the CA certificate %s expired on %s" % (ca_cert_path, iso(not_after(ca))))
        elif not_before(ca) > now:
            problems.append("the CA certificate %s is not valid before %s" % (ca_cert_path, iso(not_before(ca))))
        if not _is_ca(ca):
            problems.append("%s is not a CA certificate (basicConstraints CA:TRUE is missing)" % ca_cert_path)
    if cas:
        result["ca"]["not_after"] = iso(not_after(cas[0]))
        result["ca"]["fingerprint"] = fingerprint(cas[0])

    # The operator's CRL is optional; one that is there must be the CA's, as etcd would refuse
    # every connection over a file it cannot parse.
    revoked_serials = set()
    if params.get("crl") or os.path.exists(crl_path):
        crl = None
        try:
            crl = load_crl(crl_path)
        except PkiError as exc:
            problems.append(str(exc))
        if crl is not None:
            if cas and not any(crl_signed_by(crl, ca) for ca in cas):
                problems.append(
                    "the CRL %s is not signed by the CA in %s (issuer %s)"
                    % (crl_path, ca_cert_path, crl.issuer.rfc4514_string())
                )
            next_update = crl_next_update(crl)
            if next_update is not None and next_update <= now:
                warnings.append(
                    "the CRL %s was due for an update on %s; etcd ignores that date, other TLS tools may refuse "
                    "the CRL" % (crl_path, iso(next_update))
                )
            revoked_serials = crl_serials(crl)
            result["crl"].update(
                path=crl_path,
                revoked_serials=[serial_hex(serial) for serial in sorted(revoked_serials)],
                next_update=iso(next_update) if next_update is not None else None,
            )

    def check_pair(cert_path, key_path, what, wanted_ekus, required_sans):
        """Problems of one pair are appended; returns the certificate when it could be read."""
        cert = key = None
        try:
            cert = load_certs(cert_path, "%s certificate" % what)[0]
        except PkiError as exc:
            problems.append(str(exc))
        try:
            key = load_key(key_path, "%s key" % what)
        except PkiError as exc:
            problems.append(str(exc))
        if cert is None:
            return None
        if key is not None and not key_matches(cert, key):
            problems.append("%s: the certificate does not match its key %s" % (cert_path, key_path))
        if cert.serial_number in revoked_serials:
            problems.append(
                "%s is revoked in the CRL %s (serial %s): etcd refuses it"
                % (cert_path, crl_path, serial_hex(cert.serial_number))
            )
        if cas and not any(signed_by(cert, ca) for ca in cas):
            problems.append(
                "%s is not signed by the CA in %s (issuer %s)" % (cert_path, ca_cert_path, cert.issuer.rfc4514_string())
            )
        if not_after(cert) <= now:
            problems.append("%s expired on %s" % (cert_path, iso(not_after(cert))))
        elif not_before(cert) > now:
            problems.append("%s is not valid before %s" % (cert_path, iso(not_before(cert))))
        elif not_after(cert) - now <= datetime.timedelta(days=params["renew_before_days"]):
            warnings.append("%s expires on %s; renew it" % (cert_path, iso(not_after(cert))))
        ekus = _ekus(cert)
        if ekus is not None and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus:
            missing = [label for oid, label in wanted_ekus if oid not in ekus]
            if missing:
                problems.append("%s lacks the extended key usage %s" % (cert_path, " and ".join(missing)))
        sans = cert_sans(cert)
        uncovered = [san_text(s) for s in sort_sans(required_sans) if not san_covers(sans, s)]
        if uncovered:
            problems.append("%s does not cover %s in its subject alternative names" % (cert_path, ", ".join(uncovered)))
        return cert

    server_auth = (ExtendedKeyUsageOID.SERVER_AUTH, "serverAuth")
    client_auth = (ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth (needed by the gateway's self-dial)")
    peer_client_auth = (ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth")
    loopback = parse_san("127.0.0.1", "loopback")
    for member in members:
        files = member["files"]
        name = member["name"]
        server = check_pair(
            files["cert"], files["key"], "member %s server" % name, (server_auth, client_auth), member["required"]
        )
        peer = check_pair(
            files["peer_cert"],
            files["peer_key"],
            "member %s peer" % name,
            (server_auth, peer_client_auth),
            member["required"],
        )
        if server is not None and not san_covers(cert_sans(server), loopback):
            warnings.append(
                "%s has no IP SAN 127.0.0.1: clients on the member must connect to one of its addresses" % files["cert"]
            )
        ends = [not_after(c) for c in (server, peer) if c is not None]
        result["certificates"][name] = {
            "cert": files["cert"],
            "key": files["key"],
            "peer_cert": files["peer_cert"],
            "peer_key": files["peer_key"],
            "not_after": iso(min(ends)) if ends else None,
            "sans": [san_text(s) for s in sort_sans(cert_sans(server))] if server is not None else [],
        }
    for client in clients:
        cert = check_pair(
            client["cert"],
            client["key"],
            "client %s" % client["name"],
            ((ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth"),),
            set(),
        )
        if cert is not None and _common_names(cert):
            warnings.append(
                "%s has a common name; etcd's HTTP/JSON gateway rejects such client certificates (HTTP 400) "
                "once RBAC auth is enabled" % client["cert"]
            )
        result["clients"][client["name"]] = {
            "cert": client["cert"],
            "key": client["key"],
            "not_after": iso(not_after(cert)) if cert is not None else None,
        }

    if problems:
        raise PkiError(
            "%d problem(s) in the provided PKI: %s" % (len(problems), "; ".join(problems)), problems=problems
        )
    return result


def run(params, check_mode=False, now=None):
    """The whole module: returns the result dict or raises PkiError (nothing written then)."""
    if params["state"] == "verified":
        return verify(params, now=now)
    plan = plan_present(params, now=now)
    return apply_plan(plan, params, check_mode=check_mode)
