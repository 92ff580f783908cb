"""The forced command of the members' push keys on an SSH target's host (roles/etcd/files/etcd_backup_receive.py),
run as sshd runs it: ``python3 -I etcd_backup_receive.py DIRECTORY...`` with the client's command in
SSH_ORIGINAL_COMMAND. Its protocol, and every refusal: the message on stderr, a non-zero exit, and
nothing changed in the directory (or outside it). And the push's SshTarget, which speaks it."""

import hashlib
import importlib.util
import os
import subprocess
import sys
import time

import pytest
from test_etcd_backup_push_script import ROLE, forced, lib_files
from test_etcd_maintenance_script import loaded_script

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target as etcd_backup_target
from ansible_collections.raftops.etcd.plugins.module_utils.backup import stream_segments as segments
from ansible_collections.raftops.etcd.plugins.module_utils.host import host_settings as etcd_host_settings

RECEIVE = os.path.join(ROLE, "files", "etcd_backup_receive.py")
NAME = "etcd-snapshot-20261126T030000Z.db.enc"
SEGMENT = segments.segment_name(4243, 4301)
BODY = b"sealed backup bytes " * 500
SHA = hashlib.sha256(BODY).hexdigest()


def receive(request, directories, stdin=b""):
    """(exit status, stdout, stderr) of one request, as sshd runs the forced command."""
    done = subprocess.run([sys.executable, "-I", RECEIVE, *[str(d) for d in directories]], input=stdin,
                          env=dict(os.environ, SSH_ORIGINAL_COMMAND=request), capture_output=True, check=False)
    return done.returncode, done.stdout, done.stderr.decode()


def _content(path):
    if os.path.islink(path):
        return os.readlink(path)
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as source:
        return source.read()


def state(*directories):
    """Every entry under ``directories``, links not followed: {path: (mode, size, mtime, content)}, and each
    directory's mode."""
    found = {}
    for directory in directories:
        for root, dirs, files in os.walk(str(directory)):
            for entry in dirs + files:
                path = os.path.join(root, entry)
                info = os.lstat(path)
                # A directory's own times change with a part file made and removed again: not compared.
                found[path] = (info.st_mode, None, None, None) if os.path.isdir(path) and not os.path.islink(path) \
                    else (info.st_mode, info.st_size, info.st_mtime_ns, _content(path))
    return found


@pytest.fixture()
def vault(tmp_path):
    """A target's directory holding one backup and a file that is not one, beside a secret outside it."""
    directory = tmp_path / "vault"
    directory.mkdir(mode=0o700)
    (directory / NAME).write_bytes(BODY)
    (directory / "notes.txt").write_text("not a backup")
    (tmp_path / "secret").write_text("outside the target's directory")
    os.symlink(str(tmp_path / "secret"), str(directory / "etcd-snapshot-20261126T020000Z.db.enc"))
    return directory


def test_put_list_head_get_sha256_and_delete(vault):
    new = "etcd-snapshot-20261126T040000Z.db.enc"
    body = os.urandom(3 << 20)  # more than one block
    digest = hashlib.sha256(body).hexdigest()
    rc, out, err = receive("put %s %s %d %s" % (vault, new, len(body), digest), [vault], body)
    assert (rc, err) == (0, "") and out == ("%s %d %s\n" % (new, len(body), digest)).encode()
    assert (vault / new).read_bytes() == body and (vault / new).stat().st_mode & 0o777 == 0o600
    assert not [n for n in os.listdir(vault) if n.endswith(".part")]  # the part was renamed into place
    rc, out, _err = receive("list %s" % vault, [vault])
    lines = [line.split(" ") for line in out.decode().splitlines()]
    # Backups only: not notes.txt, nor the link named like one.
    assert rc == 0 and [(n, int(s)) for n, s, _m in lines] == [(NAME, len(BODY)), (new, len(body))]
    assert abs(float(lines[1][2]) - (vault / new).stat().st_mtime) < 0.001
    assert receive("head %s %s %d" % (vault, new, crypto.MAX_HEAD_SIZE), [vault])[1] == body[:crypto.MAX_HEAD_SIZE]
    assert receive("head %s %s 65536" % (vault, NAME), [vault])[1] == BODY  # shorter than asked: all of it
    assert receive("get %s %s" % (vault, new), [vault])[1] == body
    assert receive("sha256 %s %s" % (vault, new), [vault])[1] == ("%d %s\n" % (len(body), digest)).encode()
    assert receive("delete %s %s" % (vault, new), [vault])[:2] == (0, ("deleted %s\n" % new).encode())
    assert sorted(os.listdir(vault)) == ["etcd-snapshot-20261126T020000Z.db.enc", NAME, "notes.txt"]


def test_the_change_stream_s_segments_are_put_listed_read_and_deleted_as_backups_are(vault):
    body = os.urandom(5000)
    digest = hashlib.sha256(body).hexdigest()
    rc, out, err = receive("put %s %s %d %s" % (vault, SEGMENT, len(body), digest), [vault], body)
    assert (rc, err) == (0, "") and out == ("%s %d %s\n" % (SEGMENT, len(body), digest)).encode()
    rc, out, _err = receive("list %s" % vault, [vault])
    assert rc == 0 and [line.split(" ")[0] for line in out.decode().splitlines()] == [NAME, SEGMENT]
    assert receive("head %s %s 100" % (vault, SEGMENT), [vault])[1] == body[:100]
    assert receive("get %s %s" % (vault, SEGMENT), [vault])[1] == body
    assert receive("put %s %s %d %s" % (vault, SEGMENT, len(body), digest), [vault], body)[2] == (
        "etcd_backup_receive: refused: object %s is there already: not written again\n" % SEGMENT)
    assert receive("delete %s %s" % (vault, SEGMENT), [vault])[:2] == (0, ("deleted %s\n" % SEGMENT).encode())
    # A segment's put killed over an hour ago leaves a part that the next put removes.
    part = vault / (".%s.0123456789abcdef.part" % SEGMENT)
    part.write_bytes(b"cut short")
    os.utime(part, (1, 1))
    assert receive("cleanup %s" % vault, [vault])[:2] == (0, ("removed %s\n" % part.name).encode())


def test_a_second_directory_of_the_same_key_is_served_and_only_those_given(tmp_path, vault):
    other = tmp_path / "other"
    other.mkdir()
    (other / NAME).write_bytes(b"the other target's")
    assert receive("get %s %s" % (other, NAME), [vault, other])[1] == b"the other target's"
    rc, _out, err = receive("get %s %s" % (other, NAME), [vault])
    assert rc == 2 and "is not a directory this key may use" in err


def test_put_removes_the_parts_of_puts_killed_over_an_hour_ago_and_only_those(vault):
    old, fresh = vault / (".%s.0123456789abcdef.part" % NAME), vault / ".etcd-snapshot-20261126T050000Z.db.enc.aa.part"
    old.write_bytes(b"a part left by a push killed long ago")
    os.utime(old, (1, 1))
    fresh.write_bytes(b"a put that is running")
    new = "etcd-snapshot-20261126T040000Z.db.enc"
    assert receive("put %s %s %d %s" % (vault, new, len(BODY), SHA), [vault], BODY)[0] == 0
    assert not old.exists() and fresh.exists()
    os.utime(fresh, (time.time() - 3700,) * 2)
    assert receive("cleanup %s" % vault, [vault])[:2] == (0, ("removed %s\n" % fresh.name).encode())


def refusals(vault):
    name_outside = "etcd-snapshot-20261126T020000Z.db.enc"  # a link to a file outside the directory
    d = str(vault)
    return [
        # (request, stdin, what stderr says)
        ("id", b"", "'id' is not a request of the backup push"),
        ("", b"", "'' is not a request of the backup push"),
        ("sh -c id", b"", "'sh -c id' is not a request of the backup push"),
        ("cat %s/%s" % (d, NAME), b"", "is not a request of the backup push"),
        ("rm -rf %s" % d, b"", "is not a request of the backup push"),
        ("list %s; id" % d, b"", "list takes 0 argument(s) after DIR"),
        ("list %s;id" % d, b"", "is not a directory this key may use"),
        ("get %s %s; rm -rf %s" % (d, NAME, d), b"", "get takes 1 argument(s) after DIR"),
        ("get %s $(id)" % d, b"", "'$(id)' is not a backup object's name"),
        ("get %s ../secret" % d, b"", "'../secret' is not a backup object's name"),
        ("head %s /etc/passwd 100" % d, b"", "'/etc/passwd' is not a backup object's name"),
        ("get %s etcd-snapshot-x/../../secret.enc" % d, b"", "is not a backup object's name"),
        ("get %s etcd-snapshot-..enc" % d, b"", "'etcd-snapshot-..enc' is not a backup object's name"),
        ("get %s notes.txt" % d, b"", "'notes.txt' is not a backup object's name"),
        ("get %s .%s.0123456789abcdef.part" % (d, NAME), b"", "is not a backup object's name"),
        ("get / etc/passwd", b"", "'/' is not a directory this key may use"),
        ("list %s/.." % d, b"", "is not a directory this key may use"),
        ("get %s %s" % (d, name_outside), b"", "object %s cannot be opened" % name_outside),
        ("head %s %s 100" % (d, name_outside), b"", "object %s cannot be opened" % name_outside),
        ("sha256 %s %s" % (d, name_outside), b"", "object %s cannot be opened" % name_outside),
        ("delete %s %s" % (d, name_outside), b"", "object %s is not a regular file: not deleted" % name_outside),
        ("delete %s etcd-snapshot-20261126T010000Z.db.enc" % d, b"", "no object etcd-snapshot-20261126T010000Z.db.enc"),
        ("head %s %s 65537" % (d, NAME), b"", "byte count 65537 is not between 1 and 65536"),
        ("head %s %s 0" % (d, NAME), b"", "byte count 0 is not between 1 and 65536"),
        ("head %s %s -1" % (d, NAME), b"", "byte count '-1' is not a number"),
        ("frobnicate %s" % d, b"", "'frobnicate %s' is not a request of the backup push" % d),
        ("list %s extra" % d, b"", "list takes 0 argument(s) after DIR"),
        ("list  %s" % d, b"", "list takes 0 argument(s) after DIR"),
        ("put %s ../x.enc 5 %s" % (d, SHA), b"12345", "'../x.enc' is not a backup object's name"),
        ("put %s notes.txt 5 %s" % (d, SHA), b"12345", "'notes.txt' is not a backup object's name"),
        ("put %s %s %d %s" % (d, NAME, len(BODY), SHA), BODY, "object %s is there already: not written again" % NAME),
        ("put %s %s %d %s" % (d, name_outside, len(BODY), SHA), BODY,
         "object %s is there already: not written again" % name_outside),
        ("put %s etcd-snapshot-new.db.enc 5 not-a-sha" % d, b"12345", "'not-a-sha' is not a SHA-256"),
        ("put %s etcd-snapshot-new.db.enc five %s" % (d, SHA), b"12345", "size 'five' is not a number"),
        ("put %s etcd-snapshot-new.db.enc %d %s" % (d, len(BODY), SHA), BODY[:100],
         "the copy of etcd-snapshot-new.db.enc is not what was sent (cut short?): 100 of %d bytes" % len(BODY)),
        ("put %s etcd-snapshot-new.db.enc 100 %s" % (d, SHA), BODY,
         "the copy of etcd-snapshot-new.db.enc is not what was sent: more than 100 bytes"),
        ("put %s etcd-snapshot-new.db.enc %d %s" % (d, len(BODY), "0" * 64), BODY,
         "the copy of etcd-snapshot-new.db.enc is not what was sent: SHA-256 %s, not %s" % (SHA, "0" * 64)),
        # The change stream's segments: their strict names only, zero-padded to 16 digits.
        ("get %s etcd-stream-1-2.enc" % d, b"", "'etcd-stream-1-2.enc' is not a backup object's name"),
        ("put %s etcd-stream-1-2.enc 5 %s" % (d, SHA), b"12345", "'etcd-stream-1-2.enc' is not a backup object's name"),
        ("get %s %s.json" % (d, SEGMENT[:-4]), b"", "is not a backup object's name"),
        ("get %s ../%s" % (d, SEGMENT), b"", "'../%s' is not a backup object's name" % SEGMENT),
        ("get %s %s/../../secret" % (d, SEGMENT), b"", "is not a backup object's name"),
        ("put %s ../../%s 5 %s" % (d, SEGMENT, SHA), b"12345", "'../../%s' is not a backup object's name" % SEGMENT),
        ("get %s etcd-stream-%s-%s.enc" % (d, "0" * 15 + "a", "0" * 16), b"", "is not a backup object's name"),
        ("get %s etcd-stream-%s-%s.enc" % (d, "1" * 17, "2" * 17), b"", "is not a backup object's name"),
        ("get %s .%s.0123456789abcdef.part" % (d, SEGMENT), b"", "is not a backup object's name"),
        ("cat %s/%s" % (d, SEGMENT), b"", "is not a request of the backup push"),
        ("sh -c 'cat %s/%s'" % (d, SEGMENT), b"", "is not a request of the backup push"),
        ("get %s %s;id" % (d, SEGMENT), b"", "is not a backup object's name"),
        ("get %s %s && id" % (d, SEGMENT), b"", "get takes 1 argument(s) after DIR"),
        ("delete %s %s" % (d, SEGMENT), b"", "no object %s" % SEGMENT),
    ]


def test_anything_but_the_protocol_on_the_directory_s_backups_is_refused_and_changes_nothing(tmp_path, vault):
    for request, stdin, message in refusals(vault):
        before = state(tmp_path)
        rc, out, err = receive(request, [vault], stdin)
        assert rc == 2 and err.startswith("etcd_backup_receive: refused: ") and message in err, (request, rc, err)
        assert out == b"", request
        assert state(tmp_path) == before, request  # nothing written, removed or left behind
    assert (tmp_path / "secret").read_text() == "outside the target's directory"


def test_a_directory_that_is_a_link_is_not_followed(tmp_path, vault):
    link = tmp_path / "link"
    os.symlink(str(vault), str(link))
    before = state(tmp_path)
    for request in ("list %s" % link, "get %s %s" % (link, NAME), "delete %s %s" % (link, NAME)):
        rc, out, err = receive(request, [link])
        assert rc == 2 and "directory %s cannot be opened" % link in err and out == b"", (request, err)
    assert state(tmp_path) == before
    assert receive("list %s" % vault, ["relative/dir"])[2] == (
        "etcd_backup_receive: refused: no absolute directory given to the forced command\n")


def test_the_names_it_takes_are_the_collection_s_backup_objects_and_its_head_holds_a_whole_header(tmp_path):
    spec = importlib.util.spec_from_file_location("etcd_backup_receive", RECEIVE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.MAX_HEAD >= crypto.MAX_HEAD_SIZE
    for name in (NAME, "etcd-snapshot-29991231T235959Z.db.enc", "etcd-snapshot-1.db.enc"):
        assert module.NAME_PATTERN.match(name) and crypto.is_backup_object(name)
    for name in ("etcd-snapshot-.enc", "etcd-snapshot-x.db", "x" + NAME, NAME + "\n", "etcd-snapshot-a b.enc"):
        assert not module.NAME_PATTERN.match(name), name
    assert crypto.OBJECT_PREFIX == "etcd-snapshot-" and crypto.OBJECT_SUFFIX == ".enc"
    for first, last in ((1, 1), (4243, 4301), (10 ** 15, 10 ** 16 - 1)):
        assert module.SEGMENT_PATTERN.match(segments.segment_name(first, last))
    for name in ("etcd-stream-1-2.enc", SEGMENT + "\n", SEGMENT[:-4], "x" + SEGMENT, SEGMENT.replace("-0", "-/", 1)):
        assert not module.SEGMENT_PATTERN.match(name) and not segments.is_segment_object(name), name


def test_the_account_and_the_script_path_are_one_everywhere():
    # The role's account (host settings, which the tasks read), the push's and the backup playbook's copy.
    receive_settings = etcd_host_settings.PUSH_RECEIVE
    assert receive_settings["user"] == etcd_backup_target.PUSH_ACCOUNT == "etcd-backup"
    with open(os.path.join(ROLE, "files", "etcd_backup_push.py")) as source:
        assert 'ACCOUNT = "etcd-backup"' in source.read()
    assert os.path.basename(receive_settings["script"]) == os.path.basename(RECEIVE)
    assert receive_settings["authorized_keys"] == receive_settings["home"] + "/.ssh/authorized_keys"
    assert sorted(receive_settings["directories"]) == sorted([receive_settings["home"] + "/.ssh",
                                                              os.path.dirname(receive_settings["script"])])


@pytest.fixture(scope="module")
def push_script(tmp_path_factory):
    yield from loaded_script(tmp_path_factory, lib_files(), "etcd_backup_push.py")


def test_the_push_s_ssh_target_speaks_only_the_protocol_as_the_account(push_script, tmp_path):
    target = dict(name="vault", type="ssh", host="backup1", address="10.0.0.9", port=22, path=str(tmp_path / "vault"))
    os.makedirs(target["path"])
    sent = []

    def ssh(argv, stdin=None, stdout=None, **_options):
        sent.append(argv)
        command, env = forced(argv)
        if stdout is None:
            return subprocess.run(command, env=env, stdin=stdin, capture_output=True, check=False)
        return subprocess.run(command, env=env, stdout=stdout, stderr=subprocess.PIPE, check=False)

    ssh_target = push_script.SshTarget(target, "/k", "/h", run=ssh)
    sealed = tmp_path / "sealed.enc"
    sealed.write_bytes(BODY)
    assert not ssh_target.present(NAME, None)
    ssh_target.send(str(sealed), NAME, {})
    assert ssh_target.present(NAME, None)
    assert ssh_target.read_head(NAME, 100) == BODY[:100]
    assert ssh_target.read_head(NAME, crypto.MAX_HEAD_SIZE) == BODY[:crypto.MAX_HEAD_SIZE]
    assert [o["name"] for o in ssh_target.listing()] == [NAME]
    ssh_target.fetch(NAME, str(tmp_path / "fetched"))
    assert (tmp_path / "fetched").read_bytes() == BODY
    ssh_target.delete(NAME)
    assert ssh_target.listing() == []
    # Every call logs in as the account, never root, and asks one request of the protocol.
    assert {argv[-2] for argv in sent} == {"etcd-backup@10.0.0.9"}
    verbs = [argv[-1].split(" ")[:2] for argv in sent]
    assert {v for v, _d in verbs} == {"list", "put", "sha256", "head", "get", "delete"}
    assert {d for _v, d in verbs} == {target["path"]}
    # A refusal of the far end is the target's error, with its message.
    with pytest.raises(push_script.PushError, match="etcd_backup_receive: refused: no object"):
        ssh_target.read_head("etcd-snapshot-20200101T000000Z.db.enc", 10)
