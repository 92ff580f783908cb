"""Checks of a module's documentation against its code, for the module tests."""

import importlib

import yaml

PREFIX = "raftops.etcd."


class Fragments:
    """The collection's fragments, found as ansible-doc's fragment loader finds them (for add_fragments)."""

    def get(self, name):
        fragment = importlib.import_module("ansible_collections.raftops.etcd.plugins.doc_fragments." + name[len(PREFIX):])
        fragment.ModuleDocFragment.ansible_name = name
        return fragment.ModuleDocFragment


def documented_options(module):
    """The options ``module.DOCUMENTATION`` documents, with those of the collection's fragments it extends.

    As ansible-doc merges them, an option the module states as well keeps the fragment's keys the module
    does not state (a module may give only its own description of a fragment's option)."""
    doc = yaml.safe_load(module.DOCUMENTATION)
    documented = {}
    for name in doc.get("extends_documentation_fragment", []):
        assert name.startswith(PREFIX), name
        fragment = importlib.import_module(
            "ansible_collections.raftops.etcd.plugins.doc_fragments." + name[len(PREFIX):]
        ).ModuleDocFragment
        documented.update(yaml.safe_load(fragment.DOCUMENTATION).get("options", {}))
    for name, option in doc.get("options", {}).items():
        documented[name] = dict(documented.get(name, {}), **option)
    return documented


def assert_documented_options_match(module):
    """Every option of ``module.argument_spec()`` is documented (in the module or a fragment it extends)
    with its type, default, choices and whether it is required, and nothing else is."""
    documented = documented_options(module)
    spec = module.argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name].get("type", "str") == option.get("type", "str"), name
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name].get("choices") == option.get("choices"), name
        assert bool(documented[name].get("required")) == bool(option.get("required")), name
