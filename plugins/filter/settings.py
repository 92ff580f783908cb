# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The role variables' problems of meaning: the filters of plugins/module_utils/plan/settings.py (each
documented in plugins/filter/NAME.yml)."""

from ansible_collections.raftops.etcd.plugins.plugin_utils.filters import module_filters


class FilterModule:
    def filters(self):
        return module_filters("plan.settings", "settings_problems")
