# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The run's view of each member host: which hold data of this cluster, which are new, which hold
another cluster's data, which lost their data and must re-join, which moved to a new address, and
which identity changes are refused before any host changes; where a host's own etcd listens; and
in which order the members that must restart are rolled.

member_plan and roll_order are deprecated (meta/runtime.yml): the role's run decides with
plugins/module_utils/etcd_plan.py through the action raftops.etcd.etcd_plan.
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_formats import installed_local_endpoint
# etcd_plan is imported where it is used, so that loading this file stays cheap (docs/deploy.md).


def member_plan(members, facts, discard=None):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_plan.py, member_plan."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_plan

    try:
        return etcd_plan.member_plan(members, facts, discard)
    except etcd_plan.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def roll_order(hosts, restart_due, leader, members):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_plan.py, roll_order."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_plan

    try:
        return etcd_plan.roll_order(hosts, restart_due, leader, members)
    except etcd_plan.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {
            "installed_local_endpoint": installed_local_endpoint,
            "member_plan": member_plan,
            "roll_order": roll_order,
        }
