# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The hosts on which a pass of the etcd role left a CA rotation, and the deprecated PKI filters:
the role's PKI decisions are plugins/module_utils/etcd_pki_plan.py's (raftops.etcd.etcd_plan)."""

from ansible.errors import AnsibleFilterError

# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).


def pki_members(members, hostvars, readdress=None, managed=True, srv_domain=""):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_pki_plan.py, pki_members."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_pki_plan

    host_names = {member["host"]: hostvars[member["host"]] for member in members or []} if managed else {}
    return etcd_pki_plan.pki_members(members, host_names, readdress, managed, srv_domain)


def host_pairs(names):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_pki_plan.py, host_pairs."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_pki_plan

    try:
        return etcd_pki_plan.host_pairs(names)
    except ValueError as exc:
        raise AnsibleFilterError("host_pairs: %s" % exc) from exc


def other_ca_hosts(hosts, hostvars, result, checksum, path=None):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_pki_plan.py, other_ca_hosts.

    ``result`` names the registered ``stat`` of the host's ca.pem (with ``checksum_algorithm:
    sha256``), or with ``path`` an ``etcd_host_info`` result whose ``checksums`` has it; a host
    without the file, or where the read did not run, trusts no other CA.
    """
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_pki_plan

    if isinstance(hosts, str):
        raise AnsibleFilterError("other_ca_hosts: the hosts must be a list of inventory hostnames")
    reads = {}
    for host in hosts or []:
        read = hostvars[host].get(result) or {}
        reads[host] = (read.get("checksums") or {}).get(path) if path else (read.get("stat") or {}).get("checksum")
    return etcd_pki_plan.other_ca_hosts(reads, [checksum] if isinstance(checksum, str) else list(checksum or []))


# How a pass of the etcd role left a CA rotation with proxies (roles/etcd/tasks/rotate_ca_phase.yml).
ROTATION_PASS_OUTCOMES = ("held", "ended")


def rotation_pass_hosts(hosts, hostvars, rotation_pass, outcome=None):
    """The hosts of ``hosts`` on which pass ``rotation_pass`` of the etcd role left a CA rotation as
    ``outcome`` (``held`` for the proxies, or ``ended``; either when None), in the given order. The
    etcd playbook's later plays run on these, so that proxies follow the members phase by phase."""
    if isinstance(hosts, str):
        raise AnsibleFilterError("rotation_pass_hosts: the hosts must be a list of inventory hostnames")
    if outcome is not None and outcome not in ROTATION_PASS_OUTCOMES:
        raise AnsibleFilterError("rotation_pass_hosts: outcome must be one of %s, got %r"
                                 % (", ".join(ROTATION_PASS_OUTCOMES), outcome))
    wanted = ROTATION_PASS_OUTCOMES if outcome is None else (outcome,)
    key = str(rotation_pass)
    # Without hostvars (a syntax check templates the play's hosts before any host has facts): no host.
    # Each member's plan holds how the pass left the rotation (etcd_operation_plan.plan_rotation).
    return [host for host in hosts or []
            if host in hostvars
            and ((hostvars[host].get("_etcd_plan") or {}).get("rotation_after_pass") or {}).get(key) in wanted]


class FilterModule:
    def filters(self):
        return {"host_pairs": host_pairs, "other_ca_hosts": other_ca_hosts, "pki_members": pki_members,
                "rotation_pass_hosts": rotation_pass_hosts}
