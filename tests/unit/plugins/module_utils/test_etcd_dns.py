"""The stdlib DNS SRV resolver of discovery_srv: messages built byte by byte, and real questions to
a small DNS server on 127.0.0.1 (UDP and TCP, from socketserver) that answers from a zone."""

import functools
import socket
import socketserver
import struct
import threading

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.module_utils.client import dns

SSL = "_etcd-client-ssl._tcp.etcd.test"
PLAIN = "_etcd-client._tcp.etcd.test"


def wire(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(query_id=7, flags=0x8180, qd=1, an=0):
    return struct.pack("!HHHHHH", query_id, flags, qd, an, 0, 0)


def srv_rdata(priority, weight, port, target_bytes):
    return struct.pack("!HHH", priority, weight, port) + target_bytes


def answer(owner_bytes, rdata, rtype=33):
    return owner_bytes + struct.pack("!HHIH", rtype, 1, 300, len(rdata)) + rdata


def reply(question, records, query_id=7, rcode=0, truncated=False):
    """A reply as a DNS server sends it: the question, then each answer with its owner as a pointer
    to the question (0xC00C) and its target's domain as a pointer into the question's name."""
    qname = question[:-4]
    domain_at = {}
    position = 0
    while qname[position]:
        domain_at[qname[position:].decode("latin-1")] = 12 + position
        position += qname[position] + 1
    body = b""
    for priority, weight, port, target in records:
        host, _dot, rest = target.partition(".")
        suffix = wire(rest)[:-1] + b"\0"
        pointer = domain_at.get(suffix.decode("latin-1"))
        target_bytes = bytes([len(host)]) + host.encode() + (struct.pack("!H", 0xC000 | pointer) if pointer else suffix)
        body += answer(b"\xc0\x0c", srv_rdata(priority, weight, port, target_bytes))
    flags = 0x8180 | rcode | (0x0200 if truncated else 0)
    return header(query_id, flags, 1, 0 if truncated else len(records)) + question + (b"" if truncated else body)


class Zone:
    """A DNS server on 127.0.0.1 (UDP, and TCP on the same port) answering SRV questions from
    ``records`` ({name: [(priority, weight, port, target)]}); other names get NXDOMAIN, names in
    ``empty`` NOERROR without answers. ``mode``: ``ok``, ``truncate`` (UDP replies are cut and
    flagged, TCP answers in full), ``servfail``. ``asked`` counts the questions by transport."""

    def __init__(self, records=None, empty=(), mode="ok"):
        self.records, self.empty, self.mode = dict(records or {}), set(empty), mode
        self.asked = {"udp": 0, "tcp": 0}
        zone = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                zone.asked["udp"] += 1
                sock.sendto(zone.answer(data, udp=True), self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                length = struct.unpack("!H", self.request.recv(2))[0]
                data = b""
                while len(data) < length:
                    data += self.request.recv(length - len(data))
                zone.asked["tcp"] += 1
                out = zone.answer(data, udp=False)
                self.request.sendall(struct.pack("!H", len(out)) + out)

        self.tcp = socketserver.TCPServer(("127.0.0.1", 0), Tcp)
        self.port = self.tcp.server_address[1]
        self.udp = socketserver.UDPServer(("127.0.0.1", self.port), Udp)
        for server in (self.udp, self.tcp):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.address = ("127.0.0.1", self.port)

    def answer(self, query, udp):
        query_id = struct.unpack("!H", query[:2])[0]
        question = query[12:]
        end = question.index(b"\0") + 5
        question = question[:end]
        name = dns.read_name(query, 12)[0]
        if self.mode == "servfail":
            return reply(question, [], query_id, rcode=2)
        if name in self.empty:
            return reply(question, [], query_id)
        if name not in self.records:
            return reply(question, [], query_id, rcode=3)
        return reply(question, self.records[name], query_id, truncated=udp and self.mode == "truncate")

    def close(self):
        for server in (self.udp, self.tcp):
            server.shutdown()
            server.server_close()


@pytest.fixture
def zone():
    made = []

    def make(*args, **kwargs):
        made.append(Zone(*args, **kwargs))
        return made[-1]
    yield make
    for server in made:
        server.close()


@pytest.fixture
def silent():
    """A nameserver that never answers: a bound UDP socket nobody reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()
    sock.close()


# -- messages ---------------------------------------------------------------------------------


def test_a_query_asks_for_the_srv_records_with_recursion():
    assert dns.encode_query("_etcd-client-ssl._tcp.etcd.test.", query_id=0x1234) == (
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        b"\x10_etcd-client-ssl\x04_tcp\x04etcd\x04test\x00\x00\x21\x00\x01")


@pytest.mark.parametrize("name, message", [
    ("", "the DNS name is empty"),
    ("_etcd-client._tcp..test", "the DNS name '_etcd-client._tcp..test' has an empty label"),
    ("x" * 64 + ".test", "has a label of 64 characters (%s); DNS allows 63" % ("x" * 64)),
    (("abcdefgh." * 29) + "test", "is 265 characters long; DNS allows 253"),
    ("_etcd-client._tcp.étcd.test", "has a character that is not ASCII; write it in its xn-- form"),
])
def test_a_bad_name_is_refused_naming_the_problem(name, message):
    with pytest.raises(ValueError) as err:
        dns.encode_query(name)
    assert message in str(err.value)


def test_answers_are_read_through_compression_pointers():
    question = wire(SSL) + b"\x00\x21\x00\x01"
    message = reply(question, [(10, 5, 2379, "disc-0.etcd.test"), (0, 0, 12379, "disc-1.etcd.test")], query_id=99)
    # The owners are pointers to the question, the targets end in a pointer to its "etcd.test".
    assert message.count(b"\xc0\x0c") == 2 and b"\x06disc-0\xc0" in message
    response = dns.parse_response(message)
    assert (response.id, response.rcode, response.truncated) == (99, 0, False)
    assert response.records == [(10, 5, 2379, "disc-0.etcd.test"), (0, 0, 12379, "disc-1.etcd.test")]


def test_answers_of_other_types_are_skipped():
    question = wire(SSL) + b"\x00\x21\x00\x01"
    cname = answer(b"\xc0\x0c", wire("elsewhere.test"), rtype=5)
    srv = answer(wire("elsewhere.test"), srv_rdata(1, 2, 2379, wire("disc-2.etcd.test")))
    message = header(an=2) + question + cname + srv
    assert dns.parse_response(message).records == [(1, 2, 2379, "disc-2.etcd.test")]


def test_the_truncation_flag_is_read_and_a_cut_answer_tolerated():
    question = wire(SSL) + b"\x00\x21\x00\x01"
    cut = header(flags=0x8380, an=2) + question + answer(b"\xc0\x0c", srv_rdata(0, 0, 2379, wire("disc-0.etcd.test")))[:9]
    response = dns.parse_response(cut)
    assert response.truncated is True and response.records == []


def test_nxdomain_is_read_as_rcode_3():
    response = dns.parse_response(header(flags=0x8183) + wire(SSL) + b"\x00\x21\x00\x01")
    assert (response.rcode, response.records) == (3, [])


@pytest.mark.parametrize("message, text", [
    (b"\x00\x07\x81", "the message is 3 bytes long, shorter than a DNS header"),
    (header(flags=0x0100) + wire(SSL) + b"\x00\x21\x00\x01", "the message is a query, not a response"),
    (header() + b"\xc0\x0c\x00\x21\x00\x01", "a compression pointer at offset 12 points forward or loops (to 12)"),
    (header() + b"\xc0\x20", "a compression pointer at offset 12 points forward or loops (to 32)"),
    (header() + b"\x10_etcd", "a label at offset 12 runs past the end of the message"),
    (header() + b"\x80abc", "unknown label type 0x80 at offset 12"),
    (header(an=1) + wire(SSL) + b"\x00\x21\x00\x01" + b"\xc0\x0c\x00\x21\x00\x01\x00\x00\x01\x2c\x00\x20\x00",
     "an answer's data at offset 61 runs past the end of the message"),
])
def test_a_message_that_cannot_be_read_is_refused_naming_where(message, text):
    with pytest.raises(dns.DNSFormatError) as err:
        dns.parse_response(message)
    assert str(err.value) == text


def test_resolv_conf_gives_the_nameservers_timeout_and_attempts(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example.com\nnameserver 10.0.0.53\nnameserver fd00::53 ; v6\n"
                    "options ndots:2 timeout:3 attempts:4\n")
    assert dns.resolver_config(str(conf)) == (["10.0.0.53", "fd00::53"], 3.0, 4)
    conf.write_text("search example.com\n")
    assert dns.resolver_config(str(conf)) == (["127.0.0.1"], 5.0, 2)
    assert dns.resolver_config(str(tmp_path / "missing")) == (["127.0.0.1"], 5.0, 2)


def test_srv_service_names_follow_etcd():
    assert dns.srv_service("client", "etcd.test.") == SSL
    assert dns.srv_service("client", "etcd.test", tls=False, srv_name="prod") == "_etcd-client-prod._tcp.etcd.test"
    assert dns.srv_service("server", "etcd.test", srv_name="prod") == "_etcd-server-ssl-prod._tcp.etcd.test"
    with pytest.raises(ValueError, match="the discovery domain is empty"):
        dns.srv_service("client", " ")
    with pytest.raises(ValueError, match="the SRV kind must be server or client, not 'peer'"):
        dns.srv_service("peer", "etcd.test")


# -- questions to a DNS server ------------------------------------------------------------------


def test_records_come_sorted_by_priority_then_heaviest_weight(zone):
    server = zone({SSL: [(10, 0, 2379, "disc-2.etcd.test"), (0, 5, 2379, "disc-1.etcd.test"),
                         (0, 50, 2379, "disc-0.etcd.test"), (0, 5, 2379, "Disc-1.etcd.test.")]})
    assert dns.resolve_srv(SSL, [server.address], timeout=2, attempts=1) == [
        (0, 50, 2379, "disc-0.etcd.test"), (0, 5, 2379, "disc-1.etcd.test"), (10, 0, 2379, "disc-2.etcd.test")]
    assert server.asked == {"udp": 1, "tcp": 0}


def test_nxdomain_names_the_record_and_the_nameserver(zone):
    server = zone({})
    with pytest.raises(dns.DNSNoRecords) as err:
        dns.resolve_srv(SSL, [server.address], timeout=2, attempts=1)
    assert str(err.value) == "SRV %s does not exist (NXDOMAIN from nameserver 127.0.0.1 port %d)" % (SSL, server.port)


def test_no_answer_names_the_record_and_the_nameserver(zone):
    server = zone({PLAIN: [(0, 0, 2379, ".")]}, empty=[SSL])
    for name in (SSL, PLAIN):  # no data; only the "no service here" target
        with pytest.raises(dns.DNSNoRecords) as err:
            dns.resolve_srv(name, [server.address], timeout=2, attempts=1)
        assert str(err.value) == "SRV %s has no record (nameserver 127.0.0.1 port %d answered with none)" % (
            name, server.port)


def test_a_truncated_answer_is_asked_again_over_tcp(zone):
    records = [(0, 0, 2379, "disc-%d.etcd.test" % i) for i in range(3)]
    server = zone({SSL: records}, mode="truncate")
    assert dns.resolve_srv(SSL, [server.address], timeout=2, attempts=1) == records
    assert server.asked == {"udp": 1, "tcp": 1}


def test_a_silent_nameserver_passes_the_question_to_the_next(zone, silent):
    server = zone({SSL: [(0, 0, 2379, "disc-0.etcd.test")]})
    assert dns.resolve_srv(SSL, [silent, server.address], timeout=0.3, attempts=1) == [(0, 0, 2379, "disc-0.etcd.test")]


def test_no_nameserver_answering_names_the_record_and_each_nameserver(zone, silent):
    failing = zone({SSL: [(0, 0, 2379, "disc-0.etcd.test")]}, mode="servfail")
    with pytest.raises(dns.DNSError) as err:
        dns.resolve_srv(SSL, [silent, failing.address], timeout=0.2, attempts=2)
    assert str(err.value) == (
        "cannot resolve SRV %s: nameserver 127.0.0.1 port %d: no answer within 0.2s; "
        "nameserver 127.0.0.1 port %d: answered SERVFAIL" % (SSL, silent[1], failing.port))
    assert failing.asked["udp"] == 2  # both rounds


def test_client_endpoints_combine_https_and_http_records(zone):
    server = zone({SSL: [(0, 0, 2379, "disc-1.etcd.test"), (0, 9, 2379, "disc-0.etcd.test")],
                   PLAIN: [(0, 0, 2379, "10.0.0.13")]})
    assert dns.client_endpoints("etcd.test", nameservers=[server.address], timeout=2, attempts=1) == [
        "https://disc-0.etcd.test:2379", "https://disc-1.etcd.test:2379", "http://10.0.0.13:2379"]


def test_client_endpoints_with_a_service_name(zone):
    server = zone({"_etcd-client-ssl-prod._tcp.etcd.test": [(0, 0, 12379, "disc-0.etcd.test")]})
    assert dns.client_endpoints("etcd.test", "prod", nameservers=[server.address], timeout=2, attempts=1) == [
        "https://disc-0.etcd.test:12379"]


def test_client_endpoints_without_records_name_both_records(zone):
    server = zone({})
    with pytest.raises(dns.DNSNoRecords) as err:
        dns.client_endpoints("nothing.test", nameservers=[server.address], timeout=2, attempts=1)
    assert str(err.value) == (
        "no etcd client SRV record for nothing.test: "
        "SRV _etcd-client-ssl._tcp.nothing.test does not exist (NXDOMAIN from nameserver 127.0.0.1 port %d); "
        "SRV _etcd-client._tcp.nothing.test does not exist (NXDOMAIN from nameserver 127.0.0.1 port %d)"
        % (server.port, server.port))


def test_client_endpoints_refuse_a_domain_that_is_no_dns_name():
    with pytest.raises(ValueError, match="has an empty label"):
        dns.client_endpoints("etcd..test", nameservers=[("127.0.0.1", 9)])


# -- the shared client's discovery_srv ----------------------------------------------------------


@pytest.fixture
def discovery(zone, monkeypatch):
    """The shared client resolving through the test's DNS server (the one thing that differs from a
    host: the nameserver's port), with nothing remembered from other tests."""
    def use(records):
        server = zone(records)
        monkeypatch.setattr(ec, "client_endpoints",
                            functools.partial(dns.client_endpoints, nameservers=[server.address], timeout=2, attempts=1))
        monkeypatch.setattr(ec, "_DISCOVERED", {})
        return server
    return use


def test_modules_reach_the_members_the_srv_records_name(discovery):
    discovery({"_etcd-client-ssl-prod._tcp.etcd.test": [(0, 0, 2379, "10.0.0.11"), (0, 0, 2379, "10.0.0.12")]})
    params = dict(ec.connection_argument_spec(), endpoints=[ec.DEFAULT_ENDPOINT], discovery_srv="etcd.test",
                  discovery_srv_name="prod", ca_cert=None, client_cert=None, client_key=None, tls_verify=True,
                  client_cert_content=None, client_key_content=None, timeout=5.0, auth_user=None, auth_password=None)
    assert ec.endpoints_shown(params) == "the SRV records of etcd.test"
    clients = ec.clients_from_params(params)
    assert [c.endpoint for c in clients] == ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
    assert params["endpoints"] == ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
    assert ec.endpoints_shown(params) == "https://10.0.0.11:2379, https://10.0.0.12:2379"


def test_modules_refuse_a_domain_without_records_naming_the_record(discovery):
    server = discovery({})
    params = dict(endpoints=[ec.DEFAULT_ENDPOINT], discovery_srv="none.test", discovery_srv_name="")
    with pytest.raises(ec.EtcdConfigError) as err:
        ec.resolve_endpoints(params)
    assert err.value.option == "discovery_srv"
    assert str(err.value).startswith(
        "discovery_srv none.test: no etcd client SRV record for none.test: SRV _etcd-client-ssl._tcp.none.test "
        "does not exist (NXDOMAIN from nameserver 127.0.0.1 port %d)" % server.port)


def test_endpoints_and_discovery_srv_are_exclusive_in_every_module():
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    validator = ArgumentSpecValidator(ec.connection_argument_spec(), mutually_exclusive=ec.CONNECTION_EXCLUSIVE)
    result = validator.validate({"endpoints": ["https://10.0.0.11:2379"], "discovery_srv": "etcd.test"})
    assert "parameters are mutually exclusive: endpoints|discovery_srv" in str(result.errors[0])
    # endpoints' default does not count
    assert validator.validate({"discovery_srv": "etcd.test"}).error_messages == []
