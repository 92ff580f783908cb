"""Preflight's checks the deploy's plan folds into its refusals (plugins/module_utils/host/host_checks.py):
every refusal with its message, the order they come in, and the runs that go on."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host import host_checks as checks

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
    (dict(hash_reference="m0"), {}, True),
    (dict(hash_reference="m0"), dict(check_mode=True), False),
    (dict(hash_reference=""), {}, False),
])
def test_later_phases_are_included_only_when_one_has_something_to_do(plan, settings, later):
    assert checks.later_phases(plan, settings) is later


def test_system_problems_want_a_list_of_hosts():
    with pytest.raises(ValueError, match="list of inventory hostnames"):
        checks.system_problems("h0", {}, [], "etcd", [])


# -- srv_refusal: the DNS SRV bootstrap's records against the members ----------------------------

SRV_MEMBERS = [dict(name="m%d" % i, host="h%d" % i, address="10.0.0.%d" % (10 + i), srv_target="m%d.example.com" % i,
                    peer_url="https://m%d.example.com:2380" % i) for i in range(2)]
SRV = "_etcd-server-ssl._tcp.example.com"


def srv_record(i, port=2380, addresses=None):
    return dict(target="m%d.example.com" % i, port=port, addresses=["10.0.0.%d" % (10 + i)] if addresses is None else addresses,
                failures=[])


def test_records_that_match_the_members_are_no_refusal():
    assert checks.srv_refusal(SRV, [srv_record(0), srv_record(1)], SRV_MEMBERS, [], ["a", "b"]) == ""


def test_a_missing_or_wrong_record_refuses_with_the_lines_the_inventory_needs():
    refusal = checks.srv_refusal(SRV, [srv_record(0, port=2390)], SRV_MEMBERS, ["h1"], ["L1", "L2"])
    assert refusal == (
        "record %s -> m0.example.com:2390: port 2390 is not member m0's peer port 2380; "
        "member m1 (host h1, 10.0.0.11) has no record in %s: add '%s. IN SRV 0 0 2380 m1.example.com.' "
        "(a new member of a DNS SRV cluster needs its record before it joins). "
        "The records the inventory needs: L1 | L2. Nothing was changed" % (SRV, SRV, SRV))


def test_a_target_that_resolves_to_nothing_is_named_with_why():
    record = dict(srv_record(0, addresses=[]), failures=["AAAA: timeout"])
    refusal = checks.srv_refusal(SRV, [record, srv_record(1)], SRV_MEMBERS, [], [])
    assert refusal.startswith("record %s -> m0.example.com:2380: m0.example.com does not resolve to an address "
                              "(AAAA: timeout); member m0 (host h0, 10.0.0.10) has no record" % SRV)


def test_srv_problems_wants_lists():
    with pytest.raises(ValueError, match="must be lists"):
        checks.srv_problems("m0", SRV_MEMBERS)
