#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_kv
short_description: Put or delete a key or a prefix in etcd, with a lease and a compare-and-set guard
version_added: 1.0.0
description:
  - Writes (O(state=present)) or deletes (O(state=absent)) a key, or deletes every key under a
    prefix (O(prefix=true)), through etcd's v3 HTTP/JSON gateway.
  - A put of the value the key holds already changes nothing. With O(lease_ttl), the key is
    attached to a new lease of that many seconds, and etcd deletes it when the lease expires; a
    key that holds the value through a lease already is left alone.
  - O(compare) guards the write. The task reads the key, checks the guard, and writes in one
    transaction that succeeds only when the guard still holds and the key has not changed since it
    was read. A guard that does not match changes nothing and says so in RV(msg) and
    RV(matched) (it does not fail).
  - To read keys, use the lookup plugin of the same name,
    C(lookup('raftops.etcd.etcd_kv', 'config/', prefix=true)).
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  check_mode:
    details:
      - Reads the key (or prefix) and the guard and reports what would change; grants no lease and
        writes nothing.
  diff_mode:
    support: full
    details:
      - Before and after as a dict of key to value (in O(value_encoding)).
options:
  key:
    description:
      - The key, or with O(prefix=true) the prefix of the keys to delete.
    type: str
    required: true
  value:
    description:
      - The value to put, as text or base64 (O(value_encoding)). Required with O(state=present);
        an empty string is a value.
    type: str
  value_encoding:
    description:
      - V(text) puts and returns values as UTF-8 text.
      - V(base64) takes O(value) in base64 and returns values in base64, for binary values.
    type: str
    choices: [text, base64]
    default: text
  state:
    description:
      - V(present) puts O(value) at O(key). V(absent) deletes the key, or the prefix.
    type: str
    choices: [present, absent]
    default: present
  prefix:
    description:
      - With O(state=absent), delete every key that starts with O(key) (C(etcdctl del --prefix)).
        Not with O(state=present) nor with O(compare).
    type: bool
    default: false
  lease_ttl:
    description:
      - Attach the key to a new lease of this many seconds; etcd deletes the key when the lease
        expires. etcd raises a TTL below its minimum (about one and a half election timeouts).
      - Nothing renews the lease; use M(raftops.etcd.etcd_lock) for a lock.
    type: int
  compare:
    description:
      - Write only when the key is as this dict says, all fields together (a compare-and-set). A guard
        that does not match changes nothing.
      - V(value) (in O(value_encoding)), V(version) (how many times the key was written since it was
        created; V(0) when it does not exist), V(create_revision) (V(0) means the key must not exist)
        and V(mod_revision) (the revision of its last write).
      - Another field is refused, naming it.
    type: dict
notes:
  - etcd values are bytes; a value that is not UTF-8 text is refused with O(value_encoding=text)
    where it would be returned.
seealso:
  - plugin: raftops.etcd.etcd_kv
    plugin_type: lookup
  - module: raftops.etcd.etcd_lock
"""

EXAMPLES = r"""
- name: Seed a setting
  raftops.etcd.etcd_kv:
    endpoints: ["https://10.0.0.11:2379"]
    key: config/feature-x
    value: "on"

- name: Register this host for 60 seconds (a lease)
  raftops.etcd.etcd_kv:
    key: "services/web/{{ inventory_hostname }}"
    value: "{{ ansible_default_ipv4.address }}"
    lease_ttl: 60

- name: Set the schema version only if it is still 3 (compare-and-set)
  raftops.etcd.etcd_kv:
    key: config/schema
    value: "4"
    compare:
      value: "3"
  register: schema

- name: Create a key only when it does not exist yet
  raftops.etcd.etcd_kv:
    key: config/cluster-id
    value: "{{ 99999999 | random | string }}"
    compare:
      create_revision: 0

- name: Put a binary value
  raftops.etcd.etcd_kv:
    key: blobs/logo
    value: "{{ lookup('file', 'logo.png.b64') }}"
    value_encoding: base64

- name: Delete every key under old/
  raftops.etcd.etcd_kv:
    key: old/
    prefix: true
    state: absent
"""

RETURN = r"""
key:
  description: The key, or the prefix.
  returned: always
  type: str
  sample: config/feature-x
value:
  description: The value the key holds after the task (in check mode, would hold), in O(value_encoding).
  returned: when O(state=present) and the guard matched
  type: str
  sample: "on"
previous:
  description: The value before the task; null when the key did not exist.
  returned: when O(state=present)
  type: str
  sample: "off"
revision:
  description: The key's mod revision after the task; 0 in check mode when it would change.
  returned: when O(state=present) and the guard matched
  type: int
  sample: 42
lease_id:
  description: The key's lease in hex (as C(etcdctl) prints lease IDs); null when it has none.
  returned: when O(state=present) and the guard matched, except in check mode before a lease exists
  type: str
  sample: 694d77aa9e38260f
matched:
  description: Whether O(compare) matched the key; a guard that does not match changes nothing.
  returned: when O(compare) is set
  type: bool
  sample: true
deleted:
  description: The keys deleted (in check mode, that would be).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [old/a, old/b]
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: config/feature-x set (revision 42)
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client import kv as etcd_kv
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE,
    EtcdClient,
    EtcdError,
    _b64,
    connection_argument_spec,
    first_answer,
    module_clients,
)
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import id_hex

# compare field -> (etcd compare target, the key's field that it reads)
COMPARE_FIELDS = {
    "value": "VALUE",
    "version": "VERSION",
    "create_revision": "CREATE",
    "mod_revision": "MOD",
}


class KvError(Exception):
    """A task that cannot be carried out, before or after reading etcd."""


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        key=dict(type="str", required=True, no_log=False),
        value=dict(type="str"),
        value_encoding=dict(type="str", choices=list(etcd_kv.ENCODINGS), default="text"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        prefix=dict(type="bool", default=False),
        lease_ttl=dict(type="int"),
        compare=dict(type="dict"),
    )
    return spec


def guard(compare, encoding):
    """The guard as {field: expected}, with values as bytes and numbers as ints; refuses an unknown
    field, naming it, and a number that is not one."""
    expected = {}
    for field, wanted in sorted((compare or {}).items()):
        if field not in COMPARE_FIELDS:
            raise KvError("compare has an unknown field %r; the fields are %s"
                          % (field, ", ".join(COMPARE_FIELDS)))
        if field == "value":
            expected[field] = etcd_kv.encode_value(str(wanted), encoding)
            continue
        try:
            number = int(str(wanted))
        except ValueError:
            number = -1
        if number < 0:
            raise KvError("compare.%s must be a whole number of 0 or more, got %r" % (field, wanted))
        expected[field] = number
    return expected


def validate(params):
    """The task's request: raises KvError for what cannot be carried out, before etcd is asked."""
    if params["state"] == "present":
        if params["value"] is None:
            raise KvError("value is required with state=present (an empty string is a value)")
        if params["prefix"]:
            raise KvError("prefix=true deletes keys under a prefix and goes with state=absent; put keys one by one")
    elif params["lease_ttl"] is not None:
        raise KvError("lease_ttl goes with state=present")
    if params["lease_ttl"] is not None and params["lease_ttl"] < 1:
        raise KvError("lease_ttl must be at least 1 second, got %d" % params["lease_ttl"])
    if params["compare"] and params["prefix"]:
        raise KvError("compare guards one key and does not go with prefix=true")
    try:
        etcd_kv.key_range(params["key"], params["prefix"])
        value = None if params["value"] is None else etcd_kv.encode_value(params["value"], params["value_encoding"])
        return value, guard(params["compare"], params["value_encoding"])
    except ValueError as exc:
        raise KvError(str(exc)) from None


def mismatches(expected, kv):
    """The guard's fields that ``kv`` (None: no key) does not match, in words."""
    found = []
    for field, wanted in sorted(expected.items()):
        actual = kv[field] if kv else (None if field == "value" else 0)
        if actual != wanted:
            found.append("%s is %s, not %s" % (field, "missing (no key)" if actual is None else _show(actual),
                                               _show(wanted)))
    return found


def _show(value):
    return repr(value.decode("utf-8", "backslashreplace")) if isinstance(value, bytes) else str(value)


def txn_compare(key_b64, expected, kv):
    """The transaction's comparisons: the guard, and that the key is still as it was read."""
    compare = []
    for field, wanted in sorted(expected.items()):
        target = COMPARE_FIELDS[field]
        compare.append({"key": key_b64, "target": target, "result": "EQUAL",
                        field: _b64(wanted) if field == "value" else str(wanted)})
    compare.append({"key": key_b64, "target": "MOD", "result": "EQUAL",
                    "mod_revision": str(kv["mod_revision"] if kv else 0)})
    return compare


class KeyTask:
    """One etcd_kv task on the module's clients."""

    def __init__(self, params, clients, check_mode=False):
        self.params = params
        self.clients = clients
        self.check_mode = check_mode
        self.key = params["key"]
        self.key_b64 = _b64(self.key)
        self.encoding = params["value_encoding"]
        self.value, self.expected = validate(params)
        self.warnings = []

    def _ask(self, action, idempotent=True):
        return first_answer(self.clients, action, idempotent=idempotent)

    def show(self, data):
        return etcd_kv.decode_value(data, self.encoding, self.key, strict=False)

    def result(self, changed, msg, **fields):
        result = dict(changed=changed, key=self.key, msg=msg, **fields)
        if self.expected:
            result.setdefault("matched", True)
        return result

    def refused_by_guard(self, kv, **fields):
        found = mismatches(self.expected, kv)
        return self.result(False, "%s: compare did not match (%s); nothing changed" % (self.key, "; ".join(found)),
                           matched=False, **fields)

    def run(self):
        return self.put() if self.params["state"] == "present" else self.delete()

    # -- put ------------------------------------------------------------------------------------

    def put(self):
        kv = self._ask(lambda c: c.range_kv(self.key))
        previous = None if kv is None else self.show(kv["value"])
        if mismatches(self.expected, kv):
            return self.refused_by_guard(kv, previous=previous)
        before = {} if kv is None else {self.key: previous}
        after = {self.key: self.show(self.value)}
        if kv is not None and kv["value"] == self.value and (self.params["lease_ttl"] is None or kv["lease"]):
            return self.result(False, "%s already holds that value" % self.key, value=previous, previous=previous,
                               revision=kv["mod_revision"], lease_id=id_hex(kv["lease"]) if kv["lease"] else None,
                               diff=dict(before=before, after=before))
        fields = dict(value=after[self.key], previous=previous, diff=dict(before=before, after=after))
        if self.check_mode:
            return self.result(True, "%s would be set" % self.key, revision=0, **fields)
        lease_id = 0
        if self.params["lease_ttl"] is not None:
            lease_id = self._ask(lambda c: c.lease_grant(self.params["lease_ttl"]), idempotent=False)["id"]
        request = {"key": self.key_b64, "value": _b64(self.value)}
        if lease_id:
            request["lease"] = str(lease_id)
        reply = self.transact(txn_compare(self.key_b64, self.expected, kv), {"request_put": request}, lease_id)
        if reply.get("succeeded"):
            revision = int((reply.get("header") or {}).get("revision") or 0)
            msg = "%s set (revision %d%s)" % (self.key, revision,
                                              ", lease %s" % id_hex(lease_id) if lease_id else "")
            return self.result(True, msg, revision=revision, lease_id=id_hex(lease_id) if lease_id else None,
                               **fields)
        return self.lost_race(kv, reply, previous=previous)

    def transact(self, compare, operation, lease_id=0):
        """Run the write if ``compare`` holds, else read the key; a lease granted for it is revoked
        when the write does not happen (or fails)."""
        failure = [{"request_range": {"key": self.key_b64}}]
        try:
            reply = self._ask(lambda c: c.txn(compare, [operation], failure), idempotent=False)
        except EtcdError:
            if lease_id:
                self.drop_lease(lease_id)
            raise
        if lease_id and not reply.get("succeeded"):
            self.drop_lease(lease_id)
        return reply

    def drop_lease(self, lease_id):
        try:
            self._ask(lambda c: c.lease_revoke(lease_id))
        except EtcdError as exc:
            self.warnings.append("lease %s, granted for %s and not used, could not be revoked (%s); it expires "
                                 "by itself" % (id_hex(lease_id), self.key, exc))

    def lost_race(self, kv, reply, **fields):
        """The transaction found the key changed since it was read: a guard that no longer matches is
        a refusal like any other; otherwise the task fails, having written nothing."""
        ranged = ((reply.get("responses") or [{}])[0]).get("response_range") or {}
        now = EtcdClient.decode_kv(ranged["kvs"][0]) if ranged.get("kvs") else None
        if self.expected and mismatches(self.expected, now):
            return self.refused_by_guard(now, **fields)
        raise KvError("%s changed while this task wrote it (mod revision %d, then %d); nothing was written, run "
                      "again" % (self.key, kv["mod_revision"] if kv else 0, now["mod_revision"] if now else 0))

    # -- delete ---------------------------------------------------------------------------------

    def delete(self):
        start, end = etcd_kv.key_range(self.key, self.params["prefix"])
        kvs = self._ask(lambda c: c.range(start, end))
        kv = None if self.params["prefix"] or not kvs else kvs[0]
        if mismatches(self.expected, kv):
            return self.refused_by_guard(kv, deleted=[])
        before = dict((etcd_kv.key_text(item["key"]), self.show(item["value"])) for item in kvs)
        deleted = sorted(before)
        fields = dict(deleted=deleted, diff=dict(before=before, after={}))
        what = "%d keys under %s" % (len(deleted), self.key) if self.params["prefix"] else self.key
        if not kvs:
            return self.result(False, "%s: nothing to delete" % what, deleted=[], diff=dict(before={}, after={}))
        if self.check_mode:
            return self.result(True, "%s would be deleted" % what, **fields)
        request = {"key": self.key_b64}
        if end is not None:
            request["range_end"] = _b64(end)
            compare = []
        else:
            compare = txn_compare(self.key_b64, self.expected, kv)
        reply = self.transact(compare, {"request_delete_range": request})
        if not reply.get("succeeded"):
            return self.lost_race(kv, reply, deleted=[])
        return self.result(True, "%s deleted" % what, **fields)


def run(params, clients, check_mode=False):
    """(failure message or None, result, warnings) for the module's parameters."""
    try:
        task = KeyTask(params, clients, check_mode=check_mode)
    except KvError as exc:
        return str(exc), dict(changed=False), []
    try:
        return None, task.run(), task.warnings
    except KvError as exc:
        return str(exc), dict(changed=False, key=task.key), task.warnings
    except (EtcdError, ValueError) as exc:
        return "%s: %s" % (task.key, exc), dict(changed=False, key=task.key), task.warnings


def main():
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=CONNECTION_EXCLUSIVE, supports_check_mode=True)
    try:
        validate(module.params)
    except KvError as exc:
        module.fail_json(msg=str(exc))
    clients, _make_client = module_clients(module)
    failure, result, warnings = run(module.params, clients, check_mode=module.check_mode)
    for warning in warnings:
        module.warn(warning)
    if not module._diff:
        result.pop("diff", None)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
