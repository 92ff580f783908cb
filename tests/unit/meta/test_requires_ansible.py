# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""meta/runtime.yml claims the ansible-core releases the tests run: the pinned one (`make test`) and
the lowest of the claim (`make compat`, which reads it from there)."""

import os
import re

import yaml
from ansible.module_utils.compat.version import LooseVersion
from ansible.release import __version__ as running

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")


def claim():
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as runtime:
        text = yaml.safe_load(runtime)["requires_ansible"]
    found = re.fullmatch(r">=(\d+\.\d+\.\d+),<(\d+\.\d+)\.0", text)
    assert found, "requires_ansible %r is not '>=LOWEST,<NEXT_MINOR.0'" % text
    return LooseVersion(found.group(1)), LooseVersion(found.group(2) + ".0")


def pinned():
    with open(os.path.join(ROOT, "requirements-dev.txt"), encoding="utf-8") as requirements:
        return LooseVersion(re.search(r"^ansible-core==(\S+)$", requirements.read(), re.M).group(1))


def test_the_claim_admits_the_pinned_ansible_core_and_the_one_running():
    lowest, above = claim()
    assert lowest <= pinned() < above
    assert lowest <= LooseVersion(running) < above
