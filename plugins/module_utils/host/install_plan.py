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


def install_changes(state, release_dir, bin_dir, binaries, link, user, image=None):
    """{account_made, unpacked, linked, image_made} for a host whose ``state`` is: ``group_missing`` and
    ``user_missing`` (the account ``user``), ``complete`` (``release_dir`` holds COMPLETE_MARK),
    ``links`` ({path in ``bin_dir``: its target, or None when it is no link}) and ``image_present``
    (whether the container image ``image`` is there; none asked, none made)."""
    paths = [posixpath.join(bin_dir, name) for name in binaries]
    return dict(
        account_made=bool(user) and (state["group_missing"] or state["user_missing"]),
        unpacked=not state["complete"],
        linked=[path for path in paths
                if state["links"].get(path) != posixpath.join(release_dir, posixpath.basename(path))] if link else [],
        image_made=bool(image) and not state.get("image_present"),
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
    image = settings.get("container_image") if settings.get("container") else None
    changes = changes_from_host_info(info, release_dir, bin_dir, binaries, link, user, image)
    return changes is None or any(changes.values())


def changes_from_host_info(info, release_dir, bin_dir, binaries, link, user, image=None):
    """install_changes for the host that the etcd_host_info result ``info`` read; None when that read
    does not cover the install (state_from_host_info)."""
    state = state_from_host_info(info, release_dir, bin_dir, binaries, user, image)
    return None if state is None else install_changes(state, release_dir, bin_dir, binaries, link, user, image)


def state_from_host_info(info, release_dir, bin_dir, binaries, user, image=None):
    """The state install_changes reads, from an etcd_host_info result that read the account
    ``user``, the links of ``binaries`` in ``bin_dir``, the release's COMPLETE_MARK (among the
    paths present or absent) and, when one is asked, the container ``image`` (among its images);
    None when it did not read all of them: the host is then asked."""
    links = info.get("links") or {}
    paths = [posixpath.join(bin_dir, name) for name in binaries]
    mark = posixpath.join(release_dir, COMPLETE_MARK)
    if (any(path not in links for path in paths) or (user and info.get("account_name") != user)
            or mark not in info.get("present", []) + (info.get("absent") or [])
            or (image and image not in (info.get("images") or {}))):
        return None
    return dict(group_missing=not info.get("account_group", False), user_missing=not info.get("account"),
                complete=mark in info.get("present", []), links=links,
                image_present=bool(image) and info["images"][image])


def podman_needed(info):
    """Whether the host that raftops.etcd.etcd_host_info read with the role's settings (``info``) needs
    Podman installed: it runs etcd from an image (etcd_runtime container) that the read did not find
    (a host without Podman has none), and has no Docker to run it with instead."""
    settings = info.get("host_settings") or {}
    return (bool(settings.get("container")) and info.get("container_engine") != "docker"
            and not (info.get("images") or {}).get(settings.get("container_image")))
