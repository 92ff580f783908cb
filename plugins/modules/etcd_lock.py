#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_lock
short_description: Acquire or release a lease-backed lock in etcd
version_added: 0.1.0
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
  - With O(controller), the lock of an C(ansible-playbook) run of that controller whose process no
    longer runs is taken over at once, with a warning that names it (see O(controller)).
  - The same O(holder) acquiring a lock it already holds (a step run again) renews the lease and
    reports no change.
  - Acquiring grants a lease, then writes the key in one transaction that succeeds only when the
    key does not exist (or still is the expired lock that was read); when it fails, the lease just
    granted is revoked so that no lease is left behind.
  - Releasing revokes the lease, which deletes the key.
  - A request that was sent and then got no answer may have been applied, so it is never sent
    again; the module then revokes the lease it granted, so that the outcome is known (this run
    does not hold the lock), and fails.
extends_documentation_fragment:
  - raftops.etcd.common
  - raftops.etcd.connection
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
      - Required with O(state=acquired). With O(state=released) and no O(lease_id), the lock is
        released only when held by this holder.
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
      - The controller this task runs from, for the role's run lock. A lock whose holder reads
        V(ansible-playbook (PLAY\) on HOST by USER, pid PID, started TIME), with HOST equal to
        O(controller.host) and a PID not in O(controller.run_pids), is held by a run of this
        controller that died (killed, crashed, its session lost). It is taken over at once rather
        than waited for, and a warning names it.
      - A holder on another host is never taken over; its lease expires at most O(ttl) seconds after
        its run last renewed it.
    type: dict
    suboptions:
      host:
        description: The controller's host name, as C(hostname) prints it.
        type: str
        required: true
      run_pids:
        description: The process IDs of the C(ansible-playbook) processes running on it now.
        type: list
        elements: int
        required: true
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

- name: Take the run lock of the cluster, waiting up to 5 minutes for another run to finish
  raftops.etcd.etcd_lock:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
    ca_cert: /etc/etcd/pki/ca.pem
    client_cert: /etc/etcd/pki/admin.pem
    client_key: /etc/etcd/pki/admin-key.pem
    prefix: /raftops/etcd/
    name: run
    holder: "ansible-playbook on {{ lookup('pipe', 'hostname') }} by {{ lookup('env', 'USER') }}, started {{ now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ') }}"
    ttl: 900
    wait_timeout: 300
  run_once: true
  delegate_to: "{{ groups['etcd'][0] }}"
  changed_when: false
  register: run_lock

- name: Renew it before a long step
  raftops.etcd.etcd_lock:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
    ca_cert: /etc/etcd/pki/ca.pem
    client_cert: /etc/etcd/pki/admin.pem
    client_key: /etc/etcd/pki/admin-key.pem
    prefix: /raftops/etcd/
    name: run
    holder: "{{ run_lock.holder }}"
    lease_id: "{{ run_lock.lease_id }}"
  run_once: true
  delegate_to: "{{ groups['etcd'][0] }}"

- name: Release it
  raftops.etcd.etcd_lock:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
    ca_cert: /etc/etcd/pki/ca.pem
    client_cert: /etc/etcd/pki/admin.pem
    client_key: /etc/etcd/pki/admin-key.pem
    prefix: /raftops/etcd/
    name: run
    state: released
    lease_id: "{{ run_lock.lease_id }}"
  run_once: true
  delegate_to: "{{ groups['etcd'][0] }}"
  changed_when: false

- name: Break the lock of a run that died, whoever held it
  raftops.etcd.etcd_lock:
    endpoints: ["https://127.0.0.1:2379"]
    ca_cert: /etc/etcd/pki/ca.pem
    client_cert: /etc/etcd/pki/admin.pem
    client_key: /etc/etcd/pki/admin-key.pem
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
    - The holder whose lock this task took over, because its lease had expired, or (with
      O(controller)) because it is a run of this controller that died.
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

import base64
import datetime
import json
import re
import shlex
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_client import (
    CONNECTION_EXCLUSIVE,
    EtcdClient,
    EtcdError,
    EtcdUnreachable,
    client_factory,
    connection_argument_spec,
    first_answer,
    module_clients,
)
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_cluster_state import read_cluster_health
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_run_lock import dead_holder

POLL_INTERVAL = 1.0
MAX_CONFLICTS = 10
INT63_MAX = (1 << 63) - 1
_HEX_RE = re.compile(r"^[0-9a-f]{1,16}$")
_DEC_RE = re.compile(r"^[0-9]{17,19}$")


class LockError(Exception):
    """A failure with the result to return alongside the message."""

    def __init__(self, message, **result):
        super().__init__(message)
        self.result = result


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
        controller=dict(type="dict", options=dict(host=dict(type="str", required=True),
                                                  run_pids=dict(type="list", elements="int", required=True))),
        quota_bytes=dict(type="int", default=0),
    )
    return spec


def read_cluster(clients, make_client, quota_bytes=0):
    """(the cluster as etcd_health reads it, the clients that answered): the lock is asked only of
    endpoints that answered, so that a dead one costs no timeout."""
    _healthy, cluster, no_answer = read_cluster_health(clients, make_client, quota_bytes=quota_bytes)
    if no_answer:
        cluster["msg"] = no_answer
        return cluster, []
    answered = {record["endpoint"] for record in cluster["endpoints"] if record["reachable"]}
    return cluster, [client for client in clients if client.endpoint in answered]


def parse_lease_id(text):
    """A lease ID as an int: hex as etcdctl prints it (optional 0x), or 17 to 19 decimal digits."""
    raw = str(text).strip().lower()
    if raw.startswith("0x"):
        value = int(raw[2:], 16) if _HEX_RE.match(raw[2:]) else None
    elif _HEX_RE.match(raw):
        value = int(raw, 16)
    elif _DEC_RE.match(raw):
        value = int(raw, 10)
    else:
        value = None
    if not value or value > INT63_MAX:
        raise ValueError("lease_id %r is not a lease ID: give it in hex as the module returned it in lease_id "
                         "(as etcdctl prints it, e.g. 694d77aa9e38260f) or in decimal (17 to 19 digits)" % (text,))
    return value


def lease_hex(lease_id):
    return "%016x" % lease_id


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def encode_value(holder, acquired_at, ttl):
    return json.dumps(dict(holder=holder, acquired_at=acquired_at, ttl=ttl), sort_keys=True)


def decode_value(value):
    """holder, acquired_at and ttl from a lock's value; a value this module did not write is the holder."""
    text = value.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("holder"), str):
        return dict(holder=data["holder"], acquired_at=str(data.get("acquired_at") or "unknown"),
                    ttl=data.get("ttl"))
    return dict(holder=text or "(empty value)", acquired_at="unknown", ttl=None)


class Lock:
    """One lock, reached through the module's clients."""

    def __init__(self, params, clients, check_mode=False, clock=time.monotonic, sleep=time.sleep, utcnow=_utcnow):
        self.params = params
        self.clients = clients
        self.check_mode = check_mode
        self.clock, self.sleep, self.utcnow = clock, sleep, utcnow
        self.name = params["name"]
        self.key = params["prefix"] + params["name"]
        self.key_b64 = _b64(self.key)
        self.lease_id = parse_lease_id(params["lease_id"]) if params.get("lease_id") else None
        self.warnings = []
        self.polls = 0

    # -- etcd ---------------------------------------------------------------------------------

    def _ask(self, action, idempotent=True):
        return first_answer(self.clients, action, idempotent=idempotent)

    def read(self):
        return self._ask(lambda c: c.range_kv(self.key))

    def time_left(self, lease_id):
        """Seconds the lease has left; 0 or less when it has expired."""
        return self._ask(lambda c: c.lease_time_to_live(lease_id))["ttl"]

    def keepalive(self, lease_id):
        """Renew the lease; seconds it has left, 0 when it had expired."""
        return self._ask(lambda c: c.lease_keepalive_once(lease_id))

    def revoke(self, lease_id):
        """True when this call revoked the lease, False when it was gone already.

        Revoking is safe to repeat (a lease revoked already is reported gone), so an endpoint that
        timed out is retried on the next one; if one of those attempts may have reached etcd, a
        lease found gone afterwards counts as revoked by this call.
        """
        maybe_sent = []

        def action(client):
            try:
                return client.lease_revoke(lease_id)
            except EtcdUnreachable as exc:
                maybe_sent.append(exc.sent)
                raise

        return self._ask(action) or any(maybe_sent)

    def drop_lease(self, lease_id, ttl):
        """Revoke a lease this task granted and does not use; a failure only warns (it expires)."""
        try:
            self.revoke(lease_id)
        except EtcdError as exc:
            self.warnings.append("the unused lease %s could not be revoked (%s); it holds nothing and expires "
                                 "within %d s" % (lease_hex(lease_id), exc, ttl))

    # -- words --------------------------------------------------------------------------------

    def etcdctl(self, *args):
        """An etcdctl command line with this task's endpoints and TLS files."""
        p = self.params
        words = ["etcdctl", "--endpoints=" + ",".join(p["endpoints"])]
        for flag, option in (("--cacert", "ca_cert"), ("--cert", "client_cert"), ("--key", "client_key")):
            if p.get(option):
                words.append("%s=%s" % (flag, p[option]))
        words.extend(args)
        return " ".join(shlex.quote(word) for word in words)

    def holder_of(self, kv):
        info = decode_value(kv["value"])
        info.update(lease=kv["lease"], mod_revision=kv["mod_revision"])
        return info

    def held_by(self, info, expires_in):
        lease = info["lease"]
        return dict(holder=info["holder"], acquired_at=info["acquired_at"],
                    lease_id=lease_hex(lease) if lease else None,
                    expires_in=expires_in if lease else None)

    def release_command(self, info):
        if info["lease"]:
            return self.etcdctl("lease", "revoke", lease_hex(info["lease"]))
        return self.etcdctl("del", self.key)

    def describe_holder(self, info, expires_in):
        """<holder> since <acquired_at> (lease <id>, expires in <n> s unless renewed)."""
        if info["lease"]:
            lease = "lease %s, expires in %d s unless renewed" % (lease_hex(info["lease"]), expires_in)
        else:
            lease = "no lease: it never expires"
        return "%s since %s (%s)" % (info["holder"], info["acquired_at"], lease)

    def refusal(self, info, expires_in):
        how = "wait for the lock to expire or release it with: " if info["lease"] else "release it with: "
        return "lock %s is held by %s; wait for that run to finish, or if it died, %s%s" % (
            self.name, self.describe_holder(info, expires_in), how, self.release_command(info))

    def now_iso(self):
        return self.utcnow().astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def held(self, lease_id, info, ttl, expires_in, changed, msg):
        return dict(changed=changed, acquired=True, key=self.key, lease_id=lease_hex(lease_id),
                    holder=info["holder"], acquired_at=info["acquired_at"],
                    ttl=ttl, expires_in=expires_in, msg=msg)

    # -- acquire ------------------------------------------------------------------------------

    def acquire(self):
        start = self.clock()
        deadline = start + self.params["wait_timeout"]
        kv = self.read()
        if self.lease_id is not None:
            return self.renew(kv)
        previous = None
        conflicts = 0
        while True:
            state, info, left = self.assess(kv)
            if state == "mine":
                return self.held(kv["lease"], info, info["ttl"] if info["ttl"] is not None else left, left, False,
                                 "lock %s is held by this holder already; its lease %s %s" % (
                                     self.name, lease_hex(kv["lease"]),
                                     "would be renewed" if self.check_mode else "was renewed"))
            if state == "held":
                previous = info
                result = self.blocked(info, left, start, deadline)
                if result is not None:
                    return result
                kv = self.read()
                continue
            if state == "free":
                compare = [{"key": self.key_b64, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}]
            else:
                # held through a lease that has expired (etcd deletes the key any moment), or by a
                # run that died: take it over unless it changes meanwhile
                if info["holder"] != self.params["holder"]:
                    previous = info
                compare = [{"key": self.key_b64, "target": "MOD", "result": "EQUAL",
                            "mod_revision": str(kv["mod_revision"])}]
            if self.check_mode:
                return self.would_acquire(info if state in ("expired", "dead") else None)
            won, kv = self.try_acquire(compare)
            if won:
                return self.acquired(won, previous, info if state in ("expired", "dead") else None, start)
            conflicts += 1
            if conflicts >= MAX_CONFLICTS:
                raise LockError("lock %s changed hands %d times while this task tried to take it; try again"
                                % (self.name, conflicts), key=self.key, acquired=False)

    def assess(self, kv):
        """(state, holder info, seconds its lease has left) of the lock as read.

        States: ``free``; ``mine`` (held by this holder, lease renewed, or in check mode alive);
        ``expired`` (held through a lease that has expired); ``dead`` (by a run of this controller
        whose process is gone, ``info["dead"]`` says why); ``held`` (by another holder, or by a key
        without a lease, which never expires).
        """
        if kv is None:
            return "free", None, None
        info = self.holder_of(kv)
        if not kv["lease"]:
            return "held", info, None
        if info["holder"] == self.params["holder"]:
            # the same holder again (a step run again): renew the lease it holds
            left = self.time_left(kv["lease"]) if self.check_mode else self.keepalive(kv["lease"])
        else:
            left = self.time_left(kv["lease"])
        if left <= 0:
            return "expired", info, 0
        if info["holder"] == self.params["holder"]:
            return "mine", info, left
        info["dead"] = dead_holder(info["holder"], self.params.get("controller"))
        return ("dead" if info["dead"] else "held"), info, left

    def would_acquire(self, expired):
        p = self.params
        result = dict(changed=True, acquired=True, key=self.key, holder=p["holder"], ttl=p["ttl"], waited=0.0,
                      msg="lock %s would be acquired" % self.name)
        if expired is not None:
            result["msg"] += " (the lease %s of %s %s)" % (
                lease_hex(expired["lease"]), expired["holder"],
                "is held by a run that died: %s" % expired["dead"] if expired.get("dead") else "has expired")
            if expired["holder"] != p["holder"]:
                result["previous_holder"] = expired["holder"]
        return result

    def blocked(self, info, left, start, deadline):
        """Held by another holder: a check-mode report, or None after waiting a poll, or LockError."""
        details = dict(key=self.key, held_by=self.held_by(info, left), release_command=self.release_command(info))
        if self.check_mode:
            message = "lock %s is held by %s; a real run would %s" % (
                self.name, self.describe_holder(info, left),
                "wait up to %d s for it" % self.params["wait_timeout"] if self.params["wait_timeout"] else "fail")
            self.warnings.append(message)
            return dict(changed=False, acquired=False, waited=0.0, msg=message, **details)
        now = self.clock()
        if now >= deadline:
            waited = round(now - start, 1)
            message = self.refusal(info, left)
            if self.params["wait_timeout"]:
                message = "waited %d s: %s" % (round(waited), message)
            raise LockError(message, acquired=False, waited=waited, **details)
        self.polls += 1
        self.sleep(min(POLL_INTERVAL, deadline - now))
        return None

    def try_acquire(self, compare):
        """Grant a lease and write the key with it if ``compare`` holds.

        Returns (dict(lease_id, ttl, acquired_at), None) when it did, else (None, the key as the
        transaction's failure branch read it), after revoking the lease.
        """
        p = self.params
        try:
            grant = self._ask(lambda c: c.lease_grant(p["ttl"]), idempotent=False)
        except EtcdUnreachable as exc:
            if exc.sent:
                raise LockError("lock %s not acquired: granting its lease got no answer: %s. A lease may have been "
                                "granted; it holds nothing and expires within %d s. Run again"
                                % (self.name, exc, p["ttl"]), key=self.key) from None
            raise
        lease_id, ttl = grant["id"], grant["ttl"]
        acquired_at = self.now_iso()
        value = encode_value(p["holder"], acquired_at, ttl)
        put = {"request_put": {"key": self.key_b64, "value": _b64(value), "lease": str(lease_id)}}
        get = {"request_range": {"key": self.key_b64}}
        try:
            reply = self._ask(lambda c: c.txn(compare, [put], [get]), idempotent=False)
        except EtcdUnreachable as exc:
            if exc.sent:
                raise LockError(self.lost_txn(lease_id, ttl, exc), key=self.key) from None
            self.drop_lease(lease_id, ttl)
            raise
        except EtcdError:
            self.drop_lease(lease_id, ttl)
            raise
        if reply.get("succeeded"):
            return dict(lease_id=lease_id, ttl=ttl, acquired_at=acquired_at), None
        self.drop_lease(lease_id, ttl)
        ranged = ((reply.get("responses") or [{}])[0]).get("response_range") or {}
        kvs = ranged.get("kvs") or []
        return None, EtcdClient.decode_kv(kvs[0]) if kvs else None

    def lost_txn(self, lease_id, ttl, exc):
        """The message for a transaction that got no answer after it was sent."""
        head = ("lock %s: the request that takes the lock got no answer after it was sent, so etcd may have applied "
                "it; it was not sent again (%s). " % (self.name, exc))
        try:
            self.revoke(lease_id)
        except EtcdError as revoke_exc:
            return head + ("Revoking its lease %s failed too (%s), so the lock may be held by that lease for up to "
                           "%d s: look with %s, and release it with: %s" % (
                               lease_hex(lease_id), revoke_exc, ttl, self.etcdctl("get", self.key),
                               self.etcdctl("lease", "revoke", lease_hex(lease_id))))
        return head + ("Its lease %s has been revoked, so this run does not hold the lock; run again"
                       % lease_hex(lease_id))

    def acquired(self, won, previous, expired, start):
        """The result for a lock taken: ``previous`` is the other holder it was waited for or taken
        from, ``expired`` the lock whose expired lease it replaced."""
        info = dict(holder=self.params["holder"], acquired_at=won["acquired_at"])
        msg = "lock %s acquired (lease %s, TTL %d s)" % (self.name, lease_hex(won["lease_id"]), won["ttl"])
        result = self.held(won["lease_id"], info, won["ttl"], won["ttl"], True, msg)
        result["waited"] = round(self.clock() - start, 1) if self.polls else 0.0
        if previous is not None:
            result["previous_holder"] = previous["holder"]
            if self.polls:
                result["msg"] += " after waiting %s s for %s" % (result["waited"], previous["holder"])
        if expired is not None and expired.get("dead"):
            result["taken_over"] = expired["holder"]
            self.warnings.append(
                "lock %s was held by %s since %s (lease %s), a run of this controller that died (%s): it may have "
                "stopped part-way; the lock was taken over" % (self.name, expired["holder"], expired["acquired_at"],
                                                               lease_hex(expired["lease"]), expired["dead"]))
        elif expired is not None:
            result["taken_over"] = expired["holder"]
            self.warnings.append(
                "lock %s was still held by %s since %s through lease %s, which had expired: that run may have stopped "
                "part-way; the lock was taken over" % (self.name, expired["holder"], expired["acquired_at"],
                                                       lease_hex(expired["lease"])))
        return result

    def renew(self, kv):
        """Acquire with lease_id: renew the lease when it still holds the lock, else fail."""
        lease_id = self.lease_id
        if kv is None or kv["lease"] != lease_id:
            if kv is None:
                now = "nobody holds it now"
            else:
                info = self.holder_of(kv)
                now = "it is now held by %s" % self.describe_holder(
                    info, self.time_left(info["lease"]) if info["lease"] else None)
            raise LockError(
                "lock %s was lost: its lease %s expired or was revoked, and %s. Whatever ran after the lease expired "
                "ran without the lock; take the lock again (without lease_id) before going on"
                % (self.name, lease_hex(lease_id), now), key=self.key, acquired=False)
        info = self.holder_of(kv)
        if self.params["holder"] != info["holder"]:
            self.warnings.append("lock %s is held through lease %s by %r, not %r; renewed all the same (the lease "
                                 "is what holds it)" % (self.name, lease_hex(lease_id), info["holder"],
                                                        self.params["holder"]))
        left = self.time_left(lease_id) if self.check_mode else self.keepalive(lease_id)
        if left <= 0:
            raise LockError(
                "lock %s was lost: its lease %s has expired and etcd is deleting the lock. Whatever ran after the lease "
                "expired ran without the lock; take the lock again (without lease_id) before going on"
                % (self.name, lease_hex(lease_id)), key=self.key, acquired=False)
        ttl = info["ttl"] if info["ttl"] is not None else left
        return self.held(lease_id, info, ttl, left, False, "lock %s: lease %s %s (%d s left)" % (
            self.name, lease_hex(lease_id), "would be renewed" if self.check_mode else "renewed", left))

    # -- release ------------------------------------------------------------------------------

    def release(self):
        p = self.params
        kv = self.read()
        if kv is None:
            if self.lease_id is not None:
                message = "lock %s had already expired or been released (lease %s)" % (
                    self.name, lease_hex(self.lease_id))
                self.warnings.append(message)
            else:
                message = "lock %s is not held" % self.name
            return dict(changed=False, released=False, key=self.key, msg=message)
        info = self.holder_of(kv)
        result = dict(changed=False, released=False, key=self.key, holder=info["holder"],
                      acquired_at=info["acquired_at"])
        if self.lease_id is not None and kv["lease"] != self.lease_id:
            result["msg"] = ("lock %s had already expired or been taken (lease %s no longer holds it): it is held by "
                             "%s since %s now; left alone"
                             % (self.name, lease_hex(self.lease_id), info["holder"], info["acquired_at"]))
            self.warnings.append(result["msg"])
            return result
        if self.lease_id is None and p.get("holder") and info["holder"] != p["holder"]:
            result["msg"] = "lock %s is held by %s since %s, not by %s; left alone" % (
                self.name, info["holder"], info["acquired_at"], p["holder"])
            self.warnings.append(result["msg"])
            return result
        if kv["lease"]:
            result.update(lease_id=lease_hex(kv["lease"]))
        if self.check_mode:
            result.update(changed=True, released=True, msg="lock %s of %s would be released" % (
                self.name, info["holder"]))
            return result
        if kv["lease"]:
            if self.revoke(kv["lease"]):
                result.update(changed=True, released=True, msg="lock %s of %s released (lease %s revoked)" % (
                    self.name, info["holder"], lease_hex(kv["lease"])))
            else:
                result["msg"] = "lock %s had already expired (lease %s)" % (self.name, lease_hex(kv["lease"]))
                if self.lease_id is not None:
                    self.warnings.append(result["msg"])
            return result
        # a key without a lease (not written by this module): delete it unless it changed meanwhile
        compare = [{"key": self.key_b64, "target": "MOD", "result": "EQUAL", "mod_revision": str(kv["mod_revision"])}]
        reply = self._ask(lambda c: c.txn(compare, [{"request_delete_range": {"key": self.key_b64}}]),
                          idempotent=False)
        if reply.get("succeeded"):
            result.update(changed=True, released=True, msg="lock %s of %s released (key deleted)" % (
                self.name, info["holder"]))
        else:
            result["msg"] = "lock %s changed while it was being released; left alone" % self.name
            self.warnings.append(result["msg"])
        return result


def run(params, clients, check_mode=False, clock=time.monotonic, sleep=time.sleep, utcnow=_utcnow, make_client=None):
    """(failure message or None, result, warnings) for the module's parameters."""
    try:
        lock = Lock(params, clients, check_mode=check_mode, clock=clock, sleep=sleep, utcnow=utcnow)
    except ValueError as exc:
        return str(exc), dict(changed=False), []
    key = dict(key=lock.key)
    if params.get("read_cluster"):
        key["cluster"], lock.clients = read_cluster(clients, make_client or client_factory(params),
                                                    params.get("quota_bytes") or 0)
        if not lock.clients:
            return None, dict(changed=False, acquired=False, msg="lock %s not taken: %s" % (
                lock.name, key["cluster"]["msg"]), **key), []
    try:
        result = lock.acquire() if params["state"] == "acquired" else lock.release()
    except LockError as exc:
        return str(exc), dict(dict(changed=False, **key), **exc.result), lock.warnings
    except EtcdError as exc:
        return "lock %s (%s): %s" % (lock.name, lock.key, exc), dict(changed=False, **key), lock.warnings
    return None, dict(result, **key), lock.warnings


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
