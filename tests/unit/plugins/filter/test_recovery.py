"""logged_addresses (public, and the members filter's logs): the members' addresses as the most advanced
survivor's log records them, as the recovery's plan (module_utils/plan/recovery_plan.py) reads them."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster.members import logged_addresses, members

GROUP = ["10.0.0.10", "10.0.0.11", "10.0.0.12"]
HOSTVARS = {"10.0.0.10": dict(NODE_NAME="m0"), "10.0.0.11": dict(etcd_member_name="m1"), "10.0.0.12": {}}
MEMBERS = [dict(id=100 + i, name=["m0", "m1", "10.0.0.12"][i], peer_urls=["https://10.0.0.1%d:2380" % i],
                client_urls=["https://10.0.0.1%d:2379" % i], learner=False) for i in range(3)]


def alive(host, commit, node_id):
    return dict(host=host, log_error="", log=dict(node_id=node_id, cluster_id=0xABC, term=3, vote=0, commit=commit,
                                                  last_index=commit, last_term=3, members=MEMBERS, members_error=""))


def test_the_log_filter_reads_the_survivors_records():
    survivors = [alive("10.0.0.10", 9, 100)]
    assert logged_addresses(survivors) == {"m0": "10.0.0.10", "m1": "10.0.0.11", "10.0.0.12": "10.0.0.12"}
    # As facts.yml gives them: a generator (map('extract', ...)), read once.
    assert logged_addresses(iter(survivors)) == logged_addresses(survivors)


@pytest.mark.parametrize("recorded, reads, addresses", [
    # facts.yml in status_report.yml: no address but the members' record in a survivor's read
    (None, {"10.0.0.10": alive("10.0.0.10", 9, 100)}, ["10.0.0.11", "10.0.0.12"]),
    # the recovery's plan gave the record (recorded): the reads' logs are not asked
    ({"m1": "10.0.0.21"}, {"10.0.0.10": alive("10.0.0.10", 9, 100)}, ["10.0.0.21", "10.0.0.12"]),
    # no read with a log: a host named by its address is at it, one without is refused by name
    ({}, {"10.0.0.10": dict(host="10.0.0.10", log=None, log_error="")}, None),
])
def test_members_takes_the_address_of_a_host_without_facts_from_the_reads_with_logs(recorded, reads, addresses):
    hostvars = {host: dict(HOSTVARS[host], etcd_address=host if host == "10.0.0.10" else "") for host in GROUP}
    for host, read in reads.items():
        hostvars[host]["_etcd_host_info"] = read
    # h1: member m1, without etcd_address or facts (a lost host); 10.0.0.12 is named by its address
    hostvars["h1"] = dict(etcd_member_name="m1")
    group = ["10.0.0.10", "h1", "10.0.0.12"]
    if addresses is None:
        with pytest.raises(ValueError, match="host h1: did not answer this run"):
            members(group, hostvars, recorded=recorded, logs="_etcd_host_info", answered=["10.0.0.10"])
        return
    records = members(group, hostvars, recorded=recorded, logs="_etcd_host_info", answered=["10.0.0.10"])
    assert [m["address"] for m in records[1:]] == addresses
