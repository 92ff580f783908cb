"""rotation_pass_hosts: the hosts on which a pass of the etcd role left a CA rotation held or ended.
What each member's certificates name and which hosts trust another CA are the PKI plan's
(tests/unit/plugins/module_utils/test_etcd_pki_plan.py)."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_plan import rotation_pass_hosts


# --- rotation_pass_hosts ---------------------------------------------------------------------------

# Each member's plan (registered run_once by the role's rounds) holds how the passes left the rotation.
PASSES = {"a": {"_etcd_plan": {"rotation_after_pass": {"1": "held", "2": "ended"}}},
          "b": {"_etcd_plan": {"rotation_after_pass": {"1": "held"}}},
          "c": {},
          "d": {"_etcd_plan": {"with_data": ["d"]}}}


@pytest.mark.parametrize("rotation_pass, outcome, hosts", [
    (1, "held", ["a", "b"]),
    (1, None, ["a", "b"]),
    (2, "held", []),
    (2, "ended", ["a"]),
    ("2", None, ["a"]),
    (3, None, []),
])
def test_the_hosts_on_which_a_pass_held_or_ended_the_rotation(rotation_pass, outcome, hosts):
    assert rotation_pass_hosts(["a", "b", "c"], PASSES, rotation_pass, outcome) == hosts


def test_no_rotation_noted_means_no_host():
    assert rotation_pass_hosts(["c", "d"], PASSES, 1) == [] and rotation_pass_hosts([], PASSES, 1, "held") == []


@pytest.mark.parametrize("hosts, outcome, says", [
    ("a", "held", "rotation_pass_hosts: the hosts must be a list of inventory hostnames"),
    (["a"], "done", "rotation_pass_hosts: outcome must be one of held, ended, got 'done'"),
])
def test_bad_arguments_are_refused_naming_them(hosts, outcome, says):
    with pytest.raises(ValueError, match="^" + says.replace("(", r"\(").replace(")", r"\)") + "$"):
        rotation_pass_hosts(hosts, PASSES, 1, outcome)
