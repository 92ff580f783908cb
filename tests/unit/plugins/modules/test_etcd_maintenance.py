"""etcd_maintenance on an in-memory cluster (fake_etcd_maintenance): every action, check mode, and
every refusal, with the messages an operator reads."""

import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.defrag_rule import DEFAULT_RULE, RULE_HELP
from ansible_collections.raftops.etcd.plugins.modules import etcd_maintenance
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd import REFUSED
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_maintenance import (
    SPACE_EXCEEDED,
    FakeMaintenanceCluster,
)
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match

MiB = 1024 ** 2
URLS = ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]
COMPACTED = "etcdserver: mvcc: required revision has been compacted"
NOT_READY = "the cluster is not healthy apart from NOSPACE alarms: "


def params(**overrides):
    p = {name: spec.get("default") for name, spec in etcd_maintenance.argument_spec().items()}
    p.update(endpoints=[URLS[0]], action="plan")
    p.update(overrides)
    return p


def run(cluster, check_mode=False, **overrides):
    p = params(**overrides)
    clients = [cluster.client(url) for url in p["endpoints"]]
    return etcd_maintenance.run(p, clients, cluster.client, check_mode=check_mode, clock=cluster.clock,
                                sleep=cluster.sleep)


def sent(cluster, method):
    return [call for call in cluster.calls if call[1] == method]


@pytest.fixture
def cluster():
    return FakeMaintenanceCluster()


# -- plan -------------------------------------------------------------------------------------------


def test_plan_lists_followers_by_name_then_the_leader_with_the_rule_decision():
    cluster = FakeMaintenanceCluster(("m2", "m0", "m1"), leader="m0")
    cluster.db["m2"] = [100 * MiB, 90 * MiB]
    failure, result = run(cluster)
    assert failure is None
    assert result["changed"] is False
    assert [(m["name"], m["is_leader"], m["defragment"]) for m in result["members"]] == [
        ("m1", False, True), ("m2", False, False), ("m0", True, True)]
    assert result["members"][0] == dict(
        name="m1", member_id="a2", endpoint="http://10.0.0.3:2379", is_leader=False, db_size=400 * MiB,
        db_size_in_use=150 * MiB, free=250 * MiB, free_percent=62.5, quota_percent=19.5, raft_applied_index=48, defragment=True,
        reason="free_percent 62.5 > 50: yes, free 250.0 MiB > 100 MiB: yes -> defragment")
    assert result["members"][1]["reason"] == (
        "free_percent 10.0 > 50: no, quota_percent 4.9 > 80: no -> do not defragment")
    assert result["order"] == ["m1", "m0"]
    assert (result["alarms"], result["nospace"], result["rule"], result["revision"]) == ([], False, DEFAULT_RULE, 40)
    assert result["msg"] == "defragment, in this order: m1, m0"
    json.dumps(result)


def test_plan_with_a_rule_and_quota_of_its_own(cluster):
    failure, result = run(cluster, rule="quota_percent >= 50%", quota_bytes=800 * MiB)
    assert failure is None
    assert result["order"] == ["m1", "m2", "m0"]
    assert result["members"][0]["quota_percent"] == 50.0
    assert result["members"][0]["reason"] == "quota_percent 50.0% >= 50%: yes -> defragment"
    failure, result = run(cluster, rule="never")
    assert (result["order"], result["msg"]) == ([], "no member needs defragmenting")


def test_plan_with_nospace_defragments_every_member(cluster):
    cluster.alarms = [("m1", "NOSPACE")]
    cluster.db = {name: [100 * MiB, 99 * MiB] for name in ("m0", "m1", "m2")}
    failure, result = run(cluster)
    assert failure is None
    assert result["nospace"] is True
    assert result["alarms"] == [dict(member="m1", member_id="a1", alarm="NOSPACE")]
    assert result["order"] == ["m1", "m2", "m0"]
    assert {m["reason"] for m in result["members"]} == {"a NOSPACE alarm is raised: every member is defragmented"}


def test_plan_refuses_a_member_down_naming_it(cluster):
    cluster.down.add(0xA2)
    failure, result = run(cluster)
    assert failure == "not ready for maintenance: m2 (http://10.0.0.3:2379): unreachable: " + REFUSED
    assert "members" not in result


def test_plan_refuses_unhealthy_members_and_other_alarms(cluster):
    cluster.unhealthy["m1"] = "RAFT NO LEADER"
    cluster.alarms = [("m2", "CORRUPT")]
    failure, _result = run(cluster)
    assert failure == ("not ready for maintenance: m0 (http://10.0.0.1:2379): /health false: ALARM CORRUPT; "
                       "m1 (http://10.0.0.2:2379): /health false: RAFT NO LEADER; "
                       "m2 (http://10.0.0.3:2379): /health false: ALARM CORRUPT; alarm CORRUPT on member m2")


@pytest.mark.parametrize("catches_up_after, timeout, sleeps, ready", [
    (3, 10, 3, True),     # behind for three looks, caught up within the wait
    (1000, 10, 5, False),  # still behind when the 10 s are up: five looks again, 2 s apart
    (1000, 0, 0, False),   # no wait: one look, the refusal at once
])
def test_plan_with_a_wait_looks_again_until_the_member_caught_up(cluster, catches_up_after, timeout, sleeps, ready):
    # A member defragmented a moment ago: behind the leader until it applied what it missed.
    cluster.applied[0xA1] = 30
    cluster.on_sleep.append(lambda n: n >= catches_up_after and cluster.applied.pop(0xA1, None))
    failure, result = run(cluster, max_raft_index_gap=10, wait_timeout=timeout)
    assert cluster.sleeps == sleeps
    if ready:
        assert failure is None and result["order"] == ["m1", "m2", "m0"]
    else:
        assert failure == ("not ready for maintenance: m1 (http://10.0.0.2:2379): behind the leader by 20 raft "
                           "entries (applied 30, leader index 50, max 10)")
        assert not [call for call in cluster.calls if call[1] in ("compact", "defragment")]


def test_plan_with_a_wait_looks_again_while_no_member_answers(cluster):
    cluster.down.update({0xA0, 0xA1, 0xA2})
    cluster.on_sleep.append(lambda n: n == 2 and cluster.down.clear())
    failure, result = run(cluster, wait_timeout=10)
    assert failure is None and cluster.sleeps == 2 and result["order"] == ["m1", "m2", "m0"]


def test_a_negative_wait_timeout_fails_before_anything_is_sent(cluster):
    failure, _result = run(cluster, wait_timeout=-1)
    assert failure == "wait_timeout must be 0 or more, got -1; nothing was sent"
    assert cluster.calls == []


def test_plan_refuses_while_a_learner_catches_up():
    failure, _result = run(FakeMaintenanceCluster(learner="m2"))
    assert failure == ("not ready for maintenance: a learner is catching up: m2; let its join finish (the main "
                       "playbook promotes it) and run again")


def test_plan_refuses_a_member_behind_the_leader(cluster):
    cluster.applied[0xA1] = 30
    failure, _result = run(cluster, max_raft_index_gap=10)
    assert failure == ("not ready for maintenance: m1 (http://10.0.0.2:2379): behind the leader by 20 raft entries "
                       "(applied 30, leader index 50, max 10)")


def test_plan_waits_for_a_member_that_finds_the_leader_again(cluster):
    # Seed 3601 case 17 of the fault campaign: a re-run seconds after a partition healed.
    cluster.leaderless["m1"] = 3
    failure, result = run(cluster)
    assert failure is None
    assert result["order"] == ["m1", "m2", "m0"]
    assert cluster.sleeps == 3


def test_plan_refuses_a_member_that_stays_without_a_leader_saying_what_to_do(cluster):
    cluster.leaderless["m1"] = 1000
    failure, result = run(cluster)
    assert failure == (
        "not ready for maintenance: m1 (http://10.0.0.2:2379): reports errors: etcdserver: no leader; "
        "no leader seen by: m1; a member that sees no leader while the others do is cut off from its peers or "
        "still finding the leader after a restart: heal its network, wait until it names the leader "
        "(raftops.etcd.status) and run again")
    assert cluster.sleeps == 15
    assert "members" not in result
    assert not [call for call in cluster.calls if call[1] in ("compact", "defragment")]


def test_plan_does_not_wait_when_no_member_sees_a_leader(cluster):
    cluster.leaderless = {"m0": 1000, "m1": 1000, "m2": 1000}
    failure, _result = run(cluster)
    assert failure.startswith("not ready for maintenance: ")
    assert "cut off from its peers" not in failure
    assert cluster.sleeps == 0


def test_a_rule_that_cannot_be_read_fails_before_anything_is_sent(cluster):
    failure, _result = run(cluster, rule="free >> 5")
    assert failure == ("etcd_defrag_rule 'free >> 5': unexpected '>' at character 7, expected a number after free >; "
                       "%s; nothing was sent" % RULE_HELP)
    assert cluster.calls == []


# -- compact ----------------------------------------------------------------------------------------


def test_compact_to_the_current_revision_then_nothing_more(cluster):
    failure, result = run(cluster, action="compact")
    assert failure is None
    assert result == dict(changed=True, current_revision=40, compacted_to=40, physical=True,
                          msg="compacted the history up to revision 40 (current revision 40)")
    assert cluster.compact_revision == 40
    assert sent(cluster, "compact") == [(URLS[0], "compact", 40, True)]
    failure, again = run(cluster, action="compact")
    assert failure is None
    assert (again["changed"], again["compacted_to"]) == (False, None)
    assert again["msg"] == ("nothing to compact: the history is compacted up to revision 40 or later already "
                            "(current revision 40)")
    assert len(sent(cluster, "compact")) == 1


def test_compact_keeps_revisions_and_may_skip_the_physical_wait(cluster):
    cluster.compact_revision = 20
    failure, result = run(cluster, action="compact", keep=10, physical=False)
    assert failure is None
    assert (result["changed"], result["compacted_to"], result["physical"]) == (True, 30, False)
    assert sent(cluster, "compact") == [(URLS[0], "compact", 30, False)]


def test_compact_in_check_mode_reports_the_target_only(cluster):
    failure, result = run(cluster, check_mode=True, action="compact", keep=5)
    assert failure is None
    assert (result["changed"], result["compacted_to"], result["current_revision"]) == (True, 35, 40)
    assert result["msg"] == "would compact the history up to revision 35 (current revision 40)"
    assert sent(cluster, "compact") == []
    assert cluster.compact_revision == 0


def test_keep_covering_the_whole_history_compacts_nothing(cluster):
    failure, result = run(cluster, action="compact", keep=39)
    assert failure is None
    assert (result["changed"], result["compacted_to"]) == (False, None)
    assert result["msg"] == "nothing to compact: keep=39 covers the whole history (current revision 40)"
    assert sent(cluster, "is_compacted") == []


def test_keep_below_zero_fails_with_no_request_sent(cluster):
    failure, result = run(cluster, action="compact", keep=-1)
    assert failure == "keep must be 0 or more, got -1; nothing was sent"
    assert result == dict(changed=False)
    assert cluster.calls == []


def test_a_compaction_made_meanwhile_is_no_change(cluster):
    cluster.refuse["compact"] = (400, COMPACTED)
    failure, result = run(cluster, action="compact")
    assert failure is None
    assert (result["changed"], result["compacted_to"]) == (False, None)
    assert result["msg"] == "nothing to compact: the history was compacted up to revision 40 or later meanwhile"


def test_compact_quotes_what_etcd_refused(cluster):
    cluster.refuse["compact"] = (503, "etcdserver: no leader")
    failure, _result = run(cluster, action="compact")
    assert failure == "etcd refused to compact to revision 40: 'etcdserver: no leader' (http://10.0.0.1:2379)"


def test_a_compaction_that_timed_out_is_not_repeated(cluster):
    cluster.timeouts["compact"] = ["applied"]
    failure, _result = run(cluster, action="compact", endpoints=URLS[:2])
    assert failure.startswith("the compaction to revision 40 got no answer: http://10.0.0.1:2379: timed out")
    assert "run the task again, which reports changed=false once it has been" in failure
    assert len(sent(cluster, "compact")) == 1


# -- defragment -------------------------------------------------------------------------------------


def test_defragment_a_follower(cluster):
    cluster.before["defragment"] = lambda: cluster.advance(2.4)
    failure, result = run(cluster, action="defragment", member="m1")
    assert failure is None
    assert result == dict(
        changed=True, member="m1", member_id="a1", endpoint="http://10.0.0.2:2379", is_leader=False,
        before=dict(db_size=400 * MiB, db_size_in_use=150 * MiB), after=dict(db_size=150 * MiB, db_size_in_use=150 * MiB),
        reclaimed=250 * MiB, seconds=2.4, defragment=True, reason="no rule given: defragmented as asked",
        msg="m1: defragmented in 2.40 s, 250 MiB given back (400 MiB -> 150 MiB)")
    assert sent(cluster, "defragment") == [(URLS[1], "defragment", 300)]


def test_defragment_with_a_rule_only_when_it_holds(cluster):
    cluster.db["m1"] = [100 * MiB, 90 * MiB]
    failure, result = run(cluster, action="defragment", member="m1", rule=DEFAULT_RULE)
    assert failure is None
    assert (result["changed"], result["defragment"], result["after"], result["rule"]) == (
        False, False, None, DEFAULT_RULE)
    assert result["msg"] == ("m1: not defragmented: free_percent 10.0 > 50: no, quota_percent 4.9 > 80: no -> do not "
                             "defragment")
    assert sent(cluster, "defragment") == []
    failure, result = run(cluster, action="defragment", member="m2", rule=DEFAULT_RULE, defrag_timeout=900)
    assert (failure, result["changed"], result["reclaimed"]) == (None, True, 250 * MiB)
    assert sent(cluster, "defragment") == [(URLS[2], "defragment", 900)]


def test_defragment_under_nospace_whatever_the_rule(cluster):
    cluster.alarms = [("m0", "NOSPACE")]
    failure, result = run(cluster, action="defragment", member="m2", rule="never")
    assert failure is None
    assert (result["changed"], result["reason"]) == (True, "a NOSPACE alarm is raised: every member is defragmented")


def test_defragment_in_check_mode_decides_only(cluster):
    failure, result = run(cluster, check_mode=True, action="defragment", member="m2")
    assert failure is None
    assert (result["changed"], result["defragment"], result["after"], result["reclaimed"]) == (True, True, None, None)
    assert result["msg"] == "m2: would be defragmented: no rule given: defragmented as asked"
    assert sent(cluster, "defragment") == []


def test_defragment_refuses_the_leader_unless_allowed(cluster):
    failure, result = run(cluster, action="defragment", member="m0")
    assert failure == ("refusing to defragment m0: it is the leader, and a defragmenting leader stalls every write and "
                       "can cost a leader election; move leadership to another member first (raftops.etcd.etcd_member "
                       "state=leader), or set allow_leader=true; nothing was defragmented")
    assert result["is_leader"] is True
    assert sent(cluster, "defragment") == []
    failure, result = run(cluster, action="defragment", member="m0", allow_leader=True)
    assert (failure, result["changed"]) == (None, True)


def test_defragment_refuses_while_a_member_is_down_naming_it(cluster):
    cluster.down.add(0xA2)
    failure, _result = run(cluster, action="defragment", member="m1")
    assert failure == ("refusing to defragment m1: " + NOT_READY + "m2 (http://10.0.0.3:2379): unreachable: "
                       + REFUSED + "; nothing was defragmented")
    assert sent(cluster, "defragment") == []
    assert cluster.db["m1"] == [400 * MiB, 150 * MiB]


def test_defragment_refuses_while_a_learner_catches_up():
    cluster = FakeMaintenanceCluster(learner="m2")
    failure, _result = run(cluster, action="defragment", member="m1")
    assert failure == ("refusing to defragment m1: " + NOT_READY + "a learner is catching up: m2; let its join finish "
                       "(the main playbook promotes it) and run again; nothing was defragmented")
    assert sent(cluster, "defragment") == []


def test_defragment_names_the_members_when_the_name_is_unknown(cluster):
    failure, _result = run(cluster, action="defragment", member="m9")
    assert failure == "no member is named m9; the members are m0, m1, m2; nothing was defragmented"


def test_defragment_that_outlasts_its_timeout(cluster):
    cluster.timeouts["defragment"] = ["applied"]
    failure, _result = run(cluster, action="defragment", member="m1", defrag_timeout=5)
    assert failure.startswith("defragmenting m1 got no answer within defrag_timeout=5 s: http://10.0.0.2:2379: timed")
    assert "etcd goes on defragmenting" in failure


def test_defragment_quotes_what_etcd_refused(cluster):
    cluster.refuse["defragment"] = (500, "etcdserver: request timed out")
    failure, _result = run(cluster, action="defragment", member="m1")
    assert failure == "etcd refused to defragment m1: 'etcdserver: request timed out' (http://10.0.0.2:2379)"


# -- alarms and disarm ------------------------------------------------------------------------------


def test_alarms_lists_what_is_raised(cluster):
    failure, result = run(cluster, action="alarms")
    assert (failure, result) == (None, dict(changed=False, alarms=[], msg="no alarm is raised"))
    cluster.alarms = [("m0", "NOSPACE"), ("m2", "CORRUPT")]
    failure, result = run(cluster, check_mode=True, action="alarms")
    assert result["alarms"] == [dict(member="m0", member_id="a0", alarm="NOSPACE"),
                                dict(member="m2", member_id="a2", alarm="CORRUPT")]
    assert result["msg"] == "raised: NOSPACE on m0, CORRUPT on m2"


def test_disarm_nospace_then_prove_a_write_works(cluster):
    cluster.alarms = [("m0", "NOSPACE"), ("m1", "NOSPACE"), ("m2", "CORRUPT")]
    failure, result = run(cluster, action="disarm")
    assert failure is None
    assert result == dict(changed=True, write_checked=True, disarmed=[
        dict(member="m0", member_id="a0", alarm="NOSPACE"), dict(member="m1", member_id="a1", alarm="NOSPACE")],
        msg="disarmed NOSPACE on m0, NOSPACE on m1; a write of /raftops/maintenance/write-check works")
    assert cluster.alarms == [("m2", "CORRUPT")]
    assert [call[1:] for call in cluster.calls if call[1] in ("alarm_disarm", "put", "delete_key")] == [
        ("alarm_disarm", 0xA0, "NOSPACE"), ("alarm_disarm", 0xA1, "NOSPACE"),
        ("put", "/raftops/maintenance/write-check"), ("delete_key", "/raftops/maintenance/write-check")]
    assert cluster.kv == {}


def test_disarm_in_check_mode_names_what_it_would_disarm(cluster):
    cluster.alarms = [("m0", "NOSPACE")]
    failure, result = run(cluster, check_mode=True, action="disarm")
    assert failure is None
    assert (result["changed"], result["write_checked"], result["msg"]) == (True, False, "would disarm NOSPACE on m0")
    assert cluster.alarms == [("m0", "NOSPACE")]
    assert sent(cluster, "alarm_disarm") == sent(cluster, "put") == []


def test_disarm_with_nothing_raised_changes_nothing(cluster):
    cluster.alarms = [("m2", "CORRUPT")]
    failure, result = run(cluster, action="disarm")
    assert (failure, result["changed"], result["disarmed"]) == (None, False, [])
    assert result["msg"] == "no NOSPACE alarm is raised"
    assert cluster.alarms == [("m2", "CORRUPT")]


def test_corrupt_is_disarmed_only_when_named_and_without_a_write(cluster):
    cluster.alarms = [("m2", "CORRUPT")]
    failure, result = run(cluster, action="disarm", alarm="CORRUPT")
    assert failure is None
    assert (result["changed"], result["write_checked"]) == (True, False)
    assert result["disarmed"] == [dict(member="m2", member_id="a2", alarm="CORRUPT")]
    assert sent(cluster, "put") == []


def test_disarm_all_disarms_both(cluster):
    cluster.alarms = [("m2", "CORRUPT"), ("m1", "NOSPACE")]
    failure, result = run(cluster, action="disarm", alarm="all", write_check_key="/ops/check")
    assert failure is None
    assert [a["alarm"] for a in result["disarmed"]] == ["CORRUPT", "NOSPACE"]
    assert result["write_checked"] is True
    assert sent(cluster, "put") == [(URLS[0], "put", "/ops/check")]
    assert cluster.alarms == []


def test_disarm_fails_quoting_etcd_when_a_write_still_fails(cluster):
    cluster.alarms = [("m0", "NOSPACE")]
    cluster.refuse["put"] = (400, SPACE_EXCEEDED)
    failure, result = run(cluster, action="disarm")
    assert failure == ("disarmed NOSPACE on m0, but a write of /raftops/maintenance/write-check still fails: "
                       "'etcdserver: mvcc: database space exceeded' (http://10.0.0.1:2379); the database is still over "
                       "its quota: compact, defragment every member (action=plan lists them), then disarm again")
    assert (result["changed"], result["write_checked"]) == (True, False)


# -- hash check -------------------------------------------------------------------------------------


def test_hash_check_at_the_lowest_revision_among_the_members(cluster):
    cluster.behind["m2"] = 3
    cluster.compact_revision = 20
    failure, result = run(cluster, action="hash_check")
    assert failure is None
    assert result["revision"] == 37
    assert {call[2] for call in sent(cluster, "hash_kv")} == {37}
    assert [(h["member"], h["member_id"], h["compact_revision"]) for h in result["hashes"]] == [
        ("m0", "a0", 20), ("m1", "a1", 20), ("m2", "a2", 20)]
    assert len({h["hash"] for h in result["hashes"]}) == 1
    assert (result["diverged"], result["consistent"], result["changed"]) == ([], True, False)
    assert result["msg"] == "the KV hashes of 3 members agree at revision 37 (hash %d)" % result["hashes"][0]["hash"]


def test_hash_check_gives_a_large_database_the_time_it_takes_to_read(cluster):
    cluster.db["m1"] = [4096 * MiB, 4000 * MiB]
    failure, _result = run(cluster, action="hash_check", timeout=5)
    assert failure is None
    # 400 MiB at 20 MiB/s is within 20 s; 4 GiB takes 204.8 s.
    assert sorted(call[3] for call in sent(cluster, "hash_kv")) == [20.0, 20.0, 204.8]


def test_hash_check_fails_naming_the_member_that_diverged(cluster):
    cluster.corrupt.add("m2")
    failure, result = run(cluster, action="hash_check")
    hashes = {h["member"]: h["hash"] for h in result["hashes"]}
    assert failure == "the keyspace of m2 differs from the majority's at revision 40 (m0: %d; m1: %d; m2: %d)" % (
        hashes["m0"], hashes["m1"], hashes["m2"])
    assert (result["diverged"], result["consistent"]) == (["m2"], False)
    failure, result = run(cluster, action="hash_check", fail_on_divergence=False)
    assert failure is None
    assert result["msg"].startswith("the keyspace of m2 differs")


def test_hash_check_against_a_reference_member_names_the_majority_when_they_differ_from_it(cluster):
    cluster.corrupt.add("m0")
    failure, result = run(cluster, action="hash_check", member="m0")
    hashes = {h["member"]: h["hash"] for h in result["hashes"]}
    assert failure == "the keyspace of m1, m2 differs from m0's at revision 40 (m0: %d; m1: %d; m2: %d)" % (
        hashes["m0"], hashes["m1"], hashes["m2"])
    assert (result["diverged"], result["consistent"]) == (["m1", "m2"], False)
    failure, result = run(cluster, action="hash_check", member="m1")
    assert failure.startswith("the keyspace of m0 differs from m1's at revision 40")


def test_hash_check_against_a_reference_member_passes_when_all_agree(cluster):
    failure, result = run(cluster, action="hash_check", member="m2")
    assert failure is None
    assert (result["diverged"], result["consistent"]) == ([], True)
    assert result["msg"] == "the KV hashes of 3 members agree at revision 40 with m2's (hash %d)" % result["hashes"][0]["hash"]


def test_hash_check_refuses_a_reference_that_is_no_voting_member(cluster):
    failure, result = run(cluster, action="hash_check", member="m9")
    assert failure == "the reference member m9 is not a voting member of the cluster (voting members: m0, m1, m2)"
    assert result["changed"] is False
    assert sent(cluster, "hash_kv") == []


def test_hash_check_without_a_majority_doubts_every_member():
    cluster = FakeMaintenanceCluster(("m0", "m1"))
    cluster.corrupt.add("m1")
    failure, result = run(cluster, action="hash_check", fail_on_divergence=False)
    assert failure is None
    assert result["diverged"] == ["m0", "m1"]
    assert result["msg"].startswith("no majority of the members agrees on the keyspace hash at revision 40 (m0: ")


def test_hash_check_waits_for_a_compaction_to_reach_every_member(cluster):
    cluster.compact_revision = 30
    cluster.compact_lag["m1"] = [20]
    failure, result = run(cluster, action="hash_check")
    assert failure is None
    assert result["consistent"] is True
    assert cluster.sleeps == 1
    assert len(sent(cluster, "hash_kv")) == 6


def test_hash_check_gives_up_when_compact_revisions_keep_differing(cluster):
    cluster.compact_revision = 30
    cluster.compact_lag["m1"] = [20, 20, 20]
    failure, result = run(cluster, action="hash_check")
    assert failure == ("the members report different compact revisions after 3 attempts (m0: 30; m1: 20; m2: 30), so "
                       "their hashes cover different history and cannot be compared; run again once the compaction "
                       "has reached every member")
    assert cluster.sleeps == 2
    assert "hashes" not in result


def test_hash_check_retries_a_revision_compacted_meanwhile(cluster):
    cluster.refuse["hash_kv"] = (400, COMPACTED)
    failure, result = run(cluster, action="hash_check")
    assert (failure, result["consistent"], cluster.sleeps) == (None, True, 1)


def test_hash_check_needs_every_voting_member(cluster):
    cluster.down.add(0xA1)
    failure, _result = run(cluster, action="hash_check")
    assert failure == ("cannot compare the keyspace hashes, every voting member must answer: m1: unreachable: "
                       + REFUSED)
    assert sent(cluster, "hash_kv") == []


def test_hash_check_leaves_learners_out():
    cluster = FakeMaintenanceCluster(learner="m2")
    failure, result = run(cluster, action="hash_check")
    assert failure is None
    assert [h["member"] for h in result["hashes"]] == ["m0", "m1"]


def test_hash_check_before_3_5_10_says_it_needs_it_and_marks_the_result_unsupported(cluster):
    cluster.refuse["hash_kv"] = (404, "Not Found")
    failure, result = run(cluster, action="hash_check")
    assert failure == ("m0 does not serve HashKV at http://10.0.0.1:2379 (before etcd 3.5.10 the gateway maps it to "
                       "the path of Hash): the hash check needs etcd 3.5.10 or later")
    assert result["unsupported"] is True
    # Asked not to fail on it, the task succeeds saying why it compared nothing.
    cluster.refuse["hash_kv"] = (404, "Not Found")
    failure, result = run(cluster, action="hash_check", fail_on_unsupported=False)
    assert failure is None and result["unsupported"] is True
    assert result["msg"].startswith("m0 does not serve HashKV at http://10.0.0.1:2379 ") and "hashes" not in result


def test_hash_check_fails_on_other_errors_and_divergence_whatever_fail_on_unsupported_says(cluster):
    cluster.refuse["hash_kv"] = (401, "etcdserver: permission denied")
    failure, _result = run(cluster, action="hash_check", fail_on_unsupported=False)
    assert failure == "cannot read the keyspace hash of m0: 'etcdserver: permission denied' (http://10.0.0.1:2379)"


def test_hash_check_quotes_other_errors_naming_the_member(cluster):
    cluster.refuse["hash_kv"] = (401, "etcdserver: permission denied")
    failure, _result = run(cluster, action="hash_check")
    assert failure == "cannot read the keyspace hash of m0: 'etcdserver: permission denied' (http://10.0.0.1:2379)"


# -- the module as Ansible runs it ------------------------------------------------------------------


def run_main(monkeypatch, capsys, cluster, args):
    monkeypatch.setattr(ec, "EtcdClient", lambda url, **options: cluster.client(url))
    args = dict(args)
    args.setdefault("endpoints", [URLS[0]])
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_maintenance.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_main_plans_in_check_mode(monkeypatch, capsys, cluster):
    code, out = run_main(monkeypatch, capsys, cluster, {"action": "plan", "_ansible_check_mode": True})
    assert code == 0
    assert out["order"] == ["m1", "m2", "m0"]


def test_main_defragments_and_fails_with_the_result(monkeypatch, capsys, cluster):
    code, out = run_main(monkeypatch, capsys, cluster, {"action": "defragment", "member": "m1"})
    assert (code, out["changed"], out["reclaimed"]) == (0, True, 250 * MiB)
    assert isinstance(out["seconds"], float)
    code, out = run_main(monkeypatch, capsys, cluster, {"action": "defragment", "member": "m0"})
    assert (code, out["failed"], out["is_leader"]) == (1, True, True)
    assert out["msg"].startswith("refusing to defragment m0: it is the leader")


@pytest.mark.parametrize("args, message", [
    ({"action": "defragment"}, "action is defragment but all of the following are missing: member"),
    ({"action": "repair"}, "value of action must be one of: plan, compact, defragment, alarms, disarm, hash_check"),
    ({"action": "disarm", "alarm": "nospace"}, "value of alarm must be one of: NOSPACE, CORRUPT, all"),
    ({}, "missing required arguments: action"),
    ({"action": "compact", "keep": -3}, "keep must be 0 or more, got -3; nothing was sent"),
    ({"action": "plan", "quota_bytes": -1}, "quota_bytes must be 0 or more, got -1; nothing was sent"),
    ({"action": "defragment", "member": "m1", "defrag_timeout": 0}, "defrag_timeout must be 1 second or more"),
    ({"action": "disarm", "write_check_key": ""}, "write_check_key must name a key; nothing was sent"),
    ({"action": "plan", "endpoints": []}, "endpoints must name at least one etcd client URL"),
])
def test_main_refuses_bad_arguments_before_sending_anything(monkeypatch, capsys, cluster, args, message):
    code, out = run_main(monkeypatch, capsys, cluster, args)
    assert code == 1
    assert message in out["msg"]
    assert cluster.calls == []


# -- documentation ----------------------------------------------------------------------------------


def test_documented_options_match_the_argument_spec():
    assert_documented_options_match(etcd_maintenance)
    doc = yaml.safe_load(etcd_maintenance.DOCUMENTATION)
    assert DEFAULT_RULE in " ".join(doc["options"]["rule"]["description"])


def test_examples_and_return_are_yaml():
    assert len(yaml.safe_load(etcd_maintenance.EXAMPLES)[0]["block"]) == 7
    returned = yaml.safe_load(etcd_maintenance.RETURN)
    assert {"members", "order", "alarms", "nospace", "rule", "revision", "compacted_to", "current_revision",
            "before", "after", "reclaimed", "seconds", "disarmed", "write_checked", "hashes", "diverged",
            "consistent"} <= set(returned)
