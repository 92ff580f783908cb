"""Checks of a module's documentation against its code, for the module tests."""

import yaml

from ansible_collections.raftops.etcd.plugins.doc_fragments.connection import ModuleDocFragment


def assert_documented_options_match(module):
    """Every option of ``module.argument_spec()`` is documented (in the module or the connection fragment)
    with its type, default, choices and whether it is required, and nothing else is."""
    doc = yaml.safe_load(module.DOCUMENTATION)
    fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    documented = dict(fragment["options"], **doc["options"])
    spec = module.argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name].get("type", "str") == option.get("type", "str"), name
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name].get("choices") == option.get("choices"), name
        assert bool(documented[name].get("required")) == bool(option.get("required")), name
