# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""What raftops.etcd.etcd_install changes on a host, decided from what the host has. Standard library only.

One decision for two callers: the module, which reads the host itself, and its action plugin, which
may know the host already from raftops.etcd.etcd_host_info and then spares it a call when nothing
would change.
"""

import grp
import os
import posixpath
import pwd

# The binary whose presence marks a release directory as complete: it is written last.
COMPLETE_MARK = "etcd"


def read_links(paths):
    """{each of ``paths``: where it links to, or None when it is no link}."""
    return {path: os.readlink(path) if os.path.islink(path) else None for path in paths}


def missing_account(user):
    """(group missing, user missing) for the account ``user``."""
    try:
        grp.getgrnam(user)
        group_missing = False
    except KeyError:
        group_missing = True
    try:
        pwd.getpwnam(user)
        user_missing = False
    except KeyError:
        user_missing = True
    return group_missing, user_missing


def install_changes(state, release_dir, bin_dir, binaries, link, user):
    """{account_made, unpacked, linked} for a host whose ``state`` is: ``group_missing`` and
    ``user_missing`` (the account ``user``), ``complete`` (``release_dir`` holds COMPLETE_MARK) and
    ``links`` ({path in ``bin_dir``: its target, or None when it is no link})."""
    paths = [posixpath.join(bin_dir, name) for name in binaries]
    return dict(
        account_made=bool(user) and (state["group_missing"] or state["user_missing"]),
        unpacked=not state["complete"],
        linked=[path for path in paths
                if state["links"].get(path) != posixpath.join(release_dir, posixpath.basename(path))] if link else [],
    )


def install_needed(info, link):
    """Whether raftops.etcd.etcd_install would change the host that raftops.etcd.etcd_host_info read
    with the role's settings (``info``: its result, with host_settings), linking the release's
    binaries when ``link``; True also when that read does not tell (the host is then asked)."""
    settings = info.get("host_settings") or {}
    try:
        release_dir, bin_dir, binaries = settings["release_dir"], settings["bin_dir"], settings["binaries"]
        user = settings["read"]["account"]
    except KeyError:
        return True
    changes = changes_from_host_info(info, release_dir, bin_dir, binaries, link, user)
    return changes is None or any(changes.values())


def changes_from_host_info(info, release_dir, bin_dir, binaries, link, user):
    """install_changes for the host that the etcd_host_info result ``info`` read; None when that read
    does not cover the install (state_from_host_info)."""
    state = state_from_host_info(info, release_dir, bin_dir, binaries, user)
    return None if state is None else install_changes(state, release_dir, bin_dir, binaries, link, user)


def state_from_host_info(info, release_dir, bin_dir, binaries, user):
    """The state install_changes reads, from an etcd_host_info result that read the account
    ``user``, the links of ``binaries`` in ``bin_dir`` and the release's COMPLETE_MARK (among the
    paths present or absent); None when it did not read all of them: the host is then asked."""
    links = info.get("links") or {}
    paths = [posixpath.join(bin_dir, name) for name in binaries]
    mark = posixpath.join(release_dir, COMPLETE_MARK)
    if (any(path not in links for path in paths) or (user and info.get("account_name") != user)
            or mark not in info.get("present", []) + (info.get("absent") or [])):
        return None
    return dict(group_missing=not info.get("account_group", False), user_missing=not info.get("account"),
                complete=mark in info.get("present", []), links=links)
