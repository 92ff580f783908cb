# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_backup_target: S3 targets and the sealing are worked on from the
controller, within ansible-playbook's own process wherever the task is delegated (its Python has
cryptography and boto3; no module is packaged or sent). V(present) to an SSH target runs on the
task's host (delegated to the target's host, with become): the encrypted backup, which must be one,
is copied from the controller into the task's private temporary directory there (Ansible's, mode
0700), the module writes it into the target's directory, and the copy is removed with that
directory on every path. With O(prune) the target is then pruned by verified header, decided here:
the heads of its backups (their first MAX_HEAD_SIZE bytes) are read there as root with one command,
verified on the controller (the host has no key and needs no cryptography) by
module_utils/backup/backup_target.py's decide_prune, and those it deletes removed with another. A copy that V(present) made or found is
reported in the run's output
as it is done (module_utils/backup/backup_plan.py's sent_report), without a register and a debug task."""

import os
import shlex

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target
from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_fetch import list_command
from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_plan import parse_heads, sent_report
from ansible_collections.raftops.etcd.plugins.plugin_utils.backup_target import MODULE, Here, run_here

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
            result = self._execute_module(module_name=MODULE, module_args=dict(args, src=copy), task_vars=task_vars)
        finally:
            # Forced: a kept remote tmp (ANSIBLE_KEEP_REMOTE_FILES) would leave a copy outside the target.
            if self._connection._shell.tmpdir:
                self._remove_tmp_path(self._connection._shell.tmpdir, force=True)
        if params["prune"] and not result.get("failed"):
            target = params["target"]
            result.update(backup_target.prune_after_send(
                _Warnings(result), lambda: self._prune_on_host(params, result),
                "%s (%s:%s)" % (target["name"], target.get("host"), target.get("path"))))
            result["changed"] = bool(result.get("changed")) or bool(result["deleted"])
        return result

    def _prune_on_host(self, params, result):
        """The SSH target pruned by verified header: its heads read there, the decision made here
        (decide_prune), the backups it deletes removed there (not in check mode)."""
        target = params["target"]
        try:
            heads = parse_heads(self._as_root(list_command(target, crypto.MAX_HEAD_SIZE), "listing the backups"))
        except ValueError as exc:  # a head that is no base64
            raise backup_target.TargetError(str(exc)) from None
        except backup_target.TargetError:
            if self._task.check_mode and result.get("sent"):
                return dict(kept=[], deleted=[], unverified=[])  # a directory check mode did not make
            raise
        headers = {name: crypto.parse_head(head, crypto.object_what(name, target["name"]))
                   for name, head in heads.items()}
        decider = Here(params, bool(self._task.check_mode))
        try:
            kept, deleted, unverified = backup_target.decide_prune(decider, headers, target["name"])
        finally:
            if decider.warnings:
                result.setdefault("warnings", []).extend(decider.warnings)
        if deleted and not self._task.check_mode:
            self._as_root(shlex.join(["rm", "-f", "--"] + ["%s/%s" % (target["path"], name) for name in deleted]),
                          "deleting %s" % ", ".join(deleted))
        return dict(kept=kept, deleted=deleted, unverified=unverified)

    def _as_root(self, command, doing):
        """The output of the shell ``command`` on the task's host (through become)."""
        done = self._low_level_execute_command(command, sudoable=True)
        if done.get("rc") != 0:
            said = (done.get("stderr") or done.get("stdout") or "").strip()
            raise backup_target.TargetError("%s failed (rc=%s): %s" % (doing, done.get("rc"), said))
        return done.get("stdout") or ""


class _Warnings:
    """What prune_after_send reads of a module: its warn(), into the result's warnings."""

    def __init__(self, result):
        self.result = result

    def warn(self, text):
        self.result.setdefault("warnings", []).append(text)
