"""The execution environment definition (meta/execution-environment.yml) declares what the
collection's code imports and runs on the controller, so that it cannot drift silently.

In an execution environment everything that runs on the controller runs inside the image: the
lookups and filters, the module_utils they use, and every module delegated to localhost (etcd_pki,
etcd_backup_target, ...). Modules for managed hosts import the standard library only (hosts need
only python3), so every third-party import under plugins/ is a controller-side one, and all of them
must come with ansible-core or be listed in meta/ee-requirements.txt (`make ee` checks that
ansible-builder reads that file from the built collection)."""

import ast
import glob
import importlib.metadata
import os
import re
import sys

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
META = os.path.join(ROOT, "meta", "execution-environment.yml")
PLUGINS = os.path.join(ROOT, "plugins")
# What an execution environment always has: ansible-core and what it installs with it.
ALWAYS = "ansible-core"
# Top-level names that are never a third-party package: with the collection's own module_utils,
# which code the role copies onto members imports flat, beside itself, as etcd_NAME
# (module_utils/backup/backup_crypto.py as etcd_backup_crypto).
OWN = {"__future__", "ansible", "ansible_collections"} | {
    "etcd_" + os.path.basename(name)[:-3] for name in glob.glob(os.path.join(PLUGINS, "module_utils", "*", "*.py"))}


def ee_dependency(entry):
    with open(META) as f:
        raw = yaml.safe_load(f)
    path = raw["dependencies"][entry]
    return os.path.join(ROOT, path)


def requirement_lines(path):
    with open(path) as f:
        lines = [re.sub(r"(^|\s+)#.*$", "", line).strip() for line in f]
    return [line for line in lines if line]


def declared_python():
    return {canonicalize_name(Requirement(line).name) for line in requirement_lines(ee_dependency("python"))}


def requires(dist):
    """The distributions ``dist`` installs with it (its requirements without an extra)."""
    try:
        lines = importlib.metadata.requires(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return set()
    reqs = (Requirement(line) for line in lines)
    return {canonicalize_name(req.name) for req in reqs if not (req.marker and "extra" in str(req.marker))}


def third_party_imports(root):
    """{top-level module name: [file:line, ...]} of every import in the .py files under root that
    is neither the standard library nor Ansible's or this collection's own."""
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in OWN or top in sys.stdlib_module_names:
                        continue
                    found.setdefault(top, []).append("%s:%d" % (os.path.relpath(path, root), node.lineno))
    return found


def undeclared(imports, declared):
    """The imports no declared distribution, nor ansible-core, brings: {module: reason}."""
    provided = set(declared) | {ALWAYS} | requires(ALWAYS)
    for dist in declared:
        provided |= requires(dist)
    owners = importlib.metadata.packages_distributions()
    problems = {}
    for module, where in sorted(imports.items()):
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        if not dists:
            problems[module] = "no installed distribution provides it (imported at %s)" % ", ".join(where)
        elif not dists & provided:
            problems[module] = "%s is not in meta/ee-requirements.txt (imported at %s)" % (
                " or ".join(sorted(dists)), ", ".join(where))
    return problems


def test_meta_points_at_files_in_the_collection():
    with open(META) as f:
        raw = yaml.safe_load(f)
    assert raw["version"] == 3
    for entry in ("python", "system"):
        path = raw["dependencies"][entry]
        # ansible-builder's introspection reads a path relative to the collection root, not a list.
        assert isinstance(path, str) and not os.path.isabs(path), (entry, path)
        assert os.path.isfile(os.path.join(ROOT, path)), path


def test_requirements_are_lower_bounds_only():
    # The EE resolves them together with every other collection's: no pins, no upper bounds.
    for line in requirement_lines(ee_dependency("python")):
        for spec in Requirement(line).specifier:
            assert spec.operator == ">=", line


def test_cryptography_and_dnspython_are_declared():
    assert {"cryptography", "dnspython"} <= declared_python()


def test_every_third_party_import_in_plugins_is_declared():
    imports = third_party_imports(PLUGINS)
    # The scan finds what the plugins are known to import.
    assert {"cryptography", "dns", "boto3", "botocore"} <= set(imports)
    assert undeclared(imports, declared_python()) == {}


def test_an_undeclared_import_is_reported(tmp_path):
    plugin = tmp_path / "lookup" / "example.py"
    plugin.parent.mkdir()
    plugin.write_text("import os\nfrom ansible.errors import AnsibleError\n"
                      "try:\n    import dns.resolver\nexcept ImportError:\n    pass\n"
                      "import no_such_package_raftops\n")
    imports = third_party_imports(str(tmp_path))
    assert set(imports) == {"dns", "no_such_package_raftops"}
    problems = undeclared(imports, {"cryptography"})
    assert set(problems) == {"dns", "no_such_package_raftops"}
    assert "dnspython is not in meta/ee-requirements.txt" in problems["dns"]
    assert undeclared({"dns": ["x.py:1"]}, {"dnspython"}) == {}


# The package of a command not named like it.
PACKAGE_OF = {"pgrep": "procps"}


def test_commands_the_controller_runs_are_declared_system_packages():
    # A lookup pipe runs a command on the controller, inside the image, and so do the controller's
    # plugins (actions, lookups, filters and what they share) with subprocess. One without a fallback
    # (`|| ...`) needs its package in meta/ee-bindep.txt. (None runs one now: the run lock no longer
    # runs pgrep.)
    packages = {line.split()[0] for line in requirement_lines(ee_dependency("system"))}
    pipe = re.compile(r"""lookup\(\s*['"](?:ansible\.builtin\.)?pipe['"]\s*,\s*['"]([^'"]+)['"]""")
    started = re.compile(r"""subprocess\.(?:run|Popen|call|check_call|check_output)\(\s*\[\s*['"]([^'"]+)['"]""")
    commands = set()
    for folder, suffixes, pattern in (("roles", (".yml", ".yaml", ".j2"), pipe), ("playbooks", (".yml", ".yaml"), pipe),
                                      ("plugins/action", (".py",), started), ("plugins/plugin_utils", (".py",), started),
                                      ("plugins/lookup", (".py",), started), ("plugins/filter", (".py",), started)):
        for base, _dirs, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith(suffixes):
                    with open(os.path.join(base, name)) as f:
                        commands |= {cmd for cmd in pattern.findall(f.read()) if "||" not in cmd}
    assert "pgrep" not in commands
    assert {PACKAGE_OF.get(cmd.split()[0], cmd.split()[0]) for cmd in commands} <= packages
