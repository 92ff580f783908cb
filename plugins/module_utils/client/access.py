# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""etcd's RBAC as data: the permissions of a role and the roles of a user, what a task asks for,
and the difference that is granted and revoked. Pure functions, no etcd calls.

A permission is a range and a type. etcd keeps at most one permission per range (key, range_end):
granting a range a role has already replaces its type, so a changed type is one grant and no
revoke. range_end is b"" for one key, ``prefix_range_end(prefix)`` for a prefix, and b"\\0" with
key b"\\0" for every key (an empty prefix, as etcdctl sends it).
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE,
    EtcdError,
    first_answer,
    module_clients,
    prefix_range_end,
)

ROOT = "root"
# the module's names for etcd's permission types (rpc.proto's authpb.Permission.Type)
PERMISSIONS = {"read": "READ", "write": "WRITE", "readwrite": "READWRITE"}
ALL_KEYS = (b"\0", b"\0")


class AccessError(ValueError):
    """A request that cannot be carried out, with the message for the operator."""


def permission_range(entry):
    """(key, range_end) as bytes of a permission as tasks write it: ``key`` (one key) or ``prefix``."""
    key, prefix = entry.get("key"), entry.get("prefix")
    if (key is None) == (prefix is None):
        raise AccessError("permission %r needs exactly one of key (one key) or prefix (every key under it)" % (entry,))
    if key is not None:
        if key == "":
            raise AccessError("permission %r: key must not be empty (prefix '' is every key)" % (entry,))
        return key.encode("utf-8"), b""
    if prefix == "":
        return ALL_KEYS
    return prefix.encode("utf-8"), prefix_range_end(prefix)


def wanted_permissions(entries):
    """{(key, range_end): etcd type} of the permissions a task lists; refuses a range listed twice
    with two types, an unknown permission, and a key or prefix that is missing or doubled."""
    wanted = {}
    for entry in entries or []:
        if not isinstance(entry, dict):
            raise AccessError("permission %r is not a dict with key or prefix, and permission" % (entry,))
        unknown = sorted(set(entry) - {"key", "prefix", "permission"})
        if unknown:
            raise AccessError("permission %r has unknown field(s) %s; the fields are key, prefix and permission"
                              % (entry, ", ".join(unknown)))
        kind = PERMISSIONS.get(str(entry.get("permission", "")).lower())
        if kind is None:
            raise AccessError("permission %r: permission must be one of %s, got %r"
                              % (entry, ", ".join(PERMISSIONS), entry.get("permission")))
        span = permission_range(entry)
        if wanted.get(span, kind) != kind:
            raise AccessError("permission %r: its range is listed twice, as %s and as %s"
                              % (entry, wanted[span].lower(), kind.lower()))
        wanted[span] = kind
    return wanted


def permission_diff(current, wanted, append=False):
    """(grants, revokes) that turn a role's ``current`` permissions into ``wanted``.

    ``current`` is a list of (key, range_end, type) as ``EtcdClient.role_get`` returns it, ``wanted``
    the dict of ``wanted_permissions``. Grants are (key, range_end, type) for every wanted range the
    role lacks or holds with another type; revokes are (key, range_end) for every range the role
    holds and ``wanted`` does not list, none when ``append``. Both sorted.
    """
    held = {(key, end): kind for key, end, kind in current}
    grants = sorted((key, end, kind) for (key, end), kind in wanted.items() if held.get((key, end)) != kind)
    revokes = [] if append else sorted(span for span in held if span not in wanted)
    return grants, revokes


def _text(data):
    return data.decode("utf-8", "backslashreplace")


def describe_permission(key, range_end, kind):
    """A permission as the module returns it: ``key`` or ``prefix`` as tasks write them; a range that
    is neither (made with etcdctl) as ``key`` and ``range_end``."""
    if (key, range_end) == ALL_KEYS:
        span = dict(prefix="")
    elif not range_end:
        span = dict(key=_text(key))
    elif range_end == prefix_range_end(key):
        span = dict(prefix=_text(key))
    else:
        span = dict(key=_text(key), range_end=_text(range_end))
    span["permission"] = kind.lower()
    return span


def role_diff(current, wanted, append=False):
    """(grants, revokes) of role names that turn a user's ``current`` roles into ``wanted``."""
    grants = sorted(set(wanted) - set(current))
    revokes = [] if append else sorted(set(current) - set(wanted))
    return grants, revokes


class Access:
    """What the access modules share: their clients, check mode, and warnings for the operator."""

    def __init__(self, params, clients, check_mode=False):
        self.params = params
        self.clients = clients
        self.check_mode = check_mode
        self.warnings = []

    @classmethod
    def outcome(cls, params, clients, check_mode=False):
        """(result, warnings) of the task; raises AccessError or EtcdError with the message it fails with."""
        task = cls(params, clients, check_mode)
        return task.apply(), task.warnings

    def name(self):
        """The user's or role's ``name`` the task gives; an empty one is refused."""
        if not self.params["name"]:
            raise AccessError("name must not be empty")
        return self.params["name"]

    def delete(self, kind, name, before, method):
        """Delete user or role ``name`` (``before`` is None when it does not exist) with ``method``."""
        if before is None:
            return dict(changed=False, name=name, msg="%s %s does not exist" % (kind, name),
                        diff=dict(before={}, after={}))
        if not self.check_mode:
            self.ask(method, name)
        return dict(changed=True, name=name, diff=dict(before=before, after={}),
                    msg="%s %s %s" % (kind, name, "would be deleted" if self.check_mode else "deleted"))

    def ask(self, method, *args):
        """The client's ``method(*args)`` on the first endpoint that answers. RBAC changes are safe to
        repeat (a second add fails as existing, which the next run reads), so every call may move on."""
        return first_answer(self.clients, lambda client: getattr(client, method)(*args))


def run_module(argument_spec, task):
    """The main() of an access module whose work is ``task`` (an Access class): AccessError and
    EtcdError fail the task with their message; the result's ``diff`` is returned only with --diff."""
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=CONNECTION_EXCLUSIVE, supports_check_mode=True)
    clients, _make_client = module_clients(module)
    try:
        result, warnings = task.outcome(module.params, clients, check_mode=module.check_mode)
    except (AccessError, EtcdError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    for warning in warnings:
        module.warn(warning)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
