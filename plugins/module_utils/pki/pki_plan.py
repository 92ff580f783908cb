# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The PKI decisions of the etcd role (tasks/pki_issue.yml and pki_controller.yml), made on the
controller through raftops.etcd.etcd_plan:

- ``plan_pki`` (stage ``pki``, before etcd_pki): what each member's certificates name, which client
  pairs are issued, and which pairs every member shared are revoked;
- ``running_members_refusal`` (etcd_pki's option ``running_members``, after it made or checked the
  directory): the members that trust another CA than etcd_pki_dir's, or ask their peers for a name the
  peer certificates lack, refuse the run by name.
- ``member_pki_files`` (configure.yml's files call, through the lookup etcd_connection): where a
  member's certificates come from in etcd_pki's result.

Pure functions on plain data (no Ansible, no I/O).
"""

import hashlib

from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import host_pair_name

# What a member that asks its peers for the peer name sets (docs/pki.md).
PEER_NAME_SETTING = "ETCD_PEER_CERT_ALLOWED_HOSTNAME"


def pki_members(members, host_names, readdress=None, managed=True, srv_domain=""):
    """The ``members`` option of ``etcd_pki`` for the validated member records.

    ``host_names``: host -> its facts ansible_hostname and ansible_fqdn (a host without them is
    named by its inventory name alone). Certificates the role makes (``managed``) also name the
    host; an operator's need only cover the address. A member moving to a new address
    (``readdress``: host -> the move) keeps its old one too until it has moved. With DNS SRV the
    record's target and the domain are named, managed or not."""
    readdress = readdress or {}
    srv_domain = str(srv_domain or "").rstrip(".").lower()
    entries = []
    for member in members or []:
        host, address = member["host"], member["address"]
        moving = readdress.get(host) or {}
        hostnames = []
        if managed:
            facts = host_names.get(host) or {}
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
    """The ``clients`` of ``etcd_pki`` that each member holds of its own: NAME-root (CN root:
    etcd's user root on its gRPC port, for the members' timers) and NAME-client (no CN: the role's
    root login). Removing a member revokes its pairs alone."""
    if isinstance(names, str):
        raise ValueError("the names must be a list of member names")
    pairs = []
    for name in names or []:
        pairs.append({"name": host_pair_name(name, "-root"), "user": "root"})
        pairs.append({"name": host_pair_name(name, "-client")})
    return pairs


def plan_pki(members, host_names, reads, settings):
    """The inputs of the run's etcd_pki calls.

    ``members``: the validated member records; ``host_names``: host -> its name facts;
    ``settings``: managed, readdress, srv_domain, scrapers (the metrics scrapers' addresses
    when metrics listen on the member's address, else none), pair_key (the path of the root
    login's client key on a member), ca_path (a member's CA certificate), replace_ca, ca_check_hosts;
    ``reads``: host -> its read (etcd_host_info's ``info``) of the play's hosts.

    ``members`` and ``clients``: etcd_pki's options (with the operator's PKI only the members: their
    admin pair is theirs). ``revoke``: the pairs every member shared before each had its own, the
    shared root pair and, where a member holds the root login's pair, the admin pair (it is then
    issued anew): a copy taken from any one host would have outlived its removal.
    ``running_members``: etcd_pki's option of that name, for the hosts of ``ca_check_hosts`` whose members
    already trust a CA (the members with data; in a restore the hosts with a data dir) that are in the
    play: the SHA-256 of the CA certificate each trusts (none when the CA is replaced on purpose,
    ``replace_ca``) and whether it asks its peers for the peer name.
    """
    managed = bool(settings.get("managed"))
    clients = []
    if managed:
        scrapers = list(settings.get("scrapers") or [])
        clients = ["admin", *host_pairs([member["name"] for member in members or []])]
        if scrapers:
            clients.append({"name": "prometheus", "sans": scrapers})
    admin_on_hosts = any(settings.get("pair_key") in (read.get("present") or []) for read in reads.values())
    running = []
    for host in settings.get("ca_check_hosts") or []:
        if host in reads:
            ca = None if settings.get("replace_ca") else (reads[host].get("checksums") or {}).get(settings.get("ca_path"))
            running.append(dict(name=host, ca_sha256=ca or "",
                                peer_name=PEER_NAME_SETTING in (reads[host].get("settings") or {})))
    return dict(
        members=pki_members(members, host_names, settings.get("readdress"), managed, settings.get("srv_domain")),
        clients=clients,
        revoke=["root"] + (["admin"] if admin_on_hosts else []),
        running_members=running,
    )


def member_pki_files(pki, name, managed):
    """Where a member's certificates come from in etcd_pki_dir, from etcd_pki's result (``pki``) for
    the member ``name``: the CA (``ca``: during a CA rotation the bundle of the CAs the phase trusts,
    its ``trusted_path``, docs/pki.md), its own server and peer pairs (``own``), the revocation list
    (``crl``) and, with the role's PKI (``managed``), its own pair with CN root for its timers
    (``root``: the PKI plan's NAME-root client; None with an operator's PKI)."""
    ca = pki["ca"]
    return dict(ca=ca["trusted_path"] if "trusted_path" in ca else ca["path"], own=pki["certificates"][name],
                crl=pki["crl"]["path"], root=pki["clients"][host_pair_name(name, "-root")] if managed else None)


def other_ca_hosts(reads, accepted):
    """The hosts of ``reads`` (host -> the SHA-256 of the CA certificate it trusts, '' or None
    without one) whose CA is none of ``accepted`` (during a CA rotation a member may trust the old
    CA, both or the new one), in order."""
    return [host for host, found in reads.items() if found and found not in accepted]


def running_members_refusal(running, pki, controller_ca):
    """Why etcd_pki_dir does not fit the members that already run, after etcd_pki made or checked it, or ''.

    ``running``: etcd_pki's ``running_members`` (name, ca_sha256: the SHA-256 of the CA certificate the
    member trusts, '' to leave it unchecked; peer_name: whether its etcd asks its peers for the peer
    name); ``pki``: etcd_pki's result; ``controller_ca``: the text of the directory's ca.pem ('' without
    one). The message names neither the directory nor who made it: the caller's error does.

    Members of a running cluster only trust the CA they were deployed with, so certificates of another
    CA would cut them off from each other (during a CA rotation the phase's CAs are accepted). Members
    that ask their peers for the peer name shut out a peer whose certificate lacks it: they refuse only
    when etcd_pki found a peer certificate without it (no ``peer_identity``).
    """
    ca = pki.get("ca") or {}
    accepted = ca["trusted_checksums"] if "trusted_checksums" in ca else [
        hashlib.sha256(controller_ca.encode("utf-8")).hexdigest()]
    others = other_ca_hosts({member["name"]: member.get("ca_sha256") for member in running}, accepted)
    peer_name_hosts = [member["name"] for member in running if member.get("peer_name")]
    if others:
        return (
            "%s, but %s run with another CA; certificates of a new CA would cut the members off from each other. "
            "Point the role's etcd_pki_dir at the directory the cluster was deployed with (etcd-pki beside its "
            "inventory), or replace the CA on purpose with etcd_pki_replace_ca=true"
            % ("its ca.pem is another CA" if controller_ca else "it holds no ca.pem yet", ", ".join(others)))
    if peer_name_hosts and not pki.get("peer_identity"):
        return (
            "%s ask their peers for the name etcd-peer.invalid (%s), but not every peer certificate in the directory "
            "carries it; a member given one would be shut out by the others. Issue every peer certificate with the "
            "subject alternative name DNS:etcd-peer.invalid (docs/pki.md)" % (", ".join(peer_name_hosts), PEER_NAME_SETTING))
    return ""
