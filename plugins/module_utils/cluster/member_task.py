# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What raftops.etcd.etcd_member does: a membership change (add as a learner, promote, remove, move
leadership) carried out against the cluster and checked, with the advice for etcd's errors. The
module (plugins/modules/etcd_member.py) checks its arguments and runs one MemberTask."""

import time
from urllib.parse import urlsplit

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    EtcdError,
    EtcdUnreachable,
    client_factory,
    clients_from_params,
    cluster_leader_id,
    during_election,
    first_answer,
    member_list_from,
)
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import (
    id_hex,
    normalize_url,
)
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import membership as em
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import run_lock_refusal
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.leadership import successor
from ansible_collections.raftops.etcd.plugins.module_utils.client.probe import probe_member, probe_members

SELECTORS = ("name", "id", "peer_url")
SETTLE_SECONDS = 15
IN_SYNC_ERROR = "can only promote a learner member which is in sync with leader"
NOT_LEARNER_ERROR = "can only promote a learner member"

# What an operator can do about the errors etcd gives for membership changes.
ADVICE = (
    ("too many learner members", "Promote or remove the pending learner first"),
    ("not enough started members",
     "A voting member that was added has not started; start it or remove it, or add the new one as a learner"),
    ("unhealthy cluster",
     "The member that handled the request has not been connected to every voting member for 5 s (etcd 3.4/3.5 "
     "require that for an add, and a connected quorum for a removal); bring the dead member back, or remove it "
     "first and then add its replacement"),
    ("peer urls already exists", "Another member already has this peer URL; list the members and remove it first"),
    ("member not found", "The member is gone already; list the members"),
    ("not leader", "Leadership moved meanwhile; run the task again"),
    ("permission denied", "Membership changes need etcd's root role"),
    ("user name is empty", "Authentication is enabled; membership changes need etcd's root role"),
)


def _advice(exc):
    for fragment, advice in ADVICE:
        if exc.matches(fragment):
            return advice
    return ""


def _sleep(seconds):
    time.sleep(seconds)


def _now():
    return time.monotonic()


def _utc_stamp():
    """Now, as journalctl's --since reads it."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


class Failure(Exception):
    """A refusal or failure with the message the operator sees."""


class MemberTask:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.clients = clients_from_params(module.params)
        self.make_client = client_factory(module.params)
        self.make_probe_client = client_factory(module.params, module.params["probe_timeout"])
        self.endpoints = ", ".join(c.endpoint for c in self.clients)
        self.source = None
        self.result = dict(changed=False)
        self.notes = []
        # The changes this call went on to send once the run lock was found its own (check_run_lock).
        self.sent = set()

    # -- talking to etcd -------------------------------------------------------------------

    def list_members(self):
        try:
            self.source, members = member_list_from(self.clients)
        except EtcdError as exc:
            raise Failure(str(exc)) from None
        return members

    def probe_one(self, member):
        return probe_member(member, self.make_probe_client)

    def probe(self, members):
        """{member id: probe} for every member, probed in parallel with a short timeout."""
        return probe_members(members, self.make_probe_client)

    health_of = staticmethod(em.health_of)
    statuses_of = staticmethod(em.statuses_of)

    def leader_id(self, probes=None):
        if probes:
            return em.leader_from_probes(probes)
        return cluster_leader_id(self.clients)

    def mutate(self, what, action, done):
        """Send a membership change to the first endpoint that accepts a connection.

        The change is not idempotent, so it moves to the next endpoint only when the request never
        reached the previous one (``first_answer(..., idempotent=False)``). A request that was sent
        and then timed out may still have been applied: the members are listed again and ``done()``
        decides before failing. Returns None when the change is found applied that way.

        etcd answers ``unhealthy cluster`` until its peers have been connected for 5 seconds
        (right after a start or restart), so that answer is retried for SETTLE_SECONDS; the
        module's own probes already found quorum healthy before anything was sent.
        """
        deadline = _now() + SETTLE_SECONDS
        self.check_run_lock(what)
        while True:
            try:
                return first_answer(self.clients, action, idempotent=False)
            except EtcdUnreachable as exc:
                if exc.sent:
                    try:
                        applied = done(self.list_members())
                    except Failure as again:
                        raise Failure("could not %s: %s; whether it was applied is unknown: %s" % (
                            what, exc, again)) from None
                    if applied:
                        return None
                raise Failure("could not %s: %s" % (what, exc)) from None
            except EtcdError as exc:
                advice = _advice(exc)
                if exc.matches("unhealthy cluster") and _now() < deadline:
                    _sleep(1)
                    continue
                raise Failure("could not %s via %s: %s%s" % (
                    what, exc.endpoint, exc.message, ". " + advice if advice else "")) from None

    def check_run_lock(self, what):
        """Fail, naming why, when the run lock this run took (option run_lock) is no longer its own:
        changed only when another change of this call (leadership moved before a removal) was sent."""
        refusal = run_lock_refusal(self.clients, self.params.get("run_lock"), what, sleep=_sleep)
        if refusal:
            self.result["changed"] = bool(self.sent - {what})
            raise Failure(refusal)
        self.sent.add(what)

    def transfer(self, members, leader, target):
        """Move leadership from ``leader`` to ``target``, on the leader's own client URL, and wait."""
        what = "move leadership from %s to %s" % (em.describe(leader), em.describe(target))
        self.check_run_lock(what)
        urls = leader.get("client_urls") or []
        if not urls:
            raise Failure("cannot %s: the leader advertises no client URL" % what)
        clients = [self.make_client(u) for u in urls]
        try:
            # not repeated on another URL once sent: a second request would find the leader moved
            first_answer(clients, lambda c: c.move_leader(target["id"]), idempotent=False)
        except EtcdUnreachable as exc:
            if not exc.sent:
                raise Failure("could not %s: %s; the transfer must be sent to the leader itself" % (what, exc)) from None
            # it may have been applied: the wait below decides
        except EtcdError as exc:
            raise Failure(
                "could not %s via %s: %s. The transfer must be sent to the leader itself; check that its client "
                "URL is reachable from this host, or run the task again if leadership moved meanwhile."
                % (what, exc.endpoint or ", ".join(urls), exc.message)
            ) from None
        deadline = _now() + self.params["transfer_timeout"]
        last = ""
        while True:
            probe = self.probe_one(target)
            if probe["healthy"] and probe["status"]["leader_id"] == target["id"]:
                return
            last = probe["problem"] or "leader is %s" % probe["status"]["leader_id_hex"]
            if _now() >= deadline:
                raise Failure(
                    "leadership did not move to %s within %d s (last seen: %s); check the members' health and run "
                    "the task again, or raise transfer_timeout" % (em.describe(target), self.params["transfer_timeout"], last)
                )
            _sleep(0.5)

    # -- helpers ---------------------------------------------------------------------------

    def selector(self):
        return {"name": self.params["name"], "member_id": self.params["id"], "peer_url": self.params["peer_url"]}

    def select(self, members):
        try:
            return em.find_member(members, **self.selector())
        except em.MembershipError as exc:
            raise Failure("%s (cluster seen through %s)" % (exc, self.source)) from None

    def not_found(self, members):
        msg = "%s (cluster seen through %s)" % (em.not_found_message(members, **self.selector()), self.source)
        if self.params["name"] is not None and any(not m["name"] for m in members):
            msg += ". A member that has not started has no name yet; select it by id or peer_url"
        return msg

    def warn(self, text):
        self.module.warn(text)
        self.notes.append(text)

    def finish(self, members_after, msg, before=None, leader=None):
        result = self.result
        result.update(em.membership_report(members_after, leader))
        if self.module.check_mode and result["changed"]:
            msg = "would have " + msg if not msg.startswith("would") else msg
        result["msg"] = ". ".join([msg] + ["Warning: " + n.rstrip(".") for n in self.notes])
        if before is not None and self.module._diff:
            result["diff"] = dict(before=em.diff_text(before), after=em.diff_text(members_after))
        return result

    member_by_id = staticmethod(em.member_by_id)

    # -- states ----------------------------------------------------------------------------

    def run_present(self):
        name, peer_urls, learner = self.params["name"], self.params["peer_urls"], self.params["learner"]
        # Before anything changes: a failed join reads etcd's log from here (the role's join.yml).
        self.result["began_at"] = _utc_stamp()
        members = self.list_members()
        by_name = em.find_member(members, name=name)
        wanted = {normalize_url(u) for u in peer_urls}
        overlapping = [m for m in members if wanted & {normalize_url(u) for u in m["peer_urls"]}]

        if by_name is not None:
            others = [m for m in overlapping if m["id"] != by_name["id"]]
            if others:
                raise Failure(
                    "cannot give %s the peer URLs %s: %s already uses %s (seen through %s); remove that member first"
                    % (em.describe(by_name), ", ".join(peer_urls), em.describe(others[0]),
                       ", ".join(others[0]["peer_urls"]), self.source))
            if em.same_urls(by_name["peer_urls"], peer_urls):
                if by_name["is_learner"] and learner:
                    # a join that was interrupted after the learner started: restart it and promote it
                    return self.present_result(members, by_name, (
                        "learner %s with these peer URLs has started already; make sure it runs (with the returned "
                        "initial_cluster if it must start again) and promote it with state=promoted"
                        % em.describe(by_name)))
                return self.present_result(members, by_name, "%s exists already%s" % (
                    em.describe(by_name), self.role_note(by_name, learner)))
            return self.update_member_urls(members, by_name, peer_urls)

        if overlapping:
            other = overlapping[0]
            if len(overlapping) == 1 and em.same_urls(other["peer_urls"], peer_urls) and not other["name"]:
                return self.present_result(members, other, (
                    "%s with these peer URLs was added already and has not started yet; start %s with "
                    "initial-cluster-state existing and the returned initial_cluster%s"
                    % (em.describe(other), name, self.role_note(other, learner))))
            raise Failure(
                "cannot add %s with peer URLs %s: %s already has %s (seen through %s). Use name=%s to manage that "
                "member, or remove it first."
                % (name, ", ".join(peer_urls), em.describe(other), ", ".join(other["peer_urls"]), self.source,
                   other["name"] or "(it has not started; select it by id)"))
        return self.add(members, name, peer_urls, learner)

    @staticmethod
    def role_note(member, learner):
        if member["is_learner"] and not learner:
            return " (it is a learner; promote it with state=promoted)"
        if not member["is_learner"] and learner:
            return " (it is a voting member already)"
        return ""

    def present_result(self, members, member, msg):
        self.result["member"] = em.public_member(member)
        try:
            self.result["initial_cluster"] = em.initial_cluster(members, self.params["name"], member["peer_urls"])
        except em.MembershipError as exc:
            if not member["name"]:
                raise Failure("%s (seen through %s)" % (exc, self.source)) from None
            # a started member needs no initial cluster; do not fail a converged run over it
            self.result["initial_cluster"] = ""
            self.warn(str(exc))
        return self.finish(members, msg, before=members, leader=self.member_by_id(members, self.leader_id()))

    def judge(self, members, action, subject, decide):
        """Probe the members, ask ``decide(health, reasons)`` for a verdict; refuse or pass on its warnings.

        Returns the probes and the reasons members are unhealthy, for callers that need them too.
        """
        probes = self.probe(members)
        health, reasons = self.health_of(probes)
        verdict = decide(health, reasons)
        if not verdict:
            raise Failure("refusing to %s %s: %s (cluster seen through %s)" % (
                action, subject, verdict.reason, self.source))
        for text in verdict.warnings:
            self.warn(text)
        return probes, reasons

    def add(self, members, name, peer_urls, learner):
        probes, _reasons = self.judge(members, "add", "%s (%s)" % (name, ", ".join(peer_urls)),
                                      lambda health, reasons: em.can_add(members, health, learner=learner, name=name, reasons=reasons))
        kind = "a learner" if learner else "a voting member"
        self.result["changed"] = True
        if self.module.check_mode:
            new = dict(id=None, name="", peer_urls=list(peer_urls), client_urls=[],
                       is_learner=learner, started=False)
            after = [*members, new]
        else:
            reply = self.mutate(
                "add %s (%s) as %s" % (name, ", ".join(peer_urls), kind),
                lambda c: c.member_add(peer_urls, is_learner=learner),
                lambda now: any(em.same_urls(m["peer_urls"], peer_urls) for m in now),
            )
            if reply is None:
                after = self.list_members()
                new = next(m for m in after if em.same_urls(m["peer_urls"], peer_urls))
            else:
                new, after = reply
                if not after:
                    after = [*members, new]
        self.result["member"] = em.public_member(new)
        self.result["initial_cluster"] = em.initial_cluster(after, name, peer_urls)
        msg = "added %s (%s) as %s; start it with initial-cluster-state existing and the returned initial_cluster" % (
            name, id_hex(new["id"]) if new["id"] is not None else "new ID", kind)
        if learner:
            msg += ", then promote it with state=promoted"
        return self.finish(after, msg, before=members, leader=self.member_by_id(after, self.leader_id(probes)))

    def update_member_urls(self, members, member, peer_urls):
        """Re-point the member named ``name`` to new peer URLs, only when asked to (``update_peer_urls``)."""
        if member["is_learner"]:
            raise Failure(
                "refusing to change the peer URLs of learner %s from %s to %s: etcd before 3.5.31/3.6.12 promotes a "
                "learner on member update. Remove it and add it again with the new peer URLs (seen through %s)"
                % (em.describe(member), ", ".join(member["peer_urls"]), ", ".join(peer_urls), self.source))
        if not self.params["update_peer_urls"]:
            raise Failure(
                "member %s exists with peer URLs %s, not the requested %s (seen through %s); refusing to re-point it "
                "(update_peer_urls=false): if that member moved to a new address, run with update_peer_urls=true "
                "(the role's re-IP does this); if this is another host that should take the name, it belongs to a "
                "live member: use the replace_member playbook"
                % (em.describe(member), ", ".join(member["peer_urls"]), ", ".join(peer_urls), self.source))
        self.result["changed"] = True
        if not self.module.check_mode:
            self.mutate(
                "update the peer URLs of %s to %s" % (em.describe(member), ", ".join(peer_urls)),
                lambda c: c.member_update(member["id"], peer_urls),
                lambda now: any(m["id"] == member["id"] and em.same_urls(m["peer_urls"], peer_urls) for m in now),
            )
        updated = dict(member, peer_urls=list(peer_urls))
        after = [updated if m["id"] == member["id"] else m for m in members]
        self.result["member"] = em.public_member(updated)
        self.result["initial_cluster"] = em.initial_cluster(after, self.params["name"], peer_urls)
        msg = ("updated the peer URLs of %s from %s to %s; restart it with initial-advertise-peer-urls and "
               "listen-peer-urls matching" % (em.describe(member), ", ".join(member["peer_urls"]), ", ".join(peer_urls)))
        return self.finish(after, msg, before=members, leader=self.member_by_id(after, self.leader_id()))

    def run_promoted(self):
        members = self.list_members()
        target = self.select(members)
        if target is None:
            raise Failure(self.not_found(members))
        self.result["member"] = em.public_member(target)
        self.result["attempts"] = 0
        if not target["is_learner"]:
            return self.finish(members, "%s is a voting member already" % em.describe(target), before=members,
                               leader=self.member_by_id(members, self.leader_id()))
        probes, _reasons = self.judge(members, "promote", em.describe(target),
                                      lambda health, reasons: em.can_promote(members, health, target, reasons=reasons))
        # the probes before the change are the first reading of how far the learner is
        progress = em.CatchUp(_now(), self.params["promote_timeout"], self.params["promote_max_time"])
        learner_probe = probes.get(target["id"]) or {}
        leader_probe = probes.get(em.leader_from_probes(probes)) or {}
        self.observe(progress, learner_probe, leader_probe)
        self.result["changed"] = True
        promoted = dict(target, is_learner=False)
        after = [promoted if m["id"] == target["id"] else m for m in members]
        if not self.module.check_mode:
            self.promote(members, target, progress)
            after = self.list_members()
            promoted = self.member_by_id(after, target["id"]) or promoted
        self.result["member"] = em.public_member(promoted)
        msg = "promoted %s to a voting member" % em.describe(promoted)
        if self.result["attempts"] > 1:
            msg += " after %d attempts (it was catching up with the leader)" % self.result["attempts"]
        return self.finish(after, msg, before=members, leader=self.member_by_id(after, self.leader_id(probes)))

    def observe(self, progress, learner_probe, leader_probe):
        """Record a reading of the learner's and the leader's raft applied index (from ``etcd_probe.probe_member``
        results; a failed probe reads as no progress) and show the last seen values in the result."""
        learner_status = learner_probe.get("status")
        leader_status = leader_probe.get("status")
        progress.observe(
            _now(),
            learner_index=learner_status["raft_applied_index"] if learner_status else None,
            leader_index=leader_status["raft_applied_index"] if leader_status else None,
            error=learner_probe.get("problem") or "",
        )
        self.result["learner_applied_index"] = progress.learner_index
        self.result["leader_applied_index"] = progress.leader_index

    def watch_learner(self, members, learner, progress):
        """Read the learner's status on its own client URLs, and the leader's; returns the learner as
        last listed (a learner that had not started is listed again, it may have started since)."""
        if not learner.get("name") or not learner.get("client_urls"):
            try:
                learner = self.member_by_id(self.list_members(), learner["id"]) or learner
            except Failure:
                pass
        learner_probe = self.probe_one(learner)
        status = learner_probe["status"]
        leader_id = status["leader_id"] if status and status["leader_id"] else self.leader_id()
        leader = self.member_by_id(members, leader_id) if leader_id else None
        leader_probe = self.probe_one(leader) if leader is not None and leader["id"] != learner["id"] else {}
        self.observe(progress, learner_probe, leader_probe)
        return learner

    def leader_clients(self, members):
        """Clients for the leader's own client URLs ([] when no leader is known). With auth on, a
        follower forwards a promotion to the leader without its user, which the leader refuses until
        the request times out (etcd #20757); sent to the leader, it is applied there."""
        leader = self.member_by_id(members, self.leader_id())
        return [self.make_client(url) for url in (leader or {}).get("client_urls") or []]

    def promote(self, members, target, progress):
        """Send the promotion until etcd accepts it, while the learner keeps catching up.

        etcd refuses a learner that has less than 90% of the leader's log. That refusal (and a
        leader election meanwhile) is retried once a second for as long as the learner's raft
        applied index keeps moving (``em.CatchUp``): it fails once the index has not moved for
        promote_timeout seconds, or after promote_max_time seconds in all when that is set.
        """
        what = "promote %s" % em.describe(target)
        learner = target
        while True:
            self.result["attempts"] += 1
            self.check_run_lock(what)
            try:
                # Idempotent in effect: a repeat of an applied promotion gets NOT_LEARNER_ERROR below.
                first_answer(self.leader_clients(members) + self.clients, lambda c: c.member_promote(target["id"]))
                return
            except EtcdUnreachable as exc:
                raise Failure("could not %s: %s" % (what, exc)) from None
            except EtcdError as exc:
                if exc.matches(IN_SYNC_ERROR) or during_election(exc):
                    learner = self.watch_learner(members, learner, progress)
                    verdict = progress.verdict(_now())
                    if not verdict:
                        _sleep(1)
                        continue
                    raise Failure(self.catch_up_failure(learner, progress, verdict, exc)) from None
                if exc.matches(NOT_LEARNER_ERROR):
                    # promoted meanwhile (or a request that timed out was applied after all)
                    return
                advice = _advice(exc)
                raise Failure("could not %s via %s: %s%s" % (
                    what, exc.endpoint, exc.message, ". " + advice if advice else "")) from None

    def catch_up_failure(self, learner, progress, verdict, exc):
        now = _now()
        learner_at = em.CatchUp.index_text(progress.learner_index)
        leader_at = em.CatchUp.index_text(progress.leader_index)
        answers = "%d attempts; last answer from %s: %s" % (self.result["attempts"], exc.endpoint, exc.message)
        if verdict == "ceiling":
            return (
                "learner %s did not catch up with the leader within promote_max_time=%d s although its raft applied "
                "index kept moving (last seen %s, leader at %s; %s). It is catching up slowly: check its disk and "
                "network, then run the task again, or raise promote_max_time (0 = no limit)"
                % (em.describe(learner), self.params["promote_max_time"], learner_at, leader_at, answers))
        if not learner.get("name"):
            check = ("It has not started yet: start it with initial-cluster-state existing and the initial_cluster "
                     "from state=present")
        elif progress.error:
            check = ("Its status could not be read (%s): check that etcd runs on it and that its client URL is "
                     "reachable from here" % progress.error)
        else:
            check = ("Check that it runs and reaches the leader on its peer URL (its log: journalctl -u etcd), and its "
                     "disk and network")
        return (
            "learner %s stalled at applied index %s (leader at %s) for %d s: etcd refused to promote it as not in "
            "sync with the leader, and its raft applied index did not move for promote_timeout=%d s (%s). %s; or "
            "raise promote_timeout (how long the learner may make no progress)"
            % (em.describe(learner), learner_at, leader_at, int(progress.stalled_for(now)),
               self.params["promote_timeout"], answers, check))

    def run_absent(self):
        members = self.list_members()
        target = self.select(members)
        if target is None:
            if self.params["missing_ok"]:
                self.result["member"] = None
                self.result["leader_moved_to"] = None
                return self.finish(members, "no member %s; nothing to remove" % em.selector_text(**self.selector()),
                                   before=members, leader=self.member_by_id(members, self.leader_id()))
            hint = "" if self.params["id"] else " Set missing_ok=true if the member may be gone already."
            raise Failure(self.not_found(members) + "." + hint)
        self.result["member"] = em.public_member(target)
        self.result["leader_moved_to"] = None
        probes, reasons = self.judge(members, "remove", em.describe(target),
                                     lambda health, reasons: em.can_remove(members, health, target, reasons=reasons))
        leader_id = self.leader_id(probes)
        msg = "removed %s" % em.describe(target)
        new_leader = None
        if leader_id == target["id"]:
            status = successor(self.statuses_of(probes), leaving_id=target["id"], members=members)
            if status is None:
                raise Failure(
                    "refusing to remove %s: it is the leader and no healthy voting follower can take over (%s). Bring "
                    "a follower back first." % (em.describe(target), "; ".join(
                        "%s: %s" % (em.describe(m), reasons.get(m["id"]) or "learner")
                        for m in members if m["id"] != target["id"]) or "no other member"))
            new_leader = self.member_by_id(members, status["member_id"])
            self.result["leader_moved_to"] = em.public_member(new_leader)
            msg = "moved leadership from %s to %s, then removed %s" % (
                em.describe(target), em.describe(new_leader), em.describe(target))
        self.result["changed"] = True
        after = [m for m in members if m["id"] != target["id"]]
        if not self.module.check_mode:
            if new_leader is not None:
                self.transfer(members, target, new_leader)
            self.mutate(
                "remove %s" % em.describe(target),
                lambda c: c.member_remove(target["id"]),
                lambda now: all(m["id"] != target["id"] for m in now),
            )
        leader = new_leader or self.member_by_id(after, leader_id)
        msg += "; stop it and wipe its data directory before it is added again" if target["name"] else ""
        return self.finish(after, msg, before=members, leader=leader)

    def run_leader(self):
        members = self.list_members()
        if self.params["away_from"]:
            return self.move_leader_away(members, self.params["away_from"])
        target = self.select(members)
        if target is None:
            raise Failure(self.not_found(members))
        self.result["member"] = em.public_member(target)
        self.result["leader_moved_to"] = None
        if target["is_learner"]:
            raise Failure("%s is a learner and cannot lead; promote it first (seen through %s)" % (
                em.describe(target), self.source))
        probes = self.probe(members)
        leader_id = self.leader_id(probes)
        if leader_id == target["id"]:
            return self.finish(members, "%s is the leader already" % em.describe(target), leader=target)
        leader = self.member_by_id(members, leader_id)
        if leader is None:
            raise Failure("no member knows a leader, so leadership cannot be moved to %s; members: %s" % (
                em.describe(target), "; ".join("%s: %s" % (em.describe(m), probes[m["id"]]["problem"] or "healthy")
                                               for m in members)))
        probe = probes[target["id"]]
        if not probe["healthy"]:
            raise Failure("cannot make %s the leader: it is not healthy (%s); bring it back first" % (
                em.describe(target), probe["problem"]))
        return self.hand_over(members, leader, target)

    def hand_over(self, members, leader, target):
        """Move leadership from ``leader`` to ``target`` (not in check mode) and report it."""
        self.result["changed"] = True
        self.result["leader_moved_to"] = em.public_member(target)
        if not self.module.check_mode:
            self.transfer(members, leader, target)
        return self.finish(members, "moved leadership from %s to %s" % (em.describe(leader), em.describe(target)),
                           leader=target)

    def move_leader_away(self, members, name):
        """Leadership away from the member ``name`` to its successor when it leads; else no change."""
        leaving = em.find_member(members, name=name)
        if leaving is None:
            raise Failure("%s (cluster seen through %s)" % (em.not_found_message(members, name=name), self.source))
        self.result["member"] = em.public_member(leaving)
        self.result["leader_moved_to"] = None
        probes = self.probe(members)
        chosen = successor(self.statuses_of(probes), leaving_id=leaving["id"], members=members)
        new_leader = self.member_by_id(members, chosen["member_id"]) if chosen else None
        self.result["successor"] = em.public_member(new_leader) if new_leader else None
        leader = self.member_by_id(members, self.leader_id(probes))
        if leader is None or leader["id"] != leaving["id"]:
            return self.finish(members, "%s does not lead (the leader is %s); leadership stays" % (
                em.describe(leaving), em.describe(leader) if leader else "unknown"), leader=leader)
        if new_leader is None:
            return self.finish(members, "%s leads and no healthy voting follower can take over; leadership stays"
                               % em.describe(leaving), leader=leader)
        return self.hand_over(members, leaving, new_leader)


def url_problem(url):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return "is not a URL (%s)" % exc
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if port is None:
        return "has no port (etcd's peer port is usually 2380)"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "must not have a path, query or fragment"
    return ""
