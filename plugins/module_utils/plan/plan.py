# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The plan of a deploy run (playbooks/etcd.yml) and of a removal (remove_member.yml, replace_member.yml):
every decision the role takes there, made once on the controller from what the hosts and the cluster
answered, as plain data.

Pure functions on plain data (no Ansible, no I/O), called by the action plugin etcd_plan in three
steps, each extending the plan of the one before:

- plan_hosts: from each play host's read (etcd_host_info, its own etcd, the settings it is asked
  for): which hosts hold this cluster's data, which are new, foreign, re-join or move; the refusals
  and warnings known before the cluster is read; where the cluster is read.
- plan_cluster: from preflight's read of the running cluster: which members do not serve or run
  another release, whether the release may change, what blocks a CA rotation, whether existing.yml
  must wait for health, and whether that read may stand for the status at the end.
- plan_converge: from what the writing of the members' files found out of date on each member and
  the restart notes and join settings each host's read found: whether the existing cluster has
  anything to do at all (existing.yml), so that a run with nothing to do includes none of it.
- plan_roll: from the restarts noted on the members and the leader (roll_leader: preflight's while its
  read stands): the order of the roll.
- plan_removal, then plan_removal_check (remove.yml): the members to remove, the hosts to retire, the
  surviving members to act through, and every refusal, from the request and which hosts answered,
  then from the cluster's member list and the CA each surviving member trusts.

A member of the inventory whose host did not answer is never left out of the decision: it is named,
among the problems when it is in the play (its read failed), or in left_out when the run leaves it
out (--limit).
"""

import json
from urllib.parse import urlsplit

from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import NAME_RULE, resolve_target, url_parts
from ansible_collections.raftops.etcd.plugins.module_utils.host.install_plan import install_needed, podman_needed
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.membership import initial_cluster
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import PEER_IDENTITY
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import (
    downgrade_target,
    truthy,
    upgrade_problem,
    version_tuple,
)


# The stages of raftops.etcd.etcd_plan: a deploy run, a removal, a maintenance, a CA rotation, a restore,
# a quorum recovery and the status; the timers, a DNS SRV bootstrap, the proxy role and a roll that
# stopped; the backup, a restore's fetch and the restore drill.
STAGES = ["hosts", "cluster", "converge", "roll", "removal", "removal_check", "revocation", "maintenance",
          "rotation_read", "rotation", "restore", "restore_members", "restore_check", "restore_start", "recovery_logs", "recovery",
          "status", "status_report", "deployed", "hardware", "bootstrap",
          "schedule", "srv", "proxy_group", "proxy_settings", "proxy_reach", "proxy_pki", "proxy_files", "proxy_health",
          "proxy_status", "roll_stop",
          "source", "record", "seal", "fetch", "drill_snapshot", "drill_point", "adoption"]


def argument_spec():
    """The options of raftops.etcd.etcd_plan (its action plugin and its module's documentation), the
    options of every stage: each is validated whichever stage is asked."""
    return dict(
        stage=dict(type="str", required=True, choices=STAGES),
        members=dict(type="list", elements="dict", default=[]),
        requested=dict(type="str", default=""),
        # The connection options (the group raftops.etcd.etcd's module_defaults) of the calls a stage makes:
        # etcd_member_info on the task's host (removal_check), etcd_health (hosts, cluster, bootstrap, status,
        # status_report, source), etcd_lock (hosts, cluster). A root login's password and client pair are among them.
        # None given (the role's tasks): the action reads them as the lookup raftops.etcd.etcd_connection does.
        connection=dict(type="dict", default={}, no_log=True),
        plan=dict(type="dict", default={}),
        health=dict(type="dict", default={}),
        # None (not given): the roll stage reads the leader itself.
        leader=dict(type="str"),
        rotation_phase=dict(type="str", default="none"),
        maintenance=dict(type="dict", default={}),
        rotation=dict(type="dict", default={}),
        settings=dict(type="dict", default={}),
        refuse=dict(type="bool", default=False),
        report_var=dict(type="str", default="_etcd_host_info"),
        restart_var=dict(type="str", default="_etcd_member_files"),
        outdated_var=dict(type="str", default="_etcd_member_files"),
        problem_var=dict(type="str", default="_etcd_restore_problem"),
        read_var=dict(type="str", default="_etcd_host_info"),
    )


class PlanError(ValueError):
    """Input the plan cannot be made from (a caller's mistake, not an operator's)."""


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
    """Sort the members of this run (``members``: the validated inventory) by what each host's read
    (``facts``: host -> {info, local, wanted}) says: with_data, new, foreign (also in new), rejoin
    (host -> the id of the member entry it lost), readdress (host -> the move), the identity changes
    refused (problems) and the foreign data not released by ``discard`` (foreign_refusal). A member
    whose host is not in ``facts`` is the caller's to name (plan_hosts: left_out or unanswered)."""
    if not isinstance(facts, dict):
        raise PlanError("member_plan: facts must be a dict of host -> facts")
    view = _cluster_view(facts)
    view_members = view.get("members") or []
    by_peer = {}
    for member in view_members:
        for url in member.get("peer_urls") or []:
            by_peer[url_parts(url)] = member
    discard = _discard_list(discard)
    plan = dict(cluster=view, with_data=[], new=[], foreign=[], rejoin={}, readdress={}, tls_move=[], problems=[])
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

        member = by_peer.get(url_parts(installed_peer))
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
    # The peer URL each roll step updates right before the restart: a move to a new address or to TLS.
    plan["peer_url_updates"] = dict({host: move["new_peer_url"] for host, move in plan["readdress"].items()},
                                    **{record["host"]: record["peer_url"] for record in members
                                       if record["host"] in plan["tls_move"]})
    return plan


def _plan_new_host(plan, record, by_peer, view_members):
    host, name = record["host"], record["name"]
    same_peer = by_peer.get(url_parts(record["peer_url"]))
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
    ports = [("etcd_client_port", url_parts(record["client_url"])[2]), ("etcd_peer_port", url_parts(record["peer_url"])[2])]
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
    peers = {url_parts(entry.split("=", 1)[1]) for entry in (initial.get("ETCD_INITIAL_CLUSTER") or "").split(",")
             if "=" in entry}
    ours = {url_parts(url) for member in view.get("members") or [] for url in member.get("peer_urls") or []}
    return bool((peers - {url_parts(installed_peer)}) & ours)


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
    old_scheme, old_address, old_peer_port = url_parts(installed_peer)
    new_scheme, new_address, new_peer_port = url_parts(record["peer_url"])
    old_client_scheme, old_client_port = url_parts(installed_client)[0::2]
    new_client_port = url_parts(record["client_url"])[2]
    moves = old_address != new_address or old_scheme != new_scheme
    if moves and (member or {}).get("is_learner"):
        # etcd #21694 (fixed in 2026's patch releases): a member update of a learner's peer URLs drops
        # its learner flag from the member list while raft still counts it as a learner.
        plan["problems"].append(
            "host %s: member %s is a learner (its join has not finished); a peer URL update would make etcd's "
            "member list forget that while raft still counts it as a learner (etcd issue 21694), so it could never "
            "be promoted; let the join finish first (run the etcd playbook with its address and etcd_tls unchanged "
            "until it is promoted), then change them" % (host, record["name"]))
        return
    if _tls_move(settings, (old_scheme, old_client_scheme), new_scheme):
        # A plaintext member that already serves TLS beside plaintext (etcd_tls_transition=both, the
        # adopt playbook): its roll step moves its peer URL to https right before its restart.
        plan["tls_move"].append(host)
    elif old_scheme != new_scheme or old_client_scheme != new_scheme:
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


def _tls_move(settings, old_schemes, new_scheme):
    """True for a member whose plaintext URLs may move to https at its restart: it holds its
    certificates and serves TLS beside plaintext already."""
    return (old_schemes == ("http", "http") and new_scheme == "https" and bool(settings.get("ETCD_PEER_CERT_FILE"))
            and "https://" in str(settings.get("ETCD_LISTEN_CLIENT_URLS")))


def roll_order(hosts, restart_due, leader, members):
    """The hosts of ``hosts`` whose member must restart (``restart_due``: host -> bool), in their
    order, the leader's host last: every restart but one costs no election."""
    if not isinstance(restart_due, dict):
        raise PlanError("roll_order: restart_due must be a dict of host -> bool")
    leader_host = next((m["host"] for m in members or [] if leader and m.get("name") == leader), "")
    due = [host for host in hosts or [] if truthy(restart_due.get(host))]
    return [host for host in due if host != leader_host] + [host for host in due if host == leader_host]


def version_change_problem(versions, target, allow_downgrade=False, health=None, auth=False):
    """Why the members, running ``versions``, may not move to ``target`` now; '' when they may.

    etcd's policy first (etcd_versions.upgrade_problem), then auth (``auth``: the role is to
    keep RBAC auth on, etcd_auth_enabled), then health: a change of release rolls every member,
    which only a healthy cluster survives.
    """
    versions = [str(v) for v in versions or []]
    health = health or {}
    policy = upgrade_problem(versions, target, allow_downgrade)
    if policy:
        return policy + "; nothing was changed"
    if auth is True or str(auth).lower() in ("yes", "on", "true", "1"):
        minors = set(tuple(version_tuple(v)[:2]) for v in [*versions, str(target)])
        if {(3, 4), (3, 5)} <= minors:
            return ("etcd_auth_enabled is true and the change from %s to %s mixes 3.4 and 3.5 members: etcd does not "
                    "support a rolling change between 3.4 and 3.5 with auth enabled; turn auth off "
                    "(etcd_auth_enabled: false), change the release, then turn it on again; nothing was changed"
                    % (", ".join(versions), target))
    if all(v == str(target) for v in versions) or health.get("healthy"):
        return ""
    why = "; ".join(str(p) for p in health.get("problems") or [])
    if not why:
        why = str(health["msg"]) if "msg" in health else "no member answered"
    return ("the cluster is not healthy, so it will not be rolled from %s to %s: %s. Bring the cluster back to health "
            "with its current etcd_version first; nothing was changed" % (", ".join(versions), target, why))


def v2store_refusal(reads, target):
    """Why the members may not move to ``target`` (3.6 or later) with the data they hold; '' when they may.

    ``reads``: host -> its etcd_host_info v2store read (None where nothing was read). etcd 3.6 refuses
    to start on a v2 store with content and stops at a v2 request in the log it does not apply."""
    found = []
    for host, read in sorted((reads or {}).items()):
        if not read:
            continue
        if read.get("error"):
            found.append("host %s: %s" % (host, read["error"]))
            continue
        since = "raft snapshot %d" % read["snapshot_index"] if read.get("snapshot_index") else ""
        what = ["v2 keys under %s in %s" % (", ".join(read["nodes"]), since)] if read.get("nodes") else []
        requests = read.get("requests") or []
        if requests:
            counts = {text: requests.count(text) for text in requests}
            what.append("%d v2 request(s) in the log%s (%s)" % (
                len(requests), " after " + since if since else "",
                ", ".join("%s x%d" % item if item[1] > 1 else item[0] for item in counts.items())))
        if what:
            found.append("host %s: %s" % (host, "; ".join(what)))
    if not found:
        return ""
    return ("etcd %s refuses to start on data that holds etcd v2 store content, and these members hold some: %s. "
            "Before the upgrade (etcd's upgrade guide, V2 Store): move the v2 data still needed to v3, turn "
            "--enable-v2 off, and have each of these members write a new raft snapshot (a run of the deploy "
            "playbook with etcd_snapshot_count=1 for them, then one with the value back); then run again; nothing "
            "was changed" % (target, "; ".join(found)))


# Releases with known data inconsistency bugs, as etcd's maintainers announced them: the first and
# last release affected, the fix, and what goes wrong. etcd recommends 3.4.22+ and 3.5.6+.
INCONSISTENT_RELEASES = (
    ((3, 5, 0), (3, 5, 2), "3.5.3", "a member killed while it applies writes can skip some of them on restart"),
    ((3, 5, 0), (3, 5, 5), "3.5.6", "a member that crashes during a defragmentation can come back with data that "
                                    "differs from the others'"),
    ((3, 4, 20), (3, 4, 21), "3.4.22", "with auth on, a member added to the cluster can apply writes differently "
                                       "from the others"),
    ((3, 5, 5), (3, 5, 5), "3.5.6", "with auth on, a member added to the cluster can apply writes differently from "
                                    "the others"),
)


def _known_issues(version, table):
    """The texts of the rows of ``table`` (first, last, fixed in, text) whose range holds ``version``,
    and the latest release that fixes them all; ([], "") when none does."""
    release = tuple(version_tuple(version))
    rows = [row for row in table if row[0] <= release <= row[1]]
    if not rows:
        return [], ""
    return [row[3] for row in rows], max((version_tuple(row[2]), row[2]) for row in rows)[1]


def release_warning(version):
    """A warning naming the data inconsistency bugs etcd ``version`` is known to have and the release
    that fixes them; '' for a release without one. Members that diverge answer reads differently."""
    bugs, fixed_in = _known_issues(version, INCONSISTENT_RELEASES)
    if not bugs:
        return ""
    return ("WARNING: etcd %s has known data inconsistency bugs, after which members answer reads differently: %s. "
            "etcd recommends %s or later; set etcd_version to a later release of the same minor version"
            % (version, "; ".join(bugs), fixed_in))


# Security advisories etcd fixed in a patch release, as its CHANGELOG names them: the first and last
# release of a line that has the issue, the patch that fixes it there, the advisory, what it does.
# GHSA-3wh4-j44w-pg92 (the CRL not enforced on gRPC with --listen-client-http-urls) is left out: the
# role never sets that flag. 3.4's CHANGELOG names no fix of the two 2026-07 advisories.
AUTH_BYPASS = "CVE-2026-33413 and CVE-2026-33343 (with auth on, several APIs and nested transactions skip the " \
              "permission check)"
WATCH_LEAK = "GHSA-xg4h-6gfc-h4m8 (with auth on, a user allowed to read one key is sent watch events of every key " \
             "from it)"
NO_HANDSHAKE_TIMEOUT = "GHSA-6vch-q96h-7gc3 (a client that never ends its TLS handshake keeps its connection open)"
SECURITY_ADVISORIES = (
    ((3, 4, 0), (3, 4, 41), "3.4.42", AUTH_BYPASS),
    ((3, 5, 0), (3, 5, 27), "3.5.28", AUTH_BYPASS),
    ((3, 6, 0), (3, 6, 8), "3.6.9", AUTH_BYPASS),
    ((3, 5, 0), (3, 5, 32), "3.5.33", WATCH_LEAK),
    ((3, 6, 0), (3, 6, 13), "3.6.14", WATCH_LEAK),
    ((3, 7, 0), (3, 7, 0), "3.7.1", WATCH_LEAK),
    ((3, 5, 0), (3, 5, 32), "3.5.33", NO_HANDSHAKE_TIMEOUT),
    ((3, 6, 0), (3, 6, 13), "3.6.14", NO_HANDSHAKE_TIMEOUT),
    ((3, 7, 0), (3, 7, 0), "3.7.1", NO_HANDSHAKE_TIMEOUT),
)


def security_warning(version):
    """A warning naming the security advisories etcd ``version`` is known to have and the patch of its
    line that fixes them all; '' for a release without one."""
    advisories, fixed_in = _known_issues(version, SECURITY_ADVISORIES)
    if not advisories:
        return ""
    return ("WARNING: etcd %s has known security issues: %s. etcd fixed them in %s; set etcd_version to %s or a "
            "later release of the same minor version" % (version, "; ".join(advisories), fixed_in, fixed_in))


def _member_label(member):
    return "member %s on host %s" % (member["name"], member["host"])


def count_warnings(member_count, forks, play_host_count):
    """Warnings about an even member count, and about fewer forks than hosts in the play (Ansible runs
    each task on ``forks`` hosts at a time: every task then waits for its hosts in turns)."""
    warnings = []
    if member_count and member_count % 2 == 0:
        warnings.append("WARNING: %d members: an even count tolerates no more failures than %d members and needs a "
                        "larger quorum; use 3, 5 or 7." % (member_count, member_count - 1))
    forks, play_host_count = int(forks or 0), int(play_host_count or 0)
    if 0 < forks < play_host_count:
        warnings.append("WARNING: forks=%d is fewer than the %d hosts of this play: Ansible runs each task on %d hosts "
                        "at a time, so every task waits for its hosts in %d turns; set forks to %d or more "
                        "(ansible-playbook -f %d, or forks in ansible.cfg [defaults])."
                        % (forks, play_host_count, forks, -(-play_host_count // forks), play_host_count,
                           play_host_count))
    return warnings


def _with_local_view(report):
    """A host's report with ``local``, what its own etcd answered: the read as root (``local_as_root``,
    where etcd refused the role's read for want of an etcd user), else the read of etcd_host_info
    (``info.local_health``), the first that lists members; {} when neither does."""
    if "local" in report:
        return report
    reads = [report.get("local_as_root") or {}, (report.get("info") or {}).get("local_health") or {}]
    return dict(report, local=next((read for read in reads if "members" in read), {}))


def missing_packages(reports):
    """The hosts whose settings need a Debian package their read did not find (etcd_host_info's
    python_cryptography; reports as plan_hosts takes them): the backup push seals backups on the member
    with python3-cryptography, and without it every timer run would fail there."""
    return ["host %s: etcd_backup_push seals each backup on the member with python3-cryptography, which its python3 "
            "cannot import: install Debian's package there (apt-get install python3-cryptography), or turn "
            "etcd_backup_push off for it" % host for host, report in reports.items()
            if (report.get("wanted") or {}).get("python_cryptography")
            and (report.get("info") or {}).get("python_cryptography") is False]


def hash_reference_after(plan_before):
    """The member whose keyspace every member must hold at the end of this run (converged.yml's hash
    check), from the plan registered before the run's first step (``plan_before``, {} without one): the
    member a quorum recovery grew the cluster from, which the recovery's plan names (its ``reference``:
    playbooks/recover_quorum.yml's first play, before the role's run in the next), kept by the role's
    plans after it in the same run (their ``hash_reference``); '' when there is none."""
    plan_before = plan_before if isinstance(plan_before, dict) else {}
    if "hash_reference" in plan_before:
        return str(plan_before["hash_reference"] or "")
    return str(plan_before.get("reference") or "")


def plan_hosts(members, reports, play_hosts, play_hosts_all, settings):
    """The first step of the plan, before the cluster is read.

    ``members``: the validated inventory (filter members); ``reports``: play host -> {info, local,
    wanted} (the host's etcd_host_info result, its own etcd's answer, the settings it is asked for);
    ``play_hosts``: the hosts still in the play; ``play_hosts_all``: every host the play started
    with; ``settings``: version, discard_foreign_data, cluster_token, forks, preflight_hardware,
    auth_enabled, roles, users, root_login, hash_reference (hash_reference_after, which the plan keeps).
    """
    members = list(members or [])
    play_hosts, play_hosts_all = list(play_hosts or []), list(play_hosts_all or [])
    reports = {host: _with_local_view(report) for host, report in (reports or {}).items() if host in play_hosts}
    plan = member_plan(members, reports, settings.get("discard_foreign_data"))
    plan.pop("cluster", None)
    version = str(settings["version"])
    hosts = [m["host"] for m in members]
    # A host the play started with that is gone from it failed or was unreachable: its member may
    # hold data, so nothing is decided without it.
    plan["unanswered"] = [h for h in hosts if h in play_hosts_all and h not in reports]
    plan["problems"] = ["host %s: its read failed or it is unreachable (see above), so the run cannot know whether "
                        "it holds data" % host for host in plan["unanswered"]] + plan["problems"]
    plan["left_out"] = [h for h in hosts if h not in play_hosts_all]
    plan["hash_reference"] = str(settings.get("hash_reference") or "")
    plan["all_members_in_run"] = not plan["left_out"] and not plan["unanswered"]
    releases = {host: (report.get("info") or {}).get("release") for host, report in reports.items()}
    plan["binaries_outdated"] = [h for h in plan["with_data"] if releases.get(h) != version]
    plan["with_release"] = [h for h in play_hosts if h in releases and releases[h] == version]
    # install.yml downloads the release only for these.
    plan["without_release"] = [h for h in play_hosts if h not in plan["with_release"]]
    # install.yml calls only the hosts whose read shows its work undone: the account, the release,
    # its links (none for a member whose release changes in its roll step: binaries_outdated).
    plan["install_hosts"] = [h for h in play_hosts if install_needed(
        (reports.get(h) or {}).get("info") or {}, h not in plan["binaries_outdated"])]
    # install.yml installs Podman on these first: their etcd runs from an image they do not have yet,
    # and they have no Docker to run it with.
    plan["podman_hosts"] = [h for h in plan["install_hosts"] if podman_needed((reports.get(h) or {}).get("info") or {})]
    plan["data_names"] = [m["name"] for m in members if m["host"] in plan["with_data"]]
    plan["rejoin_names"] = [m["name"] for m in members if m["host"] in plan["rejoin"]]
    plan["bootstrap"] = not plan["with_data"]
    plan["cluster_tasks"] = "bootstrap.yml" if plan["bootstrap"] else "existing.yml"
    plan["read_host"] = (plan["with_data"] + play_hosts + [""])[0]
    plan["stable_client_urls"] = [m["client_url"] for m in members
                                  if m["host"] in plan["with_data"] and m["host"] not in plan["readdress"]]
    # A member asks its peers for the peer certificates' name once every member is in the run (each
    # then gets its peer pair that carries it before any restart), or when it already asks for it: a
    # run limited to some hosts never shuts out a member it did not reach.
    plan["peer_identity_hosts"] = [
        h for h in play_hosts
        if plan["all_members_in_run"]
        or ((reports.get(h) or {}).get("info") or {}).get("settings", {}).get("ETCD_PEER_CERT_ALLOWED_HOSTNAME")
        == PEER_IDENTITY]
    # A new cluster's --initial-cluster, with every member of the inventory.
    plan["initial_cluster"] = initial_cluster([dict(name=m["name"], peer_urls=[m["peer_url"]]) for m in members],
                                              members[0]["name"], [members[0]["peer_url"]]) if members else ""
    # A new cluster gets its bootstrap settings with the rest of the member's files only when every
    # member is in the run (bootstrap.yml refuses less, and starts them all at once).
    plan["bootstrap_settings"] = plan["bootstrap"] and plan["all_members_in_run"]
    plan["new_token"] = settings.get("cluster_token") or settings.get("generated_token") or ""
    # configure.yml hands the hosts' reads of the members' files (facts.yml) to its files call, which
    # then skips a host whose files are as asked: true until that call writes them (plan_converge).
    plan["member_files_read_current"] = True
    plan["run_warnings"] = count_warnings(len(members), settings.get("forks"), len(play_hosts_all))
    plan["run_warnings"] += [warning for warning in (release_warning(version), security_warning(version)) if warning]
    plan["problems"] += missing_packages(reports)
    plan["refusal"] = run_refusal(plan["foreign_refusal"], plan["problems"])
    # preflight_hardware.yml measures the hosts against the profile: every one, or the new ones.
    hardware = str(settings.get("preflight_hardware") or "new")
    plan["hardware_check"] = hardware == "all" or (hardware == "new" and bool(plan["new"]))
    # auth.yml runs when the role manages auth, roles or users, or logs in as root.
    plan["auth_phase"] = (settings.get("auth_enabled") is not None or bool(settings.get("roles"))
                          or bool(settings.get("users")) or truthy(settings.get("root_login")))
    plan.update(auth_plan(settings))
    return plan


def auth_plan(settings):
    """What auth.yml does with etcd_roles and etcd_users (``settings``: roles, users, auth_enabled),
    each name listed once (preflight refused a name listed twice): ``auth_roles``, the roles present
    (an entry without state is present), with their permissions; ``auth_users``, each user present
    as its name and its place in etcd_users (``index``: no password in the plan, auth.yml reads it there); ``auth_roles_absent``
    and ``auth_users_absent``, the names to delete; ``auth_update_password``: a password can be
    checked (by logging in with it) only while auth is on, so with auth off a listed user's password
    is set when the user is made ('on_create'), and a re-run changes nothing. ``auth_password_checks``:
    the users present whose password auth.yml would check, which preflight tries first (a login
    only tells whether etcd keeps a user password-less, so that refusal is etcd_user's, in check mode)."""
    roles, users = settings.get("roles") or [], settings.get("users") or []
    enabled = settings.get("auth_enabled")
    update_password = "always" if enabled is not None and truthy(enabled) else "on_create"
    present = [dict(name=user["name"], index=index) for index, user in enumerate(users)
               if user.get("state", "present") != "absent"]
    return dict(
        auth_roles=[role for role in roles if role.get("state", "present") != "absent"],
        auth_roles_absent=[role["name"] for role in roles if role.get("state", "present") == "absent"],
        auth_users=present,
        auth_users_absent=[user["name"] for user in users if user.get("state", "present") == "absent"],
        auth_update_password=update_password,
        auth_password_checks=[user for user in present if users[user["index"]].get("password")]
        if update_password == "always" else [],
    )


def run_refusal(foreign, problems):
    """The one message preflight refuses the run with before the cluster is read: the foreign data
    first (its own advice), else every problem; '' when the run may go on."""
    if foreign:
        return foreign
    return "%s; nothing was changed" % "; ".join(problems) if problems else ""


def plan_cluster(plan, members, health, reports, settings):
    """The second step: ``plan`` (plan_hosts') extended by what preflight's read of the running
    cluster found (``health``: etcd_health's result, {} when the cluster was not read).

    ``reports``: as for plan_hosts; ``settings``: version, allow_downgrade, auth_enabled,
    pki_managed, pki_replace_ca, pki_rotate_ca.
    """
    plan = dict(plan)
    health = health or {}
    version = str(settings["version"])
    with_data = plan["with_data"]
    endpoints = health.get("endpoints") or []
    healthy_names = {e.get("member") for e in endpoints if e.get("healthy")}
    other_release_names = {e.get("member") for e in endpoints if e.get("version") and e.get("version") != version}
    mine = [m for m in members if m["host"] in with_data]
    # A member that is stopped would start with the release its binary links to, so that counts too.
    installed = [((reports.get(h) or {}).get("info") or {}).get("release") for h in with_data]
    plan["versions_before"] = sorted({e["version"] for e in endpoints if e.get("version")} | {r for r in installed if r})
    plan["not_serving"] = [m["host"] for m in mine if m["name"] not in healthy_names]
    plan["running_other_release"] = [m["host"] for m in mine if m["name"] in other_release_names]
    # install.yml takes a snapshot before a change of release (etcd_backup_before_upgrade).
    plan["release_changes"] = any(v != version for v in plan["versions_before"])
    plan["version_problem"] = version_change_problem(plan["versions_before"], version, settings.get("allow_downgrade"),
                                                     health, settings.get("auth_enabled")) or v2store_refusal(
        {h: ((reports.get(h) or {}).get("info") or {}).get("v2store") for h in with_data}, version)
    # downgrade.yml runs etcd's downgrade API around the roll (a consented one minor version down from 3.6).
    plan["downgrade_target"] = (downgrade_target(plan["versions_before"], version)
                                if not plan["version_problem"] else "")
    # A CA rotation rolls every member: only with every member serving, and none left out (--limit),
    # which would keep the old CA alone.
    # What pki_controller.yml asks etcd_pki for: a CA rotation rolls members, so only in a cluster that
    # runs, with the role's own PKI; etcd_pki_rotate_ca starts one, an expiring CA too (auto), one in
    # progress goes on.
    if plan["bootstrap"] or not truthy(settings.get("pki_managed", True)) or truthy(settings.get("pki_replace_ca")):
        plan["rotation_request"] = "keep"
    else:
        plan["rotation_request"] = "start" if truthy(settings.get("pki_rotate_ca")) else "auto"
    plan["rotation_blockers"] = [_member_label(m) for m in mine if m["host"] in plan["not_serving"]]
    plan["rotation_left_out"] = [_member_label(m) for m in members if m["host"] in plan["left_out"]]
    learners = [m for m in health.get("members") or [] if m.get("is_learner")]
    # Learners with data, left by a join that stopped: existing.yml promotes them.
    plan["learners"] = [m.get("name") for m in learners if m.get("name") in plan["data_names"]]
    # The leader the roll hands over from last, when existing.yml does not read the cluster again.
    plan["leader"] = (health.get("cluster") or {}).get("leader") or ""
    # existing.yml waits for health unless this read found every member with data healthy and
    # nothing is started, removed or joined before the wait.
    plan["existing_wait"] = bool(with_data) and bool(
        not health.get("healthy") or plan["not_serving"] or plan["rejoin"] or plan["new"])
    # Which read stands for the status at the end (status.yml): the bootstrap's health wait, this
    # read while nothing changes in the cluster (plan_roll may still say otherwise), or none.
    if plan["bootstrap"]:
        plan["status_read"] = "bootstrap"
    elif not plan["existing_wait"] and not learners and not plan.get("hash_reference"):
        plan["status_read"] = "preflight"
    else:
        plan["status_read"] = "none"
    return plan


def scrape_targets(members, port, cluster, tls):
    """The members as Prometheus file_sd targets of their metrics listener on their address
    (etcd_metrics=address, written on the controller for a central Prometheus): each member's
    address at ``port``, labelled with the scheme, the ``cluster`` (etcd_instance) and its name."""
    return [{"targets": ["%s:%d" % (urlsplit(str(member["client_url"])).netloc.rsplit(":", 1)[0], int(port))],
             "labels": {"__scheme__": "https" if tls else "http", "cluster": str(cluster), "instance": member["name"]}}
            for member in members]


def plan_converge(plan, reports, outdated, restart_note_path):
    """The step after the members' files are written: ``plan`` (plan_cluster's) with ``outdated``,
    the members with data whose files changed, ``restart_notes``, those restart_note.yml notes a
    restart on (restart_notes), ``restart_due``, the members with data that restart in this run, and
    ``converge``, whether the cluster's phase has anything to do (a new cluster always has).

    ``reports``: host -> its read as for plan_hosts (``info.present``: the paths found, among them a
    restart note an earlier run left at ``restart_note_path``; ``info.initial_settings``: bootstrap or
    join settings a stopped run left); ``outdated``: host -> whether its binaries, settings or
    certificates changed since it started (configure.yml). A member restarts when it runs with
    outdated files, runs another release or still has a note. The existing cluster has nothing to do
    when no member restarts, has join settings left or does not serve, none re-joins, joins or is a
    learner, and preflight's read stands for its health.
    """
    plan = dict(plan)
    # configure.yml wrote the members' files since the hosts' reads: a CA rotation's configure.yml,
    # later in the run, has its files call read the hosts again.
    plan["member_files_read_current"] = False
    with_data = plan["with_data"]
    info = {host: (reports.get(host) or {}).get("info") or {} for host in with_data}
    plan["outdated"] = [h for h in with_data if truthy(outdated.get(h))]
    plan["restart_notes"] = restart_notes(plan)
    plan["restart_due"] = [h for h in with_data if h in plan["restart_notes"]
                           or restart_note_path in (info[h].get("present") or [])]
    leftover = [h for h in with_data if info[h].get("initial_settings")]
    plan["converge"] = plan["bootstrap"] or bool(
        plan["restart_due"] or leftover or plan["not_serving"] or plan["rejoin"] or plan["new"] or plan["learners"]
        or plan["existing_wait"])
    return plan


def restart_notes(plan):
    """The members with data restart_note.yml notes a restart on: those whose binaries, settings or
    certificates changed in this run (``plan.outdated``) or that run another release
    (``plan.running_other_release``). A CA rotation's round notes its stale members instead until
    they rolled (etcd_operation_plan.plan_rotation; plan_roll sets it back to these)."""
    changed = set(plan.get("outdated") or []) | set(plan.get("running_other_release") or [])
    return [host for host in plan.get("with_data") or [] if host in changed]


def roll_leader(plan, restart_due, rotation_phase="none"):
    """The leader a roll given none hands over from last, without asking the cluster again: the one
    preflight's read found (``plan.leader``) when that read stands (no CA rotation's round, whose
    members just got new files, and the plan's existing_wait false: existing.yml started, removed and
    joined nothing since); '' when no member restarts (``restart_due``: host -> bool) and no rotation
    goes on; None when the roll must read it."""
    rotation = (rotation_phase or "none") != "none"
    if not rotation and plan.get("existing_wait") is False:
        return plan.get("leader") or ""
    if not rotation and not any(truthy(due) for due in (restart_due or {}).values()):
        return ""
    return None


def plan_roll(plan, members, restart_due, leader, rotation_phase="none"):
    """The last step: the members with data noted for a restart (``restart_due``: host -> bool), in
    the order of the roll, the leader's last (every restart but one costs no election), with the
    member name of each (``roll_names``: host -> name); whether preflight's read of the cluster
    still stands for the status at the end (no member restarts and no CA rotation goes on); and
    ``restart_notes`` (restart_notes) for a restart note after the roll."""
    plan = dict(plan)
    plan["roll"] = roll_order(plan["with_data"], restart_due, leader, members)
    plan["roll_names"] = {m["host"]: m["name"] for m in members or [] if m.get("host") in plan["roll"]}
    # Rolled: what a later restart note of the run notes is the run's own changes again.
    plan["restart_notes"] = restart_notes(plan)
    if plan["roll"] or (rotation_phase or "none") != "none":
        plan["status_read"] = "none"
    return plan


# --- The plan of a removal (roles/etcd/tasks/remove.yml: playbooks/remove_member.yml, replace_member.yml)


def replacing(settings):
    """Whether the removal is a replacement: the replace_member playbook's request is given (``settings.replace``,
    etcd_replace as the operator gave it, None without one), which that playbook removes as etcd_remove."""
    return settings.get("replace") is not None


def _request_refusal(requested, targets, invalid, group_name, settings):
    """Why the request itself cannot be carried out, before any host's answer counts; '' when it can."""
    if replacing(settings) and str(settings["replace"]) != ("" if requested is None else str(requested)):
        return ("etcd_remove=%s and etcd_replace=%s: pass etcd_remove to the remove_member playbook, or etcd_replace to "
                "the replace_member playbook, not both" % (requested, settings["replace"]))
    if invalid:
        return "%s: %s %s no member name or inventory host (%s)" % (
            _request_label(requested, settings), ", ".join(repr(name) for name in invalid),
            "is" if len(invalid) == 1 else "are", NAME_RULE)
    if replacing(settings):
        if len(targets) != 1 or not targets[0]["host"]:
            return ("%s must name one member of group %s, by its NODE_NAME or inventory host, whose host is in the "
                    "inventory to join in its place (to only remove members, use the remove_member playbook)"
                    % (_request_label(requested, settings), group_name))
        return ""
    if not targets:
        return ("etcd_remove is empty: pass -e etcd_remove=NAME (a NODE_NAME or an inventory host; several "
                "comma-separated)")
    return ""


def _request_label(requested, settings):
    return "%s=%s" % ("etcd_replace" if replacing(settings) else "etcd_remove", requested)


def plan_removal(requested, group, records, play_hosts, play_hosts_all, unreachable, settings):
    """The plan of a removal before the cluster is read: which members go, which hosts are retired,
    which surviving members it acts through, and what refuses it.

    ``requested``: etcd_remove (replace_member.yml gives its etcd_replace as etcd_remove), names comma-separated;
    ``group``: [{host, name}] of the group's hosts in inventory order; ``records``: the member records
    (filter members) of those that answered; ``play_hosts``, ``play_hosts_all``: as for plan_hosts;
    ``unreachable``: the play hosts that did not answer (they stay in the play: a dead host is what a
    removal is often about); ``settings``: group, replace (etcd_replace, None without one: replacing), revokes.

    ``refusal`` stops the run at once (the request, or no member left to act through); ``problems``
    are judged with the cluster's answer (plan_removal_check): a surviving member's host that did not
    answer stops the removal rather than be silently left out (it would keep trusting the removed
    members' certificates); one the operator leaves out (--limit) is in ``left_out``.
    """
    group_name = settings.get("group") or "etcd"
    names = [name.strip() for name in ("" if requested is None else str(requested)).split(",") if name.strip()]
    resolved = [(name, resolve_target(name, group)) for name in names]
    targets = [target for _name, target in resolved if target is not None]
    invalid = [name for name, target in resolved if target is None]
    target_hosts = [t["host"] for t in targets if t["host"]]
    answered = [e["host"] for e in group if e["host"] in play_hosts and e["host"] not in unreachable]
    others = [e for e in group if e["host"] not in target_hosts]
    with_data = [e["host"] for e in others if e["host"] in answered]
    by_host = {record["host"]: record for record in records}
    plan = dict(
        targets=targets, names=[t["name"] for t in targets], hosts=target_hosts,
        retire=[h for h in target_hosts if h in answered],
        unretired=[h for h in target_hosts if h not in answered],
        with_data=with_data,
        stable_client_urls=[by_host[h]["client_url"] for h in with_data],
        act_through=next(iter(with_data), ""),
        unanswered=[e["host"] for e in others if e["host"] in play_hosts_all and e["host"] not in answered],
        left_out=[e["host"] for e in others if e["host"] not in play_hosts_all],
        revokes=truthy(settings.get("revokes")))
    plan["problems"] = [
        "host %s (member %s) did not answer (see above): the removal would leave it out silently, and it would keep "
        "trusting the removed members' certificates; bring it back, name it in etcd_remove too, or leave it out on "
        "purpose with --limit (the etcd playbook gives it the new revocation list once it is back)" % (e["host"], e["name"])
        for e in others if e["host"] in plan["unanswered"]]
    plan["refusal"] = _request_refusal(requested, targets, invalid, group_name, settings)
    if not plan["refusal"] and replacing(settings) and plan["unretired"]:
        plan["refusal"] = ("etcd_replace=%s: its host %s does not answer, so nothing could join in its place; the old "
                           "member stays until the host answers" % (requested, targets[0]["host"]))
    if not plan["refusal"] and not with_data:
        plan["refusal"] = ("no reachable member of group %s is left besides %s: nothing to remove them through"
                           % (group_name, ", ".join(plan["names"])))
    if plan["refusal"]:
        plan["refusal"] += "; nothing was changed"
    return plan


def _ignore_case(text):
    return text.lower() if isinstance(text, str) else text


def removal_problem(cluster_members, targets, group_name, requested):
    """Why the removal of ``targets`` is refused, judged on the cluster's ``cluster_members`` (etcd_member_info
    with probe): a name that is no member and no host, no voting member left, quorum lost; '' when none."""
    cluster_members = list(cluster_members or [])
    remove_names = [target["name"] for target in targets or []]
    member_names = [member.get("name") for member in cluster_members]
    unknown = [target["name"] for target in targets or [] if target["host"] == "" and target["name"] not in member_names]
    voters_left = [member for member in cluster_members
                   if not member.get("is_learner") and member.get("name") not in remove_names]
    healthy_left = [member for member in voters_left if member.get("healthy")]
    quorum = len(voters_left) // 2 + 1
    if unknown:
        listed = sorted((member.get("name") or "(unstarted)" for member in cluster_members), key=_ignore_case)
        return ("no member named %s in the cluster and no such host in group %s (etcd_remove=%s); members are: %s"
                % (", ".join(unknown), group_name, requested, ", ".join(str(name) for name in listed)))
    if not voters_left:
        return "removing %s would remove every voting member and destroy the cluster" % ", ".join(remove_names)
    if len(healthy_left) < quorum:
        unhealthy = "; ".join("%s: %s" % (member.get("name"), member.get("probe_error"))
                              for member in voters_left if not member.get("healthy"))
        return ("refusing to remove %s: %d voting members would be left (quorum %d) and only %d of them healthy (%s), "
                "so the cluster would lose quorum. Bring those members back first, or replace a dead member with the "
                "replace_member playbook" % (", ".join(remove_names), len(voters_left), quorum, len(healthy_left),
                                             unhealthy))
    return ""


def plan_removal_check(plan, cluster_members, member_ca, settings):
    """The removal's plan (plan_removal's) judged with the cluster's answer, before the run lock:
    ``refusal``, every problem at once (hosts that did not answer, names etcd does not know, quorum,
    and with ``revokes`` a CA in etcd_pki_dir the surviving members do not trust); ``crl_hosts``, the
    surviving members that get the new revocation list (those with a CA).

    ``cluster_members``: etcd_member_info's members (with probe); ``member_ca``: surviving host -> the
    SHA-256 of its ca.pem, '' without one; ``settings``: group, requested, pki_dir, pki_host_dir,
    pki_ca (the SHA-256 of etcd_pki_dir's ca.pem, '' without one).
    """
    plan = dict(plan)
    problems = list(plan["problems"])
    membership = removal_problem(cluster_members, plan["targets"], settings.get("group") or "etcd",
                                 settings.get("requested"))
    if membership:
        problems.append(membership)
    pki_ca = settings.get("pki_ca") or ""
    other_ca = [h for h in plan["with_data"] if member_ca.get(h) and member_ca[h] != pki_ca]
    if plan["revokes"] and other_ca:
        problems.append(
            "etcd_pki_dir %s %s, so the removed members' certificates could not be revoked. Point etcd_pki_dir at "
            "the directory the cluster was deployed with" % (
                settings.get("pki_dir"),
                "holds another CA than %s/ca.pem on %s" % (settings.get("pki_host_dir"), ", ".join(other_ca))
                if pki_ca else "holds no ca.pem"))
    plan["refusal"] = "%s; nothing was changed" % "; ".join(problems) if problems else ""
    plan["crl_hosts"] = [h for h in plan["with_data"] if member_ca.get(h)]
    return plan


def _read_settings(read):
    return (read or {}).get("host_settings") or {}


def removal_client_pair(reads, act_through):
    """Whether the member the removal acts through (``act_through``) has the client pair of a root
    login, by its read (``reads``: host -> etcd_host_info's result with role_settings): the calls
    remove.yml runs there present it (plugins/plugin_utils/connection.py)."""
    return bool(_read_settings(reads.get(act_through)).get("client_pair_found"))


def removal_member_ca(reads, plan):
    """Surviving host -> the SHA-256 of the CA it trusts ('' without one), by its read (``reads`` as
    for removal_client_pair), for plan_removal_check; none when the removal revokes nothing (no CA to
    compare, no revocation list to push)."""
    if not plan.get("revokes"):
        return {}
    member_ca = {}
    for host in plan.get("with_data") or []:
        read = reads.get(host) or {}
        paths = (_read_settings(read).get("read") or {}).get("checksums") or [""]
        member_ca[host] = (read.get("checksums") or {}).get(paths[0]) or ""
    return member_ca


def removal_retire_units(reads, retire):
    """Host read -> the units of etcd and of its timers (its settings' unit and timers) that systemd
    has there, by its read (whose units it was asked for): a unit file, or the unit active; none on a
    host not in ``retire``. A reinstalled host has none, and systemd can neither stop nor disable a
    unit it does not have."""
    units = {}
    for host, read in reads.items():
        if host not in retire:
            units[host] = []
            continue
        read = read or {}
        settings, states = _read_settings(read), read.get("units") or {}
        units[host] = [unit for unit in [settings.get("unit")] + [t["unit"] for t in settings.get("timers") or []]
                       if (states.get(unit) or {}).get("enabled")
                       or (states.get(unit) or {}).get("active", "inactive") not in ("inactive", "unknown")]
    return units
