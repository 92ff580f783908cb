# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The parameters of ``raftops.etcd.etcd_pki``: defaults, validation and where each file goes.

Every refusal of bad input is raised here, as PkiError naming the option and the value, before
any file is read for its content or written.
"""

import os
import re
from collections.abc import Mapping

from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import NAME_PATTERN, NAME_RULE, is_valid_name
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import PkiError, parse_san

DEFAULT_CA_COMMON_NAME = "raftops etcd CA"
DEFAULT_VALIDITY_DAYS = 730
DEFAULT_CA_VALIDITY_DAYS = 3650
DEFAULT_RENEW_BEFORE_DAYS = 30
DEFAULT_RSA_KEY_SIZE = 3072
LOOPBACK_SANS = ("127.0.0.1", "localhost")
# The name only the members' peer certificates carry (a DNS SAN), which the members' peer port asks
# for (etcd's --peer-cert-allowed-hostname): a client pair of the same CA that names its host's
# address is then refused as a peer. Under .invalid (RFC 2606), so it never resolves to anything;
# no client pair may carry it (PEER_IDENTITY_RULE).
PEER_IDENTITY = "etcd-peer.invalid"
PEER_IDENTITY_RULE = ("%s is the name only the members' peer certificates carry (the members' peer port "
                      "admits no other certificate); a client pair must not carry it" % PEER_IDENTITY)

CRL_FILE = "crl.pem"
REVOKED_DIR = "revoked"
# Applications' client pairs live apart from the members' and the admin's: a name never clashes
# with theirs, and every certificate in it is an application's (one no longer listed is revoked).
APPLICATIONS_DIR = "clients"
KEY_SUFFIX = "-key.pem"

KEY_MODE = 0o600
CERT_MODE = 0o644
CRL_MODE = 0o644
DIR_MODE = 0o700

# Reasons reported for each (re)issued file and for the CRL.
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

_MEMBER_FILE_KEYS = ("cert", "key", "peer_cert", "peer_key")


def argument_spec():
    """The options of raftops.etcd.etcd_pki, for the module and for its action on the controller."""
    return dict(
        path=dict(type="path", required=True),
        state=dict(type="str", choices=["present", "verified"], default="present"),
        members=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                name=dict(type="str", required=True),
                addresses=dict(type="list", elements="str", default=[]),
                hostnames=dict(type="list", elements="str", default=[]),
                cert=dict(type="path"),
                key=dict(type="path", no_log=False),
                peer_cert=dict(type="path"),
                peer_key=dict(type="path", no_log=False),
            ),
        ),
        extra_sans=dict(type="list", elements="str", default=[]),
        peer_identity=dict(type="bool", default=True),
        clients=dict(type="list", elements="raw", default=["admin"]),
        ca_cert=dict(type="path"),
        ca_key=dict(type="path", no_log=False),
        ca_common_name=dict(type="str", default=DEFAULT_CA_COMMON_NAME),
        validity_days=dict(type="int", default=DEFAULT_VALIDITY_DAYS),
        ca_validity_days=dict(type="int", default=DEFAULT_CA_VALIDITY_DAYS),
        renew_before_days=dict(type="int", default=DEFAULT_RENEW_BEFORE_DAYS),
        key_type=dict(type="str", choices=["ec", "rsa"], default="ec"),
        rsa_key_size=dict(type="int", choices=[2048, 3072, 4096], default=DEFAULT_RSA_KEY_SIZE, no_log=False),
        revoke=dict(type="list", elements="str", default=[]),
        crl=dict(type="path"),
        ca_rotation=dict(type="str", choices=["keep", "auto", "start", "advance"], default="keep"),
        ca_rotation_blockers=dict(type="list", elements="str", default=[]),
        ca_rotation_left_out=dict(type="list", elements="str", default=[]),
        applications=dict(
            type="list",
            elements="dict",
            options=dict(name=dict(type="str", required=True), user=dict(type="str")),
        ),
        running_members=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(name=dict(type="str", required=True), ca_sha256=dict(type="str", default=""),
                         peer_name=dict(type="bool", default=False)),
        ),
    )


def default_params(**overrides):
    """The module's parameters with their defaults (used by tests and by the callers of the state functions)."""
    params = dict(
        path=None,
        state="present",
        members=[],
        clients=["admin"],
        extra_sans=[],
        peer_identity=True,
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
        applications=None,
        ca_rotation="keep",
        ca_rotation_blockers=[],
        ca_rotation_left_out=[],
    )
    params.update(overrides)
    return params


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
            raise PkiError("%s must be a client name or a dict with name, cert, key and sans, not %r" % (where, item))
        unknown = sorted(set(item) - {"name", "cert", "key", "sans", "user"})
        if unknown:
            raise PkiError("%s has unknown keys %s (allowed: name, cert, key, sans, user)" % (where, ", ".join(unknown)))
        validate_name(item.get("name"), where + ".name")
        sans = item.get("sans") or []
        if not isinstance(sans, list):
            raise PkiError("%s.sans must be a list of IP addresses or DNS names, not %r" % (where, sans))
        if item.get("user") is not None and not user_ok(item["user"]):
            raise PkiError("%s.user %r: %s" % (where, item["user"], USER_RULE))
        client_sans = {parse_san(value, "%s.sans[%d]" % (where, i)) for i, value in enumerate(sans)}
        if item["name"].lower() == PEER_IDENTITY or ("dns", PEER_IDENTITY) in client_sans:
            raise PkiError("%s (client %s): %s" % (where, item["name"], PEER_IDENTITY_RULE))
        clients.append({"name": item["name"], "cert": item.get("cert"), "key": item.get("key"),
                        # The certificate's common name, when set: the etcd user on etcd's gRPC port
                        # (the role's root pair); without it the pair has no common name.
                        "user": item.get("user"),
                        # Where the client connects from: etcd's metrics listener checks a client
                        # certificate's SANs against the address it connects from.
                        "sans": client_sans})
    return clients


# An X.509 common name holds at most 64 characters (RFC 5280, ub-common-name); names stay as short
# so that revoked/STAMP-clients-NAME-key.pem fits any file system.
APPLICATION_NAME_MAX = 64
APPLICATION_USER_MAX = 64
APPLICATION_TEXT = "a dict with name and optionally user, like {name: billing} or {name: web, user: web-app}"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
USER_RULE = ("user must be an etcd user name of 1 to %d characters, without control characters or leading or "
             "trailing spaces: it is the certificate's common name, the user etcd takes the client for"
             % APPLICATION_USER_MAX)


def user_ok(user):
    """Whether ``user`` can be a certificate's common name and an etcd user name."""
    return (isinstance(user, str) and 0 < len(user) <= APPLICATION_USER_MAX and user == user.strip()
            and not _CONTROL.search(user))


def _application_problem(entry, taken, label):
    """What is wrong with one application entry (None when it is fine); ``taken`` maps the
    lowercased names of the entries before it to their index."""
    if not isinstance(entry, Mapping):
        return "an application is " + APPLICATION_TEXT
    unknown = sorted(set(map(str, entry)) - {"name", "user"})
    if unknown:
        return "unknown keys %s; an application takes name and optionally user" % ", ".join(unknown)
    name = entry.get("name")
    if not is_valid_name(name) or len(name) > APPLICATION_NAME_MAX:
        return ("name must be 1 to %d %s: it names the files %s/NAME.pem and %s/NAME-key.pem"
                % (APPLICATION_NAME_MAX, NAME_RULE, APPLICATIONS_DIR, APPLICATIONS_DIR))
    if name.endswith("-key"):
        return ("name %r ends in -key, like the applications' key files (%s/NAME-key.pem); choose another name"
                % (name, APPLICATIONS_DIR))
    if name.lower() == PEER_IDENTITY:
        return "name %r: %s (its pair carries its name)" % (name, PEER_IDENTITY_RULE)
    if name.lower() in taken:
        return ("name %r is also the name of %s[%d] (compared ignoring case, as the file names may be); each "
                "application needs its own name" % (name, label, taken[name.lower()]))
    user = entry.get("user")
    if user is not None and not user_ok(user):
        return USER_RULE + " (leave user out to use the name)"
    return None


def application_problems(entries, label):
    """Every bad entry of a list of applications as ``(label[i], entry, what is wrong)``; empty when
    all are fine. The module's ``applications`` and the role's ``etcd_pki_clients`` both use it."""
    if not isinstance(entries, (list, tuple)):
        return [(label, entries, "must be a list of applications, each " + APPLICATION_TEXT)]
    problems, taken = [], {}
    for index, entry in enumerate(entries):
        problem = _application_problem(entry, taken, label)
        if problem:
            problems.append(("%s[%d]" % (label, index), entry, problem))
        else:
            taken[entry["name"].lower()] = index
    return problems


def application_paths(base, name):
    """(certificate, key) of application ``name`` in the PKI directory ``base``."""
    directory = os.path.join(base, APPLICATIONS_DIR)
    return os.path.join(directory, name + ".pem"), os.path.join(directory, name + KEY_SUFFIX)


def _applications(params, base):
    """The applications to keep (None: the applications' directory is left as it is)."""
    raw = params.get("applications")
    if raw is None:
        return None
    if params["state"] != "present":
        raise PkiError(
            "applications needs state=present (a PKI this module manages); with a PKI you provide, issue the "
            "applications' certificates with your own CA"
        )
    problems = ["%s=%r: %s" % problem for problem in application_problems(raw, "applications")]
    if problems:
        raise PkiError("; ".join(problems), problems=problems)
    applications = []
    for entry in raw:
        cert, key = application_paths(base, entry["name"])
        applications.append({"name": entry["name"], "user": entry.get("user") or entry["name"], "cert": cert,
                             "key": key, "wanted": {("dns", entry["name"].lower())}})
    return applications


def _abspath(path):
    return os.path.abspath(os.path.expanduser(path))


def validate_params(params):
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
        # Only a peer pair carries the name the members' peer port asks for (not the unused peer pair
        # of a proxy, which etcd_pki makes as for a member: peer_identity=false).
        peer_wanted = wanted | {("dns", PEER_IDENTITY)} if params.get("peer_identity", True) else wanted
        members.append({"name": name, "required": required, "wanted": wanted, "peer_wanted": peer_wanted,
                        "files": files})

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
                "wanted": {("dns", name.lower())} | client["sans"],
                "user": client["user"],
            }
        )

    ca_cert = _abspath(params["ca_cert"]) if params.get("ca_cert") else os.path.join(base, "ca.pem")
    ca_key = _abspath(params["ca_key"]) if params.get("ca_key") else os.path.join(base, "ca-key.pem")
    crl = _abspath(params["crl"]) if params.get("crl") else os.path.join(base, CRL_FILE)
    revoke = _validate_revoke(params, base, seen, (ca_cert, ca_key, crl))
    applications = _applications(params, base)

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
        for application in applications or []:
            claim(application["cert"], "the certificate of application %s" % application["name"])
            claim(application["key"], "the key of application %s" % application["name"])

    return base, members, clients, ca_cert, ca_key, crl, revoke, applications


# The client pairs a host holds of its own, named after its member (or proxy) NAME: NAME-root
# (common name root, the members' timers) and NAME-client (no common name: the role's root login,
# a proxy's upstream pair). Each host has its own, so that revoking a removed host's copies leaves
# every other host working.
HOST_PAIR_SUFFIXES = ("-root", "-client")


def host_pair_name(name, suffix):
    """The client name of host ``name``'s own pair ``suffix`` (one of HOST_PAIR_SUFFIXES)."""
    return name + suffix


def revoke_files(base, name):
    """The files a name may own in the PKI directory, as (certificate, key, label): the server or
    client pair and the peer pair, labelled ``name``, and the host's own client pairs
    (HOST_PAIR_SUFFIXES), labelled with their client name."""
    pairs = [
        (os.path.join(base, "%s.pem" % name), os.path.join(base, "%s-key.pem" % name), name),
        (os.path.join(base, "%s-peer.pem" % name), os.path.join(base, "%s-peer-key.pem" % name), name),
    ]
    for suffix in HOST_PAIR_SUFFIXES:
        label = host_pair_name(name, suffix)
        pairs.append((os.path.join(base, "%s.pem" % label), os.path.join(base, "%s-key.pem" % label), label))
    return tuple(pairs)


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
        for cert_path, key_path, _label in revoke_files(base, name):
            for path in (cert_path, key_path):
                if path in protected:
                    raise PkiError(
                        "%s %r would move %s, which is the %s, not a member or client certificate"
                        % (where, name, path, ("CA certificate", "CA key", "CRL")[protected.index(path)])
                    )
        if name not in names:
            names.append(name)
    return names


def check_writable(paths, base):
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
