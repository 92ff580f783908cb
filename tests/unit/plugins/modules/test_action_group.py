"""The action group raftops.etcd.etcd holds exactly the modules that take the connection options.

``module_defaults`` of ``group/raftops.etcd.etcd`` (the role sets ca_cert, client_cert and
client_key that way) reach every module of the group, and a module without those options would
refuse them: etcd_snapshot_info, for one, checks a file and never talks to etcd.
"""

import importlib
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
CONNECTION = "raftops.etcd.connection"


def module_names():
    return sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py"))


def fragments(name):
    module = importlib.import_module("ansible_collections.raftops.etcd.plugins.modules." + name)
    return yaml.safe_load(module.DOCUMENTATION).get("extends_documentation_fragment", [])


def test_the_group_is_the_modules_with_the_connection_options():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        group = yaml.safe_load(handle)["action_groups"]["etcd"]
    assert group == sorted(group)
    assert group == [name for name in module_names() if CONNECTION in fragments(name)]
    assert "etcd_snapshot" in group
    assert "etcd_snapshot_info" not in group and "etcd_snapshot_restore" not in group
