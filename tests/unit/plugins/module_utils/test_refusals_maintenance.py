"""Refusals of molecule/maintenance that `make test` no longer runs on hosts (their tests are marked full),
checked here where they are decided, with the message the scenario asserts. `make test` keeps one
refused run of the maintenance playbook there (etcd_maintenance_compact_keep=-1, refused by the settings
check of the first task; checked below too).

Checked by the unit tests of their own decision already: 'free >> 5' (filter/test_settings_problems.py,
test_etcd_defrag_rule.py::test_the_message_of_the_issue), a schedule systemd does not read
(test_etcd_preflight_checks.py), a member down and a learner catching up (modules/test_etcd_maintenance.py),
a member's host that does not answer (test_etcd_operation_plan.py, filter/test_etcd_filters.py) and
the hash check naming an altered member (modules/test_etcd_maintenance.py). These add the values the
scenario passes on the command line (-e gives them as text) with the message it asserts, and that the
etcd playbook's plays stop at the first host that fails (the CA rotation asked with a host that does
not answer changes nothing).
"""

import os

import pytest
import yaml

from ansible_collections.raftops.etcd.plugins.module_utils.plan import settings

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "playbooks", "etcd.yml")


@pytest.mark.parametrize("variable, value, message", [
    ("etcd_defrag_rule", "free > 5 parsecs",
     "etcd_defrag_rule='free > 5 parsecs': unexpected 'parsecs' at character 10, expected 'and', 'or' or the end of "
     "the rule; see docs/maintenance.md"),
    ("etcd_defrag_rule", "free >> 5",
     "etcd_defrag_rule='free >> 5': unexpected '>' at character 7, expected a number after free >"),
    ("etcd_maintenance_compact_keep", "-1", "etcd_maintenance_compact_keep='-1': a whole number of revisions, 0 or more"),
    ("etcd_maintenance_defrag_timeout", "0", "etcd_maintenance_defrag_timeout='0': a whole number of seconds, at least 1"),
])
def test_a_maintenance_value_given_with_e_is_refused_naming_host_variable_and_value(variable, value, message):
    found = settings.settings_problems({variable: value}, "mnt-host0")
    assert len(found) == 1 and found[0].startswith("host mnt-host0: " + message), found


def test_every_play_of_the_etcd_playbook_on_the_members_stops_at_the_first_host_that_fails():
    with open(PLAYBOOK) as handle:
        plays = yaml.safe_load(handle)
    on_members = [play for play in plays if "hosts" in play and play["hosts"] != "localhost"]
    assert on_members and all(play.get("any_errors_fatal") is True for play in on_members), [
        play.get("name") for play in on_members if play.get("any_errors_fatal") is not True]
