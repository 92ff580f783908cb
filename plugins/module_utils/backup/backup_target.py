# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What raftops.etcd.etcd_backup_target does (plugins/modules/etcd_backup_target.py documents it):
``run(module)`` on anything with the module's ``params``, ``check_mode`` and ``warn()``. The action
(plugins/action/etcd_backup_target.py) runs it within ansible-playbook for the controller's states
(S3 targets, sealing); the module runs it on an SSH target's host for V(present) there."""

import json
import os
import pwd
import shutil
import stat
import tempfile
import time

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import s3
from ansible_collections.raftops.etcd.plugins.module_utils.backup import stream_segments as segments
from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_plan import drill_record
from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_file import SnapshotError, check_snapshot_file


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
            part_size_mib=dict(type="int", default=s3.PART_SIZE_MIB),
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
        members=dict(type="list", elements="str", default=[]),
        cluster_id=dict(type="str"),
        taken=dict(type="str"),
        revision=dict(type="int"),
        member=dict(type="str"),
        point=dict(type="dict", options=dict(time=dict(type="str"), revision=dict(type="int"))),
    )


REQUIRED = dict(present=("target", "src"), fetched=("target", "name", "dest"), pruned=("target",),
                listed=("target",), sealed=("src",), unsealed=("src", "dest"))


# -- S3 ------------------------------------------------------------------------------------------


class BucketError(TargetError, s3.S3Error):
    """A failed S3 call: a TargetError that names the target, with S3's error code (s3.S3Error)."""


class Bucket(s3.Bucket):
    """The bucket and prefix of one S3 target (module_utils/backup/s3.py), whose errors name the target."""

    def __init__(self, target):
        try:
            super().__init__(target)
        except s3.S3Error as exc:
            raise TargetError(str(exc)) from None

    def _call(self, doing, call, *args, **kwargs):
        try:
            return super()._call(doing, call, *args, **kwargs)
        except s3.S3Error as exc:
            raise BucketError("target %s (%s): %s" % (self.name, self.where(), exc), exc.code) from None

    def listing(self, accept=crypto.is_backup_object):
        """The backups under the prefix (or the objects ``accept`` takes): [{name, size, mtime}], newest first."""
        return crypto.newest_first([o for o in super().listing() if accept(o["name"])])

    def header(self, name, key=None):
        """The header of object ``name`` (crypto.parse_head: checked against ``key`` when given), from
        its first MAX_HEAD_SIZE bytes only (a range read); the BackupCryptoError it raises when it
        cannot be read or is not authentic (an empty object planted there must not stop the prune).
        Its signature is for the caller to verify."""
        return crypto.parse_head(self.read_head(name, crypto.MAX_HEAD_SIZE), crypto.object_what(name, self.name), key)


# -- the states ----------------------------------------------------------------------------------


def signers(key, members):
    """The signers whose backups count (crypto.cluster_signers): the controller and ``members``."""
    return crypto.cluster_signers(key, members)


def _key(module, create):
    try:
        return crypto.load_key(module.params["key_file"], create=create and not module.check_mode)
    except crypto.BackupCryptoError as exc:
        raise TargetError(str(exc)) from None


def _label(module, name):
    params = module.params
    return crypto.make_label(name, params["cluster"], params["cluster_id"], params["taken"], params.get("revision"))


def _seal(module, dest, name):
    """Seal src into dest, its header authenticating ``name``, with the key (made when missing); the sealing's report."""
    key, created = _key(module, create=True)
    try:
        result = crypto.encrypt_file(module.params["src"], dest, crypto.recipient(key), _label(module, name),
                                     crypto.signer(key, crypto.CONTROLLER), compression=module.params["compression"])
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
            key = _key(module, create=False)[0]
            fields = crypto.read_header(handle, src, key)
        crypto.verify_signature(fields, src, signers(key, module.params["members"]))
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
        result = crypto.decrypt_file(src, dest, key, signers(key, module.params["members"]), what=what, name=name,
                                     cluster=module.params["cluster"])
    except crypto.BackupCryptoError as exc:
        raise TargetError(str(exc)) from None
    except OSError as exc:
        raise TargetError("%s cannot be decrypted into %s: %s" % (what, dest, exc.strerror)) from None
    return result


def _latest(module, bucket):
    """The newest backup of the target by verified time (signed by this cluster's controller or one
    of its members); those that do not verify are skipped, with a warning."""
    objects = bucket.listing()
    if not objects:
        raise TargetError("target %s (%s) holds no backup (etcd-snapshot-*.enc)" % (bucket.name, bucket.where()))
    key = _key(module, create=False)[0]
    headers = {item["name"]: bucket.header(item["name"], key) for item in objects}
    name, skipped = crypto.newest_authentic(headers, lambda n: crypto.object_what(n, bucket.name),
                                            signers(key, module.params["members"]), module.params["cluster"])
    for problem in skipped:
        module.warn("latest: skipped %s" % problem)
    if name is None:
        raise TargetError("target %s (%s) holds no backup that verifies (signed by this cluster's controller or members): %s"
                          % (bucket.name, bucket.where(), "; ".join(skipped)))
    return name


def _download_open(module, bucket, name, dest):
    """Object ``name`` downloaded, verified and decrypted into ``dest``: the decryption's report."""
    download = _private_temp(dest)
    try:
        bucket.download(name, download)
        return _open(module, download, dest, crypto.object_what(name, bucket.name), name)
    finally:
        _remove(download)


def _segment(module, bucket, name, cluster_id, work):
    """Segment ``name`` of the change stream, verified, decrypted and decoded (stream_segments), of
    etcd cluster ``cluster_id``: the full backup's it follows."""
    plain = os.path.join(work, name + ".json")
    try:
        _download_open(module, bucket, name, plain)
        with open(plain, "rb") as handle:
            found = segments.decode_segment(handle.read(), name, module.params["cluster"] or None)
    except segments.SegmentError as exc:
        raise TargetError("target %s: %s" % (bucket.name, exc)) from None
    finally:
        _remove(plain)
    if found.get("cluster_id") != cluster_id:
        raise TargetError("segment %s on target %s is of etcd cluster %s, the full backup of cluster %s: a segment "
                          "of another cluster (a restore since?) cannot follow it"
                          % (name, bucket.name, found.get("cluster_id"), cluster_id))
    return found


def point_fetched(module, bucket):
    """A point-in-time restore's start and replay (docs/backup-restore.md): the newest full backup at or
    before the point (``point``: time, RFC 3339, or revision) decrypted into ``dest``, and the revisions
    of the change stream's segments after it up to the point, written beside it as ``replay.json``
    (stream_segments.replay). Every segment read is verified and decrypted; a tampered, missing or foreign
    one refuses the restore, naming it."""
    point, dest = module.params["point"], module.params["dest"]
    point_time = segments.parse_point_time(point["time"]) if point.get("time") else None
    # 0, as "" for the time: no such point (the role passes both).
    point_revision = point.get("revision") or None
    key = _key(module, create=False)[0]
    headers = {item["name"]: bucket.header(item["name"], key) for item in bucket.listing()}
    times, skipped = crypto.verified_times(headers, lambda n: crypto.object_what(n, bucket.name),
                                           signers(key, module.params["members"]), module.params["cluster"])
    for problem in skipped:
        module.warn("passed over %s" % problem)
    names = [item["name"] for item in bucket.listing(segments.is_segment_object)]
    work = os.path.dirname(os.path.abspath(dest))
    for name in segments.backup_candidates(times, point_time):
        _download_open(module, bucket, name, dest)
        try:
            revision = check_snapshot_file(dest, count_keys=False)["revision"]
        except SnapshotError as exc:
            raise TargetError("%s: %s" % (crypto.object_what(name, bucket.name), exc)) from None
        cluster_id = headers[name]["label"].get("cluster_id")
        if point_revision is not None and revision > point_revision:
            continue
        used, reached, gap = segments.chain(names, revision)
        holding = [n for n in segments.ordered(names) if segments.parse_segment_name(n)[0] <= revision
                   <= segments.parse_segment_name(n)[1]]
        decoded = []
        for segment in holding[-1:] + used:
            decoded.append(_segment(module, bucket, segment, cluster_id, work))
            if point_time is not None and decoded[-1]["revisions"][-1][1] > point_time:
                break
        if point_time is not None and segments.holds_later_writes(decoded, revision, point_time):
            continue
        try:
            plan = segments.replay(decoded, revision, point_time, point_revision)
        except segments.SegmentError as exc:
            raise TargetError("target %s: %s" % (bucket.name, exc)) from None
        # Replayed up to the gap with the point still ahead: the revisions missing may be before it.
        if gap and plan["reached"] == reached and (point_revision is None or point_revision > reached):
            raise TargetError("target %s holds no segment of revisions %d..%d (segments %s): the change stream has a "
                              "gap there, so the restore cannot reach the point; a full backup taken after the gap "
                              "closes it" % (bucket.name, gap[0], gap[1], _neighbours(names, gap)))
        if point_revision is not None and plan["reached"] < point_revision:
            raise TargetError("the segments on target %s reach revision %d, not %d: revision %d is not shipped yet"
                              % (bucket.name, plan["reached"], point_revision, point_revision))
        replayed = [n for n in used if segments.parse_segment_name(n)[0] <= plan["reached"]]
        path = os.path.join(work, "replay.json")
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(after=revision, reached=plan["reached"], txns=plan["txns"],
                           leases={str(k): v for k, v in plan["leases"].items()}), out)
        return dict(object=name, path=dest, changed=True, backup_revision=revision, segments=replayed,
                    reached=plan["reached"], replay=path,
                    reached_time=segments.shown_time(plan["reached_time"]) if plan["reached_time"] else None)
    raise TargetError("target %s (%s) holds no full backup that verifies and was taken before %s" % (
        bucket.name, bucket.where(), point.get("time") or "revision %s" % point_revision))


def _neighbours(names, gap):
    """The segments on either side of a gap, as messages name them."""
    before = [n for n in segments.ordered(names) if segments.parse_segment_name(n)[1] < gap[0]]
    after = [n for n in segments.ordered(names) if segments.parse_segment_name(n)[0] > gap[1]]
    return "%s and %s" % (before[-1] if before else "none before", after[0] if after else "none after")


def fetched(module, bucket):
    if segments.point_given(module.params["point"]):
        return point_fetched(module, bucket)
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


def decide_prune(module, headers, target_name):
    """(kept, deleted, unverified) of a target whose objects' headers are ``headers`` ({name: fields or
    the BackupCryptoError reading them raised, crypto.parse_head}): crypto.retention by verified header,
    with this cluster's signers (the key file's controller and O(members)) and O(cluster); each
    object that does not verify is named in a warning, and neither kept nor deleted."""
    target = module.params["target"]
    key = _key(module, create=False)[0]
    try:
        kept, deleted, unverified = crypto.retention(
            headers, target["keep"], target["max_age_days"], time.time(), signers(key, module.params["members"]),
            module.params["cluster"], lambda n: crypto.object_what(n, target_name))
    except ValueError as exc:
        raise TargetError("target %s: %s" % (target_name, exc)) from None
    for problem in unverified:
        module.warn("prune: neither kept nor deleted (not a verified backup of this cluster; an operator decides): %s"
                    % problem)
    return kept, deleted, unverified


def pruned(module, bucket):
    """The target pruned by verified header (decide_prune): every object's header read with a range read."""
    objects = bucket.listing()
    headers = {o["name"]: bucket.header(o["name"]) for o in objects}
    kept, deleted, unverified = decide_prune(module, headers, bucket.name)
    if not module.check_mode:
        for position, name in enumerate(deleted):
            try:
                bucket.delete(name)
            except TargetError as exc:
                raise TargetError("%s%s" % (exc, "; deleted before it: %s" % ", ".join(deleted[:position])
                                            if position else "")) from None
    return dict(changed=bool(deleted), objects=objects, kept=kept, deleted=deleted, unverified=unverified)


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
        # What each target's copy must be, byte for byte (the members' drill checks it), under the
        # names the module returns.
        result["sealed_size"], result["sealed_sha256"] = result["encrypted_size"], result.pop("encrypted_sha256")
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
    """The members' drill record of the backup just sealed (backup_plan.drill_record), from the
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


# The account the members' push keys log in as on an SSH target's host (docs/backup-targets.md; the
# role makes it and gives it the push's target directories: tasks/backup_push.yml).
PUSH_ACCOUNT = "etcd-backup"


def _directory_owner(directory):
    """(uid, gid) the target's directory and backups keep: the push account's when the directory is
    already its (a target of the members' push, which reads, drills and prunes them as that account),
    else root's."""
    try:
        account = pwd.getpwnam(PUSH_ACCOUNT)
    except KeyError:
        return 0, 0
    info = os.stat(directory)
    mine = (account.pw_uid, account.pw_gid)
    return mine if (info.st_uid, info.st_gid) == mine else (0, 0)


def _owned(path, mode, owner=(0, 0)):
    """Make ``path`` ``owner``'s (uid, gid; root's by default) with ``mode``: whether anything changed."""
    info = os.stat(path)
    changed = False
    if (info.st_uid, info.st_gid) != owner:
        os.chown(path, *owner)
        changed = True
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)
        changed = True
    return changed


def ssh_present(module):
    """The encrypted backup ``src`` (the action's copy from the controller) written into the target's
    directory (root's, 0700; a directory of the members' push stays the push account's, and its backups
    are written as the account's: _directory_owner) as ``name`` (0600) when no backup is there under that name; a
    backup already there is not written again. Its prune (``prune``) is the action's, on the controller:
    the host has no key to verify headers with (plugins/action/etcd_backup_target.py)."""
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
        owner = (0, 0) if module.check_mode else _directory_owner(directory)
        if not module.check_mode:
            result["changed"] = _owned(directory, 0o700, owner) or result["changed"]
        if not os.path.lexists(dest):
            result.update(changed=True, sent=True)
            if not module.check_mode:
                _write_copy(src, dest, owner)
    except OSError as exc:
        raise TargetError("%s: writing %s failed: %s" % (where, name, exc)) from None
    return result


def _write_copy(src, dest, owner=(0, 0)):
    """``src`` copied to ``dest`` (``owner``'s, 0600) through a private file beside it, renamed when complete."""
    part = _private_temp(dest)
    try:
        shutil.copyfile(src, part)
        _owned(part, 0o600, owner)
        os.rename(part, dest)
    except BaseException:
        _remove(part)
        raise


def prune_after_send(module, prune, where):
    """The result of ``prune()`` after a backup was sent to target ``where``: a prune that fails (a
    listing, a header or a delete the credentials do not allow: AccessDenied) does not undo the
    sending, and is not silent either: ``prune_error`` and a warning say so."""
    try:
        return prune()
    except TargetError as exc:
        module.warn("target %s: the backup was sent, but pruning failed (old backups stay until it works; a "
                    "push needs to delete, docs/backup-targets.md): %s" % (where, exc))
        return dict(kept=[], deleted=[], unverified=[], prune_error=str(exc))


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
            prune = prune_after_send(module, lambda: pruned(module, bucket), "%s (%s)" % (bucket.name, bucket.where()))
            result.update(prune, changed=result["changed"] or bool(prune["deleted"]))
    else:
        result = LOCAL_ACTIONS[state](module)
    if target:
        result["target"] = target["name"]
    return result
