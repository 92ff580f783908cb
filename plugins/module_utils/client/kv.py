# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Keys and values as tasks write them, for the etcd_kv module and lookup.

Values are text (UTF-8) or base64 (``value_encoding``); keys are text. A prefix is read and deleted as
the range [prefix, ``prefix_range_end(prefix)``).
"""

import base64
import binascii

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import first_answer, prefix_range_end

ENCODINGS = ("text", "base64")


def encode_value(value, encoding):
    """The bytes of ``value`` as a task gives it; raises ValueError for base64 that is not."""
    if encoding == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("value is not valid base64 (value_encoding=base64)") from None
    return value.encode("utf-8")


def decode_value(data, encoding, key=None, strict=True):
    """``data`` as a task reads it. A value that is not UTF-8 text raises ValueError naming ``key``
    when ``strict``; otherwise its bytes that are not text are escaped (``\\xff``)."""
    if encoding == "base64":
        return base64.b64encode(data).decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if strict:
            raise ValueError("the value of key %s is not UTF-8 text: read it with value_encoding=base64" % key) from None
        return data.decode("utf-8", "backslashreplace")


def key_text(key):
    return key.decode("utf-8", "backslashreplace")


def key_range(key, prefix=False):
    """(key, range_end) of a key, or with ``prefix`` of every key under it; an empty prefix (every
    key in the cluster) is refused."""
    if not key:
        raise ValueError("key must not be empty" + (" (a prefix of '' would be every key in the cluster)"
                                                    if prefix else ""))
    return key, prefix_range_end(key) if prefix else None


def read(clients, key, prefix=False, encoding="text"):
    """What the lookup returns for one term: the value of ``key`` (None when it does not exist), or
    with ``prefix`` a dict of every key under it and its value."""
    start, end = key_range(key, prefix)
    kvs = first_answer(clients, lambda client: client.range(start, end))
    if prefix:
        return dict((key_text(kv["key"]), decode_value(kv["value"], encoding, key_text(kv["key"]))) for kv in kvs)
    return decode_value(kvs[0]["value"], encoding, key) if kvs else None
