# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
name: etcd_connection
short_description: How the etcd role's modules reach etcd on the current host
version_added: 1.0.0
description:
  - Internal to the C(raftops.etcd.etcd) role; not for playbooks. Its answer may change in any release.
  - Without a term, returns the connection options of the modules of the group C(raftops.etcd.etcd)
    (meta/runtime.yml) that the role's entry task files set as their C(module_defaults), the CA, the
    client pair (the member's server pair, the CN-less client pair of a root login on the member, or
    that pair from C(etcd_pki_dir) given as text), the root login and whether TLS is verified.
  - With the term V(login_pair), returns where that CN-less client pair is in C(etcd_pki_dir) on the
    controller (C(cert), C(key)), or V(null) without C(etcd_auth_root_password).
  - With the term V(member_pki), returns the certificates the role puts on the member with C(etcd_tls)
    (C(dir) on the member; C(ca), C(own), C(crl) and C(root) from C(raftops.etcd.etcd_pki)'s result; C(login),
    that CN-less client pair), or V(null) without C(etcd_tls).
  - The decisions are in plugins/module_utils/client/connection.py.
options:
  _terms:
    description: Nothing, V(login_pair) or V(member_pki).
    required: false
author: raftops developers (@raftops)
"""

EXAMPLES = r"""
- name: Ask etcd as the role's modules do
  raftops.etcd.etcd_health:
  module_defaults:
    group/raftops.etcd.etcd: "{{ lookup('raftops.etcd.etcd_connection') }}"
"""

RETURN = r"""
_raw:
  description: One dict (the connection options, the pair's C(cert) and C(key), or the member's certificates), or V(null).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.raftops.etcd.plugins.plugin_utils.connection import RoleVars, login_pair, member_pki, role_connection


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        del kwargs  # it takes none
        v = RoleVars(self._templar, variables)
        if not terms:
            try:
                return [role_connection(v)]
            except ValueError as exc:
                raise AnsibleError("etcd_connection: %s" % exc) from exc
        if list(terms) == ["login_pair"]:
            return [login_pair(v)]
        if list(terms) == ["member_pki"]:
            try:
                return [member_pki(v)]
            except (KeyError, TypeError) as exc:
                raise AnsibleError("etcd_connection: member_pki: etcd_pki's result (_etcd_pki) has no %s" % exc) from exc
        raise AnsibleError("etcd_connection: the term must be login_pair, member_pki or none, not %s"
                           % ", ".join(map(str, terms)))
