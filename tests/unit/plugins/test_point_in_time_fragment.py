"""doc_fragments/point_in_time.py: the suboptions of point, which etcd_backup_target and etcd_backup_fetch
take alike, written once; each module keeps its own description of the option."""

import importlib

import pytest
import yaml
from ansible.utils.plugin_docs import add_fragments

from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import Fragments


@pytest.mark.parametrize("name, described", [
    ("etcd_backup_target", "V(fetched) - a point in time to restore to"),
    ("etcd_backup_fetch", "A point in time to restore to"),
])
def test_point_has_the_fragment_s_suboptions_and_the_module_s_description(name, described):
    module = importlib.import_module("ansible_collections.raftops.etcd.plugins.modules." + name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert "suboptions" not in doc["options"]["point"]  # the fragment's, or a module's own would hide it
    add_fragments(doc, module.__file__, Fragments(), is_module=True)
    point = doc["options"]["point"]
    assert point["description"][0].startswith(described)
    assert point["type"] == "dict"
    assert {key: option["type"] for key, option in point["suboptions"].items()} == dict(time="str", revision="int")
    spec = module.argument_spec()["point"]
    assert set(point["suboptions"]) == set(spec["options"])
