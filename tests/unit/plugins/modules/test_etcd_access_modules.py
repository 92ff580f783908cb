"""etcd_user, etcd_role and etcd_auth on fake_etcd_auth.FakeAuthCluster: the happy path, a second run
that changes nothing, check and diff mode, and each refusal with its message and nothing changed."""

import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.client import access as etcd_access
from ansible_collections.raftops.etcd.plugins.modules import etcd_auth, etcd_role, etcd_user
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_auth import FakeAuthCluster
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match

URL = "http://10.0.0.1:2379"
CONNECTION = dict(endpoints=[URL], ca_cert=None, client_cert=None, client_key=None, timeout=1.0, auth_user=None,
                  auth_password=None)
APP = [dict(prefix="app/", key=None, permission="readwrite"), dict(prefix="shared/", key=None, permission="read")]


def run(module, cluster, check_mode=False, **params):
    spec = module.argument_spec()
    full = dict((name, option.get("default")) for name, option in spec.items())
    full.update(CONNECTION)
    full.update(params)
    result, warnings = module.run(full, [cluster.client(URL)], check_mode=check_mode)
    json.dumps(result)
    return result, warnings


def refused(module, cluster, message, **params):
    before = (json.dumps(cluster.users, default=sorted, sort_keys=True), repr(cluster.roles), cluster.auth)
    with pytest.raises(etcd_access.AccessError) as caught:
        run(module, cluster, **params)
    assert str(caught.value) == message
    assert cluster.changes() == []
    assert (json.dumps(cluster.users, default=sorted, sort_keys=True), repr(cluster.roles), cluster.auth) == before


# -- etcd_role ---------------------------------------------------------------------------------


def test_role_created_with_its_permissions_then_unchanged():
    cluster = FakeAuthCluster()
    result = run(etcd_role, cluster, name="app", permissions=APP)[0]
    assert result["changed"] is True and result["msg"] == "role app created, 2 permissions granted"
    assert cluster.roles["app"] == {(b"app/", b"app0"): "READWRITE", (b"shared/", b"shared0"): "READ"}
    assert result["permissions"] == [dict(prefix="app/", permission="readwrite"),
                                     dict(prefix="shared/", permission="read")]
    cluster.calls.clear()
    again = run(etcd_role, cluster, name="app", permissions=APP)[0]
    assert again["changed"] is False and again["msg"] == "role app has these permissions already"
    assert cluster.changes() == []


def test_role_grants_and_revokes_only_the_difference():
    cluster = FakeAuthCluster()
    cluster.add_role("app", {(b"app/", b"app0"): "READ", (b"old", b""): "WRITE", (b"shared/", b"shared0"): "READ"})
    result = run(etcd_role, cluster, name="app", permissions=APP)[0]
    assert cluster.changes() == [("role_revoke_permission", "app", b"old", b""),
                                 ("role_grant_permission", "app", b"app/", b"app0", "READWRITE")]
    assert result["revoked"] == [dict(key="old", permission="write")]
    assert result["diff"]["before"]["permissions"] == [
        dict(prefix="app/", permission="read"), dict(key="old", permission="write"),
        dict(prefix="shared/", permission="read")]
    assert result["diff"]["after"]["permissions"] == result["permissions"]


def test_role_append_permissions_revokes_nothing():
    cluster = FakeAuthCluster()
    cluster.add_role("app", {(b"old", b""): "WRITE"})
    run(etcd_role, cluster, name="app", permissions=APP[:1], append_permissions=True)
    assert (b"old", b"") in cluster.roles["app"] and len(cluster.roles["app"]) == 2


def test_role_check_mode_changes_nothing():
    cluster = FakeAuthCluster()
    result = run(etcd_role, cluster, check_mode=True, name="app", permissions=APP)[0]
    assert result["changed"] is True and result["msg"] == "role app would be created, 2 permissions would be granted"
    assert cluster.changes() == [] and cluster.roles == {}


def test_role_deleted_then_absent_changes_nothing():
    cluster = FakeAuthCluster()
    cluster.add_role("app")
    assert run(etcd_role, cluster, name="app", state="absent")[0]["changed"] is True
    assert cluster.roles == {}
    assert run(etcd_role, cluster, name="app", state="absent")[0]["changed"] is False


def test_the_root_role_can_be_created_but_never_changed():
    cluster = FakeAuthCluster()
    assert run(etcd_role, cluster, name="root")[0]["changed"] is True
    cluster.calls.clear()
    message = ("the root role is etcd's own: it holds every permission, so it takes no permissions and is not "
               "deleted; it can only be created (with no permissions)")
    refused(etcd_role, cluster, message, name="root", permissions=APP)
    refused(etcd_role, cluster, message, name="root", state="absent")


@pytest.mark.parametrize("permissions, message", [
    ([dict(key="a", prefix="b", permission="read")],
     "permission {'key': 'a', 'prefix': 'b', 'permission': 'read'} needs exactly one of key (one key) or prefix "
     "(every key under it)"),
    ([dict(prefix="a/", permission="read"), dict(prefix="a/", permission="write")],
     "permission {'prefix': 'a/', 'permission': 'write'}: its range is listed twice, as read and as write"),
])
def test_role_bad_permissions_are_refused(permissions, message):
    cluster = FakeAuthCluster()
    refused(etcd_role, cluster, message, name="app", permissions=permissions)


# -- etcd_user ---------------------------------------------------------------------------------


def test_user_created_with_roles_then_unchanged():
    cluster = FakeAuthCluster()
    cluster.add_role("app")
    result = run(etcd_user, cluster, name="app", password="s3cret", roles=["app"])[0]
    assert result["changed"] is True and result["msg"] == "user app created, roles granted app"
    assert cluster.users["app"] == dict(password="s3cret", roles={"app"}, no_password=False)
    assert "s3cret" not in json.dumps(result)
    cluster.calls.clear()
    again = run(etcd_user, cluster, name="app", password="other", roles=["app"])[0]
    assert again["changed"] is False and again["msg"] == "user app is as asked already"
    assert cluster.changes() == [] and cluster.users["app"]["password"] == "s3cret"  # update_password=on_create


def test_user_roles_listed_exactly_or_appended():
    cluster = FakeAuthCluster()
    cluster.add_role("a")
    cluster.add_role("b")
    cluster.add_user("app", roles=["a"])
    result = run(etcd_user, cluster, name="app", roles=["b"], append_roles=True)[0]
    assert result["granted"] == ["b"] and result["revoked"] == [] and cluster.users["app"]["roles"] == {"a", "b"}
    result = run(etcd_user, cluster, name="app", roles=["b"])[0]
    assert result["revoked"] == ["a"] and cluster.users["app"]["roles"] == {"b"}
    assert result["diff"] == dict(before=dict(name="app", roles=["a", "b"]), after=dict(name="app", roles=["b"]))


def test_user_check_mode_changes_nothing():
    cluster = FakeAuthCluster()
    cluster.add_role("app")
    result = run(etcd_user, cluster, check_mode=True, name="app", password="x", roles=["app"])[0]
    assert result["changed"] is True and result["msg"] == "user app would be created, roles would be granted app"
    assert cluster.changes() == [] and cluster.users == {}


def test_user_password_always_is_checked_by_logging_in_when_auth_is_on():
    cluster = FakeAuthCluster()
    cluster.add_user("app", password="old")
    cluster.auth = True
    result = run(etcd_user, cluster, name="app", password="new", update_password="always")[0]
    assert result["password_changed"] is True and cluster.users["app"]["password"] == "new"
    assert result["diff"]["after"]["password"] == "(changed)"
    again, warnings = run(etcd_user, cluster, name="app", password="new", update_password="always")
    assert again["changed"] is False and warnings == []


def test_user_password_always_is_set_while_auth_is_off_with_a_warning():
    cluster = FakeAuthCluster()
    cluster.add_user("app", password="same")
    result, warnings = run(etcd_user, cluster, name="app", password="same", update_password="always")
    assert result["changed"] is True and warnings[0].startswith("user app: the password cannot be checked")


def test_user_without_password_needs_no_password():
    cluster = FakeAuthCluster()
    refused(etcd_user, cluster, "user billing does not exist and has no password: set password, or no_password=true "
            "for a user that only connects with a client certificate whose common name is billing", name="billing")
    result = run(etcd_user, cluster, name="billing", no_password=True)[0]
    assert result["changed"] is True and cluster.users["billing"]["no_password"] is True
    assert cluster.changes() == [("user_add", "billing", True)]


def test_user_with_an_unknown_role_is_refused_before_anything_changes():
    cluster = FakeAuthCluster()
    cluster.add_role("app")
    refused(etcd_user, cluster, "user app: role(s) nope do not exist; create them first with raftops.etcd.etcd_role "
            "(existing roles: app)", name="app", password="x", roles=["app", "nope"])


def test_user_password_and_no_password_contradict():
    refused(etcd_user, FakeAuthCluster(), "user a: password and no_password=true contradict each other; set one",
            name="a", password="x", no_password=True)


def test_user_root_is_kept_while_auth_is_on():
    cluster = FakeAuthCluster()
    cluster.add_user("root", roles=["root"])
    cluster.auth = True
    refused(etcd_user, cluster, "user root is not deleted while auth is enabled (etcd refuses it); disable auth first",
            name="root", state="absent")
    refused(etcd_user, cluster, "user root keeps role root while auth is enabled (etcd refuses to revoke it); "
            "disable auth first", name="root", roles=[])


def test_user_deleted_then_absent_changes_nothing():
    cluster = FakeAuthCluster()
    cluster.add_user("app")
    assert run(etcd_user, cluster, name="app", state="absent")[0]["changed"] is True
    assert run(etcd_user, cluster, name="app", state="absent")[0]["changed"] is False


# -- etcd_auth ---------------------------------------------------------------------------------


def test_auth_enabled_with_root_then_unchanged_then_disabled():
    cluster = FakeAuthCluster()
    cluster.add_user("root", roles=["root"])
    checked = run(etcd_auth, cluster, check_mode=True)[0]
    assert checked["changed"] is True and checked["msg"] == "auth would be enabled" and cluster.auth is False
    result, warnings = run(etcd_auth, cluster)
    assert result["changed"] is True and cluster.auth is True
    assert result["diff"] == dict(before=dict(enabled=False), after=dict(enabled=True))
    assert warnings[0].startswith("auth is on from now: set auth_user and auth_password")
    again = run(etcd_auth, cluster, auth_user="root", auth_password="secret")[0]
    assert again["changed"] is False and again["msg"] == "auth is enabled already"
    assert run(etcd_auth, cluster, state="disabled")[0]["changed"] is True and cluster.auth is False


def test_enabling_auth_without_a_root_user_is_refused_first():
    cluster = FakeAuthCluster()
    refused(etcd_auth, cluster, "auth is not enabled: etcd refuses to enable it without a user root; create it first "
            "(raftops.etcd.etcd_role name=root, then raftops.etcd.etcd_user name=root password=... roles=[root])")


def test_enabling_auth_when_root_lacks_the_root_role_is_refused_first():
    cluster = FakeAuthCluster()
    cluster.add_role("app")
    cluster.add_user("root", roles=["app"])
    refused(etcd_auth, cluster, "auth is not enabled: etcd refuses to enable it while user root lacks role root (its "
            "roles: app); grant it first (raftops.etcd.etcd_role name=root, then raftops.etcd.etcd_user name=root "
            "roles=[root] append_roles=true)")


# -- as Ansible runs them ----------------------------------------------------------------------


def test_main_fails_with_the_message_and_hides_the_diff_unless_asked(monkeypatch, capsys):
    cluster = FakeAuthCluster()
    monkeypatch.setattr(etcd_access, "module_clients", lambda module: ([cluster.client(URL)], None))
    with patch_module_args({"endpoints": [URL]}), pytest.raises(SystemExit) as exit_info:
        etcd_auth.main()
    out = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1 and out["msg"].startswith("auth is not enabled: etcd refuses")
    with patch_module_args({"endpoints": [URL], "name": "app"}), pytest.raises(SystemExit) as exit_info:
        etcd_role.main()
    out = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 0 and out["changed"] is True and "diff" not in out
    args = {"endpoints": [URL], "name": "app", "password": "pw", "roles": ["app"], "_ansible_diff": True}
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_user.main()
    out = json.loads(capsys.readouterr().out)
    assert out["diff"]["after"] == dict(name="app", roles=["app"]) and "pw" not in json.dumps(out["diff"])


@pytest.mark.parametrize("module, params", [
    (etcd_user, dict(state="present", password="x", roles=[])), (etcd_user, dict(state="absent")),
    (etcd_role, dict(state="present", permissions=[])), (etcd_role, dict(state="absent")),
])
def test_an_empty_name_is_refused(module, params):
    # A user and a role named "" exist, so that only the refusal keeps them from being changed.
    cluster = FakeAuthCluster()
    cluster.add_user("", roles=["app"])
    cluster.add_role("", {(b"old", b""): "READ"})
    refused(module, cluster, "name must not be empty", name="", **params)


@pytest.mark.parametrize("module", [etcd_user, etcd_role, etcd_auth])
def test_documentation(module):
    assert_documented_options_match(module)
    yaml.safe_load(module.EXAMPLES)
    assert "msg" in yaml.safe_load(module.RETURN)
