"""backup_recipient: the public key the members seal to, made once; a member's own signing seed and
every signer's public key; a key file others may read is refused, naming it."""

import base64
import os

import pytest

from ansible.errors import AnsibleLookupError

from ansible_collections.raftops.etcd.plugins.lookup.backup_recipient import LookupModule as Recipient
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto


def test_the_recipient_is_the_key_files_public_key_and_the_key_is_made_once(tmp_path):
    path = tmp_path / "etcd-backup.key"
    (first,) = Recipient().run([str(path)])
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    key = crypto.read_key(str(path))
    assert first == dict(public_key=base64.b64encode(crypto.recipient(key).public_key).decode(),
                         key_id=crypto.key_id(key), signers=crypto.encoded_signers(crypto.cluster_signers(key, [])))
    assert Recipient().run([str(path)]) == [first]  # read, not made again


def test_hosts_that_make_the_key_at_once_all_get_the_one_key_made(tmp_path, monkeypatch):
    # A play's hosts render the push settings in processes of their own, each calling the lookup. Another
    # host's lookup runs while this one writes the key it made: it must not find the key file there
    # still empty (a run of the restore scenario failed so: "holds 0 bytes, not 32").
    path, others = str(tmp_path / "etcd-backup.key"), []
    fdopen = os.fdopen

    def other_host_meanwhile(*args, **kwargs):
        if not others:
            others.append(None)
            others[0] = Recipient().run([path])[0]
        return fdopen(*args, **kwargs)

    monkeypatch.setattr(os, "fdopen", other_host_meanwhile)
    (mine,) = Recipient().run([path])
    assert others == [mine] and mine["key_id"] == crypto.key_id(crypto.read_key(path))
    assert os.listdir(tmp_path) == ["etcd-backup.key"]  # nothing left beside it


def test_a_member_gets_its_own_signing_seed_and_every_signers_public_key(tmp_path):
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
    path = tmp_path / "etcd-backup.key"
    path.write_text(base64.b64encode(bytes(32)).decode())
    os.chmod(path, 0o644)
    with pytest.raises(AnsibleLookupError, match=r"key file .*etcd-backup.key has mode 0644"):
        Recipient().run([str(path)])
