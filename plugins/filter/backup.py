# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The off-host backup targets as the role's tasks use them (docs/backup-targets.md): each target
with its defaults filled in, and which backups an SSH target deletes. The retention decision itself
is the one the etcd_backup_target module applies to S3 targets (module_utils/etcd_backup_crypto).
"""

import base64
import json
import posixpath
import time
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_formats import human_size

TARGET_DEFAULTS = dict(type="s3", keep=7, max_age_days=30)


def backup_targets(targets, cluster=""):
    """``etcd_backup_targets`` with each target's defaults filled in (type s3, keep 7, max_age_days 30, and
    prefix ``<cluster>/``: clusters sharing a bucket never prune each other's backups)."""
    if not isinstance(targets, (list, tuple)):
        raise AnsibleFilterError("backup_targets: etcd_backup_targets must be a list of targets")
    normal = []
    for target in targets:
        if not isinstance(target, Mapping):
            raise AnsibleFilterError("backup_targets: each target must be a dict, not %s" % type(target).__name__)
        item = dict(TARGET_DEFAULTS, **target)
        if item["type"] == "s3":
            item = dict(dict(prefix=cluster.rstrip("/") + "/" if cluster else ""), **item)
        item["keep"], item["max_age_days"] = int(item["keep"]), int(item["max_age_days"])
        normal.append(item)
    return normal


def backup_push_targets(targets, cluster, hostvars):
    """The targets as a member's backup push reads them (roles/etcd/files/etcd_backup_push.py):
    ``backup_targets``, each S3 target with every key (empty when not set), each SSH target with
    the ``address`` and ``port`` of its host (``ansible_host`` and ``ansible_port``, else its name and 22)."""
    items = []
    for item in backup_targets(targets, cluster):
        if item["type"] == "s3":
            item = dict(dict.fromkeys(("endpoint_url", "region", "access_key", "secret_key"), ""), **item)
            item = {k: ("" if v is None else v) for k, v in item.items()}
        else:
            host = hostvars.get(item["host"], {})
            item.update(address=host.get("ansible_host") or item["host"], port=int(host.get("ansible_port") or 22))
        items.append(item)
    return items


def backup_push_withdrawn(reads):
    """The ``authorized_keys2`` lines a member's push put on SSH targets' hosts, to remove when the push
    is turned off: ``[{host, line}]`` from the slurped push settings (etcd_backup_push.json) and public
    key, in that order. Nothing when either was not read (no push files on the member)."""
    contents = [r.get("content") for r in reads or [] if isinstance(r, Mapping)]
    if len(contents) != 2 or not all(contents):
        return []
    try:
        settings = json.loads(base64.b64decode(contents[0]))
        line = "restrict " + base64.b64decode(contents[1]).decode().strip()
    except (ValueError, UnicodeDecodeError):
        raise AnsibleFilterError("backup_push_withdrawn: the push's settings or public key cannot be read") from None
    hosts = sorted({t["host"] for t in settings.get("targets") or [] if t.get("type") == "ssh" and t.get("host")})
    return [dict(host=host, line=line) for host in hosts]


def backup_prune(found, now=None):
    """The backups SSH targets delete: ``[{target, host, path}]`` from a looped find's ``results``.

    Each result has ``item`` (the target, as ``backup_targets`` gives it) and ``files`` (find's
    ``path`` and ``mtime``). The retention is ``module_utils.etcd_backup_crypto.retention``: the
    newest ``keep``, none older than ``max_age_days``, never the newest one.
    """
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_crypto import retention

    now = time.time() if now is None else float(now)
    plan = []
    for result in found or []:
        target = result.get("item") or {}
        files = [dict(name=posixpath.basename(f["path"]), mtime=f["mtime"], path=f["path"])
                 for f in result.get("files") or []]
        try:
            _kept, deleted = retention(files, target.get("keep", 7), target.get("max_age_days", 30), now)
        except ValueError as exc:
            raise AnsibleFilterError("backup_prune: target %s: %s" % (target.get("name"), exc)) from None
        paths = {f["name"]: f["path"] for f in files}
        plan.extend(dict(target=target.get("name"), host=target.get("host"), path=paths[name]) for name in deleted)
    return plan


def _size(value):
    return human_size(value) if isinstance(value, int) else "?"


def _rate(value):
    return "%s MiB/s" % value if value else "too fast to time"


def _deleted(names):
    return "deleted %d: %s" % (len(names), ", ".join(names)) if names else "deleted none"


def backup_report(sealed, key_file, targets, uploaded, s3_pruned, copied, ssh_found, ssh_pruned):
    """The lines that report one off-host backup: the encryption, then one line per target.

    The arguments are registered results of roles/etcd/tasks/backup_targets.yml: the seal, then
    (after the targets, as ``backup_targets`` gives them) the looped results of the uploads and
    the S3 prunes (looped by target name), the SSH copies, finds and prunes.
    """
    s3_targets = {target.get("name"): target for target in targets or []}
    lines = ["encrypted %s: %s at %s, key id %s%s" % (
        sealed.get("object"), _size(sealed.get("size")), _rate(sealed.get("encrypt_mib_s")), sealed.get("key_id"),
        " (new key %s: keep a copy apart from the backups)" % key_file if sealed.get("key_created") else "")]
    for upload, prune in zip(uploaded or [], s3_pruned or []):
        target = s3_targets.get(upload.get("item")) or {}
        sent = ("uploaded %s at %s" % (_size(upload.get("encrypted_size")), _rate(upload.get("upload_mib_s")))
                if upload.get("changed") else "already there")
        lines.append("target %s (s3://%s/%s): %s %s; kept %d, %s" % (
            target.get("name"), target.get("bucket"), target.get("prefix") or "", upload.get("object"), sent,
            len(prune.get("kept") or []), _deleted(prune.get("deleted") or [])))
    removed = [r.get("item") or {} for r in ssh_pruned or []]
    for copy, found in zip(copied or [], ssh_found or []):
        target = copy.get("item") or {}
        deleted = [posixpath.basename(r["path"]) for r in removed if r.get("target") == target.get("name")]
        lines.append("target %s (%s:%s): %s %s; kept %d, %s" % (
            target.get("name"), target.get("host"), target.get("path"), posixpath.basename(copy.get("dest") or "?"),
            "copied (%s)" % _size(copy.get("size")) if copy.get("changed") else "already there",
            len(found.get("files") or []) - len(deleted), _deleted(deleted)))
    return lines


def backup_source(health, members, play_hosts):
    """The member a backup takes its snapshot from: the first of ``members`` (facts.yml's records)
    whose client URL ``health`` (etcd_health's result) found healthy and voting, on a host of the
    play, with the ``cluster_id`` that endpoint answered (each backup's header records it); None
    when there is none."""
    if not isinstance(health, Mapping) or not isinstance(members, (list, tuple)):
        raise AnsibleFilterError("backup_source: expects etcd_health's result and the member records")
    answered = {e.get("endpoint"): e for e in health.get("endpoints") or []
                if e.get("healthy") and not e.get("is_learner")}
    for member in members:
        if member.get("client_url") in answered and member.get("host") in play_hosts:
            return dict(member, cluster_id=answered[member["client_url"]].get("cluster_id") or "")
    return None


def backup_record(saved, name):
    """The record the backup playbook writes beside snapshot ``name`` (``<snapshot>.json``, which the
    drills judge a restore against), from etcd_snapshot's result (inspect and keyspace): the snapshot's
    revision, and the member's key count and keyspace hash at it, None each when it was not read."""
    keyspace = saved.get("keyspace") or {}
    return dict(snapshot=name, revision=saved["inspected"]["revision"], keys=keyspace.get("keys"),
                hash_kv=keyspace.get("hash"), compact_revision=keyspace.get("compact_revision"),
                hash_problem=keyspace.get("hash_problem", saved.get("keyspace_error")))


def backup_target(targets, cluster, name):
    """The target ``name`` of ``etcd_backup_targets`` with its defaults (``backup_targets``); {} when
    there is none of that name."""
    return next((t for t in backup_targets(targets, cluster) if t.get("name") == name), {})


def backup_object(found, wanted):
    """The backup object a restore takes from an SSH target: ``wanted``, or for ``latest`` the newest
    backup object of ``found`` (ansible.builtin.find's result), '' when it holds none."""
    if wanted != "latest":
        return wanted
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_crypto import is_backup_object
    names = [posixpath.basename(f["path"]) for f in (found or {}).get("files") or []]
    return max([n for n in names if is_backup_object(n)], default="")


def backup_drill_record(record_text, sealed, sealed_stat, member):
    """The record the members' scheduled drill proves a backup against (files/etcd_backup_drill.py), for
    a backup the playbook made: the controller's record of the snapshot (``record_text``, its
    ``<snapshot>.json``) with what was sent - the object's name, the snapshot's SHA-256 and key id
    (``sealed``, etcd_backup_target's state=sealed result) and the sealed object's size and SHA-256
    (``sealed_stat``, a stat with checksum_algorithm=sha256) - as the members' push writes it."""
    try:
        record = json.loads(record_text)
        stat = sealed_stat["stat"]
        sent = dict(object=posixpath.basename(stat["path"]), sha256=sealed["sha256"], key_id=sealed["key_id"],
                    sealed_size=int(stat["size"]), sealed_sha256=stat["checksum"], member=member)
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError("backup_drill_record: a backup record, a sealed result and the sealed copy's stat "
                                 "are needed: %s" % exc) from None
    if not isinstance(record, dict) or posixpath.basename(stat["path"]) != str(record.get("snapshot")) + ".enc":
        raise AnsibleFilterError("backup_drill_record: the record is not that of the sealed snapshot %s"
                                 % posixpath.basename(stat["path"]))
    return dict(record, **sent)


def backup_max_age_seconds(max_age):
    """etcd_backup_max_age (a Go duration, checked in preflight) in seconds: the drill writes it beside
    its metrics, where the alert rules read it."""
    from ansible_collections.raftops.etcd.plugins.filter.settings import _duration_seconds
    seconds = _duration_seconds(max_age)
    if not seconds:
        raise AnsibleFilterError("backup_max_age_seconds: etcd_backup_max_age %r is not a Go duration like 26h" % (max_age,))
    return int(seconds)


class FilterModule:
    def filters(self):
        return {"backup_targets": backup_targets, "backup_push_targets": backup_push_targets,
                "backup_prune": backup_prune, "backup_push_withdrawn": backup_push_withdrawn,
                "backup_report": backup_report, "backup_max_age_seconds": backup_max_age_seconds,
                "backup_drill_record": backup_drill_record, "backup_source": backup_source,
                "backup_record": backup_record, "backup_target": backup_target, "backup_object": backup_object}
