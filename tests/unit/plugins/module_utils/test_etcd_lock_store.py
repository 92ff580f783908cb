# -*- coding: utf-8 -*-
"""GatewayLockStore: a question refused while a leader is elected is asked again; a write is not."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import SETTLE_TRIES, EtcdError, EtcdUnreachable
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import GatewayLockStore


class Client:
    """A client whose range_kv and txn raise the queued errors, then answer."""

    endpoint = "https://10.0.0.1:2379"

    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0

    def _answer(self, reply):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return reply

    def range_kv(self, key):
        return self._answer(dict(value=b"v", lease=0, mod_revision=3))

    def txn(self, compare, success, failure=None):
        return self._answer(dict(succeeded=True))


def store(client):
    pauses = []
    return GatewayLockStore([client], dict(endpoints=[client.endpoint]), sleep=pauses.append), pauses


@pytest.mark.parametrize("message", ["etcdserver: leader changed", "etcdserver: no leader"])
def test_a_read_refused_while_a_leader_is_elected_is_asked_again(message):
    client = Client([EtcdError(message, endpoint=Client.endpoint)] * 2)
    lock_store, pauses = store(client)
    assert lock_store.get("/raftops/etcd/run")["mod_revision"] == 3
    assert client.calls == 3 and len(pauses) == 2


def test_a_read_refused_for_longer_than_the_election_keeps_its_error():
    client = Client([EtcdError("etcdserver: leader changed", endpoint=Client.endpoint)] * SETTLE_TRIES)
    lock_store, pauses = store(client)
    with pytest.raises(EtcdError, match="leader changed"):
        lock_store.get("/raftops/etcd/run")
    assert client.calls == SETTLE_TRIES and len(pauses) == SETTLE_TRIES - 1


@pytest.mark.parametrize("error", [EtcdError("etcdserver: permission denied", endpoint=Client.endpoint),
                                   EtcdUnreachable("timed out", endpoint=Client.endpoint, sent=True)])
def test_other_errors_are_not_asked_again(error):
    client = Client([error])
    lock_store, pauses = store(client)
    with pytest.raises(EtcdError):
        lock_store.get("/raftops/etcd/run")
    assert client.calls == 1 and pauses == []


def test_the_write_that_takes_the_lock_is_never_sent_twice():
    client = Client([EtcdError("etcdserver: leader changed", endpoint=Client.endpoint)])
    lock_store, pauses = store(client)
    with pytest.raises(EtcdError, match="leader changed"):
        lock_store.put_if("/raftops/etcd/run", "holder", 7, 0)
    assert client.calls == 1 and pauses == []
