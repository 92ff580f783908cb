# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""DNS SRV bootstrap: the zone lines an operator creates from the inventory (``srv_records``). The
role's preflight checks the resolved records against the members with
plugins/module_utils/host/host_checks.py, through the action raftops.etcd.etcd_plan.

etcd's naming (``--discovery-srv DOMAIN``, ``--discovery-srv-name NAME``): peers come from
``_etcd-server-ssl[-NAME]._tcp.DOMAIN`` with TLS, ``_etcd-server[-NAME]._tcp.DOMAIN`` without;
clients use ``_etcd-client-ssl[-NAME]._tcp.DOMAIN`` / ``_etcd-client[-NAME]._tcp.DOMAIN``. etcd
resolves each target and matches it against the member's advertised peer URL, and its peer URLs
in the new cluster are the targets, which the members' certificates must therefore carry.
"""

import ipaddress
from urllib.parse import urlsplit


# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).


def service_name(kind, domain, tls=True, srv_name=""):
    """``_etcd-server-ssl._tcp.example.com`` and friends; ``kind`` is ``server`` or ``client``
    (module_utils/client/dns.srv_service, which the modules' discovery_srv uses too)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.client.dns import srv_service

    try:
        return srv_service(kind, domain, tls, srv_name)
    except ValueError as exc:
        raise ValueError("srv_records: %s (etcd_discovery_srv)" % exc) from None


def _port(url):
    return urlsplit(str(url)).port


def _target(member):
    target = member.get("srv_target")
    if not target:
        raise ValueError("srv_records: member %s has no srv_target: give raftops.etcd.members a srv_domain"
                         % member.get("name"))
    return str(target).rstrip(".")


def srv_records(members, domain, srv_name="", tls=True, ttl=300):
    """The zone lines (RFC 1035 master file) a DNS SRV bootstrap needs; see plugins/filter/srv_records.yml."""
    if not isinstance(members, list):
        raise ValueError("srv_records: the members must be a list of member records")
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
