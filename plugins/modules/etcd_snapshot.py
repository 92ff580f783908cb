#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_snapshot
short_description: Save, inspect and restore etcd v3 snapshots
version_added: 0.1.0
description:
  - Saves a snapshot of one member's v3 keyspace by streaming it from etcd's HTTP/JSON gateway, writing it
    atomically and verifying the SHA-256 that etcd appends to it (O(state=saved)). The file is byte for byte
    what C(etcdctl snapshot save) writes.
  - Checks a snapshot file without etcd running (O(state=inspected)).
  - Restores a snapshot into a new data directory for one member with C(etcdutl) (etcd 3.5 and later) or
    C(etcdctl) (etcd 3.4) (O(state=restored)), after checking the file and the target.
  - Runs on a member host. Saving and inspecting need nothing but python3; restoring needs C(etcdutl) or
    C(etcdctl) on the host.
options:
  state:
    description:
      - V(saved) streams a snapshot from the first of O(endpoints) that answers (and only from that one) into
        O(dest). The data goes to a temporary file in the directory of O(dest), created with mode V(0600), which
        is synced and checked (SHA-256 trailer, size, bbolt meta pages) and only then renamed to O(dest). On any
        error the partial file is removed and the task fails. Always reports a change.
      - V(inspected) checks the file O(src) without etcd, see O(src). When C(etcdutl) or C(etcdctl) is
        available (see O(etcdutl_path)) it also runs its C(snapshot status). Never reports a change.
      - V(restored) checks O(src) as V(inspected) does, checks O(data_dir) and its free space, then runs
        C(snapshot restore) into a temporary directory beside O(data_dir) and renames the result into place.
        A failed restore leaves nothing behind. Always reports a change; a second run fails because
        O(data_dir) is no longer empty.
    type: str
    choices: [saved, inspected, restored]
    default: saved
  dest:
    description:
      - With O(state=saved), the path of the snapshot file to write. Its directory must exist.
      - If O(dest) already exists the task fails, unless O(force=true). Even then the existing file stays in
        place until the new snapshot is complete and verified.
    type: path
  force:
    description:
      - With O(state=saved), replace O(dest) when it already exists.
    type: bool
    default: false
  src:
    description:
      - The snapshot file to check (O(state=inspected)) or restore (O(state=restored)).
      - "The checks: the file exists; its size is a multiple of 512 plus 32; its last 32 bytes are the SHA-256
        of everything before them; the database is a whole number of bbolt pages; the bbolt meta pages at
        offsets 0 and page size have the magic V(0xED0CDAED), version 2, the meta page flag and a valid
        FNV-1a checksum, and say no more pages are in use than the file holds."
      - The task fails when a check fails, naming each problem (a hash mismatch gives the expected and the
        actual hash) and returning the same fields as a sound file.
    type: path
  data_dir:
    description:
      - With O(state=restored), the member's data directory to create, for example V(/var/lib/etcd).
      - It must not exist, or must be an empty directory (a mount point, for example, where a C(lost+found)
        directory is allowed). The module never removes or overwrites data; move an old data directory aside
        first.
      - The filesystem that will hold it needs free space of about twice the size of the snapshot plus 128 MiB
        for the WAL segments etcd preallocates; the task fails before writing anything if it has less.
      - The result is owned by O(owner) and O(group) and has mode V(0700).
    type: path
  name:
    description:
      - With O(state=restored), the member's name (etcd C(--name)), the inventory's C(NODE_NAME).
    type: str
  initial_cluster:
    description:
      - With O(state=restored), every member of the restored cluster as C(name=peer URL), comma-separated,
        identical on every member, for example the output of the P(raftops.etcd.initial_cluster#filter)
        filter.
      - It must list O(name) with exactly the URLs of O(initial_advertise_peer_urls).
      - Defaults to a one-member cluster of O(name) at O(initial_advertise_peer_urls).
    type: str
  initial_cluster_token:
    description:
      - With O(state=restored), the token of the restored cluster. Member and cluster IDs derive from it, so
        use a new token for every restore, the same on every member.
    type: str
  initial_advertise_peer_urls:
    description:
      - With O(state=restored), the member's peer URLs, for example V(https://10.0.0.11:2380).
    type: list
    elements: str
  owner:
    description:
      - Name or numeric ID of the user that owns the saved file (O(state=saved)) or the restored data
        directory (O(state=restored)), usually V(etcd). By default they belong to the user the module runs as.
    type: str
  group:
    description:
      - Name or numeric ID of the group of the saved file or the restored data directory.
    type: str
  etcdutl_path:
    description:
      - With O(state=inspected) or O(state=restored), the C(etcdutl) (etcd 3.5 and later) or C(etcdctl)
        (etcd 3.4 or 3.5) program to run; its C(version) output tells which it is.
      - By default C(etcdutl) is looked for in C(/usr/local/bin) and then E(PATH), then C(etcdctl) the same
        way. C(etcdctl) 3.6 and later has no C(snapshot) restore or status and is skipped.
      - O(state=inspected) works without one (the revision and key count are then read from the file
        itself); O(state=restored) fails without one.
    type: path
extends_documentation_fragment:
  - raftops.etcd.common
  - raftops.etcd.connection
attributes:
  check_mode:
    details:
      - O(state=saved) asks the endpoint for its status, checks O(dest) and the free space for the member's
        database, and reports a change without saving.
      - O(state=restored) runs every check (file, tool, data directory, free space) and reports a change
        without restoring.
notes:
  - The connection options are used by O(state=saved) only.
  - A snapshot holds the v3 keyspace only, at the revision it was taken.
  - With etcd authentication enabled, saving a snapshot needs the C(root) role.
  - A multi-member restore uses the same snapshot file on every member, each with its own O(name) and
    O(initial_advertise_peer_urls), one O(initial_cluster) and a new O(initial_cluster_token); start all
    members afterwards.
seealso:
  - name: etcd disaster recovery
    description: Snapshot and restore in the etcd operations guide.
    link: https://etcd.io/docs/v3.5/op-guide/recovery/
"""

EXAMPLES = r"""
- name: Save a snapshot of the member on this host
  raftops.etcd.etcd_snapshot:
    state: saved
    dest: /var/backups/etcd/etcd-{{ backup_stamp }}.db
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.pem
    client_cert: /etc/etcd/pki/admin.pem
    client_key: /etc/etcd/pki/admin-key.pem
  register: etcd_snapshot_saved

- name: Check a snapshot before relying on it
  raftops.etcd.etcd_snapshot:
    state: inspected
    src: "{{ etcd_snapshot_saved.path }}"
  register: etcd_snapshot_check

- name: Show what it holds
  ansible.builtin.debug:
    msg: "revision {{ etcd_snapshot_check.revision }}, {{ etcd_snapshot_check.total_key }} keys"

- name: Restore the same file on every member, into a new cluster
  raftops.etcd.etcd_snapshot:
    state: restored
    src: /var/backups/etcd/restore.db
    data_dir: /var/lib/etcd
    name: "{{ NODE_NAME }}"
    initial_cluster: "{{ groups['etcd'] | raftops.etcd.initial_cluster(hostvars) }}"
    initial_cluster_token: etcd-restore-20260821
    initial_advertise_peer_urls: ["https://{{ etcd_address }}:2380"]
    owner: etcd
    group: etcd
"""

RETURN = r"""
path:
  description: The snapshot file written (O(dest)) or read (O(src)).
  returned: always
  type: str
  sample: /var/backups/etcd/etcd-20260821T1200.db
size:
  description: Size of the snapshot file in bytes, database plus the 32-byte SHA-256 trailer.
  returned: success, and on a failed check when the file exists
  type: int
  sample: 104890400
db_size:
  description: Size of the bbolt database in the file (O(state=saved) in check mode, the member's database size).
  returned: success, and on a failed check when the file exists
  type: int
  sample: 104890368
sha256:
  description:
    - SHA-256 of the whole file, trailer included, for comparison with a copy elsewhere.
    - Not returned in check mode with O(state=saved).
  returned: success, and on a failed check when the file exists
  type: str
  sample: 36767e97361aec6db2ca08680567c245974328fbeca73855657327bb486a2a07
hash_expected:
  description: The SHA-256 in the file's trailer, which etcd computed when it sent the snapshot.
  returned: success, and on a failed check when the size allows a trailer
  type: str
  sample: e12c9b8fbfc5a35b763b6f7218097da69516bed7a7c3ba9b1a619257877844df
hash_actual:
  description: The SHA-256 of the database as read; equal to RV(hash_expected) for a sound snapshot.
  returned: success, and on a failed check when the size allows a trailer
  type: str
  sample: e12c9b8fbfc5a35b763b6f7218097da69516bed7a7c3ba9b1a619257877844df
page_size:
  description: bbolt page size of the database.
  returned: success, and on a failed check when the meta page gives one
  type: int
  sample: 4096
checks:
  description:
    - Outcome of each file check; V(null) when it could not be run.
    - With O(state=saved) the stream itself was checked as it arrived, and the file checks skip re-hashing.
  returned: success, and on a failed check
  type: dict
  contains:
    size_aligned:
      description: The size is a multiple of 512 plus 32.
      type: bool
    hash_ok:
      description: The trailer is the SHA-256 of the data before it.
      type: bool
    page_aligned:
      description: The database is a whole number of pages and holds every page its meta page counts.
      type: bool
    meta_ok:
      description: Both bbolt meta pages are valid.
      type: bool
  sample: {size_aligned: true, hash_ok: true, page_aligned: true, meta_ok: true}
revision:
  description:
    - The etcd revision the snapshot was taken at, read from the database (the last key of its C(key)
      bucket), or from C(snapshot status) when a tool ran.
    - With O(state=saved) in check mode, the member's current revision.
  returned: success
  type: int
  sample: 100051
total_key:
  description: Number of entries in all buckets of the database, as C(etcdutl snapshot status) counts them.
  returned: success, with O(state=inspected) and O(state=restored)
  type: int
  sample: 100056
total_size:
  description: Bytes of the database in use, as C(etcdutl snapshot status) reports it.
  returned: success, with O(state=inspected) and O(state=restored)
  type: int
  sample: 104890368
hash:
  description: C(snapshot status)'s hash of the keys and values (CRC-32C), or V(null) when no tool ran.
  returned: success, with O(state=inspected) and O(state=restored)
  type: int
  sample: 2010096040
status_source:
  description: Where RV(revision), RV(total_key) and RV(total_size) come from, V(etcdutl), V(etcdctl) or V(file).
  returned: success, with O(state=inspected) and O(state=restored)
  type: str
  sample: etcdutl
tool:
  description: The C(etcdutl) or C(etcdctl) program used, or V(null).
  returned: success, with O(state=inspected) and O(state=restored)
  type: str
  sample: /usr/local/bin/etcdutl
tool_version:
  description: Version of RV(tool).
  returned: success, with O(state=inspected) and O(state=restored)
  type: str
  sample: 3.5.1
endpoint:
  description: The client URL the snapshot was streamed from.
  returned: success, with O(state=saved)
  type: str
  sample: https://127.0.0.1:2379
member_id:
  description: ID of the member the snapshot was taken from, in hex as etcdctl prints it.
  returned: success, with O(state=saved)
  type: str
  sample: 599b2166ae58a47f
server_version:
  description: etcd version of that member.
  returned: success, with O(state=saved)
  type: str
  sample: 3.5.1
storage_version:
  description: Storage version etcd announced in the stream (etcd 3.6 and later; empty before).
  returned: success, with O(state=saved) outside check mode
  type: str
  sample: "3.6.0"
duration:
  description: Seconds taken to stream, write, sync and check the snapshot.
  returned: success, with O(state=saved) outside check mode
  type: float
  sample: 1.284
throughput:
  description: Snapshot size divided by RV(duration), in MiB per second.
  returned: success, with O(state=saved) outside check mode
  type: float
  sample: 77.9
data_dir:
  description: The data directory restored.
  returned: success, with O(state=restored)
  type: str
  sample: /var/lib/etcd
cmd:
  description:
    - The restore command run, with the temporary directory it restored into; in check mode the command
      that would run, with O(data_dir).
  returned: success, with O(state=restored)
  type: list
  elements: str
  sample: [/usr/local/bin/etcdutl, snapshot, restore, /var/backups/etcd/restore.db, --name, etcd-host0,
           --data-dir, /var/lib/.etcd.restore-k2j3/data, --initial-cluster, etcd-host0=https://10.0.0.11:2380,
           --initial-cluster-token, etcd-restore-20260821, --initial-advertise-peer-urls, https://10.0.0.11:2380]
space:
  description: Free space on the filesystem of O(data_dir) before the restore, and the space it was required to have, in bytes.
  returned: success, with O(state=restored), and when the free space is too small
  type: dict
  contains:
    available:
      description: Bytes available to the module's user.
      type: int
    needed:
      description: Twice the snapshot size plus 128 MiB for the WAL.
      type: int
  sample: {available: 85899345920, needed: 273780832}
"""

import os
import re
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_client import (
    EtcdError,
    clients_from_params,
    connection_argument_spec,
    first_answer,
)
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_snapshot_file import (
    HASH_SIZE,
    SnapshotError,
    SnapshotStream,
    check_snapshot_file,
)
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_snapshot_host import (
    Failure,
    file_fields,
    free_bytes,
    inspect,
    resolve_ids,
    run_module,
)
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_files import atomic_file, fsync_directory
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_formats import (
    NAME_RULE,
    human_size,
    is_valid_name,
    normalize_url,
)

SNAPSHOT_RPC = "/v3/maintenance/snapshot"
# A restored member's WAL: etcd preallocates a 64 MiB segment and keeps the next one ready.
WAL_BYTES = 2 * 64 * 1024 * 1024

# Options that belong to one state only (besides the connection options, which have defaults).
STATE_OPTIONS = dict(
    dest=("saved",),
    force=("saved",),
    src=("inspected", "restored"),
    data_dir=("restored",),
    name=("restored",),
    initial_cluster=("restored",),
    initial_cluster_token=("restored",),
    initial_advertise_peer_urls=("restored",),
    owner=("saved", "restored"),
    group=("saved", "restored"),
    etcdutl_path=("inspected", "restored"),
)


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        state=dict(type="str", default="saved", choices=["saved", "inspected", "restored"]),
        dest=dict(type="path"),
        force=dict(type="bool", default=False),
        src=dict(type="path"),
        data_dir=dict(type="path"),
        name=dict(type="str"),
        initial_cluster=dict(type="str"),
        initial_cluster_token=dict(type="str", no_log=False),
        initial_advertise_peer_urls=dict(type="list", elements="str"),
        owner=dict(type="str"),
        group=dict(type="str"),
        etcdutl_path=dict(type="path"),
    )
    return spec


REQUIRED_IF = [
    ("state", "saved", ["dest"]),
    ("state", "inspected", ["src"]),
    ("state", "restored", ["src", "data_dir", "name", "initial_cluster_token", "initial_advertise_peer_urls"]),
]


def check_state_options(params):
    """Refuse options that the chosen state would silently ignore: they are a mistake in the task."""
    state = params["state"]
    stray = sorted(
        option for option, states in STATE_OPTIONS.items()
        if state not in states and params.get(option) not in (None, False)
    )
    if stray:
        raise Failure(
            "state=%s does not use %s (%s)" % (
                state, ", ".join(stray),
                "; ".join("%s is for state=%s" % (o, "/".join(STATE_OPTIONS[o])) for o in stray),
            )
        )


# -- state=saved -------------------------------------------------------------------------------


def write_snapshot(client, dest, uid=-1, gid=-1):
    """Stream a snapshot from ``client`` into ``dest`` through a temporary file; returns the details.

    The temporary file (mode 0600, in dest's directory so the rename is atomic) never has the final
    name until the stream is complete, its SHA-256 trailer verified, the file synced and its bbolt
    meta pages checked. Any error removes it.
    """
    directory = os.path.dirname(dest) or "."
    stream = temporary = None
    started = time.monotonic()
    try:
        with atomic_file(dest, 0o600, suffix=".part") as out:
            temporary = out.path
            stream = SnapshotStream(out.handle)
            for message in client.stream(SNAPSHOT_RPC):
                stream.feed(message)
                if stream.messages == 1:
                    available = free_bytes(directory)
                    if stream.expected_size > available:
                        raise Failure(
                            "not enough space in %s for the snapshot: it needs %s (%d bytes), %s is available"
                            % (directory, human_size(stream.expected_size), stream.expected_size,
                               human_size(available))
                        )
            summary = stream.finish()
            out.handle.flush()
            report = check_snapshot_file(temporary, verify_hash=False, count_keys=False)
            if report["errors"]:
                raise SnapshotError("etcd sent a snapshot that fails the file checks: " + "; ".join(report["errors"]))
            if uid != -1 or gid != -1:
                os.chown(temporary, uid, gid)
    except EtcdError as exc:
        received = stream.received if stream else 0
        raise Failure("saving the snapshot failed after %d bytes, %s was removed: %s" % (
            received, temporary, exc)) from None
    except SnapshotError as exc:
        raise Failure("saving the snapshot failed, %s was removed: %s" % (temporary, exc)) from None
    except OSError as exc:
        raise Failure("writing the snapshot to %s failed, the partial file was removed: %s" % (
            temporary or dest, exc)) from None
    duration = max(time.monotonic() - started, 1e-6)
    details = file_fields(report)
    details.update(
        path=dest,
        sha256=summary["sha256"],
        hash_expected=summary["hash"],
        hash_actual=summary["hash"],
        revision=report["revision"],
        storage_version=summary["storage_version"],
        duration=round(duration, 3),
        throughput=round(summary["size"] / duration / (1 << 20), 1),
    )
    details["checks"] = dict(report["checks"], hash_ok=True)
    return details


def save(module, params):
    dest = params["dest"]
    directory = os.path.dirname(dest) or "."
    if os.path.isdir(dest):
        raise Failure("dest %s is a directory: give the path of the snapshot file to write" % dest)
    if not os.path.isdir(directory):
        raise Failure("the directory %s of dest does not exist" % directory)
    if os.path.lexists(dest) and not params["force"]:
        raise Failure(
            "dest %s already exists: set force=true to replace it (it is replaced only once the new snapshot "
            "is complete and verified)" % dest
        )
    uid, gid = resolve_ids(params["owner"], params["group"])
    try:
        clients = clients_from_params(params)
        client, status = first_answer(clients, lambda c: (c, c.status()))
    except EtcdError as exc:
        raise Failure("cannot ask etcd for a snapshot: %s" % exc) from None
    result = dict(
        changed=True,
        path=dest,
        endpoint=client.endpoint,
        member_id=status["member_id_hex"],
        server_version=status["version"],
    )
    if module.check_mode:
        result.update(revision=status["revision"], db_size=status["db_size"])
        needed = status["db_size"] + HASH_SIZE
        available = free_bytes(directory)
        if needed > available:
            raise Failure(
                "not enough space in %s for the snapshot: it needs about %s (the member's database size), %s is "
                "available" % (directory, human_size(needed), human_size(available))
            )
        return result
    details = write_snapshot(client, dest, uid, gid)
    if not details["revision"]:
        details["revision"] = status["revision"]
    result.update(details)
    return result


# -- state=restored ----------------------------------------------------------------------------


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
        if not re.match(r"^https?://[^/]+$", url):
            raise Failure("initial_advertise_peer_urls: %r is not an http(s)://HOST:PORT URL" % url)
    if not params["initial_cluster_token"].strip():
        raise Failure("initial_cluster_token is empty")
    initial_cluster = params["initial_cluster"] or ",".join("%s=%s" % (name, url) for url in urls)
    members = parse_initial_cluster(initial_cluster)
    if name not in members:
        raise Failure("initial_cluster %r has no entry for this member's name %r" % (initial_cluster, name))
    if sorted(members[name]) != sorted(urls):
        raise Failure(
            "initial_cluster gives %s the peer URLs %s but initial_advertise_peer_urls is %s: they must match"
            % (name, ",".join(members[name]), ",".join(urls))
        )
    return initial_cluster, urls


def restore_command(tool, src, data_dir, params, initial_cluster, urls):
    return [
        tool.path, "snapshot", "restore", src,
        "--name", params["name"],
        "--data-dir", data_dir,
        "--initial-cluster", initial_cluster,
        "--initial-cluster-token", params["initial_cluster_token"],
        "--initial-advertise-peer-urls", ",".join(urls),
    ]


def chown_tree(path, uid, gid):
    if uid == -1 and gid == -1:
        return
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for entry in dirs + files:
            os.lchown(os.path.join(root, entry), uid, gid)


def restore(module, params):
    src = params["src"]
    data_dir = os.path.normpath(params["data_dir"])
    initial_cluster, urls = restore_plan(params)
    uid, gid = resolve_ids(params["owner"], params["group"])

    # Every check comes before anything is written: the file, the tool, the target, the space.
    result, tool, warnings = inspect(module, src, params["etcdutl_path"], tool_required=True)
    result.update(changed=True, data_dir=data_dir, warnings=warnings)

    exists = os.path.lexists(data_dir)
    if exists:
        if os.path.islink(data_dir) or not os.path.isdir(data_dir):
            raise Failure("data_dir %s exists and is a symlink or not a directory" % data_dir)
        # A filesystem mounted on data_dir has lost+found at its root: that does not count as data.
        entries = sorted(e for e in os.listdir(data_dir)
                         if not (e == "lost+found" and os.path.isdir(os.path.join(data_dir, e))))
        if entries:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise Failure(
                "data_dir %s is not empty (%s): a restore never overwrites a data directory; move it aside first"
                % (data_dir, shown)
            )
        staging_parent = data_dir
    else:
        staging_parent = os.path.dirname(data_dir) or "."
        if not os.path.isdir(staging_parent):
            raise Failure("the parent directory %s of data_dir does not exist" % staging_parent)
    needed = 2 * result["size"] + WAL_BYTES
    available = free_bytes(staging_parent)
    result["space"] = dict(needed=needed, available=available)
    if available < needed:
        raise Failure(
            "not enough free space for the restore on the filesystem of %s: a %s snapshot needs about %s (twice "
            "its size plus 128 MiB for the WAL), %s is available" % (
                staging_parent, human_size(result["size"]), human_size(needed), human_size(available)),
            space=result["space"],
        )

    if module.check_mode:
        result["cmd"] = restore_command(tool, src, data_dir, params, initial_cluster, urls)
        return result

    if exists:
        staging = tempfile.mkdtemp(dir=data_dir, prefix=".restore-")
    else:
        staging = tempfile.mkdtemp(dir=staging_parent, prefix="." + os.path.basename(data_dir) + ".restore-")
    target = os.path.join(staging, "data")
    cmd = restore_command(tool, src, target, params, initial_cluster, urls)
    result["cmd"] = cmd
    try:
        rc, out, err = module.run_command(cmd, environ_update=tool.environ)
        if rc != 0:
            raise Failure(
                "%s snapshot restore failed (rc=%d), nothing was left behind: %s"
                % (tool.kind, rc, (err or out).strip()), cmd=cmd, stdout=out, stderr=err,
            )
        if not os.path.isdir(os.path.join(target, "member")):
            raise Failure("%s snapshot restore left no member directory in %s" % (tool.kind, target), cmd=cmd)
        chown_tree(target, uid, gid)
        os.chmod(target, 0o700)
        if exists:
            for entry in os.listdir(target):
                os.rename(os.path.join(target, entry), os.path.join(data_dir, entry))
            os.chmod(data_dir, 0o700)
            if uid != -1 or gid != -1:
                os.chown(data_dir, uid, gid)
        else:
            os.rename(target, data_dir)
        fsync_directory(os.path.dirname(data_dir) or ".")
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise Failure("restoring into %s failed, the temporary directory was removed: %s" % (data_dir, exc),
                      cmd=cmd) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return result


# -- main --------------------------------------------------------------------------------------


def run(module):
    params = module.params
    check_state_options(params)
    state = params["state"]
    if state == "saved":
        return save(module, params)
    if state == "inspected":
        result, _tool, warnings = inspect(module, params["src"], params["etcdutl_path"])
        result.update(changed=False, warnings=warnings)
        return result
    return restore(module, params)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_if=REQUIRED_IF, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
