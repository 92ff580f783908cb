# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The plans of a restore (roles/etcd/tasks/restore.yml) and of a quorum recovery
(recover_quorum.yml): every decision either takes, made once on the controller from what the hosts
answered, as plain data. A sibling of etcd_plan.py, called by the same action (raftops.etcd.etcd_plan).

A restore, in four steps, each extending the plan of the one before:

- plan_restore, before the facts: who restores (every host of the group), and the refusal naming the
  hosts that did not answer or that the run leaves out (--limit);
- plan_restore_members, with the member records and which hosts have an old data dir: the
  --initial-cluster, the new token, the old data dirs moved aside;
- plan_restore_check, after the snapshot was copied and checked on every member: the problems the
  members reported, or the hosts that dropped out of the run, refuse it before anything changes;
- plan_restore_start, after the configuration is written and right before the first member stops:
  the same check again, and the revision bump (etcd_restore_rules.py).

A quorum recovery, in two steps: plan_recovery_logs from each host's offline read of its log (where
the members live, what to ask, through whom), then plan_recovery with the cluster's answer, again
once every member is stopped (the choice must stand).

A host that does not answer never drops out of the decision: a restore is refused naming it, and a
recovery unless the operator names it gone for good (etcd_recover_lost), and its member is silent on
every URL of it (lost_answer): any answer from its host, or its host reporting, is a sign of life.
"""

from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import id_hex, normalize_url, silent, url_parts
from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import PlanError
from ansible_collections.raftops.etcd.plugins.module_utils.backup.restore_rules import RuleError, restore_revision_plan
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import truthy


# --- The plan of a restore (roles/etcd/tasks/restore.yml, playbooks/restore.yml)

RESTORE_WAYS_ON = ("Bring a dead host back, or put a fresh host at its address with its NODE_NAME, and restore them "
                   "all; or take it out of the inventory, restore the others as a smaller cluster and add it back "
                   "later with the deploy playbook (docs/backup-restore.md); nothing was changed")


def plan_restore(group_hosts, play_hosts, play_hosts_all, settings):
    """The first step, before the facts (a dead host has none, and no address to give): ``hosts``,
    the hosts of the group that restore; ``unanswered``, those the play started with that did not
    answer; ``left_out``, those the run leaves out (--limit); ``refusal``, naming both, as a restore
    never goes on without a member. ``settings``: group."""
    group_name = settings.get("group") or "etcd"
    group_hosts, play_hosts = list(group_hosts or []), list(play_hosts or [])
    play_hosts_all = list(play_hosts_all or play_hosts)
    plan = dict(hosts=[h for h in group_hosts if h in play_hosts],
                unanswered=[h for h in group_hosts if h in play_hosts_all and h not in play_hosts],
                left_out=[h for h in group_hosts if h not in play_hosts_all])
    why = []
    if plan["unanswered"]:
        why.append("%s of group %s did not answer (a dead host, or no SSH: see above)"
                   % (", ".join(plan["unanswered"]), group_name))
    if plan["left_out"]:
        why.append("%s of group %s are not in this run (--limit)" % (", ".join(plan["left_out"]), group_name))
    plan["refusal"] = ("every member must take part in a restore, but %s. %s" % (" and ".join(why), RESTORE_WAYS_ON)
                       if why else "")
    # The plan is a restore's: schedule.yml reads the hosts again, configured after facts.yml's read.
    plan["restore"] = True
    return plan


def snapshot_refusal(snapshot, info):
    """Why the snapshot file checked on the controller (``info``: etcd_snapshot_info's result) cannot be
    restored, naming it as the operator did (``snapshot``: etcd_restore_snapshot), or ''."""
    if not (info or {}).get("failed"):
        return ""
    return "etcd_restore_snapshot %s: %s; nothing was changed" % (snapshot, info.get("msg") or "no answer")


MOUNTED = ("%s %s is a mount point, and the restore moves the old directory aside by renaming it: mount the volume "
           "on a parent directory and point %s below it")


def restore_dirs(hosts, reads):
    """host -> whether it has an old data dir, and the problems of the hosts whose data dir or WAL dir
    is a mount point (the restore moves them aside by renaming them, which a mount point does not
    allow), from each host's read (``reads``: host -> facts.yml's report, ``info`` the read of
    etcd_host_info, whose ``files`` hold the state of each dir and ``mount_points`` those that are
    mount points, and ``wanted`` their paths). A host without a read (it dropped out of the play) has
    none here: plan_restore_check names it."""
    data_dirs, problems = {}, []
    for host in hosts:
        if host not in reads:
            data_dirs[host] = False
            continue
        info, wanted = reads[host].get("info") or {}, reads[host].get("wanted") or {}
        state = (info.get("files") or {}).get(wanted.get("data_dir"))
        if not isinstance(state, dict):
            raise PlanError("the read of host %s has no state of its data dir %s" % (host, wanted.get("data_dir")))
        data_dirs[host] = state.get("kind") != "absent"
        for setting, path in (("etcd_data_dir", wanted.get("data_dir")), ("etcd_wal_dir", wanted.get("wal_dir"))):
            if path and path in (info.get("mount_points") or []):
                problems.append("host %s: %s" % (host, MOUNTED % (setting, path, setting)))
    return data_dirs, problems


def plan_restore_members(plan, members, reads, settings):
    """The second step, with the facts: ``members``, the validated member records (filter members) of
    the hosts that restore; ``reads``: host -> its read (restore_dirs: whether it has an old data dir,
    and a ``refusal`` when its data dir or WAL dir is a mount point). Adds ``names`` (and
    ``host_of_name``, name -> host), ``initial_cluster`` (every member), ``with_data_dir`` (moved aside, and whose CA is checked
    against etcd_pki_dir) and ``with_data`` (the same hosts, under the name the task files shared with
    the deploy read: the run lock is asked from the first), ``stable_client_urls`` (every member's
    client URL, which the run lock is taken through), ``token`` and ``stamp`` (``settings``: the new cluster token and the UTC
    time, made by the caller), ``aside_suffix``, ``aside`` (host -> the dirs moved aside, renamed with
    ``aside_suffix``: the data dir of a host with one, and its WAL dir kept apart, where the restore
    writes a new one; as plan_recovery's), ``read_old_revisions`` (settings ``bump_revision``
    auto, outside check mode: the old cluster is asked how far it got), ``check_report``, what
    check mode says would be done (``settings``: snapshot, data_dir), ``snapshot_file`` (the SHA-256,
    revision and keys of the snapshot as the controller read it: ``settings``' snapshot_info,
    etcd_snapshot_info's result), and for run_lock.yml ``run_lock_if_answers`` (the lock is taken
    only when the cluster the restore replaces answers, which may answer without a leader) and
    ``keeper_holds_pki`` (the run's keeper holds etcd_pki_dir)."""
    # Imported here: etcd_membership brings the etcd client, and facts.yml's filter logged_addresses
    # loads this file in the task process of every entry point.
    from ansible_collections.raftops.etcd.plugins.module_utils.cluster.membership import initial_cluster

    plan = dict(plan)
    members = [m for m in members or [] if m["host"] in plan["hosts"]]
    if not members:
        raise PlanError("plan_restore_members: no member record of the hosts that restore")
    plan["names"] = [m["name"] for m in members]
    plan["host_of_name"] = {m["name"]: m["host"] for m in members}
    plan["initial_cluster"] = initial_cluster([dict(name=m["name"], peer_urls=[m["peer_url"]]) for m in members],
                                              members[0]["name"], [members[0]["peer_url"]])
    data_dirs, problems = restore_dirs(plan["hosts"], reads or {})
    plan["refusal"] = "%s; nothing was changed" % "; ".join(problems) if problems else ""
    plan["with_data_dir"] = [h for h in plan["hosts"] if data_dirs[h]]
    plan["with_data"] = list(plan["with_data_dir"])
    plan["stable_client_urls"] = [m["client_url"] for m in members]
    plan["token"], plan["stamp"] = str(settings["token"]), str(settings["stamp"])
    plan["aside_suffix"] = ".before-restore-" + plan["stamp"]
    plan["aside"] = {host: [path for path in (reads[host]["wanted"].get("data_dir"), reads[host]["wanted"].get("wal_dir"))
                            if path] for host in plan["with_data_dir"]}
    plan["read_old_revisions"] = (str(settings.get("bump_revision", "auto")).strip().lower() == "auto"
                                  and not truthy(settings.get("check_mode")))
    aside = ""
    if plan["with_data_dir"]:
        aside = ", the old data dir of %s moved aside to %s%s" % (
            ", ".join(plan["with_data_dir"]), settings.get("data_dir"), plan["aside_suffix"])
    plan["check_report"] = ("check mode: %s would be restored on %s as a new cluster%s; nothing was changed"
                            % (settings.get("snapshot"), ", ".join(plan["names"]), aside))
    info = settings.get("snapshot_info") or {}
    plan["snapshot_file"] = dict(sha256=info.get("sha256"), revision=info.get("revision"), keys=info.get("total_key"))
    plan["run_lock_if_answers"] = plan["keeper_holds_pki"] = True
    return plan


def _restore_problems(plan, group_hosts, play_hosts, reported):
    """What the members reported (``reported``: host -> its problem), else the hosts of the group that
    dropped out of the play: only when no member reported one, as a member's failed check sends the
    others to the rescue as failed hosts, which takes them out of the play too."""
    problems = [reported[h] for h in group_hosts if reported.get(h)]
    plan["dropped_out"] = [] if problems else [h for h in group_hosts if h not in play_hosts]
    plan["problems"] = problems or [
        "host %s dropped out of the run (unreachable, or a task failed there): every member must take part in a "
        "restore; bring it back and run the restore again" % host for host in plan["dropped_out"]]
    return plan


def plan_restore_check(plan, group_hosts, play_hosts, reported):
    """The third step, after the snapshot was copied and checked on every member: ``problems``,
    ``dropped_out`` and ``refusal`` (nothing was changed yet; the copies are removed)."""
    plan = _restore_problems(dict(plan), list(group_hosts or []), list(play_hosts or []), reported or {})
    plan["refusal"] = "%s; nothing was changed" % "; ".join(plan["problems"]) if plan["problems"] else ""
    # The run lock is taken (run_lock.yml asked it from with_data): configure.yml would stage the
    # files of the members in with_data, which a restore writes in place.
    plan.pop("with_data", None)
    return plan


def plan_restore_start(plan, group_hosts, play_hosts, reported, old_cluster, settings):
    """The last step, after the configuration is written and before the first member stops: the check
    of plan_restore_check again (writing the configuration may lose a host too), and the revision
    bump: ``bump_revision``, ``mark_compacted``, ``bump_note``, ``bump_warning``; ``stop_last``, the host
    of the old cluster's leader in ``old_cluster`` ([] when none is known); and ``report``, the lines
    for the operator (the line that says what was restored).

    ``old_cluster``: etcd_health's read of the old members that still answer ({} when not read);
    ``settings``: bump_revision (etcd_restore_bump_revision), mark_compacted, version, and for the
    report snapshot_shown (the snapshot as the operator named it); snapshot_revision and
    snapshot_keys, when not given, are the plan's ``snapshot_file``'s (plan_restore_members).
    """
    snapshot = plan.get("snapshot_file") or {}
    settings = dict(settings, snapshot_revision=settings.get("snapshot_revision", snapshot.get("revision")),
                    snapshot_keys=settings.get("snapshot_keys", snapshot.get("keys")))
    plan = _restore_problems(dict(plan), list(group_hosts or []), list(play_hosts or []), reported or {})
    plan["refusal"] = ("%s; no member was stopped (their configuration may have been written)"
                       % "; ".join(plan["problems"]) if plan["problems"] else "")
    revisions = [e["revision"] for e in (old_cluster or {}).get("endpoints") or [] if e.get("revision")]
    try:
        bump = restore_revision_plan(settings.get("bump_revision", "auto"), truthy(settings.get("mark_compacted", True)),
                                     settings.get("version"), settings.get("snapshot_revision"), revisions)
    except RuleError as exc:
        raise PlanError("the revision bump: %s" % exc) from None
    plan.update(bump_revision=bump["bump_revision"], mark_compacted=bump["mark_compacted"], bump_note=bump["note"],
                bump_warning=bump["warning"])
    # The old cluster's leader stops once the others have: a leader stopped beside members still up hands
    # its leadership to one of them (etcd's graceful stop), which then spends etcd's request timeout (7 s)
    # trying to hand it on while it stops too. Unknown without the read: every member stops at once.
    leaders = [m.get("name") for m in (old_cluster or {}).get("member_status") or [] if m.get("is_leader")]
    plan["stop_last"] = [plan["host_of_name"][name] for name in leaders if name in plan.get("host_of_name", {})]
    plan["report"] = ["restored %s: revision %s, %s keys, cluster token %s; %s" % (
        settings.get("snapshot_shown"), settings.get("snapshot_revision"), settings.get("snapshot_keys"), plan["token"],
        plan["bump_note"])]
    return plan


# --- The plan of a quorum recovery (roles/etcd/tasks/recover_quorum.yml, playbooks/recover_quorum.yml)


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
    # Silence from the network (a connect timeout, no route to its host) is no answer; a member named lost
    # must be silent on every URL of it (lost_answer).
    if silent(endpoint.get("error")):
        return ""
    if any(text in texts for text in TIMED_OUT):
        return ("%s did not answer in time (%s): a member that is slow to answer may still serve a cluster; run again "
                "once it answers" % (url, endpoint.get("error")))
    return ""


def _declared(host, name, lost):
    return host in lost or name in lost


NOT_LOST_UNLESS = ("a member is lost only when every URL of it is silent (a connect timeout, no route to its host) and "
                   "its host answers no SSH: any answer comes from a live host; take it out of etcd_recover_lost, or "
                   "fence or power off a host gone for good before naming it")


def _named_lost(lost, name_of, survivors):
    """[{name, host, client_urls, peer_urls}] of the members of the survivors' recorded membership that
    ``lost`` names (by member name, or by the inventory host whose member it is), each URL once."""
    host_of_name = {name: host for host, name in name_of.items()}
    named = {}
    for survivor in survivors:
        for member in (survivor.get("log") or {}).get("members") or []:
            name = member.get("name")
            if not name or not _declared(host_of_name.get(name), name, lost):
                continue
            record = named.setdefault(name, dict(name=name, host=host_of_name.get(name) or "", client_urls=[],
                                                 peer_urls=[]))
            for key in ("client_urls", "peer_urls"):
                record[key] += [url for url in member.get(key) or [] if url not in record[key]]
    return list(named.values())


def lost_answer(member, endpoints):
    """What answered, on any URL of a ``member`` named lost (_named_lost's record), in the cluster's
    answer (``endpoints``: etcd_health's endpoint records, each with its ``peers``: what the member's peer
    URLs answered), else the URLs the answer does not cover; "" when every URL of it was silent
    (etcd_formats.silent): the proof, with its host silent over SSH, that it is lost."""
    records = {normalize_url(record.get("endpoint")): record for record in endpoints}
    answers, unasked, peers = [], [], {}
    for url in member["client_urls"]:
        record = records.get(normalize_url(url))
        if record is None:
            unasked.append("%s was not asked" % url)
            continue
        if record.get("reachable"):
            answers.append("%s answered (%s)" % (url, record.get("health_reason") or record.get("status_error")
                                                 or "its status"))
        elif not silent(record.get("error")):
            answers.append("%s answered (%s)" % (url, record.get("error")))
        peers.update((normalize_url(peer.get("url")), peer) for peer in record.get("peers") or [])
    for url in member["peer_urls"]:
        peer = peers.get(normalize_url(url))
        if peer is None:
            unasked.append("%s was not asked" % url)
        elif peer.get("answered"):
            answers.append("%s answered /version" % url)
        elif not silent(peer.get("error")):
            answers.append("%s answered (%s)" % (url, peer.get("error")))
    # An answer is the sign of life (its peer URLs are not asked once a client URL answered); else a URL
    # not asked leaves it unproven.
    return ", ".join(answers or unasked)


def _lost_names(lost):
    return {str(item).strip() for item in (lost.split(",") if isinstance(lost, str) else lost or []) if str(item).strip()}


def lost_hosts(lost, group_hosts, names):
    """The hosts of the group that ``lost`` (etcd_recover_lost) names, by inventory host or member name
    (``names``: host -> member name)."""
    lost = _lost_names(lost)
    return [host for host in group_hosts or [] if _declared(host, names.get(host, host), lost)]


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


def judge_recovery(health, survivors, group_hosts, names, lost=None):
    """The verdict on a quorum recovery. ``health``: etcd_health's result for every voter's and host's
    client URL, asked with the voters' peer URLs ({} when no host could ask); ``survivors``:
    [{host, log, log_error}] of the hosts that reported (etcd_host_info's log and log_error); ``names``:
    host -> member name; ``lost``: the hosts or member names the operator declares gone for good
    (etcd_recover_lost).

    Refuses unless a recovery is proven needed and safe, every refusal naming its cause and what to do:
    an item of ``lost`` that is no host of the group, no member name of one and no member of the
    membership a survivor's log records, or one named twice; a host of the group that did not report
    and is not named lost (it never drops out of the decision), or a host named lost that reported; a
    member named lost one of whose URLs, client or peer, was not silent in ``health`` (any answer from
    its host, or a URL not asked); a cluster that answers (an endpoint healthy, following a leader,
    refusing the login, or taking the connection and answering too slowly), unless every member of it
    is healthy and hosts of the group are not members yet (a recovery that stopped after the new
    cluster started: ``grow``); no survivor with data, a quorum of the voters still with data, or logs
    of different clusters. Quorum is judged against the voting members of the membership the most
    advanced survivor's log commits to, not the inventory. Otherwise it chooses the voting survivor with
    the highest commit index, ties broken by the term and index of the last entry, then inventory order.

    Returns {action (refuse, recover or grow), refusal, chosen (host, name and log; None unless recover),
    candidates (the survivors with data, best first), empty (hosts that answered without data),
    unreachable (hosts named lost that did not answer), notes (ties, entries logged but not known
    committed), cluster_id (hex), grow (the hosts that join again afterwards), reference (the member whose
    keyspace every member must hold once grown back: the chosen survivor, or the leader found with grow),
    lost ([{name, host, peer_urls}] of the lost voters), voters (how many quorum was judged against)}."""
    if not isinstance(health, dict) or not isinstance(survivors, list):
        raise PlanError("judge_recovery: health must be the result of etcd_health and survivors a list")
    group_hosts = list(group_hosts or [])
    lost = _lost_names(lost)
    name_of = {host: names.get(host, host) for host in group_hosts}
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
    # A host that reported answered over SSH: alive, whatever its etcd ports say.
    named_alive = ["%s%s" % (survivor["host"], " (with member data)" if survivor.get("log") else "")
                   for survivor in survivors if _declared(survivor["host"], name_of.get(survivor["host"]), lost)]
    if named_alive:
        plan["refusal"] = ("etcd_recover_lost names %s, which answered over SSH (it reported to the play): a host that "
                           "answers is alive, and a survivor is never dropped; take it out of etcd_recover_lost, or fence "
                           "or power off a host gone for good before naming it" % ", ".join(named_alive))
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
    # A member named lost is lost on the proof of silence on every URL of it; the others must say "no leader".
    named_lost = _named_lost(lost, name_of, survivors)
    endpoints = health.get("endpoints") or []
    not_silent = ["%s (host %s): %s" % (member["name"], member["host"], answer) if member["host"] else
                  "%s: %s" % (member["name"], answer)
                  for member in named_lost for answer in [lost_answer(member, endpoints)] if answer]
    if not_silent:
        plan["refusal"] = "not silent, though named in etcd_recover_lost: %s; %s" % ("; ".join(not_silent), NOT_LOST_UNLESS)
        return plan
    live = [answer for answer in map(live_answer, endpoints) if answer]
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
            host = url_parts(member["peer_urls"][0])[1]
            if host:
                addresses[member["name"]] = host
    return addresses


def logged_peer_urls(survivors):
    """{client URL: peer URLs} of every member the survivors' logs record, for etcd_health's peer_urls."""
    return {url: list(member.get("peer_urls") or []) for survivor in survivors or [] if survivor.get("log")
            for member in survivor["log"].get("members") or [] for url in member.get("client_urls") or []}


def recovery_report(plan, member_status=None):
    """Lines for the operator after a recovery (``plan``, judge_recovery's with action recover): the chosen
    survivor and every survivor's commit index and log end, what is kept and what cannot be recovered,
    the hosts without data and those that did not answer, the cluster ID (from ``member_status``,
    etcd_health's of the new cluster) and who joins next."""
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
    return None if number is None else id_hex(number)


def survivors_of(reads, hosts):
    """[{host, log, log_error, data_dir, has_data, wal_dir, present}] from each host's etcd_host_info read
    (``reads``: host -> the read), for the ``hosts`` that have one, in their order."""
    found = []
    for host in hosts or []:
        read = (reads or {}).get(host)
        if not isinstance(read, dict):
            continue
        found.append(dict(host=host, log=read.get("log"), log_error=read.get("log_error") or "",
                          data_dir=read.get("data_dir") or "", has_data=bool(read.get("has_data")),
                          wal_dir=(read.get("settings") or {}).get("ETCD_WAL_DIR") or "",
                          present=list(read.get("present") or [])))
    return found


def plan_recovery_logs(survivors, settings):
    """The first step, from each host's offline read (``survivors``, survivors_of): ``addresses``
    ({member name: address}, for hosts that give no facts), the members' client and peer URLs the
    logs record (``logged_client_urls``, ``logged_peer_urls``: etcd_health's peer_urls), and the
    host the cluster is asked through (``ask_through``, the first with a log; ``ask_cluster`` false
    without one, and the first survivor then runs the recovery step, which asks nothing) with the
    pair it has (``ask_cert``, ``ask_key``; '' without TLS): the CN-less client pair with a root
    login once it is there, else its server pair; and its peer pair for the peer URLs
    (``ask_peer_cert``, ``ask_peer_key``; '' without TLS). The ``survivors`` are kept: the first
    verdict judges them (survivors_in_play), as facts.yml reads the hosts again without their logs.

    ``settings``: tls, root_login, pki_host_dir.
    """
    with_log = [s for s in survivors if s.get("log")]
    ask = with_log[0] if with_log else {}
    plan = dict(addresses=logged_addresses(survivors), logged_peer_urls=logged_peer_urls(survivors),
                logged_client_urls=list(dict.fromkeys(url for s in with_log for m in s["log"].get("members") or []
                                                      for url in m.get("client_urls") or [])),
                ask_through=ask.get("host") or (survivors[0]["host"] if survivors else ""), ask_cluster=bool(ask), ask_cert="", ask_key="", ask_peer_cert="",
                ask_peer_key="", survivors=survivors)
    if truthy(settings.get("tls", True)):
        pki = str(settings.get("pki_host_dir") or "")
        pair = "client" if truthy(settings.get("root_login")) and pki + "/client-key.pem" in ask.get("present", []) \
            else "server"
        plan.update(ask_cert="%s/%s.pem" % (pki, pair), ask_key="%s/%s-key.pem" % (pki, pair),
                    ask_peer_cert=pki + "/peer.pem", ask_peer_key=pki + "/peer-key.pem")
    return plan


def survivors_in_play(plan, play_hosts):
    """The survivors of the logs step (``plan``: plan_recovery_logs') still in the play: a host that
    failed a task since drops out of the verdict, which then names it unreported, never judges it on
    its earlier read."""
    return [survivor for survivor in plan.get("survivors") or [] if survivor.get("host") in (play_hosts or [])]


def recovery_question(plan, connection, client_urls):
    """etcd_health's arguments for the recovery's question to the cluster, or None when no survivor has
    a log (``plan``: plan_recovery_logs'): every member any log names and every member of the inventory
    (``client_urls``) asked, with the role's ``connection`` options but the pair the asking host has, and
    the logged members' peer URLs (a survivor without quorum serves only those)."""
    if not plan.get("ask_cluster"):
        return None
    question = dict(connection or {}, timeout=5, peer_urls=plan.get("logged_peer_urls") or {},
                    endpoints=list(dict.fromkeys(list(plan.get("logged_client_urls") or []) + list(client_urls or []))))
    for option, field in (("client_cert", "ask_cert"), ("client_key", "ask_key"), ("peer_cert", "ask_peer_cert"),
                          ("peer_key", "ask_peer_key")):
        if plan.get(field):
            question[option] = plan[field]
    return question


def plan_recovery(plan, health, survivors, group_hosts, names, settings):
    """The verdict (judge_recovery) added to ``plan``, with ``refusal`` the full message, ``lost_hosts``
    (the hosts of the group named gone for good: the cluster grows back without them only in a later
    run), ``unreported`` (judge_recovery's ``unreachable``: those that did not report), ``aside`` (host ->
    the data and WAL dirs moved aside once the new cluster serves: every host
    with data but the chosen one), ``stamp`` and ``report``, the lines for the operator.

    Judged again once every member is stopped (``plan`` holds the first verdict, action recover):
    the survivor chosen must be the one chosen with every member as it was, or it is refused. The
    cluster's answer judged (``cluster_answer``, what judge_recovery reads of ``health``) is kept:
    the verdict made again judges the answer given while the members ran. A question that reached no
    member (etcd_health failed first) is refused: it proves nothing about quorum.
    ``settings``: lost (etcd_recover_lost), stamp (the UTC time), stopped (the hosts whose etcd was
    stopped, for the second verdict's refusal).
    """
    first = plan.get("action") == "recover" and plan.get("chosen")
    verdict = judge_recovery(health or {}, survivors, group_hosts, names, settings.get("lost"))
    plan = dict(plan, **verdict)
    plan["survivors"] = survivors
    plan["cluster_answer"] = {key: health[key] for key in ("member_status", "endpoints") if key in (health or {})}
    if plan.get("ask_cluster") and not plan["cluster_answer"]:
        # etcd_health failed before it asked any member (a pair it cannot read, an error): that is no
        # proof the cluster lost quorum, nor that a member named lost is silent, and a recovery beside a
        # cluster that answers splits it. Said first: no verdict on the cluster stands without its answer.
        plan.update(action="refuse", refusal=(
            "the cluster could not be asked through %s (%s): whether it still has quorum is unknown"
            % (plan.get("ask_through") or "?", (health or {}).get("msg") or "no answer")))
    if first and verdict["action"] == "recover" and verdict["chosen"]["host"] != first["host"]:
        plan.update(action="refuse", refusal=(
            "the survivors' logs read once stopped choose %s, not %s as read while they ran: a member moved on "
            "meanwhile" % (verdict["chosen"]["host"], first["host"])))
    if plan["action"] == "refuse":
        plan["refusal"] += ("; etcd was stopped on %s and nothing else changed" % ", ".join(settings.get("stopped") or [])
                            if first else "; nothing was changed")
    plan["lost_hosts"] = lost_hosts(settings.get("lost"), group_hosts, names)
    chosen = (plan.get("chosen") or {}).get("host")
    plan["aside"] = {s["host"]: [d for d in (s.get("data_dir"), s.get("wal_dir")) if d] for s in survivors
                     if plan["action"] == "recover" and s["host"] != chosen and s.get("has_data")}
    plan["stamp"] = str(settings.get("stamp") or "")
    if plan["action"] == "recover":
        plan["report"] = recovery_report(plan)
    elif plan["action"] == "grow":
        plan["report"] = ["the cluster has quorum and lacks %s: they join it again next" % ", ".join(plan["grow"])]
    else:
        plan["report"] = []
    # An action's result with "unreachable" would mark the task's host unreachable.
    plan["unreported"] = plan.pop("unreachable")
    return plan
