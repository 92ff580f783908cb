# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What raftops.etcd.etcd_backup_target does (plugins/modules/etcd_backup_target.py documents it):
``run(module)`` on anything with the module's ``params``, ``check_mode`` and ``warn()``. The action
(plugins/action/etcd_backup_target.py) runs it within ansible-playbook for the controller's states
(S3 targets, sealing); the module runs it on an SSH target's host for V(present) there."""

import io
import os
import shutil
import stat
import tempfile
import time

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
        crypto.check_label(fields, src, name)
        return fields
    except crypto.BackupCryptoError as exc:
        raise TargetError(str(exc)) from None
    except OSError as exc:
        raise TargetError("%s cannot be read: %s" % (src, exc.strerror)) from None


def present(module, bucket):
    src = module.params["src"]
    sealed_already = is_sealed(src)
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


def is_sealed(src):
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


# -- SSH, on the target's host -------------------------------------------------------------------


def _owned(path, mode):
    """Make ``path`` root's with ``mode``: whether anything changed."""
    info = os.stat(path)
    changed = False
    if (info.st_uid, info.st_gid) != (0, 0):
        os.chown(path, 0, 0)
        changed = True
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)
        changed = True
    return changed


def ssh_present(module):
    """The encrypted backup ``src`` (the action's copy from the controller) written into the target's
    directory (root's, 0700) as ``name`` (root's, 0600) when no backup is there under that name; a
    backup already there is not written again. With ``prune``, the target is then pruned to its
    retention (crypto.retention, as an S3 target is)."""
    target, src = module.params["target"], module.params["src"]
    directory = target["path"]
    if not directory or not os.path.isabs(directory):
        raise TargetError("target %s is an SSH target without an absolute path: %r; nothing was sent"
                          % (target["name"], directory))
    name = module.params["name"] or os.path.basename(src)
    dest = os.path.join(directory, name)
    where = "target %s (%s)" % (target["name"], directory)
    if not is_sealed(src):
        raise TargetError("%s is not an encrypted backup: nothing is written to %s unencrypted" % (src, where))
    result = dict(object=name, path=dest, changed=False, sent=False, encrypted_size=os.path.getsize(src))
    try:
        if not os.path.isdir(directory):
            result["changed"] = True
            if not module.check_mode:
                os.makedirs(directory, 0o700)
        if not module.check_mode:
            result["changed"] = _owned(directory, 0o700) or result["changed"]
        if not os.path.lexists(dest):
            result.update(changed=True, sent=True)
            if not module.check_mode:
                _write_copy(src, dest)
        if module.params["prune"]:
            prune = _ssh_prune(module, directory, name, where)
            result.update(prune, changed=result["changed"] or bool(prune["deleted"]))
    except OSError as exc:
        raise TargetError("%s: writing %s failed: %s" % (where, name, exc)) from None
    return result


def _write_copy(src, dest):
    """``src`` copied to ``dest`` (root's, 0600) through a private file beside it, renamed when complete."""
    part = _private_temp(dest)
    try:
        shutil.copyfile(src, part)
        _owned(part, 0o600)
        os.rename(part, dest)
    except BaseException:
        _remove(part)
        raise


def _ssh_prune(module, directory, name, where):
    """The target's backups (``etcd-snapshot-*.enc``) and which its retention keeps and deletes."""
    target = module.params["target"]
    objects = []
    # In check mode a directory yet to be made holds nothing.
    for entry in list(os.scandir(directory)) if os.path.isdir(directory) else []:
        if crypto.is_backup_object(entry.name) and entry.is_file(follow_symlinks=False):
            info = entry.stat(follow_symlinks=False)
            objects.append(dict(name=entry.name, size=info.st_size, mtime=info.st_mtime))
    if module.check_mode and name not in [o["name"] for o in objects]:
        objects.append(dict(name=name, size=None, mtime=time.time()))
    objects = crypto.newest_first(objects)
    try:
        kept, deleted = crypto.retention(objects, target["keep"], target["max_age_days"], time.time())
    except ValueError as exc:
        raise TargetError("%s: %s" % (where, exc)) from None
    if not module.check_mode:
        for each in deleted:
            os.unlink(os.path.join(directory, each))
    return dict(objects=objects, kept=kept, deleted=deleted)


S3_ACTIONS = dict(present=present, fetched=fetched, pruned=pruned, listed=listed)
LOCAL_ACTIONS = dict(sealed=sealed, unsealed=unsealed)


def on_host(params):
    """Whether the module runs on the task's host rather than within ansible-playbook: V(present) to
    an SSH target, which writes on that target's host (the task delegated there)."""
    target = params.get("target") or {}
    return params.get("state", "present") == "present" and target.get("type") == "ssh"


def run(module):
    state = module.params["state"]
    missing = [option for option in REQUIRED[state] if not module.params[option]]
    if missing:
        raise TargetError("state is %s but the following are missing: %s" % (state, ", ".join(missing)))
    target = module.params["target"]
    if on_host(module.params):
        result = ssh_present(module)
    elif state in S3_ACTIONS:
        if target["type"] != "s3":
            raise TargetError("target %s is an %s target: state %s works on S3 targets; the role's tasks "
                              "fetch from the others" % (target["name"], target["type"], state))
        if not target["bucket"]:
            raise TargetError("target %s is an S3 target without a bucket" % target["name"])
        bucket = Bucket(target)
        result = S3_ACTIONS[state](module, bucket)
        if state == "present":
            result["sent"] = result["changed"]
        if state == "present" and module.params["prune"]:
            prune = pruned(module, bucket)
            result.update(prune, changed=result["changed"] or prune["changed"])
    else:
        result = LOCAL_ACTIONS[state](module)
    if target:
        result["target"] = target["name"]
    return result
