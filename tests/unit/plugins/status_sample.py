"""etcd_health results of in-memory clusters (fake_members), as the status playbook reads them.

``health(nodes, alarms)`` runs the module's own check once; ``sample()`` is a five-member cluster
with a problem of most kinds, the example of docs/status.md.
"""

import time

from ansible_collections.raftops.etcd.plugins.modules import etcd_health
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_members import Cluster, Node

DAY = 86400
MIB = 1024 ** 2


def health(nodes, alarms=(), quota_bytes=0):
    """The result etcd_health returns for the cluster of ``nodes``, asked through the first one."""
    cluster = Cluster(*nodes, alarms=alarms)
    params = dict(discover=True, max_raft_index_gap=None, expect_members=None, allow_learners=True,
                  quota_bytes=quota_bytes)
    _healthy, result, _no_answer = etcd_health.check_once(params, [cluster.client(nodes[0].url)], cluster.client)
    return result


def member(number, leader=0xA1, **fields):
    """etcd-N at https://10.0.0.1N:2379, following ``leader``, with a certificate valid for two years."""
    fields.setdefault("cert_not_after", time.time() + 729.5 * DAY)
    fields.setdefault("version", "3.6.14")
    return Node("etcd-%d" % number, 0xA0 + number, 10 + number, url="https://10.0.0.%d:2379" % (10 + number),
                leader=leader, **fields)


def sample():
    """etcd-1 leads; etcd-2 raised NOSPACE; etcd-3's certificate expires in 12 days; etcd-4 is
    stopped; etcd-5 is a learner far behind."""
    return health([
        member(1, index=48210, db_size=180 * MIB, in_use=150 * MIB),
        member(2, index=48210, db_size=2048 * MIB, in_use=600 * MIB),
        member(3, index=48209, applied=48209, db_size=170 * MIB, in_use=150 * MIB,
               cert_not_after=time.time() + 12.5 * DAY),
        member(4, down=True),
        member(5, index=47000, applied=47000, db_size=90 * MIB, learner=True),
    ], alarms=[(0xA2, "NOSPACE")])
