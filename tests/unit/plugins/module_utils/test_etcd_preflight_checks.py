"""Preflight's refusals about hosts (system, architecture, group, the etcd user's account, the timers'
schedules, auth turned on outside the role; plugins/module_utils/host/host_checks.py) and about the
change of release (plugins/module_utils/plan/plan.py), with their exact messages. The deploy's plan
(raftops.etcd.etcd_plan) folds them into its refusals."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host.host_checks import (
    account_problem,
    auth_refused,
    calendar_problems,
    system_problems,
)
from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import release_warning, version_change_problem

ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x"}
LINUX = dict(ansible_system="Linux", ansible_service_mgr="systemd", ansible_architecture="x86_64")


# --- system_problems -------------------------------------------------------------------------------


def test_members_on_linux_with_systemd_pass():
    hostvars = {"a": LINUX, "b": dict(LINUX, ansible_architecture="aarch64")}
    assert system_problems(["a", "b"], hostvars, ["a", "b"], "etcd", ARCHES) == []


def test_a_host_outside_the_group_is_refused():
    assert system_problems(["a", "x"], {"a": LINUX, "x": LINUX}, ["a"], "etcd_main", ARCHES) == [
        "host x: not in the group etcd_main (etcd_group); run the role on the members only"]


@pytest.mark.parametrize("facts, shown", [
    (dict(LINUX, ansible_system="FreeBSD", ansible_service_mgr="bsdinit"), "FreeBSD with bsdinit"),
    (dict(LINUX, ansible_service_mgr="sysvinit"), "Linux with sysvinit"),
    ({"ansible_system": "Darwin", "ansible_architecture": "x86_64"}, "Darwin with ?"),
    ({"ansible_service_mgr": "openrc", "ansible_architecture": "x86_64"}, "? with openrc"),
])
def test_another_system_or_service_manager_is_refused(facts, shown):
    assert system_problems(["a"], {"a": facts}, ["a"], "etcd", ARCHES) == [
        "host a: unsupported system %s; Linux with systemd is required" % shown]


def test_facts_not_gathered_count_as_linux_with_systemd_but_not_as_an_architecture():
    assert system_problems(["a"], {"a": {}}, ["a"], "etcd", ARCHES) == [
        "host a: unsupported architecture ?; etcd releases exist for x86_64, aarch64, ppc64le, s390x"]


def test_an_architecture_without_releases_is_refused_listing_those_with():
    assert system_problems(["a"], {"a": dict(LINUX, ansible_architecture="armv7l")}, ["a"], "etcd", ["x86_64", "aarch64"]) == [
        "host a: unsupported architecture armv7l; etcd releases exist for x86_64, aarch64"]


def test_every_problem_of_every_host_is_listed_in_host_order():
    hostvars = {"b": {"ansible_system": "Darwin", "ansible_architecture": "arm64"}, "a": LINUX, "c": LINUX}
    assert system_problems(["b", "a", "c"], hostvars, ["a", "b"], "etcd", ARCHES) == [
        "host b: unsupported system Darwin with ?; Linux with systemd is required",
        "host b: unsupported architecture arm64; etcd releases exist for x86_64, aarch64, ppc64le, s390x",
        "host c: not in the group etcd (etcd_group); run the role on the members only",
    ]


# --- account_problem -------------------------------------------------------------------------------

LOGIN = ("host etcd-1: etcd_user=%s: that account exists as a login account (uid %s, shell %s); the role runs etcd "
         "as a system account of its own without a login: choose another etcd_user; nothing was changed")


@pytest.mark.parametrize("account", [None, [], ["x", "998", "998", "", "/var/lib/etcd", "/usr/sbin/nologin"],
                                     ["x", "999", "1", "", "/", "/sbin/nologin"], ["x", "0", "0", "", "/", "/bin/false"],
                                     ["x", 120, 120, "", "/", "/usr/bin/false"]])
def test_no_account_or_a_system_account_without_login_passes(account):
    assert account_problem(account, "etcd", "etcd-1") == ""


@pytest.mark.parametrize("account, uid, shell", [
    (["x", "1000", "1000", "Ann", "/home/ann", "/usr/sbin/nologin"], "1000", "/usr/sbin/nologin"),
    (["x", "100", "100", "", "/srv", "/bin/bash"], "100", "/bin/bash"),
    (["x", "60000", "60000", "", "/", "/bin/sh"], "60000", "/bin/sh"),
    (["x", "998", "998"], "998", "?"),
])
def test_a_login_account_is_refused_with_its_uid_and_shell(account, uid, shell):
    assert account_problem(account, "ann", "etcd-1") == LOGIN % ("ann", uid, shell)


def test_a_uid_that_is_no_number_reads_as_0_as_in_jinja():
    assert account_problem(["x", "abc", "1", "", "/", "/bin/false"], "etcd", "etcd-1") == ""
    assert account_problem(["x"], "etcd", "etcd-1") == LOGIN % ("etcd", "?", "?")


def test_system_problems_name_each_host_whose_etcd_user_is_a_login_account():
    reads = {
        "etcd-1": {"account": ["x", "1000", "1000", "Ann", "/home/ann", "/bin/bash"], "account_name": "ann"},
        "etcd-2": {"account": ["x", "998", "998", "", "/var/lib/etcd", "/usr/sbin/nologin"], "account_name": "etcd"},
        "etcd-3": {"account": None, "account_name": "etcd"},
    }
    hosts = ["etcd-1", "etcd-2", "etcd-3", "etcd-4"]
    hostvars = dict.fromkeys(hosts, LINUX)
    # etcd-4 has no read (unreachable): it is not checked for its account.
    assert system_problems(hosts, hostvars, hosts, "etcd", ARCHES, reads) == [
        LOGIN % ("ann", "1000", "/bin/bash")]
    assert system_problems(hosts, hostvars, hosts, "etcd", ARCHES) == []


# --- calendar_problems -----------------------------------------------------------------------------


def test_schedules_systemd_reads_pass():
    assert calendar_problems({"etcd-1": {"calendars": {"etcd_backup_schedule": {"expression": "hourly", "error": ""}}},
                              "etcd-2": {"calendars": {}}, "etcd-3": {"present": []}, "etcd-4": None}) == []
    assert calendar_problems({}) == []


def test_each_schedule_systemd_cannot_read_is_refused_with_its_host_setting_and_reason():
    bad = {"expression": "evry day", "error": "Failed to parse calendar specification 'evry day': Invalid argument"}
    reads = {"etcd-1": {"calendars": {"etcd_backup_schedule": {"expression": "hourly", "error": ""},
                                      "etcd_maintenance_schedule": bad}},
             "etcd-2": {"present": [], "calendars": {"etcd_maintenance_schedule": bad}}}
    assert calendar_problems(reads) == [
        "host %s: etcd_maintenance_schedule=evry day: systemd does not read it as a calendar expression (Failed to "
        "parse calendar specification 'evry day': Invalid argument); see 'man systemd.time', e.g. hourly or "
        "*-*-* 00/6:00:00; nothing was changed" % host for host in ("etcd-1", "etcd-2")]


# --- release_warning -------------------------------------------------------------------------------


def test_a_release_before_the_first_consistency_fix_names_every_bug_it_has_and_the_last_fix():
    warning = release_warning("3.5.1")
    assert warning.startswith("WARNING: etcd 3.5.1 has known data inconsistency bugs")
    assert "killed while it applies writes" in warning
    assert "crashes during a defragmentation" in warning
    assert "with auth on" not in warning
    assert warning.endswith("etcd recommends 3.5.6 or later; set etcd_version to a later release of the same minor version")


@pytest.mark.parametrize("version", ["3.5.5", "v3.5.5"])
def test_3_5_5_has_the_defragmentation_and_the_auth_bug(version):
    warning = release_warning(version)
    assert "crashes during a defragmentation" in warning and "with auth on" in warning
    assert "killed while it applies writes" not in warning
    assert "recommends 3.5.6 or later" in warning


def test_3_4_20_and_21_have_the_auth_bug():
    for version in ("3.4.20", "3.4.21"):
        warning = release_warning(version)
        assert "with auth on" in warning and "recommends 3.4.22 or later" in warning


@pytest.mark.parametrize("version", ["3.4.19", "3.4.22", "3.4.23", "3.5.6", "3.5.30", "3.6.0", "3.6.14"])
def test_releases_without_a_known_inconsistency_get_no_warning(version):
    assert release_warning(version) == ""


def test_a_version_that_is_no_release_is_an_error():
    with pytest.raises(ValueError):
        release_warning("latest")


# --- version_change_problem ------------------------------------------------------------------------

UNHEALTHY = ("the cluster is not healthy, so it will not be rolled from %s to %s: %s. Bring the cluster back to health "
             "with its current etcd_version first; nothing was changed")


def test_no_running_release_or_the_same_release_passes_whatever_the_health():
    assert version_change_problem([], "3.5.17", False, {"skipped": True}) == ""
    assert version_change_problem([], "3.5.17") == ""
    assert version_change_problem(["3.5.17"], "3.5.17", False, {"healthy": False, "problems": ["x"]}) == ""


def test_a_change_on_a_healthy_cluster_passes():
    assert version_change_problem(["3.5.16", "3.5.17"], "3.5.17", False, {"healthy": True}) == ""


def test_etcd_policy_comes_first_and_ends_the_message():
    assert version_change_problem(["3.4.23"], "3.6.0", False, {"healthy": False}) == (
        "upgrading 3.4.23 to 3.6.0 skips a minor version: upgrade one minor version at a time (3.5 first); "
        "nothing was changed")
    assert version_change_problem(["3.5.17"], "3.5.1", False, {"healthy": True}) == (
        "3.5.1 is older than the running 3.5.17: a downgrade needs etcd_allow_downgrade=true; nothing was changed")
    assert version_change_problem(["3.5.17"], "3.5.1", True, {"healthy": True}) == ""


def test_an_unhealthy_cluster_is_not_rolled_naming_its_problems():
    health = {"healthy": False, "problems": ["upg-host2 (https://10.250.0.52:2379): connection refused", "no leader"]}
    assert version_change_problem(["3.4.23"], "3.5.0", False, health) == UNHEALTHY % (
        "3.4.23", "3.5.0", "upg-host2 (https://10.250.0.52:2379): connection refused; no leader")


def test_without_problems_the_health_message_or_no_answer_is_named():
    assert version_change_problem(["3.4.23", "3.5.0"], "3.5.0", False, {"healthy": False, "problems": [], "msg": "timed out"}) == (
        UNHEALTHY % ("3.4.23, 3.5.0", "3.5.0", "timed out"))
    assert version_change_problem(["3.4.23"], "3.5.0", False, {"healthy": False}) == (
        UNHEALTHY % ("3.4.23", "3.5.0", "no member answered"))
    assert version_change_problem(["3.4.23"], "3.5.0") == UNHEALTHY % ("3.4.23", "3.5.0", "no member answered")


def test_a_rolling_change_between_3_4_and_3_5_is_refused_while_auth_is_to_stay_on():
    message = version_change_problem(["3.4.23"], "3.5.1", False, {"healthy": True}, auth=True)
    assert message.startswith("etcd_auth_enabled is true and the change from 3.4.23 to 3.5.1 mixes 3.4 and 3.5")
    assert message.endswith("turn it on again; nothing was changed")
    assert version_change_problem(["3.4.23", "3.5.1"], "3.5.1", False, {"healthy": True}, auth="true") != ""
    assert version_change_problem(["3.5.1"], "3.4.23", True, {"healthy": True}, auth=True) != ""


def test_auth_off_or_left_alone_and_other_changes_with_auth_pass():
    assert version_change_problem(["3.4.23"], "3.5.1", False, {"healthy": True}, auth=None) == ""
    assert version_change_problem(["3.4.23"], "3.5.1", False, {"healthy": True}, auth=False) == ""
    assert version_change_problem(["3.5.0"], "3.5.1", False, {"healthy": True}, auth=True) == ""
    assert version_change_problem(["3.5.1"], "3.5.1", False, {}, auth=True) == ""


# --- auth_refused ----------------------------------------------------------------------------------

CN_REFUSED = "CommonName of client sending a request against gateway will be ignored and not used as expected"


def read(*status_errors):
    """An etcd_health result whose endpoints answered their status with these errors (None: answered)."""
    return {"endpoints": [{"endpoint": "https://127.0.0.1:2379", "reachable": True, "status_error": e}
                          for e in status_errors]}


def test_the_hosts_whose_etcd_refused_the_read_for_want_of_a_user_are_named_with_its_answer():
    reads = {
        "a": read(CN_REFUSED),  # auth turned on outside the role: the member's server pair has a CN
        "b": read("etcdserver: user name is empty"),  # the CN-less pair without a login
        "c": read("etcdserver: authentication failed, invalid user ID or password"),  # a wrong password
        "d": read("etcdserver: invalid auth token"),
        "e": read(None),
        "f": read("etcdserver: rpc not supported for learner"),
        "g": {"skipped": True, "changed": False},  # a host without data
        "h": {"msg": "no etcd endpoint answered", "endpoints": [{"reachable": False, "status_error": None}]},
    }
    assert auth_refused(reads) == {
        "a": CN_REFUSED,
        "b": "etcdserver: user name is empty",
        "c": "etcdserver: authentication failed, invalid user ID or password",
        "d": "etcdserver: invalid auth token",
    }


def test_no_reads_no_refusals():
    assert auth_refused({}) == {} and auth_refused(None) == {}
