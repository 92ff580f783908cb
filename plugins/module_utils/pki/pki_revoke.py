# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Revocation for ``raftops.etcd.etcd_pki``: the CRL and the certificates of removed names.

``crl.pem`` is a CRL signed by the CA, always present in a managed PKI (empty at first),
``nextUpdate`` at the CA's end because etcd never fetches a new one. etcd
(``--client-crl-file``/``--peer-crl-file``, ``checkCRL`` in its pkg/transport) reads the file on
every new TLS connection and compares serial numbers only: it checks neither the CRL's signature
nor its dates, and refuses every connection when the file cannot be parsed. So the file is always
written whole (atomically), and a name in ``revoke`` has its certificates' serials added to the
CRL *before* its files are moved into ``revoked/``: a crash in between leaves the files in place
for the next run, never a moved certificate missing from the CRL.
"""

import datetime
import os

from ansible_collections.raftops.etcd.plugins.module_utils.host.files import fsync_directory
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import (
    APPLICATIONS_DIR,
    CA_CHANGED,
    DIR_MODE,
    KEY_MODE,
    KEY_SUFFIX,
    MISSING,
    NEXT_UPDATE_CHANGED,
    REVOKED,
    REVOKED_DIR,
    application_paths,
    revoke_files,
)
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import (
    CrlEntry,
    PkiError,
    cert_sans,
    common_names,
    crl_next_update,
    crl_number,
    crl_serials,
    crl_signed_by,
    load_certs,
    not_after,
    san_text,
    serial_hex,
    signed_by,
)


def _belongs_to(cert, label):
    """True when ``cert`` is the pair ``label``'s: its common name (member pairs), or the DNS name
    ``label`` (client pairs, whose common name, if any, is their etcd user: a host's NAME-root)."""
    return common_names(cert) == [label] or ("dns", label.lower()) in cert_sans(cert)


def name_targets(base, names):
    """The names of ``revoke``: their server (or client) and peer pairs and the host's own client
    pairs in the PKI directory (``revoke_files``), each certificate revoked only when it is the
    pair's (``_belongs_to``)."""
    return [{"name": name, "pairs": revoke_files(base, name), "owned": False} for name in names]


def unlisted_applications(base, applications):
    """The applications that have files in ``clients/`` but are not in ``applications`` (the wanted
    ones), as revocation targets. That directory holds nothing but the applications' pairs, so what
    is there is revoked whatever it names, and a key left without its certificate goes too."""
    directory = os.path.join(base, APPLICATIONS_DIR)
    try:
        filenames = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise PkiError("cannot read the applications' directory %s: %s" % (directory, exc.strerror or exc)) from exc
    wanted = {application["name"] for application in applications}
    names = []
    for filename in filenames:
        if not filename.endswith(".pem") or not os.path.isfile(os.path.join(directory, filename)):
            continue
        name = filename[: -len(KEY_SUFFIX)] if filename.endswith(KEY_SUFFIX) else filename[: -len(".pem")]
        if name not in wanted and name not in names:
            names.append(name)
    return [{"name": name, "pairs": [(*application_paths(base, name), name)], "owned": True} for name in names]


class _RevokedPaths:
    """Where files go in ``revoked/``: ``STAMP-FILE``, or ``STAMP.N-FILE`` when that is taken. FILE is
    the path below the PKI directory with ``/`` as ``-`` (``clients/web.pem``: ``clients-web.pem``)."""

    def __init__(self, base, now):
        self.base = base
        self.directory = os.path.join(base, REVOKED_DIR)
        self.stamp = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.taken = set()

    def target(self, path):
        filename = os.path.relpath(path, self.base).replace(os.sep, "-")
        candidate = os.path.join(self.directory, "%s-%s" % (self.stamp, filename))
        number = 0
        while candidate in self.taken or os.path.lexists(candidate):
            number += 1
            candidate = os.path.join(self.directory, "%s.%d-%s" % (self.stamp, number, filename))
        self.taken.add(candidate)
        return candidate


def _load_to_revoke(cert_path, name, owned, warnings):
    """The certificate to revoke; None (with a warning) for a file in the applications' directory
    that holds none, which is then only moved aside."""
    try:
        return load_certs(cert_path, "certificate of %s (to revoke)" % name)[0]
    except PkiError as exc:
        if not owned:
            raise
        warnings.append("revoke %s: %s; it is moved aside without a CRL entry" % (name, exc))
        return None


def plan_revocations(targets, base, ca_cert, items, now, warnings, applications=()):
    """What revoking ``targets`` (``name_targets``, ``unlisted_applications``) means: per name the
    serials to list in the CRL and the files to move into ``revoked/``. Names without files to move
    are left out (nothing to do). Then the ``applications`` kept whose user changed
    (``_superseded``)."""
    in_use = {}
    for item in items:
        in_use[item.cert_path] = in_use[item.key_path] = item.owner
    paths = _RevokedPaths(base, now)
    plan = []
    # A file two names may own (a proxy NAME's NAME-client.pem and a proxy named NAME-client's own
    # certificate) is revoked once.
    planned = set()

    def refuse_in_use(name, path):
        if path in in_use:
            raise PkiError(
                "revoke %s would move %s, which is the file of %s in this run; rename one of them. "
                "Nothing was written." % (name, path, in_use[path])
            )

    for entry in targets:
        name, owned = entry["name"], entry["owned"]
        files = []
        serials = []
        for cert_path, key_path, label in entry["pairs"]:
            if cert_path in planned:
                continue
            if not os.path.exists(cert_path):
                # A key whose certificate was moved by a run that stopped half-way. Only in the
                # applications' directory is a lone key surely the name's.
                if owned and os.path.exists(key_path):
                    refuse_in_use(name, key_path)
                    files.append({"file": key_path, "moved_to": paths.target(key_path), "key": True, "serial": None})
                continue
            cert = _load_to_revoke(cert_path, name, owned, warnings)
            if cert is not None and not owned and not _belongs_to(cert, label):
                warnings.append(
                    "revoke %s: %s is not a certificate of %s (subject %r, names %s); it was left in place"
                    % (
                        name,
                        cert_path,
                        label,
                        cert.subject.rfc4514_string(),
                        ", ".join(sorted(san_text(s) for s in cert_sans(cert))) or "none",
                    )
                )
                continue
            for path in (cert_path, key_path):
                refuse_in_use(name, path)
            serial = None
            if cert is not None and ca_cert is not None and signed_by(cert, ca_cert):
                serial = cert.serial_number
                serials.append(serial)
            elif cert is not None:
                warnings.append(
                    "revoke %s: %s is not signed by the current CA, which the members trust alone; it is moved "
                    "aside without a CRL entry" % (name, cert_path)
                )
            files.append({"file": cert_path, "moved_to": paths.target(cert_path), "key": False, "serial": serial})
            planned.add(cert_path)
            if os.path.exists(key_path):
                files.append({"file": key_path, "moved_to": paths.target(key_path), "key": True, "serial": None})
        if files:
            plan.append({"name": name, "serials": serials, "files": files})
    return plan + _superseded(applications, items, ca_cert, paths)


def _superseded(applications, items, ca_cert, paths):
    """Applications whose user changed: the certificate that names the previous user is revoked and
    moved aside before the new one is written (the key stays), or its holder would keep that user
    until it expires. One the current CA did not sign is trusted by no member: it is just replaced."""
    plan = []
    certs = {item.cert_path: item.cert for item in items}
    for application in applications:
        cert = certs[application["cert"]]
        if cert is None or common_names(cert) == [application["user"]]:
            continue
        if ca_cert is None or not signed_by(cert, ca_cert):
            continue
        move = {"file": application["cert"], "moved_to": paths.target(application["cert"]), "key": False,
                "serial": cert.serial_number}
        plan.append({"name": application["name"], "serials": [cert.serial_number], "files": [move]})
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
            cert = load_certs(path, "revoked certificate")[0]
        except PkiError:
            continue
        if not_after(cert) <= now:
            serials.add(cert.serial_number)
    return serials


def plan_crl(crl_path, existing, ca, revocations, revoked_dir, now):
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
        entries = [CrlEntry.from_revoked(revoked) for revoked in existing] if existing is not None else []
        expired = _expired_revoked_serials(revoked_dir, now)
        dropped = sorted(entry.serial for entry in entries if entry.serial in expired)
        entries = [entry for entry in entries if entry.serial not in expired]
        entries.extend(CrlEntry.retired(serial, now) for serial in new)
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


def move_revoked(revocations):
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


def revocation_diff(crl, revocations):
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
