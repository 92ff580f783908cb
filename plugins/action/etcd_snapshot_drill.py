# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_snapshot_drill: with ``remote_src: false`` the snapshot is a file on
the controller, copied for the drill into the task's private temporary directory on the host
(Ansible's, mode 0700) and removed with it on every path, failures included; otherwise, and in
check mode (which restores nothing), the module runs as given. With ``replay`` (a point-in-time
restore) the replay's file goes with the snapshot, and the replayed snapshot comes back to the
controller's ``replay_dest``."""

import os

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

MODULE = "raftops.etcd.etcd_snapshot_drill"


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            remote_src = boolean(args.pop("remote_src", True), strict=True)
        except TypeError as exc:
            result.update(failed=True, changed=False, msg="%s: remote_src: %s; nothing was done" % (MODULE, exc))
            return result
        if remote_src or self._task.check_mode:
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result
        try:
            # As ansible.builtin.copy finds it: a relative path in the role's or playbook's files.
            local = self._find_needle("files", str(args.get("src") or ""))
        except AnsibleError:
            local = None
        if not (local and os.path.isfile(local)):
            result.update(failed=True, changed=False, msg="%s: src %s is no file on the controller; nothing was copied "
                          "to %s" % (MODULE, args.get("src"), (task_vars or {}).get("inventory_hostname")))
            return result
        # The failure message names the snapshot as the controller knows it, not its copy.
        args.setdefault("label", args["src"])
        try:
            tmpdir = self._connection._shell.tmpdir or self._make_tmp_path()
            copy = self._connection._shell.join_path(tmpdir, "snapshot.db")
            self._transfer_file(local, copy)
            more = {}
            if args.get("replay"):
                # A point-in-time restore's replay: its file goes with the snapshot, and the replayed
                # snapshot comes back to the controller's replay_dest.
                more = dict(replay=self._connection._shell.join_path(tmpdir, "replay.json"),
                            replay_dest=self._connection._shell.join_path(tmpdir, "replayed.db"))
                self._transfer_file(args["replay"], more["replay"])
            self._fixup_perms2([tmpdir, copy] + ([more["replay"]] if more else []))
            result.update(self._execute_module(module_name=MODULE, module_args=dict(args, src=copy, **more),
                                               task_vars=task_vars))
            if more and not result.get("failed"):
                self._connection.fetch_file(more["replay_dest"], args["replay_dest"])
            if "src" in result:
                # The snapshot as the controller knows it, not its copy.
                result["src"] = args["src"]
        finally:
            # Forced: a kept remote tmp (ANSIBLE_KEEP_REMOTE_FILES) would leave the snapshot on the host.
            if self._connection._shell.tmpdir:
                self._remove_tmp_path(self._connection._shell.tmpdir, force=True)
        return result
