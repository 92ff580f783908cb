#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_snapshot_info
short_description: Check an etcd v3 snapshot file and read what it holds
version_added: 1.0.0
description:
  - Checks the snapshot file O(src) without etcd running (see O(src) for the checks) and returns its size,
    hashes, revision and key count.
  - When C(etcdutl) or C(etcdctl) is available (see O(etcdutl_path)) it also runs its C(snapshot status),
    which gives RV(hash) and the revision and counts etcd itself reads; without one they are read from the file,
    and each program found but not usable is a warning.
  - Never changes anything. Runs on any host with python3, the controller included.
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.snapshot_file]
attributes:
  check_mode:
    details: The module only reads, so it runs in check mode exactly as without it.
seealso:
  - module: raftops.etcd.etcd_snapshot
    description: Save a verified snapshot from a member.
  - module: raftops.etcd.etcd_snapshot_restore
    description: Restore a snapshot into a new data directory; it checks the file the same way first.
"""

EXAMPLES = r"""
- name: Check a snapshot before relying on it
  raftops.etcd.etcd_snapshot_info:
    src: /var/backups/etcd/etcd-20260821T1200.db
  register: etcd_snapshot_check

- name: Show what it holds
  ansible.builtin.debug:
    msg: "revision {{ etcd_snapshot_check.revision }}, {{ etcd_snapshot_check.total_key }} keys"

- name: Check a snapshot on the controller, with the etcdutl there
  raftops.etcd.etcd_snapshot_info:
    src: etcd-backups/etcd-snapshot-20261121T201133Z.db
    etcdutl_path: /opt/etcd/etcdutl
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: O(src), the snapshot file read.
  returned: always
  type: str
  sample: /var/backups/etcd/etcd-20260821T1200.db
size:
  description: Size of the snapshot file in bytes, database plus the 32-byte SHA-256 trailer.
  returned: success, and on a failed check when the file exists
  type: int
  sample: 104890400
db_size:
  description: Size of the bbolt database in the file.
  returned: success, and on a failed check when the file exists
  type: int
  sample: 104890368
sha256:
  description: SHA-256 of the whole file, trailer included, for comparison with a copy elsewhere.
  returned: success, and on a failed check when the file exists
  type: str
  sample: 36767e97361aec6db2ca08680567c245974328fbeca73855657327bb486a2a07
hash_expected:
  description: The SHA-256 in the file's trailer, which etcd computed when it sent the snapshot.
  returned: success, and on a failed check when the size allows a trailer
  type: str
  sample: e12c9b8fbfc5a35b763b6f7218097da69516bed7a7c3ba9b1a619257877844df
hash_actual:
  description: The SHA-256 of the database as read; equal to RV(hash_expected) for a sound snapshot.
  returned: success, and on a failed check when the size allows a trailer
  type: str
  sample: e12c9b8fbfc5a35b763b6f7218097da69516bed7a7c3ba9b1a619257877844df
page_size:
  description: bbolt page size of the database.
  returned: success, and on a failed check when the meta page gives one
  type: int
  sample: 4096
checks:
  description: Outcome of each file check; V(null) when it could not be run.
  returned: success, and on a failed check
  type: dict
  contains:
    size_aligned:
      description: The size is a multiple of 512 plus 32.
      type: bool
    hash_ok:
      description: The trailer is the SHA-256 of the data before it.
      type: bool
    page_aligned:
      description: The database is a whole number of pages and holds every page its meta page counts.
      type: bool
    meta_ok:
      description: Both bbolt meta pages are valid.
      type: bool
  sample: {size_aligned: true, hash_ok: true, page_aligned: true, meta_ok: true}
revision:
  description:
    - The etcd revision the snapshot was taken at, read from the database (the last key of its C(key)
      bucket), or from C(snapshot status) when a tool ran.
  returned: success
  type: int
  sample: 100051
total_key:
  description: Number of entries in all buckets of the database, as C(etcdutl snapshot status) counts them.
  returned: success
  type: int
  sample: 100056
total_size:
  description: Bytes of the database in use, as C(etcdutl snapshot status) reports it.
  returned: success
  type: int
  sample: 104890368
hash:
  description: C(snapshot status)'s hash of the keys and values (CRC-32C), or V(null) when no tool ran.
  returned: success
  type: int
  sample: 2010096040
status_source:
  description: Where RV(revision), RV(total_key) and RV(total_size) come from, V(etcdutl), V(etcdctl) or V(file).
  returned: success
  type: str
  sample: etcdutl
tool:
  description: The C(etcdutl) or C(etcdctl) program used, or V(null).
  returned: success
  type: str
  sample: /usr/local/bin/etcdutl
tool_version:
  description: Version of RV(tool), or V(null).
  returned: success
  type: str
  sample: 3.5.1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_host import inspect, run_module


def argument_spec():
    return dict(
        src=dict(type="path", required=True),
        etcdutl_path=dict(type="path"),
    )


def check(module):
    result, _tool, warnings = inspect(module, module.params["src"], module.params["etcdutl_path"])
    return dict(result, changed=False, warnings=warnings)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, check)


if __name__ == "__main__":
    main()
