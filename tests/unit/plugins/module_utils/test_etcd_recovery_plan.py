"""The plans of a quorum recovery and of a restore (module_utils/plan/recovery_plan.py).

Recovery: a cluster with quorum (or one that answers at all) is refused, or, half-recovered, grown;
quorum is judged against the voters of the survivors' own membership; every host must report (or be
named lost); the survivor with the most committed entries is chosen, and must still be once every
member is stopped; every refusal is named. Restore: every host of the group takes part, a member's
problem or a host that dropped out refuses it before anything changes, and again before the first
member stops."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.recovery_plan import (
    PlanError, judge_recovery, logged_addresses, logged_peer_urls, lost_hosts, plan_recovery, plan_recovery_logs,
    plan_restore, plan_restore_check, plan_restore_members, plan_restore_start, recovery_question, recovery_report,
    snapshot_refusal, survivors_in_play, survivors_of)

GROUP = ["h0", "h1", "h2", "h3", "h4"]
NAMES = {host: "m" + host[1:] for host in GROUP}
ID = {"h%d" % i: 100 + i for i in range(7)}
NO_QUORUM = {"member_status": [dict(name="m%d" % i, started=True, health="no-leader") for i in range(5)]}


def member(host, learner=False):
    number = host[1:]
    return dict(id=ID[host], name="m" + number, peer_urls=["https://10.0.0.1%s:2380" % number],
                client_urls=["https://10.0.0.1%s:2379" % number], learner=learner)


FIVE = [member(host) for host in GROUP]


def log(commit, last_index=None, last_term=3, cluster_id=0xABC, torn_tail=False, host="h0", members=None):
    return dict(node_id=ID[host], cluster_id=cluster_id, term=3, vote=0, commit=commit, last_index=last_index or commit,
                last_term=last_term, snapshot_index=0, snapshot_term=0, files=1, torn_tail=torn_tail,
                members=FIVE if members is None else members, members_error="")


def alive(host, commit, **kwargs):
    return dict(host=host, log=log(commit, host=host, **kwargs), log_error="")


def empty(host):
    return dict(host=host, log=None, log_error="")


def plan(survivors, health=None, group=None, lost=None):
    return judge_recovery(quiet(lost) if health is None else health, survivors, group or GROUP, NAMES, lost)


def quiet(lost, *endpoints):
    """The cluster's answer without quorum: every member says it has no leader, every member of the five
    that ``lost`` names (by host or member name) is silent on every URL (gone), and ``endpoints``."""
    items = lost.split(",") if isinstance(lost, str) else lost or []
    numbers = sorted({item.strip()[1:] for item in items if item.strip()[:1] in ("h", "m") and item.strip()[1:] in
                      [host[1:] for host in GROUP]})
    return dict(NO_QUORUM, endpoints=[gone("h" + number) for number in numbers] + list(endpoints))


def test_the_survivor_with_the_highest_commit_index_is_chosen_not_the_longest_log():
    result = plan([alive("h0", 90, last_index=120), alive("h1", 100), empty("h2"), empty("h3")], lost=["h4"])
    assert result["action"] == "recover" and result["refusal"] == ""
    assert result["chosen"]["host"] == "h1" and result["chosen"]["name"] == "m1" and result["chosen"]["commit"] == 100
    assert "members" not in result["chosen"]
    assert [survivor["host"] for survivor in result["candidates"]] == ["h1", "h0"]
    assert result["empty"] == ["h2", "h3"] and result["unreachable"] == ["h4"]
    assert result["lost"] == [dict(name="m%d" % i, host="h%d" % i, peer_urls=["https://10.0.0.1%d:2380" % i])
                              for i in (2, 3, 4)]
    assert result["voters"] == 5
    assert result["grow"] == ["h0", "h2", "h3"] and result["cluster_id"] == "abc"
    assert result["reference"] == "m1"
    assert result["notes"] == ["h0 logged entries up to index 120, beyond the chosen commit index 100, without "
                               "knowing them committed: they are not kept"]


def test_a_lost_member_may_be_named_by_member_name_or_be_absent_from_the_inventory_if_named():
    result = plan([alive("h0", 9), alive("h1", 8)], group=["h0", "h1"], lost="m2, m3,m4")
    assert result["action"] == "recover" and [record["host"] for record in result["lost"]] == ["", "", ""]


def test_a_tie_is_broken_by_the_log_end_then_inventory_order_and_named():
    result = plan([alive("h0", 100), alive("h1", 100, last_index=101)], lost=["h2", "h3", "h4"])
    assert result["chosen"]["host"] == "h1"
    assert result["notes"][0] == "h0 has the same commit index 100: h1 was chosen by the end of its log, then inventory order"
    assert "h1 logged entries 101 to 101 without knowing them committed: they are not kept" in result["notes"]
    assert plan([alive("h1", 7), alive("h0", 7)], lost=["h2", "h3", "h4"])["chosen"]["host"] == "h0"


def test_a_torn_tail_is_noted():
    assert plan([alive("h2", 5, torn_tail=True)], lost=["h0", "h1", "h3", "h4"])["notes"] == [
        "h2's log ends in a torn record (written while it died); etcd drops it"]


@pytest.mark.parametrize("lost, refusal", [
    # a typo: neither a host of the group, nor a member name, nor in the survivors' recorded membership
    (["h4", "h44"], "etcd_recover_lost=h4,h44: h44 is no host of the group, no member name of one and no member of "
                    "the cluster's recorded membership; name the hosts of the group that are gone for good "
                    "(h0, h1, h2, h3, h4)"),
    ("10.0.0.14", "etcd_recover_lost=10.0.0.14: 10.0.0.14 is no host of the group"),
    # the same member twice, by its host and by its name
    (["h4", "m4"], "etcd_recover_lost=h4,m4 names h4 (m4) twice (host and member name); name each lost host once"),
])
def test_a_lost_name_that_is_no_host_or_member_or_names_one_twice_is_refused_first(lost, refusal):
    result = plan([alive("h0", 9), alive("h1", 8), empty("h2"), empty("h3")], lost=lost)
    assert result["action"] == "refuse" and result["refusal"].startswith(refusal), result["refusal"]


def test_a_lost_name_is_checked_against_the_group_when_no_survivor_has_a_log():
    result = plan([empty("h0")], group=["h0", "h1"], lost=["m9"])
    assert result["refusal"].startswith("etcd_recover_lost=m9: m9 is no host of the group"), result["refusal"]


def test_the_hosts_named_lost_by_host_or_member_name():
    """The README's inventory (hosts by address, NODE_NAME): the docs' example names members; either is a host."""
    names = {"10.0.0.13": "etcd-host3", "10.0.0.14": "etcd-host4", "10.0.0.15": "10.0.0.15"}
    group = sorted(names)
    assert lost_hosts("etcd-host3, 10.0.0.14", group, names) == ["10.0.0.13", "10.0.0.14"]
    assert lost_hosts(["10.0.0.15"], group, names) == ["10.0.0.15"]
    assert lost_hosts([], group, names) == lost_hosts("", group, names) == []
    assert lost_hosts("etcd-host9", group, names) == []


HEALTHY_FIVE = {"member_status": [dict(name="m%d" % i, started=True, health="healthy", is_leader=i == 2)
                                  for i in range(5)]}


@pytest.mark.parametrize("survivors, health, group, lost, refusal", [
    # a host that does not answer stops the plan: it never silently drops out of it
    ([alive("h0", 9), alive("h1", 9), empty("h2")], NO_QUORUM, GROUP, ["h4"],
     "h3 did not report (unreachable, or a task failed there): every host of the group must answer before a recovery "
     "is judged; bring it back, or if it is gone for good name it in etcd_recover_lost (-e etcd_recover_lost=h3)"),
    ([alive("h0", 9)], NO_QUORUM, GROUP, [],
     "h1, h2, h3, h4 did not report (unreachable, or a task failed there): every host of the group must answer before "
     "a recovery is judged; bring it back, or if it is gone for good name it in etcd_recover_lost "
     "(-e etcd_recover_lost=h1,h2,h3,h4)"),
    # a survivor whose log cannot be read stops the plan
    ([alive("h0", 9), dict(host="h1", log=None, log_error="cannot read the write-ahead log in /d: damaged")],
     NO_QUORUM, GROUP, ["h2", "h3", "h4"],
     "host h1: cannot read the write-ahead log in /d: damaged: a survivor whose log cannot be read cannot be compared "
     "with the others; repair or move its data first"),
    # a host named lost that answers with data
    ([alive("h0", 9), alive("h1", 9)], NO_QUORUM, GROUP, ["h1", "h2", "h3", "h4"],
     "etcd_recover_lost names h1 (with member data), which answered over SSH (it reported to the play): a host that "
     "answers is alive, and a survivor is never dropped; take it out of etcd_recover_lost, or fence or power off a "
     "host gone for good before naming it"),
    # quorum is judged against the voters of the log, not the inventory: 2 hosts left of a 5-member
    # cluster whose dead members were taken out of the inventory, and not named
    ([alive("h0", 9), alive("h1", 9)], NO_QUORUM, ["h0", "h1"], [],
     "voting member m2 (https://10.0.0.12:2380), m3 (https://10.0.0.13:2380), m4 (https://10.0.0.14:2380) is in no "
     "host of the inventory that answered: whether it is lost is not known; if it is gone for good name it in "
     "etcd_recover_lost"),
    # 3 of 5 voters have data: start them
    ([alive("h0", 9), alive("h1", 9), alive("h2", 9), empty("h3")], NO_QUORUM, GROUP, ["h4"],
     "3 of the cluster's 5 voting members still have their data (h0, h1, h2), a quorum: start them (raftops.etcd.etcd) "
     "and the cluster comes back with nothing lost"),
    # an inventory larger than the cluster: 2 of 3 voters, the spare hosts hold nothing
    ([alive("h0", 9, members=FIVE[:3]), alive("h1", 9, members=FIVE[:3]), empty("h3"), empty("h4")], NO_QUORUM, GROUP,
     ["h2"],
     "2 of the cluster's 3 voting members still have their data (h0, h1), a quorum: start them (raftops.etcd.etcd) "
     "and the cluster comes back with nothing lost"),
    ([empty("h0")], {}, ["h0"], [],
     "no reachable member of the group has data left (h0): nothing to recover from; restore the newest backup with "
     "raftops.etcd.restore"),
    ([alive("h0", 9, cluster_id=1), alive("h1", 9, cluster_id=2)], NO_QUORUM, GROUP, ["h2", "h3", "h4"],
     "the survivors belong to different clusters: cluster 1: h0; cluster 2: h1"),
    ([dict(host="h0", log=dict(log(9), members=[],
                               members_error="the log starts after raft snapshot 5, which the snap directory does not hold"),
           log_error="")],
     NO_QUORUM, GROUP, ["h1", "h2", "h3", "h4"],
     "host h0: the membership in its log cannot be read (the log starts after raft snapshot 5, which the snap directory "
     "does not hold): quorum cannot be judged against the cluster's voters"),
    ([alive("h0", 9, members=[member("h1"), member("h2"), member("h0", learner=True)])], NO_QUORUM, GROUP,
     ["h1", "h2", "h3", "h4"],
     "no voting member has data left (the survivors h0 are not voters): restore the newest backup with "
     "raftops.etcd.restore"),
    # a healthy cluster with every member
    ([alive("h%d" % i, 9) for i in range(5)], HEALTHY_FIVE, GROUP, [],
     "the cluster has quorum (leader m2, 5 of 5 members healthy): quorum recovery is only for a cluster that lost it; "
     "replace a lost member with raftops.etcd.replace_member"),
], ids=["one-silent", "all-silent", "unreadable-log", "named-but-alive", "dead-taken-out-of-inventory",
        "quorum-with-data", "inventory-larger-than-cluster", "no-data", "two-clusters", "membership-unknown",
        "no-voter-survives", "healthy"])
def test_every_refusal_names_its_cause(survivors, health, group, lost, refusal):
    # without quorum, the members named lost silent on every URL
    result = plan(survivors, health=quiet(lost) if health is NO_QUORUM else health, group=group, lost=lost)
    assert result["action"] == "refuse" and result["chosen"] is None
    assert result["refusal"] == refusal


def endpoint(url, **fields):
    return dict(dict(endpoint=url, reachable=True, error=None, healthy=False, health_reason="RAFT NO LEADER",
                     status_error=None, leader_id=None), **fields)


LOST = [alive("h0", 9), alive("h1", 8), empty("h2"), empty("h3")]


@pytest.mark.parametrize("endpoints, refusal", [
    # a wrong root password on a healthy cluster: the login fails, /health answers true
    ([endpoint("u0", status_error="etcdserver: authentication failed, invalid user ID or password", health_reason="")],
     "the cluster answered: u0 answered /health true (it serves linearizable reads: the cluster has quorum); quorum "
     "recovery is only for a cluster that lost it"),
    # the same error from a member whose /health was not read
    ([endpoint("u0", status_error="etcdserver: authentication failed, invalid user ID or password",
               health_reason="connection reset")],
     "the cluster answered: u0 refused the login (etcdserver: authentication failed, invalid user ID or password): a "
     "live member answered; check etcd_auth_root_password and the client certificates; quorum recovery is only for a "
     "cluster that lost it"),
    ([endpoint("u0", leader_id="7", health_reason="QGET ERROR")],
     "the cluster answered: u0 follows leader 7; quorum recovery is only for a cluster that lost it"),
    ([endpoint("u0", reachable=False, error="timed out", health_reason=None)],
     "the cluster answered: u0 did not answer in time (timed out): a member that is slow to answer may still serve a "
     "cluster; run again once it answers; quorum recovery is only for a cluster that lost it"),
    ([endpoint("u0", health_reason="something else")],
     "the cluster answered: u0 answered without saying it has no leader (something else); quorum recovery is only "
     "for a cluster that lost it"),
], ids=["auth-on-healthy", "auth", "has-leader", "slow", "unclear"])
def test_a_cluster_that_answers_is_never_recovered(endpoints, refusal):
    result = plan(LOST, health=quiet(["h4"], *endpoints), lost=["h4"])
    assert result["action"] == "refuse" and result["refusal"] == refusal


def test_members_without_a_leader_and_hosts_that_are_down_are_proof_of_a_lost_quorum():
    endpoints = [endpoint("u0", status_error="no answer to the login as root: timed out"),
                 endpoint("u1", reachable=False, error="[Errno 111] Connection refused", health_reason=None),
                 endpoint("u2", reachable=False, error="[Errno 113] No route to host", health_reason=None)]
    result = plan(LOST, health=quiet(["h4"], *endpoints), lost=["h4"])
    assert result["action"] == "recover" and result["chosen"]["host"] == "h0"


SILENT = dict(reachable=False, health_reason=None,
              error="no answer to the login as root: timed out (a member that has not joined a cluster with quorum does "
                    "not answer)")


def test_a_survivor_restarted_without_quorum_silent_but_on_its_peer_url_is_proof_of_a_lost_quorum():
    """Seed 1 case 8 of the fault campaign: the survivor's etcd restarted after two of three members were
    lost; it serves nothing on its client URL, its peer URL answers (etcd_health's unready_peer)."""
    endpoints = [endpoint("u0", unready_peer="https://10.0.0.10:2380", **SILENT),
                 endpoint("u2", reachable=False, error="[Errno 111] Connection refused", health_reason=None)]
    result = plan(LOST, health=quiet(["h4"], *endpoints), lost=["h4"])
    assert result["action"] == "recover" and result["chosen"]["host"] == "h0"


def test_a_survivor_whose_status_names_no_leader_is_proof_of_a_lost_quorum():
    """Seed 1 case 8 as replayed: the survivor's status answers with no leader; its /readyz, which would
    wait for one, was not asked (health_reason None)."""
    endpoints = [endpoint("u0", cluster_id="c0ffee", leader_id=None, health_reason=None),
                 endpoint("u2", reachable=False, error="[Errno 111] Connection refused", health_reason=None)]
    result = plan(LOST, health=quiet(["h4"], *endpoints), lost=["h4"])
    assert result["action"] == "recover" and result["chosen"]["host"] == "h0"
    # a /health that was asked and said something else is no such word
    endpoints[0].update(health_reason="something else")
    assert plan(LOST, health=quiet(["h4"], *endpoints), lost=["h4"])["action"] == "refuse"


def test_a_silent_survivor_whose_peer_url_is_silent_too_is_a_slow_member_and_refused():
    endpoints = [endpoint("u0", unready_peer=None, **SILENT)]
    result = plan(LOST, health=quiet(["h4"], *endpoints), lost=["h4"])
    assert result["action"] == "refuse"
    assert result["refusal"].startswith("the cluster answered: u0 did not answer in time (no answer to the login as root: "
                                        "timed out"), result["refusal"]


def test_an_unready_member_does_not_outweigh_a_member_that_answers_with_a_leader():
    endpoints = [endpoint("u0", unready_peer="https://10.0.0.10:2380", **SILENT),
                 endpoint("u1", leader_id="7", health_reason="")]
    result = plan(LOST, health=quiet(["h4"], *endpoints), lost=["h4"])
    assert result["action"] == "refuse" and "u1 answered /health true" in result["refusal"]


# --- What proves a member named lost is lost: silence from the network on every URL of it (a connect
# timeout, no route to its host), with its host silent over SSH (it did not report); any answer from its
# host (a refused or reset connection, a TLS alert, a handshake taken, an HTTP answer) is a sign of life.

TIMEOUT = "timed out connecting (the host is down, or a firewall drops the port)"
NO_ROUTE = "[Errno 113] No route to host"
REFUSED = "[Errno 111] Connection refused"
TLS_ALERT = "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:1000)"
ANSWERED = None


def url(host, port=2379):
    return "https://10.0.0.1%s:%d" % (host[1:], port)


def gone(host, client=TIMEOUT, peer=""):
    """etcd_health's record of the member of ``host``: its client URL's error, and what its peer URL
    answered (``peer``: its error, the client URL's when '', ANSWERED for an HTTP answer to /version)."""
    peer = client if peer == "" else peer
    return dict(endpoint=url(host), reachable=False, error=client, healthy=False, health_reason=None, status_error=None,
                leader_id=None, unready_peer=None,
                peers=[dict(url=url(host, 2380), answered=peer is ANSWERED, error=peer)])


# Two survivors with data, one recreated empty: rcv-host3 and rcv-host4 named lost.
LOST_TWO = [alive("h0", 9), alive("h1", 8), empty("h2")]
SURVIVORS_ASKED = [endpoint(url("h0"), cluster_id="c0ffee", health_reason=None),
                   endpoint(url("h1"), cluster_id="c0ffee", health_reason=None),
                   endpoint(url("h2"), reachable=False, error=REFUSED, health_reason=None)]


def asked(*lost_records):
    return dict(member_status=[], endpoints=SURVIVORS_ASKED + list(lost_records))


NOT_LOST_UNLESS = ("; a member is lost only when every URL of it is silent (a connect timeout, no route to its host) "
                   "and its host answers no SSH: any answer comes from a live host; take it out of etcd_recover_lost, "
                   "or fence or power off a host gone for good before naming it")


@pytest.mark.parametrize("h3, h4", [
    (gone("h3"), gone("h4")),
    (gone("h3", NO_ROUTE), gone("h4", NO_ROUTE)),
    (gone("h3", "[Errno 101] Network is unreachable"), gone("h4", TIMEOUT, NO_ROUTE)),
], ids=["timeouts", "no-route", "unreachable-and-mixed"])
def test_members_named_lost_silent_on_every_url_with_their_hosts_silent_are_lost(h3, h4):
    """On a routed network or a cloud, a powered-off host's packets are dropped: connect timeouts."""
    result = judge_recovery(asked(h3, h4), LOST_TWO, GROUP, NAMES, ["h3", "h4"])
    assert result["action"] == "recover", result["refusal"]
    assert result["chosen"]["host"] == "h0" and result["unreachable"] == ["h3", "h4"]


@pytest.mark.parametrize("h4, answer", [
    (gone("h4", REFUSED, TIMEOUT), "https://10.0.0.14:2379 answered ([Errno 111] Connection refused)"),
    (gone("h4", REFUSED), "https://10.0.0.14:2379 answered ([Errno 111] Connection refused), https://10.0.0.14:2380 "
                          "answered ([Errno 111] Connection refused)"),
    (gone("h4", TIMEOUT, "[Errno 104] Connection reset by peer"),
     "https://10.0.0.14:2380 answered ([Errno 104] Connection reset by peer)"),
    (gone("h4", TLS_ALERT, NO_ROUTE), "https://10.0.0.14:2379 answered (%s)" % TLS_ALERT),
    # the port took the connection and the TLS handshake, and answered nothing
    (gone("h4", "timed out in the TLS handshake (the port took the connection; a member that has not joined a "
                "cluster with quorum does not answer)", TIMEOUT),
     "https://10.0.0.14:2379 answered (timed out in the TLS handshake (the port took the connection; a member that "
     "has not joined a cluster with quorum does not answer))"),
    # an HTTP answer on its client URL: its status, no leader
    (endpoint(url("h4"), cluster_id="c0ffee", health_reason=None), "https://10.0.0.14:2379 answered (its status)"),
    # silent on its client URL, its peer URL answers
    (gone("h4", TIMEOUT, ANSWERED), "https://10.0.0.14:2380 answered /version"),
    (dict(gone("h4"), peers=None), "https://10.0.0.14:2380 was not asked"),
], ids=["refused", "refused-both", "peer-reset", "tls-alert", "handshake-taken", "http-answer", "peer-answers", "peer-not-asked"])
def test_a_member_named_lost_whose_host_answers_on_any_url_is_refused_naming_it(h4, answer):
    result = judge_recovery(asked(gone("h3"), h4), LOST_TWO, GROUP, NAMES, ["h3", "m4"])
    assert result["action"] == "refuse" and result["chosen"] is None
    assert result["refusal"] == ("not silent, though named in etcd_recover_lost: m4 (host h4): %s%s"
                                 % (answer, NOT_LOST_UNLESS))


def test_silence_from_a_member_not_named_lost_is_no_answer_of_a_live_cluster():
    """A host that reported (here one recreated empty, whose address drops packets), or an inventory
    URL of no recorded member (a spare named lost): their silence says nothing of a live cluster."""
    spare = dict(gone("h4"), endpoint="https://10.0.0.19:2379", peers=None)
    health = dict(member_status=[], endpoints=[*SURVIVORS_ASKED[:2], dict(gone("h2"), peers=None), gone("h3"),
                                               gone("h4"), spare])
    assert judge_recovery(health, LOST_TWO, GROUP, NAMES, ["h3", "h4"])["action"] == "recover"


def test_a_member_named_lost_that_the_cluster_s_answer_does_not_name_is_not_proven_lost():
    result = judge_recovery(asked(gone("h3")), LOST_TWO, GROUP, NAMES, ["h3", "h4"])
    assert result["action"] == "refuse"
    assert result["refusal"] == ("not silent, though named in etcd_recover_lost: m4 (host h4): https://10.0.0.14:2379 "
                                 "was not asked, https://10.0.0.14:2380 was not asked" + NOT_LOST_UNLESS)


def test_a_host_named_lost_that_answers_ssh_is_alive_though_its_etcd_ports_are_silent():
    """A host that reported to the play answered over SSH: alive, however silent its etcd ports."""
    result = judge_recovery(asked(gone("h3"), gone("h4"), gone("h2")), LOST_TWO, GROUP, NAMES, ["h2", "h3", "h4"])
    assert result["action"] == "refuse" and result["chosen"] is None
    assert result["refusal"] == (
        "etcd_recover_lost names h2, which answered over SSH (it reported to the play): a host that answers is alive, "
        "and a survivor is never dropped; take it out of etcd_recover_lost, or fence or power off a host gone for good "
        "before naming it")


def test_a_healthy_cluster_lacking_inventory_hosts_is_grown_not_recovered():
    # The hosts that have not joined answer as no member (or not at all): they are not counted.
    health = {"member_status": [dict(name="m1", started=True, health="healthy", is_leader=True),
                                dict(name="?", started=None, health="unreachable")]}
    result = plan([alive("h1", 3)] + [empty(host) for host in ("h0", "h2", "h3", "h4")], health=health)
    assert result["action"] == "grow" and result["grow"] == ["h0", "h2", "h3", "h4"]
    assert result["reference"] == "m1"


def test_a_healthy_cluster_is_not_grown_while_a_named_lost_host_is_in_the_inventory():
    health = {"member_status": [dict(name="m1", started=True, health="healthy", is_leader=True)]}
    result = plan([alive("h1", 3)] + [empty(host) for host in ("h0", "h2", "h3")], health=health, lost=["h4"])
    assert result["action"] == "refuse" and result["refusal"].startswith("the cluster has quorum (leader m1, 1 of 1")


def test_bad_arguments_are_refused():
    with pytest.raises(PlanError, match="health must be the result of etcd_health"):
        judge_recovery(None, [], GROUP, NAMES)


def test_the_peer_urls_of_members_by_their_client_urls_come_from_every_log():
    survivors = [alive("h0", 5, members=FIVE[:2]), alive("h1", 9, members=[FIVE[4]]), empty("h2")]
    assert logged_peer_urls(survivors) == {"https://10.0.0.1%d:2379" % i: ["https://10.0.0.1%d:2380" % i]
                                           for i in (0, 1, 4)}
    assert logged_peer_urls([empty("h2")]) == {} and logged_peer_urls(None) == {}


def test_the_addresses_of_members_come_from_the_most_advanced_log():
    survivors = [alive("h0", 5, members=FIVE[:2]), alive("h1", 9), empty("h2")]
    assert logged_addresses(survivors) == {"m%d" % i: "10.0.0.1%d" % i for i in range(5)}
    assert logged_addresses([empty("h2")]) == {}


def test_the_report_names_the_choice_what_is_kept_and_what_comes_next():
    result = plan([alive("h0", 90, last_index=95), alive("h1", 100), empty("h2")], lost=["h3", "m4"])
    lines = recovery_report(result, [dict(name="m1", cluster_id="abc")])
    assert lines == [
        "started m1 (host h1) as a new one-member cluster from its own data: commit index 100, log to index 100 (term 3)",
        "survivor h1: commit index 100, log to index 100 (term 3)",
        "survivor h0: commit index 90, log to index 95 (term 3)",
        "every entry up to index 100 is kept; entries the lost members committed after it cannot be recovered",
        "no data on h2: they join as new members",
        "lost voting members: m2 (h2), m3 (h3), m4 (h4)",
        "gone for good (etcd_recover_lost): h3, h4; recreate them, or take them out of the inventory, then run "
        "raftops.etcd.recover_quorum (or raftops.etcd.etcd) again: the cluster grows back to the inventory only once "
        "every host of it answers",
        "cluster ID abc, kept by etcd's force-new-cluster; the old members are no longer in it, so etcd refuses them "
        "should one come back with its old data",
        "the old data of the other members was moved aside beside their data dir (.before-recover-<time>); h0, h2 join "
        "again next, one at a time, as learners",
    ]


def test_lost_members_are_reported_by_name_whatever_their_ids():
    # IDs are hashes: the member with the lowest ID is not the first by name (the log lists them by ID).
    reversed_ids = [dict(member(host), id=200 - number) for number, host in reversed(list(enumerate(GROUP)))]
    survivor = dict(host="h0", log=dict(log(9), node_id=200, members=reversed_ids), log_error="")
    result = plan([survivor, empty("h2"), empty("h3")], lost=["h1", "h4"])
    assert [record["name"] for record in result["lost"]] == ["m1", "m2", "m3", "m4"]


# --- plan_recovery_logs and plan_recovery: the steps the action runs


def read(host, commit=None, data_dir="/var/lib/etcd", wal_dir="", present=()):
    """An etcd_host_info read with read_log, as the action finds it in the host's variables."""
    return dict(log=log(commit, host=host) if commit else None, log_error="", data_dir=data_dir,
                has_data=bool(commit), settings=dict(ETCD_WAL_DIR=wal_dir) if wal_dir else {}, present=list(present))


def test_the_survivors_are_the_hosts_that_reported_in_play_order():
    reads = {"h1": read("h1", 9, wal_dir="/wal"), "h0": read("h0"), "h3": "not a read"}
    survivors = survivors_of(reads, ["h0", "h1", "h2", "h3"])
    assert [s["host"] for s in survivors] == ["h0", "h1"]
    assert survivors[1]["wal_dir"] == "/wal" and survivors[1]["has_data"] and not survivors[0]["has_data"]


@pytest.mark.parametrize("settings, present, cert", [
    (dict(tls=True, root_login=False, pki_host_dir="/p"), ["/p/client-key.pem"], "/p/server.pem"),
    (dict(tls=True, root_login=True, pki_host_dir="/p"), ["/p/client-key.pem"], "/p/client.pem"),
    # a root login through a member without the CN-less pair yet: its server pair
    (dict(tls=True, root_login="True", pki_host_dir="/p"), [], "/p/server.pem"),
    (dict(tls=False, root_login=True, pki_host_dir="/p"), ["/p/client-key.pem"], ""),
], ids=["no-root-login", "root-login", "root-login-no-pair", "no-tls"])
def test_the_cluster_is_asked_through_the_first_survivor_with_a_log_with_the_pair_it_has(settings, present, cert):
    survivors = survivors_of({"h0": read("h0"), "h1": read("h1", 9, present=present), "h2": read("h2", 8)},
                             ["h0", "h1", "h2"])
    result = plan_recovery_logs(survivors, settings)
    assert result["ask_through"] == "h1" and result["ask_cluster"] is True
    assert result["ask_cert"] == cert and result["ask_key"] == cert.replace(".pem", "-key.pem" if cert else "")
    # the peer URLs are asked with the member's peer pair, with TLS only
    peer = "/p/peer.pem" if cert else ""
    assert result["ask_peer_cert"] == peer and result["ask_peer_key"] == peer.replace(".pem", "-key.pem" if peer else "")
    assert result["addresses"] == {"m%d" % i: "10.0.0.1%d" % i for i in range(5)}
    assert result["logged_client_urls"] == ["https://10.0.0.1%d:2379" % i for i in range(5)]
    assert result["logged_peer_urls"]["https://10.0.0.14:2379"] == ["https://10.0.0.14:2380"]


def test_without_a_survivor_with_a_log_the_cluster_is_not_asked():
    result = plan_recovery_logs(survivors_of({"h0": read("h0"), "h1": read("h1")}, ["h0", "h1"]),
                                dict(tls=True, pki_host_dir="/p"))
    assert result["ask_cluster"] is False and result["logged_client_urls"] == []
    # the recovery step still runs somewhere: on the first host that reported, which asks nothing
    assert result["ask_through"] == "h0" and recovery_question(result, dict(ca_cert="/p/ca.pem"), ["u"]) is None


@pytest.mark.parametrize("play, kept", [
    (["h0", "h1", "h2"], ["h0", "h1", "h2"]),
    # h1 failed a task after the logs step: out of the verdict, which names it unreported
    (["h0", "h2"], ["h0", "h2"]),
    (["h0", "h1", "h2", "h3"], ["h0", "h1", "h2"]),
    ([], []),
], ids=["all", "one-dropped", "no-read", "none"])
def test_the_first_verdict_judges_the_logs_step_s_reads_of_the_hosts_still_in_the_play(play, kept):
    first = plan_recovery_logs(survivors_of({"h0": read("h0", 9), "h1": read("h1", 8), "h2": read("h2")},
                                            ["h0", "h1", "h2"]), dict(tls=False))
    assert [survivor["host"] for survivor in survivors_in_play(first, play)] == kept
    assert survivors_in_play({}, ["h0"]) == []


def test_a_host_that_dropped_out_after_the_logs_step_refuses_the_recovery():
    first = plan_recovery_logs(survivors_of(LOST_READS, ["h0", "h1", "h2", "h3"]), dict(tls=False))
    result = plan_recovery(first, NO_QUORUM, survivors_in_play(first, ["h0", "h2", "h3"]), GROUP, NAMES,
                           dict(lost=["h4"], stamp="s", stopped=[]))
    assert result["action"] == "refuse" and result["refusal"].startswith("h1 did not report")
    assert result["aside"] == {}


ROLE_CONNECTION = dict(ca_cert="/p/ca.pem", client_cert="/p/server.pem", client_key="/p/server-key.pem", user="root",
                       password="secret")


@pytest.mark.parametrize("settings, present, client_urls, expected", [
    # the asking host's pair replaces the role's; every member the logs name, then the inventory's, once each
    (dict(tls=True, root_login=True, pki_host_dir="/p"), ["/p/client-key.pem"],
     ["https://10.0.0.14:2379", "https://10.0.0.19:2379"],
     dict(ROLE_CONNECTION, client_cert="/p/client.pem", client_key="/p/client-key.pem", peer_cert="/p/peer.pem",
          peer_key="/p/peer-key.pem", endpoints=["https://10.0.0.1%d:2379" % i for i in (0, 1, 2, 3, 4, 9)])),
    (dict(tls=True, root_login=False, pki_host_dir="/p"), [], [],
     dict(ROLE_CONNECTION, peer_cert="/p/peer.pem", peer_key="/p/peer-key.pem",
          endpoints=["https://10.0.0.1%d:2379" % i for i in range(5)])),
    # without TLS no pair is given: the role's connection stays as it is
    (dict(tls=False, pki_host_dir="/p"), [], None,
     dict(ROLE_CONNECTION, endpoints=["https://10.0.0.1%d:2379" % i for i in range(5)])),
], ids=["root-login", "server-pair", "no-tls"])
def test_the_recovery_asks_every_logged_and_inventory_member_with_the_asking_host_s_pair(
        settings, present, client_urls, expected):
    first = plan_recovery_logs(survivors_of({"h0": read("h0", 9, present=present)}, ["h0"]), settings)
    question = recovery_question(first, ROLE_CONNECTION, client_urls)
    assert question == dict(expected, timeout=5, peer_urls=first["logged_peer_urls"])
    assert first["logged_peer_urls"]["https://10.0.0.10:2379"] == ["https://10.0.0.10:2380"]


def recovery(reads, previous=None, health=None, lost=("h4",), group=tuple(GROUP)):
    survivors = survivors_of(reads, [h for h in group if h in reads])
    return plan_recovery(previous or plan_recovery_logs(survivors, dict(tls=True, pki_host_dir="/p")),
                         quiet(lost) if health is None else health, survivors, list(group), NAMES,
                         dict(lost=list(lost), stamp="20260101T000000Z", stopped=sorted(reads)))


LOST_READS = {"h0": read("h0", 9, wal_dir="/wal0"), "h1": read("h1", 10), "h2": read("h2"), "h3": read("h3")}


def test_a_recovery_moves_aside_every_other_host_s_data_and_wal_and_lists_the_hosts_named_lost():
    result = recovery(LOST_READS)
    assert result["action"] == "recover" and result["refusal"] == "" and result["chosen"]["host"] == "h1"
    assert result["aside"] == {"h0": ["/var/lib/etcd", "/wal0"]}
    assert result["lost_hosts"] == ["h4"] and result["stamp"] == "20260101T000000Z"
    # not "unreachable": Ansible would take the action's host for unreachable
    assert result["unreported"] == ["h4"] and "unreachable" not in result
    assert result["report"][0].startswith("started m1 (host h1) as a new one-member cluster from its own data")
    assert result["report"][-1].startswith("the old data of the other members was moved aside")
    # the first step's fields stay
    assert result["ask_through"] == "h0"


def test_the_verdict_keeps_only_what_it_judged_of_the_cluster_s_answer():
    answer = dict(NO_QUORUM, endpoints=[dict(url="https://10.0.0.10:2379", reachable=False, error="refused"), gone("h4")],
                  failed=True, msg="no endpoint answered", invocation=dict(module_args=dict(password="secret")))
    first = recovery(LOST_READS, health=answer)
    assert first["action"] == "recover"
    assert first["cluster_answer"] == dict(member_status=answer["member_status"], endpoints=answer["endpoints"])
    # not asked (no survivor with a log): nothing to keep
    assert recovery({"h0": read("h0")}, health={}, lost=("h1", "h2", "h3", "h4"))["cluster_answer"] == {}


@pytest.mark.parametrize("health", [
    dict(failed=True, msg="cannot read /p/server.pem"),
    dict(failed=True, msg="MODULE FAILURE", exception="Traceback"),
], ids=["no-pair", "module-failure"])
def test_a_question_that_never_reached_the_cluster_refuses_the_recovery(health):
    result = recovery(LOST_READS, health=health)
    assert result["action"] == "refuse" and result["aside"] == {} and result["report"] == []
    assert result["refusal"] == ("the cluster could not be asked through h0 (%s): whether it still has quorum is "
                                 "unknown; nothing was changed" % health["msg"])
    # every member down is an answer: each endpoint named with its error
    down = dict(failed=True, msg="no endpoint answered", endpoints=[dict(url="https://10.0.0.10:2379", error="refused"),
                                                                    gone("h4")])
    assert recovery(LOST_READS, health=down)["action"] == "recover"


def test_a_refusal_says_nothing_was_changed_and_moves_nothing():
    result = recovery(LOST_READS, lost=())
    assert result["action"] == "refuse" and result["aside"] == {} and result["report"] == []
    assert result["refusal"].startswith("h4 did not report (unreachable, or a task failed there)")
    assert result["refusal"].endswith("(-e etcd_recover_lost=h4); nothing was changed")


def test_the_choice_must_stand_once_every_member_is_stopped():
    first = recovery(LOST_READS)
    # stopped, the logs read again: h0 now has the most committed entries
    moved_on = dict(LOST_READS, h0=read("h0", 12))
    again = recovery(moved_on, previous=first)
    assert again["action"] == "refuse" and again["aside"] == {}
    assert again["refusal"] == ("the survivors' logs read once stopped choose h0, not h1 as read while they ran: a "
                                "member moved on meanwhile; etcd was stopped on h0, h1, h2, h3 and nothing else changed")
    assert recovery(LOST_READS, previous=first)["action"] == "recover"


def test_a_second_verdict_that_refuses_says_etcd_was_stopped():
    first = recovery(LOST_READS)
    again = recovery(dict(LOST_READS, h1=dict(read("h1"), log_error="cannot read the write-ahead log")), previous=first)
    assert again["action"] == "refuse"
    assert again["refusal"].endswith("; etcd was stopped on h0, h1, h2, h3 and nothing else changed")


def test_a_half_done_recovery_grows_and_reports_the_hosts_that_join():
    health = {"member_status": [dict(name="m1", started=True, health="healthy", is_leader=True)]}
    reads = {"h0": read("h0"), "h1": read("h1", 3), "h2": read("h2"), "h3": read("h3"), "h4": read("h4")}
    result = recovery(reads, health=health, lost=())
    assert result["action"] == "grow" and result["aside"] == {} and result["lost_hosts"] == []
    assert result["report"] == ["the cluster has quorum and lacks h0, h2, h3, h4: they join it again next"]


# --- The plan of a restore

RESTORE_GROUP = ["h0", "h1", "h2"]
MEMBERS = [dict(host=h, name="m" + h[1:], peer_url="https://10.0.0.1%s:2380" % h[1:],
                client_url="https://10.0.0.1%s:2379" % h[1:]) for h in RESTORE_GROUP]
WAYS_ON = ("Bring a dead host back, or put a fresh host at its address with its NODE_NAME, and restore them all; or "
           "take it out of the inventory, restore the others as a smaller cluster and add it back later with the "
           "deploy playbook (docs/backup-restore.md); nothing was changed")


@pytest.mark.parametrize("play, play_all, hosts, unanswered, left_out, refusal", [
    (RESTORE_GROUP, RESTORE_GROUP, RESTORE_GROUP, [], [], ""),
    (["h0", "h1"], RESTORE_GROUP, ["h0", "h1"], ["h2"], [],
     "every member must take part in a restore, but h2 of group etcd did not answer (a dead host, or no SSH: see "
     "above). " + WAYS_ON),
    (["h0", "h1"], ["h0", "h1"], ["h0", "h1"], [], ["h2"],
     "every member must take part in a restore, but h2 of group etcd are not in this run (--limit). " + WAYS_ON),
    (["h0"], ["h0", "h1"], ["h0"], ["h1"], ["h2"],
     "every member must take part in a restore, but h1 of group etcd did not answer (a dead host, or no SSH: see "
     "above) and h2 of group etcd are not in this run (--limit). " + WAYS_ON),
], ids=["all", "dead", "limit", "dead-and-limit"])
def test_a_restore_takes_every_host_of_the_group_or_names_those_missing(play, play_all, hosts, unanswered, left_out,
                                                                        refusal):
    result = plan_restore(RESTORE_GROUP, play, play_all, dict(group="etcd"))
    assert (result["hosts"], result["unanswered"], result["left_out"]) == (hosts, unanswered, left_out)
    assert result["refusal"] == refusal
    # The plan is a restore's: schedule.yml reads the hosts again.
    assert result["restore"] is True


@pytest.mark.parametrize("info, refusal", [
    (dict(changed=False, sha256="ab", revision=3, total_key=1), ""),
    (dict(failed=True, msg="not a snapshot: bad magic"), "etcd_restore_snapshot latest: not a snapshot: bad magic; nothing was changed"),
    (dict(failed=True), "etcd_restore_snapshot latest: no answer; nothing was changed"),
], ids=["fine", "refused", "no-message"])
def test_a_snapshot_that_fails_its_checks_on_the_controller_refuses_the_restore_naming_it_as_given(info, refusal):
    assert snapshot_refusal("latest", info) == refusal


def dir_read(kind="directory", mount_points=(), wal_dir=""):
    """facts.yml's report of a host whose data dir /var/lib/etcd is ``kind``."""
    return dict(info=dict(files={"/var/lib/etcd": dict(kind=kind)}, mount_points=list(mount_points)),
                wanted=dict(data_dir="/var/lib/etcd", wal_dir=wal_dir))


def members_step(reads=None, **settings):
    settings = dict(dict(token="etcd-restored-abc", stamp="20260101T000000Z", bump_revision="auto",
                         snapshot="/b/s.db", data_dir="/var/lib/etcd"), **settings)
    reads = dict(h0=dir_read(), h1=dir_read("absent"), h2=dir_read()) if reads is None else reads
    return plan_restore_members(plan_restore(RESTORE_GROUP, RESTORE_GROUP, None, {}), MEMBERS, reads, settings)


def test_the_members_step_gives_the_initial_cluster_the_token_and_the_data_dirs_moved_aside():
    result = members_step()
    assert result["initial_cluster"] == ",".join("m%d=https://10.0.0.1%d:2380" % (i, i) for i in range(3))
    assert result["names"] == ["m0", "m1", "m2"] and result["token"] == "etcd-restored-abc"
    assert result["with_data_dir"] == ["h0", "h2"] and result["aside_suffix"] == ".before-restore-20260101T000000Z"
    assert result["aside"] == {"h0": ["/var/lib/etcd"], "h2": ["/var/lib/etcd"]}
    assert result["read_old_revisions"] is True
    # What the task files shared with the deploy (run_lock.yml, pki_controller.yml) read of its plan.
    assert result["with_data"] == ["h0", "h2"]
    assert result["stable_client_urls"] == ["https://10.0.0.1%d:2379" % i for i in range(3)]
    assert result["run_lock_if_answers"] is True and result["keeper_holds_pki"] is True
    # The snapshot as the controller read it (etcd_snapshot_info), for the members' checks and the report.
    assert members_step(snapshot_info=dict(sha256="ab", revision=3, total_key=1))["snapshot_file"] == dict(
        sha256="ab", revision=3, keys=1)
    assert result["check_report"] == (
        "check mode: /b/s.db would be restored on m0, m1, m2 as a new cluster, the old data dir of h0, h2 moved aside "
        "to /var/lib/etcd.before-restore-20260101T000000Z; nothing was changed")


@pytest.mark.parametrize("settings, read", [
    (dict(bump_revision="auto"), True), (dict(bump_revision="AUTO "), True), (dict(bump_revision=0), False),
    (dict(bump_revision="5000"), False), (dict(bump_revision="auto", check_mode=True), False)])
def test_the_old_cluster_is_asked_for_its_revision_only_for_an_automatic_bump_outside_check_mode(settings, read):
    assert members_step(**settings)["read_old_revisions"] is read


def mounted(setting, path):
    return ("%s %s is a mount point, and the restore moves the old directory aside by renaming it: mount the volume on "
            "a parent directory and point %s below it" % (setting, path, setting))


@pytest.mark.parametrize("reads, with_data_dir, refusal", [
    # A host without a read dropped out of the play: none here, plan_restore_check names it.
    ({}, [], ""),
    (dict(h0=dir_read("absent"), h1=dir_read("other"), h2=dir_read("unreadable")), ["h1", "h2"], ""),
    (dict(h0=dir_read(mount_points=["/var/lib/etcd"])), ["h0"],
     "host h0: %s; nothing was changed" % mounted("etcd_data_dir", "/var/lib/etcd")),
    (dict(h0=dir_read(mount_points=["/w"], wal_dir="/w"), h1=dir_read("absent", ["/var/lib/etcd", "/w"], "/w")),
     ["h0"], "host h0: %s; host h1: %s; host h1: %s; nothing was changed" % (
         mounted("etcd_wal_dir", "/w"), mounted("etcd_data_dir", "/var/lib/etcd"), mounted("etcd_wal_dir", "/w"))),
    # Another mount point than its own dirs (a parent) is none of the restore's business.
    (dict(h0=dir_read(mount_points=["/var/lib"])), ["h0"], ""),
])
def test_the_members_step_reads_the_old_data_dirs_and_refuses_those_on_a_mount_point(reads, with_data_dir, refusal):
    result = members_step(reads)
    assert (result["with_data_dir"], result["refusal"]) == (with_data_dir, refusal)


@pytest.mark.parametrize("read", [dict(info={}, wanted=dict(data_dir="/var/lib/etcd")),
                                  dict(info=dict(files={"/other": dict(kind="directory")}), wanted={}),
                                  dict(info=dict(files={"/var/lib/etcd": "directory"}), wanted=dict(data_dir="/var/lib/etcd"))])
def test_the_members_step_needs_the_state_of_each_data_dir(read):
    with pytest.raises(PlanError, match="the read of host h0 has no state of its data dir"):
        members_step(dict(h0=read))


def test_a_wal_dir_kept_apart_goes_aside_with_its_data_dir_only():
    result = members_step(dict(h0=dir_read(wal_dir="/w/wal"), h1=dir_read("absent", wal_dir="/w/wal"), h2=dir_read()))
    assert result["aside"] == {"h0": ["/var/lib/etcd", "/w/wal"], "h2": ["/var/lib/etcd"]}


def test_a_restore_onto_hosts_without_data_moves_nothing_aside():
    result = members_step(reads={})
    assert result["with_data_dir"] == [] and result["aside"] == {}
    assert result["check_report"] == "check mode: /b/s.db would be restored on m0, m1, m2 as a new cluster; nothing was changed"


def test_the_members_step_needs_the_member_records():
    with pytest.raises(PlanError, match="no member record"):
        plan_restore_members(plan_restore(RESTORE_GROUP, RESTORE_GROUP, None, {}), [], {}, dict(token="t", stamp="s"))


DROPPED = ("host h2 dropped out of the run (unreachable, or a task failed there): every member must take part in a "
           "restore; bring it back and run the restore again")


@pytest.mark.parametrize("play, reported, problems, dropped_out", [
    (RESTORE_GROUP, {}, [], []),
    (RESTORE_GROUP, {"h1": "host h1: not enough free space"}, ["host h1: not enough free space"], []),
    (["h0", "h1"], {}, [DROPPED], ["h2"]),
    # a member's failed check sends the others to the rescue as failed hosts, out of the play too:
    # then only what the members reported is named
    (["h1"], {"h1": "host h1: not enough free space"}, ["host h1: not enough free space"], []),
    # a problem reported by a host that dropped out afterwards is still named
    (["h0", "h1"], {"h2": "host h2: the tool failed"}, ["host h2: the tool failed"], []),
], ids=["fine", "problem", "dropped-out", "problem-and-rescued", "problem-then-dropped"])
def test_what_the_members_reported_or_else_the_hosts_that_dropped_out_refuse_the_restore(play, reported, problems,
                                                                                         dropped_out):
    first = members_step()
    checked = plan_restore_check(first, RESTORE_GROUP, play, reported)
    assert checked["problems"] == problems and checked["dropped_out"] == dropped_out
    # The run lock is taken: configure.yml stages no member's files in a restore.
    assert "with_data" not in checked and checked["with_data_dir"] == first["with_data_dir"]
    assert checked["refusal"] == ("; ".join(problems) + "; nothing was changed" if problems else "")
    started = plan_restore_start(checked, RESTORE_GROUP, play, reported, {}, dict(snapshot_revision=100, version="3.5.30"))
    assert started["problems"] == problems
    assert started["refusal"] == ("; ".join(problems) + "; no member was stopped (their configuration may have been "
                                  "written)" if problems else "")


@pytest.mark.parametrize("old_cluster, settings, bump, note", [
    ({}, dict(), 1000000000, "revision bumped by 1000000000, marked compacted (no member of the old cluster answered: "
                             "the default bump)"),
    (dict(endpoints=[dict(revision=250), dict(revision=None), dict(error="down")]), dict(), 100150,
     "revision bumped by 100150, marked compacted (the old cluster reached revision 250, 150 past the snapshot, plus "
     "a margin)"),
    ({}, dict(bump_revision="0"), 0, "revision not bumped"),
    ({}, dict(bump_revision=5000, mark_compacted="false"), 5000, "revision bumped by 5000 (etcd_restore_bump_revision)"),
    ({}, dict(version="3.5.1"), 0, "revision not bumped: etcd 3.5.1 cannot"),
], ids=["nothing-known", "old-members-answer", "off", "fixed", "too-old"])
def test_the_revision_bump_is_decided_right_before_the_members_stop(old_cluster, settings, bump, note):
    settings = dict(dict(snapshot_revision=100, version="3.5.30"), **settings)
    result = plan_restore_start(members_step(), RESTORE_GROUP, RESTORE_GROUP, {}, old_cluster, settings)
    assert result["bump_revision"] == bump and result["bump_note"] == note and result["refusal"] == ""
    assert result["bump_warning"].startswith("etcd 3.5.1 cannot bump") == (settings["version"] == "3.5.1")
    assert result["mark_compacted"] is (bump > 0 and settings.get("mark_compacted", True) is True)


@pytest.mark.parametrize("old_cluster, stop_last", [
    (dict(member_status=[dict(name="m0", is_leader=False), dict(name="m1", is_leader=True), dict(name="m2", is_leader=None)]),
     ["h1"]),
    # Not read (a fixed bump), or a leader of no member of the restore: every member stops at once.
    ({}, []),
    (dict(member_status=[dict(name="m7", is_leader=True)]), []),
], ids=["leader-known", "not-read", "leader-not-restored"])
def test_the_old_cluster_s_leader_stops_last(old_cluster, stop_last):
    result = plan_restore_start(members_step(), RESTORE_GROUP, RESTORE_GROUP, {}, old_cluster,
                                dict(snapshot_revision=100, version="3.5.30"))
    assert result["stop_last"] == stop_last


def test_the_report_says_what_was_restored_with_the_new_token_and_the_bump():
    result = plan_restore_start(members_step(), RESTORE_GROUP, RESTORE_GROUP, {}, {}, dict(
        snapshot_revision=100, snapshot_keys=42, version="3.5.30", bump_revision="0",
        snapshot_shown="latest (etcd-snapshot-20260101T000000Z.db.enc) of target offsite"))
    assert result["report"] == ["restored latest (etcd-snapshot-20260101T000000Z.db.enc) of target offsite: revision 100, "
                                "42 keys, cluster token etcd-restored-abc; revision not bumped"]


def test_a_bump_setting_that_is_no_revision_is_a_plan_error():
    with pytest.raises(PlanError, match="the revision bump: etcd_restore_bump_revision 'lots' is not a revision"):
        plan_restore_start(members_step(), RESTORE_GROUP, RESTORE_GROUP, {}, {},
                           dict(snapshot_revision=100, version="3.5.30", bump_revision="lots"))


def test_the_snapshot_s_revision_and_keys_are_the_plan_s_when_not_given():
    plan = members_step(snapshot_info=dict(sha256="ab", revision=100, total_key=7))
    result = plan_restore_start(plan_restore_check(plan, RESTORE_GROUP, RESTORE_GROUP, {}), RESTORE_GROUP,
                                RESTORE_GROUP, {}, dict(endpoints=[dict(revision=250)]),
                                dict(version="3.5.30", snapshot_shown="latest"))
    assert result["bump_revision"] == 100150
    assert result["report"] == ["restored latest: revision 100, 7 keys, cluster token etcd-restored-abc; "
                                "revision bumped by 100150, marked compacted (the old cluster reached revision 250, 150 "
                                "past the snapshot, plus a margin)"]
