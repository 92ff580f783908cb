"""The filter adopt_plan: the play's settings, with the files of etcd_pki_dir on the controller."""

import pytest


from ansible_collections.raftops.etcd.plugins.module_utils.plan.adopt import adopt_plan
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_adopt import MEMBERS, tls_reads


def test_a_ca_key_in_etcd_pki_dir_means_the_collection_s_ca_signs_no_rotation(tmp_path):
    (tmp_path / "retired").mkdir()
    (tmp_path / "ca.pem").write_text("x")
    settings = dict(etcd_instance="etcd", etcd_pki_dir=str(tmp_path))
    assert adopt_plan(MEMBERS, tls_reads(), settings)["rotate_ca"] is True
    (tmp_path / "ca-key.pem").write_text("x")
    assert adopt_plan(MEMBERS, tls_reads(), settings)["rotate_ca"] is False


def test_an_etcd_pki_dir_not_there_yet_holds_nothing(tmp_path):
    plan = adopt_plan(MEMBERS, tls_reads(), dict(etcd_instance="etcd", etcd_pki_dir=str(tmp_path / "none")))
    assert plan["refusal"] == "" and plan["rotate_ca"] is True


def test_reads_that_are_no_dict_are_refused():
    with pytest.raises(ValueError, match="reads must be a dict"):
        adopt_plan(MEMBERS, [], {})
