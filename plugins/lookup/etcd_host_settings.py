# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
name: etcd_host_settings
short_description: The etcd role's settings of a host, derived from its etcd_* variables
version_added: 1.0.0
description:
  - Internal to the C(raftops.etcd.etcd) role; not for playbooks. Its fields may change in any release.
  - Returns what the role derives of the current host from its C(etcd_*) variables alone (paths, release,
    timers and their files, the backup push's files, the maintenance, status and PKI settings), as
    M(raftops.etcd.etcd_host_info) returns it in C(host_settings) with O(raftops.etcd.etcd_host_info#module:role_settings=true).
  - The role reads it only where that read of the host has not run (a member's removal, and the connection
    settings of the read itself).
  - With a term, what the role's backup push needs that no task's output may show, or that comes of a read
    of the member (plugins/module_utils/backup/push_targets.py).
options:
  _terms:
    description:
      - Nothing for the host's settings, or one of
      - C(backup_push_targets), the targets of C(etcd_backup_targets) as the member's push reads them (each
        S3 target with every key, each SSH target with its host's address and port), credentials for the
        push's settings file only.
      - C(backup_push_authorized), the C(authorized_keys) changes of the member's push key on its SSH targets'
        hosts (O(public_key), O(address)).
      - C(backup_push_withdrawn), the C(authorized_keys) lines a push turned off takes off the SSH targets'
        hosts its settings name (O(reads)).
    type: list
    elements: str
  public_key:
    description: With C(backup_push_authorized), base64 of the member's public SSH key file (slurped); none in
      check mode before the key is made.
    type: str
    default: ''
  address:
    description: With C(backup_push_authorized), the member's address, which the key is authorized from.
    type: str
  reads:
    description: With C(backup_push_withdrawn), the results of the slurp of the push's settings and of the
      member's public SSH key, in that order.
    type: list
    elements: dict
    default: []
author: raftops developers (@raftops)
"""

EXAMPLES = r"""
- name: Show where the role writes the member's settings
  ansible.builtin.debug:
    msg: "{{ lookup('raftops.etcd.etcd_host_settings').env_path }}"
"""

RETURN = r"""
_raw:
  description:
    - Without a term, one dict, the host's settings (plugins/module_utils/host/host_settings.py).
    - With a term, one list (the targets, or the changes C(host), C(path), C(regexp) and, to authorize, C(line),
      C(state) and C(mode)).
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.raftops.etcd.plugins.module_utils.backup import push_targets
from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import NAMES, PUSH_RECEIVE
from ansible_collections.raftops.etcd.plugins.plugin_utils.host_settings import role_host_settings, role_values

TERMS = ("backup_push_targets", "backup_push_authorized", "backup_push_withdrawn")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        self.set_options(var_options=variables, direct=kwargs)
        if not terms:
            return [role_host_settings(role_values(self._templar, variables, NAMES), variables)]
        if len(terms) != 1 or terms[0] not in TERMS:
            raise AnsibleLookupError("etcd_host_settings: one term of %s, or none, got %s" % (", ".join(TERMS), terms))
        try:
            if terms[0] == "backup_push_withdrawn":
                return [push_targets.backup_push_withdrawn(self.get_option("reads"), PUSH_RECEIVE["authorized_keys"])]
            values = role_values(self._templar, variables, ("etcd_backup_targets", "etcd_backup_cluster"))
            targets = push_targets.backup_push_targets(values["etcd_backup_targets"], values["etcd_backup_cluster"],
                                                       variables.get("hostvars") or {})
            if terms[0] == "backup_push_targets":
                return [targets]
            return [push_targets.backup_push_authorized(self.get_option("public_key"), dict(receive=PUSH_RECEIVE, targets=targets),
                                                        self.get_option("address"))]
        except ValueError as exc:
            raise AnsibleLookupError(str(exc)) from None
