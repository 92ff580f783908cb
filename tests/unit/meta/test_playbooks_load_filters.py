"""Every play of the collection's playbooks that runs one of its roles templates its hosts through
one of the collection's filters (with_filters_loaded, or one that picks hosts): Ansible's main
process then loads the filters once, and the process of each task inherits them instead of
compiling them from source again."""

import glob
import os

import yaml

from ansible_collections.raftops.etcd.plugins.filter.etcd import with_filters_loaded

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def runs_a_role(play):
    if play.get("roles"):
        return True
    return any("ansible.builtin.include_role" in task or "ansible.builtin.import_role" in task
               for task in play.get("tasks", []) + play.get("pre_tasks", []) + play.get("post_tasks", []))


def test_with_filters_loaded_returns_its_input():
    assert with_filters_loaded("etcd") == "etcd"
    assert with_filters_loaded(["etcd-host0"]) == ["etcd-host0"]


def plays_of(path):
    with open(path) as playbook:
        return yaml.safe_load(playbook)


def test_every_play_that_runs_a_role_loads_the_filters_in_its_hosts():
    plays = [(path, play) for path in sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))
             for play in plays_of(path) if "hosts" in play and runs_a_role(play)]
    assert len(plays) >= 12
    assert [(os.path.basename(path), play["name"]) for path, play in plays if "raftops.etcd." not in play["hosts"]] == []
