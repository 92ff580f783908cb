"""What a task's process loads when it uses one filter of the collection.

Ansible runs each task in a process of its own, and the first use of any filter of the collection
there loads every file of plugins/filter/; module_utils are compiled from source in that process
(the collection loader keeps no bytecode). So the filter files are faces (plugins/plugin_utils/filters.py)
that import no module_utils until a filter is called, and then only the one that filter needs.
Measured on a no-change run of the etcd playbook, that is what made the filter-preloading trick of
the playbooks (with_filters_loaded, removed before 1.0.0) unnecessary.
"""

import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")

# A fresh interpreter, as a task's process has nothing of the collection loaded yet: resolve one
# filter through Ansible's filter loader and list what that imported.
PROBE = """
import json, sys
from ansible.plugins.loader import filter_loader, init_plugin_loader
init_plugin_loader([sys.argv[1]])
filter_loader.get("ansible.builtin.to_json")
before = set(sys.modules)
assert filter_loader.get("raftops.etcd.initial_cluster") is not None
print(json.dumps(sorted(set(sys.modules) - before)))
"""

MODULE_UTILS = "ansible_collections.raftops.etcd.plugins.module_utils."
# Loaded by the modules that talk to etcd or make certificates, not by a filter file's import.
HEAVY = ("cryptography", "ssl", "http.client", "urllib.request", "ansible.module_utils.basic")


def loaded_by_one_filter():
    out = subprocess.run([sys.executable, "-c", PROBE, COLLECTIONS], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_filter_loads_every_filter_file_and_no_module_utils():
    loaded = loaded_by_one_filter()
    filter_files = {os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "plugins", "filter", "*.py"))}
    assert {name.rsplit(".", 1)[-1] for name in loaded if ".plugins.filter." in name} == filter_files
    assert [name for name in loaded if name.startswith(MODULE_UTILS)] == []
    assert [name for name in loaded if name.split(".")[0] in HEAVY or name in HEAVY] == []


def test_no_play_uses_the_removed_preloading_filter():
    paths = glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) + glob.glob(os.path.join(ROOT, "molecule", "*", "*.yml"))
    paths += [*glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")), os.path.join(ROOT, "etcd.yml")]
    users = []
    for path in paths:
        with open(path) as f:
            if "with_filters_loaded" in f.read():
                users.append(os.path.relpath(path, ROOT))
    assert users == []
