# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_plan: the plan of a deploy run, a removal, a maintenance, a CA
rotation's phase, a restore or a quorum recovery, made on the controller.

It reads what the role's tasks gathered in the hosts' variables (each play host's read, the
restarts noted on the members), adds the settings given (for a removal, the CA certificate in
etcd_pki_dir, read on the controller), and returns what plugins/module_utils/etcd_plan.py (a restore and a
quorum recovery: etcd_recovery_plan.py) decides from them. Nothing is asked of a host.
"""

import hashlib
import os
import secrets
import string
from datetime import datetime, timezone

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.filter.etcd import _member_name as member_name, members as member_records
from ansible_collections.raftops.etcd.plugins.module_utils import etcd_operation_plan, etcd_plan, etcd_recovery_plan

# A generated cluster token: the group's name and 16 random lowercase letters and digits.
TOKEN_CHARS = string.ascii_lowercase + string.digits


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        task_vars = task_vars or {}
        validated = ArgumentSpecValidator(etcd_plan.argument_spec()).validate(self._task.args)
        if validated.error_messages:
            result.update(failed=True, changed=False, msg="raftops.etcd.etcd_plan: %s" % "; ".join(validated.error_messages))
            return result
        params = validated.validated_parameters
        play_hosts = list(task_vars.get("ansible_play_hosts") or [])
        hostvars = task_vars.get("hostvars") or {}
        members = params["members"]
        previous = {key: value for key, value in params["plan"].items() if key not in ("changed", "failed", "invocation")}
        try:
            if params["stage"] == "hosts":
                settings = dict(params["settings"])
                settings.setdefault("forks", task_vars.get("ansible_forks"))
                if not settings.get("cluster_token"):
                    settings["generated_token"] = "%s-%s" % (
                        settings.get("group") or "etcd", "".join(secrets.choice(TOKEN_CHARS) for dummy in range(16)))
                plan = etcd_plan.plan_hosts(members, self._host_values(hostvars, play_hosts, params["report_var"]),
                                            play_hosts, task_vars.get("ansible_play_hosts_all") or play_hosts, settings)
            elif params["stage"] == "cluster":
                plan = etcd_plan.plan_cluster(previous, members, params["health"],
                                              self._host_values(hostvars, play_hosts, params["report_var"]),
                                              params["settings"])
            elif params["stage"] == "converge":
                with_data = previous.get("with_data") or []
                plan = etcd_plan.plan_converge(previous, self._host_values(hostvars, with_data, params["report_var"]),
                                               self._host_values(hostvars, with_data, params["outdated_var"]),
                                               str(params["settings"].get("restart_note_path") or ""))
            elif params["stage"].startswith(("restore", "recovery")):
                plan = self._plan_recovery(params, previous, task_vars, hostvars, play_hosts)
            elif params["stage"] == "removal":
                plan = self._plan_removal(params, task_vars, hostvars, play_hosts)
            elif params["stage"] == "removal_check":
                member_ca = {host: ((read or {}).get("stat") or {}).get("checksum") or ""
                             for host, read in self._host_values(hostvars, previous.get("with_data") or [],
                                                                 params["ca_var"]).items()}
                settings = dict(params["settings"], pki_ca=self._controller_ca(params["settings"].get("pki_dir")))
                plan = etcd_plan.plan_removal_check(previous, params["membership"].get("members"), member_ca, settings)
            elif params["stage"] == "maintenance":
                plan = etcd_operation_plan.plan_maintenance(params["maintenance"], members, play_hosts,
                                                            task_vars.get("ansible_play_hosts_all") or play_hosts)
            elif params["stage"] == "rotation":
                with_data = previous.get("with_data") or []
                plan = etcd_operation_plan.plan_rotation(
                    previous, params["rotation"], self._host_values(hostvars, with_data, params["ca_file_var"]),
                    self._host_values(hostvars, with_data, params["started_var"]), play_hosts, params["settings"])
            else:
                restart_due = self._host_values(hostvars, previous.get("with_data") or [], params["restart_var"])
                plan = etcd_plan.plan_roll(previous, members, restart_due, params["leader"], params["rotation_phase"])
        except (etcd_plan.PlanError, etcd_recovery_plan.PlanError, KeyError, AnsibleFilterError) as exc:
            result.update(failed=True, changed=False, msg="raftops.etcd.etcd_plan: cannot plan the %s step: %s"
                          % (params["stage"], exc))
            return result
        result.update(plan, changed=False)
        return result

    def _plan_removal(self, params, task_vars, hostvars, play_hosts):
        """The removal's first step: the group's hosts by member name, the records of those that
        answered (a dead host has no address to give), and which did not."""
        settings = params["settings"]
        group_hosts = list((task_vars.get("groups") or {}).get(settings.get("group") or "etcd") or [])
        reads = self._host_values(hostvars, play_hosts, params["facts_var"])
        unreachable = [host for host, read in reads.items() if (read or {}).get("unreachable")]
        answered = [host for host in group_hosts if host in play_hosts and host not in unreachable]
        return etcd_plan.plan_removal(params["requested"], [dict(host=host, name=member_name(hostvars, host))
                                                            for host in group_hosts],
                                      member_records(answered, hostvars) if answered else [], play_hosts,
                                      task_vars.get("ansible_play_hosts_all") or play_hosts, unreachable, settings)

    def _plan_recovery(self, params, previous, task_vars, hostvars, play_hosts):
        """The steps of a restore and of a quorum recovery (module_utils/etcd_recovery_plan.py): the
        group's hosts and what each reported, the member names, a new token and the time."""
        stage, settings = params["stage"], dict(params["settings"])
        group_hosts = list((task_vars.get("groups") or {}).get(settings.get("group") or "etcd") or [])
        if stage == "restore":
            return etcd_recovery_plan.plan_restore(group_hosts, play_hosts,
                                                   task_vars.get("ansible_play_hosts_all") or play_hosts, settings)
        if stage == "restore_members":
            settings.update(check_mode=self._task.check_mode, stamp=self._stamp(), token="%s-restored-%s" % (
                settings.get("group") or "etcd", "".join(secrets.choice(TOKEN_CHARS) for dummy in range(12))))
            data_dirs = {host: ((read or {}).get("stat") or {}).get("exists")
                         for host, read in self._host_values(hostvars, previous["hosts"], params["data_dir_var"]).items()}
            return etcd_recovery_plan.plan_restore_members(previous, params["members"], data_dirs, settings)
        if stage in ("restore_check", "restore_start"):
            # Read on every host of the group: one that dropped out of the play keeps what it reported.
            reported = self._host_values(hostvars, group_hosts, params["problem_var"])
            if stage == "restore_check":
                return etcd_recovery_plan.plan_restore_check(previous, group_hosts, play_hosts, reported)
            old_cluster = {} if params["health"].get("skipped") else params["health"]
            return etcd_recovery_plan.plan_restore_start(previous, group_hosts, play_hosts, reported, old_cluster,
                                                         settings)
        survivors = etcd_recovery_plan.survivors_of(self._host_values(hostvars, play_hosts, params["read_var"]),
                                                    play_hosts)
        if stage == "recovery_logs":
            return etcd_recovery_plan.plan_recovery_logs(survivors, settings)
        health = {} if params["health"].get("skipped") else params["health"]
        settings.update(stamp=self._stamp(), stopped=play_hosts)
        return etcd_recovery_plan.plan_recovery(previous, health, survivors, group_hosts,
                                                {host: member_name(hostvars, host) for host in group_hosts}, settings)

    @staticmethod
    def _stamp():
        return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    @staticmethod
    def _controller_ca(pki_dir):
        """The SHA-256 of the CA certificate in etcd_pki_dir on the controller, '' without one."""
        try:
            with open(os.path.join(os.path.expanduser(str(pki_dir or "")), "ca.pem"), "rb") as ca:
                return hashlib.sha256(ca.read()).hexdigest()
        except OSError:
            return ""

    @staticmethod
    def _host_values(hostvars, hosts, name):
        """host -> the value of variable ``name`` there, for the hosts that have it."""
        values = {}
        for host in hosts:
            if host in hostvars and name in hostvars[host]:
                values[host] = hostvars[host][name]
        return values
