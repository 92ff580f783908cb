import re

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import members as f
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import VERSION_PATTERN, version_tuple


def inventory(**hosts):
    """hostvars for hosts given as name=dict(vars)."""
    return {h: dict(v) for h, v in hosts.items()}


THREE = inventory(
    **{
        "10.0.0.11": {"NODE_NAME": "etcd-host0", "ansible_default_ipv4": {"address": "10.0.0.11"}},
        "10.0.0.12": {"NODE_NAME": "etcd-host1", "ansible_default_ipv4": {"address": "10.0.0.12"}},
        "10.0.0.13": {"NODE_NAME": "etcd-host2", "ansible_default_ipv4": {"address": "10.0.0.13"}},
    }
)


def test_initial_cluster_uses_node_name_and_default_address_in_inventory_order():
    assert f.initial_cluster(list(THREE), THREE) == (
        "etcd-host0=https://10.0.0.11:2380,etcd-host1=https://10.0.0.12:2380,etcd-host2=https://10.0.0.13:2380"
    )


def test_name_falls_back_to_etcd_member_name_then_hostname():
    hv = inventory(
        a={"etcd_member_name": "alpha", "etcd_address": "10.0.0.1"},
        b={"etcd_address": "10.0.0.2"},
    )
    assert [m["name"] for m in f.members(["a", "b"], hv)] == ["alpha", "b"]


def test_etcd_address_wins_over_facts_and_ports_and_tls_are_per_host():
    hv = inventory(
        a={"etcd_address": "192.0.2.1", "ansible_default_ipv4": {"address": "10.9.9.9"},
           "etcd_tls": False, "etcd_peer_port": 12380, "etcd_client_port": "12379"},
    )
    (member,) = f.members(["a"], hv)
    assert member == {
        "host": "a", "name": "a", "address": "192.0.2.1",
        "peer_url": "http://192.0.2.1:12380", "client_url": "http://192.0.2.1:12379",
    }


def test_tls_given_as_string_false_means_http():
    hv = inventory(a={"etcd_address": "10.0.0.1", "etcd_tls": "false"})
    assert f.initial_cluster(["a"], hv) == "a=http://10.0.0.1:2380"


def test_ipv6_addresses_are_bracketed():
    hv = inventory(a={"etcd_address": "fd00::1"})
    assert f.members(["a"], hv)[0]["client_url"] == "https://[fd00::1]:2379"


def test_duplicate_node_name_names_both_hosts():
    hv = inventory(
        h1={"NODE_NAME": "etcd1", "etcd_address": "10.0.0.1"},
        h2={"NODE_NAME": "etcd1", "etcd_address": "10.0.0.2"},
    )
    with pytest.raises(ValueError, match="hosts h1 and h2 both use the member name 'etcd1'"):
        f.initial_cluster(["h1", "h2"], hv)


@pytest.mark.parametrize("name", ["-etcd", "etcd host", "etcd/1", "é", ".x"])
def test_invalid_node_name_names_host_and_value(name):
    hv = inventory(h1={"NODE_NAME": name, "etcd_address": "10.0.0.1"})
    with pytest.raises(ValueError, match=re.escape("host h1: member name %r" % name)):
        f.members(["h1"], hv)


def test_missing_address_names_the_host():
    hv = inventory(h1={"NODE_NAME": "a"}, h2={"NODE_NAME": "b", "etcd_address": "10.0.0.2"})
    with pytest.raises(ValueError, match="host h1: no address: set etcd_address"):
        f.members(["h1", "h2"], hv)


def test_a_host_without_address_or_facts_takes_the_address_the_cluster_recorded_for_its_member():
    """A lost host (README inventory, no etcd_address, no facts): its peer URL in the survivors' membership."""
    hv = inventory(h1={"NODE_NAME": "a"}, h2={"NODE_NAME": "b", "etcd_address": "10.0.0.2"})
    records = f.members(["h1", "h2"], hv, recorded={"a": "10.0.0.1", "b": "10.9.9.9"})
    assert [(m["host"], m["address"], m["peer_url"]) for m in records] == [
        ("h1", "10.0.0.1", "https://10.0.0.1:2380"), ("h2", "10.0.0.2", "https://10.0.0.2:2380")]
    with pytest.raises(ValueError, match="host h1: no address: set etcd_address"):
        f.members(["h1", "h2"], hv, recorded={"other": "10.0.0.1"})


def test_a_host_named_by_its_address_without_facts_or_record_is_at_that_address():
    """The README's inventory style: a dead host (no facts) that is in no record of the cluster, like a spare."""
    hv = inventory(**{"10.0.0.1": {"NODE_NAME": "a"}, "10.0.0.2": {"NODE_NAME": "b", "etcd_address": "10.0.0.9"}})
    records = f.members(["10.0.0.1", "10.0.0.2"], hv)
    assert [(m["host"], m["address"]) for m in records] == [("10.0.0.1", "10.0.0.1"), ("10.0.0.2", "10.0.0.9")]
    # the cluster's record comes first; a host name that is no address still needs one
    assert f.members(["10.0.0.1"], hv, recorded={"a": "10.0.0.7"})[0]["address"] == "10.0.0.7"
    with pytest.raises(ValueError, match="host etcd-a: no address: set etcd_address"):
        f.members(["etcd-a"], inventory(**{"etcd-a": {}}))


def test_a_host_left_out_by_limit_without_address_is_named_with_what_to_do():
    hv = inventory(h1={"NODE_NAME": "a"}, h2={"NODE_NAME": "b", "etcd_address": "10.0.0.2"})
    with pytest.raises(ValueError, match=re.escape(
            "host h1: left out of this run (--limit), and its address is unknown (facts come only from the hosts a "
            "run reaches): set etcd_address for it in the inventory, or run without --limit")):
        f.members(["h1", "h2"], hv, play_hosts=["h2"])
    # in the run, it is a host whose facts are missing
    with pytest.raises(ValueError, match="host h1: no address: set etcd_address"):
        f.members(["h1", "h2"], hv, play_hosts=["h1", "h2"])


def test_a_host_that_dropped_out_of_the_run_without_address_is_named_as_not_answering():
    hv = inventory(h1={"NODE_NAME": "a"}, h2={"NODE_NAME": "b", "etcd_address": "10.0.0.2"})
    with pytest.raises(ValueError, match=re.escape(
            "host h1: did not answer this run (unreachable, or a task failed on it), and its address is unknown "
            "without its facts: run again once it answers, or set etcd_address for it in the inventory")):
        f.members(["h1", "h2"], hv, play_hosts=["h1", "h2"], answered=["h2"])
    # one that dropped out with a known address is a record like the others: the entry point's plan judges it
    assert [m["host"] for m in f.members(["h2"], hv, play_hosts=["h1", "h2"], answered=["h1"])] == ["h2"]


def test_shared_peer_url_names_both_hosts():
    hv = inventory(h1={"etcd_address": "10.0.0.1"}, h2={"etcd_address": "10.0.0.1"})
    with pytest.raises(ValueError, match=re.escape("hosts h1 and h2 both use the peer URL https://10.0.0.1:2380")):
        f.members(["h1", "h2"], hv)


def test_all_problems_are_reported_at_once():
    hv = inventory(h1={"NODE_NAME": "bad name"}, h2={"NODE_NAME": "bad name", "etcd_address": "10.0.0.2"})
    with pytest.raises(ValueError) as err:
        f.members(["h1", "h2"], hv)
    text = str(err.value)
    assert "host h1: member name 'bad name'" in text
    assert "host h1: no address" in text
    assert "hosts h1 and h2 both use the member name" in text


@pytest.mark.parametrize("hosts", [[], None, ""])
def test_empty_group_is_an_error(hosts):
    with pytest.raises(ValueError, match="the etcd group is empty or missing"):
        f.members(hosts, {})


@pytest.mark.parametrize("text, expected", [("3.5.1", [3, 5, 1]), ("v3.4.23", [3, 4, 23]), (" 3.6.0 ", [3, 6, 0])])
def test_version_tuple(text, expected):
    assert version_tuple(text) == expected


@pytest.mark.parametrize("text", ["3.5", "3.5.x", "latest", "3.05.1", "3.5.1-rc.0", "", None])
def test_version_tuple_rejects_malformed(text):
    with pytest.raises(ValueError, match=r"etcd_version .* is not a release version like 3\.5\.17"):
        version_tuple(text)


@pytest.mark.parametrize(
    "running, target",
    [
        (["3.5.1"], "3.5.1"),
        (["3.5.0"], "3.5.1"),
        (["3.4.23"], "3.5.0"),
        (["3.4.23", "3.5.0"], "3.5.0"),
        (["3.5.32", None, ""], "3.6.14"),
        (["3.5.40"], "3.6.0"),
        ([], "3.6.14"),
    ],
)
def test_upgrade_problem_allows_patch_and_single_minor_steps(running, target):
    assert f.upgrade_problem(running, target) == ""


def test_upgrade_problem_refuses_a_skipped_minor_naming_the_step():
    assert f.upgrade_problem(["3.4.23"], "3.6.14") == (
        "upgrading 3.4.23 to 3.6.14 skips a minor version: upgrade one minor version at a time (3.5 first)"
    )


@pytest.mark.parametrize("running", [["3.5.1"], ["3.5.31", "3.5.32"]])
def test_upgrade_problem_refuses_a_minor_step_from_a_patch_the_guide_does_not_allow(running):
    assert f.upgrade_problem(running, "3.6.14") == (
        "upgrading %s to 3.6.14 needs 3.5.32 or later first: etcd's upgrade guide requires it before 3.6 "
        "(a patch upgrade to 3.5.32 is allowed)" % running[0]
    )


def test_upgrade_problem_allows_the_patch_upgrade_that_reaches_the_minimum():
    assert f.upgrade_problem(["3.5.1"], "3.5.32") == ""


def test_upgrade_problem_refuses_a_downgrade_without_consent():
    assert f.upgrade_problem(["3.5.1"], "3.5.0") == (
        "3.5.0 is older than the running 3.5.1: a downgrade needs etcd_allow_downgrade=true"
    )


@pytest.mark.parametrize("running, target", [
    (["3.5.1"], "3.5.0"), (["3.5.9"], "3.4.32"), (["3.6.14"], "3.5.30"), (["3.6.14", "3.5.30"], "3.5.30"),
    (["3.7.3"], "3.6.16"), (["3.7.0"], "3.6.0"),
])
def test_upgrade_problem_allows_one_minor_downgrade_with_consent(running, target):
    assert f.upgrade_problem(running, target, allow_downgrade="true") == ""


@pytest.mark.parametrize("running, target, step", [
    (["3.6.1"], "3.4.33", "3.5"), (["3.7.3"], "3.5.30", "3.6"), (["3.7.3", "3.6.16"], "3.5.30", "3.6"),
])
def test_upgrade_problem_refuses_a_downgrade_by_two_minors_naming_the_step(running, target, step):
    assert f.upgrade_problem(running, target, allow_downgrade=True) == (
        "downgrading %s to %s skips a minor version: etcd downgrades one minor version at a time (%s first)"
        % (running[0], target, step))


def test_upgrade_problem_refuses_3_5_to_an_old_3_4():
    assert f.upgrade_problem(["3.5.9"], "3.4.23", allow_downgrade=True) == (
        "downgrading 3.5.9 to 3.4.23 is not supported: etcd supports 3.5 to 3.4.32 or later only")


@pytest.mark.parametrize("running, floor", [(["3.6.10"], "3.6.11"), (["3.6.0", "3.6.14"], "3.6.11")])
def test_upgrade_problem_refuses_3_7_from_a_3_6_patch_before_the_floor(running, floor):
    assert f.upgrade_problem(running, "3.7.3") == (
        "upgrading %s to 3.7.3 needs %s or later first: etcd's upgrade guide requires it before 3.7 "
        "(a patch upgrade to %s is allowed)" % (running[0], floor, floor))


@pytest.mark.parametrize("running", [["3.6.11"], ["3.6.16", "3.7.0"]])
def test_upgrade_problem_allows_3_7_from_3_6_11_on(running):
    assert f.upgrade_problem(running, "3.7.3") == ""


@pytest.mark.parametrize("name", ["etcd-1\n", "etcd-1\r\n", "etcd\n1"])
def test_member_name_must_match_as_a_whole(name):
    hv = inventory(h1={"NODE_NAME": name, "etcd_address": "10.0.0.1"})
    with pytest.raises(ValueError, match=re.escape("host h1: member name %r (NODE_NAME) is invalid" % name)):
        f.members(["h1"], hv)


@pytest.mark.parametrize(
    "address, why",
    [
        ("10.0.0.1:2379", "give the address without a port (the role adds etcd_peer_port and etcd_client_port)"),
        ("etcd-1.example.com:2380", "give the address without a port"),
        ("[::1]", "give an IPv6 address without brackets (the role adds them in URLs)"),
        ("[fd00::1]:2379", "give an IPv6 address without brackets"),
        ("https://10.0.0.1", "give the address without a scheme (the role adds it)"),
        ("10.0.0.1\n", "it contains whitespace or control characters"),
        ("10.0.0.1 ", "it contains whitespace or control characters"),
        ("etcd 1", "it contains whitespace or control characters"),
        ("10.0.0.256", "use an IPv4 or IPv6 address or a DNS name"),
        ("etcd_1.example.com", "use an IPv4 or IPv6 address or a DNS name"),
        ("-etcd.example.com", "use an IPv4 or IPv6 address or a DNS name"),
        ("etcd..example.com", "use an IPv4 or IPv6 address or a DNS name"),
        ("etcd.example.com.", "use an IPv4 or IPv6 address or a DNS name"),
        ("fe80::1%eth0", "use an IPv4 or IPv6 address or a DNS name"),
        ("10.0.0.1/24", "use an IPv4 or IPv6 address or a DNS name"),
    ],
)
def test_invalid_address_names_host_variable_and_value(address, why):
    hv = inventory(h1={"NODE_NAME": "a", "etcd_address": address})
    with pytest.raises(ValueError) as err:
        f.members(["h1"], hv)
    assert "host h1: etcd_address %r is invalid; %s" % (address, why) in str(err.value)


def test_invalid_address_is_reported_with_the_other_problems():
    hv = inventory(h1={"NODE_NAME": "bad name", "etcd_address": "10.0.0.1:2379"}, h2={"etcd_address": "10.0.0.1"})
    with pytest.raises(ValueError) as err:
        f.members(["h1", "h2"], hv)
    text = str(err.value)
    assert "host h1: member name 'bad name'" in text
    assert "host h1: etcd_address '10.0.0.1:2379' is invalid" in text
    assert "peer URL" not in text


@pytest.mark.parametrize(
    "address, url",
    [
        ("10.0.0.1", "https://10.0.0.1:2380"),
        ("fd00::1", "https://[fd00::1]:2380"),
        ("::ffff:10.0.0.1", "https://[::ffff:10.0.0.1]:2380"),
        ("etcd-1.example.com", "https://etcd-1.example.com:2380"),
        ("ETCD-1", "https://ETCD-1:2380"),
        ("localhost", "https://localhost:2380"),
    ],
)
def test_valid_addresses_make_urls(address, url):
    hv = inventory(h1={"etcd_address": address})
    assert f.members(["h1"], hv)[0]["peer_url"] == url


@pytest.mark.parametrize("text", ["3.5.1\n", "v3.5.1\n"])
def test_version_pattern_matches_whole_strings_only(text):
    assert VERSION_PATTERN.fullmatch(text) is None
