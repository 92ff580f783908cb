"""The one atomic writer: the old file or the new one, never half of one, and never with loose permissions."""

import os
import stat

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host import files as etcd_files


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_sets_mode_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "k.pem"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    etcd_files.write_file_atomically(str(target), b"new", 0o600)
    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o600
    assert os.listdir(tmp_path) == ["k.pem"]


def test_a_new_file_is_created_with_its_mode(tmp_path):
    target = tmp_path / "crl.pem"
    etcd_files.write_file_atomically(str(target), b"crl", 0o644)
    assert target.read_bytes() == b"crl" and mode_of(target) == 0o644


def test_the_temporary_file_is_beside_the_target_with_its_mode_before_the_rename(tmp_path):
    target = tmp_path / "snap.db"
    with etcd_files.atomic_file(str(target), 0o640, suffix=".part") as out:
        out.write(b"data")
        out.handle.flush()
        assert os.path.dirname(out.path) == str(tmp_path)
        assert os.path.basename(out.path).startswith(".snap.db.") and out.path.endswith(".part")
        assert mode_of(out.path) == 0o640
        with open(out.path, "rb") as handle:
            assert handle.read() == b"data"  # a check of the content before it takes the name
        assert not target.exists()
    assert target.read_bytes() == b"data"
    assert os.listdir(tmp_path) == ["snap.db"]


def test_an_error_in_the_block_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "env"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), etcd_files.atomic_file(str(target)) as out:
        out.write(b"half")
        raise RuntimeError("stream cut")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["env"]


def test_a_missing_directory_raises_and_writes_nothing(tmp_path):
    with pytest.raises(OSError):
        etcd_files.write_file_atomically(str(tmp_path / "no" / "k.pem"), b"x", 0o600)
    assert os.listdir(tmp_path) == []


def _closed(fd):
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def test_fsync_directory_syncs_the_directory_and_closes_it(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(etcd_files.os, "fsync", synced.append)
    etcd_files.fsync_directory(str(tmp_path))
    assert len(synced) == 1 and _closed(synced[0])


def test_fsync_directory_tolerates_what_cannot_be_synced(tmp_path, monkeypatch):
    synced = []

    def refuse(fd):
        synced.append(fd)
        raise OSError(22, "Invalid argument")  # what some file systems answer for a directory

    monkeypatch.setattr(etcd_files.os, "fsync", refuse)
    assert etcd_files.fsync_directory(str(tmp_path)) is None
    assert len(synced) == 1 and _closed(synced[0])
    # A directory that cannot be opened is not synced at all.
    assert etcd_files.fsync_directory(str(tmp_path / "missing")) is None
    assert len(synced) == 1
