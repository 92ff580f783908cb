# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
name: etcd_adopt_plan
short_description: The plan of the adoption of a running cluster, from each member's read
version_added: 1.0.0
description:
  - Internal to the playbook C(raftops.etcd.adopt); not for other playbooks. Its fields may change in any release.
  - Plans the adoption of the running cluster (plugins/module_utils/plan/adopt.py) on the controller, once, from
    each member's read (M(raftops.etcd.etcd_adopt_info)) and what the inventory asks, with the certificates in
    C(etcd_pki_dir) on the controller; every refusal names its host, before any host changes.
options:
  members:
    description: The inventory's member records (the filter C(raftops.etcd.members) of the group).
    type: list
    elements: dict
    required: true
  reads:
    description: Each host's read, host to the result of M(raftops.etcd.etcd_adopt_info); a host missing did not answer.
    type: dict
    required: true
  settings:
    description:
      - The play's role settings as the inventory has them, none where unset (the role's defaults then), C(etcd_group),
        C(etcd_instance), C(etcd_config_dir), C(etcd_tls), C(etcd_version), C(etcd_pki_managed), C(etcd_user) and
        C(etcd_pki_dir); and C(etcd_adopt_plan_only), true where only the plan was asked for (C(--check) too).
    type: dict
    default: {}
  defaults:
    description:
      - The etcd role's defaults of the settings an adoption may keep otherwise, for C(inventory_lines).
      - Their C(etcd_version) is the release a plaintext cluster on 3.4 is upgraded to where the inventory sets none.
    type: dict
    default: {}
author: raftops developers (@raftops)
"""

EXAMPLES = r"""
- name: Plan the adoption
  run_once: true
  ansible.builtin.set_fact:
    adoption: >-
      {{ lookup('raftops.etcd.etcd_adopt_plan', members=groups.etcd | raftops.etcd.members(hostvars),
                reads=dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'read'))),
                settings={'etcd_instance': 'etcd'}) }}
"""

RETURN = r"""
_raw:
  description:
    - One dict, the plan, C(refusal) ('' when the adoption may go on, else every problem and that nothing was changed),
      C(lines) (host to what stays, moves and restarts), C(hosts) (host to the role settings that keep the member's
      data, ports and user), C(take_over), C(version), C(cluster_id), C(phase) (C(take_over) or C(move)), C(tls_move),
      C(rotate_ca), C(upgrade_first) (a plaintext cluster on 3.4, upgraded to 3.5 before its move to TLS, with
      C(release), the one it runs, C(to), the one it is upgraded to, the C(etcd_version) of O(defaults) unless
      etcd_version is set, and C(take_over); empty otherwise).
    - C(inventory_lines), the inventory lines to keep once the adoption is carried out, where the members run
      otherwise than the role's O(defaults).
    - How the playbook carries it out, C(plan_only), C(plays) (C(plain_take_over), C(upgrade), C(take_over), C(tls_move)
      and C(retire), the hosts each later play runs on, none where the plan is only asked for or refused), C(tls_transition), C(drop_in_path),
      C(pki_dir) and C(steps) (host to what the playbook does there beside the role, C(drop_in), C(move), C(pki_fetch),
      C(pki_keys), C(pki_place) and C(pki_copies)).
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.raftops.etcd.plugins.module_utils.plan.adopt import adopt_plan


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        del terms  # it takes none
        self.set_options(var_options=variables, direct=kwargs)
        return [adopt_plan(self.get_option("members"), self.get_option("reads"), self.get_option("settings"),
                           self.get_option("defaults"))]
