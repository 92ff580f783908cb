"""DNS SRV bootstrap: the zone lines from the inventory, and the check of resolved records against the members."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import etcd as f
from ansible_collections.raftops.etcd.plugins.filter import srv

SERVICE = "_etcd-server-ssl._tcp.example.com"


def inventory(**hosts):
    return {host: dict(vars) for host, vars in hosts.items()}


HOSTVARS = inventory(
    h0={"NODE_NAME": "etcd-host0", "etcd_address": "10.0.0.11"},
    h1={"NODE_NAME": "etcd-host1", "etcd_address": "10.0.0.12"},
    h2={"NODE_NAME": "etcd-host2", "etcd_address": "10.0.0.13", "etcd_srv_target": "node2.infra.example.com."},
)
MEMBERS = f.members(["h0", "h1", "h2"], HOSTVARS, srv_domain="example.com")


def record(target, port=2380, *addresses):
    return {"target": target, "port": port, "priority": 0, "weight": 0, "addresses": list(addresses)}


GOOD = [record("etcd-host0.example.com", 2380, "10.0.0.11"), record("etcd-host1.example.com", 2380, "10.0.0.12"),
        record("node2.infra.example.com", 2380, "10.0.0.13")]


def test_members_use_their_srv_targets_as_peer_urls_and_listen_on_their_address():
    assert MEMBERS[0] == {
        "host": "h0", "name": "etcd-host0", "address": "10.0.0.11",
        "peer_url": "https://etcd-host0.example.com:2380", "client_url": "https://10.0.0.11:2379",
        "srv_target": "etcd-host0.example.com", "listen_peer_url": "https://10.0.0.11:2380",
    }
    assert MEMBERS[2]["srv_target"] == "node2.infra.example.com"
    assert "srv_target" not in f.members(["h0"], HOSTVARS)[0]


def test_a_member_name_that_is_no_dns_label_needs_a_target():
    hostvars = inventory(h0={"NODE_NAME": "etcd_0", "etcd_address": "10.0.0.11"})
    with pytest.raises(AnsibleFilterError, match=r"host h0: SRV target 'etcd_0.example.com' \(etcd_srv_target, "
                                                 r"default NAME.example.com\) is no DNS name"):
        f.members(["h0"], hostvars, srv_domain="example.com")


def test_two_members_may_not_share_a_target():
    hostvars = inventory(h0={"etcd_address": "10.0.0.11", "etcd_srv_target": "e.example.com"},
                         h1={"etcd_address": "10.0.0.12", "etcd_srv_target": "E.example.com"})
    with pytest.raises(AnsibleFilterError, match=r"hosts h0 and h1 both use the SRV target e\.example\.com"):
        f.members(["h0", "h1"], hostvars, srv_domain="example.com")


def test_zone_lines_with_tls():
    assert srv.srv_records(MEMBERS, "example.com") == [
        "_etcd-server-ssl._tcp.example.com. 300 IN SRV 0 0 2380 etcd-host0.example.com.",
        "_etcd-server-ssl._tcp.example.com. 300 IN SRV 0 0 2380 etcd-host1.example.com.",
        "_etcd-server-ssl._tcp.example.com. 300 IN SRV 0 0 2380 node2.infra.example.com.",
        "_etcd-client-ssl._tcp.example.com. 300 IN SRV 0 0 2379 etcd-host0.example.com.",
        "_etcd-client-ssl._tcp.example.com. 300 IN SRV 0 0 2379 etcd-host1.example.com.",
        "_etcd-client-ssl._tcp.example.com. 300 IN SRV 0 0 2379 node2.infra.example.com.",
        "etcd-host0.example.com. 300 IN A 10.0.0.11",
        "etcd-host1.example.com. 300 IN A 10.0.0.12",
        "node2.infra.example.com. 300 IN A 10.0.0.13",
    ]


def test_zone_lines_without_tls_with_a_srv_name_and_ipv6():
    hostvars = inventory(h0={"NODE_NAME": "e0", "etcd_address": "fd00::11", "etcd_tls": False})
    members = f.members(["h0"], hostvars, srv_domain="example.com.")
    assert srv.srv_records(members, "example.com.", srv_name="prod", tls=False, ttl=60) == [
        "_etcd-server-prod._tcp.example.com. 60 IN SRV 0 0 2380 e0.example.com.",
        "_etcd-client-prod._tcp.example.com. 60 IN SRV 0 0 2379 e0.example.com.",
        "e0.example.com. 60 IN AAAA fd00::11",
    ]


def test_service_names_follow_etcd():
    assert srv.service_name("server", "example.com", True, "") == "_etcd-server-ssl._tcp.example.com"
    assert srv.service_name("server", "example.com", True, "a") == "_etcd-server-ssl-a._tcp.example.com"
    assert srv.service_name("client", "example.com", False, "") == "_etcd-client._tcp.example.com"
    with pytest.raises(AnsibleFilterError, match=r"srv_records: the discovery domain is empty \(etcd_discovery_srv\)"):
        srv.service_name("server", "", True)


def test_records_that_match_the_members_have_no_problem():
    assert srv.srv_problems(GOOD, MEMBERS, SERVICE) == []


def test_a_missing_record_is_named_with_the_line_to_add():
    assert srv.srv_problems(GOOD[:2], MEMBERS, SERVICE) == [
        "member etcd-host2 (host h2, 10.0.0.13) has no record in _etcd-server-ssl._tcp.example.com: add "
        "'_etcd-server-ssl._tcp.example.com. IN SRV 0 0 2380 node2.infra.example.com.'"
    ]


def test_a_new_member_is_told_it_needs_its_record_before_it_joins():
    (problem,) = srv.srv_problems(GOOD[:2], MEMBERS, SERVICE, new_hosts=["h2"])
    assert problem.endswith("(a new member of a DNS SRV cluster needs its record before it joins)")


def test_a_wrong_port_is_named():
    records = [*GOOD[:2], record("node2.infra.example.com", 2381, "10.0.0.13")]
    assert srv.srv_problems(records, MEMBERS, SERVICE) == [
        "record _etcd-server-ssl._tcp.example.com -> node2.infra.example.com:2381: port 2381 is not member "
        "etcd-host2's peer port 2380"
    ]


def test_a_record_outside_the_group_is_named():
    records = [*GOOD, record("etcd-old.example.com", 2380, "10.0.0.99")]
    assert srv.srv_problems(records, MEMBERS, SERVICE) == [
        "record _etcd-server-ssl._tcp.example.com -> etcd-old.example.com:2380 points at 10.0.0.99, which is no "
        "member of the group: remove the record, or add that host to the group"
    ]


def test_two_records_for_one_member_are_named():
    records = [*GOOD, record("etcd-host1.example.com", 2380, "10.0.0.12")]
    assert srv.srv_problems(records, MEMBERS, SERVICE) == [
        "member etcd-host1 (host h1) has 2 records in _etcd-server-ssl._tcp.example.com "
        "(etcd-host1.example.com:2380, etcd-host1.example.com:2380): keep exactly one"
    ]


def test_a_target_under_another_name_is_named():
    records = [*GOOD[:2], record("etcd-host2.example.com", 2380, "10.0.0.13")]
    assert srv.srv_problems(records, MEMBERS, SERVICE) == [
        "record _etcd-server-ssl._tcp.example.com -> etcd-host2.example.com:2380 points at member etcd-host2 "
        "(host h2) under the name etcd-host2.example.com, but its peer URL and certificates use "
        "node2.infra.example.com: set etcd_srv_target for host h2 to etcd-host2.example.com, or fix the record"
    ]


def test_a_target_resolving_elsewhere_or_nowhere_is_named():
    records = [*GOOD[:2], record("node2.infra.example.com", 2380, "10.0.0.14"), record("ghost.example.com", 2380)]
    assert srv.srv_problems(records, MEMBERS, SERVICE) == [
        "record _etcd-server-ssl._tcp.example.com -> node2.infra.example.com:2380: node2.infra.example.com resolves "
        "to 10.0.0.14, not to member etcd-host2's address 10.0.0.13",
        "record _etcd-server-ssl._tcp.example.com -> ghost.example.com:2380: ghost.example.com does not resolve "
        "to an address",
    ]


def test_bad_input_is_an_error():
    with pytest.raises(AnsibleFilterError):
        srv.srv_problems("x", MEMBERS)
    with pytest.raises(AnsibleFilterError, match="has no srv_target"):
        srv.srv_records(f.members(["h0"], HOSTVARS), "example.com")


def test_the_filters_are_exposed():
    assert srv.FilterModule().filters() == {"srv_records": srv.srv_records, "srv_problems": srv.srv_problems}
