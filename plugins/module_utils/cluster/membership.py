# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Pure decisions about etcd membership: matching, quorum math, learner limits, leader choice.

Nothing here talks to etcd. Members are the dicts of ``etcd_client.normalize_member`` (``id`` as an
int, ``name`` empty until the member has started, ``is_learner``); statuses are the dicts of
``etcd_client.normalize_status``; ``health`` maps a member ID to True when that member is healthy
(``etcd_probe``: its status answers as itself with a leader, and its ``/health`` is true).

Matching is always exact. A selector never matches a prefix or a substring of a name, an ID or a
URL: ``10.0.0.1`` must not pick ``10.0.0.11`` (a tool that grepped address prefixes removed the
wrong member that way).
"""

from collections import namedtuple

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import member_id_readings
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import id_hex, initial_cluster as initial_cluster_value
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import normalize_url


class MembershipError(Exception):
    """A membership request that cannot be decided safely (ambiguous or malformed)."""


class Verdict(namedtuple("Verdict", "ok reason warnings")):
    """Outcome of a safety check: ``ok``, the ``reason`` when refused, and ``warnings``."""

    __slots__ = ()

    def __bool__(self):
        return bool(self.ok)


def allow(warnings=None):
    return Verdict(True, "", list(warnings or []))


def refuse(reason):
    return Verdict(False, reason, [])


# -- quorum math -----------------------------------------------------------------------------


def quorum(n):
    """Votes needed to commit anything in a cluster of ``n`` voting members."""
    return n // 2 + 1


def failures_tolerated(n):
    """Voting members that may fail while the cluster keeps quorum."""
    return max(n - quorum(n), 0) if n else 0


def quorum_summary(voter_count):
    return dict(voters=voter_count, quorum=quorum(voter_count) if voter_count else 0,
                failures_tolerated=failures_tolerated(voter_count))


# -- describing members ----------------------------------------------------------------------


def voters(members):
    return [m for m in members if not m["is_learner"]]


def learners(members):
    return [m for m in members if m["is_learner"]]


def id_text(member_id):
    """The member ID in messages: hex, or ``?`` for a member not added yet (check mode)."""
    return id_hex(member_id) if member_id is not None else "?"


def describe(member):
    """``name (id)``; a member that has not started has no name, so show its peer URLs."""
    name = member.get("name")
    if not name:
        name = "unstarted member %s" % ",".join(member.get("peer_urls") or [])
    return "%s (%s)" % (name.strip(), id_text(member.get("id")))


def member_line(member):
    """One line of a diff: ``name (id) learner|voter peer_urls``."""
    return "%s (%s) %s %s" % (
        member.get("name") or "<unstarted>",
        id_text(member.get("id")),
        "learner" if member["is_learner"] else "voter",
        ",".join(member.get("peer_urls") or []),
    )


def diff_text(members):
    lines = sorted(member_line(m) for m in members)
    return "".join(line + "\n" for line in lines)


def member_names(members):
    """Every member as an operator would name it, for 'members are: ...' messages."""
    return ", ".join(
        m["name"] if m.get("name") else "%s (unstarted, %s)" % (id_text(m["id"]), ",".join(m.get("peer_urls") or []))
        for m in members
    ) or "(none)"


# -- exact matching --------------------------------------------------------------------------


def same_urls(first, second):
    return {normalize_url(u) for u in first} == {normalize_url(u) for u in second}


def _readings(text):
    try:
        return member_id_readings(text)
    except ValueError as exc:
        raise MembershipError(str(exc)) from None


def id_candidates(text):
    """Every integer a member ID written as ``text`` can mean (``etcd_client.member_id_readings``).

    A malformed ID raises MembershipError.
    """
    return set(_readings(text))


def resolve_member_id(members, text):
    """The member whose ID ``text`` names, or None; the one place a member ID is matched.

    ``text`` follows ``etcd_client.member_id_readings``: ``0x`` or any of ``a``-``f`` is hex, more
    than 16 digits is decimal, and an all-digit string of 16 digits or fewer is read both ways. The
    reading that names an existing member wins; when both readings name members the ID is refused as
    ambiguous, naming both, and when neither does the result is None.
    """
    readings = _readings(text)
    by_id = {m["id"]: m for m in members if m["id"] in readings}
    if len(by_id) > 1:
        as_hex, as_dec = readings
        raise MembershipError(
            "member ID %s is ambiguous: as hex it is %s and as decimal it is %s; select the member as 0x%s or "
            "0x%s, or by name or peer_url"
            % (str(text).strip(), describe(by_id[as_hex]), describe(by_id[as_dec]), id_hex(as_hex), id_hex(as_dec))
        )
    return next(iter(by_id.values()), None)


def find_members(members, name=None, member_id=None, peer_url=None):
    """All members matching the one selector given; exact matches only."""
    if name is not None:
        return [m for m in members if m.get("name") and m["name"] == name]
    if member_id is not None:
        found = resolve_member_id(members, member_id)
        return [found] if found is not None else []
    if peer_url is not None:
        url = normalize_url(peer_url)
        return [m for m in members if url in {normalize_url(u) for u in m.get("peer_urls") or []}]
    raise MembershipError("no selector given: use name, id or peer_url")


def selector_text(name=None, member_id=None, peer_url=None):
    if name is not None:
        return "named %s" % name
    if member_id is not None:
        return "with ID %s" % member_id
    return "with peer URL %s" % peer_url


def find_member(members, name=None, member_id=None, peer_url=None):
    """The one member matching the selector, or None; more than one match is an error."""
    found = find_members(members, name=name, member_id=member_id, peer_url=peer_url)
    if len(found) > 1:
        raise MembershipError(
            "more than one member %s: %s; select it by id instead"
            % (selector_text(name, member_id, peer_url), ", ".join(describe(m) for m in found))
        )
    return found[0] if found else None


def not_found_message(members, name=None, member_id=None, peer_url=None):
    return "no member %s; members are: %s" % (selector_text(name, member_id, peer_url), member_names(members))


# -- safety checks ---------------------------------------------------------------------------


def _healthy(member, health):
    return bool(member.get("name")) and bool(health.get(member["id"]))


def _unhealthy_text(members, health, reasons):
    reasons = reasons or {}
    parts = []
    for m in members:
        if not _healthy(m, health):
            why = reasons.get(m["id"]) or ("not started" if not m.get("name") else "unhealthy")
            parts.append("%s: %s" % (describe(m), why))
    return "; ".join(parts)


def _lost_quorum(members, health, reasons):
    """Why the cluster cannot commit any change now, or "" when it can."""
    voting = voters(members)
    healthy = [m for m in voting if _healthy(m, health)]
    if voting and len(healthy) < quorum(len(voting)):
        return (
            "the cluster has no quorum: only %d of %d voting members are healthy (quorum %d), so no membership "
            "change can be committed. Unhealthy: %s. Start or bring back those members, or recover from a snapshot."
            % (len(healthy), len(voting), quorum(len(voting)), _unhealthy_text(voting, health, reasons))
        )
    return ""


def one_to_two_warning(name):
    return (
        "%s makes a 1-member cluster a 2-member cluster: this gains no fault tolerance and quorum becomes 2, "
        "so losing either member stops the cluster. Add a third member next." % name
    )


def can_add(members, health, learner=True, name="the new member", reasons=None):
    """May a member be added now? Learner adds are judged on current quorum and the learner limit.

    * one learner at a time (etcd 3.4/3.5 allow one; 3.6 defaults to one);
    * no add while another added member has not started: it already counts toward quorum;
    * the change must be committable: healthy voters >= quorum of the current voters;
    * a voting add needs healthy voters >= quorum of the new size, except 1 -> 2 (which etcd
      allows too, with a warning here).
    """
    pending = learners(members)
    if learner and pending:
        return refuse(
            "learner %s has not been promoted yet; promote or remove it first (etcd allows one learner at a time)"
            % describe(pending[0])
        )
    for m in members:
        if not m.get("name"):
            return refuse(
                "%s was added but has not started, and it already counts toward quorum; start it "
                "(initial-cluster-state existing) or remove it before adding %s" % (describe(m), name)
            )
    lost = _lost_quorum(members, health, reasons)
    if lost:
        return refuse(lost)
    voting = voters(members)
    healthy = [m for m in voting if _healthy(m, health)]
    if learner:
        if len(voting) == 1:
            return allow([one_to_two_warning("promoting learner %s later" % name)])
        return allow()
    new_size = len(voting) + 1
    if len(voting) == 1 and len(healthy) == 1:
        return allow([one_to_two_warning("adding %s as a voting member" % name)])
    if len(healthy) < quorum(new_size):
        return refuse(
            "adding %s as a voting member makes %d voting members (quorum %d) with only %d healthy, so the "
            "cluster could not commit anything while it joins. Unhealthy: %s. Bring those members back, or remove a "
            "dead member first (to replace a member, remove it and then add the new one)."
            % (name, new_size, quorum(new_size), len(healthy), _unhealthy_text(voting, health, reasons) or "none")
        )
    return allow()


def can_promote(members, health, target, reasons=None):
    """May learner ``target`` become a voting member? (etcd also requires it to be in sync.)"""
    if not target["is_learner"]:
        return allow()
    lost = _lost_quorum(members, health, reasons)
    if lost:
        return refuse(lost)
    voting = voters(members)
    healthy = [m for m in voting if _healthy(m, health)]
    if _healthy(target, health):
        healthy.append(target)
    new_size = len(voting) + 1
    if len(voting) == 1:
        return allow([one_to_two_warning("promoting learner %s" % describe(target))])
    if len(healthy) < quorum(new_size):
        return refuse(
            "promoting %s makes %d voting members (quorum %d) with only %d healthy. Unhealthy: %s. "
            "Start the learner and bring members back first."
            % (describe(target), new_size, quorum(new_size), len(healthy),
               _unhealthy_text([*voting, target], health, reasons))
        )
    return allow()


def can_remove(members, health, target, reasons=None):
    """May ``target`` be removed without losing quorum?

    Learners can always be removed. The last voting member never. Otherwise the change must be
    committable now, and the voting members left must hold quorum of the new size with the
    healthy ones alone.
    """
    if target["is_learner"]:
        return allow()
    voting = voters(members)
    if len(voting) <= 1:
        return refuse(
            "%s is the last voting member; removing it would destroy the cluster. Stop the cluster instead, "
            "or add and promote another member first." % describe(target)
        )
    lost = _lost_quorum(members, health, reasons)
    if lost:
        return refuse(lost)
    after = [m for m in voting if m["id"] != target["id"]]
    healthy_after = [m for m in after if _healthy(m, health)]
    if len(healthy_after) < quorum(len(after)):
        return refuse(
            "removing %s would leave %d voting members (quorum %d) with only %d healthy, so the cluster "
            "would lose quorum. Unhealthy: %s. Bring those members back, or remove the unhealthy member first."
            % (describe(target), len(after), quorum(len(after)), len(healthy_after),
               _unhealthy_text(after, health, reasons))
        )
    warnings = []
    if len(voting) == 2:
        warnings.append(
            "removing %s shrinks a 2-member cluster: the change needs both members, and if either fails during "
            "it the cluster may need recovery from a snapshot" % describe(target)
        )
    if len(after) == 1:
        warnings.append("the cluster will have a single voting member and tolerate no failure")
    return allow(warnings)


# -- promoting ------------------------------------------------------------------------------


class CatchUp:
    """Is a learner that etcd will not promote yet still catching up? Judged on its raft applied index.

    etcd refuses a promotion until the learner has 90% of the leader's log, and a learner that
    receives a large snapshot or a long log takes minutes for that. A fixed timeout rolls such a
    learner back however well it is doing, so the wait is judged on progress instead: the learner
    is catching up while its applied index (``raftAppliedIndex`` of its own status) rises above the
    highest value seen. A reading that failed (``None``) is no progress, and so is an index that
    went back (a restart replays from its last snapshot) until it passes the highest seen again.

    ``stall_seconds`` is how long the index may stay put; ``max_seconds`` (0: no limit) is an
    absolute ceiling on the whole wait. Times are the caller's clock (seconds), from ``start``.
    """

    def __init__(self, start, stall_seconds, max_seconds=0, learner_index=None, leader_index=None):
        self.start = start
        self.last_progress = start
        self.stall_seconds = stall_seconds
        self.max_seconds = max_seconds or 0
        self.learner_index = learner_index
        self.highest = learner_index
        self.leader_index = leader_index
        self.error = ""

    def observe(self, now, learner_index=None, leader_index=None, error=""):
        """Record one reading; True when the learner's applied index moved past the highest seen."""
        if leader_index is not None:
            self.leader_index = leader_index
        if learner_index is None:
            self.error = error or "its status could not be read"
            return False
        self.error = ""
        self.learner_index = learner_index
        moved = self.highest is not None and learner_index > self.highest
        if self.highest is None or learner_index > self.highest:
            self.highest = learner_index
        if moved:
            self.last_progress = now
        return moved

    def stalled_for(self, now):
        """Seconds since the applied index last moved (since ``start`` when it never did)."""
        return max(now - self.last_progress, 0)

    def waited(self, now):
        return max(now - self.start, 0)

    def verdict(self, now):
        """``""`` to keep waiting, ``"stalled"`` when the index has not moved for ``stall_seconds``,
        ``"ceiling"`` when ``max_seconds`` have passed although it moves."""
        if self.stalled_for(now) >= self.stall_seconds:
            return "stalled"
        if self.max_seconds and self.waited(now) >= self.max_seconds:
            return "ceiling"
        return ""

    @staticmethod
    def index_text(index):
        return "unknown" if index is None else "%d" % index


# -- joining ---------------------------------------------------------------------------------


def initial_cluster(members, name, peer_urls):
    """The ``--initial-cluster`` a joining member must start with: ``name=url,...``.

    Every current member with its peer URLs, plus the new member. The new member (found by its
    peer URLs) has no name until it starts, so ``name`` is used for it; it is appended when it is
    not in ``members`` yet. Another member that never started cannot be named, so it is an error.
    """
    entries = []
    found = False
    for m in members:
        if same_urls(m.get("peer_urls") or [], peer_urls):
            member_name, found = name, True
        elif m.get("name"):
            member_name = m["name"]
        else:
            raise MembershipError(
                "%s has not started and has no name, so no initial cluster can be built for %s; start or remove it"
                % (describe(m), name)
            )
        entries.extend((member_name, normalize_url(u)) for u in m.get("peer_urls") or [])
    if not found:
        entries.extend((name, normalize_url(u)) for u in peer_urls)
    return initial_cluster_value(entries)


# -- reporting -------------------------------------------------------------------------------


def member_by_id(members, member_id):
    for m in members:
        if m["id"] == member_id:
            return m
    return None


def public_member(member, probe=None):
    """A member as every module returns it: the ID in hex as etcdctl prints it (empty for a member
    not added yet, in check mode), and with ``probe`` (an ``etcd_probe.probe_member`` result) its
    health."""
    if member is None:
        return None
    out = dict(
        id=id_hex(member["id"]) if member.get("id") is not None else "",
        name=member.get("name", ""),
        peer_urls=list(member.get("peer_urls") or []),
        client_urls=list(member.get("client_urls") or []),
        is_learner=bool(member.get("is_learner")),
        started=bool(member.get("name")),
    )
    if probe is not None:
        out.update(reachable=probe["reachable"], healthy=probe["healthy"], probe_error=probe["problem"])
    return out


def health_of(probes):
    """(health, reasons) for the ``can_*`` checks from ``{member id: probe}``."""
    return ({mid: p["healthy"] for mid, p in probes.items()},
            {mid: p["problem"] for mid, p in probes.items() if p["problem"]})


def statuses_of(probes):
    """The statuses of the healthy members, for ``etcd_leadership.successor``."""
    return {mid: p["status"] for mid, p in probes.items() if p["healthy"]}


def leader_from_probes(probes):
    """The leader's ID: the healthy member that says it leads, else the leader most healthy members
    name; None when no healthy member knows one."""
    for mid, p in probes.items():
        if p["healthy"] and p["status"]["is_leader"]:
            return mid
    votes = [p["status"]["leader_id"] for p in probes.values() if p["healthy"]]
    if votes:
        return max(set(votes), key=votes.count)
    return None


def membership_report(members, leader=None, probes=None):
    """``members``, ``leader`` and ``quorum`` as etcd_member and etcd_member_info return them.

    With ``probes`` ({member id: probe}) every member also gets ``reachable``, ``healthy`` and
    ``probe_error``.
    """
    return dict(
        members=[public_member(m, probes.get(m["id"]) if probes is not None else None) for m in members],
        leader=public_member(leader),
        quorum=quorum_summary(len(voters(members))),
    )
