# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""``state=verified`` of ``raftops.etcd.etcd_pki``: check a PKI the operator provides; never writes."""

import datetime
import os

from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import PEER_IDENTITY, validate_params
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import (
    PkiError,
    cert_sans,
    common_names,
    crl_next_update,
    crl_serials,
    crl_signed_by,
    fingerprint,
    is_ca,
    iso,
    key_matches,
    load_certs,
    load_crl,
    load_key,
    missing_ekus,
    not_after,
    not_before,
    parse_san,
    san_covers,
    san_text,
    serial_hex,
    signed_by,
    sort_sans,
    utcnow,
)


def verify(params, now=None):
    """Check operator-provided files; never writes. Raises PkiError listing every problem."""
    now = now or utcnow()
    _base, members, clients, ca_cert_path, _ca_key_path, crl_path, _revoke, _applications = validate_params(params)
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
        if not is_ca(ca):
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
        missing = missing_ekus(cert, wanted_ekus)
        if missing:
            problems.append("%s lacks the extended key usage %s" % (cert_path, " and ".join(missing)))
        sans = cert_sans(cert)
        uncovered = [san_text(s) for s in sort_sans(required_sans) if not san_covers(sans, s)]
        if uncovered:
            problems.append("%s does not cover %s in its subject alternative names" % (cert_path, ", ".join(uncovered)))
        return cert

    server_auth = ("serverAuth", "serverAuth")
    client_auth = ("clientAuth", "clientAuth (needed by the gateway's self-dial)")
    peer_client_auth = ("clientAuth", "clientAuth")
    loopback = parse_san("127.0.0.1", "loopback")
    # The members ask for the peer name only when every peer certificate provided carries it.
    peers_named = bool(members)
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
        peers_named = peers_named and peer is not None and ("dns", PEER_IDENTITY) in cert_sans(peer)
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
            (peer_client_auth,),
            set(),
        )
        if cert is not None and client["user"] is not None:
            if common_names(cert) != [client["user"]]:
                problems.append("%s has the common name %s, not %s: etcd takes the common name for the user"
                                % (client["cert"], ", ".join(common_names(cert)) or "(none)", client["user"]))
        elif cert is not None and common_names(cert):
            warnings.append(
                "%s has a common name; etcd's HTTP/JSON gateway rejects such client certificates (HTTP 400) "
                "once RBAC auth is enabled" % client["cert"]
            )
        result["clients"][client["name"]] = {
            "cert": client["cert"],
            "key": client["key"],
            "not_after": iso(not_after(cert)) if cert is not None else None,
        }

    result["peer_identity"] = PEER_IDENTITY if peers_named else None
    if problems:
        raise PkiError(
            "%d problem(s) in the provided PKI: %s" % (len(problems), "; ".join(problems)), problems=problems
        )
    return result
