"""removal (deprecated: the removal's plan, module_utils/etcd_plan.py, answers for them): the request
to remove members resolved against the group, the surviving members to act
through, and the whole request refused (unknown names, no voting member left, quorum) with the
exact messages."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import removal
from ansible_collections.raftops.etcd.plugins.filter.removal import removal_plan, removal_refusal

GROUP = ["h0", "h1", "h2", "h3"]
HOSTVARS = {"h%d" % i: dict(NODE_NAME="member-%d" % i, etcd_address="10.0.0.%d" % (10 + i)) for i in range(4)}
UP = {host: {"changed": False} for host in GROUP}


def plan(requested, reports=None, group_hosts=None):
    return removal_plan(requested, "etcd", GROUP if group_hosts is None else group_hosts, HOSTVARS,
                        UP if reports is None else reports)


def test_the_filters_are_registered():
    assert removal.FilterModule().filters() == {"removal_plan": removal_plan, "removal_refusal": removal_refusal}


# --- removal_plan ----------------------------------------------------------------------------------


def test_names_and_hosts_resolve_to_members_and_the_others_survive():
    result = plan(" member-3 , h2,")
    assert result["targets"] == [dict(host="h3", name="member-3"), dict(host="h2", name="member-2")]
    assert result["names"] == ["member-3", "member-2"] and result["hosts"] == ["h3", "h2"]
    assert result["reachable"] == GROUP
    assert [m["host"] for m in result["survivors"]] == ["h0", "h1"]
    assert result["survivors"][0] == dict(host="h0", name="member-0", address="10.0.0.10",
                                          peer_url="https://10.0.0.10:2380", client_url="https://10.0.0.10:2379")
    assert result["refusal"] == ""


def test_a_name_without_a_host_is_kept_for_etcd_to_judge():
    result = plan("member-9")
    assert result["targets"] == [dict(host="", name="member-9")] and result["hosts"] == []
    assert [m["host"] for m in result["survivors"]] == GROUP


def test_hosts_that_did_not_answer_stay_apart_and_do_not_survive():
    reports = dict(UP, h1={"unreachable": True, "msg": "timed out"}, h3={"unreachable": False})
    result = plan("h2", reports)
    assert result["reachable"] == ["h0", "h2", "h3"]
    assert [m["host"] for m in result["survivors"]] == ["h0", "h3"]


def test_hosts_of_the_play_outside_the_group_do_not_survive():
    result = plan("h2", dict(UP, proxy={}))
    assert result["reachable"] == [*GROUP, "proxy"]
    assert [m["host"] for m in result["survivors"]] == ["h0", "h1", "h3"]


@pytest.mark.parametrize("requested", ["", " , ", None])
def test_an_empty_request_is_refused(requested):
    result = plan(requested)
    assert result["targets"] == [] and result["survivors"] == []
    assert result["refusal"] == (
        "etcd_remove is empty: pass -e etcd_remove=NAME (a NODE_NAME or an inventory host; several comma-separated); "
        "nothing was changed")


def test_a_request_that_leaves_no_answering_member_is_refused():
    reports = dict(UP, h0={"unreachable": True}, h1={"unreachable": True})
    result = plan("member-2,h3", reports)
    assert result["survivors"] == []
    assert result["refusal"] == (
        "no reachable member of group etcd is left besides member-2, member-3: nothing to remove them through; nothing "
        "was changed")


def test_a_name_that_is_no_member_name_is_an_error():
    with pytest.raises(AnsibleFilterError, match="is not a member name or inventory host"):
        plan("bad name")


def test_reports_must_be_by_host():
    with pytest.raises(AnsibleFilterError, match="reports must be a dict"):
        removal_plan("h1", "etcd", GROUP, HOSTVARS, ["h1"])


# --- removal_refusal -------------------------------------------------------------------------------


def voter(name, healthy=True, error=None, learner=False):
    return dict(name=name, healthy=healthy, is_learner=learner, probe_error=error)


def target(name, host="h"):
    return dict(host=host, name=name)


CLUSTER = [voter("member-0"), voter("member-1"), voter("member-2"), voter("member-3")]


def test_a_removal_that_keeps_quorum_passes():
    assert removal_refusal(CLUSTER, [target("member-3")], "etcd", "member-3") == ""
    assert removal_refusal([*CLUSTER[:3], voter("member-3", False, "down")], [target("member-3")], "etcd", "h3") == ""


def test_a_host_of_the_group_gone_from_the_cluster_passes():
    assert removal_refusal(CLUSTER[:3], [target("member-3", "h3")], "etcd", "h3") == ""


def test_an_unknown_name_is_refused_listing_the_members_case_insensitively_sorted():
    cluster = [voter("b-2"), voter("A-1"), dict(name="", healthy=False, is_learner=True, probe_error=None), voter("c-3")]
    requested = "member-9,b-2,member-8"
    assert removal_refusal(cluster, [target("member-9", ""), target("b-2", ""), target("member-8", "")], "etcd", requested) == (
        "no member named member-9, member-8 in the cluster and no such host in group etcd "
        "(etcd_remove=member-9,b-2,member-8); members are: (unstarted), A-1, b-2, c-3; nothing was changed")


def test_unknown_names_come_before_quorum():
    assert removal_refusal([voter("m0")], [target("m0"), target("m9", "")], "etcd", "m0,m9").startswith(
        "no member named m9 in the cluster")


def test_removing_every_voting_member_is_refused():
    cluster = [voter("m0"), voter("m1"), voter("l2", learner=True)]
    assert removal_refusal(cluster, [target("m0"), target("m1")], "etcd_x", "m0,m1") == (
        "removing m0, m1 would remove every voting member and destroy the cluster; nothing was changed")


def test_a_removal_that_loses_quorum_is_refused_naming_the_unhealthy():
    cluster = [voter("member-0"), voter("member-1"), voter("member-2", False, "connection refused"),
               voter("member-3", False, None), voter("learner", False, "x", learner=True)]
    assert removal_refusal(cluster, [target("member-1")], "etcd", "member-1") == (
        "refusing to remove member-1: 3 voting members would be left (quorum 2) and only 1 of them healthy "
        "(member-2: connection refused; member-3: None), so the cluster would lose quorum. Bring those members "
        "back first, or replace a dead member with the replace_member playbook; nothing was changed")


def test_learners_do_not_count_towards_quorum():
    cluster = [voter("m0"), voter("m1", False, "down"), voter("l", learner=True)]
    assert removal_refusal(cluster, [target("l")], "etcd", "l").startswith(
        "refusing to remove l: 2 voting members would be left (quorum 2) and only 1 of them healthy (m1: down)")
