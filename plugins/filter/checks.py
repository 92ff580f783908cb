# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the etcd role's preflight checks. The role's plan decides with their logic now
(plugins/module_utils/etcd_host_checks.py and etcd_plan.py, through the action raftops.etcd.etcd_plan) and its
connection settings (plugins/module_utils/etcd_connection.py, through the lookup raftops.etcd.etcd_connection):
all are deprecated thin wrappers (meta/runtime.yml)."""

from ansible.errors import AnsibleFilterError

# module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).


def system_problems(hosts, hostvars, group_hosts, group, architectures, host_reads=None):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_host_checks.py, system_problems."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_host_checks

    try:
        return etcd_host_checks.system_problems(hosts, hostvars, group_hosts, group, architectures, host_reads)
    except ValueError as exc:
        raise AnsibleFilterError("system_problems: %s" % exc) from exc


def account_problem(account, user, host):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_host_checks.py, account_problem."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_host_checks

    return etcd_host_checks.account_problem(account, user, host)


def calendar_problems(reads):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_host_checks.py, calendar_problems."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_host_checks

    return etcd_host_checks.calendar_problems(reads)


def version_change_problem(versions, target, allow_downgrade=False, health=None, auth=False):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_plan.py, version_change_problem."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_plan

    try:
        return etcd_plan.version_change_problem(versions, target, allow_downgrade, health, auth)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def release_warning(version):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_plan.py, release_warning."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_plan

    try:
        return etcd_plan.release_warning(version)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def auth_refused(reads):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_host_checks.py, auth_refused."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_host_checks

    return etcd_host_checks.auth_refused(reads)


def call_pair(tls, root_login, pair_there, auth_refused):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_connection.py, call_pair."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_connection import call_pair as decide
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_versions import truthy

    return decide(truthy(tls), truthy(root_login), truthy(pair_there), auth_refused)


class FilterModule:
    def filters(self):
        return {
            "account_problem": account_problem,
            "auth_refused": auth_refused,
            "calendar_problems": calendar_problems,
            "call_pair": call_pair,
            "release_warning": release_warning,
            "system_problems": system_problems,
            "version_change_problem": version_change_problem,
        }
