#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_role
short_description: Manage an etcd RBAC role and its permissions on keys and prefixes
version_added: 1.0.0
description:
  - Creates or deletes a role of etcd's role-based access control, and grants it read, write or
    read-write permissions on keys and prefixes, through etcd's v3 HTTP/JSON gateway.
  - Reads the role's permissions, computes the difference with O(permissions), and grants and
    revokes only that; a role that already has exactly these permissions changes nothing. A
    permission whose type changes is granted again (etcd replaces it), not revoked.
  - The C(root) role is etcd's own and holds every permission. It can be created (as the first step
    before enabling auth), never given permissions nor deleted.
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  check_mode:
    details: RV(permissions), RV(granted) and RV(revoked) say what the task would do.
  diff_mode:
    support: full
    details:
      - Before and after as the role's name and permissions.
options:
  name:
    description: Name of the role.
    type: str
    required: true
  state:
    description:
      - V(present) creates the role if needed and gives it O(permissions).
      - V(absent) deletes it; etcd then revokes it from every user that has it.
    type: str
    choices: [present, absent]
    default: present
  permissions:
    description:
      - The role's permissions, each on one O(permissions[].key) or on every key under a
        O(permissions[].prefix).
      - Unless O(append_permissions=true), permissions the role has and this list does not name
        are revoked. When omitted, the role's permissions are left as they are.
    type: list
    elements: dict
    suboptions:
      key:
        description: One key. Exactly one of O(permissions[].key) and O(permissions[].prefix).
        type: str
      prefix:
        description:
          - Every key starting with this (C(etcdctl role grant-permission --prefix)). V('') is every
            key.
        type: str
      permission:
        description: What the role may do there.
        type: str
        choices: [read, write, readwrite]
        required: true
  append_permissions:
    description:
      - Grant O(permissions) and revoke nothing.
    type: bool
    default: false
seealso:
  - module: raftops.etcd.etcd_user
  - module: raftops.etcd.etcd_auth
  - name: etcd role-based access control
    description: Users, roles, permissions and enabling auth.
    link: https://etcd.io/docs/v3.5/op-guide/authentication/rbac/
"""

EXAMPLES = r"""
- name: An application's role, read-write on app/ and read-only on shared/
  raftops.etcd.etcd_role:
    endpoints: ["https://10.0.0.11:2379"]
    name: app
    permissions:
      - prefix: app/
        permission: readwrite
      - prefix: shared/
        permission: read

- name: The root role, before enabling auth
  raftops.etcd.etcd_role:
    name: root

- name: Add one key to a role without touching the rest
  raftops.etcd.etcd_role:
    name: monitoring
    permissions:
      - key: health
        permission: read
    append_permissions: true

- name: Delete a role
  raftops.etcd.etcd_role:
    name: legacy
    state: absent
"""

RETURN = r"""
name:
  description: The role.
  returned: always
  type: str
  sample: app
permissions:
  description: The role's permissions after the task, sorted by key.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{prefix: app/, permission: readwrite}, {prefix: shared/, permission: read}]
granted:
  description: The permissions granted, those whose type changes among them.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{prefix: app/, permission: readwrite}]
revoked:
  description: The permissions revoked; none with O(append_permissions=true).
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{key: old, permission: read}]
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: role app created, 2 permissions granted
"""

from ansible_collections.raftops.etcd.plugins.module_utils.client import access as ea
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import connection_argument_spec


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        permissions=dict(type="list", elements="dict", options=dict(
            key=dict(type="str", no_log=False),
            prefix=dict(type="str"),
            permission=dict(type="str", choices=list(ea.PERMISSIONS), required=True),
        )),
        append_permissions=dict(type="bool", default=False),
    )
    return spec


def _described(perms):
    return [ea.describe_permission(*perm) for perm in perms]


class Role(ea.Access):
    def apply(self):
        p = self.params
        name = self.name()
        if name == ea.ROOT and (p["state"] == "absent" or p["permissions"] is not None):
            raise ea.AccessError("the root role is etcd's own: it holds every permission, so it takes no permissions "
                                 "and is not deleted; it can only be created (with no permissions)")
        wanted = ea.wanted_permissions([dict((k, v) for k, v in e.items() if v is not None)
                                        for e in p["permissions"] or []])
        current = self.ask("role_get", name)
        before = None if current is None else dict(name=name, permissions=_described(current))
        if p["state"] == "absent":
            return self.delete("role", name, before, "role_delete")
        grants, revokes = ([], [])
        if p["permissions"] is not None:
            grants, revokes = ea.permission_diff(current or [], wanted, p["append_permissions"])
        held = dict(((key, end), kind) for key, end, kind in current or [])
        revoked = _described((key, end, held.pop((key, end))) for key, end in revokes)
        held.update(((key, end), kind) for key, end, kind in grants)
        after_perms = _described(sorted((key, end, kind) for (key, end), kind in held.items()))
        result = dict(name=name, permissions=after_perms, granted=_described(grants), revoked=revoked,
                      diff=dict(before=before or {}, after=dict(name=name, permissions=after_perms)))
        changed = current is None or bool(grants or revokes)
        words = (["role %s %s" % (name, "would be created" if self.check_mode else "created")] if current is None
                 else ["role %s" % name])
        if grants:
            words.append("%d permissions %s" % (len(grants), "would be granted" if self.check_mode else "granted"))
        if revokes:
            words.append("%d permissions %s" % (len(revokes), "would be revoked" if self.check_mode else "revoked"))
        if not changed:
            words.append("has these permissions already")
        result.update(changed=changed, msg=", ".join(words) if changed else " ".join(words))
        if changed and not self.check_mode:
            if current is None:
                self.ask("role_add", name)
            # revoke first: while the task runs the role never holds more than before and after
            for key, end in revokes:
                self.ask("role_revoke_permission", name, key, end)
            for key, end, kind in grants:
                self.ask("role_grant_permission", name, key, end, kind)
        return result


run = Role.outcome


def main():
    ea.run_module(argument_spec, Role)


if __name__ == "__main__":
    main()
