# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_ops_plan: the plan steps of the members' timers, of a DNS SRV
bootstrap's records, of the client access tier and of a roll that stopped, made on the controller
from what the role's tasks read. It decides with plugins/module_utils/plan/operation_plan.py,
etcd_host_checks.py, etcd_proxy_plan.py and etcd_roll.py; only the DNS SRV step (the records, resolved on the controller) and the proxy's
/health step (ansible.builtin.uri on the proxy host) ask anything of anyone."""

import glob
import os
import time


from ansible_collections.raftops.etcd.plugins.module_utils.cluster import roll as etcd_roll
from ansible_collections.raftops.etcd.plugins.module_utils.host import host_checks as etcd_host_checks
from ansible_collections.raftops.etcd.plugins.module_utils.plan import operation_plan as etcd_operation_plan
from ansible_collections.raftops.etcd.plugins.module_utils.plan import proxy_plan as etcd_proxy_plan
from ansible_collections.raftops.etcd.plugins.module_utils.client.dns import srv_service
from ansible_collections.raftops.etcd.plugins.plugin_utils.plan_action import PlanAction


class ActionModule(PlanAction):
    MODULE = "raftops.etcd.etcd_ops_plan"

    def argument_spec(self):
        return etcd_operation_plan.ops_plan_argument_spec()

    @staticmethod
    def _host_values(task_vars, hosts, name):
        """host -> the value of variable ``name`` there, for the hosts that have it."""
        hostvars = task_vars.get("hostvars") or {}
        return {host: hostvars[host][name] for host in hosts if host in hostvars and name in hostvars[host]}

    @staticmethod
    def _schedule(params, settings, task_vars):
        return etcd_operation_plan.plan_schedule(settings.get("timers"), dict(settings.get("push") or {}),
                                                 settings.get("lib_files"), list(settings.get("found") or []),
                                                 settings.get("units"))

    @staticmethod
    def _srv(params, settings, task_vars):
        """The DNS SRV bootstrap's peer records, resolved on the controller as the members will resolve
        them (settings: domain, name, tls, resolvers, new_hosts), against the members."""
        from ansible_collections.raftops.etcd.plugins.module_utils.client.srv_records import srv_records
        from ansible_collections.raftops.etcd.plugins.lookup import etcd_srv

        if not etcd_srv.HAS_DNSPYTHON:
            raise ValueError("the DNS SRV check needs dnspython on the controller (pip install dnspython)")
        service = srv_service("server", settings.get("domain"), settings.get("tls"), settings.get("name") or "")
        records = etcd_srv.resolve_srv(service, etcd_srv.make_resolver(settings.get("resolvers")))
        needed = srv_records(params["members"], settings.get("domain"), settings.get("name") or "", settings.get("tls"))
        return dict(service=service, records=records, needed=needed, refusal=etcd_host_checks.srv_refusal(
            service, records, params["members"], settings.get("new_hosts"), needed))

    @staticmethod
    def _roll_stop(params, settings, task_vars):
        """The message of a roll that stopped at a member (settings: host, member, note_path, and
        the failed step's result and name as the rescue has them: failure, step)."""
        return dict(refusal=etcd_roll.roll_stop_refusal(settings["host"], settings["member"], settings.get("failure"),
                                                        settings["note_path"], settings.get("step") or ""))

    @staticmethod
    def _proxy_group(params, settings, task_vars):
        group = settings.get("group") or "etcd_proxy"
        hosts = (task_vars.get("groups") or {}).get(group) or []
        return dict(refusal=etcd_proxy_plan.proxy_group_problem(hosts, group, settings.get("asked", True)))

    def _proxy_settings(self, params, settings, task_vars):
        """A proxy host's settings (settings.values, its role variables) checked for meaning and
        against the members' (the first member's host), and the certificates it needs (settings.address)."""
        from ansible_collections.raftops.etcd.plugins.plugin_utils.host_settings import member_values
        from ansible_collections.raftops.etcd.plugins.module_utils.plan.settings import settings_problems

        values, host = settings.get("values") or {}, task_vars.get("inventory_hostname")
        group = values.get("etcd_group") or "etcd"
        groups = task_vars.get("groups") or {}
        member_hosts = groups.get(group) or []
        hostvars = task_vars.get("hostvars") or {}
        first = hostvars[member_hosts[0]] if member_hosts and member_hosts[0] in hostvars else {}
        problems = settings_problems(values, host, groups.get("all") or []) + etcd_proxy_plan.proxy_problems(
            values, host, member_hosts, member_values(first), group, values.get("etcd_pki_extra_sans"))
        return dict(refusal="%s; nothing was changed" % "; ".join(problems) if problems else "",
                    pki=dict(address=str(settings.get("address") or ""),
                             listen_address=values.get("etcd_proxy_listen_address"), mode=values.get("etcd_proxy_mode")))

    @staticmethod
    def _proxy_reach(params, settings, task_vars):
        return dict(refusal=etcd_proxy_plan.proxy_reach_problem(
            params["health"], task_vars.get("inventory_hostname"), settings.get("endpoints"),
            settings.get("certificates", True)))

    def _proxy_pki(self, params, settings, task_vars):
        """What etcd_pki makes or checks for the play's proxies (each play host's preflight step,
        variable report_var), with the pairs in etcd_pki_dir of proxies whose host left the group."""
        instance = settings.get("instance") or "etcd"
        play_hosts = task_vars.get("ansible_play_hosts") or []
        proxies = {host: (read or {}).get("pki") or {}
                   for host, read in self._host_values(task_vars, play_hosts, params["report_var"]).items()}
        missing = [host for host in play_hosts if host not in proxies]
        if missing:
            raise ValueError("no preflight read of %s" % ", ".join(missing))
        files = glob.glob(os.path.join(os.path.expanduser(str(settings.get("pki_dir") or "")),
                                       glob.escape("%s-proxy-" % instance) + "*.pem"))
        group_hosts = (task_vars.get("groups") or {}).get(settings.get("group") or "etcd_proxy") or []
        return etcd_proxy_plan.plan_proxy_pki(proxies, group_hosts, instance, files,
                                              [member["name"] for member in params["members"]], settings.get("managed", True))

    def _proxy_health(self, params, settings, task_vars):
        """The proxy's answer to /health on its own host (ansible.builtin.uri there), asked again
        every settings.delay seconds up to settings.retries times until it reaches the cluster."""
        url = etcd_proxy_plan.proxy_health_url(settings)
        args = dict(url=url, timeout=5, return_content=True, status_code=[200, 503])
        files = (("ca_path", "ca_cert"), ("client_cert", "client_cert"), ("client_key", "client_key"))
        args.update((option, settings[key]) for option, key in files if settings.get(key))
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

    def _proxy_status(self, params, settings, task_vars):
        """One line per proxy host of the play (report_var: each one's proxy_health result); a host
        that dropped out of the play, or never asked, is named as not answering, not left out."""
        hosts = task_vars.get("ansible_play_hosts_all") or task_vars.get("ansible_play_hosts") or []
        seen = self._host_values(task_vars, hosts, params["report_var"])
        return dict(lines=etcd_proxy_plan.proxy_status_lines(
            [seen.get(host) or dict(host=host, reaches="no:host-did-not-answer") for host in hosts]))
