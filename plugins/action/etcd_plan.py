# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_plan, the roles' one plan action: each stage of a deploy run, a removal,
a maintenance, a CA rotation's phase, a restore, a quorum recovery, the status, the members' timers, a
DNS SRV bootstrap's records, the proxy role, a roll that stopped, the backup, a restore's fetch from an
off-host target and the restore drill, made on the controller. One table (``_planners``) names the
planner of each stage.

It reads what the role's tasks gathered in the hosts' variables (each play host's read, the
restarts noted on the members), adds the settings given and the controller's files (for a removal,
the CA certificate in etcd_pki_dir; the backup directory and the key file), and returns what
plugins/module_utils/plan/ (plan.py, operation_plan.py, recovery_plan.py, proxy_plan.py),
module_utils/pki/pki_plan.py and module_utils/backup/backup_plan.py decide from them. What a stage
asks, it asks on the task's host: the cluster (etcd_health, through ``_etcd_health``: preflight's read,
a bootstrap's wait, a status, a roll's leader, a restore's old revisions, a recovery's question; a
backup's source; etcd_lock's action for preflight's read under the run lock),
a removal's members (etcd_member_info), a restore's or a drill's snapshot file (etcd_snapshot_info) or a proxy's
/health (ansible.builtin.uri on the proxy host); the DNS SRV stage resolves the records on the
controller; a removal's revocation has etcd_pki (its action) revoke the removed members'
certificates; the proxy_files stage has etcd_member_files (its action) write a proxy's files; the
seal stage seals the snapshot as raftops.etcd.etcd_backup_target's state sealed does, and shows the
line that reports it in the run's output (backup_plan.py's sealed_report).
"""

import glob
import hashlib
import os
import secrets
import string
import time
from datetime import datetime, timezone

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_plan as etcd_backup_plan
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import roll as etcd_roll
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.members import _member_name as member_name, members as member_records
from ansible_collections.raftops.etcd.plugins.module_utils.plan.sizing import hardware_findings, suggested_timeouts
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.status_advice import status_advice, status_lines
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import truthy
from ansible_collections.raftops.etcd.plugins.module_utils.host import host_checks as etcd_host_checks
from ansible_collections.raftops.etcd.plugins.module_utils.host.files import read_text
from ansible_collections.raftops.etcd.plugins.module_utils.host.proxy_args import proxy_args
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import lock_tags_selected
from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_plan as etcd_pki_plan
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_rotation import rotation_status
from ansible_collections.raftops.etcd.plugins.module_utils.plan import operation_plan as etcd_operation_plan
from ansible_collections.raftops.etcd.plugins.module_utils.plan.adopt import adopt_plan
from ansible_collections.raftops.etcd.plugins.module_utils.plan import plan as etcd_plan
from ansible_collections.raftops.etcd.plugins.module_utils.plan import proxy_plan as etcd_proxy_plan
from ansible_collections.raftops.etcd.plugins.module_utils.plan import recovery_plan as etcd_recovery_plan
from ansible_collections.raftops.etcd.plugins.module_utils.client.dns import srv_service
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import installed_local_endpoint
from ansible_collections.raftops.etcd.plugins.plugin_utils.arguments import task_params
from ansible_collections.raftops.etcd.plugins.plugin_utils.backup_target import run_here
from ansible_collections.raftops.etcd.plugins.plugin_utils.connection import RoleVars, role_connection
from ansible_collections.raftops.etcd.plugins.plugin_utils.managed import managed_header

# A generated cluster token: the group's name and 16 random lowercase letters and digits.
TOKEN_CHARS = string.ascii_lowercase + string.digits

# What a step raises that makes a refusal to plan it, not a traceback.
PLAN_ERRORS = (ValueError, KeyError, TypeError, AnsibleError, OSError, crypto.BackupCryptoError)

# The role settings an adoption takes from the play (none where the inventory leaves them unset: the
# role's defaults then), and the role's defaults its inventory lines are compared with (only these:
# the others name variables the adopt playbook's play does not have).
ADOPT_SETTINGS = ("etcd_instance", "etcd_config_dir", "etcd_tls", "etcd_version", "etcd_pki_managed", "etcd_user")
ADOPT_DEFAULTS = ("etcd_version", "etcd_data_dir", "etcd_wal_dir", "etcd_user", "etcd_peer_port", "etcd_client_port",
                  "etcd_pki_managed", "etcd_pki_dir")
ROLE_DEFAULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "roles", "etcd", "defaults", "main.yml")

# The fields a step refuses on, the first one set (the others' refusal): the hosts step that read the
# cluster as well refuses on either of its refusals, its own first.
REFUSAL_FIELDS = dict(hosts=("refusal", "cluster_refusal"), cluster=("cluster_refusal",))

# The steps whose plan holds etcd_backup_targets, credentials included.
WITH_SECRETS = ("source", "record", "seal", "fetch")

display = Display()


def snapshot_files(directory):
    """The snapshots in ``directory`` on the controller (etcd_backup_dir), each as
    ansible.builtin.find would list it (path, mtime, size); none when there is no such directory."""
    files = []
    for path in sorted(glob.glob(os.path.join(glob.escape(os.path.expanduser(str(directory or ""))),
                                              "etcd-snapshot-*.db"))):
        try:
            if os.path.isfile(path):
                stat = os.stat(path)
                files.append(dict(path=path, mtime=stat.st_mtime, size=stat.st_size))
        except OSError:
            continue
    return files


class ActionModule(ActionBase):
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        params = task_params(result, "raftops.etcd.etcd_plan", etcd_plan.argument_spec(), self._task.args)
        if params is None:
            return result
        stage = params["stage"]
        previous = {key: value for key, value in params["plan"].items() if key not in ("changed", "failed", "invocation")}
        try:
            plan = self._planners()[stage](params, previous, task_vars)
        except AnsibleConnectionFailure:
            # A step that reads its host (rotation_read) and finds it gone: Ansible reports the host
            # unreachable and leaves it out of the run, as for any other task, not as a failed plan.
            raise
        except PLAN_ERRORS as exc:
            result.update(failed=True, changed=False, msg="raftops.etcd.etcd_plan: cannot plan the %s step: %s"
                          % (stage, exc))
            if "run_lease_id" in previous:
                # The lease of the run lock this run holds: main.yml's end releases it by the registered plan.
                result["run_lease_id"] = previous["run_lease_id"]
            return result
        return self._answer(result, stage, plan, params["refuse"])

    def _planners(self):
        """stage -> its planner, called with the task's parameters, the plan of the step before (O(plan)
        without the task's own keys) and the task's variables; it returns the step's plan."""
        return {
            "hosts": self._stage_hosts, "cluster": self._stage_cluster, "converge": self._stage_converge,
            "roll": self._stage_roll, "removal": self._stage_removal, "removal_check": self._stage_removal_check,
            "revocation": self._stage_revocation, "maintenance": self._stage_maintenance,
            "rotation_read": self._stage_rotation_read, "rotation": self._stage_rotation,
            "restore": self._stage_recovery, "restore_members": self._stage_recovery,
            "restore_check": self._stage_recovery, "restore_start": self._stage_recovery,
            "recovery_logs": self._stage_recovery, "recovery": self._stage_recovery,
            "status": self._stage_status, "status_report": self._stage_status_report,
            "deployed": self._stage_deployed, "hardware": self._stage_hardware, "bootstrap": self._stage_bootstrap,
            "schedule": self._stage_schedule, "srv": self._stage_srv, "roll_stop": self._stage_roll_stop,
            "proxy_group": self._stage_proxy_group, "proxy_settings": self._stage_proxy_settings,
            "proxy_reach": self._stage_proxy_reach, "proxy_pki": self._stage_proxy_pki,
            "proxy_files": self._stage_proxy_files, "proxy_health": self._stage_proxy_health,
            "proxy_status": self._stage_proxy_status,
            "source": self._stage_source, "record": self._stage_record, "seal": self._stage_seal,
            "fetch": self._stage_fetch, "drill_snapshot": self._stage_drill_snapshot, "drill_point": self._stage_drill_point,
            "adoption": self._stage_adoption,
        }

    @staticmethod
    def _answer(result, stage, plan, refuse):
        """The task's result: the plan, changed only as a step that writes says (its ``changed``); failed
        with its message when a step that asked something failed (its ``failed``), or with its refusal
        when the task asks to refuse (V(hosts): not while the refused reads wait to be asked again as root)."""
        warnings = plan.pop("warnings", [])
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        failed = plan.pop("failed", False)
        refusal = next((plan[field] for field in REFUSAL_FIELDS.get(stage, ("refusal",)) if plan.get(field)), "")
        if failed or (refuse and refusal and not plan.get("root_read_pending")):
            # A failure of a step whose plan holds secrets shows only its message.
            shown = plan if stage not in WITH_SECRETS else {} if failed else dict(refusal=refusal)
            result.update(shown, failed=True, changed=False, msg=plan.get("msg") if failed else refusal)
            return result
        result.update(plan, changed=bool(plan.pop("changed", False)))
        if stage in WITH_SECRETS:
            # The S3 targets' keys are in the plan: its result is hidden (-v and up), the registered plan is not.
            result["_ansible_no_log"] = True
        return result

    def _connection_options(self, params, task_vars):
        """How a stage's calls reach etcd: the connection given, else (the role gives none) the options
        of the group raftops.etcd.etcd for the task's host, as the entry task files' module_defaults
        have them (the lookup raftops.etcd.etcd_connection: plugins/plugin_utils/connection.py), worked
        out once per task into ``params``: a step that calls etcd more than once templates the host's
        settings and reads the login pair's files once."""
        if not params["connection"]:
            params["connection"] = role_connection(RoleVars(self._templar, task_vars))
        return params["connection"]

    def _deploy_settings(self, params, task_vars):
        """The settings of preflight's steps (hosts, cluster): those given, else (the role gives none)
        read here from the role's variables of the task's host, so that preflight's three calls of
        these steps plan with the same settings."""
        if params["settings"]:
            return params["settings"]
        role = RoleVars(self._templar, task_vars)
        host = role("_etcd_host")
        return dict(
            version=role("etcd_version"), discard_foreign_data=role("etcd_discard_foreign_data"),
            cluster_token=role("etcd_cluster_token"), group=role("etcd_group"),
            preflight_hardware=role("etcd_preflight_hardware"), auth_enabled=role("etcd_auth_enabled"),
            roles=role("etcd_roles"), users=role("etcd_users"), root_login=bool(role("etcd_auth_root_password")),
            tls=role.flag("etcd_tls"), pki_managed=role.flag("etcd_pki_managed"),
            bootstrap_checks=role.flag("etcd_auto_tls") or role("etcd_bootstrap") != "static",
            # What etcd_pki is given (the plan's pki, pki_issue.yml).
            pki=host["pki_settings"],
            # The cluster's read, and the refusal once it is read; the member a quorum recovery grew
            # from (playbooks/recover_quorum.yml), whose keyspace every member must hold: named by the
            # plan registered before (the recovery's, or this run's first step's).
            allow_downgrade=role("etcd_allow_downgrade"),
            hash_reference=etcd_plan.hash_reference_after(task_vars.get("_etcd_plan")),
            pki_replace_ca=role("etcd_pki_replace_ca"), pki_rotate_ca=role("etcd_pki_rotate_ca"),
            downgrade_cancel=role.flag("etcd_downgrade_cancel"), quota_bytes=int(role("etcd_quota_backend_bytes")),
            # The run lock, taken in the same call as the read (run_lock.yml says why); the holder: this
            # run, named by etcd_lock's action (plugins/plugin_utils/run_lock.py).
            run_lock=role.flag("etcd_run_lock"), lock_prefix=host["run_lock_prefix"],
            lock_ttl=role("etcd_run_lock_ttl"), lock_wait=role("etcd_run_lock_wait"))

    def _stage_hosts(self, params, previous, task_vars):
        del previous  # the first step
        given = self._deploy_settings(params, task_vars)
        settings = dict(given)
        settings.setdefault("forks", task_vars.get("ansible_forks"))
        settings.setdefault("group_hosts", self._group_hosts(task_vars, settings))
        if not settings.get("cluster_token"):
            settings["generated_token"] = "%s-%s" % (
                settings.get("group") or "etcd", "".join(secrets.choice(TOKEN_CHARS) for dummy in range(16)))
        settings.setdefault("check_mode", bool(task_vars.get("ansible_check_mode")))
        hostvars, play_hosts = self._hostvars(task_vars), self._play_hosts(task_vars)
        plan = self._plan_hosts(params["members"], self._host_reports(hostvars, play_hosts, params["report_var"]),
                                hostvars, play_hosts, task_vars.get("ansible_play_hosts_all") or play_hosts, settings)
        # One call for both steps when nothing is left to check before the cluster is read (preflight_checks)
        # and this step runs on the host the cluster is read from (a new cluster has none to read);
        # else preflight.yml's cluster step reads it there (cluster_pending).
        read_here = plan["bootstrap"] or plan["read_host"] == (self._task.delegate_to or task_vars.get("inventory_hostname"))
        if plan["refusal"] or plan["preflight_checks"] or not read_here:
            return dict(plan, cluster_pending=True)
        return self._plan_cluster(params, plan, given, task_vars)

    def _stage_cluster(self, params, previous, task_vars):
        """Reads the cluster on the task's host (preflight.yml delegates the step to the plan's read_host)."""
        return self._plan_cluster(params, previous, self._deploy_settings(params, task_vars), task_vars)

    def _plan_cluster(self, params, plan, settings, task_vars):
        """The plan with the running cluster: read (``_read_cluster``), planned from that read, with the
        refusal once it is read (cluster_refusal); the read (cluster_read) and the lease of the run lock
        taken with it (run_lease_id, which main.yml's end releases) go on in the plan."""
        lock_read, health = self._read_cluster(self._connection_options(params, task_vars), plan, settings, task_vars)
        plan = etcd_plan.plan_cluster(plan, params["members"], health, self._host_reports(
            self._hostvars(task_vars), self._play_hosts(task_vars), params["report_var"]), settings)
        plan.update(cluster_pending=False, cluster_read=health, run_lease_id=str(lock_read.get("lease_id") or ""))
        # What the lock says (a lock taken over from a run that died) is the step's warning, as it was the lock task's.
        plan["warnings"] = list(plan.get("warnings") or []) + list(lock_read.get("warnings") or [])
        plan["cluster_refusal"] = etcd_host_checks.cluster_refusal(
            plan, settings.get("version"), settings.get("downgrade_cancel"), lock_read)
        return plan

    def _read_cluster(self, connection, plan, settings, task_vars):
        """(lock_read, health): the running cluster read on the task's host through the plan's
        stable_client_urls. A run that changes hosts (settings.run_lock, not in check mode, the tags of a
        phase that changes hosts selected) reads it with etcd_lock in the call that takes the run lock,
        so that no other run changes it between the read and this run's changes; else etcd_health reads
        it. A failed read is the answer too. A new cluster has nothing to read: no lock, a skipped read."""
        if plan["bootstrap"]:
            return {}, dict(skipped=True)
        question = dict(connection, endpoints=plan["stable_client_urls"], quota_bytes=settings.get("quota_bytes"))
        if not (truthy(settings.get("run_lock")) and not task_vars.get("ansible_check_mode") and lock_tags_selected(
                task_vars.get("ansible_run_tags"), task_vars.get("ansible_skip_tags"))):
            return {}, self._etcd_health(task_vars, connection, **question)
        lock_read = self._run_action("raftops.etcd.etcd_lock", dict(
            question, read_cluster=True, prefix=settings.get("lock_prefix"), name="run", ttl=settings.get("lock_ttl"),
            wait_timeout=settings.get("lock_wait")), task_vars)
        lock_read = {key: value for key, value in lock_read.items() if key != "invocation"}
        # No cluster in the lock's answer (it failed before reading): the read is skipped, the refusal names the lock.
        return lock_read, etcd_operation_plan.cluster_read(dict(skipped=True), lock_read)

    def _stage_converge(self, params, previous, task_vars):
        with_data = previous.get("with_data") or []
        hostvars = self._hostvars(task_vars)
        settings = dict(params["settings"])
        settings.setdefault("check_mode", bool(task_vars.get("ansible_check_mode")))
        outdated = self._outdated(hostvars, with_data, previous, params["outdated_var"])
        plan = etcd_plan.plan_converge(previous, self._host_reports(hostvars, with_data, params["report_var"]),
                                       outdated, str(settings.get("restart_note_path") or ""))
        plan["later_phases"] = etcd_host_checks.later_phases(plan, settings)
        if settings.get("metrics_targets"):
            plan["scrape_targets"] = etcd_plan.scrape_targets(params["members"], settings.get("metrics_port"),
                                                              settings.get("instance"), settings.get("tls"))
        if not plan["later_phases"] and plan.get("status_read") == "preflight" and "status_settings" in settings:
            # Nothing changes in the cluster after preflight's read: the status at the end is that read's,
            # judged now, unless it refuses or waits for the cluster version (status.yml's step then does).
            status = self._plan_status(self._status_read({}, "preflight", previous), self._members_in_run(
                params["members"], task_vars), dict(settings, all_members_in_run=plan.get("all_members_in_run")))
            if not status["refusal"] and not status["version_wait"]:
                plan["status"] = status
        return plan

    def _stage_removal_check(self, params, previous, task_vars):
        member_ca = etcd_plan.removal_member_ca(
            self._host_values(self._hostvars(task_vars), previous.get("with_data") or [], params["report_var"]), previous)
        settings = dict(params["settings"], pki_ca=self._controller_ca(params["settings"].get("pki_dir")))
        return etcd_plan.plan_removal_check(previous, self._removal_members(params, previous, task_vars), member_ca,
                                            settings)

    def _stage_status(self, params, previous, task_vars):
        del previous  # its own read
        settings = dict(params["settings"], check_mode=bool(task_vars.get("ansible_check_mode")))
        in_run = self._members_in_run(params["members"], task_vars)
        plan = self._plan_status(self._status_read(params["health"], settings.get("status_read"), task_vars.get("_etcd_plan") or {}),
                                 in_run, settings)
        if plan["version_wait"]:
            plan = self._version_wait(self._connection_options(params, task_vars), in_run, settings, task_vars)
        return plan

    def _stage_deployed(self, params, previous, task_vars):
        del previous  # the hosts' reads only
        return dict(refusal=etcd_operation_plan.deployed_refusal(
            self._installed(self._hostvars(task_vars), self._play_hosts(task_vars)), params["settings"]))

    def _stage_maintenance(self, params, previous, task_vars):
        del previous  # the first step
        play_hosts = self._play_hosts(task_vars)
        return etcd_operation_plan.plan_maintenance(params["maintenance"], params["members"], play_hosts,
                                                    task_vars.get("ansible_play_hosts_all") or play_hosts)

    def _stage_rotation_read(self, params, previous, task_vars):
        """A member's read for a round of the CA rotation, on the task's host (rotate_ca_phase.yml runs the step on
        every play host, each registering its own plan): when its trusted CA file was written (settings.ca_file,
        ansible.builtin.stat) and when its etcd started (systemctl show of settings.unit). The plan goes on with it
        (rotation_read) where the round reads the host (operation_plan.rotation_read_due), without one elsewhere."""
        plan = {key: value for key, value in previous.items() if key != "rotation_read"}
        if not etcd_operation_plan.rotation_read_due(plan, task_vars.get("inventory_hostname")):
            return plan
        settings = params["settings"]
        ca_file = self._execute_module(module_name="ansible.builtin.stat", task_vars=task_vars, module_args=dict(
            path=settings["ca_file"], get_checksum=False, get_mime=False, get_attributes=False))
        start = self._execute_module(module_name="ansible.builtin.command", task_vars=task_vars, module_args=dict(
            argv=["systemctl", "show", settings["unit"], "-p", "ExecMainStartTimestamp", "--timestamp=unix", "--value"]))
        return dict(plan, rotation_read=dict(ca_file=ca_file, start=start))

    def _stage_rotation(self, params, previous, task_vars):
        """A round of the CA rotation, from the members' reads (each one's plan's rotation_read, the stage
        rotation_read's); the round's plan goes on without the read of the task's host."""
        reads = {host: plan.get("rotation_read") for host, plan in self._host_values(
            self._hostvars(task_vars), previous.get("with_data") or [], "_etcd_plan").items() if isinstance(plan, dict)}
        ca_files, starts = etcd_operation_plan.rotation_reads(reads)
        plan = {key: value for key, value in previous.items() if key != "rotation_read"}
        return etcd_operation_plan.plan_rotation(plan, params["rotation"], ca_files, starts,
                                                 self._play_hosts(task_vars), params["settings"])

    def _stage_roll(self, params, previous, task_vars):
        restart_due = {host: (result or {}).get("restart") for host, result in self._host_values(
            self._hostvars(task_vars), previous.get("with_data") or [], params["restart_var"]).items()}
        leader = params["leader"]
        if leader is None:
            leader = etcd_plan.roll_leader(previous, restart_due, params["rotation_phase"])
        if leader is None:
            leader = self._read_leader(self._connection_options(params, task_vars), params["settings"], task_vars)
        return etcd_plan.plan_roll(previous, params["members"], restart_due, leader, params["rotation_phase"])

    @staticmethod
    def _hostvars(task_vars):
        return task_vars.get("hostvars") or {}

    @staticmethod
    def _play_hosts(task_vars):
        return list(task_vars.get("ansible_play_hosts") or [])

    @staticmethod
    def _group_hosts(task_vars, settings):
        """The inventory hosts of the cluster's group (settings.group, else etcd)."""
        return list((task_vars.get("groups") or {}).get(settings.get("group") or "etcd") or [])

    @staticmethod
    def _plan_hosts(members, reports, hostvars, play_hosts, play_hosts_all, settings):
        """The hosts stage: the plan of the hosts' reads, with preflight's checks of the hosts and of
        auth turned on outside the role folded into its refusal. The reads again as root
        (preflight_root_login.yml, ``_etcd_local_health_as_root``) stand for the hosts whose etcd
        refused the role's read."""
        refused = etcd_host_checks.auth_refused(
            {host: (report.get("info") or {}).get("local_health") for host, report in reports.items()})
        as_root = {host: hostvars[host]["_etcd_local_health_as_root"] for host in refused
                   if "_etcd_local_health_as_root" in hostvars[host]
                   and not hostvars[host]["_etcd_local_health_as_root"].get("skipped")}
        reports = {host: dict(report, local_as_root=as_root.get(host) or {}) for host, report in reports.items()}
        plan = etcd_plan.plan_hosts(members, reports, play_hosts, play_hosts_all, settings)
        reads = {host: report.get("info") or {} for host, report in reports.items()}
        problems = etcd_host_checks.calendar_problems(reads) + etcd_host_checks.system_problems(
            play_hosts_all, hostvars, settings.get("group_hosts") or [], settings.get("group") or "etcd", host_reads=reads)
        auth_message = etcd_host_checks.auth_refusal(refused, etcd_host_checks.auth_refused(as_root), settings)
        plan["auth_refused"] = refused
        # Where each of them is asked as root: where its etcd listens now (its installed settings),
        # else where the inventory has it listen (the report's local_endpoint).
        plan["root_read_endpoints"] = {
            host: installed_local_endpoint((reports[host].get("info") or {}).get("settings"),
                                           (reports[host].get("wanted") or {}).get("local_endpoint"))
            for host in refused}
        # With a root login, the members are asked again as root before the plan is made again.
        plan["root_login_read"] = bool(refused) and bool(settings.get("root_login")) and not settings.get("check_mode")
        # Until they are asked, the refusal may stand on the refused reads: it waits for the plan made again.
        plan["root_read_pending"] = plan["root_login_read"] and not as_root
        plan["preflight_checks"] = bool(plan["root_login_read"] or plan.get("hardware_check") or settings.get("bootstrap_checks"))
        plan["refusal"] = etcd_host_checks.host_refusal(problems, auth_message, plan["refusal"])
        # What etcd_pki is given (pki_issue.yml): a member moving to a new address keeps its old one too.
        plan["pki"] = ActionModule._pki(members, hostvars, reports, dict(
            settings.get("pki") or {}, readdress=plan.get("readdress"), ca_check_hosts=plan.get("with_data")))
        return plan

    def _stage_hardware(self, params, previous, task_vars):
        """The hardware preflight's verdict on the play hosts measured (the variable _etcd_host_check
        of each, skipped on those not measured), against the profile and the timeouts (settings:
        profile, quota, strict, heartbeat, election). The run's plan (option plan) goes on with it:
        preflight reads its hardware_warnings."""
        settings = params["settings"]
        measured = {host: check for host, check in self._host_values(
            self._hostvars(task_vars), self._play_hosts(task_vars), "_etcd_host_check").items()
            if not (check or {}).get("skipped")}
        heartbeat, election = settings.get("heartbeat"), settings.get("election")
        findings = hardware_findings(measured, settings.get("profile"), settings.get("quota"), settings.get("strict"),
                                     heartbeat, election)
        timeouts = suggested_timeouts([check.get("rtt_ms_by_peer") for check in measured.values()], heartbeat, election)
        return dict(previous, **etcd_operation_plan.hardware_verdict(findings, timeouts), findings=findings,
                    timeouts=timeouts)

    def _installed(self, hostvars, play_hosts):
        """play host -> whether the cluster's unit is there, from each host's read (_etcd_host_info:
        facts.yml's, or the removal's, which a dead host does not answer)."""
        return {host: bool((read or {}).get("installed"))
                for host, read in self._host_values(hostvars, play_hosts, "_etcd_host_info").items()}

    def _stage_bootstrap(self, params, previous, task_vars):
        """The new cluster's health wait on the task's host (settings: endpoints, health_timeout,
        expect_members, quota_bytes), with the role's connection options: the run's plan goes on with
        the read (bootstrap_read) and why the cluster did not form (bootstrap_failure, '' once
        healthy). A check run starts nothing and waits for nothing."""
        if task_vars.get("ansible_check_mode"):
            return dict(previous, bootstrap_failure="")
        settings = params["settings"]
        health = self._etcd_health(task_vars, self._connection_options(params, task_vars),
                                   endpoints=settings.get("endpoints") or [], wait=True, wait_timeout=settings.get("health_timeout"),
                                   expect_members=settings.get("expect_members"), quota_bytes=settings.get("quota_bytes"))
        return dict(previous, bootstrap_read=health, bootstrap_failure=etcd_operation_plan.bootstrap_failure(health))

    @classmethod
    def _members_in_run(cls, members, task_vars):
        """The names of the members whose hosts are in the play."""
        play_hosts = cls._play_hosts(task_vars)
        return [member["name"] for member in members if member["host"] in play_hosts]

    @staticmethod
    def _status_read(health, which, plan):
        """The read the status at the end of a deploy run shows: status.yml's own (``health``), or
        the one of this run the plan's status_read (``which``) names, from the run's ``plan``: the
        bootstrap's health wait (its bootstrap_read, bootstrap.yml) or preflight's read (its
        cluster_read, the one taken with the run lock when it was taken)."""
        return etcd_operation_plan.status_read(which or "none", dict(
            status=health, bootstrap=plan.get("bootstrap_read"), preflight=plan.get("cluster_read") or {}))

    @staticmethod
    def _plan_status(health, members_in_run, settings):
        """The status at the end of a deploy run: the plan of it (etcd_operation_plan.plan_status) and
        the lines that show it, the table and the advice below it, as playbooks/status.yml shows them."""
        plan = etcd_operation_plan.plan_status(health, members_in_run, settings)
        if "member_status" in health:
            rotation = rotation_status(settings.get("pki_dir") or "") if etcd_operation_plan.rotation_reported(
                settings.get("rotation_after_pass"), settings.get("pass")) else None
            plan["lines"] = status_lines(health.get("table"), status_advice(
                health, settings.get("status_settings"), rotation=rotation))
        elif health.get("skipped"):
            # No read of a new cluster: a check run starts nothing, and a run whose tags left the
            # bootstrap out started nothing either.
            plan["lines"] = ["no status: %s" % ("a new cluster is not started in check mode" if settings["check_mode"]
                                                else "the new cluster was not started in this run")]
        else:
            plan["lines"] = ["no status: %s" % (health.get("msg") or "?")]
        return plan

    def _read_health(self, connection, settings, task_vars):
        """etcd_health's answer on the task's host, each member asked once (settings: endpoints,
        quota_bytes), with the role's connection options; a failed read is the answer too."""
        return self._etcd_health(task_vars, connection, endpoints=settings.get("endpoints") or [],
                                 quota_bytes=settings.get("quota_bytes"))

    def _read_leader(self, connection, settings, task_vars):
        """The leader's name, from etcd_health on the task's host once the cluster is healthy (settings:
        endpoints, health_timeout), for a roll that was given none (a CA rotation's round: its members
        just got new files). A read that fails stops the roll before any member restarts."""
        health = self._etcd_health(task_vars, connection, endpoints=settings.get("endpoints") or [], wait=True,
                                   wait_timeout=settings.get("health_timeout"))
        if health.get("failed") or health.get("unreachable"):
            raise ValueError("the cluster's leader could not be read: %s; no member was restarted"
                             % (health.get("msg") or "no answer"))
        return (health.get("cluster") or {}).get("leader") or ""

    def _version_wait(self, connection, members_in_run, settings, task_vars):
        """The status once etcd raised the cluster version to the release's major.minor (the plan's
        version_wait): read every second, settings.timeout times more at most, then the status step
        again on the read that shows it; its refusal names the version still there."""
        for attempt in range(int(settings.get("timeout") or 0) + 1):
            if attempt:
                time.sleep(1)
            health = self._read_health(connection, settings, task_vars)
            done, refusal = etcd_operation_plan.version_wait_read(health, settings)
            if done:
                break
        if refusal:
            return dict(refusal=refusal, lines=[])
        return self._plan_status(health, members_in_run, settings)

    def _stage_status_report(self, params, previous, task_vars):
        """The status playbook's report: its refusal when no play host has the cluster (by each host's
        read, _etcd_host_info) or when no member answers etcd_health, asked here; else the lines, the
        table and the advice below it with the snapshots on the controller (settings: backup_dir) and
        each play host's last push and restore drill (its _etcd_status, status_report.yml's read of
        them: etcd_operation_plan.status_records)."""
        del previous  # its own read
        settings = params["settings"]
        hostvars, play_hosts = self._hostvars(task_vars), self._play_hosts(task_vars)
        asked_from = task_vars.get("inventory_hostname")
        refusal = etcd_operation_plan.deployed_refusal(self._installed(hostvars, play_hosts), settings)
        if refusal:
            return dict(refusal=refusal, lines=[])
        health = self._read_health(self._connection_options(params, task_vars), settings, task_vars)
        refusal = etcd_operation_plan.report_refusal(health, dict(settings, asked_from=asked_from))
        reads = self._host_values(hostvars, play_hosts, "_etcd_status")
        pushes, drills = etcd_operation_plan.status_records(reads, asked_from)
        advice = status_advice(health, settings.get("status_settings"),
                               dict(dir=settings.get("backup_dir"), files=snapshot_files(settings.get("backup_dir")),
                                    now=time.time()), pushes, drills, rotation=rotation_status(settings["pki_dir"]),
                               streams=etcd_operation_plan.stream_records(reads))
        runtime = etcd_operation_plan.runtime_line(self._host_values(hostvars, play_hosts, "_etcd_host_info"))
        table = list(health.get("table") or []) + ([runtime] if runtime else [])
        return dict(refusal=refusal, lines=[] if refusal else status_lines(table, advice))

    @staticmethod
    def _pki(members, hostvars, reports, settings):
        """The inputs of the run's etcd_pki calls (the plan's ``pki``, etcd_pki_plan.plan_pki) from the
        members, their hosts' name facts and the play hosts' reads (``reports``: host -> its report)."""
        host_names = {member["host"]: hostvars[member["host"]] for member in members
                      if settings.get("managed") and member["host"] in hostvars}
        return etcd_pki_plan.plan_pki(members, host_names, {
            host: report.get("info") or {} for host, report in reports.items()}, settings)

    @staticmethod
    def _outdated(hostvars, hosts, plan, name):
        """host -> whether it runs with outdated binaries, settings or certificates: linked to another
        release (the plan's binaries_outdated) or its files call (variable ``name``, configure.yml's
        etcd_member_files result) found a restart needed; only the members whose files were written
        in this run (a run with only the etcd_cluster tag restarts what earlier runs left noted)."""
        outdated = {}
        for host in hosts:
            if host in hostvars and name in hostvars[host]:
                files = hostvars[host][name] or {}
                outdated[host] = host in (plan.get("binaries_outdated") or []) or bool(files.get("restart_needed"))
        return outdated

    def _stage_revocation(self, params, previous, task_vars):
        """The removal's revocation: with the plan's revokes, raftops.etcd.etcd_pki (its action, in this
        process on the controller) revokes the pairs of the removed members (the plan's names) in
        ``settings.pki_dir``; the plan goes on with RV(revoked), the names whose certificates it
        revoked, and RV(crl_path), the revocation list the surviving members get, and is changed as the
        revocation is. A failed revocation fails the task with etcd_pki's answer."""
        answer = {}
        if previous.get("revokes"):
            answer = self._run_action("raftops.etcd.etcd_pki", dict(
                path=params["settings"].get("pki_dir"), members=[], clients=[], revoke=previous.get("names") or []),
                task_vars)
            if answer.get("failed"):
                return answer
        plan = dict(previous, revoked=answer.get("revoked") or [], crl_path=(answer.get("crl") or {}).get("path") or "",
                    changed=bool(answer.get("changed")))
        if answer.get("diff"):
            plan["diff"] = answer["diff"]
        return plan

    def _stage_removal(self, params, previous, task_vars):
        """The removal's first step: the group's hosts by member name, the records of those that
        answered (a dead host has no address to give), and which did not (each play host's read,
        variable ``report_var``, with ignore_unreachable); whether the member acted through has the
        client pair of a root login; the units systemd has on each host to retire."""
        del previous  # the first step
        settings, hostvars, play_hosts = params["settings"], self._hostvars(task_vars), self._play_hosts(task_vars)
        group_hosts = self._group_hosts(task_vars, settings)
        reads = self._host_values(hostvars, play_hosts, params["report_var"])
        unreachable = [host for host, read in reads.items() if (read or {}).get("unreachable")]
        answered = [host for host in group_hosts if host in play_hosts and host not in unreachable]
        plan = etcd_plan.plan_removal(params["requested"], [dict(host=host, name=member_name(hostvars, host))
                                                            for host in group_hosts],
                                      member_records(answered, hostvars) if answered else [], play_hosts,
                                      task_vars.get("ansible_play_hosts_all") or play_hosts, unreachable, settings)
        plan["client_pair_found"] = etcd_plan.removal_client_pair(reads, plan["act_through"])
        plan["retire_units"] = etcd_plan.removal_retire_units(reads, plan["retire"])
        return plan

    def _run_action(self, name, args, task_vars):
        """The answer of the action ``name`` (run in this process, with the task's connection) given ``args``."""
        task = self._task.copy()
        task.args = args
        return self._shared_loader_obj.action_loader.get(
            name, task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj,
        ).run(task_vars=task_vars)

    def _removal_members(self, params, previous, task_vars):
        """The cluster's members with their health (etcd_member_info with probe), asked on the task's
        host (remove.yml delegates it to the member the removal acts through) through the surviving
        members' client URLs, with the connection options given."""
        answer = self._execute_module(module_name="raftops.etcd.etcd_member_info", task_vars=task_vars, module_args=dict(
            self._connection_options(params, task_vars), endpoints=previous.get("stable_client_urls") or [], probe=True))
        if answer.get("failed") or answer.get("unreachable"):
            # Only its message: the module's invocation holds the connection.
            raise ValueError("the members could not be read through %s: %s; nothing was changed"
                             % (previous.get("act_through") or "?", answer.get("msg") or "no answer"))
        return answer.get("members")

    def _stage_recovery(self, params, previous, task_vars):
        """The steps of a restore and of a quorum recovery (module_utils/plan/recovery_plan.py): the
        group's hosts and what each reported, the member names, a new token and the time."""
        stage, settings = params["stage"], dict(params["settings"])
        hostvars, play_hosts = self._hostvars(task_vars), self._play_hosts(task_vars)
        group_hosts = self._group_hosts(task_vars, settings)
        if stage == "restore":
            return etcd_recovery_plan.plan_restore(group_hosts, play_hosts,
                                                   task_vars.get("ansible_play_hosts_all") or play_hosts, settings)
        if stage == "restore_members":
            # The snapshot file, checked on the controller (delegate the step there) before any member
            # changes: its SHA-256, revision and keys go on in the plan (snapshot_file).
            info = self._snapshot_info(settings.get("snapshot_src"), task_vars)
            refusal = etcd_recovery_plan.snapshot_refusal(settings.get("snapshot"), info)
            if refusal:
                return dict(previous, refusal=refusal)
            settings.update(check_mode=self._task.check_mode, stamp=self._stamp(), snapshot_info=info, token="%s-restored-%s" % (
                settings.get("group") or "etcd", "".join(secrets.choice(TOKEN_CHARS) for dummy in range(12))))
            reports = self._host_reports(hostvars, play_hosts, params["report_var"])
            plan = etcd_recovery_plan.plan_restore_members(previous, params["members"], reports, settings)
            plan["pki"] = self._pki(params["members"], hostvars, reports,
                                    dict(settings.get("pki") or {}, ca_check_hosts=plan.get("with_data_dir")))
            return plan
        if stage in ("restore_check", "restore_start"):
            # Read on every host of the group: one that dropped out of the play keeps what it reported.
            reported = self._host_values(hostvars, group_hosts, params["problem_var"])
            if stage == "restore_check":
                return etcd_recovery_plan.plan_restore_check(previous, group_hosts, play_hosts, reported)
            old_cluster = self._old_cluster(params, previous, task_vars)
            return etcd_recovery_plan.plan_restore_start(previous, group_hosts, play_hosts, reported, old_cluster,
                                                         settings)
        if stage == "recovery_logs" or "cluster_answer" in previous:
            # Each play host's read with its log: before the facts, or again once every member is stopped.
            survivors = etcd_recovery_plan.survivors_of(self._host_values(hostvars, play_hosts, params["read_var"]),
                                                        play_hosts)
            if stage == "recovery_logs":
                return etcd_recovery_plan.plan_recovery_logs(survivors, settings)
            # Made again: judged on the first verdict's answer of the cluster.
            health = previous["cluster_answer"]
        else:
            # The first verdict: the logs step's reads (facts.yml read the hosts again, without their logs).
            survivors = etcd_recovery_plan.survivors_in_play(previous, play_hosts)
            health = self._ask_cluster(self._connection_options(params, task_vars), previous, settings, task_vars)
        settings.update(stamp=self._stamp(), stopped=play_hosts)
        return etcd_recovery_plan.plan_recovery(previous, health, survivors, group_hosts,
                                                {host: member_name(hostvars, host) for host in group_hosts}, settings)

    def _old_cluster(self, params, previous, task_vars):
        """The read of the old members that still answer, for the restore's revision bump: the one given
        (O(health); a skipped one is none), else etcd_health asked once on the task's host through every
        member's client URL (the plan's stable_client_urls) when the plan says so (read_old_revisions);
        a failed read is the answer too (it names no revision). {} when none is read."""
        if params["health"]:
            return {} if params["health"].get("skipped") else params["health"]
        if not previous.get("read_old_revisions"):
            return {}
        return self._etcd_health(task_vars, self._connection_options(params, task_vars),
                                 endpoints=previous.get("stable_client_urls") or [], discover=False, timeout=3)

    def _ask_cluster(self, connection, previous, settings, task_vars):
        """The cluster's answer a quorum recovery is judged on: etcd_health asked once, by the first
        recovery step, on the task's host (recover_quorum.yml delegates it to the plan's ask_through),
        of every member the logs name and of settings.client_urls; {} when no survivor has a log. The
        step made again once every member is stopped judges that same answer (the plan's cluster_answer)."""
        question = etcd_recovery_plan.recovery_question(previous, connection, settings.get("client_urls"))
        if question is None:
            return {}
        # No endpoint answering at all (every member down) is an answer too: a failed read is judged, not raised.
        return self._etcd_health(task_vars, question)

    def _etcd_health(self, task_vars, connection, **question):
        """etcd_health's answer on the task's host, asked with the role's ``connection`` options and
        ``question``; a failed read is the answer too. Without the module's invocation: it holds the
        connection, and the answer goes on in the plan."""
        answer = self._execute_module(module_name="raftops.etcd.etcd_health", task_vars=task_vars,
                                      module_args=dict(connection, **question))
        return {key: value for key, value in answer.items() if key != "invocation"}

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

    @classmethod
    def _host_reports(cls, hostvars, hosts, name):
        """host -> its report for the plan, from its read (variable ``name``: raftops.etcd.etcd_host_info's
        result with role_settings): ``info``, what it read, and ``wanted``, what its settings ask of it."""
        return {host: dict(info=read, wanted=(read.get("host_settings") or {}).get("wanted") or {})
                for host, read in cls._host_values(hostvars, hosts, name).items()}

    @staticmethod
    def _host_values(hostvars, hosts, name):
        """host -> the value of variable ``name`` there, for the hosts that have it."""
        values = {}
        for host in hosts:
            if host in hostvars and name in hostvars[host]:
                values[host] = hostvars[host][name]
        return values

    def _stage_schedule(self, params, previous, task_vars):
        """One member's timers (settings: timers, push, lib_files, found, units, boto3_found, and member, its
        name), their units' text begun with the task's ansible_managed."""
        settings = params["settings"]
        return etcd_operation_plan.plan_schedule(settings.get("timers"), dict(settings.get("push") or {}),
                                                 settings.get("lib_files"), list(settings.get("found") or []),
                                                 settings.get("units"), settings["member"],
                                                 managed_header(self._templar, task_vars),
                                                 boolean(settings.get("boto3_found", False)))

    def _stage_srv(self, params, previous, task_vars):
        """The DNS SRV bootstrap's peer records, resolved on the controller as the members will resolve
        them (settings: domain, name, tls, resolvers, new_hosts), against the members."""
        from ansible_collections.raftops.etcd.plugins.module_utils.client.srv_records import srv_records
        from ansible_collections.raftops.etcd.plugins.lookup import etcd_srv

        if not etcd_srv.HAS_DNSPYTHON:
            raise ValueError("the DNS SRV check needs dnspython on the controller (pip install dnspython)")
        settings = params["settings"]
        service = srv_service("server", settings.get("domain"), settings.get("tls"), settings.get("name") or "")
        records = etcd_srv.resolve_srv(service, etcd_srv.make_resolver(settings.get("resolvers")))
        needed = srv_records(params["members"], settings.get("domain"), settings.get("name") or "", settings.get("tls"))
        return dict(service=service, records=records, needed=needed, refusal=etcd_host_checks.srv_refusal(
            service, records, params["members"], settings.get("new_hosts"), needed))

    def _stage_roll_stop(self, params, previous, task_vars):
        """The message of a roll that stopped at a member (settings: host, member, note_path, and
        the failed step's result and name as the rescue has them: failure, step)."""
        settings = params["settings"]
        return dict(refusal=etcd_roll.roll_stop_refusal(settings["host"], settings["member"], settings.get("failure"),
                                                        settings["note_path"], settings.get("step") or ""))

    def _stage_proxy_group(self, params, previous, task_vars):
        settings = params["settings"]
        group = settings.get("group") or "etcd_proxy"
        hosts = (task_vars.get("groups") or {}).get(group) or []
        return dict(refusal=etcd_proxy_plan.proxy_group_problem(hosts, group))

    def _stage_proxy_settings(self, params, previous, task_vars):
        """A proxy host's settings (settings.values, its role variables) checked for meaning and
        against the members' (the first member's host), the certificates it needs, and what its proxy
        is made of: the members of etcd_group but those leaving (settings.leaving), read from their
        host variables, and its layout (proxy_plan.py, plan_proxy_host)."""
        from ansible_collections.raftops.etcd.plugins.plugin_utils.host_settings import member_values
        from ansible_collections.raftops.etcd.plugins.module_utils.plan.settings import settings_problems

        settings = params["settings"]
        values, host = settings.get("values") or {}, task_vars.get("inventory_hostname")
        group = values.get("etcd_group") or "etcd"
        groups = task_vars.get("groups") or {}
        member_hosts = groups.get(group) or []
        hostvars = self._hostvars(task_vars)
        first = hostvars[member_hosts[0]] if member_hosts and member_hosts[0] in hostvars else {}
        problems = settings_problems(values, host, groups.get("all") or []) + etcd_proxy_plan.proxy_problems(
            values, host, member_hosts, member_values(first), group, values.get("etcd_pki_extra_sans"))
        # etcd_address, else the host's default address (its facts).
        address = str(values["etcd_address"] if "etcd_address" in values
                      else (task_vars.get("ansible_default_ipv4") or {}).get("address", ""))
        plan = dict(refusal="%s; nothing was changed" % "; ".join(problems) if problems else "",
                    pki=dict(address=address, listen_address=values.get("etcd_proxy_listen_address"),
                             mode=values.get("etcd_proxy_mode")))
        if problems:
            return plan
        leaving = settings.get("leaving") or []
        members = member_records([member for member in member_hosts if member not in leaving], hostvars)
        return dict(plan, **etcd_proxy_plan.plan_proxy_host(values, host, address, members))

    def _stage_proxy_reach(self, params, previous, task_vars):
        """Asks, on the proxy host, which members answer (etcd_health, by DNS SRV as the host resolves
        the records with discovery_srv), with the proxy's certificates when an earlier run left them
        there, and refuses a host that reaches none (previous: the proxy_settings plan)."""
        args, srv = previous["args"], previous["args"]["discovery_srv"]
        files = etcd_proxy_plan.proxy_client_files(previous["pki_dir"]) if args["tls"] else {}
        had_certificates = bool(files) and bool(self._execute_module(
            module_name="ansible.builtin.stat", task_vars=task_vars,
            module_args=dict(path=files["client_key"], get_checksum=False, get_mime=False, get_attributes=False),
        ).get("stat", {}).get("exists"))
        endpoints = ["the SRV records of " + srv] if srv else [member["client_url"] for member in previous["members"]]
        health_args = dict(discovery_srv=srv) if srv else dict(endpoints=endpoints)
        health_args.update(discovery_srv_name=args["discovery_srv_name"], discover=False, timeout=5,
                           **(files if had_certificates else {}))
        health = self._execute_module(module_name="raftops.etcd.etcd_health", module_args=health_args, task_vars=task_vars)
        return dict(refusal=etcd_proxy_plan.proxy_reach_problem(
            health, task_vars.get("inventory_hostname"), endpoints, had_certificates))

    def _stage_proxy_pki(self, params, previous, task_vars):
        """What etcd_pki makes or checks for the play's proxies (each play host's preflight step,
        variable report_var), with the pairs in etcd_pki_dir of proxies whose host left the group."""
        settings = params["settings"]
        instance = settings.get("instance") or "etcd"
        play_hosts = self._play_hosts(task_vars)
        proxies = {host: (read or {}).get("pki") or {}
                   for host, read in self._host_values(self._hostvars(task_vars), play_hosts, params["report_var"]).items()}
        missing = [host for host in play_hosts if host not in proxies]
        if missing:
            raise ValueError("no preflight read of %s" % ", ".join(missing))
        files = glob.glob(os.path.join(os.path.expanduser(str(settings.get("pki_dir") or "")),
                                       glob.escape("%s-proxy-" % instance) + "*.pem"))
        group_hosts = (task_vars.get("groups") or {}).get(settings.get("group") or "etcd_proxy") or []
        return etcd_proxy_plan.plan_proxy_pki(proxies, group_hosts, instance, files,
                                              [member["name"] for member in params["members"]], settings.get("managed", True))

    def _stage_proxy_health(self, params, previous, task_vars):
        """The proxy's answer to /health on its own host (ansible.builtin.uri there, with the proxy's
        client pair from settings.config_dir with TLS), asked again every settings.delay seconds up to
        settings.retries times until it reaches the cluster."""
        settings = params["settings"]
        url = etcd_proxy_plan.proxy_health_url(settings)
        args = dict(url=url, timeout=5, return_content=True, status_code=[200, 503])
        if truthy(settings.get("tls", True)):
            files = etcd_proxy_plan.proxy_client_files(etcd_proxy_plan.proxy_pki_dir(settings["config_dir"]))
            args.update(ca_path=files["ca_cert"], client_cert=files["client_cert"], client_key=files["client_key"])
        retries, delay = int(settings.get("retries") or 0), int(settings.get("delay") or 2)
        for attempt in range(retries + 1):
            answer = self._execute_module(module_name="ansible.builtin.uri", module_args=args, task_vars=task_vars)
            reaches = etcd_proxy_plan.proxy_reaches(answer)
            if reaches.startswith("yes") or attempt == retries:
                break
            time.sleep(delay)
        record = dict(url=url, reaches=reaches, host=task_vars.get("inventory_hostname"), mode=settings.get("mode"),
                      listen="%s:%s" % (settings.get("listen_address"), settings.get("port")))
        if retries and not reaches.startswith("yes"):
            record.update(failed=True, msg="the proxy at %s does not reach the cluster after %d tries: %s"
                          % (url, retries + 1, reaches))
        return record

    def _stage_proxy_files(self, params, previous, task_vars):
        """The proxy's directories, certificates (read on the controller from etcd_pki's result,
        settings.pki), command line (previous: the proxy_settings plan) and unit, begun with the task's
        ansible_managed, written on the proxy host by raftops.etcd.etcd_member_files (its action, in this
        process). The plan goes on with its argv and restart_needed (a file the proxy reads at start
        changed: main.yml restarts it, one proxy at a time), without the files' contents (the private
        keys among them), and is changed as the write is. In check mode a pair that etcd_pki would make
        is not there yet: it has no content."""
        check_mode = bool(task_vars.get("ansible_check_mode"))

        def read(path):
            path = os.path.expanduser(str(path or ""))
            if check_mode and not os.path.isfile(path):
                return None
            with open(path) as handle:
                return handle.read()

        files = etcd_proxy_plan.plan_proxy_files(previous, params["settings"].get("pki") or {}, read)
        argv = proxy_args(previous["members"], files["args"])
        unit_file = dict(files["unit_file"], content=etcd_proxy_plan.proxy_unit_text(
            previous, argv, managed_header(self._templar, task_vars)))
        written = self._run_action("raftops.etcd.etcd_member_files", dict(
            directories=files["directories"], files=[unit_file] + files["files"], private_files=files["private_files"]),
            task_vars)
        if written.get("failed"):
            return dict(failed=True, msg="writing the proxy's files: %s" % written.get("msg"))
        plan = dict(previous, args=files["args"], argv=argv, restart_needed=bool(written.get("restart_needed")),
                    changed=bool(written.get("changed")))
        if written.get("diff"):
            plan["diff"] = written["diff"]
        return plan

    def _stage_proxy_status(self, params, previous, task_vars):
        """One line per proxy host of the play (report_var: each one's proxy_health result); a host
        that dropped out of the play, or never asked, is named as not answering, not left out."""
        hosts = task_vars.get("ansible_play_hosts_all") or self._play_hosts(task_vars)
        seen = self._host_values(self._hostvars(task_vars), hosts, params["report_var"])
        return dict(lines=etcd_proxy_plan.proxy_status_lines(
            [seen.get(host) or dict(host=host, reaches="no:host-did-not-answer") for host in hosts]))

    def _stage_source(self, params, previous, task_vars):
        """Asks etcd_health on the task's host which of settings.endpoints answer (with the task's
        connection), then chooses the backup's source from that answer."""
        settings = params["settings"]
        health = self._execute_module(module_name="raftops.etcd.etcd_health", task_vars=task_vars, module_args=dict(
            self._connection_options(params, task_vars), endpoints=settings.get("endpoints") or []))
        if health.get("failed") or health.get("unreachable"):
            # Only its message: the module's invocation holds the connection.
            return dict(failed=True, msg="the health of the members could not be read: %s; nothing was changed"
                        % health.get("msg", "no answer"))
        return etcd_backup_plan.plan_source(health, params["members"], self._play_hosts(task_vars),
                                            self._backup_targets(settings, task_vars), settings.get("cluster") or "")

    def _stage_record(self, params, previous, task_vars):
        """The backup's plan with the record the playbook writes beside the snapshot (settings.saved)."""
        return dict(previous, record=etcd_backup_plan.backup_record(params["settings"]["saved"], previous["name"]))

    def _stage_seal(self, params, previous, task_vars):
        """The backup's plan with ``sealed``: etcd_backup_target's state=sealed result for its snapshot
        (settings.src), worked out in this process as that module's action does it; changed as that
        result is. It reads the controller's files only."""
        settings = params["settings"]
        validated = ArgumentSpecValidator(backup_target.argument_spec()).validate(etcd_backup_plan.seal_arguments(
            previous, settings.get("src"), settings.get("key_file"), settings.get("cluster")))
        if validated.error_messages:
            raise ValueError("; ".join(validated.error_messages))
        sealed = run_here(validated.validated_parameters, bool(self._task.check_mode))
        warnings = sealed.pop("warnings", [])
        if sealed.get("failed"):
            return dict(failed=True, msg=sealed["msg"], warnings=warnings)
        if not self._task.check_mode:
            display.display(etcd_backup_plan.sealed_report(sealed, settings.get("key_file")))
        return dict(previous, sealed=sealed, changed=bool(sealed.get("changed")), warnings=warnings)

    def _stage_fetch(self, params, previous, task_vars):
        """The target a restore fetches from (settings: targets, cluster, target)."""
        settings = params["settings"]
        return etcd_backup_plan.plan_fetch(self._backup_targets(settings, task_vars), settings.get("cluster") or "",
                                           settings.get("target"))

    def _backup_targets(self, settings, task_vars):
        """settings.targets, else the play's etcd_backup_targets, read here: the role's tasks give none, so
        that the S3 targets' keys are not in the task's arguments (what a callback that records tasks keeps)."""
        if "targets" in settings:
            return settings["targets"] or []
        targets = task_vars.get("etcd_backup_targets")
        return self._templar.template(targets) if targets else []

    def _stage_drill_snapshot(self, params, previous, task_vars):
        """The snapshot a restore drill proves (settings: fetched, snapshot, backup_dir), with its record,
        checked on the controller (delegate the step there) as a restore's is."""
        settings = params["settings"]
        backup_dir = os.path.expanduser(str(settings.get("backup_dir") or ""))
        found = glob.glob(os.path.join(glob.escape(backup_dir), "etcd-snapshot-*.db")) if backup_dir else []
        return etcd_backup_plan.drill_snapshot(settings.get("fetched"), settings.get("snapshot"), backup_dir, found,
                                               lambda path: read_text(path + ".json"),
                                               lambda path: self._snapshot_info(path, task_vars),
                                               task_vars.get("inventory_hostname"))

    def _stage_drill_point(self, params, previous, task_vars):
        """The drill_snapshot step's plan (O(plan)) and, for a point in time (point_revision, the revision
        its replay reached), the cluster's keyspace at it, read on the task's host (a member) through
        settings.endpoint with the role's connection."""
        settings = params["settings"]
        revision = int(settings.get("point_revision") or 0)
        if not revision or previous.get("refusal"):
            return previous
        answer = self._etcd_health(task_vars, self._connection_options(params, task_vars),
                                   endpoints=[settings.get("endpoint")], keyspace=True, keyspace_revision=revision)
        return dict(previous, **etcd_backup_plan.point_keyspace(answer, revision, task_vars.get("inventory_hostname")))

    def _snapshot_info(self, path, task_vars):
        """etcd_snapshot_info's check of the snapshot file at ``path`` on the task's host: the controller,
        where a restore's and a drill's step is delegated, before any host changes."""
        return self._execute_module(module_name="raftops.etcd.etcd_snapshot_info", task_vars=task_vars,
                                    module_args=dict(src=path))

    def _stage_adoption(self, params, previous, task_vars):
        """The adoption of a running cluster (playbooks/adopt.yml), planned once by plan/adopt.py from each
        play host's read (_adopt: etcd_adopt_info's result, which the plan replaces; a host without one did not answer), the
        members of etcd_group, the play's role settings, the role's defaults and the files in
        etcd_pki_dir on the controller. Only the plan is asked for in check mode or with
        etcd_adopt_plan_only."""
        del params, previous  # all it needs is in the play's variables
        role = RoleVars(self._templar, task_vars)
        defaults = self._role_defaults(ADOPT_DEFAULTS)
        group = role("etcd_group") or "etcd"
        settings = {name: role(name) for name in ADOPT_SETTINGS}
        settings.update(etcd_group=group, etcd_pki_dir=os.path.expanduser(str(role("etcd_pki_dir") or defaults["etcd_pki_dir"])),
                        etcd_adopt_plan_only=bool(task_vars.get("ansible_check_mode")) or role.flag("etcd_adopt_plan_only"))
        pki_dir = settings["etcd_pki_dir"]
        pki_files = [name for name in os.listdir(pki_dir) if os.path.isfile(os.path.join(pki_dir, name))] \
            if os.path.isdir(pki_dir) else []
        hostvars = self._hostvars(task_vars)
        hosts = (task_vars.get("groups") or {}).get(group) or []
        reads = self._host_values(hostvars, task_vars.get("ansible_play_hosts_all") or self._play_hosts(task_vars), "_adopt")
        return adopt_plan(member_records(hosts, hostvars), reads, settings, defaults, pki_files)

    def _role_defaults(self, names):
        """The etcd role's defaults of ``names``, rendered with the task's variables (etcd_instance)."""
        defaults = self._loader.load_from_file(ROLE_DEFAULTS, trusted_as_template=True)
        return {name: self._templar.template(defaults[name]) for name in names}
