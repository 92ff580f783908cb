"""The deploy run's plan (module_utils/plan/plan.py): which hosts hold the cluster's data, which join,
re-join or move, and which identity changes of a running member are refused (with the old and new
values) - member_plan; the host sets, refusals and warnings of each step - plan_hosts, plan_cluster,
plan_converge, plan_roll; the order of the restarts - roll_order."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import (
    PlanError,
    _with_local_view,
    auth_plan,
    count_warnings,
    hash_reference_after,
    member_plan,
    plan_cluster,
    plan_converge,
    plan_hosts,
    plan_removal,
    plan_removal_check,
    removal_client_pair,
    removal_member_ca,
    removal_retire_units,
    plan_roll,
    restart_notes,
    roll_leader,
    roll_order,
    run_refusal,
    scrape_targets,
    security_warning,
)

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


def test_a_learner_s_peer_url_is_not_updated_as_etcd_would_forget_it_is_a_learner():
    members = [record(0), record(1, address="10.0.0.21"), record(2)]
    learning = view()
    learning["members"][1]["is_learner"] = True
    plan = member_plan(members, facts({i: installed(i) for i in range(3)}, {0: learning, 2: learning}))
    assert plan["readdress"] == {} and plan["peer_url_updates"] == {}
    assert plan["problems"] == [
        "host h1: member m1 is a learner (its join has not finished); a peer URL update would make etcd's member "
        "list forget that while raft still counts it as a learner (etcd issue 21694), so it could never be "
        "promoted; let the join finish first (run the etcd playbook with its address and etcd_tls unchanged until "
        "it is promoted), then change them"]
    # The same move to TLS (the adopt playbook's) of a learner is refused alike; a learner that stays is no problem.
    tls = plaintext_view()
    tls["members"][2]["is_learner"] = True
    moved = member_plan([record(i) for i in range(3)], facts({i: serving_both(i) for i in range(3)}, {0: tls, 1: tls}))
    assert moved["tls_move"] == ["h0", "h1"] and moved["problems"][0].startswith("host h2: member m2 is a learner")
    staying = member_plan([record(i) for i in range(3)], facts({i: installed(i) for i in range(3)}, {0: learning}))
    assert staying["problems"] == [] and staying["readdress"] == {}


def plaintext_view():
    return dict(cluster=dict(id=CLUSTER_ID), members=[
        dict(id="a%d" % i, name="m%d" % i, started=True, peer_urls=["http://10.0.0.%d:2380" % (10 + i)]) for i in range(3)])


def serving_both(i, tls=True):
    """A member of a plaintext cluster as the adopt playbook's first run left it (etcd_tls_transition=both)."""
    info = installed(i, scheme="http")
    if tls:
        info["settings"].update(ETCD_PEER_CERT_FILE="/etc/etcd/pki/peer.pem",
                                ETCD_LISTEN_CLIENT_URLS="http://10.0.0.%d:2379,https://10.0.0.%d:2379" % (10 + i, 10 + i))
    return info


def test_a_plaintext_member_that_serves_tls_beside_moves_its_peer_url_to_https_at_its_restart():
    plan = member_plan([record(i) for i in range(3)],
                       facts({i: serving_both(i) for i in range(3)}, {i: plaintext_view() for i in range(3)}))
    assert plan["problems"] == [] and plan["with_data"] == ["h0", "h1", "h2"] and plan["readdress"] == {}
    assert plan["tls_move"] == ["h0", "h1", "h2"]
    assert plan["peer_url_updates"] == {"h%d" % i: "https://10.0.0.%d:2380" % (10 + i) for i in range(3)}


def test_a_plaintext_member_without_tls_beside_is_refused_the_move():
    infos = {i: serving_both(i) for i in range(3)}
    infos[1] = serving_both(1, tls=False)
    plan = member_plan([record(i) for i in range(3)], facts(infos, {i: plaintext_view() for i in range(3)}))
    assert plan["tls_move"] == ["h0", "h2"] and "h1" not in plan["peer_url_updates"]
    assert plan["problems"] == ["host h1: etcd_tls asks for https, but the member runs with http peer URL "
                                "http://10.0.0.11:2380; switching TLS on a running cluster is not done by the role: "
                                "set etcd_tls back"]


def test_a_move_to_tls_is_no_port_change():
    infos = {i: serving_both(i) for i in range(3)}
    infos[1]["settings"]["ETCD_ADVERTISE_CLIENT_URLS"] = "http://10.0.0.11:2479"
    plan = member_plan([record(i) for i in range(3)], facts(infos, {i: plaintext_view() for i in range(3)}))
    assert plan["problems"] == ["host h1: etcd_client_port is 2379, but the member serves clients at "
                                "http://10.0.0.11:2479; the role does not change the client port of a running member "
                                "(clients would lose it): set etcd_client_port back to 2479"]


def test_an_address_move_is_a_peer_url_update_too():
    members = [record(0), record(1, address="10.0.0.21"), record(2)]
    plan = member_plan(members, facts({i: installed(i) for i in range(3)}, running(0, 2)))
    assert plan["peer_url_updates"] == {"h1": "https://10.0.0.21:2380"} and plan["tls_move"] == []


def test_hosts_left_out_of_the_run_are_not_judged():
    plan = member_plan([record(i) for i in range(3)], facts({0: installed(0)}, running(0)))
    assert plan["with_data"] == ["h0"] and plan["new"] == []


def test_facts_must_be_a_dict():
    with pytest.raises(PlanError, match="facts must be a dict"):
        member_plan([record(0)], [])


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
    with pytest.raises(PlanError, match="restart_due must be a dict"):
        roll_order(["h0"], ["h0"], "m0", RECORDS)


# --- plan_hosts: the first step, from each play host's read -----------------------------------------

SETTINGS = dict(version="3.5.17", discard_foreign_data=[], cluster_token="", generated_token="etcd-abc", forks=5)


def reports(infos, local=None, releases=None):
    """plan_hosts' reports: facts() with each host's installed release."""
    built = facts(infos, local)
    for i, release in (releases or {}).items():
        built["h%d" % i]["info"]["release"] = release
    return built


def hosts_plan(infos, local=None, releases=None, members=3, play=None, play_all=None, records=None, **settings):
    records = records or [record(i) for i in range(members)]
    play = ["h%d" % i for i in range(members)] if play is None else play
    return plan_hosts(records, reports(infos, local, releases), play, play if play_all is None else play_all,
                      dict(SETTINGS, **settings))


def converged_hosts(**kwargs):
    return hosts_plan({i: installed(i) for i in range(3)}, running(0, 1, 2),
                      {i: "3.5.17" for i in range(3)}, **kwargs)


@pytest.mark.parametrize("case, plan, expected", [
    ("a new cluster bootstraps, all new", lambda: hosts_plan({i: fresh() for i in range(3)}),
     dict(with_data=[], new=["h0", "h1", "h2"], bootstrap=True, cluster_tasks="bootstrap.yml", read_host="h0",
          bootstrap_settings=True,
          initial_cluster="m0=https://10.0.0.10:2380,m1=https://10.0.0.11:2380,m2=https://10.0.0.12:2380",
          stable_client_urls=[], binaries_outdated=[], with_release=[], problems=[], unanswered=[], left_out=[])),
    ("a converged cluster converges", converged_hosts,
     dict(with_data=["h0", "h1", "h2"], new=[], bootstrap=False, cluster_tasks="existing.yml", read_host="h0",
          stable_client_urls=["https://10.0.0.%d:2379" % (10 + i) for i in range(3)],
          binaries_outdated=[], with_release=["h0", "h1", "h2"], without_release=[], problems=[],
          all_members_in_run=True)),
    ("members linked to another release are outdated, a new host has no release",
     lambda: hosts_plan({0: installed(0), 1: installed(1), 2: fresh()}, running(0, 1), {0: "3.5.16", 1: "3.5.17"}),
     dict(with_data=["h0", "h1"], new=["h2"], binaries_outdated=["h0"], with_release=["h1"], read_host="h0",
          without_release=["h0", "h2"])),
    ("a member that moves keeps its old URL out of the stable ones",
     lambda: hosts_plan({i: installed(i) for i in range(3)}, running(0, 1, 2), {i: "3.5.17" for i in range(3)},
                        records=[record(0), record(1), record(2, address="10.0.0.99")]),
     dict(with_data=["h0", "h1", "h2"], stable_client_urls=["https://10.0.0.10:2379", "https://10.0.0.11:2379"])),
    ("a member left out of the run (--limit) is listed, not judged",
     lambda: hosts_plan({0: installed(0), 1: installed(1)}, running(0, 1), play=["h0", "h1"]),
     dict(with_data=["h0", "h1"], left_out=["h2"], unanswered=[], problems=[], all_members_in_run=False)),
])
def test_the_host_sets_of_the_first_step(case, plan, expected):
    got = plan()
    assert {key: got[key] for key in expected} == expected, case


def test_install_calls_only_the_hosts_whose_read_shows_its_work_undone():
    # h0 has everything in place; h1 runs the old release, which its roll step relinks; h2 is new
    # and was read without the release; a read without the role's settings (h3) cannot tell.
    bins = ["etcd", "etcdctl"]

    def read(info, release, complete=True):
        links = {"/usr/local/bin/" + b: "/opt/etcd/v%s/%s" % (release, b) for b in bins}
        mark = "/opt/etcd/v3.5.17/etcd"
        return dict(info, account_name="etcd", account=["etcd"], account_group=True, links=links,
                    present=[mark] if complete else [], absent=[] if complete else [mark],
                    host_settings=dict(release_dir="/opt/etcd/v3.5.17", bin_dir="/usr/local/bin", binaries=bins,
                                       read=dict(account="etcd")))

    infos = {0: read(installed(0), "3.5.17"), 1: read(installed(1), "3.5.16"), 2: read(fresh(), "3.5.17", complete=False),
             3: installed(3)}
    plan = hosts_plan(infos, running(0, 1, 3), {0: "3.5.17", 1: "3.5.16", 3: "3.5.17"}, members=4)
    assert plan["binaries_outdated"] == ["h1"]
    assert plan["install_hosts"] == ["h2", "h3"]


def test_a_host_whose_read_failed_is_a_problem_not_a_smaller_cluster():
    # h2 started in the play and dropped out (unreachable, its read failed): nothing is decided without it.
    plan = hosts_plan({0: installed(0), 1: installed(1)}, running(0, 1), play=["h0", "h1"],
                      play_all=["h0", "h1", "h2"])
    assert plan["unanswered"] == ["h2"] and plan["left_out"] == [] and not plan["all_members_in_run"]
    assert plan["bootstrap_settings"] is False
    assert plan["problems"] == ["host h2: its read failed or it is unreachable (see above), so the run cannot know "
                                "whether it holds data"]
    # Nor does the read of a host no longer in the play count, should it still be in the reports.
    stale = plan_hosts([record(i) for i in range(3)], reports({i: installed(i) for i in range(3)}, running(0, 1, 2)),
                       ["h0", "h1"], ["h0", "h1", "h2"], SETTINGS)
    assert stale["unanswered"] == ["h2"] and "h2" not in stale["with_data"]


def test_the_refusals_of_the_hosts_reach_the_plan():
    # A foreign host unconfirmed, and a running member whose name changed.
    infos = {0: installed(0), 1: installed(1, name="renamed"), 2: installed(2, address="10.0.0.50")}
    plan = hosts_plan(infos, running(0, 1))
    assert plan["foreign"] == ["h2"] and "etcd_discard_foreign_data" in plan["foreign_refusal"]
    assert len(plan["problems"]) == 1 and plan["problems"][0].startswith("host h1: NODE_NAME is m1")
    confirmed = hosts_plan(infos, running(0, 1), discard_foreign_data=["h2"])
    assert confirmed["foreign_refusal"] == "" and confirmed["foreign"] == ["h2"]


@pytest.mark.parametrize("settings, token", [
    (dict(cluster_token="mine"), "mine"),
    (dict(cluster_token=""), "etcd-abc"),
])
def test_the_token_of_a_new_cluster_is_the_operator_s_or_the_generated_one(settings, token):
    assert hosts_plan({i: fresh() for i in range(3)}, **settings)["new_token"] == token


def test_the_peer_name_is_asked_for_by_every_member_once_all_are_in_the_run():
    assert converged_hosts()["peer_identity_hosts"] == ["h0", "h1", "h2"]
    # With h2 left out, only a member that asks for the name already keeps asking for it.
    infos = {0: installed(0), 1: installed(1)}
    infos[1]["settings"]["ETCD_PEER_CERT_ALLOWED_HOSTNAME"] = "etcd-peer.invalid"
    limited = hosts_plan(infos, running(0, 1), play=["h0", "h1"])
    assert limited["peer_identity_hosts"] == ["h1"]


@pytest.mark.parametrize("members, forks, hosts, expected", [
    (3, 5, 3, []),
    # As many forks as hosts: no warning (molecule/hardening runs the case with fewer).
    (3, 3, 3, []),
    (4, 5, 4, ["WARNING: 4 members: an even count tolerates no more failures than 3 members and needs a larger "
               "quorum; use 3, 5 or 7."]),
    (7, 5, 7, ["WARNING: forks=5 is fewer than the 7 hosts of this play: Ansible runs each task on 5 hosts at a "
               "time, so every task waits for its hosts in 2 turns; set forks to 7 or more (ansible-playbook -f 7, "
               "or forks in ansible.cfg [defaults])."]),
    (2, 1, 2, ["WARNING: 2 members: an even count tolerates no more failures than 1 members and needs a larger "
               "quorum; use 3, 5 or 7.",
               "WARNING: forks=1 is fewer than the 2 hosts of this play: Ansible runs each task on 1 hosts at a time, "
               "so every task waits for its hosts in 2 turns; set forks to 2 or more (ansible-playbook -f 2, or forks "
               "in ansible.cfg [defaults])."]),
])
def test_count_warnings(members, forks, hosts, expected):
    assert count_warnings(members, forks, hosts) == expected


def test_a_release_with_known_bugs_is_warned_about():
    plan = converged_hosts(version="3.5.1")
    assert len(plan["run_warnings"]) == 2 and plan["run_warnings"][0].startswith("WARNING: etcd 3.5.1 has known data")
    assert plan["run_warnings"][1].startswith("WARNING: etcd 3.5.1 has known security issues")
    assert converged_hosts(version="3.5.33")["run_warnings"] == []


@pytest.mark.parametrize("version, advisories, fixed_in", [
    ("3.4.23", ["CVE-2026-33413"], "3.4.42"),
    ("3.5.1", ["CVE-2026-33413", "GHSA-xg4h-6gfc-h4m8", "GHSA-6vch-q96h-7gc3"], "3.5.33"),
    ("3.5.27", ["CVE-2026-33413", "GHSA-xg4h-6gfc-h4m8"], "3.5.33"),
    ("3.5.30", ["GHSA-xg4h-6gfc-h4m8", "GHSA-6vch-q96h-7gc3"], "3.5.33"),
    ("v3.5.32", ["GHSA-xg4h-6gfc-h4m8", "GHSA-6vch-q96h-7gc3"], "3.5.33"),
    ("3.6.8", ["CVE-2026-33413", "GHSA-xg4h-6gfc-h4m8"], "3.6.14"),
    ("3.6.13", ["GHSA-6vch-q96h-7gc3"], "3.6.14"),
    ("3.7.0", ["GHSA-xg4h-6gfc-h4m8", "GHSA-6vch-q96h-7gc3"], "3.7.1"),
])
def test_a_release_with_known_security_issues_names_each_and_the_patch_that_fixes_them(version, advisories, fixed_in):
    warning = security_warning(version)
    assert warning.startswith("WARNING: etcd %s has known security issues: " % version)
    assert all(advisory in warning for advisory in advisories)
    assert warning.endswith("etcd fixed them in %s; set etcd_version to %s or a later release of the same minor "
                            "version" % (fixed_in, fixed_in))


@pytest.mark.parametrize("version", ["3.4.42", "3.4.45", "3.5.33", "3.6.14", "3.6.16", "3.7.1", "3.7.3"])
def test_a_release_with_every_known_fix_gets_no_security_warning(version):
    assert security_warning(version) == ""


@pytest.mark.parametrize("settings, hardware_check, auth_phase", [
    (dict(), False, False),
    (dict(preflight_hardware="all"), True, False),
    (dict(preflight_hardware="none", auth_enabled=False), False, True),
    (dict(roles=[dict(name="app")]), False, True),
    (dict(users=[dict(name="app")]), False, True),
    (dict(root_login="True"), False, True),
])
def test_the_hardware_check_and_the_auth_phase_follow_the_settings(settings, hardware_check, auth_phase):
    plan = converged_hosts(**settings)
    assert (plan["hardware_check"], plan["auth_phase"]) == (hardware_check, auth_phase)
    # With new hosts, etcd_preflight_hardware=new (the default) measures them.
    assert hosts_plan({i: fresh() for i in range(3)})["hardware_check"] is True


def test_the_auth_fields_split_roles_and_users_by_state_and_hold_no_password():
    roles = [dict(name="app", permissions=[dict(key="/app/")]), dict(name="old", state="absent"),
             dict(name="ro", state="present")]
    users = [dict(name="app", password="s3cret", roles=["app"]), dict(name="gone", state="absent"),
             dict(name="ci", state="present", password="t0ken")]
    plan = converged_hosts(roles=roles, users=users, auth_enabled=None)
    assert plan["auth_roles"] == [roles[0], roles[2]] and plan["auth_roles_absent"] == ["old"]
    assert plan["auth_users"] == [dict(name="app", index=0), dict(name="ci", index=2)]
    assert plan["auth_users_absent"] == ["gone"]
    assert "s3cret" not in str(plan) and "t0ken" not in str(plan)


@pytest.mark.parametrize("enabled, update", [(None, "on_create"), (False, "on_create"), ("false", "on_create"),
                                             (True, "always"), ("True", "always")])
def test_a_password_is_checked_only_while_auth_is_on(enabled, update):
    assert auth_plan(dict(auth_enabled=enabled))["auth_update_password"] == update
    assert auth_plan(dict(auth_enabled=enabled))["auth_users"] == []
    users = [dict(name="web", password="s3cret"), dict(name="billing"), dict(name="gone", password="x", state="absent")]
    checks = auth_plan(dict(auth_enabled=enabled, users=users))["auth_password_checks"]
    # Preflight tries the passwords auth.yml would check: those of present users, while auth is on.
    assert checks == ([dict(name="web", index=0)] if update == "always" else [])


# --- plan_cluster: the second step, from preflight's read of the cluster -----------------------------

def health(healthy=True, versions=("3.5.17",) * 3, serving=(0, 1, 2), learners=(), problems=()):
    return dict(healthy=healthy, problems=list(problems),
                endpoints=[dict(member="m%d" % i, healthy=i in serving, version=versions[i] if i in serving else None)
                           for i in range(len(versions))],
                members=[dict(name="m%d" % i, is_learner=i in learners) for i in range(len(versions))])


CLUSTER_SETTINGS = dict(version="3.5.17", allow_downgrade=False, auth_enabled=None)


def cluster_plan(first, read, releases=None, **settings):
    infos = {i: installed(i) for i in range(3)}
    return plan_cluster(first, [record(i) for i in range(3)], read,
                        reports(infos, releases={i: "3.5.17" for i in range(3)} if releases is None else releases),
                        dict(CLUSTER_SETTINGS, **settings))


@pytest.mark.parametrize("case, read, expected", [
    ("a healthy converged cluster: no wait, its read stands", health(),
     dict(not_serving=[], running_other_release=[], versions_before=["3.5.17"], version_problem="",
          release_changes=False, rotation_blockers=[], rotation_request="auto", existing_wait=False,
          status_read="preflight")),
    ("a stopped member is started, waited for, and blocks a CA rotation", health(healthy=True, serving=(0, 1)),
     dict(not_serving=["h2"], existing_wait=True, status_read="none",
          rotation_blockers=["member m2 on host h2"])),
    ("a member on another release is noted, its release counts", health(versions=("3.5.17", "3.5.16", "3.5.17")),
     dict(running_other_release=["h1"], versions_before=["3.5.16", "3.5.17"], release_changes=True,
          existing_wait=False)),
    ("a learner left by an interrupted join: its read does not stand", health(learners=(2,)),
     dict(existing_wait=False, status_read="none")),
    ("no endpoint answered: every member is not serving", {},
     dict(not_serving=["h0", "h1", "h2"], existing_wait=True, versions_before=["3.5.17"])),
])
def test_the_cluster_sets_of_the_second_step(case, read, expected):
    got = cluster_plan(converged_hosts(), read)
    assert {key: got[key] for key in expected} == expected, case


def test_a_change_of_release_is_refused_on_an_unhealthy_cluster():
    read = health(healthy=False, serving=(0, 1), problems=["member m2 is unreachable"])
    plan = cluster_plan(converged_hosts(version="3.5.18"), read, version="3.5.18")
    assert plan["version_problem"].startswith("the cluster is not healthy, so it will not be rolled from 3.5.17 to "
                                              "3.5.18: member m2 is unreachable")


@pytest.mark.parametrize("versions, target, allow, wanted, refused", [
    (("3.6.16",) * 3, "3.5.30", True, "3.5", False),
    (("3.7.3",) * 3, "3.6.16", True, "3.6", False),
    (("3.6.16", "3.5.30", "3.5.30"), "3.5.30", True, "3.5", False),  # a roll that stopped half way goes on
    (("3.5.30",) * 3, "3.5.16", True, "", False),  # a patch downgrade is a plain swap
    (("3.5.32",) * 3, "3.6.16", False, "", False),  # an upgrade
    (("3.6.16",) * 3, "3.5.30", False, "", True),  # no consent
    (("3.7.3",) * 3, "3.5.30", True, "", True),  # two minor versions
])
def test_the_downgrade_api_is_planned_for_a_consented_one_minor_downgrade_from_3_6(versions, target, allow, wanted,
                                                                                   refused):
    plan = cluster_plan(converged_hosts(version=target), health(versions=versions),
                        releases={i: versions[i] for i in range(3)}, version=target, allow_downgrade=allow)
    assert plan["downgrade_target"] == wanted
    assert bool(plan["version_problem"]) is refused


def test_a_downgrade_by_two_minors_is_refused_by_name_before_any_change():
    plan = cluster_plan(converged_hosts(version="3.5.30"), health(versions=("3.7.3",) * 3),
                        releases={i: "3.7.3" for i in range(3)}, version="3.5.30", allow_downgrade=True)
    assert plan["version_problem"] == ("downgrading 3.7.3 to 3.5.30 skips a minor version: etcd downgrades one "
                                       "minor version at a time (3.6 first); nothing was changed")
    assert plan["downgrade_target"] == ""


def test_a_stopped_member_counts_with_the_release_its_binary_links_to():
    # m2 does not serve: its installed release (3.4.30) is what it would start with, and 3.4 -> 3.6 is refused.
    plan = cluster_plan(converged_hosts(version="3.6.5"), health(serving=(0, 1)),
                        releases={0: "3.5.17", 1: "3.5.17", 2: "3.4.30"}, version="3.6.5")
    assert plan["versions_before"] == ["3.4.30", "3.5.17"]
    assert "skips a minor version" in plan["version_problem"]


def test_members_left_out_block_a_rotation_and_the_wait_follows_joins():
    first = hosts_plan({0: installed(0), 1: installed(1)}, running(0, 1), play=["h0", "h1"])
    assert cluster_plan(first, health())["rotation_left_out"] == ["member m2 on host h2"]
    joining = hosts_plan({0: installed(0), 1: installed(1), 2: fresh()}, running(0, 1))
    assert cluster_plan(joining, health())["existing_wait"] is True
    wiped = dict(installed(2), has_data=False, configured_has_data=False)
    rejoining = hosts_plan({0: installed(0), 1: installed(1), 2: wiped}, running(0, 1))
    assert rejoining["rejoin"] == {"h2": "a2"} and rejoining["rejoin_names"] == ["m2"]
    assert rejoining["data_names"] == ["m0", "m1"] and cluster_plan(rejoining, health())["existing_wait"] is True


def test_the_leader_is_the_one_preflight_s_read_found():
    assert cluster_plan(converged_hosts(), dict(health(), cluster=dict(leader="m1")))["leader"] == "m1"
    assert cluster_plan(converged_hosts(), health())["leader"] == ""
    assert cluster_plan(hosts_plan({i: fresh() for i in range(3)}), {})["leader"] == ""


def test_a_new_cluster_s_status_is_its_bootstrap_read_and_a_hash_check_reads_again():
    assert cluster_plan(hosts_plan({i: fresh() for i in range(3)}), {})["status_read"] == "bootstrap"
    assert cluster_plan(hosts_plan({i: fresh() for i in range(3)}), {})["existing_wait"] is False
    assert cluster_plan(converged_hosts(hash_reference="m0"), health())["status_read"] == "none"


@pytest.mark.parametrize("plan_before, reference", [
    (None, ""),
    (dict(skipped=True), ""),
    # The recovery's plan (recover_quorum.yml's first play): the member the cluster grew from.
    (dict(action="grow", reference="m0", lost_hosts=[]), "m0"),
    (dict(action="refuse", reference=None), ""),
    # The role's plans after it keep it; one without a recovery before it has none, whatever else it holds.
    (dict(hash_reference="m0", with_data=["h0"]), "m0"),
    (dict(hash_reference="", reference="m1"), ""),
])
def test_the_hash_reference_is_the_recovery_s_member_kept_by_the_plans_after_it(plan_before, reference):
    assert hash_reference_after(plan_before) == reference


def test_the_first_step_keeps_the_hash_reference_for_the_steps_after_it():
    assert converged_hosts(hash_reference="m0")["hash_reference"] == "m0"
    assert converged_hosts()["hash_reference"] == ""


@pytest.mark.parametrize("bootstrap, settings, asked", [
    (False, dict(), "auto"),
    (False, dict(pki_rotate_ca=True), "start"),
    (False, dict(pki_rotate_ca=True, pki_replace_ca=True), "keep"),
    (False, dict(pki_rotate_ca="yes", pki_managed="false"), "keep"),
    (True, dict(pki_rotate_ca=True), "keep"),
])
def test_a_ca_rotation_is_asked_for_only_in_a_running_cluster_with_the_role_s_pki(bootstrap, settings, asked):
    first = hosts_plan({i: fresh() for i in range(3)}) if bootstrap else converged_hosts()
    assert cluster_plan(first, {} if bootstrap else health(), **settings)["rotation_request"] == asked


# --- plan_converge: whether the cluster's phase has anything to do ----------------------------------

NOTE = "/etc/etcd/restart-pending"


def converge_plan(first=None, read=None, present=None, initial=None, outdated=None):
    """plan_converge on a healthy converged cluster of 3, with the paths each host's read found
    (``present``: host -> paths), the join settings it found (``initial``) and what configure.yml
    found out of date (``outdated``)."""
    plan = cluster_plan(first or converged_hosts(), health() if read is None else read)
    reads = {"h%d" % i: dict(info=dict(present=(present or {}).get("h%d" % i, []),
                                       initial_settings=(initial or {}).get("h%d" % i, {})))
             for i in range(3)}
    return plan_converge(plan, reads, outdated or {}, NOTE)


@pytest.mark.parametrize("case, plan, restart_due, converge", [
    ("a converged cluster has nothing to do", converge_plan, [], False),
    ("outdated files restart their member", lambda: converge_plan(outdated={"h1": True, "h2": "false"}), ["h1"], True),
    ("a note an earlier run left restarts its member", lambda: converge_plan(present={"h2": [NOTE, "/x"]}), ["h2"],
     True),
    ("a member on another release restarts",
     lambda: converge_plan(read=health(versions=("3.5.17", "3.5.16", "3.5.17"))), ["h1"], True),
    ("join settings a stopped run left are removed",
     lambda: converge_plan(initial={"h0": {"ETCD_INITIAL_CLUSTER_STATE": "existing"}}), [], True),
    ("a stopped member is started", lambda: converge_plan(read=health(serving=(0, 1))), [], True),
    ("a learner left by a join is promoted", lambda: converge_plan(read=health(learners=(2,))), [], True),
    ("a new host joins", lambda: converge_plan(first=hosts_plan({0: installed(0), 1: installed(1), 2: fresh()},
                                                                running(0, 1))), [], True),
    ("a host that lost its data re-joins",
     lambda: converge_plan(first=hosts_plan({0: installed(0), 1: installed(1),
                                             2: dict(installed(2), has_data=False, configured_has_data=False)},
                                            running(0, 1))), [], True),
    ("an unhealthy cluster is waited for", lambda: converge_plan(read=health(healthy=False)), [], True),
    ("a new cluster always bootstraps", lambda: converge_plan(first=hosts_plan({i: fresh() for i in range(3)}), read={}),
     [], True),
])
def test_the_cluster_s_phase_runs_only_with_something_to_do(case, plan, restart_due, converge):
    got = plan()
    assert (got["restart_due"], got["converge"]) == (restart_due, converge), case


@pytest.mark.parametrize("case, plan, outdated, notes", [
    ("nothing changed, nothing is noted", converge_plan, [], []),
    ("outdated files are noted", lambda: converge_plan(outdated={"h2": True, "h0": True, "h1": "false"}),
     ["h0", "h2"], ["h0", "h2"]),
    # A note an earlier run left is there already: it restarts its member, and is not written again.
    ("a note left is not noted again", lambda: converge_plan(present={"h2": [NOTE]}), [], []),
    ("a member on another release is noted",
     lambda: converge_plan(read=health(versions=("3.5.17", "3.5.16", "3.5.17")), outdated={"h2": True}),
     ["h2"], ["h1", "h2"]),
])
def test_the_restart_notes_are_the_outdated_members_and_those_on_another_release(case, plan, outdated, notes):
    got = plan()
    assert (got["outdated"], got["restart_notes"]) == (outdated, notes), case


@pytest.mark.parametrize("plan, notes", [
    (dict(with_data=["h0", "h1", "h2"], outdated=["h2"], running_other_release=["h0"]), ["h0", "h2"]),
    (dict(with_data=["h0", "h1"], outdated=[], running_other_release=[]), []),
    # A plan without the converge step's fields (a roll's own tests) notes nothing.
    (dict(with_data=["h0"]), []),
    (dict(), []),
])
def test_restart_notes_keep_the_order_of_the_members_with_data(plan, notes):
    assert restart_notes(plan) == notes


def test_a_roll_sets_the_restart_notes_back_to_the_run_s_own():
    # After a CA rotation's roll of its stale members, a later note of the round notes the run's changes.
    before = dict(cluster_plan(converged_hosts(), health()), outdated=["h1"], restart_notes=["h0", "h2"])
    plan = plan_roll(before, [record(i) for i in range(3)], {"h0": True, "h2": True}, "m0")
    assert plan["roll"] == ["h2", "h0"] and plan["restart_notes"] == ["h1"]


def test_the_hosts_reads_of_the_members_files_stand_until_configure_wrote_them():
    # configure.yml hands them to its files call in the deploy, not in a CA rotation after the converge step.
    assert converged_hosts()["member_files_read_current"] is True
    assert converge_plan()["member_files_read_current"] is False


def test_a_learner_is_named_only_among_the_members_with_data():
    # m2 joins as a new host: its learner entry is the join's, not one left by a stopped join.
    first = hosts_plan({0: installed(0), 1: installed(1), 2: fresh()}, running(0, 1))
    assert cluster_plan(first, health(learners=(1, 2)))["learners"] == ["m1"]


@pytest.mark.parametrize("foreign, problems, refusal", [
    ("", [], ""),
    ("host h2: foreign", ["host h1: renamed"], "host h2: foreign"),
    ("", ["host h1: renamed", "host h2: gone"], "host h1: renamed; host h2: gone; nothing was changed"),
])
def test_preflight_refuses_foreign_data_first_then_every_problem(foreign, problems, refusal):
    assert run_refusal(foreign, problems) == refusal


def test_the_hosts_step_carries_its_refusal():
    infos = {0: installed(0), 1: installed(1, name="renamed"), 2: installed(2)}
    plan = hosts_plan(infos, running(0, 1, 2))
    assert plan["refusal"] == plan["problems"][0] + "; nothing was changed"
    assert converged_hosts()["refusal"] == ""


# --- plan_roll: the last step, from the restarts noted --------------------------------------------------

@pytest.mark.parametrize("restart_due, leader, phase, roll, status_read", [
    ({}, "m0", "none", [], "preflight"),
    ({"h0": True, "h1": False, "h2": True}, "m0", "none", ["h2", "h0"], "none"),
    ({"h0": "false"}, "m1", "none", [], "preflight"),
    ({}, "m0", "1", [], "none"),
])
def test_the_roll_and_whether_preflight_s_read_still_stands(restart_due, leader, phase, roll, status_read):
    plan = plan_roll(cluster_plan(converged_hosts(), health()), [record(i) for i in range(3)], restart_due, leader,
                     phase)
    assert (plan["roll"], plan["status_read"]) == (roll, status_read)
    assert plan["roll_names"] == {host: "m" + host[1:] for host in roll}


DUE = {"h0": True, "h1": False}


@pytest.mark.parametrize("plan, restart_due, phase, leader", [
    # Preflight's read stands (existing.yml did not wait): its leader, even none known.
    (dict(existing_wait=False, leader="m1"), DUE, "none", "m1"),
    (dict(existing_wait=False, leader=""), DUE, "none", ""),
    (dict(existing_wait=False), {}, "none", ""),
    # existing.yml waited (members started, removed or joined since the read): read again, when a member restarts.
    (dict(existing_wait=True, leader="m1"), DUE, "none", None),
    (dict(existing_wait=True, leader="m1"), {"h0": "false"}, "none", ""),
    # No cluster step's say (existing_wait unknown): read.
    (dict(leader="m1"), DUE, "none", None),
    # A CA rotation's round: its members just got new files; read, even with no member due.
    (dict(existing_wait=False, leader="m1"), DUE, "reissue", None),
    (dict(existing_wait=False, leader="m1"), {}, "1", None),
])
def test_the_roll_takes_preflight_s_leader_while_its_read_stands(plan, restart_due, phase, leader):
    assert roll_leader(plan, restart_due, phase) == leader


@pytest.mark.parametrize("report, cluster", [
    # etcd_host_info's read of the host's own etcd.
    (dict(info=dict(local_health=dict(cluster=dict(id="c1"), members=[]))), "c1"),
    # Auth on outside the role: the read as root stands where the first read was refused.
    (dict(info=dict(local_health=dict(endpoints=[])), local_as_root=dict(cluster=dict(id="c2"), members=[])), "c2"),
    (dict(info=dict(local_health=dict(cluster=dict(id="c1"), members=[])), local_as_root=dict(skipped=True)), "c1"),
    (dict(info=dict()), None),
])
def test_the_local_view_is_the_first_read_that_lists_members(report, cluster):
    assert (_with_local_view(report)["local"].get("cluster") or {}).get("id") == cluster


# --- the plan of a removal: plan_removal, plan_removal_check -------------------------------------------

GROUP = [dict(host="h%d" % i, name="m%d" % i) for i in range(4)]
EVERY_HOST = [e["host"] for e in GROUP]


def removal(requested, answered=EVERY_HOST, play_all=EVERY_HOST, unreachable=(), **settings):
    """plan_removal with the records of the hosts that answered, as the action gives them."""
    play = [h for h in play_all if h in answered or h in unreachable]
    return plan_removal(requested, GROUP, [record(int(h[1:])) for h in answered if h not in unreachable], play,
                        play_all, list(unreachable), dict(dict(group="etcd", revokes=True), **settings))


def test_a_removal_resolves_names_and_hosts_and_acts_through_the_first_survivor():
    plan = removal(" m3 , h2,")
    assert plan["targets"] == [dict(host="h3", name="m3"), dict(host="h2", name="m2")]
    assert plan["names"] == ["m3", "m2"] and plan["hosts"] == ["h3", "h2"]
    assert plan["retire"] == ["h3", "h2"] and plan["unretired"] == []
    assert plan["with_data"] == ["h0", "h1"] and plan["act_through"] == "h0"
    assert plan["stable_client_urls"] == ["https://10.0.0.10:2379", "https://10.0.0.11:2379"]
    assert plan["unanswered"] == [] and plan["left_out"] == [] and plan["problems"] == []
    assert plan["refusal"] == "" and plan["revokes"] is True


def test_a_dead_host_removed_is_not_retired_and_does_not_stop_the_removal():
    plan = removal("h3", unreachable=["h3"])
    assert plan["retire"] == [] and plan["unretired"] == ["h3"]
    assert plan["with_data"] == ["h0", "h1", "h2"] and plan["problems"] == [] and plan["refusal"] == ""


def test_a_name_of_no_host_is_kept_for_etcd_to_judge():
    plan = removal("m9")
    assert plan["targets"] == [dict(host="", name="m9")] and plan["hosts"] == [] and plan["retire"] == []
    assert plan["with_data"] == EVERY_HOST and plan["refusal"] == ""


def test_a_surviving_member_s_host_that_did_not_answer_is_a_problem_never_left_out():
    # Unreachable (it stays in the play), or failed (it dropped out of it): both are named.
    plan = removal("h3", answered=["h0", "h2", "h3"], unreachable=["h1"])
    assert plan["with_data"] == ["h0", "h2"] and plan["unanswered"] == ["h1"]
    dropped = removal("h3", answered=["h0", "h1", "h3"])
    assert dropped["unanswered"] == ["h2"] and dropped["with_data"] == ["h0", "h1"]
    assert plan["problems"] == [
        "host h1 (member m1) did not answer (see above): the removal would leave it out silently, and it would keep "
        "trusting the removed members' certificates; bring it back, name it in etcd_remove too, or leave it out on "
        "purpose with --limit (the etcd playbook gives it the new revocation list once it is back)"]
    # Judged with the cluster's answer (plan_removal_check), so that a quorum refusal is named too.
    assert plan["refusal"] == ""


def test_a_host_left_out_by_limit_is_listed_not_refused():
    plan = removal("h3", play_all=["h0", "h1", "h3"], answered=["h0", "h1", "h3"])
    assert plan["left_out"] == ["h2"] and plan["unanswered"] == [] and plan["problems"] == []
    removed_left_out = removal("h3", play_all=["h0", "h1", "h2"], answered=["h0", "h1", "h2"])
    assert removed_left_out["unretired"] == ["h3"] and removed_left_out["left_out"] == []


@pytest.mark.parametrize("requested", ["", " , ", None])
def test_an_empty_removal_is_refused(requested):
    plan = removal(requested)
    assert plan["targets"] == [] and plan["refusal"] == (
        "etcd_remove is empty: pass -e etcd_remove=NAME (a NODE_NAME or an inventory host; several "
        "comma-separated); nothing was changed")


def test_a_name_that_cannot_be_a_member_name_is_refused_with_the_rule():
    assert removal("m1,bad name,x/y")["refusal"] == (
        "etcd_remove=m1,bad name,x/y: 'bad name', 'x/y' are no member name or inventory host (letters, digits, '.', "
        "'_' and '-', starting with a letter or digit); nothing was changed")


def test_a_removal_that_leaves_no_answering_member_to_act_through_is_refused():
    plan = removal("m2,h3", unreachable=["h0", "h1"])
    assert plan["with_data"] == [] and plan["act_through"] == ""
    assert plan["refusal"] == ("no reachable member of group etcd is left besides m2, m3: nothing to remove them "
                               "through; nothing was changed")


@pytest.mark.parametrize("requested", ["m9", "m1,m2", "", "h1,"])
def test_a_replacement_must_name_one_member_with_its_host(requested):
    plan = removal(requested, replace=requested)
    if requested == "h1,":
        assert plan["refusal"] == "" and plan["targets"] == [dict(host="h1", name="m1")]
        return
    assert plan["refusal"] == (
        "etcd_replace=%s must name one member of group etcd, by its NODE_NAME or inventory host, whose host is in "
        "the inventory to join in its place (to only remove members, use the remove_member playbook); nothing was "
        "changed" % requested)


def test_a_replacement_whose_host_does_not_answer_is_refused_before_the_old_member_goes():
    assert removal("m2", unreachable=["h2"], replace="m2")["refusal"] == (
        "etcd_replace=m2: its host h2 does not answer, so nothing could join in its place; the old member stays "
        "until the host answers; nothing was changed")
    # A removal of the same dead host goes ahead: that is what it is for.
    assert removal("m2", unreachable=["h2"])["refusal"] == ""


def test_a_removal_is_a_replacement_only_with_etcd_replace_and_not_both_requests():
    # None: no etcd_replace (the remove_member playbook); an empty one is a replacement request still.
    assert removal("m2", unreachable=["h2"], replace=None)["refusal"] == ""
    assert removal("", replace="")["refusal"].startswith("etcd_replace= must name one member of group etcd")
    plan = removal("m1", replace="m2")
    assert plan["refusal"] == ("etcd_remove=m1 and etcd_replace=m2: pass etcd_remove to the remove_member playbook, or "
                               "etcd_replace to the replace_member playbook, not both; nothing was changed")


def test_without_the_role_s_pki_nothing_is_revoked():
    assert removal("m3", revokes=False)["revokes"] is False


def voter(name, healthy=True, error=None, learner=False):
    return dict(name=name, healthy=healthy, is_learner=learner, probe_error=error)


CLUSTER = [voter("m0"), voter("m1"), voter("m2"), voter("m3")]
CA = "ab" * 32
CHECK = dict(group="etcd", requested="m3", pki_dir="/pki", pki_host_dir="/etc/etcd/pki", pki_ca=CA)


def test_a_removal_that_keeps_quorum_with_the_ca_trusted_goes_ahead_and_every_survivor_gets_the_crl():
    plan = plan_removal_check(removal("m3"), CLUSTER, dict(h0=CA, h1=CA, h2=CA), CHECK)
    assert plan["refusal"] == "" and plan["crl_hosts"] == ["h0", "h1", "h2"]


def test_a_survivor_without_a_ca_gets_no_crl():
    plan = plan_removal_check(removal("m3"), CLUSTER, dict(h0=CA, h1="", h2=CA), CHECK)
    assert plan["refusal"] == "" and plan["crl_hosts"] == ["h0", "h2"]


def read_ca(checksum=None, unreachable=False):
    """A host's read (etcd_host_info with role_settings) with the SHA-256 of its ca.pem, or none."""
    if unreachable:
        return dict(unreachable=True)
    path = "/etc/etcd/pki/ca.pem"
    return dict(checksums={path: checksum} if checksum else {}, host_settings=dict(read=dict(checksums=[path])))


@pytest.mark.parametrize("reads, revokes, member_ca", [
    # every survivor trusts a CA; h3 (removed) is not asked
    (dict(h0=read_ca(CA), h1=read_ca("cd" * 32), h2=read_ca(CA), h3=read_ca(CA)), True,
     dict(h0=CA, h1="cd" * 32, h2=CA)),
    # a survivor without a ca.pem, one without a read: no CA, so no revocation list for them
    (dict(h0=read_ca(CA), h1=read_ca(), h2=read_ca(unreachable=True)), True, dict(h0=CA, h1="", h2="")),
    ({}, True, dict(h0="", h1="", h2="")),
    # nothing revoked (a PKI the operator provides, or no TLS): no CA compared, no list pushed
    (dict(h0=read_ca(CA), h1=read_ca(CA), h2=read_ca(CA)), False, {}),
])
def test_the_ca_each_survivor_trusts_is_taken_from_its_read_when_the_removal_revokes(reads, revokes, member_ca):
    assert removal_member_ca(reads, removal("m3", revokes=revokes)) == member_ca


@pytest.mark.parametrize("reads, found", [
    (dict(h0=dict(host_settings=dict(client_pair_found=True))), True),
    (dict(h0=dict(host_settings=dict(client_pair_found=False)), h1=dict(host_settings=dict(client_pair_found=True))),
     False),
    (dict(h0=dict(unreachable=True)), False),
    ({}, False),
])
def test_the_client_pair_is_the_one_of_the_member_acted_through(reads, found):
    assert removal_client_pair(reads, "h0") is found


RETIRED_SETTINGS = dict(unit="etcd.service", timers=[dict(unit="etcd-snapshot.timer"), dict(unit="etcd-maintenance.timer")])


def read_units(**states):
    """A host's read with systemd's answer for each unit (etcd_host_info's units)."""
    return dict(host_settings=RETIRED_SETTINGS, units={
        unit: dict(zip(("active", "enabled"), state)) for unit, state in dict(
            {"etcd.service": ("inactive", ""), "etcd-snapshot.timer": ("inactive", ""),
             "etcd-maintenance.timer": ("inactive", "")}, **states).items()})


@pytest.mark.parametrize("read, units", [
    # a member's host: etcd and its timers have unit files (enabled or not), in the settings' order
    (read_units(**{"etcd.service": ("active", "enabled"), "etcd-snapshot.timer": ("active", "enabled"),
                   "etcd-maintenance.timer": ("inactive", "disabled")}),
     ["etcd.service", "etcd-snapshot.timer", "etcd-maintenance.timer"]),
    # a reinstalled host: systemd has none of them
    (read_units(), []),
    # a unit still active whose file is gone; one failed with its file
    (read_units(**{"etcd.service": ("active", ""), "etcd-snapshot.timer": ("failed", "enabled")}),
     ["etcd.service", "etcd-snapshot.timer"]),
    # no answer for a unit, or no systemctl: nothing systemd has
    (dict(host_settings=RETIRED_SETTINGS, units={"etcd.service": dict(active="unknown", enabled="")}), []),
])
def test_a_retired_host_stops_and_disables_the_units_systemd_has_there(read, units):
    # h0 survives: nothing to stop there
    assert removal_retire_units(dict(h3=read, h0=read_units(**{"etcd.service": ("active", "enabled")})),
                                ["h3"]) == dict(h3=units, h0=[])


def test_a_name_etcd_does_not_know_is_refused_listing_the_members_case_insensitively():
    cluster = [voter("b-2"), voter("A-1"), dict(name="", healthy=False, is_learner=True, probe_error=None)]
    plan = plan_removal_check(removal("m9,x8"), cluster, {}, dict(CHECK, requested="m9,x8"))
    assert plan["refusal"] == ("no member named m9, x8 in the cluster and no such host in group etcd "
                               "(etcd_remove=m9,x8); members are: (unstarted), A-1, b-2; nothing was changed")


def test_names_etcd_does_not_know_are_refused_before_quorum_is_judged():
    refusal = plan_removal_check(removal("m0,m9"), [voter("m0")], {}, dict(CHECK, requested="m0,m9"))["refusal"]
    assert refusal.startswith("no member named m9 in the cluster")


def test_a_host_of_the_group_gone_from_the_cluster_already_passes():
    assert plan_removal_check(removal("h3"), CLUSTER[:3], {}, CHECK)["refusal"] == ""


def test_removing_every_voting_member_is_refused():
    plan = removal("h3", answered=["h0", "h1", "h2", "h3"])
    cluster = [voter("m3"), voter("l", learner=True)]
    assert plan_removal_check(plan, cluster, {}, CHECK)["refusal"] == (
        "removing m3 would remove every voting member and destroy the cluster; nothing was changed")


def test_a_removal_that_loses_quorum_is_refused_naming_the_unhealthy_and_learners_do_not_count():
    cluster = [voter("m0"), voter("m1", False, "connection refused"), voter("m2", False, None), voter("m3"),
               voter("l", False, "x", learner=True)]
    assert plan_removal_check(removal("m3"), cluster, {}, CHECK)["refusal"] == (
        "refusing to remove m3: 3 voting members would be left (quorum 2) and only 1 of them healthy "
        "(m1: connection refused; m2: None), so the cluster would lose quorum. Bring those members back first, or "
        "replace a dead member with the replace_member playbook; nothing was changed")


def test_a_dead_survivor_and_lost_quorum_are_refused_together():
    plan = removal("m1", answered=["h0", "h1", "h3"], unreachable=["h2"], play_all=["h0", "h1", "h2"])
    cluster = [voter("m0"), voter("m1"), voter("m2", False, "timeout")]
    refusal = plan_removal_check(plan, cluster, dict(h0=CA), dict(CHECK, requested="m1"))["refusal"]
    assert refusal.startswith("host h2 (member m2) did not answer (see above)")
    assert ("; refusing to remove m1: 2 voting members would be left (quorum 2) and only 1 of them healthy "
            "(m2: timeout)") in refusal and refusal.endswith("; nothing was changed")


def test_a_pki_dir_without_the_ca_or_with_another_is_refused_when_revoking():
    without = plan_removal_check(removal("m3"), CLUSTER, dict(h0=CA, h1=CA, h2=CA), dict(CHECK, pki_ca=""))
    assert without["refusal"] == (
        "etcd_pki_dir /pki holds no ca.pem, so the removed members' certificates could not be revoked. Point "
        "etcd_pki_dir at the directory the cluster was deployed with; nothing was changed")
    other = plan_removal_check(removal("m3"), CLUSTER, dict(h0=CA, h1="cd" * 32, h2="", h3="cd" * 32), CHECK)
    assert other["refusal"].startswith(
        "etcd_pki_dir /pki holds another CA than /etc/etcd/pki/ca.pem on h1, so the removed members' certificates")
    # Without revocation the CA in etcd_pki_dir does not matter.
    assert plan_removal_check(removal("m3", revokes=False), CLUSTER, dict(h0=CA), dict(CHECK, pki_ca=""))["refusal"] == ""


def v2store_plan(reads, running="3.5.33", target="3.6.14"):
    """plan_cluster for a move of a healthy cluster on ``running`` to ``target``, each host's v2store read
    as etcd_host_info returns it (``reads``: index -> read)."""
    built = reports({i: installed(i) for i in range(3)}, releases={i: running for i in range(3)})
    for i, read in reads.items():
        built["h%d" % i]["info"]["v2store"] = read
    return plan_cluster(converged_hosts(version=target), [record(i) for i in range(3)], health(versions=(running,) * 3),
                        built, dict(CLUSTER_SETTINGS, version=target))


CLEAN = dict(snapshot_index=0, nodes=[], requests=[])


def test_a_move_to_3_6_is_refused_by_name_while_a_member_holds_v2_content():
    plan = v2store_plan({0: dict(error="cannot read the data in /var/lib/etcd: 1.wal is damaged before its end"),
                         1: dict(snapshot_index=200, nodes=["/1"], requests=["PUT /1/a", "SYNC", "PUT /1/a", "QGET /1/a"]),
                         2: dict(CLEAN, requests=["QGET"] * 41)})
    assert plan["version_problem"] == (
        "etcd 3.6.14 refuses to start on data that holds etcd v2 store content, and these members hold some: "
        "host h0: cannot read the data in /var/lib/etcd: 1.wal is damaged before its end; "
        "host h1: v2 keys under /1 in raft snapshot 200; 4 v2 request(s) in the log after raft snapshot 200 "
        "(PUT /1/a x2, SYNC, QGET /1/a); host h2: 41 v2 request(s) in the log (QGET x41). Before the upgrade "
        "(etcd's upgrade guide, V2 Store): move the v2 data still needed to v3, turn "
        "--enable-v2 off, and have each of these members write a new raft snapshot (a run of the deploy playbook "
        "with etcd_snapshot_count=1 for them, then one with the value back); then run again; nothing was changed")
    assert plan["downgrade_target"] == ""


def test_a_move_to_3_6_from_data_without_v2_content_goes_on_and_etcds_policy_is_named_first():
    assert v2store_plan({i: CLEAN for i in range(3)})["version_problem"] == ""
    assert v2store_plan({})["version_problem"] == ""  # nothing read: no host had a reason to
    plan = v2store_plan({0: dict(CLEAN, requests=["PUT /1/a"])}, running="3.5.30")
    assert plan["version_problem"].startswith("upgrading 3.5.30 to 3.6.14 needs 3.5.32 or later first")


def test_the_scrape_targets_are_each_member_s_address_at_the_metrics_port_labelled_with_the_cluster():
    members = [dict(name="m0", client_url="https://10.0.0.10:2379"), dict(name="m1", client_url="http://[fd00::1]:2379")]
    assert scrape_targets(members, "2381", "etcd-events", False) == [
        {"targets": ["10.0.0.10:2381"], "labels": {"__scheme__": "http", "cluster": "etcd-events", "instance": "m0"}},
        {"targets": ["[fd00::1]:2381"], "labels": {"__scheme__": "http", "cluster": "etcd-events", "instance": "m1"}}]
    assert scrape_targets([], 2381, "etcd", True) == []


def test_a_push_on_a_host_whose_python3_lacks_cryptography_is_refused_naming_the_host_and_the_package():
    built = reports({i: dict(installed(i), python_cryptography=i != 1) for i in range(3)}, running(0, 1, 2),
                    {i: "3.5.17" for i in range(3)})
    for i in range(3):
        built["h%d" % i]["wanted"] = dict(python_cryptography=True)
    plan = plan_hosts([record(i) for i in range(3)], built, ["h0", "h1", "h2"], ["h0", "h1", "h2"], SETTINGS)
    problem = ("host h1: etcd_backup_push seals each backup on the member with python3-cryptography, which its python3 "
               "cannot import: install Debian's package there (apt-get install python3-cryptography), or turn "
               "etcd_backup_push off for it")
    assert plan["problems"] == [problem] and problem in plan["refusal"]
    # Without the push, or with a read that does not say (an older read), nothing is refused.
    for i in range(3):
        built["h%d" % i]["wanted"] = dict(python_cryptography=False)
    assert plan_hosts([record(i) for i in range(3)], built, ["h0", "h1", "h2"], ["h0", "h1", "h2"], SETTINGS)["problems"] == []
