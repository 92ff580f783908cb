import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import cluster_state as cs
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import membership as em


def member(name, member_id, peer, learner=False, started=True):
    return dict(
        id=member_id,
        id_hex="%x" % member_id,
        name=name if started else "",
        peer_urls=[peer] if isinstance(peer, str) else list(peer),
        client_urls=[peer.replace("2380", "2379")] if started and isinstance(peer, str) else [],
        is_learner=learner,
        started=started,
    )


def status(member_id, leader_id, applied=10, index=None, learner=False):
    return dict(member_id=member_id, leader_id=leader_id, is_leader=member_id == leader_id, is_learner=learner,
                raft_applied_index=applied, raft_index=applied if index is None else index)


A = member("etcd-a", 0xA1, "https://10.0.0.1:2380")
B = member("etcd-b", 0xB2, "https://10.0.0.11:2380")
C = member("etcd-c", 0xC3, "https://10.0.0.12:2380")
LEARNER = member("etcd-d", 0xD4, "https://10.0.0.13:2380", learner=True)
UNSTARTED = member("", 0xE5, "https://10.0.0.14:2380", learner=True, started=False)
ALL_UP = {A["id"]: True, B["id"]: True, C["id"]: True}


@pytest.mark.parametrize(
    "n, q, tolerated",
    [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2), (6, 4, 2), (7, 4, 3)],
)
def test_quorum_math(n, q, tolerated):
    assert em.quorum(n) == q
    assert em.failures_tolerated(n) == tolerated
    assert em.quorum_summary(n) == dict(voters=n, quorum=q, failures_tolerated=tolerated)


# -- removal ---------------------------------------------------------------------------------


def test_removing_a_live_member_with_one_member_down_is_refused():
    health = {A["id"]: True, B["id"]: True, C["id"]: False}
    verdict = em.can_remove([A, B, C], health, A, reasons={C["id"]: "https://10.0.0.12:2379: connection refused"})
    assert not verdict
    assert "would leave 2 voting members (quorum 2) with only 1 healthy" in verdict.reason
    assert "etcd-c (c3): https://10.0.0.12:2379: connection refused" in verdict.reason


def test_removing_the_dead_member_is_allowed():
    health = {A["id"]: True, B["id"]: True, C["id"]: False}
    verdict = em.can_remove([A, B, C], health, C)
    assert verdict
    assert verdict.warnings == []


def test_removing_the_last_voting_member_is_refused_even_with_a_learner():
    verdict = em.can_remove([A, LEARNER], {A["id"]: True, LEARNER["id"]: True}, A)
    assert not verdict
    assert "etcd-a (a1) is the last voting member" in verdict.reason


def test_a_learner_can_always_be_removed():
    # two of three voters down: nothing else could be changed, but a learner does not vote
    health = {A["id"]: True, B["id"]: False, C["id"]: False}
    assert em.can_remove([A, B, C, LEARNER], health, LEARNER)


def test_removal_without_current_quorum_is_refused_even_for_a_dead_member():
    health = {A["id"]: True, B["id"]: False, C["id"]: False}
    verdict = em.can_remove([A, B, C], health, C)
    assert not verdict
    assert verdict.reason.startswith("the cluster has no quorum: only 1 of 3 voting members are healthy")


def test_unstarted_voter_counts_toward_quorum():
    pending_voter = dict(UNSTARTED, is_learner=False)
    verdict = em.can_remove([A, pending_voter], {A["id"]: True}, A)
    assert not verdict
    assert "the cluster has no quorum" in verdict.reason
    assert "not started" in verdict.reason


def test_shrinking_two_members_warns():
    verdict = em.can_remove([A, B], {A["id"]: True, B["id"]: True}, B)
    assert verdict
    assert any("2-member cluster" in w for w in verdict.warnings)
    assert any("single voting member" in w for w in verdict.warnings)


# -- adding and promoting --------------------------------------------------------------------


def test_second_learner_is_refused_naming_the_pending_one():
    verdict = em.can_add([A, B, C, LEARNER], dict(ALL_UP), learner=True, name="etcd-e")
    assert not verdict
    assert verdict.reason.startswith(
        "learner etcd-d (d4) has not been promoted yet; promote or remove it first"
    )


def test_pending_unstarted_learner_is_named_by_its_peer_url():
    verdict = em.can_add([A, B, C, UNSTARTED], dict(ALL_UP), learner=True, name="etcd-e")
    assert "learner unstarted member https://10.0.0.14:2380 (e5) has not been promoted yet" in verdict.reason


def test_add_is_refused_while_an_added_voter_has_not_started():
    pending_voter = dict(UNSTARTED, is_learner=False)
    verdict = em.can_add([A, B, C, pending_voter], dict(ALL_UP), learner=False, name="etcd-e")
    assert not verdict
    assert "was added but has not started" in verdict.reason


def test_growing_one_member_to_two_warns():
    verdict = em.can_add([A], {A["id"]: True}, learner=False, name="etcd-b")
    assert verdict
    assert len(verdict.warnings) == 1
    assert "quorum becomes 2" in verdict.warnings[0]
    assert "no fault tolerance" in verdict.warnings[0]


def test_adding_a_learner_to_one_member_warns_about_the_promotion():
    verdict = em.can_add([A], {A["id"]: True}, learner=True, name="etcd-b")
    assert verdict
    assert "promoting learner etcd-b later" in verdict.warnings[0]


def test_voting_add_with_a_member_down_is_refused():
    health = {A["id"]: True, B["id"]: True, C["id"]: False}
    verdict = em.can_add([A, B, C], health, learner=False, name="etcd-e")
    assert not verdict
    assert "makes 4 voting members (quorum 3) with only 2 healthy" in verdict.reason


def test_learner_add_is_judged_on_current_quorum():
    health = {A["id"]: True, B["id"]: True, C["id"]: False}
    assert em.can_add([A, B, C], health, learner=True, name="etcd-e")
    assert not em.can_add([A, B, C], {A["id"]: True}, learner=True, name="etcd-e")


def test_healthy_voting_add_is_allowed_without_warning():
    verdict = em.can_add([A, B, C], dict(ALL_UP), learner=False, name="etcd-e")
    assert verdict
    assert verdict.warnings == []


def test_promotion_checks_quorum_and_warns_on_one_to_two():
    assert em.can_promote([A, B, C, LEARNER], {**ALL_UP, LEARNER["id"]: True}, LEARNER)
    verdict = em.can_promote([A, LEARNER], {A["id"]: True, LEARNER["id"]: True}, LEARNER)
    assert verdict and "quorum becomes 2" in verdict.warnings[0]
    down = {A["id"]: True, B["id"]: True, C["id"]: False, LEARNER["id"]: False}
    assert not em.can_promote([A, B, C, LEARNER], down, LEARNER)


# -- matching --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["b2", "B2", "0xb2", "0XB2", "178", 0xB2])
def test_ids_match_in_hex_and_decimal(text):
    members = [A, B, C]
    assert em.find_member(members, member_id=text) is B


def test_real_ids_match_in_both_forms():
    big = member("etcd-x", 0x8E9E05C52164694D, "https://10.0.0.20:2380")
    assert em.find_member([A, big], member_id="8e9e05c52164694d") is big
    assert em.find_member([A, big], member_id="10276657743932975437") is big


def test_id_that_reads_as_two_members_is_ambiguous():
    hex_reading = member("etcd-h", 0x10, "https://10.0.0.30:2380")
    dec_reading = member("etcd-d", 10, "https://10.0.0.31:2380")
    message = ("member ID 10 is ambiguous: as hex it is etcd-h (10) and as decimal it is etcd-d (a); select the "
               "member as 0x10 or 0xa, or by name or peer_url")
    with pytest.raises(em.MembershipError) as caught:
        em.find_member([hex_reading, dec_reading], member_id="10")
    assert str(caught.value) == message
    with pytest.raises(em.MembershipError, match="is ambiguous"):
        em.resolve_member_id([dec_reading, hex_reading], " 10 ")
    # the prefix decides
    assert em.resolve_member_id([hex_reading, dec_reading], "0x10") is hex_reading
    assert em.resolve_member_id([hex_reading, dec_reading], "0xa") is dec_reading
    assert em.resolve_member_id([hex_reading, dec_reading], "a") is dec_reading


@pytest.mark.parametrize(
    "members, text, expected",
    [
        # a short decimal ID: read as hex it names nobody, as decimal it names the member
        ([member("etcd-s", 1234, "https://10.0.0.40:2380"), A], "1234", "etcd-s"),
        # and the other way round
        ([member("etcd-s", 0x1234, "https://10.0.0.40:2380"), A], "1234", "etcd-s"),
        # 17+ digits is decimal only, never hex
        ([member("etcd-x", 0x8E9E05C52164694D, "https://10.0.0.20:2380")], "10276657743932975437", "etcd-x"),
        # neither reading names a member
        ([A, B, C], "1234", None),
        ([A, B, C], "0x1234", None),
    ],
)
def test_resolve_member_id_against_the_member_list(members, text, expected):
    found = em.resolve_member_id(members, text)
    assert (found["name"] if found else None) == expected


def test_resolve_member_id_rejects_malformed_ids():
    with pytest.raises(em.MembershipError, match="'zz' is not a member ID: use the hex form etcdctl prints"):
        em.resolve_member_id([A], "zz")


@pytest.mark.parametrize("text", ["", "xyz", "0x", "0x" + "f" * 17, "-5", "1" * 21])
def test_malformed_ids_are_rejected(text):
    with pytest.raises(em.MembershipError, match="not a member ID"):
        em.id_candidates(text)


def test_no_prefix_or_substring_matching():
    members = [A, B, C]
    assert em.find_member(members, peer_url="https://10.0.0.1:2380") is A
    assert em.find_member(members, peer_url="https://10.0.0.1:2380/") is A
    assert em.find_member(members, peer_url="https://10.0.0.1") is None
    assert em.find_member(members, peer_url="10.0.0.1") is None
    assert em.find_member(members, peer_url="https://10.0.0.11:2380") is B
    assert em.find_member(members, name="etcd") is None
    assert em.find_member(members, name="etcd-a ") is None
    assert em.find_member(members, name="ETCD-A") is None
    assert em.find_member(members, member_id="a") is None  # prefix of a1


def test_unstarted_member_never_matches_an_empty_name():
    assert em.find_member([A, UNSTARTED], name="") is None


def test_not_found_lists_every_member():
    text = em.not_found_message([A, B, UNSTARTED], name="etcd-z")
    assert text == "no member named etcd-z; members are: etcd-a, etcd-b, e5 (unstarted, https://10.0.0.14:2380)"


# -- joining and diffs -----------------------------------------------------------------------


def test_initial_cluster_names_the_unstarted_new_member():
    new = dict(UNSTARTED, is_learner=True)
    assert em.initial_cluster([A, B, new], "etcd-e", ["https://10.0.0.14:2380/"]) == (
        "etcd-a=https://10.0.0.1:2380,etcd-b=https://10.0.0.11:2380,etcd-e=https://10.0.0.14:2380"
    )


def test_initial_cluster_appends_a_member_not_added_yet_and_keeps_every_peer_url():
    two_urls = member("etcd-m", 0xF6, ["https://10.0.0.15:2380", "https://[fd00::15]:2380"])
    assert em.initial_cluster([two_urls], "etcd-n", ["https://10.0.0.16:2380"]) == (
        "etcd-m=https://10.0.0.15:2380,etcd-m=https://[fd00::15]:2380,etcd-n=https://10.0.0.16:2380"
    )


def test_initial_cluster_refuses_another_unstarted_member():
    with pytest.raises(em.MembershipError, match="has not started and has no name"):
        em.initial_cluster([A, UNSTARTED], "etcd-n", ["https://10.0.0.16:2380"])


def test_diff_lines_show_name_id_role_and_peer_urls():
    assert em.diff_text([B, UNSTARTED, A]) == (
        "<unstarted> (e5) learner https://10.0.0.14:2380\n"
        "etcd-a (a1) voter https://10.0.0.1:2380\n"
        "etcd-b (b2) voter https://10.0.0.11:2380\n"
    )


# -- reporting -------------------------------------------------------------------------------


def probe(healthy, leader_id=None, member_id=None, error=""):
    """An etcd_probe.probe_member result."""
    st = status(member_id, leader_id) if healthy else None
    return dict(reachable=healthy, healthy=healthy, status=st, endpoint=None, problem=error)


def test_leader_from_probes_prefers_the_self_declared_leader_then_the_majority():
    assert em.leader_from_probes({A["id"]: probe(True, B["id"], A["id"]), B["id"]: probe(True, B["id"], B["id"])}) \
        == B["id"]
    votes = {A["id"]: probe(True, C["id"], A["id"]), B["id"]: probe(True, C["id"], B["id"]),
             C["id"]: probe(False, error="refused")}
    assert em.leader_from_probes(votes) == C["id"]
    assert em.leader_from_probes({A["id"]: probe(False, error="refused")}) is None


def test_health_and_statuses_of_probes():
    probes = {A["id"]: probe(True, A["id"], A["id"]), B["id"]: probe(False, error="refused")}
    assert em.health_of(probes) == ({A["id"]: True, B["id"]: False}, {B["id"]: "refused"})
    assert list(em.statuses_of(probes)) == [A["id"]]


def test_membership_report_shape():
    report = em.membership_report([A, LEARNER, UNSTARTED], leader=A)
    assert report["quorum"] == {"voters": 1, "quorum": 1, "failures_tolerated": 0}
    assert report["leader"] == dict(id="a1", name="etcd-a", peer_urls=["https://10.0.0.1:2380"],
                                    client_urls=["https://10.0.0.1:2379"], is_learner=False, started=True)
    assert report["members"][2]["started"] is False
    assert "healthy" not in report["members"][0]
    probed = em.membership_report([A], probes={A["id"]: probe(False, error="refused")})
    assert probed["leader"] is None
    assert (probed["members"][0]["reachable"], probed["members"][0]["probe_error"]) == (False, "refused")
    assert em.public_member(dict(id=None, name="", peer_urls=["x"], is_learner=True))["id"] == ""
    assert em.member_by_id([A, B], B["id"]) is B and em.member_by_id([A], 5) is None


# -- promotion progress ----------------------------------------------------------------------


def test_catch_up_waits_while_the_applied_index_rises():
    progress = em.CatchUp(start=0, stall_seconds=5, learner_index=100, leader_index=500)
    for now, index in ((4, 100), (4.5, 101), (9, 101), (9.4, 102), (14, 102)):
        progress.observe(now, learner_index=index, leader_index=500)
        assert progress.verdict(now) == ""
    assert progress.verdict(14.4) == "stalled"
    assert progress.stalled_for(14.4) == pytest.approx(5)
    assert (progress.learner_index, progress.leader_index) == (102, 500)


def test_catch_up_first_reading_is_not_progress():
    progress = em.CatchUp(start=0, stall_seconds=5)
    assert progress.observe(3, learner_index=700) is False
    assert progress.verdict(5) == "stalled"
    assert progress.learner_index == 700


def test_catch_up_failed_reading_is_no_progress_and_keeps_the_last_value():
    progress = em.CatchUp(start=0, stall_seconds=5, learner_index=100)
    assert progress.observe(1, learner_index=None, error="refused") is False
    assert progress.error == "refused"
    assert progress.learner_index == 100
    assert progress.verdict(5) == "stalled"
    assert progress.observe(6, learner_index=101) is True
    assert progress.error == ""
    assert progress.verdict(10) == ""


def test_catch_up_index_going_back_counts_only_once_past_the_highest():
    progress = em.CatchUp(start=0, stall_seconds=5, learner_index=100)
    assert progress.observe(1, learner_index=40) is False  # restarted, replays from its snapshot
    assert progress.observe(2, learner_index=90) is False
    assert progress.observe(3, learner_index=100) is False
    assert progress.verdict(5) == "stalled"
    assert progress.observe(5, learner_index=101) is True
    assert progress.verdict(9) == ""


def test_catch_up_ceiling_ends_the_wait_although_the_index_moves():
    progress = em.CatchUp(start=10, stall_seconds=5, max_seconds=20, learner_index=0)
    for now in range(11, 30):
        progress.observe(now, learner_index=now)
        assert progress.verdict(now) == ""
    progress.observe(30, learner_index=30)
    assert progress.verdict(30) == "ceiling"
    unlimited = em.CatchUp(start=0, stall_seconds=5, max_seconds=0, learner_index=0)
    unlimited.observe(10 ** 6, learner_index=1)
    assert unlimited.verdict(10 ** 6) == ""


def test_catch_up_index_text():
    assert em.CatchUp.index_text(None) == "unknown"
    assert em.CatchUp.index_text(0) == "0"


def test_every_module_returns_a_member_with_its_id_in_hex_as_etcdctl_prints_it():
    raw = {"ID": "10276657743932975437", "name": "etcd-a", "peerURLs": ["https://10.0.0.1:2380"]}
    member = ec.normalize_member(raw)
    returned = em.public_member(member)
    assert returned["id"] == "8e9e05c52164694d" and "id_hex" not in returned
    # etcd_health returns its member list through the same function
    assert cs.public_members({"members": [member]}) == [returned]
    # a member added in check mode has no ID yet
    assert em.public_member(dict(member, id=None))["id"] == ""
