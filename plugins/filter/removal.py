# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The removal of members (playbooks/remove_member.yml, replace_member.yml): which members the
operator asked for, which hosts answer, which surviving members to act through, and whether the
whole request may go ahead. A request is refused whole, before any member is removed.
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter.etcd import member_target, members


def removal_plan(requested, group, group_hosts, hostvars, reports):
    """Resolve ``etcd_remove`` against the group; see plugins/filter/removal_plan.yml."""
    if not isinstance(reports, dict):
        raise AnsibleFilterError("removal_plan: reports must be a dict of host -> the result of gathering its facts")
    group_hosts = list(group_hosts or [])
    names = [name.strip() for name in ("" if requested is None else str(requested)).split(",")]
    targets = [member_target(name, group_hosts, hostvars) for name in names if name != ""]
    target_names = [target["name"] for target in targets]
    target_hosts = [target["host"] for target in targets if target["host"]]
    # A host that did not answer stays in the play (a dead host is what a removal is often about).
    reachable = [host for host in reports if not (reports[host] or {}).get("unreachable", False)]
    plan = dict(targets=targets, names=target_names, hosts=target_hosts, reachable=reachable, survivors=[], refusal="")
    if not targets:
        plan["refusal"] = ("etcd_remove is empty: pass -e etcd_remove=NAME (a NODE_NAME or an inventory host; several "
                           "comma-separated)")
        return plan
    survivor_hosts = [host for host in reachable if host in group_hosts and host not in target_hosts]
    if not survivor_hosts:
        plan["refusal"] = ("no reachable member of group %s is left besides %s: nothing to remove them through"
                           % (group, ", ".join(target_names)))
        return plan
    plan["survivors"] = members(survivor_hosts, hostvars)
    return plan


def _ignore_case(text):
    return text.lower() if isinstance(text, str) else text


def removal_refusal(cluster_members, targets, group, requested):
    """Why the removal of ``targets`` is refused, judged on the cluster's ``cluster_members``; '' when it may go ahead.

    See plugins/filter/removal_refusal.yml.
    """
    cluster_members = list(cluster_members or [])
    remove_names = [target["name"] for target in targets or []]
    member_names = [member.get("name") for member in cluster_members]
    unknown = [target["name"] for target in targets or [] if target["host"] == "" and target["name"] not in member_names]
    voters_left = [member for member in cluster_members
                   if not member.get("is_learner") and member.get("name") not in remove_names]
    healthy_left = [member for member in voters_left if member.get("healthy")]
    quorum = len(voters_left) // 2 + 1
    if unknown:
        listed = sorted((member.get("name") or "(unstarted)" for member in cluster_members), key=_ignore_case)
        why = ("no member named %s in the cluster and no such host in group %s (etcd_remove=%s); members are: %s"
               % (", ".join(unknown), group, requested, ", ".join(str(name) for name in listed)))
    elif not voters_left:
        why = "removing %s would remove every voting member and destroy the cluster" % ", ".join(remove_names)
    elif len(healthy_left) < quorum:
        unhealthy = "; ".join("%s: %s" % (member.get("name"), member.get("probe_error"))
                              for member in voters_left if not member.get("healthy"))
        why = ("refusing to remove %s: %d voting members would be left (quorum %d) and only %d of them healthy (%s), "
               "so the cluster would lose quorum. Bring those members back first, or replace a dead member with the "
               "replace_member playbook" % (", ".join(remove_names), len(voters_left), quorum, len(healthy_left), unhealthy))
    else:
        return ""
    return why + "; nothing was changed"


class FilterModule:
    def filters(self):
        return {"removal_plan": removal_plan, "removal_refusal": removal_refusal}
