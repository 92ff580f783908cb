"""Paths of plugins/module_utils/host/values.py: what lies inside a directory, and the directory etcd
writes in beside a WAL kept apart; the members' compaction settings."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host.values import (
    compaction_env, path_inside, wal_parent, wal_parent_problem,
)


@pytest.mark.parametrize("path, parent, inside", [
    ("/var/lib/etcd/wal", "/var/lib/etcd", True),
    ("/var/lib/etcd/wal", "/var/lib/etcd/", True),
    ("/var/lib/etcd", "/var/lib/etcd", False),
    ("/var/lib/etcd-wal", "/var/lib/etcd", False),
    ("/var/lib", "/var/lib/etcd", False),
    ("/srv/x", "/", True),
])
def test_path_inside(path, parent, inside):
    assert path_inside(path, parent) is inside


@pytest.mark.parametrize("data_dir, wal_dir, parent", [
    ("/var/lib/etcd", "", None),
    ("/var/lib/etcd", "/var/lib/etcd", None),
    ("/var/lib/etcd", "/var/lib/etcd/member/wal", None),
    ("/var/lib/etcd/", "/var/lib/etcd/wal", None),
    ("/var/lib/etcd", "/var/lib/etcd-wal/wal", "/var/lib/etcd-wal"),
    ("/var/lib/etcd", "/srv/etcd-wal/wal/", "/srv/etcd-wal"),
    ("", "/wal", "/"),
])
def test_wal_parent(data_dir, wal_dir, parent):
    assert wal_parent(data_dir, wal_dir) == parent


def test_wal_parent_problem_names_the_system_directory_and_an_example():
    assert wal_parent_problem("/var/lib/etcd", "/var/lib/etcd-wal/wal") is None
    problem = wal_parent_problem("/var/lib/etcd", "/var/lib/etcd-wal")
    assert problem.startswith("/var/lib; etcd creates a new WAL beside it (as /var/lib/etcd-wal.tmp)")
    assert problem.endswith("like /var/lib/etcd-wal/wal")


@pytest.mark.parametrize("mode, retention, env", [
    ("periodic", "1", {"ETCD_AUTO_COMPACTION_MODE": "periodic", "ETCD_AUTO_COMPACTION_RETENTION": "1"}),
    ("periodic", "30m", {"ETCD_AUTO_COMPACTION_MODE": "periodic", "ETCD_AUTO_COMPACTION_RETENTION": "30m"}),
    ("revision", 1000, {"ETCD_AUTO_COMPACTION_MODE": "revision", "ETCD_AUTO_COMPACTION_RETENTION": "1000"}),
    # Off, in each form etcd knows: nothing written, etcd's default, the same file for each.
    ("", "1", {}),
    ("periodic", "0", {}),
    ("periodic", 0, {}),
    ("periodic", "0h", {}),
    ("revision", "0", {}),
])
def test_the_members_compaction_settings(mode, retention, env):
    assert compaction_env(mode, retention) == env
