"""plan: which hosts hold the cluster's data, which join, re-join or move, and which identity
changes of a running member are refused (with the old and new values) - member_plan; where a host's
own etcd listens - installed_local_endpoint; the order of the restarts - roll_order."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import plan as plan_filters
from ansible_collections.raftops.etcd.plugins.filter.plan import installed_local_endpoint, member_plan, roll_order

CLUSTER_ID = "c1"


def record(i, address=None, name=None, scheme="https", peer=2380, client=2379):
    address = address or "10.0.0.%d" % (10 + i)
    return dict(host="h%d" % i, name=name or "m%d" % i, address=address,
                peer_url="%s://%s:%d" % (scheme, address, peer), client_url="%s://%s:%d" % (scheme, address, client))


def view(names=(0, 1, 2), cluster_id=CLUSTER_ID, started=True):
    return dict(cluster=dict(id=cluster_id), members=[
        dict(id="a%d" % i, name="m%d" % i if started else "", started=started,
             peer_urls=["https://10.0.0.%d:2380" % (10 + i)]) for i in names])


def installed(i, address=None, data_dir="/var/lib/etcd", name=None, scheme="https", peer=2380, client=2379,
              has_data=True, wal_dir=""):
    address = address or "10.0.0.%d" % (10 + i)
    settings = dict(ETCD_NAME=name or "m%d" % i, ETCD_DATA_DIR=data_dir,
                    ETCD_INITIAL_ADVERTISE_PEER_URLS="%s://%s:%d" % (scheme, address, peer),
                    ETCD_ADVERTISE_CLIENT_URLS="%s://%s:%d" % (scheme, address, client))
    if wal_dir:
        settings["ETCD_WAL_DIR"] = wal_dir
    return dict(settings=settings, data_dir=data_dir, has_data=has_data, configured_has_data=has_data)


def fresh():
    return dict(settings={}, data_dir=None, has_data=False, configured_has_data=False)


def facts(infos, local=None, wanted=None):
    return {"h%d" % i: dict(info=info, local=(local or {}).get(i, {}),
                            wanted=(wanted or {}).get(i, dict(data_dir="/var/lib/etcd", wal_dir="")))
            for i, info in infos.items()}


def running(*hosts):
    return {i: view() for i in hosts}


def test_a_new_cluster_is_all_new():
    plan = member_plan([record(i) for i in range(3)], facts({i: fresh() for i in range(3)}))
    assert plan["new"] == ["h0", "h1", "h2"] and plan["with_data"] == [] and plan["problems"] == []
    assert plan["cluster"] == {}


def test_a_new_member_whose_ports_something_listens_on_is_refused_naming_each():
    # Something on h0 listens on 2380, another etcd instance on h1 on both; h2's own etcd is starting (active).
    busy = dict(fresh(), ports_in_use=[2379, 2380])
    plan = member_plan([record(i) for i in range(3)],
                       facts({0: dict(fresh(), ports_in_use=[2380]), 1: busy, 2: dict(busy, active=True)}))
    assert plan["problems"] == [
        "host h0: etcd_peer_port 2380 is already in use there (another etcd instance or another service listens "
        "on it); give this cluster free ports, or stop what listens",
        "host h1: etcd_client_port 2379 and etcd_peer_port 2380 are already in use there (another etcd instance or "
        "another service listens on them); give this cluster free ports, or stop what listens"]
    # The metrics port too, when the member serves metrics.
    metrics = member_plan([record(0)], facts({0: dict(fresh(), ports_in_use=[2381])},
                                             wanted={0: dict(data_dir="/var/lib/etcd", wal_dir="", metrics_port="2381")}))
    assert metrics["problems"] == [
        "host h0: etcd_metrics_port 2381 is already in use there (another etcd instance or another service listens "
        "on it); give this cluster free ports, or stop what listens"]
    # Other ports in use on the host are none of the plan's business.
    clear = member_plan([record(i, peer=2384, client=2383) for i in range(3)], facts({i: busy for i in range(3)}))
    assert clear["problems"] == []


def test_a_converged_cluster_has_nothing_to_do():
    plan = member_plan([record(i) for i in range(3)], facts({i: installed(i) for i in range(3)}, running(0, 1, 2)))
    assert plan["with_data"] == ["h0", "h1", "h2"] and plan["new"] == []
    assert plan["problems"] == [] and plan["rejoin"] == {} and plan["readdress"] == {}


def test_a_member_whose_data_was_wiped_rejoins_after_its_entry_goes():
    infos = {0: installed(0), 1: installed(1), 2: dict(installed(2), has_data=False, configured_has_data=False)}
    plan = member_plan([record(i) for i in range(3)], facts(infos, running(0, 1)))
    assert plan["new"] == ["h2"] and plan["rejoin"] == {"h2": "a2"} and plan["problems"] == []


def test_a_learner_that_never_started_is_reused_not_removed():
    cluster = view((0, 1))
    cluster["members"].append(dict(id="a2", name="", started=False, peer_urls=["https://10.0.0.12:2380"]))
    infos = {0: installed(0), 1: installed(1), 2: fresh()}
    plan = member_plan([record(i) for i in range(3)], facts(infos, {0: cluster, 1: cluster}))
    assert plan["new"] == ["h2"] and plan["rejoin"] == {} and plan["problems"] == []


def test_a_node_name_of_a_live_member_on_another_host_is_refused():
    # the inventory moved m1 from h1 to the new host h3, while m1 still runs on h1
    members = [record(0), record(2), record(3, name="m1")]
    infos = {0: installed(0), 2: installed(2), 3: fresh()}
    plan = member_plan(members, facts(infos, running(0, 2)))
    assert len(plan["problems"]) == 1
    problem = plan["problems"][0]
    assert problem.startswith("host h3: NODE_NAME m1 belongs to a live member") and "https://10.0.0.11:2380" in problem
    assert "replace_member" in problem and "etcd_replace=m1" in problem


def test_a_peer_url_of_another_member_is_refused():
    # h3 got the address of m2 (whose host is gone from the inventory)
    members = [record(0), record(1), record(3, address="10.0.0.12")]
    infos = {0: installed(0), 1: installed(1), 3: fresh()}
    plan = member_plan(members, facts(infos, running(0, 1)))
    assert plan["problems"] == [
        "host h3: its peer URL https://10.0.0.12:2380 belongs to member m2 of the running cluster, not to m3 "
        "(NODE_NAME); give the host its member's NODE_NAME, or remove that member first (remove_member playbook)"]


def test_foreign_data_is_refused_until_confirmed():
    other = view((9,), cluster_id="c9")
    infos = {0: installed(0), 1: installed(1), 2: installed(2), 3: installed(3)}
    members = [record(i) for i in range(4)]
    plan = member_plan(members, facts(infos, {**running(0, 1, 2), 3: other}))
    assert plan["foreign"] == ["h3"] and plan["new"] == ["h3"] and "h3" not in plan["with_data"]
    assert plan["problems"] == []
    assert plan["foreign_refusal"] == (
        "host h3: /var/lib/etcd holds etcd data that is not of a member of this cluster (its etcd belongs to cluster "
        "c9 with members m9; this cluster is c1); nothing was changed. To discard that data, confirm with "
        "-e '{\"etcd_discard_foreign_data\": [\"h3\"]}': the join then stops the etcd there and moves /var/lib/etcd "
        "aside to /var/lib/etcd.foreign-<UTC time>.")
    for discard in (["h3"], "h1, h3", ["m3"]):
        assert member_plan(members, facts(infos, {**running(0, 1, 2), 3: other}), discard)["foreign_refusal"] == ""


def test_data_of_a_removed_member_is_foreign():
    infos = {0: installed(0), 1: installed(1), 2: installed(2), 3: installed(3)}
    plan = member_plan([record(i) for i in range(4)], facts(infos, running(0, 1, 2)))
    assert plan["foreign"] == ["h3"]
    assert "no member has its peer URL https://10.0.0.13:2380" in plan["foreign_refusal"]


def joining(i, peers, state="existing"):
    initial = dict(ETCD_INITIAL_CLUSTER=",".join("m%d=https://10.0.0.%d:2380" % (p, 10 + p) for p in peers),
                   ETCD_INITIAL_CLUSTER_STATE=state)
    return dict(installed(i), initial_settings=initial)


def test_data_of_an_interrupted_join_into_this_cluster_is_moved_aside_unasked():
    infos = {0: installed(0), 1: installed(1), 2: installed(2), 3: joining(3, (0, 1, 2, 3))}
    plan = member_plan([record(i) for i in range(4)], facts(infos, running(0, 1, 2)))
    assert plan["foreign"] == ["h3"] and plan["new"] == ["h3"]
    assert plan["foreign_refusal"] == "" and plan["problems"] == []


@pytest.mark.parametrize("info, local", [
    (joining(3, (0, 1, 2, 3), state="new"), {}),  # a bootstrap, not a join
    (joining(3, (7, 8, 3)), {}),  # a join into another cluster
    (joining(3, (3,)), {}),  # names no peer but itself
    (joining(3, (0, 1, 2, 3)), view((9,), cluster_id="c9")),  # its etcd serves another cluster
], ids=["bootstrap", "other-peers", "only-itself", "other-cluster"])
def test_other_join_settings_leave_the_data_foreign_until_confirmed(info, local):
    infos = {0: installed(0), 1: installed(1), 2: installed(2), 3: info}
    plan = member_plan([record(i) for i in range(4)], facts(infos, {**running(0, 1, 2), 3: local}))
    assert plan["foreign"] == ["h3"] and "host h3: /var/lib/etcd holds etcd data" in plan["foreign_refusal"]


def test_when_no_etcd_answers_nothing_is_judged_foreign():
    plan = member_plan([record(i) for i in range(3)], facts({i: installed(i) for i in range(3)}))
    assert plan["foreign"] == [] and plan["with_data"] == ["h0", "h1", "h2"] and plan["problems"] == []


@pytest.mark.parametrize("change, expected", [
    (dict(name="renamed"), "host h1: NODE_NAME is renamed, but the member there runs as m1; a member's name cannot "
                           "change in place: set NODE_NAME back to m1"),
    (dict(data_dir="/srv/etcd"), "host h1: etcd_data_dir is /srv/etcd, but the member runs with its data in "
                                 "/var/lib/etcd; the role does not move a live member's data: set etcd_data_dir back "
                                 "to /var/lib/etcd"),
    (dict(wal_dir="/srv/wal"), "host h1: etcd_wal_dir is /srv/wal, but the member runs with its WAL in its data dir"),
    (dict(scheme="http"), "host h1: etcd_tls asks for http, but the member runs with https peer URL "
                          "https://10.0.0.11:2380; switching TLS on a running cluster is not done by the role"),
    (dict(peer=2480), "host h1: etcd_peer_port is 2480, but the member runs with peer URL https://10.0.0.11:2380; "
                      "the role does not change the peer port of a running member: set etcd_peer_port back to 2380"),
    (dict(client=2479), "host h1: etcd_client_port is 2479, but the member serves clients at https://10.0.0.11:2379"),
])
def test_identity_changes_of_a_running_member_are_refused_with_old_and_new(change, expected):
    members = [record(0), record(1, **{k: v for k, v in change.items() if k in ("name", "scheme", "peer", "client")}),
               record(2)]
    wanted = {1: dict(data_dir=change.get("data_dir", "/var/lib/etcd"), wal_dir=change.get("wal_dir", ""))}
    plan = member_plan(members, facts({i: installed(i) for i in range(3)}, running(0, 1, 2), wanted))
    assert len(plan["problems"]) == 1 and plan["problems"][0].startswith(expected), plan["problems"]
    assert plan["with_data"] == ["h0", "h1", "h2"]


def test_data_moved_by_hand_to_the_new_data_dir_is_accepted():
    infos = {i: installed(i) for i in range(3)}
    infos[1] = dict(infos[1], has_data=False, configured_has_data=True)
    wanted = {1: dict(data_dir="/srv/etcd", wal_dir="")}
    plan = member_plan([record(i) for i in range(3)], facts(infos, running(0, 2), wanted))
    assert plan["problems"] == [] and plan["with_data"] == ["h0", "h1", "h2"]


def test_a_new_address_is_a_readdress_not_a_new_member():
    members = [record(0), record(1, address="10.0.0.21"), record(2)]
    plan = member_plan(members, facts({i: installed(i) for i in range(3)}, running(0, 2)))
    assert plan["problems"] == [] and plan["with_data"] == ["h0", "h1", "h2"] and plan["new"] == []
    assert plan["readdress"] == {"h1": dict(name="m1", old_address="10.0.0.11", old_peer_url="https://10.0.0.11:2380",
                                            new_peer_url="https://10.0.0.21:2380", member_id="a1")}


def test_hosts_left_out_of_the_run_are_not_judged():
    plan = member_plan([record(i) for i in range(3)], facts({0: installed(0)}, running(0)))
    assert plan["with_data"] == ["h0"] and plan["new"] == []


def test_facts_must_be_a_dict():
    with pytest.raises(AnsibleFilterError, match="facts must be a dict"):
        member_plan([record(0)], [])


def test_the_filters_are_registered():
    assert plan_filters.FilterModule().filters() == {
        "installed_local_endpoint": installed_local_endpoint, "member_plan": member_plan, "roll_order": roll_order}


# --- installed_local_endpoint ----------------------------------------------------------------------

DEFAULT = "https://127.0.0.1:2379"


@pytest.mark.parametrize("settings, endpoint", [
    ({"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379,https://127.0.0.1:2379"}, "https://127.0.0.1:2379"),
    ({"ETCD_LISTEN_CLIENT_URLS": "http://10.0.0.1:4001,http://127.0.0.1:4001,https://127.0.0.1:2379"}, "http://127.0.0.1:4001"),
    ({"ETCD_LISTEN_CLIENT_URLS": "https://127.0.0.1:2999"}, "https://127.0.0.1:2999"),
])
def test_the_member_is_asked_on_the_loopback_url_it_listens_on(settings, endpoint):
    assert installed_local_endpoint(settings, DEFAULT) == endpoint


@pytest.mark.parametrize("settings", [
    {}, None, {"ETCD_LISTEN_CLIENT_URLS": ""}, {"ETCD_LISTEN_CLIENT_URLS": None},
    {"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379"},
    # Taken as etcd_host_info read them: an item with a space before it is no loopback URL.
    {"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379, https://127.0.0.1:2379"},
    {"ETCD_LISTEN_CLIENT_URLS": "https://127.0.0.10:2379,unix://127.0.0.1:2379"},
])
def test_without_an_installed_loopback_url_the_default_is_asked(settings):
    assert installed_local_endpoint(settings, DEFAULT) == DEFAULT


# --- roll_order ------------------------------------------------------------------------------------

RECORDS = [record(i) for i in range(4)]


def test_only_the_members_that_must_restart_roll_in_host_order():
    due = {"h0": True, "h1": False, "h2": True, "h3": True}
    assert roll_order(["h0", "h1", "h2", "h3"], due, "", RECORDS) == ["h0", "h2", "h3"]


def test_the_leader_rolls_last():
    due = {"h0": True, "h1": True, "h2": True}
    assert roll_order(["h0", "h1", "h2"], due, "m0", RECORDS) == ["h1", "h2", "h0"]
    assert roll_order(["h0", "h1", "h2"], due, "m2", RECORDS) == ["h0", "h1", "h2"]


def test_a_leader_that_needs_no_restart_is_not_rolled():
    assert roll_order(["h0", "h1", "h2"], {"h0": False, "h1": True, "h2": True}, "m0", RECORDS) == ["h1", "h2"]


@pytest.mark.parametrize("leader", ["", None, "not-a-member"])
def test_an_unknown_leader_leaves_the_order(leader):
    assert roll_order(["h1", "h0"], {"h0": True, "h1": True}, leader, RECORDS) == ["h1", "h0"]


def test_hosts_without_a_note_or_with_false_texts_do_not_roll():
    due = {"h0": "false", "h1": "True", "h2": None}
    assert roll_order(["h0", "h1", "h2", "h3"], due, "m1", RECORDS) == ["h1"]


def test_nothing_to_roll():
    assert roll_order([], {}, "m0", RECORDS) == []


def test_restart_due_must_be_by_host():
    with pytest.raises(AnsibleFilterError, match="restart_due must be a dict"):
        roll_order(["h0"], ["h0"], "m0", RECORDS)
