# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""CA rotation of ``raftops.etcd.etcd_pki`` (``state=present``): the phases and the trust bundle.

etcd reads its trusted CA file only when it starts, so a new CA is rolled in three phases, each
followed by a one-at-a-time restart of the members (the role's roll):

1. ``trust``: a new CA ``ca-next.pem`` beside the current one; members trust both
   (``ca-bundle.pem``: old, then new); certificates still come from the old CA.
2. ``reissue``: the new CA becomes ``ca.pem`` (the old one is kept as ``ca-previous.pem``);
   every member, admin and application certificate is re-issued from it and the CRL signed
   again; members still trust both.
3. ``drop``: members trust the new CA only (the old one waits as ``ca-retiring.pem`` until that
   roll is done), then it moves to ``retired/``.

A CA whose key is not in the PKI directory (an adopted cluster's own, ``ca.pem`` alone) is
replaced the same way: in phase 1 the new CA signs the client pairs and the CRL, and the members
keep the pairs of the old CA, which never signs; from phase 2 on the rotation is the same, without
a key to keep. Members ask their peers for the peer certificates' name only from phase 3 on, once
every peer holds a pair that carries it.

The phase lives in the PKI directory, as which of these files exist, so a run that stops after
any step is finished by the next. Each step writes its files one at a time and atomically; a step
cut short is recognised (``ca-next.pem`` beside ``ca-previous.pem``: the swap; ``ca-retiring.pem``
beside ``ca-previous.pem``: the move to ``drop``) and completed by the next ``advance`` or ``auto``.
"""

import datetime
import hashlib
import os

from ansible_collections.raftops.etcd.plugins.module_utils.host.files import write_file_atomically
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import CERT_MODE, DIR_MODE, KEY_MODE
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import PkiError

NEXT_CA, NEXT_CA_KEY = "ca-next.pem", "ca-next-key.pem"
PREVIOUS_CA, PREVIOUS_CA_KEY = "ca-previous.pem", "ca-previous-key.pem"
RETIRING_CA, RETIRING_CA_KEY = "ca-retiring.pem", "ca-retiring-key.pem"
BUNDLE = "ca-bundle.pem"
RETIRED_DIR = "retired"

NONE, TRUST, REISSUE, DROP = "none", "trust", "reissue", "drop"
PHASES = (NONE, TRUST, REISSUE, DROP)
# What each phase is called where an operator reads it: "phase N of 3".
PHASE_NUMBER = {NONE: 0, TRUST: 1, REISSUE: 2, DROP: 3}
PHASE_TEXT = {
    NONE: "no CA rotation",
    TRUST: "members trust the old and the new CA, certificates come from the old one",
    REISSUE: "members trust both CAs, certificates come from the new one",
    DROP: "members trust the new CA only",
}
# keep: never start or advance (a step cut short is refused); auto: start when the CA expires
# within renew_before_days, finish a step cut short; start: start now; advance: one phase on.
REQUESTS = ("keep", "auto", "start", "advance")
_ADVANCE = {NONE: NONE, TRUST: REISSUE, REISSUE: DROP, DROP: NONE}


def rotation_phase(present):
    """(phase, cut_short) from ``present``, the names of the rotation's files that exist in the PKI directory."""
    if RETIRING_CA in present:
        return DROP, PREVIOUS_CA in present
    if PREVIOUS_CA in present:
        return REISSUE, NEXT_CA in present
    if NEXT_CA in present:
        return TRUST, False
    return NONE, False


def rotation_status(pki_dir):
    """The CA rotation ``pki_dir`` (etcd_pki_dir, on the controller) is in, for the status: None when
    none is (or there is no such directory); else its phase, step and description, the trust bundle's
    path and the applications' pair names (``clients/NAME.pem``), which the status tells the operator
    to hand over."""
    try:
        present = set(os.listdir(pki_dir))
    except OSError:
        return None
    phase, _cut_short = rotation_phase(present)
    if phase == NONE:
        return None
    clients_dir = os.path.join(pki_dir, "clients")
    names = os.listdir(clients_dir) if os.path.isdir(clients_dir) else []
    return dict(phase=phase, step=PHASE_NUMBER[phase], description=PHASE_TEXT[phase], pki_dir=pki_dir,
                bundle=os.path.join(pki_dir, BUNDLE),
                clients=sorted(name[:-len(".pem")] for name in names
                               if name.endswith(".pem") and not name.endswith("-key.pem")))


def next_phase(phase, request, ca_expiring):
    """The phase a run moves to from ``phase``: a new rotation starts when asked to (or, with
    ``auto``, when the CA expires soon); ``advance`` moves one phase on; nothing else moves."""
    if request not in REQUESTS:
        raise PkiError("ca_rotation must be one of %s, got %r" % (", ".join(REQUESTS), request))
    if request == "advance":
        return _ADVANCE[phase]
    if phase == NONE and (request == "start" or (request == "auto" and ca_expiring)):
        return TRUST
    return phase


def bundle_pem(old_pem, new_pem=None):
    """The trust bundle members get: the old CA, then the new one (the same bytes in phases 1 and 2,
    so that the move from one to the other changes no member's trusted CA file)."""
    return old_pem + new_pem if new_pem else old_pem


def accepted_checksums(old_pem, new_pem=None):
    """SHA-256 of each trusted CA file a member may have while a rotation is under way (the old CA,
    the bundle of both, the new CA): a run finds the members at any of them after a cut-short run."""
    pems = [old_pem] + ([bundle_pem(old_pem, new_pem), new_pem] if new_pem else [])
    return [hashlib.sha256(pem).hexdigest() for pem in pems]


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def plan_rotation(base, ca_cert_path, ca_key_path, request, ca_expiring, blockers, now, left_out=()):
    """Decide the rotation step of this run, before anything is written.

    Returns a dict: ``before``/``after`` (phases), ``sign_cert``/``sign_key`` (the CA files that
    sign this run's certificates), ``new_ca`` (True when a new CA is to be made), ``writes`` (path,
    bytes or a callable of the new CA's PEMs, mode) and ``removes``/``moves`` in order, ``bundle`` (its path) and the
    PEMs of the old and new CA as far as they exist.

    ``blockers`` are members that are not up, ``left_out`` members this run does not reach (left out
    by --limit): a rotation to start, or one in progress, is refused naming them.
    """
    names = (NEXT_CA, NEXT_CA_KEY, PREVIOUS_CA, PREVIOUS_CA_KEY, RETIRING_CA, RETIRING_CA_KEY)
    path = {name: os.path.join(base, name) for name in names}
    present = {name for name in names if os.path.exists(path[name])}
    before, cut_short = rotation_phase(present)
    exists = os.path.exists(ca_cert_path)
    # No CA yet: there is nothing to rotate.
    after = next_phase(before, request, ca_expiring) if exists or before != NONE else NONE
    if cut_short and request == "keep":
        raise PkiError(
            "a step of the CA rotation in %s was cut short; run the etcd playbook to finish it (it resumes "
            "the rotation). Nothing was written." % base
        )
    if left_out and (before != NONE or after != NONE):
        raise PkiError(
            "%s must reach every member, and this run leaves out %s (--limit): run it again without --limit, or "
            "with a --limit that includes every member. Nothing was written."
            % ("the CA rotation in progress (phase %d of 3)" % PHASE_NUMBER[before] if before != NONE
               else "a CA rotation", ", ".join(left_out))
        )
    if blockers and (before != NONE or after != NONE):
        raise PkiError(
            "%s needs every member up and healthy, and %s %s not: start %s and run again. Nothing was written."
            % ("the CA rotation in progress (phase %d of 3)" % PHASE_NUMBER[before] if before != NONE
               else "a CA rotation", ", ".join(blockers), "is" if len(blockers) == 1 else "are",
               "it" if len(blockers) == 1 else "them")
        )
    bundle = os.path.join(base, BUNDLE)
    # The old CA without its key here (an adopted cluster's own CA): it never signs, and there is no
    # key to keep or retire.
    old_key = {NONE: ca_key_path, TRUST: ca_key_path, REISSUE: path[PREVIOUS_CA_KEY], DROP: path[RETIRING_CA_KEY]}[before]
    foreign = (before != NONE or (exists and after != NONE)) and not os.path.exists(old_key)
    plan = {"before": before, "after": after, "sign_cert": ca_cert_path, "sign_key": ca_key_path, "new_ca": False,
            "writes": [], "removes": [], "moves": [], "bundle": bundle, "base": base, "foreign": foreign,
            # Members keep the old CA's pairs (phase 1 of a foreign CA's rotation).
            "keep_members": foreign and after == TRUST,
            # Whether members may ask their peers for the peer certificates' name: a peer of a
            # foreign CA has a pair without it until phase 2's roll is done.
            "peer_identity": not (foreign and after in (TRUST, REISSUE))}
    if plan["keep_members"] and before == TRUST:
        plan["sign_cert"], plan["sign_key"] = path[NEXT_CA], path[NEXT_CA_KEY]
    current = _read(ca_cert_path) if exists else None

    def bundle_write(old, new):
        if not os.path.exists(bundle) or _read(bundle) != bundle_pem(old, new):
            plan["writes"].append((bundle, bundle_pem(old, new), CERT_MODE))

    if before == NONE and after == TRUST:
        plan["new_ca"] = True
        plan["old_pem"], plan["new_pem"] = current, None
        return plan
    if before in (NONE, TRUST) and after in (NONE, TRUST):
        if before == TRUST:
            plan["old_pem"], plan["new_pem"] = current, _read(path[NEXT_CA])
            bundle_write(plan["old_pem"], plan["new_pem"])
        else:
            plan["old_pem"], plan["new_pem"] = current, None
        return plan
    # From here on the new CA signs: the swap, done now or completed now.
    if before == TRUST or (before == REISSUE and cut_short):
        old = current if before == TRUST else _read(path[PREVIOUS_CA])
        new_cert, new_key = _read(path[NEXT_CA]), _read(path[NEXT_CA_KEY])
        if before == TRUST:
            plan["writes"] += [] if foreign else [(path[PREVIOUS_CA_KEY], _read(ca_key_path), KEY_MODE)]
            plan["writes"] += [(path[PREVIOUS_CA], old, CERT_MODE)]
        plan["writes"] += [(ca_key_path, new_key, KEY_MODE), (ca_cert_path, new_cert, CERT_MODE)]
        plan["removes"] += [path[NEXT_CA], path[NEXT_CA_KEY]]
        plan["sign_cert"], plan["sign_key"] = path[NEXT_CA], path[NEXT_CA_KEY]
    else:
        old = _read(path[PREVIOUS_CA] if before == REISSUE else path[RETIRING_CA])
        new_cert = current
    plan["old_pem"], plan["new_pem"] = old, new_cert
    if after == REISSUE:
        bundle_write(old, new_cert)
        return plan
    # drop, and the end of the rotation.
    if before == REISSUE:
        plan["writes"] += [] if foreign else [(path[RETIRING_CA_KEY], _read(path[PREVIOUS_CA_KEY]), KEY_MODE)]
        plan["writes"] += [(path[RETIRING_CA], old, CERT_MODE)]
    if before == REISSUE or cut_short:
        plan["removes"] += [path[PREVIOUS_CA], path[PREVIOUS_CA_KEY]]
    bundle_write(new_cert, None)
    if after == NONE:
        stamp = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        plan["moves"] += [(path[name], os.path.join(base, RETIRED_DIR, "%s-%s" % (stamp, target)))
                          for name, target in ((RETIRING_CA, "ca.pem"), (RETIRING_CA_KEY, "ca-key.pem"))
                          if name == RETIRING_CA or not foreign]
    return plan


def trusted_path(plan, ca_cert_path):
    """The file whose content members get as their trusted CA: the bundle while a rotation runs."""
    return plan["bundle"] if plan["after"] != NONE else ca_cert_path


def rotation_writes(plan):
    """Every path the step writes (for the writability check)."""
    paths = [p for p, _data, _mode in plan["writes"]]
    if plan["new_ca"]:
        paths += [os.path.join(plan["base"], NEXT_CA), os.path.join(plan["base"], NEXT_CA_KEY), plan["bundle"]]
    paths += [target for _src, target in plan["moves"]]
    return paths


def rotation_result(plan, check_mode):
    """The module's ``rotation`` return value."""
    return {
        "phase": plan["after"],
        "phase_before": plan["before"],
        "step": PHASE_NUMBER[plan["after"]],
        "changed": rotation_changes(plan),
        "description": PHASE_TEXT[plan["after"]],
        "bundle": plan["bundle"] if plan["after"] != NONE or os.path.exists(plan["bundle"]) else None,
        "check_mode": check_mode,
        "members_kept": plan["keep_members"],
        # The members' timers reach etcd with their client pair (CN root), which the new CA signs in
        # that phase: members not yet restarted in it trust only their own CA and would refuse a
        # timer's call (the maintenance timer asks every member). The role writes and starts them once
        # the rotation left phase 1, whose end needs every member restarted trusting both CAs.
        "timers_wait": plan["keep_members"],
    }


def rotation_changes(plan):
    return plan["new_ca"] or bool(plan["writes"] or plan["removes"] or plan["moves"])


def apply_rotation(plan, make_ca):
    """Carry out the step, file by file, each atomically. ``make_ca()`` returns (key PEM, cert PEM)
    of a new CA. In this order a step cut short anywhere is recognised by ``rotation_phase``."""
    if plan["new_ca"]:
        key, cert = make_ca()
        next_key, next_cert = os.path.join(plan["base"], NEXT_CA_KEY), os.path.join(plan["base"], NEXT_CA)
        write_file_atomically(next_key, key, KEY_MODE)
        write_file_atomically(next_cert, cert, CERT_MODE)
        write_file_atomically(plan["bundle"], bundle_pem(plan["old_pem"], cert), CERT_MODE)
        plan["new_pem"] = cert
    for path, data, mode in plan["writes"]:
        write_file_atomically(path, data, mode)
    for path in plan["removes"]:
        if os.path.exists(path):
            os.remove(path)
    for source, target in plan["moves"]:
        os.makedirs(os.path.dirname(target), mode=DIR_MODE, exist_ok=True)
        os.replace(source, target)
