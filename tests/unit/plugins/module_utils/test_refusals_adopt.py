"""Refusals of the adopt scenario (molecule/adopt) that `make test` no longer runs on hosts (their tests
are marked full), checked here where they are decided, with the message the scenario asserts:

- an etcd_adopt_plan_only that is no boolean ('ture', which Ansible's bool would take as false and carry
  the adoption out): the assert of playbooks/adopt.yml, before any host is read (test_adopt.py's
  test_a_plan_only_that_is_no_boolean_is_refused_and_changes_nothing).

The hand-made cluster's refusals (test_adopt_tls.py: a run lock another run holds, a data dir move
across a mount) are decided by plugins/module_utils/plan/adopt.py and checked in test_etcd_adopt.py.
"""

import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "playbooks", "adopt.yml")
REFUSE = "Refuse an etcd_adopt_plan_only that is not a boolean"


def plays():
    with open(PLAYBOOK) as handle:
        return yaml.safe_load(handle)


def the_read_play():
    return next(play for play in plays() if any(task.get("name") == REFUSE for task in play.get("tasks", [])))


def refusal(value):
    """What the playbook's assert makes of etcd_adopt_plan_only=``value``: (passes, its message)."""
    task = next(task for task in the_read_play()["tasks"] if task.get("name") == REFUSE)
    check = task["ansible.builtin.assert"]
    templar = Templar(loader=DataLoader(), variables={"etcd_adopt_plan_only": value})
    return (templar.evaluate_conditional(trust_as_template(check["that"])),
            templar.template(trust_as_template(check["fail_msg"])))


@pytest.mark.parametrize("value", ["ture", "maybe", "2", "plan"])
def test_a_plan_only_that_is_no_boolean_is_refused_naming_it_and_the_values_it_takes(value):
    passes, message = refusal(value)
    assert passes is False
    assert message == ("etcd_adopt_plan_only=%s: true (show the plan only) or false (yes/no, on/off and 1/0 work too); "
                       "nothing was changed" % value)


@pytest.mark.parametrize("value", [True, False, "true", "False", "yes", "no", "on", "off", "1", "0"])
def test_a_plan_only_ansible_reads_as_a_boolean_passes(value):
    assert refusal(value)[0] is True


def test_the_plan_only_value_is_refused_before_any_host_is_read_or_changed():
    play = the_read_play()
    names = [task.get("name") for task in play["tasks"]]
    # Once for the play, and the play stops every host: no read, no plan, no take-over.
    task = play["tasks"][names.index(REFUSE)]
    assert task.get("run_once") is True and play.get("any_errors_fatal") is True
    assert names.index(REFUSE) < names.index("Read the etcd each host runs") < names.index("Plan the adoption")
    # The plays before it change nothing either: the empty-group check only.
    before = plays()[:plays().index(play)]
    assert [task.get("name") for p in before for task in p.get("tasks", [])] == ["Refuse an empty etcd group"]
