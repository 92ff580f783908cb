#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_auth
short_description: Enable or disable etcd's RBAC authentication
version_added: 1.0.0
description:
  - Turns etcd's role-based access control on or off, through etcd's v3 HTTP/JSON gateway. Reads
    whether it is on first (C(/v3/auth/status) from etcd 3.5; on 3.4, what etcd answers to a login),
    so that a second run changes nothing.
  - etcd refuses to enable auth unless user C(root) exists and has role C(root). The module checks
    both first and refuses with a message that says what to create
    (M(raftops.etcd.etcd_role) C(root), M(raftops.etcd.etcd_user) C(root) with C(roles=[root])).
  - Once auth is on, every request needs a user. Through the gateway, which the collection's modules
    use, a client certificate's common name is no user, and etcd refuses (HTTP 400) a certificate that
    has one; the modules log in with O(auth_user) and O(auth_password) instead. The module warns when
    it enables auth without them.
  - Disabling needs user C(root) (O(auth_user)).
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  diff_mode:
    support: full
    details:
      - Before and after as V(enabled) true or false.
options:
  state:
    description: Whether auth is to be on.
    type: str
    choices: [enabled, disabled]
    default: enabled
seealso:
  - module: raftops.etcd.etcd_user
  - module: raftops.etcd.etcd_role
  - name: etcd authentication guide
    description: Enabling auth, users, roles and client certificates.
    link: https://etcd.io/docs/v3.5/op-guide/authentication/rbac/
"""

EXAMPLES = r"""
- name: Enable auth (user root with role root exists)
  raftops.etcd.etcd_auth:
    endpoints: ["https://10.0.0.11:2379"]
    auth_user: root
    auth_password: "{{ vault_etcd_root_password }}"
    state: enabled

- name: Disable auth
  raftops.etcd.etcd_auth:
    auth_user: root
    auth_password: "{{ vault_etcd_root_password }}"
    state: disabled
"""

RETURN = r"""
enabled:
  description: Whether auth is on after the task (in check mode, would be).
  returned: always
  type: bool
  sample: true
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: auth enabled
"""

from ansible_collections.raftops.etcd.plugins.module_utils.client import access as ea
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import connection_argument_spec


def argument_spec():
    spec = connection_argument_spec()
    spec.update(state=dict(type="str", choices=["enabled", "disabled"], default="enabled"))
    return spec


class Auth(ea.Access):
    def apply(self):
        wanted = self.params["state"] == "enabled"
        enabled = self.ask("auth_enabled")
        result = dict(changed=enabled != wanted, enabled=wanted,
                      diff=dict(before=dict(enabled=enabled), after=dict(enabled=wanted)))
        if enabled == wanted:
            result["msg"] = "auth is %s already" % self.params["state"]
            return result
        if wanted:
            self.refuse_without_root()
            if not self.params.get("auth_user"):
                self.warnings.append(
                    "auth is on from now: set auth_user and auth_password (user root) for the tasks that follow, "
                    "since etcd's gateway takes no user from a client certificate")
        if not self.check_mode:
            self.ask("auth_enable" if wanted else "auth_disable")
        result["msg"] = "auth %s" % (("would be " if self.check_mode else "") + self.params["state"])
        return result

    def refuse_without_root(self):
        roles = self.ask("user_get", ea.ROOT)
        if roles is None:
            raise ea.AccessError(
                "auth is not enabled: etcd refuses to enable it without a user root; create it first "
                "(raftops.etcd.etcd_role name=root, then raftops.etcd.etcd_user name=root password=... roles=[root])")
        if ea.ROOT not in roles:
            raise ea.AccessError(
                "auth is not enabled: etcd refuses to enable it while user root lacks role root (its roles: %s); "
                "grant it first (raftops.etcd.etcd_role name=root, then raftops.etcd.etcd_user name=root "
                "roles=[root] append_roles=true)" % (", ".join(roles) or "none"))


run = Auth.outcome


def main():
    ea.run_module(argument_spec, Auth)


if __name__ == "__main__":
    main()
