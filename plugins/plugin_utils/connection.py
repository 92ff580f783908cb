# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The etcd role's connection settings (plugins/module_utils/client/connection.py) from the variables
a lookup sees: the lookup raftops.etcd.etcd_connection computes them here. Each variable is
templated only where the decision needs it: the settings are computed for every task of the group
raftops.etcd.etcd, and a run without a root login never reads the plan or the controller's pair."""

import os

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.raftops.etcd.plugins.module_utils.client.connection import (
    call_pair, client_pair_name, client_pair_source, connection, pair_there)
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_plan import member_pki_files


def read_pem(path, missing_ok):
    """A file of etcd_pki_dir on the controller, as it is; None for one that is not there when
    ``missing_ok`` (check mode before the first deploy: etcd_pki only reported what it would make).
    The error names the file, never its content."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        if missing_ok:
            return None
        raise AnsibleError("could not read %s on the controller: %s" % (path, e.strerror or e)) from e


class RoleVars:
    """The variables of a task, each templated when it is first asked for."""

    def __init__(self, templar, variables):
        self._templar, self._variables, self._values = templar, variables or {}, {}

    def __call__(self, name, default=None):
        if name not in self._values:
            raw = self._variables.get(name, default)
            self._values[name] = default if raw is None else self._templar.template(raw)
        return self._values[name]

    def flag(self, name):
        return boolean(self(name, False), strict=False)


def login_pair(v, is_file=os.path.isfile):
    """Where the client pair of a root login is in etcd_pki_dir, dict(cert, key); None without a root
    login (etcd_auth_root_password unset). configure.yml puts it on the member; before that the calls
    may present it as text (role_connection)."""
    if not v("etcd_auth_root_password"):
        return None
    pki_dir, name = v("etcd_pki_dir"), v("_etcd_me")["name"]
    made = is_file(client_pair_source(pki_dir, name + "-client")["key"])
    return client_pair_source(pki_dir, client_pair_name(v.flag("etcd_pki_managed"), name, made))


def member_pki(v, is_file=os.path.isfile):
    """With etcd_tls, the certificates configure.yml puts on the member (its files call's ``pki``):
    where they go on the member (``dir``), where they come from in etcd_pki_dir (etcd_pki's result,
    ``_etcd_pki``: etcd_pki_plan.member_pki_files) and, with etcd_auth_root_password, the member's
    own pair without a CN for the role's calls once auth is on (``login``: login_pair); None without TLS."""
    if not v.flag("etcd_tls"):
        return None
    files = member_pki_files(v("_etcd_pki"), v("_etcd_me")["name"], v.flag("etcd_pki_managed"))
    return dict(files, dir=v("_etcd_host")["pki_host_dir"], login=login_pair(v, is_file))


def role_connection(v, read=read_pem, is_file=os.path.isfile):
    """The connection options of the group raftops.etcd.etcd for the host whose variables ``v``
    (a RoleVars) gives. The client pair's presence on the member: the host read's settings
    (``_etcd_host.client_pair_found``), what configure.yml's files call wrote (``_etcd_member_files``),
    or the removal's plan for the member it acts through (``_etcd_plan.client_pair_found``: remove.yml's
    calls run there); the hosts whose etcd refused the read for want of a user: the plan's auth_refused."""
    tls, password = v.flag("etcd_tls"), v("etcd_auth_root_password")
    pair, pki_host_dir = None, ""
    if tls:
        host = v("_etcd_host")
        pki_host_dir = host["pki_host_dir"]
        there = False
        if password:
            written = (v("_etcd_member_files") or {}).get("changed_paths")
            there = (pair_there(host["client_pair_found"], host["pki_settings"]["pair_key"], written,
                                v.flag("ansible_check_mode"))
                     or bool((v("_etcd_plan") or {}).get("client_pair_found")))
        refused = {} if there or not password else (v("_etcd_plan") or {}).get("auth_refused")
        pair = call_pair(tls, bool(password), there, refused)
    text = None
    if pair == "text":
        source, missing_ok = login_pair(v, is_file), v.flag("ansible_check_mode")
        text = dict(cert=read(source["cert"], missing_ok), key=read(source["key"], missing_ok))
    return connection(pair, tls, v.flag("etcd_auto_tls"), pki_host_dir, password, text)
