# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Quorum recovery (playbooks/recover_quorum.yml): whether the cluster has really lost quorum, and
which survivor's log the new cluster starts from. Decided here, before any host changes.
"""

from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter.etcd import _member_name


def _quorum(size):
    return size // 2 + 1


def _log_rank(survivor):
    # force-new-cluster keeps the committed entries and drops the rest of the log, so the commit
    # index decides; the end of the log only breaks ties (raft's own "up to date": term, then index).
    log = survivor["log"]
    return (log["commit"], log["last_term"], log["last_index"])


# What a member's answer says, when it is not "I have no leader" or no answer at all (stopped or
# gone): a live cluster, which a recovery must never touch.
AUTH_ERRORS = ("authentication failed", "invalid user id or password", "permission denied", "user name is empty",
               "invalid auth token", "bad certificate", "certificate verify failed")
NO_LEADER = ("no leader",)
TIMED_OUT = ("timed out", "timeout")


def live_answer(endpoint):
    """Why an etcd_health endpoint record shows a live cluster (or one that cannot be judged), or ""."""
    url = endpoint.get("endpoint")
    texts = " ".join(str(endpoint.get(key) or "") for key in ("error", "status_error", "health_reason")).lower()
    if endpoint.get("healthy") or (endpoint.get("reachable") and endpoint.get("health_reason") == ""):
        return "%s answered /health true (it serves linearizable reads: the cluster has quorum)" % url
    if any(text in texts for text in AUTH_ERRORS):
        return ("%s refused the login (%s): a live member answered; check etcd_auth_root_password and the client "
                "certificates" % (url, endpoint.get("status_error") or endpoint.get("error")))
    if endpoint.get("reachable") and endpoint.get("leader_id"):
        return "%s follows leader %s" % (url, endpoint["leader_id"])
    # Its status answered (a cluster ID) and names no leader; its /health, a read through raft, was not
    # asked (etcd_probe): the member's own word that it has no leader.
    if endpoint.get("reachable") and endpoint.get("cluster_id") and endpoint.get("health_reason") is None:
        return ""
    if endpoint.get("reachable"):
        if any(text in texts for text in NO_LEADER):
            return ""
        return "%s answered without saying it has no leader (%s)" % (url, texts.strip() or "no reason")
    # Silent on its client URL while its peer URL answers: a member that has not joined a cluster with
    # quorum since it started (etcd_health's peer_urls), as good as "no leader".
    if endpoint.get("unready_peer"):
        return ""
    if any(text in texts for text in TIMED_OUT):
        return ("%s did not answer in time (%s): a slow member is no proof of a lost one; run again once it answers "
                "or its host is down" % (url, endpoint.get("error")))
    return ""


def _declared(host, name, lost):
    return host in lost or name in lost


def _lost_names(lost):
    return {str(item).strip() for item in (lost.split(",") if isinstance(lost, str) else lost or []) if str(item).strip()}


def recover_lost_hosts(lost, group_hosts, hostvars):
    """The hosts of the group that ``lost`` (etcd_recover_lost) names, by inventory host or member name."""
    names = _lost_names(lost)
    return [host for host in group_hosts or [] if _declared(host, _member_name(hostvars, host), names)]


def _lost_problem(lost, group_hosts, name_of, survivors):
    """Why etcd_recover_lost cannot be what the operator meant, or "": each item must be a host of the
    group (or its member name), or a member of the membership a survivor's log records (a lost host
    already taken out of the inventory), and each member be named once."""
    recorded = {member.get("name") for survivor in survivors if survivor.get("log")
                for member in survivor["log"].get("members") or []}
    host_of_name = {name: host for host, name in name_of.items()}
    unknown = sorted(item for item in lost if item not in name_of and item not in host_of_name and item not in recorded)
    if unknown:
        return ("etcd_recover_lost=%s: %s is no host of the group, no member name of one and no member of the "
                "cluster's recorded membership; name the hosts of the group that are gone for good (%s)"
                % (",".join(sorted(lost)), ", ".join(unknown), ", ".join(group_hosts) or "the group is empty"))
    twice = sorted(host for host, name in name_of.items() if host in lost and name in lost and host != name)
    if twice:
        return ("etcd_recover_lost=%s names %s twice (host and member name); name each lost host once"
                % (",".join(sorted(lost)), ", ".join("%s (%s)" % (host, name_of[host]) for host in twice)))
    return ""


def quorum_recovery_plan(health, survivors, group_hosts, hostvars, lost=None):
    """Judge a quorum recovery; see plugins/filter/quorum_recovery_plan.yml."""
    if not isinstance(health, dict) or not isinstance(survivors, list):
        raise AnsibleFilterError("quorum_recovery_plan: health must be the result of etcd_health and survivors a list")
    group_hosts = list(group_hosts or [])
    lost = _lost_names(lost)
    name_of = {host: _member_name(hostvars, host) for host in group_hosts}
    # Endpoints that answer as no member of the cluster (hosts that have not joined yet) are not counted.
    statuses = [status for status in health.get("member_status") or [] if status.get("started") is not None]
    healthy = [status for status in statuses if status.get("health") == "healthy"]
    in_cluster = {status.get("name") for status in statuses}
    plan = dict(action="refuse", refusal="", chosen=None, candidates=[], empty=[], unreachable=[], notes=[],
                cluster_id=None, grow=[], reference=None, lost=[], voters=0)
    reported = {survivor["host"]: survivor for survivor in survivors}
    wrong = _lost_problem(lost, group_hosts, name_of, survivors)
    if wrong:
        plan["refusal"] = wrong
        return plan
    # A host that does not answer never drops out of the decision: it is a survivor until the operator
    # says it is gone for good.
    silent = [host for host in group_hosts if host not in reported and not _declared(host, name_of[host], lost)]
    if silent:
        plan["refusal"] = (
            "%s did not report (unreachable, or a task failed there): every host of the group must answer before a "
            "recovery is judged; bring it back, or if it is gone for good name it in etcd_recover_lost "
            "(-e etcd_recover_lost=%s)" % (", ".join(silent), ",".join(silent)))
        return plan
    unreadable = [survivor for survivor in survivors if survivor.get("log_error")]
    if unreadable:
        plan["refusal"] = "; ".join("host %s: %s" % (survivor["host"], survivor["log_error"]) for survivor in unreadable) \
            + ": a survivor whose log cannot be read cannot be compared with the others; repair or move its data first"
        return plan
    named_alive = [survivor["host"] for survivor in survivors
                   if survivor.get("log") and _declared(survivor["host"], name_of.get(survivor["host"]), lost)]
    if named_alive:
        plan["refusal"] = ("%s answered with member data but is named in etcd_recover_lost: a survivor is never dropped; "
                           "take it out of etcd_recover_lost" % ", ".join(named_alive))
        return plan
    plan["unreachable"] = [host for host in group_hosts if host not in reported]
    if healthy:
        missing = [host for host in group_hosts if host in reported and name_of[host] not in in_cluster]
        leader = [status["name"] for status in healthy if status.get("is_leader")]
        if missing and len(healthy) == len(statuses) and not plan["unreachable"]:
            # A recovery stopped after the new cluster started: growing back is what is left.
            # The members it has are what the joining ones copy: its leader is the reference.
            plan.update(action="grow", grow=missing, reference=(leader or [healthy[0].get("name")])[0])
            return plan
        plan["refusal"] = (
            "the cluster has quorum (leader %s, %d of %d members healthy): quorum recovery is only for a cluster that "
            "lost it; replace a lost member with raftops.etcd.replace_member" % (
                ", ".join(leader) or "elected", len(healthy), len(statuses)))
        return plan
    live = [answer for answer in map(live_answer, health.get("endpoints") or []) if answer]
    if live:
        plan["refusal"] = "the cluster answered: %s; quorum recovery is only for a cluster that lost it" % "; ".join(live)
        return plan
    candidates = [survivor for survivor in survivors if survivor.get("log")]
    plan["empty"] = [survivor["host"] for survivor in survivors if not survivor.get("log")]
    if not candidates:
        plan["refusal"] = ("no reachable member of the group has data left (%s): nothing to recover from; restore the "
                           "newest backup with raftops.etcd.restore" % (", ".join(plan["empty"]) or "none reachable"))
        return plan
    clusters = {}
    for survivor in candidates:
        clusters.setdefault(survivor["log"].get("cluster_id"), []).append(survivor["host"])
    if len(clusters) > 1:
        plan["refusal"] = "the survivors belong to different clusters: %s" % "; ".join(
            "cluster %s: %s" % (_hex(cluster_id), ", ".join(hosts)) for cluster_id, hosts in sorted(
                clusters.items(), key=lambda item: str(item[0])))
        return plan
    ranked = sorted(candidates, key=lambda survivor: (_log_rank(survivor), -group_hosts.index(survivor["host"])),
                    reverse=True)
    # The membership the most advanced log commits to: the voters quorum is judged against.
    best = ranked[0]["log"]
    if best.get("members_error") or not best.get("members"):
        plan["refusal"] = ("host %s: the membership in its log cannot be read (%s): quorum cannot be judged against "
                           "the cluster's voters" % (ranked[0]["host"], best.get("members_error") or "no members"))
        return plan
    voters = [member for member in best["members"] if not member.get("learner")]
    host_of_name = {name: host for host, name in name_of.items()}
    by_id = {survivor["log"]["node_id"]: survivor for survivor in candidates}
    surviving = [member for member in voters if member["id"] in by_id]
    gone, unproven = [], []
    for member in voters:
        if member["id"] in by_id:
            continue
        host = host_of_name.get(member["name"])
        record = dict(name=member["name"] or _hex(member["id"]), host=host or "", peer_urls=member["peer_urls"])
        # Proof that a voter is lost: its host answers with no data, or the operator names it gone for good.
        if (host in reported and not reported[host].get("log")) or _declared(host, member["name"], lost):
            gone.append(record)
        else:
            unproven.append(record)
    plan.update(voters=len(voters), lost=sorted(gone, key=lambda record: record["name"]))
    if unproven:
        plan["refusal"] = (
            "voting member %s is in no host of the inventory that answered: whether it is lost is not known; if it "
            "is gone for good name it in etcd_recover_lost" % ", ".join(
                "%s (%s)" % (record["name"], ", ".join(record["peer_urls"])) for record in unproven))
        return plan
    if len(surviving) >= _quorum(len(voters)):
        plan["refusal"] = (
            "%d of the cluster's %d voting members still have their data (%s), a quorum: start them "
            "(raftops.etcd.etcd) and the cluster comes back with nothing lost" % (
                len(surviving), len(voters), ", ".join(by_id[member["id"]]["host"] for member in surviving)))
        return plan
    voting = [survivor for survivor in ranked if any(member["id"] == survivor["log"]["node_id"] for member in voters)]
    if not voting:
        plan["refusal"] = "no voting member has data left (the survivors %s are not voters): restore the newest " \
                          "backup with raftops.etcd.restore" % ", ".join(survivor["host"] for survivor in ranked)
        return plan
    for survivor in ranked:
        if survivor not in voting:
            plan["notes"].append("%s is no voting member of the cluster: its data is moved aside" % survivor["host"])
    chosen = voting[0]
    commit = chosen["log"]["commit"]
    plan.update(action="recover", chosen=dict(host=chosen["host"], name=name_of.get(chosen["host"], chosen["host"]),
                                              **_log_summary(chosen["log"])),
                candidates=[dict(host=survivor["host"], **_log_summary(survivor["log"])) for survivor in ranked],
                cluster_id=_hex(chosen["log"].get("cluster_id")), reference=name_of.get(chosen["host"], chosen["host"]))
    for survivor in ranked:
        if survivor is chosen:
            continue
        if _log_rank(survivor)[0] == commit:
            plan["notes"].append("%s has the same commit index %d: %s was chosen by the end of its log, then inventory "
                                 "order" % (survivor["host"], commit, chosen["host"]))
        if survivor["log"]["last_index"] > commit:
            plan["notes"].append("%s logged entries up to index %d, beyond the chosen commit index %d, without knowing "
                                 "them committed: they are not kept" % (survivor["host"], survivor["log"]["last_index"],
                                                                        commit))
    if chosen["log"]["last_index"] > commit:
        plan["notes"].append("%s logged entries %d to %d without knowing them committed: they are not kept"
                             % (chosen["host"], commit + 1, chosen["log"]["last_index"]))
    if chosen["log"].get("torn_tail"):
        plan["notes"].append("%s's log ends in a torn record (written while it died); etcd drops it" % chosen["host"])
    plan["grow"] = [host for host in group_hosts if host != chosen["host"] and host in reported]
    return plan


def _log_summary(log):
    return {key: value for key, value in log.items() if key not in ("members", "members_error")}


def logged_addresses(survivors):
    """{member name: address} from the peer URLs of the membership the most advanced survivor's log
    commits to: where a lost member lived, when its host can no longer say (no facts, no etcd_address)."""
    logs = [survivor["log"] for survivor in survivors or [] if survivor.get("log")]
    if not logs:
        return {}
    best = max(logs, key=lambda log: (log["commit"], log["last_term"], log["last_index"]))
    addresses = {}
    for member in best.get("members") or []:
        if member.get("name") and member.get("peer_urls"):
            host = urlsplit(member["peer_urls"][0]).hostname
            if host:
                addresses[member["name"]] = host
    return addresses


def logged_peer_urls(survivors):
    """{client URL: peer URLs} of every member the survivors' logs record, for etcd_health's peer_urls."""
    return {url: list(member.get("peer_urls") or []) for survivor in survivors or [] if survivor.get("log")
            for member in survivor["log"].get("members") or [] for url in member.get("client_urls") or []}


def quorum_recovery_report(plan, member_status):
    """Lines for the operator after a recovery; see plugins/filter/quorum_recovery_report.yml."""
    chosen = plan["chosen"]
    lines = ["started %s (host %s) as a new one-member cluster from its own data: commit index %d, log to index %d "
             "(term %d)" % (chosen["name"], chosen["host"], chosen["commit"], chosen["last_index"], chosen["last_term"])]
    lines += ["survivor %s: commit index %d, log to index %d (term %d)" % (
        survivor["host"], survivor["commit"], survivor["last_index"], survivor["last_term"]) for survivor in plan["candidates"]]
    lines += plan["notes"]
    lines.append("every entry up to index %d is kept; entries the lost members committed after it cannot be recovered"
                 % chosen["commit"])
    if plan["empty"]:
        lines.append("no data on %s: they join as new members" % ", ".join(plan["empty"]))
    if plan["lost"]:
        lines.append("lost voting members: %s" % ", ".join(
            "%s (%s)" % (record["name"], record["host"] or "in no host of the inventory") for record in plan["lost"]))
    if plan["unreachable"]:
        lines.append("gone for good (etcd_recover_lost): %s; recreate them, or take them out of the inventory, then "
                     "run raftops.etcd.recover_quorum (or raftops.etcd.etcd) again: the cluster grows back to the "
                     "inventory only once every host of it answers" % ", ".join(plan["unreachable"]))
    ids = sorted({status.get("cluster_id") for status in member_status or [] if status.get("cluster_id")})
    lines.append("cluster ID %s, kept by etcd's force-new-cluster; the old members are no longer in it, so etcd refuses "
                 "them should one come back with its old data" % (", ".join(ids) or plan["cluster_id"]))
    if plan["grow"]:
        lines.append("the old data of the other members was moved aside beside their data dir (.before-recover-<time>); "
                     "%s join again next, one at a time, as learners" % ", ".join(plan["grow"]))
    return lines


def _hex(number):
    return None if number is None else "%x" % number


class FilterModule(object):
    def filters(self):
        return {"quorum_recovery_plan": quorum_recovery_plan, "quorum_recovery_report": quorum_recovery_report,
                "logged_addresses": logged_addresses, "logged_peer_urls": logged_peer_urls,
                "recover_lost_hosts": recover_lost_hosts}
