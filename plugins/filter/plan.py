# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The run's view of each member host: which hold data of this cluster, which are new, which hold
another cluster's data, which lost their data and must re-join, which moved to a new address, and
which identity changes are refused before any host changes; where a host's own etcd listens; and
in which order the members that must restart are rolled.

Decided here, in tested Python, from what each host reports (``etcd_host_info``, its local etcd)
and the inventory; the role's tasks only act on the result.
"""

import json
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_formats import installed_local_endpoint


def _url_parts(url):
    parts = urlsplit(str(url or "").split(",", maxsplit=1)[0].strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


def _first_url(settings, key):
    return str(settings.get(key) or "").split(",", maxsplit=1)[0].strip()


def _cluster_view(facts):
    """The cluster most hosts with data belong to, as their own etcd reports it; {} when none answered."""
    views = [f["local"] for f in facts.values() if (f.get("local") or {}).get("members")]
    best, best_count = {}, 0
    for view in views:
        count = sum(1 for other in views if other["cluster"]["id"] == view["cluster"]["id"])
        if count > best_count:
            best, best_count = view, count
    return best


def _discard_list(discard):
    if isinstance(discard, str):
        return [item.strip() for item in discard.split(",") if item.strip()]
    return [str(item).strip() for item in discard or []]


def member_plan(members, facts, discard=None):
    """Sort the members of this run; see plugins/filter/member_plan.yml."""
    if not isinstance(facts, dict):
        raise AnsibleFilterError("member_plan: facts must be a dict of host -> facts")
    view = _cluster_view(facts)
    view_members = view.get("members") or []
    by_peer = {}
    for member in view_members:
        for url in member.get("peer_urls") or []:
            by_peer[_url_parts(url)] = member
    discard = _discard_list(discard)
    plan = dict(cluster=view, with_data=[], new=[], foreign=[], rejoin={}, readdress={}, problems=[])
    unconfirmed, data_dir = [], "the data dir"

    for record in members:
        host = record["host"]
        if host not in facts:
            continue
        fact = facts[host]
        info = fact.get("info") or {}
        wanted = fact.get("wanted") or {}
        settings = info.get("settings") or {}
        installed_peer = _first_url(settings, "ETCD_INITIAL_ADVERTISE_PEER_URLS") or record["peer_url"]
        installed_client = _first_url(settings, "ETCD_ADVERTISE_CLIENT_URLS") or record["client_url"]
        has_data = bool(info.get("has_data") or info.get("configured_has_data"))

        if not has_data:
            plan["new"].append(host)
            _port_problems(plan, record, info, wanted)
            _plan_new_host(plan, record, by_peer, view_members)
            continue

        member = by_peer.get(_url_parts(installed_peer))
        if view and member is None:
            plan["foreign"].append(host)
            # The data of this host's own join that never finished is moved aside unasked.
            unasked = _interrupted_join(info, fact.get("local") or {}, view, installed_peer)
            if not unasked and host not in discard and record["name"] not in discard:
                unconfirmed.append((host, _foreign_owner(fact.get("local") or {}, view, installed_peer)))
                data_dir = wanted.get("data_dir") or data_dir
            plan["new"].append(host)
            continue
        plan["with_data"].append(host)
        _identity_problems(plan, record, info, wanted, settings, installed_peer, installed_client, member)
    plan["foreign_refusal"] = foreign_refusal(unconfirmed, data_dir)
    return plan


def _plan_new_host(plan, record, by_peer, view_members):
    host, name = record["host"], record["name"]
    same_peer = by_peer.get(_url_parts(record["peer_url"]))
    if same_peer is not None:
        if same_peer.get("name") and same_peer["name"] != name:
            plan["problems"].append(
                "host %s: its peer URL %s belongs to member %s of the running cluster, not to %s (NODE_NAME); "
                "give the host its member's NODE_NAME, or remove that member first (remove_member playbook)"
                % (host, record["peer_url"], same_peer["name"], name))
        elif same_peer.get("started", bool(same_peer.get("name"))):
            # This host's member lost its data: the entry must go before the host joins again as a
            # learner, or etcd would take the empty member for one that still holds the log.
            plan["rejoin"][host] = same_peer["id"]
        return
    for member in view_members:
        if member.get("name") == name:
            plan["problems"].append(
                "host %s: NODE_NAME %s belongs to a live member of the running cluster at %s; to move that "
                "member to %s, run the replace_member playbook with -e etcd_replace=%s (it removes the old "
                "member first), or give %s another NODE_NAME"
                % (host, name, ", ".join(member.get("peer_urls") or []), host, name, host))
            return


def _port_problems(plan, record, info, wanted):
    """A new member cannot listen where something else on its host already does (another etcd instance)."""
    if info.get("active"):
        return  # its own etcd, starting
    busy = set(info.get("ports_in_use") or [])
    ports = [("etcd_client_port", _url_parts(record["client_url"])[2]), ("etcd_peer_port", _url_parts(record["peer_url"])[2])]
    if wanted.get("metrics_port") not in (None, ""):
        ports.append(("etcd_metrics_port", int(wanted["metrics_port"])))
    clashes = ["%s %s" % (variable, port) for variable, port in ports if port in busy]
    if clashes:
        plan["problems"].append(
            "host %s: %s %s already in use there (another etcd instance or another service listens on %s); give "
            "this cluster free ports, or stop what listens" % (
                record["host"], " and ".join([", ".join(clashes[:-1]), clashes[-1]] if len(clashes) > 1 else clashes),
                "are" if len(clashes) > 1 else "is",
                "them" if len(clashes) > 1 else "it"))


def _interrupted_join(info, local, view, installed_peer):
    """True for data a join into this cluster wrote and never finished (the host went down
    mid-join and the failed join removed its learner entry): the host still has its join settings,
    whose peers are members of this cluster, and its etcd claims no other cluster."""
    initial = info.get("initial_settings") or {}
    if initial.get("ETCD_INITIAL_CLUSTER_STATE") != "existing":
        return False
    theirs = (local.get("cluster") or {}).get("id")
    if theirs and theirs != view["cluster"]["id"]:
        return False
    peers = {_url_parts(entry.split("=", 1)[1]) for entry in (initial.get("ETCD_INITIAL_CLUSTER") or "").split(",")
             if "=" in entry}
    ours = {_url_parts(url) for member in view.get("members") or [] for url in member.get("peer_urls") or []}
    return bool((peers - {_url_parts(installed_peer)}) & ours)


def _foreign_owner(local, view, installed_peer):
    theirs = (local.get("cluster") or {}).get("id")
    if theirs and theirs != view["cluster"]["id"]:
        return "its etcd belongs to cluster %s with members %s; this cluster is %s" % (
            theirs, ", ".join(m.get("name") or "?" for m in local.get("members") or []), view["cluster"]["id"])
    return "no member has its peer URL %s: data of another cluster or of a removed member" % installed_peer


def foreign_refusal(unconfirmed, data_dir):
    """One message for the hosts whose foreign data the operator has not let the role discard."""
    if not unconfirmed:
        return ""
    return ("%snothing was changed. To discard that data, confirm with -e '{\"etcd_discard_foreign_data\": %s}': the "
            "join then stops the etcd there and moves %s aside to %s.foreign-<UTC time>." % (
                "".join("host %s: %s holds etcd data that is not of a member of this cluster (%s); " % (host, data_dir, owner)
                        for host, owner in unconfirmed),
                json.dumps([host for host, _owner in unconfirmed]), data_dir, data_dir))


def _identity_problems(plan, record, info, wanted, settings, installed_peer, installed_client, member):
    host = record["host"]
    if not settings:
        return
    installed_name = settings.get("ETCD_NAME")
    if installed_name and installed_name != record["name"]:
        plan["problems"].append(
            "host %s: NODE_NAME is %s, but the member there runs as %s; a member's name cannot change in place: "
            "set NODE_NAME back to %s, or replace the member (remove_member -e etcd_remove=%s, then the etcd "
            "playbook)" % (host, record["name"], installed_name, installed_name, installed_name))
    installed_dir = info.get("data_dir")
    if installed_dir and info.get("has_data") and installed_dir != wanted.get("data_dir", installed_dir):
        plan["problems"].append(
            "host %s: etcd_data_dir is %s, but the member runs with its data in %s; the role does not move a live "
            "member's data: set etcd_data_dir back to %s, or move it yourself (stop etcd, move the directory, run "
            "the playbook)" % (host, wanted.get("data_dir"), installed_dir, installed_dir))
    installed_wal = settings.get("ETCD_WAL_DIR") or ""
    if info.get("has_data") and installed_wal != (wanted.get("wal_dir") or ""):
        plan["problems"].append(
            "host %s: etcd_wal_dir is %s, but the member runs with its WAL in %s; the role does not move a live "
            "member's WAL: set etcd_wal_dir back" % (
                host, wanted.get("wal_dir") or "'' (inside the data dir)", installed_wal or "its data dir"))
    old_scheme, old_address, old_peer_port = _url_parts(installed_peer)
    new_scheme, new_address, new_peer_port = _url_parts(record["peer_url"])
    old_client_scheme, old_client_port = _url_parts(installed_client)[0::2]
    new_client_port = _url_parts(record["client_url"])[2]
    if old_scheme != new_scheme or old_client_scheme != new_scheme:
        plan["problems"].append(
            "host %s: etcd_tls asks for %s, but the member runs with %s peer URL %s; switching TLS on a running "
            "cluster is not done by the role: set etcd_tls back" % (host, new_scheme, old_scheme, installed_peer))
        return
    if old_peer_port != new_peer_port:
        plan["problems"].append(
            "host %s: etcd_peer_port is %s, but the member runs with peer URL %s; the role does not change the "
            "peer port of a running member: set etcd_peer_port back to %s"
            % (host, new_peer_port, installed_peer, old_peer_port))
    if old_client_port != new_client_port:
        plan["problems"].append(
            "host %s: etcd_client_port is %s, but the member serves clients at %s; the role does not change the "
            "client port of a running member (clients would lose it): set etcd_client_port back to %s"
            % (host, new_client_port, installed_client, old_client_port))
    if old_address != new_address and old_peer_port == new_peer_port:
        plan["readdress"][host] = dict(name=record["name"], old_address=old_address, old_peer_url=installed_peer,
                                       new_peer_url=record["peer_url"],
                                       member_id=(member or {}).get("id"))


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def roll_order(hosts, restart_due, leader, members):
    """The hosts of ``hosts`` whose member must restart (``restart_due``: host -> bool), in their
    order, the leader's host last: every restart but one costs no election."""
    if not isinstance(restart_due, dict):
        raise AnsibleFilterError("roll_order: restart_due must be a dict of host -> bool")
    leader_host = next((m["host"] for m in members or [] if leader and m.get("name") == leader), "")
    due = [host for host in hosts or [] if _truthy(restart_due.get(host))]
    return [host for host in due if host != leader_host] + [host for host in due if host == leader_host]


class FilterModule:
    def filters(self):
        return {
            "installed_local_endpoint": installed_local_endpoint,
            "member_plan": member_plan,
            "roll_order": roll_order,
        }
