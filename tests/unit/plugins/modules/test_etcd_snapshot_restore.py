import builtins
import hashlib
import os
import stat
from functools import partial

import pytest

from ansible_collections.raftops.etcd.plugins.modules import etcd_snapshot_restore
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import SNAPSHOT, listing
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import run_module as run_any

RESTORE = dict(name="etcd-host0", initial_cluster_token="restore-1", initial_advertise_peer_urls=["https://10.0.0.11:2380"])

run_module = partial(run_any, etcd_snapshot_restore)


def restore_args(snapshot_file, data_dir, **extra):
    return dict(RESTORE, src=str(snapshot_file), data_dir=str(data_dir), **extra)


# -- argument handling -------------------------------------------------------------------------


def test_documented_options_match_the_code():
    assert_documented_options_match(etcd_snapshot_restore)


@pytest.mark.parametrize(
    "args, message",
    [
        ({"src": "/s.db"},
         "missing required arguments: data_dir, initial_advertise_peer_urls, initial_cluster_token, name"),
        (dict(RESTORE, src="/s.db", data_dir="/d", dest="/x.db"), ") module: dest. Supported parameters include:"),
    ],
)
def test_argument_errors(args, message):
    result, failed = run_module(args)
    assert failed
    assert message in result["msg"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"name": "-bad"}, "name '-bad' is not a valid member name"),
        ({"initial_advertise_peer_urls": ["10.0.0.11:2380"]}, "'10.0.0.11:2380' is not an http(s)://HOST:PORT or unix://NAME:PORT URL"),
        ({"initial_cluster_token": " "}, "initial_cluster_token is empty"),
        ({"initial_cluster": "etcd-host1=https://10.0.0.12:2380"}, "has no entry for this member's name 'etcd-host0'"),
        ({"initial_cluster": "etcd-host0=https://10.0.0.99:2380"},
         "initial_cluster gives etcd-host0 the peer URLs https://10.0.0.99:2380 but initial_advertise_peer_urls is "
         "https://10.0.0.11:2380: they must match"),
        ({"initial_cluster": "etcd-host0"}, "initial_cluster entry 'etcd-host0' is not NAME=PEER_URL"),
        ({"owner": "no-such-user-raftops"}, "owner 'no-such-user-raftops': no such user on this host"),
        ({"group": "no-such-group-raftops"}, "group 'no-such-group-raftops': no such group on this host"),
    ],
)
def test_restore_argument_errors_come_before_anything_else(tmp_path, overrides, message):
    args = dict(RESTORE, src=str(tmp_path / "missing.db"), data_dir=str(tmp_path / "data"), **overrides)
    result, failed = run_module(args)
    assert failed and message in result["msg"]
    assert listing(tmp_path) == []


# -- restoring ---------------------------------------------------------------------------------


def test_restore_into_a_new_directory(tmp_path, snapshot_file, tool):
    path, calls = tool
    data_dir = tmp_path / "data"
    result, failed = run_module(restore_args(snapshot_file, data_dir, owner=str(os.getuid()),
                                             group=str(os.getgid())))
    assert not failed, result
    assert result["changed"] is True and result["data_dir"] == str(data_dir)
    assert (data_dir / "member" / "snap" / "db").read_bytes() == SNAPSHOT
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert listing(tmp_path) == ["bin", "calls.log", "data", "snap.db"]  # no staging directory left
    cmd = result["cmd"]
    staging = cmd[cmd.index("--data-dir") + 1]
    assert staging.startswith(str(tmp_path / ".data.restore-")) and staging.endswith("/data")
    assert cmd[:4] == [path, "snapshot", "restore", str(snapshot_file)]
    assert cmd[4:] == ["--name", "etcd-host0", "--data-dir", staging,
                       "--initial-cluster", "etcd-host0=https://10.0.0.11:2380",
                       "--initial-cluster-token", "restore-1",
                       "--initial-advertise-peer-urls", "https://10.0.0.11:2380"]
    assert (result["revision"], result["total_key"], result["status_source"]) == (7, 7, "etcdutl")
    assert result["space"]["needed"] == 2 * len(SNAPSHOT) + 128 * 1024 * 1024
    assert [c["args"][:2] for c in calls()] == [["version"], ["snapshot", "status"], ["snapshot", "restore"]]


def test_restore_into_an_existing_empty_directory(tmp_path, snapshot_file, tool):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    result, failed = run_module(restore_args(snapshot_file, data_dir))
    assert not failed, result
    assert listing(data_dir) == ["member"]
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert result["cmd"][result["cmd"].index("--data-dir") + 1].startswith(str(data_dir / ".restore-"))


def test_restore_refuses_a_non_empty_data_dir(tmp_path, snapshot_file, tool):
    _path, calls = tool
    data_dir = tmp_path / "data"
    (data_dir / "member").mkdir(parents=True)
    result, failed = run_module(restore_args(snapshot_file, data_dir))
    assert failed
    assert result["msg"] == ("data_dir %s is not empty (member): a restore never overwrites a data directory; "
                             "move it aside first" % data_dir)
    assert listing(data_dir) == ["member"]
    assert ["snapshot", "restore"] not in [c["args"][:2] for c in calls()]


def test_restore_allows_lost_and_found_on_a_mounted_data_dir(tmp_path, snapshot_file, tool):
    data_dir = tmp_path / "data"
    (data_dir / "lost+found").mkdir(parents=True)
    result, failed = run_module(restore_args(snapshot_file, data_dir))
    assert not failed, result
    assert listing(data_dir) == ["lost+found", "member"]


def test_restore_refuses_a_symlinked_data_dir(tmp_path, snapshot_file, tool):
    (tmp_path / "real").mkdir()
    (tmp_path / "data").symlink_to(tmp_path / "real")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert failed and result["msg"] == "data_dir %s exists and is a symlink or not a directory" % (tmp_path / "data")


def test_restore_refuses_a_bad_file_before_touching_anything(tmp_path, tool):
    _path, calls = tool
    src = tmp_path / "bad.db"
    src.write_bytes(SNAPSHOT[:-1] + b"\0")
    result, failed = run_module(restore_args(src, tmp_path / "data"))
    assert failed and "SHA-256 mismatch" in result["msg"]
    assert calls() == [] and not (tmp_path / "data").exists()


def test_restore_refuses_without_enough_space(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setattr(etcd_snapshot_restore, "free_bytes", lambda path: 10 << 20)
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert failed
    assert result["msg"] == (
        "not enough free space for the restore on the filesystem of %s: a 28 KiB snapshot needs about 128.1 MiB "
        "(twice its size plus 128 MiB for the WAL), 10 MiB is available" % tmp_path
    )
    assert result["space"] == dict(needed=2 * len(SNAPSHOT) + (128 << 20), available=10 << 20)
    assert not (tmp_path / "data").exists()


def test_failed_restore_leaves_nothing_behind(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "1")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert failed
    assert "etcdutl snapshot restore failed (rc=1), nothing was left behind: Error: failed to restore" in result["msg"]
    assert listing(tmp_path) == ["bin", "calls.log", "snap.db"]


def test_failed_restore_into_existing_dir_leaves_it_empty(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "1")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _result, failed = run_module(restore_args(snapshot_file, data_dir))
    assert failed and listing(data_dir) == []


def test_restore_check_mode_checks_but_writes_nothing(tmp_path, snapshot_file, tool):
    _path, calls = tool
    data_dir = tmp_path / "data"
    result, failed = run_module(restore_args(snapshot_file, data_dir), check=True)
    assert not failed and result["changed"] is True
    assert result["cmd"][result["cmd"].index("--data-dir") + 1] == str(data_dir)
    assert not data_dir.exists()
    assert [c["args"][:2] for c in calls()] == [["version"], ["snapshot", "status"]]


def test_restore_without_a_tool_fails_clearly(tmp_path, snapshot_file, no_tool):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert failed
    assert result["msg"] == "no usable etcdutl (etcd 3.5+) or etcdctl (etcd 3.4) found in  or PATH; set etcdutl_path"


def test_restore_with_etcdctl_36_fails_clearly(tmp_path, snapshot_file, tool, monkeypatch):
    path, _calls = tool
    monkeypatch.setenv("FAKE_KIND", "etcdctl")
    monkeypatch.setenv("FAKE_VERSION", "3.6.1")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", etcdutl_path=path))
    assert failed and "is etcdctl 3.6.1, which has no snapshot status or restore: use etcdutl" in result["msg"]


def test_restore_etcdutl_path_must_be_executable(tmp_path, snapshot_file):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", etcdutl_path=str(snapshot_file)))
    assert failed and result["msg"] == "etcdutl_path %s is not an executable file" % snapshot_file


def test_restore_parent_of_data_dir_must_exist(tmp_path, snapshot_file, tool):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "no" / "data"))
    assert failed and result["msg"] == "the parent directory %s of data_dir does not exist" % (tmp_path / "no")


def test_restore_with_etcdctl_34_sets_api_3(tmp_path, snapshot_file, tool, monkeypatch):
    path, calls = tool
    monkeypatch.setenv("FAKE_KIND", "etcdctl")
    monkeypatch.setenv("FAKE_VERSION", "3.4.23")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", etcdutl_path=path,
                                             initial_cluster="etcd-host0=https://10.0.0.11:2380,"
                                                             "etcd-host1=https://10.0.0.12:2380"))
    assert not failed, result
    assert all(c["api"] == "3" for c in calls())
    assert "etcd-host0=https://10.0.0.11:2380,etcd-host1=https://10.0.0.12:2380" in result["cmd"]


# -- the revision bump -------------------------------------------------------------------------


def test_restore_bumps_the_revision_and_marks_it_compacted(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_VERSION", "3.5.30")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", bump_revision=1000, mark_compacted=True))
    assert not failed, result
    assert result["cmd"][-3:] == ["--bump-revision", "1000", "--mark-compacted"]
    assert (result["bump_revision"], result["mark_compacted"], result["restored_revision"]) == (1000, True, 1007)


def test_restore_without_a_bump_passes_no_bump_flags(tmp_path, snapshot_file, tool):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data"))
    assert not failed, result
    assert "--bump-revision" not in result["cmd"] and "--mark-compacted" not in result["cmd"]
    assert (result["bump_revision"], result["mark_compacted"], result["restored_revision"]) == (0, False, 7)


@pytest.mark.parametrize("extra, message", [
    (dict(bump_revision=1000), "bump_revision=1000 with mark_compacted=False: etcdutl bumps the revision only together "
                               "with --mark-compacted"),
    (dict(mark_compacted=True), "bump_revision=0 with mark_compacted=True"),
    (dict(bump_revision=-5, mark_compacted=True), "bump_revision is -5: give a number of revisions above 0"),
])
def test_restore_refuses_bump_options_etcdutl_refuses(tmp_path, snapshot_file, tool, extra, message):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", **extra))
    assert failed and message in result["msg"]
    assert "data" not in listing(tmp_path)


def test_restore_refuses_a_bump_the_program_cannot_make(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_VERSION", "3.5.9")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", bump_revision=10, mark_compacted=True))
    assert failed
    assert result["msg"].startswith("bump_revision: etcdutl 3.5.9 cannot bump the revision (etcd 3.4.27, 3.5.10 or "
                                    "later can)")
    assert "data" not in listing(tmp_path)


# -- a WAL directory apart -----------------------------------------------------------------------


def test_restore_puts_the_wal_in_its_own_directory(tmp_path, snapshot_file, tool):
    data_dir, wal_dir = tmp_path / "data", tmp_path / "wal"
    wal_dir.mkdir(mode=0o755)  # made empty by the role's configuration, as on a recreated host
    result, failed = run_module(restore_args(snapshot_file, data_dir, wal_dir=str(wal_dir)))
    assert not failed, result
    assert (result["data_dir"], result["wal_dir"]) == (str(data_dir), str(wal_dir))
    assert listing(data_dir / "member") == ["snap"]
    assert listing(wal_dir) == ["0000000000000000-0000000000000000.wal"]
    assert stat.S_IMODE(wal_dir.stat().st_mode) == 0o700
    cmd = result["cmd"]
    assert cmd[cmd.index("--wal-dir") + 1].startswith(str(wal_dir / ".restore-"))
    assert cmd.index("--wal-dir") == cmd.index("--data-dir") + 2
    # No staging directory left in either.
    assert listing(tmp_path) == ["bin", "calls.log", "data", "snap.db", "wal"]
    assert "wal_space" not in result  # one filesystem: one figure, the WAL's share in it
    assert result["space"]["needed"] == 2 * len(SNAPSHOT) + 128 * 1024 * 1024


def test_restore_refuses_a_non_empty_wal_dir_before_anything(tmp_path, snapshot_file, tool):
    _path, calls = tool
    wal_dir = tmp_path / "wal"
    wal_dir.mkdir()
    (wal_dir / "0000000000000000-0000000000000000.wal").write_bytes(b"old")
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", wal_dir=str(wal_dir)))
    assert failed
    assert result["msg"] == ("wal_dir %s is not empty (0000000000000000-0000000000000000.wal): a restore never "
                             "overwrites a WAL directory; move it aside first" % wal_dir)
    assert not (tmp_path / "data").exists() and listing(wal_dir) == ["0000000000000000-0000000000000000.wal"]
    assert ["snapshot", "restore"] not in [c["args"][:2] for c in calls()]


# Judged by etcd_values.path_inside, as the settings check judges them: "/" is a parent of every data dir.
@pytest.mark.parametrize("wal", ["data", "", "data/member/wal", "data/member", "data/member/../member/x", "/"])
def test_restore_refuses_a_wal_dir_that_is_the_data_dir_its_parent_or_in_its_member_dir(
        tmp_path, snapshot_file, tool, wal):
    (tmp_path / "data").mkdir()
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", wal_dir=str(tmp_path / wal)))
    assert failed and result["msg"] == ("wal_dir %s: neither data_dir %s, nor a parent of it, nor inside its member "
                                        "directory, which etcd manages" % (os.path.normpath(tmp_path / wal),
                                                                           tmp_path / "data"))
    assert listing(tmp_path / "data") == []


def test_restore_keeps_apart_a_wal_dir_whose_name_only_begins_with_the_data_dirs(tmp_path, snapshot_file, tool):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", wal_dir=str(tmp_path / "data-wal")))
    assert not failed, result
    assert listing(tmp_path / "data") == ["member"]
    assert listing(tmp_path / "data-wal") == ["0000000000000000-0000000000000000.wal"]


def test_restore_puts_a_wal_dir_inside_the_data_dir_in_place_with_it(tmp_path, snapshot_file, tool):
    data_dir = tmp_path / "data"
    result, failed = run_module(restore_args(snapshot_file, data_dir, wal_dir=str(data_dir / "wal")))
    assert not failed, result
    assert listing(data_dir) == ["member", "wal"] and listing(data_dir / "member") == ["snap"]
    assert listing(data_dir / "wal") == ["0000000000000000-0000000000000000.wal"]
    cmd = result["cmd"]
    assert cmd[cmd.index("--wal-dir") + 1] == cmd[cmd.index("--data-dir") + 1] + "/wal"
    assert listing(tmp_path) == ["bin", "calls.log", "data", "snap.db"]


def test_restore_failing_with_a_wal_dir_leaves_both_as_they_were(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "1")
    (tmp_path / "wal").mkdir()
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", wal_dir=str(tmp_path / "wal")))
    assert failed and "nothing was left behind" in result["msg"]
    assert listing(tmp_path) == ["bin", "calls.log", "snap.db", "wal"] and listing(tmp_path / "wal") == []


def test_restore_checks_the_wal_filesystem_apart(tmp_path, snapshot_file, tool, monkeypatch):
    monkeypatch.setattr(etcd_snapshot_restore, "same_filesystem", lambda path, other: False)
    monkeypatch.setattr(etcd_snapshot_restore, "free_bytes",
                        lambda path: 64 << 20 if path == str(tmp_path / "wal-disk") else 1 << 30)
    (tmp_path / "wal-disk").mkdir()
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data",
                                             wal_dir=str(tmp_path / "wal-disk" / "wal")), check=True)
    assert failed
    assert result["msg"] == ("not enough free space for the restore on the filesystem of %s: a 28 KiB snapshot "
                             "needs about 128 MiB (128 MiB for its WAL), 64 MiB is available" % (tmp_path / "wal-disk"))
    assert result["wal_space"] == dict(needed=128 << 20, available=64 << 20)
    assert result["space"] == dict(needed=2 * len(SNAPSHOT), available=1 << 30)


# -- the SHA-256 the copy must have ------------------------------------------------------------


def test_restore_of_the_file_with_the_sha256_given(tmp_path, snapshot_file, tool):
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data",
                                             sha256=etcd_snapshot_restore_sha(snapshot_file).upper()))
    assert not failed and result["changed"] is True and (tmp_path / "data" / "member").is_dir()


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_the_file_with_the_sha256_given_is_read_through_once(tmp_path, snapshot_file, tool, check, monkeypatch):
    """Its checks give the SHA-256 that is compared: a snapshot of GiBs is not hashed twice on each member."""
    sha256 = etcd_snapshot_restore_sha(snapshot_file)
    opened = []
    real_open = builtins.open

    def counting_open(path, *args, **kwargs):
        if isinstance(path, (str, bytes, os.PathLike)) and os.path.realpath(os.fsdecode(path)) == str(snapshot_file):
            opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", sha256=sha256), check=check)
    assert not failed, result
    assert len(opened) == 1 and result["checks"]["hash_ok"] is True and result["sha256"] == sha256


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_restore_refuses_a_file_with_another_sha256_before_anything(tmp_path, snapshot_file, tool, check):
    _path, calls = tool
    other = "0" * 64
    result, failed = run_module(restore_args(snapshot_file, tmp_path / "data", sha256=other), check=check)
    if check:
        # in check mode the copy that would be made is not there yet: nothing is checked
        assert not failed and result["changed"] is True and calls() == []
        assert result["msg"] == ("check mode: %s is not the snapshot yet (SHA-256 %s): a copy would be made first, so "
                                 "nothing was checked here" % (snapshot_file, other))
    else:
        assert failed and result["msg"] == (
            "%s has SHA-256 %s, not %s: it is not the snapshot that was checked (changed on its way, or another file at "
            "its path)" % (snapshot_file, etcd_snapshot_restore_sha(snapshot_file), other))
        assert [c["args"][:2] for c in calls()] == [["version"], ["snapshot", "status"]]
    assert not (tmp_path / "data").exists()


def test_restore_in_check_mode_of_a_file_not_copied_yet_checks_nothing(tmp_path, tool):
    _path, calls = tool
    src = tmp_path / "restore.db"
    result, failed = run_module(restore_args(src, tmp_path / "data", sha256="ab" * 32), check=True)
    assert not failed and result["changed"] is True and "a copy would be made first" in result["msg"]
    assert calls() == [] and listing(tmp_path) == ["bin", "calls.log"]
    # without the check mode the missing file is refused as before
    result, failed = run_module(restore_args(src, tmp_path / "data", sha256="ab" * 32))
    assert failed and "restore.db" in result["msg"]


def test_restore_in_check_mode_on_a_fresh_host_needs_neither_the_copy_nor_its_owner(tmp_path, tool):
    # A check run of the restore on hosts where the cluster was never deployed: the account the real
    # run would make is not there either.
    _path, calls = tool
    args = restore_args(tmp_path / "restore.db", tmp_path / "data", sha256="ab" * 32, owner="no-such-user-here",
                        group="no-such-group-here")
    result, failed = run_module(args, check=True)
    assert not failed and "a copy would be made first" in result["msg"] and calls() == []
    result, failed = run_module(args)
    assert failed and result["msg"] == "owner 'no-such-user-here': no such user on this host"


def etcd_snapshot_restore_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
