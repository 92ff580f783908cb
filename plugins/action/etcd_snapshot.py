# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_snapshot: the module saves the snapshot on the host; with
``fetch_dest`` the saved file then comes to the controller by the connection's own transfer and is
checked there by one SHA-256 against the one the module returned (module_utils/backup/snapshot_store.py,
fetch_checked): no module run on the host for a checksum, no second hash of the copy."""

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_store import FetchError, fetch_checked

MODULE = "raftops.etcd.etcd_snapshot"


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        fetch_dest = args.pop("fetch_dest", None)
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        if not fetch_dest or result.get("failed") or self._task.check_mode:
            return result
        host = (task_vars or {}).get("inventory_hostname", "the host")
        try:
            fetch_checked(self._connection.fetch_file, result["path"], fetch_dest, result["sha256"], source=host)
        except (FetchError, OSError, AnsibleError) as exc:
            result.update(failed=True, msg="%s: %s" % (MODULE, exc))
        else:
            result["fetched"] = fetch_dest
        return result
