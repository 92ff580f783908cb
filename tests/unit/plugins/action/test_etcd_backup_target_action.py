"""The etcd_backup_target action: the controller's states run within this process wherever the task is
delegated; present to an SSH target copies the encrypted backup (only an encrypted one) to the task's
host and runs the module there, its copy removed on every path; no S3 secret shows in a result."""

import os
import subprocess
import time
from unittest.mock import MagicMock

import pytest
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action import etcd_backup_target as target_action
from ansible_collections.raftops.etcd.plugins.action.etcd_backup_target import ActionModule
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target

NAME = "etcd-snapshot-20260301T000000Z.db.enc"
VAULT = dict(name="vault", type="ssh", host="backup1", path="/srv/etcd-offsite", keep=3)
SECRET = "raftops-s3-secret-must-never-show"


@pytest.fixture
def action(monkeypatch):
    """The action; its host's temporary directory is /host/tmp, its module's answers are ``answers``."""
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._task.check_mode = False
    shell = module._connection._shell
    shell.tmpdir = None
    shell.join_path.side_effect = os.path.join

    def make_tmp():
        shell.tmpdir = "/host/tmp"
        return shell.tmpdir

    module._make_tmp_path = MagicMock(side_effect=make_tmp)
    module._transfer_file = MagicMock()
    module._fixup_perms2 = MagicMock()
    module._remove_tmp_path = MagicMock()
    module._execute_module = MagicMock(return_value=dict(changed=True, sent=True))
    # The host's shell (the prune's head listing and deletion): ``commands`` lists what it ran, ``listing``
    # answers the listing (a local directory's, when a test sets ``listed``).
    module.commands, module.listed = [], None

    def host_shell(command, sudoable=False):
        assert sudoable  # as root: the backups are root's
        module.commands.append(command)
        if module.listed is None:
            return dict(rc=0, stdout="", stderr="")
        done = subprocess.run(command.replace(VAULT["path"], str(module.listed)), shell=True, capture_output=True,
                              text=True, check=False)
        return dict(rc=done.returncode, stdout=done.stdout, stderr=done.stderr)

    module._low_level_execute_command = host_shell
    return module


def run(action, **args):
    action._task.args = args
    return action.run(task_vars={})


@pytest.fixture
def sealed(tmp_path):
    """An encrypted backup on the controller, as state sealed leaves it, and its key file."""
    key_file = str(tmp_path / "backup.key")
    key = crypto.create_key(key_file)
    snapshot = tmp_path / "snapshot.db"
    snapshot.write_bytes(os.urandom(2000))
    crypto.encrypt_file(str(snapshot), str(tmp_path / NAME), crypto.recipient(key), crypto.make_label(NAME, "c", "1", None),
                        crypto.signer(key, crypto.CONTROLLER))
    return str(tmp_path / NAME), key_file, str(snapshot)


def test_present_to_an_ssh_target_sends_the_encrypted_backup_and_runs_the_module_on_the_host(action, sealed):
    src, key_file, _snapshot = sealed
    result = run(action, state="present", prune=True, target=VAULT, src=src, key_file=key_file)
    assert result == dict(changed=True, sent=True, kept=[], deleted=[], unverified=[])
    action._transfer_file.assert_called_once_with(src, "/host/tmp/" + NAME)
    action._fixup_perms2.assert_called_once_with(("/host/tmp", "/host/tmp/" + NAME))
    kwargs = action._execute_module.call_args.kwargs
    assert kwargs["module_name"] == "raftops.etcd.etcd_backup_target"
    assert kwargs["module_args"] == dict(state="present", prune=True, target=VAULT, src="/host/tmp/" + NAME,
                                         key_file=key_file, name=NAME)
    action._remove_tmp_path.assert_called_once_with("/host/tmp", force=True)


def backups_on_the_host(directory, key_file, planted=True):
    """Real backups of cluster c in ``directory`` (signed by the controller and a member, 1 to 4 days old),
    and objects planted with newer names and times: forged with the public key, garbage, another cluster's."""
    key = crypto.read_key(key_file)
    plain = directory.parent / "p.db"
    plain.write_bytes(os.urandom(500))

    def made(days, by, cluster="c"):
        taken = time.strftime(crypto.LABEL_TIME_FORMAT, time.gmtime(time.time() - days * 86400))
        name = "etcd-snapshot-%s.db.enc" % taken
        crypto.encrypt_file(str(plain), str(directory / name), crypto.recipient(key),
                            crypto.make_label(name, cluster, "1", taken), by)
        return name

    makers = ((1, "member:etcd-a"), (2, "controller"), (3, "member:etcd-b"), (4, "controller"))
    real = [made(days, crypto.signer(key, who)) for days, who in makers]
    fakes = []
    if planted:
        fakes = [made(0.5, crypto.Signer("controller", os.urandom(32))),
                 made(0.2, crypto.Signer("member:intruder", os.urandom(32))),
                 made(0.1, crypto.signer(key, "controller"), cluster="other")]
        (directory / "etcd-snapshot-29990101T000000Z.db.enc").write_bytes(b"x" * 10)
        fakes.append("etcd-snapshot-29990101T000000Z.db.enc")
    return real, fakes


def test_an_ssh_target_is_pruned_by_verified_header_decided_on_the_controller(action, sealed, tmp_path):
    src, key_file, _snapshot = sealed
    host = tmp_path / "host"
    host.mkdir()
    (host / "notes.txt").write_text("not a backup")
    real, planted = backups_on_the_host(host, key_file)
    action.listed = host
    result = run(action, state="present", prune=True, target=dict(VAULT, keep=2), src=src, key_file=key_file,
                 cluster="c", members=["etcd-a", "etcd-b"])
    assert result["kept"] == real[:2] and result["deleted"] == real[2:], result
    assert len(result["unverified"]) == len(planted) and len(result["warnings"]) == len(planted)
    assert sorted(os.listdir(host)) == sorted(real[:2] + planted + ["notes.txt"])
    assert result["changed"] is True
    # Check mode: read and decided, nothing deleted.
    backups_on_the_host(host, key_file, planted=False)
    action._task.check_mode = True
    result = run(action, state="present", prune=True, target=dict(VAULT, keep=2), src=src, key_file=key_file,
                 cluster="c", members=["etcd-a", "etcd-b"])
    assert result["deleted"] and all(os.path.exists(host / name) for name in result["deleted"])


def test_an_ssh_prune_that_fails_does_not_fail_the_sent_backup(action, sealed):
    src, key_file, _snapshot = sealed
    action._low_level_execute_command = lambda command, sudoable=False: dict(rc=1, stdout="", stderr="Permission denied")
    result = run(action, state="present", prune=True, target=VAULT, src=src, key_file=key_file)
    assert "failed" not in result and result["sent"] is True
    assert result["prune_error"] == "listing the backups failed (rc=1): Permission denied"
    assert any("the backup was sent, but pruning failed" in w for w in result["warnings"])


def test_the_hosts_copy_is_removed_when_the_module_fails_to_run(action, sealed):
    src, key_file, _snapshot = sealed
    action._execute_module.side_effect = OSError("connection lost")
    with pytest.raises(OSError):
        run(action, state="present", target=VAULT, src=src, key_file=key_file)
    action._remove_tmp_path.assert_called_once_with("/host/tmp", force=True)


def test_an_unencrypted_file_never_leaves_the_controller_for_an_ssh_target(action, sealed, tmp_path):
    _src, key_file, snapshot = sealed
    result = run(action, state="present", target=VAULT, src=snapshot, key_file=key_file)
    assert result["failed"] and result["msg"] == (
        "%s is not an encrypted backup (state sealed makes one): nothing leaves the controller unencrypted; "
        "nothing was sent to target vault (backup1:/srv/etcd-offsite)" % snapshot)
    result = run(action, state="present", target=VAULT, src=str(tmp_path / "none"), key_file=key_file)
    assert result["failed"] and "cannot be read" in result["msg"] and "nothing was sent to target vault" in result["msg"]
    action._transfer_file.assert_not_called()
    action._execute_module.assert_not_called()


def test_sealing_runs_within_this_process_wherever_the_task_is_delegated(action, sealed, tmp_path):
    _src, key_file, snapshot = sealed
    dest = str(tmp_path / "out" / NAME)
    os.mkdir(os.path.dirname(dest))
    result = run(action, state="sealed", src=snapshot, dest=dest, key_file=key_file)
    assert "failed" not in result and result["path"] == dest and result["sealed_size"] == os.path.getsize(dest)
    action._execute_module.assert_not_called()
    action._transfer_file.assert_not_called()
    # Nor does Ansible make a temporary directory on the host beforehand (with become, for an S3 target's item).
    assert not action._early_needs_tmp_path()
    action._make_tmp_path.assert_not_called()


def test_no_s3_secret_shows_even_in_a_message_that_quotes_it(action, monkeypatch):
    def fails(_module):
        raise backup_target.TargetError("target offsite: uploading failed: bad key %s" % SECRET)

    monkeypatch.setattr(backup_target, "run", fails)
    target = dict(name="offsite", bucket="b", access_key="AKID", secret_key=SECRET)
    result = run(action, state="present", target=target, src="/snap.db", key_file="/k")
    assert result["failed"] and SECRET not in str(result) and "bad key ********" in result["msg"]


def test_bad_arguments_are_refused_saying_nothing_was_done(action):
    result = run(action, state="present", target=dict(name="t", colour="red"), src="/s", key_file="/k")
    assert result["failed"] and "colour" in result["msg"] and result["msg"].endswith("; nothing was done")
    result = run(action, state="present", src="/s", key_file="/k")
    assert result["failed"] and result["msg"] == "state is present but the following are missing: target"


@pytest.fixture
def shown(monkeypatch):
    """The lines the action showed in the run's output."""
    lines = []
    monkeypatch.setattr(target_action.display, "display", lines.append)
    return lines


def test_present_shows_the_target_s_line_as_it_is_done(action, sealed, shown):
    src, key_file, _snapshot = sealed
    action._execute_module.return_value = dict(changed=True, sent=True, object=NAME, encrypted_size=2048)
    run(action, state="present", prune=True, target=VAULT, src=src, key_file=key_file)
    assert shown == ["target vault (backup1:/srv/etcd-offsite): %s copied (2 KiB); kept 0, deleted none" % NAME]
    # Without prune, nothing is said of the retention.
    shown.clear()
    run(action, state="present", target=VAULT, src=src, key_file=key_file)
    assert shown == ["target vault (backup1:/srv/etcd-offsite): %s copied (2 KiB)" % NAME]


def test_no_line_for_a_failure_check_mode_or_another_state(action, sealed, shown, tmp_path):
    src, key_file, snapshot = sealed
    action._execute_module.return_value = dict(failed=True, msg="no space")
    run(action, state="present", prune=True, target=VAULT, src=src, key_file=key_file)
    action._execute_module.return_value = dict(changed=True, sent=True, object=NAME, kept=[], deleted=[])
    action._task.check_mode = True
    run(action, state="present", prune=True, target=VAULT, src=src, key_file=key_file)
    action._task.check_mode = False
    dest = str(tmp_path / "out" / NAME)
    os.mkdir(os.path.dirname(dest))
    run(action, state="sealed", src=snapshot, dest=dest, key_file=key_file)
    assert shown == []


def test_no_s3_secret_shows_in_the_line(action, monkeypatch, shown):
    monkeypatch.setattr(backup_target, "run", lambda _module: dict(changed=True, sent=True, object=SECRET, kept=[],
                                                                   deleted=[]))
    target = dict(name="offsite", bucket="b", access_key="AKID", secret_key=SECRET)
    run(action, state="present", prune=True, target=target, src="/snap.db", key_file="/k")
    assert len(shown) == 1 and SECRET not in shown[0] and shown[0].startswith("target offsite (s3://b/): ********")
