# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The off-host backup push as the role's tasks use it: the filters of
plugins/module_utils/backup/push_targets.py (each documented in plugins/filter/NAME.yml)."""

from ansible_collections.raftops.etcd.plugins.plugin_utils.filters import module_filters


class FilterModule:
    def filters(self):
        return module_filters("backup.push_targets",
                              "backup_push_targets", "backup_members", "backup_push_authorized", "backup_push_hosts",
                              "backup_push_withdrawn", "backup_max_age_seconds")
