# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the action of raftops.etcd.etcd_backup_fetch decides and asks: the commands it runs on an SSH
target (as root, through become: the backups are root's), and how the restore's report names the
backup it fetched. The target and the object on an SSH target are chosen by etcd_backup_plan.py."""

import base64
import binascii
import shlex

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


def read_command(target, name):
    """The shell command that prints backup ``name`` of an SSH ``target`` in base64."""
    return shlex.join(["python3", "-c", READ_FILE, "%s/%s" % (target["path"], name)])


def decoded(text, what):
    """The bytes of ``text``, read_command's output; ValueError naming ``what`` when it is not base64."""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("%s came to the controller damaged (not base64)" % what) from None


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
