# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""``state=present`` of ``raftops.etcd.etcd_pki``: a small CA and etcd's member and client certificates.

The work is split in two phases so that bad input never leaves half a PKI behind:

1. ``plan_present``: read every existing file, validate the input and decide, per file, whether it
   must be (re)issued and why. Any problem raises PkiError before anything is written.
2. ``apply_plan``: generate keys and sign certificates in memory, then write each file atomically
   (``etcd_files``), keys with mode 0600 from their creation.
"""

import datetime
import os

from ansible_collections.raftops.etcd.plugins.module_utils.host.files import read_text, write_file_atomically
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import (
    CA_CHANGED,
    CERT_MODE,
    CRL_MODE,
    DIR_MODE,
    EXPIRED,
    EXPIRING,
    KEY_MISMATCH,
    KEY_MODE,
    KEY_TYPE_CHANGED,
    MISSING,
    NEW_KEY,
    PEER_IDENTITY,
    PROFILE_CHANGED,
    REVOKED,
    REVOKED_DIR,
    SANS_CHANGED,
    check_writable,
    validate_params,
)
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_plan import running_members_refusal
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_revoke import (
    move_revoked,
    name_targets,
    plan_crl,
    plan_revocations,
    revocation_diff,
    unlisted_applications,
)
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_rotation import (
    NONE,
    accepted_checksums,
    apply_rotation,
    plan_rotation,
    rotation_changes,
    rotation_result,
    rotation_writes,
    trusted_path,
)
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_verified import verify
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import (
    PkiError,
    build_ca,
    build_crl,
    build_leaf,
    cert_pem,
    cert_sans,
    crl_next_update,
    crl_pem,
    crl_serials,
    describe_key,
    fingerprint,
    generate_key,
    is_ca,
    iso,
    key_matches,
    key_pem,
    load_certs,
    load_crl,
    load_key,
    not_after,
    profile_ok,
    san_text,
    serial_hex,
    signed_by,
    sort_sans,
    utcnow,
    wanted_key_description,
)


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
    elif not profile_ok(item.cert, item.kind, item.common_name):
        item.cert_reason = PROFILE_CHANGED
    elif not_after(item.cert) <= now:
        item.cert_reason = EXPIRED
    elif not_after(item.cert) - now <= renew_before and not_after(item.cert) < not_after(ca):
        # Re-issuing cannot help when the certificate already ends with the CA.
        item.cert_reason = EXPIRING


def _keep_member_pair(item, old_ca, ca_cert_path):
    """A member's pair of a CA whose key is not here, kept until the rotation's phase 2 re-issues it."""
    if item.cert is None or item.key is None:
        problem = "is missing"
    elif not key_matches(item.cert, item.key):
        problem = "does not match its key"
    elif not signed_by(item.cert, old_ca):
        problem = "is not signed by the CA %s" % ca_cert_path
    else:
        return
    raise PkiError(
        "%s %s (%s): the key of the CA %s is not in the PKI directory, so the member keeps a pair of that CA "
        "until phase 2 of its rotation re-issues it; put the member's own pair there (the adopt playbook copies "
        "it from the member). Nothing was written." % (item.owner, problem, item.cert_path, ca_cert_path))


def _new_ca(params, now):
    """A rotation's new CA: (key, certificate). Another common name than the old CA's: clients pick
    the issuer by name."""
    key = generate_key(params)
    name = "%s %s" % (params["ca_common_name"], now.strftime("%Y%m%dT%H%M%SZ"))
    return key, build_ca(key, name, now, params["ca_validity_days"])


def _ca_item(ca_cert, ca_key):
    return _Item("ca", "CA", ca_cert, ca_key, None, None)


def _leaf_items(members, clients, applications):
    items = []
    for member in members:
        files = member["files"]
        for kind, cert_key, key_key, sans in (("server", "cert", "key", member["wanted"]),
                                              ("peer", "peer_cert", "peer_key", member["peer_wanted"])):
            owner = "member %s %s" % (member["name"], kind)
            items.append(_Item(kind, owner, files[cert_key], files[key_key], member["name"], sans))
    for client in clients:
        items.append(
            _Item("client", "client %s" % client["name"], client["cert"], client["key"], client["user"],
                  client["wanted"])
        )
    # An application's pair is a client pair whose common name is its etcd user: etcd takes the
    # user from it on its gRPC port.
    for application in applications:
        items.append(
            _Item("client", "application %s" % application["name"], application["cert"], application["key"],
                  application["user"], application["wanted"])
        )
    return items


def plan_present(params, now=None):
    """Read and judge everything; raise PkiError on bad input. Returns the plan (nothing written)."""
    now = now or utcnow()
    base, members, clients, ca_cert_path, ca_key_path, crl_path, revoke, applications = validate_params(params)
    if os.path.exists(base) and not os.path.isdir(base):
        raise PkiError("the PKI path %s exists and is not a directory" % base)
    renew_before = datetime.timedelta(days=params["renew_before_days"])
    warnings = []

    ca_expiring = False
    if os.path.exists(ca_cert_path):
        ca_expiring = not_after(load_certs(ca_cert_path, "CA certificate")[0]) - now <= renew_before
    # A CA rotation (etcd_pki_rotation): which CA signs in this run, and what its step writes.
    rotation = plan_rotation(base, ca_cert_path, ca_key_path, params["ca_rotation"], ca_expiring,
                             params["ca_rotation_blockers"], now, left_out=params["ca_rotation_left_out"])
    sign_cert, sign_key = rotation["sign_cert"], rotation["sign_key"]
    ca = _ca_item(ca_cert_path, ca_key_path)
    # Members keep the pairs of a CA whose key is not here (etcd_pki_rotation, phase 1 of its
    # rotation): they must be that CA's; the new CA signs the rest, made now when the rotation starts.
    old_ca = load_certs(ca_cert_path, "CA certificate")[0] if rotation["keep_members"] else None
    if rotation["new_ca"] and rotation["keep_members"]:
        if not is_ca(old_ca):
            raise PkiError("%s is not a CA certificate (basicConstraints CA:TRUE is missing)" % ca_cert_path)
        ca.key, ca.cert = _new_ca(params, now)
        rotation["made_ca"] = (key_pem(ca.key), cert_pem(ca.cert))
    made = "made_ca" in rotation
    cert_exists, key_exists = not made and os.path.exists(sign_cert), not made and os.path.exists(sign_key)
    if cert_exists:
        ca.cert = load_certs(sign_cert, "CA certificate")[0]
    if key_exists:
        ca.key = load_key(sign_key, "CA key")
        mode = os.stat(sign_key).st_mode & 0o777
        if mode & 0o077 and sign_key == ca_key_path:
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
    if not cert_exists and not key_exists and not made:
        ca.key_reason = ca.cert_reason = MISSING
    elif not made:
        if not is_ca(ca.cert):
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
        if expires - now <= renew_before and rotation["after"] == NONE:
            warnings.append(
                "the CA certificate %s expires on %s; certificates it signs end then too. Rotate it without "
                "downtime: run the etcd playbook with -e etcd_pki_rotate_ca=true (docs/pki.md, CA rotation)."
                % (ca_cert_path, iso(expires))
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

    items = _leaf_items(members, clients, applications or [])
    for item in items:
        _load_existing(item)
    for item in items:
        if old_ca is not None and item.kind in ("server", "peer"):
            _keep_member_pair(item, old_ca, ca_cert_path)
            continue
        # A new CA means every existing certificate is signed by something else.
        _plan_leaf(item, params, ca.cert, ca.cert_reason is not None or made, now, renew_before)
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
    # Applications no longer listed are revoked like the names in revoke (applications=None: the
    # caller does not manage them, and they are left as they are).
    targets = name_targets(base, revoke)
    if applications is not None:
        targets += unlisted_applications(base, applications)
    revocations = plan_revocations(targets, base, kept_ca, items, now, warnings, applications or [])
    crl = plan_crl(crl_path, existing_crl, ca, revocations, os.path.join(base, REVOKED_DIR), now)
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
    writes += rotation_writes(rotation)
    for revocation in revocations:
        writes.extend(move["moved_to"] for move in revocation["files"])
    if writes or not os.path.isdir(base):
        check_writable(writes, base)

    return {
        "base": base,
        "ca": ca,
        "items": items,
        "members": members,
        "clients": clients,
        "applications": applications or [],
        "crl": crl,
        "revocations": revocations,
        "warnings": warnings,
        "now": now,
        "rotation": rotation,
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
    rotation = plan["rotation"]
    changed = bool(issued or modes_fixed or created_dir or crl["reason"] or revocations or rotation_changes(rotation))

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

        def make_ca():
            if "made_ca" in rotation:
                return rotation["made_ca"]
            key, cert = _new_ca(params, now)
            return key_pem(key), cert_pem(cert)

        # The rotation's step first: a swap puts the new CA in place before anything it signs.
        apply_rotation(rotation, make_ca)

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
        move_revoked(revocations)
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
            "trusted_path": trusted_path(rotation, ca.cert_path),
            "trusted_checksums": trusted_checksums(rotation),
        },
        "rotation": rotation_result(rotation, check_mode),
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
        "peer_identity": peer_identity(params, rotation),
        "clients": {},
        "applications": {},
        "warnings": plan["warnings"],
        "diff": revocation_diff(crl, revocations),
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

    def client_pair(item):
        return {
            "cert": item.cert_path,
            "key": item.key_path,
            "not_after": iso(not_after(item.cert)) if fresh(item) else None,
        }

    for client in plan["clients"]:
        result["clients"][client["name"]] = client_pair(items[index])
        index += 1
    for application in plan["applications"]:
        result["applications"][application["name"]] = dict(client_pair(items[index]), user=application["user"])
        index += 1
    return result


def trusted_checksums(rotation):
    """The SHA-256 of each CA file a member may trust while the directory is as the rotation step
    leaves it (none before the directory has a CA)."""
    return accepted_checksums(rotation["old_pem"], rotation["new_pem"]) if rotation.get("old_pem") else []


def peer_identity(params, rotation):
    """The name every peer certificate carries once the plan is applied, or None."""
    return PEER_IDENTITY if params["peer_identity"] and rotation["peer_identity"] else None


def refuse_for_running_members(params, pki):
    """PkiError when the directory, as ``pki`` (what the run leaves, or would) has it, does not fit the
    members that already run (``running_members``: pki_plan.running_members_refusal)."""
    refusal = running_members_refusal(params.get("running_members") or [], pki, read_text((pki.get("ca") or {}).get("path")))
    if refusal:
        raise PkiError(refusal)


def run_present(params, check_mode=False, now=None):
    """``state=present`` whole: returns the result dict or raises PkiError (nothing written then,
    also when the directory does not fit the members that already run)."""
    plan = plan_present(params, now=now)
    refuse_for_running_members(params, dict(ca=dict(path=plan["ca"].cert_path, trusted_checksums=trusted_checksums(plan["rotation"])),
                                            peer_identity=peer_identity(params, plan["rotation"])))
    return apply_plan(plan, params, check_mode=check_mode)


def run_pki(params, check_mode=False):
    """What ``state`` asks, whole: the result dict (its ``warnings`` and ``diff`` for the caller to
    report) or PkiError. The module and its action on the controller both run this."""
    if params["state"] == "verified":
        result = verify(params)
        refuse_for_running_members(params, result)
        return result
    return run_present(params, check_mode=check_mode)
