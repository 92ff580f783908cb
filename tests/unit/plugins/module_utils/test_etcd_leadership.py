import ast

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import leadership as etcd_leadership
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.leadership import successor

A, B, C, D = 0xA1, 0xB2, 0xC3, 0xD4


def status(member_id, leader_id=A, applied=100, index=None, learner=False):
    return dict(member_id=member_id, leader_id=leader_id, is_leader=member_id == leader_id, is_learner=learner,
                raft_applied_index=applied, raft_index=applied if index is None else index)


def member(member_id, learner=False):
    return dict(id=member_id, is_learner=learner)


# Each row: statuses, keyword arguments, the member ID chosen (None: nobody can take over).
CASES = {
    "the follower that applied the most": (
        [status(A, applied=100), status(B, applied=90), status(C, applied=99)], {}, C),
    "the leader itself never": (
        [status(A, applied=500), status(B, applied=90)], {}, B),
    "the member leaving, when it is not the leader": (
        [status(A), status(B, applied=90), status(C, applied=99)], dict(leaving_id=C), B),
    "a learner by its own status": (
        [status(A), status(B, applied=90), status(D, applied=150, learner=True)], {}, B),
    "a learner by the member list (3.4 statuses lack isLearner)": (
        [status(A), status(B, applied=90), status(D, applied=150)],
        dict(members=[member(A), member(B), member(D, learner=True)]), B),
    "a member missing from the list": (
        [status(A), status(B, applied=90), status(D, applied=150)], dict(members=[member(A), member(B)]), B),
    "an unhealthy member (no status)": (
        [status(A), None, status(C, applied=10)], {}, C),
    "a member that knows no leader": (
        [status(A), status(B, leader_id=0, applied=150), status(C, applied=10)], {}, C),
    "ties go to the higher raft index": (
        [status(A), status(B, applied=7, index=7), status(C, applied=7, index=8)], {}, C),
    "then to the lower member ID": (
        [status(A), status(C, applied=7), status(B, applied=7)], {}, B),
    "a single member": ([status(A)], {}, None),
    "only learners and unhealthy members": (
        [status(A), None, status(D, learner=True)], {}, None),
    "nobody answered": ([], {}, None),
    "statuses keyed by member ID": (
        {A: status(A), B: status(B, applied=90), C: None}, {}, B),
    "caught up within the gap": (
        [status(A, applied=100, index=105), status(B, applied=100)], dict(max_raft_index_gap=10), B),
    "exactly at the gap": (
        [status(A, applied=100, index=105), status(B, applied=95)], dict(max_raft_index_gap=10), B),
    "too far behind the leader": (
        [status(A, applied=100, index=105), status(B, applied=94)], dict(max_raft_index_gap=10), None),
    "the gap needs the leader's status": (
        [status(B, applied=94), status(C, applied=90)], dict(max_raft_index_gap=10), None),
}


@pytest.mark.parametrize("statuses, kwargs, chosen", CASES.values(), ids=list(CASES))
def test_successor(statuses, kwargs, chosen):
    found = successor(statuses, **kwargs)
    assert (found and found["member_id"]) == (chosen or None)


def test_imports_nothing_but_the_standard_library():
    # the role copies this file onto the members, where only python3 is
    with open(etcd_leadership.__file__, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    imported = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imported == []
