"""fake_etcd_kv.FakeKVCluster with what etcd_maintenance reads and changes: database sizes, alarms,
compaction, defragmentation and HashKV, each member answering for itself.

Every call is logged in ``calls`` (endpoint, method, arguments), reads included, so a test can say
that nothing was sent at all. Members are m0, m1 and m2 (IDs a0, a1, a2, client URLs
http://10.0.0.1-3:2379) unless named otherwise; ``leader`` names the leader.

* ``db[name]``: [dbSize, dbSizeInUse]; defragmenting a member makes its size its size in use;
* ``alarms``: [(member name, "NOSPACE" | "CORRUPT")]; any alarm makes every /health false with
  ``ALARM <name>`` as etcd does, and a raised NOSPACE refuses writes;
* ``behind[name]``: how many revisions the member's own status lags the cluster's;
* ``corrupt``: names of members whose HashKV differs;
* ``compact_lag[name]``: compact revisions the member reports on its next HashKV calls, one per
  call, before it reports the cluster's (a compaction not yet applied there);
* ``unhealthy[name]``: a /health reason the member reports;
* ``leaderless[name]``: how many more status calls the member answers seeing no leader (etcd's
  "no leader" error with it), as a member cut off from its peers does;
* ``refuse[method]``: (HTTP status, etcd's message) of an error the next call of that method gets;
* ``timeouts[method]`` (of FakeCluster): compact and defragment time out after sending.
"""

import zlib

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec

from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_kv import FakeKVClient, FakeKVCluster

MiB = 1024 ** 2
SPACE_EXCEEDED = "etcdserver: mvcc: database space exceeded"


class FakeMaintenanceCluster(FakeKVCluster):
    def __init__(self, names=("m0", "m1", "m2"), leader="m0", learner=None):
        super().__init__(names, leader)
        if learner:
            self.by_name(learner)["is_learner"] = True
        self.revision = 40
        self.compact_revision = 0
        self.db = {name: [400 * MiB, 150 * MiB] for name in names}
        self.alarms = []
        self.behind = {}
        self.corrupt = set()
        self.compact_lag = {}
        self.unhealthy = {}
        self.leaderless = {}
        self.refuse = {}

    def client(self, endpoint):
        return FakeMaintenanceClient(self, endpoint)


def _refused(client, method):
    refusal = client.cluster.refuse.pop(method, None)
    if refusal:
        status, message = refusal
        raise ec.EtcdError(message, endpoint=client.endpoint, status=status)


class FakeMaintenanceClient(FakeKVClient):
    def _call(self, method, *args):
        super()._call(method, *args)
        _refused(self, method)
        return self._me()

    def _voting(self, method, *args):
        me = self._call(method, *args)
        if me["is_learner"]:
            raise ec.EtcdError("etcdserver: rpc not supported for learner", endpoint=self.endpoint, status=503)
        return me

    def _revision_of(self, me):
        return self.cluster.revision - self.cluster.behind.get(me["name"], 0)

    # -- what observe() asks --------------------------------------------------------------

    def status(self):
        me = self._call("status")
        size, in_use = self.cluster.db[me["name"]]
        leaderless = self.cluster.leaderless.get(me["name"], 0) > 0
        if leaderless:
            self.cluster.leaderless[me["name"]] -= 1
        raw = {"header": {"member_id": str(me["id"]), "cluster_id": "77", "revision": str(self._revision_of(me))},
               "leader": "0" if leaderless else str(self.cluster.leader), "version": "3.5.17", "raftTerm": "2",
               "raftIndex": "50", "raftAppliedIndex": str(self.cluster.applied_index(me)), "isLearner": me["is_learner"],
               "dbSize": str(size), "dbSizeInUse": str(in_use),
               "errors": ["memberID:%d alarm:%s " % (self.cluster.by_name(n)["id"], a) for n, a in self.cluster.alarms]
               + (["etcdserver: no leader"] if leaderless else [])}
        return ec.normalize_status(raw, endpoint=self.endpoint)

    def health(self, release=""):
        me = self._call("health")
        if me["name"] in self.cluster.unhealthy:
            return False, self.cluster.unhealthy[me["name"]]
        if self.cluster.alarms:
            return False, "ALARM " + self.cluster.alarms[0][1]
        return True, ""

    def member_list(self):
        self._voting("member_list")
        return super().member_list()

    def alarms(self):
        self._voting("alarms")
        return [dict(member_id=self.cluster.by_name(n)["id"], member_id_hex=self.cluster.by_name(n)["id_hex"], alarm=a)
                for n, a in self.cluster.alarms]

    def version(self):
        self._call("version")
        return {"etcdserver": "3.5.17", "etcdcluster": "3.5.0"}

    # -- maintenance ------------------------------------------------------------------------

    def current_revision(self):
        self._voting("current_revision")
        return self.cluster.revision

    def _check_revision(self, revision, lowest):
        if revision < lowest:
            raise ec.EtcdError("etcdserver: mvcc: " + ec.COMPACTED, endpoint=self.endpoint, status=400)
        if revision > self.cluster.revision:
            raise ec.EtcdError("etcdserver: mvcc: " + ec.FUTURE_REVISION, endpoint=self.endpoint, status=400)

    def is_compacted(self, revision):
        self._voting("is_compacted", revision)
        return revision < self.cluster.compact_revision

    def compact(self, revision, physical=True):
        self._voting("compact", revision, physical)
        self._check_revision(revision, self.cluster.compact_revision + 1)

        def apply():
            self.cluster.compact_revision = revision

        self._maybe_time_out("compact", apply)
        apply()
        return self.cluster.revision

    def defragment(self, timeout=None):
        me = self._voting("defragment", timeout)
        db = self.cluster.db[me["name"]]

        def apply():
            db[0] = db[1]

        self._maybe_time_out("defragment", apply)
        apply()

    def hash_kv(self, revision=0, timeout=None):
        me = self._voting("hash_kv", revision, timeout)
        lag = self.cluster.compact_lag.get(me["name"])
        compact_revision = lag.pop(0) if lag else self.cluster.compact_revision
        self._check_revision(revision, compact_revision)
        hashed = zlib.crc32(b"%d:%d" % (compact_revision, revision))
        if me["name"] in self.cluster.corrupt:
            hashed ^= 0xFFFF
        return dict(hash=hashed, compact_revision=compact_revision, hash_revision=revision,
                    revision=self._revision_of(me))

    def alarm_disarm(self, member_id, alarm):
        self._voting("alarm_disarm", member_id, alarm)
        gone = [(n, a) for n, a in self.cluster.alarms if self.cluster.by_name(n)["id"] == member_id and a == alarm]
        self.cluster.alarms = [item for item in self.cluster.alarms if item not in gone]
        return [dict(member_id=member_id, member_id_hex="%x" % member_id, alarm=a) for _n, a in gone]

    def put(self, key, value):
        self._voting("put", key)
        if any(a == "NOSPACE" for _n, a in self.cluster.alarms):
            raise ec.EtcdError(SPACE_EXCEEDED, endpoint=self.endpoint, status=400)
        self.cluster.put(key, value)
        return self.cluster.revision

    def delete_key(self, key):
        self._voting("delete_key", key)
        key = key.encode("utf-8")
        if self.cluster.kv.pop(key, None) is None:
            return 0
        self.cluster.revision += 1
        return 1
