"""The shape of the whole collection's YAML and templates (issue 59), beyond the etcd role's task files
that tests/unit/roles/test_role_shape.py began with: every role's tasks, handlers and vars, every
playbook and every template. Decisions are made in Python (the plans, module_utils), so:

- no Jinja expression over the limit anywhere (more than two filters, or more than one condition;
  test_role_shape.py says how an expression is read);
- few internal names (a name starting with ``_`` that a task registers, a set_fact or a vars: sets,
  a loop_var, or a vars file holds), counted both as distinct names and as the places that define
  them (a register site is a place), collection-wide;
- at most 12 public filters (those an operator types), each documented (test_filter_surface.py).

The globs must find what they read: an empty glob would pass every limit.
"""

import glob
import os
import re

from ansible_collections.raftops.etcd.tests.unit.roles.test_role_shape import (
    MAX_CONDITIONS, MAX_FILTERS, _definitions_in, _expressions, _size, _strings, filters_defined, load,
    template_expressions,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The targets: 0 expressions over the limit (met), at most 12 public filters (met), at most 30 internal
# names collection-wide (met). The names' ceilings are the figures of the day they were written (95 names in
# 138 places before the proxy role and adopt.yml moved their decisions into their plans) and only go
# down: lower them to the new figure when a change brings it down, never raise them.
MAX_PUBLIC_FILTERS = 12
# The etcd role's own lookups, not for playbooks, still to fold into the plan action (issue 59): a name
# here only goes, with its lookup.
INTERNAL_LOOKUPS = {"etcd_connection", "etcd_host_settings"}
CEILING_OVER_LIMIT = 0
CEILING_INTERNAL_NAMES = 30
CEILING_INTERNAL_PLACES = 75


def _glob(*patterns):
    paths = sorted({path for pattern in patterns for path in glob.glob(os.path.join(ROOT, pattern), recursive=True)})
    assert paths, "no file matches %s" % (patterns,)
    return paths


def yaml_files():
    """What Ansible reads as tasks, handlers, vars and plays (not files/: other tools' templates)."""
    return _glob("roles/*/tasks/**/*.yml", "roles/*/handlers/*.yml", "roles/*/vars/*.yml", "playbooks/**/*.yml",
                 "etcd.yml")


def template_files():
    return _glob("roles/*/templates/**/*.j2")


def expressions_over_limit():
    over = []
    for path in yaml_files():
        for key, text in _strings(load(path)):
            over += [(os.path.relpath(path, ROOT), " ".join(text.split())[:100]) for expression in _expressions(key, text)
                     if _over(expression)]
    for path in template_files():
        with open(path) as f:
            over += [(os.path.relpath(path, ROOT), "template expression") for expression in template_expressions(f.read())
                     if _over(expression)]
    return over


def _over(expression):
    filters, conditions = _size(expression)
    return filters > MAX_FILTERS or conditions > MAX_CONDITIONS


def internal_definitions():
    """[(file, name)] of every place that defines an internal name (``_``-prefixed)."""
    places = []
    for path in yaml_files():
        data = load(path)
        found = []
        if "/vars/" in path and isinstance(data, dict):
            found += list(data)
        else:
            _definitions_in(data, found)
        places += [(os.path.relpath(path, ROOT), name) for name in found if name.startswith("_")]
    return places


def test_the_globs_find_the_collection():
    # The systemd units have no template (plugins/module_utils/host/systemd_unit.py writes them).
    assert len(yaml_files()) >= 60 and len(template_files()) >= 4


def test_no_expression_over_the_limit_anywhere():
    over = expressions_over_limit()
    assert len(over) <= CEILING_OVER_LIMIT, "\n".join(map(str, over))


def test_few_internal_names_collection_wide():
    places = internal_definitions()
    names = sorted({name for _path, name in places})
    assert len(names) <= CEILING_INTERNAL_NAMES, "%d names: %s" % (len(names), ", ".join(names))
    assert len(places) <= CEILING_INTERNAL_PLACES, "%d places" % len(places)


def test_at_most_twelve_public_filters():
    assert len(filters_defined()) <= MAX_PUBLIC_FILTERS, sorted(filters_defined())


def test_the_counts_see_what_they_count():
    # Three filters is over the limit; a register and a loop_var are places of internal names.
    assert _over(next(template_expressions("{{ a | b | c | d }}")))
    assert not _over(next(template_expressions("{% if a and b %}x{% endif %}")))
    found = []
    _definitions_in([{"register": "_x", "loop_control": {"loop_var": "_y"}}, {"block": [{"register": "_x"}]}], found)
    assert found == ["_x", "_y", "_x"]


def _readme_modules():
    with open(os.path.join(ROOT, "README.md")) as f:
        section = re.search(r"^## Modules\n(.*?)(?=^## )", f.read(), re.M | re.S).group(1)
    return set(re.findall(r"^\| `raftops\.etcd\.(\w+)`", section, re.M))


def test_every_module_is_one_the_readme_shows_operators():
    # What ansible-doc -l lists is the README's table: an internal action has no module doc
    # (etcd_plan), and a module doc is a promise to operators.
    modules = {name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py")}
    assert len(modules) >= 20
    assert sorted(modules ^ _readme_modules()) == []


def _readme_lookups():
    with open(os.path.join(ROOT, "README.md")) as f:
        section = re.search(r"^## Lookups\n(.*?)(?=^## )", f.read(), re.M | re.S).group(1)
    return set(re.findall(r"^\| `raftops\.etcd\.(\w+)`", section, re.M))


def test_every_lookup_is_one_the_readme_shows_operators_or_one_the_role_still_has():
    # What ansible-doc -t lookup -l lists is the README's table, and the role's lookups still to go.
    lookups = {name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "lookup")) if name.endswith(".py")}
    public = _readme_lookups()
    assert len(public) >= 3 and not public & INTERNAL_LOOKUPS
    assert sorted(lookups ^ (public | INTERNAL_LOOKUPS)) == []
