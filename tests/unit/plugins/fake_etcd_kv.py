"""fake_etcd.FakeCluster with leases, a minimal key-value store and transactions, for etcd_lock.

The clients take and give what the real ``EtcdClient`` methods do: ``txn`` takes the raw gateway
dicts (base64 keys and values, int64 as decimal strings, enums by name) and answers in the gateway's
shape, so the tests check the requests the module builds. Time is a controllable clock: ``advance``
(also ``sleep``) moves it on and expires leases, deleting their keys, as the leader does.
"""

import copy
import datetime

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec

from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd import FakeClient, FakeCluster

# The gateway's base64, as the client encodes it.
b64, unb64 = ec._b64, ec._unb64

LEASE_NOT_FOUND = "etcdserver: requested lease not found"
EPOCH = datetime.datetime(2026, 11, 22, 10, 0, 0, tzinfo=datetime.timezone.utc)
FIRST_LEASE = 0x694D77AA9E38260F
_INT64_FIELDS = ("create_revision", "mod_revision", "version", "lease")


def _int64(value, what):
    """The gateway accepts numbers too, but the collection sends int64 as decimal strings."""
    if not isinstance(value, str):
        raise AssertionError("%s must be sent as a decimal string, got %r" % (what, value))
    return int(value)


class FakeKVCluster(FakeCluster):
    """A FakeCluster that also keeps keys, leases and a clock."""

    def __init__(self, names=("m0", "m1", "m2"), leader="m0"):
        super().__init__(list(names), leader)
        self.now = 0.0
        self.revision = 1
        self.kv = {}  # key bytes -> dict(value, create_revision, mod_revision, version, lease)
        self.leases = {}  # id -> dict(ttl=granted, expiry=clock time)
        self.next_lease = FIRST_LEASE
        self.revoked = []
        self.on_sleep = []  # callables run after each sleep, with the number of sleeps so far
        self.sleeps = 0
        # method name -> callable run once just before the next call of that method reaches etcd,
        # to let another client act in between (a race)
        self.before = {}

    # -- time -----------------------------------------------------------------------------

    def clock(self):
        return self.now

    def utcnow(self):
        return EPOCH + datetime.timedelta(seconds=self.now)

    def advance(self, seconds):
        self.now += seconds
        for lease_id in [i for i, lease in self.leases.items() if lease["expiry"] <= self.now]:
            self._revoke(lease_id)

    def sleep(self, seconds):
        self.sleeps += 1
        self.advance(seconds)
        for hook in list(self.on_sleep):
            hook(self.sleeps)

    # -- state ----------------------------------------------------------------------------

    def grant(self, ttl, lease_id=None):
        lease_id = lease_id or self.next_lease
        self.next_lease += 1
        self.leases[lease_id] = dict(ttl=ttl, expiry=self.now + ttl)
        return lease_id

    def _revoke(self, lease_id):
        del self.leases[lease_id]
        self.revoked.append(lease_id)
        for key in [k for k, item in self.kv.items() if item["lease"] == lease_id]:
            del self.kv[key]
            self.revision += 1

    def put(self, key, value, lease=0):
        if isinstance(key, str):
            key = key.encode("utf-8")
        if isinstance(value, str):
            value = value.encode("utf-8")
        self.revision += 1
        old = self.kv.get(key)
        self.kv[key] = dict(value=value, create_revision=old["create_revision"] if old else self.revision,
                            mod_revision=self.revision, version=(old["version"] + 1) if old else 1, lease=lease)

    def keys_in(self, key, range_end=None):
        """The keys of [key, range_end) in order (just ``key`` when range_end is None; b"\\0" is every
        key from ``key`` on), as etcd's range and delete_range read them."""
        key = key.encode("utf-8") if isinstance(key, str) else key
        if range_end is None:
            return [key] if key in self.kv else []
        return sorted(k for k in self.kv if k >= key and (range_end == b"\0" or k < range_end))

    def raw_kv(self, key):
        item = self.kv[key]
        raw = {"key": b64(key), "value": b64(item["value"])}
        for field in _INT64_FIELDS:
            if item[field]:  # zeros are omitted, as the gateway does
                raw[field] = str(item[field])
        return raw

    def header(self):
        return {"cluster_id": "14841639068965178418", "member_id": "10276657743932975437",
                "revision": str(self.revision), "raft_term": "2"}

    def client(self, endpoint):
        return FakeKVClient(self, endpoint)


class FakeKVClient(FakeClient):
    """The EtcdClient methods etcd_lock calls, on a FakeKVCluster."""

    def _call(self, method, *args):
        self._me()
        self._log(method, *args)
        hook = self.cluster.before.pop(method, None)
        if hook:
            hook()

    def range_kv(self, key, serializable=False):
        self._call("range_kv", key)
        key = key.encode("utf-8") if isinstance(key, str) else key
        if key not in self.cluster.kv:
            return None
        return ec.EtcdClient.decode_kv(self.cluster.raw_kv(key))

    def range(self, key, range_end=None, serializable=False):
        self._call("range", key, range_end)
        return [ec.EtcdClient.decode_kv(self.cluster.raw_kv(k)) for k in self.cluster.keys_in(key, range_end)]

    def lease_grant(self, ttl):
        self._call("lease_grant", ttl)
        holder = {}

        def apply():
            holder["id"] = self.cluster.grant(ttl)

        self._maybe_time_out("lease_grant", apply)
        apply()
        return dict(id=holder["id"], ttl=ttl)

    def lease_revoke(self, lease_id):
        self._call("lease_revoke", lease_id)

        def apply():
            if lease_id not in self.cluster.leases:
                return False
            self.cluster._revoke(lease_id)
            return True

        self._maybe_time_out("lease_revoke", apply)
        return apply()

    def lease_keepalive_once(self, lease_id):
        self._call("lease_keepalive_once", lease_id)
        self._maybe_time_out("lease_keepalive_once", lambda: None)
        lease = self.cluster.leases.get(lease_id)
        if lease is None:
            return 0
        lease["expiry"] = self.cluster.now + lease["ttl"]
        return lease["ttl"]

    def lease_time_to_live(self, lease_id):
        self._call("lease_time_to_live", lease_id)
        lease = self.cluster.leases.get(lease_id)
        if lease is None:
            return dict(id=lease_id, ttl=-1, granted_ttl=0)
        return dict(id=lease_id, ttl=int(lease["expiry"] - self.cluster.now), granted_ttl=lease["ttl"])

    # -- transactions, read from the raw gateway dicts ------------------------------------

    def txn(self, compare, success=None, failure=None):
        self._call("txn", copy.deepcopy(compare), copy.deepcopy(success), copy.deepcopy(failure))
        result = {}

        def apply():
            result.update(self._txn(compare, success or [], failure or []))

        self._maybe_time_out("txn", apply)
        apply()
        return result

    def _txn(self, compare, success, failure):
        cluster = self.cluster
        succeeded = all(self._compare(c) for c in compare)
        ops = success if succeeded else failure
        for op in ops:  # etcd checks the whole transaction before applying any of it
            put = op.get("request_put")
            if put and put.get("lease") and _int64(put["lease"], "lease") not in cluster.leases:
                raise ec.EtcdError(LEASE_NOT_FOUND, endpoint=self.endpoint, status=404)
        responses = []
        for op in ops:
            (kind, request), = op.items()
            key = unb64(request["key"])
            range_end = unb64(request["range_end"]) if "range_end" in request else None
            if kind == "request_put":
                cluster.put(key, unb64(request.get("value")), _int64(request.get("lease", "0"), "lease"))
                responses.append({"response_put": {"header": cluster.header()}})
            elif kind == "request_range":
                reply = {"header": cluster.header()}
                if key in cluster.kv:
                    reply.update(kvs=[cluster.raw_kv(key)], count="1")
                responses.append({"response_range": reply})
            elif kind == "request_delete_range":
                doomed = cluster.keys_in(key, range_end)
                for gone in doomed:
                    del cluster.kv[gone]
                if doomed:
                    cluster.revision += 1  # one transaction, one revision
                reply = {"header": cluster.header()}
                if doomed:
                    reply["deleted"] = str(len(doomed))
                responses.append({"response_delete_range": reply})
            else:
                raise AssertionError("unknown txn operation %r" % kind)
        reply = {"header": cluster.header(), "responses": responses}
        if succeeded:
            reply["succeeded"] = True  # false is omitted
        return reply

    def _compare(self, cmp):
        item = self.cluster.kv.get(unb64(cmp["key"]))
        target = cmp.get("target", "VERSION")
        field = {"CREATE": "create_revision", "MOD": "mod_revision", "VERSION": "version", "LEASE": "lease",
                 "VALUE": "value"}[target]
        if field not in cmp:
            raise AssertionError("compare on %s needs %s: %r" % (target, field, cmp))
        if field == "value":  # etcd compares the value of a key that does not exist as false
            if item is None:
                return False
            actual, expected = item["value"], unb64(cmp["value"])
        else:
            actual = item[field] if item else 0
            expected = _int64(cmp[field], field)
        return {"EQUAL": actual == expected, "NOT_EQUAL": actual != expected, "GREATER": actual > expected,
                "LESS": actual < expected}[cmp.get("result", "EQUAL")]
