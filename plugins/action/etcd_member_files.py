# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_member_files: a member's settings, unit and start script rendered
here, and a host whose files are all as asked is not called.

With member, the member's directories, certificates, settings, unit, start script and bootstrap or join settings are rendered
on the controller from its few inputs (plugins/module_utils/host/member_config.py) and written with
the files given. With host_files, what etcd_host_info read of the host's paths earlier, a call that
would change nothing (every run after the first, for most members) is answered here. With service,
the unit is then loaded and enabled when it changed or is not enabled, in the same task. With timers,
those whose files changed restart and those not running or not enabled start, after the files, in the
same task; the result says which (timers_to_start). With restart_note, the member's
note of a restart due is written, and the result says whether it restarts in this run (restart). A call with nothing to write is answered here.
Anything else, or a doubt, runs the module as without it (plugins/module_utils/host/member_files_state.py
decides).
"""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.raftops.etcd.plugins.module_utils.host.member_config import MemberConfigError, member_files
from ansible_collections.raftops.etcd.plugins.module_utils.host.member_files_state import (
    restarts, service_enabled, timers_to_start, unchanged)
from ansible_collections.raftops.etcd.plugins.plugin_utils.host_read import HostReadAction
from ansible_collections.raftops.etcd.plugins.plugin_utils.managed import managed_header

TIMERS_SPEC = dict(timers=dict(type="list", elements="dict", options=dict(
    name=dict(type="str", required=True),
    paths=dict(type="list", elements="str", required=True),
    running=dict(type="bool", required=True))))
RESTART_NOTE_SPEC = dict(restart_note=dict(type="dict", options=dict(
    path=dict(type="str", required=True),
    due=dict(type="bool", default=False),
    present=dict(type="list", elements="str", default=[]))))
NOTE_CONTENT = "etcd here runs with outdated binaries, settings or certificates; the role restarts it and removes this note\n"
# What the module would do with none of these: nothing.
WRITES = ("directories", "files", "private_files", "activate", "absent")


class ActionModule(HostReadAction):
    MODULE = "raftops.etcd.etcd_member_files"
    READ_OPTION = "host_files"

    def run(self, tmp=None, task_vars=None):
        args = dict(self._task.args)
        member = args.pop("member", None)
        if member:
            if "header" not in member:
                member = dict(member, header=managed_header(self._templar, task_vars))
            try:
                # Check mode before the first deploy: etcd_pki only reported the files it would make.
                directories, files, private_files = member_files(member, missing_ok=bool(self._play_context.check_mode))
            except (MemberConfigError, KeyError, TypeError) as e:
                return dict(failed=True, changed=False, msg="raftops.etcd.etcd_member_files: member: %s" % (
                    e if isinstance(e, MemberConfigError) else "%s is missing or not of its type" % e))
            args["directories"] = directories + list(args.get("directories") or [])
            args["files"] = files + list(args.get("files") or [])
            args["private_files"] = private_files + list(args.get("private_files") or [])
        service = args.pop("service", None)
        timers = args.pop("timers", None)
        note = args.pop("restart_note", None)
        try:
            timers = self._validated(TIMERS_SPEC, "timers", timers)
            note = self._validated(RESTART_NOTE_SPEC, "restart_note", note)
        except ValueError as e:
            return dict(failed=True, changed=False, msg="raftops.etcd.etcd_member_files: %s; nothing was changed" % e)
        if note is not None and note["due"]:
            # Not what etcd reads: writing it is no reason for a restart of its own (restart_needed).
            args["files"] = [*(args.get("files") or []), dict(
                path=note["path"], content=NOTE_CONTENT, owner="root", group="root", mode="0644", restart=False)]
        self._task.args = args
        result = super().run(tmp, task_vars)
        if service and not result.get("failed"):
            self._enable(service, (member or {}).get("server") or {}, result, task_vars)
        if timers is not None and not result.get("failed"):
            result["timers_to_start"] = timers_to_start(timers, result.get("changed_paths") or [],
                                                        bool(self._play_context.check_mode))
            self._start(result, task_vars)
        if note is not None and not result.get("failed"):
            result["restart"] = restarts(note["path"], result.get("changed_paths") or [], note["present"])
        unit_path = ((member or {}).get("server") or {}).get("unit_path")
        if unit_path and not result.get("failed"):
            # In check mode a unit that would be written is not on the host: systemd cannot start it.
            result["unit_unwritten"] = bool(self._play_context.check_mode) and unit_path in (result.get("changed_paths") or [])
        return result

    @staticmethod
    def _validated(spec, name, value):
        """``value`` of option ``name`` checked against ``spec``, or None when not given; ValueError
        with the validator's messages when it does not fit."""
        if value is None:
            return None
        validated = ArgumentSpecValidator(spec).validate({name: value})
        if validated.error_messages:
            raise ValueError("; ".join(validated.error_messages))
        return validated.validated_parameters[name]

    def _enable(self, service, server, result, task_vars):
        """Reload systemd when the unit changed and enable the service when it is not (the host read
        found no link of its WantedBy=); nothing in check mode for a unit that is not written yet,
        which systemd cannot load. A staged unit is loaded by the roll step that puts it in place."""
        unit_changed = server.get("unit_path") in (result.get("changed_paths") or [])
        if not unit_changed and service_enabled(service):
            return
        if unit_changed and self._play_context.check_mode:
            return
        enabled = self._execute_module(module_name="ansible.builtin.systemd_service", task_vars=task_vars,
                                       module_args=dict(name=service["name"], enabled=True, daemon_reload=unit_changed))
        if enabled.get("failed"):
            result.update(failed=True, msg="enabling %s: %s" % (service["name"], enabled.get("msg")))
        result["changed"] = bool(result.get("changed") or enabled.get("changed"))

    def _start(self, result, task_vars):
        """Start or restart, and enable, each timer of the result's timers_to_start, in its order; the
        first that fails fails the call, naming it."""
        for timer in result["timers_to_start"]:
            name = "%s.timer" % timer["name"]
            started = self._execute_module(module_name="ansible.builtin.systemd_service", task_vars=task_vars, module_args=dict(
                name=name, state=timer["state"], enabled=True, daemon_reload=timer["daemon_reload"]))
            result["changed"] = bool(result.get("changed") or started.get("changed"))
            if started.get("failed"):
                result.update(failed=True, msg="starting %s: %s" % (name, started.get("msg")))
                return

    def call_host(self, args, read, task_vars):
        if not any(args.get(key) for key in WRITES):
            # Nothing to write (a member with no restart to note): the module would change nothing.
            return self._unchanged_result()
        return super().call_host(args, read, task_vars)

    def answer(self, read, args):
        if not unchanged(read, args.get("directories") or [], args.get("files") or [], args.get("private_files") or [],
                         args.get("stage_dir"), args.get("activate") or [], args.get("absent") or []):
            return None
        return self._unchanged_result()

    def _unchanged_result(self):
        result = dict(changed=False, changed_paths=[], staged_paths=[], restart_needed=False)
        if self._task.diff:
            result["diff"] = []
        return result
