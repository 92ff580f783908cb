# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The plan steps of the backup, the restore's fetch from a target and the restore drill
(stages of raftops.etcd.etcd_plan, an action on the controller): what roles/etcd/tasks/backup*.yml and
restore_drill.yml used to decide in Jinja and in the filters backup_source, backup_record,
backup_target, backup_object and backup_drill_record. Pure functions: the action reads the files."""

import base64
import binascii
import json
import posixpath
import time
from collections.abc import Mapping

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import human_size

TARGET_DEFAULTS = dict(type="s3", keep=7, max_age_days=30)


def targets_with_defaults(targets, cluster=""):
    """``etcd_backup_targets`` with each target's defaults filled in (type s3, keep 7, max_age_days 30, and
    prefix ``<cluster>/``: clusters sharing a bucket never prune each other's backups)."""
    if not isinstance(targets, (list, tuple)):
        raise ValueError("etcd_backup_targets must be a list of targets")
    normal = []
    for target in targets:
        if not isinstance(target, Mapping):
            raise ValueError("each target must be a dict, not %s" % type(target).__name__)
        item = dict(TARGET_DEFAULTS, **target)
        if item["type"] == "s3":
            item = dict(dict(prefix=cluster.rstrip("/") + "/" if cluster else ""), **item)
        item["keep"], item["max_age_days"] = int(item["keep"]), int(item["max_age_days"])
        normal.append(item)
    return normal


def plan_source(health, members, play_hosts, targets, cluster, now=None):
    """Where a backup comes from and what it is called. ``source``: the first of ``members``
    (facts.yml's records) whose client URL ``health`` (etcd_health's result) found healthy and voting,
    on a host of the play, with the ``cluster_id`` that endpoint answered (each backup's header records
    it), else None and a ``refusal``. ``name`` holds the UTC time (names sort by age, and pruning keeps
    the last ones), ``object`` is its sealed name and ``taken`` the time its header authenticates.
    ``targets`` (etcd_backup_targets with their defaults) and ``sends``, one ``{name, host}`` per target,
    S3 first: the loop of the sending, which holds no secret, each delegated to ``host`` (the controller
    for S3, which the action works on from there; the target's host for SSH)."""
    if not isinstance(health, Mapping) or not isinstance(members, (list, tuple)):
        raise ValueError("expects etcd_health's result and the member records")
    answered = {e.get("endpoint"): e for e in health.get("endpoints") or []
                if e.get("healthy") and not e.get("is_learner")}
    source = next((dict(m, cluster_id=answered[m["client_url"]].get("cluster_id") or "") for m in members
                   if m.get("client_url") in answered and m.get("host") in play_hosts), None)
    taken = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    normal = targets_with_defaults(targets, cluster)
    name = "%s%s.db" % (crypto.OBJECT_PREFIX, taken)
    return dict(source=source, name=name, object=name + crypto.OBJECT_SUFFIX, taken=taken, targets=normal,
                sends=[dict(name=t["name"], host=t.get("host") if t["type"] == "ssh" else "localhost")
                       for t in sorted(normal, key=lambda t: t["type"] != "s3")],
                refusal="" if source else "no healthy voting member to take a snapshot from: %s"
                % "; ".join(health.get("problems") or ["none answered"]))


def backup_record(saved, name):
    """The record the backup playbook writes beside snapshot ``name`` (``<snapshot>.json``, which the
    drills judge a restore against), from etcd_snapshot's result (inspect and keyspace): the snapshot's
    revision, and the member's key count and keyspace hash at it, None each when it was not read.
    None when no snapshot was taken (check mode: the snapshot's task was skipped)."""
    if saved.get("skipped"):
        return None
    keyspace = saved.get("keyspace") or {}
    return dict(snapshot=name, revision=saved["inspected"]["revision"], keys=keyspace.get("keys"),
                hash_kv=keyspace.get("hash"), compact_revision=keyspace.get("compact_revision"),
                hash_problem=keyspace.get("hash_problem", saved.get("keyspace_error")))


def seal_arguments(plan, src, key_file, cluster):
    """etcd_backup_target's state=sealed options for the backup ``plan`` (the record step's): the
    snapshot ``src`` sealed with ``key_file`` under the plan's object name, its header authenticating
    the ``cluster``, the cluster ID the source member answered, the time the snapshot was taken and its
    revision (the record's, when there is one); and that member, whom the members' drill record names."""
    plan = plan if isinstance(plan, Mapping) else {}
    source = plan.get("source") if isinstance(plan.get("source"), Mapping) else {}
    fields = dict(name=plan.get("object"), taken=plan.get("taken"), member=source.get("name"),
                  cluster_id=source.get("cluster_id"))
    missing = sorted(option for option, value in fields.items() if value is None)
    if missing:
        raise ValueError("the backup's plan gives no %s to seal its snapshot with; nothing was sealed" % ", ".join(missing))
    record = plan.get("record") if isinstance(plan.get("record"), Mapping) else {}
    return dict(fields, state="sealed", src=src, key_file=key_file, cluster=cluster, revision=record.get("revision"))


def drill_record(record_text, sealed, sealed_stat, member):
    """The record the members' scheduled drill proves a backup against (files/etcd_backup_drill.py), for
    a backup the playbook made: the controller's record of the snapshot (``record_text``, its
    ``<snapshot>.json``) with what was sent - the object's name, the snapshot's SHA-256 and key id
    (``sealed``, etcd_backup_target's state=sealed result) and the sealed object's size and SHA-256
    (that result's sealed_size and sealed_sha256, or ``sealed_stat``, a stat with
    checksum_algorithm=sha256) - as the members' push writes it."""
    try:
        record = json.loads(record_text)
        stat = sealed_stat["stat"] if sealed_stat is not None else dict(
            path=sealed["path"], size=sealed["sealed_size"], checksum=sealed["sealed_sha256"])
        sent = dict(object=posixpath.basename(stat["path"]), sha256=sealed["sha256"], key_id=sealed["key_id"],
                    sealed_size=int(stat["size"]), sealed_sha256=stat["checksum"], member=member)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError("a backup record, a sealed result and the sealed copy's size and SHA-256 are needed: %s"
                         % exc) from None
    if not isinstance(record, dict) or posixpath.basename(stat["path"]) != str(record.get("snapshot")) + ".enc":
        raise ValueError("the record is not that of the sealed snapshot %s" % posixpath.basename(stat["path"]))
    return dict(record, **sent)


def _size(value):
    return human_size(value) if isinstance(value, int) else "?"


def _rate(value):
    return "%s MiB/s" % value if value else "too fast to time"


def sealed_report(sealed, key_file):
    """The line that reports the encryption of a backup (etcd_backup_target's state=sealed result):
    its size, speed and key id, and the key file to keep a copy of when this run made it."""
    return "encrypted %s: %s at %s, key id %s%s" % (
        sealed.get("object"), _size(sealed.get("size")), _rate(sealed.get("encrypt_mib_s")), sealed.get("key_id"),
        " (new key %s: keep a copy apart from the backups)" % key_file if sealed.get("key_created") else "")


def sent_report(target, result, retention=True):
    """The line that reports one target's copy (etcd_backup_target's state=present result for
    ``target``): where, the object, sent (its size, and for S3 the upload's speed) or already there,
    and with ``retention`` how many backups the target keeps and which it deleted (its prune)."""
    if target.get("type") == "ssh":
        where = "%s:%s" % (target.get("host"), target.get("path"))
        done = "copied (%s)" % _size(result.get("encrypted_size"))
    else:
        where = "s3://%s/%s" % (target.get("bucket"), target.get("prefix") or "")
        done = "uploaded %s at %s" % (_size(result.get("encrypted_size")), _rate(result.get("upload_mib_s")))
    line = "target %s (%s): %s %s" % (target.get("name"), where, result.get("object"),
                                      done if result.get("sent") else "already there")
    if not retention:
        return line
    if result.get("prune_error"):
        return "%s; pruning FAILED (the backup is there; old backups stay): %s" % (line, result["prune_error"])
    deleted = result.get("deleted") or []
    line = "%s; kept %d, %s" % (line, len(result.get("kept") or []),
                                "deleted %d: %s" % (len(deleted), ", ".join(deleted)) if deleted else "deleted none")
    unverified = result.get("unverified") or []
    return line + ("; %d object(s) that do not verify left alone (see the warnings)" % len(unverified)
                   if unverified else "")


def plan_fetch(targets, cluster, name):
    """The target ``name`` of ``etcd_backup_targets`` a restore fetches from, with its defaults, and
    how many bytes of each backup on an SSH target its header can take (``head_size``); a
    ``refusal`` when there is no target of that name."""
    target = next((t for t in targets_with_defaults(targets, cluster) if t.get("name") == name), {})
    return dict(target=target, head_size=crypto.MAX_HEAD_SIZE, refusal="" if target else (
        "etcd_restore_target %s is not one of etcd_backup_targets (%s)"
        % (name, ", ".join(str(t.get("name")) for t in targets) or "none set")))


def parse_heads(listing):
    """{name: header bytes} from the SSH target's listing: one ``<name> <base64 of its first bytes>``
    line per file; only backup objects (``etcd-snapshot-*.enc``) count."""
    heads = {}
    for line in (listing or "").splitlines():
        name, _space, text = line.strip().partition(" ")
        if crypto.is_backup_object(name):
            try:
                heads[name] = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("the listing of the SSH target has no readable head for %s" % name) from None
    return heads


def read_heads(heads, key):
    """{name: the header fields (read_header with ``key``), or the BackupCryptoError reading them raised}."""
    return {name: crypto.parse_head(head, name, key) for name, head in heads.items()}


def fetch_object(target, wanted, headers, cluster, signers):
    """The object a restore takes from an SSH ``target``: ``wanted``, or for ``latest`` the newest by
    verified time (etcd_backup_crypto.newest_authentic, as for an S3 target: signed by one of
    ``signers``, and a backup copied under a newer name does not win). ``headers`` as read_heads gives
    them; ``skipped``: why others were passed over; a ``refusal`` when the object is not there, or none
    verifies. A backup named explicitly is verified as it is decrypted."""
    where = "target %s (%s:%s)" % (target.get("name"), target.get("host"), target.get("path"))
    plan = dict(object=wanted, skipped=[], refusal="")
    if not headers:
        plan["refusal"] = "%s holds no backup (etcd-snapshot-*.enc)" % where
    elif wanted != "latest":
        plan["refusal"] = "" if wanted in headers else "%s has no object %s" % (where, wanted)
    else:
        name, plan["skipped"] = crypto.newest_authentic(
            headers, lambda n: "object %s on target %s" % (n, target.get("name")), signers, cluster)
        plan["object"] = name or ""
        if name is None:
            plan["refusal"] = "%s holds no backup that verifies: %s" % (where, "; ".join(plan["skipped"]))
    return plan


def drill_snapshot(fetched, snapshot, backup_dir, found, record_of, check, host):
    """The snapshot a restore drill proves: the one fetched from a target (``fetched``), else
    etcd_restore_snapshot (``snapshot``), else the newest of ``found`` (the ``etcd-snapshot-*.db`` of
    ``backup_dir``, the controller's); with its record (``record_of(path)``: the text of ``<path>.json``,
    '' when there is none); a ``refusal`` when there is no snapshot, or when the file fails its checks
    before ``host``, the drill's, is touched (``check(path)``: etcd_snapshot_info's result for it)."""
    path = fetched or snapshot or max(found or [], default="")
    if not path:
        return dict(path=path, record_text="", refusal=(
            "no snapshot etcd-snapshot-*.db in etcd_backup_dir %s and no etcd_restore_snapshot given: take one with "
            "ansible-playbook raftops.etcd.backup -i INVENTORY; nothing was changed" % backup_dir))
    info = check(path) or {}
    refusal = "drill failed: snapshot %s: %s; nothing was left on %s" % (path, info.get("msg") or "no answer", host) \
        if info.get("failed") else ""
    return dict(path=path, record_text=record_of(path), refusal=refusal)


def point_keyspace(answer, revision, host):
    """What a drill of a point in time compares the replayed etcd with: {cluster_keyspace: the live
    cluster's keyspace at ``revision`` (etcd_health's ``answer``, read on ``host``, a member)}, or a
    ``refusal`` when it could not be read. A compacted revision is no refusal: the keyspace then has no
    hash, and the drill says why."""
    if answer.get("failed") or not answer.get("keyspace"):
        return dict(cluster_keyspace=None, refusal=(
            "drill failed: the cluster's keyspace at revision %d, which the drill of the point in time is compared "
            "with, cannot be read on %s: %s; nothing was left on %s" % (
                revision, host, answer.get("msg") or "etcd_health gave no keyspace", host)))
    return dict(cluster_keyspace=answer["keyspace"], refusal="")
