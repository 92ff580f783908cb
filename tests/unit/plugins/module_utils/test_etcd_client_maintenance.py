"""EtcdClient's maintenance calls (revision, compaction, defragmentation, HashKV, alarms) against a local
HTTP server answering as etcd's gateway does (``gateway`` fixture, fake_gateway.Gateway)."""

import base64

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_gateway import HEADER

MEMBER = 10276657743932975437  # 0x8e9e05c52164694d
ZERO_KEY = base64.b64encode(b"\0").decode()
COMPACTED_34 = {"error": "etcdserver: mvcc: required revision has been compacted",
                "message": "etcdserver: mvcc: required revision has been compacted", "code": 11}
COMPACTED_36 = {"code": 11, "message": "etcdserver: mvcc: required revision has been compacted", "details": []}


def test_current_revision_is_the_header_of_a_linearizable_count(gateway):
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER, "count": "3"})
    assert gateway.client.current_revision() == 5
    assert gateway.requests == [("/v3/kv/range", {"key": ZERO_KEY, "count_only": True})]


@pytest.mark.parametrize("compacted", [COMPACTED_34, COMPACTED_36])
def test_is_compacted_reads_a_refused_range_at_the_revision(gateway, compacted):
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER})
    assert gateway.client.is_compacted(4) is False
    assert gateway.requests == [("/v3/kv/range", {"key": ZERO_KEY, "revision": "4", "count_only": True})]
    gateway.routes["/v3/kv/range"] = (400, compacted)
    assert gateway.client.is_compacted(4) is True


def test_is_compacted_raises_other_errors(gateway):
    gateway.routes["/v3/kv/range"] = (400, {"code": 11, "message": "etcdserver: mvcc: required revision is a future "
                                                                   "revision", "details": []})
    with pytest.raises(ec.EtcdError) as caught:
        gateway.client.is_compacted(99)
    assert caught.value.matches(ec.FUTURE_REVISION)


def test_compact_sends_the_revision_as_a_string_and_physical(gateway):
    gateway.routes["/v3/kv/compaction"] = (200, {"header": HEADER})
    assert gateway.client.compact(4) == 5
    assert gateway.client.compact(4, physical=False) == 5
    assert gateway.requests == [("/v3/kv/compaction", {"revision": "4", "physical": True}),
                                ("/v3/kv/compaction", {"revision": "4", "physical": False})]
    gateway.routes["/v3/kv/compaction"] = (400, COMPACTED_36)
    with pytest.raises(ec.EtcdError) as caught:
        gateway.client.compact(4)
    assert caught.value.matches(ec.COMPACTED)


def test_defragment_posts_an_empty_body_with_its_own_timeout(gateway, monkeypatch):
    gateway.routes["/v3/maintenance/defragment"] = (200, {"header": HEADER})
    timeouts = []
    open_request = gateway.client._open

    def record(path, data=None, method="GET", timeout=None):
        timeouts.append(timeout)
        return open_request(path, data=data, method=method, timeout=timeout)

    monkeypatch.setattr(gateway.client, "_open", record)
    gateway.client.defragment(timeout=300)
    gateway.client.defragment()
    assert gateway.requests == [("/v3/maintenance/defragment", {})] * 2
    assert timeouts == [300, None]  # None: the client's own timeout


def test_hash_kv_reads_every_field(gateway):
    gateway.routes["/v3/maintenance/hashkv"] = (200, {"header": HEADER, "hash": 3709914232, "compact_revision": "3",
                                                      "hash_revision": "4"})
    assert gateway.client.hash_kv(4) == dict(hash=3709914232, compact_revision=3, hash_revision=4, revision=5)
    assert gateway.requests == [("/v3/maintenance/hashkv", {"revision": "4"})]


def test_hash_kv_of_older_releases_and_omitted_zeros(gateway):
    # never compacted: compact_revision is zero, so omitted; hash_revision is not sent before 3.5
    gateway.routes["/v3/maintenance/hashkv"] = (200, {"header": HEADER, "hash": 12})
    assert gateway.client.hash_kv() == dict(hash=12, compact_revision=0, hash_revision=None, revision=5)
    assert gateway.requests == [("/v3/maintenance/hashkv", {"revision": "0"})]


def test_hash_kv_on_34_is_not_found(gateway):
    gateway.routes["/v3/maintenance/hashkv"] = (404, {"error": "Not Found", "message": "Not Found", "code": 5})
    with pytest.raises(ec.EtcdError) as caught:
        gateway.client.hash_kv(4)
    assert caught.value.status == 404


def test_alarms_and_disarm_send_member_ids_in_decimal(gateway):
    raised = {"header": HEADER, "alarms": [{"memberID": str(MEMBER), "alarm": "NOSPACE"}]}
    gateway.routes["/v3/maintenance/alarm"] = (200, raised)
    expected = [dict(member_id=MEMBER, member_id_hex="8e9e05c52164694d", alarm="NOSPACE")]
    assert gateway.client.alarms() == expected
    assert gateway.client.alarm_disarm(MEMBER, "NOSPACE") == expected
    assert gateway.requests == [
        ("/v3/maintenance/alarm", {"action": "GET"}),
        ("/v3/maintenance/alarm", {"action": "DEACTIVATE", "memberID": str(MEMBER), "alarm": "NOSPACE"}),
    ]
    gateway.routes["/v3/maintenance/alarm"] = (200, {"header": HEADER})
    assert gateway.client.alarm_disarm(MEMBER, "CORRUPT") == []


def test_delete_key_returns_how_many_were_deleted(gateway):
    gateway.routes["/v3/kv/deleterange"] = (200, {"header": HEADER, "deleted": "1"})
    assert gateway.client.delete_key("/raftops/maintenance/write-check") == 1
    assert gateway.requests == [("/v3/kv/deleterange", {"key": base64.b64encode(b"/raftops/maintenance/write-check")
                                                        .decode()})]
    gateway.routes["/v3/kv/deleterange"] = (200, {"header": HEADER})
    assert gateway.client.delete_key("/gone") == 0


def test_keyspace_counts_every_key_and_hashes_at_the_revision(gateway, monkeypatch):
    monkeypatch.setattr(gateway.client, "version", lambda: {"etcdserver": "3.5.30"})
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER, "count": "19"})
    gateway.routes["/v3/maintenance/hashkv"] = (200, {"header": HEADER, "hash": 755857414, "compact_revision": "-1"})
    assert gateway.client.keyspace(4) == dict(revision=4, current_revision=5, keys=19, hash=755857414,
                                              compact_revision=-1, hash_problem=None)
    assert gateway.requests == [
        ("/v3/kv/range", {"key": ZERO_KEY, "range_end": ZERO_KEY, "count_only": True, "revision": "4"}),
        ("/v3/maintenance/hashkv", {"revision": "4"})]


def test_keyspace_at_the_current_revision(gateway, monkeypatch):
    monkeypatch.setattr(gateway.client, "version", lambda: {"etcdserver": "3.6.14"})
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER})
    gateway.routes["/v3/maintenance/hashkv"] = (200, {"header": HEADER, "hash": 1})
    assert gateway.client.keyspace() == dict(revision=5, current_revision=5, keys=0, hash=1, compact_revision=0,
                                             hash_problem=None)
    assert gateway.requests[-1] == ("/v3/maintenance/hashkv", {"revision": "5"})


def test_keyspace_at_a_compacted_revision_has_no_count_nor_hash_and_says_why(gateway, monkeypatch):
    monkeypatch.setattr(gateway.client, "version", lambda: {"etcdserver": "3.5.30"})
    gateway.routes["/v3/kv/range"] = (400, {"error": "etcdserver: mvcc: required revision has been compacted",
                                            "code": 11, "message": "etcdserver: mvcc: required revision has been compacted"})
    assert gateway.client.keyspace(4) == dict(
        revision=4, current_revision=None, keys=None, hash=None, compact_revision=None,
        hash_problem="revision 4 is compacted: etcd keeps no history before its last compaction")
    assert [path for path, _body in gateway.requests] == ["/v3/kv/range"]
    # At the current revision a compaction cannot be the answer: the error stands.
    with pytest.raises(ec.EtcdError):
        gateway.client.keyspace()


@pytest.mark.parametrize("version", ["3.5.9", "3.4.23", ""])
def test_keyspace_asks_no_hash_of_a_release_whose_gateway_lacks_hashkv(gateway, monkeypatch, version):
    monkeypatch.setattr(gateway.client, "version", lambda: {"etcdserver": version})
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER, "count": "2"})
    summary = gateway.client.keyspace()
    assert (summary["keys"], summary["hash"], summary["compact_revision"]) == (2, None, None)
    assert summary["hash_problem"] == "etcd %s does not serve HashKV through its gateway (3.5.10 and later do)" % (
        version or "of an unknown release")
    assert [path for path, _body in gateway.requests] == ["/v3/kv/range"]


# -- health: /readyz where the release serves it (3.4.29, 3.5.11, 3.6 on), /health before ---------------

@pytest.mark.parametrize("release, served", [
    ("3.4.23", False), ("3.4.29", True), ("3.5.10", False), ("3.5.11", True), ("3.5.30", True), ("3.6.0", True),
    ("3.6.16", True), ("3.7.3", True), ("", False), ("3.6", False),
])
def test_readyz_where_the_release_serves_it(release, served):
    assert ec.readyz_served(release) is served


@pytest.mark.parametrize("release, path", [
    ("3.4.29", "/readyz"), ("3.5.11", "/readyz"), ("3.5.18", "/readyz"), ("3.5.19", "/readyz?exclude=non_learner"),
    ("3.6.16", "/readyz?exclude=non_learner"), ("3.7.3", "/readyz?exclude=non_learner"),
])
def test_health_asks_readyz_without_the_learner_check_where_it_has_one(gateway, release, path):
    gateway.routes[path] = (200, "ok\n")
    assert gateway.client.health(release) == (True, "")
    assert gateway.requests == [(path, None)]


def test_readyz_503_gives_etcds_reason(gateway):
    gateway.routes["/readyz?exclude=non_learner"] = (503, "[-]linearizable_read failed: etcdserver: leader changed\n")
    assert gateway.client.health("3.6.16") == (False, "[-]linearizable_read failed: etcdserver: leader changed")


@pytest.mark.parametrize("release", ["3.4.23", "3.5.10", ""])
def test_health_before_readyz_asks_health_without_the_nospace_alarm(gateway, release):
    gateway.routes["/health?exclude=NOSPACE"] = (503, {"health": "false", "reason": "RAFT NO LEADER"})
    assert gateway.client.health(release) == (False, "RAFT NO LEADER")
    assert gateway.requests == [("/health?exclude=NOSPACE", None)]


def test_the_status_carries_an_enabled_downgrade(gateway):
    gateway.routes["/v3/maintenance/status"] = (200, {"header": HEADER, "version": "3.6.16", "storageVersion": "3.5.0",
                                                      "downgradeInfo": {"enabled": True, "targetVersion": "3.5.0"}})
    status = gateway.client.status()
    assert (status["storage_version"], status["downgrade_target"]) == ("3.5.0", "3.5.0")
    gateway.routes["/v3/maintenance/status"] = (200, {"header": HEADER, "version": "3.6.16", "storageVersion": "3.6.0",
                                                      "downgradeInfo": {"targetVersion": "3.5.0"}})
    assert gateway.client.status()["downgrade_target"] == ""


def test_downgrade_posts_the_action_and_the_minor_version(gateway):
    gateway.routes["/v3/maintenance/downgrade"] = (200, {"header": HEADER, "version": "3.6"})
    assert gateway.client.downgrade("VALIDATE", "3.5") == "3.6"
    assert gateway.requests == [("/v3/maintenance/downgrade", {"action": "VALIDATE", "version": "3.5"})]
