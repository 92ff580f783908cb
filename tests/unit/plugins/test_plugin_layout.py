"""How the collection's Python is laid out: module_utils in domain folders (client, cluster, host,
pki, backup, plan, lock), below everything else, and no import circle anywhere in plugins/.

A circle makes the order of imports matter (a name is missing when the other file is half-loaded),
and is how logic ends up in two places; module_utils importing a filter, an action or plugin_utils
would put controller-only code on the members.
"""

import ast
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLUGINS = os.path.join(ROOT, "plugins")
PACKAGE = "ansible_collections.raftops.etcd.plugins"
DOMAINS = {"backup", "client", "cluster", "host", "lock", "pki", "plan"}


def python_files():
    paths = sorted(glob.glob(os.path.join(PLUGINS, "**", "*.py"), recursive=True))
    assert len(paths) > 100, "the glob found %d files under %s" % (len(paths), PLUGINS)
    return paths


def module_name(path):
    return PACKAGE + "." + os.path.relpath(path, PLUGINS)[:-3].replace(os.sep, ".")


def imported(path, known):
    """The collection's modules that ``path`` imports, at its top or in a function."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            for alias in node.names:
                child = node.module + "." + alias.name
                found.add(child if child in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(PACKAGE))
    return found & known


def graph():
    paths = python_files()
    known = {module_name(path) for path in paths if not path.endswith("__init__.py")}
    return {module_name(path): imported(path, known) for path in paths if not path.endswith("__init__.py")}


def circles(edges):
    """Every import circle, each as the list of modules along it, found by a depth-first walk."""
    found, state = [], {}

    def walk(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            walk(node, [])
    return found


def test_the_walk_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_plugins():
    edges = graph()
    assert sum(len(v) for v in edges.values()) > 200  # the scan sees the imports it checks
    assert circles(edges) == []


def test_module_utils_is_in_domain_folders_and_imports_only_module_utils():
    utils = os.path.join(PLUGINS, "module_utils")
    flat = [name for name in os.listdir(utils) if name.endswith(".py")]
    assert flat == [], "module_utils files outside a domain folder: %s" % flat
    folders = {name for name in os.listdir(utils) if os.path.isdir(os.path.join(utils, name)) and name != "__pycache__"}
    assert folders == DOMAINS
    upward = {module: sorted(m for m in targets if not m.startswith(PACKAGE + ".module_utils."))
              for module, targets in graph().items() if module.startswith(PACKAGE + ".module_utils.")}
    assert {module: targets for module, targets in upward.items() if targets} == {}
