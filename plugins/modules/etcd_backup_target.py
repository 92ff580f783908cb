#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_backup_target
short_description: Encrypt etcd snapshots on the controller and keep them in an S3-compatible bucket or over SSH
version_added: 1.0.0
description:
  - Works on the controller, within C(ansible-playbook) wherever the task is delegated (C(delegate_to=localhost) says
    so), except V(present) to an SSH target (see below). A snapshot is sealed with AES-256-GCM under a key kept on
    the controller (O(key_file)) before it leaves it, in chunks of 4 MiB, each bound to its place and to an
    authenticated header that holds the snapshot's size and SHA-256.
  - V(present) seals O(src) and uploads it to the bucket of O(target) as C(<prefix><name>); an object already there
    under that name with the same snapshot SHA-256 in its metadata is not sent again. When O(src) is already an
    encrypted backup (made by V(sealed), so one snapshot is sealed once for several targets), its header is checked
    against the key and the file is uploaded as it is.
  - V(fetched) downloads one object (or the newest), verifies every chunk and decrypts it into O(dest), which is
    written only when all of it verified. A truncated or tampered object, or one sealed with another key, is
    refused with a message naming the object, the target and which of these it is.
  - Every backup's encrypted header authenticates, with its content, the object's name, the cluster it is a backup
    of (O(cluster)), etcd's cluster ID (O(cluster_id)) and when the snapshot was taken (O(taken)). An object renamed
    or copied under another name, or (with O(cluster)) a backup of another cluster, is refused naming both.
    V(latest) is the newest by that authenticated time; the objects that do not authenticate are skipped with a
    warning, and so are those whose time is no UTC time or later than now.
  - Every backup's header is signed (Ed25519) by whoever made it - the controller (V(present), V(sealed)) or a
    member's push - with a key derived from O(key_file) for that signer alone. V(latest), V(fetched) and the
    prune take a backup only when its signer is the controller or one of O(members) and its signature verifies;
    a backup sealed with the public key alone (anyone with it can seal one) is skipped by V(latest) and refused
    when named. Only the current format, version 4, is read; older ones, which nothing released wrote, were not
    signed.
  - V(pruned) judges every object under the prefix by its header alone (a range read of its first bytes) - only
    backups whose header verifies (signed by this cluster's signers, of O(cluster), under their own name, no later
    than now) count, ordered by that verified time; those beyond the newest O(target.keep) or taken more than
    O(target.max_age_days) ago are deleted, never the newest verified one. An object that does not verify is
    neither kept nor deleted, and named in a warning (RV(unverified)). V(listed) lists the backups. V(present) with
    O(prune) prunes the target after the upload; a prune that fails then (credentials that may not delete) does not
    fail the task, whose backup is there, and a warning and RV(prune_error) say so.
  - V(present) shows a line in the run's output for the copy it made or found there (where, the object, its size
    and for S3 the upload's speed, or that it was already there; with O(prune) how many backups the target keeps
    and which it deleted), not in check mode.
  - Backups are compressed (O(compression)) and then sealed to the X25519 public key of O(key_file) (format
    version 4; the lookup P(raftops.etcd.backup_recipient#lookup) gives that public key and a member's signing
    key).
  - V(present) to an SSH target (O(target.type=ssh)) runs on the task's host, which the task is delegated to
    (O(target.host), with become, its own connection settings applying). O(src) must be an encrypted backup (made
    by V(sealed)), copied from the controller and written into O(target.path) (made root's, mode 0700) as
    O(name) (root's, mode 0600) only when no backup is there under that name; a backup already there is not sent
    again. With O(prune), the target is pruned as an S3 target is - the heads of its backups are read there as
    root with one command and verified on the controller, and those the retention deletes are removed. The host
    needs no Python library beyond its own.
  - V(sealed) and V(unsealed) only encrypt O(src) into O(dest) or verify and decrypt it.
  - Only objects named C(etcd-snapshot-*.enc) under the prefix are listed, kept or deleted.
requirements:
  - cryptography
  - boto3 (for the S3 states V(present), V(fetched), V(pruned) and V(listed) only)
  - cryptography and boto3 are needed on the controller only
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.point_in_time]
attributes:
  check_mode:
    details: Nothing is sealed, uploaded, downloaded or deleted; the result says what would be.
options:
  state:
    description:
      - What to do; see the description.
    type: str
    choices: [present, fetched, pruned, listed, sealed, unsealed]
    default: present
  compression:
    description:
      - V(present), V(sealed) - how the snapshot is compressed before it is encrypted, recorded in the
        authenticated header.
    type: str
    choices: [none, zlib, lzma]
    default: zlib
  target:
    description:
      - The target, as an item of the role's C(etcd_backup_targets). Required except for V(sealed) and V(unsealed),
        where it only names the target in messages.
    type: dict
    suboptions:
      name:
        description: Name of the target, shown in every message.
        type: str
        required: true
      type:
        description: V(s3) or V(ssh) (for V(present) only; the role fetches from it itself).
        type: str
        choices: [s3, ssh]
        default: s3
      bucket:
        description: The bucket (V(s3)).
        type: str
      prefix:
        description: Prepended to object names (V(s3)), like V(etcd/prod/).
        type: str
        default: ""
      endpoint_url:
        description: URL of an S3-compatible service (MinIO, Ceph, ...); AWS when omitted.
        type: str
      region:
        description: Region of the bucket.
        type: str
      access_key:
        description: Access key id; boto3's usual credentials (environment, profile, instance role) when omitted.
        type: str
      secret_key:
        description: Secret access key, with O(target.access_key).
        type: str
      part_size_mib:
        description: The size of the parts an object is sent and fetched in, in MiB (S3 takes 5 to 5120).
        type: int
        default: 8
        version_added: 1.0.0
      host:
        description: Inventory host that keeps the backups (V(ssh)); the task is delegated to it.
        type: str
      path:
        description: Directory on O(target.host), an absolute path (V(ssh)).
        type: str
      keep:
        description: Backups kept on the target by V(pruned), at least 1.
        type: int
        default: 7
      max_age_days:
        description: Backups older than this many days are deleted by V(pruned) (the newest never); 0 for no age limit.
        type: int
        default: 30
  prune:
    description:
      - V(present) - after the upload, prune the target as V(pruned) does, in the same call.
    type: bool
    default: false
  key_file:
    description:
      - The key, base64 of 32 random bytes, readable by its owner only (mode 0600; a key others can read, or not
        32 bytes long, is refused).
      - V(present) and V(sealed) create it, mode 0600, when it does not exist. Keep a copy of it somewhere safe
        and apart from the backups - without it no backup can be read.
    type: path
    required: true
  src:
    description:
      - V(present) - the snapshot to send, or the encrypted backup V(sealed) made of it (only that for an SSH
        target), on the controller.
      - V(sealed) - the snapshot to seal.
      - V(unsealed) - the encrypted backup to open.
    type: path
  dest:
    description:
      - V(fetched), V(unsealed) - where the decrypted snapshot is written (mode 0600).
      - V(sealed) - where the encrypted backup is written (mode 0600); when omitted, into a private temporary
        directory the module makes (RV(dir)), named O(name), which the caller removes.
    type: path
  name:
    description:
      - V(present) - the object's name after the prefix; defaults to the file name of O(src) with C(.enc) added.
      - V(fetched) - the object to fetch, or V(latest) for the newest.
      - V(sealed) - the object's name the header authenticates; defaults to the file name of O(dest) (required
        without O(dest)).
      - V(unsealed) - the object's name the header must authenticate; defaults to the file name of O(src).
    type: str
  cluster:
    description:
      - V(present), V(sealed) - the cluster the backup is of, authenticated in its header.
      - V(fetched), V(unsealed) - a backup of another cluster is refused; not checked when omitted.
      - V(pruned), V(present) with O(prune) - only backups of this cluster count; not checked when omitted.
    type: str
  members:
    description:
      - The names of the cluster's members (the inventory's). A backup counts - for V(latest), V(fetched),
        V(unsealed) and the prune - only when the controller or one of them signed it, with the key derived from
        O(key_file) for that signer.
    type: list
    elements: str
    default: []
  cluster_id:
    description: V(present), V(sealed) - etcd's cluster ID, recorded in the authenticated header.
    type: str
  taken:
    description:
      - V(present), V(sealed) - when the snapshot was taken, UTC, C(YYYYMMDDTHHMMSSZ), authenticated in the
        header; now when omitted. V(latest) is the newest by this time.
    type: str
  revision:
    description:
      - V(present), V(sealed) - the snapshot's revision, authenticated in the header, where the members' change
        stream of a cluster starts when no segment of it is on the targets yet (C(docs/backup-restore.md)).
    type: int
    version_added: 1.1.0
  member:
    description:
      - V(sealed) - the member the snapshot came from. With it, the result holds RV(drill_record), made from the
        snapshot's record beside O(src) (C(<src>.json)); a record missing, unreadable or of another snapshot fails
        the task and nothing is left behind.
    type: str
  point:
    description:
      - V(fetched) - a point in time to restore to (C(docs/backup-restore.md), "Point-in-time restore"). Instead of
        O(name), the newest full backup taken at or before it is decrypted into O(dest), and the revisions of the
        change stream's segments (C(etcd-stream-<first>-<last>.enc), each verified and decrypted) after it up to
        the point are written beside it, as C(replay.json), for the replay (RV(replay)). A tampered segment, one
        of another cluster, or a gap before the point fails the task, naming them.
    type: dict
    version_added: 1.0.0
seealso:
  - module: raftops.etcd.etcd_snapshot_info
    description: Check the decrypted snapshot before a restore.
notes:
  - boto3's managed transfer sends and receives an object larger than O(target.part_size_mib) in parts, and
    botocore retries what fails (its retry mode and attempts, which C(AWS_RETRY_MODE) and C(AWS_MAX_ATTEMPTS) set). The
    members' push uses the same client (Debian's C(python3-boto3)).
  - The SHA-256 of the snapshot is stored in the clear in the object's metadata and header (for the idempotence
    check); the snapshot's contents are not.
"""

EXAMPLES = r"""
- name: Send a snapshot to a bucket
  raftops.etcd.etcd_backup_target:
    target:
      name: offsite
      bucket: etcd-backups
      prefix: prod/
      endpoint_url: https://s3.example.com
    key_file: "{{ inventory_dir }}/etcd-backup.key"
    src: "{{ inventory_dir }}/etcd-backups/etcd-snapshot-20260821T120000Z.db"
  delegate_to: localhost
  register: sent

- name: Keep the newest 7, none older than 30 days
  raftops.etcd.etcd_backup_target:
    state: pruned
    target: {name: offsite, bucket: etcd-backups, prefix: prod/, keep: 7, max_age_days: 30}
    key_file: "{{ inventory_dir }}/etcd-backup.key"
  delegate_to: localhost

- name: Fetch the newest backup, verified and decrypted
  raftops.etcd.etcd_backup_target:
    state: fetched
    target: {name: offsite, bucket: etcd-backups, prefix: prod/}
    key_file: "{{ inventory_dir }}/etcd-backup.key"
    name: latest
    dest: /root/restore/etcd-snapshot.db
  delegate_to: localhost
"""

RETURN = r"""
replay:
  description: With O(point), the file of the revisions to replay on the full backup, beside O(dest).
  returned: with O(point)
  type: str
  version_added: 1.0.0
  sample: /home/ops/etcd-backups/tmpk2j3.etcd-restore/replay.json
backup_revision:
  description: With O(point), the revision of the full backup taken.
  returned: with O(point)
  type: int
  version_added: 1.0.0
  sample: 4242
segments:
  description: With O(point), the segments of the change stream replayed, in order.
  returned: with O(point)
  type: list
  elements: str
  version_added: 1.0.0
  sample: [etcd-stream-0000000000004243-0000000000004300.enc]
reached:
  description: With O(point), the last revision the replay reaches.
  returned: with O(point)
  type: int
  version_added: 1.0.0
  sample: 4300
reached_time:
  description: With O(point), when the change stream received RV(reached) (RFC 3339, UTC); null when nothing is replayed.
  returned: with O(point)
  type: str
  version_added: 1.0.0
  sample: "2026-11-28T14:03:06.71Z"
target:
  description: Name of the target.
  returned: when O(target) is given
  type: str
  sample: offsite
object:
  description: Name of the object sent, fetched or sealed (after the prefix; on an SSH target, its file name).
  returned: V(present), V(fetched), V(sealed), V(unsealed)
  type: str
  sample: etcd-snapshot-20260821T120000Z.db.enc
path:
  description: The file written (O(dest), or for V(sealed) without it the file in RV(dir); for an SSH target the
    backup's path on its host).
  returned: V(fetched), V(sealed), V(unsealed), V(present) to an SSH target
  type: str
  sample: /root/restore/etcd-snapshot.db
dir:
  description: The private temporary directory V(sealed) made for the encrypted backup, without O(dest).
  returned: V(sealed) without O(dest), when not in check mode
  type: str
  sample: /tmp/tmpk2x8w1.etcd-backup
sealed_size:
  description: Size in bytes of the encrypted backup written.
  returned: V(sealed) when not in check mode
  type: int
  sample: 104890896
sealed_sha256:
  description: SHA-256 of the encrypted backup written, as the copies on the targets must hold it.
  returned: V(sealed) when not in check mode
  type: str
  sample: 9a1c0e3f5b7d2e4a6c8b0d1f3e5a7c9b2d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c
drill_record:
  description:
    - The record the members' scheduled drill proves this backup against - the snapshot's record with the object's
      name, the snapshot's SHA-256 and key id, the sealed copy's size and SHA-256 and O(member) - as the members'
      push writes it.
  returned: V(sealed) with O(member), when not in check mode
  type: dict
size:
  description: Size of the snapshot (the plaintext) in bytes.
  returned: V(present) to an S3 target, V(sealed), and V(fetched) and V(unsealed) when not in check mode
  type: int
  sample: 104890400
sha256:
  description: SHA-256 of the snapshot (the plaintext).
  returned: V(present), V(sealed), and V(fetched) and V(unsealed) when not in check mode
  type: str
  sample: 36767e97361aec6db2ca08680567c245974328fbeca73855657327bb486a2a07
encrypted_size:
  description: Size of the encrypted backup in bytes.
  returned: V(present) and V(sealed) when something was sealed or sent sealed, V(fetched)
  type: int
  sample: 104890896
label:
  description: What the backup's header authenticates - its object name, cluster, etcd cluster ID and time.
  returned: V(present) and V(sealed) when something was sealed, V(fetched) and V(unsealed) when not in check mode
  type: dict
  sample: {name: etcd-snapshot-20260821T120000Z.db.enc, cluster: etcd/etcd, cluster_id: ef37ad9dc622a7c4,
           time: 20260821T120000Z}
key_id:
  description: Id of the key (the first 8 bytes of its SHA-256, in hex), written in every backup it seals.
  returned: success, except V(listed), V(pruned) and V(present) to an SSH target
  type: str
  sample: 4f2a9c01d3b7e655
key_created:
  description: Whether O(key_file) was created by this run.
  returned: V(present) to an S3 target, V(sealed)
  type: bool
  sample: false
sent:
  description: Whether the backup was sent; false when one was already on the target under its name.
  returned: V(present)
  type: bool
  sample: true
compression:
  description: How the snapshot was compressed before encryption (none, zlib or lzma).
  returned: V(present) and V(sealed) when something was sealed, V(fetched) and V(unsealed) when not in check mode
  type: str
  sample: zlib
compressed_size:
  description: Size in bytes of the compressed snapshot the backup holds.
  returned: V(present) and V(sealed) when something was sealed, V(fetched) and V(unsealed) when not in check mode
  type: int
  sample: 20480311
encrypt_seconds:
  description: Seconds spent sealing the snapshot.
  returned: V(present) and V(sealed) when something was sealed
  type: float
  sample: 0.41
encrypt_mib_s:
  description: Encryption throughput in MiB/s of snapshot.
  returned: V(present) and V(sealed) when something was sealed
  type: float
  sample: 243.9
upload_seconds:
  description: Seconds spent uploading.
  returned: V(present) when something was uploaded
  type: float
  sample: 1.2
upload_mib_s:
  description: Upload throughput in MiB/s of encrypted backup.
  returned: V(present) when something was uploaded
  type: float
  sample: 83.4
download_mib_s:
  description: Download throughput in MiB/s.
  returned: V(fetched) when not in check mode
  type: float
  sample: 120.5
decrypt_mib_s:
  description: Throughput in MiB/s of verifying and decrypting.
  returned: V(fetched) and V(unsealed) when not in check mode
  type: float
  sample: 310.2
objects:
  description: The backups on the target, by name (the last first), with their size and time (seconds since the epoch).
  returned: V(listed), V(pruned), V(present) with O(prune) to an S3 target
  type: list
  elements: dict
  sample: [{name: etcd-snapshot-20260821T120000Z.db.enc, size: 104890896, mtime: 1787313600.0}]
unverified:
  description: Why each object under the target that does not verify was neither kept nor deleted (an operator decides).
  returned: V(pruned), V(present) with O(prune)
  type: list
  elements: str
  sample: ["object etcd-snapshot-20990101T000000Z.db.enc on target offsite: its signature by controller does not verify: a changed or forged header"]
prune_error:
  description: Why the prune after the upload failed (the backup was sent); the old backups stay.
  returned: V(present) with O(prune), when the prune failed
  type: str
  sample: "target offsite (s3://etcd-backups/prod/): deleting object etcd-snapshot-20260701T120000Z.db.enc failed: AccessDenied"
kept:
  description: Names of the backups kept, newest first.
  returned: V(pruned), V(present) with O(prune)
  type: list
  elements: str
  sample: [etcd-snapshot-20260821T120000Z.db.enc]
deleted:
  description: Names of the backups deleted (or that would be, in check mode).
  returned: V(pruned), V(present) with O(prune)
  type: list
  elements: str
  sample: [etcd-snapshot-20260701T120000Z.db.enc]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_target import TargetError, argument_spec, on_host, run


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # An SSH target's host only writes and prunes the encrypted backup it is sent: it needs no cryptography.
    if not crypto.HAS_CRYPTOGRAPHY and not on_host(module.params):
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(crypto.CRYPTOGRAPHY_IMPORT_ERROR))
    try:
        result = run(module)
    except TargetError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
