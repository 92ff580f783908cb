# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The members' addresses as their own record gives them (logged_addresses): public, and it serves the
members filter (its logs: facts.yml in status_report.yml). The recovery's plan reads the survivors'
logs with the same code, plugins/module_utils/etcd_recovery_plan.py, through the action
raftops.etcd.etcd_plan (stages recovery_logs and recovery). The plan code is imported where it is
used: a filter file imports no larger module_utils at its top (tests/unit/plugins/filter/test_filter_load.py).
"""


def logged_addresses(survivors):
    """{member name: address} of the membership the most advanced survivor's log commits to; see
    plugins/filter/logged_addresses.yml."""
    # Without a log (most reads), the plan code is not loaded into the task's process.
    survivors = list(survivors or [])
    if not any(isinstance(survivor, dict) and survivor.get("log") for survivor in survivors):
        return {}
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_recovery_plan import logged_addresses as addresses

    return addresses(survivors)


class FilterModule(object):
    def filters(self):
        return {"logged_addresses": logged_addresses}
