# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Keys, certificates, CRLs and SANs for ``raftops.etcd.etcd_pki``, on top of ``cryptography``.

Everything that touches ``cryptography`` is here, so that the rest of the PKI code imports even
where the library is missing and the module can say so (``HAS_CRYPTOGRAPHY``).

Profiles (what etcd needs):

* CA: ``CA:TRUE, pathlen:0``, keyCertSign + cRLSign.
* member server certificate ``NAME.pem``: serverAuth **and** clientAuth, because the HTTP/JSON
  gateway dials its own gRPC port presenting the server certificate as a client certificate.
* member peer certificate ``NAME-peer.pem``: serverAuth + clientAuth (peers dial each other).
* client certificate ``CLIENT.pem``: clientAuth only and an **empty subject** (no CN) with a
  critical SAN ``DNS:CLIENT``; etcd's gateway answers HTTP 400 to a client certificate with a CN
  when RBAC auth is enabled.
"""

import datetime
import ipaddress
import re

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module through missing_required_lib()
    CRYPTOGRAPHY_IMPORT_ERROR = exc
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY_IMPORT_ERROR is None

# Certificates start a little in the past so that a member whose clock lags the controller's
# still accepts them.
BACKDATE = datetime.timedelta(minutes=5)


class PkiError(Exception):
    """Bad input or a PKI that cannot be used; the message names the file or value at fault."""

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = list(problems or [])


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


def common_names(cert):
    return [attr.value for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def missing_ekus(cert, wanted):
    """The labels of ``wanted`` ((usage, label) pairs, usage ``serverAuth`` or ``clientAuth``) that
    the certificate's extended key usage lacks; none when it has no such extension or allows any."""
    ekus = _ekus(cert)
    if ekus is None or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in ekus:
        return []
    oids = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH, "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}
    return [label for usage, label in wanted if oids[usage] not in ekus]


def _ekus(cert):
    value = _extension(cert, x509.ExtendedKeyUsage)
    return None if value is None else set(value)


def is_ca(cert):
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

# A DNS SAN: labels of letters, digits, '-' and '_', optionally a leading '*.' wildcard.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_DNS_RE = re.compile(r"^(?:\*\.)?%s(?:\.%s)*\.?$" % (_LABEL, _LABEL))


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


class CrlEntry:
    """One revoked serial: kept from the existing CRL (with its date and extensions) or new."""

    def __init__(self, serial, date, extensions=()):
        self.serial = serial
        self.date = date
        self.extensions = list(extensions)  # (value, critical)

    @classmethod
    def retired(cls, serial, now):
        """A new entry: the certificate's owner left the cluster (reason cessationOfOperation)."""
        return cls(serial, now, [(x509.CRLReason(x509.ReasonFlags.cessation_of_operation), False)])

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


def profile_ok(cert, profile, common_name):
    ekus = _ekus(cert)
    wanted = {ExtendedKeyUsageOID.CLIENT_AUTH}
    if profile != "client":
        wanted.add(ExtendedKeyUsageOID.SERVER_AUTH)
    return ekus == wanted and common_names(cert) == ([common_name] if common_name else []) and not is_ca(cert)
