# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_host_info: with role_settings, the host's etcd_* variables are first
checked for meaning (plugins/module_utils/plan/settings.py: every problem named, nothing read), then the etcd
role's settings of the host (plugins/module_utils/host/host_settings.py) are computed here from the
task's variables, once per host, give the read its paths, links, files, units and the rest, and come
back as host_settings beside what the module read."""

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import found_by_read
from ansible_collections.raftops.etcd.plugins.plugin_utils.host_settings import role_host_settings, role_setting_problems, role_values
from ansible_collections.raftops.etcd.plugins.plugin_utils.reach import reach

MODULE = "raftops.etcd.etcd_host_info"
# The facts the role uses: the read returns them (option facts) unless they were gathered already.
ROLE_FACTS = ("default_ipv4", "architecture", "service_mgr")


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        derive, calendars = args.pop("role_settings", False), args.pop("role_calendars", False)
        all_units = args.pop("role_units", False)
        # With contact_timeout the host is reached first within it (plugin_utils/reach.py), whatever the SSH
        # settings: one that does not answer is unreachable with nothing read.
        contact = args.pop("contact_timeout", None)
        settings = None
        if derive:
            try:
                # Every setting is checked for meaning first, on every host, before anything reads or changes.
                variables = task_vars or {}
                # Templated once, for the check and the settings alike.
                values = role_values(self._templar, variables)
                problems = role_setting_problems(values, variables)
                if problems:
                    result.update(failed=True, changed=False, msg="; ".join(problems) + "; nothing was changed")
                    return result
                settings = role_host_settings(values, variables)
            except (KeyError, ValueError, TypeError, AnsibleError) as e:
                result.update(failed=True, changed=False, msg="%s: cannot derive the role's settings of the host: %s" % (MODULE, e))
                return result
            read = dict(settings["read"])
            if all_units:
                # Every unit the role may have written on the host: those a removed member's host retires.
                read["units"] = [settings["unit"]] + [timer["unit"] for timer in settings["timers"]]
            # What the task gives wins; an empty WAL directory is none.
            args = dict({k: v for k, v in read.items() if v is not None}, **args)
            if calendars:
                args.setdefault("calendars", settings["calendars"])
            gathered = (task_vars or {}).get("ansible_facts") or {}
            args.setdefault("facts", not all(name in gathered for name in ROLE_FACTS))
        if contact is not None:
            reached = reach(self, contact, "etcd_first_contact_timeout" if derive else "contact_timeout",
                            (task_vars or {}).get("inventory_hostname") or "?")
            if reached.get("failed") or reached.get("unreachable"):
                result.update(reached)
                return result
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        if settings is not None:
            result["host_settings"] = found_by_read(settings, result)
        return result
