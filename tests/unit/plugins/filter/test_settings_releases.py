"""The settings rules that depend on the release: ETCD_EXPERIMENTAL_* in etcd_extra_env from 3.6 on
(3.6 deprecated them, 3.7 removed them) and etcd_feature_gates against each release's known gates."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan import settings as s
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import EXPERIMENTAL_REPLACEMENTS
from ansible_collections.raftops.etcd.tests.unit.plugins.filter.test_settings_problems import BASE, HOST

GONE = ("etcd %s has no experimental settings any more (3.6 deprecated them, 3.7 removed them, and etcd would "
        "only warn and run without it); ")
GATES_3_6 = ("AllAlpha, AllBeta, CompactHashCheck, InitialCorruptCheck, LeaseCheckpoint, LeaseCheckpointPersist, "
             "SetMemberLocalAddr, StopGRPCServiceOnDefrag, TxnModeWriteWithSharedBuffer")
GATES_3_7 = ("AllAlpha, AllBeta, CompactHashCheck, FastLeaseKeepAlive, InitialCorruptCheck, LeaseCheckpoint, "
             "LeaseCheckpointPersist, PriorityRequest, SetMemberLocalAddr, StopGRPCServiceOnDefrag, "
             "TxnModeWriteWithSharedBuffer")


def problems(**overrides):
    return s.settings_problems(dict(BASE, **overrides), HOST)


@pytest.mark.parametrize("version", ["3.4.23", "3.5.30"])
def test_experimental_settings_pass_before_3_6(version):
    extra = {"ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME": "4h", "ETCD_EXPERIMENTAL_MEMORY_MLOCK": True}
    assert problems(etcd_version=version, etcd_extra_env=extra) == []


@pytest.mark.parametrize("version, minor", [("3.6.0", "3.6"), ("3.6.16", "3.6"), ("3.7.3", "3.7")])
@pytest.mark.parametrize("key, value, instead", [
    ("ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT", 1000, "use --compaction-batch-limit (ETCD_COMPACTION_BATCH_LIMIT) instead"),
    ("ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME", "4h", "use --corrupt-check-time (ETCD_CORRUPT_CHECK_TIME) instead"),
    ("ETCD_EXPERIMENTAL_SNAPSHOT_CATCH_UP_ENTRIES", 5000,
     "use --snapshot-catchup-entries (ETCD_SNAPSHOT_CATCHUP_ENTRIES) instead"),
    ("ETCD_EXPERIMENTAL_TXN_MODE_WRITE_WITH_SHARED_BUFFER", True,
     "use --feature-gates=TxnModeWriteWithSharedBuffer (etcd_feature_gates: {TxnModeWriteWithSharedBuffer: true}) instead"),
    ("ETCD_EXPERIMENTAL_ENABLE_LEASE_CHECKPOINT", True,
     "use --feature-gates=LeaseCheckpoint (etcd_feature_gates: {LeaseCheckpoint: true}) instead"),
    ("ETCD_EXPERIMENTAL_SOMETHING_NEW", 1,
     "see etcd's CHANGELOG-3.6 for the setting or feature gate (etcd_feature_gates) that replaced it"),
])
def test_experimental_settings_are_refused_from_3_6_naming_the_replacement(version, minor, key, value, instead):
    assert problems(etcd_version=version, etcd_extra_env={key: value}) == [
        "host %s: etcd_extra_env[%r]=%r: %s%s" % (HOST, key, value, GONE % minor, instead)]


def test_every_experimental_flag_of_3_6_has_its_replacement():
    # server/etcmain/config.go and server/embed/config.go of v3.6.14 define these 23 flags (and the
    # misspelt snapshot-catch-up-entries); v3.7.0 defines none of them.
    assert len(EXPERIMENTAL_REPLACEMENTS) == 24
    assert all(key.startswith("ETCD_EXPERIMENTAL_") and "EXPERIMENTAL" not in instead
               for key, instead in EXPERIMENTAL_REPLACEMENTS.items())


def test_the_role_writes_the_feature_gates_itself():
    assert problems(etcd_version="3.6.14", etcd_extra_env={"ETCD_FEATURE_GATES": "AllAlpha=true"}) == [
        "host %s: etcd_extra_env['ETCD_FEATURE_GATES']='AllAlpha=true': the role sets this (with the corruption "
        "checks' gates); use etcd_feature_gates instead" % HOST]


@pytest.mark.parametrize("version, gates", [
    ("3.6.0", {"StopGRPCServiceOnDefrag": True}), ("3.6.14", {"TxnModeWriteWithSharedBuffer": False, "AllAlpha": "no"}),
    ("3.7.0", {"FastLeaseKeepAlive": False, "PriorityRequest": True}), ("3.5.30", {}), ("3.7.3", {}),
])
def test_known_gates_pass(version, gates):
    assert problems(etcd_version=version, etcd_feature_gates=gates) == []


@pytest.mark.parametrize("version, gate, known", [
    ("3.6.14", "FastLeaseKeepAlive", GATES_3_6), ("3.7.3", "StopGrpcServiceOnDefrag", GATES_3_7),
])
def test_an_unknown_gate_is_refused_naming_it_and_the_known_ones(version, gate, known):
    minor = version.rsplit(".", 1)[0]
    assert problems(etcd_version=version, etcd_feature_gates={gate: True}) == [
        "host %s: etcd_feature_gates={%r: True}: etcd %s knows no feature gate %s; its gates are %s"
        % (HOST, gate, minor, gate, known)]


def test_gates_are_refused_before_3_6():
    assert problems(etcd_version="3.5.30", etcd_feature_gates={"AllAlpha": True}) == [
        "host %s: etcd_feature_gates={'AllAlpha': True}: etcd 3.5 has no feature gates (--feature-gates arrives "
        "in 3.6); leave it {}" % HOST]


def test_the_corruption_checks_gates_are_the_roles():
    assert problems(etcd_version="3.6.14", etcd_feature_gates={"CompactHashCheck": False}) == [
        "host %s: etcd_feature_gates={'CompactHashCheck': False}: CompactHashCheck: the role sets these for "
        "etcd_corruption_checks; use that instead" % HOST]


@pytest.mark.parametrize("gates, says", [
    (["AllAlpha=true"], "a dict of etcd feature gate -> true/false, like {StopGRPCServiceOnDefrag: true}"),
    ({"AllAlpha": "maybe"}, "the value of AllAlpha must be true or false"),
])
def test_a_bad_form_is_refused(gates, says):
    assert problems(etcd_version="3.6.14", etcd_feature_gates=gates) == [
        "host %s: etcd_feature_gates=%r: %s" % (HOST, gates, says)]
