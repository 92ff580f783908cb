# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""DNS SRV bootstrap: the zone lines an operator creates from the inventory (``srv_records``), and
the check of the records as the controller resolved them against the members (``srv_problems``).

etcd's naming (``--discovery-srv DOMAIN``, ``--discovery-srv-name NAME``): peers come from
``_etcd-server-ssl[-NAME]._tcp.DOMAIN`` with TLS, ``_etcd-server[-NAME]._tcp.DOMAIN`` without;
clients use ``_etcd-client-ssl[-NAME]._tcp.DOMAIN`` / ``_etcd-client[-NAME]._tcp.DOMAIN``. etcd
resolves each target and matches it against the member's advertised peer URL, and its peer URLs
in the new cluster are the targets, which the members' certificates must therefore carry.
"""

import ipaddress
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError

# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).


def service_name(kind, domain, tls=True, srv_name=""):
    """``_etcd-server-ssl._tcp.example.com`` and friends; ``kind`` is ``server`` or ``client``
    (module_utils/etcd_dns.srv_service, which the modules' discovery_srv uses too)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_dns import srv_service

    try:
        return srv_service(kind, domain, tls, srv_name)
    except ValueError as exc:
        raise AnsibleFilterError("srv_records: %s (etcd_discovery_srv)" % exc) from None


def _port(url):
    return urlsplit(str(url)).port


def _target(member):
    target = member.get("srv_target")
    if not target:
        raise AnsibleFilterError("srv_records: member %s has no srv_target: give raftops.etcd.members a srv_domain"
                                 % member.get("name"))
    return str(target).rstrip(".")


def srv_records(members, domain, srv_name="", tls=True, ttl=300):
    """The zone lines (RFC 1035 master file) a DNS SRV bootstrap needs; see plugins/filter/srv_records.yml."""
    if not isinstance(members, list):
        raise AnsibleFilterError("srv_records: the members must be a list of member records")
    servers = service_name("server", domain, tls, srv_name)
    clients = service_name("client", domain, tls, srv_name)
    ttl = int(ttl)
    lines = []
    for member in members:
        lines.append("%s. %d IN SRV 0 0 %d %s." % (servers, ttl, _port(member["peer_url"]), _target(member)))
    for member in members:
        lines.append("%s. %d IN SRV 0 0 %d %s." % (clients, ttl, _port(member["client_url"]), _target(member)))
    for member in members:
        address = str(member["address"])
        try:
            kind = "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
        except ValueError:
            lines.append("%s. %d IN CNAME %s." % (_target(member), ttl, address.rstrip(".")))
            continue
        lines.append("%s. %d IN %s %s" % (_target(member), ttl, kind, address))
    return lines


def srv_problems(records, members, service="", new_hosts=None):
    """What is wrong with the resolved SRV ``records`` for the ``members``; see plugins/filter/srv_problems.yml.

    ``records``: dicts with ``target``, ``port``, ``addresses`` (what the target resolves to) and
    ``failures`` (why an address query failed), as the lookup raftops.etcd.etcd_srv returns them; a
    target with addresses is used whatever its failures, as etcd does. Every member needs exactly one record whose
    target is its srv_target and resolves to its address, on its peer port; no record may point
    anywhere else. ``new_hosts`` are members that are not in the cluster yet (their message says
    that a new member needs its record before it joins).
    """
    if not isinstance(records, list) or not isinstance(members, list):
        raise AnsibleFilterError("srv_problems: the records and the members must be lists")
    service = str(service or "the SRV service")
    new_hosts = set(new_hosts or [])
    problems = []
    mine = {member["name"]: [] for member in members}
    for record in records:
        target = str(record.get("target", "")).rstrip(".").lower()
        port = int(record.get("port", 0))
        addresses = set(map(str, record.get("addresses") or []))
        shown = "%s -> %s:%d" % (service, target, port)
        if not addresses:
            failures = record.get("failures") or []
            problems.append("record %s: %s does not resolve to an address%s"
                            % (shown, target, " (%s)" % "; ".join(map(str, failures)) if failures else ""))
            continue
        owners = [m for m in members if m.get("srv_target") == target or str(m["address"]) in addresses]
        if not owners:
            problems.append("record %s points at %s, which is no member of the group: remove the record, or add "
                            "that host to the group" % (shown, ", ".join(sorted(addresses))))
            continue
        for member in owners:
            mine[member["name"]].append(record)
            if target != member.get("srv_target"):
                problems.append("record %s points at member %s (host %s) under the name %s, but its peer URL and "
                                "certificates use %s: set etcd_srv_target for host %s to %s, or fix the record"
                                % (shown, member["name"], member["host"], target, member.get("srv_target"),
                                   member["host"], target))
            elif str(member["address"]) not in addresses:
                problems.append("record %s: %s resolves to %s, not to member %s's address %s"
                                % (shown, target, ", ".join(sorted(addresses)), member["name"], member["address"]))
            if port != _port(member["peer_url"]):
                problems.append("record %s: port %d is not member %s's peer port %d"
                                % (shown, port, member["name"], _port(member["peer_url"])))
    for member in members:
        count = len(mine[member["name"]])
        if count == 1:
            continue
        if count == 0:
            hint = (" (a new member of a DNS SRV cluster needs its record before it joins)"
                    if member["host"] in new_hosts else "")
            problems.append("member %s (host %s, %s) has no record in %s: add '%s. IN SRV 0 0 %d %s.'%s"
                            % (member["name"], member["host"], member["address"], service, service,
                               _port(member["peer_url"]), member.get("srv_target"), hint))
        else:
            problems.append("member %s (host %s) has %d records in %s (%s): keep exactly one"
                            % (member["name"], member["host"], count, service,
                               ", ".join("%s:%s" % (str(r.get("target", "")).rstrip("."), r.get("port"))
                                         for r in mine[member["name"]])))
    return problems


class FilterModule:
    def filters(self):
        return {"srv_records": srv_records, "srv_problems": srv_problems}
