# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The hosts on which a pass of the etcd role left a CA rotation: the filters of
plugins/module_utils/pki/pki_plan.py (each documented in plugins/filter/NAME.yml)."""

from ansible_collections.raftops.etcd.plugins.plugin_utils.filters import module_filters


class FilterModule:
    def filters(self):
        return module_filters("pki.pki_plan", "rotation_pass_hosts")
