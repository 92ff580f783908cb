"""DNS SRV bootstrap: the zone lines from the inventory. The check of resolved records against the
members is the preflight's (tests/unit/plugins/module_utils/test_etcd_srv_problems.py)."""

import pytest


from ansible_collections.raftops.etcd.plugins.module_utils.cluster import members as f
from ansible_collections.raftops.etcd.plugins.module_utils.client import srv_records as srv


def inventory(**hosts):
    return {host: dict(vars) for host, vars in hosts.items()}


HOSTVARS = inventory(
    h0={"NODE_NAME": "etcd-host0", "etcd_address": "10.0.0.11"},
    h1={"NODE_NAME": "etcd-host1", "etcd_address": "10.0.0.12"},
    h2={"NODE_NAME": "etcd-host2", "etcd_address": "10.0.0.13", "etcd_srv_target": "node2.infra.example.com."},
)
MEMBERS = f.members(["h0", "h1", "h2"], HOSTVARS, srv_domain="example.com")


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
    with pytest.raises(ValueError, match=r"host h0: SRV target 'etcd_0.example.com' \(etcd_srv_target, "
                                         r"default NAME.example.com\) is no DNS name"):
        f.members(["h0"], hostvars, srv_domain="example.com")


def test_two_members_may_not_share_a_target():
    hostvars = inventory(h0={"etcd_address": "10.0.0.11", "etcd_srv_target": "e.example.com"},
                         h1={"etcd_address": "10.0.0.12", "etcd_srv_target": "E.example.com"})
    with pytest.raises(ValueError, match=r"hosts h0 and h1 both use the SRV target e\.example\.com"):
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
    with pytest.raises(ValueError, match=r"srv_records: the discovery domain is empty \(etcd_discovery_srv\)"):
        srv.service_name("server", "", True)


def test_bad_input_is_an_error():
    with pytest.raises(ValueError, match="srv_records: the members must be a list of member records"):
        srv.srv_records("x", "example.com")
    with pytest.raises(ValueError, match="has no srv_target"):
        srv.srv_records(f.members(["h0"], HOSTVARS), "example.com")
