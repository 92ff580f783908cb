# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The adoption of a running cluster (playbooks/adopt.yml): the plan, from each host's read.
The decisions are plugins/module_utils/etcd_adopt.py's."""

import os

from ansible.errors import AnsibleFilterError

# etcd_adopt is imported where it is used, so that loading this file stays cheap (docs/deploy.md).


def adopt_plan(members, reads, settings=None):
    """See plugins/filter/adopt_plan.yml."""
    if not isinstance(reads, dict):
        raise AnsibleFilterError("adopt_plan: reads must be a dict of host -> the result of etcd_adopt_info")
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_adopt

    settings = dict(settings or {})
    pki_dir = settings.get("etcd_pki_dir") or ""
    pki_files = [name for name in os.listdir(pki_dir) if os.path.isfile(os.path.join(pki_dir, name))] \
        if os.path.isdir(pki_dir) else []
    return etcd_adopt.adopt_plan(list(members or []), reads, etcd_adopt.asked(settings, pki_files))


def adopt_inventory_lines(plan, members, used, defaults):
    """See plugins/filter/adopt_inventory_lines.yml."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_adopt import inventory_lines

    return inventory_lines(dict(plan or {}), list(members or []), dict(used or {}), dict(defaults or {}))


class FilterModule:
    def filters(self):
        return {"adopt_plan": adopt_plan, "adopt_inventory_lines": adopt_inventory_lines}
