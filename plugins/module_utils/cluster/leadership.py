# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Who takes leadership over from a member: one rule for every hand-over.

The etcd_member module (a removal of the leader, ``state=leader`` with ``away_from``, which the
role's roll and maintenance use) and the members' maintenance timer all choose with ``successor``.
Standard library only, and no imports of the collection: the etcd role copies this very file onto
the members, beside the timer's script.
"""


def successor(statuses, leaving_id=None, members=None, max_raft_index_gap=None):
    """The healthy voting follower best placed to take over leadership, or None.

    ``statuses`` are normalized status replies (``member_id``, ``leader_id``, ``is_leader``,
    ``is_learner``, ``raft_applied_index``, ``raft_index``), as a list or a dict keyed by member ID;
    None stands for a member that did not answer or is not healthy. A candidate knows a leader, is
    not the leader, is not a learner (by its own status and, when given, by the member list
    ``members``, dicts with ``id`` and ``is_learner``), is a member of that list, and is not
    ``leaving_id``. The one with the highest raft applied index wins (it is the most caught up);
    ties go to the higher raft index, then to the lower member ID, so the choice is stable.

    With ``max_raft_index_gap``, the winner must also have applied the leader's raft index but at
    most that many entries (the leader's status must be among ``statuses``): a follower far behind
    would stall the cluster while it catches up as leader.
    """
    if isinstance(statuses, dict):
        statuses = list(statuses.values())
    statuses = [s for s in statuses if s]
    learner_ids = {m["id"] for m in members or [] if m["is_learner"]}
    known_ids = {m["id"] for m in members} if members is not None else None
    candidates = [
        s for s in statuses
        if s.get("leader_id")
        and not s.get("is_leader")
        and not s.get("is_learner")
        and s["member_id"] != leaving_id
        and s["member_id"] not in learner_ids
        and (known_ids is None or s["member_id"] in known_ids)
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda s: (s.get("raft_applied_index", 0), s.get("raft_index", 0), -s["member_id"]))
    if max_raft_index_gap is None:
        return best
    leader = next((s for s in statuses if s.get("is_leader")), None)
    if leader is None or best.get("raft_applied_index", 0) < leader.get("raft_index", 0) - max_raft_index_gap:
        return None
    return best
