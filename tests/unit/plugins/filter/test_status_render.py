"""The status as an operator sees it: ansible-playbook prints the lines status_advice and status_lines
make of a canned etcd_health result with debug, as roles/etcd/tasks/status_report.yml shows the lines
of its status plan, with Ansible's default callback in its json and its yaml result format. Every line
must come out whole, on one line of the output: the yaml format folds a long line at a single space
past 80 columns."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster.status_advice import status_advice, status_lines
from ansible_collections.raftops.etcd.tests.unit.plugins.status_sample import sample

# The collection as tests/unit/conftest.py exposes it, at .cache/collections of the checkout.
CHECKOUT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
COLLECTIONS = os.path.join(CHECKOUT, ".cache", "collections")
# A line like the table rows were before: single spaces past column 80.
FOLDABLE = "etcd-host2  https://10.0.0.13:2379  -  -  no  -  -  -  -  -  unreachable: [Errno 111] Connection refused"

PLAYBOOK = """
- name: Show a canned status
  hosts: localhost
  gather_facts: false
  vars_files: [status.json]
  tasks:
    - name: Show the cluster status and what to do
      ansible.builtin.debug:
        msg: "{{ lines }}"

    - name: Show a line that folds
      ansible.builtin.debug:
        msg: ["%s"]
""" % FOLDABLE


@pytest.fixture(scope="module")
def canned(tmp_path_factory):
    directory = tmp_path_factory.mktemp("status")
    health = sample()
    lines = status_lines(health["table"], status_advice(health, {}))
    (directory / "status.json").write_text(json.dumps({"lines": lines}))
    (directory / "status.yml").write_text(PLAYBOOK)
    (directory / "ansible.cfg").write_text("[defaults]\n")
    return directory, lines


def shown(line):
    """The forms a line takes in the output: as it is, quoted by YAML, escaped by JSON."""
    return {line, line.replace("'", "''"), json.dumps(line)[1:-1]}


@pytest.mark.parametrize("result_format", ["json", "yaml"])
def test_every_status_line_is_one_line_of_the_output(canned, result_format):
    directory, lines = canned
    env = dict(os.environ, ANSIBLE_CONFIG=str(directory / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_CALLBACK_RESULT_FORMAT=result_format,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                          "-c", "local", "status.yml"], cwd=str(directory), env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    output = run.stdout.splitlines()
    missing = [line for line in lines if not any(form in out for form in shown(line) for out in output)]
    assert missing == [], run.stdout
    # The check sees a fold: the yaml format breaks the line made to fold, the json format does not.
    folded = not any(FOLDABLE in out for out in output)
    assert folded == (result_format == "yaml"), run.stdout
