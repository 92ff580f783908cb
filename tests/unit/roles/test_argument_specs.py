"""The role's public variables are all documented, and documented with their real defaults."""

import os

import pytest
import yaml

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "etcd")


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as f:
        return yaml.safe_load(f)


DEFAULTS = load("defaults", "main.yml")
SPECS = load("meta", "argument_specs.yml")["argument_specs"]
MAIN = SPECS["main"]["options"]


def documented(name):
    """Every entry point's documentation of a variable."""
    return [spec["options"][name] for spec in SPECS.values() if name in spec.get("options", {})]


def test_every_default_is_documented_in_an_entry_point():
    assert sorted(n for n in DEFAULTS if not documented(n)) == []


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_documented_defaults_match_defaults_main(name):
    value = DEFAULTS[name]
    if isinstance(value, str) and "{{" in value:
        # Documented as an operator reads it (~/.cache/..., {{ inventory_dir }}/...): the fixed
        # part after the template must agree.
        tail = value.rsplit("}}", 1)[1]
        assert [str(doc.get("default", "")).endswith(tail) for doc in documented(name)] == [True] * len(documented(name))
        return
    assert [doc.get("default") for doc in documented(name)] == [value] * len(documented(name))


def test_documented_options_exist_or_are_per_host_inventory_variables():
    per_host = {"NODE_NAME", "etcd_member_name", "etcd_address", "etcd_srv_target"}
    for entry, spec in SPECS.items():
        for name in spec.get("options", {}):
            assert name in DEFAULTS or name in per_host or entry != "main", (entry, name)


def test_no_internal_variable_is_public():
    assert [n for n in DEFAULTS if n.startswith("_")] == []
