# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The etcd_lock module's store for etcd_run_lock.Lock: its calls through the HTTP/JSON gateway.

A question is asked of the first endpoint that answers, and asked again while a leader is elected
(``settled_answer``); a request that must not be sent twice (a lease grant, the transaction that
takes the lock) is not repeated, on another endpoint once it may have reached etcd nor after an
election's refusal.
"""

import base64
import time

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    EtcdClient,
    EtcdError,
    EtcdUnreachable,
    settled_answer,
)
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.cluster_state import read_cluster_health
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import (
    etcdctl_command, lease_problem, parse_lease_id)

# The option of the modules whose steps change a member (doc fragment raftops.etcd.run_lock).
RUN_LOCK_SPEC = dict(type="dict", options=dict(key=dict(type="str", required=True, no_log=False),
                                               lease_id=dict(type="str", required=True)))
# The option controller that etcd_lock and etcd_adopt_info take and ignore (doc fragment
# raftops.etcd.controller_ignored): tasks written for releases that judged a run by its processes still run.
IGNORED_CONTROLLER_SPEC = dict(type="dict", options=dict(host=dict(type="str", required=True),
                                                         run_pids=dict(type="list", elements="int", required=True)))


def _b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode("utf-8")).decode("ascii")


class GatewayLockStore:
    """The lock's etcd calls on ``clients`` (etcd_client.EtcdClient); ``params`` name the endpoints
    and TLS files for the etcdctl commands the messages give."""

    Error = EtcdError
    Unreachable = EtcdUnreachable

    def __init__(self, clients, params, sleep=time.sleep):
        self.clients = clients
        self.params = params
        self.sleep = sleep

    def _ask(self, action, idempotent=True):
        """``action``'s answer from the first endpoint that gives one; a question (``idempotent``)
        refused while a leader is elected is asked again (``settled_answer``). A write is never sent twice."""
        return settled_answer(self.clients, action, idempotent=idempotent, sleep=self.sleep)

    def get(self, key):
        return self._ask(lambda c: c.range_kv(key))

    def grant(self, ttl):
        return self._ask(lambda c: c.lease_grant(ttl), idempotent=False)

    def time_left(self, lease_id):
        return self._ask(lambda c: c.lease_time_to_live(lease_id))["ttl"]

    def keepalive(self, lease_id):
        return self._ask(lambda c: c.lease_keepalive_once(lease_id))

    def revoke(self, lease_id):
        """True when this call revoked the lease, False when it was gone already.

        Revoking is safe to repeat (a lease revoked already is reported gone), so an endpoint that
        timed out is retried on the next one; if one of those attempts may have reached etcd, a
        lease found gone afterwards counts as revoked by this call.
        """
        maybe_sent = []

        def action(client):
            try:
                return client.lease_revoke(lease_id)
            except EtcdUnreachable as exc:
                maybe_sent.append(exc.sent)
                raise

        return self._ask(action) or any(maybe_sent)

    def put_if(self, key, value, lease_id, mod_revision):
        if mod_revision:
            compare = [{"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}]
        else:
            compare = [{"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}]
        put = {"request_put": {"key": _b64(key), "value": _b64(value), "lease": str(lease_id)}}
        get = {"request_range": {"key": _b64(key)}}
        reply = self._ask(lambda c: c.txn(compare, [put], [get]), idempotent=False)
        if reply.get("succeeded"):
            return True, None
        ranged = ((reply.get("responses") or [{}])[0]).get("response_range") or {}
        kvs = ranged.get("kvs") or []
        return False, EtcdClient.decode_kv(kvs[0]) if kvs else None

    def delete_if(self, key, mod_revision):
        compare = [{"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}]
        reply = self._ask(lambda c: c.txn(compare, [{"request_delete_range": {"key": _b64(key)}}]), idempotent=False)
        return bool(reply.get("succeeded"))

    def command(self, *args):
        p = self.params
        return etcdctl_command(p["endpoints"], p.get("ca_cert"), p.get("client_cert"), p.get("client_key"), *args)


def read_cluster(clients, make_client, quota_bytes=0):
    """(the cluster as etcd_health reads it, the clients that answered): the lock is asked only of
    endpoints that answered, so that a dead one costs no timeout."""
    _healthy, cluster, no_answer = read_cluster_health(clients, make_client, quota_bytes=quota_bytes)
    if no_answer:
        cluster["msg"] = no_answer
        return cluster, []
    answered = {record["endpoint"] for record in cluster["endpoints"] if record["reachable"]}
    return cluster, [client for client in clients if client.endpoint in answered]


def run_lock_refusal(clients, run_lock, what, sleep=time.sleep):
    """Why ``what`` (a step that changes a member) must not be done: the lease of ``run_lock`` (the
    option RUN_LOCK_SPEC, the lock this run took) no longer holds the lock, or whether it does could
    not be read. None when it does, or with no lease to check (no run_lock, or an empty lease_id)."""
    if not run_lock or not run_lock.get("lease_id"):
        return None
    try:
        lease_id = parse_lease_id(run_lock["lease_id"])
        store = GatewayLockStore(clients, dict(endpoints=[client.endpoint for client in clients]), sleep=sleep)
        problem = lease_problem(store, run_lock["key"], lease_id)
    except (EtcdError, ValueError) as exc:
        problem = "whether its lease %s still holds it could not be read: %s" % (run_lock["lease_id"], exc)
    if problem is None:
        return None
    return ("refused to %s: this run no longer holds the run lock %s: %s. Another run may be changing the cluster "
            "now, so this run stops here; nothing was changed by this step. Run again once no other run holds the "
            "lock" % (what, run_lock["key"], problem))
