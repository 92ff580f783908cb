#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_user
short_description: Manage an etcd RBAC user, its password and its roles
version_added: 1.0.0
description:
  - Creates or deletes a user of etcd's role-based access control, sets its password, and grants
    and revokes its roles, through etcd's v3 HTTP/JSON gateway.
  - Reads the user's roles and grants and revokes only the difference with O(roles); a user that
    already has them changes nothing. Roles that do not exist are refused before anything changes.
  - etcd never returns a password. An existing user's password is set only with
    O(update_password=always), and is then checked first by logging in with it, which etcd allows
    only while auth is enabled; while auth is off it is set on every run (and reported changed).
  - Only etcd's answer C(invalid user ID or password) to that login sets the password. Any other
    failure (a leader change, a timeout, no endpoint answering) is tried again, three logins in all,
    and then fails the task with nothing changed; a user made with O(no_password=true), which etcd
    never lets log in with a password, is refused with what to do.
  - A user must have a password, unless it only ever connects with a client certificate whose
    common name is its name. Such a user needs O(no_password=true) (etcd 3.4 and later), so that a
    forgotten password is not mistaken for one.
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  check_mode:
    details: RV(roles), RV(granted), RV(revoked) and RV(password_changed) say what the task would do.
  diff_mode:
    support: full
    details:
      - Before and after as the user's name and roles; a password shows only as changed.
options:
  name:
    description: Name of the user.
    type: str
    required: true
  state:
    description:
      - V(present) creates the user if needed and gives it O(roles). V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  password:
    description:
      - The user's password. Required to create a user unless O(no_password=true).
    type: str
  no_password:
    description:
      - Create the user without a password (etcd's C(--no-password)), for a user that only connects
        with a client certificate whose common name is its name. Taken into account when the user is
        created.
    type: bool
    default: false
  update_password:
    description:
      - V(on_create) sets O(password) only when the user is created.
      - V(always) also sets it on an existing user whose password is not O(password) (see the
        description for auth that is off).
    type: str
    choices: [on_create, always]
    default: on_create
  roles:
    description:
      - The user's roles. Unless O(append_roles=true), roles the user has and this list does not
        name are revoked. When omitted, the user's roles are left as they are.
    type: list
    elements: str
  append_roles:
    description:
      - Grant O(roles) and revoke nothing.
    type: bool
    default: false
notes:
  - Once auth is enabled etcd refuses to delete user C(root) or to revoke its C(root) role; the
    module says so before it asks.
seealso:
  - module: raftops.etcd.etcd_role
  - module: raftops.etcd.etcd_auth
"""

EXAMPLES = r"""
- name: The root user, before enabling auth
  raftops.etcd.etcd_user:
    endpoints: ["https://10.0.0.11:2379"]
    name: root
    password: "{{ vault_etcd_root_password }}"
    roles: [root]

- name: An application user with exactly the role app
  raftops.etcd.etcd_user:
    name: app
    password: "{{ vault_etcd_app_password }}"
    update_password: always
    roles: [app]

- name: A user that connects only with its client certificate (CN=billing)
  raftops.etcd.etcd_user:
    name: billing
    no_password: true
    roles: [billing]

- name: Delete a user
  raftops.etcd.etcd_user:
    name: legacy
    state: absent
"""

RETURN = r"""
name:
  description: The user's name (O(name)).
  returned: always
  type: str
  sample: app
roles:
  description: The user's roles after the task, sorted.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [app]
granted:
  description: The roles granted.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [app]
revoked:
  description: The roles revoked; none with O(append_roles=true).
  returned: when O(state=present)
  type: list
  elements: str
  sample: []
password_changed:
  description: Whether the password was set on an existing user.
  returned: when O(state=present)
  type: bool
  sample: false
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: user app created, roles granted app
"""

import time

from ansible_collections.raftops.etcd.plugins.module_utils.client import access as ea
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    AUTH_NOT_ENABLED,
    NO_PASSWORD_USER,
    WRONG_PASSWORD,
    EtcdError,
    connection_argument_spec,
)

# A login that gets another answer than yes or "wrong password" (a leader change, a timeout, no
# endpoint answering) is tried again this many times in all, after 2 s, then 4 s.
PASSWORD_CHECK_TRIES = 3
PASSWORD_CHECK_DELAY = 2.0


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        password=dict(type="str", no_log=True),
        # A flag, not a secret: no_log=False says so (Ansible warns about options named like passwords).
        no_password=dict(type="bool", default=False, no_log=False),
        update_password=dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False),
        roles=dict(type="list", elements="str"),
        append_roles=dict(type="bool", default=False),
    )
    return spec


class User(ea.Access):
    def apply(self):
        p = self.params
        name = self.name()
        if p["password"] and p["no_password"]:
            raise ea.AccessError("user %s: password and no_password=true contradict each other; set one" % name)
        current = self.ask("user_get", name)
        if p["state"] == "absent":
            return self.absent(name, current)
        if current is None and not p["password"] and not p["no_password"]:
            raise ea.AccessError(
                "user %s does not exist and has no password: set password, or no_password=true for a user that only "
                "connects with a client certificate whose common name is %s" % (name, name))
        wanted = (current or []) if p["roles"] is None else p["roles"]
        grants, revokes = ea.role_diff(current or [], wanted, p["append_roles"])
        self.refuse_unknown_roles(name, grants)
        if name == ea.ROOT and ea.ROOT in revokes and self.ask("auth_enabled"):
            raise ea.AccessError("user root keeps role root while auth is enabled (etcd refuses to revoke it); "
                                 "disable auth first")
        password_changed = current is not None and self.password_differs(name)
        roles = sorted((set(current or []) | set(grants)) - set(revokes))
        changed = current is None or password_changed or bool(grants or revokes)
        after = dict(name=name, roles=roles)
        if password_changed:
            after["password"] = "(changed)"
        result = dict(changed=changed, name=name, roles=roles, granted=grants, revoked=revokes,
                      password_changed=password_changed,
                      diff=dict(before={} if current is None else dict(name=name, roles=current), after=after),
                      msg=self.describe(name, current is None, password_changed, grants, revokes))
        if changed and not self.check_mode:
            if current is None:
                self.ask("user_add", name, p["password"], p["no_password"])
            elif password_changed:
                self.ask("user_change_password", name, p["password"])
            for role in revokes:
                self.ask("user_revoke_role", name, role)
            for role in grants:
                self.ask("user_grant_role", name, role)
        return result

    def refuse_unknown_roles(self, name, roles):
        """Refuse roles that do not exist (root is etcd's own and may be granted before it exists)."""
        if not [role for role in roles if role != ea.ROOT]:
            return
        known = self.ask("role_list")
        unknown = [role for role in roles if role != ea.ROOT and role not in known]
        if unknown:
            raise ea.AccessError("user %s: role(s) %s do not exist; create them first with raftops.etcd.etcd_role "
                                 "(existing roles: %s)" % (name, ", ".join(unknown), ", ".join(known) or "none"))

    def password_differs(self, name):
        """Whether an existing user's password is to be set: only with update_password=always, and
        then only when etcd answers the login with it "invalid user ID or password" (or cannot check
        it while auth is off). Any other answer never sets it: a no-password user is refused, and a
        transient failure is tried again, then fails the task before anything changed."""
        p = self.params
        if p["update_password"] != "always" or not p["password"]:
            return False
        failures = []
        for attempt in range(PASSWORD_CHECK_TRIES):
            if attempt:
                time.sleep(PASSWORD_CHECK_DELAY * 2 ** (attempt - 1))
            try:
                self.ask("authenticate", name, p["password"])
                return False
            except EtcdError as exc:
                if exc.matches(WRONG_PASSWORD):
                    return True
                if exc.matches(NO_PASSWORD_USER):
                    raise ea.AccessError(
                        "user %s was made with no_password=true: etcd refuses every password login for it and "
                        "keeps it so when a password is set. Leave its password out, or delete the user and "
                        "create it again with a password (state=absent, then present). Nothing was changed" % name) from None
                if exc.matches(AUTH_NOT_ENABLED):
                    self.warnings.append("user %s: the password cannot be checked while auth is off (%s), so it is "
                                         "set again" % (name, exc))
                    return True
                failures.append(str(exc))
        raise ea.AccessError("user %s: its password could not be checked (%d logins, each failed: %s); it was not set "
                             "and nothing was changed: run again once the cluster answers"
                             % (name, PASSWORD_CHECK_TRIES, "; ".join(failures)))

    def describe(self, name, created, password_changed, grants, revokes):
        verb = (lambda done: "would be " + done) if self.check_mode else (lambda done: done)
        words = ["user %s %s" % (name, verb("created"))] if created else ["user %s" % name]
        if password_changed:
            words.append("password %s" % verb("set"))
        if grants:
            words.append("roles %s %s" % (verb("granted"), ", ".join(grants)))
        if revokes:
            words.append("roles %s %s" % (verb("revoked"), ", ".join(revokes)))
        if len(words) == 1 and not created:
            return "user %s is as asked already" % name
        return ", ".join(words)

    def absent(self, name, current):
        if current is not None and name == ea.ROOT and self.ask("auth_enabled"):
            raise ea.AccessError("user root is not deleted while auth is enabled (etcd refuses it); disable auth first")
        return self.delete("user", name, None if current is None else dict(name=name, roles=current), "user_delete")


run = User.outcome


def main():
    ea.run_module(argument_spec, User)


if __name__ == "__main__":
    main()
