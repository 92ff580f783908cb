#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_snapshot_store
short_description: Keep a directory of etcd snapshots private, each with its record, the newest few
version_added: 1.0.0
description:
  - Keeps the directory the backup brings snapshots to, in one call. The directory O(path) is made
    when missing and kept at mode V(0700); a snapshot just put there (O(snapshot)) is made V(0600),
    with its O(record) written beside it as C(<snapshot>.json), V(0600) too; and of the snapshots
    named C(etcd-snapshot-*.db) only the newest O(keep) stay, each removed with its record.
  - The snapshots' names carry the UTC time they were taken (C(etcd-snapshot-20261124T221500Z.db)),
    so they sort by age.
  - Writes only what differs, each file atomically.
  - On the controller, without become, the module's code runs within C(ansible-playbook)'s own
    process (its action plugin), which saves starting a module; anywhere else the module runs.
  - Standard library only.
extends_documentation_fragment: [raftops.etcd.common]
attributes:
  check_mode:
    details: Reports what would be made, changed or removed (RV(created), RV(removed)) and changes
      nothing.
options:
  path:
    description:
      - The directory of snapshots. It is made, with its parents, when missing, and its mode set to V(0700).
    type: path
    required: true
  snapshot:
    description:
      - The file name (not a path) of a snapshot in O(path), made V(0600). It must be there.
    type: str
  record:
    description:
      - What to write beside O(snapshot) as C(<snapshot>.json), as indented JSON with sorted keys,
        for instance its revision, key count and keyspace hash. Needs O(snapshot).
    type: dict
  keep:
    description:
      - How many of the newest snapshots (C(etcd-snapshot-*.db)) stay; the others are removed,
        each with its C(.json) record. At least V(1). Omitted, none is removed.
    type: int
notes:
  - Every bad option is refused, with all the reasons in one message, before anything changes.
seealso:
  - module: raftops.etcd.etcd_snapshot
    description: Save a verified snapshot from a member.
  - module: raftops.etcd.etcd_snapshot_info
    description: Check a snapshot file and read what it holds.
"""

EXAMPLES = r"""
- name: Make the backup directory before a snapshot comes into it
  raftops.etcd.etcd_snapshot_store:
    path: "{{ inventory_dir }}/etcd-backups"
  delegate_to: localhost
  run_once: true

- name: Record the snapshot just fetched and keep the newest 7
  raftops.etcd.etcd_snapshot_store:
    path: "{{ inventory_dir }}/etcd-backups"
    snapshot: etcd-snapshot-20261124T221500Z.db
    record:
      snapshot: etcd-snapshot-20261124T221500Z.db
      revision: 1234
      keys: 56
    keep: 7
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The directory (O(path)).
  returned: always
  type: str
  sample: /srv/inventory/etcd-backups
created:
  description: Whether the directory was made (or would be, in check mode).
  returned: always
  type: bool
  sample: false
removed:
  description: The snapshots removed, each with its record (or that would be, in check mode), newest first.
  returned: always
  type: list
  elements: str
  sample: [etcd-snapshot-20261116T221500Z.db]
kept:
  description: The snapshots that stay, newest first.
  returned: always
  type: list
  elements: str
  sample: [etcd-snapshot-20261124T221500Z.db, etcd-snapshot-20261123T221500Z.db]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_store import argument_spec, store_result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    result = store_result(module.params, check_mode=module.check_mode)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
