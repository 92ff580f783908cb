"""status_advice: each problem an etcd_health result shows, with the command that addresses it; and
status_lines (no filter: the role's status plan, raftops.etcd.etcd_plan, calls it): the table and the
advice as lines that no YAML callback folds."""

import re
import time

import pytest


from ansible_collections.raftops.etcd.plugins.module_utils.cluster import status_advice as sa
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.status_advice import status_advice, status_lines
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_members import REFUSED, Cluster
from ansible_collections.raftops.etcd.tests.unit.plugins.status_sample import DAY, MIB, health, member, sample

ETCD = "ansible-playbook raftops.etcd.etcd -i INVENTORY"
MAINTENANCE = "ansible-playbook raftops.etcd.maintenance -i INVENTORY"


def replace(name):
    return "ansible-playbook raftops.etcd.replace_member -i INVENTORY -e etcd_replace=%s" % name


def three(overrides=None):
    """etcd-1 (leader), etcd-2, etcd-3; overrides: {number: {field: value}}."""
    return [member(n, **(overrides or {}).get(n, {})) for n in (1, 2, 3)]


def advice(nodes=None, alarms=(), quota_bytes=0, **settings):
    return status_advice(health(nodes or three(), alarms, quota_bytes), settings)


def test_a_healthy_cluster_needs_nothing():
    result = health(three())
    assert status_advice(result, {}) == []
    assert status_lines(result["table"], []) == [*result["table"], "no problem found"]


def test_nospace_alarm_points_to_the_maintenance_playbook():
    nodes = three({2: dict(db_size=2048 * MIB, in_use=600 * MIB)})
    assert advice(nodes, alarms=[(0xA2, "NOSPACE")]) == [
        "etcd-2: NOSPACE alarm raised, the cluster refuses writes (database 2GiB, 100% of the 2GiB quota) -> "
        + MAINTENANCE]


def test_corrupt_alarm_points_to_replace_member():
    nodes = three({3: dict(healthy=False, reason="ALARM CORRUPT")})
    assert advice(nodes, alarms=[(0xA3, "CORRUPT")]) == [
        "etcd-3: CORRUPT alarm raised, its data differs from the other members' -> " + replace("etcd-3")]


@pytest.mark.parametrize("days, expected", [
    (12.5, "etcd-3: certificate expires in 12 days (renewed within etcd_pki_renew_before_days=30) -> %s renews it"
     % ETCD),
    (1.5, "etcd-3: certificate expires in 1 day (renewed within etcd_pki_renew_before_days=30) -> %s renews it"
     % ETCD),
    (0.5, "etcd-3: certificate expires within a day (renewed within etcd_pki_renew_before_days=30) -> %s renews it"
     % ETCD),
    (29.9, "etcd-3: certificate expires in 29 days (renewed within etcd_pki_renew_before_days=30) -> %s renews it"
     % ETCD),
    (30.1, None),
])
def test_a_certificate_the_next_run_renews_points_to_the_etcd_playbook(days, expected):
    nodes = three({3: dict(cert_not_after=time.time() + days * DAY)})
    assert advice(nodes) == ([expected] if expected else [])


def test_the_renewal_window_is_the_setting_and_own_certificates_are_the_operators():
    nodes = three({3: dict(cert_not_after=time.time() + 50.5 * DAY)})
    assert advice(nodes, etcd_pki_renew_before_days="60", etcd_pki_managed="false") == [
        "etcd-3: certificate expires in 50 days (renewed within etcd_pki_renew_before_days=60) -> put a new NAME.pem "
        "and NAME-key.pem in etcd_pki_dir (etcd_pki_managed=false), then " + ETCD]


def test_plain_http_members_have_no_certificate_to_judge():
    nodes = three({n: dict(cert_not_after=None) for n in (1, 2, 3)})
    assert advice(nodes) == []
    assert [entry["cert_days_left"] for entry in health(nodes)["member_status"]] == [None, None, None]


def test_a_member_down_is_started_by_the_etcd_playbook_or_replaced():
    assert advice(three({2: dict(down=True)})) == [
        "etcd-2: not reachable (%s) -> %s starts it; if the host is lost: %s" % (REFUSED, ETCD, replace("etcd-2"))]


def test_a_refused_certificate_is_renewed_rather_than_the_member_replaced():
    result = health(three())
    entry = result["member_status"][1]
    entry.update(health="unreachable", reason="[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                 "certificate has expired", raft_term=None, cert_days_left=None)
    assert status_advice(result, {}) == [
        "etcd-2: not reachable, its certificate is refused ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: certificate has expired) -> %s renews it" % ETCD]


def test_a_learner_not_promoted_points_to_the_etcd_playbook():
    nodes = [*three(), member(4, index=100, applied=70, learner=True)]
    assert advice(nodes) == [
        "etcd-4: learner not promoted (30 raft entries behind the leader), promoted once caught up -> " + ETCD]


def test_a_learner_never_started_is_joined_or_removed():
    nodes = [*three(), member(4, learner=True, started=False)]
    assert advice(nodes) == [
        "(a4): learner added but never started -> %s joins it when its host is in the inventory; else remove the "
        "entry with the module raftops.etcd.etcd_member (state=absent, id=a4)" % ETCD]


def test_a_voting_member_behind_the_leader_beyond_the_gap():
    nodes = three({2: dict(index=100, applied=40)})
    assert advice(nodes, etcd_max_raft_index_gap=50) == [
        "etcd-2: 60 raft entries behind the leader (more than etcd_max_raft_index_gap=50) -> a slow disk or network, "
        "see its log: journalctl -u etcd.service; if it does not catch up: " + replace("etcd-2")]
    assert advice(nodes, etcd_max_raft_index_gap=60) == []


def test_a_database_near_the_quota_is_defragmented_or_needs_a_larger_quota():
    nodes = three({1: dict(db_size=90 * MIB, in_use=20 * MIB), 2: dict(db_size=95 * MIB, in_use=90 * MIB),
                   3: dict(db_size=70 * MIB, in_use=60 * MIB)})
    assert advice(nodes, quota_bytes=100 * MIB, etcd_quota_backend_bytes=100 * MIB) == [
        "etcd-1: database at 90% of the quota (90MiB of 100MiB, 20MiB in use) -> " + MAINTENANCE,
        "etcd-2: data in use at 90% of the quota (90MiB of 100MiB), a defragmentation cannot free it -> raise "
        "etcd_quota_backend_bytes, then " + ETCD,
    ]


def test_no_leader_without_quorum_points_to_starting_members_quorum_recovery_or_a_restore():
    nodes = [member(1, leader=None), member(2, leader=None, down=True), member(3, leader=None, down=True)]
    assert advice(nodes) == [
        "cluster: no leader, 1 of 3 voting members answer (quorum 2) -> %s starts the members that are down; if most "
        "hosts are lost: ansible-playbook raftops.etcd.recover_quorum -i INVENTORY recovers from the survivor with the "
        "most data, or, when none kept its data, ansible-playbook raftops.etcd.restore -i INVENTORY "
        "-e etcd_restore_snapshot=SNAPSHOT" % ETCD,
        "etcd-2: not reachable (%s) -> %s starts it; if the host is lost: %s" % (REFUSED, ETCD, replace("etcd-2")),
        "etcd-3: not reachable (%s) -> %s starts it; if the host is lost: %s" % (REFUSED, ETCD, replace("etcd-3")),
    ]


def test_no_leader_with_every_member_answering_is_a_network_problem():
    nodes = [member(n, leader=None, healthy=False, reason="RAFT NO LEADER") for n in (1, 2, 3)]
    assert advice(nodes) == [
        "cluster: no leader although 3 of 3 voting members answer -> check that the members reach each other on the "
        "peer port, and their logs: journalctl -u etcd.service"]


def test_a_member_cut_off_from_the_leader():
    # Its status names no leader: its /health, a read through raft, is not asked (it would wait for one).
    nodes = three({3: dict(leader=None, healthy=False, reason="RAFT NO LEADER")})
    assert advice(nodes) == [
        "etcd-3: knows no leader while the others follow etcd-1, cut off from its peers -> check that it reaches them "
        "on the peer port, and its log: journalctl -u etcd.service"]


def test_a_member_answering_for_another_cluster_has_diverged():
    nodes = three({3: dict(cluster_id=99)})
    assert advice(nodes) == [
        "etcd-3: answers for another cluster (ID 63, the others 4d), its data is not this cluster's -> "
        + replace("etcd-3")]


def test_another_instance_names_its_unit_and_asks_for_the_same_options():
    nodes = three({2: dict(index=100, applied=10)})
    assert advice(nodes, etcd_instance="etcd-events", etcd_group="events") == [
        "etcd-2: 90 raft entries behind the leader (more than etcd_max_raft_index_gap=50) -> a slow disk or network, "
        "see its log: journalctl -u etcd-events.service; if it does not catch up: " + replace("etcd-2"),
        "(cluster etcd_instance=etcd-events, group events: give each command the -e options of this run)",
    ]


def test_an_observation_gives_the_same_advice_as_the_health_result():
    nodes = three({2: dict(down=True), 3: dict(cert_not_after=time.time() + 3.5 * DAY)})
    observation = Cluster(*nodes).observe(nodes[0].url)
    assert status_advice(observation, {}) == advice(nodes)
    assert len(status_advice(observation, {})) == 2


def test_problems_the_advice_does_not_know_are_still_shown():
    result = dict(health(three()), healthy=False, problems=["leader a9 is not in the member list"])
    assert status_advice(result, {}) == [
        "cluster: leader a9 is not in the member list -> the members' logs: journalctl -u etcd.service"]


@pytest.mark.parametrize("bad, message", [
    ("text", "expects the result of raftops.etcd.etcd_health, got str"),
    ({"failed": True, "msg": "cannot set up the etcd client: ca_cert /x does not exist"},
     "has none: cannot set up the etcd client: ca_cert /x does not exist"),
])
def test_anything_but_a_health_result_is_refused(bad, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        status_advice(bad, {})


def test_settings_that_are_no_numbers_are_refused():
    with pytest.raises(ValueError, match="not a number"):
        status_advice(health(three()), {"etcd_pki_renew_before_days": "soon"})


# -- status_lines --------------------------------------------------------------------------------


def single_spaces_from(line, column):
    """Where a YAML emitter may fold ``line``: single spaces at or past ``column``."""
    return [m.start() for m in re.finditer(r"(?<! ) (?! )", line) if m.start() >= column]


def test_the_sample_shows_the_table_then_each_problem_and_its_command():
    result = sample()
    lines = status_lines(result["table"], status_advice(result, {}))
    assert lines[:6] == result["table"]
    assert lines[6:] == [
        "4 problems found, each with what addresses it:",
        "etcd-2: NOSPACE alarm raised, the cluster refuses writes (database 2GiB,",
        "    100% of the 2GiB quota)",
        "  -> " + MAINTENANCE,
        "etcd-3: certificate expires in 12 days (renewed within",
        "    etcd_pki_renew_before_days=30)",
        "  -> %s renews it" % ETCD,
        "etcd-4: not reachable ([Errno 111] Connection refused)",
        "  -> %s starts it" % ETCD,
        "  -> if the host is lost:",
        "     " + replace("etcd-4"),
        "etcd-5: learner not promoted (1210 raft entries behind the leader),",
        "    promoted once caught up",
        "  -> " + ETCD,
    ]


def test_no_line_can_fold_and_no_command_is_split():
    result = sample()
    every = status_advice(result, {})
    long_name = health([member(1), member(2), member(3, down=True)])
    long_name["member_status"][2]["name"] = "etcd-member-with-a-rather-long-name-in-a-big-datacenter"
    every += status_advice(long_name, {"etcd_instance": "etcd-events"})
    lines = status_lines(result["table"], every)
    for line in lines:
        assert single_spaces_from(line, sa.FOLD_SAFE_COLUMN) == [], line
    for command in re.findall(r"ansible-playbook [^;]*?INVENTORY(?: -e \S+)*", " ".join(every)):
        assert any(command in line for line in lines), command


def test_a_note_is_no_problem():
    assert status_lines(["TABLE"], ["(a note)"]) == ["TABLE", "no problem found", "(a note)"]


def test_status_lines_wants_lists():
    with pytest.raises(ValueError, match="lists of lines"):
        status_lines("TABLE", [])


# -- the snapshots on the controller -----------------------------------------------------------

BACKUP = "ansible-playbook raftops.etcd.backup -i INVENTORY"
NOW = 1_800_000_000.0


def backups(*ages_hours, directory="/inv/etcd-backups"):
    return dict(dir=directory, now=NOW, files=[
        dict(path="%s/etcd-snapshot-%d.db" % (directory, i), mtime=NOW - hours * 3600) for i, hours in enumerate(ages_hours)])


def test_no_backup_at_all_advises_the_backup_playbook():
    assert status_advice(health(three()), {}, backups()) == [
        "backups: no snapshot in /inv/etcd-backups -> take one: " + BACKUP]


def test_a_fresh_backup_needs_nothing():
    assert status_advice(health(three()), {}, backups(50, 25.5)) == []


@pytest.mark.parametrize("ages, settings, expected", [
    ((30, 80), {}, "etcd-snapshot-0.db, is 30 hours old (more than etcd_status_backup_max_age_hours=26)"),
    ((100,), {}, "etcd-snapshot-0.db, is 4 days old (more than etcd_status_backup_max_age_hours=26)"),
    ((3,), {"etcd_status_backup_max_age_hours": "2"}, "is 3 hours old (more than etcd_status_backup_max_age_hours=2)"),
])
def test_a_backup_too_old_warns_with_its_age_and_the_command(ages, settings, expected):
    lines = status_advice(health(three()), settings, backups(*ages))
    assert len(lines) == 1
    assert lines[0].startswith("backups: the newest snapshot, ") and expected in lines[0]
    assert lines[0].endswith(" -> " + BACKUP)


def test_without_backups_nothing_is_said_of_them():
    assert status_advice(health(three()), {}) == []


@pytest.mark.parametrize("bad", ["x", dict(files="x"), dict(files=[dict(path="a", mtime=1)])])
def test_bad_backups_are_refused(bad):
    with pytest.raises(ValueError, match="status_advice: backups"):
        status_advice(health(three()), {}, bad)


def pushed(record):
    import base64
    import json
    return {"content": base64.b64encode(json.dumps(record).encode()).decode()}


def test_a_member_whose_last_push_failed_is_named_with_the_targets_error():
    failed = dict(member="etcd-b", instance="etcd", snapshot="etcd-snapshot-20261126T031500Z.db", time=1795662905,
                  result="failed", targets=[dict(name="offsite", error="target offsite (s3://b/p/): HTTP 403 AccessDenied"),
                                            dict(name="vault", uploaded=True)])
    lines = status_advice(health(three()), {}, None, [
        pushed(failed), pushed(dict(failed, member="etcd-a", result="skipped")), {"skipped": True},
        {"failed": True, "msg": "file not found"}])
    assert lines == ["etcd-b: its last off-host push (etcd-snapshot-20261126T031500Z.db, 2026-11-26 03:15:05Z) failed: "
                     "target offsite (s3://b/p/): HTTP 403 AccessDenied -> its local snapshots are kept; fix the "
                     "target, then: systemctl start etcd-snapshot.service on it"]
    # A failure older than the cluster's newest successful push is left out; a newer one is named.
    ok = dict(failed, member="etcd-c", result="pushed", targets=[dict(name="offsite", uploaded=True)])
    assert status_advice(health(three()), {}, None, [pushed(failed), pushed(dict(ok, time=failed["time"] + 10))]) == []
    assert status_advice(health(three()), {}, None, [pushed(failed), pushed(dict(ok, time=failed["time"] - 10))]) == lines
    claim = dict(failed, targets=[], error="cannot claim the push of this period: etcdctl get: no leader")
    assert "failed: cannot claim the push of this period" in status_advice(health(three()), {}, None, [pushed(claim)])[0]
    with pytest.raises(ValueError, match="a push status that is not JSON"):
        status_advice(health(three()), {}, None, [{"content": "bm90IGpzb24="}])


def test_the_newest_push_that_could_not_prune_or_found_objects_that_do_not_verify_is_named():
    prune = "target offsite (s3://b/p/): pruning failed: DELETE etcd-snapshot-x.db.enc: HTTP 403 AccessDenied"
    odd = "target offsite: object etcd-snapshot-2099.db.enc on target offsite is signed by \"member:x\", which is not a signer"
    ok = dict(member="etcd-c", instance="etcd", snapshot="etcd-snapshot-20261126T031500Z.db", time=1795662905,
              result="pushed", targets=[dict(name="offsite", uploaded=True, prune_error=prune)], warnings=[prune, odd])
    lines = status_advice(health(three()), {}, None, [pushed(ok)])
    assert lines == [
        "etcd-c: its last off-host push (etcd-snapshot-20261126T031500Z.db) sent the backup, but: %s -> give its "
        "credentials the delete permission on the prefix (docs/backup-targets.md, \"Bucket permissions\")" % prune,
        "etcd-c: its last off-host push (etcd-snapshot-20261126T031500Z.db) sent the backup, but: %s -> an object the "
        "push neither counts nor deletes: look at it and delete it by hand if it is not yours" % odd]
    # A newer push without warnings: nothing to say.
    later = dict(ok, member="etcd-a", time=ok["time"] + 10, warnings=[])
    assert status_advice(health(three()), {}, None, [pushed(ok), pushed(later)]) == []


PROVEN_AT = 1795665600  # 2026-11-26 04:00:00Z, the proven backup's snapshot time


def drilled(member, result, time_, proven=None, **more):
    record = dict(member=member, instance="etcd", result=result, time=time_, object="etcd-snapshot-x.db.enc",
                  problems=[] if result == "passed" else ["target offsite (s3://b/p/): etcd-snapshot-x.db.enc is "
                                                          "truncated: 10 bytes, 20 were pushed"], **more)
    record["proven"] = proven
    return pushed(record)


PROVEN = dict(object="etcd-snapshot-20261126T040000Z.db.enc", backup_time="20261126T040000Z", revision=4242, keys=4000,
              time=PROVEN_AT + 60)


@pytest.mark.parametrize("age, max_age, problem", [
    (3 * 3600, "26h", False),
    (27 * 3600, "26h", True),
    (5 * 60, "90s", True),
])
def test_the_status_shows_the_newest_proven_backup_and_warns_when_it_is_older_than_the_max_age(age, max_age, problem):
    backups = dict(dir="/b", files=[dict(path="/b/etcd-snapshot-1.db", mtime=PROVEN_AT)], now=PROVEN_AT + age)
    older = dict(PROVEN, object="etcd-snapshot-20261126T030000Z.db.enc", backup_time="20261126T030000Z")
    lines = status_advice(health(three()), {"etcd_backup_max_age": max_age, "etcd_status_backup_max_age_hours": 100},
                          backups, None, [drilled("etcd-b", "passed", PROVEN_AT + 60, PROVEN),
                                          drilled("etcd-a", "passed", PROVEN_AT - 3000, older), {"skipped": True}])
    shown = "%d minutes" % (age // 60) if age < 7200 else "%d hours" % (age // 3600)
    note = "backups: the newest proven backup, etcd-snapshot-20261126T040000Z.db.enc, is %s old" % shown
    assert len(lines) == 1 and lines[0].startswith(note), lines
    assert lines[0].endswith("(proven by etcd-b, revision 4242, 4000 keys)" + (
        " -> the drills' log: journalctl -u etcd-backup-drill; a drill now: systemctl start "
        "etcd-backup-drill.service on the member that pushed the newest backup" if problem else ""))
    assert ("more than etcd_backup_max_age=%s" % max_age in lines[0]) is problem
    assert ("no problem found" in status_lines([], lines)) is not problem


def test_no_proven_backup_and_a_failed_drill_after_the_last_pass_are_problems():
    backups = dict(dir="/b", files=[dict(path="/b/etcd-snapshot-1.db", mtime=PROVEN_AT)], now=PROVEN_AT + 60)
    lines = status_advice(health(three()), {}, backups, None, [])
    assert lines == ["backups: no off-host backup is proven restorable yet (etcd_backup_drill_schedule) -> the drills' "
                     "log: journalctl -u etcd-backup-drill; a drill now: systemctl start etcd-backup-drill.service on "
                     "the member that pushed the newest backup"]
    failed = drilled("etcd-c", "failed", PROVEN_AT + 120, PROVEN)
    lines = status_advice(health(three()), {}, backups, None, [drilled("etcd-b", "passed", PROVEN_AT + 60, PROVEN), failed])
    assert lines[1].startswith("etcd-c: its last drill (etcd-snapshot-x.db.enc, 2026-11-26 04:02:00Z) failed: target "
                               "offsite (s3://b/p/): etcd-snapshot-x.db.enc is truncated: 10 bytes, 20 were pushed -> ")
    # A pass after the failure clears it.
    later = drilled("etcd-b", "passed", PROVEN_AT + 180, PROVEN)
    assert len(status_advice(health(three()), {}, backups, None, [later, failed])) == 1
    with pytest.raises(ValueError, match="etcd_backup_max_age 'soon' is not a Go duration"):
        status_advice(health(three()), {"etcd_backup_max_age": "soon"}, backups, None, [])


def pki_dir_in(tmp_path, *names):
    """An etcd_pki_dir holding ``names`` (paths relative to it)."""
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    return str(tmp_path)


def rotation_advice(tmp_path, *names):
    from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_rotation import rotation_status

    return status_advice(health(three()), {}, rotation=rotation_status(pki_dir_in(tmp_path, *names)))


def test_a_ca_rotation_stopped_in_phase_1_asks_for_the_bundle_to_be_handed_over(tmp_path):
    lines = rotation_advice(tmp_path, "ca.pem", "ca-next.pem", "ca-bundle.pem", "clients/web.pem")
    assert lines == ["CA rotation: stopped in phase 1 of 3 (members trust the old and the new CA, certificates come "
                     "from the old one) -> give every application and tool %s/ca-bundle.pem to trust in place of ca.pem "
                     "(it holds the old and the new CA, and members present certificates of the new CA from phase 2 "
                     "on); then phase 2, which issues every pair anew from the new CA: %s" % (tmp_path, ETCD)]


def test_a_ca_rotation_stopped_in_phase_2_names_the_new_pairs_to_hand_over(tmp_path):
    lines = rotation_advice(tmp_path, "ca.pem", "ca-previous.pem", "ca-bundle.pem", "clients/web.pem",
                            "clients/web-key.pem", "clients/billing.pem", "clients/billing-key.pem")
    assert lines == ["CA rotation: stopped in phase 2 of 3 (members trust both CAs, certificates come from the new "
                     "one) -> give each application its new pair in %s (clients/billing.pem, clients/web.pem, each "
                     "with its key as before) and your tools the new admin.pem, as members refuse the pairs of the old "
                     "CA from phase 3 on; then phase 3, which drops the old CA: %s" % (tmp_path, ETCD)]
    # Shown under the table, each action on a line of its own, the command whole.
    shown = status_lines(["table"], lines)
    assert shown[1] == "1 problem found, each with what addresses it:"
    assert [line for line in shown if line.startswith("  -> ")] == [
        "  -> give each application its new pair in", "  -> then phase 3, which drops the old CA:"]
    assert shown[-1] == "     " + ETCD


def test_a_ca_rotation_stopped_in_phase_3_is_ended_by_the_next_run(tmp_path):
    lines = rotation_advice(tmp_path, "ca.pem", "ca-retiring.pem", "ca-bundle.pem")
    assert lines == ["CA rotation: stopped in phase 3 of 3 (members trust the new CA only) -> end it (the members "
                     "trust the new CA only already): %s" % ETCD]


@pytest.mark.parametrize("names", [
    # No rotation under way, or one that ended (the old CA in retired/).
    ("ca.pem", "ca-bundle.pem", "retired/20260101T000000Z-ca.pem"),
    # No PKI directory at all.
    (),
])
def test_no_ca_rotation_under_way_says_nothing(tmp_path, names):
    from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_rotation import rotation_status

    pki_dir = pki_dir_in(tmp_path, *names) if names else str(tmp_path / "none")
    assert rotation_status(pki_dir) is None
    assert status_advice(health(three()), {}, rotation=None) == []


def streamed(member, shipped_at, **more):
    return pushed(dict(dict(member=member, instance="etcd", interval=20, since=shipped_at - 100, shipped_at=shipped_at,
                            last_segment="etcd-stream-0000000000000010-0000000000000034.enc", last_revision=34,
                            gap=None, error=None), **more))


def test_the_change_stream_s_gap_failure_and_silence_are_problems_and_a_sound_stream_is_none():
    now = PROVEN_AT + 1000
    backups = dict(dir="/b", files=[dict(path="/b/etcd-snapshot-1.db", mtime=now)], now=now)
    settings = {"etcd_status_backup_max_age_hours": 100}
    # The member that shipped last speaks for the stream; a member that waits for the claim (no since) says nothing.
    sound = [streamed("etcd-a", now - 300, gap=dict(first=5, last=9, why="old")), streamed("etcd-b", now - 10),
             pushed(dict(member="etcd-c", error="waiting")), {"skipped": True}]
    assert status_advice(health(three()), settings, backups, None, None, streams=sound) == []
    gap = streamed("etcd-b", now - 10, gap=dict(first=35, last=60, why="revisions compacted before the stream read them"))
    assert status_advice(health(three()), settings, backups, None, None, streams=[gap]) == [
        "backups: the change stream has a gap: revisions 35..60 are in no segment (revisions compacted before the "
        "stream read them); a point in time after it is reached only from a full backup taken after it -> take one: "
        "systemctl start etcd-snapshot.service on every member"]
    failed = streamed("etcd-b", now - 10, error="target offsite (s3://b/p/): HTTP 403 AccessDenied")
    assert status_advice(health(three()), settings, backups, None, None, streams=[failed]) == [
        "etcd-b: the change stream failed: target offsite (s3://b/p/): HTTP 403 AccessDenied -> the stream's log: "
        "journalctl -u etcd-backup-stream on etcd-b"]
    silent = streamed("etcd-b", now - 600)
    assert status_advice(health(three()), settings, backups, None, None, streams=[silent]) == [
        "backups: the change stream shipped nothing for 10 minutes (its last segment "
        "etcd-stream-0000000000000010-0000000000000034.enc) -> the stream's log: journalctl -u etcd-backup-stream on etcd-b"]
