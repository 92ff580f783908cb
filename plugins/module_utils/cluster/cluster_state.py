# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Observe an etcd cluster and decide whether it is healthy.

Three layers, so that the decisions can be tested without hosts:

* ``observe()`` asks the endpoints (through ``EtcdClient``-like objects) and returns a plain dict;
* ``assess()``, ``cluster_summary()`` and ``format_table()`` are pure functions of that dict, and
  ``health_result()`` puts them together as etcd_health (and etcd_host_info's local read) return them;
* ``wait_until()`` polls with an injectable clock and sleep.

``read_cluster_health()`` is ``observe()`` then ``health_result()``: the one read of a cluster that
etcd_health, etcd_host_info and etcd_lock share.
"""

import time

from datetime import datetime, timezone

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import EtcdError, first_answer
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.defrag_rule import effective_quota
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import human_size, normalize_url
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.membership import public_member
from ansible_collections.raftops.etcd.plugins.module_utils.client.probe import (
    GATEWAY_HINT,
    NO_REASON,
    error_text,
    in_parallel,
    probe_endpoint,
    probe_urls,
)

LEARNER_HINT = " (every endpoint that answered is a learner; name a voting member in endpoints)"
DAY = 86400

# -- observation -----------------------------------------------------------------------------


def endpoint_record(probe, discovered=False, now=None):
    """One entry of ``endpoints`` as etcd_health returns it: a probe (``etcd_probe.probe_endpoint``)
    flattened, IDs in hex, ``member`` filled in later from the member list, ``alarms`` and
    ``applied_lag`` once the whole cluster is observed (``observe``).

    ``cert_expires`` (UTC, ISO 8601) and ``cert_days_left`` (whole days from ``now``, negative once
    expired) are of the certificate the member presented; None over http.
    """
    status = probe["status"]
    not_after = probe.get("cert_not_after")
    record = dict(
        endpoint=probe["endpoint"],
        discovered=discovered,
        member=None,
        member_id=status["member_id_hex"] if status else None,
        reachable=probe["reachable"],
        error=probe["error"],
        healthy=probe["healthy"],
        health_reason=probe["health_reason"],
        status_error=probe["status_error"],
        version=None,
        cluster_id=None,
        is_leader=False,
        is_learner=False,
        leader_id=None,
        raft_term=None,
        raft_index=None,
        raft_applied_index=None,
        db_size=None,
        db_size_in_use=None,
        revision=None,
        errors=[],
        alarms=[],
        applied_lag=None,
        cert_expires=None,
        cert_days_left=None,
    )
    if not_after is not None:
        record.update(
            cert_expires=datetime.fromtimestamp(not_after, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            cert_days_left=int((not_after - (time.time() if now is None else now)) // DAY),
        )
    if status:
        record.update(
            version=status["version"],
            cluster_id=status["cluster_id"],
            is_leader=status["is_leader"],
            is_learner=status["is_learner"],
            leader_id=status["leader_id_hex"] if status["leader_id"] else None,
            raft_term=status["raft_term"],
            raft_index=status["raft_index"],
            raft_applied_index=status["raft_applied_index"],
            db_size=status["db_size"],
            db_size_in_use=status["db_size_in_use"],
            revision=status["revision"],
            errors=list(status["errors"]),
        )
    return record


def _probe_client(client):
    return endpoint_record(probe_endpoint(client))


def _discover(args):
    urls, make_client = args
    return [endpoint_record(probe, discovered=True) for probe in probe_urls(urls, make_client)]


def _cluster_call(clients, action, none_answers="no endpoint answered"):
    """(answer, error text) of a cluster-wide call asked of the first endpoint that answers;
    ``none_answers`` is the error when there is no endpoint to ask."""
    if not clients:
        return None, none_answers
    try:
        return first_answer(clients, action), None
    except EtcdError as exc:
        return None, error_text(exc)


def observe(clients, discover=True, make_client=None):
    """One look at the cluster: every endpoint probed, plus the member list, alarms and version.

    ``clients`` are the endpoints the user named. With ``discover``, every started member not
    already reached through them is probed at its advertised client URLs (``make_client(url)``).
    """
    records = in_parallel(_probe_client, clients)
    by_endpoint = {client.endpoint: client for client in clients}

    def cluster_order(record):
        # Ask voting members first (a learner refuses member list and alarms), leader first.
        return (record["is_learner"], not record["is_leader"], record["status_error"] is not None)

    answering = [by_endpoint[r["endpoint"]] for r in sorted(
        (r for r in records if r["reachable"]), key=cluster_order)]

    # With auth on, a member that left the probe's login unanswered (no quorum) would keep the
    # member list and alarms, which need a token, waiting just as long: they are not asked of it.
    unanswered = [client.login_unanswered for client in answering if getattr(client, "login_unanswered", None)]
    logged_in = [client for client in answering if not getattr(client, "login_unanswered", None)]
    none_answers = error_text(unanswered[0]) if unanswered else "no endpoint answered"
    members, member_list_error = _cluster_call(logged_in, lambda c: c.member_list(), none_answers)
    answered = [r for r in records if r["reachable"]]
    if member_list_error and answered and all(r["is_learner"] for r in answered):
        member_list_error += LEARNER_HINT
    alarms, alarms_error = _cluster_call(logged_in, lambda c: c.alarms(), none_answers)
    version, version_error = _cluster_call(answering, lambda c: c.version())

    if discover and members and make_client is not None:
        seen_ids = {r["member_id"] for r in records if r["member_id"]}
        seen_urls = {normalize_url(r["endpoint"]) for r in records}
        todo = [
            ([url for url in m["client_urls"] if normalize_url(url) not in seen_urls], make_client)
            for m in members
            if m["started"] and m["id_hex"] not in seen_ids
            and not any(normalize_url(url) in seen_urls for url in m["client_urls"])
        ]
        for found in in_parallel(_discover, [item for item in todo if item[0]]):
            records.extend(found)

    observation = dict(
        endpoints=records,
        members=members,
        member_list_error=member_list_error,
        alarms=alarms,
        alarms_error=alarms_error,
        cluster_version=(version or {}).get("etcdcluster") or None,
        version_error=version_error,
    )
    name_endpoints(observation)
    leader = _leader_record(observation, _views(observation))
    for record in records:
        record["alarms"] = raised_on(alarms, record["member_id"])
        record["applied_lag"] = applied_lag(record, leader)
    return observation


def raised_on(alarms, member_id_hex):
    """The names of the alarms of an alarm list raised on one member, sorted."""
    return sorted({a["alarm"] for a in alarms or [] if a["member_id_hex"] == member_id_hex and a["alarm"] != "NONE"})


def name_endpoints(observation):
    """Fill each endpoint's ``member`` and ``member_id`` from the member list."""
    members = observation.get("members") or []
    by_id = {m["id_hex"]: m for m in members}
    for record in observation["endpoints"]:
        member = by_id.get(record["member_id"]) if record["member_id"] else _member_by_url(members, record["endpoint"])
        if member is not None:
            record["member_id"] = member["id_hex"]
            record["member"] = member["name"] or None
    return observation


def _member_by_url(members, url):
    key = normalize_url(url)
    for member in members:
        if any(normalize_url(u) == key for u in member["client_urls"]):
            return member
    return None


# -- decisions ------------------------------------------------------------------------------


def member_label(member):
    if member.get("name"):
        return member["name"]
    peer = ", ".join(member.get("peer_urls") or []) or "no peer URL"
    return "unstarted member %s (%s)" % (member["id_hex"], peer)


def _views(observation):
    """One view per member (or per unknown endpoint): the member and its best endpoint record.

    A member may be reached through several endpoints (``127.0.0.1`` and its advertised URL);
    its view uses the best answer: healthy, then reachable, then any.
    """
    members = observation.get("members")
    records = observation["endpoints"]

    def best(candidates):
        if not candidates:
            return None
        return sorted(candidates, key=lambda r: (not r["reachable"], not r["healthy"], r["status_error"] is not None))[0]

    views = []
    used = set()
    for member in sorted(members or [], key=lambda m: (not m["started"], m["name"], m["id_hex"])):
        mine = [i for i, r in enumerate(records) if r["member_id"] == member["id_hex"]]
        used.update(mine)
        views.append(dict(member=member, endpoint=best([records[i] for i in mine]),
                          label=member_label(member), is_learner=member["is_learner"]))
    # Endpoints that map to no known member: grouped by the member ID they answered with.
    groups = {}
    for i, record in enumerate(records):
        if i in used:
            continue
        key = record["member_id"] or ("url", record["endpoint"])
        groups.setdefault(key, []).append(record)
    for key, group in groups.items():
        record = best(group)
        label = record["endpoint"]
        if isinstance(key, str):
            label = "member %s (%s)" % (key, record["endpoint"])
        views.append(dict(member=None, endpoint=record, label=label, is_learner=record["is_learner"]))
    return views


def _where(view):
    record = view["endpoint"]
    if view["member"] is not None and record is not None:
        return "%s (%s)" % (view["label"], record["endpoint"])
    return view["label"]


def leaders_seen(observation):
    """The leader each voting member whose status was read names (its id hex; None when it sees none)."""
    return [v["endpoint"]["leader_id"] for v in _views(observation)
            if v["endpoint"] and v["endpoint"]["raft_term"] is not None and not v["is_learner"]]


def leader_of(observation):
    """(leader id hex, leader name) agreed by the voting members' status, or (None, None)."""
    ids = set(leaders_seen(observation))
    ids.discard(None)
    if len(ids) != 1:
        return None, None
    leader_id = ids.pop()
    for member in observation.get("members") or []:
        if member["id_hex"] == leader_id:
            return leader_id, member["name"] or None
    return leader_id, None


def member_records(observation):
    """(member, its best endpoint record or None) for each member of the member list, by name."""
    return [(view["member"], view["endpoint"]) for view in _views(observation) if view["member"] is not None]


def assess(observation, max_raft_index_gap=None, expect_members=None, allow_learners=True, tolerate_alarms=()):
    """(healthy, problems) for one observation. Pure: no I/O.

    ``tolerate_alarms`` names alarms (``NOSPACE``) that are no problem, nor is the ``/health`` false
    they cause: the maintenance that clears an alarm needs the cluster healthy apart from it.
    """
    problems = []
    records = observation["endpoints"]
    if not any(r["reachable"] for r in records):
        problems.append("no endpoint answered")
        problems.extend("%s: unreachable: %s" % (r["endpoint"], r["error"]) for r in records)
        return False, problems

    members = observation.get("members")
    if members is None:
        problems.append("member list unavailable: %s" % observation.get("member_list_error"))

    excused = _excused_health_reasons(observation, tolerate_alarms)
    views = _views(observation)
    for view in views:
        member, record = view["member"], view["endpoint"]
        where = _where(view)
        if view["is_learner"]:
            if allow_learners:
                continue
            problems.append("%s: is a learner (not promoted to a voting member)" % where)
        if member is not None and not member["started"]:
            problems.append("%s: not started (added but has never joined the cluster)" % where)
            continue
        if record is None:
            continue  # not checked: discover is off and no endpoint names it
        if not record["reachable"]:
            problems.append("%s: unreachable: %s" % (where, record["error"]))
            continue
        if record["health_reason"] and record["health_reason"] not in excused:
            problems.append("%s: /health false: %s" % (where, record["health_reason"]))
        if record["status_error"]:
            problems.append("%s: status failed: %s" % (where, record["status_error"]))
        errors = _own_errors(record, observation)
        if errors:
            problems.append("%s: reports errors: %s" % (where, "; ".join(errors)))
        if member is None and members is not None and record["member_id"]:
            problems.append("%s: answers as member %s, which is not in the member list"
                            % (record["endpoint"], record["member_id"]))

    problems.extend(_leader_problems(observation, views))

    cluster_ids = sorted({r["cluster_id"] for r in records if r["cluster_id"]})
    if len(cluster_ids) > 1:
        problems.append("endpoints belong to different clusters: %s" % ", ".join(
            "%s in %s" % (r["endpoint"], r["cluster_id"]) for r in records if r["cluster_id"]))

    if observation.get("alarms_error"):
        problems.append("alarms could not be read: %s" % observation["alarms_error"])
    names = {m["id_hex"]: member_label(m) for m in members or []}
    for alarm in observation.get("alarms") or []:
        if alarm["alarm"] and alarm["alarm"] != "NONE" and alarm["alarm"] not in tolerate_alarms:
            who = names.get(alarm["member_id_hex"], alarm["member_id_hex"])
            problems.append("alarm %s on member %s" % (alarm["alarm"], who))

    if max_raft_index_gap is not None:
        problems.extend(_gap_problems(observation, views, max_raft_index_gap))

    if expect_members is not None and members is not None:
        voting = [m for m in members if m["started"] and not m["is_learner"]]
        if len(voting) != expect_members:
            problems.append("expected %d started voting members, found %d: %s" % (
                expect_members, len(voting), ", ".join(sorted(m["name"] for m in voting)) or "none"))

    return not problems, _hint_once(problems)


def _excused_health_reasons(observation, tolerate_alarms):
    """The ``/health`` reasons that a raised alarm of ``tolerate_alarms`` explains: ``ALARM NOSPACE``,
    and no reason at all, which releases before 3.4.29 and 3.5.0 give for an alarm too."""
    raised = {a["alarm"] for a in observation.get("alarms") or []} & set(tolerate_alarms)
    if not raised:
        return set()
    return {"ALARM %s" % name for name in raised} | {NO_REASON}


def _hint_once(problems):
    """Give the gateway hint only on the first problem that has it."""
    seen = False
    result = []
    for problem in problems:
        if GATEWAY_HINT in problem:
            if seen:
                problem = problem.replace(GATEWAY_HINT, "")
            seen = True
        result.append(problem)
    return result


def _own_errors(record, observation):
    """A member's status errors, less the raised alarms it repeats (those are reported once)."""
    alarms_known = observation.get("alarms") is not None
    return [e.strip() for e in record["errors"] if e.strip() and not (alarms_known and "alarm:" in e)]


def _leader_problems(observation, views):
    problems = []
    voters = [v for v in views if not v["is_learner"] and v["endpoint"] and v["endpoint"]["raft_term"] is not None]
    if not voters:
        return ["leader unknown: no voting member's status could be read"]
    seen = {}
    for view in voters:
        seen.setdefault(view["endpoint"]["leader_id"], []).append(view["label"])
    if None in seen:
        problems.append("no leader seen by: %s" % ", ".join(seen.pop(None)))
    if len(seen) > 1:
        problems.append("members disagree on the leader: %s" % "; ".join(
            "%s see %s" % (", ".join(labels), _member_name(observation, leader)) for leader, labels in sorted(seen.items())))
    claims = [v["label"] for v in voters if v["endpoint"]["is_leader"]]
    if len(claims) > 1:
        problems.append("more than one member claims to be leader: %s" % ", ".join(claims))
    if len(seen) == 1:
        leader = next(iter(seen))
        members = observation.get("members")
        if members is not None and leader not in {m["id_hex"] for m in members}:
            problems.append("leader %s is not in the member list" % leader)
        for view in voters:
            if view["endpoint"]["member_id"] == leader and not view["endpoint"]["is_leader"]:
                problems.append("%s is named leader by the others but does not report itself leader" % view["label"])
    return problems


def _member_name(observation, member_id_hex):
    for member in observation.get("members") or []:
        if member["id_hex"] == member_id_hex and member["name"]:
            return member["name"]
    return member_id_hex


def _leader_record(observation, views):
    """The leader's own endpoint record, when the members agree on a leader and it answered its status."""
    leader_id, _name = leader_of(observation)
    for view in views:
        record = view["endpoint"]
        if leader_id and record and record["member_id"] == leader_id and record["is_leader"]:
            return record
    return None


def _applied(record):
    return record["raft_applied_index"] or record["raft_index"]


def applied_lag(record, leader_record):
    """Raft entries a member has still to apply: the leader's raft index less the member's applied
    index (never below 0: the two are read a moment apart). None without either status."""
    if leader_record is None or record is None or record["raft_term"] is None:
        return None
    return max(0, leader_record["raft_index"] - _applied(record))


def _gap_problems(observation, views, max_gap):
    leader_record = _leader_record(observation, views)
    if leader_record is None:
        return ["raft index gap not checked: the leader's status was not observed"]
    problems = []
    for view in views:
        record = view["endpoint"]
        if view["is_learner"] or record is None or record["raft_term"] is None:
            continue
        gap = applied_lag(record, leader_record)
        if gap > max_gap:
            problems.append("%s: behind the leader by %d raft entries (applied %d, leader index %d, max %d)"
                            % (_where(view), gap, _applied(record), leader_record["raft_index"], max_gap))
    return problems


def cluster_summary(observation):
    members = observation.get("members") or []
    leader_id, leader_name = leader_of(observation)
    cluster_ids = [r["cluster_id"] for r in observation["endpoints"] if r["cluster_id"]]
    names = {m["id_hex"]: m["name"] or None for m in members}
    return dict(
        id=cluster_ids[0] if cluster_ids else None,
        version=observation.get("cluster_version"),
        leader=leader_name,
        leader_id=leader_id,
        members_total=len(members),
        voting=sum(1 for m in members if not m["is_learner"]),
        learners=sum(1 for m in members if m["is_learner"]),
        alarms=[dict(member_id=a["member_id_hex"], member=names.get(a["member_id_hex"]), alarm=a["alarm"])
                for a in observation.get("alarms") or [] if a["alarm"] and a["alarm"] != "NONE"],
    )


def public_members(observation):
    """The member list as returned to the play, each member as every module returns one."""
    return [public_member(m) for m in observation.get("members") or []]


# -- presentation ---------------------------------------------------------------------------

# No cell holds a single space (words are joined with '-', a size is written "20KiB"), and cells
# are two spaces apart: YAML emitters (the yaml result format of Ansible's callbacks) fold a long
# line only at a single space, so a table row always stays on one line.
TABLE_COLUMNS = ("NAME", "CLIENT-URL", "VERSION", "LEADER", "LEARNER", "TERM", "INDEX", "DB-SIZE", "IN-USE", "QUOTA",
                 "ALARMS", "LAG", "CERT-DAYS", "HEALTH")


def _health(view):
    """(the HEALTH cell, why): one word, and the reason behind it (empty when there is none)."""
    member, record = view["member"], view["endpoint"]
    if member is not None and not member["started"]:
        return "not-started", "added but has never joined the cluster"
    if record is None:
        return "not-checked", ""
    if not record["reachable"]:
        return "unreachable", record["error"] or ""
    if record["health_reason"]:
        return "unhealthy", record["health_reason"]
    if record["status_error"]:
        return "status-failed", record["status_error"]
    if not record["healthy"]:
        return "no-leader", "knows no leader"
    return "healthy", ""


def quota_percent(db_size, quota_bytes):
    """A member's database file against its quota (``quota_bytes`` 0: etcd's 2 GiB), in percent."""
    return db_size * 100.0 / effective_quota(quota_bytes)


def member_status(observation, quota_bytes=0):
    """One entry per member (and per endpoint that maps to no member), in the table's order: what
    each column of ``format_table`` shows, as values (None where unknown), plus ``reason`` (why the
    ``health`` word) and ``cluster_id``. Pure: no I/O."""
    entries = []
    for view in _views(observation):
        member, record = view["member"], view["endpoint"]
        if member is not None:
            name = member["name"] or "(%s)" % member["id_hex"]
            url = record["endpoint"] if record else (member["client_urls"] or [None])[0]
            member_id = member["id_hex"]
        else:
            name = "?" if not record["member_id"] else "(%s)" % record["member_id"]
            url = record["endpoint"]
            member_id = record["member_id"]
        status = record if record is not None and record["raft_term"] is not None else {}
        health, reason = _health(view)
        entries.append(dict(
            name=name,
            member_id=member_id,
            endpoint=url,
            started=member["started"] if member is not None else None,
            is_learner=view["is_learner"],
            is_leader=status.get("is_leader"),
            version=status.get("version"),
            cluster_id=status.get("cluster_id"),
            raft_term=status.get("raft_term"),
            raft_index=status.get("raft_index"),
            applied_lag=status.get("applied_lag"),
            db_size=status.get("db_size"),
            db_size_in_use=status.get("db_size_in_use"),
            quota_percent=round(quota_percent(status["db_size"], quota_bytes), 1) if status else None,
            alarms=raised_on(observation.get("alarms"), member_id),
            cert_expires=(record or {}).get("cert_expires"),
            cert_days_left=(record or {}).get("cert_days_left"),
            health=health,
            reason=reason,
        ))
    entries.sort(key=lambda entry: (entry["name"].startswith(("(", "?")), entry["name"], entry["endpoint"] or ""))
    return entries


def _yes_no(value):
    return "yes" if value else "no"


def _dash(value, show=str):
    return "-" if value is None else show(value)


def short_size(size):
    """A size as the table shows it, without a space: ``20KiB``, ``1.5GiB``."""
    return human_size(size).replace(" ", "")


def table_rows(observation, quota_bytes=0):
    """One row of cells per member (``member_status``); QUOTA is the file's size against ``quota_bytes``."""
    return [(
        entry["name"],
        entry["endpoint"] or "-",
        _dash(entry["version"]),
        _dash(entry["is_leader"], _yes_no),
        _yes_no(entry["is_learner"]),
        _dash(entry["raft_term"]),
        _dash(entry["raft_index"]),
        _dash(entry["db_size"], short_size),
        _dash(entry["db_size_in_use"], short_size),
        _dash(entry["quota_percent"], lambda percent: "%d%%" % round(percent)),
        ",".join(entry["alarms"]) or "-",
        _dash(entry["applied_lag"]),
        _dash(entry["cert_days_left"]),
        entry["health"],
    ) for entry in member_status(observation, quota_bytes)]


def format_table(observation, quota_bytes=0):
    """Aligned text lines, header first, one row per member."""
    rows = [TABLE_COLUMNS, *table_rows(observation, quota_bytes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def health_result(observation, max_raft_index_gap=None, expect_members=None, allow_learners=True, quota_bytes=0):
    """(healthy, result) for one observation, as etcd_health returns it; ``result["answered"]`` says
    whether any endpoint answered."""
    healthy, problems = assess(observation, max_raft_index_gap=max_raft_index_gap, expect_members=expect_members,
                               allow_learners=allow_learners)
    return healthy, dict(
        changed=False,
        healthy=healthy,
        problems=problems,
        table=format_table(observation, quota_bytes),
        member_status=member_status(observation, quota_bytes),
        cluster=cluster_summary(observation),
        members=public_members(observation),
        endpoints=observation["endpoints"],
        answered=any(record["reachable"] for record in observation["endpoints"]),
    )


def unanswered_message(result):
    """What etcd_health says when no endpoint of ``result`` answered."""
    return "no etcd endpoint answered: %s" % "; ".join(
        "%s: %s" % (r["endpoint"], r["error"]) for r in result["endpoints"])


def read_cluster_health(clients, make_client, discover=True, **health_options):
    """Observe the cluster once and assess it: (healthy, result, no_answer).

    ``result`` is health_result's (``health_options`` are its options) without ``answered``;
    ``no_answer`` is None when an endpoint answered, else unanswered_message's wording. What a
    silent cluster means is the caller's: etcd_health fails, etcd_host_info marks its answer
    failed, etcd_lock takes no lock.
    """
    healthy, result = health_result(observe(clients, discover=discover, make_client=make_client), **health_options)
    no_answer = None if result.pop("answered") else unanswered_message(result)
    return healthy, result, no_answer


# -- waiting --------------------------------------------------------------------------------


# A health round answers in milliseconds: a short poll ends a wait (a start, a restart) about as soon
# as etcd is ready, not up to a second later.
WAIT_INTERVAL = 0.2


def wait_until(check, wait_timeout, interval=WAIT_INTERVAL, clock=time.monotonic, sleep=time.sleep):
    """Call ``check()`` until it returns a truthy first item or ``wait_timeout`` seconds pass.

    ``check`` returns ``(healthy, payload)``. Returns ``(healthy, payload, rounds, elapsed)`` of
    the last round. A round always runs at least once.
    """
    start = clock()
    deadline = start + wait_timeout
    rounds = 0
    while True:
        round_start = clock()
        healthy, payload = check()
        rounds += 1
        now = clock()
        if healthy or now >= deadline:
            return healthy, payload, rounds, now - start
        sleep(max(0.0, min(interval - (now - round_start), deadline - now)))
