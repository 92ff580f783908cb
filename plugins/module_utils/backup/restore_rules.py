# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The pure rules of a Kubernetes-safe restore and of the restore drill, standard library only.

* ``bump_supported``: whether a release's ``snapshot restore`` takes ``--bump-revision`` and
  ``--mark-compacted`` (etcd 3.4.27+, 3.5.10+, 3.6);
* ``revision_bump``: how far to raise the restored revision, from what is known of the lost cluster;
* ``restore_revision_plan``: the role's decision, from its settings, the release and that bump;
* ``parse_backup_record``: the JSON record the backup playbook writes beside a snapshot;
* ``drill_findings``: what a restore drill found, against the snapshot and that record, or, for a
  point in time, against the live cluster's keyspace at that revision (``cluster_findings``).
"""

import json
import re

# The first patch of each minor release whose snapshot restore bumps revisions; 3.6 and later all do.
BUMP_SINCE = {(3, 4): 27, (3, 5): 10}
# With nothing known of the lost cluster: the bump etcd's and Kubernetes' recovery guides use.
DEFAULT_BUMP = 1000000000
# Above a revision seen on a surviving member: writes may have gone on elsewhere since it was read.
MIN_MARGIN = 100000
RECORD_FIELDS = ("revision", "keys", "hash_kv", "compact_revision")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


class RuleError(ValueError):
    """A value a rule cannot work with; the message names it."""


def version_tuple(version):
    """(major, minor, patch) of ``3.5.30``, ``v3.5.30``, ``3.5.30-rc.0`` or a list of three ints."""
    if isinstance(version, (tuple, list)):
        if len(version) >= 3 and all(isinstance(p, int) and not isinstance(p, bool) for p in version[:3]):
            return tuple(version[:3])
    elif isinstance(version, str) and _VERSION.match(version.strip()):
        return tuple(int(part) for part in _VERSION.match(version.strip()).groups())
    raise RuleError("%r is not an etcd release version like 3.5.30" % (version,))


def bump_supported(version):
    """True when the ``snapshot restore`` of etcd ``version`` takes --bump-revision and --mark-compacted."""
    major, minor, patch = version_tuple(version)
    if (major, minor) in BUMP_SINCE:
        return patch >= BUMP_SINCE[(major, minor)]
    return (major, minor) > max(BUMP_SINCE)


def _revision(value, what):
    if isinstance(value, bool):
        raise RuleError("%s %r is not a revision" % (what, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RuleError("%s %r is not a revision" % (what, value)) from None
    if number < 0:
        raise RuleError("%s %r is not a revision" % (what, value))
    return number


def revision_bump(snapshot_revision, live_revisions=()):
    """(bump, why): how far to raise the restored revision above ``snapshot_revision``.

    When members of the old cluster still answer (``live_revisions``, their current revisions), the
    bump is the distance to the highest of them plus a margin of as much again, at least
    MIN_MARGIN: writes may have reached a member that was not asked. Knowing nothing, DEFAULT_BUMP.
    """
    snapshot_revision = _revision(snapshot_revision, "snapshot revision")
    seen = [_revision(value, "live revision") for value in live_revisions or () if value is not None]
    if not seen:
        return DEFAULT_BUMP, "no member of the old cluster answered: the default bump"
    highest = max(seen)
    gap = max(highest - snapshot_revision, 0)
    return gap + max(gap, MIN_MARGIN), ("the old cluster reached revision %d, %d past the snapshot, plus a margin"
                                        % (highest, gap))


def restore_revision_plan(setting, mark_compacted, version, snapshot_revision, live_revisions=()):
    """The role's restore decision: {bump_revision, mark_compacted, note, warning}.

    ``setting`` is etcd_restore_bump_revision: ``auto`` (the bump of ``revision_bump``) or a whole
    number (0: no bump). A release whose restore cannot bump restores without one and says so in
    ``warning``; ``note`` is the report's words for what was done.
    """
    text = str(setting).strip().lower()
    if text == "auto":
        wanted, why = revision_bump(snapshot_revision, live_revisions)
    else:
        wanted, why = _revision(setting, "etcd_restore_bump_revision"), "etcd_restore_bump_revision"
    plan = dict(bump_revision=0, mark_compacted=False, note="revision not bumped", warning="")
    if wanted == 0:
        return plan
    if not bump_supported(version):
        plan["warning"] = (
            "etcd %s cannot bump the revision on restore (3.4.27, 3.5.10 or later can): restored without a bump, "
            "so clients that watch (Kubernetes) must be restarted to see the restored data" % ".".join(
                str(part) for part in version_tuple(version)))
        plan["note"] = "revision not bumped: etcd %s cannot" % ".".join(str(p) for p in version_tuple(version))
        return plan
    plan.update(bump_revision=wanted, mark_compacted=bool(mark_compacted))
    plan["note"] = "revision bumped by %d%s (%s)" % (wanted, ", marked compacted" if mark_compacted else "", why)
    return plan


def parse_backup_record(text):
    """The backup's record of a snapshot (``<snapshot>.json``) as {revision, keys, hash_kv,
    compact_revision}, each an int or None; raises RuleError naming what is wrong."""
    try:
        record = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise RuleError("the backup record is not JSON: %s" % exc) from None
    if not isinstance(record, dict):
        raise RuleError("the backup record is not a JSON object")
    parsed = {}
    for field in RECORD_FIELDS:
        value = record.get(field)
        if value is None:
            parsed[field] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError("the backup record's %s is %r, not a whole number" % (field, value))
        parsed[field] = value
    if parsed["revision"] is None:
        raise RuleError("the backup record has no revision")
    return parsed


def drill_findings(snapshot, observed, record=None, cluster=None):
    """(problems, notes) of a restore drill.

    ``snapshot`` is the snapshot info (revision, total_key), ``observed`` what the private etcd
    answered (revision, keys, hash, compact_revision, hash_problem) and ``record`` the backup's
    record (``parse_backup_record``) or None. A drill of a point in time gives instead ``cluster``,
    the live cluster's keyspace at the revision the replay reached (as ``observed``): its key count
    and hash are what the private etcd must hold (cluster_findings). Every problem fails the drill.
    """
    if cluster is not None:
        return cluster_findings(snapshot, observed, cluster)
    problems, notes = [], []
    # A keyspace no write ever touched holds no revision; etcd serves it at revision 1.
    expected = max(snapshot.get("revision") or 0, 1)
    if observed.get("revision") != expected:
        problems.append("the restored etcd is at revision %s, the snapshot at %s"
                        % (observed.get("revision"), snapshot.get("revision")))
    keys, total = observed.get("keys"), snapshot.get("total_key")
    if keys is None:
        problems.append("the restored etcd did not count its keys")
    elif record is not None and record.get("keys") is not None:
        if keys != record["keys"]:
            problems.append("the restored etcd holds %d keys, the backup counted %d" % (keys, record["keys"]))
    elif total is not None and keys > total:
        problems.append("the restored etcd holds %d keys, more than the %d entries of the snapshot" % (keys, total))
    if record is None:
        notes.append("hash not compared: the snapshot has no backup record (a snapshot the backup playbook took "
                     "has one)")
    elif record.get("revision") != snapshot.get("revision"):
        problems.append("the backup record is of revision %s, the snapshot is of revision %s"
                        % (record.get("revision"), snapshot.get("revision")))
    elif record.get("hash_kv") is None:
        notes.append("hash not compared: the backup recorded none")
    else:
        _compare_hash(problems, notes, observed, dict(record, hash=record["hash_kv"]), snapshot.get("revision"),
                      ("the backup", "the restored etcd", "the backup recorded %d", "hash %d equals the backup's"))
    return problems, notes


def _compare_hash(problems, notes, observed, expected, revision, words):
    """The hash of ``observed`` (the private etcd's) against ``expected``'s ({hash, compact_revision}):
    a problem when they differ, else a note; a note too when they cannot be compared (no hash, or
    hashes from different compactions). ``words``: how the messages name the expected one, the private
    etcd, the expected hash, and an equal hash."""
    theirs, private, their_hash, equal = words
    if observed.get("hash") is None:
        notes.append("hash not compared: %s" % (observed.get("hash_problem") or "%s gave none" % private))
    elif expected.get("compact_revision") != observed.get("compact_revision"):
        notes.append("hash not compared: %s hashed from compact revision %s, %s from %s"
                     % (theirs, expected.get("compact_revision"), private, observed.get("compact_revision")))
    elif expected["hash"] != observed["hash"]:
        problems.append("%s's keyspace hash at revision %s is %d, %s"
                        % (private, revision, observed["hash"], their_hash % expected["hash"]))
    else:
        notes.append(equal % observed["hash"])


def cluster_findings(snapshot, observed, cluster):
    """(problems, notes) of a drill of a point in time: the private etcd, the full backup with the change
    stream replayed on it (its snapshot ``snapshot``), against the live ``cluster``'s keyspace at that
    revision (EtcdClient.keyspace, read on a member). The hashes compare only from the same compact
    revision (the drill compacts its private etcd to the cluster's); when etcd gives no hash, or the
    revision is compacted in the cluster, the notes say so."""
    problems, notes = [], []
    if observed.get("revision") != snapshot.get("revision") or cluster.get("revision") != snapshot.get("revision"):
        problems.append("the replayed etcd is at revision %s, its snapshot at %s, the cluster was read at %s"
                        % (observed.get("revision"), snapshot.get("revision"), cluster.get("revision")))
        return problems, notes
    revision = snapshot["revision"]
    if cluster.get("keys") is not None and observed.get("keys") != cluster["keys"]:
        problems.append("the replayed etcd holds %s keys at revision %d, the cluster held %d"
                        % (observed.get("keys"), revision, cluster["keys"]))
    if cluster.get("hash") is None:
        notes.append("hash not compared: the cluster gave none at revision %d: %s"
                     % (revision, cluster.get("hash_problem") or "no reason given"))
    else:
        _compare_hash(problems, notes, observed, cluster, revision, (
            "the cluster", "the replayed etcd", "the cluster's %d",
            "hash %%d equals the cluster's at revision %d (HashKV from compact revision %s)"
            % (revision, observed.get("compact_revision"))))
    return problems, notes
