# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The hosts on which a pass of the etcd role left a CA rotation. The role's PKI decisions are
plugins/module_utils/etcd_pki_plan.py's (raftops.etcd.etcd_plan)."""

from ansible.errors import AnsibleFilterError


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
        return {"rotation_pass_hosts": rotation_pass_hosts}
