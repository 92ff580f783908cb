"""The filters restore_bump and drill_verdict: the role's view of module_utils/etcd_restore_rules."""

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import restore
from ansible_collections.raftops.etcd.plugins.filter.restore import drill_verdict, restore_bump


def test_the_filters_are_registered():
    assert restore.FilterModule().filters() == {"restore_bump": restore_bump, "drill_verdict": drill_verdict}


def test_restore_bump_takes_the_role_variables():
    plan = restore_bump(100, "auto", True, [3, 5, 30], [250])
    assert (plan["bump_revision"], plan["mark_compacted"]) == (100150, True)
    assert restore_bump(100, "auto", True, "3.5.1")["warning"].startswith("etcd 3.5.1 cannot bump")


def test_restore_bump_names_itself_on_a_bad_value():
    with pytest.raises(AnsibleFilterError, match=r"raftops\.etcd\.restore_bump: 'x' is not an etcd release version"):
        restore_bump(100, "auto", True, "x")


SNAPSHOT = dict(revision=22, total_key=27)
OBSERVED = dict(revision=22, keys=19, hash=7, compact_revision=-1, hash_problem=None)


def test_drill_verdict_reads_the_record():
    record = json.dumps(dict(revision=22, keys=19, hash_kv=7, compact_revision=-1))
    assert drill_verdict(OBSERVED, SNAPSHOT, record) == dict(problems=[], notes=["hash 7 equals the backup's"])
    assert drill_verdict(OBSERVED, SNAPSHOT, "")["notes"][0].startswith("hash not compared: the snapshot has no backup")


def test_drill_verdict_fails_on_an_unreadable_record():
    verdict = drill_verdict(OBSERVED, SNAPSHOT, "{broken")
    assert verdict["problems"][0].startswith("the backup record is not JSON: ")


def test_drill_verdict_wants_dicts():
    with pytest.raises(AnsibleFilterError, match="expects what the private etcd answered and the snapshot info"):
        drill_verdict([], SNAPSHOT)
