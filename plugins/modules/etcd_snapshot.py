#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_snapshot
short_description: Save a verified etcd v3 snapshot
version_added: 1.0.0
description:
  - Saves a snapshot of one member's v3 keyspace, from the first of O(endpoints) that answers (and only from that
    one), into O(dest), with the host's C(etcdctl snapshot save) over etcd's gRPC API where there is one (see
    O(method)), else streamed from etcd's HTTP/JSON gateway. Either way the file is byte for byte what
    C(etcdctl snapshot save) writes.
  - The data goes to a temporary file in the directory of O(dest), mode V(0600), which is synced and checked (the
    SHA-256 trailer etcd appends, then the size and the bbolt meta pages) and only then renamed to O(dest). On any
    error the partial file is removed and the task fails.
  - The trailer is checked as the gateway's stream arrives, or by reading the file C(etcdctl) wrote once, hashing
    it (C(etcdctl) checks only that a trailer's room is there).
  - Always reports a change.
  - Runs on a member host and needs nothing but python3; with O(fetch_dest) its action brings the snapshot to the
    controller. To check a snapshot file use
    M(raftops.etcd.etcd_snapshot_info); to restore one, M(raftops.etcd.etcd_snapshot_restore).
options:
  dest:
    description:
      - The path of the snapshot file to write. Its directory must exist.
      - If O(dest) already exists the task fails, unless O(force=true). Even then the existing file stays in
        place until the new snapshot is complete and verified.
    type: path
    required: true
  force:
    description:
      - Replace O(dest) when it already exists.
    type: bool
    default: false
  owner:
    description:
      - Name or numeric ID of the user that owns the saved file, for example V(etcd). By default it belongs to
        the user the module runs as.
    type: str
  group:
    description:
      - Name or numeric ID of the group of the saved file.
    type: str
  inspect:
    description:
      - Also read the saved file as M(raftops.etcd.etcd_snapshot_info) does, with C(etcdutl) or C(etcdctl)
        C(snapshot status) when one is found (see O(etcdutl_path)), and return that as RV(inspected), so that
        etcd's own tool opens the snapshot it would restore from, in the same call.
      - The file is not hashed again for it. The SHA-256 trailer was verified as the snapshot was saved, and those
        hashes are the ones RV(inspected) returns.
    type: bool
    default: false
  etcdutl_path:
    description:
      - With O(inspect=true), the C(etcdutl) (or etcd 3.4 C(etcdctl)) to run, as O(raftops.etcd.etcd_snapshot_info#module:etcdutl_path).
        By default C(etcdutl), then C(etcdctl), from C(/usr/local/bin) and C(PATH); without one the file is read alone.
    type: path
  method:
    description:
      - How the snapshot is taken. V(etcdctl), with the host's C(etcdctl snapshot save) over etcd's gRPC API
        (see O(etcdctl_path)), about twice as fast as the gateway, which base64-encodes every block in JSON.
        The connection is the module's own - the endpoint that answered, the CA, the client pair, the user -
        given to C(etcdctl) in its environment, never on its command line (the password included).
      - V(gateway) streams the snapshot from etcd's HTTP/JSON gateway, with nothing but python3.
      - V(auto), C(etcdctl) when one is found and can take the connection (a client pair given as text, or a
        C(unix://) endpoint, it cannot), else the gateway; the gateway also when C(etcdctl) fails (a warning says
        why). A snapshot C(etcdctl) saved that fails its checks fails the task.
    type: str
    choices: [auto, etcdctl, gateway]
    default: auto
    version_added: 1.1.0
  etcdctl_path:
    description:
      - The C(etcdctl) that saves the snapshot (O(method)). By default C(etcdctl) from C(/usr/local/bin), then
        E(PATH).
    type: path
    version_added: 1.1.0
  fetch_dest:
    description:
      - A path on the controller the saved snapshot is brought to, by the connection's own file transfer (as the
        connection's user, who must be able to read O(dest), see O(owner)), into a private file beside it that is
        renamed to O(fetch_dest) (mode V(0600)) once its SHA-256 equals RV(sha256), the one read on the host. A copy
        that differs is removed and the task fails, naming both. O(dest) stays on the host.
      - Nothing is brought in check mode.
    type: path
    version_added: 1.1.0
  keyspace:
    description:
      - Also read, from the member the snapshot came from, its keyspace at the snapshot's revision (key count and
        C(HashKV)), as O(raftops.etcd.etcd_health#module:keyspace) reads it, and return it as RV(keyspace), what a
        restored copy is compared with.
      - A member that cannot answer does not fail the task; RV(keyspace_error) says why.
    type: bool
    default: false
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  check_mode:
    details:
      - Asks the endpoint for its status, checks O(dest) and the free space for the member's database, and
        reports a change without saving.
notes:
  - A snapshot holds the v3 keyspace only, at the revision it was taken.
  - With etcd authentication enabled, saving a snapshot needs the C(root) role.
  - C(etcdctl snapshot save) has no time limit of its own but O(timeout) to connect; the gateway's stream fails
    when O(timeout) passes without data.
  - This module used to inspect and restore snapshots too, chosen with an option C(state). It has no such option
    now, and a task that sets it fails. Use M(raftops.etcd.etcd_snapshot_info) where it had C(state=inspected)
    and M(raftops.etcd.etcd_snapshot_restore) where it had C(state=restored), and drop C(state=saved).
seealso:
  - module: raftops.etcd.etcd_snapshot_info
    description: Check a snapshot file without etcd and read its revision and key count.
  - module: raftops.etcd.etcd_snapshot_restore
    description: Restore a snapshot into a new data directory.
  - name: etcd disaster recovery
    description: Snapshot and restore in the etcd operations guide.
    link: https://etcd.io/docs/v3.5/op-guide/recovery/
"""

EXAMPLES = r"""
- name: Save a snapshot of the member on this host
  raftops.etcd.etcd_snapshot:
    dest: /var/backups/etcd/etcd-{{ backup_stamp }}.db
    endpoints: [https://127.0.0.1:2379]
  register: etcd_snapshot_saved

- name: Show what was saved
  ansible.builtin.debug:
    msg: "{{ etcd_snapshot_saved.path }}: revision {{ etcd_snapshot_saved.revision }}, sha256 {{ etcd_snapshot_saved.sha256 }}"

- name: Replace the latest snapshot, owned by etcd
  raftops.etcd.etcd_snapshot:
    dest: /var/backups/etcd/latest.db
    force: true
    owner: etcd
    group: etcd
"""

RETURN = r"""
path:
  description: The snapshot file written (O(dest)).
  returned: always
  type: str
  sample: /var/backups/etcd/etcd-20260821T1200.db
size:
  description:
    - Size of the snapshot file in bytes.
    - With RV(db_size), RV(sha256), RV(hash_expected), RV(hash_actual), RV(page_size) and RV(checks), the file's
      checks as M(raftops.etcd.etcd_snapshot_info) returns and describes them; a saved file passed every one.
  returned: success, outside check mode
  type: int
  sample: 104890400
db_size:
  description: Size of the bbolt database in the file; in check mode, the member's database size.
  returned: success
  type: int
sha256:
  description: SHA-256 of the whole file, for comparison with a copy elsewhere.
  returned: success, outside check mode
  type: str
hash_expected:
  description: The SHA-256 etcd sent in the stream's trailer.
  returned: success, outside check mode
  type: str
hash_actual:
  description: The SHA-256 of the database as received; equal to RV(hash_expected), or the task fails.
  returned: success, outside check mode
  type: str
page_size:
  description: bbolt page size of the database.
  returned: success, outside check mode
  type: int
checks:
  description:
    - Outcome of each file check, all V(true), or the task fails.
    - The snapshot was hashed once, as the gateway's stream arrived or once C(etcdctl) had written it.
  returned: success, outside check mode
  type: dict
revision:
  description:
    - The etcd revision the snapshot was taken at, read from the database (the last key of its C(key)
      bucket).
    - In check mode, the member's current revision.
  returned: success
  type: int
  sample: 100051
method:
  description: How the snapshot was taken (would be, in check mode), V(etcdctl) or V(gateway) (see O(method)).
  returned: success
  type: str
  sample: etcdctl
  version_added: 1.1.0
etcdctl:
  description: The C(etcdctl) that took the snapshot, with RV(method=etcdctl); null with the gateway.
  returned: success
  type: str
  sample: /usr/local/bin/etcdctl
  version_added: 1.1.0
endpoint:
  description: The client URL the snapshot was taken from.
  returned: success
  type: str
  sample: https://127.0.0.1:2379
member_id:
  description: ID of the member the snapshot was taken from, in hex as etcdctl prints it.
  returned: success
  type: str
  sample: 599b2166ae58a47f
server_version:
  description: etcd version of that member.
  returned: success
  type: str
  sample: 3.5.1
storage_version:
  description: Storage version etcd announced with the snapshot (etcd 3.6 and later; empty before).
  returned: success, outside check mode
  type: str
  sample: "3.6.0"
duration:
  description: Seconds taken to save, sync and check the snapshot.
  returned: success, outside check mode
  type: float
  sample: 1.284
throughput:
  description: Snapshot size divided by RV(duration), in MiB per second.
  returned: success, outside check mode
  type: float
  sample: 77.9
inspected:
  description:
    - With O(inspect=true), what M(raftops.etcd.etcd_snapshot_info) returns for the saved file, among them
      C(revision), C(total_key), C(total_size), C(hash), C(status_source) and C(tool).
    - Where the tool and the file disagree, a warning says so.
  returned: success with O(inspect=true), outside check mode
  type: dict
  sample: {revision: 100051, total_key: 100056, total_size: 104890368, hash: 1234567, status_source: etcdutl,
           tool: /usr/local/bin/etcdutl, tool_version: 3.5.21}
keyspace:
  description:
    - With O(keyspace=true), the member's keyspace at RV(revision), as RV(raftops.etcd.etcd_health#module:keyspace)
      returns it - C(revision), C(current_revision), C(keys), C(hash), C(compact_revision), C(hash_problem) - and
      C(endpoint).
  returned: success with O(keyspace=true), outside check mode, when the member answered
  type: dict
  sample: {revision: 100051, current_revision: 100060, keys: 100000, hash: 3425135, compact_revision: 99000,
           hash_problem: null, endpoint: https://127.0.0.1:2379}
fetched:
  description: With O(fetch_dest), the snapshot's copy on the controller.
  returned: success with O(fetch_dest), outside check mode
  type: str
  sample: /srv/inventory/etcd-backups/etcd-snapshot-20261124T221500Z.db
  version_added: 1.1.0
keyspace_error:
  description: With O(keyspace=true), why the member did not say what its keyspace is; null when it did.
  returned: success with O(keyspace=true), outside check mode
  type: str
  sample: null
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE,
    EtcdError,
    clients_from_params,
    connection_argument_spec,
    first_answer,
    keyspace_of,
)
from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_file import (
    HASH_SIZE,
    SnapshotError,
    SnapshotStream,
    check_snapshot_file,
)
from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_host import (
    Failure,
    check_file,
    etcdctl_environment,
    etcdctl_save_command,
    etcdctl_unusable,
    file_fields,
    find_etcdctl,
    free_bytes,
    inspect,
    resolve_ids,
    run_module,
)
from ansible_collections.raftops.etcd.plugins.module_utils.host.files import atomic_file
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import human_size

SNAPSHOT_RPC = "/v3/maintenance/snapshot"
# What etcdctl 3.6 prints after the file's path: the storage version etcd sent with the snapshot.
ETCDCTL_SERVER_VERSION = re.compile(r"^Server version (\S+)", re.MULTILINE)


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        dest=dict(type="path", required=True),
        force=dict(type="bool", default=False),
        owner=dict(type="str"),
        group=dict(type="str"),
        method=dict(type="str", choices=["auto", "etcdctl", "gateway"], default="auto"),
        etcdctl_path=dict(type="path"),
        inspect=dict(type="bool", default=False),
        etcdutl_path=dict(type="path"),
        keyspace=dict(type="bool", default=False),
        # Taken by the action (brings the file to the controller); the module saves on its host only.
        fetch_dest=dict(type="path"),
    )
    return spec


class EtcdctlFailed(Failure):
    """etcdctl itself failed (not the checks of what it saved): with method auto, the gateway takes over."""


def need_space(directory, needed, estimated=False):
    """Refuse a snapshot of ``needed`` bytes (``estimated``: the member's database size) that the file
    system of ``directory`` has no room for."""
    available = free_bytes(directory)
    if needed > available:
        size = ("about %s (the member's database size)" % human_size(needed) if estimated
                else "%s (%d bytes)" % (human_size(needed), needed))
        raise Failure("not enough space in %s for the snapshot: it needs %s, %s is available" % (
            directory, size, human_size(available)))


def saved_details(report, summary, started):
    """The result fields of a saved snapshot: its file checks' ``report``, and of how it came
    (``summary``: its size, hashes and storage version) since ``started``."""
    duration = max(time.monotonic() - started, 1e-6)
    details = file_fields(report)
    details.update(
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


def write_snapshot(client, dest, uid=-1, gid=-1):
    """Stream a snapshot from ``client``'s gateway into ``dest`` through a temporary file; returns the details.

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
                    need_space(directory, stream.expected_size)
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
    return dict(saved_details(report, summary, started), path=dest)


def save_with_etcdctl(module, etcdctl, endpoint, dest, uid=-1, gid=-1):
    """``etcdctl snapshot save`` from ``endpoint`` into ``dest`` through a temporary file; returns the details.

    etcdctl writes NAME.part, syncs it and renames it to NAME, the temporary file's name reserved in
    dest's directory; it checks only that the size leaves room for the SHA-256 trailer, so the file
    is then read once here, hashing, for the trailer, and its bbolt meta pages are checked, before
    it is renamed to ``dest``. Any error removes it.
    """
    temporary = None
    started = time.monotonic()
    try:
        with atomic_file(dest, 0o600, suffix=".part") as out:
            temporary = out.path
            # etcdctl replaces the reserved (empty) file: the handle is left to a file that is gone.
            rc, stdout, stderr = module.run_command(
                etcdctl_save_command(etcdctl, temporary),
                environ_update=etcdctl_environment(module.params, endpoint, os.environ))
            if rc != 0:
                lines = (stderr or stdout or "").strip().splitlines() or ["no output"]
                raise EtcdctlFailed("%s snapshot save from %s failed (rc=%d), %s was removed: %s" % (
                    etcdctl, endpoint, rc, temporary, lines[-1][:300]))
            report = check_snapshot_file(temporary, count_keys=False)
            if report["errors"]:
                raise Failure("the snapshot %s saved for %s fails its checks, %s was removed: %s" % (
                    etcdctl, dest, temporary, "; ".join(report["errors"])))
            # The mode etcdctl gives it goes through its umask.
            os.chmod(temporary, 0o600)
            if uid != -1 or gid != -1:
                os.chown(temporary, uid, gid)
    except (SnapshotError, OSError) as exc:
        raise Failure("saving the snapshot to %s failed, %s was removed: %s" % (dest, temporary or dest, exc)) from None
    found = ETCDCTL_SERVER_VERSION.search(stdout or "")
    summary = dict(size=report["size"], sha256=report["sha256"], hash=report["hash_expected"],
                   storage_version=found.group(1) if found else "")
    return dict(saved_details(report, summary, started), path=dest)


def choose_method(module, endpoint):
    """(method, etcdctl path or None): how the snapshot is taken from ``endpoint`` (option ``method``)."""
    params = module.params
    if params["method"] == "gateway":
        return "gateway", None
    etcdctl = find_etcdctl(module, params["etcdctl_path"])
    unusable = etcdctl_unusable(params, endpoint)
    if etcdctl and not unusable:
        return "etcdctl", etcdctl
    if params["method"] == "etcdctl":
        raise Failure("method=etcdctl: %s; set method=gateway or auto" % (
            unusable or "no etcdctl in /usr/local/bin or PATH, set etcdctl_path"))
    return "gateway", None


def save(module):
    params = module.params
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
    method, etcdctl = choose_method(module, client.endpoint)
    result = dict(
        changed=True,
        path=dest,
        method=method,
        etcdctl=etcdctl,
        endpoint=client.endpoint,
        member_id=status["member_id_hex"],
        server_version=status["version"],
    )
    if module.check_mode or method == "etcdctl":
        # etcdctl says nothing of the size before it is done: the member's database size stands for it.
        need_space(directory, status["db_size"] + HASH_SIZE, estimated=True)
    if module.check_mode:
        result.update(revision=status["revision"], db_size=status["db_size"])
        return result
    warnings = []
    details = None
    if method == "etcdctl":
        try:
            details = save_with_etcdctl(module, etcdctl, client.endpoint, dest, uid, gid)
        except EtcdctlFailed as exc:
            # An etcdctl that cannot serve (too old, another build) must not stop a backup the gateway can take.
            if params["method"] != "auto":
                raise
            warnings.append("%s; the snapshot was streamed through the gateway instead" % exc.msg)
            result.update(method="gateway", etcdctl=None)
    if details is None:
        details = write_snapshot(client, dest, uid, gid)
    if not details["revision"]:
        details["revision"] = status["revision"]
    result.update(details)
    if params["inspect"]:
        # The snapshot was hashed once as it was saved: its hashes stand for the file's, not read through again.
        report = dict(check_file(dest, verify_hash=False), **file_fields(result))
        result["inspected"], _tool, inspect_warnings = inspect(module, dest, params["etcdutl_path"], report=report)
        warnings.extend(inspect_warnings)
    if params["keyspace"]:
        keyspace, result["keyspace_error"] = keyspace_of([client], result["revision"])
        if keyspace:
            result["keyspace"] = keyspace
    result["warnings"] = warnings
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=CONNECTION_EXCLUSIVE, supports_check_mode=True)
    run_module(module, save)


if __name__ == "__main__":
    main()
