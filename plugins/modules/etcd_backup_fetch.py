#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_backup_fetch
short_description: Bring a backup of an off-host target to the controller, verified and decrypted
version_added: 1.0.0
description:
  - Internal to the C(raftops.etcd.etcd) role; its restore and restore drill fetch a backup with it
    (O(raftops.etcd.etcd#role:main:etcd_restore_target)).
  - Makes a private directory (mode V(0700)) inside O(dir) on the controller and leaves there the
    decrypted snapshot C(etcd-snapshot.db), every chunk verified with O(key_file); the caller removes
    the directory (RV(dir)). When anything fails the directory is removed and nothing is left.
  - An S3 target is read on the controller (M(raftops.etcd.etcd_backup_target), V(fetched)), so run the task
    there. An SSH target is read on its host, so delegate the task to it with become (the backups are root's);
    the heads of its backups are read there, authenticated on the controller to choose V(latest) (the
    newest by the time its authenticated header says, as on an S3 target), and the one chosen is read
    and decrypted on the controller.
  - A truncated, tampered, foreign-key or renamed backup, one of another cluster than O(cluster), or one not signed
    by the cluster's controller or one of O(members) (its Ed25519 signature, with the keys derived from O(key_file)),
    fails the task naming it and its target; V(latest) skips those, with a warning each.
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.point_in_time]
attributes:
  action:
    description: Runs as an action plugin; the controller decrypts.
    support: full
  check_mode:
    support: none
    details: Writes only in its private directory on the controller; the role runs it with C(check_mode=false).
options:
  target:
    description:
      - The target, as the role's C(etcd_backup_targets) lists it, with its defaults (what
        the action C(raftops.etcd.etcd_plan)'s V(fetch) stage returns). Never shown.
    type: dict
    required: true
  name:
    description: The object to fetch, or V(latest).
    type: str
    required: true
  dir:
    description: The controller's directory the private directory is made in (the role's C(etcd_backup_dir)).
    type: path
    required: true
  key_file:
    description: The controller's key file the backups were sealed with.
    type: path
    required: true
  cluster:
    description: The cluster the backup's authenticated header must name; any when empty.
    type: str
    default: ""
  members:
    description:
      - The names of the cluster's members (the inventory's); a backup counts when the controller or one of them
        signed it.
    type: list
    elements: str
    default: []
  point:
    description:
      - A point in time to restore to (C(docs/backup-restore.md), "Point-in-time restore").
        O(name) is then ignored; the newest full backup at or before it is decrypted, and the change stream's
        revisions after it up to the point are written beside it (RV(replay)). See M(raftops.etcd.etcd_backup_target).
      - From an SSH target (since 1.1.0) the full backup and the segments are read on its host as root, one command each,
        and chosen, verified and decrypted on the controller as from an S3 target.
    type: dict
    version_added: 1.0.0
seealso:
  - module: raftops.etcd.etcd_backup_target
    description: Seal, send, prune and fetch backups of S3 targets.
"""

EXAMPLES = r"""
- name: Find the target
  raftops.etcd.etcd_plan:
    stage: fetch
    settings:
      targets: "{{ etcd_backup_targets }}"
      target: vault
    refuse: true
  register: plan

- name: Bring the backup to the controller, verified and decrypted
  raftops.etcd.etcd_backup_fetch:
    target: "{{ plan.target }}"
    name: latest
    dir: ~/etcd-backups
    key_file: ~/etcd-backups/backup.key
    cluster: etcd/etcd
  delegate_to: "{{ plan.target.host | default('localhost') }}"
  become: "{{ plan.target.type == 'ssh' }}"
  check_mode: false
  register: fetched
"""

RETURN = r"""
path:
  description: The decrypted snapshot.
  returned: success
  type: str
  sample: /home/ops/etcd-backups/tmpk2j3.etcd-restore/etcd-snapshot.db
dir:
  description: The private directory it is in, for the caller to remove.
  returned: success
  type: str
  sample: /home/ops/etcd-backups/tmpk2j3.etcd-restore
object:
  description: The object fetched (for V(latest), the one it resolved to).
  returned: success
  type: str
  sample: etcd-snapshot-20261126T030000Z.enc
replay:
  description: With O(point), the file of the revisions to replay on the snapshot, in RV(dir).
  returned: with O(point)
  type: str
  version_added: 1.0.0
  sample: /home/ops/etcd-backups/tmpk2j3.etcd-restore/replay.json
reached:
  description: With O(point), the last revision the replay reaches.
  returned: with O(point)
  type: int
  version_added: 1.0.0
  sample: 4300
shown:
  description: How the restore's report names the backup.
  returned: success
  type: str
  sample: latest (etcd-snapshot-20261126T030000Z.enc) of target vault
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_fetch import MODULE, argument_spec


def main():
    # The action plugin of the same name does the work: nothing here runs on a host.
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=False)
    module.fail_json(msg="%s runs as an action plugin only" % MODULE)


if __name__ == "__main__":
    main()
