"""The etcd_backup_fetch action: a backup of an off-host target brought to a private directory in the
controller's backup directory, verified and decrypted; nothing is left when it fails. The SSH target's
commands (module_utils/backup/backup_fetch.py) run here, as the host's shell would run them, on real
sealed backups; the S3 target's module is a fake."""

import json
import os
import stat
import subprocess
from unittest.mock import MagicMock

import pytest
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_backup_fetch import ActionModule
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_fetch as fetch
from ansible_collections.raftops.etcd.plugins.module_utils.backup import stream_segments as segments
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import build_snapshot

CLUSTER = "prod/etcd"
MARCH = "etcd-snapshot-20260301T000000Z.db.enc"
APRIL = "etcd-snapshot-20260401T000000Z.db.enc"
COPY = "etcd-snapshot-29991231T235959Z.db.enc"
STREAM_BACKUP, STREAM_TAKEN = "etcd-snapshot-20261128T130000Z.db.enc", "20261128T130000Z"
RENAMED = ("object %s on target vault: its authenticated header names it %s (cluster prod/etcd, taken 20260301T000000Z): "
           "a renamed or copied backup is refused" % (COPY, MARCH))


@pytest.fixture
def site(tmp_path):
    """The controller's backup directory and key file, an SSH target's directory with two backups of
    CLUSTER (MARCH, and APRIL of another cluster) and a copy of MARCH under a newer name, and the snapshot."""
    backups, remote = tmp_path / "backups", tmp_path / "remote"
    backups.mkdir(mode=0o700)
    remote.mkdir()
    key_file = str(backups / "backup.key")
    key = crypto.create_key(key_file)
    snapshot = tmp_path / "snapshot.db"
    snapshot.write_bytes(os.urandom(5000))
    for name, cluster, taken in ((MARCH, CLUSTER, "20260301T000000Z"), (APRIL, "stage/etcd", "20260401T000000Z")):
        crypto.encrypt_file(str(snapshot), str(remote / name), crypto.recipient(key),
                            crypto.make_label(name, cluster, "c1d", taken), crypto.signer(key, "member:etcd-a"),
                            chunk_size=1024)
    (remote / COPY).write_bytes((remote / MARCH).read_bytes())
    return dict(backups=backups, remote=remote, key_file=key_file, snapshot=snapshot.read_bytes())


@pytest.fixture
def action(monkeypatch):
    """The action; its host's shell runs here (``commands`` lists them), its modules are ``modules``' answers."""
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module.commands, module.modules = [], []

    def shell(command, sudoable=False):
        assert sudoable  # as root: the backups are root's
        module.commands.append(command)
        done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
        return dict(rc=done.returncode, stdout=done.stdout, stderr=done.stderr)

    module._low_level_execute_command = shell
    return module


def run(action, site, **args):
    action._task.args = dict(dict(target=dict(name="vault", type="ssh", host="bk", path=str(site["remote"])),
                                  name="latest", dir=str(site["backups"]), key_file=site["key_file"], cluster=CLUSTER,
                                  members=["etcd-a", "etcd-b"]),
                             **args)
    return action.run(task_vars={})


def private_dirs(site):
    return [name for name in os.listdir(site["backups"]) if name.endswith(".etcd-restore")]


def test_latest_of_an_ssh_target_is_the_newest_that_authenticates_decrypted_into_a_private_directory(action, site):
    result = run(action, site)
    assert "failed" not in result, result
    (made,) = private_dirs(site)
    assert result["dir"] == str(site["backups"] / made) and stat.S_IMODE(os.stat(result["dir"]).st_mode) == 0o700
    assert result["path"] == os.path.join(result["dir"], "etcd-snapshot.db") and os.listdir(result["dir"]) == [
        "etcd-snapshot.db"]  # the encrypted copy removed
    with open(result["path"], "rb") as restored:
        assert restored.read() == site["snapshot"]
    assert (result["object"], result["shown"]) == (MARCH, "latest (%s) of target vault" % MARCH)
    assert "latest: skipped " + RENAMED in result["warnings"] and len(result["warnings"]) == 2, result["warnings"]
    assert len(action.commands) == 2 and action.commands[1].endswith("%s/%s" % (site["remote"], MARCH))


@pytest.mark.parametrize("name, says", [
    (COPY, RENAMED),
    ("etcd-snapshot-20200101T000000Z.db.enc", "target vault (bk:%s) has no object etcd-snapshot-20200101T000000Z.db.enc"),
])
def test_a_backup_refused_leaves_nothing_on_the_controller(action, site, name, says):
    result = run(action, site, name=name)
    assert result["failed"] is True and result["msg"] == says.replace("%s", str(site["remote"])), result
    assert private_dirs(site) == [] and "path" not in result


FORGED = "etcd-snapshot-20260501T000000Z.db.enc"


def test_a_newer_backup_forged_with_the_public_key_is_skipped_by_latest_and_refused_by_name(action, site):
    key = crypto.read_key(site["key_file"])
    plain = site["remote"].parent / "evil.db"
    plain.write_bytes(b"evil")
    # Sealed to the key file's public key, signed under a member's name with a key of its own.
    crypto.encrypt_file(str(plain), str(site["remote"] / FORGED), crypto.recipient(key),
                        crypto.make_label(FORGED, CLUSTER, "c1d", "20260501T000000Z"),
                        crypto.Signer("member:etcd-b", os.urandom(32)))
    result = run(action, site)
    assert "failed" not in result and result["object"] == MARCH
    first = result["dir"]
    assert ("latest: skipped object %s on target vault: its signature by member:etcd-b does not verify: a changed or "
            "forged header" % FORGED) in result["warnings"]
    refused = run(action, site, name=FORGED)
    assert refused["failed"] is True and refused["msg"] == (
        "object %s on target vault: its signature by member:etcd-b does not verify: a changed or forged header" % FORGED)
    # Signed by a member that is not one of the inventory's: skipped too.
    result = run(action, site, members=["etcd-b"])
    assert result["failed"] is True and "is signed by \"member:etcd-a\", which is not a signer of this cluster" in (
        result["msg"])
    assert private_dirs(site) == [os.path.basename(first)]  # only the first run's, which the caller removes


def test_a_failed_listing_is_named_and_leaves_nothing(action, site):
    result = run(action, site, target=dict(name="vault", type="ssh", host="bk", path=str(site["remote"] / "none")))
    assert result["failed"] is True and result["msg"].startswith(
        "listing the backups of target vault (bk:%s/none) failed (rc=1): " % site["remote"]), result
    assert "No such file or directory" in result["msg"] and private_dirs(site) == []


def test_an_s3_target_is_fetched_by_its_module_on_the_controller(action, site):
    def module(module_name, module_args, task_vars):
        action.modules.append((module_name, module_args))
        with open(module_args["dest"], "wb") as snapshot:
            snapshot.write(b"decrypted")
        return dict(changed=True, object=MARCH, warnings=["latest: skipped something"])

    action._execute_module = module
    target = dict(name="offsite", type="s3", bucket="b", access_key="AK", secret_key="SK")
    result = run(action, site, target=target, name=MARCH)
    (made,) = private_dirs(site)
    dest = str(site["backups"] / made / "etcd-snapshot.db")
    assert action.modules == [("raftops.etcd.etcd_backup_target", dict(
        state="fetched", target=target, name=MARCH, dest=dest, key_file=site["key_file"], cluster=CLUSTER,
        members=["etcd-a", "etcd-b"], point=None))]
    assert (result["path"], result["shown"], result["warnings"]) == (dest, "%s of target offsite" % MARCH,
                                                                     ["latest: skipped something"])
    assert "AK" not in str(result) and "SK" not in str(result) and action.commands == []


def test_a_point_in_time_comes_with_the_replay_of_the_change_stream(action, site):
    replay = dict(backup_revision=4242, segments=["etcd-stream-0000000000004243-0000000000004300.enc"], reached=4300,
                  reached_time="2026-11-28T14:03:06.71Z")

    def module(module_name, module_args, task_vars):
        action.modules.append((module_name, module_args))
        with open(module_args["dest"], "wb") as snapshot:
            snapshot.write(b"decrypted")
        return dict(replay, changed=True, object=MARCH, replay=module_args["dest"] + ".replay")

    action._execute_module = module
    target = dict(name="offsite", type="s3", bucket="b", access_key="AK", secret_key="SK")
    point = dict(time="2026-11-28T14:03:07Z", revision=0)
    result = run(action, site, target=target, point=point)
    assert action.modules[0][1]["point"] == point
    assert (result["reached"], result["replay"]) == (4300, result["path"] + ".replay")
    assert result["shown"] == ("%s (revision 4242) of target offsite and 1 segment(s), %s to %s of its change stream up "
                               "to revision 4300 (received 2026-11-28T14:03:06.71Z)" % (MARCH, replay["segments"][0],
                                                                                        replay["segments"][0]))


@pytest.fixture
def stream_site(site):
    """The SSH target's directory with a full backup of revision 7 of CLUSTER taken at TAKEN, signed by
    member etcd-a, and the change stream's segments of revisions 8..10 (received 10..12 s after it) and
    11..12 (20..21 s after)."""
    key = crypto.read_key(site["key_file"])
    by, to = crypto.signer(key, "member:etcd-a"), crypto.recipient(key)
    for old in os.listdir(site["remote"]):
        os.remove(site["remote"] / old)

    def seal(name, data):
        plain = site["remote"] / ".plain"
        plain.write_bytes(data)
        crypto.encrypt_file(str(plain), str(site["remote"] / name), to, crypto.make_label(name, CLUSTER, "c1d", STREAM_TAKEN), by)
        plain.unlink()

    seal(STREAM_BACKUP, build_snapshot(revisions=(2, 3, 4, 5, 6, 7)))
    names = []
    for revisions in ([(8, 10), (9, 11), (10, 12)], [(11, 20), (12, 21)]):
        built = [[rev, segments.label_epoch(STREAM_TAKEN) + after, [["put", "L2s=", "dg==", 0]]] for rev, after in revisions]
        name, data = segments.encode_segment(CLUSTER, "c1d", built, {})
        seal(name, data)
        names.append(name)
    return dict(site, names=names)


def test_a_point_in_time_from_an_ssh_target_reads_the_backup_and_the_segments_there(action, stream_site):
    point = dict(time=segments.shown_time(segments.label_epoch(STREAM_TAKEN) + 11.5), revision=0)
    result = run(action, stream_site, point=point)
    assert not result.get("failed"), result
    assert (result["object"], result["backup_revision"], result["reached"]) == (STREAM_BACKUP, 7, 9)
    assert result["segments"] == stream_site["names"][:1] and result["reached_time"].startswith("2026-11-28T13:00:11")
    with open(result["replay"]) as replay:
        assert [txn[0] for txn in json.load(replay)["txns"]] == [8, 9]
    assert result["shown"].startswith("%s (revision 7) of target vault and 1 segment(s)" % STREAM_BACKUP)
    # What ran on the target's host: python3 -c commands, as root (the fixture's shell checks that).
    assert action.commands and all(c.startswith("python3 -c ") for c in action.commands)
    assert run(action, stream_site, point=dict(time="", revision=12))["segments"] == stream_site["names"]


def test_a_tampered_or_missing_segment_on_an_ssh_target_is_refused_by_name_and_nothing_is_left(action, stream_site):
    first = stream_site["remote"] / stream_site["names"][0]
    body = first.read_bytes()
    first.write_bytes(body[:-20] + bytes([body[-20] ^ 1]) + body[-19:])
    result = run(action, stream_site, point=dict(time="", revision=12))
    assert result["failed"] and result["msg"].startswith(
        "object %s on target vault: authentication failed: tampered or wrong key" % first.name), result["msg"]
    first.unlink()
    result = run(action, stream_site, point=dict(time="", revision=12))
    assert result["failed"] and result["msg"].startswith(
        "target vault holds no segment of revisions 8..10 (segments none before and %s): the change stream has a gap"
        % stream_site["names"][1]), result["msg"]
    assert private_dirs(stream_site) == []


def test_an_s3_fetch_that_fails_leaves_nothing(action, site):
    action._execute_module = MagicMock(return_value=dict(failed=True, msg="target offsite (s3://b/): looking for "
                                                         "object x failed: Could not connect"))
    result = run(action, site, target=dict(name="offsite", type="s3", bucket="b"), name="x")
    assert result["failed"] is True and result["msg"].endswith("Could not connect") and private_dirs(site) == []


def test_bad_options_are_refused_naming_the_module(action, site):
    result = run(action, site, colour="blue")
    assert result["failed"] is True and result["msg"].startswith("raftops.etcd.etcd_backup_fetch: ")
    assert "colour" in result["msg"] and private_dirs(site) == []


@pytest.mark.parametrize("wanted, chosen, text", [
    ("latest", MARCH, "latest (%s) of target vault" % MARCH),
    (MARCH, MARCH, "%s of target vault" % MARCH),
])
def test_the_report_names_what_latest_resolved_to(wanted, chosen, text):
    assert fetch.shown(wanted, chosen, "vault") == text


def test_a_backup_read_damaged_on_its_way_is_named():
    assert fetch.decoded("YWJj\nZA==\n", "x") == b"abcd"
    with pytest.raises(ValueError, match="object o on target t came to the controller damaged"):
        fetch.decoded("not base64!", "object o on target t")
