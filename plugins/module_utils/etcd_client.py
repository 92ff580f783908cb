# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""One client for etcd's v3 HTTP/JSON gateway and its plain health endpoints.

Standard library only (urllib + ssl) so that managed hosts need nothing but python3. The gateway's
traps are handled here once, for every module:

* no ALPN is offered: offering ``h2`` makes etcd answer in HTTP/2, which urllib cannot read;
* zero values are omitted from replies (``isLearner`` missing means false, a member that never
  started has no ``name``), and 64-bit integers arrive as decimal strings;
* error bodies differ between releases (``error`` + ``message`` in 3.4/3.5, ``message`` in 3.6)
  and so do status codes, so errors are classified by their ``message`` text;
* a member that has not joined a cluster with quorum accepts connections but never answers, so
  every request has a timeout.
"""

import base64
import json
import socket
import ssl

from urllib.error import HTTPError, URLError
from urllib.request import HTTPHandler, HTTPSHandler, Request, build_opener

from http.client import HTTPException, RemoteDisconnected

DEFAULT_ENDPOINT = "https://127.0.0.1:2379"
DEFAULT_TIMEOUT = 10.0


class EtcdError(Exception):
    """An error from etcd or from reaching it, with the endpoint it came from."""

    def __init__(self, message, endpoint=None, status=None, grpc_code=None, body=None):
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.status = status
        self.grpc_code = grpc_code
        self.body = body

    def __str__(self):
        if self.endpoint:
            return "%s: %s" % (self.endpoint, self.message)
        return self.message

    def matches(self, *fragments):
        """True when the server's message contains any of the fragments (case-insensitive)."""
        text = self.message.lower()
        return any(fragment.lower() in text for fragment in fragments)


class EtcdUnreachable(EtcdError):
    """The endpoint did not answer: refused, timed out, TLS handshake failed, or cut off."""


def connection_argument_spec():
    """The connection options every module shares (documented in the ``connection`` fragment)."""
    return dict(
        endpoints=dict(type="list", elements="str", default=[DEFAULT_ENDPOINT]),
        ca_cert=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        timeout=dict(type="float", default=DEFAULT_TIMEOUT),
    )


def clients_from_params(params):
    """One EtcdClient per endpoint named in a module's connection parameters."""
    return [
        EtcdClient(
            endpoint,
            ca_cert=params.get("ca_cert"),
            client_cert=params.get("client_cert"),
            client_key=params.get("client_key"),
            timeout=params.get("timeout") or DEFAULT_TIMEOUT,
        )
        for endpoint in params["endpoints"]
    ]


def to_int(value, default=0):
    """etcd sends int64/uint64 as decimal strings and omits zeros."""
    if value is None or value == "":
        return default
    return int(value)


def id_to_hex(member_id):
    """etcdctl prints member IDs as hex; the gateway speaks decimal."""
    return "%x" % int(member_id)


def parse_member_id(text):
    """Accept a member ID as etcdctl prints it (hex) or as the gateway sends it (decimal).

    IDs are random 64-bit numbers: at most 16 hex digits, while their decimal form nearly always
    has more than 16 digits. So a string longer than 16 characters is decimal, anything else hex.
    """
    text = str(text).strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if not text:
        raise ValueError("empty member ID")
    if len(text) > 16:
        return int(text, 10)
    return int(text, 16)


def normalize_member(raw):
    """A member as the gateway returns it, with defaults filled in and IDs as ints."""
    member_id = to_int(raw.get("ID"))
    return dict(
        id=member_id,
        id_hex=id_to_hex(member_id),
        name=raw.get("name", ""),
        peer_urls=list(raw.get("peerURLs") or []),
        client_urls=list(raw.get("clientURLs") or []),
        is_learner=bool(raw.get("isLearner", False)),
        started=bool(raw.get("name")),
    )


def normalize_status(raw, endpoint=None):
    """A maintenance/status reply flattened into the fields an operator reads."""
    header = raw.get("header") or {}
    member_id = to_int(header.get("member_id"))
    leader_id = to_int(raw.get("leader"))
    return dict(
        endpoint=endpoint,
        member_id=member_id,
        member_id_hex=id_to_hex(member_id),
        cluster_id=id_to_hex(to_int(header.get("cluster_id"))),
        version=raw.get("version", ""),
        leader_id=leader_id,
        leader_id_hex=id_to_hex(leader_id),
        is_leader=bool(leader_id) and leader_id == member_id,
        is_learner=bool(raw.get("isLearner", False)),
        raft_term=to_int(raw.get("raftTerm")),
        raft_index=to_int(raw.get("raftIndex")),
        raft_applied_index=to_int(raw.get("raftAppliedIndex")),
        db_size=to_int(raw.get("dbSize")),
        db_size_in_use=to_int(raw.get("dbSizeInUse")),
        revision=to_int(header.get("revision")),
        errors=list(raw.get("errors") or []),
        storage_version=raw.get("storageVersion", ""),
    )


def _b64(data):
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def _unb64(text):
    return base64.b64decode(text or "")


def error_message(body):
    """The human message in an etcd error body, whatever the release's format."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return error.get("message") or json.dumps(error)
        return body.get("message") or error or json.dumps(body)
    return str(body)


class EtcdClient:
    """Talks to one etcd client URL."""

    def __init__(self, endpoint, ca_cert=None, client_cert=None, client_key=None, timeout=DEFAULT_TIMEOUT):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        if self.endpoint.startswith("https://"):
            context = ssl.create_default_context(cafile=ca_cert)
            # No ALPN on purpose: etcd's listener prefers h2, which urllib cannot speak.
            if client_cert:
                context.load_cert_chain(client_cert, client_key)
            self._opener = build_opener(HTTPSHandler(context=context))
        else:
            self._opener = build_opener(HTTPHandler())

    # -- transport ---------------------------------------------------------------------------

    def _open(self, path, data=None, method="GET", timeout=None):
        url = self.endpoint + path
        headers = {"Content-Type": "application/json"} if data is not None else {}
        request = Request(url, data=data, headers=headers)
        request.get_method = lambda: method
        try:
            return self._opener.open(request, timeout=timeout or self.timeout)
        except HTTPError as exc:
            raw = exc.read()
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                body = raw.decode("utf-8", "replace").strip() or exc.reason
            raise EtcdError(
                error_message(body), endpoint=self.endpoint, status=exc.code,
                grpc_code=body.get("code") if isinstance(body, dict) else None,
                body=body,
            ) from None
        except RemoteDisconnected:
            raise EtcdUnreachable(
                "connection closed without a reply (with auth enabled this can mean a missing or invalid token)",
                endpoint=self.endpoint,
            ) from None
        except URLError as exc:
            raise EtcdUnreachable(_reason(exc.reason), endpoint=self.endpoint) from exc
        except (socket.timeout, ssl.SSLError, OSError, HTTPException) as exc:
            raise EtcdUnreachable(_reason(exc), endpoint=self.endpoint) from exc

    def _read(self, response):
        try:
            return response.read()
        except (socket.timeout, ssl.SSLError, OSError, HTTPException) as exc:
            raise EtcdUnreachable(_reason(exc), endpoint=self.endpoint) from exc
        finally:
            response.close()

    def call(self, path, body=None, timeout=None):
        """POST a gateway RPC (``/v3/...``) and return the decoded JSON reply."""
        data = json.dumps(body or {}).encode("utf-8")
        raw = self._read(self._open(path, data=data, method="POST", timeout=timeout))
        try:
            return json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            raise EtcdError("reply is not JSON: %r" % raw[:200], endpoint=self.endpoint) from None

    def get(self, path, timeout=None):
        """GET a plain endpoint (``/health``, ``/version``); returns (status, decoded body).

        A 503 from ``/health`` is an answer, not an error: it carries the reason.
        """
        try:
            response = self._open(path, timeout=timeout)
            status = response.getcode()
            raw = self._read(response)
        except EtcdError as exc:
            if exc.status is None:
                raise
            return exc.status, exc.body if isinstance(exc.body, dict) else {"message": exc.message}
        try:
            return status, json.loads(raw.decode("utf-8"))
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def stream(self, path, body=None, timeout=None):
        """POST a server-streaming RPC and yield each decoded message's ``result``.

        The gateway sends one JSON document per line; an ``error`` line ends the stream.
        """
        data = json.dumps(body or {}).encode("utf-8")
        response = self._open(path, data=data, method="POST", timeout=timeout)
        try:
            for line in response:
                line = line.strip()
                if not line:
                    continue
                try:
                    message = json.loads(line.decode("utf-8"))
                except ValueError:
                    raise EtcdError("stream message is not JSON: %r" % line[:200], endpoint=self.endpoint) from None
                if "error" in message:
                    raise EtcdError(error_message(message), endpoint=self.endpoint)
                yield message.get("result") or {}
        except (socket.timeout, ssl.SSLError, OSError, HTTPException) as exc:
            raise EtcdUnreachable("stream interrupted: %s" % _reason(exc), endpoint=self.endpoint) from exc
        finally:
            response.close()

    # -- typed calls -------------------------------------------------------------------------

    def health(self):
        """(healthy, reason) from ``/health``; unreachable raises EtcdUnreachable."""
        status, body = self.get("/health")
        if isinstance(body, dict):
            healthy = str(body.get("health", "false")).lower() == "true"
            reason = body.get("reason") or body.get("message") or ""
        else:
            healthy, reason = False, str(body)
        return healthy and status == 200, reason

    def version(self):
        status, body = self.get("/version")
        if status != 200 or not isinstance(body, dict):
            raise EtcdError("unexpected /version reply: %r" % (body,), endpoint=self.endpoint, status=status)
        return body

    def status(self):
        return normalize_status(self.call("/v3/maintenance/status"), endpoint=self.endpoint)

    def alarms(self):
        reply = self.call("/v3/maintenance/alarm", {"action": "GET"})
        return [
            dict(member_id=to_int(a.get("memberID")), member_id_hex=id_to_hex(to_int(a.get("memberID"))),
                 alarm=a.get("alarm", "NONE"))
            for a in reply.get("alarms") or []
        ]

    def member_list(self, linearizable=False):
        body = {"linearizable": True} if linearizable else {}
        reply = self.call("/v3/cluster/member/list", body)
        return [normalize_member(m) for m in reply.get("members") or []]

    def member_add(self, peer_urls, is_learner=True):
        reply = self.call("/v3/cluster/member/add", {"peerURLs": list(peer_urls), "isLearner": bool(is_learner)})
        return normalize_member(reply.get("member") or {}), [normalize_member(m) for m in reply.get("members") or []]

    def member_remove(self, member_id):
        return self.call("/v3/cluster/member/remove", {"ID": str(int(member_id))})

    def member_promote(self, member_id):
        return self.call("/v3/cluster/member/promote", {"ID": str(int(member_id))})

    def member_update(self, member_id, peer_urls):
        return self.call("/v3/cluster/member/update", {"ID": str(int(member_id)), "peerURLs": list(peer_urls)})

    def move_leader(self, target_id):
        return self.call("/v3/maintenance/transfer-leadership", {"targetID": str(int(target_id))})

    def put(self, key, value):
        reply = self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
        return to_int((reply.get("header") or {}).get("revision"))

    def get_key(self, key, serializable=False):
        """The value of one key as bytes, or None when it does not exist."""
        reply = self.call("/v3/kv/range", {"key": _b64(key), "serializable": bool(serializable)})
        kvs = reply.get("kvs") or []
        return _unb64(kvs[0].get("value")) if kvs else None

    def count_keys(self, prefix=b"\0"):
        """Number of keys from ``prefix`` on (the whole keyspace by default)."""
        reply = self.call("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(b"\0"), "count_only": True})
        return to_int(reply.get("count"))


def first_answer(clients, action):
    """Run ``action(client)`` on each client in turn and return the first success.

    Cluster-wide questions (the member list, an add or a remove) can be asked of any member, so a
    dead member must not stop them. Raises the last error, listing every endpoint tried.
    """
    errors = []
    for client in clients:
        try:
            return action(client)
        except EtcdUnreachable as exc:
            errors.append(str(exc))
        except EtcdError as exc:
            if exc.matches("rpc not supported for learner"):
                errors.append(str(exc))
                continue
            raise
    raise EtcdUnreachable("no endpoint answered: " + "; ".join(errors))


def _reason(exc):
    if isinstance(exc, socket.timeout) or "timed out" in str(exc):
        return "timed out (a member that has not joined a cluster with quorum does not answer)"
    return str(exc) or exc.__class__.__name__
