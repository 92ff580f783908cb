import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import member_task
from ansible_collections.raftops.etcd.plugins.modules import etcd_member
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd import FakeCluster
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_kv import FakeKVCluster


def fake_cluster(monkeypatch, names, leader):
    """A FakeCluster of ``names`` that every client of the module reaches, on a clock of its own."""
    fake = FakeCluster(names, leader=leader)
    monkeypatch.setattr(ec, "EtcdClient", lambda url, **options: fake.client(url))
    clock = {"now": 0.0}
    monkeypatch.setattr(member_task, "_now", lambda: clock["now"])
    monkeypatch.setattr(member_task, "_sleep", lambda seconds: clock.update(now=clock["now"] + seconds))
    monkeypatch.setattr(member_task, "_utc_stamp", lambda: "2026-01-31 10:00:00 UTC")
    return fake


@pytest.fixture
def cluster(monkeypatch):
    return fake_cluster(monkeypatch, ["etcd-a", "etcd-b", "etcd-c"], "etcd-a")


ENDPOINTS = ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]


def run(capsys, args, check_mode=False, diff=False):
    args = dict(args)
    args.setdefault("endpoints", ENDPOINTS)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        etcd_member.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exc.value.code
    return result


# -- argument handling -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        ({"state": "present", "name": "etcd-d"}, "state is present but all of the following are missing: peer_urls"),
        ({"state": "absent"}, "state is absent but any of the following are missing: name, id, peer_url"),
        ({"state": "promoted"}, "state is promoted but any of the following are missing: name, id, peer_url"),
        ({"state": "leader"}, "state is leader but any of the following are missing: name, id, peer_url"),
        ({"state": "absent", "name": "etcd-a", "id": "a0"}, "parameters are mutually exclusive: name|id|peer_url"),
        ({"state": "absent", "id": "a0", "peer_url": "http://10.0.0.1:2380"}, "mutually exclusive"),
        ({"state": "list"}, "value of state must be one of: present, promoted, absent, leader, got: list"),
        ({"name": "etcd-a"}, "state is present but all of the following are missing: peer_urls"),
        ({}, "state is present but all of the following are missing: name, peer_urls"),
        ({"state": "absent", "id": "a0", "missing_ok": True}, "missing_ok cannot be used with id a0"),
        ({"state": "absent", "peer_urls": ["http://10.0.0.1:2380"], "name": "a"}, "peer_urls only applies"),
        ({"state": "absent", "id": "zz"}, "'zz' is not a member ID"),
        ({"state": "present", "name": "etcd d", "peer_urls": ["http://10.0.0.4:2380"]}, "is not a valid member name"),
        ({"state": "present", "name": "etcd-d", "peer_urls": ["10.0.0.4:2380"]}, "must start with http:// or https://"),
        ({"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4"]}, "has no port"),
        ({"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380/x"]}, "must not have a path"),
    ],
)
def test_argument_errors(cluster, capsys, args, message):
    result = run(capsys, args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert cluster.calls == []


def test_member_id_alias(cluster, capsys):
    result = run(capsys, {"state": "leader", "member_id": "a0"}, check_mode=True)
    assert result["changed"] is False
    assert result["msg"] == "etcd-a (a0) is the leader already"


# -- full runs -------------------------------------------------------------------------------


def test_present_adds_a_learner_and_returns_the_initial_cluster(cluster, capsys):
    args = {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380"]}
    result = run(capsys, args, diff=True)
    assert result["changed"] is True
    assert cluster.calls == [("http://10.0.0.1:2379", "member_add", ["http://10.0.0.4:2380"], True)]
    assert result["member"]["id"] == "f00"
    assert result["member"]["is_learner"] is True
    # join.yml reads a failed join's log from before the learner was added.
    assert result["began_at"] == "2026-01-31 10:00:00 UTC"
    assert result["initial_cluster"] == (
        "etcd-a=http://10.0.0.1:2380,etcd-b=http://10.0.0.2:2380,etcd-c=http://10.0.0.3:2380,"
        "etcd-d=http://10.0.0.4:2380"
    )
    assert "<unstarted> (f00) learner http://10.0.0.4:2380\n" in result["diff"]["after"]
    assert "<unstarted>" not in result["diff"]["before"]

    again = run(capsys, args)
    assert again["changed"] is False
    assert again["initial_cluster"] == result["initial_cluster"]
    assert len(cluster.calls) == 1

    second = run(capsys, {"state": "present", "name": "etcd-e", "peer_urls": ["http://10.0.0.5:2380"]})
    assert second["failed"] is True
    assert ("learner unstarted member http://10.0.0.4:2380 (f00) has not been promoted yet; promote or remove it "
            "first") in second["msg"]


def test_present_warns_when_one_member_becomes_two(cluster, capsys, monkeypatch):
    warned = []
    monkeypatch.setattr(etcd_member.AnsibleModule, "warn", lambda self, text: warned.append(text))
    cluster.members = cluster.members[:1]
    result = run(capsys, {"state": "present", "name": "etcd-b", "peer_urls": ["http://10.0.0.2:2380"],
                          "learner": False})
    assert result["changed"] is True
    assert len(warned) == 1
    assert "quorum becomes 2" in warned[0]
    assert "quorum becomes 2" in result["msg"]
    assert result["quorum"] == {"voters": 2, "quorum": 2, "failures_tolerated": 0}


def test_present_refuses_peer_urls_of_another_member(cluster, capsys):
    result = run(capsys, {"state": "present", "name": "etcd-z", "peer_urls": ["http://10.0.0.2:2380"]})
    assert result["failed"] is True
    assert "etcd-b (a1) already has http://10.0.0.2:2380" in result["msg"]


def test_promote_retries_until_the_learner_is_in_sync(cluster, capsys):
    cluster.members.append(FakeCluster._member("etcd-d", 0xD0, "http://10.0.0.4", learner=True))
    cluster.promote_refusals = 3
    result = run(capsys, {"state": "promoted", "name": "etcd-d"}, diff=True)
    assert result["changed"] is True
    assert result["attempts"] == 4
    assert "after 4 attempts" in result["msg"]
    assert "etcd-d (d0) learner" in result["diff"]["before"]
    assert "etcd-d (d0) voter" in result["diff"]["after"]
    again = run(capsys, {"state": "promoted", "name": "etcd-d"})
    assert again["changed"] is False


def add_learner(cluster, started=True):
    learner = FakeCluster._member("etcd-d", 0xD0, "http://10.0.0.4", learner=True, started=started)
    cluster.members.append(learner)
    return learner


def test_promote_is_sent_to_the_leader_itself(cluster, capsys, monkeypatch):
    # With auth on, a follower forwards a promotion to the leader without the user, and the leader
    # refuses it until the request times out (etcd #20757).
    add_learner(cluster)
    cluster.leader = cluster.by_name("etcd-b")["id"]
    fake_client = type(cluster.client("x"))
    original = fake_client.member_promote

    def promote(self, member_id):
        if self._me()["id"] != cluster.leader:
            raise ec.EtcdError("etcdserver: request timed out", endpoint=self.endpoint)
        return original(self, member_id)

    monkeypatch.setattr(fake_client, "member_promote", promote)
    result = run(capsys, {"state": "promoted", "name": "etcd-d"})
    assert result["changed"] is True, result
    assert [call for call in cluster.calls if call[1] == "member_promote"] == [("http://10.0.0.2:2379", "member_promote", 0xD0)]
    assert cluster.by_name("etcd-d")["is_learner"] is False


def test_promote_waits_while_the_learner_makes_progress(cluster, capsys):
    add_learner(cluster)
    # etcd refuses for 150 s, far past promote_timeout (and the old fixed 120 s), while the learner's
    # applied index moves by one every 4 s: one status read before the change, then one per refusal
    cluster.applied[0xD0] = [100 + i // 4 for i in range(160)]
    cluster.promote_refusals = 150
    result = run(capsys, {"state": "promoted", "name": "etcd-d", "promote_timeout": 5})
    assert result["changed"] is True
    assert result["attempts"] == 151
    assert result["member"]["is_learner"] is False
    assert result["learner_applied_index"] == 100 + 150 // 4
    assert result["leader_applied_index"] == 50
    assert "after 151 attempts (it was catching up with the leader)" in result["msg"]


def test_promote_fails_when_the_learner_stalls(cluster, capsys):
    add_learner(cluster)
    cluster.applied[0xD0] = [100, 101, 102, 103]
    cluster.promote_refusals = 1000
    result = run(capsys, {"state": "promoted", "id": "d0", "promote_timeout": 5})
    assert result["failed"] is True
    # moved at 0, 1 and 2 s; stalled from 2 s, so the eighth attempt (at 7 s) is the last
    assert result["msg"].startswith(
        "learner etcd-d (d0) stalled at applied index 103 (leader at 50) for 5 s: etcd refused to promote it as not "
        "in sync with the leader, and its raft applied index did not move for promote_timeout=5 s (8 attempts; last "
        "answer from http://10.0.0.1:2379: etcdserver: can only promote a learner member which is in sync with leader)"
    )
    assert "Check that it runs and reaches the leader on its peer URL" in result["msg"]
    assert "raise promote_timeout (how long the learner may make no progress)" in result["msg"]
    assert result["attempts"] == 8
    assert result["learner_applied_index"] == 103
    assert result["leader_applied_index"] == 50
    assert cluster.by_name("etcd-d")["is_learner"] is True


def test_promote_counts_a_learner_that_cannot_be_probed_as_not_moving(cluster, capsys):
    add_learner(cluster)
    cluster.down.add(0xD0)
    cluster.promote_refusals = 1000
    result = run(capsys, {"state": "promoted", "name": "etcd-d", "promote_timeout": 5})
    assert result["failed"] is True
    assert result["msg"].startswith("learner etcd-d (d0) stalled at applied index unknown (leader at 50) for 5 s")
    assert "Its status could not be read (http://10.0.0.4:2379: [Errno 111] Connection refused)" in result["msg"]
    assert result["attempts"] == 6
    assert result["learner_applied_index"] is None


def test_promote_of_a_learner_that_never_started_says_to_start_it(cluster, capsys):
    add_learner(cluster, started=False)
    cluster.promote_refusals = 1000
    result = run(capsys, {"state": "promoted", "id": "d0", "promote_timeout": 3})
    assert result["failed"] is True
    assert result["msg"].startswith("learner unstarted member http://10.0.0.4:2380 (d0) stalled at applied index "
                                    "unknown (leader at 50) for 3 s")
    assert "It has not started yet: start it with initial-cluster-state existing" in result["msg"]


def test_promote_follows_a_learner_that_starts_while_waiting(cluster, capsys, monkeypatch):
    learner = add_learner(cluster, started=False)
    cluster.applied[0xD0] = [100 + i for i in range(100)]
    cluster.promote_refusals = 20
    fake_client = type(cluster.client("x"))
    original = fake_client.member_promote

    def promote(self, member_id):
        # the learner publishes its name and client URL after the third refusal
        if cluster.promote_refusals == 17:
            learner.update(name="etcd-d", client_urls=["http://10.0.0.4:2379"], started=True)
        return original(self, member_id)

    monkeypatch.setattr(fake_client, "member_promote", promote)
    result = run(capsys, {"state": "promoted", "id": "d0", "promote_timeout": 5})
    assert result["changed"] is True
    assert result["attempts"] == 21
    assert result["learner_applied_index"] >= 110


def test_promote_gives_up_at_promote_max_time_although_the_learner_moves(cluster, capsys):
    add_learner(cluster)
    cluster.applied[0xD0] = list(range(100, 400))
    cluster.promote_refusals = 1000
    result = run(capsys, {"state": "promoted", "name": "etcd-d", "promote_timeout": 5, "promote_max_time": 30})
    assert result["failed"] is True
    assert result["msg"].startswith(
        "learner etcd-d (d0) did not catch up with the leader within promote_max_time=30 s although its raft applied "
        "index kept moving (last seen 131, leader at 50; 31 attempts"
    )
    assert "raise promote_max_time (0 = no limit)" in result["msg"]
    assert result["attempts"] == 31


def test_promote_in_check_mode_sends_nothing(cluster, capsys):
    add_learner(cluster)
    cluster.applied[0xD0] = 42
    cluster.promote_refusals = 1000
    result = run(capsys, {"state": "promoted", "name": "etcd-d", "promote_timeout": 5}, check_mode=True)
    assert result["changed"] is True
    assert result["msg"] == "would have promoted etcd-d (d0) to a voting member"
    assert result["attempts"] == 0
    assert result["member"]["is_learner"] is False
    assert result["learner_applied_index"] == 42
    assert result["leader_applied_index"] == 50
    assert cluster.calls == []
    assert cluster.by_name("etcd-d")["is_learner"] is True


def test_promote_of_a_voter_returns_no_applied_indexes(cluster, capsys):
    result = run(capsys, {"state": "promoted", "name": "etcd-b"})
    assert result["changed"] is False
    assert result["attempts"] == 0
    assert "learner_applied_index" not in result


# -- joining safely --------------------------------------------------------------------------


def test_present_never_repoints_a_voter_by_default(cluster, capsys):
    args = {"state": "present", "name": "etcd-b", "peer_urls": ["http://10.0.0.9:2380"]}
    for check_mode in (True, False):
        result = run(capsys, args, check_mode=check_mode)
        assert result["failed"] is True
        assert result["msg"] == (
            "member etcd-b (a1) exists with peer URLs http://10.0.0.2:2380, not the requested http://10.0.0.9:2380 "
            "(seen through http://10.0.0.1:2379); refusing to re-point it (update_peer_urls=false): if that member "
            "moved to a new address, run with update_peer_urls=true (the role's re-IP does this); if this is another "
            "host that should take the name, it belongs to a live member: use the replace_member playbook"
        )
    assert cluster.calls == []
    assert cluster.by_name("etcd-b")["peer_urls"] == ["http://10.0.0.2:2380"]


def test_present_repoints_a_voter_with_update_peer_urls(cluster, capsys):
    args = {"state": "present", "name": "etcd-b", "peer_urls": ["http://10.0.0.9:2380"], "update_peer_urls": True}
    result = run(capsys, args)
    assert result["changed"] is True
    assert cluster.calls == [("http://10.0.0.1:2379", "member_update", 0xA1, ["http://10.0.0.9:2380"])]
    assert result["member"]["peer_urls"] == ["http://10.0.0.9:2380"]
    assert result["msg"].startswith("updated the peer URLs of etcd-b (a1) from http://10.0.0.2:2380 to "
                                    "http://10.0.0.9:2380")
    assert "etcd-b=http://10.0.0.9:2380" in result["initial_cluster"]
    again = run(capsys, args)
    assert again["changed"] is False
    assert len(cluster.calls) == 1


@pytest.mark.parametrize("update", [False, True])
def test_present_never_updates_the_peer_urls_of_a_learner(cluster, capsys, update):
    add_learner(cluster)
    result = run(capsys, {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.9:2380"],
                          "update_peer_urls": update})
    assert result["failed"] is True
    assert result["msg"].startswith("refusing to change the peer URLs of learner etcd-d (d0) from http://10.0.0.4:2380 "
                                    "to http://10.0.0.9:2380")
    assert cluster.calls == []


def test_present_learner_for_a_started_voter_is_ok_and_says_it_votes(cluster, capsys):
    result = run(capsys, {"state": "present", "name": "etcd-c", "peer_urls": ["http://10.0.0.3:2380"],
                          "learner": True})
    assert result["changed"] is False
    assert "failed" not in result
    assert result["member"]["is_learner"] is False
    assert result["member"]["started"] is True
    assert result["msg"] == "etcd-c (a2) exists already (it is a voting member already)"
    assert result["initial_cluster"] == (
        "etcd-a=http://10.0.0.1:2380,etcd-b=http://10.0.0.2:2380,etcd-c=http://10.0.0.3:2380")
    assert cluster.calls == []


def test_present_reuses_a_learner_that_started_under_the_name(cluster, capsys):
    add_learner(cluster)
    result = run(capsys, {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380/"]})
    assert result["changed"] is False
    assert "failed" not in result
    assert result["member"]["id"] == "d0"
    assert result["member"]["is_learner"] is True
    assert result["member"]["started"] is True
    assert result["initial_cluster"] == (
        "etcd-a=http://10.0.0.1:2380,etcd-b=http://10.0.0.2:2380,etcd-c=http://10.0.0.3:2380,"
        "etcd-d=http://10.0.0.4:2380"
    )
    assert result["msg"].startswith("learner etcd-d (d0) with these peer URLs has started already")
    assert "promote it with state=promoted" in result["msg"]
    assert cluster.calls == []


def test_present_reuses_a_learner_that_never_started(cluster, capsys):
    add_learner(cluster, started=False)
    result = run(capsys, {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380"]})
    assert result["changed"] is False
    assert result["member"]["id"] == "d0"
    assert result["member"]["started"] is False
    assert result["initial_cluster"].endswith(",etcd-d=http://10.0.0.4:2380")
    assert cluster.calls == []


def test_documentation_options_match_the_argument_spec():
    doc = yaml.safe_load(etcd_member.DOCUMENTATION)
    spec = etcd_member.argument_spec()
    # run_lock: the doc fragment raftops.etcd.run_lock's
    own = {k for k in spec if k not in ec.connection_argument_spec() and k != "run_lock"}
    assert set(doc["options"]) == own and "raftops.etcd.run_lock" in doc["extends_documentation_fragment"]
    for name in own:
        assert doc["options"][name]["type"] == spec[name]["type"]
        assert doc["options"][name].get("default") == spec[name].get("default")
        assert doc["options"][name].get("choices") == spec[name].get("choices")
        assert doc["options"][name].get("aliases") == spec[name].get("aliases")
    returned = yaml.safe_load(etcd_member.RETURN)
    assert {"attempts", "learner_applied_index", "leader_applied_index"} <= set(returned)
    yaml.safe_load(etcd_member.EXAMPLES)


def test_absent_moves_leadership_away_before_removing_the_leader(cluster, capsys):
    result = run(capsys, {"state": "absent", "name": "etcd-a"})
    assert result["changed"] is True
    # etcd-b has the highest applied index in the fake (50 - low nibble of the ID)
    assert cluster.calls == [
        ("http://10.0.0.1:2379", "move_leader", 0xA1),
        ("http://10.0.0.1:2379", "member_remove", 0xA0),
    ]
    assert result["leader_moved_to"]["name"] == "etcd-b"
    assert result["leader"]["name"] == "etcd-b"
    assert [m["name"] for m in result["members"]] == ["etcd-b", "etcd-c"]


def test_absent_in_check_mode_changes_nothing(cluster, capsys):
    result = run(capsys, {"state": "absent", "id": str(0xA0)}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["msg"].startswith("would have moved leadership from etcd-a (a0) to etcd-b (a1)")
    assert cluster.calls == []
    assert "etcd-a" in result["diff"]["before"] and "etcd-a" not in result["diff"]["after"]


def test_absent_refuses_to_break_quorum_and_removes_the_dead_member(cluster, capsys):
    cluster.down.add(cluster.by_name("etcd-c")["id"])
    refused = run(capsys, {"state": "absent", "name": "etcd-b"})
    assert refused["failed"] is True
    assert "refusing to remove etcd-b (a1)" in refused["msg"]
    assert "etcd-c (a2): http://10.0.0.3:2379: [Errno 111] Connection refused" in refused["msg"]
    assert cluster.calls == []
    removed = run(capsys, {"state": "absent", "peer_url": "http://10.0.0.3:2380"})
    assert removed["changed"] is True
    assert cluster.calls == [("http://10.0.0.1:2379", "member_remove", 0xA2)]


def test_absent_unknown_member_fails_unless_missing_ok(cluster, capsys):
    result = run(capsys, {"state": "absent", "name": "etcd-a1"})
    assert result["failed"] is True
    assert result["msg"].startswith("no member named etcd-a1; members are: etcd-a, etcd-b, etcd-c")
    ok = run(capsys, {"state": "absent", "name": "etcd-a1", "missing_ok": True})
    assert ok["changed"] is False
    assert ok["member"] is None
    assert cluster.calls == []


def test_leader_moves_leadership_from_the_leaders_own_url(cluster, capsys):
    result = run(capsys, {"state": "leader", "name": "etcd-c"})
    assert result["changed"] is True
    assert cluster.calls == [("http://10.0.0.1:2379", "move_leader", 0xA2)]
    assert result["leader"]["name"] == "etcd-c"
    again = run(capsys, {"state": "leader", "name": "etcd-c"})
    assert again["changed"] is False


def test_away_from_the_leader_moves_leadership_to_the_follower_that_applied_the_most(cluster, capsys):
    cluster.applied = {0xA1: [40], 0xA2: [45]}
    result = run(capsys, {"state": "leader", "away_from": "etcd-a"})
    assert result["changed"] is True
    assert cluster.calls == [("http://10.0.0.1:2379", "move_leader", 0xA2)]
    assert result["successor"]["name"] == result["leader_moved_to"]["name"] == result["leader"]["name"] == "etcd-c"
    assert result["msg"] == "moved leadership from etcd-a (a0) to etcd-c (a2)"


def test_away_from_a_follower_changes_nothing_and_names_the_successor(cluster, capsys):
    result = run(capsys, {"state": "leader", "away_from": "etcd-b"})
    assert result["changed"] is False
    assert result["leader_moved_to"] is None
    assert result["successor"]["name"] == "etcd-c"  # the leader itself never is one
    assert result["msg"] == "etcd-b (a1) does not lead (the leader is etcd-a (a0)); leadership stays"
    assert cluster.calls == []


def test_away_from_a_leader_no_follower_can_replace_changes_nothing(cluster, capsys):
    cluster.down.update({cluster.by_name("etcd-b")["id"], cluster.by_name("etcd-c")["id"]})
    result = run(capsys, {"state": "leader", "away_from": "etcd-a"})
    assert result["changed"] is False
    assert result["successor"] is None and result["leader_moved_to"] is None
    assert result["msg"] == "etcd-a (a0) leads and no healthy voting follower can take over; leadership stays"
    assert cluster.calls == []


def test_away_from_in_check_mode_moves_nothing(cluster, capsys):
    result = run(capsys, {"state": "leader", "away_from": "etcd-a"}, check_mode=True)
    assert result["changed"] is True
    assert result["msg"] == "would have moved leadership from etcd-a (a0) to etcd-b (a1)"
    assert cluster.calls == []


@pytest.mark.parametrize("args, message", [
    ({"state": "leader", "away_from": "etcd-z"}, "no member named etcd-z; members are: etcd-a, etcd-b, etcd-c"),
    ({"state": "leader", "away_from": "etcd-a", "name": "etcd-b"},
     "parameters are mutually exclusive: name|id|peer_url|away_from"),
])
def test_away_from_bad_input_fails_and_changes_nothing(cluster, capsys, args, message):
    result = run(capsys, args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert cluster.calls == []


def test_add_waits_while_etcd_says_unhealthy_cluster_after_a_start(cluster, capsys):
    cluster.unsettled = 3
    result = run(capsys, {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380"]})
    assert result["changed"] is True
    assert [c[1] for c in cluster.calls] == ["member_add"] * 4


def test_add_gives_up_on_unhealthy_cluster_with_advice(cluster, capsys):
    cluster.unsettled = 1000
    result = run(capsys, {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380"]})
    assert result["failed"] is True
    assert result["msg"].startswith(
        "could not add etcd-d (http://10.0.0.4:2380) as a learner via http://10.0.0.1:2379: etcdserver: unhealthy "
        "cluster. The member that handled the request has not been connected to every voting member"
    )


# -- non-idempotent requests -----------------------------------------------------------------


def test_add_moves_on_only_from_an_endpoint_that_refused_the_connection(cluster, capsys):
    cluster.down.add(cluster.by_name("etcd-a")["id"])
    result = run(capsys, {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380"],
                          "endpoints": ENDPOINTS})
    # etcd-a is down, so the quorum check passes with 2 of 3 only for a learner add
    assert result["changed"] is True
    assert cluster.calls == [("http://10.0.0.2:2379", "member_add", ["http://10.0.0.4:2380"], True)]


def test_add_that_timed_out_but_was_applied_is_not_repeated(cluster, capsys):
    cluster.timeouts["member_add"] = ["applied"]
    result = run(capsys, {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380"]})
    assert result["changed"] is True
    assert [c[:2] for c in cluster.calls] == [("http://10.0.0.1:2379", "member_add")]
    assert result["member"]["id"] == "f00"
    assert result["initial_cluster"].endswith(",etcd-d=http://10.0.0.4:2380")
    assert len([m for m in cluster.members if m["peer_urls"] == ["http://10.0.0.4:2380"]]) == 1


def test_add_that_timed_out_and_was_lost_fails_without_trying_another_endpoint(cluster, capsys):
    cluster.timeouts["member_add"] = ["lost"]
    result = run(capsys, {"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380"]})
    assert result["failed"] is True
    assert [c[:2] for c in cluster.calls] == [("http://10.0.0.1:2379", "member_add")]
    assert result["msg"].startswith("could not add etcd-d (http://10.0.0.4:2380) as a learner: http://10.0.0.1:2379: "
                                    "timed out")
    assert "may have been applied, so it was not repeated on another endpoint" in result["msg"]
    assert len(cluster.members) == 3


def test_remove_that_timed_out_but_was_applied_is_not_repeated(cluster, capsys):
    cluster.timeouts["member_remove"] = ["applied"]
    result = run(capsys, {"state": "absent", "name": "etcd-c"})
    assert result["changed"] is True
    assert cluster.calls == [("http://10.0.0.1:2379", "member_remove", 0xA2)]
    assert [m["name"] for m in result["members"]] == ["etcd-a", "etcd-b"]


def test_transfer_that_timed_out_is_judged_by_where_leadership_went(cluster, capsys, monkeypatch):
    original = type(cluster.client("x")).move_leader

    def slow_move(self, target_id):
        original(self, target_id)
        raise ec.EtcdUnreachable("timed out", endpoint=self.endpoint, sent=True)

    monkeypatch.setattr(type(cluster.client("x")), "move_leader", slow_move)
    result = run(capsys, {"state": "leader", "name": "etcd-c"})
    assert result["changed"] is True
    assert cluster.leader == 0xA2
    assert cluster.calls == [("http://10.0.0.1:2379", "move_leader", 0xA2)]


def test_tls_file_problem_fails_naming_the_option(capsys, tmp_path):
    missing = tmp_path / "admin-key.pem"
    result = run(capsys, {"state": "leader", "name": "etcd-a", "endpoints": ["https://127.0.0.1:1"],
                          "client_cert": str(tmp_path / "admin.pem"), "client_key": str(missing)})
    assert result["failed"] is True
    assert result["msg"] == "cannot set up the etcd client for https://127.0.0.1:1: client_cert %s does not exist" % (
        tmp_path / "admin.pem")


def test_short_decimal_id_is_resolved_against_the_member_list(cluster, capsys):
    cluster.members[2].update(id=1234, id_hex="4d2")
    # "1234" read as hex is 0x1234 (no member), read as decimal it is etcd-c's ID
    result = run(capsys, {"state": "absent", "id": "1234"}, check_mode=True)
    assert result["changed"] is True
    assert result["member"]["name"] == "etcd-c"
    assert result["member"]["id"] == "4d2"


def test_id_naming_two_members_is_refused(cluster, capsys):
    cluster.members[1].update(id=0x10, id_hex="10")
    cluster.members[2].update(id=10, id_hex="a")
    result = run(capsys, {"state": "absent", "id": "10"})
    assert result["failed"] is True
    assert result["msg"].startswith("member ID 10 is ambiguous: as hex it is etcd-b (10) and as decimal it is "
                                    "etcd-c (a); select the member as 0x10 or 0xa, or by name or peer_url")
    assert cluster.calls == []


# -- the run lock: a step that changes a member stops once its run lost the lock ------------------

LOCK_KEY = "/raftops/etcd/run"
THIS_RUN = ("ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 4242, run 9f3c2a1b0e4d5c6f of machine "
            "1a2b3c4d5e6f7a8b, started 2026-11-22T09:58:00Z")
NEXT_RUN = ("ansible-playbook (Deploy and converge etcd) on ctl-b by bob, pid 77, run 0123456789abcdef of machine "
            "ffffffffffffffff, started 2026-11-22T10:01:00Z")


def kv_clients(monkeypatch, fake):
    """Every client the module makes reaches ``fake``; the class keeps its decode_kv for the fake's reads."""
    def make(url, **_options):
        return fake.client(url)
    make.decode_kv = ec.EtcdClient.decode_kv
    monkeypatch.setattr(ec, "EtcdClient", make)


@pytest.fixture
def locked(monkeypatch):
    """A cluster whose run lock this run took (lease ``this``), on the module's clock."""
    fake = FakeKVCluster(["etcd-a", "etcd-b", "etcd-c"], leader="etcd-a")
    kv_clients(monkeypatch, fake)
    monkeypatch.setattr(member_task, "_now", lambda: fake.now)
    monkeypatch.setattr(member_task, "_sleep", fake.advance)
    monkeypatch.setattr(member_task, "_utc_stamp", lambda: "2026-01-31 10:00:00 UTC")
    fake.this = fake.grant(45)
    fake.put(LOCK_KEY, json.dumps(dict(holder=THIS_RUN, acquired_at="2026-11-22T10:00:00Z", ttl=45)), lease=fake.this)
    return fake


def keeper_cut_off(fake, next_run=True):
    """The keeper could not renew the lease for longer than its TTL; the next run took the lock."""
    fake.advance(46)
    if next_run:
        fake.put(LOCK_KEY, json.dumps(dict(holder=NEXT_RUN, acquired_at="2026-11-22T10:01:00Z", ttl=45)),
                 lease=fake.grant(45))


MEMBER_CHANGES = [
    ({"state": "present", "name": "etcd-d", "peer_urls": ["http://10.0.0.4:2380"]},
     "add etcd-d (http://10.0.0.4:2380) as a learner", "member_add"),
    ({"state": "absent", "name": "etcd-c"}, "remove etcd-c (a2)", "member_remove"),
    ({"state": "leader", "away_from": "etcd-a"}, "move leadership from etcd-a (a0) to etcd-b (a1)", "move_leader"),
    ({"state": "present", "name": "etcd-c", "peer_urls": ["http://10.0.0.9:2380"], "update_peer_urls": True},
     "update the peer URLs of etcd-c (a2) to http://10.0.0.9:2380", "member_update"),
]


@pytest.mark.parametrize("args, what, call", MEMBER_CHANGES, ids=["add", "remove", "leader", "update"])
def test_a_member_change_is_refused_once_the_keeper_failed_to_renew_the_run_s_lease(locked, capsys, args, what, call):
    keeper_cut_off(locked)
    before = json.dumps(locked.members, sort_keys=True)
    result = run(capsys, dict(args, run_lock={"key": LOCK_KEY, "lease_id": "%016x" % locked.this}))
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == (
        "refused to %s: this run no longer holds the run lock /raftops/etcd/run: its lease %016x expired or was revoked "
        "(its keeper could not renew it for the lease's whole TTL: the controller was cut off from the cluster, or the "
        "keeper stopped), and it is held now by %s since 2026-11-22T10:01:00Z. Another run may be changing the cluster "
        "now, so this run stops here; nothing was changed by this step. Run again once no other run holds the lock"
        % (what, locked.this, NEXT_RUN))
    assert json.dumps(locked.members, sort_keys=True) == before
    assert call not in {c[1] for c in locked.calls}
    # read, never renewed by the step itself
    assert "lease_keepalive_once" not in {c[1] for c in locked.calls}


def test_a_promotion_is_refused_once_the_lock_is_gone_and_nothing_changes(monkeypatch, capsys):
    fake = FakeKVCluster(["etcd-a", "etcd-b", "etcd-c"], leader="etcd-a")
    fake.members[2]["is_learner"] = True
    kv_clients(monkeypatch, fake)
    monkeypatch.setattr(member_task, "_now", lambda: fake.now)
    monkeypatch.setattr(member_task, "_sleep", fake.advance)
    lease = fake.grant(45)
    fake.put(LOCK_KEY, json.dumps(dict(holder=THIS_RUN, acquired_at="2026-11-22T10:00:00Z", ttl=45)), lease=lease)
    keeper_cut_off(fake, next_run=False)
    result = run(capsys, {"state": "promoted", "name": "etcd-c", "run_lock": {"key": LOCK_KEY, "lease_id": "%016x" % lease}})
    assert result["failed"] is True and result["msg"].startswith(
        "refused to promote etcd-c (a2): this run no longer holds the run lock /raftops/etcd/run: its lease %016x "
        "expired or was revoked" % lease)
    assert result["msg"].endswith("and nobody holds it now. Another run may be changing the cluster now, so this run "
                                  "stops here; nothing was changed by this step. Run again once no other run holds "
                                  "the lock")
    assert fake.members[2]["is_learner"] is True and "member_promote" not in {c[1] for c in fake.calls}


@pytest.mark.parametrize("args, what, call", MEMBER_CHANGES[:3], ids=["add", "remove", "leader"])
def test_a_member_change_goes_on_while_the_run_s_lease_holds_its_lock(locked, capsys, args, what, call):
    locked.advance(30)  # renewed by its keeper meanwhile: still alive
    result = run(capsys, dict(args, run_lock={"key": LOCK_KEY, "lease_id": "%016x" % locked.this}))
    assert result.get("failed") is not True, result["msg"]
    assert result["changed"] is True and call in {c[1] for c in locked.calls}


def test_without_a_lease_nothing_is_checked(locked, capsys):
    keeper_cut_off(locked)
    result = run(capsys, {"state": "absent", "name": "etcd-c", "run_lock": {"key": LOCK_KEY, "lease_id": ""}})
    assert result["changed"] is True and "range_kv" not in {c[1] for c in locked.calls}
