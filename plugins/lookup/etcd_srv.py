# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
name: etcd_srv
short_description: Resolve the SRV records of an etcd DNS SRV bootstrap on the controller
version_added: 1.0.0
description:
  - Resolves each SRV service name (like C(_etcd-server-ssl._tcp.example.com)) with dnspython, as
    etcd's C(--discovery-srv) does on the members, and resolves each record's target to its A and
    AAAA addresses.
  - As etcd's resolver (Go's) does, a target keeps the addresses of the type that answered when the
    other type's query fails (a nameserver answering REFUSED or SERVFAIL to AAAA, a timeout). Only a
    target that resolves to no address at all is a problem, and RV(_raw.failures) says why.
  - An SRV query that fails (no nameserver answers it) fails the lookup, naming the service.
  - Returns, per term, the list of records; a name without records is an empty list. The role
    checks them against the inventory before any host changes (the action C(raftops.etcd.etcd_plan), stage C(srv), which resolves them the same way).
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
    failures:
      description:
        - The address queries of the target that failed, other than the name or the type not existing,
          as C(AAAA) or C(A), a colon and why; empty when both answered.
        - Addresses of the other type are still used, as etcd uses them.
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


def target_addresses(target, resolver):
    """(addresses, failures) of SRV target ``target``: its A and AAAA addresses, sorted, and why a
    type's query failed (``AAAA: <why>``) when it did not answer "no such name" or "no such data".

    Go's resolver, which etcd uses to resolve the targets, keeps the answers of one type when the
    other's query fails (a nameserver refusing AAAA for a name it only has an A record of); only a
    target without any address is an error to etcd. So a failure here is not raised: the caller
    refuses a target whose addresses are empty, naming the failures.
    """
    addresses, failures = [], []
    for rdtype in ("A", "AAAA"):
        try:
            addresses.extend(str(item.address) for item in resolver.resolve(target, rdtype))
        except _absent_errors():
            continue
        except dns.exception.DNSException as exc:
            failures.append("%s: %s" % (rdtype, str(exc) or exc.__class__.__name__))
    return sorted(set(addresses)), failures


def resolve_srv(name, resolver):
    """The records of SRV service ``name`` as dicts (see RETURN), sorted; [] when there are none.

    ``resolver`` needs only ``resolve(qname, rdtype)`` returning an iterable of rdata (a dnspython
    Resolver, or in tests a zone's rdatasets). An SRV query that fails (a timeout, no nameserver
    answering) raises AnsibleLookupError naming the name; the targets' address queries never do
    (target_addresses).
    """
    try:
        answer = resolver.resolve(name, "SRV")
    except _absent_errors():
        return []
    except dns.exception.DNSException as exc:
        raise AnsibleLookupError("raftops.etcd.etcd_srv: cannot resolve %s: %s" % (name, exc)) from None
    records = []
    for rdata in answer:
        addresses, failures = target_addresses(rdata.target, resolver)
        records.append(dict(target=rdata.target.to_text(omit_final_dot=True).lower(), port=int(rdata.port),
                            priority=int(rdata.priority), weight=int(rdata.weight), addresses=addresses,
                            failures=failures))
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
