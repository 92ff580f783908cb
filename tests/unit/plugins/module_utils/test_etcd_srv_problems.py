"""The check of a DNS SRV bootstrap's resolved records against the members
(plugins/module_utils/host/host_checks.py, srv_problems; the role's preflight asks it through the action
raftops.etcd.etcd_plan, stage srv): each problem with the line that fixes it."""

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import members as f
from ansible_collections.raftops.etcd.plugins.module_utils.host import host_checks as checks

SERVICE = "_etcd-server-ssl._tcp.example.com"
HOSTVARS = {
    "h0": {"NODE_NAME": "etcd-host0", "etcd_address": "10.0.0.11"},
    "h1": {"NODE_NAME": "etcd-host1", "etcd_address": "10.0.0.12"},
    "h2": {"NODE_NAME": "etcd-host2", "etcd_address": "10.0.0.13", "etcd_srv_target": "node2.infra.example.com."},
}
MEMBERS = f.members(["h0", "h1", "h2"], HOSTVARS, srv_domain="example.com")


def record(target, port=2380, *addresses):
    return {"target": target, "port": port, "priority": 0, "weight": 0, "addresses": list(addresses)}


GOOD = [record("etcd-host0.example.com", 2380, "10.0.0.11"), record("etcd-host1.example.com", 2380, "10.0.0.12"),
        record("node2.infra.example.com", 2380, "10.0.0.13")]


def test_records_that_match_the_members_have_no_problem():
    assert checks.srv_problems(GOOD, MEMBERS, SERVICE) == []


def test_a_missing_record_is_named_with_the_line_to_add():
    assert checks.srv_problems(GOOD[:2], MEMBERS, SERVICE) == [
        "member etcd-host2 (host h2, 10.0.0.13) has no record in _etcd-server-ssl._tcp.example.com: add "
        "'_etcd-server-ssl._tcp.example.com. IN SRV 0 0 2380 node2.infra.example.com.'"
    ]


def test_a_new_member_is_told_it_needs_its_record_before_it_joins():
    (problem,) = checks.srv_problems(GOOD[:2], MEMBERS, SERVICE, new_hosts=["h2"])
    assert problem.endswith("(a new member of a DNS SRV cluster needs its record before it joins)")


def test_a_wrong_port_is_named():
    records = [*GOOD[:2], record("node2.infra.example.com", 2381, "10.0.0.13")]
    assert checks.srv_problems(records, MEMBERS, SERVICE) == [
        "record _etcd-server-ssl._tcp.example.com -> node2.infra.example.com:2381: port 2381 is not member "
        "etcd-host2's peer port 2380"
    ]


def test_a_record_outside_the_group_is_named():
    records = [*GOOD, record("etcd-old.example.com", 2380, "10.0.0.99")]
    assert checks.srv_problems(records, MEMBERS, SERVICE) == [
        "record _etcd-server-ssl._tcp.example.com -> etcd-old.example.com:2380 points at 10.0.0.99, which is no "
        "member of the group: remove the record, or add that host to the group"
    ]


def test_two_records_for_one_member_are_named():
    records = [*GOOD, record("etcd-host1.example.com", 2380, "10.0.0.12")]
    assert checks.srv_problems(records, MEMBERS, SERVICE) == [
        "member etcd-host1 (host h1) has 2 records in _etcd-server-ssl._tcp.example.com "
        "(etcd-host1.example.com:2380, etcd-host1.example.com:2380): keep exactly one"
    ]


def test_a_target_under_another_name_is_named():
    records = [*GOOD[:2], record("etcd-host2.example.com", 2380, "10.0.0.13")]
    assert checks.srv_problems(records, MEMBERS, SERVICE) == [
        "record _etcd-server-ssl._tcp.example.com -> etcd-host2.example.com:2380 points at member etcd-host2 "
        "(host h2) under the name etcd-host2.example.com, but its peer URL and certificates use "
        "node2.infra.example.com: set etcd_srv_target for host h2 to etcd-host2.example.com, or fix the record"
    ]


def test_a_target_resolving_elsewhere_or_nowhere_is_named():
    records = [*GOOD[:2], record("node2.infra.example.com", 2380, "10.0.0.14"), record("ghost.example.com", 2380)]
    assert checks.srv_problems(records, MEMBERS, SERVICE) == [
        "record _etcd-server-ssl._tcp.example.com -> node2.infra.example.com:2380: node2.infra.example.com resolves "
        "to 10.0.0.14, not to member etcd-host2's address 10.0.0.13",
        "record _etcd-server-ssl._tcp.example.com -> ghost.example.com:2380: ghost.example.com does not resolve "
        "to an address",
    ]
