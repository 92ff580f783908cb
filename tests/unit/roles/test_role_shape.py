"""The shape of the etcd role (issue 35): no filter or internal name that nothing uses, and a ratchet
on the decisions written in Jinja and on the internal names the task files pass to each other.

An expression is one ``{{ ... }}``, the test of a ``{% if %}`` or the list of a ``{% for %}``, or a
bare condition (``when``, ``changed_when``, ``failed_when``, ``until``, an assert's ``that``; each
item of a list of them), read with Jinja's own parser. One is over the limit with more than two
filters, or more than one condition (``if ... else``, ``and``, ``or``).
"""

import glob
import importlib
import json
import os
import re
import warnings
from collections import Counter
from functools import lru_cache

import yaml
from jinja2 import Environment, nodes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "etcd")
TASK_FILES = sorted(glob.glob(os.path.join(ROLE, "tasks", "*.yml")))
VARS_FILE = os.path.join(ROLE, "vars", "main.yml")
BARE_CONDITIONS = ("when", "changed_when", "failed_when", "until", "that")
SET_FACT = ("set_fact", "ansible.builtin.set_fact")
MAX_FILTERS, MAX_CONDITIONS = 2, 1

# The ratchet. Issue 35's targets are 0 expressions over the limit and fewer than 30 internal names;
# these ceilings are the figures of the day they were written and only ever go down: lower them to
# the new figure when a change brings it down, never raise them.
CEILING_OVER_LIMIT = 0
CEILING_INTERNAL_NAMES = 27

JINJA = Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])


# libyaml's loader where PyYAML has it: the test reads every file of the roles.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=None)
def load(path):
    with open(path) as f:
        return yaml.load(f, Loader=LOADER)


def rel(path):
    return os.path.relpath(path, ROOT)


def _strings(node, key=None):
    """(key, string) of every string value under ``node``, with the key of the mapping it is in."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, str):
        yield key, node


def _expressions(key, text):
    """The Jinja expressions of one YAML string."""
    if key in BARE_CONDITIONS and "{{" not in text and "{%" not in text:
        yield JINJA.parse("{{ %s }}" % text).find(nodes.Output).nodes[0]
        return
    if "{{" not in text and "{%" not in text:
        return
    yield from template_expressions(text)


def template_expressions(text):
    """The Jinja expressions of a template's text: each ``{{ }}``, each ``if``'s test, each ``for``'s list."""
    with warnings.catch_warnings():
        # Jinja's lexer decodes string literals such as '\{' (regex_replace patterns) with a warning.
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = JINJA.parse(text)
    for output in tree.find_all(nodes.Output):
        yield from (node for node in output.nodes if not isinstance(node, nodes.TemplateData))
    for statement in tree.find_all(nodes.If):
        yield statement.test
    for statement in tree.find_all(nodes.For):
        yield statement.iter


def _size(expression):
    filters = len(list(expression.find_all(nodes.Filter))) + isinstance(expression, nodes.Filter)
    conditions = len(list(expression.find_all((nodes.CondExpr, nodes.And, nodes.Or))))
    conditions += isinstance(expression, (nodes.CondExpr, nodes.And, nodes.Or))
    return filters, conditions


def expressions_over_limit():
    """(file, filters, conditions, expression) of every expression over the limit in the role's
    task files and vars/main.yml."""
    over = []
    for path in [*TASK_FILES, VARS_FILE]:
        for key, text in _strings(load(path)):
            for expression in _expressions(key, text):
                filters, conditions = _size(expression)
                if filters > MAX_FILTERS or conditions > MAX_CONDITIONS:
                    over.append((rel(path), filters, conditions, " ".join(text.split())[:90]))
    return over


def _definitions_in(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "register" and isinstance(value, str):
                found.append(value)
            elif key in SET_FACT and isinstance(value, dict):
                found.extend(name for name in value if name != "cacheable")
            elif key == "vars" and isinstance(value, dict):
                found.extend(value)
            elif key == "loop_control" and isinstance(value, dict) and "loop_var" in value:
                found.append(value["loop_var"])
            _definitions_in(value, found)
    elif isinstance(node, list):
        for item in node:
            _definitions_in(item, found)


def internal_definitions_by_file():
    """{file: [name, ...]} of the internal ``_etcd_*`` names the role defines, a name once for each
    place: a register, a set_fact, a vars: of a task, block or import, a loop_var, or vars/main.yml."""
    by_file = {rel(VARS_FILE): [name for name in load(VARS_FILE) if name.startswith("_etcd_")]}
    for path in TASK_FILES:
        found = []
        _definitions_in(load(path), found)
        if any(name.startswith("_etcd_") for name in found):
            by_file[rel(path)] = [name for name in found if name.startswith("_etcd_")]
    return by_file


def internal_definitions():
    """{name: how many places define it}."""
    counts = {}
    for names in internal_definitions_by_file().values():
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _keys(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


@lru_cache(maxsize=None)
def _readers_text():
    """What may read an internal name: the roles' and playbooks' YAML without its comments, the
    roles' templates and files, and the collection's Python (action plugins read task vars)."""
    parts = []
    yaml_files = glob.glob(os.path.join(ROOT, "roles", "**", "*.yml"), recursive=True)
    yaml_files += [*glob.glob(os.path.join(ROOT, "playbooks", "*.yml")), os.path.join(ROOT, "etcd.yml")]
    for path in yaml_files:
        parts.extend(text for _key, text in _strings(load(path)))
        parts.extend(_keys(load(path)))
    others = glob.glob(os.path.join(ROOT, "roles", "*", "templates", "**", "*"), recursive=True)
    others += glob.glob(os.path.join(ROOT, "roles", "*", "files", "**", "*"), recursive=True)
    others += glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True)
    for path in others:
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                parts.append(f.read())
    return "\n".join(parts)


def filters_defined():
    """{name: file} of every filter the collection ships, from its Python and from its docs."""
    defined = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "filter", "*.py"))):
        module = importlib.import_module("ansible_collections.raftops.etcd.plugins.filter."
                                         + os.path.basename(path)[:-3])
        defined.update((name, rel(path)) for name in module.FilterModule().filters())
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "filter", "*.yml"))):
        defined.setdefault(load(path)["DOCUMENTATION"]["name"], rel(path))
    return defined


def _readme_section(title):
    with open(os.path.join(ROLE, "README.md")) as f:
        text = f.read()
    match = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), text, re.M | re.S)
    assert match, "roles/etcd/README.md has no section '## %s'" % title
    return match.group(1)


def test_every_filter_is_used_by_the_roles_or_playbooks_or_listed_as_public():
    text = _readers_text()
    public = set(re.findall(r"`raftops\.etcd\.(\w+)`", _readme_section("Public filters")))
    unused = sorted(name for name in filters_defined()
                    if name not in public and not re.search(r"raftops\.etcd\.%s\b" % name, text))
    assert unused == []


def test_every_public_filter_of_the_readme_exists():
    public = set(re.findall(r"`raftops\.etcd\.(\w+)`", _readme_section("Public filters")))
    assert sorted(public - set(filters_defined())) == []


def test_every_internal_name_the_role_defines_is_read():
    mentions = Counter(re.findall(r"\b_etcd_\w+", _readers_text()))
    unread = sorted(name for name, definitions in internal_definitions().items() if mentions[name] <= definitions)
    assert unread == []


def test_expressions_over_the_limit_do_not_exceed_the_ceiling():
    over = expressions_over_limit()
    assert len(over) <= CEILING_OVER_LIMIT, "\n".join(map(str, over))


def test_internal_names_do_not_exceed_the_ceiling():
    assert len(internal_definitions()) <= CEILING_INTERNAL_NAMES


def test_the_limits_see_what_they_count():
    # The counter itself: three filters, or two conditions, is over; two filters and one condition is not.
    assert _size(next(_expressions("x", "{{ a | b | c | d }}"))) == (3, 0)
    assert _size(next(_expressions("when", "a and b or c"))) == (0, 2)
    assert _size(next(_expressions("x", "{{ (a | b | c) if x else None }}"))) == (2, 1)
    assert [_size(e) for e in _expressions("x", "{% if a and b %}{{ x | y }}{% endif %}")] == [(1, 0), (0, 1)]


def test_every_tag_of_the_role_is_in_its_readme():
    tags = set()
    for path in TASK_FILES:
        _tags_in(load(path), tags)
    listed = set(re.findall(r"`(\w+)`", _readme_section("Tags")))
    assert sorted(tags - listed - {"always"}) == []


def _tags_in(node, tags):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "tags":
                tags.update([value] if isinstance(value, str) else value)
            else:
                _tags_in(value, tags)
    elif isinstance(node, list):
        for item in node:
            _tags_in(item, tags)


def test_the_top_readme_links_the_role_readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        assert "(roles/etcd/README.md)" in f.read()


def _readme_line(path, names):
    return "- `%s`: %s" % (os.path.relpath(path, "roles/etcd"), ", ".join("`%s`" % n for n in sorted(set(names))))


def test_the_readme_lists_the_internal_names_of_each_file():
    # The map stays true: the lines the README must have, printed when they differ.
    wanted = [_readme_line(path, names) for path, names in sorted(internal_definitions_by_file().items())]
    listed = [line for line in _readme_section("Internal variables").splitlines() if line.startswith("- `")]
    assert listed == wanted, "\n".join(wanted)


# The backup targets as the push reads them carry the S3 keys: the whole push settings, their targets
# or the inventory's targets in a task's arguments put the keys in what a callback records of the task
# (ARA keeps every task's arguments), whatever the module hides of its own output.
TARGET_SECRETS = re.compile(r"_etcd_backup_push(?![.\w])|_etcd_backup_push\.targets(?!\s*\|\s*map\(attribute='type'\))"
                            r"|etcd_backup_targets")


PLAN = "raftops.etcd.etcd_plan"


def _plan_tasks(node, found):
    """The arguments of every task of ``node`` that calls the plan action."""
    if isinstance(node, list):
        for item in node:
            _plan_tasks(item, found)
    elif isinstance(node, dict):
        found += [node[PLAN]] if PLAN in node else []
        for key in ("block", "rescue", "always"):
            _plan_tasks(node.get(key), found)
    return found


def test_no_plan_task_gets_the_backup_targets_keys():
    tasks = [(rel(path), arguments) for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")))
             for arguments in _plan_tasks(load(path), [])]
    assert len(tasks) >= 10, "the test finds the plan actions' tasks"
    carrying = ["%s: %s" % (path, arguments) for path, arguments in tasks if TARGET_SECRETS.search(json.dumps(arguments))]
    assert not carrying, carrying
