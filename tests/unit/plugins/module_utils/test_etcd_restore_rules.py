"""The pure rules of the Kubernetes-safe restore and the restore drill."""

import json
import re

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import restore_rules as rules
from ansible_collections.raftops.etcd.plugins.module_utils.backup.restore_rules import (
    DEFAULT_BUMP,
    MIN_MARGIN,
    RuleError,
    bump_supported,
    drill_findings,
    parse_backup_record,
    restore_revision_plan,
    revision_bump,
)


@pytest.mark.parametrize("version, supported", [
    ("3.4.26", False), ("3.4.27", True), ("3.4.45", True),
    ("3.5.9", False), ("3.5.10", True), ("3.5.30", True), ("v3.5.30", True), ("3.5.10-rc.0", True),
    ("3.6.0", True), ("3.7.1", True), ("4.0.0", True), ("3.3.27", False),
    ([3, 5, 1], False), ((3, 5, 30), True),
])
def test_which_releases_bump_on_restore(version, supported):
    assert bump_supported(version) is supported


@pytest.mark.parametrize("version", ["3.5", "latest", "", None, [3, 5], [3, "5", 1], 3.5, [True, 5, 1]])
def test_a_version_that_is_none_is_refused(version):
    with pytest.raises(RuleError, match=r"is not an etcd release version like 3\.5\.30"):
        bump_supported(version)


def test_nothing_known_of_the_old_cluster_gives_the_default_bump():
    assert revision_bump(1234) == (DEFAULT_BUMP, "no member of the old cluster answered: the default bump")
    assert revision_bump("1234", [None]) == (DEFAULT_BUMP, "no member of the old cluster answered: the default bump")
    assert DEFAULT_BUMP == 1000000000


@pytest.mark.parametrize("snapshot, live, bump", [
    (1000, [1500], 500 + MIN_MARGIN),                     # a small gap: the minimum margin
    (1000, [1500, 400000, None], 399000 * 2),             # the highest member counts, doubled
    (1000, [900], MIN_MARGIN),                            # a member behind the snapshot: the margin alone
    (0, ["5000000"], 5000000 * 2),
])
def test_a_surviving_member_sets_the_bump(snapshot, live, bump):
    found, why = revision_bump(snapshot, live)
    assert found == bump
    assert found > max(int(r) for r in live if r is not None) - snapshot
    assert why.startswith("the old cluster reached revision ")


@pytest.mark.parametrize("snapshot, live", [(-1, []), ("x", []), (1, ["y"]), (True, [])])
def test_bad_revisions_are_refused(snapshot, live):
    with pytest.raises(RuleError, match="is not a revision"):
        revision_bump(snapshot, live)


def test_auto_bumps_on_a_release_that_can():
    plan = restore_revision_plan("auto", True, "3.5.30", 100, [])
    assert plan == dict(bump_revision=DEFAULT_BUMP, mark_compacted=True, warning="",
                        note="revision bumped by 1000000000, marked compacted (no member of the old cluster "
                             "answered: the default bump)")


def test_a_number_is_taken_as_it_is():
    plan = restore_revision_plan("5000", True, [3, 6, 14], 100, [900000])
    assert (plan["bump_revision"], plan["mark_compacted"]) == (5000, True)
    assert plan["note"] == "revision bumped by 5000, marked compacted (etcd_restore_bump_revision)"


def test_zero_turns_the_bump_off():
    assert restore_revision_plan(0, True, "3.5.30", 100) == dict(
        bump_revision=0, mark_compacted=False, note="revision not bumped", warning="")


def test_a_release_that_cannot_bump_restores_without_and_warns():
    plan = restore_revision_plan("auto", True, "3.5.1", 100, [200])
    assert (plan["bump_revision"], plan["mark_compacted"]) == (0, False)
    assert plan["note"] == "revision not bumped: etcd 3.5.1 cannot"
    assert plan["warning"].startswith("etcd 3.5.1 cannot bump the revision on restore (3.4.27, 3.5.10 or later "
                                      "can): restored without a bump")


def test_a_bad_setting_is_refused():
    with pytest.raises(RuleError, match="etcd_restore_bump_revision 'lots' is not a revision"):
        restore_revision_plan("lots", True, "3.5.30", 100)


# -- the backup's record -----------------------------------------------------------------------


def record_text(**fields):
    base = dict(revision=22, keys=19, hash_kv=755857414, compact_revision=-1, snapshot="etcd-snapshot-x.db")
    base.update(fields)
    return json.dumps(base)


def test_a_record_is_read():
    assert parse_backup_record(record_text()) == dict(revision=22, keys=19, hash_kv=755857414, compact_revision=-1)
    assert parse_backup_record(record_text(hash_kv=None))["hash_kv"] is None


@pytest.mark.parametrize("text, message", [
    ("{", "the backup record is not JSON: "),
    ("[1]", "the backup record is not a JSON object"),
    (record_text(revision=None), "the backup record has no revision"),
    (record_text(keys="19"), "the backup record's keys is '19', not a whole number"),
    (record_text(hash_kv=True), "the backup record's hash_kv is True, not a whole number"),
])
def test_a_bad_record_is_refused(text, message):
    with pytest.raises(RuleError, match=re.escape(message)):
        parse_backup_record(text)


# -- what a drill found ------------------------------------------------------------------------

SNAPSHOT = dict(revision=22, total_key=27)
RECORD = dict(revision=22, keys=19, hash_kv=755857414, compact_revision=-1)


def observed(**fields):
    base = dict(revision=22, keys=19, hash=755857414, compact_revision=-1, hash_problem=None)
    base.update(fields)
    return base


def test_a_sound_drill_with_a_record_compares_the_hash():
    assert drill_findings(SNAPSHOT, observed(), RECORD) == ([], ["hash 755857414 equals the backup's"])


def test_without_a_record_the_keys_are_checked_against_the_snapshot():
    assert drill_findings(SNAPSHOT, observed(), None) == ([], [
        "hash not compared: the snapshot has no backup record (a snapshot the backup playbook took has one)"])
    problems, _notes = drill_findings(SNAPSHOT, observed(keys=28), None)
    assert problems == ["the restored etcd holds 28 keys, more than the 27 entries of the snapshot"]


@pytest.mark.parametrize("seen, record, problem", [
    (observed(revision=21), RECORD, "the restored etcd is at revision 21, the snapshot at 22"),
    (observed(keys=18), RECORD, "the restored etcd holds 18 keys, the backup counted 19"),
    (observed(keys=None), RECORD, "the restored etcd did not count its keys"),
    (observed(hash=1), RECORD, "the restored etcd's keyspace hash at revision 22 is 1, the backup recorded 755857414"),
    (observed(), dict(RECORD, revision=30), "the backup record is of revision 30, the snapshot is of revision 22"),
])
def test_every_difference_fails_the_drill(seen, record, problem):
    problems, _notes = drill_findings(SNAPSHOT, seen, record)
    assert problems == [problem]


@pytest.mark.parametrize("seen, record, note", [
    (observed(), dict(RECORD, hash_kv=None), "hash not compared: the backup recorded none"),
    (observed(hash=None, hash_problem="etcd 3.5.1 does not serve HashKV"), RECORD,
     "hash not compared: etcd 3.5.1 does not serve HashKV"),
    (observed(compact_revision=5), RECORD,
     "hash not compared: the backup hashed from compact revision -1, the restored etcd from 5"),
])
def test_a_hash_that_cannot_be_compared_is_said(seen, record, note):
    assert drill_findings(SNAPSHOT, seen, record) == ([], [note])


# -- a drill of a point in time, against the live cluster's keyspace at that revision ---------------

COMPACTED = "revision 22 is compacted: etcd keeps no history before its last compaction"
CLUSTER = dict(endpoint="https://127.0.0.1:2379", revision=22, current_revision=40, keys=19, hash=755857414,
               compact_revision=-1, hash_problem=None)


def test_a_point_in_time_s_drill_compares_with_the_cluster_s_hash_and_not_a_record():
    assert drill_findings(SNAPSHOT, observed(), RECORD, CLUSTER) == (
        [], ["hash 755857414 equals the cluster's at revision 22 (HashKV from compact revision -1)"])


@pytest.mark.parametrize("seen, cluster, problem", [
    (observed(keys=18), CLUSTER, "the replayed etcd holds 18 keys at revision 22, the cluster held 19"),
    (observed(hash=1), CLUSTER, "the replayed etcd's keyspace hash at revision 22 is 1, the cluster's 755857414"),
    (observed(revision=21), CLUSTER, "the replayed etcd is at revision 21, its snapshot at 22, the cluster was read at 22"),
    (observed(), dict(CLUSTER, revision=23), "the replayed etcd is at revision 22, its snapshot at 22, the cluster was "
                                             "read at 23"),
])
def test_a_point_in_time_that_differs_from_the_cluster_fails_the_drill(seen, cluster, problem):
    assert drill_findings(SNAPSHOT, seen, None, cluster)[0] == [problem]


@pytest.mark.parametrize("seen, cluster, note", [
    (observed(), dict(CLUSTER, keys=None, hash=None, hash_problem=COMPACTED),
     "hash not compared: the cluster gave none at revision 22: revision 22 is compacted: etcd keeps no history before "
     "its last compaction"),
    (observed(hash=None, hash_problem="etcd 3.5.1 does not serve HashKV"), CLUSTER,
     "hash not compared: etcd 3.5.1 does not serve HashKV"),
    (observed(compact_revision=5), CLUSTER,
     "hash not compared: the cluster hashed from compact revision -1, the replayed etcd from 5"),
])
def test_a_point_in_time_s_hash_that_cannot_be_compared_is_said(seen, cluster, note):
    assert drill_findings(SNAPSHOT, seen, None, cluster) == ([], [note])


def test_the_module_util_is_private():
    with open(rules.__file__) as source:
        assert "PRIVATE" in source.read()


def test_a_snapshot_of_a_keyspace_never_written_restores_at_revision_one():
    empty = dict(revision=0, total_key=0)
    assert drill_findings(empty, observed(revision=1, keys=0), None)[0] == []
    assert drill_findings(empty, observed(revision=2, keys=0), None)[0] == [
        "the restored etcd is at revision 2, the snapshot at 0"]
