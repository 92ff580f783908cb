"""fake_etcd_kv.FakeKVCluster with etcd's auth store (users, roles, auth on or off), for the access modules.

FakeAuthClient has the RBAC methods of ``etcd_client.EtcdClient`` and refuses what etcd refuses, with
etcd's messages: a role or user that does not exist, a user added twice, enabling auth without a root
user holding the root role, deleting root or revoking its root role while auth is on, a password
login as a no-password user (whose password change etcd ignores). Every call is
logged in ``cluster.calls`` as (endpoint, method, args...).
"""

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec

from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_kv import FakeKVClient, FakeKVCluster

READS = ("user_list", "user_get", "role_list", "role_get", "auth_enabled", "authenticate")


class FakeAuthCluster(FakeKVCluster):
    def __init__(self, names=("m0", "m1", "m2"), leader="m0"):
        super().__init__(names, leader)
        self.users = {}  # name -> dict(password, roles set, no_password)
        self.roles = {}  # name -> {(key, range_end): type}
        self.auth = False

    def add_user(self, name, password="secret", roles=(), no_password=False):
        self.users[name] = dict(password=None if no_password else password, roles=set(roles), no_password=no_password)

    def add_role(self, name, perms=None):
        self.roles[name] = dict(perms or {})

    def client(self, endpoint):
        return FakeAuthClient(self, endpoint)

    def changes(self):
        """The calls that change the auth store."""
        return [c[1:] for c in self.calls if c[1] not in READS and c[1] not in ("range", "range_kv")]


def _error(client, message):
    return ec.EtcdError("etcdserver: " + message, endpoint=client.endpoint, status=400)


class FakeAuthClient(FakeKVClient):
    def _user(self, name):
        if name not in self.cluster.users:
            raise _error(self, ec.USER_NOT_FOUND)
        return self.cluster.users[name]

    def _role(self, name):
        if name not in self.cluster.roles:
            raise _error(self, ec.ROLE_NOT_FOUND)
        return self.cluster.roles[name]

    def authenticate(self, name, password):
        self._call("authenticate", name)
        if not self.cluster.auth:
            raise _error(self, ec.AUTH_NOT_ENABLED)
        user = self.cluster.users.get(name)
        if user is not None and user["no_password"]:
            # etcd's auth store answers this one with gRPC code Unknown, and an "auth:" prefix
            raise ec.EtcdError("auth: authentication failed, password was given for no password user",
                               endpoint=self.endpoint, status=500, grpc_code=2)
        if user is None or user["password"] != password:
            raise _error(self, "authentication failed, invalid user ID or password")
        return "token-" + name

    def user_list(self):
        self._call("user_list")
        return sorted(self.cluster.users)

    def user_get(self, name):
        self._call("user_get", name)
        user = self.cluster.users.get(name)
        return None if user is None else sorted(user["roles"])

    def user_add(self, name, password=None, no_password=False):
        self._call("user_add", name, no_password)
        if name in self.cluster.users:
            raise _error(self, "user name already exists")
        self.cluster.add_user(name, password, no_password=no_password)

    def user_delete(self, name):
        self._call("user_delete", name)
        self._user(name)
        if name == "root" and self.cluster.auth:
            raise _error(self, "invalid auth management")
        del self.cluster.users[name]

    def user_change_password(self, name, password):
        self._call("user_change_password", name)
        user = self._user(name)
        if not user["no_password"]:  # etcd keeps a no-password user so, and stores no password for it
            user["password"] = password

    def user_grant_role(self, user, role):
        self._call("user_grant_role", user, role)
        found = self._user(user)
        if role != "root":
            self._role(role)
        found["roles"].add(role)

    def user_revoke_role(self, user, role):
        self._call("user_revoke_role", user, role)
        found = self._user(user)
        if role not in found["roles"]:
            raise _error(self, "role is not granted to the user")
        if user == "root" and role == "root" and self.cluster.auth:
            raise _error(self, "invalid auth management")
        found["roles"].discard(role)

    def role_list(self):
        self._call("role_list")
        return sorted(self.cluster.roles)

    def role_get(self, role):
        self._call("role_get", role)
        perms = self.cluster.roles.get(role)
        return None if perms is None else sorted((k, e, t) for (k, e), t in perms.items())

    def role_add(self, role):
        self._call("role_add", role)
        if role in self.cluster.roles:
            raise _error(self, "role name already exists")
        self.cluster.add_role(role)

    def role_delete(self, role):
        self._call("role_delete", role)
        self._role(role)
        del self.cluster.roles[role]
        for user in self.cluster.users.values():
            user["roles"].discard(role)

    def role_grant_permission(self, role, key, range_end, perm_type):
        self._call("role_grant_permission", role, key, range_end, perm_type)
        assert perm_type in ec.PERM_TYPES
        self._role(role)[(key, range_end)] = perm_type

    def role_revoke_permission(self, role, key, range_end):
        self._call("role_revoke_permission", role, key, range_end)
        perms = self._role(role)
        if (key, range_end) not in perms:
            raise _error(self, "permission is not granted to the role")
        del perms[(key, range_end)]

    def auth_enabled(self):
        self._call("auth_enabled")
        return self.cluster.auth

    def auth_enable(self):
        self._call("auth_enable")
        root = self.cluster.users.get("root")
        if root is None:
            raise _error(self, "root user does not exist")
        if "root" not in root["roles"]:
            raise _error(self, "root user does not have root role")
        self.cluster.auth = True

    def auth_disable(self):
        self._call("auth_disable")
        self.cluster.auth = False
