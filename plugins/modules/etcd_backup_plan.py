#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_backup_plan
short_description: The plan steps of the etcd role's backup, restore fetch and restore drill, on the controller
version_added: 0.5.0
description:
  - Internal to the C(raftops.etcd.etcd) role; its backup, restore and restore drill task files read its fields.
    Each step decides in tested Python (C(plugins/module_utils/backup/backup_plan.py)) what the task
    files used to decide in Jinja and in the filters C(backup_source), C(backup_record),
    C(backup_target), C(backup_object) and C(backup_drill_record), deprecated since.
  - V(source) asks M(raftops.etcd.etcd_health) on the task's host which members answer, and chooses
    the member a backup takes its snapshot from (the first healthy voting member of the play) and
    names the snapshot and its sealed object by the UTC time; it fills in each target's defaults.
    V(record) adds the record written beside the snapshot. V(seal) adds the snapshot sealed for the
    off-host targets, as M(raftops.etcd.etcd_backup_target)'s V(sealed) seals it, with the record the
    members' drill proves a playbook backup against; it shows a line in the run's output that reports
    the encryption (the object, its size and speed, the key id, and the key file to keep a copy of
    when this run made it), not in check mode.
  - V(fetch) finds the target a restore fetches from.
  - V(drill_snapshot) chooses the snapshot a restore drill proves, with its record.
  - Runs on the controller (an action plugin); reads the controller's backup directory and the key
    file, and V(seal) writes the sealed copy into a private directory of its own there; V(source) runs
    M(raftops.etcd.etcd_health) on the task's host, and no other step asks any host.
extends_documentation_fragment:
  - raftops.etcd.controller_action
  - raftops.etcd.common
options:
  stage:
    description: The step; see the description.
    type: str
    required: true
    choices: [source, record, seal, fetch, drill_snapshot]
  plan:
    description: The result of the step before, for V(record) (of V(source)) and V(seal) (of V(record)).
    type: dict
    default: {}
  members:
    description: The member records (P(raftops.etcd.members#filter)), for V(source).
    type: list
    elements: dict
    default: []
  connection:
    description:
      - For V(source), the connection options M(raftops.etcd.etcd_health) is called with (those of the
        C(raftops.etcd.etcd) group's C(module_defaults)); never shown.
    type: dict
    default: {}
  settings:
    description:
      - V(source) - C(endpoints) (the members' client URLs), C(targets) and C(cluster).
      - V(record) - C(saved) (M(raftops.etcd.etcd_snapshot)'s result, with inspect and keyspace).
      - V(seal) - C(src) (the snapshot on the controller, its record C(<src>.json) beside it), C(key_file)
        and C(cluster).
      - V(fetch) - C(targets), C(cluster) and C(target) (the name of one).
      - C(targets), when not given, is the play's O(raftops.etcd.etcd#role:main:etcd_backup_targets), read by the
        action itself, so that the S3 targets' keys are not in the task's arguments.
      - V(drill_snapshot) - C(fetched) (the snapshot fetched from a target), C(snapshot) and C(backup_dir).
    type: dict
    default: {}
  refuse:
    description: Fail the task with the step's RV(refusal) when it has one.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Choose the member and name the snapshot
  run_once: true
  raftops.etcd.etcd_backup_plan:
    stage: source
    connection: "{{ _etcd_connection }}"
    members: "{{ _etcd_members }}"
    settings:
      endpoints: "{{ _etcd_members | map(attribute='client_url') | list }}"
      cluster: "{{ etcd_backup_cluster }}"
    refuse: true
  register: _etcd_backup
"""

RETURN = r"""
refusal:
  description: Why the run cannot go on; empty when it can.
  returned: with O(stage=source), V(fetch) and V(drill_snapshot)
  type: str
source:
  description: The member record the snapshot comes from, with the C(cluster_id) its endpoint answered; null when none is healthy.
  returned: with O(stage=source)
  type: dict
name:
  description: The snapshot's name, C(etcd-snapshot-<UTC time>.db).
  returned: with O(stage=source)
  type: str
object:
  description: The sealed object's name.
  returned: with O(stage=source)
  type: str
taken:
  description: The UTC time in the name, which the sealed header authenticates.
  returned: with O(stage=source)
  type: str
targets:
  description: O(raftops.etcd.etcd#role:main:etcd_backup_targets) with their defaults.
  returned: with O(stage=source)
  type: list
  elements: dict
sends:
  description:
    - One C({name, host}) per target of RV(targets), the S3 targets first - the loop of the role's sending, which
      holds no secret; C(host) is where each is sent from (V(localhost) for S3, the target's host for SSH).
  returned: with O(stage=source)
  type: list
  elements: dict
  sample: [{name: offsite, host: localhost}, {name: vault, host: backup1}]
record:
  description: The record written beside the snapshot (revision, keys, hash_kv, compact_revision, hash_problem).
  returned: with O(stage=record)
  type: dict
sealed:
  description:
    - M(raftops.etcd.etcd_backup_target)'s V(sealed) result for the snapshot - among its fields C(path), C(dir)
      (the private directory it is in, to remove), C(sealed_size), C(sealed_sha256) and C(drill_record).
  returned: with O(stage=seal)
  type: dict
target:
  description: The target with its defaults; empty when there is none of that name.
  returned: with O(stage=fetch)
  type: dict
head_size:
  description: How many bytes of a backup its header, label and tag can take.
  returned: with O(stage=fetch)
  type: int
path:
  description: The snapshot the drill proves.
  returned: with O(stage=drill_snapshot)
  type: str
record_text:
  description: The text of its record (C(<snapshot>.json)); empty when it has none.
  returned: with O(stage=drill_snapshot)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_plan import argument_spec


def main():
    # The action plugin of the same name does the work on the controller: nothing here runs on a host.
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.fail_json(msg="raftops.etcd.etcd_backup_plan runs on the controller as an action plugin only")


if __name__ == "__main__":
    main()
