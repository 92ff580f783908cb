# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The controller's directory of snapshots (raftops.etcd.etcd_snapshot_store): private, each
snapshot with its record beside it, the newest few kept. Standard library only; the action plugin
runs it within ansible-playbook's own process, the module anywhere else. And how a snapshot comes
into it (``fetch_checked``, for raftops.etcd.etcd_snapshot's action)."""

import fnmatch
import json
import os
import stat

from ansible_collections.raftops.etcd.plugins.module_utils.host.files import atomic_file, sha256_of, write_file_atomically

MODULE = "raftops.etcd.etcd_snapshot_store"
SNAPSHOT_PATTERN = "etcd-snapshot-*.db"
RECORD_SUFFIX = ".json"
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


class StoreError(Exception):
    """A request the directory cannot meet; raised before anything changes."""


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        snapshot=dict(type="str"),
        record=dict(type="dict"),
        keep=dict(type="int"),
    )


def record_text(record):
    """The record as the file holds it: indented JSON, keys sorted, as to_nice_json writes it."""
    return json.dumps(record, indent=4, sort_keys=True) + "\n"


def snapshots_newest_first(path):
    """The names of the snapshot files in ``path``, newest first: the UTC time in each name sorts them by age."""
    return sorted((name for name in os.listdir(path)
                   if fnmatch.fnmatchcase(name, SNAPSHOT_PATTERN) and os.path.isfile(os.path.join(path, name))),
                  reverse=True)


def _problems(params):
    problems = []
    path, snapshot = params["path"], params["snapshot"]
    if params["keep"] is not None and params["keep"] < 1:
        problems.append("keep is %d: keep at least 1 snapshot" % params["keep"])
    if os.path.lexists(path) and not os.path.isdir(path):
        problems.append("%s is not a directory" % path)
    if params["record"] is not None and not snapshot:
        problems.append("record needs snapshot, the file it describes")
    if snapshot is not None:
        if os.path.basename(snapshot) != snapshot or snapshot in ("", ".", ".."):
            problems.append("snapshot %r: a file name in path, not a path" % snapshot)
        elif not os.path.isfile(os.path.join(path, snapshot)):
            problems.append("no snapshot %s in %s" % (snapshot, path))
    return problems


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def keep_snapshots(params, check_mode=False):
    """Make ``path`` (0700), ``snapshot`` in it (0600) and its ``record`` (0600) what they should
    be, and remove all but the newest ``keep`` snapshots with their records. Returns the module's
    result; raises StoreError, with nothing changed, for a request it cannot meet."""
    problems = _problems(params)
    if problems:
        raise StoreError("; ".join(problems))
    path, snapshot, record, keep = params["path"], params["snapshot"], params["record"], params["keep"]
    result = dict(changed=False, path=path, created=False, removed=[], kept=[])

    if not os.path.isdir(path):
        result.update(changed=True, created=True)
        if check_mode:
            return result
        os.makedirs(path, DIRECTORY_MODE)
    if _mode(path) != DIRECTORY_MODE:
        result["changed"] = True
        if not check_mode:
            os.chmod(path, DIRECTORY_MODE)

    if snapshot is not None:
        snapshot_path = os.path.join(path, snapshot)
        if _mode(snapshot_path) != FILE_MODE:
            result["changed"] = True
            if not check_mode:
                os.chmod(snapshot_path, FILE_MODE)
    if record is not None:
        record_path = os.path.join(path, snapshot + RECORD_SUFFIX)
        text = record_text(record)
        try:
            with open(record_path) as handle:
                current = handle.read()
            current_mode = _mode(record_path)
        except FileNotFoundError:
            current, current_mode = None, None
        if (current, current_mode) != (text, FILE_MODE):
            result["changed"] = True
            if not check_mode:
                write_file_atomically(record_path, text.encode(), FILE_MODE)

    names = snapshots_newest_first(path)
    if keep is not None:
        result["removed"] = names[keep:]
        names = names[:keep]
        for name in result["removed"]:
            result["changed"] = True
            if check_mode:
                continue
            for leftover in (name, name + RECORD_SUFFIX):
                try:
                    os.unlink(os.path.join(path, leftover))
                except FileNotFoundError:
                    pass
    result["kept"] = names
    return result


def store_result(params, check_mode=False):
    """The module's result: ``keep_snapshots``', or ``failed`` with the reason."""
    try:
        return keep_snapshots(params, check_mode=check_mode)
    except StoreError as exc:
        return dict(failed=True, changed=False, msg="%s: %s; nothing was changed" % (MODULE, exc))
    except OSError as exc:
        return dict(failed=True, changed=False, msg="%s: %s" % (MODULE, exc))


class FetchError(Exception):
    """A copy that is not the snapshot saved; it was removed."""


def fetch_checked(fetch_file, src, dest, sha256, source="the host"):
    """Bring the snapshot ``src`` to ``dest`` with ``fetch_file(src, path)`` (a connection's own
    transfer: no module run on the host, no hash but this one), into a private file beside ``dest``,
    renamed to it only once its one SHA-256 equals ``sha256``, the snapshot's as it was saved on
    ``source``. A copy that differs raises FetchError; whatever fails, nothing of the copy is left."""
    with atomic_file(dest, FILE_MODE, suffix=".part") as out:
        fetch_file(src, out.path)
        copied = sha256_of(out.path)
        if copied != sha256:
            raise FetchError("the copy of %s from %s at %s has SHA-256 %s, the snapshot saved there %s: the copy was "
                             "removed" % (src, source, dest, copied, sha256))
        # The transfer may give the file the host's mode.
        os.chmod(out.path, FILE_MODE)
