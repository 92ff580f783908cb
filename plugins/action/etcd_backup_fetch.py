# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_backup_fetch: a backup of an off-host target brought to a private
directory (mode 0700) it makes inside the controller's backup directory, verified and decrypted
there; the directory is removed when anything fails. The task runs on the controller for an S3
target, where raftops.etcd.etcd_backup_target fetches it; delegated to the host of an SSH target, with
become, where two commands list the backups' heads and read the one chosen
(module_utils/backup/backup_fetch.py); the choice (etcd_backup_plan.py) and the decryption are made here.
A point in time reads the full backup and the change stream's segments there the same way, one
command each, and chooses and replays them as for an S3 target (backup_target.point_fetched)."""

import os
import shutil
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_fetch as fetch
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_plan as etcd_backup_plan
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target
from ansible_collections.raftops.etcd.plugins.module_utils.backup.stream_segments import point_given
from ansible_collections.raftops.etcd.plugins.plugin_utils.arguments import task_params
from ansible_collections.raftops.etcd.plugins.plugin_utils.backup_target import Here


# What a point in time's fetch adds to the result: the replay's file and figures.
REPLAYED = ("backup_revision", "segments", "reached", "reached_time", "replay")


class FetchError(Exception):
    """What failed; nothing is left of the fetch on the controller."""


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        params = task_params(result, fetch.MODULE, fetch.argument_spec(), self._task.args)
        if params is None:
            return result
        warnings = []
        made = tempfile.mkdtemp(suffix=".etcd-restore", dir=params["dir"])
        try:
            dest = os.path.join(made, fetch.SNAPSHOT)
            replayed = {}
            if params["target"].get("type") != "ssh":
                chosen = self._from_s3(params, dest, warnings, task_vars, replayed)
            elif point_given(params["point"]):
                chosen = self._point_from_ssh(params, dest, warnings, replayed)
            else:
                chosen = self._from_ssh(params, made, dest, warnings)
        except (FetchError, ValueError, OSError, crypto.BackupCryptoError, backup_target.TargetError) as exc:
            shutil.rmtree(made, ignore_errors=True)
            result.update(failed=True, changed=False, msg=str(exc))
        except BaseException:
            shutil.rmtree(made, ignore_errors=True)
            raise
        else:
            result.update(replayed, changed=True, dir=made, path=dest, object=chosen,
                          shown=fetch.shown(params["name"], chosen, params["target"].get("name"), replayed))
        if warnings:
            result["warnings"] = warnings
        return result

    def _from_s3(self, params, dest, warnings, task_vars, replayed):
        """Fetched, verified and decrypted by etcd_backup_target on the controller: the object's name. For
        a point in time, ``replayed`` gets what the change stream adds (the replay's file and figures)."""
        answer = self._execute_module(module_name="raftops.etcd.etcd_backup_target", module_args=dict(
            state="fetched", target=params["target"], name=params["name"], dest=dest, key_file=params["key_file"],
            cluster=params["cluster"], members=params["members"], point=params["point"]), task_vars=task_vars)
        warnings.extend(answer.get("warnings") or [])
        if answer.get("failed"):
            raise FetchError(answer.get("msg") or "fetching from target %s failed" % params["target"].get("name"))
        if point_given(params["point"]):
            replayed.update({k: answer[k] for k in REPLAYED})
        return answer["object"]

    def _point_from_ssh(self, params, dest, warnings, replayed):
        """A point in time from an SSH target: the full backup and the segments read on its host, chosen,
        verified, decrypted and decoded here as from an S3 target (backup_target.point_fetched); the
        full backup's name. ``replayed`` gets what the change stream adds."""
        here = Here(dict(params, dest=dest), False)
        try:
            answer = backup_target.point_fetched(here, fetch.SshObjects(params["target"], self._as_root))
        finally:
            warnings.extend(here.warnings)
        replayed.update({k: answer[k] for k in REPLAYED})
        return answer["object"]

    def _from_ssh(self, params, made, dest, warnings):
        """The backups' heads read on the host, the one to take chosen, read, verified and decrypted
        here: the object's name. The encrypted copy is removed once decrypted."""
        target = params["target"]
        where = "target %s (%s:%s)" % (target["name"], target.get("host"), target["path"])
        heads = etcd_backup_plan.parse_heads(self._as_root(fetch.list_command(target, crypto.MAX_HEAD_SIZE),
                                                           "listing the backups of " + where))
        key = crypto.load_key(params["key_file"])[0] if heads else None
        signers = crypto.cluster_signers(key, params["members"]) if heads else {}
        choice = etcd_backup_plan.fetch_object(target, params["name"], etcd_backup_plan.read_heads(heads, key),
                                               params["cluster"], signers)
        warnings.extend("latest: skipped %s" % why for why in choice["skipped"])
        if choice["refusal"]:
            raise FetchError(choice["refusal"])
        name = choice["object"]
        what = "object %s on target %s" % (name, target["name"])
        sealed = os.path.join(made, name)
        with open(sealed, "wb") as copy:
            copy.write(fetch.decoded(self._as_root(fetch.read_command(target, name), "reading %s" % what), what))
        try:
            crypto.decrypt_file(sealed, dest, key, signers, what=what, name=name, cluster=params["cluster"])
        finally:
            os.remove(sealed)
        return name

    def _as_root(self, command, doing):
        """The output of the shell ``command`` on the task's host (through become)."""
        done = self._low_level_execute_command(command, sudoable=True)
        if done.get("rc") != 0:
            said = (done.get("stderr") or done.get("stdout") or "").strip()
            raise FetchError("%s failed (rc=%s): %s" % (doing, done.get("rc"), said))
        return done.get("stdout") or ""
