"""The plans of the maintenance, of a CA rotation's round and of the status a deploy run ends with
(module_utils/plan/operation_plan.py): the order, the host sets and every refusal; a host that did
not answer refuses by name and is never left out."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.operation_plan import (
    bootstrap_failure,
    cluster_read,
    deployed_refusal,
    hardware_verdict,
    maintenance_order,
    plan_maintenance,
    plan_rotation,
    plan_status,
    report_refusal,
    runtime_line,
    status_read,
    status_records,
    stream_records,
    version_wait_read,
)

HOSTS = ["h0", "h1", "h2"]
MEMBERS = [dict(host="h%d" % i, name="m%d" % i, client_url="https://10.0.0.%d:2379" % i) for i in range(3)]


def entry(name, is_leader=False, defragment=True, reason="free 9 MiB (60%) -> defragment"):
    return dict(name=name, is_leader=is_leader, defragment=defragment, reason=reason)


# --- maintenance_order: followers by name, the leader last ----------------------------------------


@pytest.mark.parametrize("leader, defragmented, order", [
    ("m0", ("m0", "m1", "m2"), ["m1", "m2", "m0"]),
    ("m1", ("m0", "m1", "m2"), ["m0", "m2", "m1"]),
    ("m2", ("m0", "m1", "m2"), ["m0", "m1", "m2"]),
    ("m0", ("m1",), ["m1"]),
    ("m0", ("m0",), ["m0"]),
    ("m1", (), []),
])
def test_the_maintenance_defragments_followers_by_name_and_the_leader_last(leader, defragmented, order):
    entries = [entry(name, name == leader, name in defragmented) for name in ("m2", "m0", "m1")]
    members, names = maintenance_order(entries)
    assert names == order
    assert [m["name"] for m in members][-1] == leader and len(members) == 3


# --- plan_maintenance: the host sets and the refusal ----------------------------------------------


def read(order=("m1", "m2", "m0"), nospace=False, count=3):
    entries = [entry("m%d" % i, i == 0, "m%d" % i in order) for i in (1, 2, 0)][-count:] if count == 3 else [
        entry("m0", True, "m0" in order)]
    return dict(members=entries, order=list(order), nospace=nospace)


def test_every_host_answered_the_maintenance_holds_the_lock_and_defragments_in_the_read_order():
    plan = plan_maintenance(read(), MEMBERS, HOSTS, HOSTS)
    assert plan["refusal"] == "" and plan["unanswered"] == [] and plan["left_out"] == []
    assert plan["order"] == ["m1", "m2", "m0"] and plan["with_data"] == HOSTS
    assert plan["stable_client_urls"] == ["https://10.0.0.%d:2379" % i for i in range(3)]
    assert plan["lock"] is True and plan["nospace"] is False and plan["allow_leader"] is False
    assert plan["lines"] == ["m1: free 9 MiB (60%) -> defragment", "m2: free 9 MiB (60%) -> defragment",
                             "m0: free 9 MiB (60%) -> defragment"]


@pytest.mark.parametrize("play", [["h0", "h1"], ["h1"], []])
def test_a_member_s_host_that_dropped_out_refuses_the_maintenance_by_name(play):
    plan = plan_maintenance(read(), MEMBERS, play, HOSTS)
    missing = [h for h in HOSTS if h not in play]
    assert plan["unanswered"] == missing and plan["left_out"] == []
    assert plan["refusal"].startswith("the hosts %s did not answer the maintenance's read; nothing was changed"
                                      % ", ".join(missing)), plan["refusal"]


def test_a_host_left_out_with_limit_is_listed_not_refused():
    plan = plan_maintenance(read(), MEMBERS, ["h0", "h1"], ["h0", "h1"])
    assert plan["refusal"] == "" and plan["unanswered"] == [] and plan["left_out"] == ["h2"]
    # Its member is defragmented through the cluster like the others, and the lock covers it.
    assert plan["order"] == ["m1", "m2", "m0"] and plan["with_data"] == HOSTS
    assert plan["lines"][-1] == "left out of the run (--limit), defragmented through the cluster: h2"


def test_nospace_compacts_and_disarms_without_the_run_lock():
    plan = plan_maintenance(read(nospace=True), MEMBERS, HOSTS, HOSTS)
    assert plan["nospace"] is True and plan["lock"] is False and plan["order"] == ["m1", "m2", "m0"]


def test_nothing_to_defragment_takes_no_lock():
    plan = plan_maintenance(read(order=()), MEMBERS, HOSTS, HOSTS)
    assert plan["order"] == [] and plan["lock"] is False and plan["refusal"] == ""


def test_a_cluster_of_one_member_defragments_its_leader_as_the_leader():
    plan = plan_maintenance(read(order=("m0",), count=1), MEMBERS[:1], ["h0"], ["h0"])
    assert plan["allow_leader"] is True and plan["order"] == ["m0"]


# --- plan_rotation: stale members, the hold for the proxies, the refusal ---------------------------

ROTATION = dict(phase="trust", step=1, description="both CAs trusted", bundle="/etc/etcd/pki/ca-bundle.pem")


def ca(mtime=1000):
    return dict(changed=False, stat=dict(exists=True, mtime=mtime))


def started(second=2000):
    return dict(changed=False, stdout="@%d" % second if second else "")


def rotation(ca_files=None, starts=None, play=tuple(HOSTS), rotation_read=None, round_no=1, **settings):
    """plan_rotation in round ``round_no`` of the pass (the round before counted in the run's plan)."""
    rotation_read = rotation_read or ROTATION
    ca_files = {h: ca() for h in HOSTS} if ca_files is None else ca_files
    starts = {h: started() for h in HOSTS} if starts is None else starts
    before = dict(with_data=HOSTS, roll=["h1"], **(dict(rotation_round=round_no - 1) if round_no > 1 else {}))
    return plan_rotation(before, rotation_read, ca_files, starts, play,
                         dict(dict(pki_dir="/srv/pki", **{"pass": "1"}), **settings))


@pytest.mark.parametrize("before, starts, notes", [
    # No stale member: the run's own notes (configure.yml's outdated, another release).
    (dict(outdated=["h2"]), None, ["h2"]),
    (dict(outdated=["h2"], running_other_release=["h1"]), None, ["h1", "h2"]),
    # Stale members are noted instead, with those running another release, until they rolled.
    (dict(outdated=["h2"]), {"h0": started(999), "h1": started(), "h2": started()}, ["h0"]),
    (dict(outdated=["h2"], running_other_release=["h1"]), {"h0": started(999), "h1": started(), "h2": started()},
     ["h0", "h1"]),
])
def test_the_round_notes_its_stale_members_first(before, starts, notes):
    plan = plan_rotation(dict(before, with_data=HOSTS), ROTATION, {h: ca() for h in HOSTS},
                         {h: started() for h in HOSTS} if starts is None else starts, HOSTS, dict(pki_dir="/p"))
    assert plan["restart_notes"] == notes


def test_a_round_with_nothing_to_do_notes_the_run_s_own():
    plan = plan_rotation(dict(with_data=HOSTS, outdated=["h1"]), dict(ROTATION, phase="none"), {}, {}, HOSTS, {})
    assert plan["rotation_go"] is False and plan["restart_notes"] == ["h1"]


def test_members_that_started_after_their_ca_file_was_written_do_not_restart():
    plan = rotation()
    assert plan["rotation_stale"] == [] and plan["rotation_refusal"] == "" and plan["rotation_hold"] is False
    # The deploy's plan goes on with the rotation's fields.
    assert plan["with_data"] == HOSTS and plan["roll"] == ["h1"]


@pytest.mark.parametrize("starts, stale", [
    ({"h0": started(999), "h1": started(), "h2": started()}, ["h0"]),
    # The same second counts as older.
    ({"h0": started(), "h1": started(1000), "h2": started(1000)}, ["h1", "h2"]),
    # etcd does not run (no start time): it restarts.
    ({"h0": started(0), "h1": started(), "h2": started()}, ["h0"]),
])
def test_members_that_run_with_an_older_trusted_ca_file_restart_first(starts, stale):
    assert rotation(starts=starts)["rotation_stale"] == stale


def test_a_member_without_a_ca_file_restarts_only_when_etcd_does_not_run():
    plan = rotation(ca_files={"h0": dict(stat=dict(exists=False)), "h1": ca(), "h2": ca()},
                    starts={"h0": started(0), "h1": started(), "h2": started()})
    assert plan["rotation_stale"] == ["h0"]


@pytest.mark.parametrize("play, ca_files, starts, missing", [
    (["h0", "h1"], None, None, ["h2"]),
    (HOSTS, {"h0": ca(), "h1": ca()}, None, ["h2"]),
    (HOSTS, None, {"h0": started(), "h1": dict(unreachable=True, msg="ssh"), "h2": started()}, ["h1"]),
    (HOSTS, {"h0": dict(failed=True, msg="denied"), "h1": ca(), "h2": ca()}, None, ["h0"]),
    (["h0"], {"h0": ca()}, {"h0": started()}, ["h1", "h2"]),
])
def test_a_member_s_host_that_did_not_answer_stops_the_rotation_by_name(play, ca_files, starts, missing):
    plan = rotation(ca_files=ca_files, starts=starts, play=play)
    assert plan["rotation_refusal"].startswith("the hosts %s did not answer the read of their trusted CA file"
                                               % ", ".join(missing)), plan["rotation_refusal"]
    assert plan["rotation_refusal"].endswith(" and of etcd's start; the CA rotation stops in phase 1 of 3, which the "
                                             "next run resumes. Run again once they answer"), plan["rotation_refusal"]
    # Never shrunk: a host that did not answer is not counted fresh or stale, it refuses.
    assert not set(missing) & set(plan["rotation_stale"])


@pytest.mark.parametrize("phase, follow, proxies, round_, pass_, hold", [
    ("trust", True, ["p0"], 1, "1", True),
    ("reissue", True, ["p0"], 2, "1", True),
    ("reissue", True, ["p0"], 2, "2", True),
    # The first round of a later pass: the proxies' play before it followed that phase already.
    ("trust", True, ["p0"], 1, "2", False),
    ("drop", True, ["p0"], 1, "1", False),
    ("trust", True, [], 1, "1", False),
    ("trust", False, ["p0"], 1, "1", False),
])
def test_the_rotation_holds_for_the_proxies_in_phases_1_and_2(phase, follow, proxies, round_, pass_, hold):
    plan = rotation(rotation_read=dict(ROTATION, phase=phase), proxies_follow=follow, proxies=proxies,
                    round_no=round_, **{"pass": pass_})
    assert plan["rotation_hold"] is hold


@pytest.mark.parametrize("phase, follow, round_, asked", [
    ("trust", False, 1, "advance"),
    ("drop", True, 1, "advance"),
    # Held for the proxies: the round does not ask etcd_pki to move on.
    ("trust", True, 1, "keep"),
    # Over: nothing to advance.
    ("none", False, 1, "keep"),
])
def test_the_round_asks_etcd_pki_to_advance_only_when_it_moves_the_rotation_on(phase, follow, round_, asked):
    before = dict(rotation_request="auto", rotation_blockers=["member m0 on host h0"],
                  rotation_left_out=["member m3 on host h3"])
    plan = plan_rotation(dict(before, with_data=HOSTS), dict(ROTATION, phase=phase), {h: ca() for h in HOSTS},
                         {h: started() for h in HOSTS}, HOSTS,
                         dict(pki_dir="/srv/pki", proxies_follow=follow, proxies=["p0"], **{"pass": "1"}))
    assert plan["rotation_request"] == asked
    # Preflight's blockers and left out are not the round's: the round refuses on its own reads.
    assert plan["rotation_blockers"] == [] and plan["rotation_left_out"] == []


@pytest.mark.parametrize("phase, step, advice", [
    ("trust", 1, "Applications: trust /etc/etcd/pki/ca-bundle.pem from now on; their pairs of the old CA work "
                 "until phase 3."),
    ("reissue", 2, "Applications: the new pairs in /srv/pki/clients/ (and admin.pem) work now, and the old pairs "
                   "until phase 3."),
    ("drop", 3, "Pairs of the old CA are refused from now on."),
])
def test_the_rotation_reports_what_the_phase_in_place_means(phase, step, advice):
    plan = rotation(rotation_read=dict(ROTATION, phase=phase, step=step))
    assert plan["rotation_message"] == "CA rotation: phase %d of 3 is in place on every member (both CAs " \
                                       "trusted). %s" % (step, advice)


# --- plan_status: the members of the run on the release, and the wait for the cluster version ----------


def status(versions, cluster_version="3.5.0"):
    """An etcd_health result: member mN runs versions[N] (None: it did not answer)."""
    endpoints = [dict(member="m%d" % i, version=version) for i, version in enumerate(versions)]
    return dict(endpoints=endpoints, cluster=dict(version=cluster_version))


RUN = dict(version="3.5.30", all_members_in_run=True, check_mode=False)


def test_members_on_the_release_pass_and_the_run_waits_for_the_cluster_version_to_follow():
    plan = plan_status(status(["3.5.30"] * 3, "3.4.0"), ["m0", "m1", "m2"], RUN)
    assert plan == dict(other_release=[], refusal="", cluster_version="3.5", version_wait=True)


@pytest.mark.parametrize("cluster_version, wait", [
    ("3.5.0", False), ("3.5", False), ("3.4.0", True), ("3.50.0", True), ("", True), (None, True),
])
def test_the_cluster_version_follows_the_release_s_major_and_minor(cluster_version, wait):
    assert plan_status(status(["3.5.30"] * 3, cluster_version), ["m0", "m1", "m2"], RUN)["version_wait"] is wait


def test_members_on_another_release_refuse_by_name_and_the_run_does_not_wait():
    plan = plan_status(status(["3.5.30", "3.5.29", "3.4.35"], "3.4.0"), ["m0", "m1", "m2"], RUN)
    assert plan["other_release"] == [dict(member="m1", version="3.5.29"), dict(member="m2", version="3.4.35")]
    assert plan["refusal"] == "m1 runs 3.5.29, m2 runs 3.4.35, not 3.5.30; run again to restart them (see docs/upgrade.md)"
    assert plan["version_wait"] is False


def test_a_member_of_the_run_that_did_not_answer_is_named():
    plan = plan_status(status(["3.5.30", None, "3.5.30"]), ["m0", "m1", "m2"], RUN)
    assert plan["refusal"] == "m1 runs None, not 3.5.30; run again to restart them (see docs/upgrade.md)"


def test_members_left_out_of_the_run_are_not_judged_and_the_cluster_version_stays():
    plan = plan_status(status(["3.5.30", "3.5.30", "3.4.35"], "3.4.0"), ["m0", "m1"],
                       dict(RUN, all_members_in_run=False))
    assert plan["refusal"] == "" and plan["version_wait"] is False


def test_check_mode_neither_refuses_nor_waits():
    plan = plan_status(status(["3.4.35"] * 3, "3.4.0"), ["m0", "m1", "m2"], dict(RUN, check_mode=True))
    assert plan["other_release"] and plan["refusal"] == "" and plan["version_wait"] is False
    # A check run of a new cluster reads nothing: a skipped read.
    assert plan_status(dict(skipped=True), ["m0"], dict(RUN, check_mode=True))["other_release"] == []


# --- version_wait_read: one read of the wait for the cluster version, and what the run fails with ------

WAIT = dict(version="3.5.30", timeout=60)
NOT_RAISED = "every member runs 3.5.30, but the cluster version is still %s after 60 s: %s"


@pytest.mark.parametrize("read, done, refusal", [
    (dict(cluster=dict(version="3.5.0")), True, ""),
    (dict(cluster=dict(version="3.5")), True, ""),
    (dict(cluster=dict(version="3.4.0")), False, NOT_RAISED % ("3.4.0", "etcd has not raised it")),
    (dict(cluster=dict(version="3.4.0"), problems=["m1: unhealthy", "m2: not reachable"]), False,
     NOT_RAISED % ("3.4.0", "m1: unhealthy; m2: not reachable")),
    # No cluster version in the read (no member answered): unknown.
    (dict(failed=True, msg="no member answers"), False, NOT_RAISED % ("unknown", "etcd has not raised it")),
    (dict(cluster=dict()), False, NOT_RAISED % ("unknown", "etcd has not raised it")),
    (dict(cluster=None), False, NOT_RAISED % ("unknown", "etcd has not raised it")),
    # A read that shows the version but failed ends the wait, and fails it with its problems.
    (dict(cluster=dict(version="3.5.0"), failed=True, problems=["m1: unhealthy"]), True,
     NOT_RAISED % ("3.5.0", "m1: unhealthy")),
    (dict(cluster=dict(version="3.5.0"), unreachable=True), True, NOT_RAISED % ("3.5.0", "etcd has not raised it")),
], ids=["raised", "major-minor", "not-raised", "problems", "failed", "no-version", "no-cluster", "failed-but-raised",
        "unreachable"])
def test_a_read_of_the_version_wait_ends_it_once_the_version_follows_and_names_the_version_left(read, done, refusal):
    assert version_wait_read(read, WAIT) == (done, refusal)


# --- cluster_read and status_read: which read of the run the plan and the status take -------------------

READ, LOCKED = dict(healthy=True, table="read"), dict(healthy=True, table="locked")
SKIPPED = dict(skipped=True, changed=False)


@pytest.mark.parametrize("read, lock_read, taken", [
    (READ, None, READ),
    (READ, {}, READ),
    # Preflight's own read is skipped when the lock was taken with one.
    (SKIPPED, dict(acquired=True, cluster=LOCKED), LOCKED),
    (SKIPPED, dict(acquired=False, msg="held by another run", cluster=LOCKED), LOCKED),
    (READ, SKIPPED, READ),
    # A lock read without a read of the cluster (a result that is not etcd_lock's) does not stand.
    (READ, dict(cluster=None), READ),
    (SKIPPED, None, SKIPPED),
    (None, None, {}),
])
def test_preflight_s_read_is_the_one_taken_with_the_run_lock_or_its_own(read, lock_read, taken):
    assert cluster_read(read, lock_read) == taken


@pytest.mark.parametrize("which, reads, shown", [
    ("bootstrap", dict(status=SKIPPED, bootstrap=READ, preflight=LOCKED), READ),
    # A bootstrap wait that did not find the cluster healthy, or none (check mode, tags): status.yml's read.
    ("bootstrap", dict(status=SKIPPED, bootstrap=dict(READ, healthy=False)), SKIPPED),
    ("bootstrap", dict(status=SKIPPED, bootstrap=None), SKIPPED),
    ("bootstrap", dict(status=SKIPPED), SKIPPED),
    ("preflight", dict(status=SKIPPED, bootstrap=LOCKED, preflight=READ), READ),
    ("preflight", dict(status=SKIPPED), {}),
    ("none", dict(status=READ, bootstrap=LOCKED, preflight=LOCKED), READ),
    ("none", dict(), {}),
])
def test_the_status_shows_the_read_the_plan_names_or_its_own(which, reads, shown):
    assert status_read(which, reads) == shown


@pytest.mark.parametrize("health, failure", [
    (dict(READ), ""),
    # A check run waits for nothing.
    (None, ""),
    (dict(healthy=False, failed=True, msg="etcd-2 is down"), "etcd-2 is down"),
    (dict(healthy=False, failed=True), "the health wait failed"),
    (dict(unreachable=True, msg=""), "the health wait failed"),
    ("garbage", "the health wait failed"),
])
def test_the_bootstrap_fails_with_the_health_wait_s_message_until_the_cluster_is_healthy(health, failure):
    assert bootstrap_failure(health) == failure


@pytest.mark.parametrize("which", ["", None, "later", "Preflight"])
def test_a_status_read_the_plan_cannot_name_is_refused(which):
    with pytest.raises(ValueError, match=r"^status_read must be one of bootstrap, preflight, none, got "):
        status_read(which, dict(status=READ))


# --- status_records: each play host's last push and drill, for the status advice -------------------------

PUSH, DRILL = dict(item="push", content="cA=="), dict(item="drill", content="ZA==")
NO_PUSH, NO_DRILL = dict(SKIPPED, item="push"), dict(SKIPPED, item="drill")


@pytest.mark.parametrize("reads, pushes, drills", [
    # No push configured: both items skipped on every host; no drill lines.
    ({"h0": dict(results=[NO_PUSH, NO_DRILL]), "h1": dict(results=[NO_PUSH, NO_DRILL])}, [NO_PUSH, NO_PUSH], None),
    # Pushes without a drill schedule.
    ({"h0": dict(results=[PUSH, NO_DRILL]), "h1": dict(results=[PUSH, NO_DRILL])}, [PUSH, PUSH], None),
    # With drills: a missing file is a failed read, counted as no record by the advice.
    ({"h0": dict(results=[PUSH, DRILL]), "h1": dict(results=[PUSH, dict(failed=True, item="drill")])},
     [PUSH, PUSH], [DRILL, dict(failed=True, item="drill")]),
    # A host unreachable for the whole task: its read stands for both, without a record.
    ({"h0": dict(results=[PUSH, DRILL]), "h1": dict(unreachable=True)},
     [PUSH, dict(unreachable=True)], [DRILL, dict(unreachable=True)]),
    # The asking host has no read at all: no drill lines.
    ({"h1": dict(results=[PUSH, DRILL])}, [PUSH], None),
    ({}, [], None),
])
def test_the_status_takes_each_host_s_push_and_drill_records(reads, pushes, drills):
    assert status_records(reads, "h0") == (pushes, drills)


def test_the_status_takes_each_host_s_change_stream_record_when_it_read_one():
    stream = dict(item="stream", content="cw==")
    reads = {"h0": dict(results=[PUSH, NO_DRILL, stream]), "h1": dict(results=[PUSH, NO_DRILL, dict(SKIPPED, item="stream")]),
             "h2": dict(unreachable=True)}
    assert stream_records(reads) == [stream]  # an unreachable host has none
    assert stream_records({"h0": dict(results=[PUSH, NO_DRILL])}) == []


# --- report_refusal: the status playbook fails only when no member answers ------------------------------

REPORT = dict(instance="etcd", group="etcd", asked_from="h0")


def test_a_cluster_one_member_of_which_answers_is_reported_not_refused():
    health = dict(endpoints=[dict(reachable=False), dict(reachable=True)], healthy=False)
    assert report_refusal(health, REPORT) == ""


@pytest.mark.parametrize("health, why", [
    (dict(endpoints=[dict(reachable=False)] * 3, msg="connection refused"), "connection refused"),
    (dict(failed=True), "no reply"),
])
def test_a_cluster_no_member_of_which_answers_is_refused_naming_where_it_was_asked_from(health, why):
    assert report_refusal(health, dict(REPORT, instance="etcd-events", group="events")) == (
        "no member of the cluster etcd-events (group events) answers, asked from h0: %s. Start the members: "
        "ansible-playbook raftops.etcd.etcd -i INVENTORY; with most hosts lost, restore a snapshot "
        "(docs/backup-restore.md); nothing was changed" % why)


# --- deployed_refusal: a day-2 entry point on hosts without the cluster ---------------------------------

DEPLOYED = dict(group="etcd", instance="etcd-events", unit_path="/etc/systemd/system/etcd-events.service")


@pytest.mark.parametrize("installed", [{"h0": True, "h1": False}, {"h0": False, "h1": False, "h2": True}])
def test_one_host_with_the_cluster_s_unit_is_enough(installed):
    assert deployed_refusal(installed, DEPLOYED) == ""


@pytest.mark.parametrize("installed", [{"h0": False, "h1": False}, {}])
def test_no_host_with_the_cluster_s_unit_refuses_naming_the_group_the_instance_and_the_unit(installed):
    assert deployed_refusal(installed, DEPLOYED) == (
        "no host of group etcd has the etcd cluster etcd-events (etcd_instance): none has "
        "/etc/systemd/system/etcd-events.service. Deploy it first (ansible-playbook raftops.etcd.etcd -i INVENTORY), "
        "or check etcd_group and etcd_instance; nothing was changed")


# --- hardware_verdict: the hardware preflight refuses with strict, else warns ------------------------------

SHORT = [dict(severity="warn", message="host h0: 2 CPUs usable; profile large wants 8 vCPUs"),
         dict(severity="warn", message="host h1: fsync p99 30 ms; etcd wants under 10 ms")]
FITS = dict(fits=True, message="the longest round trip, 0.4 ms to p, is covered by etcd's defaults")
SLOW = dict(fits=False, message="the longest round trip, 150 ms to p, wants etcd_heartbeat_interval=150")


def test_no_finding_and_timeouts_that_fit_say_nothing():
    assert hardware_verdict([], FITS) == dict(refusal="", hardware_warnings=[])
    # No round trip measured: nothing to fit.
    assert hardware_verdict([], dict(fits=None, message="no peer answered")) == dict(refusal="", hardware_warnings=[])


def test_findings_are_one_warning_and_timeouts_that_do_not_fit_another():
    assert hardware_verdict(SHORT, SLOW) == dict(refusal="", hardware_warnings=[
        "WARNING: host h0: 2 CPUs usable; profile large wants 8 vCPUs; host h1: fsync p99 30 ms; etcd wants under 10 ms",
        "WARNING: the longest round trip, 150 ms to p, wants etcd_heartbeat_interval=150"])


def test_strict_refuses_with_every_finding_and_warns_of_nothing():
    strict = [dict(finding, severity="refuse") for finding in SHORT]
    assert hardware_verdict(strict, SLOW) == dict(refusal=(
        "host h0: 2 CPUs usable; profile large wants 8 vCPUs; host h1: fsync p99 30 ms; etcd wants under 10 ms; "
        "nothing was changed"), hardware_warnings=[])


def test_the_status_names_each_member_s_runtime_by_its_read():
    reads = {"h1": dict(runtime="container", container_engine="docker", settings={"ETCD_NAME": "etcd-host1"}),
             "h3": dict(runtime="container", container_engine="podman", settings={"ETCD_NAME": "etcd-host3"}),
             # The binary's unit: the engine the host would use is not named.
             "h0": dict(runtime="host", container_engine="podman", settings={"ETCD_NAME": "etcd-host0"}),
             # A host without the unit (a dead host's read is not there at all) is not named.
             "h2": dict(runtime=None, settings={})}
    assert runtime_line(reads) == "runtime: etcd-host0 host, etcd-host1 container (docker), etcd-host3 container (podman)"
    assert runtime_line({"h2": dict(runtime=None)}) == ""
