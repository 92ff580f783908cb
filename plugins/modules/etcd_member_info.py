#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_member_info
short_description: List the members, the leader and the quorum of an etcd cluster
version_added: 1.0.0
description:
  - Reads the member list of an etcd cluster through the v3 HTTP/JSON gateway of the first
    reachable endpoint in O(endpoints), so a dead member does not block the run.
  - Reports every member (including learners and members that were added but have not started),
    the leader, and the quorum of the voting members.
  - With O(probe=true) it also asks each member, at its own client URLs, for its status and
    reports whether it is reachable and healthy.
  - Never changes anything. To add, promote, remove or re-lead members use
    M(raftops.etcd.etcd_member).
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  check_mode:
    details: The module only reads, so it runs in check mode exactly as without it.
options:
  probe:
    description:
      - Ask each member's client URL for its status (C(/v3/maintenance/status)) and C(/health), with
        the same TLS options and O(probe_timeout), and report RV(members[].reachable),
        RV(members[].healthy) and RV(members[].probe_error).
      - With probing, RV(leader) is the member the healthy members agree on; without it, the
        leader as the endpoint that answered sees it.
      - The host running the module must reach every member's advertised client URL.
    type: bool
    default: false
  probe_timeout:
    description:
      - Seconds to wait for each answer (status, then C(/health)) when O(probe=true). A member whose
        status does not come in time is reported as not reachable.
    type: float
    default: 3
notes:
  - With etcd authentication enabled, the security releases 3.4.42, 3.5.28 and 3.6.9 allow the
    member list only to the root role (fixed in 3.4.43, 3.5.29 and 3.6.10), and the status
    requests of O(probe) only to root until 3.5.32 and 3.6.12.
seealso:
  - module: raftops.etcd.etcd_member
    description: Add, promote, remove and re-lead members; returns the same RV(members) after each change.
  - module: raftops.etcd.etcd_health
    description: Per-endpoint health and status, and waiting until the cluster is healthy.
  - name: etcd runtime reconfiguration
    description: How members are added, promoted and removed.
    link: https://etcd.io/docs/v3.5/op-guide/runtime-configuration/
"""

EXAMPLES = r"""
- name: List the members and the leader
  raftops.etcd.etcd_member_info:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
  register: etcd_members

- name: Show the member names and the leader
  ansible.builtin.debug:
    msg: "{{ etcd_members.members | map(attribute='name') | join(', ') }}; leader {{ etcd_members.leader.name | default('none') }}"

- name: List the members with the health of each one
  raftops.etcd.etcd_member_info:
    endpoints: ["https://10.0.0.11:2379"]
    probe: true
    probe_timeout: 2
  register: etcd_members

- name: Fail when a member is unhealthy
  ansible.builtin.assert:
    that: etcd_members.members | rejectattr('healthy') | list | length == 0
    fail_msg: "unhealthy: {{ etcd_members.members | rejectattr('healthy') | map(attribute='name') | join(', ') }}"

- name: Find the learner that still waits for promotion, if any
  ansible.builtin.set_fact:
    etcd_pending_learner: "{{ etcd_members.members | selectattr('is_learner') | map(attribute='id') | first | default('') }}"
"""

RETURN = r"""
members:
  description:
    - Every member of the cluster as the endpoint that answered lists it, in etcd's order.
    - A member that was added but has not started has an empty RV(members[].name) and no client
      URLs.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description:
        - Member ID in hex as C(etcdctl member list) prints it (lowercase, no C(0x)), like every ID
          the collection's modules return.
      type: str
      sample: 8e9e05c52164694d
    name:
      description: The member's C(--name); empty until the member has started.
      type: str
      sample: etcd-host0
    peer_urls:
      description: Peer URLs.
      type: list
      elements: str
      sample: ["https://10.0.0.11:2380"]
    client_urls:
      description: Client URLs the member advertises; empty until it has started.
      type: list
      elements: str
      sample: ["https://10.0.0.11:2379"]
    is_learner:
      description: Whether the member is a learner (non-voting).
      type: bool
      sample: false
    started:
      description: Whether the member has started and joined (it then has a name).
      type: bool
      sample: true
    reachable:
      description: Whether the member answered a status request on one of its client URLs.
      type: bool
      returned: when O(probe=true)
      sample: true
    healthy:
      description:
        - Whether the member is healthy. It answered its status as itself and names a leader, and
          its C(/health) answered V(true).
        - The same meaning as C(endpoints[].healthy) of M(raftops.etcd.etcd_health).
      type: bool
      returned: when O(probe=true)
      sample: true
    probe_error:
      description: Why the member is not healthy; empty when it is.
      type: str
      returned: when O(probe=true)
      sample: ""
leader:
  description:
    - The leader, with the same keys as an entry of RV(members) (without the probe fields); V(null)
      when no member knows a leader.
  returned: always
  type: dict
  sample:
    id: 8e9e05c52164694d
    name: etcd-host0
    peer_urls: ["https://10.0.0.11:2380"]
    client_urls: ["https://10.0.0.11:2379"]
    is_learner: false
    started: true
quorum:
  description: Voting members, the quorum they need and the failures they tolerate.
  returned: always
  type: dict
  contains:
    voters:
      description: Voting members (learners do not vote).
      type: int
      sample: 3
    quorum:
      description: Votes needed to commit anything.
      type: int
      sample: 2
    failures_tolerated:
      description: Voting members that may fail while the cluster keeps quorum.
      type: int
      sample: 1
msg:
  description: How many members were seen, and through which endpoint.
  returned: always
  type: str
  sample: 3 members seen through https://10.0.0.11:2379
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE,
    EtcdError,
    client_factory,
    clients_from_params,
    cluster_leader_id,
    connection_argument_spec,
    endpoints_shown,
    member_list_from,
)
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import membership as em
from ansible_collections.raftops.etcd.plugins.module_utils.client.probe import probe_members


def run(params, clients):
    """The module's result; raises EtcdError when no endpoint lists the members."""
    source, members = member_list_from(clients)
    if params["probe"]:
        probes = probe_members(members, client_factory(params, params["probe_timeout"]))
        leader_id = em.leader_from_probes(probes)
    else:
        probes = None
        leader_id = cluster_leader_id(clients)
    result = dict(changed=False)
    result.update(em.membership_report(members, em.member_by_id(members, leader_id), probes))
    result["msg"] = "%d members seen through %s" % (len(members), source)
    return result


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        probe=dict(type="bool", default=False),
        probe_timeout=dict(type="float", default=3.0),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=CONNECTION_EXCLUSIVE, supports_check_mode=True)
    params = module.params
    if not params["endpoints"]:
        module.fail_json(msg="endpoints must name at least one etcd client URL")
    if params["probe_timeout"] <= 0:
        module.fail_json(msg="probe_timeout must be positive, got %s" % params["probe_timeout"])
    try:
        clients = clients_from_params(params)
    except EtcdError as exc:
        module.fail_json(msg="cannot set up the etcd client for %s: %s" % (endpoints_shown(params), exc))
    try:
        result = run(params, clients)
    except EtcdError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
