"""etcd_snapshot_store on a temporary directory: made private, a snapshot and its record made
private, the newest few kept with their records; check mode and every bad option change nothing."""

import json
import os
import stat
from functools import partial

import pytest

from ansible_collections.raftops.etcd.plugins.modules import etcd_snapshot_store
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import listing
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import run_module as run_any

run = partial(run_any, etcd_snapshot_store)
DAYS = ["20261120", "20261121", "20261122", "20261123", "20261124"]


def name(day):
    return "etcd-snapshot-%sT221500Z.db" % day


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.fixture
def backups(tmp_path):
    """A backup directory left world-readable, with a snapshot (and its record) for each of DAYS."""
    directory = tmp_path / "etcd-backups"
    directory.mkdir(mode=0o755)
    os.chmod(str(directory), 0o755)
    for day in DAYS:
        (directory / name(day)).write_bytes(b"snapshot " + day.encode())
        (directory / (name(day) + ".json")).write_text("{}")
    (directory / "notes.txt").write_text("not a snapshot")
    return directory


def test_the_options_are_documented():
    assert_documented_options_match(etcd_snapshot_store)


def test_a_missing_directory_is_made_private_then_left_alone(tmp_path):
    path = tmp_path / "inventory" / "etcd-backups"
    result, failed = run({"path": str(path)})
    assert not failed and result["changed"] and result["created"] and result["kept"] == []
    assert mode(path) == 0o700
    result, failed = run({"path": str(path)})
    assert not failed and not result["changed"] and not result["created"]


def test_records_the_snapshot_privately_and_keeps_the_newest(backups):
    newest = name(DAYS[-1])
    os.chmod(str(backups / newest), 0o644)
    record = {"snapshot": newest, "revision": 42, "keys": 7, "hash_kv": None}
    args = {"path": str(backups), "snapshot": newest, "record": record, "keep": 3}
    result, failed = run(args)
    assert not failed and result["changed"]
    assert result["removed"] == [name(DAYS[1]), name(DAYS[0])]
    assert result["kept"] == [name(day) for day in reversed(DAYS[2:])]
    assert listing(backups) == sorted([name(d) for d in DAYS[2:]] + [name(d) + ".json" for d in DAYS[2:]] + ["notes.txt"])
    assert mode(backups) == 0o700 and mode(backups / newest) == 0o600 and mode(backups / (newest + ".json")) == 0o600
    with open(str(backups / (newest + ".json"))) as handle:
        assert json.load(handle) == record
    again, failed = run(args)
    assert not failed and not again["changed"] and again["removed"] == []


def test_a_changed_record_is_written_again(backups):
    newest = name(DAYS[-1])
    args = {"path": str(backups), "snapshot": newest, "record": {"revision": 1}}
    run(args)
    result, failed = run(dict(args, record={"revision": 2}))
    assert not failed and result["changed"]
    with open(str(backups / (newest + ".json"))) as handle:
        assert json.load(handle) == {"revision": 2}


def test_check_mode_reports_and_changes_nothing(backups, tmp_path):
    before = {entry: mode(backups / entry) for entry in listing(backups)}
    result, failed = run({"path": str(backups), "snapshot": name(DAYS[-1]), "record": {"revision": 1}, "keep": 1},
                         check=True)
    assert not failed and result["changed"] and result["removed"] == [name(day) for day in reversed(DAYS[:-1])]
    assert {entry: mode(backups / entry) for entry in listing(backups)} == before and mode(backups) == 0o755
    missing = tmp_path / "missing"
    result, failed = run({"path": str(missing), "keep": 1}, check=True)
    assert not failed and result["created"] and not missing.exists()


@pytest.mark.parametrize("args, says", [
    ({"keep": 0}, "keep is 0: keep at least 1 snapshot"),
    ({"snapshot": "etcd-snapshot-20991231T000000Z.db"}, "no snapshot etcd-snapshot-20991231T000000Z.db in "),
    ({"snapshot": "../etcd-snapshot-20261124T221500Z.db"}, "a file name in path, not a path"),
    ({"record": {"revision": 1}}, "record needs snapshot, the file it describes"),
    ({"keep": -1, "record": {"revision": 1}}, "keep is -1: keep at least 1 snapshot; record needs snapshot"),
])
def test_a_bad_option_is_refused_and_nothing_changes(backups, args, says):
    before = {entry: (mode(backups / entry), (backups / entry).read_bytes()) for entry in listing(backups)}
    result, failed = run(dict({"path": str(backups)}, **args))
    assert failed and says in result["msg"] and result["msg"].endswith("; nothing was changed")
    assert result["msg"].startswith("raftops.etcd.etcd_snapshot_store: ")
    assert {entry: (mode(backups / entry), (backups / entry).read_bytes()) for entry in listing(backups)} == before
    assert mode(backups) == 0o755


def test_a_file_where_the_directory_should_be_is_refused(tmp_path):
    path = tmp_path / "etcd-backups"
    path.write_text("a file")
    result, failed = run({"path": str(path)})
    assert failed and result["msg"] == "raftops.etcd.etcd_snapshot_store: %s is not a directory; nothing was changed" % path
    assert path.read_text() == "a file"
