"""quorum_recovery_plan: a cluster with quorum is refused (or, half-recovered, grown), the survivor
with the most committed entries is chosen, and every doubt and refusal is named."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import recovery
from ansible_collections.raftops.etcd.plugins.filter.recovery import quorum_recovery_plan, quorum_recovery_report

GROUP = ["h0", "h1", "h2", "h3", "h4"]
HOSTVARS = {host: dict(NODE_NAME="m" + host[1:]) for host in GROUP}
NO_QUORUM = {"member_status": [dict(name="m%d" % i, started=True, health="no-leader") for i in range(5)]}


def log(commit, last_index=None, last_term=3, cluster_id=0xABC, torn_tail=False):
    return dict(node_id=1, cluster_id=cluster_id, term=3, vote=0, commit=commit, last_index=last_index or commit,
                last_term=last_term, snapshot_index=0, snapshot_term=0, files=1, torn_tail=torn_tail)


def plan(survivors, health=None, group=None):
    return quorum_recovery_plan(NO_QUORUM if health is None else health, survivors, group or GROUP, HOSTVARS)


def test_the_filters_are_registered():
    assert recovery.FilterModule().filters() == {"quorum_recovery_plan": quorum_recovery_plan,
                                                 "quorum_recovery_report": quorum_recovery_report}


def test_the_survivor_with_the_highest_commit_index_is_chosen_not_the_longest_log():
    result = plan([dict(host="h0", log=log(90, last_index=120)), dict(host="h1", log=log(100)),
                   dict(host="h2", log=None), dict(host="h3", log=None)])
    assert result["action"] == "recover" and result["refusal"] == ""
    assert result["chosen"]["host"] == "h1" and result["chosen"]["name"] == "m1" and result["chosen"]["commit"] == 100
    assert [survivor["host"] for survivor in result["candidates"]] == ["h1", "h0"]
    assert result["empty"] == ["h2", "h3"] and result["unreachable"] == ["h4"]
    assert result["grow"] == ["h0", "h2", "h3", "h4"] and result["cluster_id"] == "abc"
    assert result["reference"] == "m1"
    assert result["notes"] == ["h0 logged entries up to index 120, beyond the chosen commit index 100, without "
                               "knowing them committed: they are not kept"]


def test_a_tie_is_broken_by_the_log_end_then_inventory_order_and_named():
    result = plan([dict(host="h0", log=log(100)), dict(host="h1", log=log(100, last_index=101))])
    assert result["chosen"]["host"] == "h1"
    assert result["notes"][0] == "h0 has the same commit index 100: h1 was chosen by the end of its log, then inventory order"
    assert "h1 logged entries 101 to 101 without knowing them committed: they are not kept" in result["notes"]
    assert plan([dict(host="h1", log=log(7)), dict(host="h0", log=log(7))])["chosen"]["host"] == "h0"


def test_a_torn_tail_is_noted():
    assert plan([dict(host="h2", log=log(5, torn_tail=True))])["notes"] == [
        "h2's log ends in a torn record (written while it died); etcd drops it"]


def test_a_cluster_with_quorum_is_refused():
    health = {"member_status": [dict(name="m0", started=True, health="healthy", is_leader=True),
                                dict(name="m1", started=True, health="healthy"),
                                dict(name="m2", started=True, health="healthy"),
                                dict(name="m3", started=True, health="unreachable"),
                                dict(name="m4", started=True, health="unreachable")]}
    result = plan([dict(host="h0", log=log(3))], health=health)
    assert result["action"] == "refuse" and result["chosen"] is None and result["reference"] is None
    assert result["refusal"] == ("the cluster has quorum (leader m0, 3 of 5 members healthy): quorum recovery is only "
                                 "for a cluster that lost it; replace a lost member with raftops.etcd.replace_member")


def test_a_healthy_cluster_lacking_inventory_hosts_is_grown_not_recovered():
    # The hosts that have not joined answer as no member (or not at all): they are not counted.
    health = {"member_status": [dict(name="m1", started=True, health="healthy", is_leader=True),
                                dict(name="?", started=None, health="unreachable")]}
    result = plan([dict(host="h1", log=log(3))], health=health)
    assert result["action"] == "grow" and result["grow"] == ["h0", "h2", "h3", "h4"]
    assert result["reference"] == "m1"


def test_a_healthy_cluster_with_every_member_is_refused():
    health = {"member_status": [dict(name="m%d" % i, started=True, health="healthy", is_leader=i == 2) for i in range(5)]}
    assert plan([], health=health)["refusal"].startswith("the cluster has quorum (leader m2, 5 of 5 members healthy)")


def test_no_survivor_with_data_is_refused_with_the_restore_command():
    assert plan([dict(host="h0", log=None)])["refusal"] == (
        "no reachable member of the group has data left (h0): nothing to recover from; restore the newest backup "
        "with raftops.etcd.restore")
    assert "(none reachable)" in plan([], health={})["refusal"]


def test_a_quorum_of_members_with_data_is_refused_they_only_need_starting():
    survivors = [dict(host=host, log=log(9)) for host in ("h0", "h1", "h2")]
    assert plan(survivors)["refusal"] == ("3 of the group's 5 members still have their data (h0, h1, h2), a quorum: "
                                          "start them (raftops.etcd.etcd) and the cluster comes back with nothing lost")


def test_survivors_of_different_clusters_are_refused():
    result = plan([dict(host="h0", log=log(9, cluster_id=1)), dict(host="h1", log=log(9, cluster_id=2))])
    assert result["refusal"] == "the survivors belong to different clusters: cluster 1: h0; cluster 2: h1"


def test_bad_arguments_are_refused():
    with pytest.raises(AnsibleFilterError, match="health must be the result of etcd_health"):
        quorum_recovery_plan(None, [], GROUP, HOSTVARS)


def test_the_report_names_the_choice_what_is_kept_and_what_comes_next():
    result = plan([dict(host="h0", log=log(90, last_index=95)), dict(host="h1", log=log(100)), dict(host="h2", log=None)])
    lines = quorum_recovery_report(result, [dict(name="m1", cluster_id="abc")])
    assert lines == [
        "started m1 (host h1) as a new one-member cluster from its own data: commit index 100, log to index 100 (term 3)",
        "survivor h1: commit index 100, log to index 100 (term 3)",
        "survivor h0: commit index 90, log to index 95 (term 3)",
        "every entry up to index 100 is kept; entries the lost members committed after it cannot be recovered",
        "no data on h2: they join as new members",
        "unreachable: h3, h4; remove them from the inventory, or recreate them, before the cluster grows back (the "
        "next play joins every host of the inventory)",
        "cluster ID abc, kept by etcd's force-new-cluster; the old members are no longer in it, so etcd refuses them "
        "should one come back with its old data",
        "the old data of the other members was moved aside beside their data dir (.before-recover-<time>); h0, h2, "
        "h3, h4 join again next, one at a time, as learners",
    ]
