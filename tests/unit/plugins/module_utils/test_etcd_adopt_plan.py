"""adopt_plan, the stage adoption of the action raftops.etcd.etcd_plan: the play's settings, with the
files of etcd_pki_dir on the controller, and the inventory lines to keep; the stage reads them all from
the play (the hosts' reads, the inventory, the role's defaults)."""

from unittest.mock import MagicMock

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.action import ActionBase
from ansible.template import Templar

from ansible_collections.raftops.etcd.plugins.action.etcd_plan import ActionModule
from ansible_collections.raftops.etcd.plugins.module_utils.plan.adopt import adopt_plan
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_adopt import MEMBERS, reads, tls_reads


def test_a_ca_key_in_etcd_pki_dir_means_the_collection_s_ca_signs_no_rotation():
    settings = dict(etcd_instance="etcd", etcd_pki_dir="/inv/etcd-pki")
    assert adopt_plan(MEMBERS, tls_reads(), settings, pki_files=["ca.pem"])["rotate_ca"] is True
    assert adopt_plan(MEMBERS, tls_reads(), settings, pki_files=["ca.pem", "ca-key.pem"])["rotate_ca"] is False


def test_reads_that_are_no_dict_are_refused():
    with pytest.raises(ValueError, match="reads must be a dict"):
        adopt_plan(MEMBERS, [], {})


@pytest.fixture
def stage(monkeypatch, tmp_path):
    """The stage adoption as the adopt playbook's task runs it on h0, run_once, in a play of h0-h2 whose
    inventory is in tmp_path; ``stage(**play_vars)`` returns the task's result."""
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    hostvars = {record["host"]: dict(NODE_NAME=record["name"], etcd_address=record["address"], _adopt=read)
                for record, read in zip(MEMBERS, reads().values())}

    def run(check_mode=False, **play_vars):
        task_vars = dict(dict(inventory_hostname="h0", inventory_dir=str(tmp_path), playbook_dir=str(tmp_path),
                              etcd_instance="etcd", ansible_check_mode=check_mode, groups=dict(etcd=list(hostvars)),
                              hostvars=hostvars, ansible_play_hosts=list(hostvars), ansible_play_hosts_all=list(hostvars)),
                         **play_vars)
        action = ActionModule(MagicMock(), MagicMock(), MagicMock(), DataLoader(), Templar(DataLoader(), task_vars),
                              MagicMock())
        action._task.args = dict(stage="adoption")
        return action.run(task_vars=task_vars)
    return run


def test_the_stage_plans_from_the_play_with_the_role_s_defaults_and_etcd_pki_dir_s_files(stage, tmp_path):
    result = stage()
    assert "failed" not in result and result["refusal"] == "" and result["changed"] is False
    # etcd_pki_dir unset: the role's default, next to the inventory; not there yet, it holds nothing.
    assert result["pki_dir"] == str(tmp_path / "etcd-pki") and result["rotate_ca"] is False
    assert result["plan_only"] is False and result["plays"]["take_over"] == ["h0", "h1", "h2"]
    # Against the role's defaults (etcd_version, /var/lib/etcd): the package's release and data dir stay.
    assert result["inventory_lines"][:3] == ["[etcd:vars]", "etcd_version=3.5.16", "etcd_data_dir=/var/lib/etcd/default"]


def test_the_stage_reads_the_inventory_s_settings_and_etcd_pki_dir(stage, tmp_path):
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.pem").write_text("x")
    (tmp_path / "pki" / "ca-key.pem").write_text("x")
    result = stage(etcd_pki_dir=str(tmp_path / "pki"), etcd_group="etcd", etcd_pki_managed="{{ false }}")
    assert result["pki_dir"] == str(tmp_path / "pki") and "etcd_pki_managed=false" in result["inventory_lines"]


@pytest.mark.parametrize("play_vars", [dict(check_mode=True), dict(etcd_adopt_plan_only="yes")])
def test_only_the_plan_is_asked_for_in_check_mode_or_with_etcd_adopt_plan_only(stage, play_vars):
    result = stage(**play_vars)
    assert result["plan_only"] is True and result["plays"]["take_over"] == [] and result["steps"]["h0"]["drop_in"] == ""


def test_an_inventory_the_plan_cannot_use_fails_the_task_naming_it(stage):
    result = stage(groups=dict(etcd=[]))
    assert result["failed"] and result["changed"] is False
    assert result["msg"].startswith("raftops.etcd.etcd_plan: cannot plan the adoption step: the etcd group is empty")
