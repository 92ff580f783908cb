"""Members in memory, as etcd_cluster_state.observe sees them through EtcdClient-like fakes.

A ``Node`` is one member; its fields mirror what the gateway would say (status, /health, the
certificate it presents). ``Cluster(*nodes, alarms=[(member id, alarm)])`` answers the member
list, alarms and version, and ``observe()`` is one look at it.
"""

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import cluster_state as cs
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import id_hex

REFUSED = "[Errno 111] Connection refused"


class Node:
    """One fake member; fields mirror what the gateway would say."""

    def __init__(self, name, member_id, port, **kw):
        self.name, self.id, self.port = name, member_id, port
        self.url = kw.get("url", "http://10.0.0.%d:2379" % port)
        self.learner = kw.get("learner", False)
        self.started = kw.get("started", True)
        self.down = kw.get("down", False)
        self.healthy = kw.get("healthy", True)
        self.reason = kw.get("reason", "")
        self.leader = kw.get("leader")
        self.term = kw.get("term", 2)
        self.index = kw.get("index", 100)
        self.applied = kw.get("applied", self.index)
        self.db_size = kw.get("db_size", 20480)
        self.in_use = kw.get("in_use", self.db_size)
        self.version = kw.get("version", "3.5.1")
        self.errors = kw.get("errors", [])
        self.gateway_404 = kw.get("gateway_404", False)
        self.cluster_id = kw.get("cluster_id", 77)
        self.cert_not_after = kw.get("cert_not_after")
        # with auth on and no quorum: the login waits (EtcdLoginUnanswered), /health and /version answer
        self.login_unanswered = kw.get("login_unanswered", False)


class FakeClient:
    def __init__(self, cluster, endpoint):
        self.cluster, self.endpoint = cluster, endpoint
        self.server_cert_not_after = None
        self.login_unanswered = None

    def _logged_in(self):
        node = self._node()
        if node.login_unanswered:
            self.login_unanswered = ec.EtcdLoginUnanswered("no answer to the login as root: timed out",
                                                           endpoint=self.endpoint)
            raise self.login_unanswered
        return node

    def _node(self):
        self.cluster.calls.append(self.endpoint)
        node = self.cluster.by_url.get(self.endpoint)
        if node is None or node.down or not node.started:
            raise ec.EtcdUnreachable(REFUSED, endpoint=self.endpoint)
        self.server_cert_not_after = node.cert_not_after
        return node

    def health(self, release=""):
        node = self._node()
        return node.healthy, node.reason

    def status(self):
        node = self._logged_in()
        if node.gateway_404:
            raise ec.EtcdError("Not Found", endpoint=self.endpoint, status=404)
        raw = {
            "header": {"cluster_id": str(node.cluster_id), "member_id": str(node.id)},
            "version": node.version, "dbSize": str(node.db_size), "dbSizeInUse": str(node.in_use),
            "raftTerm": str(node.term),
            "raftIndex": str(node.index), "raftAppliedIndex": str(node.applied), "errors": node.errors,
        }
        if node.leader:
            raw["leader"] = str(node.leader)
        if node.learner:
            raw["isLearner"] = True
        return ec.normalize_status(raw, endpoint=self.endpoint)

    def _voting(self):
        node = self._logged_in()
        if node.learner:
            raise ec.EtcdError("etcdserver: rpc not supported for learner", endpoint=self.endpoint, status=503)
        return node

    def member_list(self):
        self._voting()
        members = []
        for n in self.cluster.nodes:
            raw = {"ID": str(n.id), "peerURLs": ["http://10.0.0.%d:2380" % n.port]}
            if n.started:
                raw.update(name=n.name, clientURLs=[n.url])
            if n.learner:
                raw["isLearner"] = True
            members.append(ec.normalize_member(raw))
        return members

    def alarms(self):
        self._voting()
        return [dict(member_id=i, member_id_hex=id_hex(i), alarm=a) for i, a in self.cluster.alarms]

    def version(self):
        self._node()
        return {"etcdserver": "3.5.1", "etcdcluster": "3.5.0"}


class Cluster:
    def __init__(self, *nodes, alarms=()):
        self.nodes = list(nodes)
        self.by_url = {n.url: n for n in nodes}
        self.alarms = list(alarms)
        self.calls = []

    def client(self, url):
        return FakeClient(self, url)

    def observe(self, *urls, discover=True):
        clients = [self.client(u) for u in (urls or [self.nodes[0].url])]
        return cs.observe(clients, discover=discover, make_client=self.client)


def three(**overrides):
    """h0 (leader), h1, h2 following h0; overrides: {name: {field: value}}."""
    nodes = []
    for i, name in enumerate(("h0", "h1", "h2")):
        kw = dict(leader=0x100)
        kw.update(overrides.get(name, {}))
        nodes.append(Node(name, 0x100 + i, i + 1, **kw))
    return nodes
