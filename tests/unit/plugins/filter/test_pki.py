"""pki: what each member's certificates name, and which hosts trust another CA than etcd_pki_dir's."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import pki
from ansible_collections.raftops.etcd.plugins.filter.pki import host_pairs, other_ca_hosts, pki_members, rotation_pass_hosts


def member(i, host=None):
    return dict(host=host or "h%d" % i, name="m%d" % i, address="10.0.0.%d" % i)


def test_the_filters_are_registered():
    assert pki.FilterModule().filters() == {"host_pairs": host_pairs, "other_ca_hosts": other_ca_hosts,
                                            "pki_members": pki_members, "rotation_pass_hosts": rotation_pass_hosts}


# --- host_pairs ------------------------------------------------------------------------------------


def test_each_member_gets_its_own_root_pair_and_login_pair():
    assert host_pairs(["m0", "m1"]) == [{"name": "m0-root", "user": "root"}, {"name": "m0-client"},
                                        {"name": "m1-root", "user": "root"}, {"name": "m1-client"}]
    assert host_pairs([]) == []
    with pytest.raises(AnsibleFilterError, match="host_pairs: the names must be a list of member names"):
        host_pairs("m0")


# --- pki_members -----------------------------------------------------------------------------------


def test_managed_certificates_name_the_address_short_name_fqdn_and_inventory_name():
    hostvars = {"h1": dict(ansible_hostname="etcd1", ansible_fqdn="etcd1.example.org")}
    assert pki_members([member(1)], hostvars, {}, True) == [
        dict(name="m1", addresses=["10.0.0.1"], hostnames=["etcd1", "etcd1.example.org", "h1"])]


def test_dns_srv_certificates_name_the_srv_target_and_the_domain_managed_or_not():
    hostvars = {"h1": dict(ansible_hostname="etcd1", ansible_fqdn="etcd1.example.com")}
    srv_member = dict(member(1), srv_target="m1.example.com")
    assert pki_members([srv_member], hostvars, {}, True, "example.com.") == [
        dict(name="m1", addresses=["10.0.0.1"], hostnames=["etcd1", "etcd1.example.com", "h1", "m1.example.com",
                                                           "example.com"])]
    assert pki_members([srv_member], {}, {}, False, "example.com") == [
        dict(name="m1", addresses=["10.0.0.1"], hostnames=["m1.example.com", "example.com"])]


def test_names_that_are_empty_repeat_or_equal_the_address_are_left_out():
    hostvars = {
        "h1": dict(ansible_hostname="h1", ansible_fqdn="h1"),
        "10.0.0.2": dict(ansible_hostname="", ansible_fqdn="10.0.0.2"),
        "h3": {},
    }
    assert pki_members([member(1), member(2, host="10.0.0.2"), member(3)], hostvars) == [
        dict(name="m1", addresses=["10.0.0.1"], hostnames=["h1"]),
        dict(name="m2", addresses=["10.0.0.2"], hostnames=[]),
        dict(name="m3", addresses=["10.0.0.3"], hostnames=["h3"]),
    ]


def test_an_operators_certificates_need_only_the_address_and_host_facts_are_not_read():
    assert pki_members([member(1), member(2)], {}, None, False) == [
        dict(name="m1", addresses=["10.0.0.1"], hostnames=[]),
        dict(name="m2", addresses=["10.0.0.2"], hostnames=[]),
    ]


def test_a_member_moving_to_a_new_address_keeps_its_old_one_meanwhile():
    readdress = {"h2": dict(old_address="10.9.9.2", new_peer_url="https://10.0.0.2:2380")}
    assert pki_members([member(1), member(2)], {"h1": {}, "h2": {}}, readdress, True) == [
        dict(name="m1", addresses=["10.0.0.1"], hostnames=["h1"]),
        dict(name="m2", addresses=["10.0.0.2", "10.9.9.2"], hostnames=["h2"]),
    ]


def test_no_members_no_entries():
    assert pki_members([], {}) == []


# --- other_ca_hosts --------------------------------------------------------------------------------

HOSTVARS = {
    "same": {"ca": {"stat": {"exists": True, "checksum": "aa"}}},
    "other": {"ca": {"stat": {"exists": True, "checksum": "bb"}}},
    "none": {"ca": {"stat": {"exists": False}}},
    "skipped": {"ca": {"skipped": True, "changed": False}},
    "unread": {},
}


def test_only_hosts_with_a_ca_certificate_of_another_checksum_are_listed():
    assert other_ca_hosts(["same", "other", "none", "skipped", "unread"], HOSTVARS, "ca", "aa") == ["other"]


def test_hosts_keep_their_order():
    assert other_ca_hosts(["other", "same"], HOSTVARS, "ca", "cc") == ["other", "same"]


def test_an_empty_checksum_lists_every_host_with_a_ca_certificate():
    assert other_ca_hosts(list(HOSTVARS), HOSTVARS, "ca", "") == ["same", "other"]


def test_other_ca_hosts_wants_a_list_of_hosts():
    with pytest.raises(AnsibleFilterError, match="list of inventory hostnames"):
        other_ca_hosts("same", HOSTVARS, "ca", "aa")


def test_a_list_of_checksums_accepts_any_of_them():
    # During a CA rotation: the old CA, the bundle of both or the new CA.
    assert other_ca_hosts(["same", "other"], HOSTVARS, "ca", ["aa", "bb"]) == []
    assert other_ca_hosts(["same", "other"], HOSTVARS, "ca", ["bb"]) == ["same"]
    assert other_ca_hosts(["same", "none"], HOSTVARS, "ca", []) == ["same"]


def test_with_a_path_the_checksums_of_a_host_read_are_compared():
    ca = "/etc/etcd/pki/ca.pem"
    hostvars = {"same": {"info": {"checksums": {ca: "aa"}}}, "other": {"info": {"checksums": {ca: "bb"}}},
                "none": {"info": {"checksums": {}}}, "unread": {}}
    assert other_ca_hosts(["same", "other", "none", "unread"], hostvars, "info", "aa", ca) == ["other"]
    assert other_ca_hosts(["same", "other"], hostvars, "info", ["aa", "bb"], ca) == []


# --- rotation_pass_hosts ---------------------------------------------------------------------------

# Each member's plan (registered run_once by the role's rounds) holds how the passes left the rotation.
PASSES = {"a": {"_etcd_plan": {"rotation_after_pass": {"1": "held", "2": "ended"}}},
          "b": {"_etcd_plan": {"rotation_after_pass": {"1": "held"}}},
          "c": {},
          "d": {"_etcd_plan": {"with_data": ["d"]}}}


@pytest.mark.parametrize("rotation_pass, outcome, hosts", [
    (1, "held", ["a", "b"]),
    (1, None, ["a", "b"]),
    (2, "held", []),
    (2, "ended", ["a"]),
    ("2", None, ["a"]),
    (3, None, []),
])
def test_the_hosts_on_which_a_pass_held_or_ended_the_rotation(rotation_pass, outcome, hosts):
    assert rotation_pass_hosts(["a", "b", "c"], PASSES, rotation_pass, outcome) == hosts


def test_no_rotation_noted_means_no_host():
    assert rotation_pass_hosts(["c", "d"], PASSES, 1) == [] and rotation_pass_hosts([], PASSES, 1, "held") == []


@pytest.mark.parametrize("hosts, outcome, says", [
    ("a", "held", "rotation_pass_hosts: the hosts must be a list of inventory hostnames"),
    (["a"], "done", "rotation_pass_hosts: outcome must be one of held, ended, got 'done'"),
])
def test_bad_arguments_are_refused_naming_them(hosts, outcome, says):
    with pytest.raises(AnsibleFilterError, match="^" + says.replace("(", r"\(").replace(")", r"\)") + "$"):
        rotation_pass_hosts(hosts, PASSES, 1, outcome)
