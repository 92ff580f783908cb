"""file_sha256: the SHA-256 of a controller file, '' for a missing one, a clear error for an unreadable one."""

import base64
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


# -- backup_recipient: the public key the members seal to ------------------------------------------


def test_the_recipient_is_the_key_files_public_key_and_the_key_is_made_once(tmp_path):
    from ansible_collections.raftops.etcd.plugins.lookup.backup_recipient import LookupModule as Recipient
    from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
    path = tmp_path / "etcd-backup.key"
    (first,) = Recipient().run([str(path)])
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    key = crypto.read_key(str(path))
    assert first == dict(public_key=base64.b64encode(crypto.recipient(key).public_key).decode(),
                         key_id=crypto.key_id(key), signers=crypto.encoded_signers(crypto.cluster_signers(key, [])))
    assert Recipient().run([str(path)]) == [first]  # read, not made again


def test_a_member_gets_its_own_signing_seed_and_every_signers_public_key(tmp_path):
    from ansible_collections.raftops.etcd.plugins.lookup.backup_recipient import LookupModule as Recipient
    from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
    path = tmp_path / "etcd-backup.key"
    (mine,) = Recipient().run([str(path)], member="etcd-b", members=["etcd-a", "etcd-b"])
    key = crypto.read_key(str(path))
    own = crypto.signer(key, "member:etcd-b")
    assert mine["signer"] == "member:etcd-b" and base64.b64decode(mine["signing_seed"]) == own.seed
    assert crypto.decoded_signers(mine["signers"]) == crypto.cluster_signers(key, ["etcd-a", "etcd-b"])
    # No other signer's seed, and no key that opens a backup, is in what the member gets.
    secrets = [crypto.signer(key, n).seed for n in ("controller", "member:etcd-a")] + [key]
    assert not any(base64.b64encode(secret).decode() in repr(mine) for secret in secrets)


def test_a_key_file_others_may_read_is_refused_naming_it(tmp_path):
    from ansible_collections.raftops.etcd.plugins.lookup.backup_recipient import LookupModule as Recipient
    path = tmp_path / "etcd-backup.key"
    path.write_text(base64.b64encode(bytes(32)).decode())
    os.chmod(path, 0o644)
    with pytest.raises(AnsibleLookupError, match=r"key file .*etcd-backup.key has mode 0644"):
        Recipient().run([str(path)])
