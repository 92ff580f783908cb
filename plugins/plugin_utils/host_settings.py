# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The etcd role's settings of one host (plugins/module_utils/host/host_settings.py) from the
variables a task or a lookup sees: the action of raftops.etcd.etcd_host_info and the lookup
raftops.etcd.etcd_host_settings both compute them here."""

from ansible.errors import AnsibleUndefinedVariable
from jinja2 import Undefined

from ansible_collections.raftops.etcd.plugins.module_utils.backup.push_targets import backup_members
from ansible_collections.raftops.etcd.plugins.module_utils.plan.settings import settings_problems
from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import NAMES, host_settings


def role_values(templar, variables, names=None):
    """The host's ``etcd_*`` values templated: all of them, or those of ``names``."""
    if names is None:
        names = [name for name in variables if name.startswith("etcd_")]
    return {name: templar.template(variables[name]) for name in names}


def role_host_settings(values, variables):
    """host_settings of the host whose ``variables`` these are, from its templated ``values``, with
    backup_members: the member names of its group (etcd_group), the signers whose backups a restore,
    the backup playbook's prune and the member's push take (module_utils/backup/push_targets.py)."""
    settings = host_settings({name: values[name] for name in NAMES}, variables["role_path"])
    hosts = (variables.get("groups") or {}).get(values["etcd_group"]) or []
    settings["backup_members"] = backup_members(hosts, variables.get("hostvars") or {})
    return settings


def role_setting_problems(values, variables):
    """Every problem of meaning (plugins/module_utils/plan/settings.py) in the host's templated ``etcd_*``
    ``values``, each naming the host, the variable and its value; empty when all are fine."""
    return settings_problems(values, variables.get("inventory_hostname", "?"), variables.get("groups", {}).get("all"))


def member_values(member_settings):
    """A member's values of the settings the proxies' check compares (etcd_proxy_plan.MEMBER_SETTINGS)
    as text, None for one it has none of that resolves here.

    ``member_settings`` is a member's hostvars: an inventory value built on the etcd role's defaults
    (``{{ etcd_instance }}-pki``) does not resolve in them, and is not compared then.
    """
    from ansible_collections.raftops.etcd.plugins.module_utils.plan.proxy_plan import MEMBER_SETTINGS

    values = {}
    for variable in MEMBER_SETTINGS:
        try:
            value = member_settings.get(variable)
        except AnsibleUndefinedVariable:  # ansible-core before 2.19 raises; 2.19 hands over an Undefined
            value = None
        values[variable] = None if value is None or isinstance(value, Undefined) else str(value)
    return values
