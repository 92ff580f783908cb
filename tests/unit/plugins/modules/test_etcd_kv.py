import base64
import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.modules import etcd_kv
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_kv import FIRST_LEASE, FakeKVCluster
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match

URL = "http://10.0.0.1:2379"
KEY = "config/feature-x"


def params(**overrides):
    p = dict(endpoints=[URL], ca_cert=None, client_cert=None, client_key=None, timeout=1.0, auth_user=None,
             auth_password=None, key=KEY, value="on", value_encoding="text", state="present", prefix=False,
             lease_ttl=None, compare=None)
    p.update(overrides)
    return p


def run(cluster, check_mode=False, **overrides):
    p = params(**overrides)
    return etcd_kv.run(p, [cluster.client(u) for u in p["endpoints"]], check_mode=check_mode)


def ok(cluster, check_mode=False, **overrides):
    failure, result, warnings = run(cluster, check_mode=check_mode, **overrides)
    assert failure is None, failure
    assert warnings == []
    json.dumps(result)
    return result


def writes(cluster):
    return [c for c in cluster.calls if c[1] in ("txn", "lease_grant", "lease_revoke")]


def value_of(cluster, key=KEY):
    item = cluster.kv.get(key.encode())
    return None if item is None else item["value"]


# -- put ---------------------------------------------------------------------------------------


def test_put_a_new_key_then_the_same_value_changes_nothing():
    cluster = FakeKVCluster()
    first = ok(cluster)
    assert first["changed"] is True and first["previous"] is None and first["value"] == "on"
    assert first["diff"] == dict(before={}, after={KEY: "on"})
    assert first["msg"] == "config/feature-x set (revision 2)" and first["revision"] == 2
    assert value_of(cluster) == b"on"
    # the write is one transaction guarded by what was read (the key did not exist: mod revision 0)
    (_endpoint, _method, compare, success, failure), = [c for c in cluster.calls if c[1] == "txn"]
    key_b64 = base64.b64encode(KEY.encode()).decode()
    assert compare == [{"key": key_b64, "target": "MOD", "result": "EQUAL", "mod_revision": "0"}]
    assert success == [{"request_put": {"key": key_b64, "value": base64.b64encode(b"on").decode()}}]
    assert failure == [{"request_range": {"key": key_b64}}]
    cluster.calls.clear()
    again = ok(cluster)
    assert again["changed"] is False and again["msg"] == "config/feature-x already holds that value"
    assert writes(cluster) == []


def test_put_a_new_value_reports_the_previous_one():
    cluster = FakeKVCluster()
    cluster.put(KEY, "off")
    result = ok(cluster)
    assert result["changed"] is True and result["previous"] == "off"
    assert result["diff"] == dict(before={KEY: "off"}, after={KEY: "on"})
    assert value_of(cluster) == b"on" and cluster.kv[KEY.encode()]["version"] == 2


def test_check_mode_reports_and_writes_nothing():
    cluster = FakeKVCluster()
    cluster.put(KEY, "off")
    result = ok(cluster, check_mode=True, lease_ttl=30)
    assert result["changed"] is True and result["msg"] == "config/feature-x would be set"
    assert result["diff"] == dict(before={KEY: "off"}, after={KEY: "on"})
    assert writes(cluster) == [] and value_of(cluster) == b"off" and cluster.leases == {}


def test_lease_ttl_grants_a_lease_that_deletes_the_key_when_it_expires():
    cluster = FakeKVCluster()
    result = ok(cluster, lease_ttl=30)
    assert result["lease_id"] == "%x" % FIRST_LEASE
    assert cluster.kv[KEY.encode()]["lease"] == FIRST_LEASE and cluster.leases[FIRST_LEASE]["ttl"] == 30
    assert ok(cluster, lease_ttl=30)["changed"] is False  # held through a lease already
    cluster.advance(31)
    assert value_of(cluster) is None
    assert ok(cluster, lease_ttl=30)["changed"] is True


def test_base64_values():
    cluster = FakeKVCluster()
    blob = base64.b64encode(b"\xff\x00binary").decode()
    assert ok(cluster, value=blob, value_encoding="base64")["value"] == blob
    assert value_of(cluster) == b"\xff\x00binary"
    assert ok(cluster, value=blob, value_encoding="base64")["changed"] is False
    # read back as text, a value that is not UTF-8 is shown escaped, never refused
    assert ok(cluster, value="x")["previous"] == "\\xff\x00binary"


# -- compare-and-set ---------------------------------------------------------------------------


def test_a_matching_guard_writes_in_the_same_transaction():
    cluster = FakeKVCluster()
    cluster.put(KEY, "3")
    result = ok(cluster, value="4", compare={"value": "3", "version": 1})
    assert result["changed"] is True and result["matched"] is True and value_of(cluster) == b"4"
    (_endpoint, _method, compare, _success, _failure), = [c for c in cluster.calls if c[1] == "txn"]
    assert [(c["target"], c.get("value") or c.get("version") or c.get("mod_revision")) for c in compare] == [
        ("VALUE", base64.b64encode(b"3").decode()), ("VERSION", "1"), ("MOD", "2")]


@pytest.mark.parametrize("compare, reason", [
    ({"value": "2"}, "value is '3', not '2'"),
    ({"version": 5}, "version is 1, not 5"),
    ({"create_revision": 0}, "create_revision is 2, not 0"),
    ({"mod_revision": "9"}, "mod_revision is 2, not 9"),
])
def test_a_guard_that_does_not_match_changes_nothing_and_says_so(compare, reason):
    cluster = FakeKVCluster()
    cluster.put(KEY, "3")
    cluster.calls.clear()
    result = ok(cluster, value="4", compare=compare)
    assert result["changed"] is False and result["matched"] is False
    assert result["msg"] == "config/feature-x: compare did not match (%s); nothing changed" % reason
    assert writes(cluster) == [] and value_of(cluster) == b"3"


def test_create_only_when_missing():
    cluster = FakeKVCluster()
    assert ok(cluster, compare={"create_revision": 0})["changed"] is True
    result = ok(cluster, value="other", compare={"create_revision": 0})
    assert result["matched"] is False and value_of(cluster) == b"on"


def test_a_key_changed_between_the_read_and_the_write_is_not_overwritten():
    cluster = FakeKVCluster()
    cluster.put(KEY, "3")
    cluster.before["txn"] = lambda: cluster.put(KEY, "7")
    result = ok(cluster, value="4", compare={"value": "3"}, lease_ttl=10)
    assert result["changed"] is False and result["matched"] is False
    assert "value is '7', not '3'" in result["msg"]
    assert value_of(cluster) == b"7"
    assert cluster.leases == {} and cluster.revoked == [FIRST_LEASE]  # the lease granted for it is gone


def test_a_key_changed_meanwhile_without_a_guard_fails_and_writes_nothing():
    cluster = FakeKVCluster()
    cluster.put(KEY, "3")
    cluster.before["txn"] = lambda: cluster.put(KEY, "7")
    failure, result, _warnings = run(cluster, value="4")
    assert failure == ("config/feature-x changed while this task wrote it (mod revision 2, then 3); nothing was "
                       "written, run again")
    assert result["changed"] is False and value_of(cluster) == b"7"


# -- delete ------------------------------------------------------------------------------------


def test_delete_a_key_then_again_changes_nothing():
    cluster = FakeKVCluster()
    cluster.put(KEY, "on")
    result = ok(cluster, state="absent", value=None)
    assert result["changed"] is True and result["deleted"] == [KEY]
    assert result["diff"] == dict(before={KEY: "on"}, after={})
    assert cluster.kv == {}
    again = ok(cluster, state="absent", value=None)
    assert again["changed"] is False and again["msg"] == "config/feature-x: nothing to delete"


def test_delete_a_prefix_leaves_the_keys_beside_it():
    cluster = FakeKVCluster()
    for key in ("old/a", "old/b", "old0", "olc", "other"):
        cluster.put(key, key)
    checked = ok(cluster, check_mode=True, key="old/", prefix=True, state="absent", value=None)
    assert checked["changed"] is True and checked["deleted"] == ["old/a", "old/b"] and len(cluster.kv) == 5
    result = ok(cluster, key="old/", prefix=True, state="absent", value=None)
    assert result["msg"] == "2 keys under old/ deleted"
    assert sorted(cluster.kv) == [b"olc", b"old0", b"other"]
    txn = [c for c in cluster.calls if c[1] == "txn"][-1]
    assert txn[3] == [{"request_delete_range": {"key": base64.b64encode(b"old/").decode(),
                                                "range_end": base64.b64encode(b"old0").decode()}}]


def test_delete_with_a_guard_that_does_not_match_keeps_the_key():
    cluster = FakeKVCluster()
    cluster.put(KEY, "on")
    result = ok(cluster, state="absent", value=None, compare={"value": "off"})
    assert result["changed"] is False and result["matched"] is False and value_of(cluster) == b"on"
    assert ok(cluster, state="absent", value=None, compare={"value": "on"})["changed"] is True


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, message", [
    (dict(compare={"valeu": "3"}),
     "compare has an unknown field 'valeu'; the fields are value, version, create_revision, mod_revision"),
    (dict(compare={"version": "two"}), "compare.version must be a whole number of 0 or more, got 'two'"),
    (dict(value=None), "value is required with state=present (an empty string is a value)"),
    (dict(prefix=True), "prefix=true deletes keys under a prefix and goes with state=absent; put keys one by one"),
    (dict(lease_ttl=0), "lease_ttl must be at least 1 second, got 0"),
    (dict(state="absent", lease_ttl=5), "lease_ttl goes with state=absent".replace("absent", "present")),
    (dict(state="absent", prefix=True, compare={"version": 1}), "compare guards one key and does not go with prefix=true"),
    (dict(state="absent", prefix=True, key=""), "key must not be empty (a prefix of '' would be every key in the cluster)"),
    (dict(value="not base64!", value_encoding="base64"), "value is not valid base64 (value_encoding=base64)"),
])
def test_bad_input_is_refused_before_etcd_is_asked(overrides, message):
    cluster = FakeKVCluster()
    cluster.put(KEY, "3")
    failure, result, _warnings = run(cluster, **overrides)
    assert failure == message
    assert result["changed"] is False
    assert cluster.calls == [] and value_of(cluster) == b"3"


# -- the module as Ansible runs it -------------------------------------------------------------


def run_main(monkeypatch, capsys, args, cluster):
    def module_clients(module):
        return [cluster.client(url) for url in module.params["endpoints"]], None

    monkeypatch.setattr(etcd_kv, "module_clients", module_clients)
    with patch_module_args(dict(args, endpoints=[URL])), pytest.raises(SystemExit) as exit_info:
        etcd_kv.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_main_puts_and_returns_a_diff_only_when_asked(monkeypatch, capsys):
    cluster = FakeKVCluster()
    code, out = run_main(monkeypatch, capsys, {"key": KEY, "value": "on"}, cluster)
    assert code == 0 and out["changed"] is True and "diff" not in out
    code, out = run_main(monkeypatch, capsys, {"key": KEY, "value": "off", "_ansible_diff": True}, cluster)
    assert out["diff"] == dict(before={KEY: "on"}, after={KEY: "off"})


def test_main_refuses_an_unknown_compare_field(monkeypatch, capsys):
    cluster = FakeKVCluster()
    code, out = run_main(monkeypatch, capsys, {"key": KEY, "value": "on", "compare": {"revision": 3}}, cluster)
    assert code == 1 and out["msg"].startswith("compare has an unknown field 'revision'")
    assert cluster.calls == [] and cluster.kv == {}


def test_documented_options_match_the_argument_spec():
    assert_documented_options_match(etcd_kv)


def test_examples_and_return_are_yaml():
    assert len(yaml.safe_load(etcd_kv.EXAMPLES)) == 6
    assert {"key", "value", "previous", "revision", "lease_id", "matched", "deleted", "msg"} <= set(
        yaml.safe_load(etcd_kv.RETURN))
