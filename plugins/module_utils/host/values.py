# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""What the settings check (plugins/module_utils/plan/settings.py), the sizing (plan/sizing.py) and the
members' settings (host/member_config.py) all read of a setting's value: an integer, a Go duration,
whether automatic compaction is off, the metrics modes, and how a message shows a value.
"""

import re
from collections.abc import Mapping

METRICS_MODES = ("loopback", "address", "off")
BOOL_TEXTS = ("yes", "on", "true", "1", "no", "off", "false", "0")  # what Ansible's bool filter takes
MAX_ELECTION_MS = 50000  # etcd's maxElectionMs
GIB = 1024 ** 3
INTEGER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")
GO_DURATION = re.compile(r"(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:h|m|s))+")
GO_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]*)(h|m|s)")
SECONDS = {"h": 3600, "m": 60, "s": 1}


def integer(value):
    """The int a value stands for (an int, or its decimal text), else None; a bool is no integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
        return int(value)
    return None


def duration_seconds(value):
    """The seconds of a Go duration text like '1h30m', else None."""
    if isinstance(value, str) and GO_DURATION.fullmatch(value):
        return sum(float(n) * SECONDS[u] for n, u in GO_DURATION_PART.findall(value))
    return None


def compaction_off(mode, retention):
    """Whether the members run no automatic compaction: mode '' (nothing written), or a retention of
    0 in any form etcd reads (0, '0', '0h', '0m0s'), which etcd documents as off: it starts its
    compactor only for a retention that is not 0 (etcdserver.NewServer)."""
    return mode == "" or integer(retention) == 0 or duration_seconds(retention) == 0


def compaction_env(mode, retention):
    """ETCD_AUTO_COMPACTION_MODE and _RETENTION for the members' settings, or nothing when compaction
    is off (compaction_off): both forms of "off" write the same file, etcd's default."""
    if compaction_off(mode, retention):
        return {}
    return {"ETCD_AUTO_COMPACTION_MODE": str(mode), "ETCD_AUTO_COMPACTION_RETENTION": str(retention)}


# Directories the system or other software own: the role would chown, chmod, fill or move them.
SYSTEM_DIRS = frozenset((
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp", "/usr", "/var",
    "/etc/default", "/etc/pki", "/etc/ssl", "/etc/ssh", "/etc/sysconfig", "/etc/systemd", "/etc/systemd/system",
    "/etc/init.d", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/include",
    "/usr/share", "/usr/src", "/usr/local", "/usr/local/bin", "/usr/local/sbin", "/usr/local/lib",
    "/usr/local/share", "/usr/local/etc", "/usr/local/src", "/var/backups", "/var/cache", "/var/lib", "/var/local",
    "/var/lock", "/var/log", "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp", "/var/www",
    "/var/lib/systemd", "/var/lib/docker", "/var/lib/containers",
))


def path_inside(path, parent):
    """Whether ``path`` lies below the directory ``parent`` (not ``parent`` itself)."""
    return path != parent and path.startswith(parent.rstrip("/") + "/")


def wal_parent(data_dir, wal_dir):
    """The directory etcd writes in beside a WAL kept outside the data dir: a new member's etcd makes
    its WAL as <wal_dir>.tmp there and renames it into place. None when the WAL lives in or under
    the data dir (etcd writes only inside it); without a data dir, the WAL dir's parent."""
    if not wal_dir or (data_dir and (wal_dir == data_dir or path_inside(wal_dir, data_dir))):
        return None
    return wal_dir.rstrip("/").rsplit("/", 1)[0] or "/"


def wal_parent_problem(data_dir, wal_dir):
    """What is wrong with a WAL dir kept apart directly in a system or shared directory, or None: the
    collection would give that directory to the etcd user (wal_parent)."""
    parent = wal_parent(data_dir, wal_dir)
    if parent not in SYSTEM_DIRS:
        return None
    return ("%s; etcd creates a new WAL beside it (as %s.tmp) and the collection gives the directory that holds it "
            "to the etcd user, so put the WAL one level below a directory of its own, like %s/wal"
            % (parent, wal_dir, wal_dir))


def _plain(value):
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def show(value):
    """A value as a message shows it: on one line, strings quoted, long ones cut short."""
    try:
        text = repr(_plain(value))
    except Exception:  # a value that cannot even be shown is still only a message
        text = "<%s>" % type(value).__name__
    return text if len(text) <= 80 else text[:77] + "..."
