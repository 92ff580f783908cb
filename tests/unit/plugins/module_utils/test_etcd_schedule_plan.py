"""The members' timers planned per member (module_utils/plan/operation_plan.py, plan_schedule):
the files written, the timers started or restarted, and what a timer without a schedule or the push
turned off left behind, only where the host read found it."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.operation_plan import plan_schedule

SYSTEMD = "/etc/systemd/system/"
LIB = "/opt/etcd/lib/"
LIB_FILES = [dict(src="files/etcd_maintenance.py", dest=LIB + "etcd_maintenance.py"),
             dict(src="module_utils/cluster/defrag_rule.py", dest=LIB + "etcd_defrag_rule.py")]


def timers(snapshot="*-*-* 02:00", maintenance=""):
    return [
        dict(name="etcd-snapshot", kind="snapshot", unit="etcd-snapshot.timer", schedule=snapshot, after="etcd.service",
             run=["/usr/local/bin/etcd-snapshot"], writable=["/var/backups/etcd"], files=[
                 dict(src="etcd-snapshot.j2", dest="/usr/local/bin/etcd-snapshot", mode="0755"),
                 dict(unit="service", dest=SYSTEMD + "etcd-snapshot.service", mode="0644"),
                 dict(unit="timer", dest=SYSTEMD + "etcd-snapshot.timer", mode="0644")]),
        dict(name="etcd-maintenance", kind="maintenance", unit="etcd-maintenance.timer", schedule=maintenance,
             after="etcd.service", run=["/usr/bin/python3", LIB + "etcd_maintenance.py"], writable=[], files=[
                 dict(src="etcd-maintenance.json.j2", dest=LIB + "etcd_maintenance.json", mode="0644"),
                 dict(unit="service", dest=SYSTEMD + "etcd-maintenance.service", mode="0644"),
                 dict(unit="timer", dest=SYSTEMD + "etcd-maintenance.timer", mode="0644")]),
    ]


def push(on=False, code=False, targets=()):
    return {"on": on, "code": code, "lib_files": [dict(src="files/etcd_backup_push.py", dest=LIB + "etcd_backup_push.py")],
            "known_hosts": LIB + "etcd_backup_push_known_hosts", "known_hosts_template": "known-hosts.j2",
            "settings": LIB + "etcd_backup_push.json", "target_types": [target["type"] for target in targets],
            "paths": [LIB + "etcd_backup_push.py", LIB + "etcd_backup_push.json", LIB + "etcd_backup_push_known_hosts"]}


RUNNING = dict(active="active", enabled="enabled")


def test_a_scheduled_timer_s_files_are_written_and_a_running_timer_is_left_as_it_runs():
    plan = plan_schedule(timers(), push(), LIB_FILES, [], {"etcd-snapshot.timer": RUNNING}, "m0")
    # The units with their text (plugins/module_utils/host/timer_units.py), the script from its template.
    assert [(f["path"], f["owner"], f["mode"]) for f in plan["unit_files"]] == [
        (SYSTEMD + "etcd-snapshot.service", "root", "0644"), (SYSTEMD + "etcd-snapshot.timer", "root", "0644")]
    assert plan["unit_files"][1]["content"].startswith("[Unit]\nDescription=Scheduled snapshots of etcd member m0\n")
    assert [t["file"]["path"] for t in plan["templates"]] == ["/usr/local/bin/etcd-snapshot"]
    assert plan["templates"][0] == dict(file=dict(owner="root", group="root", path="/usr/local/bin/etcd-snapshot",
                                                  mode="0755"), src="etcd-snapshot.j2")
    # No push and no maintenance timer: no code to copy.
    assert plan["copies"] == []
    assert plan["timers"] == [dict(name="etcd-snapshot", running=True, paths=[
        "/usr/local/bin/etcd-snapshot", SYSTEMD + "etcd-snapshot.service", SYSTEMD + "etcd-snapshot.timer"])]
    assert (plan["push_ssh"], plan["push_withdrawn"], plan["unscheduled"], plan["unscheduled_timers"]) == (
        False, False, [], [])


@pytest.mark.parametrize("units", [{}, {"etcd-snapshot.timer": dict(active="inactive", enabled="enabled")},
                                   {"etcd-snapshot.timer": dict(active="active", enabled="disabled")}])
def test_a_timer_not_running_or_not_enabled_or_not_read_is_started(units):
    assert plan_schedule(timers(), push(), LIB_FILES, [], units, "m0")["timers"][0]["running"] is False


def test_the_push_brings_its_code_its_host_keys_and_the_maintenance_code():
    plan = plan_schedule(timers(), push(on=True, code=True, targets=[dict(type="s3"), dict(type="ssh")]),
                         LIB_FILES, [], {}, "m0")
    assert [c["file"]["path"] for c in plan["copies"]] == [
        LIB + "etcd_maintenance.py", LIB + "etcd_defrag_rule.py", LIB + "etcd_backup_push.py"]
    assert all(c["file"]["mode"] == "0644" for c in plan["copies"])
    assert plan["templates"][-1] == dict(file=dict(owner="root", group="root", path=LIB + "etcd_backup_push_known_hosts",
                                                   mode="0644"), src="known-hosts.j2")
    assert plan["push_ssh"] is True
    assert plan_schedule(timers(), push(on=True, code=True, targets=[dict(type="s3")]), LIB_FILES, [], {}, "m0")["push_ssh"] is False


def test_a_push_to_s3_installs_debian_s_boto3_where_the_read_did_not_find_it():
    def packages(boto3_found=False, **settings):
        return plan_schedule(timers(), push(**settings), LIB_FILES, [], {}, "m0", boto3_found=boto3_found)["packages"]

    assert packages(on=True, code=True, targets=[dict(type="ssh"), dict(type="s3")]) == ["python3-boto3"]
    assert packages(on=True, code=True, targets=[dict(type="s3")], boto3_found=True) == []
    assert packages(on=True, code=True, targets=[dict(type="ssh")]) == []
    assert packages(on=False, targets=[dict(type="s3")]) == []


def test_what_an_unscheduled_timer_and_the_push_turned_off_left_behind_goes_only_where_found():
    found = [SYSTEMD + "etcd-maintenance.timer", LIB + "etcd_maintenance.json", LIB + "etcd_maintenance.py",
             LIB + "etcd_backup_push.json", SYSTEMD + "etcd-snapshot.timer", SYSTEMD + "etcd-maintenance.timer"]
    plan = plan_schedule(timers(), push(), LIB_FILES, found, {}, "m0")
    # The snapshot timer keeps its schedule: its files stay; each path once, in the read's order.
    assert plan["unscheduled"] == [SYSTEMD + "etcd-maintenance.timer", LIB + "etcd_maintenance.json",
                                   LIB + "etcd_maintenance.py", LIB + "etcd_backup_push.json"]
    assert plan["unscheduled_timers"] == ["etcd-maintenance.timer"]
    # The push's settings are there while it is off: the member's key comes off the targets' hosts first.
    assert plan["push_withdrawn"] is True


def test_code_still_used_stays():
    found = [LIB + "etcd_maintenance.py", LIB + "etcd_backup_push.json"]
    plan = plan_schedule(timers(maintenance="weekly"), push(on=True, code=True), LIB_FILES, found, {}, "m0")
    assert plan["unscheduled"] == [] and plan["push_withdrawn"] is False


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="must be lists"):
        plan_schedule("etcd-snapshot", push(), LIB_FILES, [], {}, "m0")


def test_the_change_stream_restarts_when_what_it_read_at_its_start_changes():
    stream = dict(name="etcd-backup-stream", kind="backup-stream", unit="etcd-backup-stream.timer", schedule="20",
                  after="etcd.service", run=["/usr/bin/python3", LIB + "etcd_backup_stream.py"], writable=[],
                  restart_on=[LIB + "etcd_backup_push.json", LIB + "etcd_backup_push.py"], files=[
                      dict(unit="service", dest=SYSTEMD + "etcd-backup-stream.service", mode="0644"),
                      dict(unit="timer", dest=SYSTEMD + "etcd-backup-stream.timer", mode="0644")])
    plan = plan_schedule([*timers(), stream], push(on=True, code=True), LIB_FILES, [],
                         {"etcd-backup-stream.timer": RUNNING}, "m0")
    assert plan["timers"][-1] == dict(name="etcd-backup-stream", running=True, paths=[
        SYSTEMD + "etcd-backup-stream.service", SYSTEMD + "etcd-backup-stream.timer", LIB + "etcd_backup_push.json",
        LIB + "etcd_backup_push.py"])
