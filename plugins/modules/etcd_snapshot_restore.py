#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_snapshot_restore
short_description: Restore an etcd v3 snapshot into a new data directory
version_added: 1.0.0
description:
  - Restores the snapshot O(src) into a new data directory O(data_dir) for one member with C(etcdutl) (etcd 3.5
    and later) or C(etcdctl) (etcd 3.4), after checking the file as M(raftops.etcd.etcd_snapshot_info) does, the
    options, the program, the target and its free space.
  - Runs C(snapshot restore) into a temporary directory beside O(data_dir) and renames the result into place. A
    failed restore leaves nothing behind.
  - Always reports a change; a second run fails because O(data_dir) is no longer empty.
  - Runs on a member host, which needs C(etcdutl) or C(etcdctl).
options:
  data_dir:
    description:
      - The member's data directory to create, for example V(/var/lib/etcd).
      - It must not exist, or must be an empty directory (a mount point, for example, where a C(lost+found)
        directory is allowed). The module never removes or overwrites data; move an old data directory aside
        first.
      - The filesystem that will hold it needs free space of about twice the size of the snapshot plus 128 MiB
        for the WAL segments etcd preallocates; the task fails before writing anything if it has less.
      - The result is owned by O(owner) and O(group) and has mode V(0700).
    type: path
    required: true
  wal_dir:
    description:
      - The member's WAL directory (etcd C(--wal-dir)), for a member that keeps its WAL apart from its data
        directory, for example on a disk of its own. The WAL is restored there, the rest into O(data_dir).
      - Like O(data_dir), it must not exist or must be empty, it is filled through a temporary directory beside
        it and renamed into place, and it gets O(owner), O(group) and mode V(0700). On a filesystem of its own
        it needs 128 MiB free, and the filesystem of O(data_dir) twice the size of the snapshot.
      - It may lie inside O(data_dir), outside its C(member) directory (then it is restored and renamed into place
        with O(data_dir)), but must not be O(data_dir) or a parent of it.
    type: path
  name:
    description:
      - The member's name (etcd C(--name)), the inventory's C(NODE_NAME).
    type: str
    required: true
  initial_cluster:
    description:
      - Every member of the restored cluster as C(name=peer URL), comma-separated, identical on every member, for
        example the output of the P(raftops.etcd.initial_cluster#filter) filter.
      - It must list O(name) with exactly the URLs of O(initial_advertise_peer_urls).
      - Defaults to a one-member cluster of O(name) at O(initial_advertise_peer_urls).
    type: str
  initial_cluster_token:
    description:
      - The token of the restored cluster. Member and cluster IDs derive from it, so use a new token for every
        restore, the same on every member.
    type: str
    required: true
  initial_advertise_peer_urls:
    description:
      - The member's peer URLs, for example V(https://10.0.0.11:2380), or V(unix://NAME:PORT) for a unix socket
        in etcd's working directory (the restore drill's private etcd).
    type: list
    elements: str
    required: true
  owner:
    description:
      - Name or numeric ID of the user that owns the restored data directory, usually V(etcd). By default it
        belongs to the user the module runs as.
    type: str
  group:
    description:
      - Name or numeric ID of the group of the restored data directory.
    type: str
  bump_revision:
    description:
      - Raise the restored keyspace's revision by this many (C(--bump-revision)), so that every revision the
        restored cluster hands out is above those the lost cluster handed out after the snapshot. Clients that
        cache by revision (Kubernetes' informers) then never take new data for old.
      - Needs O(mark_compacted=true), as C(etcdutl) does, and etcd 3.4.27, 3.5.10 or later; with an older
        program the task fails before anything is written.
      - Use the same value on every member. V(0) or unset restores without a bump.
    type: int
  sha256:
    description:
      - The SHA-256 O(src) must have, for example what M(raftops.etcd.etcd_snapshot_info) read of the file on the
        controller it is copied from (its RV(raftops.etcd.etcd_snapshot_info#module:sha256)). A O(src) that differs
        is refused before anything is written, as it is not the snapshot that was checked (changed on its way, or
        another file at its path).
      - In check mode, a O(src) that is not there or differs is taken for the copy a task before this one would
        make. Then nothing on the host is checked, a change is reported, and C(msg) says so.
    type: str
  mark_compacted:
    description:
      - Mark the restored revision as compacted (C(--mark-compacted)), so that a watch from an older revision
        ends with a compaction error and its client reads the keyspace afresh.
      - Only with a O(bump_revision) above V(0), which needs it.
    type: bool
    default: false
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.snapshot_file]
attributes:
  check_mode:
    details:
      - Runs every check (options, file, program, data directory, free space) and reports a change without
        restoring.
notes:
  - A multi-member restore uses the same snapshot file on every member, each with its own O(name) and
    O(initial_advertise_peer_urls), one O(initial_cluster) and a new O(initial_cluster_token); start all
    members afterwards.
seealso:
  - module: raftops.etcd.etcd_snapshot
    description: Save a verified snapshot from a member.
  - module: raftops.etcd.etcd_snapshot_info
    description: Check a snapshot file without etcd.
  - name: etcd disaster recovery
    description: Snapshot and restore in the etcd operations guide.
    link: https://etcd.io/docs/v3.5/op-guide/recovery/
"""

EXAMPLES = r"""
- name: Restore the same file on every member, into a new cluster
  raftops.etcd.etcd_snapshot_restore:
    src: /var/backups/etcd/restore.db
    data_dir: /var/lib/etcd
    name: "{{ NODE_NAME }}"
    initial_cluster: "{{ groups['etcd'] | raftops.etcd.initial_cluster(hostvars) }}"
    initial_cluster_token: etcd-restore-20260821
    initial_advertise_peer_urls: ["https://{{ etcd_address }}:2380"]
    owner: etcd
    group: etcd
  register: etcd_restored

- name: Show what was restored
  ansible.builtin.debug:
    msg: "revision {{ etcd_restored.revision }}, {{ etcd_restored.total_key }} keys in {{ etcd_restored.data_dir }}"

- name: Check that a restore would work here, without doing it
  raftops.etcd.etcd_snapshot_restore:
    src: /var/backups/etcd/restore.db
    data_dir: /var/lib/etcd.restore-check
    name: "{{ NODE_NAME }}"
    initial_cluster_token: restore-check
    initial_advertise_peer_urls: ["https://{{ etcd_address }}:2380"]
  check_mode: true
"""

RETURN = r"""
path:
  description: The snapshot file restored (O(src)).
  returned: success, and when the file check fails
  type: str
  sample: /var/backups/etcd/restore.db
size:
  description:
    - Size of the snapshot file in bytes.
    - With RV(db_size), RV(sha256), RV(hash_expected), RV(hash_actual), RV(page_size) and RV(checks), the file's
      checks as M(raftops.etcd.etcd_snapshot_info) returns and describes them, on a failed check too.
  returned: success, and on a failed check when the file exists
  type: int
  sample: 104890400
db_size:
  description: Size of its bbolt database.
  returned: success, and on a failed check when the file exists
  type: int
sha256:
  description: SHA-256 of the whole file, trailer included.
  returned: success, and on a failed check when the file exists
  type: str
hash_expected:
  description: The SHA-256 in the file's trailer.
  returned: success, and on a failed check when the size allows a trailer
  type: str
hash_actual:
  description: The SHA-256 of the database as read; equal to RV(hash_expected), or the task fails.
  returned: success, and on a failed check when the size allows a trailer
  type: str
page_size:
  description: bbolt page size.
  returned: success, and on a failed check when the meta page gives one
  type: int
checks:
  description: Outcome of each file check.
  returned: success, and on a failed check
  type: dict
revision:
  description: The etcd revision the snapshot was taken at, from the program's C(snapshot status).
  returned: success
  type: int
  sample: 100051
total_key:
  description: Number of entries in all buckets of the database, from C(snapshot status).
  returned: success
  type: int
  sample: 100056
total_size:
  description: Bytes of the database in use, from C(snapshot status).
  returned: success
  type: int
  sample: 104890368
hash:
  description: C(snapshot status)'s hash of the keys and values (CRC-32C).
  returned: success
  type: int
  sample: 2010096040
status_source:
  description: The kind of RV(tool), V(etcdutl) or V(etcdctl).
  returned: success
  type: str
  sample: etcdutl
tool:
  description: The C(etcdutl) or C(etcdctl) program that checked and restored the snapshot.
  returned: success
  type: str
  sample: /usr/local/bin/etcdutl
tool_version:
  description: Version of RV(tool).
  returned: success
  type: str
  sample: 3.5.1
bump_revision:
  description: The revision bump applied (O(bump_revision)), V(0) for none.
  returned: success
  type: int
  sample: 1000000000
mark_compacted:
  description: Whether the restored revision was marked compacted.
  returned: success
  type: bool
  sample: true
restored_revision:
  description: The revision the restored member starts at, RV(revision) plus RV(bump_revision).
  returned: success
  type: int
  sample: 1000100051
data_dir:
  description: The data directory restored.
  returned: success
  type: str
  sample: /var/lib/etcd
cmd:
  description:
    - The restore command run, with the temporary directory it restored into; in check mode the command
      that would run, with O(data_dir).
  returned: success, and when the restore command fails
  type: list
  elements: str
  sample: [/usr/local/bin/etcdutl, snapshot, restore, /var/backups/etcd/restore.db, --name, etcd-host0,
           --data-dir, /var/lib/.etcd.restore-k2j3/data, --initial-cluster, etcd-host0=https://10.0.0.11:2380,
           --initial-cluster-token, etcd-restore-20260821, --initial-advertise-peer-urls, https://10.0.0.11:2380]
space:
  description: Free space on the filesystem of O(data_dir) before the restore, and the space it was required to have, in bytes.
  returned: success, and when the free space is too small
  type: dict
  contains:
    available: &available_bytes
      description: Bytes available to the module's user.
      type: int
    needed:
      description: Twice the snapshot size plus 128 MiB for the WAL; without the WAL when O(wal_dir) is on a
        filesystem of its own.
      type: int
  sample: {available: 85899345920, needed: 273780832}
wal_dir:
  description: The WAL directory restored.
  returned: success, with O(wal_dir)
  type: str
  sample: /var/lib/etcd-wal
wal_space:
  description: Free space on the filesystem of O(wal_dir), and the 128 MiB required, in bytes.
  returned: success and when that free space is too small, with O(wal_dir) on a filesystem of its own
  type: dict
  contains:
    available: *available_bytes
    needed:
      description: 128 MiB for the WAL segments etcd preallocates.
      type: int
  sample: {available: 85899345920, needed: 134217728}
"""

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.host.files import fsync_directory
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import (
    NAME_RULE,
    human_size,
    is_valid_name,
    normalize_url,
)
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import initial_cluster as initial_cluster_value
from ansible_collections.raftops.etcd.plugins.module_utils.backup.restore_rules import bump_supported
from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_host import (
    Failure,
    check_file,
    free_bytes,
    inspect,
    resolve_ids,
    run_module,
)
from ansible_collections.raftops.etcd.plugins.module_utils.host.values import path_inside

# A restored member's WAL: etcd preallocates a 64 MiB segment and keeps the next one ready.
WAL_BYTES = 2 * 64 * 1024 * 1024


def argument_spec():
    return dict(
        src=dict(type="path", required=True),
        data_dir=dict(type="path", required=True),
        name=dict(type="str", required=True),
        initial_cluster=dict(type="str"),
        initial_cluster_token=dict(type="str", required=True, no_log=False),
        initial_advertise_peer_urls=dict(type="list", elements="str", required=True),
        owner=dict(type="str"),
        group=dict(type="str"),
        bump_revision=dict(type="int"),
        mark_compacted=dict(type="bool", default=False),
        etcdutl_path=dict(type="path"),
        wal_dir=dict(type="path"),
        sha256=dict(type="str"),
    )


def parse_initial_cluster(text):
    members = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise Failure("initial_cluster entry %r is not NAME=PEER_URL" % item)
        members.setdefault(name, []).append(normalize_url(url))
    if not members:
        raise Failure("initial_cluster %r lists no member" % text)
    return members


def restore_plan(params):
    """Validate the restore options; returns (initial_cluster, peer URLs)."""
    name = params["name"]
    if not is_valid_name(name):
        raise Failure("name %r is not a valid member name: use %s" % (name, NAME_RULE))
    urls = [normalize_url(url) for url in params["initial_advertise_peer_urls"] if url.strip()]
    if not urls:
        raise Failure("initial_advertise_peer_urls is empty")
    for url in urls:
        if not re.match(r"^(https?|unix)://[^/]+$", url):
            raise Failure("initial_advertise_peer_urls: %r is not an http(s)://HOST:PORT or unix://NAME:PORT URL" % url)
    if not params["initial_cluster_token"].strip():
        raise Failure("initial_cluster_token is empty")
    bump = params.get("bump_revision") or 0
    if bump < 0:
        raise Failure("bump_revision is %d: give a number of revisions above 0, or 0 for no bump" % bump)
    if bool(bump) != bool(params.get("mark_compacted")):
        raise Failure("bump_revision=%d with mark_compacted=%s: etcdutl bumps the revision only together with "
                      "--mark-compacted, and marks it compacted only with a bump" % (bump, params.get("mark_compacted")))
    initial_cluster = params["initial_cluster"] or initial_cluster_value((name, url) for url in urls)
    members = parse_initial_cluster(initial_cluster)
    if name not in members:
        raise Failure("initial_cluster %r has no entry for this member's name %r" % (initial_cluster, name))
    if sorted(members[name]) != sorted(urls):
        raise Failure(
            "initial_cluster gives %s the peer URLs %s but initial_advertise_peer_urls is %s: they must match"
            % (name, ",".join(members[name]), ",".join(urls))
        )
    return initial_cluster, urls


def restore_command(tool, src, data_dir, params, initial_cluster, urls, wal_dir=None):
    bump = params.get("bump_revision") or 0
    return [
        tool.path, "snapshot", "restore", src,
        "--name", params["name"],
        "--data-dir", data_dir,
    ] + (["--wal-dir", wal_dir] if wal_dir else []) + [
        "--initial-cluster", initial_cluster,
        "--initial-cluster-token", params["initial_cluster_token"],
        "--initial-advertise-peer-urls", ",".join(urls),
    ] + (["--bump-revision", str(bump), "--mark-compacted"] if bump else [])


def chown_tree(path, uid, gid):
    if uid == -1 and gid == -1:
        return
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for entry in dirs + files:
            os.lchown(os.path.join(root, entry), uid, gid)


class Target:
    """A directory the restore fills (the data dir, or the WAL dir kept apart): absent, or an empty
    directory; its staging directory is made on the same filesystem, so that the result is renamed
    into place."""

    def __init__(self, option, path):
        self.option, self.path = option, os.path.normpath(path)
        self.exists = os.path.lexists(self.path)
        if self.exists:
            if os.path.islink(self.path) or not os.path.isdir(self.path):
                raise Failure("%s %s exists and is a symlink or not a directory" % (option, self.path))
            # A filesystem mounted on the directory has lost+found at its root: that does not count.
            entries = sorted(e for e in os.listdir(self.path)
                             if not (e == "lost+found" and os.path.isdir(os.path.join(self.path, e))))
            if entries:
                shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
                raise Failure("%s %s is not empty (%s): a restore never overwrites a %s; move it aside first"
                              % (option, self.path, shown, DIRECTORY_WORDS[option]))
            self.parent = self.path
        else:
            self.parent = os.path.dirname(self.path) or "."
            if not os.path.isdir(self.parent):
                raise Failure("the parent directory %s of %s does not exist" % (self.parent, option))
        self.staging = None

    def stage(self):
        if self.exists:
            self.staging = tempfile.mkdtemp(dir=self.path, prefix=".restore-")
        else:
            self.staging = tempfile.mkdtemp(dir=self.parent, prefix="." + os.path.basename(self.path) + ".restore-")
        return os.path.join(self.staging, LEAVES[self.option])

    def put_in_place(self, uid, gid):
        result = os.path.join(self.staging, LEAVES[self.option])
        chown_tree(result, uid, gid)
        os.chmod(result, 0o700)
        if self.exists:
            for entry in os.listdir(result):
                os.rename(os.path.join(result, entry), os.path.join(self.path, entry))
            os.chmod(self.path, 0o700)
            if uid != -1 or gid != -1:
                os.chown(self.path, uid, gid)
        else:
            os.rename(result, self.path)
        fsync_directory(os.path.dirname(self.path) or ".")

    def clean(self):
        if self.staging:
            shutil.rmtree(self.staging, ignore_errors=True)


DIRECTORY_WORDS = {"data_dir": "data directory", "wal_dir": "WAL directory"}
# What etcdutl is asked to make in each staging directory.
LEAVES = {"data_dir": "data", "wal_dir": "wal"}


def same_filesystem(path, other):
    return os.stat(path).st_dev == os.stat(other).st_dev


def check_space(result, data, wal):
    """The snapshot's database twice (the copy and etcdutl's work) where the data dir is, and the WAL
    segments etcd preallocates where the WAL goes: one filesystem or two."""
    if wal is None or same_filesystem(wal.parent, data.parent):
        needs = [("space", data.parent, 2 * result["size"] + WAL_BYTES, "twice its size plus 128 MiB for the WAL")]
    else:
        needs = [("space", data.parent, 2 * result["size"], "twice its size"),
                 ("wal_space", wal.parent, WAL_BYTES, "128 MiB for its WAL")]
    for key, parent, needed, what in needs:
        result[key] = dict(needed=needed, available=free_bytes(parent))
        available = result[key]["available"]
        if available < needed:
            raise Failure(
                "not enough free space for the restore on the filesystem of %s: a %s snapshot needs about %s (%s), "
                "%s is available" % (parent, human_size(result["size"]), human_size(needed), what, human_size(available)),
                **{name: result[name] for name in ("space", "wal_space") if name in result}
            )


def restore(module):
    params = module.params
    src = params["src"]
    initial_cluster, urls = restore_plan(params)
    wanted = (params["sha256"] or "").strip().lower()
    # One read of the whole file: its checks give the SHA-256 compared below, and inspect() uses them.
    report = check_file(src) if wanted and os.path.isfile(src) else None
    found = report and report["sha256"]
    # Before the owner is looked up: on a fresh host the check run has not made etcd_user either.
    if wanted and found != wanted and module.check_mode:
        return dict(changed=True, path=src, msg="check mode: %s is not the snapshot yet (SHA-256 %s): a copy would be made "
                    "first, so nothing was checked here" % (src, wanted))
    uid, gid = resolve_ids(params["owner"], params["group"])

    # Every check comes before anything is written: the file, the tool, the targets, the space.
    result, tool, warnings = inspect(module, src, params["etcdutl_path"], tool_required=True, report=report)
    if wanted and result["sha256"] != wanted:
        raise Failure("%s has SHA-256 %s, not %s: it is not the snapshot that was checked (changed on its way, or another "
                      "file at its path)" % (src, result["sha256"], wanted), **result)
    bump = params.get("bump_revision") or 0
    if bump and not bump_supported(tool.version):
        raise Failure("bump_revision: %s %s cannot bump the revision (etcd 3.4.27, 3.5.10 or later can); restore "
                      "without bump_revision and mark_compacted" % (tool.kind, tool.version_text), **result)
    data = Target("data_dir", params["data_dir"])
    wal, wal_in_data = None, None
    if params["wal_dir"]:
        wal_path = os.path.normpath(params["wal_dir"])
        member = os.path.join(data.path, "member")
        if wal_path in (data.path, member) or path_inside(data.path, wal_path) or path_inside(wal_path, member):
            raise Failure("wal_dir %s: neither data_dir %s, nor a parent of it, nor inside its member directory, "
                          "which etcd manages" % (wal_path, data.path))
        if path_inside(wal_path, data.path):
            # Restored with the data dir and renamed into place with it.
            wal_in_data = os.path.relpath(wal_path, data.path)
        else:
            wal = Target("wal_dir", wal_path)
    result.update(changed=True, data_dir=data.path, warnings=warnings, bump_revision=bump, mark_compacted=bool(bump),
                  restored_revision=result["revision"] + bump)
    if params["wal_dir"]:
        result["wal_dir"] = os.path.normpath(params["wal_dir"])
    check_space(result, data, wal)

    if module.check_mode:
        result["cmd"] = restore_command(tool, src, data.path, params, initial_cluster, urls, result.get("wal_dir"))
        return result

    targets = [data] + ([wal] if wal else [])
    try:
        staged = data.stage()
        staged_wal = wal.stage() if wal else wal_in_data and os.path.join(staged, wal_in_data)
        cmd = restore_command(tool, src, staged, params, initial_cluster, urls, staged_wal)
        result["cmd"] = cmd
        rc, out, err = module.run_command(cmd, environ_update=tool.environ)
        if rc != 0:
            raise Failure(
                "%s snapshot restore failed (rc=%d), nothing was left behind: %s"
                % (tool.kind, rc, (err or out).strip()), cmd=cmd, stdout=out, stderr=err,
            )
        if not os.path.isdir(os.path.join(data.staging, LEAVES["data_dir"], "member")):
            raise Failure("%s snapshot restore left no member directory in %s" % (tool.kind, data.path), cmd=cmd)
        # The data dir last: a re-run after a failure in between finds no data dir, and a WAL dir that
        # the checks above refuse by name.
        for target in reversed(targets):
            target.put_in_place(uid, gid)
    except OSError as exc:
        raise Failure("restoring into %s failed, the temporary directory was removed: %s" % (data.path, exc),
                      cmd=result.get("cmd")) from None
    finally:
        for target in targets:
            target.clean()
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, restore)


if __name__ == "__main__":
    main()
