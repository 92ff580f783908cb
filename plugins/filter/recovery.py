# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Quorum recovery's filters. The recovery's plan decides with this logic now, in
plugins/module_utils/etcd_recovery_plan.py, through the action raftops.etcd.etcd_plan (stages
recovery_logs and recovery); quorum_recovery_plan, quorum_recovery_report, logged_peer_urls and
recover_lost_hosts are deprecated (meta/runtime.yml) and keep their answers by asking it.
logged_addresses is public, and serves the members filter (its logs: facts.yml in status_report.yml). The plan code is imported where it is used: a filter file
imports no larger module_utils at its top (tests/unit/plugins/filter/test_filter_load.py).
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter.etcd import _member_name


def _names(group_hosts, hostvars):
    return {host: _member_name(hostvars, host) for host in group_hosts or []}


def recover_lost_hosts(lost, group_hosts, hostvars):
    """The hosts of the group that ``lost`` (etcd_recover_lost) names, by inventory host or member name."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_recovery_plan import lost_hosts

    return lost_hosts(lost, group_hosts, _names(group_hosts, hostvars))


def quorum_recovery_plan(health, survivors, group_hosts, hostvars, lost=None):
    """Judge a quorum recovery; see plugins/filter/quorum_recovery_plan.yml."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_recovery_plan import PlanError, judge_recovery

    try:
        return judge_recovery(health, survivors, group_hosts, _names(group_hosts, hostvars), lost)
    except PlanError:
        raise AnsibleFilterError("quorum_recovery_plan: health must be the result of etcd_health and survivors a list") from None


def logged_addresses(survivors):
    """{member name: address} of the membership the most advanced survivor's log commits to; see
    plugins/filter/logged_addresses.yml."""
    # Without a log (most reads), the plan code is not loaded into the task's process.
    survivors = list(survivors or [])
    if not any(isinstance(survivor, dict) and survivor.get("log") for survivor in survivors):
        return {}
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_recovery_plan import logged_addresses as addresses

    return addresses(survivors)


def logged_peer_urls(survivors):
    """{client URL: peer URLs} of every member the survivors' logs record, for etcd_health's peer_urls."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_recovery_plan import logged_peer_urls as peer_urls

    return peer_urls(survivors)


def quorum_recovery_report(plan, member_status):
    """Lines for the operator after a recovery; see plugins/filter/quorum_recovery_report.yml."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_recovery_plan import recovery_report

    return recovery_report(plan, member_status)


class FilterModule(object):
    def filters(self):
        return {"quorum_recovery_plan": quorum_recovery_plan, "quorum_recovery_report": quorum_recovery_report,
                "logged_addresses": logged_addresses, "logged_peer_urls": logged_peer_urls,
                "recover_lost_hosts": recover_lost_hosts}
