"""Refusals of molecule/default that `make test` no longer runs on hosts (their tests are marked full),
checked here where they are decided, with the message the scenario asserts. `make test` keeps one
refused run of the etcd playbook there (a malformed etcd_version, refused by the settings check of
the first task: plugins/module_utils/plan/settings.py, tests/unit/plugins/filter/test_settings_problems.py).

Most are checked by the unit tests of their own decision already (tests/unit/plugins/filter/
test_etcd_filters.py, test_sizing.py, modules/test_etcd_install.py, action/test_etcd_release_action.py,
module_utils/test_etcd_pki_plan.py, test_etcd_operation_plan.py); these add the messages the scenario
asserts that no unit test checked whole:

- an empty etcd group: the assert of playbooks/etcd.yml's first play, on the controller, before any
  host is read (test_default.py, "empty group");
- a release mirror that does not answer (test_default.py, "release URL unreachable"; the same message
  as test_upgrade.py's release missing from the mirror);
- a host short of the xlarge profile, with etcd_preflight_strict (test_default.py);
- the first cluster's three ports asked of a second instance (test_instances.py).
"""

import os
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.action import ActionBase
from ansible.template import Templar, trust_as_template

from ansible_collections.raftops.etcd.plugins.action.etcd_release import ActionModule
from ansible_collections.raftops.etcd.plugins.module_utils.plan.sizing import GIB, hardware_findings
from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import member_plan

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "playbooks", "etcd.yml")
REFUSE_EMPTY = "Refuse an empty etcd group"


def empty_group_refusal(groups, **variables):
    """What the etcd playbook's group check makes of the inventory's ``groups``: (passes, message)."""
    with open(PLAYBOOK) as handle:
        first = yaml.safe_load(handle)[0]
    assert first["hosts"] == "localhost" and first.get("gather_facts") is False
    task = next(task for task in first["tasks"] if task.get("name") == REFUSE_EMPTY)
    check = task["ansible.builtin.assert"]
    templar = Templar(loader=DataLoader(), variables=dict(variables, groups=groups))
    return (templar.evaluate_conditional(trust_as_template(check["that"])),
            templar.template(trust_as_template(check["fail_msg"])))


@pytest.mark.parametrize("groups", [{"etcd": ["etcd-host0"]}, {"etcd": ["etcd-host0"], "etcd_nothing_here": []}])
def test_an_etcd_group_without_hosts_is_refused_naming_the_group_and_etcd_group(groups):
    passes, message = empty_group_refusal(groups, etcd_group="etcd_nothing_here")
    assert passes is False
    assert " ".join(message.split()) == (
        "the etcd group is empty or missing: the inventory has no hosts in group 'etcd_nothing_here' (etcd_group)")


def test_a_group_with_hosts_passes_the_check():
    assert empty_group_refusal({"etcd": ["etcd-host0"]})[0] is True


@pytest.fixture
def release_action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    action = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    action._execute_module = MagicMock(side_effect=AssertionError("the download asks no host"))
    return action


@pytest.mark.parametrize("version", ["3.5.1", "3.5.99"])
def test_a_mirror_without_the_release_is_refused_naming_the_version_and_the_url_before_any_host(
        release_action, tmp_path, version):
    base = "file://%s/" % (tmp_path / "nowhere" / ("v" + version))
    release_action._task.args = dict(url=base, cache_dir=str(tmp_path / "cache"), version=version, architectures=["amd64"])
    result = release_action.run(task_vars={})
    assert result["failed"] and not result.get("changed")
    assert result["msg"].startswith("etcd %s could not be downloaded and verified from %s (no host was changed): "
                                    "cannot fetch it: " % (version, base)), result["msg"]


def test_a_host_short_of_the_xlarge_profile_is_refused_with_strict_naming_its_figures():
    figures = dict(path="/var/lib/etcd", checked_dir="/var/lib", cpus=2, memory_bytes=4 * GIB, swap_total_bytes=0,
                   swap_used_bytes=0, free_bytes=500 * GIB, path_used_bytes=0, fsync_p99_ms=1.0, peers=[])
    found = hardware_findings({"etcd-host0": figures}, "xlarge", None, True)
    assert [f["message"] for f in found if f["what"] in ("cpus", "memory")] == [
        "host etcd-host0: 2 CPUs usable; profile xlarge wants 16 vCPUs",
        "host etcd-host0: memory 4 GiB; profile xlarge wants 60 GiB (a MemTotal of at least 54 GiB)"]
    assert {f["severity"] for f in found} == {"refuse"}
    # Without strict the same findings are warnings: the run goes on.
    assert {f["severity"] for f in hardware_findings({"etcd-host0": figures}, "xlarge", None, False)} == {"warn"}


def test_a_second_instance_on_the_first_ones_three_ports_is_refused_naming_each():
    record = dict(host="etcd-host0", name="etcd-host0", address="10.250.0.10", peer_url="https://10.250.0.10:2380",
                  client_url="https://10.250.0.10:2379")
    info = dict(settings={}, data_dir=None, has_data=False, configured_has_data=False, ports_in_use=[2379, 2380, 2381])
    plan = member_plan([record], {"etcd-host0": dict(info=info, local={}, wanted=dict(
        data_dir="/var/lib/etcd-events", wal_dir="", metrics_port="2381"))})
    assert plan["problems"] == [
        "host etcd-host0: etcd_client_port 2379, etcd_peer_port 2380 and etcd_metrics_port 2381 are already in use "
        "there (another etcd instance or another service listens on them); give this cluster free ports, or stop "
        "what listens"]
