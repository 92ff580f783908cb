# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Deprecated (meta/runtime.yml): the removal's plan decides this now, in
plugins/module_utils/etcd_plan.py (plan_removal, removal_problem), through the action
raftops.etcd.etcd_plan. These filters keep their answers by asking it, imported where they are
used: a filter file imports no larger module_utils at its top (tests/unit/plugins/filter/test_filter_load.py).
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter.etcd import _member_name as member_name, member_target, members


def removal_plan(requested, group, group_hosts, hostvars, reports):
    """Resolve ``etcd_remove`` against the group; see plugins/filter/removal_plan.yml."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_plan import plan_removal

    if not isinstance(reports, dict):
        raise AnsibleFilterError("removal_plan: reports must be a dict of host -> the result of gathering its facts")
    group_hosts = list(group_hosts or [])
    for name in ("" if requested is None else str(requested)).split(","):
        if name.strip():
            member_target(name, group_hosts, hostvars)
    reachable = [host for host in reports if not (reports[host] or {}).get("unreachable", False)]
    unreachable = [host for host in reports if host not in reachable]
    answered = [host for host in group_hosts if host in reachable]
    plan = plan_removal(requested, [dict(host=host, name=member_name(hostvars, host)) for host in group_hosts],
                        members(answered, hostvars) if answered else [], list(reports), list(reports), unreachable,
                        dict(group=group))
    survivors = members(plan["with_data"], hostvars) if plan["with_data"] else []
    return dict(targets=plan["targets"], names=plan["names"], hosts=plan["hosts"], reachable=reachable,
                survivors=survivors if plan["targets"] else [], refusal=plan["refusal"])


def removal_refusal(cluster_members, targets, group, requested):
    """Why the removal of ``targets`` is refused, judged on the cluster's ``cluster_members``; '' when it may go ahead.

    See plugins/filter/removal_refusal.yml.
    """
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_plan import removal_problem

    problem = removal_problem(cluster_members, targets, group, requested)
    return problem + "; nothing was changed" if problem else ""


class FilterModule:
    def filters(self):
        return {"removal_plan": removal_plan, "removal_refusal": removal_refusal}
