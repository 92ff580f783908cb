# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
name: etcd_host_settings
short_description: The etcd role's settings of a host, derived from its etcd_* variables
version_added: 0.4.0
description:
  - Internal to the C(raftops.etcd.etcd) role; not for playbooks. Its fields may change in any release.
  - Returns what the role derives of the current host from its C(etcd_*) variables alone (paths, release,
    timers and their files, the backup push's files, the maintenance, status and PKI settings), as
    M(raftops.etcd.etcd_host_info) returns it in C(host_settings) with O(raftops.etcd.etcd_host_info#module:role_settings=true).
  - The role reads it only where that read of the host has not run (a member's removal, and the connection
    settings of the read itself).
options: {}
author: raftops developers (@raftops)
"""

EXAMPLES = r"""
- name: Show where the role writes the member's settings
  ansible.builtin.debug:
    msg: "{{ lookup('raftops.etcd.etcd_host_settings').env_path }}"
"""

RETURN = r"""
_raw:
  description: One dict, the host's settings (plugins/module_utils/host/host_settings.py).
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import NAMES
from ansible_collections.raftops.etcd.plugins.plugin_utils.host_settings import role_host_settings, role_values


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        del terms, kwargs  # it takes none
        variables = variables or {}
        return [role_host_settings(role_values(self._templar, variables, NAMES), variables)]
