# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""What the snapshot modules share on the managed host, standard library only.

``etcd_snapshot`` saves, ``etcd_snapshot_info`` inspects and ``etcd_snapshot_restore`` restores;
all of them end a task the same way (``Failure``, ``run_module``), and between them they need:

* the ``etcdutl`` (etcd 3.5+) or ``etcdctl`` (3.4, 3.5) program for ``snapshot status`` and
  ``snapshot restore`` (``find_tool``), which inspecting uses when there is one and restoring
  requires;
* ``inspect``: the file checks of ``etcd_snapshot_file`` plus the tool's ``snapshot status``, run
  by the info module and, before anything is written, by the restore module;
* the owner and group a saved file or a restored data dir gets (``resolve_ids``) and the free
  space of a file system (``free_bytes``);
* the ``etcdctl`` that saves a snapshot over etcd's gRPC API (``find_etcdctl``), with the module's
  connection given in its environment (``etcdctl_environment``).

The file checks themselves read bytes only and live in ``etcd_snapshot_file``.
"""

import grp
import os
import pwd
import re

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import UNIX_SCHEME
from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_file import (
    SnapshotError,
    check_snapshot_file,
    parse_status_json,
)

TOOL_SEARCH_DIRS = ["/usr/local/bin"]
TOOL_VERSION = re.compile(r"^(etcdutl|etcdctl) version:\s*v?(\d+)\.(\d+)\.(\d+)\S*", re.MULTILINE)
FILE_FIELDS = ("path", "size", "db_size", "sha256", "hash_expected", "hash_actual", "page_size", "checks")


class Failure(Exception):
    """Ends the task with ``msg`` and any result fields worth showing."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def run_module(module, action):
    """Finish the task with ``action(module)``'s result, or with the Failure it raises.

    The result's ``warnings`` (a list of texts) become the module's warnings.
    """
    try:
        result = action(module)
    except Failure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    module.exit_json(**result)


# -- the host: users, groups, free space -------------------------------------------------------


def resolve_ids(owner, group):
    """(uid, gid) for os.chown, -1 for 'leave as is'; unknown names fail before anything is written."""
    return (_resolve_id(owner, pwd.getpwnam, "pw_uid", "owner %r: no such user on this host"),
            _resolve_id(group, grp.getgrnam, "gr_gid", "group %r: no such group on this host"))


def _resolve_id(name, lookup, field, unknown):
    if not name:
        return -1
    if name.isdigit():
        return int(name)
    try:
        return getattr(lookup(name), field)
    except KeyError:
        raise Failure(unknown % name) from None


def free_bytes(path):
    """Bytes available to this user on the file system of ``path``."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def file_fields(report):
    """The fields of a ``check_snapshot`` report that every snapshot module returns."""
    return {key: report.get(key) for key in FILE_FIELDS}


# -- the etcdutl / etcdctl program -------------------------------------------------------------


class Tool:
    """etcdutl (3.5+) or etcdctl (3.4, 3.5) for ``snapshot status`` and ``snapshot restore``."""

    def __init__(self, path, kind, version):
        self.path = path
        self.kind = kind
        self.version = version

    @property
    def version_text(self):
        return ".".join(str(part) for part in self.version)

    @property
    def environ(self):
        return {"ETCDCTL_API": "3"} if self.kind == "etcdctl" else {}


def probe_tool(module, path):
    """A Tool for the program at ``path``, or a string saying why it cannot serve."""
    rc, out, err = module.run_command([path, "version"], environ_update={"ETCDCTL_API": "3"})
    match = TOOL_VERSION.search(out or "")
    if rc != 0 or not match:
        return "%s version failed (rc=%d): %s" % (path, rc, (err or out).strip()[:200])
    kind = match.group(1)
    version = tuple(int(part) for part in match.group(2, 3, 4))
    if kind == "etcdctl" and version >= (3, 6):
        return "%s is etcdctl %d.%d.%d, which has no snapshot status or restore: use etcdutl" % (path, *version)
    return Tool(path, kind, version)


def find_tool(module, path, required):
    """The tool to use: ``path`` when given, else etcdutl then etcdctl from /usr/local/bin and PATH.

    Returns (Tool or None, the problems of the programs found but not usable); with ``required``,
    no usable program raises Failure.
    """
    if path:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise Failure("etcdutl_path %s is not an executable file" % path)
        candidates = [path]
    else:
        candidates = []
        for name in ("etcdutl", "etcdctl"):
            found = module.get_bin_path(name, opt_dirs=TOOL_SEARCH_DIRS)
            if found:
                candidates.append(found)
    problems = []
    for candidate in candidates:
        tool = probe_tool(module, candidate)
        if isinstance(tool, Tool):
            return tool, problems
        problems.append(tool)
    if required:
        raise Failure(
            "no usable etcdutl (etcd 3.5+) or etcdctl (etcd 3.4) found in %s or PATH; set etcdutl_path%s"
            % (", ".join(TOOL_SEARCH_DIRS), (": " + "; ".join(problems)) if problems else "")
        )
    return None, problems


# -- etcdctl snapshot save ---------------------------------------------------------------------


def find_etcdctl(module, path):
    """The etcdctl to save a snapshot with: ``path`` when given, else etcdctl from /usr/local/bin
    and PATH; None without one."""
    if path:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise Failure("etcdctl_path %s is not an executable file" % path)
        return path
    return module.get_bin_path("etcdctl", opt_dirs=TOOL_SEARCH_DIRS)


def etcdctl_unusable(params, endpoint):
    """Why etcdctl cannot take a module's connection to ``endpoint`` as it is; None when it can."""
    if params.get("client_cert_content") or params.get("client_key_content"):
        return "the client pair is given as text, and etcdctl reads a pair from files only"
    if endpoint.startswith(UNIX_SCHEME):
        return "the endpoint %s is a unix socket" % endpoint
    return None


def etcdctl_environment(params, endpoint, inherited):
    """The environment of ``etcdctl snapshot save`` against ``endpoint`` with a module's connection
    ``params``: every setting goes in it, none on the command line, which any user of the host sees
    (the password among them). etcdctl reads every ETCDCTL_* variable, and exits when one is also
    given as a flag: those of the module's own environment (``inherited``) are blanked, since an
    empty one counts as unset."""
    env = {name: "" for name in inherited if name.startswith("ETCDCTL_")}
    env.update(ETCDCTL_API="3", ETCDCTL_ENDPOINTS=endpoint, ETCDCTL_DIAL_TIMEOUT="%gs" % params["timeout"])
    for name, option in (("ETCDCTL_CACERT", "ca_cert"), ("ETCDCTL_CERT", "client_cert"), ("ETCDCTL_KEY", "client_key")):
        if params.get(option):
            env[name] = params[option]
    if endpoint.startswith("https://"):
        # TLS even without a file (the system's CAs), and without verifying only for etcd's auto-TLS.
        env["ETCDCTL_INSECURE_TRANSPORT"] = "false"
        if not params.get("tls_verify", True):
            env["ETCDCTL_INSECURE_SKIP_TLS_VERIFY"] = "true"
    if params.get("auth_user"):
        env.update(ETCDCTL_USER=params["auth_user"], ETCDCTL_PASSWORD=params["auth_password"])
    return env


def etcdctl_save_command(etcdctl, path):
    """``etcdctl snapshot save``'s command line: the file, and nothing of the connection."""
    return [etcdctl, "snapshot", "save", path]


# -- inspecting a snapshot file ----------------------------------------------------------------


def check_file(src, verify_hash=True):
    """``check_snapshot_file``'s report of ``src``; a file that is not there or cannot be read raises Failure."""
    try:
        return check_snapshot_file(src, verify_hash=verify_hash)
    except SnapshotError as exc:
        raise Failure(str(exc), path=src) from None
    except OSError as exc:
        raise Failure("cannot read %s: %s" % (src, exc), path=src) from None


def inspect(module, src, etcdutl_path=None, tool_required=False, report=None):
    """Check ``src`` and read what it holds; returns (result fields, Tool or None, warnings).

    A failed check raises Failure with the report's fields. The tool's ``snapshot status`` runs
    when one is found (see ``find_tool``); without one, the revision and key count come from the
    file itself. ``report``, the file's ``check_file`` report when the caller made it already, spares
    reading the whole file once more.
    """
    if report is None:
        report = check_file(src)
    result = file_fields(report)
    if report["errors"]:
        raise Failure("%s is not a sound etcd snapshot: %s" % (src, "; ".join(report["errors"])), **result)
    warnings = list(report["warnings"])
    result.update(
        revision=report["revision"], total_key=report["total_key"], total_size=report["total_size"],
        hash=None, status_source="file", tool=None, tool_version=None,
    )
    tool, problems = find_tool(module, etcdutl_path, required=tool_required)
    if tool is None:
        warnings.extend(problems)
        return result, tool, warnings
    cmd = [tool.path, "snapshot", "status", src, "-w", "json"]
    rc, out, err = module.run_command(cmd, environ_update=tool.environ)
    if rc != 0:
        raise Failure("%s failed on %s (rc=%d): %s" % (" ".join(cmd[:3]), src, rc, (err or out).strip()), **result)
    try:
        status = parse_status_json(out)
    except SnapshotError as exc:
        raise Failure(str(exc), **result) from None
    for key in ("revision", "total_key", "total_size"):
        if report[key] is not None and report[key] != status[key]:
            warnings.append("%s reports %s %s, the file reads %s" % (tool.kind, key, status[key], report[key]))
    result.update(
        revision=status["revision"], total_key=status["total_key"], total_size=status["total_size"],
        hash=status["hash"], status_source=tool.kind, tool=tool.path, tool_version=tool.version_text,
    )
    return result, tool, warnings
