"""The etcd_plan action: it reads each play host's read and each member's restart note from the
hosts' variables, adds the settings given, and returns the plan (module_utils/plan/plan.py) with
changed=false; it asks no host anything, and bad arguments fail with the action's name."""

import hashlib
import os
from unittest.mock import ANY, MagicMock

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_plan import ActionModule
from ansible_collections.raftops.etcd.plugins.module_utils.plan import plan as etcd_plan

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


def as_read(report):
    """A report as each host's read holds it (_etcd_host_info): what it read, and its derived settings."""
    return dict(report.get("info") or {}, host_settings=dict(wanted=report.get("wanted") or {}))


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
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(report(i, "3.5.16" if i == 2 else "3.5.17"))) for i in range(3)}
    plan = run(action, hostvars, stage="hosts", settings=dict(version="3.5.17", group="etcd"))
    assert plan["changed"] is False and "failed" not in plan
    assert plan["with_data"] == ["h0", "h1", "h2"] and plan["binaries_outdated"] == ["h2"]
    # No etcd_cluster_token: one is generated, the group's name and 16 random characters.
    assert plan["new_token"].startswith("etcd-") and len(plan["new_token"]) == len("etcd-") + 16
    assert action._execute_module.call_count == 0


# The role's variables preflight's steps plan with (the action reads them: preflight.yml gives no settings).
ROLE_VARS = dict(
    etcd_version="3.5.17", etcd_discard_foreign_data=False, etcd_cluster_token="etcd-given", etcd_group="etcd",
    etcd_preflight_hardware="warn", etcd_auth_enabled=False, etcd_roles=[], etcd_users=[], etcd_auth_root_password="",
    etcd_tls="true", etcd_pki_managed="true", etcd_auto_tls=False, etcd_bootstrap="static", etcd_allow_downgrade=False,
    etcd_pki_replace_ca=False, etcd_pki_rotate_ca=False, etcd_downgrade_cancel=False, etcd_quota_backend_bytes="0",
    etcd_run_lock=True, etcd_run_lock_ttl=60, etcd_run_lock_wait=30,
    _etcd_host=dict(pki_settings={}, run_lock_prefix="/raftops/etcd/"))


def test_the_hosts_step_plans_with_the_role_s_variables_when_given_no_settings(action):
    action._templar.template = lambda value: value
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(report(i, "3.5.16" if i == 2 else "3.5.17"))) for i in range(3)}
    action._task.args = dict(members=MEMBERS, stage="hosts")
    task_vars = dict(ROLE_VARS, hostvars=hostvars, ansible_play_hosts=["h0", "h1", "h2"], groups=dict(etcd=["h0", "h1", "h2"]))
    plan = action.run(task_vars=task_vars)
    # etcd_cluster_token, not a generated one; etcd_version, which h2 does not run.
    assert plan["new_token"] == "etcd-given" and plan["binaries_outdated"] == ["h2"]
    assert action._deploy_settings(dict(settings={}), dict(ROLE_VARS, etcd_auth_root_password="secret"))["root_login"] is True
    # Settings given (as the tests give them) are the settings.
    assert action._deploy_settings(dict(settings=dict(version="3.5.16")), ROLE_VARS) == dict(version="3.5.16")


def test_the_hosts_step_takes_the_member_a_quorum_recovery_grew_from_of_the_plan_before_it(action):
    # recover_quorum.yml: the recovery's plan is the one registered before the role's run.
    action._templar.template = lambda value: value
    recovery = dict(action="grow", reference="m1", lost_hosts=[])
    assert action._deploy_settings(dict(settings={}), dict(ROLE_VARS, _etcd_plan=recovery))["hash_reference"] == "m1"
    assert action._deploy_settings(dict(settings={}), dict(ROLE_VARS))["hash_reference"] == ""
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(report(i))) for i in range(3)}
    action._task.args = dict(members=MEMBERS, stage="hosts")
    plan = action.run(task_vars=dict(ROLE_VARS, _etcd_plan=recovery, hostvars=hostvars, ansible_play_hosts=["h0", "h1", "h2"],
                                     groups=dict(etcd=["h0", "h1", "h2"])))
    assert plan["hash_reference"] == "m1"


def test_a_stage_given_no_connection_calls_etcd_as_the_role_s_modules_do(action):
    # As the lookup raftops.etcd.etcd_connection gives the entry task files: the member's server pair, a root login.
    action._templar.template = lambda value: value
    role = dict(ROLE_VARS, etcd_auth_root_password="secret", _etcd_host=dict(
        ROLE_VARS["_etcd_host"], pki_host_dir="/etc/etcd/pki", client_pair_found=[], pki_settings=dict(pair_key="k")))
    params = dict(connection={})
    first = action._connection_options(params, role)
    assert first == dict(
        ca_cert="/etc/etcd/pki/ca.pem", client_cert="/etc/etcd/pki/server.pem", client_key="/etc/etcd/pki/server-key.pem",
        client_cert_content=None, client_key_content=None, auth_user="root", auth_password="secret", tls_verify=True)
    # A step that calls etcd again in the same task works nothing out twice.
    action._templar.template = MagicMock(side_effect=AssertionError("the host's settings templated again"))
    assert action._connection_options(params, role) is first
    assert action._connection_options(dict(connection=dict(tls_verify=False)), role) == dict(tls_verify=False)


def test_a_host_that_dropped_out_of_the_play_is_refused_by_name(action):
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(report(i))) for i in range(3)}
    plan = run(action, hostvars, play=("h0", "h1"), play_all=("h0", "h1", "h2"), stage="hosts",
               settings=dict(version="3.5.17"))
    assert plan["unanswered"] == ["h2"] and plan["problems"][0].startswith("host h2: its read failed")


def test_the_roll_step_reads_the_restart_notes_of_the_members_with_data(action):
    # Each member's restart note (restart_note.yml's etcd_member_files call); h3's was skipped.
    hostvars = {"h0": dict(_etcd_member_files=dict(restart=True)), "h1": dict(_etcd_member_files=dict(restart=False)),
                "h2": dict(_etcd_member_files=dict(restart=True)), "h3": dict(_etcd_member_files=dict(skipped=True))}
    first = dict(with_data=["h0", "h1", "h2", "h3"], status_read="preflight", changed=False)
    plan = run(action, hostvars, stage="roll", plan=first, leader="m0")
    assert plan["roll"] == ["h2", "h0"] and plan["status_read"] == "none"
    # Given a leader, even none known (""), the cluster is not asked.
    assert run(action, hostvars, stage="roll", plan=first, leader="")["roll"] == ["h0", "h2"]
    assert action._execute_module.call_count == 0
    assert plan["roll_names"] == {"h0": "m0", "h2": "m2"}


def test_a_roll_given_no_leader_takes_preflight_s_while_its_read_stands(action):
    # existing.yml did not wait: preflight's leader (m0) restarts last, and the cluster is not asked.
    hostvars = {"h%d" % i: dict(_etcd_member_files=dict(restart=True)) for i in range(3)}
    first = dict(with_data=["h0", "h1", "h2"], existing_wait=False, leader="m0", status_read="preflight", changed=False)
    plan = run(action, hostvars, stage="roll", plan=first, settings=ROLL_SETTINGS)
    assert plan["roll"] == ["h1", "h2", "h0"] and action._execute_module.call_count == 0
    # existing.yml waited: the leader is read again (m1 now).
    action._execute_module = MagicMock(return_value=dict(changed=False, healthy=True, cluster=dict(leader="m1")))
    plan = run(action, hostvars, stage="roll", plan=dict(first, existing_wait=True), settings=ROLL_SETTINGS)
    assert plan["roll"] == ["h0", "h2", "h1"] and action._execute_module.call_count == 1


ROLL_SETTINGS = dict(endpoints=["https://10.0.0.10:2379"], health_timeout=60)


def test_a_roll_given_no_leader_reads_it_once_the_cluster_is_healthy(action):
    # A CA rotation's round: its members just got new files, so the leader is read now.
    hostvars = {"h%d" % i: dict(_etcd_member_files=dict(restart=True)) for i in range(3)}
    first = dict(with_data=["h0", "h1", "h2"], status_read="none", changed=False)
    action._execute_module = MagicMock(return_value=dict(changed=False, healthy=True, cluster=dict(leader="m1")))
    plan = run(action, hostvars, stage="roll", plan=first, connection=dict(cacert="/ca.pem"), settings=ROLL_SETTINGS,
               rotation_phase="reissue")
    assert "failed" not in plan and plan["roll"] == ["h0", "h2", "h1"]
    action._execute_module.assert_called_once_with(
        module_name="raftops.etcd.etcd_health", task_vars=ANY,
        module_args=dict(cacert="/ca.pem", endpoints=["https://10.0.0.10:2379"], wait=True, wait_timeout=60))


def test_a_roll_whose_leader_read_fails_restarts_nobody_and_says_why(action):
    hostvars = {"h0": dict(_etcd_member_files=dict(restart=True))}
    action._execute_module = MagicMock(return_value=dict(failed=True, msg="member m2 is not healthy: timeout",
                                                         invocation=dict(module_args=dict(password="secret"))))
    plan = run(action, hostvars, stage="roll", plan=dict(with_data=["h0"]), settings=ROLL_SETTINGS)
    assert plan["failed"] is True and "roll" not in plan and "secret" not in str(plan)
    assert plan["msg"] == ("raftops.etcd.etcd_plan: cannot plan the roll step: the cluster's leader could not be "
                           "read: member m2 is not healthy: timeout; no member was restarted")


def test_the_converge_step_reads_what_each_member_found_out_of_date(action):
    # h1's files call found a restart needed; h0's binaries link to another release; h2 has a note
    # left and had no files written in this run.
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(dict(info=dict(present=["/note"] if i == 2 else []))))
                for i in range(3)}
    hostvars["h0"]["_etcd_member_files"] = dict(restart_needed=False)
    hostvars["h1"]["_etcd_member_files"] = dict(restart_needed=True)
    first = dict(with_data=["h0", "h1", "h2"], bootstrap=False, running_other_release=[], not_serving=[], rejoin={},
                 new=[], learners=[], existing_wait=False, binaries_outdated=["h0", "h2"], auth_phase=False,
                 changed=False)
    plan = run(action, hostvars, stage="converge", plan=first, settings=dict(restart_note_path="/note"))
    assert plan["restart_due"] == ["h0", "h1", "h2"] and plan["converge"] is True and "failed" not in plan
    assert plan["outdated"] == ["h0", "h1"] and plan["later_phases"] is True
    quiet = {host: dict(values, _etcd_member_files=dict(restart_needed=False), _etcd_host_info=as_read(dict(info={})))
             for host, values in hostvars.items()}
    plan = run(action, quiet, stage="converge", plan=dict(first, binaries_outdated=[]),
               settings=dict(restart_note_path="/note"))
    assert plan["converge"] is False and plan["outdated"] == [] and plan["later_phases"] is False
    # A timer with a schedule has its phase even when the cluster has nothing to do.
    assert run(action, quiet, stage="converge", plan=dict(first, binaries_outdated=[]),
               settings=dict(restart_note_path="/note", timers=True))["later_phases"] is True
    assert "scrape_targets" not in plan
    # With etcd_metrics=address the members' scrape targets are written: a later phase, and the plan's field.
    scraped = run(action, quiet, stage="converge", plan=dict(first, binaries_outdated=[]),
                  settings=dict(restart_note_path="/note", metrics_targets=True, metrics_port="2381", instance="etcd",
                                tls=True))
    assert scraped["later_phases"] is True and [t["targets"] for t in scraped["scrape_targets"]] == [
        ["10.0.0.10:2381"], ["10.0.0.11:2381"], ["10.0.0.12:2381"]]
    assert scraped["scrape_targets"][0]["labels"] == {"__scheme__": "https", "cluster": "etcd", "instance": "m0"}


def test_the_converge_step_judges_the_status_on_preflight_s_read_when_nothing_changes_after_it(action):
    from ansible_collections.raftops.etcd.plugins.module_utils.cluster.status_advice import status_advice, status_lines
    from ansible_collections.raftops.etcd.tests.unit.plugins.status_sample import health, member

    members = [dict(host="h%d" % i, name="etcd-%d" % i, client_url="https://10.0.0.%d:2379" % i) for i in (1, 2, 3)]
    quiet = {"h%d" % i: dict(_etcd_member_files=dict(restart_needed=False), _etcd_host_info=as_read(dict(info={})))
             for i in (1, 2, 3)}
    first = dict(with_data=["h1", "h2", "h3"], bootstrap=False, running_other_release=[], not_serving=[], rejoin={},
                 new=[], learners=[], existing_wait=False, binaries_outdated=[], auth_phase=False,
                 all_members_in_run=True, status_read="preflight")
    settings = dict(restart_note_path="/note", version="3.5.17", status_settings=dict(etcd_group="etcd"))

    def converge(read, plan=None, **more):
        action._task.args = dict(members=members, stage="converge", plan=dict(plan or first, cluster_read=read),
                                 settings=dict(settings, **more))
        return action.run(task_vars=dict(hostvars=quiet, ansible_play_hosts=["h1", "h2", "h3"]))

    read = health([member(1, version="3.5.17"), member(2, version="3.5.17"), member(3, version="3.5.17")])
    read["cluster"]["version"] = "3.5.0"
    plan = converge(read)
    assert plan["later_phases"] is False and plan["status"]["refusal"] == ""
    assert plan["status"]["lines"] == status_lines(read["table"], status_advice(read, dict(etcd_group="etcd")))
    # A later phase, another read named, no status settings (a run of only some tags), a member on another
    # release or a cluster version still to come: the status step judges it, not this one.
    assert "status" not in converge(read, timers=True)
    assert "status" not in converge(read, plan=dict(first, status_read="none"))
    action._task.args = dict(members=members, stage="converge", plan=dict(first, cluster_read=read),
                             settings=dict(restart_note_path="/note"))
    assert "status" not in action.run(task_vars=dict(hostvars=quiet, ansible_play_hosts=["h1"]))
    other = health([member(1, version="3.5.16"), member(2, version="3.5.17"), member(3, version="3.5.17")])
    other["cluster"]["version"] = "3.5.0"
    assert "status" not in converge(other)
    behind = health([member(1, version="3.5.17"), member(2, version="3.5.17"), member(3, version="3.5.17")])
    behind["cluster"]["version"] = "3.4.0"
    assert "status" not in converge(behind)


def test_the_hosts_step_refuses_hosts_that_cannot_run_etcd_before_its_own_refusal(action):
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(report(i)), ansible_architecture="x86_64") for i in range(3)}
    hostvars["h1"]["ansible_architecture"] = "sparc"
    hostvars["h2"]["_etcd_host_info"]["calendars"] = dict(
        etcd_backup_schedule=dict(expression="often", error="Failed to parse"))
    settings = dict(version="3.5.17", group="etcd", group_hosts=["h0", "h1", "h2"])
    plan = run(action, hostvars, stage="hosts", settings=settings)
    assert plan["refusal"].startswith("host h2: etcd_backup_schedule=often: systemd does not read it")
    assert "; host h1: unsupported architecture sparc; etcd releases exist for x86_64, aarch64, ppc64le, s390x" in plan["refusal"]
    hostvars["h1"]["ansible_architecture"] = "x86_64"
    del hostvars["h2"]["_etcd_host_info"]["calendars"]
    assert run(action, hostvars, stage="hosts", settings=settings)["refusal"] == ""


def auth_refused_report(i):
    refused = dict(endpoints=[dict(status_error="etcdserver: user name is empty")])
    return dict(report(i), info=dict(report(i)["info"], local_health=refused))


def test_auth_turned_on_outside_the_role_is_refused_without_a_root_login_and_read_again_as_root_with_one(action):
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(auth_refused_report(i) if i else report(i)), ansible_architecture="x86_64")
                for i in range(3)}
    settings = dict(version="3.5.17", group_hosts=["h0", "h1", "h2"])
    plan = run(action, hostvars, stage="hosts", settings=settings)
    assert plan["auth_refused"] == {"h1": "etcdserver: user name is empty", "h2": "etcdserver: user name is empty"}
    assert plan["refusal"].startswith("auth is enabled on the cluster (turned on outside this role?): set etcd_auth_root_password")
    assert plan["refusal"].endswith("etcd on h1, h2 refused the role's read: etcdserver: user name is empty. No host was changed.")
    assert plan["root_login_read"] is False
    plan = run(action, hostvars, stage="hosts", settings=dict(settings, root_login=True))
    assert plan["root_login_read"] is True
    # Each is asked as root where its etcd listens now, else where the inventory has it listen.
    hostvars["h1"]["_etcd_host_info"]["settings"]["ETCD_LISTEN_CLIENT_URLS"] = (
        "https://10.0.0.11:2379,https://127.0.0.1:12379")
    hostvars["h2"]["_etcd_host_info"]["host_settings"]["wanted"]["local_endpoint"] = "https://127.0.0.1:2379"
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


def hosts_plan(action):
    """The hosts step's plan of three members with data, for the cluster step."""
    first = run(action, {"h%d" % i: dict(_etcd_host_info=as_read(report(i)), ansible_architecture="x86_64") for i in range(3)},
                stage="hosts", settings=dict(version="3.5.17", group_hosts=["h0", "h1", "h2"]))
    first.pop("changed")
    return first


HEALTH = dict(healthy=True, endpoints=[dict(member="m%d" % i, healthy=True, version="3.5.17") for i in range(3)])
LOCK_SETTINGS = dict(version="3.5.17", run_lock=True, lock_prefix="/raftops/etcd/", lock_ttl=60, lock_wait=0, quota_bytes=8)


def lock_answer(action, answer):
    lock = MagicMock()
    lock.run.return_value = dict(answer, invocation=dict(module_args={}))
    action._shared_loader_obj = MagicMock()
    action._shared_loader_obj.action_loader.get.return_value = lock
    return lock


def cluster_step(action, plan, settings, **task_vars):
    action._task.args = dict(members=MEMBERS, stage="cluster", plan=plan, connection=dict(ca_cert="/ca.pem"),
                             settings=settings, refuse=True)
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(report(i))) for i in range(3)}
    return action.run(task_vars=dict(dict(hostvars=hostvars, ansible_play_hosts=["h0", "h1", "h2"]), **task_vars))


def test_the_cluster_step_reads_the_cluster_in_the_call_that_takes_the_run_lock(action):
    first = hosts_plan(action)
    lock = lock_answer(action, dict(acquired=True, lease_id="7f", cluster=HEALTH))
    plan = cluster_step(action, first, LOCK_SETTINGS)
    assert action._shared_loader_obj.action_loader.get.call_args[0] == ("raftops.etcd.etcd_lock",)
    assert action._shared_loader_obj.action_loader.get.call_args[1]["task"].args == dict(
        ca_cert="/ca.pem", endpoints=first["stable_client_urls"], quota_bytes=8, read_cluster=True,
        prefix="/raftops/etcd/", name="run", ttl=60, wait_timeout=0)
    assert lock.run.call_count == 1 and action._execute_module.call_count == 0
    assert (plan["cluster_read"], plan["run_lease_id"], plan["cluster_refusal"]) == (HEALTH, "7f", "")
    assert plan["cluster_pending"] is False and "failed" not in plan


def test_the_run_lock_s_warning_of_a_run_that_died_is_the_cluster_step_s_warning(action):
    first = hosts_plan(action)
    died = ("lock run was held by ctl 123 since 2026-01-01T00:00:00Z (lease 7e), a run that died (its keeper saw "
            "its ansible-playbook process (pid 9) end): it may have stopped part-way; the lock was taken over")
    lock_answer(action, dict(acquired=True, lease_id="7f", cluster=HEALTH, warnings=[died]))
    result = cluster_step(action, first, LOCK_SETTINGS)
    assert result["warnings"] == [died]
    assert result["run_lease_id"] == "7f" and "failed" not in result


def test_the_cluster_step_refuses_a_run_lock_another_run_holds(action):
    first = hosts_plan(action)
    held = dict(acquired=False, msg="the run lock is held by another run (ctl 123)")
    lock_answer(action, held)
    plan = cluster_step(action, first, LOCK_SETTINGS)
    assert plan["failed"] is True and plan["msg"] == "the run lock is held by another run (ctl 123)"
    assert plan["cluster_refusal"] == plan["msg"] and plan["run_lease_id"] == ""
    # A cluster of which no endpoint answered holds no lock and refuses nothing.
    lock_answer(action, dict(held, cluster=dict(msg="no endpoint answered")))
    assert cluster_step(action, first, LOCK_SETTINGS)["cluster_refusal"] == ""


@pytest.mark.parametrize("settings, task_vars", [
    (dict(LOCK_SETTINGS, run_lock=False), {}),
    (LOCK_SETTINGS, dict(ansible_check_mode=True)),
    # A run of only the preflight or the status, or one that skips a phase that changes hosts, as its task would be.
    (LOCK_SETTINGS, dict(ansible_run_tags=["etcd_preflight", "etcd_status"])),
    (LOCK_SETTINGS, dict(ansible_run_tags=["all"], ansible_skip_tags=["etcd_backup"])),
])
def test_a_run_that_takes_no_run_lock_reads_the_cluster_with_etcd_health(action, settings, task_vars):
    lock = lock_answer(action, dict(acquired=True, lease_id="7f"))
    action._execute_module = MagicMock(return_value=dict(HEALTH, invocation=dict(module_args={})))
    plan = cluster_step(action, hosts_plan(action), settings, **task_vars)
    assert lock.run.call_count == 0
    assert action._execute_module.call_args[1]["module_name"] == "raftops.etcd.etcd_health"
    assert action._execute_module.call_args[1]["module_args"] == dict(
        ca_cert="/ca.pem", endpoints=["https://10.0.0.10:2379", "https://10.0.0.11:2379", "https://10.0.0.12:2379"],
        quota_bytes=8)
    assert (plan["cluster_read"], plan["run_lease_id"], plan["cluster_refusal"]) == (HEALTH, "", "")


def test_the_hosts_step_reads_the_cluster_itself_on_the_member_it_is_read_from(action):
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(report(i)), ansible_architecture="x86_64") for i in range(3)}
    action._task.delegate_to = None

    def hosts_step(here, **settings):
        action._task.args = dict(members=MEMBERS, stage="hosts", connection={}, refuse=True,
                                 settings=dict(LOCK_SETTINGS, group_hosts=["h0", "h1", "h2"], **settings))
        return action.run(task_vars=dict(hostvars=hostvars, ansible_play_hosts=["h0", "h1", "h2"], inventory_hostname=here))

    lock = lock_answer(action, dict(acquired=True, lease_id="7f", cluster=HEALTH))
    plan = hosts_step("h0")
    assert plan["read_host"] == "h0" and lock.run.call_count == 1
    assert (plan["cluster_pending"], plan["cluster_read"], plan["run_lease_id"]) == (False, HEALTH, "7f")
    # Elsewhere, or with checks before the read (a bootstrap mode's): preflight.yml's cluster step reads it.
    for plan in (hosts_step("h1"), hosts_step("h0", bootstrap_checks=True)):
        assert plan["cluster_pending"] is True and "cluster_read" not in plan and "failed" not in plan
    assert lock.run.call_count == 1
    # Refused once the cluster is read: the hosts step itself refuses, its lease in its plan for main.yml to release.
    lock_answer(action, dict(acquired=True, lease_id="7f", cluster=HEALTH))
    plan = hosts_step("h0", version="3.7.0")
    assert plan["failed"] is True and plan["msg"] == plan["cluster_refusal"] != "" and plan["run_lease_id"] == "7f"


def test_a_step_that_cannot_be_planned_keeps_the_lease_of_the_run_lock_in_its_result(action):
    plan = run(action, {}, stage="converge", plan=dict(run_lease_id="7f", with_data=["h0"]), settings=dict(timers=True))
    assert plan["failed"] is True and plan["msg"].startswith("raftops.etcd.etcd_plan: cannot plan the converge step")
    assert plan["run_lease_id"] == "7f"


@pytest.mark.parametrize("args, message", [
    (dict(stage="later"), "value of stage must be one of: hosts, cluster, converge, roll, removal, removal_check, revocation, "
                          "maintenance, rotation_read, rotation, restore, restore_members, restore_check, restore_start, recovery_logs, recovery, "
                          "status, status_report, deployed, hardware, bootstrap, schedule, srv, proxy_group, "
                          "proxy_settings, proxy_reach, proxy_pki, proxy_files, proxy_health, proxy_status, roll_stop, source, record, "
                          "seal, fetch, drill_snapshot, drill_point, adoption, got: later"),
    (dict(stage="cluster", plan={}), "cannot plan the cluster step"),
    # Every option is checked whichever stage is asked: one a stage does not read is no way around its type.
    (dict(stage="schedule", rotation="round 1"), "argument 'rotation' is of type"),
    (dict(stage="seal", members="m1"), "'members' is of type"),
    (dict(stage="proxy_status", refuse="maybe"), "argument 'refuse' is of type"),
])
def test_bad_arguments_fail_naming_the_action(action, args, message):
    result = run(action, {}, **args)
    assert result["failed"] is True and result["msg"].startswith("raftops.etcd.etcd_plan: ")
    assert message in result["msg"]


def test_the_run_s_warnings_are_a_field_not_ansible_s_own_warnings(action):
    # A result's "warnings" would be shown by Ansible as well as by the task that shows the field.
    hostvars = {"h%d" % i: dict(_etcd_host_info=as_read(report(i, "3.5.1"))) for i in range(3)}
    plan = run(action, hostvars, stage="hosts", settings=dict(version="3.5.1"))
    assert "warnings" not in plan and plan["run_warnings"][0].startswith("WARNING: etcd 3.5.1 has known data")


MAINTENANCE_READ = dict(changed=False, nospace=False, order=["m1", "m2", "m0"],
                        members=[dict(name="m%d" % i, is_leader=i == 0, defragment=True, reason="always") for i in (1, 2, 0)])


def test_the_maintenance_step_judges_the_members_read_with_the_play_s_hosts(action):
    plan = run(action, {}, stage="maintenance", maintenance=MAINTENANCE_READ)
    assert "failed" not in plan and plan["changed"] is False and plan["refusal"] == ""
    assert plan["order"] == ["m1", "m2", "m0"] and plan["lock"] is True and plan["with_data"] == ["h0", "h1", "h2"]
    dropped = run(action, {}, play=("h0", "h2"), play_all=("h0", "h1", "h2"), stage="maintenance",
                  maintenance=MAINTENANCE_READ)
    assert dropped["unanswered"] == ["h1"] and dropped["refusal"].startswith("the hosts h1 did not answer")
    assert action._execute_module.call_count == 0


def test_the_rotation_read_step_reads_a_member_s_ca_file_and_etcd_s_start_on_its_host(action):
    def answer(module_name, task_vars, module_args):
        if module_name == "ansible.builtin.stat":
            return dict(changed=False, stat=dict(exists=True, mtime=1000.0))
        assert module_args["argv"] == ["systemctl", "show", "etcd", "-p", "ExecMainStartTimestamp", "--timestamp=unix",
                                       "--value"]
        return dict(changed=False, rc=0, stdout="@2000")

    action._execute_module = MagicMock(side_effect=answer)
    first = dict(with_data=["h0", "h1", "h2"], roll=[], rotation_read=dict(stale="the round before's"))
    action._task.args = dict(stage="rotation_read", plan=first, settings=dict(ca_file="/etc/etcd/pki/ca.pem", unit="etcd"))
    plan = action.run(task_vars=dict(inventory_hostname="h1"))
    assert "failed" not in plan and plan["changed"] is False and plan["roll"] == []
    assert plan["rotation_read"]["ca_file"]["stat"]["mtime"] == 1000.0 and plan["rotation_read"]["start"]["stdout"] == "@2000"
    assert action._execute_module.call_args_list[0].kwargs["module_args"]["path"] == "/etc/etcd/pki/ca.pem"
    # Not read on a host without data, nor after a round that put no next phase in place: no read of a round before.
    for task_vars, plan_before in ((dict(inventory_hostname="h7"), first),
                                   (dict(inventory_hostname="h1"), dict(first, rotation_next_phase=False))):
        action._task.args = dict(stage="rotation_read", plan=plan_before, settings=dict(ca_file="/ca.pem", unit="etcd"))
        plan = action.run(task_vars=task_vars)
        assert "rotation_read" not in plan and plan["with_data"] == first["with_data"]
    assert action._execute_module.call_count == 2


def test_a_host_gone_when_its_step_reads_it_is_unreachable_not_a_failed_plan(action):
    # Ansible then reports the host UNREACHABLE and leaves it out of the run (the pki scenario's host that
    # drops out mid-rotation).
    action._execute_module = MagicMock(side_effect=AnsibleConnectionFailure("ssh: connect to host h1 port 22: refused"))
    action._task.args = dict(stage="rotation_read", plan=dict(with_data=["h1"]), settings=dict(ca_file="/ca.pem", unit="etcd"))
    with pytest.raises(AnsibleConnectionFailure, match="connect to host h1"):
        action.run(task_vars=dict(inventory_hostname="h1"))


def test_the_rotation_step_reads_each_member_s_ca_file_and_etcd_s_start(action):
    first = dict(with_data=["h0", "h1", "h2"], roll=[], changed=False)
    hostvars = {"h%d" % i: dict(_etcd_plan=dict(first, rotation_read=dict(
        ca_file=dict(changed=False, stat=dict(exists=True, mtime=1000.0)),
        start=dict(changed=False, rc=0, stdout="@%d" % (900 if i == 1 else 2000))))) for i in range(3)}
    rotation = dict(phase="trust", step=1, description="both", bundle="/b.pem")
    settings = dict(pki_dir="/pki", proxies_follow=True, proxies=["p0"], **{"pass": "1"})
    plan = run(action, hostvars, stage="rotation", plan=hostvars["h0"]["_etcd_plan"], rotation=rotation, settings=settings)
    assert "failed" not in plan and plan["changed"] is False and plan["rotation_refusal"] == ""
    assert plan["rotation_stale"] == ["h1"] and plan["rotation_hold"] is True and plan["with_data"] == first["with_data"]
    # The round's plan, which every host registers, holds no host's read.
    assert "rotation_read" not in plan
    hostvars["h2"]["_etcd_plan"] = first
    refused = run(action, hostvars, stage="rotation", plan=first, rotation=rotation, settings=settings)
    assert refused["rotation_refusal"].startswith("the hosts h2 did not answer")


def run_removal(action, hostvars, play, **args):
    action._task.args = args
    return action.run(task_vars=dict(hostvars=hostvars, ansible_play_hosts=list(play), ansible_play_hosts_all=list(play),
                                     groups=dict(etcd=["h0", "h1", "h2"], other=["x"])))


REMOVAL_HOSTVARS = {"h%d" % i: dict(NODE_NAME="m%d" % i, etcd_address="10.0.0.%d" % (10 + i),
                                    _etcd_host_info=dict(unreachable=i == 2) if i else dict(changed=False))
                    for i in range(3)}


def test_the_removal_step_reads_which_hosts_answered_and_names_the_group_s_members(action):
    # h2 is dead (unreachable, still in the play) and has no facts; its address is not needed.
    hostvars = dict(REMOVAL_HOSTVARS, h2=dict(NODE_NAME="m2", _etcd_host_info=dict(unreachable=True)))
    plan = run_removal(action, hostvars, ["h0", "h1", "h2"], stage="removal", requested="m2",
                       settings=dict(group="etcd", revokes=True))
    assert "failed" not in plan and plan["changed"] is False
    assert plan["targets"] == [dict(host="h2", name="m2")] and plan["unretired"] == ["h2"]
    assert plan["with_data"] == ["h0", "h1"] and plan["stable_client_urls"] == [
        "https://10.0.0.10:2379", "https://10.0.0.11:2379"]
    dead_survivor = run_removal(action, hostvars, ["h0", "h1", "h2"], stage="removal", requested="m1",
                                settings=dict(group="etcd"))
    assert dead_survivor["unanswered"] == ["h2"] and dead_survivor["with_data"] == ["h0"]
    assert plan["client_pair_found"] is False
    assert action._execute_module.call_count == 0


def test_the_removal_step_says_whether_the_member_acted_through_has_the_client_pair(action):
    # The connection settings of the calls through h0 read it (plugins/plugin_utils/connection.py).
    read = dict(changed=False, host_settings=dict(client_pair_found=True))
    hostvars = dict(REMOVAL_HOSTVARS, h0=dict(REMOVAL_HOSTVARS["h0"], _etcd_host_info=read))
    plan = run_removal(action, hostvars, ["h0", "h1", "h2"], stage="removal", requested="m2",
                       settings=dict(group="etcd"))
    assert plan["act_through"] == "h0" and plan["client_pair_found"] is True


def test_the_removal_check_compares_the_ca_each_survivor_trusts_with_the_controller_s(action, tmp_path):
    (tmp_path / "ca.pem").write_bytes(b"the CA\n")
    ours = hashlib.sha256(b"the CA\n").hexdigest()
    first = dict(targets=[dict(host="h2", name="m2")], with_data=["h0", "h1"], problems=[], revokes=True, changed=False,
                 act_through="h0", stable_client_urls=["https://10.0.0.10:2379", "https://10.0.0.11:2379"])
    settings_read = dict(read=dict(checksums=["/etc/etcd/pki/ca.pem"]))
    hostvars = dict(h0=dict(_etcd_host_info=dict(checksums={"/etc/etcd/pki/ca.pem": ours}, host_settings=settings_read)),
                    h1=dict(_etcd_host_info=dict(checksums={}, host_settings=settings_read)))
    members = [dict(name=n, healthy=True, is_learner=False) for n in ("m0", "m1", "m2")]
    action._execute_module = MagicMock(return_value=dict(members=members, changed=False))
    settings = dict(group="etcd", requested="m2", pki_dir=str(tmp_path), pki_host_dir="/etc/etcd/pki")
    connection = dict(ca_cert="/etc/etcd/pki/ca.pem", auth_password="s3cret")
    plan = run_removal(action, hostvars, ["h0", "h1"], stage="removal_check", plan=first, connection=connection,
                       settings=settings)
    assert plan["refusal"] == "" and plan["crl_hosts"] == ["h0"]
    # The members are asked on the task's host, through the survivors, with the connection given.
    action._execute_module.assert_called_once_with(
        module_name="raftops.etcd.etcd_member_info", task_vars=ANY,
        module_args=dict(connection, endpoints=first["stable_client_urls"], probe=True))
    (tmp_path / "ca.pem").write_bytes(b"another CA\n")
    other = run_removal(action, hostvars, ["h0", "h1"], stage="removal_check", plan=first, settings=settings)
    assert other["refusal"].startswith("etcd_pki_dir %s holds another CA than /etc/etcd/pki/ca.pem on h0" % tmp_path)
    (tmp_path / "ca.pem").unlink()
    none = run_removal(action, hostvars, ["h0", "h1"], stage="removal_check", plan=first, settings=settings)
    assert none["refusal"].startswith("etcd_pki_dir %s holds no ca.pem" % tmp_path)


@pytest.mark.parametrize("answer, said", [
    (dict(failed=True, msg="connection refused", invocation=dict(module_args=dict(auth_password="s3cret"))),
     "connection refused"),
    (dict(unreachable=True), "no answer"),
])
def test_a_removal_check_whose_member_read_fails_names_the_member_and_changes_nothing(action, answer, said):
    first = dict(targets=[dict(host="h2", name="m2")], with_data=["h0"], problems=[], revokes=False,
                 act_through="h0", stable_client_urls=["https://10.0.0.10:2379"])
    action._execute_module = MagicMock(return_value=answer)
    result = run_removal(action, {}, ["h0"], stage="removal_check", plan=first, connection=dict(auth_password="s3cret"),
                         settings=dict(group="etcd", requested="m2"))
    assert result["failed"] is True and "s3cret" not in str(result)
    assert result["msg"] == ("raftops.etcd.etcd_plan: cannot plan the removal_check step: the members could not be "
                             "read through h0: %s; nothing was changed" % said)


def test_a_group_host_without_an_address_fails_the_removal_step_naming_it(action):
    hostvars = dict(REMOVAL_HOSTVARS, h1=dict(NODE_NAME="m1", _etcd_host_info={}))
    result = run_removal(action, hostvars, ["h0", "h1", "h2"], stage="removal", requested="m2",
                         settings=dict(group="etcd"))
    assert result["failed"] is True and "cannot plan the removal step: invalid etcd inventory:\n  - host h1: no address" in result["msg"]


def run_restore(action, hostvars, play, play_all=None, **args):
    action._task.args = args
    return action.run(task_vars=dict(hostvars=hostvars, ansible_play_hosts=list(play),
                                     ansible_play_hosts_all=list(play_all or play), groups=dict(etcd=["h0", "h1", "h2"])))


def restore_read(kind, mount_points=(), wal_dir=""):
    """facts.yml's report of a host whose data dir /d is ``kind``."""
    return dict(info=dict(files={"/d": dict(kind=kind)}, mount_points=list(mount_points)),
                wanted=dict(data_dir="/d", wal_dir=wal_dir))


SNAPSHOT_INFO = dict(changed=False, sha256="ab" * 32, revision=10, total_key=7)


def test_the_restore_checks_the_snapshot_on_the_controller_before_the_members(action):
    hosts = ("h0", "h1", "h2")
    first = run_restore(action, {}, hosts, stage="restore", settings=dict(group="etcd"))
    action._execute_module = MagicMock(return_value=dict(failed=True, msg="not a snapshot: bad magic"))
    hostvars = {h: dict(_etcd_host_info=as_read(restore_read("directory"))) for h in hosts}
    refused = run_restore(action, hostvars, hosts, stage="restore_members", refuse=True, plan=first, members=MEMBERS,
                          settings=dict(group="etcd", snapshot="latest", snapshot_src="/fetched/s.db", data_dir="/d"))
    assert refused["failed"] and refused["msg"] == "etcd_restore_snapshot latest: not a snapshot: bad magic; nothing was changed"
    assert action._execute_module.call_args.kwargs["module_name"] == "raftops.etcd.etcd_snapshot_info"
    assert action._execute_module.call_args.kwargs["module_args"] == dict(src="/fetched/s.db")


def test_the_restore_refuses_a_data_dir_or_wal_dir_that_is_a_mount_point_before_anything_changes(action):
    hosts = ("h0", "h1", "h2")
    first = run_restore(action, {}, hosts, stage="restore", settings=dict(group="etcd"))
    action._execute_module = MagicMock(return_value=SNAPSHOT_INFO)
    hostvars = dict(h0=dict(_etcd_host_info=as_read(restore_read("directory"))),
                    h1=dict(_etcd_host_info=as_read(restore_read("directory", ["/w"], wal_dir="/w"))),
                    h2=dict(_etcd_host_info=as_read(restore_read("directory", ["/d"]))))
    refused = run_restore(action, hostvars, hosts, stage="restore_members", refuse=True, plan=first, members=MEMBERS,
                          settings=dict(group="etcd", bump_revision="auto", snapshot="/s.db", data_dir="/d"))
    assert refused["failed"] and refused["msg"] == (
        "host h1: etcd_wal_dir /w is a mount point, and the restore moves the old directory aside by renaming it: "
        "mount the volume on a parent directory and point etcd_wal_dir below it; host h2: etcd_data_dir /d is a mount "
        "point, and the restore moves the old directory aside by renaming it: mount the volume on a parent directory "
        "and point etcd_data_dir below it; nothing was changed")


def test_the_restore_steps_read_the_data_dirs_and_the_problems_of_every_host_of_the_group(action):
    hosts = ("h0", "h1", "h2")
    first = run_restore(action, {}, ["h0", "h1"], hosts, stage="restore", settings=dict(group="etcd"))
    assert first["unanswered"] == ["h2"] and "h2 of group etcd did not answer" in first["refusal"]
    first = run_restore(action, {}, hosts, stage="restore", settings=dict(group="etcd"))
    assert first["restore"] is True
    hostvars = {h: dict(_etcd_host_info=as_read(restore_read("absent" if h == "h1" else "directory"))) for h in hosts}
    action._execute_module = MagicMock(return_value=SNAPSHOT_INFO)
    members = run_restore(action, hostvars, hosts, stage="restore_members", plan=first, members=MEMBERS,
                          settings=dict(group="etcd", bump_revision="auto", snapshot="/s.db", snapshot_src="/s.db",
                                        data_dir="/d"))
    assert "failed" not in members and members["with_data_dir"] == ["h0", "h2"]
    # The snapshot as the controller read it, and what run_lock.yml and run_keeper.yml read.
    assert members["snapshot_file"] == dict(sha256="ab" * 32, revision=10, keys=7)
    assert members["run_lock_if_answers"] is True and members["keeper_holds_pki"] is True
    action._execute_module = MagicMock(side_effect=AssertionError("the plan asks no host"))
    # A new token and the time: the group's name and 12 random characters; a UTC stamp.
    assert members["token"].startswith("etcd-restored-") and len(members["token"]) == len("etcd-restored-") + 12
    assert len(members["stamp"]) == len("20260101T000000Z") and members["stamp"].endswith("Z")
    assert members["read_old_revisions"] is True
    # etcd_pki's inputs: no facts read, no move; without the role's PKI, the addresses alone. The CA is
    # checked against the hosts with a data dir.
    assert members["pki"] == dict(members=[dict(name="m%d" % i, addresses=["10.0.0.%d" % (10 + i)], hostnames=[])
                                           for i in range(3)], clients=[], revoke=["root"],
                                  running_members=[dict(name=host, ca_sha256="", peer_name=False) for host in ("h0", "h2")])
    # h2 reported a problem and dropped out of the play afterwards: it is still named
    hostvars["h2"]["_etcd_restore_problem"] = "host h2: no space"
    checked = run_restore(action, hostvars, ["h0", "h1"], hosts, stage="restore_check", plan=members,
                          settings=dict(group="etcd"))
    assert checked["refusal"] == "host h2: no space; nothing was changed"
    # The run lock is taken: configure.yml writes a restore's files in place, none staged.
    assert "with_data" not in checked
    del hostvars["h2"]["_etcd_restore_problem"]
    started = run_restore(action, hostvars, hosts, stage="restore_start", plan=checked,
                          health=dict(skipped=True, changed=False),
                          settings=dict(snapshot_revision=10, bump_revision="auto", mark_compacted=True, version="3.5.30"))
    assert started["refusal"] == "" and started["bump_revision"] == 1000000000
    old = run_restore(action, hostvars, hosts, stage="restore_start", plan=checked,
                      health=dict(endpoints=[dict(revision=20)]),
                      settings=dict(snapshot_revision=10, bump_revision="auto", mark_compacted=True, version="3.5.30"))
    assert old["bump_revision"] == 100010
    assert action._execute_module.call_count == 0
    # Not given the old cluster's read, the step asks it (read_old_revisions) through every member's
    # client URL; the snapshot's revision and keys are the plan's.
    action._execute_module = MagicMock(return_value=dict(endpoints=[dict(revision=20)]))
    asked = run_restore(action, hostvars, hosts, stage="restore_start", plan=checked, connection=dict(timeout=5),
                        settings=dict(snapshot_shown="latest", bump_revision="auto", mark_compacted=True,
                                      version="3.5.30"))
    assert asked["bump_revision"] == 100010 and asked["report"][0].startswith("restored latest: revision 10, 7 keys")
    assert action._execute_module.call_args.kwargs["module_name"] == "raftops.etcd.etcd_health"
    assert action._execute_module.call_args.kwargs["module_args"] == dict(
        timeout=3, endpoints=checked["stable_client_urls"], discover=False)
    # A failed read names no revision; a plan that reads none (check mode, or a bump given) asks nothing.
    action._execute_module = MagicMock(return_value=dict(failed=True, msg="no member answered"))
    failed = run_restore(action, hostvars, hosts, stage="restore_start", plan=checked,
                         settings=dict(bump_revision="auto", mark_compacted=True, version="3.5.30"))
    assert failed["bump_revision"] == 1000000000
    action._execute_module = MagicMock(side_effect=AssertionError("the plan asks no host"))
    unread = run_restore(action, hostvars, hosts, stage="restore_start", plan=dict(checked, read_old_revisions=False),
                         settings=dict(bump_revision="auto", mark_compacted=True, version="3.5.30"))
    assert unread["bump_revision"] == 1000000000


def test_the_recovery_steps_read_each_play_host_s_log_and_name_members_as_the_inventory_does(action):
    members = [dict(id=100 + i, name="m%d" % i, peer_urls=["https://10.0.0.1%d:2380" % i],
                    client_urls=["https://10.0.0.1%d:2379" % i], learner=False) for i in range(3)]
    log = dict(node_id=100, cluster_id=0xABC, commit=9, last_index=9, last_term=3, members=members, members_error="")
    hostvars = dict(h0=dict(NODE_NAME="m0", _etcd_host_info=dict(log=log, log_error="", has_data=True,
                                                                 data_dir="/d", present=["/p/client-key.pem"])),
                    h1=dict(NODE_NAME="m1", _etcd_host_info=dict(log=None, log_error="", has_data=False)),
                    h2=dict(NODE_NAME="m2"))
    first = run_restore(action, hostvars, ["h0", "h1"], ("h0", "h1", "h2"), stage="recovery_logs",
                        settings=dict(tls=True, root_login=True, pki_host_dir="/p"))
    assert first["ask_through"] == "h0" and first["ask_cert"] == "/p/client.pem"
    assert first["addresses"] == {"m%d" % i: "10.0.0.1%d" % i for i in range(3)}
    assert [survivor["host"] for survivor in first["survivors"]] == ["h0", "h1"]
    # facts.yml reads the hosts again, without their logs: the first verdict judges the reads kept.
    for host in ("h0", "h1"):
        hostvars[host]["_etcd_host_info"] = dict(installed=True, host_settings={})
    # The recovery step asks the cluster itself, on the task's host (delegated to ask_through): a failed
    # read (no member answers) is an answer too, judged and not raised; the connection is the role's
    # but for the pair that host has.
    # m2 is silent on every URL of it (its packets dropped: connect timeouts), and h0, h1 refuse the connection
    silent = dict(endpoint="https://10.0.0.12:2379", reachable=False, error="timed out connecting (the host is down, or "
                  "a firewall drops the port)", peers=[dict(url="https://10.0.0.12:2380", answered=False, error="timed "
                                                            "out connecting (the host is down, or a firewall drops the port)")])
    endpoints = [dict(endpoint="https://10.0.0.1%d:2379" % i, reachable=False, error="[Errno 111] Connection refused",
                      peers=None) for i in range(2)] + [silent]
    action._execute_module = MagicMock(return_value=dict(failed=True, msg="no endpoint answered", member_status=[],
                                                         endpoints=endpoints, invocation=dict(module_args={})))
    connection = dict(ca_cert="/p/ca.pem", client_cert="/p/server.pem", client_key="/p/server-key.pem")
    # h2 did not report (it dropped out of the play): named, not left out
    refused = run_restore(action, hostvars, ["h0", "h1"], stage="recovery", plan=first, connection=connection,
                          settings=dict(group="etcd", lost=[], client_urls=["https://10.0.0.12:2379"]))
    assert refused["action"] == "refuse" and refused["refusal"].startswith("h2 did not report")
    plan = run_restore(action, hostvars, ["h0", "h1"], stage="recovery", plan=first, connection=connection,
                       settings=dict(group="etcd", lost="m2", client_urls=["https://10.0.0.12:2379"]))
    assert plan["action"] == "recover" and plan["chosen"]["host"] == "h0" and plan["lost_hosts"] == ["h2"]
    assert plan["aside"] == {} and plan["stamp"].endswith("Z")
    assert plan["cluster_answer"] == dict(member_status=[], endpoints=endpoints)
    call = action._execute_module.call_args.kwargs
    assert call["module_name"] == "raftops.etcd.etcd_health"
    assert call["module_args"] == dict(ca_cert="/p/ca.pem", client_cert="/p/client.pem", client_key="/p/client-key.pem",
                                       peer_cert="/p/peer.pem", peer_key="/p/peer-key.pem", timeout=5,
                                       endpoints=["https://10.0.0.1%d:2379" % i for i in range(3)],
                                       peer_urls=first["logged_peer_urls"])
    # h1 failed a task after the logs step: it drops out of the verdict, named, not judged on its old read.
    dropped = run_restore(action, hostvars, ["h0"], stage="recovery", plan=first, connection=connection,
                          settings=dict(group="etcd", lost="m2"))
    assert dropped["action"] == "refuse" and dropped["refusal"].startswith("h1 did not report")
    # Made again once every member is stopped: on each host's read since, with the answer given while they
    # ran; nothing is asked.
    action._execute_module = MagicMock(side_effect=AssertionError("asked again"))
    hostvars["h0"]["_etcd_host_info"] = dict(log=dict(log, commit=9), log_error="", has_data=True, data_dir="/d")
    hostvars["h1"]["_etcd_host_info"] = dict(log=None, log_error="", has_data=False)
    again = run_restore(action, hostvars, ["h0", "h1"], stage="recovery", plan=plan,
                        settings=dict(group="etcd", lost="m2"))
    assert again["action"] == "recover" and again["chosen"]["host"] == "h0"
    hostvars["h0"]["_etcd_host_info"]["log_error"] = "cannot read the write-ahead log"
    unreadable = run_restore(action, hostvars, ["h0", "h1"], stage="recovery", plan=plan,
                             settings=dict(group="etcd", lost="m2"))
    assert unreadable["action"] == "refuse" and unreadable["refusal"].startswith("host h0: cannot read")
    hostvars["h0"]["_etcd_host_info"]["log_error"] = ""
    # A cluster that answered while the members ran refuses the step made again too.
    healthy = dict(plan, cluster_answer=dict(member_status=[dict(name="m0", started=True, health="healthy",
                                                                 is_leader=True)]))
    assert run_restore(action, hostvars, ["h0", "h1"], stage="recovery", plan=healthy,
                       settings=dict(group="etcd", lost="m2"))["action"] == "refuse"


def test_the_hosts_step_plans_etcd_pki_s_inputs_from_the_name_facts_and_the_play_hosts_reads(action):
    hostvars = {"h%d" % i: dict(ansible_hostname="etcd%d" % i, _etcd_host_info=as_read(report(i))) for i in range(3)}
    hostvars["h2"]["_etcd_host_info"]["present"] = ["/pki/client-key.pem"]
    pki = dict(managed=True, scrapers=[], pair_key="/pki/client-key.pem", srv_domain="")
    plan = run(action, hostvars, stage="hosts", settings=dict(version="3.5.17", pki=pki))
    assert "failed" not in plan and plan["changed"] is False
    assert plan["pki"]["members"][0] == dict(name="m0", addresses=["10.0.0.10"], hostnames=["etcd0", "h0"])
    assert plan["pki"]["revoke"] == ["root", "admin"]
    assert [member["name"] for member in plan["pki"]["running_members"]] == plan["with_data"]
    assert plan["pki"]["clients"][:2] == ["admin", {"name": "m0-root", "user": "root"}]
    # The pair on h2 counts only while h2 is in the play (the plan refuses h2's drop-out by name).
    assert run(action, hostvars, play=("h0", "h1"), play_all=("h0", "h1", "h2"), stage="hosts",
               settings=dict(version="3.5.17", pki=pki))["pki"]["revoke"] == ["root"]


# The status steps' etcd_pki_dir, where no CA rotation is under way.
NO_PKI = "/nonexistent/etcd-pki"


def test_the_status_step_judges_the_members_of_the_run_and_shows_the_read_as_the_status_playbook_does(action):
    from ansible_collections.raftops.etcd.plugins.module_utils.cluster.status_advice import status_advice, status_lines
    from ansible_collections.raftops.etcd.tests.unit.plugins.status_sample import health, member

    read = health([member(1), member(2, version="3.6.13"), member(3)])
    members = [dict(host="h%d" % i, name="etcd-%d" % i) for i in (1, 2, 3)]
    settings = dict(version="3.6.14", all_members_in_run=False, status_settings=dict(etcd_group="etcd"), pki_dir=NO_PKI)
    plan = run(action, {}, play=("h1", "h3"), stage="status", members=members, health=read, settings=settings,
               refuse=True)
    # etcd-2 runs another release, but its host is out of the run: it is not judged.
    assert "failed" not in plan and plan["refusal"] == "" and plan["version_wait"] is False
    assert plan["lines"] == status_lines(read["table"], status_advice(read, dict(etcd_group="etcd")))
    refused = run(action, {}, play=("h1", "h2", "h3"), stage="status", members=members, health=read,
                  settings=settings, refuse=True)
    assert refused["failed"] is True and refused["msg"].startswith("etcd-2 runs 3.6.13, not 3.6.14")
    skipped = run(action, {}, stage="status", members=members, health=dict(skipped=True), settings=settings)
    assert skipped["lines"] == ["no status: the new cluster was not started in this run"]
    failed = run(action, {}, stage="status", members=members, health=dict(failed=True, msg="no member answers"),
                 settings=settings)
    assert failed["lines"] == ["no status: no member answers"]


def status_step(action, status_read, check_mode=False, **reads):
    """The status step on a skipped status.yml read, with the run's earlier reads ``reads`` (the
    asking host's variables) and the plan's ``status_read``; members are left out of the run, so
    it does not wait for the cluster version (the samples' is 3.5)."""
    action._task.args = dict(stage="status", members=[dict(host="h1", name="etcd-1")], health=dict(skipped=True),
                             settings=dict(version="3.6.14", all_members_in_run=False, status_read=status_read,
                                           pki_dir=NO_PKI),
                             refuse=True)
    return action.run(task_vars=dict(reads, hostvars={}, ansible_play_hosts=["h1"], ansible_check_mode=check_mode))


def test_the_status_step_shows_the_earlier_read_of_the_run_the_plan_names(action):
    from ansible_collections.raftops.etcd.plugins.module_utils.cluster.status_advice import status_advice, status_lines
    from ansible_collections.raftops.etcd.tests.unit.plugins.status_sample import health, member

    read, other = health([member(1)]), health([member(1, version="3.6.13")])

    def shown(read):
        return status_lines(read["table"], status_advice(read, None))

    # The new cluster's health wait, once healthy; preflight's read, the one taken with the lock first.
    assert status_step(action, "bootstrap", _etcd_plan=dict(bootstrap_read=read))["lines"] == shown(read)
    assert status_step(action, "preflight", _etcd_plan=dict(cluster_read=read))["lines"] == shown(read)
    locked = status_step(action, "preflight", _etcd_plan=dict(cluster_read=other))
    assert locked["failed"] is True and locked["msg"].startswith("etcd-1 runs 3.6.13, not 3.6.14")
    # No read of a new cluster: in check mode it did not start; else the bootstrap was left out (tags).
    assert status_step(action, "bootstrap", True, _etcd_plan=dict(bootstrap_failure=""))["lines"] == [
        "no status: a new cluster is not started in check mode"]
    assert status_step(action, "bootstrap")["lines"] == ["no status: the new cluster was not started in this run"]
    # None names status.yml's own read (skipped here): the earlier reads do not stand.
    assert status_step(action, "none", _etcd_plan=dict(cluster_read=read))["lines"] == [
        "no status: the new cluster was not started in this run"]
    bad = status_step(action, "later", _etcd_plan=dict(cluster_read=read))
    assert bad["failed"] is True and bad["msg"] == (
        "raftops.etcd.etcd_plan: cannot plan the status step: status_read must be one of bootstrap, preflight, "
        "none, got 'later'")


@pytest.mark.parametrize("answer, failure", [
    (dict(healthy=True, cluster=dict(leader="etcd-1")), ""),
    (dict(healthy=False, failed=True, msg="etcd-3 did not answer"), "etcd-3 did not answer"),
])
def test_the_bootstrap_step_waits_for_the_new_cluster_and_goes_on_with_the_plan(action, answer, failure):
    action._execute_module = MagicMock(return_value=dict(answer, invocation=dict(module_args=dict(password="pw"))))
    action._task.args = dict(stage="bootstrap", plan=dict(bootstrap=True, status_read="bootstrap", changed=False),
                             connection=dict(ca_cert="/ca.pem"),
                             settings=dict(endpoints=["https://a:2379"], health_timeout="60", expect_members=3,
                                           quota_bytes=8))
    plan = action.run(task_vars=dict(hostvars={}, ansible_play_hosts=["h1"]))
    # No failure of the task (the role fails every member on bootstrap_failure); the plan goes on.
    assert "failed" not in plan and plan["bootstrap"] is True and plan["status_read"] == "bootstrap"
    assert plan["bootstrap_failure"] == failure and plan["bootstrap_read"] == answer
    assert action._execute_module.call_args.kwargs["module_name"] == "raftops.etcd.etcd_health"
    assert action._execute_module.call_args.kwargs["module_args"] == dict(
        ca_cert="/ca.pem", endpoints=["https://a:2379"], wait=True, wait_timeout="60", expect_members=3, quota_bytes=8)


def test_the_bootstrap_step_of_a_check_run_waits_for_nothing(action):
    action._execute_module = MagicMock()
    action._task.args = dict(stage="bootstrap", plan=dict(bootstrap=True), settings=dict(endpoints=["https://a:2379"]))
    plan = action.run(task_vars=dict(hostvars={}, ansible_play_hosts=["h1"], ansible_check_mode=True))
    assert plan["bootstrap_failure"] == "" and "bootstrap_read" not in plan and plan["bootstrap"] is True
    action._execute_module.assert_not_called()


def status_wait(action, monkeypatch, cluster_versions, timeout=3, **read):
    """The status step of a run of every member on 3.6.14 whose first read shows the cluster version
    3.5, then each of ``cluster_versions`` as etcd_health's answers (with ``read``'s fields)."""
    from ansible_collections.raftops.etcd.tests.unit.plugins.status_sample import health, member

    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    first = health([member(1)])
    answers = [dict(first, cluster=dict(first["cluster"], version=version), **read) for version in cluster_versions]
    action._execute_module = MagicMock(side_effect=answers)
    action._task.args = dict(stage="status", members=[dict(host="h1", name="etcd-1")], health=first,
                             connection=dict(ca_cert="/ca.pem"), refuse=True,
                             settings=dict(version="3.6.14", all_members_in_run=True, endpoints=["https://a:2379"],
                                           quota_bytes=8, timeout=timeout, pki_dir=NO_PKI))
    plan = action.run(task_vars=dict(hostvars={}, ansible_play_hosts=["h1"]))
    return plan, answers, sleeps


def test_the_status_step_waits_for_the_cluster_version_and_shows_the_read_that_has_it(action, monkeypatch):
    from ansible_collections.raftops.etcd.plugins.module_utils.cluster.status_advice import status_advice, status_lines

    plan, answers, sleeps = status_wait(action, monkeypatch, ["3.5.0", "3.6.0"])
    assert "failed" not in plan and plan["version_wait"] is False
    assert plan["lines"] == status_lines(answers[1]["table"], status_advice(answers[1], None))
    # Asked on the task's host with the role's connection, every second.
    assert action._execute_module.call_count == 2 and sleeps == [1]
    assert action._execute_module.call_args.kwargs["module_name"] == "raftops.etcd.etcd_health"
    assert action._execute_module.call_args.kwargs["module_args"] == dict(
        ca_cert="/ca.pem", endpoints=["https://a:2379"], quota_bytes=8)


@pytest.mark.parametrize("versions, read, message", [
    (["3.5.0"] * 4, {}, "every member runs 3.6.14, but the cluster version is still 3.5.0 after 3 s: "
                        "etcd has not raised it"),
    (["3.5.0"] * 4, dict(problems=["etcd-1 is slow", "etcd-2 is down"]),
     "every member runs 3.6.14, but the cluster version is still 3.5.0 after 3 s: etcd-1 is slow; etcd-2 is down"),
    # A failed read that shows the version ends the wait, failed (as the task's until did).
    (["3.6.0"], dict(failed=True, problems=["etcd-1 is unhealthy"]),
     "every member runs 3.6.14, but the cluster version is still 3.6.0 after 3 s: etcd-1 is unhealthy"),
], ids=["not-raised", "problems", "failed-read"])
def test_a_cluster_version_that_does_not_follow_fails_the_status_step_naming_it(action, monkeypatch, versions, read,
                                                                                message):
    plan, _answers, sleeps = status_wait(action, monkeypatch, versions, **read)
    assert plan["failed"] is True and plan["msg"] == message and plan["lines"] == []
    assert action._execute_module.call_count == len(versions) and len(sleeps) == len(versions) - 1


def test_the_status_report_reads_each_play_host_s_push_and_drill_and_refuses_only_a_cluster_without_answer(
        action, monkeypatch, tmp_path):
    from ansible_collections.raftops.etcd.plugins.module_utils.cluster.status_advice import status_advice, status_lines
    from ansible_collections.raftops.etcd.tests.unit.plugins.status_sample import health, member

    monkeypatch.setattr("time.time", lambda: 1700000000.0)
    read = health([member(1), member(2), member(3)])
    skipped = dict(skipped=True, changed=False)
    drill = dict(failed=True, msg="file not found")
    records = [dict(skipped, item="push"), dict(skipped, item="drill")]
    hostvars = {"h%d" % i: dict(_etcd_status=dict(results=list(records)), _etcd_host_info=dict(installed=i == 1))
                for i in range(3)}
    settings = dict(instance="etcd", group="etcd", backup_dir=str(tmp_path), status_settings={}, pki_dir=NO_PKI,
                    unit_path="/etc/systemd/system/etcd.service", endpoints=["https://a:2379"], quota_bytes=8)

    def report(health_read):
        # etcd_health's answer on the asking host, each member asked once, with the role's connection.
        action._execute_module = MagicMock(return_value=health_read)
        action._task.args = dict(stage="status_report", connection=dict(user="root", password="x"),
                                 settings=settings, refuse=True)
        plan = action.run(task_vars=dict(hostvars=hostvars, ansible_play_hosts=["h0", "h1", "h2"],
                                         inventory_hostname="h0"))
        assert action._execute_module.call_args.kwargs["module_args"] == dict(
            user="root", password="x", endpoints=["https://a:2379"], quota_bytes=8)
        return plan

    backups = dict(dir=str(tmp_path), files=[], now=1700000000.0)
    plan = report(read)
    assert "failed" not in plan and plan["refusal"] == ""
    # No drill read on the asking host (no drill schedule): no drill lines.
    assert plan["lines"] == status_lines(read["table"], status_advice(read, {}, backups, [dict(skipped, item="push")] * 3))
    for values in hostvars.values():
        values["_etcd_status"]["results"][1] = dict(drill, item="drill")
    assert report(read)["lines"] == status_lines(read["table"], status_advice(
        read, {}, backups, [dict(skipped, item="push")] * 3, [dict(drill, item="drill")] * 3))
    # The snapshots in the backup dir on the controller: the newest counts.
    (tmp_path / "etcd-snapshot-old.db").write_text("x")
    os.utime(tmp_path / "etcd-snapshot-old.db", (1600000000, 1600000000))
    assert "backups: the newest snapshot, etcd-snapshot-old.db, is 1157 days old" in "\n".join(report(read)["lines"])
    down = dict(read, endpoints=[dict(entry, reachable=False) for entry in read["endpoints"]], msg="refused")
    refused = report(down)
    assert refused["failed"] is True and refused["lines"] == []
    assert refused["msg"].startswith("no member of the cluster etcd (group etcd) answers, asked from h0: refused.")
    # No play host has the cluster's unit (another etcd_instance): refused before etcd is asked.
    hostvars["h1"]["_etcd_host_info"]["installed"] = False
    action._execute_module = MagicMock(side_effect=AssertionError("the cluster is not asked"))
    action._task.args = dict(stage="status_report", settings=settings, refuse=True)
    undeployed = action.run(task_vars=dict(hostvars=hostvars, ansible_play_hosts=["h0", "h1", "h2"],
                                           inventory_hostname="h0"))
    assert undeployed["failed"] is True and undeployed["lines"] == []
    assert undeployed["msg"] == ("no host of group etcd has the etcd cluster etcd (etcd_instance): none has "
                                 "/etc/systemd/system/etcd.service. Deploy it first (ansible-playbook raftops.etcd.etcd "
                                 "-i INVENTORY), or check etcd_group and etcd_instance; nothing was changed")


def test_the_snapshots_on_the_controller_are_the_files_find_would_list(tmp_path):
    from ansible_collections.raftops.etcd.plugins.action.etcd_plan import snapshot_files

    assert snapshot_files(tmp_path / "none") == [] and snapshot_files("") == []
    (tmp_path / "etcd-snapshot-1.db").write_text("ab")
    (tmp_path / "etcd-snapshot-2.db.part").write_text("x")
    (tmp_path / "other.db").write_text("x")
    (tmp_path / "etcd-snapshot-dir.db").mkdir()
    os.utime(tmp_path / "etcd-snapshot-1.db", (1700000000, 1700000000))
    assert snapshot_files(tmp_path) == [dict(path=str(tmp_path / "etcd-snapshot-1.db"), mtime=1700000000.0, size=2)]


def test_the_deployed_check_reads_each_play_host_s_read(action):
    settings = dict(group="etcd", instance="etcd", unit_path="/etc/systemd/system/etcd.service")
    read = {"h0": dict(_etcd_host_info=dict(installed=False)), "h1": dict(_etcd_host_info=dict(installed=True))}
    assert "failed" not in run(action, read, play=("h0", "h1"), stage="deployed", settings=settings, refuse=True)
    # Only the play's hosts count: h1 dropped out.
    refused = run(action, read, play=("h0",), stage="deployed", settings=settings, refuse=True)
    assert refused["failed"] is True and refused["msg"].startswith("no host of group etcd has the etcd cluster etcd")
    # A dead host (the removal's read, unreachable) has no unit to count.
    dead = {"h0": dict(_etcd_host_info=dict(unreachable=True)), "h1": dict(_etcd_host_info=dict(installed=False))}
    assert run(action, dead, play=("h0", "h1"), stage="deployed", settings=settings, refuse=True)["failed"] is True
    dead["h1"]["_etcd_host_info"] = dict(installed=True)
    assert "failed" not in run(action, dead, play=("h0", "h1"), stage="deployed", settings=settings, refuse=True)


def test_the_hardware_step_judges_the_play_hosts_measured_against_the_profile(action):
    from ansible_collections.raftops.etcd.tests.unit.plugins.filter.test_sizing import GOOD

    slow = dict(GOOD, fsync_p99_ms=30.0, rtt_ms_by_peer={"10.0.0.12:2380": 150.0})
    hostvars = {"h0": dict(_etcd_host_check=GOOD), "h1": dict(_etcd_host_check=slow),
                "h2": dict(_etcd_host_check=dict(skipped=True, changed=False))}
    settings = dict(profile="medium", quota="", strict=False, heartbeat=100, election=1000)
    plan = run(action, hostvars, stage="hardware", settings=settings, refuse=True)
    assert "failed" not in plan and [finding["host"] for finding in plan["findings"]] == ["h1"]
    assert plan["hardware_warnings"][0].startswith("WARNING: host h1: fsync p99 30")
    assert plan["hardware_warnings"][1].startswith("WARNING: the longest round trip, 150") and plan["timeouts"]["fits"] is False
    refused = run(action, hostvars, stage="hardware", settings=dict(settings, strict=True), refuse=True)
    assert refused["failed"] is True and refused["msg"].startswith("host h1: fsync p99 30")
    assert refused["msg"].endswith("; nothing was changed")
    # Only the play's hosts measured count.
    assert run(action, hostvars, play=("h0", "h2"), stage="hardware", settings=settings)["hardware_warnings"] == []
    # The run's plan goes on with the verdict (preflight_hardware.yml registers it as the plan).
    went_on = run(action, hostvars, stage="hardware", settings=settings, plan=dict(with_data=["h0"], refusal="", changed=False))
    assert went_on["with_data"] == ["h0"] and went_on["hardware_warnings"] == plan["hardware_warnings"]


# --- revocation: the removal's revocation by etcd_pki's action, the plan going on ------------------

REMOVAL = dict(names=["m2"], revokes=True, crl_hosts=["h0", "h1"], changed=False)


def pki_answer(action, answer):
    pki = MagicMock()
    pki.run.return_value = answer
    action._shared_loader_obj = MagicMock()
    action._shared_loader_obj.action_loader.get.return_value = pki
    return pki


@pytest.mark.parametrize("answer, changed, revoked", [
    (dict(changed=True, revoked=[dict(name="m2", serials=["0a"], files=[])], crl=dict(path="/pki/crl.pem")),
     True, [dict(name="m2", serials=["0a"], files=[])]),
    # A second run: the names were revoked already.
    (dict(changed=False, revoked=[], crl=dict(path="/pki/crl.pem")), False, []),
])
def test_the_revocation_revokes_the_removed_members_and_the_plan_goes_on(action, answer, changed, revoked):
    pki = pki_answer(action, answer)
    plan = run(action, {}, stage="revocation", plan=REMOVAL, settings=dict(pki_dir="/pki"))
    assert action._shared_loader_obj.action_loader.get.call_args[0] == ("raftops.etcd.etcd_pki",)
    assert pki.run.call_count == 1
    task = action._shared_loader_obj.action_loader.get.call_args[1]["task"]
    assert task.args == dict(path="/pki", members=[], clients=[], revoke=["m2"])
    assert (plan["changed"], plan["revoked"], plan["crl_path"]) == (changed, revoked, "/pki/crl.pem")
    assert plan["crl_hosts"] == ["h0", "h1"] and plan["names"] == ["m2"] and "failed" not in plan


def test_a_removal_that_revokes_nothing_asks_no_pki(action):
    pki = pki_answer(action, dict(changed=True))
    plan = run(action, {}, stage="revocation", plan=dict(REMOVAL, revokes=False, crl_hosts=[]),
               settings=dict(pki_dir="/pki"))
    assert pki.run.call_count == 0
    assert (plan["changed"], plan["revoked"], plan["crl_path"], plan["crl_hosts"]) == (False, [], "", [])


def test_a_failed_revocation_fails_with_etcd_pki_s_answer(action):
    pki_answer(action, dict(failed=True, changed=False, msg="raftops.etcd.etcd_pki: no CA in /pki"))
    plan = run(action, {}, stage="revocation", plan=REMOVAL, settings=dict(pki_dir="/pki"))
    assert plan["failed"] is True and plan["msg"] == "raftops.etcd.etcd_pki: no CA in /pki"
    assert "crl_path" not in plan


def test_every_stage_the_module_documents_has_its_planner_and_every_planner_its_stage():
    # run() dispatches through the table of planners: a stage added to the choices without its planner
    # would fail the task with a KeyError, a planner without its stage could never be asked for.
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    planners = module._planners()
    assert sorted(planners) == sorted(etcd_plan.argument_spec()["stage"]["choices"])
    assert all(callable(planner) for planner in planners.values())


def test_both_status_steps_report_a_ca_rotation_stopped_in_etcd_pki_dir(action, monkeypatch, tmp_path):
    from ansible_collections.raftops.etcd.tests.unit.plugins.status_sample import health, member

    for name in ("ca.pem", "ca-next.pem", "ca-bundle.pem"):
        (tmp_path / name).write_text("x")
    read = health([member(1)])
    action._task.args = dict(stage="status", members=[dict(host="h1", name="etcd-1")], health=read, refuse=True,
                             settings=dict(version=read["endpoints"][0]["version"], all_members_in_run=False,
                                           pki_dir=str(tmp_path)))
    status = action.run(task_vars=dict(hostvars={}, ansible_play_hosts=["h1"]))
    action._execute_module = MagicMock(return_value=read)
    action._task.args = dict(stage="status_report", connection={}, refuse=True,
                             settings=dict(instance="etcd", group="etcd", backup_dir=str(tmp_path), pki_dir=str(tmp_path),
                                           unit_path="/u", endpoints=["https://a:2379"]))
    report = action.run(task_vars=dict(hostvars={"h1": dict(_etcd_host_info=dict(installed=True))},
                                       ansible_play_hosts=["h1"], inventory_hostname="h1"))
    for plan in (status, report):
        assert "CA rotation: stopped in phase 1 of 3 (members trust the old and the new CA, certificates come from " \
               "the old one)" in " ".join(line.strip() for line in plan["lines"]), plan
    # A pass of the role that held the rotation for the proxies: the run goes on, nothing is reported.
    action._task.args["stage"], action._task.args["health"] = "status", read
    action._task.args["settings"] = {"version": read["endpoints"][0]["version"], "all_members_in_run": False,
                                     "pki_dir": str(tmp_path), "rotation_after_pass": {"1": "held"}, "pass": 1}
    held = action.run(task_vars=dict(hostvars={}, ansible_play_hosts=["h1"]))
    assert "failed" not in held and not [line for line in held["lines"] if "CA rotation" in line], held
