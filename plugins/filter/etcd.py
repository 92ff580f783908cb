# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The inventory as etcd sees it: the members, --initial-cluster, the upgrade's check: the filters of
plugins/module_utils/cluster/members.py (each documented in plugins/filter/NAME.yml)."""

from ansible_collections.raftops.etcd.plugins.plugin_utils.filters import module_filters


class FilterModule:
    def filters(self):
        return module_filters("cluster.members", "initial_cluster", "members", "upgrade_problem")
