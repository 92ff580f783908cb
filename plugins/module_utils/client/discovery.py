# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The token of etcd's discovery service on the discovery cluster, in both protocols.

* v2 (etcd 3.4/3.5 members, ``--discovery URL``): the token is a directory of the v2 keys API,
  ``/v2/keys/_etcd/registry/<token>`` by convention; its size is ``<dir>/_config/size`` and each
  member registers as ``<dir>/<member id>`` = ``name=peer URLs``. The discovery cluster must serve
  the v2 API: etcd 3.4 does by default, 3.5 only with ``--enable-v2``, 3.6 not at all.
* v3 (etcd 3.6 members, ``--discovery-endpoints``/``--discovery-token``): keys of the discovery
  cluster's v3 store, ``/_etcd/registry/<token>/_config/size`` and
  ``/_etcd/registry/<token>/members/<member id>`` (from etcd 3.6's v3discovery source; no 3.6
  binary has run against this code yet).

A token bootstraps exactly one cluster: one that has members registered, or another size, is
refused rather than reused.
"""

import base64
import json

from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPHandler, HTTPSHandler, Request, build_opener

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import EtcdClient, EtcdError, tls_context

V3_PREFIX = "/_etcd/registry/"


class DiscoveryError(Exception):
    """A refusal or a failure, with the message the module reports."""


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _range_end(prefix):
    """The end of etcd's range for every key that starts with ``prefix`` (bytes)."""
    end = bytearray(prefix)
    end[-1] += 1
    return bytes(end)


class V2Registry:
    """A token directory of a v2 discovery URL."""

    def __init__(self, url, ca_cert=None, client_cert=None, client_key=None, timeout=10.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path.startswith("/v2/keys/") \
                or parts.path.rstrip("/") == "/v2/keys" or parts.query or parts.fragment:
            raise DiscoveryError("url %r is not a v2 discovery URL like "
                                 "https://disco.example.com:2379/v2/keys/_etcd/registry/TOKEN" % url)
        self.url = url.rstrip("/")
        self.name = self.url
        self.timeout = timeout
        if parts.scheme == "https":
            self._opener = build_opener(HTTPSHandler(context=tls_context(ca_cert, client_cert, client_key)))
        else:
            self._opener = build_opener(HTTPHandler())

    def _request(self, method, suffix="", data=None):
        request = Request(self.url + suffix, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.getcode(), json.loads(response.read().decode("utf-8") or "{}")
        except HTTPError as exc:
            try:
                body = json.loads(exc.read().decode("utf-8") or "{}")
            except ValueError:
                body = {}
            return exc.code, body
        except (URLError, OSError, ValueError) as exc:
            raise DiscoveryError("the discovery cluster at %s does not answer: %s"
                                 % (self.url, getattr(exc, "reason", exc))) from None

    def read(self):
        """None when the token does not exist, else dict(size=int or None, members=[values])."""
        status, body = self._request("GET", "?recursive=true")
        if status == 404 and body.get("errorCode") == 100:
            return None
        if status == 404:
            raise DiscoveryError("%s answers 404 without etcd's 'Key not found': the discovery cluster must serve "
                                 "etcd's v2 API (etcd 3.5 needs --enable-v2; 3.6 has none)" % self.url)
        if status != 200:
            raise DiscoveryError("%s answered %d: %s" % (self.url, status, body.get("message") or body))
        node = body.get("node") or {}
        if not node.get("dir"):
            raise DiscoveryError("%s is a key, not a token directory" % self.url)
        size, members = None, []
        for child in node.get("nodes") or []:
            if child.get("key", "").rsplit("/", 1)[-1] == "_config":
                for item in child.get("nodes") or []:
                    if item.get("key", "").endswith("/_config/size"):
                        size = _size(item.get("value"))
            else:
                members.append(str(child.get("value", "")))
        return dict(size=size, members=sorted(members))

    def create(self, size):
        status, body = self._request("PUT", "/_config/size?prevExist=false", ("value=%d" % size).encode("ascii"))
        if status not in (200, 201):
            raise DiscoveryError("cannot create %s/_config/size: %d %s" % (self.url, status, body.get("message") or body))

    def delete(self):
        status, body = self._request("DELETE", "?recursive=true&dir=true")
        if status not in (200, 404):
            raise DiscoveryError("cannot delete %s: %d %s" % (self.url, status, body.get("message") or body))


class V3Registry:
    """A token of etcd 3.6's v3 discovery, on the discovery cluster's v3 store."""

    def __init__(self, endpoints, token, ca_cert=None, client_cert=None, client_key=None, timeout=10.0):
        if not token or "/" in token:
            raise DiscoveryError("token %r must be a non-empty name without /" % (token,))
        if not endpoints:
            raise DiscoveryError("endpoints must name the discovery cluster's client URLs")
        self.prefix = (V3_PREFIX + token).encode("utf-8")
        self.name = "%s on %s" % (token, ", ".join(endpoints))
        self.clients = [EtcdClient(url, ca_cert=ca_cert, client_cert=client_cert, client_key=client_key,
                                   timeout=timeout) for url in endpoints]

    def _call(self, path, body):
        errors = []
        for client in self.clients:
            try:
                return client.call(path, body)
            except EtcdError as exc:
                errors.append(str(exc))
        raise DiscoveryError("the discovery cluster does not answer: %s" % "; ".join(errors))

    def read(self):
        reply = self._call("/v3/kv/range", {"key": _b64(self.prefix + b"/"), "range_end": _b64(_range_end(self.prefix + b"/"))})
        kvs = reply.get("kvs") or []
        if not kvs:
            return None
        size, members = None, []
        for kv in kvs:
            key = base64.b64decode(kv.get("key", "")).decode("utf-8", "replace")
            value = base64.b64decode(kv.get("value", "")).decode("utf-8", "replace")
            if key == (self.prefix + b"/_config/size").decode("utf-8"):
                size = _size(value)
            elif key.startswith((self.prefix + b"/members/").decode("utf-8")):
                members.append(value)
        return dict(size=size, members=sorted(members))

    def create(self, size):
        key = _b64(self.prefix + b"/_config/size")
        reply = self._call("/v3/kv/txn", {
            "compare": [{"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": {"key": key, "value": _b64(str(size).encode("ascii"))}}],
        })
        if not reply.get("succeeded"):
            raise DiscoveryError("%s/_config/size was created by someone else meanwhile" % self.name)

    def delete(self):
        self._call("/v3/kv/deleterange", {"key": _b64(self.prefix + b"/"), "range_end": _b64(_range_end(self.prefix + b"/"))})


def _size(value):
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def ensure(registry, size, check_mode=False):
    """The token with ``size`` and no member registered: (changed, state). Refuses a used or other-sized one."""
    if size < 1:
        raise DiscoveryError("size must be at least 1, got %d" % size)
    state = registry.read()
    if state is None:
        if not check_mode:
            registry.create(size)
        return True, dict(size=size, members=[])
    if state["members"]:
        raise DiscoveryError(
            "discovery token %s is already used: %d member(s) registered (%s); a token bootstraps one cluster only, "
            "use a new token" % (registry.name, len(state["members"]), ", ".join(state["members"])))
    if state["size"] != size:
        raise DiscoveryError(
            "discovery token %s has size %s, not %d: use a new token (or delete this one with state=absent)"
            % (registry.name, state["size"], size))
    return False, state


def remove(registry, check_mode=False):
    """Delete the token and what is under it: (changed, state before)."""
    state = registry.read()
    if state is None:
        return False, None
    if not check_mode:
        registry.delete()
    return True, state
