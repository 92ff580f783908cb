#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_health
short_description: Report the health and status of an etcd cluster, or wait until it is healthy
version_added: 1.0.0
description:
  - Asks every etcd member for C(/v3/maintenance/status) and C(/readyz) (C(/health) on releases
    before 3.4.29 and 3.5.11, which lack C(/readyz)), and the cluster once for
    its member list, alarms and cluster version, through etcd's v3 HTTP/JSON gateway.
  - With O(discover=true) (the default) one reachable endpoint is enough, because every started
    member is then also checked at the client URLs it advertises.
  - Decides whether the cluster is healthy and returns why not in RV(problems), plus an aligned
    status table in RV(table) for an operator to read and the same figures per member in
    RV(member_status) (for P(raftops.etcd.status_advice#filter)).
  - Over https each member's server certificate is read in the TLS handshake (verified against
    O(ca_cert)); the days until it expires are in the table and in RV(endpoints).
  - An unhealthy cluster is not a failure unless O(wait=true); the module fails only when no
    endpoint answers at all, or when O(wait) times out.
  - The cluster is healthy when every member answers C(/readyz) (or C(/health)) with V(true), exactly one leader
    exists and every member agrees on it, no alarm is raised, every member has started, and the
    optional conditions O(max_raft_index_gap), O(expect_members) and O(allow_learners) hold.
  - It only reads; it never changes the cluster.
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection, raftops.etcd.run_lock]
options:
  discover:
    description:
      - After reaching any endpoint in O(endpoints), also check every started member at the client
        URLs in the member list, so that one endpoint is enough to see the whole cluster.
      - With V(false), only O(endpoints) are checked; members they do not reach are listed but not
        checked, and do not make the cluster unhealthy (unless they have not started).
      - The advertised client URLs must be reachable from the host the module runs on, and their
        certificates must be valid for them.
    type: bool
    default: true
  wait:
    description:
      - Poll five times a second until the cluster is healthy, for at most O(wait_timeout) seconds.
      - On timeout the module fails, naming every member that is not healthy and why, and still
        returns the last observation.
      - While no endpoint answers (a member restarting), polling continues.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true).
      - Each round of checks can take up to a few times O(timeout) when members do not answer, so
        the module can return up to that long after this limit.
    type: int
    default: 60
  max_raft_index_gap:
    description:
      - When set, healthy also requires every voting member's raft applied index to be within this
        many entries of the leader's raft index.
      - Use it in rolling restarts to wait until a restarted member has caught up.
      - The leader's status must be observed, which O(discover=true) ensures when it is reachable.
      - Members are read a few milliseconds apart and the checks themselves add raft entries (health
        checks and the alarm list go through raft), so allow a margin of tens of entries, not V(0).
    type: int
  expect_members:
    description:
      - When set, healthy also requires exactly this many started voting members.
    type: int
  allow_learners:
    description:
      - With V(true), a learner (a member being added, started or not, before it is promoted)
        does not make the cluster unhealthy, whatever its state.
      - With V(false), any learner makes the cluster unhealthy.
    type: bool
    default: true
  quota_bytes:
    description:
      - The members' backend quota (C(--quota-backend-bytes)), for the C(QUOTA) column of RV(table),
        each member's database file against it.
      - V(0) is etcd's default, 2 GiB.
    type: int
    default: 0
  keyspace:
    description:
      - Also read RV(keyspace) from the first endpoint of O(endpoints) that answers, once the cluster is
        healthy with O(wait=true) - its revision, its key count and its hash - as the backup playbook
        records them and the restore drill compares them.
    type: bool
    default: false
  keyspace_revision:
    description:
      - With O(keyspace=true), the revision to count and hash at; V(0) is the current revision.
    type: int
    default: 0
  peer_urls:
    description:
      - The peer URLs of members by their client URLs (C({client URL -> [peer URL]})), asked for C(/version)
        when the endpoint did not answer, either taking the connection and answering nothing in
        O(timeout) or silent (a connect timeout, no route to its host). What each answered is
        RV(endpoints[].peers). When the member's peer URL answers while its client URL took the connection
        and answered nothing, the endpoint is reported with RV(endpoints[].unready_peer).
      - etcd serves its client URLs only once it has joined a cluster with quorum since it started, and
        its peer URLs from the start; a member restarted while its cluster has no quorum answers on its
        peer URL only. A slow member answers on neither, or on both.
      - The C(raftops.etcd.recover_quorum) playbook passes the members of the survivors' logs. A member
        named lost is proven lost only by silence on every URL of it, its peer URLs included.
    type: dict
    default: {}
  peer_cert:
    description:
      - Client certificate (PEM) to present to the peer URLs of O(peer_urls), when they ask for one
        other than O(client_cert) (the members' peer pair).
    type: path
  peer_key:
    description:
      - Private key of O(peer_cert).
    type: path
notes:
  - Works with etcd 3.4, 3.5 and 3.6. etcd 3.4 started with a configuration file serves the v3
    gateway only when it sets C(enable-grpc-gateway) to V(true); the module says so when it gets
    C(404).
  - C(/readyz) checks that a member is not corrupt and can serve local and linearizable reads; its
    learner check is left out (a learner is reported as such). A NOSPACE alarm is reported with the
    alarms, not as the member's health, on either endpoint.
  - C(/health) reports a reason from etcd 3.4.29 and 3.5.0 on; older members give none.
  - A member that was added but never started makes the cluster unhealthy (it counts toward
    quorum) unless it is a learner and O(allow_learners=true).
seealso:
  - module: raftops.etcd.etcd_member
  - name: etcd health checks
    description: The C(/health), C(/livez) and C(/readyz) endpoints.
    link: https://etcd.io/docs/v3.5/op-guide/monitoring/
"""

EXAMPLES = r"""
- name: Check the cluster through the member on this host
  raftops.etcd.etcd_health:
    endpoints: ["https://127.0.0.1:2379"]
  delegate_to: "{{ groups['etcd'][0] }}"
  run_once: true
  register: etcd_status

- name: Show the status table
  ansible.builtin.debug:
    msg: "{{ etcd_status.table }}"
  run_once: true

- name: Stop here when the cluster is not healthy
  ansible.builtin.assert:
    that: etcd_status.healthy
    fail_msg: "{{ etcd_status.problems }}"
  run_once: true

- name: After restarting this member, wait until it has caught up and the cluster is whole
  raftops.etcd.etcd_health:
    endpoints: ["https://{{ etcd_address }}:2379"]
    wait: true
    wait_timeout: 120
    max_raft_index_gap: 100
    expect_members: "{{ groups['etcd'] | length }}"
    allow_learners: false
"""

RETURN = r"""
healthy:
  description: Whether the cluster is healthy (see the description), at the last check.
  returned: always
  type: bool
  sample: false
problems:
  description: Why the cluster is not healthy, one line per problem; empty when healthy.
  returned: always
  type: list
  elements: str
  sample:
    - "etcd-host2 (http://10.0.0.13:2379): unreachable: [Errno 111] Connection refused"
    - "alarm NOSPACE on member etcd-host0"
table:
  description:
    - An aligned status table, header first, one line per member, for an operator to read with
      M(ansible.builtin.debug).
    - Columns C(NAME), C(CLIENT-URL), C(VERSION), C(LEADER), C(LEARNER), C(TERM), C(INDEX) (raft
      index), C(DB-SIZE) (the database file), C(IN-USE) (the part of it that holds data; the rest
      is what a defragmentation gives back), C(QUOTA) (the file against O(quota_bytes)),
      C(ALARMS) (raised on the member), C(LAG) (raft entries the member has still to apply, the
      leader's raft index less its applied index), C(CERT-DAYS) (days until the member's server
      certificate expires; C(-) over http), C(HEALTH) (one word; RV(problems) and
      RV(member_status) say why).
    - No cell holds a single space, so that a YAML result format never folds a row.
  returned: always
  type: list
  elements: str
  sample:
    - "NAME        CLIENT-URL              VERSION  LEADER  LEARNER  TERM  INDEX  DB-SIZE  IN-USE  QUOTA  ALARMS  LAG  CERT-DAYS  HEALTH"
    - "etcd-host0  https://10.0.0.11:2379  3.5.1    yes     no       2     12     20KiB    16KiB   0%     -       0    729        healthy"
    - "etcd-host1  https://10.0.0.12:2379  3.5.1    no      no       2     12     20KiB    16KiB   0%     -       0    729        healthy"
    - "etcd-host2  https://10.0.0.13:2379  -        -       no       -     -      -        -       -      -       -    -          unreachable"
member_status:
  description:
    - One entry per member (and per endpoint that answers as no member), in the order of RV(table),
      the figures of its columns as values, null where unknown.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Member name; C((ID)) for a member that has not started, C(?) for an endpoint of no known member.
      type: str
    member_id:
      description: Member ID in hex, when known.
      type: str
    endpoint:
      description: The client URL the figures come from.
      type: str
    started:
      description: Whether the member has started; null for an endpoint of no known member.
      type: bool
    is_learner:
      description: Whether the member is a learner.
      type: bool
    is_leader:
      description: Whether it is the leader; null without its status.
      type: bool
    version:
      description: etcd server version.
      type: str
    cluster_id:
      description: Cluster ID in hex it answered with.
      type: str
    raft_term:
      description: Raft term.
      type: int
    raft_index:
      description: Raft index.
      type: int
    applied_lag:
      description: Raft entries it has still to apply (the leader's raft index less its applied index).
      type: int
    db_size:
      description: Database file size in bytes.
      type: int
    db_size_in_use:
      description: Bytes of the file in use.
      type: int
    quota_percent:
      description: The file against O(quota_bytes), in percent.
      type: float
    alarms:
      description: Alarms raised on the member (C(NOSPACE), C(CORRUPT)).
      type: list
      elements: str
    cert_expires:
      description: When its server certificate expires (UTC, ISO 8601); null over http or unreachable.
      type: str
    cert_days_left:
      description: Whole days until then; negative once expired.
      type: int
    health:
      description: >-
        C(healthy), C(unhealthy), C(unreachable), C(not-started), C(not-checked), C(status-failed)
        or C(no-leader).
      type: str
    reason:
      description: Why, when not healthy (the error or the C(/health) reason); empty otherwise.
      type: str
  sample:
    - name: etcd-host0
      member_id: 8211f1d0f64f3269
      endpoint: https://10.0.0.11:2379
      started: true
      is_learner: false
      is_leader: true
      version: 3.5.1
      cluster_id: ef37ad9dc622a7c4
      raft_term: 2
      raft_index: 12
      applied_lag: 0
      db_size: 20480
      db_size_in_use: 16384
      quota_percent: 0.0
      alarms: []
      cert_expires: "2028-11-20T10:00:00Z"
      cert_days_left: 729
      health: healthy
      reason: ""
cluster:
  description: The cluster as a whole.
  returned: always
  type: dict
  contains:
    id:
      description: Cluster ID in hex, as etcdctl prints it; null when no status was read.
      type: str
      sample: ef37ad9dc622a7c4
    version:
      description: Cluster version (C(etcdcluster) of C(/version)); null when unknown.
      type: str
      sample: 3.5.0
    leader:
      description: Name of the leader all voting members agree on; null when there is none.
      type: str
      sample: etcd-host0
    leader_id:
      description: Member ID of that leader, in hex; null when there is none.
      type: str
      sample: 8211f1d0f64f3269
    members_total:
      description: Number of members in the member list.
      type: int
      sample: 3
    voting:
      description: Number of voting members (not learners), started or not.
      type: int
      sample: 3
    learners:
      description: Number of learners.
      type: int
      sample: 0
    alarms:
      description: Raised alarms.
      type: list
      elements: dict
      sample: [{"member_id": "8211f1d0f64f3269", "member": "etcd-host0", "alarm": "NOSPACE"}]
  sample:
    id: ef37ad9dc622a7c4
    version: 3.5.0
    leader: etcd-host0
    leader_id: 8211f1d0f64f3269
    members_total: 3
    voting: 3
    learners: 0
    alarms: []
members:
  description: The member list; empty when it could not be read.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Member ID in hex.
      type: str
    name:
      description: Member name; empty for a member that has not started.
      type: str
    peer_urls:
      description: Peer URLs.
      type: list
      elements: str
    client_urls:
      description: Advertised client URLs; empty for a member that has not started.
      type: list
      elements: str
    is_learner:
      description: Whether the member is a learner.
      type: bool
    started:
      description: Whether the member has started and joined.
      type: bool
  sample:
    - id: 8211f1d0f64f3269
      name: etcd-host0
      peer_urls: ["http://10.0.0.11:2380"]
      client_urls: ["http://10.0.0.11:2379"]
      is_learner: false
      started: true
endpoints:
  description:
    - One entry per endpoint checked, from O(endpoints) and, with O(discover), from the member
      list. Status fields are null when the endpoint did not answer the status call.
  returned: always
  type: list
  elements: dict
  contains:
    endpoint:
      description: The client URL checked.
      type: str
    discovered:
      description: Whether the URL came from the member list rather than O(endpoints).
      type: bool
    member:
      description: Name of the member behind it, when known.
      type: str
    member_id:
      description: Member ID in hex, when known.
      type: str
    reachable:
      description: Whether the endpoint answered at all.
      type: bool
    error:
      description: Why it did not answer.
      type: str
    healthy:
      description:
        - Whether the member is healthy. It answered its status and names a leader, and its
          C(/health) answered V(true).
        - The same meaning as C(members[].healthy) of M(raftops.etcd.etcd_member_info), which the
          quorum checks of M(raftops.etcd.etcd_member) count.
      type: bool
    health_reason:
      description:
        - Empty when C(/health) answered V(true); else the reason it gave (etcd 3.4.29, 3.5.0 and
          later; V(no reason given) before), or why it did not answer.
        - V(null) when the endpoint did not answer, and when its status names no leader (C(/readyz) and
          C(/health) read through raft and would only wait for one; they are not asked).
      type: str
    status_error:
      description: Error of the status call, when C(/health) answered but status did not.
      type: str
    version:
      description: etcd server version.
      type: str
    cluster_id:
      description: Cluster ID in hex.
      type: str
    is_leader:
      description: Whether this member is the leader.
      type: bool
    is_learner:
      description: Whether this member is a learner.
      type: bool
    leader_id:
      description: Member ID of the leader this member follows, in hex; null when it has none.
      type: str
    raft_term:
      description: Raft term.
      type: int
    raft_index:
      description: Raft (committed) index.
      type: int
    raft_applied_index:
      description: Raft applied index.
      type: int
    db_size:
      description: Backend database size in bytes.
      type: int
    db_size_in_use:
      description: Bytes of the database in use (the rest is reclaimed by defragmentation).
      type: int
    revision:
      description: The member's current revision of the keyspace.
      type: int
    errors:
      description: Errors the member reports in its status (for example alarms).
      type: list
      elements: str
    alarms:
      description: Alarms raised on this member, from the cluster's alarm list.
      type: list
      elements: str
    applied_lag:
      description:
        - Raft entries it has still to apply (the leader's raft index less its applied index).
        - Null without the status of both.
      type: int
    cert_expires:
      description: When the server certificate it presented expires (UTC, ISO 8601); null over http or unreachable.
      type: str
    cert_days_left:
      description: Whole days until then; negative once expired.
      type: int
    unready_peer:
      description:
        - The member's peer URL (O(peer_urls)) that answered while this endpoint took the connection and
          answered nothing. The member has not joined a cluster with quorum since it started.
        - Null otherwise, and when O(peer_urls) does not name the endpoint.
      type: str
    peers:
      description:
        - What the member's peer URLs (O(peer_urls)) answered, asked in order up to the first that answers,
          when this endpoint took the connection and answered nothing, or was silent (a connect timeout,
          no route to its host).
        - C(answered) is true for any HTTP answer to C(/version); else C(error) says why not.
        - Null when not asked (the endpoint answered, or refused the connection, or O(peer_urls) does
          not name it).
      type: list
      elements: dict
      contains:
        url:
          description: The peer URL.
          type: str
        answered:
          description: Whether it gave an HTTP answer.
          type: bool
        error:
          description: Why it did not; null when it answered.
          type: str
  sample:
    - endpoint: http://10.0.0.11:2379
      discovered: false
      member: etcd-host0
      member_id: 8211f1d0f64f3269
      reachable: true
      error: null
      healthy: true
      health_reason: ""
      status_error: null
      version: 3.5.1
      cluster_id: ef37ad9dc622a7c4
      is_leader: true
      is_learner: false
      leader_id: 8211f1d0f64f3269
      raft_term: 2
      raft_index: 12
      raft_applied_index: 12
      db_size: 20480
      db_size_in_use: 16384
      errors: []
      alarms: []
      applied_lag: 0
      cert_expires: null
      cert_days_left: null
      unready_peer: null
elapsed:
  description: Seconds spent waiting.
  returned: when O(wait=true)
  type: float
  sample: 4.2
keyspace:
  description:
    - The keyspace as one member sees it (O(keyspace=true)).
    - The hash is the member's C(HashKV), from its last compaction up to RV(keyspace.revision); only hashes
      with equal RV(keyspace.compact_revision) compare. etcd before 3.5.10 serves no HashKV through its
      gateway; RV(keyspace.hash) is then null and RV(keyspace.hash_problem) says so.
    - At an O(keyspace_revision) compacted away (since 1.1.0) RV(keyspace.keys), RV(keyspace.hash),
      RV(keyspace.current_revision) and RV(keyspace.compact_revision) are null and RV(keyspace.hash_problem) says so.
  returned: when O(keyspace=true) and an endpoint answered
  type: dict
  contains:
    endpoint:
      description: The endpoint that answered.
      type: str
    revision:
      description: The revision counted and hashed.
      type: int
    current_revision:
      description: The member's current revision.
      type: int
    keys:
      description: The number of keys at RV(keyspace.revision) (a count-only range over the whole keyspace).
      type: int
    hash:
      description: The member's C(HashKV) at RV(keyspace.revision).
      type: int
    compact_revision:
      description: The member's last compaction (V(-1) when it never compacted), where the hash starts.
      type: int
    hash_problem:
      description: Why there is no hash; null when there is one.
      type: str
  sample: {endpoint: "http://127.0.0.1:23790", revision: 22, current_revision: 22, keys: 19, hash: 755857414,
           compact_revision: -1, hash_problem: null}
rounds:
  description: Number of checks made while waiting.
  returned: when O(wait=true)
  type: int
  sample: 5
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE,
    client_factory,
    connection_argument_spec,
    keyspace_of,
    module_clients,
)
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.cluster_state import read_cluster_health, wait_until
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import normalize_url
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import RUN_LOCK_SPEC, run_lock_refusal
from ansible_collections.raftops.etcd.plugins.module_utils.client.probe import ask_peers, in_parallel, unready_peer


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        discover=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=60),
        max_raft_index_gap=dict(type="int"),
        expect_members=dict(type="int"),
        allow_learners=dict(type="bool", default=True),
        quota_bytes=dict(type="int", default=0),
        keyspace=dict(type="bool", default=False),
        # a revision of etcd's keyspace, not a secret
        keyspace_revision=dict(type="int", default=0, no_log=False),
        peer_urls=dict(type="dict", default={}),
        peer_cert=dict(type="path"),
        peer_key=dict(type="path", no_log=False),
        # A gate before a step that changes a member: checked once the cluster was found healthy.
        run_lock=RUN_LOCK_SPEC,
    )
    return spec


def check_once(params, clients, make_client):
    """One observation turned into the module's result: (healthy, result, no_answer) as
    read_cluster_health returns them."""
    return read_cluster_health(clients, make_client, discover=params["discover"],
                               max_raft_index_gap=params["max_raft_index_gap"], expect_members=params["expect_members"],
                               allow_learners=params["allow_learners"], quota_bytes=params["quota_bytes"])


def read_keyspace(params, clients, failure, result):
    """(failure, result) with ``keyspace`` added when asked for and the cluster answered."""
    if failure or not params.get("keyspace"):
        return failure, result
    keyspace, error = keyspace_of(clients, params.get("keyspace_revision") or 0)
    if error:
        return error, result
    result["keyspace"] = keyspace
    return None, result


def run(params, clients, make_client, clock=None, sleep=None, make_peer_client=None):
    """(failure message or None, result) for the module's parameters; ``make_peer_client(url)``
    (``peer_client_factory``) asks the peer URLs of O(peer_urls)."""
    failure, result = observe_or_wait(params, clients, make_client, clock, sleep)
    note_unready(params, result, make_peer_client)
    return read_keyspace(params, clients, failure, result)


def note_unready(params, result, make_peer_client):
    """Ask the member's peer URLs (``peer_urls``) of each endpoint that did not answer, silent or taking
    the connection and answering nothing (``ask_peers``): what they answered is its ``peers``; and mark
    the endpoints that took the connection and answered nothing while a peer URL answers
    (``unready_peer``), whose ``error`` then says what that means."""
    peers = {normalize_url(url): urls for url, urls in (params.get("peer_urls") or {}).items()}
    records = result.get("endpoints") or []
    asked = in_parallel(lambda record: ask_peers(record, peers.get(record["endpoint"]), make_peer_client)
                        if record["endpoint"] in peers else None, records)
    for record, answers in zip(records, asked):
        record["peers"] = answers
        record["unready_peer"] = peer = unready_peer(record, answers)
        if peer:
            record["error"] = ("%s, while its peer URL %s answers: etcd serves its client URLs only once it has joined "
                               "a cluster with quorum, and this member has not since it started" % (record["error"], peer))


def peer_client_factory(params):
    """Clients for the peer URLs: the module's TLS options, with ``peer_cert``/``peer_key`` when given,
    and no login (a peer URL serves no RPC)."""
    pair = dict(client_cert=params["peer_cert"], client_key=params["peer_key"], client_cert_content=None,
                client_key_content=None) if params.get("peer_cert") else {}
    return client_factory(dict(params, auth_user=None, auth_password=None, **pair))


def observe_or_wait(params, clients, make_client, clock=None, sleep=None):
    if not params["wait"]:
        _healthy, result, no_answer = check_once(params, clients, make_client)
        return no_answer, result

    kwargs = {}
    if clock is not None:
        kwargs["clock"] = clock
    if sleep is not None:
        kwargs["sleep"] = sleep
    # a wait ends on health alone: a silent cluster is one more unhealthy round
    healthy, result, rounds, elapsed = wait_until(
        lambda: check_once(params, clients, make_client)[:2], params["wait_timeout"], **kwargs)
    result.update(rounds=rounds, elapsed=round(elapsed, 1))
    if healthy:
        return None, result
    return "etcd cluster not healthy after %ds (%d checks): %s" % (
        params["wait_timeout"], rounds, "; ".join(result["problems"])), result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=CONNECTION_EXCLUSIVE, supports_check_mode=True)
    params = module.params
    for name in ("wait_timeout", "max_raft_index_gap", "expect_members", "quota_bytes", "keyspace_revision"):
        if params[name] is not None and params[name] < 0:
            module.fail_json(msg="%s must not be negative, got %d" % (name, params[name]))
    if bool(params["peer_cert"]) != bool(params["peer_key"]):
        module.fail_json(msg="peer_cert and peer_key go together: %s is missing" % ("peer_key" if params["peer_cert"] else "peer_cert"))
    clients, make_client = module_clients(module)
    failure, result = run(params, clients, make_client, make_peer_client=peer_client_factory(params))
    if not failure and not module.check_mode:
        failure = run_lock_refusal(clients, params["run_lock"], "let the step this check gates go on")
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
