"""Refusals and warnings of molecule/membership that `make test` no longer runs on hosts (their tests are
marked full), checked here where they are decided, with the message the scenario asserts. `make test`
keeps one refused run of remove_member.yml (an unknown name) and one of replace_member.yml (a name
without a host) there.

Checked by the unit tests of their own decision already: another cluster's data on a new host
(test_etcd_plan.py::test_foreign_data_is_refused_until_confirmed), the slow disk and delayed link
(filter/test_sizing.py, test_etcd_operation_plan.py), a PKI directory without the CA
(test_etcd_plan.py::test_a_pki_dir_without_the_ca_or_with_another_is_refused_when_revoking) and a
removal that would break quorum (test_etcd_plan.py, filter/test_removal.py). These add the messages the
scenario asserts whole:

- a second learner while one is pending, as the etcd_member module refuses it (test_membership.py's
  test_a_second_learner_is_refused_while_one_is_pending, which calls the module);
- the warning of a learner joining a 1-member cluster (test_membership.py's
  test_growing_a_1_member_cluster_warns_and_a_cut_off_host_is_undone).
"""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import membership as em
from ansible_collections.raftops.etcd.plugins.modules import etcd_member
from ansible_collections.raftops.etcd.tests.unit.plugins.modules.test_etcd_member import fake_cluster

ENDPOINTS = ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]


@pytest.fixture
def cluster(monkeypatch):
    # The scenario's member names, in the messages it asserts.
    return fake_cluster(monkeypatch, ["member-0", "member-1", "member-2"], "member-0")


def run(capsys, args):
    with patch_module_args(dict(args, endpoints=ENDPOINTS)), pytest.raises(SystemExit):
        etcd_member.main()
    return json.loads(capsys.readouterr().out)


def test_a_second_learner_is_refused_while_one_is_pending_naming_it_and_adding_nothing(cluster, capsys):
    # A learner that never starts (the scenario adds one at a peer URL where nothing listens).
    pending = run(capsys, {"state": "present", "name": "pending", "peer_urls": ["http://10.0.0.9:2390"]})
    assert pending["changed"] is True
    calls = list(cluster.calls)
    result = run(capsys, {"state": "present", "name": "member-3", "peer_urls": ["http://10.0.0.4:2380"]})
    assert result["failed"] is True
    assert result["msg"].startswith(
        "refusing to add member-3 (http://10.0.0.4:2380): learner unstarted member http://10.0.0.9:2390 (f00) has not "
        "been promoted yet; promote or remove it first (etcd allows one learner at a time)"), result["msg"]
    assert [call for call in cluster.calls if call not in calls and call[1] == "member_add"] == []
    assert len(cluster.members) == 4


def test_a_learner_joining_a_1_member_cluster_is_warned_of_what_its_promotion_makes():
    only = dict(id=0xA4, id_hex="a4", name="member-4", peer_urls=["https://10.250.0.34:2380"],
                client_urls=["https://10.250.0.34:2379"], is_learner=False, started=True)
    verdict = em.can_add([only], {only["id"]: True}, learner=True, name="member-3")
    assert verdict
    assert verdict.warnings == [
        "promoting learner member-3 later makes a 1-member cluster a 2-member cluster: this gains no fault tolerance "
        "and quorum becomes 2, so losing either member stops the cluster. Add a third member next."]
