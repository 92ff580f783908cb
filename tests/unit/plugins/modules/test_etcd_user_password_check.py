"""etcd_user's password check against etcd's answers to the login, over the real client and a local
gateway (fake_gateway.Gateway): only "invalid user ID or password" sets the password; a leader
change, a timeout or no endpoint answering is tried again and then fails the task with nothing
changed; a no-password user is refused."""

import types

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import access as etcd_access
from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.modules import etcd_user
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_gateway import HEADER, Gateway

PASSWORD = "s3cret-Pa55"
OK = (200, {"header": HEADER})
TOKEN = (200, {"header": HEADER, "token": "abc.123"})


def error(status, message, code):
    """An error reply as etcd 3.4/3.5's gateway writes it."""
    return (status, {"error": message, "message": message, "code": code})


WRONG_PASSWORD = error(400, "etcdserver: authentication failed, invalid user ID or password", 3)
# 3.6's gateway: no "error" field
WRONG_PASSWORD_36 = (400, {"code": 3, "message": "etcdserver: authentication failed, invalid user ID or password",
                           "details": []})
NO_PASSWORD_USER = error(500, "auth: authentication failed, password was given for no password user", 2)
LEADER_CHANGED = error(503, "etcdserver: leader changed", 14)
TIMED_OUT = error(503, "etcdserver: request timed out", 14)
AUTH_OFF = error(400, "etcdserver: authentication is not enabled", 9)


@pytest.fixture
def gateway(monkeypatch):
    gw = Gateway()
    gw.routes["/v3/auth/user/get"] = (200, {"header": HEADER, "roles": ["app"]})
    gw.routes["/v3/auth/user/changepw"] = OK
    sleeps = []
    monkeypatch.setattr(etcd_user, "time", types.SimpleNamespace(sleep=sleeps.append))
    gw.sleeps = sleeps
    yield gw
    gw.close()


def check(clients):
    params = {name: option.get("default") for name, option in etcd_user.argument_spec().items()}
    params.update(name="app", password=PASSWORD, update_password="always")
    return etcd_user.run(params, clients)


def paths(gateway):
    return [path for path, _body in gateway.requests]


@pytest.mark.parametrize("answer", [WRONG_PASSWORD, WRONG_PASSWORD_36], ids=["3.5", "3.6"])
def test_only_a_wrong_password_answer_sets_the_password(gateway, answer):
    gateway.routes["/v3/auth/authenticate"] = [answer]
    result, warnings = check([gateway.client])
    assert result["changed"] is True and result["password_changed"] is True and warnings == []
    assert paths(gateway) == ["/v3/auth/user/get", "/v3/auth/authenticate", "/v3/auth/user/changepw"]
    assert gateway.sleeps == []


def test_a_login_that_works_changes_nothing(gateway):
    gateway.routes["/v3/auth/authenticate"] = [TOKEN]
    result, _warnings = check([gateway.client])
    assert result["changed"] is False and result["msg"] == "user app is as asked already"
    assert "/v3/auth/user/changepw" not in paths(gateway)


@pytest.mark.parametrize("transient", [LEADER_CHANGED, TIMED_OUT], ids=["leader-changed", "timed-out"])
def test_a_transient_failure_is_tried_again_and_never_sets_the_password(gateway, transient):
    gateway.routes["/v3/auth/authenticate"] = [transient, TOKEN]
    result, _warnings = check([gateway.client])
    assert result["changed"] is False and result["password_changed"] is False
    assert paths(gateway).count("/v3/auth/authenticate") == 2
    assert "/v3/auth/user/changepw" not in paths(gateway)
    assert gateway.sleeps == [2.0]


def test_failures_that_last_fail_the_task_with_nothing_changed(gateway):
    gateway.routes["/v3/auth/authenticate"] = [LEADER_CHANGED, TIMED_OUT, LEADER_CHANGED]
    with pytest.raises(etcd_access.AccessError) as caught:
        check([gateway.client])
    message = str(caught.value)
    assert message.startswith("user app: its password could not be checked (3 logins, each failed: ")
    assert "leader changed" in message and "request timed out" in message
    assert message.endswith("it was not set and nothing was changed: run again once the cluster answers")
    assert PASSWORD not in message
    assert paths(gateway) == ["/v3/auth/user/get"] + ["/v3/auth/authenticate"] * 3
    assert gateway.sleeps == [2.0, 4.0]


def test_no_endpoint_answering_the_login_fails_the_task_with_nothing_changed(gateway):
    # The user is read through the gateway; the logins go to an endpoint where nothing listens.
    class Unreachable(ec.EtcdClient):
        def authenticate(self, name, password):
            return ec.EtcdClient("http://127.0.0.1:1", timeout=1).authenticate(name, password)

    client = Unreachable(gateway.client.endpoint, timeout=2)
    with pytest.raises(etcd_access.AccessError, match=r"^user app: its password could not be checked \(3 logins"):
        check([client])
    assert paths(gateway) == ["/v3/auth/user/get"]


def test_a_no_password_user_given_a_password_is_refused(gateway):
    gateway.routes["/v3/auth/authenticate"] = [NO_PASSWORD_USER]
    with pytest.raises(etcd_access.AccessError) as caught:
        check([gateway.client])
    assert str(caught.value) == (
        "user app was made with no_password=true: etcd refuses every password login for it and keeps it so when a "
        "password is set. Leave its password out, or delete the user and create it again with a password "
        "(state=absent, then present). Nothing was changed")
    assert paths(gateway) == ["/v3/auth/user/get", "/v3/auth/authenticate"]


def test_auth_off_sets_the_password_with_a_warning(gateway):
    gateway.routes["/v3/auth/authenticate"] = [AUTH_OFF]
    result, warnings = check([gateway.client])
    assert result["password_changed"] is True
    assert warnings == ["user app: the password cannot be checked while auth is off (%s: etcdserver: authentication "
                        "is not enabled), so it is set again" % gateway.client.endpoint]
    assert paths(gateway)[-1] == "/v3/auth/user/changepw"
