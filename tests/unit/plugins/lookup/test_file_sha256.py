"""file_sha256: the SHA-256 of a controller file, '' for a missing one, a clear error for an unreadable one."""

import hashlib
import os

import pytest

from ansible.errors import AnsibleLookupError

from ansible_collections.raftops.etcd.plugins.lookup.file_sha256 import LookupModule, file_sha256


def test_the_digest_of_a_file_larger_than_one_read_and_empty_for_a_missing_one(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)
    (tmp_path / "tarball").write_bytes(data)
    assert file_sha256(str(tmp_path / "tarball")) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(tmp_path / "missing")) == ""
    assert LookupModule().run([str(tmp_path / "tarball"), str(tmp_path / "missing")]) == [
        hashlib.sha256(data).hexdigest(), ""]


def test_an_unreadable_file_is_named_in_the_error(tmp_path, monkeypatch):
    (tmp_path / "tarball").write_bytes(b"x")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(AnsibleLookupError, match=r"cannot read .*tarball: .*Permission denied"):
        file_sha256(str(tmp_path / "tarball"))
