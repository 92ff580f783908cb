#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_snapshot_drill
short_description: Prove that an etcd v3 snapshot restores, in a throw-away private etcd
version_added: 1.0.0
description:
  - Restores the snapshot O(src) into a private temporary directory under O(work_dir) (mode V(0700), owned by
    O(user)), serves it with a private one-member etcd that listens on unix sockets in that directory only
    (no TCP port, never joined to anything), reads its revision, key count and keyspace hash, and compares
    them with the snapshot and, when given, the backup's O(record).
  - The private etcd is stopped and its directory removed on every path, also when a check fails.
  - Never touches a member of a cluster; runs on any host with python3 and the etcd release (C(etcd), and
    C(etcdutl) or, for etcd 3.4, C(etcdctl)), as root, which starts the private etcd as O(user).
  - The members' scheduled drill (the role's C(etcd_backup_drill_schedule)) runs the same code.
options:
  src:
    description:
      - The snapshot file, as C(etcdctl snapshot save) or M(raftops.etcd.etcd_snapshot) wrote it, on the host; on the
        controller with O(remote_src=false).
    type: path
    required: true
  remote_src:
    description:
      - V(false), O(src) is a file on the controller, copied for the drill into the task's private temporary
        directory on the host (Ansible's, mode V(0700)) and removed with it on every path, also when the drill fails.
        In check mode nothing is copied.
    type: bool
    default: true
    version_added: 1.0.0
  record:
    description:
      - The backup's record, the C(<snapshot>.json) the backup playbook writes beside a snapshot (its
        C(revision), C(keys), C(hash_kv) and C(compact_revision)), as JSON text or as a dict. Empty, the key
        count is checked against the snapshot's entries only and the hash is not compared.
    type: raw
    default: ""
  etcd_path:
    description: The C(etcd) program that serves the restored snapshot.
    type: path
    required: true
  etcdutl_path:
    description:
      - The C(etcdutl) (etcd 3.5 and later) or C(etcdctl) (etcd 3.4) that reads and restores the snapshot.
      - By default C(etcdutl), else C(etcdctl), beside O(etcd_path); else the first of them found in
        C(/usr/local/bin) or C(PATH).
    type: path
  user:
    description: The user (and its group) the private etcd runs as, who owns its directory.
    type: str
    default: etcd
  work_dir:
    description: Where the private directory is made.
    type: path
    default: /var/tmp
  auth_user:
    description:
      - The etcd user to read the private etcd as, for a snapshot of a cluster with auth on (it restores with
        auth on). Together with O(auth_password).
    type: str
  auth_password:
    description: The password of O(auth_user).
    type: str
  start_timeout:
    description: Seconds to wait for the private etcd to answer.
    type: int
    default: 60
  label:
    description: How the snapshot is named in the failure message; O(src) by default.
    type: str
  replay:
    description:
      - A point-in-time restore's replay (C(docs/backup-restore.md), "Point-in-time restore"), the C(replay.json)
        M(raftops.etcd.etcd_backup_fetch) wrote with its O(raftops.etcd.etcd_backup_fetch#module:point), on the host
        (on the controller with O(remote_src=false)). Instead of the drill's checks, its revisions are replayed on
        the restored O(src) in the private etcd, one transaction each (so the replayed etcd reaches the same
        revision numbers; a revision that does not is refused), its leases granted again with their IDs and TTLs,
        and a snapshot of the result is written to O(replay_dest). Needs O(replay_dest).
      - The transactions are sent ahead of their replies on one connection, which etcd applies in the order sent,
        and the private etcd (thrown away once its snapshot is written) does not wait for the disk at each one
        (C(--unsafe-no-fsync), etcd 3.5 and later).
    type: path
    version_added: 1.0.0
  replay_dest:
    description:
      - With O(replay), where the snapshot of the replayed etcd is written, on the host (on the controller with
        O(remote_src=false), brought back there), mode V(0600), owned by the owner of its directory.
    type: path
    version_added: 1.0.0
  cluster_keyspace:
    description:
      - A drill of a point in time (O(src) the snapshot of a replay, see O(replay)) - the live cluster's keyspace at
        the snapshot's revision, as RV(raftops.etcd.etcd_health#module:keyspace) reads it on a member (C(revision),
        C(keys), C(hash), C(compact_revision), C(hash_problem)). Instead of O(record), the private etcd must be at
        that revision, hold as many keys and, when both give a hash, the same C(HashKV); the private etcd is first
        compacted to the cluster's C(compact_revision) when that is later than its own (a hash starts at the last
        compaction). Without a hash from the cluster (a compacted revision, a release before 3.5.10), RV(notes) says
        why it was not compared.
    type: dict
    version_added: 1.1.0
extends_documentation_fragment: [raftops.etcd.common]
attributes:
  check_mode:
    support: full
    details: In check mode nothing is restored or started; the result says so.
seealso:
  - module: raftops.etcd.etcd_snapshot_info
    description: Check a snapshot file without etcd.
  - module: raftops.etcd.etcd_snapshot_restore
    description: Restore a snapshot into a member's data directory.
"""

EXAMPLES = r"""
- name: Prove the newest backup restores, on a host that is not a member
  raftops.etcd.etcd_snapshot_drill:
    src: /var/tmp/etcd-snapshot-20261126T030000Z.db
    record: "{{ lookup('ansible.builtin.file', 'backups/etcd-snapshot-20261126T030000Z.db.json') }}"
    etcd_path: /opt/etcd/bin/etcd
    etcdutl_path: /opt/etcd/bin/etcdutl
  become: true
  register: etcd_drill

- name: Prove a snapshot on the controller restores; it is copied to the host and removed after
  raftops.etcd.etcd_snapshot_drill:
    src: backups/etcd-snapshot-20261126T030000Z.db
    remote_src: false
    etcd_path: /opt/etcd/bin/etcd
  become: true

- name: Show what it proved
  ansible.builtin.debug:
    msg: "revision {{ etcd_drill.revision }}, {{ etcd_drill['keys'] }} keys; {{ etcd_drill.notes | join('; ') }}"
"""

RETURN = r"""
src:
  description:
    - The snapshot drilled, as O(src) named it; with O(remote_src=false) the file on the controller, not its
      copy on the host.
  returned: success, in check mode, and when a check failed after it answered
  type: str
  version_added: 1.0.0
  sample: /var/tmp/etcd-snapshot-20261126T030000Z.db
revision:
  description: The revision the private etcd served.
  returned: success, and when a check failed after it answered
  type: int
  sample: 100051
keys:
  description: The keys the private etcd held at RV(revision).
  returned: success, and when a check failed after it answered
  type: int
  sample: 100000
hash:
  description: The private etcd's C(HashKV) at RV(revision); V(null) from etcd before 3.5.10.
  returned: success, and when a check failed after it answered
  type: int
  sample: 3628877040
snapshot:
  description: C(snapshot status) of O(src) - its C(revision) and C(total_key) (entries of every bucket).
  returned: success, and when a check failed after it answered
  type: dict
  sample: {revision: 100051, total_key: 100056}
problems:
  description: What failed the drill; empty on success.
  returned: always
  type: list
  elements: str
  sample: ["the restored etcd holds 99999 keys, the backup counted 100000"]
notes:
  description: What was compared or why not (the hash).
  returned: success, and when a check failed after it answered
  type: list
  elements: str
  sample: ["hash 3628877040 equals the backup's"]
listeners:
  description:
    - What the private etcd's log says it listened on - C(listen-client-urls), C(listen-peer-urls),
      C(listen-metrics-urls) - unix sockets only; V(null) from a release that does not log it (3.4).
  returned: success, and when a check failed after it answered
  type: dict
  sample: {listen-client-urls: ["unix://drill-client:0"], listen-peer-urls: ["unix://drill-peer:0"], listen-metrics-urls: []}
replayed:
  description: With O(replay), the revisions replayed; RV(revision) is the last one.
  returned: with O(replay), on success
  type: int
  version_added: 1.0.0
  sample: 4213
seconds:
  description: How long the drill took, restore and check.
  returned: success, and when a check failed after it answered
  type: float
  sample: 3.4
"""

import json
import os
import pwd
import threading

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    AUTH_FAILED,
    AUTH_NOT_ENABLED,
    USER_EMPTY,
    EtcdClient,
    EtcdError,
    to_int,
)
from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_file import SnapshotError, copy_stream
from ansible_collections.raftops.etcd.plugins.module_utils.backup.stream_segments import lease_request, txn_request
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.private_etcd import DrillError, PrivateEtcd
from ansible_collections.raftops.etcd.plugins.module_utils.backup.restore_rules import RuleError, parse_backup_record
from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_host import Failure, find_tool, run_module

# Answers that no wait changes: the read stops at once.
FINAL = (AUTH_FAILED, AUTH_NOT_ENABLED, USER_EMPTY)


def argument_spec():
    return dict(
        src=dict(type="path", required=True),
        # Taken by the action (copies a controller file); the module always reads a file on its host.
        remote_src=dict(type="bool", default=True),
        record=dict(type="raw", default=""),
        etcd_path=dict(type="path", required=True),
        etcdutl_path=dict(type="path"),
        user=dict(type="str", default="etcd"),
        work_dir=dict(type="path", default="/var/tmp"),
        auth_user=dict(type="str"),
        auth_password=dict(type="str", no_log=True),
        start_timeout=dict(type="int", default=60),
        label=dict(type="str"),
        replay=dict(type="path"),
        replay_dest=dict(type="path"),
        # a revision, a key count and a hash of the keyspace, not a secret
        cluster_keyspace=dict(type="dict", no_log=False),
    )


def beside(etcd_path):
    """The release's etcdutl, else its etcdctl (etcd 3.4), in the directory of ``etcd_path``; None without either."""
    here = os.path.dirname(etcd_path)
    return next((os.path.join(here, name) for name in ("etcdutl", "etcdctl")
                 if os.access(os.path.join(here, name), os.X_OK)), None)


def reader(params):
    """``read(url)`` of etcd_private_etcd, through the collection's client, logged in with the auth options.
    With O(cluster_keyspace), the private etcd is compacted to the cluster's compact revision first when that
    is later than its own and not past its revision: only hashes from the same compaction compare."""

    def read(url):
        client = EtcdClient(url, auth_user=params["auth_user"], auth_password=params["auth_password"], timeout=5)
        try:
            observed = client.keyspace(0)
            compact = to_int((params["cluster_keyspace"] or {}).get("compact_revision"), None)
            if compact is not None and observed["compact_revision"] is not None \
                    and observed["compact_revision"] < compact <= observed["revision"]:
                client.compact(compact)
                observed = client.keyspace(0)
            return observed
        except EtcdError as exc:
            if exc.matches(*FINAL):
                raise DrillError("the private etcd refused the read (auth_user, auth_password): %s" % exc) from None
            raise

    return read


def keep_leases(client, stop):
    """Renew every lease of the private etcd each second until ``stop``: a lease that ran out there
    would delete its keys at a revision of its own, which the cluster never made (its expiries are
    in the stream as deletes)."""
    while not stop.wait(1):
        try:
            for lease in client.call("/v3/lease/leases").get("leases") or []:
                client.call("/v3/lease/keepalive", {"ID": lease["ID"]})
        except EtcdError:
            continue  # the replay's own calls say what is wrong


def replay_into(client, plan, dest, keeper_client):
    """The replay's revisions and leases applied to the private etcd behind ``client`` (its leases
    kept alive through ``keeper_client``), and a snapshot of it written to ``dest``: its revision and
    key count."""
    stop = threading.Event()
    keeper = threading.Thread(target=keep_leases, args=(keeper_client, stop), daemon=True)
    keeper.start()
    try:
        for lease, ttl in plan["leases"].items():
            try:
                client.call("/v3/lease/grant", lease_request(lease, ttl))
            except EtcdError as exc:
                if not exc.matches("lease already exists"):
                    raise
        # One connection, the transactions sent ahead of their replies: they apply in the order sent.
        replies = client.pipelined("/v3/kv/txn", (txn_request(ops) for _revision, ops in plan["txns"]))
        for (revision, _ops), reply in zip(plan["txns"], replies):
            got = int(reply["header"]["revision"])
            if got != revision:
                raise DrillError("revision %d of the change stream became revision %d in the replay: the full backup "
                                 "and the segments do not follow each other" % (revision, got))
        with open(dest, "wb") as out:
            copy_stream(client.stream("/v3/maintenance/snapshot"), out)
    finally:
        stop.set()
        keeper.join()
    os.chmod(dest, 0o600)
    # The owner of its directory's: the login user's, when the action brings it back from its temporary directory.
    owner = os.stat(os.path.dirname(os.path.abspath(dest)))
    os.chown(dest, owner.st_uid, owner.st_gid)
    return dict(revision=client.current_revision(), keys=client.count_keys())


def applier(params, plan):
    """``apply(url)`` of PrivateEtcd.replay, through the collection's client: while the private etcd
    starts it raises EtcdError (waited for); a failure of the replay itself is a DrillError."""

    def apply(url):
        def client():
            return EtcdClient(url, auth_user=params["auth_user"], auth_password=params["auth_password"], timeout=60)

        replaying = client()
        replaying.status()
        try:
            return replay_into(replaying, plan, params["replay_dest"], client())
        except (EtcdError, SnapshotError, OSError, KeyError, ValueError) as exc:
            raise DrillError("the replay failed: %s" % exc) from None

    return apply


def replay(module, private, label):
    params = module.params
    if not params["replay_dest"]:
        raise Failure("replay needs replay_dest, where the replayed snapshot goes", problems=[])
    try:
        with open(params["replay"], encoding="utf-8") as source:
            plan = json.load(source)
    except (OSError, ValueError) as exc:
        raise Failure("replay %s cannot be read: %s" % (params["replay"], exc), problems=[]) from None
    try:
        done = private.replay(params["src"], applier(params, plan), (EtcdError,))
    except (DrillError, OSError, ValueError, KeyError) as exc:
        raise Failure("replay failed: snapshot %s: %s" % (label, exc), problems=[str(exc)]) from None
    applied = done["applied"]
    if applied["revision"] != plan["reached"]:
        raise Failure("replay failed: snapshot %s: the replayed etcd is at revision %d, not %d" % (
            label, applied["revision"], plan["reached"]), problems=["revision %d" % applied["revision"]])
    return dict(changed=False, src=params["src"], revision=applied["revision"], keys=applied["keys"],
                replayed=len(plan["txns"]), snapshot=done["snapshot"], problems=[], seconds=done["seconds"])


def drill(module):
    params = module.params
    label = params["label"] or params["src"]
    if params["start_timeout"] < 1:
        raise Failure("start_timeout is %d: give the seconds to wait for the private etcd, 1 or more"
                      % params["start_timeout"], problems=[])
    try:
        pwd.getpwnam(params["user"])
    except KeyError:
        raise Failure("user %r: no such user on this host" % params["user"], problems=[]) from None
    given = params["record"]
    try:
        # A record templated from its file may arrive parsed.
        record = parse_backup_record(given if isinstance(given, str) else json.dumps(given)) if given else None
    except RuleError as exc:
        raise Failure("drill failed: snapshot %s: %s" % (label, exc), problems=[str(exc)]) from None
    tool, _problems = find_tool(module, params["etcdutl_path"] or beside(params["etcd_path"]), required=True)
    if module.check_mode:
        return dict(changed=False, src=params["src"], problems=[],
                    msg="check mode: %s would be restored into a private etcd" % label)
    private = PrivateEtcd(dict(etcd=params["etcd_path"], etcdutl=tool.path), params["user"], work_dir=params["work_dir"],
                          start_timeout=params["start_timeout"])
    if params["replay"]:
        return replay(module, private, label)
    try:
        found = private.drill(params["src"], record, reader(params), (EtcdError,), params["cluster_keyspace"])
    except (DrillError, OSError, ValueError, KeyError) as exc:
        raise Failure("drill failed: snapshot %s: %s" % (label, exc), problems=[str(exc)]) from None
    observed = found["observed"]
    result = dict(changed=False, src=params["src"], revision=observed["revision"], keys=observed["keys"],
                  hash=observed["hash"], snapshot=found["snapshot"], problems=found["problems"], notes=found["notes"],
                  listeners=found["listeners"], seconds=found["seconds"])
    if found["problems"]:
        raise Failure("drill failed: snapshot %s: %s" % (label, "; ".join(found["problems"])), **result)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_together=[("auth_user", "auth_password")])
    run_module(module, drill)


if __name__ == "__main__":
    main()
