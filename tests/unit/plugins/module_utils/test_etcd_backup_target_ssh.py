"""An SSH target's side of raftops.etcd.etcd_backup_target (state present), as its host runs it: the
encrypted backup written under its name only when absent, root's 0600 in a 0700 directory. Its prune
is the action's, decided on the controller by verified header (test_etcd_backup_target_action.py)."""

import os
import stat
import time

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target

NAME = "etcd-snapshot-20260301T000000Z.db.enc"
DAY = 86400


class Module:
    def __init__(self, params, check_mode=False):
        self.params, self.check_mode, self.warnings = params, check_mode, []

    def warn(self, text):
        self.warnings.append(text)


ROOT = os.getuid() == 0


@pytest.fixture
def owners(monkeypatch):
    """Not as root: the chown calls, recorded rather than made."""
    calls = []
    if not ROOT:
        monkeypatch.setattr(os, "chown", lambda path, uid, gid: calls.append((os.path.basename(path), uid, gid)))
    return calls


def root_owned(path, owners):
    if ROOT:
        return (os.stat(path).st_uid, os.stat(path).st_gid) == (0, 0)
    return (os.path.basename(path), 0, 0) in owners


@pytest.fixture
def sealed(tmp_path):
    """The action's copy of an encrypted backup, in the task's temporary directory."""
    key = crypto.create_key(str(tmp_path / "backup.key"))
    snapshot = tmp_path / "snapshot.db"
    snapshot.write_bytes(os.urandom(3000))
    tmp = tmp_path / "ansible-tmp"
    tmp.mkdir()
    crypto.encrypt_file(str(snapshot), str(tmp / NAME), crypto.recipient(key), crypto.make_label(NAME, "c", "1", None),
                        crypto.signer(key, crypto.CONTROLLER))
    return tmp / NAME


def params(directory, src, **target):
    return dict(state="present", prune=True, src=str(src), name=None, key_file="/controller/backup.key",
                target=dict(dict(name="vault", type="ssh", host="backup1", path=str(directory), keep=2,
                                 max_age_days=30), **target))


def old_backup(directory, name, days):
    path = directory / name
    path.write_bytes(b"RAFTOPS-ETCD-BACKUP old")
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def test_a_backup_is_written_root_0600_into_a_0700_directory_made_for_it(tmp_path, sealed, owners):
    directory = tmp_path / "srv" / "etcd-offsite"
    result = backup_target.run(Module(params(directory, sealed)))
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory / NAME).st_mode) == 0o600
    assert (directory / NAME).read_bytes() == sealed.read_bytes() and os.listdir(directory) == [NAME]
    assert root_owned(directory, owners) and (root_owned(directory / NAME, owners) if ROOT else
                                              any(name.startswith(".%s." % NAME) for name, _u, _g in owners))
    assert result == dict(changed=True, sent=True, object=NAME, path=str(directory / NAME), target="vault",
                          encrypted_size=os.path.getsize(sealed))


def test_a_backup_already_there_under_its_name_is_not_sent_again(tmp_path, sealed, owners):
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o700)
    (directory / NAME).write_bytes(b"as it was")
    result = backup_target.run(Module(params(directory, sealed)))
    assert (directory / NAME).read_bytes() == b"as it was"
    assert result["sent"] is False
    # Root's directory already (as root): nothing changed.
    assert result["changed"] is not ROOT


@pytest.mark.skipif(not ROOT, reason="gives a directory away and takes it back")
def test_a_directory_of_another_owner_or_mode_is_made_roots_0700(tmp_path, sealed):
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o755)
    (directory / NAME).write_bytes(b"as it was")
    os.chown(directory, 65534, 65534)
    result = backup_target.run(Module(params(directory, sealed)))
    assert result["changed"] is True and result["sent"] is False
    info = os.stat(directory)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 0, 0o700)


@pytest.mark.skipif(not ROOT, reason="gives a directory away")
def test_a_directory_of_the_members_push_stays_the_accounts_and_the_backup_is_written_as_its(
        tmp_path, sealed, monkeypatch):
    # The role made the directory the push account's (tasks/backup_push.yml): the members read, drill and
    # prune its backups as that account, so the playbook's copy keeps it so and writes the backup as its.
    account = type("Account", (), dict(pw_uid=65534, pw_gid=65533))
    monkeypatch.setattr(backup_target.pwd, "getpwnam", lambda name: account if name == "etcd-backup" else None)
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65533)
    result = backup_target.run(Module(params(directory, sealed)))
    assert result["sent"] is True
    assert [(os.stat(p).st_uid, os.stat(p).st_gid, stat.S_IMODE(os.stat(p).st_mode))
            for p in (directory, directory / NAME)] == [(65534, 65533, 0o700), (65534, 65533, 0o600)]
    # Without that account on the host, or given to another owner, the directory is root's as before.
    monkeypatch.setattr(backup_target.pwd, "getpwnam", lambda name: (never for never in ()).throw(KeyError(name)))
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    os.chown(other, 65534, 65533)
    backup_target.run(Module(params(other, sealed)))
    assert [(os.stat(p).st_uid, os.stat(p).st_gid) for p in (other, other / NAME)] == [(0, 0), (0, 0)]


def test_the_host_prunes_nothing_itself_its_prune_is_the_controllers(tmp_path, sealed, owners):
    # The host has no key to verify headers with: the action reads the heads and decides on the
    # controller (test_etcd_backup_target_action.py), whatever the names and times there say.
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o755)
    old_backup(directory, "etcd-snapshot-20260101T000000Z.db.enc", 60)
    old_backup(directory, "etcd-snapshot-20260201T000000Z.db.enc", 1)
    (directory / "notes.txt").write_text("kept")
    result = backup_target.run(Module(params(directory, sealed, keep=1)))
    assert "deleted" not in result and "kept" not in result
    assert sorted(os.listdir(directory)) == sorted([NAME, "etcd-snapshot-20260101T000000Z.db.enc",
                                                    "etcd-snapshot-20260201T000000Z.db.enc", "notes.txt"])
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700


def test_check_mode_writes_nothing_and_says_what_would_be(tmp_path, sealed, owners):
    directory = tmp_path / "backups"
    result = backup_target.run(Module(params(directory, sealed, keep=1), check_mode=True))
    assert not directory.exists() and owners == []
    assert result["changed"] is True and result["sent"] is True


@pytest.mark.parametrize("path, message", [
    ("", "target vault is an SSH target without an absolute path: ''; nothing was sent"),
    ("srv/b", "target vault is an SSH target without an absolute path: 'srv/b'; nothing was sent"),
])
def test_a_target_without_an_absolute_path_is_refused(tmp_path, sealed, path, message):
    with pytest.raises(backup_target.TargetError, match=message):
        backup_target.run(Module(params(tmp_path, sealed, path=path)))


def test_a_file_that_is_no_encrypted_backup_is_never_written(tmp_path, owners):
    plain = tmp_path / NAME
    plain.write_bytes(b"\xed\xda\x0c\xed plaintext")
    directory = tmp_path / "backups"
    with pytest.raises(backup_target.TargetError, match=r"is not an encrypted backup: nothing is written to target "
                                                        r"vault .* unencrypted"):
        backup_target.run(Module(params(directory, plain)))
    assert not directory.exists()


def test_only_present_to_an_ssh_target_runs_on_the_host():
    ssh = dict(name="v", type="ssh")
    assert backup_target.on_host(dict(state="present", target=ssh))
    assert not backup_target.on_host(dict(state="present", target=dict(name="o", type="s3")))
    assert not backup_target.on_host(dict(state="sealed", target=None))
    assert not backup_target.on_host(dict(state="fetched", target=ssh))
