#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_maintenance
short_description: Plan and run etcd maintenance, member by member and leader last
version_added: 1.0.0
description:
  - Keeps the databases of an etcd cluster in shape through etcd's v3 HTTP/JSON gateway, one step per
    task so that a playbook can work through the members one at a time, followers first and the
    leader last, moving leadership before the leader's turn.
  - O(action=plan) observes every member (as M(raftops.etcd.etcd_health) does) and returns the
    members in the order to work on, with each member's database figures and whether O(rule) says
    to defragment it. It changes nothing.
  - O(action=compact) drops the keyspace's history before a revision, for the whole cluster.
  - O(action=defragment) defragments one member's database, optionally only when O(rule) holds
    for it, and refuses the leader unless O(allow_leader=true).
  - O(action=alarms) lists the raised alarms; O(action=disarm) disarms them and, after a
    C(NOSPACE) alarm, proves that a write works again.
  - O(action=hash_check) compares the keyspace hash of every voting member at one revision, to
    find a member whose data diverged.
  - To recover from C(NOSPACE) (the database reached its quota and etcd refuses writes), follow
    etcd's procedure with the actions in this order - V(compact), V(plan), V(defragment) for each
    member of RV(order) (with a C(NOSPACE) alarm raised every member is in it), V(disarm).
  - O(action=plan) and O(action=defragment) refuse to work on a cluster that is not healthy apart
    from C(NOSPACE) alarms - a member down or unhealthy, no leader, another alarm raised - or that
    has a learner, and name every member concerned and why. Defragmenting blocks the member's reads
    and writes while it runs, which a cluster with a member already missing may not survive.
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  check_mode:
    details:
      - O(action=plan), O(action=alarms) and O(action=hash_check) only read, and run in full.
      - O(action=compact) reports the revision it would compact to, O(action=defragment) its
        decision and O(action=disarm) the alarms it would disarm, and none of them changes anything.
options:
  action:
    description:
      - What to do; see the description.
    type: str
    required: true
    choices: [plan, compact, defragment, alarms, disarm, hash_check]
  rule:
    description:
      - With O(action=plan) and O(action=defragment), when a member's database is worth
        defragmenting. A rule compares the member's C(size) (the database file's bytes, etcd's
        C(dbSize)), C(in_use) (C(dbSizeInUse)), C(free) (C(size) - C(in_use), what defragmenting
        gives back), C(free_percent) (C(free) as a percentage of C(size); 0 for an empty file) and
        C(quota_percent) (C(size) as a percentage of O(quota_bytes)).
      - A comparison is C(quantity OP number[unit]) with OP one of C(>), C(>=), C(<), C(<=). Units
        are C(B), C(KB), C(MB), C(GB) (powers of 1000) and C(KiB), C(MiB), C(GiB) (powers of 1024),
        written exactly so; a byte quantity without a unit is in bytes; C(%) may follow only the two
        percentages. C(and) binds tighter than C(or), parentheses group, and C(always) and C(never)
        stand for themselves.
      - With O(action=plan) it defaults to V(free_percent > 50 and free > 100MiB or quota_percent > 80)
        (half the file is free and that is more than 100 MiB, or the file fills 80% of the quota).
      - With O(action=defragment), without a rule the member is defragmented whatever its figures.
      - While a C(NOSPACE) alarm is raised every member is defragmented, whatever the rule says.
      - A rule that cannot be read fails the task before anything is sent, naming the problem and
        where it is.
    type: str
  quota_bytes:
    description:
      - The members' backend quota in bytes (C(--quota-backend-bytes)), for C(quota_percent).
      - V(0) means etcd's default, 2 GiB, as it does for etcd.
    type: int
    default: 0
  max_raft_index_gap:
    description:
      - With O(action=plan), every voting member's raft applied index must be within this many
        entries of the leader's, or the plan fails naming the member that is behind.
    type: int
    default: 50
  wait_timeout:
    description:
      - With O(action=plan), seconds to wait for a cluster that is not ready for maintenance yet (a
        member defragmented a moment ago and still catching up, a member restarting, no member
        answering yet), looking again every 2 seconds; the task fails with the last refusal when
        the time is up.
      - V(0) looks once.
    type: int
    default: 0
    version_added: 1.0.0
  keep:
    description:
      - With O(action=compact), how many revisions of history to keep - the cluster is compacted to
        its current revision minus O(keep), as etcd's revision auto-compaction does.
      - V(0) compacts to the current revision.
    type: int
    default: 0
  physical:
    description:
      - With O(action=compact), wait until the member that handles the request has removed the
        compacted history from its database, so that a defragmentation after it gives the space
        back.
    type: bool
    default: true
  member:
    description:
      - With O(action=defragment), the name of the member to defragment (required there).
      - The module sends the request to that member's own client URL, as it reached it when it
        observed the cluster.
      - With O(action=hash_check), the voting member whose keyspace is the reference, such as the
        survivor a quorum recovery started from; the members whose hash differs from its hash are
        named. Without it, the hash most members share is the reference.
    type: str
  allow_leader:
    description:
      - With O(action=defragment), defragment the member even when it is the leader.
      - By default the leader is refused, because a defragmenting member stops applying and
        answering while it runs, which on the leader stalls every write and can cost a leader
        election; move leadership away first (M(raftops.etcd.etcd_member) with
        O(raftops.etcd.etcd_member#module:state=leader)).
    type: bool
    default: false
  defrag_timeout:
    description:
      - With O(action=defragment), seconds to wait for the defragmentation to finish. Defragmenting
        rewrites the whole database file, so a large database takes long.
      - etcd goes on defragmenting when the wait ends; the task then fails saying so.
    type: int
    default: 300
  alarm:
    description:
      - With O(action=disarm), which alarms to disarm on every member that has them raised.
      - V(NOSPACE) is raised when a member's database reached the quota; disarm it after compacting
        and defragmenting, or etcd raises it again at the next write.
      - V(CORRUPT) is raised when etcd's corruption check found members whose data differ. It is
        disarmed only when named here, or with V(all), never by default. Disarming it repairs
        nothing - find the diverged member with O(action=hash_check) and replace it first.
      - V(all) disarms both.
    type: str
    choices: [NOSPACE, CORRUPT, all]
    default: NOSPACE
  write_check_key:
    description:
      - With O(action=disarm), after disarming a C(NOSPACE) alarm, this key is written and deleted
        to prove that writes work again. Choose a key no application uses.
    type: str
    default: /raftops/maintenance/write-check
  fail_on_divergence:
    description:
      - With O(action=hash_check), fail naming the members whose hash differs from the reference's
        (O(member), else the majority's).
      - With V(false) the task succeeds and RV(consistent) and RV(diverged) tell.
    type: bool
    default: true
  fail_on_unsupported:
    description:
      - With O(action=hash_check), fail when a member's release does not serve C(HashKV) through its
        gateway (before etcd 3.5.10).
      - With V(false) the task succeeds without comparing, RV(unsupported) and RV(msg) say why.
    type: bool
    default: true
    version_added: 1.0.0
notes:
  - Defragmenting works on one member only and blocks its reads and writes while it runs; work
    through the members one at a time with RV(order), waiting for the cluster to be healthy in
    between (M(raftops.etcd.etcd_health) with O(raftops.etcd.etcd_health#module:wait=true)).
  - Compaction goes through raft and reaches every member; a member's database file keeps its size
    until that member is defragmented.
  - O(action=hash_check) reads each voting member's C(HashKV) at the lowest current revision among
    them, so that no member is asked for a revision it does not have yet. A hash covers the history
    from the member's last compaction on, so hashes compare only when every member reports the same
    compact revision; while a compaction is still reaching the members the check is repeated, up to
    3 times a second apart. Learners are not checked. The check reads every member's whole
    keyspace, so each member's read may take O(timeout), or longer for a large database (its size at
    20 MiB/s).
  - etcd 3.4's gateway does not serve C(HashKV) (it maps it to the path of C(Hash)), so
    O(action=hash_check) needs etcd 3.5.10 or later; before, etcd's gateway serves Hash at the path of HashKV.
  - etcd 3.6 reports each member's quota in its status; this module uses O(quota_bytes) on every
    release, so set it when the members run with a C(--quota-backend-bytes) of their own.
  - With etcd authentication enabled, defragmentation and C(HashKV) need the root role.
  - The action plugin shows the RV(msg) of O(action=defragment) and of O(action=hash_check) in the run's
    output as the task is done (a hash check it could not make, O(fail_on_unsupported=false), starts
    with C(no hash check:)), not that of a task that failed.
seealso:
  - module: raftops.etcd.etcd_health
    description: Wait for the cluster to be healthy between two members.
  - module: raftops.etcd.etcd_member
    description: Move leadership away from the leader before its turn.
  - name: etcd maintenance
    description: Compaction, defragmentation, space quota and alarms.
    link: https://etcd.io/docs/v3.5/op-guide/maintenance/
"""

EXAMPLES = r"""
- name: Maintain the cluster through the member on the first host
  run_once: true
  delegate_to: "{{ groups['etcd'][0] }}"
  module_defaults:
    group/raftops.etcd.etcd:
      endpoints: ["https://127.0.0.1:2379"]
      ca_cert: /etc/etcd/pki/ca.pem
      client_cert: /etc/etcd/pki/admin.pem
      client_key: /etc/etcd/pki/admin-key.pem
  block:
    - name: Compact, keeping the last 10000 revisions
      raftops.etcd.etcd_maintenance:
        action: compact
        keep: 10000

    - name: Plan the defragmentation (followers first, the leader last)
      raftops.etcd.etcd_maintenance:
        action: plan
        rule: "free_percent > 30 and free > 1GiB or quota_percent > 70"
        quota_bytes: 8589934592
      register: etcd_plan

    - name: Defragment the followers the plan names, one at a time
      raftops.etcd.etcd_maintenance:
        action: defragment
        member: "{{ item.name }}"
        defrag_timeout: 600
      loop: "{{ etcd_plan.members | selectattr('defragment') | rejectattr('is_leader') }}"
      loop_control:
        label: "{{ item.name }}"

    - name: Move leadership to a follower before the leader's turn
      raftops.etcd.etcd_member:
        state: leader
        name: "{{ etcd_plan.members[0].name }}"
      when: (etcd_plan.members | last).defragment and etcd_plan.members | length > 1

    - name: Defragment the member that was the leader
      raftops.etcd.etcd_maintenance:
        action: defragment
        member: "{{ (etcd_plan.members | last).name }}"
        defrag_timeout: 600
      when: (etcd_plan.members | last).defragment

    - name: After NOSPACE, once compacted and defragmented, disarm and prove that writes work
      raftops.etcd.etcd_maintenance:
        action: disarm

    - name: Check that every member holds the same keyspace
      raftops.etcd.etcd_maintenance:
        action: hash_check
        timeout: 60
"""

RETURN = r"""
msg:
  description: What the task did or would do, in a sentence.
  returned: always
  type: str
  sample: "etcd-b: defragmented in 2.4 s, 250 MiB given back (400 MiB -> 150 MiB)"
members:
  description:
    - The voting members in the order to work on them, followers first by name and the leader last.
  returned: when O(action=plan)
  type: list
  elements: dict
  contains:
    name:
      description: Member name.
      type: str
    member_id:
      description: Member ID in hex, as etcdctl prints it.
      type: str
    endpoint:
      description: The member's first advertised client URL.
      type: str
    is_leader:
      description: Whether the member is the leader.
      type: bool
    db_size:
      description: Size of the member's database file in bytes (C(size) of the rule).
      type: int
    db_size_in_use:
      description: Bytes of the file in use (C(in_use) of the rule).
      type: int
    free:
      description: Bytes that defragmenting would give back (C(free) of the rule).
      type: int
    free_percent:
      description: C(free) as a percentage of the file's size, to one decimal.
      type: float
    quota_percent:
      description: The file's size as a percentage of O(quota_bytes), to one decimal.
      type: float
    raft_applied_index:
      description: The raft entries the member has applied; the follower with the most takes over leadership.
      type: int
    defragment:
      description: Whether to defragment the member - the rule holds, or a C(NOSPACE) alarm is raised.
      type: bool
    reason:
      description: The comparisons of the rule that decided, with the member's figures.
      type: str
  sample:
    - name: etcd-b
      member_id: 8211f1d0f64f3269
      endpoint: https://10.0.0.12:2379
      is_leader: false
      db_size: 419430400
      db_size_in_use: 157286400
      free: 262144000
      free_percent: 62.5
      quota_percent: 19.5
      raft_applied_index: 48210
      defragment: true
      reason: "free_percent 62.5 > 50: yes, free 250.0 MiB > 100 MiB: yes -> defragment"
order:
  description: The names of the members to defragment, in the order of RV(members).
  returned: when O(action=plan)
  type: list
  elements: str
  sample: [etcd-b, etcd-a]
alarms:
  description: The alarms raised, one entry per member and alarm.
  returned: when O(action=plan) or O(action=alarms)
  type: list
  elements: dict
  contains:
    member:
      description: Name of the member; null for a member that is no longer in the member list.
      type: str
    member_id:
      description: Member ID in hex.
      type: str
    alarm:
      description: C(NOSPACE) or C(CORRUPT).
      type: str
  sample: [{"member": "etcd-a", "member_id": "8e9e05c52164694d", "alarm": "NOSPACE"}]
nospace:
  description: Whether a C(NOSPACE) alarm is raised (every member is then in RV(order)).
  returned: when O(action=plan)
  type: bool
  sample: false
rule:
  description: The rule that decided, as written.
  returned: when O(action=plan), and with O(action=defragment) when O(rule) is set
  type: str
  sample: "free_percent > 50 and free > 100MiB or quota_percent > 80"
revision:
  description:
    - With O(action=plan), the cluster's current revision.
    - With O(action=hash_check), the revision every member hashed up to.
  returned: when O(action=plan) or O(action=hash_check)
  type: int
  sample: 48210
current_revision:
  description: The cluster's revision before compacting.
  returned: when O(action=compact)
  type: int
  sample: 48210
compacted_to:
  description:
    - The revision the history was compacted to (in check mode, would be); the history before it
      is gone.
    - null when there was nothing to compact - O(keep) covers the whole history, or it was compacted
      that far already.
  returned: when O(action=compact)
  type: int
  sample: 38210
physical:
  description: Whether the compaction waited until the history was removed from the database.
  returned: when O(action=compact)
  type: bool
  sample: true
member:
  description: Name of the member O(action=defragment) worked on.
  returned: when O(action=defragment)
  type: str
  sample: etcd-b
member_id:
  description: Its member ID in hex.
  returned: when O(action=defragment)
  type: str
  sample: 8211f1d0f64f3269
endpoint:
  description: The client URL the defragmentation was sent to.
  returned: when O(action=defragment)
  type: str
  sample: https://10.0.0.12:2379
is_leader:
  description: Whether the member was the leader.
  returned: when O(action=defragment)
  type: bool
  sample: false
defragment:
  description: Whether the member is (in check mode, would be) defragmented.
  returned: when O(action=defragment)
  type: bool
  sample: true
reason:
  description: Why or why not - the rule's comparisons, C(NOSPACE), or no rule given.
  returned: when O(action=defragment)
  type: str
  sample: "free_percent 62.5 > 50: yes, free 250.0 MiB > 100 MiB: yes -> defragment"
before:
  description: The member's database before defragmenting, C(db_size) and C(db_size_in_use) in bytes.
  returned: when O(action=defragment)
  type: dict
  sample: {"db_size": 419430400, "db_size_in_use": 157286400}
after:
  description: The member's database after defragmenting; null when it was not defragmented.
  returned: when O(action=defragment)
  type: dict
  sample: {"db_size": 157286400, "db_size_in_use": 157286400}
reclaimed:
  description:
    - Bytes the database file shrank by; null when it was not defragmented.
    - Writes during the defragmentation count against it.
  returned: when O(action=defragment)
  type: int
  sample: 262144000
seconds:
  description: How long the defragmentation took; null when it was not defragmented.
  returned: when O(action=defragment)
  type: float
  sample: 2.4
disarmed:
  description: The alarms disarmed (in check mode, to disarm), with the keys of RV(alarms).
  returned: when O(action=disarm)
  type: list
  elements: dict
  sample: [{"member": "etcd-a", "member_id": "8e9e05c52164694d", "alarm": "NOSPACE"}]
write_checked:
  description: Whether a write was made and deleted after disarming C(NOSPACE), and worked.
  returned: when O(action=disarm)
  type: bool
  sample: true
hashes:
  description: Each voting member's hash of the keyspace at RV(revision).
  returned: when O(action=hash_check)
  type: list
  elements: dict
  contains:
    member:
      description: Member name.
      type: str
    member_id:
      description: Member ID in hex.
      type: str
    hash:
      description: The member's HashKV.
      type: int
    compact_revision:
      description: The member's last compaction, where its hash starts.
      type: int
  sample: [{"member": "etcd-a", "member_id": "8e9e05c52164694d", "hash": 3709914232, "compact_revision": 38210}]
diverged:
  description:
    - Names of the members whose hash differs from O(member)'s, or without O(member) from the one
      most members share.
    - Every member, when no O(member) is given and no hash is shared by more than half of them.
  returned: when O(action=hash_check)
  type: list
  elements: str
  sample: []
consistent:
  description: Whether every member's hash is the same.
  returned: when O(action=hash_check)
  type: bool
  sample: true
unsupported:
  description:
    - V(true) when the task failed because a member's release does not serve HashKV through its gateway,
      or with O(fail_on_unsupported=false) did not compare the hashes for that reason.
  returned: when O(action=hash_check) failed or did not compare for that reason
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE,
    connection_argument_spec,
    module_clients,
)
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.maintenance_task import ACTIONS, DISARMS, run


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        action=dict(type="str", required=True, choices=list(ACTIONS)),
        rule=dict(type="str"),
        quota_bytes=dict(type="int", default=0),
        max_raft_index_gap=dict(type="int", default=50),
        keep=dict(type="int", default=0),
        physical=dict(type="bool", default=True),
        member=dict(type="str"),
        allow_leader=dict(type="bool", default=False),
        defrag_timeout=dict(type="int", default=300),
        wait_timeout=dict(type="int", default=0),
        alarm=dict(type="str", default="NOSPACE", choices=list(DISARMS)),
        # a key of etcd's keyspace, not a secret
        write_check_key=dict(type="str", default="/raftops/maintenance/write-check", no_log=False),
        fail_on_divergence=dict(type="bool", default=True),
        fail_on_unsupported=dict(type="bool", default=True),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=CONNECTION_EXCLUSIVE,
                           required_if=[("action", "defragment", ("member",))],
                           supports_check_mode=True)
    clients, make_client = module_clients(module)
    failure, result = run(module.params, clients, make_client, check_mode=module.check_mode)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
