# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The DNS SRV records a bootstrap by DNS needs: the filters of
plugins/module_utils/client/srv_records.py (each documented in plugins/filter/NAME.yml)."""

from ansible_collections.raftops.etcd.plugins.plugin_utils.filters import module_filters


class FilterModule:
    def filters(self):
        return module_filters("client.srv_records", "srv_records")
