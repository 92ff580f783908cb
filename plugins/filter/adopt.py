# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The adoption of a running cluster (playbooks/adopt.yml): the filters of
plugins/module_utils/plan/adopt.py (each documented in plugins/filter/NAME.yml)."""

from ansible_collections.raftops.etcd.plugins.plugin_utils.filters import module_filters


class FilterModule:
    def filters(self):
        return module_filters("plan.adopt", "adopt_plan", "adopt_inventory_lines")
