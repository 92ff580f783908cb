# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_backup_target: S3 targets and the sealing are worked on from the
controller, within ansible-playbook's own process wherever the task is delegated (its Python has
cryptography and boto3; no module is packaged or sent). V(present) to an SSH target runs on the
task's host (delegated to the target's host, with become): the encrypted backup, which must be one,
is copied from the controller into the task's private temporary directory there (Ansible's, mode
0700), the module writes it into the target's directory and prunes it, and the copy is removed with
that directory on every path. A copy that V(present) made or found is reported in the run's output
as it is done (module_utils/etcd_backup_plan.py's sent_report), without a register and a debug task."""

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_backup_target as backup_target
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import sent_report
from ansible_collections.raftops.etcd.plugins.plugin_utils.backup_target import MODULE, run_here

SECRETS = ("access_key", "secret_key")

display = Display()


def present_report(params, result, check_mode):
    """The line to show for a run with ``params`` that answered ``result``, or None: a copy that
    V(present) made or found (with its prune when O(prune)), not one of check mode, nor a failure."""
    if params.get("state") != "present" or check_mode or result.get("failed") or result.get("skipped"):
        return None
    return sent_report(params.get("target") or {}, result, retention=bool(params.get("prune")))


class ActionModule(ActionBase):
    # No early temporary directory: a task delegated to the controller, become or not, runs no command
    # there; only an SSH target's host gets one, made in _on_host().
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        validated = ArgumentSpecValidator(backup_target.argument_spec()).validate(self._task.args)
        params = validated.validated_parameters
        # A secret never shows, not even in a message that quotes it.
        secrets = {str(v) for k, v in ((params or {}).get("target") or {}).items() if k in SECRETS and v}
        if validated.error_messages:
            result.update(failed=True, changed=False, msg="%s: %s; nothing was done"
                          % (MODULE, "; ".join(validated.error_messages)))
        elif backup_target.on_host(params):
            result.update(self._on_host(params, task_vars))
        else:
            result.update(self._here(params))
        line = present_report(params or {}, result, bool(self._task.check_mode))
        if line:
            display.display(remove_values(line, secrets))
        return remove_values(result, secrets)

    def _here(self, params):
        return run_here(params, bool(self._task.check_mode))

    def _on_host(self, params, task_vars):
        src = os.path.expanduser(to_text(params["src"] or ""))
        where = "target %s (%s:%s)" % (params["target"]["name"], params["target"].get("host"),
                                       params["target"].get("path"))
        try:
            sealed = backup_target.is_sealed(src)
        except backup_target.TargetError as exc:
            return dict(failed=True, changed=False, msg="%s; nothing was sent to %s" % (exc, where))
        if not sealed:
            return dict(failed=True, changed=False, msg="%s is not an encrypted backup (state sealed makes one): "
                        "nothing leaves the controller unencrypted; nothing was sent to %s" % (src, where))
        args = dict(self._task.args, name=params["name"] or os.path.basename(src))
        try:
            tmpdir = self._connection._shell.tmpdir or self._make_tmp_path()
            copy = self._connection._shell.join_path(tmpdir, os.path.basename(src))
            self._transfer_file(src, copy)
            self._fixup_perms2((tmpdir, copy))
            return self._execute_module(module_name=MODULE, module_args=dict(args, src=copy), task_vars=task_vars)
        finally:
            # Forced: a kept remote tmp (ANSIBLE_KEEP_REMOTE_FILES) would leave a copy outside the target.
            if self._connection._shell.tmpdir:
                self._remove_tmp_path(self._connection._shell.tmpdir, force=True)
