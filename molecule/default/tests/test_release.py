"""The collection as operators get it: the artifact `ansible-galaxy collection build` makes, installed
into a clean virtual environment (ansible-core and the controller's requirements only, at the pins
of requirements-dev.txt), and the README's deploy command run from there, not from the clone, on
the cluster the converge deployed: it runs and changes nothing. A file the build leaves out, a
module_utils folder the artifact lacks or metadata ansible-galaxy refuses fails it."""

import os
import re
import subprocess
import sys

import yaml
from etcdtest import EPHEMERAL, INVENTORY, ROOT, ansible_env, assert_unchanged, why_failed

# What the controller needs (README, Requirements), pinned as the tests run them.
CONTROLLER = ("ansible-core", "cryptography", "dnspython")


def pins():
    with open(os.path.join(ROOT, "requirements-dev.txt")) as f:
        found = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", f.read(), re.M))
    return ["%s==%s" % (name, found[name]) for name in CONTROLLER]


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, **kwargs)
    assert proc.returncode == 0, "%s:\n%s" % (" ".join(cmd), proc.stdout[-3000:])
    return proc.stdout


def test_the_built_artifact_installed_in_a_clean_venv_runs_the_readme_deploy():
    with open(os.path.join(ROOT, "galaxy.yml")) as f:
        version = yaml.safe_load(f)["version"]
    work = os.path.join(EPHEMERAL, "release")
    run(["rm", "-rf", work])
    run(["ansible-galaxy", "collection", "build", "--output-path", work, ROOT])
    artifact = os.path.join(work, "raftops-etcd-%s.tar.gz" % version)
    venv = os.path.join(work, "venv")
    run([sys.executable, "-m", "venv", venv])
    run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check", *pins()])
    installed = os.path.join(work, "collections")
    env = dict(ansible_env(), ANSIBLE_COLLECTIONS_PATH=installed, PATH=os.path.join(venv, "bin") + os.pathsep
               + os.environ["PATH"])
    env.pop("PYTHONPATH", None)
    run(["ansible-galaxy", "collection", "install", artifact, "-p", installed], env=env)
    listed = run(["ansible-galaxy", "collection", "list", "raftops.etcd"], env=env)
    assert re.search(r"^raftops\.etcd\s+%s\s*$" % re.escape(version), listed, re.M), listed
    # README: ansible-playbook raftops.etcd.etcd -i hosts (after the install).
    proc = subprocess.run([os.path.join(venv, "bin", "ansible-playbook"), "raftops.etcd.etcd", "-i", INVENTORY],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, why_failed(proc.stdout)
    assert_unchanged(proc.stdout)
