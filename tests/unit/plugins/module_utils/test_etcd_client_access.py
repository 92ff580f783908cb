"""EtcdClient's key ranges, RBAC calls and password authentication against fake_gateway.Gateway: the
JSON field names of rpc.proto (which differ between calls), base64 keys, omitted zero values (READ),
and the token sent as the raw Authorization header."""

import base64

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_gateway import HEADER


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def error(message, code=9):
    return {"error": "etcdserver: " + message, "message": "etcdserver: " + message, "code": code}


@pytest.mark.parametrize("prefix, end", [
    ("app/", b"app0"),
    (b"a\xff", b"b"),
    (b"a\xff\xff", b"b"),
    (b"\xff", b"\0"),
    ("", b"\0"),
    ("z", b"{"),
])
def test_prefix_range_end_is_etcdctls(prefix, end):
    assert ec.prefix_range_end(prefix) == end


def test_range_sends_base64_keys_and_decodes_the_kvs(gateway):
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER, "count": "1", "kvs": [
        {"key": b64("app/a"), "value": b64("1"), "create_revision": "3", "mod_revision": "4", "version": "2"}]})
    kvs = gateway.client.range("app/", ec.prefix_range_end("app/"))
    assert kvs == [dict(key=b"app/a", value=b"1", create_revision=3, mod_revision=4, version=2, lease=0)]
    assert gateway.requests == [("/v3/kv/range", {"key": b64("app/"), "range_end": b64("app0")})]
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER})
    assert gateway.client.range("missing") == []


def test_rbac_calls_use_rpc_protos_field_names(gateway):
    for path in ("user/add", "user/delete", "user/changepw", "user/grant", "user/revoke", "role/add",
                 "role/delete", "role/grant", "role/revoke", "enable", "disable"):
        gateway.routes["/v3/auth/" + path] = (200, {"header": HEADER})
    client = gateway.client
    client.user_add("app", "pw")
    client.user_add("billing", no_password=True)
    client.user_delete("app")
    client.user_change_password("app", "pw2")
    client.user_grant_role("app", "r")
    client.user_revoke_role("app", "r")
    client.role_add("r")
    client.role_delete("r")
    client.role_grant_permission("r", b"app/", b"app0", "READWRITE")
    client.role_grant_permission("r", b"k", b"", "READ")
    client.role_revoke_permission("r", b"app/", b"app0")
    client.auth_enable()
    client.auth_disable()
    assert gateway.requests == [
        ("/v3/auth/user/add", {"name": "app", "password": "pw"}),
        ("/v3/auth/user/add", {"name": "billing", "options": {"no_password": True}}),
        ("/v3/auth/user/delete", {"name": "app"}),
        ("/v3/auth/user/changepw", {"name": "app", "password": "pw2"}),
        ("/v3/auth/user/grant", {"user": "app", "role": "r"}),
        ("/v3/auth/user/revoke", {"name": "app", "role": "r"}),
        ("/v3/auth/role/add", {"name": "r"}),
        ("/v3/auth/role/delete", {"role": "r"}),
        ("/v3/auth/role/grant", {"name": "r", "perm": {
            "permType": "READWRITE", "key": b64("app/"), "range_end": b64("app0")}}),
        ("/v3/auth/role/grant", {"name": "r", "perm": {"permType": "READ", "key": b64("k")}}),
        ("/v3/auth/role/revoke", {"role": "r", "key": b64("app/"), "range_end": b64("app0")}),
        ("/v3/auth/enable", {}),
        ("/v3/auth/disable", {}),
    ]


def test_rbac_reads_and_a_missing_user_or_role(gateway):
    gateway.routes["/v3/auth/user/get"] = (200, {"header": HEADER, "roles": ["b", "a"]})
    gateway.routes["/v3/auth/role/get"] = (200, {"header": HEADER, "perm": [
        {"key": b64("app/"), "range_end": b64("app0"), "permType": "READWRITE"},
        {"key": b64("k")}]})  # READ is the zero value: omitted, as is an empty range_end
    gateway.routes["/v3/auth/user/list"] = (200, {"header": HEADER, "users": ["root", "app"]})
    gateway.routes["/v3/auth/role/list"] = (200, {"header": HEADER})
    assert gateway.client.user_get("app") == ["a", "b"]
    assert gateway.client.role_get("r") == [(b"app/", b"app0", "READWRITE"), (b"k", b"", "READ")]
    assert gateway.client.user_list() == ["app", "root"] and gateway.client.role_list() == []
    assert gateway.requests[:2] == [("/v3/auth/user/get", {"name": "app"}), ("/v3/auth/role/get", {"role": "r"})]
    gateway.routes["/v3/auth/user/get"] = (400, error(ec.USER_NOT_FOUND))
    gateway.routes["/v3/auth/role/get"] = (400, error(ec.ROLE_NOT_FOUND))
    assert gateway.client.user_get("nobody") is None and gateway.client.role_get("none") is None
    gateway.routes["/v3/auth/user/get"] = (403, error("permission denied", 7))
    with pytest.raises(ec.EtcdError, match="permission denied"):
        gateway.client.user_get("app")


@pytest.mark.parametrize("routes, enabled", [
    ({"/v3/auth/status": (200, {"header": HEADER, "enabled": True, "authRevision": "4"})}, True),
    ({"/v3/auth/status": (200, {"header": HEADER})}, False),
    # 3.4 has no auth/status: an authentication without a user says whether auth is on
    ({"/v3/auth/status": (404, "Not Found"), "/v3/auth/authenticate": (400, error(ec.AUTH_NOT_ENABLED))}, False),
    ({"/v3/auth/status": (404, "Not Found"),
      "/v3/auth/authenticate": (400, error("authentication failed, invalid user ID or password", 3))}, True),
])
def test_auth_enabled(gateway, routes, enabled):
    gateway.routes.update(routes)
    assert gateway.client.auth_enabled() is enabled


def authenticating(gateway, **kwargs):
    client = ec.EtcdClient(gateway.client.endpoint, timeout=2, **kwargs)
    gateway.routes["/v3/auth/authenticate"] = (200, {"header": HEADER, "token": "tok1"})
    gateway.routes["/v3/kv/range"] = (200, {"header": HEADER})
    return client


def test_the_client_authenticates_once_and_sends_the_raw_token(gateway):
    client = authenticating(gateway, auth_user="root", auth_password="pw")
    client.range("a")
    client.range("b")
    assert [path for path, _body in gateway.requests] == ["/v3/auth/authenticate", "/v3/kv/range", "/v3/kv/range"]
    assert gateway.requests[0][1] == {"name": "root", "password": "pw"}
    assert gateway.authorizations == [None, "tok1", "tok1"]


def test_an_expired_token_is_renewed_once(gateway):
    client = authenticating(gateway, auth_user="root", auth_password="pw")
    client.range("a")
    gateway.routes["/v3/kv/range"] = (401, error(ec.INVALID_TOKEN, 16))
    with pytest.raises(ec.EtcdError, match="invalid auth token"):
        client.range("a")
    assert [path for path, _body in gateway.requests][1:] == ["/v3/kv/range", "/v3/kv/range", "/v3/auth/authenticate",
                                                              "/v3/kv/range"]


def test_while_auth_is_off_the_client_sends_no_token(gateway):
    client = authenticating(gateway, auth_user="root", auth_password="pw")
    gateway.routes["/v3/auth/authenticate"] = (400, error(ec.AUTH_NOT_ENABLED))
    client.range("a")
    client.range("b")
    assert gateway.authorizations == [None, None, None]


def test_a_login_left_unanswered_is_told_apart_from_an_unreachable_member(gateway):
    """etcd commits a login through raft: a member without quorum takes it and never answers. The
    RPC itself was not sent."""
    client = ec.EtcdClient(gateway.client.endpoint, timeout=0.3, auth_user="root", auth_password="pw")
    gateway.routes["/v3/auth/authenticate"] = ("stream", [])
    with pytest.raises(ec.EtcdLoginUnanswered, match="no answer to the login as root: timed out") as caught:
        client.status()
    assert not caught.value.sent
    assert [path for path, _body in gateway.requests] == ["/v3/auth/authenticate"]
    assert client.login_unanswered is caught.value
    # quorum is back: the next call logs in again and the client forgets the wait
    gateway.routes["/v3/auth/authenticate"] = (200, {"header": HEADER, "token": "tok1"})
    gateway.routes["/v3/maintenance/status"] = (200, {"header": HEADER, "raftAppliedIndex": "7"})
    client.status()
    assert client.login_unanswered is None


def test_a_learner_serves_no_login_so_its_status_goes_without_a_token_and_a_promoted_one_logs_in(gateway):
    client = authenticating(gateway, auth_user="root", auth_password="pw")
    gateway.routes["/v3/auth/authenticate"] = (400, error(ec.NOT_FOR_LEARNER, 9))
    gateway.routes["/v3/maintenance/status"] = (200, {"header": HEADER, "raftAppliedIndex": "7", "isLearner": True})
    assert client.status()["raft_applied_index"] == 7
    assert gateway.authorizations == [None, None]
    # promoted since: etcd refuses the call without a user, and the client logs in
    gateway.routes["/v3/auth/authenticate"] = (200, {"header": HEADER, "token": "tok1"})
    gateway.routes["/v3/kv/range"] = [(400, error(ec.USER_EMPTY, 3)), (200, {"header": HEADER})]
    client.range("a")
    assert [path for path, _body in gateway.requests][2:] == ["/v3/kv/range", "/v3/auth/authenticate", "/v3/kv/range"]
    assert gateway.authorizations[-1] == "tok1"


def test_auth_user_and_password_go_together():
    with pytest.raises(ec.EtcdConfigError, match="auth_password is missing") as caught:
        ec.EtcdClient("http://127.0.0.1:2379", auth_user="root")
    assert caught.value.option == "auth_password"


@pytest.mark.parametrize("refusal", [
    (400, error(ec.USER_EMPTY, 3)),
    (403, error("permission denied", 7)),
])
def test_a_client_that_learnt_auth_was_off_logs_in_once_auth_came_on(gateway, refusal):
    client = authenticating(gateway, auth_user="root", auth_password="pw")
    gateway.routes["/v3/auth/authenticate"] = (400, error(ec.AUTH_NOT_ENABLED))
    client.range("a")  # auth off: no token
    gateway.routes["/v3/auth/authenticate"] = (200, {"header": HEADER, "token": "tok2"})
    gateway.routes["/v3/kv/range"] = [refusal, (200, {"header": HEADER})]
    client.range("b")
    assert [path for path, _body in gateway.requests][2:] == ["/v3/kv/range", "/v3/auth/authenticate", "/v3/kv/range"]
    assert gateway.authorizations[-1] == "tok2"


def test_while_auth_stays_off_an_error_is_raised_as_it_came_without_a_second_try(gateway):
    client = authenticating(gateway, auth_user="root", auth_password="pw")
    gateway.routes["/v3/auth/authenticate"] = (400, error(ec.AUTH_NOT_ENABLED))
    client.range("a")
    gateway.routes["/v3/kv/range"] = (400, error("mvcc: required revision has been compacted", 11))
    with pytest.raises(ec.EtcdError, match="compacted"):
        client.range("b")
    assert [path for path, _body in gateway.requests][2:] == ["/v3/kv/range", "/v3/auth/authenticate"]
