#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_lock
short_description: Acquire or release a lease-backed lock in etcd
version_added: 1.0.0
description:
  - Takes or gives back a named lock kept in etcd, through its v3 HTTP/JSON gateway. The lock is
    the key O(prefix) + O(name), attached to a lease of O(ttl) seconds; its value records who holds
    it (O(holder)), since when and for how long.
  - Use it to serialize work across plays, hosts and operators (see the first example).
  - Only one holder can hold the lock. A second one waits up to O(wait_timeout) seconds, polling
    every second, then fails with a message that names the holder, the lease and when it expires,
    and gives the C(etcdctl) command that releases it.
  - The lock of a holder that died is released by etcd when its lease expires, at most O(ttl)
    seconds after its last renewal. A holder that needs the lock for longer renews it by running
    the module again with O(lease_id).
  - A lock held through a live lease is never taken over, whoever holds it, with one exception. The
    collection's run lock of an C(ansible-playbook) run whose keeper (M(raftops.etcd.etcd_lock_keeper)
    with its C(lock_key)) recorded that the run's process ended without releasing the lock is taken
    over at once, with a warning that names it; its lease is renewed no more.
  - The same O(holder) acquiring a lock it already holds (a step run again) renews the lease and
    reports no change.
  - Acquiring grants a lease, then writes the key in one transaction that succeeds only when the
    key does not exist (or still is the expired lock that was read); when it fails, the lease just
    granted is revoked so that no lease is left behind.
  - Releasing revokes the lease, which deletes the key.
  - A request that was sent and then got no answer may have been applied, so it is never sent
    again; the module then revokes the lease it granted, so that the outcome is known (this run
    does not hold the lock), and fails.
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection, raftops.etcd.controller_ignored]
attributes:
  check_mode:
    details:
      - Reads the lock and reports whether it would be acquired (V(changed) when it is free or held
        by an expired lease) or released; never writes, never renews and never waits.
      - When another holder holds the lock, check mode reports it in RV(held_by) and a warning
        instead of failing.
options:
  name:
    description:
      - Name of the lock; the key is O(prefix) followed by O(name).
    type: str
    required: true
  prefix:
    description:
      - Key prefix of the lock.
    type: str
    default: /raftops/locks/
  state:
    description:
      - V(acquired) takes the lock for O(holder), or renews it (see O(lease_id)).
      - V(released) gives it back by revoking its lease. With O(lease_id), only when that lease
        still holds it; otherwise only when it is held by O(holder); with neither, whoever holds it
        (to break the lock of a run that died).
    type: str
    choices: [acquired, released]
    default: acquired
  holder:
    description:
      - Who takes the lock, in words an operator reads in a refusal, for example
        V(ansible-playbook on ctl-host by alice, pid 1234, started 2026-11-22T10:00:00Z).
      - Make it unique per run; a holder string that already holds the lock gets it again.
      - With O(state=acquired), when not given, the module's action names this C(ansible-playbook) run in
        the words of the collection's run lock, V(ansible-playbook (PLAY\) on HOST by USER, pid PID, run RUN of
        machine MACHINE, started TIME), where RUN is a random ID made once per run and MACHINE a hash of the
        controller's C(/etc/machine-id).
      - With O(state=released) and no O(lease_id), the lock is released only when held by this holder.
    type: str
  ttl:
    description:
      - Seconds the lease lives without renewal; the lock of a run that died is released at most
        this long after it was taken or last renewed.
      - etcd raises a TTL below its minimum (about one and a half election timeouts) to that
        minimum; RV(ttl) returns what etcd granted.
    type: int
    default: 600
  wait_timeout:
    description:
      - Seconds to wait for a lock held by another holder, polling every second, before failing.
      - V(0) fails at once.
    type: int
    default: 0
  lease_id:
    description:
      - The lease of a lock taken earlier, as RV(lease_id) returned it (hex, as C(etcdctl) prints
        lease IDs; an optional C(0x) is allowed). 17 or more decimal digits are read as the decimal
        form the gateway uses.
      - With O(state=acquired), renews the lease when it still holds the lock (no change), and
        fails when it no longer does (it expired, or was revoked, and the lock may have been
        taken), so that the caller does not go on as if it held the lock.
      - With O(state=released), the lock is released only when this lease still holds it;
        otherwise nothing changes and a warning says it had expired or been taken.
    type: str
  controller:
    description:
      - Ignored, kept so that tasks that give it still run. Earlier releases took over the lock of a run
        whose holder named this controller's host name and a pid that no longer ran; two controllers with
        one host name (cloned machines, CI containers) then took each other's live locks. A run's death
        is now judged by its lease (and its keeper's record, see the description), never by a process list.
  read_cluster:
    description:
      - Also read the cluster in the same call, right before the lock is taken, as
        M(raftops.etcd.etcd_health) reads it when it does not wait. It asks every endpoint, and
        every started member found in the member list. The read is in RV(cluster).
      - The lock is then asked only of endpoints that answered the read.
      - When no endpoint answers, there is no etcd to hold a lock. No lock is taken and the task
        does not fail; RV(acquired) is V(false) and RV(cluster) says why in its C(msg).
      - Only with O(state=acquired).
    type: bool
    default: false
  tolerate_unhealthy:
    description:
      - With O(read_cluster), a lock that cannot be taken in a cluster the read found not healthy (no
        leader, a member down) is no failure - RV(acquired) is V(false) and RV(msg) says why. For a step
        that replaces a broken cluster (the role's restore), which may hold no lock.
      - A failure in a healthy cluster, another holder's lock included, still fails.
    type: bool
    default: false
    version_added: 1.0.0
  quota_bytes:
    description:
      - With O(read_cluster), the members' backend quota, as M(raftops.etcd.etcd_health)'s
        O(raftops.etcd.etcd_health#module:quota_bytes) takes it, for the read's table and member status.
    type: int
    default: 0
notes:
  - The lease is renewed only when the module runs. Choose O(ttl) longer than the work the lock
    protects, or renew it with O(lease_id) between steps.
  - Lease renewals go through the leader. Lease timers restart when leadership changes, so a lock
    can outlive its TTL by up to an election timeout or so, never expire early.
  - C(etcdctl) prints and takes lease IDs in hex, for example
    C(etcdctl lease timetolive 694d77aa9e38260f) and C(etcdctl lease revoke 694d77aa9e38260f).
seealso:
  - name: etcd leases
    description: Leases, their TTL and keep-alives.
    link: https://etcd.io/docs/v3.5/learning/api/#lease-api
"""

EXAMPLES = r"""
# Serialize work across plays, hosts and operators: every play that takes the same lock runs its
# critical part alone; the others wait (here up to 10 minutes), and a play that dies holds the lock
# at most ttl seconds.
- name: Take the lock of the schema migration
  raftops.etcd.etcd_lock:
    name: schema-migration
    holder: "{{ ansible_play_name }} on {{ lookup('pipe', 'hostname') }}, pid {{ lookup('pipe', 'echo $PPID') }}"
    ttl: 300
    wait_timeout: 600
  run_once: true
  register: migration_lock

- name: Migrate (only one play at a time gets here)
  ansible.builtin.command: /usr/local/bin/migrate-schema
  run_once: true
  changed_when: true

- name: Give the lock back
  raftops.etcd.etcd_lock:
    name: schema-migration
    state: released
    lease_id: "{{ migration_lock.lease_id }}"
  run_once: true

- name: The run lock of the cluster, held around a run's changes
  module_defaults:
    raftops.etcd.etcd_lock:
      endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
      prefix: /raftops/etcd/
      name: run
  run_once: true
  delegate_to: "{{ groups['etcd'][0] }}"
  block:
    - name: Take it, waiting up to 5 minutes for another run to finish
      raftops.etcd.etcd_lock:
        holder: "ansible-playbook on {{ lookup('pipe', 'hostname') }} by {{ lookup('env', 'USER') }}, started {{ now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ') }}"
        ttl: 900
        wait_timeout: 300
      changed_when: false
      register: run_lock

    - name: Renew it before a long step
      raftops.etcd.etcd_lock:
        holder: "{{ run_lock.holder }}"
        lease_id: "{{ run_lock.lease_id }}"

    - name: Release it
      raftops.etcd.etcd_lock:
        state: released
        lease_id: "{{ run_lock.lease_id }}"
      changed_when: false

- name: Break the lock of a run that died, whoever held it
  raftops.etcd.etcd_lock:
    endpoints: ["https://127.0.0.1:2379"]
    prefix: /raftops/etcd/
    name: run
    state: released
"""

RETURN = r"""
key:
  description: The lock's key.
  returned: always
  type: str
  sample: /raftops/etcd/run
acquired:
  description:
    - Whether O(holder) holds the lock after the task (in check mode, whether it would).
  returned: when O(state=acquired)
  type: bool
  sample: true
released:
  description: Whether the lock was (in check mode, would be) released by this task.
  returned: when O(state=released)
  type: bool
  sample: true
lease_id:
  description:
    - The lock's lease, in hex as C(etcdctl) prints it; pass it back as O(lease_id) to renew or
      release the lock.
    - With O(state=released), the lease that was revoked.
  returned: when the lock is held (or was released) by this task; not in check mode before the lock exists
  type: str
  sample: 694d77aa9e38260f
holder:
  description:
    - The holder of the lock. With O(state=released), the holder whose lock was released, or who
      holds it when it was left alone.
  returned: when the lock is held, was released, or was left alone
  type: str
  sample: ansible-playbook on ctl-host by alice, pid 1234, started 2026-11-22T10:00:00Z
acquired_at:
  description: When the holder took the lock, in UTC (ISO 8601).
  returned: with RV(holder)
  type: str
  sample: "2026-11-22T10:00:01Z"
ttl:
  description: The lease's TTL in seconds, as etcd granted it.
  returned: when O(state=acquired) and the lock is (or would be) held
  type: int
  sample: 600
expires_in:
  description: Seconds until the lease expires unless renewed.
  returned: when O(state=acquired) and the lock is held
  type: int
  sample: 600
waited:
  description: Seconds spent waiting for another holder to release the lock.
  returned: when O(state=acquired)
  type: float
  sample: 12.0
taken_over:
  description:
    - The holder whose lock this task took over, because its lease had expired, or because its
      run's keeper recorded that the run died.
  returned: when a lock was taken over
  type: str
  sample: ansible-playbook (Deploy and converge etcd) on ctl-host by bob, pid 4321, started 2026-11-22T09:58:00Z
previous_holder:
  description:
    - The holder that held the lock before this one took it, when there was one. That is the
      holder waited for, or the one whose expired lease was taken over.
  returned: when the lock was held by another holder first
  type: str
  sample: ansible-playbook on ctl-host by bob, pid 4321, started 2026-11-22T09:58:00Z
held_by:
  description:
    - The other holder of the lock, when it could not be acquired (on failure, and in check mode).
  returned: when another holder holds the lock
  type: dict
  contains:
    holder:
      description: Its holder.
      type: str
    acquired_at:
      description: When it took the lock (UTC, ISO 8601).
      type: str
    lease_id:
      description: Its lease in hex; null when the key has no lease.
      type: str
    expires_in:
      description: Seconds until its lease expires unless renewed; null when the key has no lease.
      type: int
  sample:
    holder: ansible-playbook on ctl-host by bob, pid 4321, started 2026-11-22T09:58:00Z
    acquired_at: "2026-11-22T09:58:01Z"
    lease_id: 694d77aa9e38260f
    expires_in: 512
release_command:
  description: The C(etcdctl) command that releases the lock of the other holder.
  returned: when another holder holds the lock
  type: str
  sample: >-
    etcdctl --endpoints=https://10.0.0.11:2379 --cacert=/etc/etcd/pki/ca.pem --cert=/etc/etcd/pki/admin.pem
    --key=/etc/etcd/pki/admin-key.pem lease revoke 694d77aa9e38260f
cluster:
  description:
    - With O(read_cluster), the cluster as M(raftops.etcd.etcd_health) returns it (C(healthy),
      C(problems), C(endpoints), C(members), C(cluster), C(table), C(member_status)), read before
      the lock was taken; with C(msg) when no endpoint answered.
  returned: when O(read_cluster=true), also when the lock is refused
  type: dict
  sample:
    healthy: true
    problems: []
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: lock run acquired (lease 694d77aa9e38260f, TTL 600 s)
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE,
    EtcdError,
    client_factory,
    connection_argument_spec,
    module_clients,
)
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import (
    IGNORED_CONTROLLER_SPEC, GatewayLockStore, read_cluster)
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import Lock, LockError, utcnow


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        prefix=dict(type="str", default="/raftops/locks/"),
        state=dict(type="str", choices=["acquired", "released"], default="acquired"),
        holder=dict(type="str"),
        ttl=dict(type="int", default=600),
        wait_timeout=dict(type="int", default=0),
        lease_id=dict(type="str"),
        read_cluster=dict(type="bool", default=False),
        tolerate_unhealthy=dict(type="bool", default=False),
        controller=IGNORED_CONTROLLER_SPEC,
        quota_bytes=dict(type="int", default=0),
    )
    return spec


def run(params, clients, check_mode=False, clock=time.monotonic, sleep=time.sleep, utcnow=utcnow, make_client=None):
    """(failure message or None, result, warnings) for the module's parameters."""
    store = GatewayLockStore(clients, params)
    try:
        lock = Lock(store, params, check_mode=check_mode, clock=clock, sleep=sleep, now=utcnow)
    except ValueError as exc:
        return str(exc), dict(changed=False), []
    key = dict(key=lock.key)
    if params.get("read_cluster"):
        key["cluster"], store.clients = read_cluster(clients, make_client or client_factory(params),
                                                     params.get("quota_bytes") or 0)
        if not store.clients:
            return None, dict(changed=False, acquired=False, msg="lock %s not taken: %s" % (
                lock.name, key["cluster"]["msg"]), **key), []
    try:
        result = lock.acquire() if params["state"] == "acquired" else lock.release()
    except LockError as exc:
        failure, result = str(exc), dict(dict(changed=False, **key), **exc.result)
    except EtcdError as exc:
        failure, result = "lock %s (%s): %s" % (lock.name, lock.key, exc), dict(changed=False, **key)
    else:
        return None, dict(result, **key), lock.warnings
    if params.get("tolerate_unhealthy") and not key.get("cluster", {}).get("healthy", True):
        return None, dict(result, acquired=False, msg="lock %s not taken in a cluster that is not healthy: %s" % (
            lock.name, failure)), lock.warnings
    return failure, result, lock.warnings


def validate(params):
    """The first problem with the parameters, or None."""
    if not params["name"]:
        return "name must not be empty"
    if params["state"] == "acquired" and not params.get("holder"):
        return "holder is required with state=acquired: say who takes the lock"
    if params["ttl"] < 1:
        return "ttl must be at least 1 second, got %d (a lease of 0 s would never hold the lock)" % params["ttl"]
    if params["wait_timeout"] < 0:
        return "wait_timeout must not be negative, got %d" % params["wait_timeout"]
    if not params["endpoints"]:
        return "endpoints must name at least one etcd client URL"
    if params.get("read_cluster") and params["state"] != "acquired":
        return "read_cluster goes with state=acquired only: a release reads nothing"
    if params.get("tolerate_unhealthy") and not params.get("read_cluster"):
        return "tolerate_unhealthy goes with read_cluster only: it is the read that finds the cluster not healthy"
    if (params.get("quota_bytes") or 0) < 0:
        return "quota_bytes must not be negative, got %d" % params["quota_bytes"]
    return None


def main():
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=CONNECTION_EXCLUSIVE, supports_check_mode=True)
    problem = validate(module.params)
    if problem:
        module.fail_json(msg=problem)
    clients, make_client = module_clients(module)
    failure, result, warnings = run(module.params, clients, check_mode=module.check_mode, make_client=make_client)
    for warning in warnings:
        module.warn(warning)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
