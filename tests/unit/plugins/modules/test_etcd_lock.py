import base64
import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as etcd_client
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import cluster_state as etcd_cluster_state
from ansible_collections.raftops.etcd.plugins.module_utils.lock import run_lock as etcd_run_lock
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import GatewayLockStore
from ansible_collections.raftops.etcd.plugins.modules import etcd_lock
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_kv import FIRST_LEASE, FakeKVCluster
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match

URLS = ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
KEY = "/raftops/etcd/run"
KEY_B64 = base64.b64encode(KEY.encode()).decode()
ALICE = "ansible-playbook on ctl-a by alice, pid 1234, started 2026-11-22T10:00:00Z"
BOB = "ansible-playbook on ctl-b by bob, pid 4321, started 2026-11-22T09:58:00Z"
FIRST_HEX = "694d77aa9e38260f"


def params(**overrides):
    p = dict(endpoints=[URLS[0]], ca_cert=None, client_cert=None, client_key=None, timeout=1.0, name="run",
             prefix="/raftops/etcd/", state="acquired", holder=ALICE, ttl=600, wait_timeout=0, lease_id=None)
    p.update(overrides)
    return p


def run(cluster, check_mode=False, **overrides):
    p = params(**overrides)
    clients = [cluster.client(u) for u in p["endpoints"]]
    return etcd_lock.run(p, clients, check_mode=check_mode, clock=cluster.clock, sleep=cluster.sleep,
                         utcnow=cluster.utcnow, make_client=cluster.client)


def acquire(cluster, **overrides):
    failure, result, _warnings = run(cluster, **overrides)
    assert failure is None, failure
    return result


def calls(cluster, method=None):
    return [c[1:] for c in cluster.calls if method is None or c[1] == method]


def stored(cluster):
    item = cluster.kv[KEY.encode()]
    return json.loads(item["value"]), item["lease"]


# -- acquire ---------------------------------------------------------------------------------


def test_acquire_a_free_lock():
    cluster = FakeKVCluster()
    failure, result, warnings = run(cluster)
    assert failure is None and warnings == []
    assert result == dict(
        changed=True, acquired=True, key=KEY, lease_id=FIRST_HEX, holder=ALICE,
        acquired_at="2026-11-22T10:00:00Z", ttl=600, expires_in=600, waited=0.0,
        msg="lock run acquired (lease 694d77aa9e38260f, TTL 600 s)")
    assert stored(cluster) == ({"holder": ALICE, "acquired_at": "2026-11-22T10:00:00Z", "ttl": 600}, FIRST_LEASE)
    assert cluster.leases[FIRST_LEASE]["ttl"] == 600
    # the transaction as the gateway takes it: base64 key, int64 as strings, enums by name
    (_method, compare, success, failure_ops), = calls(cluster, "txn")
    assert compare == [{"key": KEY_B64, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}]
    assert success[0]["request_put"]["lease"] == str(FIRST_LEASE)
    assert success[0]["request_put"]["key"] == KEY_B64
    assert failure_ops == [{"request_range": {"key": KEY_B64}}]
    json.dumps(result)


def test_a_held_lock_is_refused_naming_the_holder_and_how_to_release_it():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    cluster.advance(88)
    failure, result, _cluster = run(cluster, endpoints=URLS, ca_cert="/etc/etcd/pki/ca.pem",
                                    client_cert="/etc/etcd/pki/admin.pem", client_key="/etc/etcd/pki/admin-key.pem")
    command = ("etcdctl --endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379 --cacert=/etc/etcd/pki/ca.pem "
               "--cert=/etc/etcd/pki/admin.pem --key=/etc/etcd/pki/admin-key.pem lease revoke 694d77aa9e38260f")
    assert failure == (
        "lock run is held by %s since 2026-11-22T10:00:00Z (lease 694d77aa9e38260f, expires in 512 s unless renewed); "
        "wait for that run to finish, or if it died, wait for the lock to expire or release it with: %s" % (
            BOB, command))
    assert result["release_command"] == command
    assert result["held_by"] == dict(holder=BOB, acquired_at="2026-11-22T10:00:00Z", lease_id=FIRST_HEX,
                                     expires_in=512)
    assert result["changed"] is False and result["acquired"] is False
    # nothing granted, nothing written: the lock stays Bob's
    assert calls(cluster, "lease_grant") == [("lease_grant", 600)]
    assert list(cluster.leases) == [FIRST_LEASE]
    assert stored(cluster)[0]["holder"] == BOB


def test_the_refusal_command_quotes_what_the_shell_would_split():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    failure, _result, _cluster = run(cluster, ca_cert="/etc/etcd/my pki/ca.pem")
    assert failure.endswith("release it with: etcdctl --endpoints=http://10.0.0.1:2379 "
                            "'--cacert=/etc/etcd/my pki/ca.pem' lease revoke 694d77aa9e38260f")


def test_wait_then_acquire_when_the_holder_releases():
    cluster = FakeKVCluster()
    bob = acquire(cluster, holder=BOB)

    def bob_finishes(sleeps):
        if sleeps == 3:
            assert run(cluster, state="released", lease_id=bob["lease_id"], holder=BOB)[0] is None

    cluster.on_sleep.append(bob_finishes)
    failure, result, warnings = run(cluster, wait_timeout=30)
    assert failure is None and warnings == []
    assert result["changed"] is True
    assert result["holder"] == ALICE
    assert result["previous_holder"] == BOB
    assert result["waited"] == 3.0
    assert result["acquired_at"] == "2026-11-22T10:00:03Z"
    assert result["msg"] == "lock run acquired (lease 694d77aa9e382610, TTL 600 s) after waiting 3.0 s for " + BOB
    assert cluster.sleeps == 3
    assert stored(cluster)[0]["holder"] == ALICE


def test_wait_then_acquire_when_the_holders_lease_expires():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB, ttl=5)
    failure, result, _cluster = run(cluster, wait_timeout=30)
    assert failure is None
    assert result["previous_holder"] == BOB
    assert result["waited"] == 5.0
    assert stored(cluster)[0]["holder"] == ALICE


def test_waiting_gives_up_after_wait_timeout():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    failure, result, _cluster = run(cluster, wait_timeout=3)
    assert failure.startswith("waited 3 s: lock run is held by %s since 2026-11-22T10:00:00Z (lease "
                              "694d77aa9e38260f, expires in 597 s unless renewed)" % BOB)
    assert result["waited"] == 3.0
    assert cluster.sleeps == 3
    assert list(cluster.leases) == [FIRST_LEASE]


def test_the_same_holder_again_renews_and_changes_nothing():
    cluster = FakeKVCluster()
    first = acquire(cluster)
    cluster.advance(100)
    failure, again, warnings = run(cluster)
    assert failure is None and warnings == []
    assert again["changed"] is False
    assert (again["lease_id"], again["acquired_at"], again["ttl"], again["expires_in"]) == (
        first["lease_id"], "2026-11-22T10:00:00Z", 600, 600)
    assert cluster.leases[FIRST_LEASE]["expiry"] == 700
    assert len(calls(cluster, "lease_grant")) == 1
    assert again["msg"] == "lock run is held by this holder already; its lease 694d77aa9e38260f was renewed"


def test_renew_with_lease_id_in_hex_or_decimal():
    cluster = FakeKVCluster()
    first = acquire(cluster, ttl=60)
    cluster.advance(50)
    renewed = acquire(cluster, ttl=60, lease_id=first["lease_id"])
    assert renewed["changed"] is False
    assert (renewed["lease_id"], renewed["expires_in"], renewed["ttl"]) == (FIRST_HEX, 60, 60)
    assert cluster.leases[FIRST_LEASE]["expiry"] == 110
    cluster.advance(50)
    assert acquire(cluster, ttl=60, lease_id=str(FIRST_LEASE))["expires_in"] == 60
    assert acquire(cluster, ttl=60, lease_id="0x" + FIRST_HEX.upper())["lease_id"] == FIRST_HEX
    assert len(calls(cluster, "lease_grant")) == 1
    assert len(calls(cluster, "lease_keepalive_once")) == 3


def test_renewing_with_a_lease_id_does_not_care_how_the_holder_string_was_templated():
    cluster = FakeKVCluster()
    first = acquire(cluster)
    failure, result, warnings = run(cluster, lease_id=first["lease_id"], holder=ALICE + " (later)")
    assert failure is None
    assert result["holder"] == ALICE
    assert warnings == ["lock run is held through lease 694d77aa9e38260f by %r, not %r; renewed all the same (the "
                        "lease is what holds it)" % (ALICE, ALICE + " (later)")]


def test_renewing_an_expired_lease_fails_clearly():
    cluster = FakeKVCluster()
    first = acquire(cluster, ttl=10)
    cluster.advance(11)
    failure, result, _cluster = run(cluster, lease_id=first["lease_id"])
    assert failure == ("lock run was lost: its lease 694d77aa9e38260f expired or was revoked, and nobody holds it "
                       "now. Whatever ran after the lease expired ran without the lock; take the lock again (without "
                       "lease_id) before going on")
    assert result["acquired"] is False
    assert KEY.encode() not in cluster.kv  # not silently taken again


def test_renewing_a_lease_whose_lock_was_taken_names_the_new_holder():
    cluster = FakeKVCluster()
    first = acquire(cluster, ttl=10)
    cluster.advance(11)
    acquire(cluster, holder=BOB)
    failure, _result, _cluster = run(cluster, lease_id=first["lease_id"])
    assert failure.startswith("lock run was lost: its lease 694d77aa9e38260f expired or was revoked, and it is now held "
                              "by %s since 2026-11-22T10:00:11Z (lease 694d77aa9e382610, expires in 600 s unless "
                              "renewed)." % BOB)
    assert stored(cluster)[0]["holder"] == BOB


def test_renewal_that_finds_the_lease_expired_before_etcd_deleted_the_key_fails():
    cluster = FakeKVCluster()
    first = acquire(cluster)
    del cluster.leases[FIRST_LEASE]  # expired; the leader has not deleted the key yet
    failure, _result, _cluster = run(cluster, lease_id=first["lease_id"])
    assert failure.startswith("lock run was lost: its lease 694d77aa9e38260f has expired and etcd is deleting the "
                              "lock.")


def test_a_lock_left_by_an_expired_lease_is_taken_over_unless_it_changes():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    del cluster.leases[FIRST_LEASE]
    mod_revision = cluster.kv[KEY.encode()]["mod_revision"]
    failure, result, warnings = run(cluster)
    assert failure is None
    assert result["changed"] is True and result["previous_holder"] == BOB and result["waited"] == 0.0
    assert stored(cluster) == ({"holder": ALICE, "acquired_at": "2026-11-22T10:00:00Z", "ttl": 600}, FIRST_LEASE + 1)
    (_method, compare, _success, _failure), = calls(cluster, "txn")[1:]
    assert compare == [{"key": KEY_B64, "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}]
    assert warnings == ["lock run was still held by %s since 2026-11-22T10:00:00Z through lease 694d77aa9e38260f, "
                        "which had expired: that run may have stopped part-way; the lock was taken over" % BOB]


def test_a_key_without_a_lease_is_refused_with_the_delete_command():
    cluster = FakeKVCluster()
    cluster.put(KEY, "manual maintenance by carol")
    failure, result, _cluster = run(cluster)
    assert failure == ("lock run is held by manual maintenance by carol since unknown (no lease: it never expires); "
                       "wait for that run to finish, or if it died, release it with: "
                       "etcdctl --endpoints=http://10.0.0.1:2379 del /raftops/etcd/run")
    assert result["held_by"]["lease_id"] is None
    assert cluster.leases == {}


def test_a_dead_endpoint_is_skipped():
    cluster = FakeKVCluster()
    cluster.down.add(cluster.members[0]["id"])
    result = acquire(cluster, endpoints=URLS)
    assert result["changed"] is True
    assert {c[0] for c in cluster.calls} == {URLS[1]}


# -- races and timeouts ----------------------------------------------------------------------


def test_no_lease_is_leaked_when_another_holder_wins_the_race():
    cluster = FakeKVCluster()

    def bob_takes_it():
        lease = cluster.grant(600, lease_id=0xB0B)
        cluster.put(KEY, etcd_run_lock.encode_value(BOB, "2026-11-22T10:00:00Z", 600), lease)

    cluster.before["txn"] = bob_takes_it
    failure, result, _cluster = run(cluster)
    assert failure.startswith("lock run is held by %s since 2026-11-22T10:00:00Z (lease 0000000000000b0b, expires "
                              "in 600 s unless renewed)" % BOB)
    assert result["held_by"]["lease_id"] == "0000000000000b0b"
    assert list(cluster.leases) == [0xB0B]
    assert cluster.revoked == [FIRST_LEASE]  # the lease granted for the lost race
    # the holder was read from the transaction's failure branch, not by another read
    assert [c[0] for c in calls(cluster)] == ["range_kv", "lease_grant", "txn", "lease_revoke",
                                              "lease_time_to_live"]


@pytest.mark.parametrize("outcome", ["applied", "lost"])
def test_a_timed_out_txn_is_not_resent_and_its_lease_is_revoked(outcome):
    cluster = FakeKVCluster()
    cluster.timeouts["txn"] = [outcome]
    failure, result, _cluster = run(cluster, endpoints=URLS)
    assert failure.startswith("lock run: the request that takes the lock got no answer after it was sent, so etcd "
                              "may have applied it; it was not sent again (")
    assert failure.endswith("Its lease 694d77aa9e38260f has been revoked, so this run does not hold the lock; "
                            "run again")
    assert len(calls(cluster, "txn")) == 1
    assert cluster.leases == {} and cluster.kv == {}
    assert result["changed"] is False


def test_a_timed_out_txn_whose_lease_cannot_be_revoked_says_how_to_clean_up():
    cluster = FakeKVCluster()
    cluster.timeouts["txn"] = ["applied"]
    cluster.timeouts["lease_revoke"] = ["lost", "lost"]
    failure, _result, _cluster = run(cluster, endpoints=URLS)
    assert len(calls(cluster, "txn")) == 1
    assert "Revoking its lease 694d77aa9e38260f failed too (" in failure
    assert failure.endswith("so the lock may be held by that lease for up to 600 s: look with etcdctl "
                            "--endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379 get /raftops/etcd/run, and release "
                            "it with: etcdctl --endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379 lease revoke "
                            "694d77aa9e38260f")


def test_a_timed_out_lease_grant_is_not_resent():
    cluster = FakeKVCluster()
    cluster.timeouts["lease_grant"] = ["applied"]
    failure, _result, _cluster = run(cluster, endpoints=URLS)
    assert failure.startswith("lock run not acquired: granting its lease got no answer: ")
    assert failure.endswith("A lease may have been granted; it holds nothing and expires within 600 s. Run again")
    assert len(calls(cluster, "lease_grant")) == 1
    assert calls(cluster, "txn") == []


def test_an_unreachable_cluster_fails_naming_the_lock():
    cluster = FakeKVCluster()
    cluster.down.update(m["id"] for m in cluster.members)
    failure, result, _cluster = run(cluster)
    assert failure == ("lock run (/raftops/etcd/run): no endpoint answered: http://10.0.0.1:2379: [Errno 111] "
                       "Connection refused")
    assert result == dict(changed=False, key=KEY)


# -- read_cluster: the cluster read in the same call ----------------------------------------


def test_read_cluster_returns_the_read_with_the_lock_taken():
    cluster = FakeKVCluster()
    failure, result, warnings = run(cluster, read_cluster=True)
    assert failure is None and warnings == []
    assert result["acquired"] is True and result["lease_id"] == FIRST_HEX and result["changed"] is True
    read = result["cluster"]
    # every member, the two not named in endpoints found through the member list
    assert read["healthy"] is True and read["problems"] == []
    assert sorted(e["member"] for e in read["endpoints"]) == ["m0", "m1", "m2"]
    assert "answered" not in read and "msg" not in read
    assert stored(cluster)[0]["holder"] == ALICE


def test_read_cluster_compares_each_database_with_the_quota_given(monkeypatch):
    quotas = []
    health_result = etcd_cluster_state.health_result

    def recording(observation, quota_bytes=0):
        quotas.append(quota_bytes)
        return health_result(observation, quota_bytes=quota_bytes)
    monkeypatch.setattr(etcd_cluster_state, "health_result", recording)
    _failure, result, _warnings = run(FakeKVCluster(), read_cluster=True, quota_bytes=8 * 1024 ** 3)
    assert quotas == [8 * 1024 ** 3] and result["acquired"] is True


def test_read_cluster_asks_the_lock_only_of_endpoints_that_answered():
    cluster = FakeKVCluster()
    cluster.down.add(cluster.members[0]["id"])
    failure, result, _warnings = run(cluster, read_cluster=True, endpoints=URLS)
    assert failure is None and result["acquired"] is True
    assert result["cluster"]["healthy"] is False
    assert any("http://10.0.0.1:2379" in problem for problem in result["cluster"]["problems"])
    assert {c[0] for c in cluster.calls} == {URLS[1]}


def test_read_cluster_of_a_cluster_that_does_not_answer_takes_no_lock_and_does_not_fail():
    cluster = FakeKVCluster()
    cluster.down.update(m["id"] for m in cluster.members)
    failure, result, warnings = run(cluster, read_cluster=True, endpoints=URLS)
    assert failure is None and warnings == []
    assert result["changed"] is False and result["acquired"] is False and "lease_id" not in result
    assert result["msg"] == ("lock run not taken: no etcd endpoint answered: http://10.0.0.1:2379: [Errno 111] Connection "
                             "refused; http://10.0.0.2:2379: [Errno 111] Connection refused")
    assert result["cluster"]["msg"] == result["msg"][len("lock run not taken: "):]
    assert cluster.calls == [] and cluster.leases == {} and cluster.kv == {}


def test_read_cluster_with_the_lock_held_fails_naming_the_holder_and_returns_the_read():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    failure, result, _warnings = run(cluster, read_cluster=True)
    assert failure.startswith("lock run is held by %s" % BOB)
    assert result["changed"] is False and result["cluster"]["healthy"] is True
    assert result["held_by"]["holder"] == BOB
    assert stored(cluster)[0]["holder"] == BOB


@pytest.mark.parametrize("down, tolerate, fails", [
    # The restore replaces a cluster that does not answer well: its lock is no reason to stop it.
    (["m1"], True, False),
    # A healthy cluster's lock held by another run stops the run, tolerated or not.
    ([], True, True),
    (["m1"], False, True),
])
def test_tolerate_unhealthy_lets_a_lock_not_taken_in_an_unhealthy_cluster_pass(down, tolerate, fails):
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    cluster.down.update(m["id"] for m in cluster.members if m["name"] in down)
    failure, result, _warnings = run(cluster, read_cluster=True, tolerate_unhealthy=tolerate, endpoints=URLS)
    assert result["cluster"]["healthy"] is not bool(down)
    assert result["held_by"]["holder"] == BOB and stored(cluster)[0]["holder"] == BOB
    assert result["acquired"] is False and result["changed"] is False
    if fails:
        assert failure.startswith("lock run is held by %s" % BOB)
    else:
        assert failure is None
        assert result["msg"].startswith("lock run not taken in a cluster that is not healthy: lock run is held by %s" % BOB)


def test_tolerate_unhealthy_still_takes_a_free_lock_of_an_unhealthy_cluster():
    cluster = FakeKVCluster()
    cluster.down.update(m["id"] for m in cluster.members if m["name"] == "m1")
    failure, result, _warnings = run(cluster, read_cluster=True, tolerate_unhealthy=True, endpoints=URLS)
    assert failure is None and result["acquired"] is True and result["cluster"]["healthy"] is False
    assert stored(cluster)[0]["holder"] == ALICE


# -- release ---------------------------------------------------------------------------------


def test_release_revokes_the_lease():
    cluster = FakeKVCluster()
    lock = acquire(cluster)
    failure, result, warnings = run(cluster, state="released", lease_id=lock["lease_id"])
    assert failure is None and warnings == []
    assert result == dict(changed=True, released=True, key=KEY, holder=ALICE, acquired_at="2026-11-22T10:00:00Z",
                          lease_id=FIRST_HEX,
                          msg="lock run of %s released (lease 694d77aa9e38260f revoked)" % ALICE)
    assert cluster.kv == {} and cluster.leases == {}
    # released again: nothing to do, and it says so
    failure, again, warnings = run(cluster, state="released", lease_id=lock["lease_id"])
    assert failure is None and again["changed"] is False
    assert warnings == ["lock run had already expired or been released (lease 694d77aa9e38260f)"]


def test_release_of_an_expired_lock_is_ok_with_a_warning():
    cluster = FakeKVCluster()
    lock = acquire(cluster, ttl=10)
    cluster.advance(11)
    failure, result, warnings = run(cluster, state="released", lease_id=lock["lease_id"])
    assert failure is None
    assert result == dict(changed=False, released=False, key=KEY, msg=warnings[0])
    assert warnings == ["lock run had already expired or been released (lease 694d77aa9e38260f)"]


def test_release_of_a_lock_taken_by_another_leaves_it_alone():
    cluster = FakeKVCluster()
    lock = acquire(cluster, ttl=10)
    cluster.advance(11)
    acquire(cluster, holder=BOB)
    failure, result, warnings = run(cluster, state="released", lease_id=lock["lease_id"])
    assert failure is None
    assert result["changed"] is False and result["holder"] == BOB
    assert warnings == ["lock run had already expired or been taken (lease 694d77aa9e38260f no longer holds it): it "
                        "is held by %s since 2026-11-22T10:00:11Z now; left alone" % BOB]
    assert stored(cluster)[0]["holder"] == BOB


def test_release_by_holder_without_lease_id():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    failure, result, warnings = run(cluster, state="released", holder=ALICE)
    assert failure is None and result["changed"] is False
    assert warnings == ["lock run is held by %s since 2026-11-22T10:00:00Z, not by %s; left alone" % (BOB, ALICE)]
    failure, result, _cluster = run(cluster, state="released", holder=BOB)
    assert failure is None and result["changed"] is True
    assert cluster.kv == {}


def test_release_without_holder_or_lease_breaks_the_lock():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    failure, result, _cluster = run(cluster, state="released", holder=None)
    assert failure is None and result["released"] is True and result["holder"] == BOB
    assert cluster.kv == {} and cluster.revoked == [FIRST_LEASE]


def test_release_of_a_key_without_lease_deletes_it_only_if_unchanged():
    cluster = FakeKVCluster()
    cluster.put(KEY, "manual")
    failure, result, _cluster = run(cluster, state="released", holder=None)
    assert failure is None and result["changed"] is True
    assert cluster.kv == {}
    (_method, compare, success, _failure), = calls(cluster, "txn")
    assert compare[0]["target"] == "MOD"
    assert success == [{"request_delete_range": {"key": KEY_B64}}]


def test_release_when_nothing_is_held():
    cluster = FakeKVCluster()
    failure, result, warnings = run(cluster, state="released", holder=None)
    assert failure is None and warnings == []
    assert result == dict(changed=False, released=False, key=KEY, msg="lock run is not held")


# -- check mode ------------------------------------------------------------------------------


WRITES = {"lease_grant", "lease_revoke", "lease_keepalive_once", "txn"}


def test_check_mode_acquire_reports_and_writes_nothing():
    cluster = FakeKVCluster()
    failure, result, _cluster = run(cluster, check_mode=True)
    assert failure is None
    assert result["changed"] is True and result["acquired"] is True
    assert "lease_id" not in result
    assert cluster.kv == {} and cluster.leases == {}
    assert not {c[0] for c in calls(cluster)} & WRITES


def test_check_mode_acquire_of_a_held_lock_reports_the_holder_without_failing():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    cluster.calls.clear()
    failure, result, warnings = run(cluster, check_mode=True, wait_timeout=60)
    assert failure is None
    assert result["changed"] is False and result["acquired"] is False
    assert result["held_by"]["holder"] == BOB
    assert warnings == ["lock run is held by %s since 2026-11-22T10:00:00Z (lease 694d77aa9e38260f, expires in 600 s "
                        "unless renewed); a real run would wait up to 60 s for it" % BOB]
    assert cluster.sleeps == 0
    assert not {c[0] for c in calls(cluster)} & WRITES


def test_check_mode_acquire_of_an_expired_lock_would_change():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    del cluster.leases[FIRST_LEASE]
    cluster.calls.clear()
    failure, result, _cluster = run(cluster, check_mode=True)
    assert failure is None and result["changed"] is True and result["previous_holder"] == BOB
    assert not {c[0] for c in calls(cluster)} & WRITES


def test_check_mode_by_the_same_holder_and_with_lease_id_does_not_renew():
    cluster = FakeKVCluster()
    lock = acquire(cluster)
    cluster.advance(100)
    cluster.calls.clear()
    for extra in ({}, {"lease_id": lock["lease_id"]}):
        failure, result, _cluster = run(cluster, check_mode=True, **extra)
        assert failure is None and result["changed"] is False and result["expires_in"] == 500
    assert not {c[0] for c in calls(cluster)} & WRITES
    assert cluster.leases[FIRST_LEASE]["expiry"] == 600


def test_check_mode_release():
    cluster = FakeKVCluster()
    lock = acquire(cluster)
    cluster.calls.clear()
    failure, result, _cluster = run(cluster, check_mode=True, state="released", lease_id=lock["lease_id"])
    assert failure is None and result["changed"] is True and result["released"] is True
    assert KEY.encode() in cluster.kv and FIRST_LEASE in cluster.leases
    assert not {c[0] for c in calls(cluster)} & WRITES
    failure, result, _cluster = run(cluster, check_mode=True, state="released", lease_id="abc")
    assert failure is None and result["changed"] is False


# -- parameters ------------------------------------------------------------------------------


def test_a_bad_lease_id_fails_before_anything_is_sent():
    cluster = FakeKVCluster()
    failure, _result, _cluster = run(cluster, lease_id="lease-1")
    assert failure.startswith("lease_id 'lease-1' is not a lease ID")
    assert cluster.calls == []


# -- the module as Ansible runs it -----------------------------------------------------------


def run_main(monkeypatch, capsys, args, cluster=None):
    cluster = cluster or FakeKVCluster()
    # main builds its clients through module_clients; only the list it builds is faked
    monkeypatch.setattr(etcd_client, "clients_from_params", lambda p: [cluster.client(u) for u in p["endpoints"]])
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_lock.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_main_acquires_and_releases(monkeypatch, capsys):
    cluster = FakeKVCluster()
    args = {"endpoints": [URLS[0]], "name": "run", "prefix": "/raftops/etcd/", "holder": ALICE}
    code, out = run_main(monkeypatch, capsys, args, cluster)
    assert code == 0 and out["changed"] is True and out["lease_id"] == FIRST_HEX
    code, out = run_main(monkeypatch, capsys, dict(args, state="released", lease_id=out["lease_id"]), cluster)
    assert code == 0 and out["changed"] is True and cluster.kv == {}


def test_main_refusal_fails_with_warnings_and_details(monkeypatch, capsys):
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    code, out = run_main(monkeypatch, capsys, {"endpoints": [URLS[0]], "name": "run", "prefix": "/raftops/etcd/",
                                               "holder": ALICE}, cluster)
    assert code == 1 and out["failed"] is True
    assert out["msg"].startswith("lock run is held by " + BOB)
    assert out["held_by"]["holder"] == BOB


def test_main_check_mode_warns(monkeypatch, capsys):
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    # how a warning reaches the output depends on what else the test process imported; look at the call
    seen = []
    monkeypatch.setattr(etcd_lock.AnsibleModule, "warn", lambda self, warning: seen.append(warning))
    code, out = run_main(monkeypatch, capsys, {"endpoints": [URLS[0]], "name": "run", "prefix": "/raftops/etcd/",
                                               "holder": ALICE, "_ansible_check_mode": True}, cluster)
    assert code == 0 and out["changed"] is False
    assert len(seen) == 1 and seen[0].startswith("lock run is held by " + BOB)


def test_main_names_an_unusable_tls_file_before_anything_is_sent(capsys, tmp_path):
    args = {"endpoints": ["https://10.0.0.1:2379"], "ca_cert": str(tmp_path / "ca.pem"), "name": "run", "holder": ALICE}
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_lock.main()
    out = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1 and out["failed"] is True
    assert out["msg"] == "cannot set up the etcd client: ca_cert %s does not exist" % (tmp_path / "ca.pem")


@pytest.mark.parametrize("args, message", [
    ({"name": "run"}, "holder is required with state=acquired: say who takes the lock"),
    ({"name": "", "state": "released"}, "name must not be empty"),
    ({"name": "run", "holder": "a", "ttl": 0}, "ttl must be at least 1 second, got 0 (a lease of 0 s would never hold "
                                               "the lock)"),
    ({"name": "run", "holder": "a", "ttl": -5}, "ttl must be at least 1 second, got -5 (a lease of 0 s would never "
                                                "hold the lock)"),
    ({"name": "run", "holder": "a", "wait_timeout": -1}, "wait_timeout must not be negative, got -1"),
    ({"name": "run", "state": "released", "read_cluster": True},
     "read_cluster goes with state=acquired only: a release reads nothing"),
    ({"name": "run", "holder": "a", "read_cluster": True, "quota_bytes": -1}, "quota_bytes must not be negative, got -1"),
    ({"name": "run", "holder": "a", "tolerate_unhealthy": True},
     "tolerate_unhealthy goes with read_cluster only: it is the read that finds the cluster not healthy"),
])
def test_main_rejects_bad_parameters(monkeypatch, capsys, args, message):
    cluster = FakeKVCluster()
    code, out = run_main(monkeypatch, capsys, dict(args, endpoints=[URLS[0]]), cluster)
    assert code == 1 and out["msg"] == message
    assert cluster.calls == []


# -- documentation ---------------------------------------------------------------------------


def test_documented_options_match_the_argument_spec():
    assert_documented_options_match(etcd_lock)


def test_examples_and_return_are_yaml():
    examples = yaml.safe_load(etcd_lock.EXAMPLES)
    # Four tasks, and the run lock's three in a block that gives their connection once.
    assert len(examples) == 5 and len(examples[3]["block"]) == 3
    returned = yaml.safe_load(etcd_lock.RETURN)
    assert {"key", "acquired", "released", "lease_id", "holder", "acquired_at", "ttl", "expires_in",
            "waited", "previous_holder", "held_by", "release_command", "cluster", "msg"} <= set(returned)


# -- a run that died, and one that lives on another controller with the same host name ----------

DEAD_RUN = ("ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 4242, run 9f3c2a1b0e4d5c6f of machine "
            "1a2b3c4d5e6f7a8b, started 2026-11-22T09:58:00Z")
# This run: another controller with the same host name (a cloned machine, a CI container).
CLONE_RUN = ("ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 1234, run 0123456789abcdef of machine "
             "1a2b3c4d5e6f7a8b, started 2026-11-22T10:00:00Z")


def keeper_saw_it_end(cluster, pid=4242):
    """What the dead run's keeper does when its run's process ends without releasing the lock."""
    store = GatewayLockStore([cluster.client(URLS[0])], dict(endpoints=URLS[:1]))
    assert etcd_run_lock.mark_ended(store, KEY, FIRST_LEASE, etcd_run_lock.ended_note(pid, "2026-11-22T10:00:05Z"))


def test_the_lock_of_a_run_whose_keeper_saw_it_die_is_taken_over_at_once_naming_it():
    cluster = FakeKVCluster()
    acquire(cluster, holder=DEAD_RUN, ttl=45)
    keeper_saw_it_end(cluster)
    cluster.advance(5)  # its lease still lives
    failure, result, warnings = run(cluster, holder=CLONE_RUN)
    assert failure is None, failure
    assert result["acquired"] is True and result["holder"] == CLONE_RUN
    assert result["taken_over"] == DEAD_RUN and result["previous_holder"] == DEAD_RUN
    assert warnings == ["lock run was held by %s since 2026-11-22T10:00:00Z (lease %s), a run that died (its keeper saw "
                        "its ansible-playbook process (pid 4242) end at 2026-11-22T10:00:05Z without releasing the "
                        "lock, and renews its lease no more): it may have stopped part-way; the lock was taken over"
                        % (DEAD_RUN, FIRST_HEX)]
    assert stored(cluster)[0]["holder"] == CLONE_RUN
    # only if the lock did not change since it was read
    compare = calls(cluster, "txn")[-1][1]
    assert compare[0]["target"] == "MOD"


# The holders an earlier release wrote (no run ID): the other controller's run, and this one's.
OLD_RUN = "ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 4242, started 2026-11-22T09:58:00Z"
OLD_CLONE = "ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 1234, started 2026-11-22T10:00:00Z"


@pytest.mark.parametrize("holder, clone", [(DEAD_RUN, CLONE_RUN), (OLD_RUN, OLD_CLONE)],
                         ids=["holders-with-run-ids", "holders-of-an-earlier-release"])
@pytest.mark.parametrize("controller", [
    dict(host="ctl-a", run_pids=[1234]),  # the holder's pid runs nothing here: it runs on the other controller
    dict(host="ctl-a", run_pids=[]),
    None,
], ids=["same-host-name", "same-host-name-no-runs", "no-controller"])
def test_a_live_run_of_another_controller_with_the_same_host_name_is_refused_naming_it(controller, holder, clone):
    cluster = FakeKVCluster()
    acquire(cluster, holder=holder, ttl=45)
    cluster.advance(10)
    before = stored(cluster)
    failure, result, _warnings = run(cluster, holder=clone, **({"controller": controller} if controller else {}))
    assert failure == ("lock run is held by %s since 2026-11-22T10:00:00Z (lease %s, expires in 35 s unless renewed); "
                       "wait for that run to finish, or if it died, wait for the lock to expire or release it with: "
                       "etcdctl --endpoints=http://10.0.0.1:2379 lease revoke %s" % (holder, FIRST_HEX, FIRST_HEX))
    assert result["acquired"] is False and "taken_over" not in result
    assert stored(cluster) == before


def test_the_lock_of_a_run_whose_lease_ran_out_is_taken_over():
    cluster = FakeKVCluster()
    acquire(cluster, holder=DEAD_RUN, ttl=45)
    cluster.advance(46)
    failure, result, _warnings = run(cluster, holder=CLONE_RUN)
    assert failure is None and result["acquired"] is True and stored(cluster)[0]["holder"] == CLONE_RUN


def test_a_holder_not_written_by_the_role_is_never_taken_over():
    cluster = FakeKVCluster()
    acquire(cluster, holder=BOB)
    failure, _result, _warnings = run(cluster, controller=dict(host="ctl-b", run_pids=[]))
    assert failure.startswith("lock run is held by %s" % BOB)


def test_check_mode_reports_the_takeover_of_a_dead_run():
    cluster = FakeKVCluster()
    acquire(cluster, holder=DEAD_RUN)
    keeper_saw_it_end(cluster)
    failure, result, _warnings = run(cluster, check_mode=True, holder=CLONE_RUN)
    assert failure is None and result["changed"] is True
    assert "is held by a run that died: its keeper saw its ansible-playbook process (pid 4242) end" in result["msg"]
    assert stored(cluster)[0]["holder"] == DEAD_RUN
