# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Sizing profiles, the hardware's findings and the suggested timeouts: the filters of
plugins/module_utils/plan/sizing.py (each documented in plugins/filter/NAME.yml)."""

from ansible_collections.raftops.etcd.plugins.plugin_utils.filters import module_filters


class FilterModule:
    def filters(self):
        return module_filters("plan.sizing", "hardware_findings", "profile_settings", "suggested_timeouts")
