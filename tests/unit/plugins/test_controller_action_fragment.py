"""doc_fragments/controller_action.py: the attributes ansible-doc gives the controller's actions that
extend it, merged with raftops.etcd.common's and the module's own."""

import importlib

import pytest
import yaml
from ansible.utils.plugin_docs import add_fragments

from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import Fragments

ACTION = dict(description="Runs as an action plugin on the controller.", support="full")
CHECK_MODE = "Can run in check mode and report what would change without changing it."


RELEASE = ("Downloads in check mode too (set C(check_mode=false) on the task to say so), since hosts check their copy against "
           "C(SHA256SUMS) in check mode as well.")


@pytest.mark.parametrize("name, check_mode", [
    ("etcd_release", dict(support="none", details=RELEASE)),
])
def test_the_action_attribute_and_the_modules_own_check_mode(name, check_mode):
    module = importlib.import_module("ansible_collections.raftops.etcd.plugins.modules." + name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    add_fragments(doc, module.__file__, Fragments(), is_module=True)
    assert doc["attributes"]["action"] == ACTION
    assert doc["attributes"]["check_mode"] == dict(check_mode, description=CHECK_MODE)
    assert set(doc["attributes"]) == {"action", "check_mode", "diff_mode", "platform"}
