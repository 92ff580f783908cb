"""The collection's filters are its public surface: each one a FilterModule of plugins/filter/ returns
is documented (plugins/filter/NAME.yml, what ``ansible-doc -t filter`` shows) and none is deprecated.

The collection was never released, so a filter the roles no longer need is removed, not deprecated
(meta/runtime.yml routes no filter). The logic the roles' plans use stays in plugins/module_utils/,
tested there. Every filter is public (roles/etcd/README.md, "Public filters"), and they are few: what
the roles need otherwise is computed where the data is read (a host's settings, a lookup, a plan).
"""

import glob
import importlib
import os
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
FILTERS = os.path.join(ROOT, "plugins", "filter")


# What an operator types: at most this many filters.
MAX_FILTERS = 12


def filters():
    """{name: the file that returns it} of every filter of plugins/filter/*.py."""
    found = {}
    for path in sorted(glob.glob(os.path.join(FILTERS, "*.py"))):
        module = importlib.import_module("ansible_collections.raftops.etcd.plugins.filter." + os.path.basename(path)[:-3])
        for name in module.FilterModule().filters():
            assert name not in found, "filter %s is returned by both %s and %s" % (name, found[name], path)
            found[name] = os.path.relpath(path, ROOT)
    return found


def docs():
    """{name: the DOCUMENTATION of plugins/filter/NAME.yml}."""
    found = {}
    for path in sorted(glob.glob(os.path.join(FILTERS, "*.yml"))):
        with open(path) as f:
            found[os.path.basename(path)[:-4]] = yaml.safe_load(f)["DOCUMENTATION"]
    return found


def public_filters():
    """The filters roles/etcd/README.md lists under "Public filters"."""
    with open(os.path.join(ROOT, "roles", "etcd", "README.md")) as f:
        section = re.search(r"^## Public filters\n(.*?)(?=^## )", f.read(), re.M | re.S).group(1)
    return set(re.findall(r"`raftops\.etcd\.(\w+)`", section))


def test_the_filters_are_few_and_each_one_public():
    shipped = filters()
    assert len(shipped) <= MAX_FILTERS, "%d filters: %s" % (len(shipped), ", ".join(sorted(shipped)))
    assert sorted(set(shipped) - public_filters()) == [], "filters the README does not list as public"


def test_every_filter_is_documented():
    undocumented = sorted(name for name in filters() if name not in docs())
    assert undocumented == []


def test_every_doc_names_its_filter_and_is_not_deprecated():
    shipped = filters()
    for name, doc in docs().items():
        assert doc["name"] == name, "plugins/filter/%s.yml documents %s" % (name, doc["name"])
        assert name in shipped, "plugins/filter/%s.yml documents no filter the collection ships" % name
        assert "deprecated" not in doc, "plugins/filter/%s.yml: filter %s is deprecated; remove it instead" % (name, name)


def test_meta_runtime_routes_no_filter():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as f:
        routing = (yaml.safe_load(f).get("plugin_routing") or {}).get("filter") or {}
    assert routing == {}, "meta/runtime.yml routes or deprecates filters: %s" % ", ".join(sorted(routing))


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(FILTERS, "*.py"))), ids=os.path.basename)
def test_a_filter_file_is_a_face_of_module_utils(path):
    """A filter is the function of the same name in module_utils: what a face hands over and what it
    gives back, unchanged, and bad input (ValueError there) is a filter's error with its message."""
    from ansible_collections.raftops.etcd.plugins.plugin_utils import filters as faces

    with open(path) as f:
        text = f.read()
    assert "class FilterModule" in text and len(text.splitlines()) <= 20, "%s holds logic: move it to module_utils" % path
    module = importlib.import_module("ansible_collections.raftops.etcd.plugins.filter." + os.path.basename(path)[:-3])
    calls = []

    def function(*args, **kwargs):
        calls.append((args, kwargs))
        if kwargs.get("bad"):
            raise ValueError("the message")
        return args

    for name, face in module.FilterModule().filters().items():
        target = importlib.import_module(faces.MODULE_UTILS + face.module)
        original = getattr(target, name)
        setattr(target, name, function)
        try:
            assert face(1, "two") == (1, "two")
            with pytest.raises(AnsibleFilterError, match=r"^the message$"):
                face(bad=True)
        finally:
            setattr(target, name, original)
        assert calls[-2:] == [((1, "two"), {}), ((), {"bad": True})]
