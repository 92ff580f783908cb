# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_backup_plan: the plan steps of the backup, of a restore's fetch from
an off-host target and of the restore drill, made on the controller from what the role's tasks read.
It decides with plugins/module_utils/backup/backup_plan.py; it reads the controller's backup
directory and the key file; its source step asks etcd_health on the task's host; its seal step seals
the snapshot as raftops.etcd.etcd_backup_target's state sealed does, and shows the line that reports
it in the run's output (module_utils/backup/backup_plan.py's sealed_report)."""

import glob
import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.utils.display import Display

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_plan as etcd_backup_plan
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target
from ansible_collections.raftops.etcd.plugins.plugin_utils.backup_target import run_here
from ansible_collections.raftops.etcd.plugins.plugin_utils.plan_action import PlanAction

# The steps whose answer holds etcd_backup_targets, credentials included.
WITH_TARGETS = ("source", "record", "seal", "fetch")

display = Display()


def _text(path):
    """The text of the controller's file ``path``, '' when there is none."""
    if not os.path.isfile(path):
        return ""
    with open(path, encoding="utf-8") as source:
        return source.read()


class ActionModule(PlanAction):
    MODULE = "raftops.etcd.etcd_backup_plan"
    ERRORS = (*PlanAction.ERRORS, OSError, crypto.BackupCryptoError)

    def argument_spec(self):
        return etcd_backup_plan.argument_spec()

    def answer(self, result, plan, params):
        warnings = plan.pop("warnings", [])
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        if plan.pop("failed", False):
            result.update(failed=True, changed=False, msg=plan["msg"])
            return result
        # A refusal shows no plan: it may hold the targets' credentials.
        if params["refuse"] and plan.get("refusal"):
            result.update(failed=True, changed=False, msg=plan["refusal"], refusal=plan["refusal"])
            return result
        # The seal writes the sealed copy: changed, as etcd_backup_target reports it; the other steps write nothing.
        result.update(plan, changed=bool(plan["sealed"].get("changed")) if params["stage"] == "seal" else False)
        if params["stage"] in WITH_TARGETS:
            # The S3 targets' keys are in the plan: its result is hidden (-v and up), the registered plan is not.
            result["_ansible_no_log"] = True
        return result

    def _source(self, params, settings, task_vars):
        """Asks etcd_health on the task's host which of settings.endpoints answer (with the task's
        connection), then chooses the source from that answer."""
        health = self._execute_module(module_name="raftops.etcd.etcd_health", task_vars=task_vars,
                                      module_args=dict(params["connection"], endpoints=settings.get("endpoints") or []))
        if health.get("failed") or health.get("unreachable"):
            # Only its message: the module's invocation holds the connection.
            return dict(failed=True, msg="the health of the members could not be read: %s; nothing was changed"
                        % health.get("msg", "no answer"))
        return etcd_backup_plan.plan_source(health, params["members"], task_vars.get("ansible_play_hosts") or [],
                                            self._targets(settings, task_vars), settings.get("cluster") or "")

    @staticmethod
    def _record(params, settings, task_vars):
        """The backup's plan with the record the playbook writes beside the snapshot (settings.saved)."""
        plan = params["plan"]
        return dict(plan, record=etcd_backup_plan.backup_record(settings["saved"], plan["name"]))

    def _seal(self, params, settings, task_vars):
        """The backup's plan with ``sealed``: etcd_backup_target's state=sealed result for its snapshot
        (settings.src), worked out in this process as that module's action does it."""
        del task_vars  # the seal reads the controller's files only
        validated = ArgumentSpecValidator(backup_target.argument_spec()).validate(etcd_backup_plan.seal_arguments(
            params["plan"], settings.get("src"), settings.get("key_file"), settings.get("cluster")))
        if validated.error_messages:
            raise ValueError("; ".join(validated.error_messages))
        sealed = run_here(validated.validated_parameters, bool(self._task.check_mode))
        warnings = sealed.pop("warnings", [])
        if sealed.get("failed"):
            return dict(failed=True, msg=sealed["msg"], warnings=warnings)
        if not self._task.check_mode:
            display.display(etcd_backup_plan.sealed_report(sealed, settings.get("key_file")))
        return dict(params["plan"], sealed=sealed, warnings=warnings)

    def _fetch(self, params, settings, task_vars):
        return etcd_backup_plan.plan_fetch(self._targets(settings, task_vars), settings.get("cluster") or "",
                                           settings.get("target"))

    def _targets(self, settings, task_vars):
        """settings.targets, else the play's etcd_backup_targets, read here: the role's tasks give none, so
        that the S3 targets' keys are not in the task's arguments (what a callback that records tasks keeps)."""
        if "targets" in settings:
            return settings["targets"] or []
        targets = task_vars.get("etcd_backup_targets")
        return self._templar.template(targets) if targets else []

    @staticmethod
    def _drill_snapshot(params, settings, task_vars):
        backup_dir = os.path.expanduser(str(settings.get("backup_dir") or ""))
        found = glob.glob(os.path.join(glob.escape(backup_dir), "etcd-snapshot-*.db")) if backup_dir else []
        return etcd_backup_plan.drill_snapshot(settings.get("fetched"), settings.get("snapshot"), backup_dir,
                                               found, lambda path: _text(path + ".json"))
