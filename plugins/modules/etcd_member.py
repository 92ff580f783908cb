#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_member
short_description: Add, promote, remove and re-lead etcd cluster members
version_added: 1.0.0
description:
  - Manages the membership of an etcd cluster through the v3 HTTP/JSON gateway of any reachable
    member. The O(endpoints) are tried in order, so a dead member does not block the run.
  - To read the members, the leader and the quorum without changing anything, use
    M(raftops.etcd.etcd_member_info). Every state of this module also returns RV(members),
    RV(leader) and RV(quorum) as they are after the task.
  - O(state=present) adds a member (as a learner by default) and returns the
    RV(initial_cluster) the new member must start with. It never re-points a member that exists
    under O(name) with other peer URLs unless O(update_peer_urls=true).
  - O(state=promoted) promotes a learner to a voting member, retrying while etcd reports that
    the learner has not caught up with the leader and the learner's raft applied index keeps
    moving, so a large member that takes long to catch up is not given up on.
  - O(state=absent) removes a member, moving leadership away first when it is the leader.
  - O(state=leader) makes a member the leader, for example so that a rolling restart restarts
    the leader last.
  - Every change is checked against quorum before anything is sent to etcd. The module probes
    each member's client URL (C(/v3/maintenance/status) and C(/health), with the same TLS options
    and a short O(probe_timeout)) and refuses a change that would leave fewer healthy voting members than the
    quorum of the new cluster size. A refusal names the unhealthy members and what to do.
  - Members are matched exactly by name, ID or peer URL; a selector never matches a prefix or a
    substring, so V(http://10.0.0.1:2380) never selects V(http://10.0.0.11:2380).
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection, raftops.etcd.run_lock]
attributes:
  check_mode:
    details: Reports what would be done, including a leadership move, and changes nothing.
  diff_mode:
    support: full
    details:
      - For O(state=present), O(state=absent) and O(state=promoted) the diff lists the members
        before and after, one line each as C(name (id) learner|voter peer_urls).
      - O(state=leader) does not change membership and returns no diff.
options:
  state:
    description:
      - V(present) makes sure a member with O(name) and O(peer_urls) exists. When no member has
        those peer URLs it is added, as a learner unless O(learner=false).
      - A member that was added but has not started yet (it has no name) is recognised by its peer
        URLs, and a learner that has started under O(name) with these peer URLs (a join that was
        interrupted) is reported unchanged; both return RV(initial_cluster), so the member can be
        started again and promoted.
      - When a member named O(name) exists with other peer URLs the task fails, unless
        O(update_peer_urls=true).
      - V(promoted) promotes the learner selected by O(name), O(id) or O(peer_url); a voting
        member is left alone.
      - V(absent) removes the member selected by O(name), O(id) or O(peer_url).
      - V(leader) moves leadership to the member selected by O(name), O(id) or O(peer_url), or,
        with O(away_from), away from a member to the follower best placed to take over.
    type: str
    choices: [present, promoted, absent, leader]
    default: present
  name:
    description:
      - The member's etcd C(--name) (the inventory's C(NODE_NAME)). Matched exactly.
      - Required with O(state=present). With other states one of O(name), O(id) or O(peer_url)
        selects the member.
      - A member that has not started yet has no name; select it by O(id) or O(peer_url).
    type: str
  id:
    description:
      - Member ID, either in hex as C(etcdctl member list) prints it (V(8e9e05c52164694d), also
        with V(0x)) or in decimal as the gateway returns it.
      - A string of decimal digits is also valid hex; the module uses whichever reading names an
        existing member, and fails when both do.
    type: str
    aliases: [member_id]
  peer_url:
    description:
      - Selects the member that has exactly this peer URL (a trailing V(/) is ignored).
    type: str
  peer_urls:
    description:
      - Peer URLs of the member for O(state=present), for example V(https://10.0.0.14:2380).
      - Each must be C(http://) or C(https://) with a host and a port and no path.
    type: list
    elements: str
  learner:
    description:
      - With O(state=present), add the member as a learner (non-voting) member. Promote it with
        O(state=promoted) once it has started.
      - Set V(false) only to add a voting member directly; the cluster's quorum grows at once,
        before the new member has caught up.
      - etcd allows one learner at a time; a second learner is refused until the first is promoted
        or removed.
    type: bool
    default: true
  probe_timeout:
    description:
      - Seconds to wait for each answer (status, then C(/health)) when probing the members before a
        change. A member that does not answer in time counts as unhealthy.
    type: float
    default: 3
  promote_timeout:
    description:
      - With O(state=promoted), how long the learner may make no progress, in seconds.
      - etcd refuses the promotion until the learner has 90% of the leader's log. The refusal is
        retried once a second for as long as the learner's raft applied index (read from its own
        C(/v3/maintenance/status) on its client URLs) keeps rising; the task fails once the index
        has not moved for this many seconds. A learner whose status cannot be read counts as not
        moving.
      - While a learner receives a snapshot from the leader its applied index does not move; allow
        for the time a snapshot of the cluster's database takes to transfer.
      - Set an absolute ceiling with O(promote_max_time).
    type: int
    default: 120
  promote_max_time:
    description:
      - With O(state=promoted), the most seconds to keep retrying in all, even while the learner
        makes progress. V(0) means no limit; the wait then ends only when the learner is promoted
        or has stalled for O(promote_timeout).
    type: int
    default: 0
  update_peer_urls:
    description:
      - With O(state=present), when a voting member named O(name) exists with other peer URLs,
        update its peer URLs to O(peer_urls) (C(member/update)); for a member that moved to a new
        address.
      - By default such a task fails and changes nothing, because the name most likely belongs to
        a live member and another host was given it by mistake; to put a new host in place of a
        member, use the C(replace_member) playbook.
      - The peer URLs of a learner are never updated (see the notes).
    type: bool
    default: false
  transfer_timeout:
    description:
      - Seconds to wait for leadership to move, with O(state=leader) and when O(state=absent)
        removes the leader.
    type: int
    default: 30
  away_from:
    description:
      - With O(state=leader), instead of a member to make the leader, the name of a member to move
        leadership away from, for example before it restarts or defragments.
      - When that member leads, leadership moves to the healthy voting follower that has applied
        the most entries (ties go to the higher raft index, then to the lower member ID), and
        RV(leader_moved_to) names it. When it does not lead, nothing changes.
      - When no healthy voting follower can take over (a one-member cluster, or the others down or
        learners), nothing changes, and RV(successor) is V(null).
      - Not with O(name), O(id) or O(peer_url).
    type: str
  missing_ok:
    description:
      - With O(state=absent), a member selected by O(name) or O(peer_url) that does not exist is
        reported as V(changed=false) instead of failing.
      - By default a missing member fails the task, so a typo in a name is not silently ignored.
      - Not allowed with O(id). Member IDs change when a member is re-added, so a missing ID most
        likely is the wrong ID and always fails.
    type: bool
    default: false
notes:
  - Adding follows etcd's runtime reconfiguration procedure. After O(state=present) added a
    member, start it with an empty data directory, C(--initial-cluster-state existing) and
    C(--initial-cluster) set to RV(initial_cluster); then promote it with O(state=promoted).
  - Only one member may be added at a time. While an added member has not started it counts
    toward quorum, so another add is refused until it has started or was removed.
  - Updating the peer URLs of a learner is refused, whatever O(update_peer_urls), because etcd
    before 3.5.31 and 3.6.12 promotes a learner on C(member/update). Remove and re-add it instead.
  - O(state=present) with O(learner=true) for a voting member that exists with the same name and
    peer URLs changes nothing and returns it as RV(member) with C(is_learner) V(false) and
    C(started) V(true).
  - etcd 3.4 and 3.5 refuse any add while the member that handles it is not connected to every
    voting member (C(unhealthy cluster)). To replace a dead member, remove it first, then add the
    replacement.
  - A membership change is sent to the first endpoint that accepts a connection. When the request
    was sent and then timed out it may still be applied, so it is not repeated on another endpoint;
    the module lists the members to see whether it took effect, and fails only when it did not.
  - Removing the leader moves leadership first to the healthy voting follower with the highest
    raft applied index, by calling C(transfer-leadership) on the leader's own client URL.
  - With etcd authentication enabled, membership changes need the root role.
seealso:
  - module: raftops.etcd.etcd_member_info
    description: List the members, the leader and the quorum, optionally with each member's health.
  - module: raftops.etcd.etcd_health
    description: Wait until every member is healthy, for example between joining and promoting.
  - name: etcd runtime reconfiguration
    description: The add, promote and remove procedure this module implements.
    link: https://etcd.io/docs/v3.5/op-guide/runtime-configuration/
  - name: etcd learner design
    description: Why new members join as learners.
    link: https://etcd.io/docs/v3.5/learning/design-learner/
"""

EXAMPLES = r"""
- name: Add etcd-host3 as a learner
  raftops.etcd.etcd_member:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
    state: present
    name: etcd-host3
    peer_urls: ["https://10.0.0.14:2380"]
  register: etcd_join

- name: Start the new member with the cluster it joins
  ansible.builtin.debug:
    msg: "--initial-cluster-state existing --initial-cluster {{ etcd_join.initial_cluster }}"

- name: Promote etcd-host3 once it has caught up (fails when it makes no progress for 5 minutes, or after 2 hours)
  raftops.etcd.etcd_member:
    endpoints: ["https://10.0.0.11:2379"]
    state: promoted
    name: etcd-host3
    promote_timeout: 300
    promote_max_time: 7200

- name: Point etcd-host2 at its new address after the host was re-addressed
  raftops.etcd.etcd_member:
    endpoints: ["https://10.0.0.11:2379"]
    state: present
    name: etcd-host2
    peer_urls: ["https://10.0.1.13:2380"]
    update_peer_urls: true

- name: Remove etcd-host1 by name (leadership moves away first if it leads)
  raftops.etcd.etcd_member:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.13:2379"]
    state: absent
    name: etcd-host1

- name: Remove a member by the hex ID etcdctl printed
  raftops.etcd.etcd_member:
    endpoints: ["https://10.0.0.11:2379"]
    state: absent
    id: 8e9e05c52164694d

- name: Remove a dead member if it is still there (no failure when already gone)
  raftops.etcd.etcd_member:
    endpoints: ["https://10.0.0.11:2379"]
    state: absent
    peer_url: https://10.0.0.13:2380
    missing_ok: true

- name: Make etcd-host0 the leader before restarting the others
  raftops.etcd.etcd_member:
    endpoints: ["https://10.0.0.11:2379"]
    state: leader
    name: etcd-host0
"""

RETURN = r"""
members:
  description:
    - The members after the task. In check mode, the members as they would be.
    - Each entry is a member as M(raftops.etcd.etcd_member_info) returns it in its RV(members), without
      the probe fields; C(id) is the member ID in hex as C(etcdctl member list) prints it.
    - A member that was added but has not started has an empty C(name) and no client URLs.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 8e9e05c52164694d
      name: etcd-host0
      peer_urls: ["https://10.0.0.11:2380"]
      client_urls: ["https://10.0.0.11:2379"]
      is_learner: false
      started: true
leader:
  description:
    - The leader, with the same keys as an entry of RV(members); V(null) when no member knows a
      leader.
  returned: always
  type: dict
member:
  description:
    - The member the task acted on, with the same keys as an entry of RV(members). After a
      removal, the member that was removed.
    - In check mode an add has not happened, so the new member's C(id) is empty.
    - V(null) when O(state=absent) found nothing and O(missing_ok=true).
  returned: always
  type: dict
  sample:
    id: a72e1bbcea94d222
    name: ""
    peer_urls: ["https://10.0.0.14:2380"]
    client_urls: []
    is_learner: true
    started: false
initial_cluster:
  description:
    - The C(--initial-cluster) value the member must start with to join, C(name=peer_url) for every
      member including itself, comma-separated.
  returned: when O(state=present)
  type: str
  sample: etcd-host0=https://10.0.0.11:2380,etcd-host1=https://10.0.0.12:2380,etcd-host2=https://10.0.0.13:2380,etcd-host3=https://10.0.0.14:2380
began_at:
  description:
    - When the task began, before anything changed, in UTC as C(journalctl --since) reads it. What the
      added member's etcd logs after this time comes of its join.
  returned: when O(state=present)
  type: str
  sample: "2026-01-31 10:00:00 UTC"
quorum:
  description: Voting members, quorum and failures tolerated after the task.
  returned: always
  type: dict
  sample:
    voters: 3
    quorum: 2
    failures_tolerated: 1
leader_moved_to:
  description:
    - The member that took over leadership when O(state=absent) removed the leader or O(state=leader)
      moved it; V(null) when leadership did not move.
  returned: when O(state=absent) or O(state=leader)
  type: dict
  sample:
    id: 8211f1d0f64f3269
    name: etcd-host1
    peer_urls: ["https://10.0.0.12:2380"]
    client_urls: ["https://10.0.0.12:2379"]
    is_learner: false
    started: true
attempts:
  description: Promotion requests sent before etcd accepted one (0 when nothing was sent).
  returned: when O(state=promoted)
  type: int
  sample: 4
learner_applied_index:
  description:
    - The learner's raft applied index as last read from its own status, before the promotion
      and after each refusal; V(null) when it could not be read.
    - Also returned when the task fails, to show how far the learner got.
  returned: when O(state=promoted) selected a learner
  type: int
  sample: 183402
successor:
  description:
    - With O(away_from), the healthy voting follower that takes (or would take) over leadership
      from that member, with the same keys as RV(member); V(null) when none can.
  returned: when O(away_from) is given
  type: dict
  sample: {id: 8211f1d0f64f3269, name: etcd-host1, peer_urls: ["https://10.0.0.12:2380"],
           client_urls: ["https://10.0.0.12:2379"], is_learner: false, started: true}
leader_applied_index:
  description:
    - The leader's raft applied index as last read, at the same times as
      RV(learner_applied_index); V(null) when it could not be read.
  returned: when O(state=promoted) selected a learner
  type: int
  sample: 183467
msg:
  description: What was done, or would be done in check mode, and any warning that applies.
  returned: always
  type: str
  sample: added etcd-host3 (a72e1bbcea94d222) as a learner; start it with initial-cluster-state existing, then promote it
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import CONNECTION_EXCLUSIVE, EtcdError, connection_argument_spec, endpoints_shown
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import NAME_RULE, is_valid_name
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import membership as em
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.member_task import SELECTORS, Failure, MemberTask, url_problem
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import RUN_LOCK_SPEC


def validate(module):
    p = module.params
    state = p["state"]
    if state != "present" and p["peer_urls"]:
        module.fail_json(msg="peer_urls only applies with state=present; select a member with peer_url (one URL)")
    if state == "absent" and p["missing_ok"] and p["id"] is not None:
        module.fail_json(msg="missing_ok cannot be used with id %s: member IDs change when a member is re-added, "
                             "so a missing ID is always an error; select the member by name or peer_url" % p["id"])
    if state == "present":
        if not is_valid_name(p["name"]):
            module.fail_json(msg="name %r is not a valid member name: use %s" % (p["name"], NAME_RULE))
        for url in p["peer_urls"]:
            problem = url_problem(url)
            if problem:
                module.fail_json(msg="peer_urls: %r %s" % (url, problem))
    if p["id"] is not None:
        try:
            em.id_candidates(p["id"])
        except em.MembershipError as exc:
            module.fail_json(msg=str(exc))
    for key in ("promote_timeout", "promote_max_time", "transfer_timeout"):
        if p[key] < 0:
            module.fail_json(msg="%s must not be negative, got %s" % (key, p[key]))


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        state=dict(type="str", default="present", choices=["present", "promoted", "absent", "leader"]),
        name=dict(type="str"),
        id=dict(type="str", aliases=["member_id"]),
        peer_url=dict(type="str"),
        peer_urls=dict(type="list", elements="str"),
        learner=dict(type="bool", default=True),
        probe_timeout=dict(type="float", default=3.0),
        promote_timeout=dict(type="int", default=120),
        promote_max_time=dict(type="int", default=0),
        transfer_timeout=dict(type="int", default=30),
        missing_ok=dict(type="bool", default=False),
        update_peer_urls=dict(type="bool", default=False),
        away_from=dict(type="str"),
        run_lock=RUN_LOCK_SPEC,
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[(*SELECTORS, "away_from"), *CONNECTION_EXCLUSIVE],
        required_if=[
            ("state", "present", ("name", "peer_urls")),
            ("state", "promoted", SELECTORS, True),
            ("state", "absent", SELECTORS, True),
            ("state", "leader", (*SELECTORS, "away_from"), True),
        ],
        supports_check_mode=True,
    )
    validate(module)
    try:
        task = MemberTask(module)
    except EtcdError as exc:
        module.fail_json(msg="cannot set up the etcd client for %s: %s" % (endpoints_shown(module.params), exc))
    runner = getattr(task, "run_" + module.params["state"])
    try:
        result = runner()
    except Failure as exc:
        module.fail_json(msg=str(exc), **task.result)
    except em.MembershipError as exc:
        module.fail_json(msg="%s (cluster seen through %s)" % (exc, task.source or task.endpoints), **task.result)
    except EtcdError as exc:
        module.fail_json(msg="etcd error: %s" % exc, **task.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
