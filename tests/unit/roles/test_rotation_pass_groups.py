"""The etcd playbook's plays after a pass of a CA rotation with proxies (playbooks/etcd.yml): the role
groups the members by how the pass left the rotation (tasks/rotate_ca.yml, the plan's
rotation_after_pass), and the next pass runs on those it held, the proxies' play after any that held
or ended it. Rendered here as Ansible renders them."""

import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GROUP_BY = "Group the members by how this pass left the CA rotation"


def load(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return yaml.safe_load(f)


def grouping(rotation_pass, after_pass):
    """(whether the role groups the host, its group, the group's parent) at the end of pass ``rotation_pass``."""
    task = next(t for t in load("roles", "etcd", "tasks", "rotate_ca.yml") if t["name"] == GROUP_BY)
    templar = Templar(loader=DataLoader(), variables=dict(_etcd_rotation_pass=rotation_pass,
                                                          _etcd_plan=dict(rotation_after_pass=after_pass)))
    if not templar.evaluate_conditional(trust_as_template(task["when"])):
        return False, None, None
    args = task["ansible.builtin.group_by"]
    return True, templar.template(trust_as_template(args["key"])), templar.template(trust_as_template(args["parents"]))


@pytest.mark.parametrize("rotation_pass, after_pass, expected", [
    (1, {"1": "held"}, (True, "raftops_etcd_rotation_pass_1_held", "raftops_etcd_rotation_pass_1")),
    (2, {"2": "ended"}, (True, "raftops_etcd_rotation_pass_2_ended", "raftops_etcd_rotation_pass_2")),
    # Paused for the applications (etcd_pki_rotate_ca_pause): a group of its own, under the pass's.
    (2, {"2": "paused"}, (True, "raftops_etcd_rotation_pass_2_paused", "raftops_etcd_rotation_pass_2")),
    # The pass neither held nor ended it (no proxies follow, or it goes on): no group.
    (1, {}, (False, None, None)),
    (3, {"2": "held"}, (False, None, None)),
])
def test_the_role_groups_the_members_by_how_the_pass_left_the_rotation(rotation_pass, after_pass, expected):
    assert grouping(rotation_pass, after_pass) == expected


def play_hosts(name, groups):
    play = next(p for p in load("playbooks", "etcd.yml") if p["name"] == name)
    return Templar(loader=DataLoader(), variables=dict(groups=groups)).template(trust_as_template(play["hosts"]))


GROUPS = {"all": ["a", "b", "p"], "etcd": ["a", "b"], "etcd_proxy": ["p"]}


@pytest.mark.parametrize("made, pass_2, proxies_after_2, pass_3, proxies_after_3", [
    # No rotation, or one no pass held or ended: none of the later plays has a host.
    ({}, [], [], [], []),
    # Pass 1 held it: pass 2 runs on the members it held, and the proxies follow whatever pass 2 did.
    ({"raftops_etcd_rotation_pass_1_held": ["a", "b"], "raftops_etcd_rotation_pass_1": ["a", "b"]}, ["a", "b"], [], [], []),
    ({"raftops_etcd_rotation_pass_1_held": ["a", "b"], "raftops_etcd_rotation_pass_2_held": ["a", "b"], "raftops_etcd_rotation_pass_2": ["a", "b"]},
     ["a", "b"], ["p"], ["a", "b"], []),
    ({"raftops_etcd_rotation_pass_2_held": ["a"], "raftops_etcd_rotation_pass_2": ["a"], "raftops_etcd_rotation_pass_3_ended": ["a"],
      "raftops_etcd_rotation_pass_3": ["a"]}, [], ["p"], ["a"], ["p"]),
    # Pass 1 paused it: no later pass (the proxy playbook after pass 1 brings the proxies along).
    ({"raftops_etcd_rotation_pass_1_paused": ["a", "b"], "raftops_etcd_rotation_pass_1": ["a", "b"]}, [], [], [], []),
    # Pass 2 paused it after pass 1 held it: the proxies follow pass 2, and no pass 3.
    ({"raftops_etcd_rotation_pass_1_held": ["a", "b"], "raftops_etcd_rotation_pass_1": ["a", "b"], "raftops_etcd_rotation_pass_2_paused": ["a", "b"],
      "raftops_etcd_rotation_pass_2": ["a", "b"]}, ["a", "b"], ["p"], [], []),
])
def test_the_later_plays_run_on_the_groups_of_the_passes(made, pass_2, proxies_after_2, pass_3, proxies_after_3):
    groups = dict(GROUPS, **made)
    assert play_hosts("Carry the CA rotation on after the proxies followed (pass 2)", groups) == pass_2
    assert play_hosts("Bring the proxies along the CA rotation (after pass 2)", groups) == proxies_after_2
    assert play_hosts("Carry the CA rotation on after the proxies followed (pass 3)", groups) == pass_3
    assert play_hosts("Bring the proxies along the CA rotation (after pass 3)", groups) == proxies_after_3
