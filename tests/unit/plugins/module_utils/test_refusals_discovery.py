"""Refusals of the discovery scenario (molecule/discovery) that `make test` no longer runs on hosts (their
tests are marked full), checked here where they are decided, with the message the scenario asserts:

- a new member's server SRV record missing, on the wrong port, or a record pointing at a host outside the
  group: the etcd playbook's preflight refusal (etcd_host_checks.srv_refusal), each named, "Nothing was
  changed" (test_discovery.py's test_a_bad_record_is_refused_before_any_host_changes), with the
  scenario's zone (etcd.test) and members.

Checked where they are decided already, with the scenario's message:
- a discovery domain without client SRV records, and endpoints given with discovery_srv:
  test_etcd_dns.py::test_modules_refuse_a_domain_without_records_naming_the_record and
  ::test_endpoints_and_discovery_srv_are_exclusive_in_every_module;
- a discovery token that is used already: tests/unit/plugins/modules/test_etcd_discovery_token.py::
  test_v2_refuses_a_used_token;
- a password for a user made with no_password=true: tests/unit/plugins/modules/
  test_etcd_user_password_check.py::test_a_no_password_user_given_a_password_is_refused.
"""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host import host_checks as checks

SERVICE = "_etcd-server-ssl._tcp.etcd.test"
# disc-host0..2, the cluster, and disc-host3, the member that joins (not in the cluster yet).
MEMBERS = [dict(name="disc-%d" % i, host="disc-host%d" % i, address="10.250.0.%d" % (111 + i),
                srv_target="disc-%d.etcd.test" % i, peer_url="https://disc-%d.etcd.test:2380" % i) for i in range(4)]
NEEDED = ["_etcd-server-ssl._tcp.etcd.test. IN SRV 0 0 2380 disc-%d.etcd.test." % i for i in range(4)]


def record(target, port=2380, address=None):
    """A resolved record as the lookup raftops.etcd.etcd_srv returns it."""
    if address is None:
        address = "10.250.0.%d" % (111 + int(target.split(".")[0].rsplit("-", 1)[1]))
    return dict(target=target, port=port, addresses=[address], failures=[])


CLUSTER = [record("disc-%d.etcd.test" % i) for i in range(3)]


@pytest.mark.parametrize("records, named", [
    ([], "member disc-3 (host disc-host3, 10.250.0.114) has no record in _etcd-server-ssl._tcp.etcd.test: add "
         "'_etcd-server-ssl._tcp.etcd.test. IN SRV 0 0 2380 disc-3.etcd.test.' (a new member of a DNS SRV cluster "
         "needs its record before it joins)"),
    ([record("disc-3.etcd.test", port=2381)],
     "record _etcd-server-ssl._tcp.etcd.test -> disc-3.etcd.test:2381: port 2381 is not member disc-3's peer port 2380"),
    ([record("disc-3.etcd.test"), record("stray.etcd.test", address="10.250.0.110")],
     "record _etcd-server-ssl._tcp.etcd.test -> stray.etcd.test:2380 points at 10.250.0.110, which is no member of the "
     "group: remove the record, or add that host to the group"),
], ids=["missing", "wrong-port", "outside-the-group"])
def test_a_bad_record_of_a_joining_member_is_refused_naming_it_and_nothing_is_changed(records, named):
    refusal = checks.srv_refusal(SERVICE, CLUSTER + records, MEMBERS, ["disc-host3"], NEEDED)
    assert named in refusal, refusal
    assert refusal.endswith("The records the inventory needs: %s. Nothing was changed" % " | ".join(NEEDED))


def test_with_its_record_the_joining_member_is_no_refusal():
    assert checks.srv_refusal(SERVICE, [*CLUSTER, record("disc-3.etcd.test")], MEMBERS, ["disc-host3"], NEEDED) == ""
