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
  every request has a timeout;
* a request that was sent and then timed out may still be applied, so a membership change is never
  repeated on another endpoint after that (``first_answer(..., idempotent=False)``).
"""

import base64
import functools
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import time

from urllib.error import HTTPError, URLError
from urllib.request import HTTPHandler, HTTPSHandler, Request, build_opener

from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection, RemoteDisconnected

from ansible_collections.raftops.etcd.plugins.module_utils.client.dns import DNSError, client_endpoints
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import CONNECT_TIMED_OUT, id_hex, normalize_url
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import version_tuple

DEFAULT_ENDPOINT = "https://127.0.0.1:2379"
DEFAULT_TIMEOUT = 10.0
UNIX_SCHEME = "unix://"
# etcd's messages for a revision it no longer keeps and for one it does not have yet
COMPACTED = "required revision has been compacted"
FUTURE_REVISION = "required revision is a future revision"
# The first release whose gateway serves HashKV (before, its path answers with Hash, or 404 on 3.4).
HASHKV_SINCE = (3, 5, 10)
# etcd's messages for an expired or unknown auth token, and for auth enabled or not
INVALID_TOKEN = "invalid auth token"
USER_EMPTY = "user name is empty"
AUTH_NOT_ENABLED = "authentication is not enabled"
AUTH_FAILED = "authentication failed"
# The two answers AUTH_FAILED covers, told apart when it matters: the name or password is wrong (a
# login's only answer that says the password differs), and a password given for a user made with
# --no-password, which etcd never lets log in with one.
WRONG_PASSWORD = "authentication failed, invalid user ID or password"
NO_PASSWORD_USER = "password was given for no password user"
USER_NOT_FOUND = "user name not found"
ROLE_NOT_FOUND = "role name not found"
# What a learner answers every RPC but its status and serializable reads, a login included
NOT_FOR_LEARNER = "rpc not supported for learner"
# Why a request that was sent got no reply in time, and why a TLS handshake did not finish on a port that
# took the connection: a member that has not joined a cluster with quorum since it started takes
# connections and serves nothing on its client URLs, a TLS handshake included (etcd_probe.unready_peer)
NO_REPLY = "timed out (a member that has not joined a cluster with quorum does not answer)"
NO_HANDSHAKE = ("timed out in the TLS handshake (the port took the connection; a member that has not joined a cluster "
                "with quorum does not answer)")
# What etcd's gateway answers (HTTP 400) to a client certificate with a CN while RBAC auth is on
GATEWAY_CN_REFUSED = "CommonName of client sending a request against gateway"
# Permission types as rpc.proto's authpb.Permission.Type names them (READ, the zero value, is omitted)
PERM_TYPES = ("READ", "WRITE", "READWRITE")
# Pipelined requests (EtcdClient.pipelined): how many, and how many bytes of them, are sent ahead of
# their replies. The bytes bound what etcd has to answer while the client still sends: both stay within
# a socket's buffers, so neither side blocks writing to the other (etcd reads a connection's next
# request only once it has answered the one before).
PIPELINE_WINDOW = 32
PIPELINE_BYTES = 64 * 1024


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
    """The endpoint did not answer: refused, timed out, TLS handshake failed, or cut off.

    ``sent`` is False only when the request surely never reached etcd (connection refused, host
    unreachable or unresolvable, TLS handshake failed, connect timed out), so etcd cannot have acted
    on it. When True (the default, the safe assumption) the request may have been applied.
    """

    def __init__(self, message, endpoint=None, sent=True, **kwargs):
        super().__init__(message, endpoint=endpoint, **kwargs)
        self.sent = sent


class EtcdLoginUnanswered(EtcdUnreachable):
    """The member took a login (``/v3/auth/authenticate``) and did not answer it in time.

    etcd commits every login through raft, so a member of a cluster that lost quorum keeps it
    waiting while it still answers what needs no login (``/health``, ``/version``).
    """


class EtcdConfigError(EtcdError, ValueError):
    """A connection option that cannot be used, such as a missing or invalid TLS file.

    Raised before anything is sent. ``option`` is the module option (``ca_cert``, ``client_cert``,
    ``client_key``, ``client_cert_content``, ...) and ``path`` its value (None for a text). It is
    also a ValueError, for callers that catch that.
    """

    def __init__(self, message, option=None, path=None):
        super().__init__(message)
        self.option = option
        self.path = path


def connection_argument_spec():
    """The connection options every module shares (documented in the ``connection`` fragment)."""
    return dict(
        endpoints=dict(type="list", elements="str", default=[DEFAULT_ENDPOINT]),
        discovery_srv=dict(type="str"),
        discovery_srv_name=dict(type="str", default=""),
        ca_cert=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        client_cert_content=dict(type="str", no_log=True),
        client_key_content=dict(type="str", no_log=True),
        tls_verify=dict(type="bool", default=True),
        timeout=dict(type="float", default=DEFAULT_TIMEOUT),
        auth_user=dict(type="str"),
        auth_password=dict(type="str", no_log=True),
    )


# For AnsibleModule(mutually_exclusive=...): checked before the defaults apply, so an endpoints
# list the task did not set does not count.
CONNECTION_EXCLUSIVE = [("endpoints", "discovery_srv")]
_DISCOVERED = {}


def _srv_key(params):
    """What a resolution is kept under: the SRV domain and name of a module's parameters."""
    return params["discovery_srv"], params.get("discovery_srv_name") or ""


def resolve_endpoints(params):
    """The endpoints of a module's connection parameters: ``endpoints``, or with ``discovery_srv``
    the client URLs its SRV records name (etcd_dns.client_endpoints), which then replace
    ``params["endpoints"]`` so that every message names what was asked. Resolved once per domain
    and name. Raises EtcdConfigError (option discovery_srv) naming the records and the
    nameservers when DNS gives none.
    """
    domain = params.get("discovery_srv")
    if not domain:
        return params["endpoints"]
    key = _srv_key(params)
    if key not in _DISCOVERED:
        try:
            _DISCOVERED[key] = client_endpoints(domain, key[1])
        except (DNSError, ValueError) as exc:
            raise EtcdConfigError("discovery_srv %s: %s" % (domain, exc), option="discovery_srv", path=domain) from None
    params["endpoints"] = list(_DISCOVERED[key])
    return params["endpoints"]


def endpoints_shown(params):
    """What a module's connection parameters point at, for messages: the endpoints, or the SRV
    domain while it is not resolved yet."""
    if params.get("discovery_srv") and _srv_key(params) not in _DISCOVERED:
        return "the SRV records of %s" % params["discovery_srv"]
    return ", ".join(params["endpoints"])


def client_factory(params, timeout=None):
    """The one way modules make clients: ``make_client(url)`` with the module's TLS options.

    ``timeout`` replaces the module's ``timeout`` (probes use a shorter one). Building a client
    raises EtcdConfigError naming the option when a TLS file is unusable.
    """
    def make_client(url):
        return EtcdClient(url, ca_cert=params.get("ca_cert"), client_cert=params.get("client_cert"),
                          client_key=params.get("client_key"), tls_verify=params.get("tls_verify", True),
                          client_cert_content=params.get("client_cert_content"),
                          client_key_content=params.get("client_key_content"),
                          timeout=timeout or params.get("timeout") or DEFAULT_TIMEOUT,
                          auth_user=params.get("auth_user"), auth_password=params.get("auth_password"))
    return make_client


def clients_from_params(params):
    """One EtcdClient per endpoint named in a module's connection parameters."""
    make_client = client_factory(params)
    return [make_client(endpoint) for endpoint in resolve_endpoints(params)]


def module_clients(module):
    """(clients, make_client) for an AnsibleModule's connection options; fails the module, before
    anything is sent, when no endpoint is named or a TLS file is unusable."""
    params = module.params
    if not params["endpoints"] and not params.get("discovery_srv"):
        module.fail_json(msg="endpoints must name at least one etcd client URL")
    try:
        clients = clients_from_params(params)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot set up the etcd client: %s" % exc)
    return clients, client_factory(params)


def to_int(value, default=0):
    """etcd sends int64/uint64 as decimal strings and omits zeros."""
    if value is None or value == "":
        return default
    return int(value)


UINT64_MAX = (1 << 64) - 1
_HEX_ID_RE = re.compile(r"^[0-9a-f]{1,16}$")
_DEC_ID_RE = re.compile(r"^[0-9]{1,20}$")
_ID_FORMS = "use the hex form etcdctl prints (8e9e05c52164694d or 0x8e9e05c52164694d) or the decimal form"


class AmbiguousMemberID(ValueError):
    """An all-digit member ID of 16 digits or fewer: it reads as hex and as decimal.

    ``readings`` holds both integers, the hex reading first. Resolve it against the member list
    (``etcd_membership.resolve_member_id``) or ask for the ``0x`` form.
    """

    def __init__(self, text, readings):
        super().__init__(
            "member ID %r is ambiguous: it reads as hex (0x%x) and as decimal (%d); write hex IDs with 0x"
            % (text, readings[0], readings[1])
        )
        self.text = text
        self.readings = tuple(readings)


def member_id_readings(text):
    """Every member ID ``text`` can mean, as a tuple of one or two ints (the hex reading first).

    etcdctl prints IDs in hex (at most 16 digits); the gateway sends them in decimal (usually 17 to
    20 digits, since IDs are random 64-bit numbers). The rules:

    * an int is itself;
    * ``0x`` followed by 1 to 16 hex digits is hex;
    * a string with any of ``a``-``f`` is hex (at most 16 digits);
    * more than 16 decimal digits is decimal (no hex ID is that long);
    * 16 or fewer decimal digits is both, unless the two readings are equal (``0``-``9``).

    Anything else, or a number above 2**64-1, raises ValueError.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if 0 <= text <= UINT64_MAX:
            return (text,)
        raise ValueError("%r is not a member ID: IDs are unsigned 64-bit numbers" % (text,))
    raw = str(text).strip().lower()
    if raw.startswith("0x"):
        if _HEX_ID_RE.match(raw[2:]):
            return (int(raw[2:], 16),)
        raise ValueError("%r is not a member ID (expected 1 to 16 hex digits after 0x)" % (text,))
    if _HEX_ID_RE.match(raw) and not raw.isdigit():
        return (int(raw, 16),)
    if _DEC_ID_RE.match(raw) and int(raw, 10) <= UINT64_MAX:
        if len(raw) > 16:
            return (int(raw, 10),)
        readings = (int(raw, 16), int(raw, 10))
        return readings[:1] if readings[0] == readings[1] else readings
    raise ValueError("%r is not a member ID: %s" % (text, _ID_FORMS))


def parse_member_id(text):
    """The one member ID ``text`` means, by the rules of ``member_id_readings``.

    An all-digit string of 16 digits or fewer is both hex and decimal: it raises
    AmbiguousMemberID (a ValueError) carrying both readings rather than guessing. Callers that have
    the member list resolve it there instead (``etcd_membership.resolve_member_id``).
    """
    readings = member_id_readings(text)
    if len(readings) > 1:
        raise AmbiguousMemberID(str(text).strip(), readings)
    return readings[0]


# /livez and /readyz: 3.4.29, 3.5.11 and 3.6.0 on (etcdhttp/health.go); before them only /health.
READYZ_SINCE = ((3, 4, 29), (3, 5, 11), (3, 6, 0))
# /readyz's learner check (non_learner): 3.5.19 and 3.6.0 on, never in 3.4.
NON_LEARNER_CHECK_SINCE = ((3, 5, 19), (3, 6, 0))


def _since(release, table):
    """Whether ``release`` (a pre-release counts as its release; '' or unreadable: no) is at or after
    the entry of ``table`` for its minor version, or 3.7 or later."""
    try:
        parts = tuple(version_tuple(str(release).split("-", maxsplit=1)[0]))
    except ValueError:
        return False
    return any(parts[:2] == since[:2] and parts >= since for since in table) or parts >= (3, 7, 0)


def readyz_served(release):
    """Whether etcd ``release`` (``"3.5.30"``; '' unknown) serves ``/readyz``."""
    return _since(release, READYZ_SINCE)


def readyz_path(release):
    """``/readyz`` without its learner check where it has one (a learner is reported as such by its
    status, not as unhealthy; excluding a check the release lacks would draw a warning in its log)."""
    return "/readyz?exclude=non_learner" if _since(release, NON_LEARNER_CHECK_SINCE) else "/readyz"


def normalize_member(raw):
    """A member as the gateway returns it, with defaults filled in and IDs as ints."""
    member_id = to_int(raw.get("ID"))
    return dict(
        id=member_id,
        id_hex=id_hex(member_id),
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
        member_id_hex=id_hex(member_id),
        cluster_id=id_hex(to_int(header.get("cluster_id"))),
        version=raw.get("version", ""),
        leader_id=leader_id,
        leader_id_hex=id_hex(leader_id),
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
        # 3.6+: a downgrade etcd's downgrade API enabled and not yet finished
        downgrade_target=(raw.get("downgradeInfo") or {}).get("targetVersion", "")
        if (raw.get("downgradeInfo") or {}).get("enabled") else "",
    )


def _alarm_list(reply):
    """The alarms of an alarm reply, each with the member's ID as an int and in hex."""
    return [
        dict(member_id=to_int(a.get("memberID")), member_id_hex=id_hex(to_int(a.get("memberID"))),
             alarm=a.get("alarm", "NONE"))
        for a in reply.get("alarms") or []
    ]


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


# -- TLS -------------------------------------------------------------------------------------


def _check_file(option, path):
    if not os.path.exists(path):
        raise EtcdConfigError("%s %s does not exist" % (option, path), option=option, path=path)
    if os.path.isdir(path):
        raise EtcdConfigError("%s %s is a directory, not a PEM file" % (option, path), option=option, path=path)
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise EtcdConfigError("%s %s cannot be read: %s" % (option, path, exc.strerror or exc),
                              option=option, path=path) from None


def _head(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(1 << 20)
    except OSError:
        return b""


def _no_password():
    raise EtcdConfigError("an encrypted private key needs a password", option="client_key")


def _ssl_text(exc):
    return getattr(exc, "reason", None) or str(exc)


def _pem_texts(client_cert, client_key, client_cert_content, client_key_content):
    """{option: PEM text} of the pair given as text; refuses an option given both as a file and as a text."""
    texts = {}
    for option, path, text in (("client_cert", client_cert, client_cert_content),
                               ("client_key", client_key, client_key_content)):
        if path and text:
            raise EtcdConfigError("%s and %s_content are mutually exclusive: give the PEM file or its text, not both"
                                  % (option, option), option=option + "_content")
        if text:
            texts[option] = text
    return texts


def _private_tmp():
    """Where a pair given as text is written while it loads: memory (/dev/shm) when this user may write there."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _tls_context_from_texts(texts, ca_cert, client_cert, client_key, verify):
    """tls_context with the pair given as text: OpenSSL loads a pair from files only, so the texts go to
    a fresh 0700 directory that is removed as soon as the context holds them, also on a failure."""
    directory = tempfile.mkdtemp(prefix="raftops-etcd-", dir=_private_tmp())
    paths = {}
    try:
        for option, text in texts.items():
            paths[option] = os.path.join(directory, option + ".pem")
            with os.fdopen(os.open(paths[option], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                handle.write(text)
        return tls_context(ca_cert, paths.get("client_cert", client_cert), paths.get("client_key", client_key), verify)
    except EtcdConfigError as exc:
        # Named by the option, never by the directory that is gone by the time the message is read.
        message = str(exc)
        for option, path in paths.items():
            message = message.replace("%s %s" % (option, path), option + "_content").replace(path, option + "_content")
        option = exc.option + "_content" if exc.option in paths else exc.option
        raise EtcdConfigError(message, option=option, path=None if exc.option in paths else exc.path) from None
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def tls_context(ca_cert=None, client_cert=None, client_key=None, verify=True, client_cert_content=None,
                client_key_content=None):
    """An ssl.SSLContext for etcd's client port: verify the server with ``ca_cert`` (the system store
    when None) and present ``client_cert``/``client_key`` (the key may be inside ``client_cert``), or
    the same given as PEM text (``client_cert_content``/``client_key_content``, exclusive with the files).

    ``verify=False`` is only for etcd's auto-TLS (``--auto-tls``), whose self-signed certificate no CA
    vouches for: the traffic is encrypted, the server is not authenticated. It must be asked for
    explicitly and cannot be combined with ``ca_cert`` (which asks for verification).

    No ALPN is offered on purpose: etcd's listener prefers h2, which urllib cannot speak. Every
    problem with a file raises EtcdConfigError naming the option and the file.
    """
    texts = _pem_texts(client_cert, client_key, client_cert_content, client_key_content)
    if texts:
        return _tls_context_from_texts(texts, ca_cert, client_cert, client_key, verify)
    for option, path in (("ca_cert", ca_cert), ("client_cert", client_cert), ("client_key", client_key)):
        if path:
            _check_file(option, path)
    if client_key and not client_cert:
        raise EtcdConfigError("client_key %s is set without client_cert; set both or neither" % client_key,
                              option="client_cert", path=None)
    if not verify:
        if ca_cert:
            raise EtcdConfigError("tls_verify=false cannot be combined with ca_cert %s: a CA asks for the "
                                  "server to be verified; drop one of them" % ca_cert, option="tls_verify", path=None)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    else:
        try:
            context = ssl.create_default_context(cafile=ca_cert)
        except (ssl.SSLError, OSError, ValueError) as exc:
            if not ca_cert:
                raise EtcdConfigError("cannot load the system's trusted CA certificates: %s" % _ssl_text(exc),
                                      option="ca_cert") from None
            raise EtcdConfigError("ca_cert %s holds no usable PEM CA certificate (%s)" % (ca_cert, _ssl_text(exc)),
                                  option="ca_cert", path=ca_cert) from None
    if client_cert:
        try:
            context.load_cert_chain(client_cert, client_key, password=_no_password)
        except (EtcdConfigError, ssl.SSLError, OSError, ValueError) as exc:
            raise _cert_chain_error(client_cert, client_key, exc) from None
    return context


def _cert_chain_error(client_cert, client_key, exc):
    key_option, key_path = ("client_key", client_key) if client_key else ("client_cert", client_cert)
    if b"-----BEGIN CERTIFICATE-----" not in _head(client_cert):
        return EtcdConfigError("client_cert %s holds no PEM certificate (%s)" % (client_cert, _ssl_text(exc)),
                               option="client_cert", path=client_cert)
    key = _head(key_path)
    if b"ENCRYPTED" in key or isinstance(exc, EtcdConfigError):
        return EtcdConfigError("%s %s is an encrypted private key; the modules need an unencrypted key (mode 0600)"
                               % (key_option, key_path), option=key_option, path=key_path)
    if b"PRIVATE KEY-----" not in key:
        return EtcdConfigError("%s %s holds no PEM private key (%s)" % (key_option, key_path, _ssl_text(exc)),
                               option=key_option, path=key_path)
    if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
        return EtcdConfigError("%s %s is not the key of client_cert %s" % (key_option, key_path, client_cert),
                               option=key_option, path=key_path)
    return EtcdConfigError("client_cert %s and %s %s cannot be loaded: %s" % (
        client_cert, key_option, key_path, _ssl_text(exc)), option="client_cert", path=client_cert)


class _CertNotingHTTPSConnection(HTTPSConnection):
    """An HTTPS connection that hands the server's certificate, as verified in the handshake, to
    ``note_cert`` (the dict of ``SSLSocket.getpeercert()``)."""

    def __init__(self, *args, **kwargs):
        self._note_cert = kwargs.pop("note_cert")
        super().__init__(*args, **kwargs)

    def connect(self):
        super().connect()
        self._note_cert(self.sock.getpeercert())


class _CertNotingHTTPSHandler(HTTPSHandler):
    def __init__(self, context, note_cert):
        super().__init__(context=context)
        self._note_cert = note_cert

    def https_open(self, req):
        connection = functools.partial(_CertNotingHTTPSConnection, note_cert=self._note_cert)
        return self.do_open(connection, req, context=self._context)


class _UnixSocketHTTPConnection(HTTPConnection):
    """HTTP over the unix socket ``socket_path`` (an etcd listening on ``unix://``: only who may
    enter the socket's directory reaches it)."""

    def __init__(self, *args, **kwargs):
        self._socket_path = kwargs.pop("socket_path")
        super().__init__(*args, **kwargs)

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _Replies:
    """The replies of one connection's pipelined requests, for http.client's HTTPResponse, which reads a
    reply from the file its socket makes and then closes that file: here it is the connection's one
    reader, kept open with what it read ahead of the next reply."""

    def __init__(self, reader):
        self._reader = reader

    def makefile(self, *_args, **_kwargs):
        return self

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self._reader, name)


class _UnixSocketHTTPHandler(HTTPHandler):
    def __init__(self, socket_path):
        super().__init__()
        self._socket_path = socket_path

    def http_open(self, req):
        return self.do_open(functools.partial(_UnixSocketHTTPConnection, socket_path=self._socket_path), req)


# -- clients ---------------------------------------------------------------------------------


class EtcdClient:
    """Talks to one etcd client URL.

    ``server_cert_not_after``: over https, when the certificate the member presented in the last
    handshake expires (seconds since the epoch, from its verified ``notAfter``); None over http and
    until a request has connected.

    With ``auth_user`` and ``auth_password`` (etcd's RBAC auth), the client authenticates before its
    first RPC and sends the token as the raw ``Authorization`` header of every RPC; a token that
    expired (``--auth-token-ttl``) is renewed once and the RPC sent again. Through the gateway this
    is the only way to be an etcd user: it ignores, and with auth on refuses (HTTP 400), the CN of a
    client certificate.
    """

    def __init__(self, endpoint, ca_cert=None, client_cert=None, client_key=None, timeout=DEFAULT_TIMEOUT,
                 tls_verify=True, auth_user=None, auth_password=None, client_cert_content=None, client_key_content=None):
        """Raises EtcdConfigError (an EtcdError) naming the option and file when a TLS file is unusable,
        or naming the auth option when only one of auth_user and auth_password is set.

        ``tls_verify=False`` (etcd's auto-TLS only) encrypts without verifying the server's certificate."""
        self.endpoint = normalize_url(endpoint)
        self.timeout = timeout
        self.server_cert_not_after = None
        if bool(auth_user) != bool(auth_password):
            missing = "auth_password" if auth_user else "auth_user"
            raise EtcdConfigError("auth_user and auth_password go together: %s is missing" % missing, option=missing)
        self._auth = (auth_user, auth_password) if auth_user else None
        self._token = None
        # The last login's EtcdLoginUnanswered, None once a login is answered: what needs a token
        # would wait for the same timeout again (etcd_cluster_state.observe skips such a member).
        self.login_unanswered = None
        self._base_url = self.endpoint
        if self.endpoint.startswith("https://"):
            context = tls_context(ca_cert, client_cert, client_key, verify=tls_verify,
                                  client_cert_content=client_cert_content, client_key_content=client_key_content)
            self._opener = build_opener(_CertNotingHTTPSHandler(context, self._note_server_cert))
        elif self.endpoint.startswith(UNIX_SCHEME):
            # unix:///path/of/the/socket: plain HTTP to a private socket (the restore drill's etcd).
            self._base_url = "http://localhost"
            self._opener = build_opener(_UnixSocketHTTPHandler(self.endpoint[len(UNIX_SCHEME):]))
        else:
            self._opener = build_opener(HTTPHandler())

    def _note_server_cert(self, cert):
        not_after = (cert or {}).get("notAfter")
        self.server_cert_not_after = float(ssl.cert_time_to_seconds(not_after)) if not_after else None

    # -- transport ---------------------------------------------------------------------------

    def _open(self, path, data=None, method="GET", timeout=None):
        url = self._base_url + path
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if self._token and path.startswith("/v3/"):
            headers["Authorization"] = self._token
        request = Request(url, data=data, headers=headers)
        request.get_method = lambda: method
        try:
            return self._opener.open(request, timeout=timeout or self.timeout)
        except HTTPError as exc:
            raise self._refusal(exc.code, exc.read(), exc.reason) from None
        except RemoteDisconnected:
            raise EtcdUnreachable(
                "connection closed without a reply (with auth enabled this can mean a missing or invalid token)",
                endpoint=self.endpoint, sent=True,
            ) from None
        except URLError as exc:
            # urllib wraps in URLError only what fails while connecting (TLS handshake included) and
            # sending; the request did not reach etcd complete, so etcd cannot have acted on it.
            raise EtcdUnreachable(_reason(exc.reason, connecting=True), endpoint=self.endpoint, sent=False) from exc
        except (socket.timeout, ssl.SSLError, OSError, HTTPException) as exc:
            # failed while waiting for the reply: the request was sent and may have been applied
            raise EtcdUnreachable(_reason(exc), endpoint=self.endpoint, sent=True) from exc

    def _refusal(self, status, raw, reason):
        """The EtcdError of an HTTP error reply (``raw``: its body; ``reason``: its status line's)."""
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = raw.decode("utf-8", "replace").strip() or reason
        return EtcdError(error_message(body), endpoint=self.endpoint, status=status,
                         grpc_code=body.get("code") if isinstance(body, dict) else None, body=body)

    def _read(self, response):
        try:
            return response.read()
        except (socket.timeout, ssl.SSLError, OSError, HTTPException) as exc:
            raise EtcdUnreachable(_reason(exc), endpoint=self.endpoint) from exc
        finally:
            response.close()

    def _login(self):
        """Get a token for the client's user; while auth is off, RPCs go without one (token ""), and so
        do they to a learner: it serves no login, and what it serves (its status, serializable reads)
        etcd answers without a user, so that a learner's progress can be read while auth is on."""
        try:
            self._token = self.authenticate(*self._auth)
            self.login_unanswered = None
        except EtcdUnreachable as exc:
            if not exc.sent:
                raise
            self.login_unanswered = EtcdLoginUnanswered(
                "no answer to the login as %s: %s (etcd commits a login through raft: without quorum no one can "
                "log in)" % (self._auth[0], exc.message), endpoint=self.endpoint, sent=False)
            raise self.login_unanswered from exc
        except EtcdError as exc:
            if not exc.matches(AUTH_NOT_ENABLED, NOT_FOR_LEARNER):
                raise
            self._token = ""

    def _authorized_open(self, path, data, timeout):
        """POST with the auth token, authenticating first, and once more when the token expired (or
        auth was enabled since the client learnt it was off)."""
        if self._auth and self._token is None:
            self._login()
        try:
            return self._open(path, data=data, method="POST", timeout=timeout)
        except EtcdError as exc:
            if not self._auth_refusal(exc):
                raise
            learnt_off = self._token == ""
            self._login()
            if learnt_off and not self._token:
                raise  # auth is still off: the refusal was not about auth
        return self._open(path, data=data, method="POST", timeout=timeout)

    def _auth_refusal(self, exc):
        """Whether ``exc`` may be etcd refusing the RPC for want of a (valid) token. While the client
        knows auth as off (token ""), whatever etcd answers may be that: auth came on since (the
        answer differs by release: no user, permission denied, or 3.4's empty reply)."""
        if not self._auth:
            return False
        if self._token == "":
            return not isinstance(exc, EtcdUnreachable) or (exc.sent and "without a reply" in str(exc))
        return not isinstance(exc, EtcdUnreachable) and exc.matches(INVALID_TOKEN, USER_EMPTY)

    def call(self, path, body=None, timeout=None):
        """POST a gateway RPC (``/v3/...``) and return the decoded JSON reply."""
        data = json.dumps(body or {}).encode("utf-8")
        return self._decode(self._read(self._authorized_open(path, data, timeout)))

    def pipelined(self, path, bodies):
        """POST gateway RPC ``path`` (``/v3/...``) with each of ``bodies`` in turn on one connection and
        yield each decoded reply, in order. Requests are sent ahead of their replies (HTTP/1.1
        pipelining, PIPELINE_WINDOW and PIPELINE_BYTES at most): etcd answers a connection's requests one
        at a time in the order sent, so a run of writes that must apply in order (the replay of a
        point-in-time restore) costs no round trip each. An error reply raises EtcdError: the requests
        sent after it may have been applied. For a unix:// endpoint (a private etcd) only: nothing
        between it and the client drops a pipelined request, and its token (a simple token, renewed
        by each use) does not expire while in use."""
        if not self.endpoint.startswith(UNIX_SCHEME):
            raise EtcdConfigError("pipelined requests go to a unix:// endpoint (a private etcd), not %s" % self.endpoint)
        if self._auth and self._token is None:
            self._login()
        head = "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" % path
        if self._token:
            head += "Authorization: %s\r\n" % self._token
        connection = _UnixSocketHTTPConnection("localhost", timeout=self.timeout, socket_path=self.endpoint[len(UNIX_SCHEME):])
        reader = None
        try:
            connection.connect()
            reader = connection.sock.makefile("rb")
            replies = _Replies(reader)
            ahead = []  # the sizes of the requests sent and not yet answered
            for body in bodies:
                data = json.dumps(body).encode("utf-8")
                while ahead and (len(ahead) >= PIPELINE_WINDOW or sum(ahead) + len(data) > PIPELINE_BYTES):
                    ahead.pop(0)
                    yield self._pipelined_reply(replies)
                connection.sock.sendall(("%sContent-Length: %d\r\n\r\n" % (head, len(data))).encode("ascii") + data)
                ahead.append(len(data))
            for _sent in ahead:
                yield self._pipelined_reply(replies)
        except (socket.timeout, OSError, HTTPException) as exc:
            raise EtcdUnreachable(_reason(exc), endpoint=self.endpoint) from exc
        finally:
            if reader:
                reader.close()
            connection.close()

    def _pipelined_reply(self, replies):
        response = HTTPResponse(replies, method="POST")
        response.begin()
        raw = response.read()
        if response.status != 200:
            raise self._refusal(response.status, raw, response.reason)
        return self._decode(raw)

    def _decode(self, raw):
        try:
            return json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            raise EtcdError("reply is not JSON: %r" % raw[:200], endpoint=self.endpoint) from None

    def authenticate(self, name, password):
        """A token for etcd user ``name`` (``/v3/auth/authenticate``); raises EtcdError when refused.

        etcd answers AUTH_NOT_ENABLED while auth is off, and AUTH_FAILED for a wrong name or password.
        """
        data = json.dumps({"name": name, "password": password}).encode("utf-8")
        reply = self._decode(self._read(self._open("/v3/auth/authenticate", data=data, method="POST")))
        if not reply.get("token"):
            raise EtcdError("authenticate answered without a token", endpoint=self.endpoint)
        return reply["token"]

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
        response = self._authorized_open(path, data, timeout)
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

    def health(self, release=""):
        """(healthy, reason) from ``/readyz`` where ``release`` (the member's version, from its
        status) serves it, else ``/health``; unreachable raises EtcdUnreachable."""
        if readyz_served(release):
            # /readyz checks no NOSPACE alarm (only CORRUPT), as /health?exclude=NOSPACE below.
            status, body = self.get(readyz_path(release))
            reason = body if isinstance(body, str) else str(body.get("message", body))
            return status == 200, "" if status == 200 else reason.strip()
        # A NOSPACE alarm is the cluster's, reported with the alarms: a member that raised it still
        # serves, knows its leader, and can be defragmented or hand leadership over.
        status, body = self.get("/health?exclude=NOSPACE")
        if isinstance(body, dict):
            healthy = str(body.get("health", "false")).lower() == "true"
            reason = body.get("reason") or body.get("message") or ""
        else:
            healthy, reason = False, str(body)
        return healthy and status == 200, reason

    def downgrade(self, action, target):
        """etcd's downgrade API (3.5+, used from 3.6): ``action`` VALIDATE, ENABLE or CANCEL,
        ``target`` the minor version like ``"3.5"``; returns the cluster version it answers."""
        reply = self.call("/v3/maintenance/downgrade", {"action": action, "version": target})
        return reply.get("version", "")

    def version(self):
        status, body = self.get("/version")
        if status != 200 or not isinstance(body, dict):
            raise EtcdError("unexpected /version reply: %r" % (body,), endpoint=self.endpoint, status=status)
        return body

    def status(self):
        return normalize_status(self.call("/v3/maintenance/status"), endpoint=self.endpoint)

    def alarms(self):
        return _alarm_list(self.call("/v3/maintenance/alarm", {"action": "GET"}))

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

    def delete_key(self, key):
        """Delete one key; returns how many keys were deleted (0 when it did not exist)."""
        return to_int(self.call("/v3/kv/deleterange", {"key": _b64(key)}).get("deleted"))

    # -- maintenance ---------------------------------------------------------------------------
    # etcd refuses a revision at or below the last compaction with COMPACTED, and one above its
    # current revision with FUTURE_REVISION; callers match on these (EtcdError.matches).

    def current_revision(self):
        """The cluster's current revision, read through raft (the header of a linearizable count)."""
        reply = self.call("/v3/kv/range", {"key": _b64(b"\0"), "count_only": True})
        return to_int((reply.get("header") or {}).get("revision"))

    def is_compacted(self, revision):
        """True when the history at ``revision`` is gone: a compaction went past it.

        A range at a revision below the last compaction is refused before any key is read, so a
        count of one key answers this cheaply. Compacting to R is refused once R itself was compacted
        to, so R needs compacting only while ``is_compacted(R - 1)`` is False.
        """
        try:
            self.call("/v3/kv/range", {"key": _b64(b"\0"), "revision": str(int(revision)), "count_only": True})
        except EtcdError as exc:
            if isinstance(exc, EtcdUnreachable) or not exc.matches(COMPACTED):
                raise
            return True
        return False

    def compact(self, revision, physical=True):
        """Drop the keyspace's history before ``revision``; returns the revision of the reply's header.

        With ``physical`` the reply waits until this member's database has removed it too. Not
        repeatable: a second compaction to the same revision is refused with COMPACTED.
        """
        reply = self.call("/v3/kv/compaction", {"revision": str(int(revision)), "physical": bool(physical)})
        return to_int((reply.get("header") or {}).get("revision"))

    def defragment(self, timeout=None):
        """Defragment this member's database (only the member this client talks to).

        The member serves no reads or writes meanwhile, and a large database takes long: pass a
        ``timeout`` longer than the client's.
        """
        self.call("/v3/maintenance/defragment", timeout=timeout)

    def hash_kv(self, revision=0, timeout=None):
        """This member's hash of the keyspace's history from its last compaction up to ``revision``.

        Returns ``hash``, ``compact_revision`` (the hash starts there, so only hashes with equal
        compact revisions are comparable), ``hash_revision`` (the revision hashed; None from
        releases that do not send it) and ``revision`` (the member's current revision). etcd 3.4's
        gateway does not serve it (it maps HashKV to Hash's path), so 3.4 answers 404. ``timeout``
        replaces the client's: the member reads its whole keyspace to answer.
        """
        reply = self.call("/v3/maintenance/hashkv", {"revision": str(int(revision))}, timeout=timeout)
        return dict(hash=to_int(reply.get("hash")), compact_revision=to_int(reply.get("compact_revision")),
                    hash_revision=to_int(reply.get("hash_revision"), None),
                    revision=to_int((reply.get("header") or {}).get("revision")))

    def keyspace(self, revision=0):
        """What a drill or a backup compares of the keyspace at ``revision`` (0: the current one).

        Returns ``revision`` (the one read), ``current_revision``, ``keys`` (a count-only range over
        the whole keyspace), and this member's ``hash`` and ``compact_revision`` (``hash_kv``) at that
        revision; both None, with ``hash_problem`` saying why, from a release whose gateway does not
        serve HashKV (before HASHKV_SINCE), and with ``keys`` None too at a revision compacted away.
        """
        body = {"key": _b64(b"\0"), "range_end": _b64(b"\0"), "count_only": True}
        if revision:
            body["revision"] = str(int(revision))
        try:
            reply = self.call("/v3/kv/range", body)
        except EtcdError as exc:
            if not revision or isinstance(exc, EtcdUnreachable) or not exc.matches(COMPACTED):
                raise
            return dict(revision=int(revision), current_revision=None, keys=None, hash=None, compact_revision=None,
                        hash_problem="revision %d is compacted: etcd keeps no history before its last compaction"
                        % int(revision))
        current = to_int((reply.get("header") or {}).get("revision"))
        summary = dict(revision=int(revision) or current, current_revision=current, keys=to_int(reply.get("count")),
                       hash=None, compact_revision=None, hash_problem=None)
        version = str(self.version().get("etcdserver", ""))
        match = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
        if not match or tuple(int(part) for part in match.groups()) < HASHKV_SINCE:
            summary["hash_problem"] = "etcd %s does not serve HashKV through its gateway (3.5.10 and later do)" % (
                version or "of an unknown release")
            return summary
        answer = self.hash_kv(summary["revision"])
        summary.update(hash=answer["hash"], compact_revision=answer["compact_revision"])
        return summary

    def alarm_disarm(self, member_id, alarm):
        """Disarm one member's alarm (``NOSPACE``, ``CORRUPT``); returns the alarms it disarmed."""
        return _alarm_list(self.call("/v3/maintenance/alarm", {
            "action": "DEACTIVATE", "memberID": str(int(member_id)), "alarm": alarm}))

    # -- leases and transactions ---------------------------------------------------------------
    # A lease ID is an int64 that the gateway sends as a decimal string; etcdctl prints and parses
    # it as hex (``%016x``; ``etcdctl lease revoke <hex>``). Here IDs are ints.

    def lease_grant(self, ttl):
        """Grant a lease of ``ttl`` seconds; returns {"id": int, "ttl": the TTL etcd granted}.

        Not idempotent: sent twice, it grants two leases (see ``first_answer(..., idempotent=False)``).
        etcd raises a TTL below its minimum (about 1.5 election timeouts) to that minimum.
        """
        reply = self.call("/v3/lease/grant", {"TTL": str(int(ttl))})
        if reply.get("error"):
            raise EtcdError(reply["error"], endpoint=self.endpoint, body=reply)
        lease_id = to_int(reply.get("ID"))
        if not lease_id:
            raise EtcdError("lease grant answered without a lease ID: %r" % (reply,), endpoint=self.endpoint,
                            body=reply)
        return dict(id=lease_id, ttl=to_int(reply.get("TTL"), int(ttl)))

    def lease_revoke(self, lease_id):
        """Revoke a lease, which deletes every key attached to it.

        Returns True when revoked, False when etcd no longer knows the lease (it expired or was
        revoked already), so that repeating it is harmless.
        """
        try:
            self.call("/v3/lease/revoke", {"ID": str(int(lease_id))})
        except EtcdError as exc:
            if isinstance(exc, EtcdUnreachable) or not exc.matches("requested lease not found"):
                raise
            return False
        return True

    def lease_keepalive_once(self, lease_id):
        """Renew a lease once; returns its TTL in seconds from now, 0 when the lease has expired.

        LeaseKeepAlive is a streaming RPC: the gateway answers the request with one JSON document
        per line, ``{"result": {"ID": "...", "TTL": "600"}}``. Only the first is read, then the
        connection is closed. An expired or unknown lease gets a TTL of 0 (omitted, as zeros are)
        or, from old releases, the error ``requested lease not found``.
        """
        messages = self.stream("/v3/lease/keepalive", {"ID": str(int(lease_id))})
        try:
            result = next(messages, None)
        except EtcdError as exc:
            if isinstance(exc, EtcdUnreachable) or not exc.matches("requested lease not found"):
                raise
            return 0
        finally:
            messages.close()
        if result is None:
            raise EtcdError("the keepalive stream ended without an answer", endpoint=self.endpoint)
        return max(to_int(result.get("TTL")), 0)

    def lease_time_to_live(self, lease_id):
        """{"id", "ttl" (seconds left; -1 when the lease does not exist), "granted_ttl"} of a lease."""
        reply = self.call("/v3/lease/timetolive", {"ID": str(int(lease_id))})
        return dict(id=to_int(reply.get("ID"), int(lease_id)), ttl=to_int(reply.get("TTL")),
                    granted_ttl=to_int(reply.get("grantedTTL")))

    def txn(self, compare, success=None, failure=None):
        """One transaction (``/v3/kv/txn``), raw gateway dicts in and out.

        ``compare``, ``success`` and ``failure`` are lists as the gateway takes them (keys and values
        base64, int64 as decimal strings, enums by name: ``{"key": ..., "target": "CREATE", "result":
        "EQUAL", "create_revision": "0"}``, ``{"request_put": {...}}``). The reply has
        ``succeeded`` (missing when false) and ``responses`` (``response_put``, ``response_range``,
        ``response_delete_range``). Not idempotent unless the comparisons make it so.
        """
        body = {"compare": list(compare or [])}
        if success:
            body["success"] = list(success)
        if failure:
            body["failure"] = list(failure)
        return self.call("/v3/kv/txn", body)

    def range_kv(self, key, serializable=False):
        """One key with its metadata (``decode_kv``), or None when it does not exist."""
        reply = self.call("/v3/kv/range", {"key": _b64(key), "serializable": bool(serializable)})
        kvs = reply.get("kvs") or []
        return self.decode_kv(kvs[0]) if kvs else None

    @staticmethod
    def decode_kv(raw):
        """A key-value as the gateway sends it (base64, int64 as strings, zeros omitted) decoded:
        ``key`` and ``value`` as bytes, ``create_revision``, ``mod_revision``, ``version`` and
        ``lease`` (0: none) as ints."""
        return dict(key=_unb64(raw.get("key")), value=_unb64(raw.get("value")),
                    **{field: to_int(raw.get(field)) for field in ("create_revision", "mod_revision", "version", "lease")})

    def range(self, key, range_end=None, serializable=False):
        """The key-values from ``key`` up to ``range_end`` (just ``key`` when None), each decoded
        (``decode_kv``), in key order. ``prefix_range_end`` gives the range_end of a prefix."""
        body = {"key": _b64(key)}
        if range_end is not None:
            body["range_end"] = _b64(range_end)
        if serializable:
            body["serializable"] = True
        return [self.decode_kv(raw) for raw in self.call("/v3/kv/range", body).get("kvs") or []]

    # -- RBAC: users, roles, auth ----------------------------------------------------------------
    # Field names are rpc.proto's, which differ between calls: user/grant takes "user" and
    # user/revoke "name"; role/add and role/grant take "name", role/get, role/delete and
    # role/revoke "role". Permission keys are base64; permType is a PERM_TYPES name, and READ (0)
    # is omitted from replies as every zero value is.

    def _unless_missing(self, path, body, missing):
        """The reply, or None when etcd answers ``missing`` (no such user or role)."""
        try:
            return self.call(path, body)
        except EtcdError as exc:
            if isinstance(exc, EtcdUnreachable) or not exc.matches(missing):
                raise
            return None

    def user_list(self):
        return sorted(self.call("/v3/auth/user/list").get("users") or [])

    def user_get(self, name):
        """The roles of user ``name``, sorted, or None when there is no such user."""
        reply = self._unless_missing("/v3/auth/user/get", {"name": name}, USER_NOT_FOUND)
        return None if reply is None else sorted(reply.get("roles") or [])

    def user_add(self, name, password=None, no_password=False):
        """Add a user; ``no_password`` (etcd 3.4+) makes one that only certificates can log in as."""
        body = {"name": name}
        if password:
            body["password"] = password
        if no_password:
            body["options"] = {"no_password": True}
        self.call("/v3/auth/user/add", body)

    def user_delete(self, name):
        self.call("/v3/auth/user/delete", {"name": name})

    def user_change_password(self, name, password):
        self.call("/v3/auth/user/changepw", {"name": name, "password": password})

    def user_grant_role(self, user, role):
        self.call("/v3/auth/user/grant", {"user": user, "role": role})

    def user_revoke_role(self, user, role):
        self.call("/v3/auth/user/revoke", {"name": user, "role": role})

    def role_list(self):
        return sorted(self.call("/v3/auth/role/list").get("roles") or [])

    def role_get(self, role):
        """The permissions of ``role`` as (key, range_end, type) tuples (bytes, bytes, a PERM_TYPES
        name; range_end b"" for one key), sorted, or None when there is no such role."""
        reply = self._unless_missing("/v3/auth/role/get", {"role": role}, ROLE_NOT_FOUND)
        if reply is None:
            return None
        return sorted((_unb64(p.get("key")), _unb64(p.get("range_end")), p.get("permType") or "READ")
                      for p in reply.get("perm") or [])

    def role_add(self, role):
        self.call("/v3/auth/role/add", {"name": role})

    def role_delete(self, role):
        self.call("/v3/auth/role/delete", {"role": role})

    def role_grant_permission(self, role, key, range_end, perm_type):
        """Grant ``perm_type`` on [key, range_end) (one key when range_end is empty); a grant on a
        range the role has already replaces its type."""
        perm = {"permType": perm_type, "key": _b64(key)}
        if range_end:
            perm["range_end"] = _b64(range_end)
        self.call("/v3/auth/role/grant", {"name": role, "perm": perm})

    def role_revoke_permission(self, role, key, range_end):
        body = {"role": role, "key": _b64(key)}
        if range_end:
            body["range_end"] = _b64(range_end)
        self.call("/v3/auth/role/revoke", body)

    def auth_enable(self):
        """Turn RBAC auth on; etcd refuses without a root user holding the root role."""
        self.call("/v3/auth/enable")

    def auth_disable(self):
        self.call("/v3/auth/disable")

    def auth_enabled(self):
        """Whether RBAC auth is on: ``/v3/auth/status`` (3.5+); from 3.4, whose gateway does not serve
        it (404), what an authentication without a user answers (etcd says whether auth is on first)."""
        try:
            return bool(self.call("/v3/auth/status").get("enabled"))
        except EtcdError as exc:
            if isinstance(exc, EtcdUnreachable) or exc.status != 404:
                raise
        try:
            self.authenticate("", "")
        except EtcdError as exc:
            if exc.matches(AUTH_NOT_ENABLED):
                return False
            if isinstance(exc, EtcdUnreachable) or not exc.matches(AUTH_FAILED, USER_EMPTY):
                raise
        return True


def prefix_range_end(prefix):
    """The range_end that makes [prefix, range_end) every key starting with ``prefix`` (bytes or
    text), as ``etcdctl --prefix`` computes it: the prefix with its last byte below 0xff increased
    by one, the 0xff bytes after it dropped. An empty prefix, or one of 0xff bytes only, is every key
    from it on: range_end b"\\0"."""
    if not isinstance(prefix, bytes):
        prefix = prefix.encode("utf-8")
    end = bytearray(prefix)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return b"\0"
    end[-1] += 1
    return bytes(end)


def first_answer(clients, action, idempotent=True):
    """Run ``action(client)`` on each client in turn and return the first success.

    Cluster-wide questions (the member list, an add or a remove) can be asked of any member, so a
    dead member must not stop them. An endpoint that is unreachable, or a learner that refuses the
    RPC, passes the request on to the next one; any other etcd error is raised at once.

    ``idempotent`` says whether sending the request twice is harmless. When False (member add,
    remove, update; leadership transfer), the next endpoint is tried only when the request surely
    never reached the previous one (``EtcdUnreachable.sent`` is False: refused, unreachable,
    TLS handshake failed, connect timed out). A request that was sent and then timed out or was cut
    off may have been applied, so it is not repeated: EtcdUnreachable with ``sent=True`` is raised
    at once and the caller must look (list the members) to learn what happened.

    When no endpoint answers, raises EtcdUnreachable listing every endpoint tried; its ``sent`` is
    True when any of them may have received the request.
    """
    errors = []
    sent = False
    for client in clients:
        try:
            return action(client)
        except EtcdUnreachable as exc:
            errors.append(str(exc))
            sent = sent or exc.sent
            if exc.sent and not idempotent:
                raise EtcdUnreachable(
                    "%s (the request was sent and may have been applied, so it was not repeated on another "
                    "endpoint)" % "; ".join(errors),
                    endpoint=None, sent=True,
                ) from exc
        except EtcdError as exc:
            if exc.matches(NOT_FOR_LEARNER):
                errors.append(str(exc))
                continue
            raise
    raise EtcdUnreachable("no endpoint answered: " + ("; ".join(errors) or "no endpoints given"), sent=sent)


# While a leader is elected (a member back from a partition, a restart), etcd refuses a request with
# one of these without doing anything.
ELECTION_REFUSALS = ("leader changed", "no leader")
# An election takes a few election timeouts (1 s by default): a question is asked again for that long.
SETTLE_TRIES, SETTLE_PAUSE = 6, 1.0


def during_election(exc):
    """True for etcd's refusal of a request while a leader is elected (ELECTION_REFUSALS)."""
    return isinstance(exc, EtcdError) and exc.matches(*ELECTION_REFUSALS)


def settled_answer(clients, action, idempotent=True, sleep=None):
    """``first_answer``, with a question (``idempotent``) that etcd refuses while a leader is elected
    asked again, SETTLE_PAUSE s apart, until it is answered or SETTLE_TRIES tries were refused; the
    refusal then stands. A request that must not be sent twice is never repeated: the refusal is
    raised at once, as are every other error and an endpoint that does not answer."""
    tries = 1
    while True:
        try:
            return first_answer(clients, action, idempotent=idempotent)
        except EtcdUnreachable:
            raise
        except EtcdError as exc:
            if not idempotent or not during_election(exc) or tries >= SETTLE_TRIES:
                raise
        tries += 1
        (sleep or time.sleep)(SETTLE_PAUSE)


def keyspace_of(clients, revision=0):
    """(the keyspace at ``revision`` as ``EtcdClient.keyspace`` reads it, with the ``endpoint`` that
    answered, None) from the first of ``clients`` that answers; (None, why not) when none does."""
    try:
        return first_answer(clients, lambda c: dict(c.keyspace(revision), endpoint=c.endpoint)), None
    except EtcdError as exc:
        return None, "cannot read the keyspace: %s" % exc


def member_list_from(clients):
    """(endpoint that answered, members) from the first endpoint that answers; from 3.5 on the list is
    a linearizable read, refused while a leader is elected, so it is asked again meanwhile
    (``settled_answer``).

    Raises EtcdError with a message an operator can act on when none does.
    """
    try:
        return settled_answer(clients, lambda c: (c.endpoint, c.member_list()))
    except EtcdError as exc:
        raise EtcdError(
            "cannot list the members through any of %s: %s. Check that etcd runs there and that the TLS options "
            "(ca_cert, client_cert, client_key) are right" % (", ".join(c.endpoint for c in clients), exc),
            status=exc.status, grpc_code=exc.grpc_code, body=exc.body,
        ) from None


def cluster_leader_id(clients):
    """The leader's ID as the first answering endpoint sees it, or None (no answer, or no leader)."""
    try:
        status = first_answer(clients, lambda c: c.status())
    except EtcdError:
        return None
    return status["leader_id"] or None


def _reason(exc, connecting=False):
    if "handshake operation timed out" in str(exc):
        return NO_HANDSHAKE
    if isinstance(exc, socket.timeout) or "timed out" in str(exc):
        if connecting:
            return CONNECT_TIMED_OUT
        return NO_REPLY
    return str(exc) or exc.__class__.__name__
