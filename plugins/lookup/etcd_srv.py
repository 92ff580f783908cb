# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
name: etcd_srv
short_description: Resolve the SRV records of an etcd DNS SRV bootstrap on the controller
version_added: 0.3.0
description:
  - Resolves each SRV service name (like C(_etcd-server-ssl._tcp.example.com)) with dnspython, as
    etcd's C(--discovery-srv) does on the members, and resolves each record's target to its A and
    AAAA addresses.
  - Returns, per term, the list of records; a name without records is an empty list. The role
    checks them against the inventory with P(raftops.etcd.srv_problems#filter) before any host changes.
requirements:
  - dnspython on the controller
options:
  _terms:
    description: SRV service names, from P(raftops.etcd.srv_records#filter)'s naming.
    type: list
    elements: str
    required: true
  nameservers:
    description: Nameserver IP addresses to ask; empty uses the controller's own resolver configuration.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds a whole lookup may take.
    type: float
    default: 5
author: raftops developers (@raftops)
"""

EXAMPLES = r"""
- name: Resolve the peers' records
  ansible.builtin.debug:
    msg: "{{ lookup('raftops.etcd.etcd_srv', '_etcd-server-ssl._tcp.example.com', nameservers=['10.0.0.53'], wantlist=true) }}"
"""

RETURN = r"""
_raw:
  description: Per term, its records.
  type: list
  elements: list
  contains:
    target:
      description: The record's target, without the final dot, in lower case.
      type: str
    port:
      description: The record's port.
      type: int
    priority:
      description: The record's priority.
      type: int
    weight:
      description: The record's weight.
      type: int
    addresses:
      description: The addresses the target resolves to (A and AAAA), sorted.
      type: list
      elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

try:
    import dns.exception
    import dns.resolver
except ImportError:
    HAS_DNSPYTHON = False
else:
    HAS_DNSPYTHON = True


def _absent_errors():
    return (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)


def resolve_srv(name, resolver):
    """The records of SRV service ``name`` as dicts (see RETURN), sorted; [] when there are none.

    ``resolver`` needs only ``resolve(qname, rdtype)`` returning an iterable of rdata (a dnspython
    Resolver, or in tests a zone's rdatasets). Other DNS failures (timeouts, no nameserver
    answering) raise AnsibleLookupError naming the name.
    """
    try:
        answer = resolver.resolve(name, "SRV")
    except _absent_errors():
        return []
    except dns.exception.DNSException as exc:
        raise AnsibleLookupError("raftops.etcd.etcd_srv: cannot resolve %s: %s" % (name, exc)) from None
    records = []
    for rdata in answer:
        addresses = []
        for rdtype in ("A", "AAAA"):
            try:
                addresses.extend(str(item.address) for item in resolver.resolve(rdata.target, rdtype))
            except _absent_errors():
                continue
            except dns.exception.DNSException as exc:
                raise AnsibleLookupError("raftops.etcd.etcd_srv: cannot resolve %s (%s of %s): %s"
                                         % (rdata.target, rdtype, name, exc)) from None
        records.append(dict(target=rdata.target.to_text(omit_final_dot=True).lower(), port=int(rdata.port),
                            priority=int(rdata.priority), weight=int(rdata.weight), addresses=sorted(set(addresses))))
    return sorted(records, key=lambda r: (r["target"], r["port"]))


def make_resolver(nameservers=None, timeout=5.0):
    """A dnspython resolver: the controller's configuration, or only ``nameservers``."""
    if nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(nameservers)
    else:
        resolver = dns.resolver.Resolver()
    resolver.lifetime = float(timeout)
    return resolver


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if not HAS_DNSPYTHON:
            raise AnsibleLookupError("raftops.etcd.etcd_srv needs dnspython on the controller (pip install dnspython)")
        self.set_options(var_options=variables, direct=kwargs)
        resolver = make_resolver(self.get_option("nameservers"), self.get_option("timeout"))
        return [resolve_srv(str(term), resolver) for term in terms]
