"""The members' settings whose form depends on the release (plugins/module_utils/host/member_config.py,
server_env): the metrics listener, the corruption checks and the TLS floor, release by release; and the
members' scrape targets (plugins/module_utils/plan/plan.py, scrape_targets)."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host.member_config import MemberConfigError, server_env
from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import scrape_targets

MEMBER = {"client_url": "https://10.0.0.11:2379"}
DEFAULTS = {"tls": True, "metrics": "loopback", "metrics_port": 2381, "corruption_checks": True}


def env(version, member=None, **settings):
    return server_env(dict(DEFAULTS, **settings), version, MEMBER if member is None else member)


@pytest.mark.parametrize("version, checks", [
    ([3, 4, 23], {"ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK": "true"}),
    ([3, 5, 4], {"ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK": "true"}),
    ([3, 5, 5], {"ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK": "true", "ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED": "true"}),
    ([3, 5, 30], {"ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK": "true", "ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED": "true"}),
    ([3, 6, 0], {"ETCD_FEATURE_GATES": "CompactHashCheck=true,InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true"}),
    ([3, 6, 14], {"ETCD_FEATURE_GATES": "CompactHashCheck=true,InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true"}),
    ([3, 7, 0], {"ETCD_FEATURE_GATES": "CompactHashCheck=true,InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true"}),
    ([3, 7, 3], {"ETCD_FEATURE_GATES": "CompactHashCheck=true,InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true"}),
])
def test_each_release_gets_the_corruption_checks_it_knows(version, checks):
    found = {k: v for k, v in env(version).items() if "CORRUPT" in k or "HASH" in k or "GATES" in k}
    assert found == checks


@pytest.mark.parametrize("version, setting", [
    ([3, 4, 23], {}),
    ([3, 5, 13], {}),
    ([3, 5, 14], {"ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG": "true"}),
    ([3, 5, 30], {"ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG": "true"}),
    ([3, 6, 0], {"ETCD_FEATURE_GATES": "StopGRPCServiceOnDefrag=true"}),
    ([3, 7, 3], {"ETCD_FEATURE_GATES": "StopGRPCServiceOnDefrag=true"}),
])
def test_a_member_that_defragments_sends_grpc_clients_elsewhere_where_the_release_can(version, setting):
    found = {k: v for k, v in env(version, corruption_checks=False).items() if "DEFRAG" in k or "GATES" in k}
    assert found == setting


@pytest.mark.parametrize("version", [[3, 6, 0], [3, 7, 3]])
def test_the_operator_may_turn_the_defragmentation_gate_off(version):
    assert env(version, corruption_checks=False, feature_gates={"StopGRPCServiceOnDefrag": "no"})[
        "ETCD_FEATURE_GATES"] == "StopGRPCServiceOnDefrag=false"


# Every name each release line gets, with every optional setting on: 3.7 knows no --experimental-*
# flag (an unknown ETCD_* is only warned about), so none is written from 3.6 on.
@pytest.mark.parametrize("version, names", [
    ([3, 4, 23], ["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "ETCD_LISTEN_METRICS_URLS"]),
    ([3, 4, 25], ["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "ETCD_LISTEN_METRICS_URLS", "ETCD_TLS_MIN_VERSION"]),
    ([3, 5, 30], ["ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED", "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK",
                  "ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG", "ETCD_LISTEN_METRICS_URLS", "ETCD_TLS_MIN_VERSION"]),
    ([3, 6, 16], ["ETCD_FEATURE_GATES", "ETCD_LISTEN_METRICS_URLS", "ETCD_TLS_MIN_VERSION"]),
    ([3, 7, 3], ["ETCD_FEATURE_GATES", "ETCD_LISTEN_METRICS_URLS", "ETCD_TLS_MIN_VERSION"]),
])
def test_each_release_line_gets_exactly_these_names(version, names):
    assert sorted(env(version, metrics="address", feature_gates={"AllBeta": True})) == names


@pytest.mark.parametrize("version", [[3, 6, 0], [3, 7, 3]])
def test_the_operators_gates_join_the_checks_sorted(version):
    assert env(version, feature_gates={"StopGRPCServiceOnDefrag": True, "AllAlpha": "false"})["ETCD_FEATURE_GATES"] == (
        "AllAlpha=false,CompactHashCheck=true,InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true")
    assert env(version, corruption_checks=False, feature_gates={"PriorityRequest": "yes"})["ETCD_FEATURE_GATES"] == (
        "PriorityRequest=true,StopGRPCServiceOnDefrag=true")


def test_gates_are_not_written_before_3_6():
    assert "ETCD_FEATURE_GATES" not in env([3, 5, 30], feature_gates={"AllAlpha": True})


def test_the_checks_can_be_turned_off():
    assert env([3, 6, 14], corruption_checks=False)["ETCD_FEATURE_GATES"] == "StopGRPCServiceOnDefrag=true"
    assert not [k for k in env([3, 5, 30], corruption_checks=False) if "CORRUPT" in k or "HASH" in k]


@pytest.mark.parametrize("version, floor", [
    ([3, 4, 24], False), ([3, 4, 25], True), ([3, 5, 0], False), ([3, 5, 7], False), ([3, 5, 8], True), ([3, 6, 0], True),
])
def test_the_tls_floor_where_the_release_has_it(version, floor):
    assert ("ETCD_TLS_MIN_VERSION" in env(version)) is floor
    assert "ETCD_TLS_MIN_VERSION" not in env(version, tls=False)


def test_metrics_on_loopback_only_by_default():
    assert env([3, 5, 30])["ETCD_LISTEN_METRICS_URLS"] == "http://127.0.0.1:2381"


def test_metrics_on_the_address_use_the_client_tls_and_keep_loopback():
    assert env([3, 5, 30], metrics="address", metrics_port=2391)["ETCD_LISTEN_METRICS_URLS"] == (
        "https://10.0.0.11:2391,http://127.0.0.1:2391")
    assert env([3, 5, 30], metrics="address", tls=False)["ETCD_LISTEN_METRICS_URLS"] == (
        "http://10.0.0.11:2381,http://127.0.0.1:2381")
    ipv6 = {"client_url": "https://[fd00::11]:2379"}
    assert env([3, 5, 30], ipv6, metrics="address")["ETCD_LISTEN_METRICS_URLS"] == (
        "https://[fd00::11]:2381,http://127.0.0.1:2381")


def test_metrics_off_serves_none():
    assert "ETCD_LISTEN_METRICS_URLS" not in env([3, 5, 30], metrics="off")


def test_bad_input_is_named():
    with pytest.raises(MemberConfigError, match="etcd_metrics must be one of loopback, address, off, not 'everywhere'"):
        env([3, 5, 30], metrics="everywhere")
    with pytest.raises(MemberConfigError, match=r"the release must be \[major, minor, patch\]"):
        env("3.5.30")


def test_scrape_targets_name_each_member_and_the_cluster():
    members = [dict(name="m0", client_url="https://10.0.0.10:2379"), dict(name="m1", client_url="https://[fd00::11]:2379")]
    assert scrape_targets(members, 2385, "etcd-events", True) == [
        {"targets": ["10.0.0.10:2385"], "labels": {"__scheme__": "https", "cluster": "etcd-events", "instance": "m0"}},
        {"targets": ["[fd00::11]:2385"], "labels": {"__scheme__": "https", "cluster": "etcd-events", "instance": "m1"}},
    ]
    assert scrape_targets(members[:1], "2381", "etcd", False)[0]["labels"]["__scheme__"] == "http"
