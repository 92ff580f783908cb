# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""DNS SRV lookups with the standard library only, and etcd's SRV naming.

The managed hosts have python3 and nothing else (no dnspython), so the modules resolve etcd's
client SRV records (``discovery_srv``) here: one question over UDP to the nameservers of
/etc/resolv.conf, in turn, again over TCP when the answer is truncated, with the resolver's
timeout and attempts. The SRV answers are parsed with name compression. Every error names the
record and the nameservers asked.

etcd's naming (``client/pkg/srv``): ``--discovery-srv DOMAIN`` with ``--discovery-srv-name NAME``
makes ``_etcd-<kind>-ssl-NAME._tcp.DOMAIN`` (https) and ``_etcd-<kind>-NAME._tcp.DOMAIN`` (http);
``kind`` is ``server`` (peers) or ``client``. Clients query both and combine the answers.
"""

import os
import socket
import struct
import time

RESOLV_CONF = "/etc/resolv.conf"
DNS_PORT = 53
TYPE_SRV = 33
CLASS_IN = 1
# resolv.conf(5)'s defaults: 5 seconds per try, 2 rounds over the nameservers; no nameserver line
# means the local one.
DEFAULT_TIMEOUT = 5.0
DEFAULT_ATTEMPTS = 2
DEFAULT_NAMESERVER = "127.0.0.1"
RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_MAX_NAME = 253
_MAX_LABEL = 63
_MAX_POINTERS = 64


class DNSError(Exception):
    """A lookup that failed: no nameserver gave an answer, or an answer could not be read."""


class DNSNoRecords(DNSError):
    """A nameserver answered that the name has no SRV record (NXDOMAIN, or no such data)."""


class DNSFormatError(DNSError):
    """A DNS message that cannot be read (cut short, a label or pointer out of bounds)."""


def srv_service(kind, domain, tls=True, srv_name=""):
    """``_etcd-server-ssl._tcp.example.com`` and friends, as etcd names them; ``kind`` is ``server``
    or ``client``. Raises ValueError for another kind or an empty domain."""
    if kind not in ("server", "client"):
        raise ValueError("the SRV kind must be server or client, not %r" % (kind,))
    domain = str(domain or "").strip().rstrip(".")
    if not domain:
        raise ValueError("the discovery domain is empty")
    suffix = "-%s" % srv_name if srv_name else ""
    return "_etcd-%s%s%s._tcp.%s" % (kind, "-ssl" if tls else "", suffix, domain)


def encode_name(name):
    """``name`` in DNS wire format (length-prefixed labels, then a zero byte).

    Raises ValueError naming the problem: an empty label (``a..b``), a label over 63 bytes, a name
    over 253 characters, or a character that is not ASCII.
    """
    text = str(name).rstrip(".")
    if not text:
        raise ValueError("the DNS name is empty")
    if len(text) > _MAX_NAME:
        raise ValueError("the DNS name %s is %d characters long; DNS allows %d" % (text, len(text), _MAX_NAME))
    out = bytearray()
    for label in text.split("."):
        try:
            raw = label.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("the DNS name %r has a character that is not ASCII; write it in its xn-- form"
                             % (text,)) from None
        if not raw:
            raise ValueError("the DNS name %r has an empty label" % (text,))
        if len(raw) > _MAX_LABEL:
            raise ValueError("the DNS name %s has a label of %d characters (%s); DNS allows %d"
                             % (text, len(raw), label, _MAX_LABEL))
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def encode_query(name, qtype=TYPE_SRV, query_id=0):
    """A standard query (recursion desired) for ``name`` of type ``qtype``."""
    header = struct.pack("!HHHHHH", query_id & 0xFFFF, 0x0100, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def read_name(message, offset):
    """(name, offset after it) of the name at ``offset``, following compression pointers.

    A pointer must point backwards, at most 64 of them per name; anything outside the message
    raises DNSFormatError.
    """
    labels = []
    end = None
    jumps = 0
    position = offset
    while True:
        if position >= len(message):
            raise DNSFormatError("a name at offset %d runs past the end of the message" % offset)
        length = message[position]
        if length & 0xC0 == 0xC0:
            if position + 1 >= len(message):
                raise DNSFormatError("a compression pointer at offset %d is cut short" % position)
            target = ((length & 0x3F) << 8) | message[position + 1]
            if end is None:
                end = position + 2
            jumps += 1
            if target >= position or jumps > _MAX_POINTERS:
                raise DNSFormatError("a compression pointer at offset %d points forward or loops (to %d)"
                                     % (position, target))
            position = target
            continue
        if length & 0xC0:
            raise DNSFormatError("unknown label type 0x%02x at offset %d" % (length, position))
        position += 1
        if length == 0:
            break
        if position + length > len(message):
            raise DNSFormatError("a label at offset %d runs past the end of the message" % (position - 1))
        labels.append(message[position:position + length].decode("ascii", "replace"))
        position += length
    return ".".join(labels), (end if end is not None else position)


class Response:
    """A parsed reply: ``id``, ``rcode``, ``truncated`` and the SRV ``records`` of its answer
    section as (priority, weight, port, target) tuples, the target without its final dot."""

    def __init__(self, query_id, rcode, truncated, records):
        self.id = query_id
        self.rcode = rcode
        self.truncated = truncated
        self.records = records


def parse_response(message):
    """The Response in ``message``; raises DNSFormatError when it cannot be read."""
    message = bytes(message)
    if len(message) < 12:
        raise DNSFormatError("the message is %d bytes long, shorter than a DNS header" % len(message))
    query_id, flags, qdcount, ancount, _nscount, _arcount = struct.unpack("!HHHHHH", message[:12])
    if not flags & 0x8000:
        raise DNSFormatError("the message is a query, not a response")
    truncated = bool(flags & 0x0200)
    rcode = flags & 0x000F
    offset = 12
    records = []
    try:
        for _question in range(qdcount):
            _name, offset = read_name(message, offset)
            offset += 4
        for _answer in range(ancount):
            _name, offset = read_name(message, offset)
            if offset + 10 > len(message):
                raise DNSFormatError("an answer at offset %d is cut short" % offset)
            rtype, rclass, _ttl, rdlength = struct.unpack("!HHIH", message[offset:offset + 10])
            offset += 10
            if offset + rdlength > len(message):
                raise DNSFormatError("an answer's data at offset %d runs past the end of the message" % offset)
            if rtype == TYPE_SRV and rclass == CLASS_IN:
                if rdlength < 7:
                    raise DNSFormatError("an SRV record at offset %d is %d bytes long" % (offset, rdlength))
                priority, weight, port = struct.unpack("!HHH", message[offset:offset + 6])
                target, _end = read_name(message, offset + 6)
                records.append((priority, weight, port, target.lower()))
            offset += rdlength
    except DNSFormatError:
        if truncated:  # a truncated reply may stop anywhere: the TCP answer replaces it
            return Response(query_id, rcode, truncated, records)
        raise
    return Response(query_id, rcode, truncated, records)


def resolver_config(path=RESOLV_CONF):
    """(nameservers, timeout, attempts) as the system resolver reads them from resolv.conf(5):
    every ``nameserver`` line in order, ``options timeout:N attempts:N``; the local nameserver when
    there is no line (or no file)."""
    nameservers, timeout, attempts = [], DEFAULT_TIMEOUT, DEFAULT_ATTEMPTS
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            nameservers.append(words[1])
        elif words and words[0] == "options":
            for option in words[1:]:
                key, _sep, value = option.partition(":")
                if key in ("timeout", "attempts") and value.isdigit() and int(value) > 0:
                    if key == "timeout":
                        timeout = float(min(int(value), 30))
                    else:
                        attempts = min(int(value), 5)
    return nameservers or [DEFAULT_NAMESERVER], timeout, attempts


def _address(nameserver):
    """(host, port) of a nameserver given as an address or as (address, port)."""
    if isinstance(nameserver, (tuple, list)):
        return str(nameserver[0]), int(nameserver[1])
    return str(nameserver), DNS_PORT


def _shown(nameserver):
    host, port = _address(nameserver)
    return host if port == DNS_PORT else "%s port %d" % (host, port)


def _connect(nameserver, kind, timeout):
    host, port = _address(nameserver)
    family, socktype, proto, _canon, sockaddr = socket.getaddrinfo(host, port, 0, kind)[0]
    sock = socket.socket(family, socktype, proto)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock


def _exchange_udp(query, query_id, nameserver, timeout):
    sock = _connect(nameserver, socket.SOCK_DGRAM, timeout)
    try:
        sock.send(query)
        deadline = time.monotonic() + timeout
        while True:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            data = sock.recv(65535)
            try:
                response = parse_response(data)
            except DNSFormatError:
                continue  # not an answer to this query: keep listening until the deadline
            if response.id == query_id:
                return response
    finally:
        sock.close()


def _recv_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise DNSFormatError("the TCP answer ended after %d of %d bytes" % (len(data), count))
        data += chunk
    return data


def _exchange_tcp(query, query_id, nameserver, timeout):
    sock = _connect(nameserver, socket.SOCK_STREAM, timeout)
    try:
        sock.sendall(struct.pack("!H", len(query)) + query)
        length = struct.unpack("!H", _recv_exactly(sock, 2))[0]
        response = parse_response(_recv_exactly(sock, length))
    finally:
        sock.close()
    if response.id != query_id:
        raise DNSFormatError("the TCP answer has ID %d, not the query's %d" % (response.id, query_id))
    return response


def query_srv(name, nameservers, timeout=DEFAULT_TIMEOUT, attempts=DEFAULT_ATTEMPTS):
    """(nameserver, Response) of the first nameserver that answers the SRV question for ``name``.

    Each round asks the nameservers in turn, over UDP, then over TCP when the reply is truncated; a
    nameserver that times out, is unreachable or answers SERVFAIL, REFUSED (or garbage) passes the
    question on. After ``attempts`` rounds, raises DNSError naming the record and what each
    nameserver did.
    """
    query_id = int.from_bytes(os.urandom(2), "big")
    query = encode_query(name, TYPE_SRV, query_id)
    failures = {}
    for _round in range(max(int(attempts), 1)):
        for nameserver in nameservers:
            try:
                response = _exchange_udp(query, query_id, nameserver, timeout)
                if response.truncated:
                    response = _exchange_tcp(query, query_id, nameserver, timeout)
            except socket.timeout:
                failures[_shown(nameserver)] = "no answer within %gs" % timeout
                continue
            except (OSError, DNSFormatError) as exc:
                failures[_shown(nameserver)] = str(exc) or exc.__class__.__name__
                continue
            if response.rcode in (0, 3):
                return nameserver, response
            failures[_shown(nameserver)] = "answered %s" % RCODES.get(response.rcode, "rcode %d" % response.rcode)
    raise DNSError("cannot resolve SRV %s: %s" % (
        name, "; ".join("nameserver %s: %s" % (ns, why) for ns, why in failures.items()) or "no nameserver to ask"))


def resolve_srv(name, nameservers=None, timeout=None, attempts=None, resolv_conf=RESOLV_CONF):
    """The SRV records of ``name`` as (priority, weight, port, target) tuples, sorted by priority,
    then by weight (the heaviest first), then by target and port.

    ``nameservers`` (addresses, or (address, port) pairs), ``timeout`` (seconds per try) and
    ``attempts`` default to resolv.conf's. Raises DNSNoRecords naming the record and the nameserver
    when it answers NXDOMAIN or has no usable record (a target of ``.`` means "no service"), and
    DNSError when no nameserver answers.
    """
    config_servers, config_timeout, config_attempts = resolver_config(resolv_conf)
    nameservers = list(nameservers or config_servers)
    timeout = float(timeout if timeout is not None else config_timeout)
    attempts = int(attempts if attempts is not None else config_attempts)
    nameserver, response = query_srv(name, nameservers, timeout, attempts)
    if response.rcode == 3:
        raise DNSNoRecords("SRV %s does not exist (NXDOMAIN from nameserver %s)" % (name, _shown(nameserver)))
    records = sorted(set(r for r in response.records if r[3] not in ("", ".")), key=lambda r: (r[0], -r[1], r[3], r[2]))
    if not records:
        raise DNSNoRecords("SRV %s has no record (nameserver %s answered with none)" % (name, _shown(nameserver)))
    return records


def host_port_url(scheme, host, port):
    """``scheme://host:port``, an IPv6 address in brackets."""
    return "%s://%s:%d" % (scheme, "[%s]" % host if ":" in host else host, int(port))


def client_endpoints(domain, srv_name="", nameservers=None, timeout=None, attempts=None, resolv_conf=RESOLV_CONF):
    """The client URLs of the cluster whose client SRV records are under ``domain``, as etcd's
    clients find them (``srv.GetClient``): ``_etcd-client-ssl[-NAME]._tcp.DOMAIN`` gives https URLs
    and ``_etcd-client[-NAME]._tcp.DOMAIN`` http URLs, https first, each in record order.

    A lookup that fails is left out as long as the other gives URLs; when neither does, raises
    DNSError naming both records and why (ValueError for a domain that is no DNS name).
    """
    names = [("https", srv_service("client", domain, True, srv_name)),
             ("http", srv_service("client", domain, False, srv_name))]
    for _scheme, name in names:
        encode_name(name)
    urls, errors, only_absent = [], [], True
    for scheme, name in names:
        try:
            records = resolve_srv(name, nameservers, timeout, attempts, resolv_conf)
        except DNSNoRecords as exc:
            errors.append(str(exc))
            continue
        except DNSError as exc:
            errors.append(str(exc))
            only_absent = False
            continue
        urls.extend(host_port_url(scheme, target, port) for _priority, _weight, port, target in records)
    if not urls:
        cls = DNSNoRecords if only_absent else DNSError
        raise cls("no etcd client SRV record for %s: %s" % (str(domain).rstrip("."), "; ".join(errors)))
    return urls
