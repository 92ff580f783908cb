# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Whether raftops.etcd.etcd_member_files would change anything, from what the host has.

raftops.etcd.etcd_host_info reads each path the files call may write (path_state); the call's
action plugin then spares the host the call when every directory and file is already as asked
(unchanged). Anything the read did not cover, or that is not exactly as asked, goes to the module,
which decides and writes as without it: a doubt costs a call, never a missed change.
"""

import grp
import hashlib
import os
import posixpath
import pwd
import re
import stat

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.raftops.etcd.plugins.module_utils.host.files import sha256_of

_OCTAL_MODE = re.compile(r"^0?[0-7]{3,4}$")


def sha256_of_bytes(data):
    return hashlib.sha256(data).hexdigest()


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def path_state(path):
    """What ``path`` is: ``kind`` (file, directory, other or absent; unreadable when it cannot be
    looked at), with its ``owner``, ``group`` and ``mode`` (four octal digits), and for a file the
    SHA-256 of its content (``sha256``), never the content itself."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return dict(kind="absent")
    except OSError:
        return dict(kind="unreadable")
    if stat.S_ISREG(info.st_mode):
        kind = "file"
    elif stat.S_ISDIR(info.st_mode):
        kind = "directory"
    else:
        kind = "other"
    state = dict(kind=kind, owner=_name(pwd.getpwuid, info.st_uid), group=_name(grp.getgrgid, info.st_gid),
                 mode="%04o" % stat.S_IMODE(info.st_mode))
    if kind == "file":
        try:
            state["sha256"] = sha256_of(path)
        except OSError:
            return dict(kind="unreadable")
    return state


def _octal(mode):
    """A mode as four octal digits, or None for a form compared only by the module (symbolic)."""
    if isinstance(mode, int):
        return "%04o" % mode
    if isinstance(mode, str) and _OCTAL_MODE.match(mode):
        return "%04o" % int(mode, 8)
    return None


def _as_asked(state, item, kind):
    mode = _octal(item["mode"])
    return (state is not None and state.get("kind") == kind and mode is not None and state.get("mode") == mode
            and state.get("owner") == item["owner"] and state.get("group") == item["group"])


def unchanged(states, directories=(), files=(), private_files=(), stage_dir=None, activate=(), absent=()):
    """True when etcd_member_files with these options would change nothing on a host whose paths
    are as ``states`` ({path: path_state(path)}) says; False when it would change something, would
    refuse the options, or ``states`` lacks a path it needs."""
    try:
        return _unchanged(states, directories, files, private_files, stage_dir, activate, absent)
    except (AttributeError, KeyError, TypeError):
        return False  # options the module must check (and refuse) itself


def _unchanged(states, directories, files, private_files, stage_dir, activate, absent):
    if activate or absent:
        return False
    if stage_dir is not None:
        names = [posixpath.basename(item["path"]) for item in files]
        if len(set(names)) != len(names):
            return False  # the module refuses that
    for item in directories:
        if not _as_asked(states.get(item["path"]), item, "directory"):
            return False
    for item in list(files) + list(private_files):
        state = states.get(item["path"])
        if not _as_asked(state, item, "file") or state.get("sha256") != sha256_of_bytes(
                item["content"].encode("utf-8", errors="surrogateescape")):
            return False
    if stage_dir is not None:
        for item in files:
            if boolean(item.get("stage", True)):
                # a staged copy left by an earlier run is removed: a change
                staged = states.get(posixpath.join(stage_dir, posixpath.basename(item["path"])))
                if staged is None or staged.get("kind") != "absent":
                    return False
    return True


def service_enabled(service):
    """Whether the service of the files call's ``service`` option is enabled: its ``enabled`` when
    given, else whether the host's read found (``found``, the paths etcd_host_info saw present) the
    link its WantedBy= makes (``enabled_path``)."""
    if "enabled" in service:
        return bool(service["enabled"])
    return posixpath.normpath(service["enabled_path"]) in (service.get("found") or [])


def timers_to_start(timers, changed_paths, check_mode):
    """What systemd does with the timers of the files call's ``timers`` option (the schedule's plan:
    ``name``, ``paths`` of its files, ``running``, whether the host's read found it active and enabled)
    once the files are written: a timer whose files changed (``changed_paths``) restarts, with the
    units read again; one not running starts; the others are left as they run. In check mode a timer
    whose files would change is left out: they are not there for systemd. Each as ``name``, ``state``
    (started or restarted) and ``daemon_reload``."""
    actions = []
    for timer in timers:
        changed = any(path in changed_paths for path in timer["paths"])
        if (changed and check_mode) or (not changed and timer["running"]):
            continue
        actions.append(dict(name=timer["name"], state="restarted" if changed else "started", daemon_reload=changed))
    return actions


def restarts(note_path, changed_paths, present):
    """Whether the member restarts in this run, from the files call's ``restart_note`` option: its
    note (``note_path``) was written by this call (``changed_paths``; in check mode, would be), or the
    host's read found it before the run (``present``, the paths it found; empty where no earlier note
    counts)."""
    # The host read lists its paths with single slashes; a role variable may join them with two.
    note = posixpath.normpath(note_path)
    return any(posixpath.normpath(path) == note for path in list(changed_paths) + list(present))
