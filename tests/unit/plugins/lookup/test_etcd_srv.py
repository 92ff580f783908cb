"""The SRV lookup against dnspython's own zone parsing: no network."""

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.zone
import pytest

from ansible.errors import AnsibleLookupError

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import members as f
from ansible_collections.raftops.etcd.plugins.module_utils.client import srv_records as srv
from ansible_collections.raftops.etcd.plugins.lookup import etcd_srv
from ansible_collections.raftops.etcd.plugins.module_utils.host.host_checks import srv_problems

ZONE = """
$ORIGIN example.com.
$TTL 300
@ IN SOA ns.example.com. admin.example.com. 1 3600 600 86400 300
@ IN NS ns
ns IN A 10.0.0.53
_etcd-server-ssl._tcp IN SRV 0 0 2380 etcd-host1.example.com.
_etcd-server-ssl._tcp IN SRV 0 0 2380 etcd-host0.example.com.
_etcd-server-ssl._tcp IN SRV 0 0 2381 etcd-host2.example.com.
_etcd-server-ssl._tcp IN SRV 0 0 2380 stray.example.com.
_etcd-server-ssl._tcp IN SRV 0 0 2380 nowhere.example.com.
etcd-host0 IN A 10.0.0.11
etcd-host1 IN A 10.0.0.12
etcd-host1 IN AAAA fd00::12
etcd-host2 IN A 10.0.0.13
stray IN A 10.0.0.99
"""


class ZoneResolver:
    """Answers from a zone as a resolver would: NXDOMAIN for a missing name, NoAnswer for a missing type."""

    def __init__(self, text, fail=None):
        self.zone = dns.zone.from_text(text, relativize=False)
        self.fail = fail
        self.asked = []

    def resolve(self, qname, rdtype):
        self.asked.append((str(qname), rdtype))
        if self.fail:
            raise self.fail
        name = qname if isinstance(qname, dns.name.Name) else dns.name.from_text(qname)
        node = self.zone.get_node(name)
        if node is None:
            raise dns.resolver.NXDOMAIN()
        rdataset = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
        if rdataset is None:
            raise dns.resolver.NoAnswer()
        return rdataset


def test_records_with_their_addresses():
    records = etcd_srv.resolve_srv("_etcd-server-ssl._tcp.example.com.", ZoneResolver(ZONE))
    assert records == [
        {"target": "etcd-host0.example.com", "port": 2380, "priority": 0, "weight": 0, "addresses": ["10.0.0.11"],
         "failures": []},
        {"target": "etcd-host1.example.com", "port": 2380, "priority": 0, "weight": 0,
         "addresses": ["10.0.0.12", "fd00::12"], "failures": []},
        {"target": "etcd-host2.example.com", "port": 2381, "priority": 0, "weight": 0, "addresses": ["10.0.0.13"],
         "failures": []},
        {"target": "nowhere.example.com", "port": 2380, "priority": 0, "weight": 0, "addresses": [], "failures": []},
        {"target": "stray.example.com", "port": 2380, "priority": 0, "weight": 0, "addresses": ["10.0.0.99"],
         "failures": []},
    ]


def test_a_name_without_records_is_empty():
    assert etcd_srv.resolve_srv("_etcd-server._tcp.example.com.", ZoneResolver(ZONE)) == []


def test_a_dns_failure_is_named():
    with pytest.raises(AnsibleLookupError, match=r"cannot resolve _etcd-server-ssl\._tcp\.example\.com: "):
        etcd_srv.resolve_srv("_etcd-server-ssl._tcp.example.com", ZoneResolver(ZONE, fail=dns.exception.Timeout()))


def test_resolved_records_checked_against_the_inventory():
    hostvars = {h: {"NODE_NAME": "etcd-host%d" % i, "etcd_address": "10.0.0.1%d" % (i + 1)}
                for i, h in enumerate(["h0", "h1", "h2"])}
    members = f.members(["h0", "h1", "h2"], hostvars, srv_domain="example.com")
    records = etcd_srv.resolve_srv("_etcd-server-ssl._tcp.example.com.", ZoneResolver(ZONE))
    assert srv_problems(records, members, "_etcd-server-ssl._tcp.example.com") == [
        "record _etcd-server-ssl._tcp.example.com -> etcd-host2.example.com:2381: port 2381 is not member "
        "etcd-host2's peer port 2380",
        "record _etcd-server-ssl._tcp.example.com -> nowhere.example.com:2380: nowhere.example.com does not "
        "resolve to an address",
        "record _etcd-server-ssl._tcp.example.com -> stray.example.com:2380 points at 10.0.0.99, which is no "
        "member of the group: remove the record, or add that host to the group",
    ]


def test_the_zone_lines_of_srv_records_parse_and_pass_the_check():
    hostvars = {h: {"NODE_NAME": "etcd-host%d" % i, "etcd_address": "10.0.0.1%d" % (i + 1)}
                for i, h in enumerate(["h0", "h1", "h2"])}
    members = f.members(["h0", "h1", "h2"], hostvars, srv_domain="example.com")
    zone = ZONE.split("_etcd-server-ssl", 1)[0] + "\n".join(srv.srv_records(members, "example.com")) + "\n"
    records = etcd_srv.resolve_srv("_etcd-server-ssl._tcp.example.com.", ZoneResolver(zone))
    assert srv_problems(records, members, "_etcd-server-ssl._tcp.example.com") == []


def test_a_resolver_with_nameservers_asks_only_them():
    resolver = etcd_srv.make_resolver(["10.0.0.53"], 3)
    assert resolver.nameservers == ["10.0.0.53"] and resolver.lifetime == 3.0


class LoopbackNameserver:
    """A nameserver on 127.0.0.1 that answers from ZONE, except that the address queries of the
    names in ``fail`` get ``fail[name][rdtype]`` (an rcode) instead: as dnsmasq without an upstream
    answers REFUSED to the AAAA query of a name it only has an A record of."""

    def __init__(self, fail):
        import socket
        import threading
        self.zone = dns.zone.from_text(ZONE, relativize=False)
        self.fail = fail
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import dns.message
        import dns.rcode
        import dns.rrset
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            reply = dns.message.make_response(query)
            rdtype = dns.rdatatype.to_text(question.rdtype)
            rcode = self.fail.get(question.name.to_text(omit_final_dot=True), {}).get(rdtype)
            node = self.zone.get_node(question.name)
            if rcode is not None:
                reply.set_rcode(rcode)
            elif node is None:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            else:
                rdataset = node.get_rdataset(dns.rdataclass.IN, question.rdtype)
                if rdataset is not None:
                    reply.answer.append(dns.rrset.from_rdata_list(question.name, 300, list(rdataset)))
            self.sock.sendto(reply.to_wire(), peer)

    def resolver(self):
        resolver = etcd_srv.make_resolver(["127.0.0.1"], 3)
        resolver.port = self.port
        return resolver

    def close(self):
        self.sock.close()


@pytest.fixture
def nameserver():
    servers = []

    def start(fail):
        servers.append(LoopbackNameserver(fail))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("rcode", ["REFUSED", "SERVFAIL"])
def test_a_failed_aaaa_query_keeps_the_a_answer_as_etcd_does(nameserver, rcode):
    import dns.rcode
    failing = dns.rcode.from_text(rcode)
    server = nameserver({name: {"AAAA": failing} for name in
                         ("etcd-host0.example.com", "etcd-host1.example.com", "etcd-host2.example.com")})
    records = {r["target"]: r for r in etcd_srv.resolve_srv("_etcd-server-ssl._tcp.example.com", server.resolver())}
    assert records["etcd-host0.example.com"]["addresses"] == ["10.0.0.11"]
    # etcd-host1 has an AAAA record too, which the nameserver does not give: the A answer stands.
    assert records["etcd-host1.example.com"]["addresses"] == ["10.0.0.12"]
    assert records["etcd-host0.example.com"]["failures"][0].startswith("AAAA: ")
    assert rcode in records["etcd-host0.example.com"]["failures"][0]
    assert records["stray.example.com"] == {"target": "stray.example.com", "port": 2380, "priority": 0, "weight": 0,
                                            "addresses": ["10.0.0.99"], "failures": []}
    hostvars = {h: {"NODE_NAME": "etcd-host%d" % i, "etcd_address": "10.0.0.1%d" % (i + 1)}
                for i, h in enumerate(["h0", "h1"])}
    members = f.members(["h0", "h1"], hostvars, srv_domain="example.com")
    problems = srv_problems([records["etcd-host0.example.com"], records["etcd-host1.example.com"]], members,
                            "_etcd-server-ssl._tcp.example.com")
    assert problems == []


def test_a_target_whose_queries_all_fail_is_refused_naming_why(nameserver):
    import dns.rcode
    server = nameserver({"etcd-host0.example.com": {"A": dns.rcode.SERVFAIL, "AAAA": dns.rcode.REFUSED}})
    records = {r["target"]: r for r in etcd_srv.resolve_srv("_etcd-server-ssl._tcp.example.com", server.resolver())}
    host0 = records["etcd-host0.example.com"]
    assert host0["addresses"] == []
    assert [failure.split(":", 1)[0] for failure in host0["failures"]] == ["A", "AAAA"]
    hostvars = {"h0": {"NODE_NAME": "etcd-host0", "etcd_address": "10.0.0.11"}}
    members = f.members(["h0"], hostvars, srv_domain="example.com")
    problems = srv_problems([host0], members, "_etcd-server-ssl._tcp.example.com")
    assert problems[0].startswith("record _etcd-server-ssl._tcp.example.com -> etcd-host0.example.com:2380: "
                                  "etcd-host0.example.com does not resolve to an address (A: ")
    assert "SERVFAIL" in problems[0] and "REFUSED" in problems[0]


def test_a_refused_srv_query_fails_the_lookup_naming_the_service(nameserver):
    import dns.rcode
    server = nameserver({"_etcd-server-ssl._tcp.example.com": {"SRV": dns.rcode.REFUSED}})
    with pytest.raises(AnsibleLookupError, match=r"cannot resolve _etcd-server-ssl\._tcp\.example\.com: .*REFUSED"):
        etcd_srv.resolve_srv("_etcd-server-ssl._tcp.example.com", server.resolver())
