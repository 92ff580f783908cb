# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""How the etcd role's modules reach etcd: the options every module of the group raftops.etcd.etcd
gets as the entry task files' module_defaults (the lookup raftops.etcd.etcd_connection), decided here
from plain data. The lookup, and the plan action for its own calls, gather that data from the variables
of the task (plugins/plugin_utils/connection.py) and read the controller's files it names."""

CALL_PAIRS = (None, "server", "client", "text")


def call_pair(tls, root_login, pair_there, auth_refused):
    """The client pair the role's calls present: None without TLS. Without a root login, 'server', the
    member's own pair. With one, 'client', the CN-less pair configure.yml puts on the member, once it
    is there; before that 'text' where etcd refused the role's read for want of a user
    (``auth_refused``, the plan's hosts: auth turned on outside the role), the controller's pair given
    as text, so that preflight writes nothing before the run lock; else 'server' (auth is off: etcd
    takes any certificate of its CA, and the controller's pair may not be made yet)."""
    if not tls:
        return None
    if not root_login:
        return "server"
    if pair_there:
        return "client"
    return "text" if auth_refused else "server"


def pair_there(found, pair_key, written, check_mode):
    """Whether the member has the client pair of a root login: the read of the host found it
    (``found``, its settings' client_pair_found), or
    configure.yml's files call wrote its key ``pair_key`` (among ``written``, the call's
    changed_paths) outside check mode, where that call only reports what it would write."""
    return bool(found) or (not check_mode and pair_key in (written or []))


def client_pair_name(managed, member_name, member_pair_made):
    """The name of the client pair of a root login in etcd_pki_dir: with the role's PKI (``managed``)
    the member's own NAME-client (the PKI plan's clients), which removing the member revokes, once
    etcd_pki made it (``member_pair_made``); with an operator's PKI, and in preflight before etcd_pki
    first made it (preflight_root_login.yml runs before etcd_pki), the admin pair."""
    return member_name + "-client" if managed and member_pair_made else "admin"


def client_pair_source(pki_dir, name):
    """The client pair ``name`` in etcd_pki_dir ``pki_dir`` on the controller: dict(cert, key)."""
    return dict(cert="%s/%s.pem" % (pki_dir, name), key="%s/%s-key.pem" % (pki_dir, name))


def connection(pair, tls, auto_tls, pki_host_dir, root_password=None, pair_text=None):
    """The connection options of the group's modules: the CA and the client pair ``pair``
    (call_pair's answer) in the member's ``pki_host_dir``, or the controller's pair as text
    (``pair_text``, dict(cert, key) of its contents: None for a file check mode did not find); a
    root login with ``root_password`` (none without one); TLS verified but with etcd's auto-TLS,
    which encrypts without a certificate to verify (docs/bootstrap.md)."""
    if pair not in CALL_PAIRS:
        raise ValueError("the client pair must be one of server, client, text or none, not %r" % (pair,))
    if pair == "text" and pair_text is None:
        raise ValueError("the client pair given as text needs its contents")
    on_member = pair in ("server", "client")
    text = pair_text if pair == "text" else {}
    return dict(
        ca_cert=pki_host_dir + "/ca.pem" if tls else None,
        client_cert="%s/%s.pem" % (pki_host_dir, pair) if on_member else None,
        client_key="%s/%s-key.pem" % (pki_host_dir, pair) if on_member else None,
        client_cert_content=text.get("cert"),
        client_key_content=text.get("key"),
        auth_user="root" if root_password else None,
        auth_password=root_password or None,
        tls_verify=not auto_tls,
    )
