"""An etcd cluster in memory for the module tests, reached through FakeClient objects by client URL.

FakeClient has the methods of ``etcd_client.EtcdClient`` the membership modules call; the tests
put it in EtcdClient's place, so every client the modules make (``client_factory``) is a fake. A member in
``down`` refuses connections (``EtcdUnreachable`` with ``sent=False``); ``timeouts`` makes the
next calls of a method time out after the request was sent, applied first or not.

``applied`` scripts a member's ``raftAppliedIndex`` (learners answer status too): member ID -> an
int, or a list whose items the member's status calls return in turn (the last one stays). Without
an entry a member reports ``50 - (low nibble of its ID)``.
"""

import copy

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec

REFUSED = "[Errno 111] Connection refused"


class FakeCluster:
    """An etcd cluster in memory, reached through FakeClient objects by client URL."""

    def __init__(self, names, leader, learner=None):
        self.members = []
        for index, name in enumerate(names):
            self.members.append(self._member(name, 0xA0 + index, "http://10.0.0.%d" % (index + 1),
                                             learner=name == learner))
        self.leader = self.by_name(leader)["id"]
        self.down = set()
        self.calls = []
        self.promote_refusals = 0
        self.unsettled = 0
        self.next_id = 0xF00
        # method name -> list of "applied" / "lost": the next calls time out after sending, with the
        # change applied by etcd anyway or not
        self.timeouts = {}
        # member id -> raftAppliedIndex: an int, or a list consumed one status call at a time
        self.applied = {}

    @staticmethod
    def _member(name, member_id, host, learner=False, started=True):
        return dict(id=member_id, id_hex="%x" % member_id, name=name if started else "",
                    peer_urls=[host + ":2380"], client_urls=[host + ":2379"] if started else [],
                    is_learner=learner, started=started)

    def applied_index(self, member):
        script = self.applied.get(member["id"])
        if script is None:
            return 50 - (member["id"] & 0xF)
        if isinstance(script, list):
            return script.pop(0) if len(script) > 1 else script[0]
        return script

    def by_name(self, name):
        return next(m for m in self.members if m["name"] == name)

    def client(self, endpoint):
        return FakeClient(self, endpoint)


class FakeClient:
    def __init__(self, cluster, endpoint):
        self.cluster, self.endpoint = cluster, endpoint.rstrip("/")

    def _me(self):
        for m in self.cluster.members:
            if self.endpoint in m["client_urls"] and m["id"] not in self.cluster.down:
                return m
        raise ec.EtcdUnreachable(REFUSED, endpoint=self.endpoint, sent=False)

    def _log(self, *call):
        self.cluster.calls.append((self.endpoint, *call))

    def _maybe_time_out(self, method, apply):
        pending = self.cluster.timeouts.get(method)
        if not pending:
            return
        outcome = pending.pop(0)
        if outcome == "applied":
            apply()
        raise ec.EtcdUnreachable("timed out (a member that has not joined a cluster with quorum does not answer)",
                                 endpoint=self.endpoint, sent=True)

    def member_list(self):
        self._me()
        return copy.deepcopy(self.cluster.members)

    def status(self):
        me = self._me()
        raw = {"header": {"member_id": str(me["id"])}, "leader": str(self.cluster.leader),
               "raftIndex": "50", "raftAppliedIndex": str(self.cluster.applied_index(me)), "isLearner": me["is_learner"]}
        return ec.normalize_status(raw, endpoint=self.endpoint)

    def health(self, release=""):
        """``/health``: true for a member that is up (the fake cluster always has its leader)."""
        self._me()
        return True, ""

    def alarms(self):
        self._me()
        return []

    def version(self):
        self._me()
        return {"etcdserver": "3.5.1", "etcdcluster": "3.5.0"}

    def move_leader(self, target_id):
        me = self._me()
        self._log("move_leader", target_id)
        if me["id"] != self.cluster.leader:
            raise ec.EtcdError("etcdserver: not leader", endpoint=self.endpoint)
        self.cluster.leader = target_id
        return {}

    def member_add(self, peer_urls, is_learner=True):
        self._me()
        self._log("member_add", list(peer_urls), is_learner)
        if self.cluster.unsettled:
            self.cluster.unsettled -= 1
            raise ec.EtcdError("etcdserver: unhealthy cluster", endpoint=self.endpoint)
        new = dict(FakeCluster._member("", self.cluster.next_id, "x", learner=is_learner, started=False),
                   peer_urls=list(peer_urls))
        self._maybe_time_out("member_add", lambda: self.cluster.members.append(new))
        self.cluster.members.append(new)
        return copy.deepcopy(new), copy.deepcopy(self.cluster.members)

    def member_remove(self, member_id):
        self._me()
        self._log("member_remove", member_id)

        def remove():
            if not any(m["id"] == member_id for m in self.cluster.members):
                raise ec.EtcdError("etcdserver: member not found", endpoint=self.endpoint)
            self.cluster.members = [m for m in self.cluster.members if m["id"] != member_id]

        self._maybe_time_out("member_remove", remove)
        remove()
        return {}

    def member_promote(self, member_id):
        self._me()
        self._log("member_promote", member_id)
        if self.cluster.promote_refusals:
            self.cluster.promote_refusals -= 1
            raise ec.EtcdError("etcdserver: can only promote a learner member which is in sync with leader",
                               endpoint=self.endpoint)
        for m in self.cluster.members:
            if m["id"] == member_id:
                m["is_learner"] = False
        return {}

    def member_update(self, member_id, peer_urls):
        self._me()
        self._log("member_update", member_id, list(peer_urls))
        for m in self.cluster.members:
            if m["id"] == member_id:
                m["peer_urls"] = list(peer_urls)
                return {}
        raise ec.EtcdError("etcdserver: member not found", endpoint=self.endpoint)
