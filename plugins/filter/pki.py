# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the members' certificates must name, and which members trust another CA than the one in
etcd_pki_dir: the PKI decisions of the etcd role, made here so that its tasks only act on them."""

from ansible.errors import AnsibleFilterError

# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).


def pki_members(members, hostvars, readdress=None, managed=True, srv_domain=""):
    """The ``members`` option of ``etcd_pki`` for the validated member records; see plugins/filter/pki_members.yml."""
    readdress = readdress or {}
    srv_domain = str(srv_domain or "").rstrip(".").lower()
    entries = []
    for member in members or []:
        host, address = member["host"], member["address"]
        moving = readdress.get(host) or {}
        hostnames = []
        if managed:
            facts = hostvars[host]
            for name in (facts.get("ansible_hostname", ""), facts.get("ansible_fqdn", ""), host):
                if name != "" and name != address and name not in hostnames:
                    hostnames.append(name)
        # DNS SRV: peers dial the record's target (the peer URL) and etcd checks the domain too;
        # required of an operator's certificates as well.
        if srv_domain:
            for name in (member.get("srv_target") or "", srv_domain):
                if name != "" and name not in hostnames:
                    hostnames.append(name)
        entries.append(dict(name=member["name"],
                            addresses=[address] + ([moving["old_address"]] if moving else []),
                            hostnames=hostnames))
    return entries


def host_pairs(names):
    """The ``clients`` of ``etcd_pki`` that each member holds of its own; see plugins/filter/host_pairs.yml."""
    if isinstance(names, str):
        raise AnsibleFilterError("host_pairs: the names must be a list of member names")
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_pki_params import host_pair_name

    pairs = []
    for name in names or []:
        # CN root: etcd's user root on its gRPC port (the members' timers); no CN: the role's root login.
        pairs.append({"name": host_pair_name(name, "-root"), "user": "root"})
        pairs.append({"name": host_pair_name(name, "-client")})
    return pairs


def other_ca_hosts(hosts, hostvars, result, checksum, path=None):
    """The hosts of ``hosts`` that have a CA certificate whose SHA-256 is not ``checksum`` (or, a
    list, none of them: during a CA rotation members may trust the old CA, both or the new one).

    ``result`` names the registered ``stat`` of the host's ca.pem (with ``checksum_algorithm:
    sha256``), or with ``path`` an ``etcd_host_info`` result whose ``checksums`` has it; a host
    without the file, or where the read did not run, trusts no other CA.
    """
    if isinstance(hosts, str):
        raise AnsibleFilterError("other_ca_hosts: the hosts must be a list of inventory hostnames")
    accepted = [checksum] if isinstance(checksum, str) else list(checksum or [])
    others = []
    for host in hosts or []:
        read = hostvars[host].get(result) or {}
        found = (read.get("checksums") or {}).get(path) if path else (read.get("stat") or {}).get("checksum")
        if found and found not in accepted:
            others.append(host)
    return others


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
    return [host for host in hosts or []
            if host in hostvars and (hostvars[host].get("_etcd_rotation_after_pass_facts") or {}).get(key) in wanted]


class FilterModule:
    def filters(self):
        return {"host_pairs": host_pairs, "other_ca_hosts": other_ca_hosts, "pki_members": pki_members,
                "rotation_pass_hosts": rotation_pass_hosts}
