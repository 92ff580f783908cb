# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Quorum recovery (playbooks/recover_quorum.yml): whether the cluster has really lost quorum, and
which survivor's log the new cluster starts from. Decided here, before any host changes.
"""

from ansible.errors import AnsibleFilterError


def _quorum(size):
    return size // 2 + 1


def _log_rank(survivor):
    # force-new-cluster keeps the committed entries and drops the rest of the log, so the commit
    # index decides; the end of the log only breaks ties (raft's own "up to date": term, then index).
    log = survivor["log"]
    return (log["commit"], log["last_term"], log["last_index"])


def quorum_recovery_plan(health, survivors, group_hosts, hostvars):
    """Judge a quorum recovery; see plugins/filter/quorum_recovery_plan.yml."""
    if not isinstance(health, dict) or not isinstance(survivors, list):
        raise AnsibleFilterError("quorum_recovery_plan: health must be the result of etcd_health and survivors a list")
    group_hosts = list(group_hosts or [])
    name_of = {host: str((hostvars.get(host) or {}).get("NODE_NAME", host)) for host in group_hosts}
    # Endpoints that answer as no member of the cluster (hosts that have not joined yet) are not counted.
    statuses = [status for status in health.get("member_status") or [] if status.get("started") is not None]
    healthy = [status for status in statuses if status.get("health") == "healthy"]
    in_cluster = {status.get("name") for status in statuses}
    plan = dict(action="refuse", refusal="", chosen=None, candidates=[], empty=[], unreachable=[], notes=[],
                cluster_id=None, grow=[], reference=None)
    reported = {survivor["host"] for survivor in survivors}
    plan["unreachable"] = [host for host in group_hosts if host not in reported]
    if healthy:
        missing = [host for host in group_hosts if name_of[host] not in in_cluster]
        leader = [status["name"] for status in healthy if status.get("is_leader")]
        if missing and len(healthy) == len(statuses):
            # A recovery stopped after the new cluster started: growing back is what is left.
            # The members it has are what the joining ones copy: its leader is the reference.
            plan.update(action="grow", grow=missing, reference=(leader or [healthy[0].get("name")])[0])
            return plan
        plan["refusal"] = (
            "the cluster has quorum (leader %s, %d of %d members healthy): quorum recovery is only for a cluster that "
            "lost it; replace a lost member with raftops.etcd.replace_member" % (
                ", ".join(leader) or "elected", len(healthy), len(statuses)))
        return plan
    candidates = [survivor for survivor in survivors if survivor.get("log")]
    plan["empty"] = [survivor["host"] for survivor in survivors if not survivor.get("log")]
    if not candidates:
        plan["refusal"] = ("no reachable member of the group has data left (%s): nothing to recover from; restore the "
                           "newest backup with raftops.etcd.restore" % (", ".join(plan["empty"]) or "none reachable"))
        return plan
    if len(candidates) >= _quorum(len(group_hosts)):
        plan["refusal"] = (
            "%d of the group's %d members still have their data (%s), a quorum: start them (raftops.etcd.etcd) and the "
            "cluster comes back with nothing lost" % (len(candidates), len(group_hosts),
                                                      ", ".join(survivor["host"] for survivor in candidates)))
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
    chosen = ranked[0]
    commit = chosen["log"]["commit"]
    plan.update(action="recover", chosen=dict(host=chosen["host"], name=name_of.get(chosen["host"], chosen["host"]),
                                              **chosen["log"]),
                candidates=[dict(host=survivor["host"], **survivor["log"]) for survivor in ranked],
                cluster_id=_hex(chosen["log"].get("cluster_id")), reference=name_of.get(chosen["host"], chosen["host"]))
    for survivor in ranked[1:]:
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
    plan["grow"] = [host for host in group_hosts if host != chosen["host"]]
    return plan


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
    if plan["unreachable"]:
        lines.append("unreachable: %s; remove them from the inventory, or recreate them, before the cluster grows back "
                     "(the next play joins every host of the inventory)" % ", ".join(plan["unreachable"]))
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
        return {"quorum_recovery_plan": quorum_recovery_plan, "quorum_recovery_report": quorum_recovery_report}
