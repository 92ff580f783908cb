"""A CA rotation's round (roles/etcd/tasks/rotate_ca_phase.yml): which members are read (rotation_read_due),
their reads taken apart (rotation_reads), and the note each pass of the role leaves for the proxies (plan_rotation's
rotation_after_pass)."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.operation_plan import (
    plan_rotation, rotation_pauses, rotation_read_due, rotation_reads, rotation_reported)
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_rotation import PHASE_NUMBER

HOSTS = ["h0", "h1", "h2"]


def read(exists=True, mtime=1000.5, start_rc=0, start_out="@2000", ca_file=None):
    """One member's rotation_read: ansible.builtin.stat's result of its trusted CA file, and systemctl show's."""
    stat = dict(exists=True, mtime=mtime, path="/etc/etcd/pki/ca.pem") if exists else dict(exists=False)
    return dict(ca_file=ca_file or dict(changed=False, stat=stat),
                start=dict(changed=False, rc=start_rc, stdout=start_out, failed=start_rc != 0))


@pytest.mark.parametrize("member_read, ca_file, start", [
    (read(), dict(stat=dict(exists=True, mtime=1000)), dict(stdout="@2000")),
    # No CA file: a file that is not there.
    (read(exists=False), dict(stat=dict(exists=False, mtime=0)), dict(stdout="@2000")),
    # etcd does not run: systemctl prints nothing, which plan_rotation counts as older.
    (read(start_out=""), dict(stat=dict(exists=True, mtime=1000)), dict(stdout="")),
    # systemctl failed: no start read, so the plan refuses the host by name.
    (read(start_rc=1, start_out=""), dict(stat=dict(exists=True, mtime=1000)), None),
    # The stat failed (not a missing file: that is exists false): no CA read, refused by name too.
    (read(ca_file=dict(failed=True, msg="Permission denied")), None, dict(stdout="@2000")),
])
def test_each_member_s_read_gives_its_ca_file_and_etcd_s_start(member_read, ca_file, start):
    ca_files, starts = rotation_reads({"h0": member_read})
    assert ca_files == ({"h0": ca_file} if ca_file else {})
    assert starts == ({"h0": start} if start else {})


# A member that was not read: the round has nothing to do there, or its host did not answer.
@pytest.mark.parametrize("member_read", [None, {}])
def test_a_host_that_was_not_read_has_no_read(member_read):
    assert rotation_reads({"h0": member_read}) == ({}, {})


@pytest.mark.parametrize("plan, host, due", [
    # The first round: preflight's plan, without the round's fields.
    (dict(with_data=HOSTS), "h1", True),
    (dict(with_data=HOSTS, rotation_next_phase=True), "h1", True),
    # Over, or held for the proxies: the round before put no next phase in place.
    (dict(with_data=HOSTS, rotation_next_phase=False), "h1", False),
    # A host without this cluster's data.
    (dict(with_data=HOSTS), "h5", False),
])
def test_a_member_is_read_in_the_first_round_and_after_one_that_put_a_next_phase_in_place(plan, host, due):
    assert rotation_read_due(plan, host) is due


def test_the_reads_feed_the_plan_stale_and_refused_hosts():
    reads = {"h0": read(start_out="@999"), "h1": read()}
    ca_files, starts = rotation_reads(reads)
    plan = plan_rotation(dict(with_data=HOSTS), dict(phase="trust", step=1, description="d", bundle="/b.pem"),
                         ca_files, starts, HOSTS, dict(pki_dir="/pki"))
    assert plan["rotation_stale"] == ["h0"]
    assert plan["rotation_refusal"].startswith("the hosts h2 did not answer the read of their trusted CA file")


@pytest.mark.parametrize("phase, follow, proxies, round_, pass_, before, after", [
    # Pass 1 holds in phase 1: its proxies' play runs on the hosts noted held.
    ("trust", True, ["p0"], 1, 1, {}, {"1": "held"}),
    # Pass 2 moved phase 1 on in its first round, and holds in its second.
    ("trust", True, ["p0"], 1, "2", {"1": "held"}, {"1": "held"}),
    ("reissue", True, ["p0"], 2, "2", {"1": "held"}, {"1": "held", "2": "held"}),
    # The round that moves phase 3 on ends the rotation: the proxies then trust the new CA only.
    ("drop", True, ["p0"], 1, "3", {"1": "held", "2": "held"}, {"1": "held", "2": "held", "3": "ended"}),
    ("drop", True, [], 2, "1", {}, {"1": "ended"}),
    # Without the etcd playbook's proxies, nothing is noted.
    ("drop", False, ["p0"], 1, "1", {}, {}),
    ("trust", False, ["p0"], 1, "1", {}, {}),
    ("reissue", True, [], 1, "1", {}, {}),
])
def test_each_pass_notes_how_it_leaves_the_rotation(phase, follow, proxies, round_, pass_, before, after):
    # The note so far is the round before's, in the run's plan.
    given = dict(with_data=[], rotation_round=round_ - 1, rotation_after_pass=dict(before))
    plan = plan_rotation(given, dict(phase=phase, step=1, description="d", bundle="/b.pem"), {}, {}, [],
                         {"pki_dir": "/pki", "proxies_follow": follow, "proxies": proxies, "pass": pass_})
    assert plan["rotation_after_pass"] == after
    # The note so far is not changed in place.
    assert given["rotation_after_pass"] == before and given["rotation_after_pass"] is not plan["rotation_after_pass"]


@pytest.mark.parametrize("phase, before, pass_", [
    # The rotation ended in an earlier round.
    ("none", {}, "1"),
    # This pass held it for the proxies in an earlier round: the proxies' play comes first.
    ("reissue", {"1": "held", "2": "held"}, "2"),
])
def test_a_round_with_nothing_to_do_moves_nothing_and_asks_nothing(phase, before, pass_):
    plan = plan_rotation(dict(with_data=HOSTS, rotation_round=1, rotation_after_pass=before),
                         dict(phase=phase, step=2, description="d", bundle="/b.pem"), {}, {},
                         HOSTS, {"pki_dir": "/pki", "proxies_follow": True, "proxies": ["p0"], "pass": pass_})
    assert plan["rotation_go"] is False and plan["rotation_after_pass"] == before
    # No next phase, so the next round asks the members nothing either.
    assert plan["rotation_next_phase"] is False
    # No member answered a read, and none is refused or restarted for it.
    assert plan["rotation_refusal"] == "" and plan["rotation_stale"] == [] and plan["rotation_hold"] is False


def test_a_held_note_of_an_earlier_pass_does_not_stop_this_one():
    plan = plan_rotation(dict(with_data=[], rotation_after_pass={"1": "held"}),
                         dict(phase="reissue", step=2, description="d", bundle="/b.pem"), {}, {},
                         [], {"pki_dir": "/pki", "proxies_follow": True, "proxies": ["p0"], "pass": "2"})
    assert plan["rotation_go"] is True and plan["rotation_hold"] is False


@pytest.mark.parametrize("before, round_, hold", [
    # This pass's preflight made the run's plan anew: the first round, which moves the phase the
    # proxies' play before it followed on.
    (dict(with_data=[]), 1, False),
    # The round before counted in the run's plan: the second round holds for the proxies.
    (dict(with_data=[], rotation_round=1), 2, True),
    (dict(with_data=[], rotation_round=2), 3, True),
])
def test_each_round_counts_in_the_run_s_plan(before, round_, hold):
    plan = plan_rotation(before, dict(phase="trust", step=1, description="d", bundle="/b.pem"), {}, {}, [],
                         {"pki_dir": "/pki", "proxies_follow": True, "proxies": ["p0"], "pass": "2"})
    assert plan["rotation_round"] == round_ and plan["rotation_hold"] is hold
    # The plan it was given is not changed in place.
    assert before.get("rotation_round", 0) == round_ - 1


@pytest.mark.parametrize("phase, follow, round_, next_phase", [
    # Phases 1 and 2 move on to a phase the members roll onto, unless held for the proxies.
    ("trust", False, 1, True),
    ("reissue", False, 1, True),
    ("trust", True, 2, False),
    ("reissue", True, 2, False),
    # The first round of a later pass moves the phase the proxies followed on.
    ("reissue", True, 1, True),
    # Phase 3 moves on to the end, on the controller only: the members trust the new CA only already.
    ("drop", False, 1, False),
    ("drop", True, 2, False),
])
def test_a_round_puts_a_next_phase_on_the_members_unless_it_holds_or_ends(phase, follow, round_, next_phase):
    plan = plan_rotation(dict(with_data=[], rotation_round=round_ - 1),
                         dict(phase=phase, step=1, description="d", bundle="/b.pem"), {}, {}, [],
                         {"pki_dir": "/pki", "proxies_follow": follow, "proxies": ["p0"], "pass": "2"})
    assert plan["rotation_go"] is True and plan["rotation_next_phase"] is next_phase


@pytest.mark.parametrize("before, phase, pause, pauses", [
    # This pass's etcd_pki call moved the rotation into phase 1 or 2: a paused rotation stops there.
    ("none", "trust", True, True),
    ("trust", "reissue", True, True),
    # Phase 3: its end changes only etcd_pki_dir, so the run goes on to it.
    ("reissue", "drop", True, False),
    # Found there (a run resuming a stopped rotation, or a later pass): it moves one phase on first.
    ("trust", "trust", True, False),
    ("reissue", "reissue", True, False),
    # Without the setting, never.
    ("none", "trust", False, False),
    ("trust", "reissue", False, False),
])
def test_a_paused_rotation_stops_once_the_run_moved_it_into_phase_1_or_2(before, phase, pause, pauses):
    assert rotation_pauses(dict(phase=phase, phase_before=before), pause) is pauses


def paused_round(phase, before, pause="true", follow=False, pass_="1", round_=1):
    return plan_rotation(dict(with_data=[], rotation_round=round_ - 1),
                         dict(phase=phase, phase_before=before, step=PHASE_NUMBER[phase], description="d",
                              bundle="/pki/ca-bundle.pem"), {}, {}, [],
                         {"pki_dir": "/pki", "proxies_follow": follow, "proxies": ["p0"], "pass": pass_, "pause": pause})


@pytest.mark.parametrize("follow", [False, True])
def test_a_paused_round_holds_and_notes_it_so_that_no_later_pass_goes_on(follow):
    plan = paused_round("trust", "none", follow=follow)
    assert plan["rotation_go"] is True and plan["rotation_paused"] is True and plan["rotation_hold"] is True
    # Nothing more this run: no advance asked of etcd_pki, no phase rolled onto the members.
    assert plan["rotation_request"] == "keep" and plan["rotation_next_phase"] is False
    assert plan["rotation_after_pass"] == {"1": "paused"}
    assert plan["rotation_message"] == (
        "CA rotation: phase 1 of 3 is in place on every member (d). Applications: trust /pki/ca-bundle.pem from now "
        "on; their pairs of the old CA work until phase 3. The rotation stops here (etcd_pki_rotate_ca_pause): hand "
        "the applications these files, then run the etcd playbook again for phase 2.")
    # The next round of the pass does nothing.
    again = plan_rotation(plan, dict(phase="trust", phase_before="none", step=1, description="d", bundle="/b.pem"),
                          {}, {}, [], {"pki_dir": "/pki", "pause": "true"})
    assert again["rotation_go"] is False and again["rotation_after_pass"] == {"1": "paused"}


def test_the_run_after_a_pause_moves_the_rotation_one_phase_on_then_stops():
    # Its first round finds phase 1 as the last run left it, and moves it on.
    first = paused_round("trust", "trust")
    assert first["rotation_paused"] is False and first["rotation_request"] == "advance"
    assert first["rotation_next_phase"] is True and first["rotation_after_pass"] == {}
    # The second finds phase 2, which this run's advance put in place: it stops there.
    second = paused_round("reissue", "trust", round_=2)
    assert second["rotation_paused"] is True and second["rotation_request"] == "keep"
    assert second["rotation_message"].endswith(
        "The rotation stops here (etcd_pki_rotate_ca_pause): hand the applications these files, then run the etcd "
        "playbook again for phase 3.")
    assert "the new pairs in /pki/clients/ (and admin.pem) work now" in second["rotation_message"]


def test_the_last_run_of_a_paused_rotation_ends_it():
    plan = paused_round("drop", "reissue", round_=2)
    assert plan["rotation_paused"] is False and plan["rotation_request"] == "advance"
    assert "stops here" not in plan["rotation_message"]


def test_with_proxies_a_pause_in_a_later_pass_lets_no_further_pass_go_on():
    # Pass 2's first round moved phase 1 on (the proxies followed it); its second round finds phase 2
    # that it put in place, and pauses instead of holding for the proxies.
    plan = paused_round("reissue", "trust", follow=True, pass_="2", round_=2)
    assert plan["rotation_hold"] is True and plan["rotation_after_pass"] == {"2": "paused"}


@pytest.mark.parametrize("after_pass, this_pass, reported", [
    # No rotation round, or a pass that paused or ended it: the status reports what etcd_pki_dir holds.
    ({}, 1, True),
    ({"1": "paused"}, "1", True),
    ({"1": "held", "2": "ended"}, "2", True),
    # Held for the proxies: the next pass of the same run goes on.
    ({"1": "held"}, "1", False),
    ({"1": "held", "2": "held"}, 2, False),
])
def test_the_status_of_a_pass_reports_the_rotation_unless_held_for_the_proxies(after_pass, this_pass, reported):
    assert rotation_reported(after_pass, this_pass) is reported
