"""Refusals of molecule/upgrade that `make test` no longer runs on hosts (their tests are marked full),
checked here where they are decided, with the message the scenario asserts. `make test` keeps one
refused run of the upgrade playbook there (3.4.23 -> 3.4.22, a downgrade without consent).

Checked by the unit tests of their own decision already: the skipped minor version and the downgrade
without consent (test_etcd_preflight_checks.py::test_etcd_policy_comes_first_and_ends_the_message), the
unhealthy cluster (test_etcd_preflight_checks.py::test_an_unhealthy_cluster_is_not_rolled_naming_its_problems,
test_etcd_plan.py::test_a_change_of_release_is_refused_on_an_unhealthy_cluster), the release missing
from the mirror (test_refusals_default.py, action/test_etcd_release_action.py) and the roll stopped at
a member that does not come back (test_etcd_roll.py, action/test_etcd_plan_ops_stages.py). This adds
the minor upgrade from 3.5.16, an older patch than etcd's upgrade guide requires before 3.6, as the
scenario's run meets it (test_upgrade.py's
test_a_minor_upgrade_from_an_older_patch_than_etcd_requires_is_refused), and the versions of its
refused runs on the 3.4.23 cluster, whatever its health.
"""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import version_change_problem


def test_a_minor_upgrade_from_an_older_patch_than_the_guide_requires_is_refused_naming_the_patch_to_reach():
    assert version_change_problem(["3.5.16"] * 3, "3.6.0", False, {"healthy": True}) == (
        "upgrading 3.5.16 to 3.6.0 needs 3.5.32 or later first: etcd's upgrade guide requires it before 3.6 "
        "(a patch upgrade to 3.5.32 is allowed); nothing was changed")


@pytest.mark.parametrize("target, message", [
    ("3.6.0", "upgrading 3.4.23 to 3.6.0 skips a minor version: upgrade one minor version at a time (3.5 first); "
              "nothing was changed"),
    ("3.4.22", "3.4.22 is older than the running 3.4.23: a downgrade needs etcd_allow_downgrade=true; nothing was "
               "changed"),
])
@pytest.mark.parametrize("health", [{"healthy": True}, {"healthy": False, "problems": ["upg-host2: down"]}])
def test_the_refused_versions_of_the_3_4_23_cluster_are_refused_by_etcd_policy_first(target, message, health):
    assert version_change_problem(["3.4.23"] * 3, target, False, health) == message
