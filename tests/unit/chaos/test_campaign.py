"""The fault campaign's pure parts (tests/chaos): cases from a seed, the invariant checks on
recorded samples, the table."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "chaos"))

import campaign
import invariants

MEMBERS = ["h0", "h1", "h2"]


def test_a_seed_gives_the_same_cases_every_time_and_another_seed_others():
    first = campaign.cases(1234, 40, MEMBERS)
    assert first == campaign.cases(1234, 40, list(reversed(MEMBERS)))
    assert first != campaign.cases(1235, 40, MEMBERS)
    assert [c.number for c in first] == list(range(1, 41))


def test_one_case_replayed_alone_is_the_case_of_the_campaign():
    whole = campaign.cases("s", 12, MEMBERS)
    assert campaign.cases("s", 12, MEMBERS, only=7) == [whole[6]]
    assert campaign.replay(whole[6]) == "make chaos SEED=s CASE=7"


def test_cases_stay_within_the_operations_faults_and_the_operations_tasks():
    drawn = campaign.cases(7, 400, MEMBERS)
    assert {c.operation for c in drawn} == set(campaign.OPERATIONS)
    assert {c.fault for c in drawn} == set(campaign.FAULTS)
    assert all(1 <= c.moment <= campaign.TASKS[c.operation] and c.target in MEMBERS for c in drawn)
    assert all(campaign.DURATION[0] <= c.duration <= campaign.DURATION[1] for c in drawn)
    assert {c.upgrade_from for c in drawn} == set(campaign.UPGRADE_FROM)
    assert set(campaign.WHAT) == set(campaign.OPERATIONS) | set(campaign.FAULTS)


@pytest.mark.parametrize("seed, count, described", [
    # the sample of `make test`, as recorded in docs/chaos.md
    ("sample", 2, ["case 1: roll, reboot on h1 for 11 s at task 24",
                   "case 2: remove, partition_in on h0 for 29 s at task 24"]),
    # seed 1, case 8: the regression case of recover_quorum with a survivor restarted without quorum
    ("1", 8, ["case 8: recover_quorum, host_crash on h0 for 8 s at task 11"]),
])
def test_the_seeds_recorded_before_the_new_operations_draw_the_cases_they_recorded(seed, count, described):
    drawn = campaign.cases(seed, count, MEMBERS, only=count if count == 8 else None)
    assert [campaign.describe(c) for c in drawn] == described
    first = campaign.cases(seed, 60, MEMBERS)
    assert {c.operation for c in first} <= set(campaign.OPERATIONS[:9])
    assert {c.fault for c in first} <= set(campaign.FAULTS[:9])
    assert {c.upgrade_from for c in first} == {"3.5.1"}


def test_seed_17_draws_the_cases_it_recorded_before_the_proxy_and_the_slow_faults():
    drawn = campaign.cases("17", 60, MEMBERS)
    assert [campaign.describe(c) for c in drawn[2:4]] == [
        "case 3: restore, etcd_kill on h0 and controller_lost on the next member for 26 s at task 29",
        "case 4: upgrade_34, partition on h2 for 17 s at task 75"]
    assert {c.operation for c in drawn} <= set(campaign.OPERATIONS[:12]) and "proxy" not in campaign.OPERATIONS[:12]
    assert {c.fault for c in drawn} <= set(campaign.FAULTS[:10])


def test_new_seeds_draw_the_first_deploy_the_upgrade_from_3_4_the_ca_rotation_and_a_full_disk():
    drawn = campaign.cases("2", 60, MEMBERS)
    assert {"first_deploy", "upgrade_34", "rotate_ca"} <= {c.operation for c in drawn}
    assert "disk_full" in {c.fault for c in drawn}
    assert {"upgrade_34", "rotate_ca"} <= set(campaign.ROLLING) and "first_deploy" not in campaign.ROLLING


def test_new_seeds_draw_the_proxy_and_the_slow_disk_and_network():
    drawn = campaign.cases("36", 100, MEMBERS)
    assert set(campaign.OPERATIONS) == {c.operation for c in drawn}
    assert set(campaign.FAULTS) == {c.fault for c in drawn}


def test_a_proxy_case_puts_its_host_faults_on_the_proxy_host_and_a_kill_of_etcd_on_a_member():
    c = campaign.Case("s", 1, "proxy", "host_crash", "h1", 3, 9, 100, "3.5.1")
    assert campaign.hit(c, MEMBERS, "p") == {"host_crash": "p"}
    assert campaign.describe(c) == "case 1: proxy, host_crash on the proxy host for 9 s at task 3"
    assert campaign.hit(c._replace(fault="etcd_kill"), MEMBERS, "p") == {"etcd_kill": "h1"}
    assert campaign.hit(c._replace(fault="slow_net"), MEMBERS, "p") == {"slow_net": "p"}
    assert campaign.hit(c._replace(fault="etcd_kill+controller_lost"), MEMBERS, "p") == {
        "etcd_kill": "h1", "controller_lost": "h2"}
    assert campaign.hit(c._replace(fault="host_crash+controller_lost"), MEMBERS, "p") == {
        "host_crash": "p", "controller_lost": "h2"}
    assert campaign.hit(c._replace(operation="roll"), MEMBERS, "p") == {"host_crash": "h1"}


def recorded_line(c, failures=(), acked=10):
    return campaign.journal_line({"case": c, "acked": acked, "lost": 0, "leaderless": 0.5, "healthy_after": 3.0,
                                  "failures": list(failures), "fired": True, "tasks": [40, 43], "outputs": ["x"],
                                  "phases": {"run": 30.0}, "seconds": 60}, "abc123", "2026-11-26T07:00:00Z")


def test_the_journal_records_each_case_with_its_commit_and_reads_back_the_latest_line_of_each():
    drawn = campaign.cases("j", 3, MEMBERS)
    lines = [recorded_line(drawn[0], ["lost"]), recorded_line(drawn[1]), recorded_line(drawn[0], acked=7)]
    assert all(line.endswith("\n") and "outputs" not in line for line in lines)
    recorded = campaign.read_journal(lines)
    assert sorted(recorded) == [1, 2]
    assert recorded[1]["case"] == drawn[0] and recorded[1]["acked"] == 7 and recorded[1]["failures"] == []
    assert recorded[2]["commit"] == "abc123" and recorded[2]["date"] == "2026-11-26T07:00:00Z"
    assert recorded[2]["phases"] == {"run": 30.0} and recorded[2]["seconds"] == 60


def test_a_line_cut_short_by_a_killed_campaign_is_left_out_and_its_case_runs_again():
    drawn = campaign.cases("j", 3, MEMBERS)
    recorded = campaign.read_journal([recorded_line(drawn[0]), recorded_line(drawn[1])[:30]])
    assert sorted(recorded) == [1]
    assert [c.number for c in campaign.pending("j", 3, MEMBERS, recorded)] == [2, 3]


def test_a_campaign_goes_on_with_the_cases_its_journal_does_not_record_and_counts_them_all():
    drawn = campaign.cases("j", 5, MEMBERS)
    recorded = campaign.read_journal([recorded_line(drawn[n]) for n in (0, 2)])
    assert campaign.pending("j", 5, MEMBERS, recorded) == [drawn[1], drawn[3], drawn[4]]
    assert campaign.pending("j", 5, MEMBERS, recorded, only=3) == [drawn[2]]
    assert campaign.pending("j", 5, MEMBERS, recorded, only=[4, 1]) == [drawn[0], drawn[3]]
    assert campaign.pending("j", 2, MEMBERS, campaign.read_journal([recorded_line(c) for c in drawn])) == []
    counted = campaign.recorded_results(campaign.read_journal([recorded_line(c) for c in drawn]), 4)
    assert [r["case"].number for r in counted] == [1, 2, 3, 4]
    assert campaign.table(counted).splitlines()[-1] == "| **all** | | 4 | 0 | 0 | 40 | 0 | | |"


def test_a_case_is_described_with_its_operation_fault_target_and_moment():
    c = campaign.Case(1, 3, "roll", "host_crash", "h1", 12, 9, 150, "3.5.1")
    assert campaign.describe(c) == "case 3: roll, host_crash on h1 for 9 s at task 12"
    assert campaign.describe(c._replace(fault="sigkill")) == "case 3: roll, sigkill at task 12"
    assert campaign.describe(c._replace(fault="etcd_kill+controller_lost")) == (
        "case 3: roll, etcd_kill on h1 and controller_lost on the next member for 9 s at task 12")
    assert campaign.second(c, MEMBERS) == "h2" and campaign.second(c._replace(target="h2"), MEMBERS) == "h0"


def result(operation, fault, acked, lost=0, leaderless=0.5, healthy=10.0, failures=(), fired=True):
    c = campaign.Case(1, 1, operation, fault, "h0", 1, 5, 100, "3.5.1")
    return {"case": c, "acked": acked, "lost": lost, "leaderless": leaderless, "healthy_after": healthy,
            "failures": list(failures), "fired": fired}


def test_the_table_sums_per_operation_and_fault_and_keeps_the_worst_times():
    lines = campaign.table([
        result("upgrade", "sigkill", 100, leaderless=1.5, healthy=20),
        result("roll", "etcd_kill", 50),
        result("upgrade", "sigkill", 30, lost=2, leaderless=0.2, healthy=None, failures=["lost"], fired=False),
    ]).splitlines()
    assert lines[0].startswith("| operation | fault | cases | fault missed | failed | acked writes | lost |")
    assert lines[2:] == [
        "| roll | etcd_kill | 1 | 0 | 0 | 50 | 0 | 0.5 s | 10 s |",
        "| upgrade | sigkill | 2 | 1 | 1 | 130 | 2 | 1.5 s | 20 s |",
        "| **all** | | 3 | 1 | 1 | 180 | 2 | | |",
    ]


def test_a_lost_write_and_a_changed_value_are_found():
    writes = {"/a": ("1", 10.0), "/b": ("2", 11.0), "/c": ("3", 12.0)}
    assert invariants.lost_writes(writes, {"/a": "1", "/b": "2", "/c": "3"}) == []
    assert invariants.lost_writes(writes, {"/a": "1", "/c": "other"}) == ["/b", "/c"]
    assert invariants.lost_writes(writes, {"/a": "1", "/c": "other"}, unsure=(10.5, 11.5)) == ["/c"]


def test_a_restore_keeps_what_the_snapshot_had_and_nothing_of_the_old_clusters_later_history():
    writes = {"/before": ("1", 5.0), "/during": ("2", 11.0), "/after-snapshot": ("3", 15.0),
              "/in-restore": ("4", 25.0), "/restored": ("5", 40.0)}
    windows = (10.0, 12.0, 20.0, 30.0)  # snapshot began, ended; restore began, ended
    good = {"/before": "1", "/during": "2", "/in-restore": "4", "/restored": "5"}
    assert invariants.restore_writes(writes, good, *windows) == ([], [])
    assert invariants.restore_writes(writes, {"/restored": "5", "/after-snapshot": "3"}, *windows) == (
        ["/before"], ["/after-snapshot"])


def test_two_cluster_ids_answering_at_once_are_found_and_one_after_the_other_is_not():
    restored = [(1.0, "h0", "A"), (1.1, "h1", "A"), (3.0, "h0", None), (3.1, "h1", None),
                (5.0, "h0", "B"), (5.1, "h1", "B")]
    assert invariants.split_clusters(restored) == []
    split = [(1.0, "h0", "A"), (1.1, "h1", "A"), (1.5, "h1", "B")]
    assert invariants.split_clusters(split) == [(1.5, {"h0": "A", "h1": "B"})]


def test_two_leaders_in_one_term_are_found_and_a_restored_cluster_counts_its_terms_afresh():
    samples = [(1.0, "h0", "m0", "m0", 4), (1.1, "h1", "m1", "m0", 4), (2.0, "h1", "m1", "m1", 5),
               (2.1, "h2", "m2", "m2", 5)]
    answers = [(t, host, "A") for t, host, *_rest in samples]
    assert invariants.two_leaders(samples, answers) == {("A", 5): ["m1", "m2"]}
    assert invariants.two_leaders(samples[:3], answers) == {}
    restored = [*answers[:3], (2.1, "h2", "B")]
    assert invariants.two_leaders(samples, restored) == {}


def test_a_new_leader_answering_the_term_before_its_own_is_one_leadership_under_its_own_term():
    # etcd answers the term of the last entry applied: m1, elected in term 6, answers term 5 until
    # its first entry of term 6 is applied; m0 led term 5.
    lagging = [(1.0, "h0", "m0", "m0", 5), (2.0, "h1", "m1", "m1", 5), (2.5, "h1", "m1", "m1", 6),
               (3.0, "h0", "m0", "m1", 6)]
    answers = [(t, host, "A") for t, host, *_rest in lagging]
    assert invariants.two_leaders(lagging, answers) == {}
    # Two leaderships in one term: m1 never answers a later term; nor does m1's later leadership
    # hide the claim of term 5 it made before it answered as a follower.
    split = [(1.0, "h0", "m0", "m0", 5), (2.0, "h1", "m1", "m1", 5), (2.5, "h1", "m1", "m0", 5),
             (3.0, "h1", "m1", "m1", 7)]
    assert invariants.two_leaders(split, [(t, host, "A") for t, host, *_rest in split]) == {("A", 5): ["m0", "m1"]}
    assert invariants.two_leaders(lagging[:2], answers) == {("A", 5): ["m0", "m1"]}


def test_a_revision_going_backwards_is_found():
    reads = [(1.0, "u0", 10, "A"), (1.5, "u1", 12, "A"), (2.0, "u2", 12, "A"), (2.5, "u0", 11, "A"),
             (3.0, "u1", 13, "A")]
    assert invariants.backwards(reads) == [(2.5, 12, 11)]
    assert invariants.backwards(reads[:3]) == []


def test_a_new_cluster_counts_its_revisions_afresh_and_the_old_one_still_may_not_go_back():
    reads = [(1.0, "u0", 500, "A"), (5.0, "u0", 2, "B"), (5.5, "u1", 3, "B"), (6.0, "u1", 2, "B"),
             (7.0, "u2", 499, "A")]
    assert invariants.backwards(reads) == [(6.0, 3, 2), (7.0, 500, 499)]


def answers_down(host, began, ended, step=0.5, until=10.0):
    """Answers of ``host`` every ``step`` s up to ``until``, none in [began, ended)."""
    out, t = [], 0.0
    while t < until:
        out.append((t, host, None if began <= t < ended else "A"))
        t += step
    return out


def test_two_members_down_at_once_are_found_unless_the_fault_took_one_down():
    answers = answers_down("h0", 2, 5) + answers_down("h1", 4, 7) + answers_down("h2", 99, 99)
    assert invariants.voters_down_together(answers) == [(4.0, 5.0, ("h0", "h1"))]
    assert invariants.voters_down_together(answers, spared=["h1"]) == []
    one_after_the_other = answers_down("h0", 2, 4) + answers_down("h1", 5, 7)
    assert invariants.voters_down_together(one_after_the_other) == []


def test_a_spare_host_that_is_no_member_of_the_case_is_no_voter_down():
    """Seed 17 case 4: the spare, outside the cluster, down for 1.6 s while the roll restarted a member."""
    answers = answers_down("h0", 2.0, 5.0) + answers_down("spare", 3.0, 4.6)
    assert invariants.voters_down_together(answers, voters={"h0", "h1", "h2"}) == []
    assert invariants.voters_down_together(answers) == [(3.0, 5.0, ("h0", "spare"))]


def test_a_slow_answer_is_not_a_member_down():
    assert invariants.down_periods(answers_down("h0", 2, 3)) == {}
    assert invariants.down_periods(answers_down("h0", 2, 4)) == {"h0": [(2.0, 4.0)]}
    assert invariants.down_periods(answers_down("h0", 8, 99)) == {"h0": [(8.0, 9.5)]}


def test_the_longest_time_without_a_leader_counts_from_the_start_to_the_end_and_any_member_naming_one():
    samples = [(2.0, "h0", "m0", "m0", 1), (3.0, "h1", "m1", "m0", 1), (4.0, "h1", "m1", "0", 1),
               (7.0, "h2", "m2", "m1", 2)]
    assert invariants.longest_leaderless(samples, 0.0, 9.0) == pytest.approx(4.0)
    assert invariants.longest_leaderless([], 0.0, 9.0) == pytest.approx(9.0)


def test_a_run_that_changed_failed_or_missed_a_host_has_not_converged():
    counts = {"h0": {"ok": 5, "changed": 0}, "h1": {"ok": 5, "changed": 1}, "h2": {"ok": 1, "unreachable": 1},
              "h3": {"ok": 2, "failed": 1}}
    assert invariants.not_converged(counts) == ["h1", "h2", "h3"]


def test_a_traceback_or_a_template_failure_is_not_a_message_of_the_collection():
    refusal = 'fatal: [h0]: FAILED! => {"msg": "refusing to remove h1: quorum would be lost; nothing was changed"}'
    assert invariants.foreign_messages(refusal) == []
    for line in ("Traceback (most recent call last):",
                 "fatal: [h0]: FAILED! => {\"msg\": \"The task includes an option with an undefined variable. "
                 "The error was: 'dict object' has no attribute 'leader'\"}",
                 "An exception occurred during task execution. To see the full traceback, use -vvv."):
        assert invariants.foreign_messages("ok: [h1]\n" + line) == [line[:300]]


def test_a_module_whose_host_went_down_under_it_is_the_host_lost_not_a_foreign_failure():
    # Seen in the sample campaign: the host rebooted while etcd_health ran there (its package in /tmp went).
    gone = ('fatal: [h0 -> h1]: FAILED! => {"changed": false, "module_stderr": "Traceback (most recent call last):\\n  '
            'File ... FileNotFoundError: [Errno 2] No such file or directory: \'/tmp/ansible_raftops.etcd.etcd_health_payload_t_2'
            '/ansible_raftops.etcd.etcd_health_payload.zip\'\\n", "msg": "Module result deserialization failed"}')
    assert invariants.foreign_messages(gone) == []
    # Any other file missing in a traceback is still foreign.
    other = gone.replace("/tmp/ansible_raftops.etcd.etcd_health_payload_t_2/", "/etc/etcd/")
    assert invariants.foreign_messages(other) == [other[:300]]


def test_a_host_gone_under_a_module_is_recognised_across_ansible_cores_error_block():
    # Seen in the sample campaign (case 1, a reboot during the roll): ansible-core 2.19 prints the error
    # as a block, the traceback's first line on the "[ERROR]:" line and the vanished package below it.
    block = ('TASK [raftops.etcd.etcd : Note whether this member must restart] ***\n'
             '[ERROR]: Task failed: Data could not be sent to remote host "h1". Make sure this host can be '
             'reached over ssh: Traceback (most recent call last):\n'
             '  File "<stdin>", line 266, in <module>\n'
             "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/ansible_raftops.etcd.etcd_member_files_"
             "payload_2q/ansible_raftops.etcd.etcd_member_files_payload.zip'\n"
             'Origin: roles/etcd/tasks/restart_note.yml:13:3\n')
    later = '\nTASK [raftops.etcd.etcd : Release the run lock] ***\nok: [h0]\n'
    assert invariants.foreign_messages(block + later) == []
    # A traceback in another block of the same run is still foreign.
    other = "\nTraceback (most recent call last):\nKeyError: 'leader'\n"
    assert invariants.foreign_messages(block + later + other) == ["Traceback (most recent call last):"]
