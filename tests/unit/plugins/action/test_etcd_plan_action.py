"""The etcd_plan action: it reads each play host's read and each member's restart note from the
hosts' variables, adds the settings given, and returns the plan (module_utils/etcd_plan.py) with
changed=false; it asks no host anything, and bad arguments fail with the action's name."""

import hashlib
from unittest.mock import MagicMock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_plan import ActionModule

MEMBERS = [dict(host="h%d" % i, name="m%d" % i, address="10.0.0.%d" % (10 + i),
                peer_url="https://10.0.0.%d:2380" % (10 + i), client_url="https://10.0.0.%d:2379" % (10 + i))
           for i in range(3)]


def report(i, release="3.5.17"):
    settings = dict(ETCD_NAME="m%d" % i, ETCD_INITIAL_ADVERTISE_PEER_URLS="https://10.0.0.%d:2380" % (10 + i),
                    ETCD_ADVERTISE_CLIENT_URLS="https://10.0.0.%d:2379" % (10 + i))
    peers = [dict(id="a%d" % j, name="m%d" % j, started=True, peer_urls=["https://10.0.0.%d:2380" % (10 + j)])
             for j in range(3)]
    local = dict(cluster=dict(id="c1"), members=peers)
    return dict(info=dict(settings=settings, has_data=True, data_dir="/var/lib/etcd", release=release), local=local,
                wanted=dict(data_dir="/var/lib/etcd", wal_dir=""))


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._task.check_mode = False
    module._execute_module = MagicMock(side_effect=AssertionError("the plan asks no host"))
    return module


def run(action, hostvars, play=("h0", "h1", "h2"), play_all=None, **args):
    action._task.args = dict(dict(members=MEMBERS), **args)
    return action.run(task_vars=dict(hostvars=hostvars, ansible_play_hosts=list(play),
                                     ansible_play_hosts_all=list(play_all or play), ansible_forks=5))


def test_the_hosts_step_reads_each_play_host_s_report(action):
    hostvars = {"h%d" % i: dict(_etcd_host_report=report(i, "3.5.16" if i == 2 else "3.5.17")) for i in range(3)}
    plan = run(action, hostvars, stage="hosts", settings=dict(version="3.5.17", group="etcd"))
    assert plan["changed"] is False and "failed" not in plan
    assert plan["with_data"] == ["h0", "h1", "h2"] and plan["binaries_outdated"] == ["h2"]
    # No etcd_cluster_token: one is generated, the group's name and 16 random characters.
    assert plan["new_token"].startswith("etcd-") and len(plan["new_token"]) == len("etcd-") + 16
    assert action._execute_module.call_count == 0


def test_a_host_that_dropped_out_of_the_play_is_refused_by_name(action):
    hostvars = {"h%d" % i: dict(_etcd_host_report=report(i)) for i in range(3)}
    plan = run(action, hostvars, play=("h0", "h1"), play_all=("h0", "h1", "h2"), stage="hosts",
               settings=dict(version="3.5.17"))
    assert plan["unanswered"] == ["h2"] and plan["problems"][0].startswith("host h2: its read failed")


def test_the_roll_step_reads_the_restart_notes_of_the_members_with_data(action):
    hostvars = {"h0": dict(_etcd_restart_due=True), "h1": dict(_etcd_restart_due=False), "h2": dict(_etcd_restart_due=True)}
    first = dict(with_data=["h0", "h1", "h2"], status_read="preflight", changed=False)
    plan = run(action, hostvars, stage="roll", plan=first, leader="m0")
    assert plan["roll"] == ["h2", "h0"] and plan["status_read"] == "none"


def test_the_converge_step_reads_what_each_member_found_out_of_date(action):
    # h1's files call found a restart needed; h0's binaries link to another release; h2 has a note
    # left and had no files written in this run.
    hostvars = {"h%d" % i: dict(_etcd_host_report=dict(info=dict(present=["/note"] if i == 2 else [])))
                for i in range(3)}
    hostvars["h0"]["_etcd_member_files"] = dict(restart_needed=False)
    hostvars["h1"]["_etcd_member_files"] = dict(restart_needed=True)
    first = dict(with_data=["h0", "h1", "h2"], bootstrap=False, running_other_release=[], not_serving=[], rejoin={},
                 new=[], learners=[], existing_wait=False, binaries_outdated=["h0", "h2"], auth_phase=False,
                 changed=False)
    plan = run(action, hostvars, stage="converge", plan=first, settings=dict(restart_note_path="/note"))
    assert plan["restart_due"] == ["h0", "h1", "h2"] and plan["converge"] is True and "failed" not in plan
    assert plan["outdated"] == ["h0", "h1"] and plan["later_phases"] is True
    quiet = {host: dict(values, _etcd_member_files=dict(restart_needed=False), _etcd_host_report=dict(info={}))
             for host, values in hostvars.items()}
    plan = run(action, quiet, stage="converge", plan=dict(first, binaries_outdated=[]),
               settings=dict(restart_note_path="/note"))
    assert plan["converge"] is False and plan["outdated"] == [] and plan["later_phases"] is False
    # A timer with a schedule has its phase even when the cluster has nothing to do.
    assert run(action, quiet, stage="converge", plan=dict(first, binaries_outdated=[]),
               settings=dict(restart_note_path="/note", timers=True))["later_phases"] is True


def test_the_hosts_step_refuses_hosts_that_cannot_run_etcd_before_its_own_refusal(action):
    hostvars = {"h%d" % i: dict(_etcd_host_report=report(i), ansible_architecture="x86_64") for i in range(3)}
    hostvars["h1"]["ansible_architecture"] = "sparc"
    hostvars["h2"]["_etcd_host_report"]["info"]["calendars"] = dict(
        etcd_backup_schedule=dict(expression="often", error="Failed to parse"))
    settings = dict(version="3.5.17", group="etcd", group_hosts=["h0", "h1", "h2"], architectures=["x86_64"])
    plan = run(action, hostvars, stage="hosts", settings=settings)
    assert plan["refusal"].startswith("host h2: etcd_backup_schedule=often: systemd does not read it")
    assert "; host h1: unsupported architecture sparc; etcd releases exist for x86_64" in plan["refusal"]
    hostvars["h1"]["ansible_architecture"] = "x86_64"
    del hostvars["h2"]["_etcd_host_report"]["info"]["calendars"]
    assert run(action, hostvars, stage="hosts", settings=settings)["refusal"] == ""


def auth_refused_report(i):
    refused = dict(endpoints=[dict(status_error="etcdserver: user name is empty")])
    return dict(report(i), info=dict(report(i)["info"], local_health=refused))


def test_auth_turned_on_outside_the_role_is_refused_without_a_root_login_and_read_again_as_root_with_one(action):
    hostvars = {"h%d" % i: dict(_etcd_host_report=auth_refused_report(i) if i else report(i), ansible_architecture="x86_64")
                for i in range(3)}
    settings = dict(version="3.5.17", group_hosts=["h0", "h1", "h2"], architectures=["x86_64"])
    plan = run(action, hostvars, stage="hosts", settings=settings)
    assert plan["auth_refused"] == {"h1": "etcdserver: user name is empty", "h2": "etcdserver: user name is empty"}
    assert plan["refusal"].startswith("auth is enabled on the cluster (turned on outside this role?): set etcd_auth_root_password")
    assert plan["refusal"].endswith("etcd on h1, h2 refused the role's read: etcdserver: user name is empty. No host was changed.")
    assert plan["root_login_read"] is False
    plan = run(action, hostvars, stage="hosts", settings=dict(settings, root_login=True))
    assert plan["root_login_read"] is True
    # Each is asked as root where its etcd listens now, else where the inventory has it listen.
    hostvars["h1"]["_etcd_host_report"]["info"]["settings"]["ETCD_LISTEN_CLIENT_URLS"] = (
        "https://10.0.0.11:2379,https://127.0.0.1:12379")
    hostvars["h2"]["_etcd_host_report"]["wanted"]["local_endpoint"] = "https://127.0.0.1:2379"
    assert run(action, hostvars, stage="hosts", settings=dict(settings, root_login=True))["root_read_endpoints"] == {
        "h1": "https://127.0.0.1:12379", "h2": "https://127.0.0.1:2379"}
    # Asked again as root: a wrong password is refused by name; the right one lets the plan read the members.
    for i in (1, 2):
        hostvars["h%d" % i]["_etcd_local_health_as_root"] = dict(
            endpoints=[dict(status_error="etcdserver: authentication failed, invalid user ID or password")])
    plan = run(action, hostvars, stage="hosts", settings=dict(settings, root_login=True))
    assert plan["refusal"].startswith("auth is enabled on the cluster, and etcd refused the role's root login on h1, h2: ")
    for i in (1, 2):
        hostvars["h%d" % i]["_etcd_local_health_as_root"] = report(i)["local"]
    plan = run(action, hostvars, stage="hosts", settings=dict(settings, root_login=True))
    assert plan["refusal"] == "" and plan["with_data"] == ["h0", "h1", "h2"]


def test_the_cluster_step_refuses_a_run_lock_another_run_holds(action):
    first = run(action, {"h%d" % i: dict(_etcd_host_report=report(i), ansible_architecture="x86_64") for i in range(3)},
                stage="hosts",
                settings=dict(version="3.5.17", group_hosts=["h0", "h1", "h2"], architectures=["x86_64"]))
    first.pop("changed")
    health = dict(endpoints=[dict(member="m%d" % i, healthy=True, version="3.5.17") for i in range(3)])
    hostvars = {"h%d" % i: dict(_etcd_host_report=report(i)) for i in range(3)}
    held = dict(acquired=False, msg="the run lock is held by another run (ctl 123)")
    plan = run(action, hostvars, stage="cluster", plan=first, health=health,
               settings=dict(version="3.5.17", lock_read=held))
    assert plan["cluster_refusal"] == "the run lock is held by another run (ctl 123)"
    for lock_read in ({}, dict(skipped=True), dict(acquired=True), dict(held, cluster=dict(msg="no endpoint answered"))):
        plan = run(action, hostvars, stage="cluster", plan=first, health=health,
                   settings=dict(version="3.5.17", lock_read=lock_read))
        assert plan["cluster_refusal"] == ""


@pytest.mark.parametrize("args, message", [
    (dict(stage="later"), "value of stage must be one of: hosts, cluster, converge, roll, removal, removal_check, got: later"),
    (dict(stage="cluster", plan={}), "cannot plan the cluster step"),
])
def test_bad_arguments_fail_naming_the_action(action, args, message):
    result = run(action, {}, **args)
    assert result["failed"] is True and result["msg"].startswith("raftops.etcd.etcd_plan: ")
    assert message in result["msg"]


def test_the_run_s_warnings_are_a_field_not_ansible_s_own_warnings(action):
    # A result's "warnings" would be shown by Ansible as well as by the task that shows the field.
    hostvars = {"h%d" % i: dict(_etcd_host_report=report(i, "3.5.1")) for i in range(3)}
    plan = run(action, hostvars, stage="hosts", settings=dict(version="3.5.1"))
    assert "warnings" not in plan and plan["run_warnings"][0].startswith("WARNING: etcd 3.5.1 has known data")


def run_removal(action, hostvars, play, **args):
    action._task.args = args
    return action.run(task_vars=dict(hostvars=hostvars, ansible_play_hosts=list(play), ansible_play_hosts_all=list(play),
                                     groups=dict(etcd=["h0", "h1", "h2"], other=["x"])))


REMOVAL_HOSTVARS = {"h%d" % i: dict(NODE_NAME="m%d" % i, etcd_address="10.0.0.%d" % (10 + i),
                                    _etcd_remove_facts=dict(unreachable=i == 2) if i else dict(changed=False))
                    for i in range(3)}


def test_the_removal_step_reads_which_hosts_answered_and_names_the_group_s_members(action):
    # h2 is dead (unreachable, still in the play) and has no facts; its address is not needed.
    hostvars = dict(REMOVAL_HOSTVARS, h2=dict(NODE_NAME="m2", _etcd_remove_facts=dict(unreachable=True)))
    plan = run_removal(action, hostvars, ["h0", "h1", "h2"], stage="removal", requested="m2",
                       settings=dict(group="etcd", revokes=True))
    assert "failed" not in plan and plan["changed"] is False
    assert plan["targets"] == [dict(host="h2", name="m2")] and plan["unretired"] == ["h2"]
    assert plan["with_data"] == ["h0", "h1"] and plan["stable_client_urls"] == [
        "https://10.0.0.10:2379", "https://10.0.0.11:2379"]
    dead_survivor = run_removal(action, hostvars, ["h0", "h1", "h2"], stage="removal", requested="m1",
                                settings=dict(group="etcd"))
    assert dead_survivor["unanswered"] == ["h2"] and dead_survivor["with_data"] == ["h0"]
    assert action._execute_module.call_count == 0


def test_the_removal_check_compares_the_ca_each_survivor_trusts_with_the_controller_s(action, tmp_path):
    (tmp_path / "ca.pem").write_bytes(b"the CA\n")
    ours = hashlib.sha256(b"the CA\n").hexdigest()
    first = dict(targets=[dict(host="h2", name="m2")], with_data=["h0", "h1"], problems=[], revokes=True, changed=False)
    hostvars = dict(h0=dict(_etcd_remove_member_ca=dict(stat=dict(exists=True, checksum=ours))),
                    h1=dict(_etcd_remove_member_ca=dict(skipped=True)))
    members = [dict(name=n, healthy=True, is_learner=False) for n in ("m0", "m1", "m2")]
    settings = dict(group="etcd", requested="m2", pki_dir=str(tmp_path), pki_host_dir="/etc/etcd/pki")
    plan = run_removal(action, hostvars, ["h0", "h1"], stage="removal_check", plan=first,
                       membership=dict(members=members, changed=False), settings=settings)
    assert plan["refusal"] == "" and plan["crl_hosts"] == ["h0"]
    (tmp_path / "ca.pem").write_bytes(b"another CA\n")
    other = run_removal(action, hostvars, ["h0", "h1"], stage="removal_check", plan=first,
                        membership=dict(members=members), settings=settings)
    assert other["refusal"].startswith("etcd_pki_dir %s holds another CA than /etc/etcd/pki/ca.pem on h0" % tmp_path)
    (tmp_path / "ca.pem").unlink()
    none = run_removal(action, hostvars, ["h0", "h1"], stage="removal_check", plan=first,
                       membership=dict(members=members), settings=settings)
    assert none["refusal"].startswith("etcd_pki_dir %s holds no ca.pem" % tmp_path)


def test_a_group_host_without_an_address_fails_the_removal_step_naming_it(action):
    hostvars = dict(REMOVAL_HOSTVARS, h1=dict(NODE_NAME="m1", _etcd_remove_facts={}))
    result = run_removal(action, hostvars, ["h0", "h1", "h2"], stage="removal", requested="m2",
                         settings=dict(group="etcd"))
    assert result["failed"] is True and "cannot plan the removal step: invalid etcd inventory:\n  - host h1: no address" in result["msg"]
