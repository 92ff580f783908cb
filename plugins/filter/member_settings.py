# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Deprecated filters (meta/runtime.yml): the members' settings are written by the action of
raftops.etcd.etcd_member_files (plugins/module_utils/etcd_member_config.py), the scrape targets are
a field of the role's plan. Thin wrappers; the code is imported where it is used, so that loading
the collection's filters stays cheap.
"""

from ansible.errors import AnsibleFilterError


def server_env(settings, version, member):
    """Deprecated: see plugins/module_utils/etcd_member_config.py, server_env."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_member_config import MemberConfigError
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_member_config import server_env as env

    try:
        return env(settings, version, member)
    except MemberConfigError as e:
        raise AnsibleFilterError("server_env: %s" % e) from e


def scrape_targets(members, port, cluster, tls):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_plan.py, scrape_targets."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_plan import scrape_targets as targets

    return targets(members, port, cluster, tls)


class FilterModule:
    def filters(self):
        return {"server_env": server_env, "scrape_targets": scrape_targets}
