#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_backup_target
short_description: Encrypt etcd snapshots on the controller and keep them in an S3-compatible bucket
version_added: 0.2.0
description:
  - Runs on the controller (C(delegate_to=localhost)). A snapshot is sealed with AES-256-GCM under a key kept on
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
    warning. A backup of format version 1 (which has no such header) is read with a warning that its name is not
    authenticated.
  - V(pruned) deletes the backups beyond the newest O(target.keep) or older than O(target.max_age_days), never the
    newest one; V(listed) lists the backups. V(present) with O(prune) prunes the target after the upload.
  - Backups are compressed (O(compression)) and then sealed to the X25519 public key of O(key_file) (format
    version 3; the lookup P(raftops.etcd.backup_recipient#lookup) gives that public key); backups of versions 1
    and 2 are read too.
  - V(sealed) and V(unsealed) only encrypt O(src) into O(dest) or verify and decrypt it, for targets the module
    does not reach itself (SSH targets, which the role writes with M(ansible.builtin.copy) and reads with
    M(ansible.builtin.fetch)).
  - Only objects named C(etcd-snapshot-*.enc) under the prefix are listed, kept or deleted.
requirements:
  - cryptography
  - boto3 (for the S3 states V(present), V(fetched), V(pruned) and V(listed) only)
extends_documentation_fragment:
  - raftops.etcd.common
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
        description: V(s3) (this module talks to it) or V(ssh) (the role's tasks do; see the description).
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
      host:
        description: Inventory host that keeps the backups (V(ssh)); not used by this module.
        type: str
      path:
        description: Directory on O(target.host) (V(ssh)); not used by this module.
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
      - V(present) - the snapshot to send, or the encrypted backup V(sealed) made of it.
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
    type: str
  cluster_id:
    description: V(present), V(sealed) - etcd's cluster ID, recorded in the authenticated header.
    type: str
  taken:
    description:
      - V(present), V(sealed) - when the snapshot was taken, UTC, C(YYYYMMDDTHHMMSSZ), authenticated in the
        header; now when omitted. V(latest) is the newest by this time.
    type: str
  member:
    description:
      - V(sealed) - the member the snapshot came from. With it, the result holds RV(drill_record), made from the
        snapshot's record beside O(src) (C(<src>.json)); a record missing, unreadable or of another snapshot fails
        the task and nothing is left behind.
    type: str
seealso:
  - module: raftops.etcd.etcd_snapshot_info
    description: Check the decrypted snapshot before a restore.
notes:
  - boto3's C(upload_file) and C(download_file) send and receive large objects in parts.
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
target:
  description: Name of the target.
  returned: when O(target) is given
  type: str
  sample: offsite
object:
  description: Name of the object sent, fetched or sealed (after the prefix).
  returned: V(present), V(fetched), V(sealed), V(unsealed)
  type: str
  sample: etcd-snapshot-20260821T120000Z.db.enc
path:
  description: The file written (O(dest), or for V(sealed) without it the file in RV(dir)).
  returned: V(fetched), V(sealed), V(unsealed)
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
  returned: V(present), V(sealed), and V(fetched) and V(unsealed) when not in check mode
  type: int
  sample: 104890400
sha256:
  description: SHA-256 of the snapshot (the plaintext).
  returned: V(present), V(sealed), and V(fetched) and V(unsealed) when not in check mode
  type: str
  sample: 36767e97361aec6db2ca08680567c245974328fbeca73855657327bb486a2a07
encrypted_size:
  description: Size of the encrypted backup in bytes.
  returned: V(present) and V(sealed) when something was sealed, V(fetched)
  type: int
  sample: 104890896
label:
  description: What the backup's header authenticates - its object name, cluster, etcd cluster ID and time (null for a
    backup of format version 1).
  returned: V(present) and V(sealed) when something was sealed, V(fetched) and V(unsealed) when not in check mode
  type: dict
  sample: {name: etcd-snapshot-20260821T120000Z.db.enc, cluster: etcd/etcd, cluster_id: ef37ad9dc622a7c4,
           time: 20260821T120000Z}
key_id:
  description: Id of the key (the first 8 bytes of its SHA-256, in hex), written in every backup it seals.
  returned: success, except V(listed) and V(pruned)
  type: str
  sample: 4f2a9c01d3b7e655
key_created:
  description: Whether O(key_file) was created by this run.
  returned: V(present), V(sealed)
  type: bool
  sample: false
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
  description: The backups on the target, newest first, with their size and time (seconds since the epoch).
  returned: V(listed), V(pruned), V(present) with O(prune)
  type: list
  elements: dict
  sample: [{name: etcd-snapshot-20260821T120000Z.db.enc, size: 104890896, mtime: 1787313600.0}]
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

import io
import os
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import drill_record


class TargetError(Exception):
    """A target, key or object that cannot be used; the message names it."""


def argument_spec():
    return dict(
        state=dict(type="str", choices=["present", "fetched", "pruned", "listed", "sealed", "unsealed"],
                   default="present"),
        compression=dict(type="str", choices=list(crypto.CODECS), default=crypto.DEFAULT_CODEC),
        target=dict(type="dict", options=dict(
            name=dict(type="str", required=True),
            type=dict(type="str", choices=["s3", "ssh"], default="s3"),
            bucket=dict(type="str"),
            prefix=dict(type="str", default=""),
            endpoint_url=dict(type="str"),
            region=dict(type="str"),
            access_key=dict(type="str", no_log=True),
            secret_key=dict(type="str", no_log=True),
            host=dict(type="str"),
            path=dict(type="str"),
            keep=dict(type="int", default=7),
            max_age_days=dict(type="int", default=30),
        )),
        prune=dict(type="bool", default=False),
        key_file=dict(type="path", required=True, no_log=False),
        src=dict(type="path"),
        dest=dict(type="path"),
        name=dict(type="str"),
        cluster=dict(type="str"),
        cluster_id=dict(type="str"),
        taken=dict(type="str"),
        member=dict(type="str"),
    )


REQUIRED = dict(present=("target", "src"), fetched=("target", "name", "dest"), pruned=("target",),
                listed=("target",), sealed=("src",), unsealed=("src", "dest"))


# -- S3 ------------------------------------------------------------------------------------------


class Bucket:
    """The bucket and prefix of one S3 target, through boto3 (imported only when one is used)."""

    def __init__(self, target):
        self.target = target
        self.name = target["name"]
        self.prefix = target["prefix"] or ""
        try:
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise TargetError("target %s is an S3 target, which needs boto3 on the controller: pip install boto3"
                              % self.name) from None
        self.errors = (BotoCoreError, ClientError)
        self.client_error = ClientError
        self.client = boto3.client(
            "s3", endpoint_url=target["endpoint_url"] or None, region_name=target["region"] or None,
            aws_access_key_id=target["access_key"] or None, aws_secret_access_key=target["secret_key"] or None)

    def where(self):
        return "s3://%s/%s" % (self.target["bucket"], self.prefix)

    def fail(self, doing, exc):
        raise TargetError("target %s (%s): %s failed: %s" % (self.name, self.where(), doing, exc)) from None

    def head(self, name):
        """The object's metadata, or None when it does not exist."""
        try:
            answer = self.client.head_object(Bucket=self.target["bucket"], Key=self.prefix + name)
        except self.client_error as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            self.fail("looking for object %s" % name, exc)
        except self.errors as exc:
            self.fail("looking for object %s" % name, exc)
        return answer.get("Metadata") or {}

    def listing(self):
        """The backups under the prefix: [{name, size, mtime}], newest first."""
        objects = []
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket=self.target["bucket"], Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix):]
                    if crypto.is_backup_object(name):
                        objects.append(dict(name=name, size=item["Size"], mtime=item["LastModified"].timestamp()))
        except self.errors as exc:
            self.fail("listing", exc)
        return crypto.newest_first(objects)

    def upload(self, path, name, metadata):
        try:
            self.client.upload_file(path, self.target["bucket"], self.prefix + name,
                                    ExtraArgs={"Metadata": metadata})
        except self.errors as exc:
            self.fail("uploading object %s" % name, exc)

    def header(self, name, key):
        """The checked header of object ``name`` (crypto.read_header), from its first bytes only;
        the BackupCryptoError it raises when it cannot be read or is not authentic."""
        what = "object %s on target %s" % (name, self.name)
        size = crypto.MAX_HEAD_SIZE
        try:
            answer = self.client.get_object(Bucket=self.target["bucket"], Key=self.prefix + name,
                                            Range="bytes=0-%d" % (size - 1))
            first = answer["Body"].read()
        except self.errors as exc:
            self.fail("reading the header of object %s" % name, exc)
        try:
            return crypto.read_header(io.BytesIO(first), what, key)
        except crypto.BackupCryptoError as exc:
            return exc

    def download(self, name, path):
        try:
            self.client.download_file(self.target["bucket"], self.prefix + name, path)
        except self.errors as exc:
            self.fail("downloading object %s" % name, exc)

    def delete(self, name):
        try:
            self.client.delete_object(Bucket=self.target["bucket"], Key=self.prefix + name)
        except self.errors as exc:
            self.fail("deleting object %s" % name, exc)


# -- the states ----------------------------------------------------------------------------------


def _key(module, create):
    try:
        return crypto.load_key(module.params["key_file"], create=create and not module.check_mode)
    except crypto.BackupCryptoError as exc:
        raise TargetError(str(exc)) from None


def _label(module, name):
    params = module.params
    return crypto.make_label(name, params["cluster"], params["cluster_id"], params["taken"])


def _seal(module, dest, name):
    """Seal src into dest, its header authenticating ``name``, with the key (made when missing); the sealing's report."""
    key, created = _key(module, create=True)
    try:
        result = crypto.encrypt_file(module.params["src"], dest, crypto.recipient(key), _label(module, name),
                                     compression=module.params["compression"])
    except (OSError, crypto.BackupCryptoError) as exc:
        raise TargetError("%s cannot be encrypted: %s" % (module.params["src"], exc)) from None
    result.update(key_created=created)
    return result


def _would_seal(module):
    """What check mode reports of a seal: the snapshot's size and SHA-256, and the key it would use."""
    size, sha256 = _plain_digest(module.params["src"])
    path = module.params["key_file"]
    result = dict(size=size, sha256=sha256, key_created=not os.path.lexists(path), key_id=None)
    if not result["key_created"]:
        result["key_id"] = crypto.key_id(_key(module, create=False)[0])
    return result


def _plain_digest(path):
    try:
        return crypto.file_sha256(path)
    except OSError as exc:
        raise TargetError("%s cannot be read: %s" % (path, exc.strerror)) from None


def _private_temp(near):
    """A private temporary file beside ``near`` (same directory), closed; the caller removes it."""
    descriptor, path = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(near)),
                                        prefix=".%s." % os.path.basename(near), suffix=".part")
    os.close(descriptor)
    return path


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _sealed_header(module, src, name):
    """The checked header of ``src`` when it is already an encrypted backup (sealed once for every
    target), else None; refused when it authenticates another name than ``name``."""
    try:
        with open(src, "rb") as handle:
            if handle.read(len(crypto.MAGIC)) != crypto.MAGIC:
                return None
            handle.seek(0)
            fields = crypto.read_header(handle, src, _key(module, create=False)[0])
        warning = crypto.check_label(fields, src, name)
        if warning:
            module.warn(warning)
        return fields
    except crypto.BackupCryptoError as exc:
        raise TargetError(str(exc)) from None
    except OSError as exc:
        raise TargetError("%s cannot be read: %s" % (src, exc.strerror)) from None


def present(module, bucket):
    src = module.params["src"]
    sealed_already = _is_sealed(src)
    name = module.params["name"] or os.path.basename(src) + ("" if sealed_already else crypto.OBJECT_SUFFIX)
    header = _sealed_header(module, src, name) if sealed_already else None
    if header is None:
        size, sha256 = _plain_digest(src)
    else:
        size, sha256 = header["size"], header["sha256"]
    result = dict(object=name, size=size, sha256=sha256)
    there = bucket.head(name)
    if there is not None and there.get("plaintext-sha256") == sha256:
        result.update(changed=False, key_id=there.get("key-id"), key_created=False)
        return result
    if module.check_mode:
        result.update(_would_seal(module) if header is None else dict(key_id=header["key_id"], key_created=False),
                      changed=True)
        return result
    if header is None:
        sealed = _private_temp(src)
    else:
        sealed = src
        result.update(key_id=header["key_id"], key_created=False, encrypted_size=os.path.getsize(src))
    try:
        if header is None:
            result.update(_seal(module, sealed, name))
        started = time.monotonic()
        bucket.upload(sealed, name, crypto.object_metadata(result["size"], result["sha256"], result["key_id"]))
        seconds = time.monotonic() - started
    finally:
        if header is None:
            _remove(sealed)
    result.update(changed=True, upload_seconds=round(seconds, 3),
                  upload_mib_s=crypto.throughput(result["encrypted_size"], seconds))
    return result


def _is_sealed(src):
    try:
        with open(src, "rb") as handle:
            return handle.read(len(crypto.MAGIC)) == crypto.MAGIC
    except OSError as exc:
        raise TargetError("%s cannot be read: %s" % (src, exc.strerror)) from None


def _open(module, src, dest, what, name):
    """Verify and decrypt ``src``, whose header must authenticate ``name`` (and the cluster, when given)."""
    key = _key(module, create=False)[0]
    try:
        result = crypto.decrypt_file(src, dest, key, what=what, name=name, cluster=module.params["cluster"])
    except crypto.BackupCryptoError as exc:
        raise TargetError(str(exc)) from None
    except OSError as exc:
        raise TargetError("%s cannot be decrypted into %s: %s" % (what, dest, exc.strerror)) from None
    warning = result.pop("warning")
    if warning:
        module.warn(warning)
    return result


def _latest(module, bucket):
    """The newest backup of the target by authenticated time; those that do not authenticate are skipped, with a warning."""
    objects = bucket.listing()
    if not objects:
        raise TargetError("target %s (%s) holds no backup (etcd-snapshot-*.enc)" % (bucket.name, bucket.where()))
    key = _key(module, create=False)[0]
    headers = {item["name"]: bucket.header(item["name"], key) for item in objects}
    name, skipped = crypto.newest_authentic(headers, lambda n: "object %s on target %s" % (n, bucket.name),
                                            module.params["cluster"])
    for problem in skipped:
        module.warn("latest: skipped %s" % problem)
    if name is None:
        raise TargetError("target %s (%s) holds no backup that authenticates: %s"
                          % (bucket.name, bucket.where(), "; ".join(skipped)))
    return name


def fetched(module, bucket):
    name = module.params["name"]
    dest = module.params["dest"]
    if name == "latest":
        name = _latest(module, bucket)
    elif bucket.head(name) is None:
        raise TargetError("target %s (%s) has no object %s" % (bucket.name, bucket.where(), name))
    result = dict(object=name, path=dest, changed=True)
    if module.check_mode:
        return result
    download = _private_temp(dest)
    try:
        started = time.monotonic()
        bucket.download(name, download)
        seconds = time.monotonic() - started
        result.update(encrypted_size=os.path.getsize(download),
                      download_mib_s=crypto.throughput(os.path.getsize(download), seconds))
        result.update(_open(module, download, dest, "object %s on target %s" % (name, bucket.name), name))
    finally:
        _remove(download)
    return result


def pruned(module, bucket):
    target = module.params["target"]
    objects = bucket.listing()
    try:
        kept, deleted = crypto.retention(objects, target["keep"], target["max_age_days"], time.time())
    except ValueError as exc:
        raise TargetError("target %s: %s" % (bucket.name, exc)) from None
    if not module.check_mode:
        for name in deleted:
            bucket.delete(name)
    return dict(changed=bool(deleted), objects=objects, kept=kept, deleted=deleted)


def listed(_module, bucket):
    return dict(changed=False, objects=bucket.listing())


def sealed(module):
    dest, name = module.params["dest"], module.params["name"]
    if not (dest or name):
        raise TargetError("state is sealed but the following are missing: dest or name")
    name = name or os.path.basename(dest)
    result = dict(object=name, path=dest, changed=True)
    if module.check_mode:
        result.update(_would_seal(module))
        return result
    made = None
    if not dest:
        made = tempfile.mkdtemp(suffix=".etcd-backup")
        dest = result["path"] = os.path.join(made, name)
    try:
        result.update(_seal(module, dest, name))
        # What each target's copy must be, byte for byte (the members' drill checks it).
        result["sealed_size"], result["sealed_sha256"] = crypto.file_sha256(dest)
        if module.params["member"]:
            result["drill_record"] = _drill_record(module.params["src"], result, module.params["member"])
    except (TargetError, OSError):
        if made:
            shutil.rmtree(made, ignore_errors=True)
        raise
    if made:
        result["dir"] = made
    return result


def _drill_record(src, result, member):
    """The members' drill record of the backup just sealed (etcd_backup_plan.drill_record), from the
    snapshot's record ``<src>.json`` the backup playbook wrote beside it."""
    try:
        with open(src + ".json", encoding="utf-8") as record:
            text = record.read()
        return drill_record(text, result, None, member)
    except (OSError, ValueError) as exc:
        raise TargetError("cannot make the drill record of %s from %s.json: %s" % (src, src, exc)) from None


def unsealed(module):
    target = module.params["target"]
    src, dest = module.params["src"], module.params["dest"]
    name = module.params["name"] or os.path.basename(src)
    what = "object %s on target %s" % (name, target["name"]) if target else src
    result = dict(object=name, path=dest, changed=True)
    if not module.check_mode:
        result.update(_open(module, src, dest, what, name))
    return result


S3_ACTIONS = dict(present=present, fetched=fetched, pruned=pruned, listed=listed)
LOCAL_ACTIONS = dict(sealed=sealed, unsealed=unsealed)


def run(module):
    state = module.params["state"]
    missing = [option for option in REQUIRED[state] if not module.params[option]]
    if missing:
        raise TargetError("state is %s but the following are missing: %s" % (state, ", ".join(missing)))
    target = module.params["target"]
    if state in S3_ACTIONS:
        if target["type"] != "s3":
            raise TargetError("target %s is an %s target: state %s works on S3 targets; the role's tasks write, "
                              "prune and fetch the others" % (target["name"], target["type"], state))
        if not target["bucket"]:
            raise TargetError("target %s is an S3 target without a bucket" % target["name"])
        bucket = Bucket(target)
        result = S3_ACTIONS[state](module, bucket)
        if state == "present" and module.params["prune"]:
            prune = pruned(module, bucket)
            result.update(prune, changed=result["changed"] or prune["changed"])
    else:
        result = LOCAL_ACTIONS[state](module)
    if target:
        result["target"] = target["name"]
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not crypto.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(crypto.CRYPTOGRAPHY_IMPORT_ERROR))
    try:
        result = run(module)
    except TargetError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
