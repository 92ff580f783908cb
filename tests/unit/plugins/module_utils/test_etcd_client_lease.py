"""EtcdClient's lease and transaction calls against a local HTTP server answering as etcd's gateway does
(``gateway`` fixture, fake_gateway.Gateway).

The replies are the gateway's JSON shapes (3.4/3.5 and 3.6 error bodies): int64 as decimal strings,
zero values omitted, keys and values in base64, and the keepalive stream as one JSON document per
line on a connection the server keeps open.
"""

import base64

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_gateway import HEADER

LEASE = 7587869340393578511  # 0x694d77aa9e38260f
KEY = "/raftops/etcd/run"
KEY_B64 = base64.b64encode(KEY.encode()).decode()
VALUE = '{"acquired_at": "2026-11-22T10:00:00Z", "holder": "alice", "ttl": 600}'
RAW_KV = {"key": KEY_B64, "create_revision": "6", "mod_revision": "6", "version": "1",
          "value": base64.b64encode(VALUE.encode()).decode(), "lease": str(LEASE)}
NOT_FOUND_34 = {"error": "etcdserver: requested lease not found", "message": "etcdserver: requested lease not found",
                "code": 5}
NOT_FOUND_36 = {"code": 5, "message": "etcdserver: requested lease not found", "details": []}


def test_lease_grant_sends_the_ttl_as_a_string_and_reads_the_id(gateway):
    gateway.routes["/v3/lease/grant"] = (200, {"header": HEADER, "ID": str(LEASE), "TTL": "600"})
    assert gateway.client.lease_grant(600) == {"id": LEASE, "ttl": 600}
    assert gateway.requests == [("/v3/lease/grant", {"TTL": "600"})]


def test_lease_grant_reads_a_raised_ttl_and_reports_errors(gateway):
    gateway.routes["/v3/lease/grant"] = (200, {"header": HEADER, "ID": str(LEASE), "TTL": "2"})
    assert gateway.client.lease_grant(1) == {"id": LEASE, "ttl": 2}
    gateway.routes["/v3/lease/grant"] = (200, {"header": HEADER, "error": "lease already exists"})
    with pytest.raises(ec.EtcdError, match="lease already exists"):
        gateway.client.lease_grant(600)
    gateway.routes["/v3/lease/grant"] = (200, {"header": HEADER})
    with pytest.raises(ec.EtcdError, match="answered without a lease ID"):
        gateway.client.lease_grant(600)


@pytest.mark.parametrize("not_found", [NOT_FOUND_34, NOT_FOUND_36])
def test_lease_revoke_is_true_once_and_false_when_the_lease_is_gone(gateway, not_found):
    gateway.routes["/v3/lease/revoke"] = (200, {"header": HEADER})
    assert gateway.client.lease_revoke(LEASE) is True
    assert gateway.requests == [("/v3/lease/revoke", {"ID": str(LEASE)})]
    gateway.routes["/v3/lease/revoke"] = (404, not_found)
    assert gateway.client.lease_revoke(LEASE) is False


def test_lease_revoke_raises_other_errors(gateway):
    gateway.routes["/v3/lease/revoke"] = (503, {"code": 14, "message": "etcdserver: no leader"})
    with pytest.raises(ec.EtcdError, match="no leader") as caught:
        gateway.client.lease_revoke(LEASE)
    assert caught.value.status == 503


def test_keepalive_reads_the_first_message_of_the_stream_and_closes(gateway):
    gateway.routes["/v3/lease/keepalive"] = ("stream", [{"result": {"header": HEADER, "ID": str(LEASE), "TTL": "600"}}])
    assert gateway.client.lease_keepalive_once(LEASE) == 600  # the server still holds the stream open
    assert gateway.requests == [("/v3/lease/keepalive", {"ID": str(LEASE)})]


def test_keepalive_of_an_expired_lease_is_zero(gateway):
    # zero values are omitted: an expired lease's answer has no TTL
    gateway.routes["/v3/lease/keepalive"] = ("stream", [{"result": {"header": HEADER, "ID": str(LEASE)}}])
    assert gateway.client.lease_keepalive_once(LEASE) == 0


def test_keepalive_not_found_error_line_is_zero(gateway):
    gateway.routes["/v3/lease/keepalive"] = ("stream", [{"error": {
        "grpc_code": 5, "http_code": 404, "message": "etcdserver: requested lease not found",
        "http_status": "Not Found"}}])
    assert gateway.client.lease_keepalive_once(LEASE) == 0


def test_keepalive_other_error_line_raises(gateway):
    gateway.routes["/v3/lease/keepalive"] = ("stream", [{"error": {"code": 14, "message": "etcdserver: no leader"}}])
    with pytest.raises(ec.EtcdError, match="no leader"):
        gateway.client.lease_keepalive_once(LEASE)


def test_time_to_live_reads_ttl_and_minus_one_for_a_missing_lease(gateway):
    gateway.routes["/v3/lease/timetolive"] = (200, {"header": HEADER, "ID": str(LEASE), "TTL": "597",
                                                    "grantedTTL": "600"})
    assert gateway.client.lease_time_to_live(LEASE) == {"id": LEASE, "ttl": 597, "granted_ttl": 600}
    assert gateway.requests == [("/v3/lease/timetolive", {"ID": str(LEASE)})]
    gateway.routes["/v3/lease/timetolive"] = (200, {"header": HEADER, "ID": str(LEASE), "TTL": "-1"})
    assert gateway.client.lease_time_to_live(LEASE) == {"id": LEASE, "ttl": -1, "granted_ttl": 0}


def test_txn_passes_raw_dicts_both_ways(gateway):
    compare = [{"key": KEY_B64, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}]
    success = [{"request_put": {"key": KEY_B64, "value": RAW_KV["value"], "lease": str(LEASE)}}]
    failure = [{"request_range": {"key": KEY_B64}}]
    won = {"header": HEADER, "succeeded": True, "responses": [{"response_put": {"header": HEADER}}]}
    gateway.routes["/v3/kv/txn"] = (200, won)
    assert gateway.client.txn(compare, success, failure) == won
    assert gateway.requests == [("/v3/kv/txn", {"compare": compare, "success": success, "failure": failure})]
    lost = {"header": HEADER, "responses": [{"response_range": {"header": HEADER, "kvs": [RAW_KV], "count": "1"}}]}
    gateway.routes["/v3/kv/txn"] = (200, lost)
    reply = gateway.client.txn(compare, success, failure)
    assert not reply.get("succeeded")  # false is omitted
    assert ec.EtcdClient.decode_kv(reply["responses"][0]["response_range"]["kvs"][0])["lease"] == LEASE


def test_txn_leaves_out_empty_branches(gateway):
    gateway.routes["/v3/kv/txn"] = (200, {"header": HEADER, "succeeded": True, "responses": []})
    gateway.client.txn([], [{"request_delete_range": {"key": KEY_B64}}])
    assert gateway.requests[-1][1] == {"compare": [], "success": [{"request_delete_range": {"key": KEY_B64}}]}


def test_range_kv_decodes_the_key_or_returns_none(gateway):
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER, "kvs": [RAW_KV], "count": "1"})
    assert gateway.client.range_kv(KEY) == {"key": KEY.encode(), "value": VALUE.encode(), "create_revision": 6,
                                            "mod_revision": 6, "version": 1, "lease": LEASE}
    assert gateway.requests == [("/v3/kv/range", {"key": KEY_B64, "serializable": False})]
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER})
    assert gateway.client.range_kv(KEY) is None


def test_decode_kv_fills_omitted_zeros():
    assert ec.EtcdClient.decode_kv({"key": KEY_B64, "create_revision": "3", "mod_revision": "3", "version": "1"}) == {
        "key": KEY.encode(), "value": b"", "create_revision": 3, "mod_revision": 3, "version": 1, "lease": 0}


def test_lease_calls_on_a_refused_endpoint_were_never_sent():
    client = ec.EtcdClient("http://127.0.0.1:1", timeout=2)
    for call in (lambda: client.lease_grant(600), lambda: client.lease_revoke(LEASE),
                 lambda: client.lease_keepalive_once(LEASE), lambda: client.txn([], [])):
        with pytest.raises(ec.EtcdUnreachable) as caught:
            call()
        assert caught.value.sent is False
