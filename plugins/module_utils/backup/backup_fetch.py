# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the action of raftops.etcd.etcd_backup_fetch decides and asks: the commands it runs on an SSH
target (as root, through become: the backups are root's), an SSH target's objects as a point-in-time
restore reads them (SshObjects), and how the restore's report names the backup it fetched. The target
and the object on an SSH target are chosen by etcd_backup_plan.py."""

import base64
import binascii
import shlex

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_plan import parse_heads

MODULE = "raftops.etcd.etcd_backup_fetch"
SNAPSHOT = "etcd-snapshot.db"

# Prints one "<name> <base64 of its first bytes>" line per backup of the directory argv[1]:
# backup_plan.parse_heads reads them.
LIST_HEADS = """import base64, os, sys
for name in sorted(os.listdir(sys.argv[1])):
    path = os.path.join(sys.argv[1], name)
    if name.startswith("etcd-snapshot-") and name.endswith(".enc") and os.path.isfile(path):
        with open(path, "rb") as backup:
            print(name, base64.b64encode(backup.read(int(sys.argv[2]))).decode())
"""

# Prints the name of each object of the directory argv[1] (a regular file): full backups and segments.
LIST_NAMES = """import os, sys
for name in sorted(os.listdir(sys.argv[1])):
    if name.startswith("etcd-") and name.endswith(".enc") and os.path.isfile(os.path.join(sys.argv[1], name)):
        print(name)
"""

# Prints the file argv[1] in base64: the shell's output is text.
READ_FILE = """import base64, sys
with open(sys.argv[1], "rb") as backup:
    base64.encode(backup, sys.stdout.buffer)
"""


def argument_spec():
    """The options of raftops.etcd.etcd_backup_fetch (its action and its module's documentation)."""
    return dict(
        target=dict(type="dict", required=True, no_log=True),
        name=dict(type="str", required=True),
        dir=dict(type="path", required=True),
        key_file=dict(type="path", required=True, no_log=False),
        cluster=dict(type="str", default=""),
        members=dict(type="list", elements="str", default=[]),
        point=dict(type="dict", options=dict(time=dict(type="str"), revision=dict(type="int"))),
    )


def list_command(target, head_size):
    """The shell command that lists the backups of an SSH ``target`` with the head of each."""
    return shlex.join(["python3", "-c", LIST_HEADS, str(target["path"]), str(int(head_size))])


def names_command(target):
    """The shell command that lists the names of the objects of an SSH ``target``."""
    return shlex.join(["python3", "-c", LIST_NAMES, str(target["path"])])


def read_command(target, name):
    """The shell command that prints backup ``name`` of an SSH ``target`` in base64."""
    return shlex.join(["python3", "-c", READ_FILE, "%s/%s" % (target["path"], name)])


def decoded(text, what):
    """The bytes of ``text``, read_command's output; ValueError naming ``what`` when it is not base64."""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("%s came to the controller damaged (not base64)" % what) from None


class SshObjects:
    """An SSH ``target``'s objects as a point-in-time restore reads a bucket's (backup_target.point_fetched):
    through ``run(command, doing)``, which runs a shell command on the target's host as root and gives
    its output. The heads of the full backups are read with one command, each object with one more."""

    def __init__(self, target, run):
        self.target, self.run, self.name = target, run, target["name"]
        self.heads = None

    def where(self):
        return "%s:%s" % (self.target.get("host"), self.target["path"])

    def listing(self, accept=crypto.is_backup_object):
        """The objects ``accept`` takes: [{name}] (their order is the caller's)."""
        names = self.run(names_command(self.target), "listing the objects of target %s (%s)" % (self.name, self.where()))
        return [dict(name=name) for name in names.split() if accept(name)]

    def header(self, name, key=None):
        """The header of full backup ``name`` (crypto.parse_head, checked against ``key`` when given)."""
        if self.heads is None:
            self.heads = parse_heads(self.run(list_command(self.target, crypto.MAX_HEAD_SIZE),
                                              "listing the backups of target %s (%s)" % (self.name, self.where())))
        if name not in self.heads:
            raise ValueError("target %s (%s) has no backup %s" % (self.name, self.where(), name))
        return crypto.parse_head(self.heads[name], "object %s on target %s" % (name, self.name), key)

    def download(self, name, dest):
        what = "object %s on target %s" % (name, self.name)
        with open(dest, "wb") as copy:
            copy.write(decoded(self.run(read_command(self.target, name), "reading %s" % what), what))


def shown(wanted, chosen, target_name, replayed=None):
    """How the restore's report names the backup: for ``latest``, the object it resolved to; for a
    point in time (``replayed``: the fetch's backup_revision, segments, reached and reached_time), the
    full backup and the segments replayed on it."""
    if replayed:
        used = replayed["segments"]
        return "%s (revision %d) of target %s and %s of its change stream up to revision %d (%s)" % (
            chosen, replayed["backup_revision"], target_name,
            "%d segment(s), %s to %s" % (len(used), used[0], used[-1]) if used else "no segment", replayed["reached"],
            "received %s" % replayed["reached_time"] if replayed["reached_time"] else "no revision replayed")
    name = "latest (%s)" % chosen if wanted == "latest" else wanted
    return "%s of target %s" % (name, target_name)
