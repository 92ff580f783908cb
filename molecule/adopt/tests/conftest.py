import json
import os
import shutil
import sys

import yaml

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared", "tests"))

from etcdtest import EPHEMERAL, INVENTORY, figures_report

FIGURES, pytest_terminal_summary = figures_report("adopt")


def kept_lines(out):
    """The inventory lines the adoption printed to keep (its debug message, as JSON or YAML)."""
    lines = out.splitlines()
    start = max(i for i, line in enumerate(lines) if "Keep these lines in the inventory" in line)
    if lines[start].strip().startswith('"'):
        kept = []
        for line in lines[start + 1:]:
            if not line.strip().startswith('"'):
                return kept
            kept.append(json.loads(line.strip().rstrip(",")))
    indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]
    block = []
    for line in lines[start:]:
        if not line.startswith((indent + "- ", indent + "  ")):
            break
        block.append(line[len(indent):])
    return yaml.safe_load("\n".join(block))[1:]


def scale_out_inventory(kept, spare):
    """A copy of Molecule's inventory as the adoption said to keep it (``kept``, its lines), with the
    ``spare`` host in the etcd group: [etcd:vars] into the group's vars file (Molecule's
    group_vars/etcd), each host's settings into its own."""
    path = os.path.join(EPHEMERAL, "inventory-scale-out")
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(os.path.dirname(INVENTORY), path)
    inventory = os.path.join(path, os.path.basename(INVENTORY))
    with open(inventory) as handle:
        groups = yaml.safe_load(handle)
    groups["etcd"]["hosts"][spare] = groups["spare"]["hosts"].pop(spare)
    with open(inventory, "w") as handle:
        yaml.safe_dump(groups, handle)
    files = {"etcd": os.path.join(path, "group_vars", "etcd")}
    settings = {"etcd": [line.split("=", 1) for line in kept[1:kept.index("[etcd]")]]}
    for line in kept[kept.index("[etcd]") + 1:]:
        name, *own = line.split()
        files[name] = os.path.join(path, "host_vars", name)
        settings[name] = [setting.split("=", 1) for setting in own]
    for name, file in files.items():
        variables = {}
        if os.path.exists(file):
            with open(file) as handle:
                variables = yaml.safe_load(handle) or {}
        variables.update(settings[name])
        with open(file, "w") as handle:
            yaml.safe_dump(variables, handle)
    return inventory
