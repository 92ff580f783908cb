"""The permission diff of etcd_role and the role diff of etcd_user (pure functions)."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import access as ea

APP = (b"app/", b"app0")
SHARED = (b"shared/", b"shared0")


def test_wanted_permissions_maps_keys_and_prefixes_to_ranges():
    assert ea.wanted_permissions([
        dict(prefix="app/", permission="readwrite"),
        dict(key="config", permission="read"),
        dict(prefix="", permission="read"),
        dict(prefix="app/", permission="READWRITE"),  # the same twice is one
    ]) == {APP: "READWRITE", (b"config", b""): "READ", (b"\0", b"\0"): "READ"}


@pytest.mark.parametrize("entry, message", [
    (dict(permission="read"), "needs exactly one of key (one key) or prefix"),
    (dict(key="", permission="read"), "key must not be empty (prefix '' is every key)"),
    (dict(key="a", permission="admin"), "permission must be one of read, write, readwrite, got 'admin'"),
    (dict(key="a", permission="read", range_end="b"), "has unknown field(s) range_end"),
    ("a", "is not a dict with key or prefix, and permission"),
])
def test_wanted_permissions_refuses(entry, message):
    with pytest.raises(ea.AccessError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ea.wanted_permissions([entry])


def test_permission_diff_grants_missing_and_changed_types_and_revokes_the_rest():
    current = [(b"app/", b"app0", "READ"), (b"old", b"", "WRITE"), (b"shared/", b"shared0", "READ")]
    wanted = {APP: "READWRITE", SHARED: "READ", (b"new", b""): "WRITE"}
    assert ea.permission_diff(current, wanted) == (
        [(b"app/", b"app0", "READWRITE"), (b"new", b"", "WRITE")], [(b"old", b"")])
    assert ea.permission_diff(current, wanted, append=True)[1] == []
    assert ea.permission_diff([(b"app/", b"app0", "READWRITE")], {APP: "READWRITE"}) == ([], [])
    assert ea.permission_diff([], {}) == ([], [])


def test_describe_permission_writes_ranges_as_tasks_do():
    assert ea.describe_permission(b"app/", b"app0", "READWRITE") == dict(prefix="app/", permission="readwrite")
    assert ea.describe_permission(b"k", b"", "READ") == dict(key="k", permission="read")
    assert ea.describe_permission(b"\0", b"\0", "READ") == dict(prefix="", permission="read")
    assert ea.describe_permission(b"a", b"c", "WRITE") == dict(key="a", range_end="c", permission="write")


def test_role_diff():
    assert ea.role_diff(["a", "b"], ["b", "c"]) == (["c"], ["a"])
    assert ea.role_diff(["a", "b"], ["b", "c"], append=True) == (["c"], [])
    assert ea.role_diff([], []) == ([], [])
