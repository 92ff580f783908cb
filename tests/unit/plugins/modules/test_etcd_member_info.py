import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.modules import etcd_member, etcd_member_info
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd import REFUSED, FakeCluster

ENDPOINTS = ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]


@pytest.fixture
def cluster(monkeypatch):
    fake = FakeCluster(["etcd-a", "etcd-b", "etcd-c"], leader="etcd-a")
    monkeypatch.setattr(ec, "EtcdClient", lambda url, **options: fake.client(url))
    return fake


def run(capsys, args, check_mode=False, module=etcd_member_info):
    args = dict(args)
    args.setdefault("endpoints", ENDPOINTS)
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        module.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exc.value.code
    return result


def test_lists_members_leader_and_quorum_without_probing(cluster, capsys):
    result = run(capsys, {})
    assert result["changed"] is False
    assert result["msg"] == "3 members seen through http://10.0.0.1:2379"
    assert result["leader"]["name"] == "etcd-a"
    assert result["quorum"] == {"voters": 3, "quorum": 2, "failures_tolerated": 1}
    assert result["members"][1] == {
        "id": "a1", "name": "etcd-b", "peer_urls": ["http://10.0.0.2:2380"],
        "client_urls": ["http://10.0.0.2:2379"], "is_learner": False, "started": True,
    }
    assert cluster.calls == []


def test_probe_skips_a_dead_endpoint_and_reports_each_members_health(cluster, capsys):
    cluster.down.add(cluster.by_name("etcd-a")["id"])
    cluster.leader = cluster.by_name("etcd-b")["id"]
    result = run(capsys, {"probe": True})
    assert result["changed"] is False
    assert result["msg"] == "3 members seen through http://10.0.0.2:2379"
    assert result["leader"]["name"] == "etcd-b"
    by_name = {m["name"]: m for m in result["members"]}
    assert by_name["etcd-a"]["reachable"] is False
    assert by_name["etcd-a"]["healthy"] is False
    assert by_name["etcd-a"]["probe_error"] == "http://10.0.0.1:2379: " + REFUSED
    assert by_name["etcd-b"] == {
        "id": "a1", "name": "etcd-b", "peer_urls": ["http://10.0.0.2:2380"],
        "client_urls": ["http://10.0.0.2:2379"], "is_learner": False, "started": True,
        "reachable": True, "healthy": True, "probe_error": "",
    }


def test_unstarted_learner_is_listed_and_does_not_vote(cluster, capsys):
    cluster.members.append(dict(FakeCluster._member("", 0xF00, "http://10.0.0.4", learner=True, started=False)))
    result = run(capsys, {"probe": True}, check_mode=True)
    new = result["members"][3]
    assert (new["name"], new["started"], new["is_learner"], new["client_urls"]) == ("", False, True, [])
    assert new["probe_error"] == "not started (no client URLs)"
    assert result["quorum"] == {"voters": 3, "quorum": 2, "failures_tolerated": 1}


def test_no_leader_is_null(cluster, capsys):
    cluster.leader = 0
    assert run(capsys, {"probe": True})["leader"] is None
    assert run(capsys, {})["leader"] is None


def test_fails_naming_every_endpoint_when_none_answers(cluster, capsys):
    cluster.down.update(m["id"] for m in cluster.members)
    result = run(capsys, {"endpoints": ENDPOINTS[:2]})
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot list the members through any of http://10.0.0.1:2379, http://10.0.0.2:2379: no endpoint answered: "
        "http://10.0.0.1:2379: %s; http://10.0.0.2:2379: %s. Check that etcd runs there and that the TLS options "
        "(ca_cert, client_cert, client_key) are right" % (REFUSED, REFUSED)
    )


def test_bad_tls_file_fails_naming_option_and_file(capsys, tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    result = run(capsys, {"endpoints": ["https://127.0.0.1:1"], "ca_cert": str(bad)})
    assert result["failed"] is True
    assert result["msg"].startswith(
        "cannot set up the etcd client for https://127.0.0.1:1: ca_cert %s holds no usable PEM CA certificate" % bad)


@pytest.mark.parametrize("args, message", [
    ({"probe_timeout": 0}, "probe_timeout must be positive"),
    ({"state": "list"}, "Unsupported parameters"),
    ({"endpoints": []}, "endpoints must name at least one etcd client URL"),
])
def test_argument_errors(cluster, capsys, args, message):
    result = run(capsys, args)
    assert result["failed"] is True
    assert message in result["msg"]


def test_same_shape_as_etcd_member_returns(cluster, capsys):
    info = run(capsys, {})
    acted = run(capsys, {"state": "leader", "name": "etcd-a"}, module=etcd_member)
    assert acted["changed"] is False
    for key in ("members", "leader", "quorum"):
        assert info[key] == acted[key]


def test_documentation_options_match_the_argument_spec():
    doc = yaml.safe_load(etcd_member_info.DOCUMENTATION)
    spec = etcd_member_info.argument_spec()
    own = {k for k in spec if k not in ec.connection_argument_spec()}
    assert set(doc["options"]) == own
    for name in own:
        assert doc["options"][name]["type"] == spec[name]["type"]
        assert doc["options"][name].get("default") == spec[name].get("default")
    assert {m["module"] for m in doc["seealso"] if "module" in m} >= {"raftops.etcd.etcd_member"}
    member_doc = yaml.safe_load(etcd_member.DOCUMENTATION)
    assert "list" not in member_doc["options"]["state"]["choices"]
    assert "probe" not in member_doc["options"]
    assert {m["module"] for m in member_doc["seealso"] if "module" in m} >= {"raftops.etcd.etcd_member_info"}
