"""Preflight's checks the deploy's plan folds into its refusals (plugins/module_utils/etcd_host_checks.py):
every refusal with its message, the order they come in, and the runs that go on."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_host_checks as checks

REFUSED = {"h1": "etcdserver: user name is empty"}


def test_auth_on_without_a_root_login_is_refused_naming_the_pki_setting_only_for_an_operator_s_pki():
    own = checks.auth_refusal(REFUSED, {}, dict(root_login=False, tls=True, pki_managed=True))
    assert own == ("auth is enabled on the cluster (turned on outside this role?): set etcd_auth_root_password (in a vault) "
                   "to the password of etcd's user root, and the role logs in as root (docs/access.md); leave "
                   "etcd_auth_enabled unset to keep auth as it is. etcd on h1 refused the role's read: "
                   "etcdserver: user name is empty. No host was changed.")
    operator = checks.auth_refusal(REFUSED, {}, dict(root_login=False, tls=True, pki_managed=False))
    assert "(with its own PKI, etcd_pki_managed=true, docs/access.md)" in operator


def test_auth_on_with_a_root_login_is_refused_in_check_mode_and_when_etcd_refuses_the_root_login():
    in_check = checks.auth_refusal(REFUSED, {}, dict(root_login=True, check_mode=True))
    assert in_check.startswith("auth is enabled on the cluster (turned on outside this role?), and the members do not have")
    assert "run once without --check" in in_check and in_check.endswith("No host was changed.")
    wrong = checks.auth_refusal(REFUSED, {"h1": "etcdserver: authentication failed, invalid user ID or password"},
                                dict(root_login=True))
    assert wrong == ("auth is enabled on the cluster, and etcd refused the role's root login on h1: etcdserver: "
                     "authentication failed, invalid user ID or password; etcd_auth_root_password must be the password "
                     "of etcd's user root. No host was changed.")


@pytest.mark.parametrize("refused, root_refused, settings", [
    ({}, {}, dict(root_login=False)),
    (REFUSED, {}, dict(root_login=True)),
])
def test_no_refusal_without_a_refused_read_or_with_a_root_login_etcd_takes(refused, root_refused, settings):
    assert checks.auth_refusal(refused, root_refused, settings) == ""


def test_the_hosts_problems_come_before_auth_and_auth_before_the_plan_s_own_refusal():
    assert checks.host_refusal(["a", "b"], "auth", "plan") == "a; b"
    assert checks.host_refusal([], "auth", "plan") == "auth"
    assert checks.host_refusal([], "", "plan") == "plan"
    assert checks.host_refusal([], "", "") == ""


def test_the_cluster_refusal_is_the_version_problem_then_the_cancelled_downgrade_then_the_lock():
    held = dict(acquired=False, msg="the run lock is held by another run")
    assert checks.cluster_refusal(dict(version_problem="policy", downgrade_target="3.5"), "3.5.9", True, held) == "policy"
    assert checks.cluster_refusal(dict(version_problem="", downgrade_target="3.5"), "3.5.9", True, held) == (
        "etcd_downgrade_cancel=true cancels a downgrade, but etcd_version=3.5.9 would start one to 3.5: set "
        "etcd_version to the release the cluster runs; nothing was changed")
    assert checks.cluster_refusal(dict(version_problem="", downgrade_target="3.5"), "3.5.9", False, held) == (
        "the run lock is held by another run")
    assert checks.cluster_refusal({}, "3.5.9", False, dict(acquired=False)) == "the run lock was not taken"


@pytest.mark.parametrize("lock_read", [None, {}, dict(skipped=True), dict(acquired=True),
                                       dict(acquired=False, msg="x", cluster=dict(msg="no endpoint answered"))])
def test_no_lock_asked_for_a_lock_taken_or_no_cluster_to_hold_one_refuses_nothing(lock_read):
    assert checks.cluster_refusal(dict(version_problem=""), "3.5.9", False, lock_read) == ""


@pytest.mark.parametrize("plan, settings, later", [
    (dict(converge=False, auth_phase=False, bootstrap=False), {}, False),
    (dict(converge=True), {}, True),
    (dict(auth_phase=True), {}, True),
    ({}, dict(timers=True), True),
    ({}, dict(metrics_targets=True), True),
    ({}, dict(rotation_phase="trust_both"), True),
    ({}, dict(rotation_phase="trust_both", check_mode=True), False),
    (dict(bootstrap=True), dict(rotation_phase="trust_both"), False),
    ({}, dict(hash_reference="m0"), True),
    ({}, dict(hash_reference="m0", check_mode=True), False),
])
def test_later_phases_are_included_only_when_one_has_something_to_do(plan, settings, later):
    assert checks.later_phases(plan, settings) is later


def test_system_problems_want_a_list_of_hosts():
    with pytest.raises(ValueError, match="list of inventory hostnames"):
        checks.system_problems("h0", {}, [], "etcd", [])
