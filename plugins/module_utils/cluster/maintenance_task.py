# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The etcd_maintenance module's work: plan, compact, defragment, alarms, disarm, hash check.

``run(params, ...)`` carries out one action with the module's parameters and returns the failure
message (or None) and the result; the module only parses its arguments and reports.
"""

import time

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    COMPACTED,
    FUTURE_REVISION,
    EtcdError,
    EtcdUnreachable,
    first_answer,
)
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.cluster_state import (
    assess,
    cluster_summary,
    leader_of,
    leaders_seen,
    member_label,
    member_records,
    observe,
    wait_until,
)
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.defrag_rule import (
    DEFAULT_RULE,
    RuleError,
    decide,
    parse,
    quantities,
)
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import human_size
from ansible_collections.raftops.etcd.plugins.module_utils.plan.operation_plan import maintenance_order

ACTIONS = ("plan", "compact", "defragment", "alarms", "disarm", "hash_check")
DISARMS = {"NOSPACE": ("NOSPACE",), "CORRUPT": ("CORRUPT",), "all": ("NOSPACE", "CORRUPT")}
HASH_ATTEMPTS = 3
# HashKV reads a member's whole keyspace: it is given the module's timeout, or the time its database
# takes at this rate when longer (a 1 GiB database outlasted a 5 s timeout on a loaded 2-core machine).
HASH_BYTES_PER_SECOND = 20 * 1024 * 1024
WRITE_CHECK_VALUE = "written by raftops.etcd.etcd_maintenance after disarming NOSPACE, and deleted at once"
SPACE_EXCEEDED = "database space exceeded"
# How long, and how often, a cluster whose members partly see no leader is looked at again (run_plan).
CATCH_UP_SECONDS = 30
CATCH_UP_PAUSE = 2
# How often a plan with a wait_timeout looks at a cluster that is not ready yet.
WAIT_PAUSE = 2


def hash_timeout(timeout, db_size):
    """The seconds a member's HashKV may take: ``timeout``, or longer for a large database (``db_size`` bytes)."""
    return max(timeout, (db_size or 0) / HASH_BYTES_PER_SECOND)


class Failure(Exception):
    """The task fails with this message; the result gathered so far goes with it."""


def _etcd_said(exc):
    """An etcd error as the messages quote it: what etcd said, and where."""
    return "'%s'%s" % (exc.message, " (%s)" % exc.endpoint if exc.endpoint else "")


def readiness_problems(observation, max_raft_index_gap=None):
    """Why the cluster may not be maintained now: unhealthy apart from NOSPACE alarms, or a learner in it."""
    _healthy, problems = assess(observation, max_raft_index_gap=max_raft_index_gap, tolerate_alarms=("NOSPACE",))
    for member in observation.get("members") or []:
        if member["is_learner"]:
            problems.append("a learner is catching up: %s; let its join finish (the main playbook promotes it) and "
                            "run again" % member_label(member))
    return problems


def catching_up(observation):
    """Whether some voting members see the leader and some reachable ones see none: a member cut off
    a moment ago (a healed partition, a restart) that finds the leader again within seconds."""
    leaders = leaders_seen(observation)
    return None in leaders and any(leader is not None for leader in leaders)


def raised(observation):
    """The alarms raised, as the module returns them (``etcd_cluster_state.cluster_summary``)."""
    return cluster_summary(observation)["alarms"]


def has_nospace(alarms):
    return any(alarm["alarm"] == "NOSPACE" for alarm in alarms)


def decision(rule, record, quota, nospace):
    """(defragment?, reason) for a member's endpoint record: NOSPACE, the rule, or no rule."""
    if nospace:
        return True, "a NOSPACE alarm is raised: every member is defragmented"
    if rule is None:
        return True, "no rule given: defragmented as asked"
    return decide(rule, record["db_size"], record["db_size_in_use"], quota)


class MaintenanceTask:
    """One run of the module; ``result`` holds what is known so far, also when it fails."""

    def __init__(self, params, clients, make_client, check_mode=False, clock=time.monotonic, sleep=time.sleep):
        self.params, self.clients, self.make_client = params, clients, make_client
        self.check_mode, self.clock, self.sleep = check_mode, clock, sleep
        self.result = dict(changed=False)
        self.rule = None

    def validate(self):
        """Refuse parameters that cannot work, before anything is sent."""
        p = self.params
        for name in ("keep", "quota_bytes", "max_raft_index_gap"):
            if p[name] < 0:
                raise Failure("%s must be 0 or more, got %d; nothing was sent" % (name, p[name]))
        if p["wait_timeout"] < 0:
            raise Failure("wait_timeout must be 0 or more, got %d; nothing was sent" % p["wait_timeout"])
        if p["defrag_timeout"] < 1:
            raise Failure("defrag_timeout must be 1 second or more, got %d; nothing was sent" % p["defrag_timeout"])
        if not p["write_check_key"]:
            raise Failure("write_check_key must name a key; nothing was sent")
        text = p["rule"]
        if text is None and p["action"] == "plan":
            text = DEFAULT_RULE
        if text is not None:
            try:
                self.rule = parse(text)
            except RuleError as exc:
                raise Failure("%s; nothing was sent" % exc) from None

    def observe(self):
        return observe(self.clients, discover=True, make_client=self.make_client)

    # -- plan ---------------------------------------------------------------------------------

    def run_plan(self):
        # With wait_timeout, a cluster not ready yet (a member just defragmented and catching up, a
        # member restarting) is looked at again until the time is up; the last refusal is the failure.
        ready, refusal, _rounds, _elapsed = wait_until(self.plan_refusal, self.params["wait_timeout"], WAIT_PAUSE,
                                                       clock=self.clock, sleep=self.sleep)
        if not ready:
            raise refusal

    def plan_refusal(self):
        """One look for wait_until: (True, None) once planned, else (False, the refusal)."""
        try:
            self.plan_once()
        except (Failure, EtcdError) as exc:
            return False, exc
        return True, None

    def plan_once(self):
        observation = self.observe()
        problems = readiness_problems(observation, self.params["max_raft_index_gap"])
        # A member that lost its peers a moment ago sees no leader for a while after the heal (TCP
        # back-off, an election it missed): looked at again for a bounded time before refusing.
        deadline = self.clock() + CATCH_UP_SECONDS
        while problems and catching_up(observation) and self.clock() < deadline:
            self.sleep(CATCH_UP_PAUSE)
            observation = self.observe()
            problems = readiness_problems(observation, self.params["max_raft_index_gap"])
        if problems:
            hint = ("; a member that sees no leader while the others do is cut off from its peers or still "
                    "finding the leader after a restart: heal its network, wait until it names the leader "
                    "(raftops.etcd.status) and run again") if catching_up(observation) else ""
            raise Failure("not ready for maintenance: %s%s" % ("; ".join(problems), hint))
        leader_id, _leader = leader_of(observation)
        alarms = raised(observation)
        nospace = has_nospace(alarms)
        members, order = maintenance_order(self.plan_entry(member, record, member["id_hex"] == leader_id, nospace)
                                           for member, record in member_records(observation))
        self.result.update(members=members, order=order, alarms=alarms, nospace=nospace, rule=self.rule.text,
                           revision=first_answer(self.clients, lambda c: c.current_revision()))
        self.result["msg"] = ("defragment, in this order: %s" % ", ".join(order)) if order else (
            "no member needs defragmenting")

    def plan_entry(self, member, record, is_leader, nospace):
        figures = quantities(record["db_size"], record["db_size_in_use"], self.params["quota_bytes"])
        defragment, reason = decision(self.rule, record, self.params["quota_bytes"], nospace)
        return dict(name=member["name"], member_id=member["id_hex"], endpoint=member["client_urls"][0],
                    is_leader=is_leader, db_size=figures["size"], db_size_in_use=figures["in_use"],
                    free=figures["free"], free_percent=round(figures["free_percent"], 1),
                    quota_percent=round(figures["quota_percent"], 1), raft_applied_index=record["raft_applied_index"],
                    defragment=defragment, reason=reason)

    # -- compact ------------------------------------------------------------------------------

    def run_compact(self):
        keep, physical = self.params["keep"], self.params["physical"]
        current = first_answer(self.clients, lambda c: c.current_revision())
        target = current - keep
        self.result.update(current_revision=current, compacted_to=None, physical=physical)
        # Revision 1 is the first there is: nothing lies before it.
        if target <= 1:
            self.result["msg"] = "nothing to compact: keep=%d covers the whole history (current revision %d)" % (
                keep, current)
            return
        # Compacting to the target is refused once the target itself was compacted to.
        if first_answer(self.clients, lambda c: c.is_compacted(target - 1)):
            self.result["msg"] = ("nothing to compact: the history is compacted up to revision %d or later already "
                                  "(current revision %d)" % (target, current))
            return
        self.result.update(changed=True, compacted_to=target)
        if self.check_mode:
            self.result["msg"] = "would compact the history up to revision %d (current revision %d)" % (target, current)
            return
        try:
            first_answer(self.clients, lambda c: c.compact(target, physical), idempotent=False)
        except EtcdUnreachable as exc:
            raise Failure("the compaction to revision %d got no answer: %s. It may have been applied (a physical "
                          "compaction of a large database takes long): run the task again, which reports "
                          "changed=false once it has been, or raise timeout" % (target, exc)) from None
        except EtcdError as exc:
            if not exc.matches(COMPACTED):
                raise Failure("etcd refused to compact to revision %d: %s" % (target, _etcd_said(exc))) from None
            self.result.update(changed=False, compacted_to=None)
            self.result["msg"] = ("nothing to compact: the history was compacted up to revision %d or later "
                                  "meanwhile" % target)
            return
        self.result["msg"] = "compacted the history up to revision %d (current revision %d)" % (target, current)

    # -- defragment ---------------------------------------------------------------------------

    def run_defragment(self):
        name = self.params["member"]
        observation = self.observe()
        found = [(m, r) for m, r in member_records(observation) if m["name"] == name]
        if not found and observation.get("members") is not None:
            raise Failure("no member is named %s; the members are %s; nothing was defragmented" % (
                name, ", ".join(member_label(m) for m in observation["members"])))
        problems = readiness_problems(observation)
        if problems:
            raise Failure("refusing to defragment %s: the cluster is not healthy apart from NOSPACE alarms: %s; "
                          "nothing was defragmented" % (name, "; ".join(problems)))
        member, record = found[0]
        is_leader = member["id_hex"] == leader_of(observation)[0]
        self.result.update(member=name, member_id=member["id_hex"], endpoint=record["endpoint"], is_leader=is_leader,
                           before=dict(db_size=record["db_size"], db_size_in_use=record["db_size_in_use"]),
                           after=None, reclaimed=None, seconds=None)
        if self.rule is not None:
            self.result["rule"] = self.rule.text
        if is_leader and not self.params["allow_leader"]:
            raise Failure("refusing to defragment %s: it is the leader, and a defragmenting leader stalls every write "
                          "and can cost a leader election; move leadership to another member first "
                          "(raftops.etcd.etcd_member state=leader), or set allow_leader=true; nothing was defragmented"
                          % name)
        defragment, reason = decision(self.rule, record, self.params["quota_bytes"], has_nospace(raised(observation)))
        self.result.update(defragment=defragment, reason=reason)
        if not defragment:
            self.result["msg"] = "%s: not defragmented: %s" % (name, reason)
            return
        self.result["changed"] = True
        if self.check_mode:
            self.result["msg"] = "%s: would be defragmented: %s" % (name, reason)
            return
        self.defragment(name, self.make_client(record["endpoint"]))

    def defragment(self, name, client):
        timeout = self.params["defrag_timeout"]
        start = self.clock()
        try:
            client.defragment(timeout=timeout)
        except EtcdUnreachable as exc:
            raise Failure("defragmenting %s got no answer within defrag_timeout=%d s: %s. etcd goes on defragmenting: "
                          "wait until the cluster is healthy (raftops.etcd.etcd_health wait=true) before the next "
                          "member, and raise defrag_timeout for a database this size" % (name, timeout, exc)) from None
        except EtcdError as exc:
            raise Failure("etcd refused to defragment %s: %s" % (name, _etcd_said(exc))) from None
        seconds = self.clock() - start
        status = client.status()
        before = self.result["before"]
        reclaimed = before["db_size"] - status["db_size"]
        self.result.update(after=dict(db_size=status["db_size"], db_size_in_use=status["db_size_in_use"]),
                           reclaimed=reclaimed, seconds=round(seconds, 1))
        self.result["msg"] = "%s: defragmented in %.2f s, %s given back (%s -> %s)" % (
            name, seconds, human_size(max(reclaimed, 0)), human_size(before["db_size"]), human_size(status["db_size"]))

    # -- alarms -------------------------------------------------------------------------------

    def raised_alarms(self):
        """The alarms raised, named from the member list, each with its member's ID as an int too."""
        members = first_answer(self.clients, lambda c: c.member_list())
        names = {m["id"]: m["name"] or None for m in members}
        return [dict(member=names.get(a["member_id"]), member_id=a["member_id_hex"], alarm=a["alarm"],
                     id=a["member_id"])
                for a in first_answer(self.clients, lambda c: c.alarms()) if a["alarm"] != "NONE"]

    @staticmethod
    def public(alarms):
        return [dict(member=a["member"], member_id=a["member_id"], alarm=a["alarm"]) for a in alarms]

    @staticmethod
    def describe(alarms):
        return ", ".join("%s on %s" % (a["alarm"], a["member"] or a["member_id"]) for a in alarms)

    def run_alarms(self):
        alarms = self.raised_alarms()
        self.result["alarms"] = self.public(alarms)
        self.result["msg"] = "raised: %s" % self.describe(alarms) if alarms else "no alarm is raised"

    def run_disarm(self):
        wanted = DISARMS[self.params["alarm"]]
        todo = [a for a in self.raised_alarms() if a["alarm"] in wanted]
        self.result.update(disarmed=self.public(todo), write_checked=False)
        if not todo:
            self.result["msg"] = "no %s alarm is raised" % " or ".join(wanted)
            return
        self.result["changed"] = True
        if self.check_mode:
            self.result["msg"] = "would disarm %s" % self.describe(todo)
            return
        for alarm in todo:
            first_answer(self.clients, lambda c, a=alarm: c.alarm_disarm(a["id"], a["alarm"]))
        self.result["msg"] = "disarmed %s" % self.describe(todo)
        if has_nospace(todo):
            self.write_check(todo)

    def write_check(self, disarmed):
        key = self.params["write_check_key"]
        try:
            first_answer(self.clients, lambda c: c.put(key, WRITE_CHECK_VALUE))
            first_answer(self.clients, lambda c: c.delete_key(key))
        except EtcdError as exc:
            advice = ""
            if exc.matches(SPACE_EXCEEDED):
                advice = ("; the database is still over its quota: compact, defragment every member (action=plan "
                          "lists them), then disarm again")
            raise Failure("disarmed %s, but a write of %s still fails: %s%s" % (
                self.describe(disarmed), key, _etcd_said(exc), advice)) from None
        self.result["write_checked"] = True
        self.result["msg"] += "; a write of %s works" % key

    # -- hash check ---------------------------------------------------------------------------

    def run_hash_check(self):
        observation = self.observe()
        if observation.get("members") is None:
            raise Failure("cannot list the members: %s" % observation.get("member_list_error"))
        voters = [(m, r) for m, r in member_records(observation) if not m["is_learner"]]
        reference = self.params["member"]
        if reference and reference not in [m["name"] for m, _r in voters]:
            raise Failure("the reference member %s is not a voting member of the cluster (voting members: %s)"
                          % (reference, ", ".join(sorted(m["name"] for m, _r in voters))))
        unread = ["%s: %s" % (member_label(m), self.unread(r)) for m, r in voters if self.unread(r)]
        if unread:
            raise Failure("cannot compare the keyspace hashes, every voting member must answer: %s" % "; ".join(unread))
        clients = [(m, self.make_client(r["endpoint"])) for m, r in voters]
        revision, hashes = self.read_hashes(clients)
        counts = {}
        for entry in hashes:
            counts[entry["hash"]] = counts.get(entry["hash"], 0) + 1
        if reference:
            common = next(entry["hash"] for entry in hashes if entry["member"] == reference)
            shared = True
        else:
            common = max(counts, key=counts.get)
            shared = counts[common] * 2 > len(hashes)
        diverged = [entry["member"] for entry in hashes if entry["hash"] != common or not shared]
        self.result.update(revision=revision, hashes=hashes, diverged=diverged, consistent=len(counts) == 1)
        if not diverged:
            self.result["msg"] = "the KV hashes of %d members agree at revision %d%s (hash %d)" % (
                len(hashes), revision, " with %s's" % reference if reference else "", common)
            return
        seen = "; ".join("%s: %d" % (e["member"], e["hash"]) for e in hashes)
        if shared:
            message = "the keyspace of %s differs from %s at revision %d (%s)" % (
                ", ".join(diverged), "%s's" % reference if reference else "the majority's", revision, seen)
        else:
            message = "no majority of the members agrees on the keyspace hash at revision %d (%s)" % (revision, seen)
        if self.params["fail_on_divergence"]:
            raise Failure(message)
        self.result["msg"] = message

    @staticmethod
    def unread(record):
        """Why a member's status was not read; '' when it was."""
        if record is None:
            return "not reached"
        if not record["reachable"]:
            return "unreachable: %s" % record["error"]
        if record["status_error"]:
            return "status failed: %s" % record["status_error"]
        return ""

    def read_hashes(self, clients):
        """(revision, hashes) of every member at the lowest current revision among them, once they all
        report the same compact revision (a compaction may still be reaching some)."""
        names = {client.endpoint: member["name"] for member, client in clients}
        for attempt in range(1, HASH_ATTEMPTS + 1):
            last = attempt == HASH_ATTEMPTS
            try:
                statuses = {client.endpoint: client.status() for _member, client in clients}
                revision = min(status["revision"] for status in statuses.values())
                hashes = []
                for member, client in clients:
                    answer = client.hash_kv(revision, hash_timeout(self.params["timeout"], statuses[client.endpoint]["db_size"]))
                    hashes.append(dict(member=member["name"], member_id=member["id_hex"], hash=answer["hash"],
                                       compact_revision=answer["compact_revision"]))
            except EtcdError as exc:
                name = names.get(exc.endpoint, exc.endpoint)
                if exc.status == 404:
                    self.result["unsupported"] = True
                    raise Failure("%s does not serve HashKV at %s (before etcd 3.5.10 the gateway maps it to the "
                                  "path of Hash): the hash check needs etcd 3.5.10 or later" % (name, exc.endpoint)
                                  ) from None
                if last or isinstance(exc, EtcdUnreachable) or not exc.matches(COMPACTED, FUTURE_REVISION):
                    raise Failure("cannot read the keyspace hash of %s: %s" % (name, _etcd_said(exc))) from None
                self.sleep(1)
                continue
            if len({entry["compact_revision"] for entry in hashes}) == 1:
                return revision, hashes
            if last:
                raise Failure("the members report different compact revisions after %d attempts (%s), so their hashes "
                              "cover different history and cannot be compared; run again once the compaction has "
                              "reached every member" % (HASH_ATTEMPTS, "; ".join(
                                  "%s: %d" % (e["member"], e["compact_revision"]) for e in hashes)))
            self.sleep(1)
        raise AssertionError("unreachable: the last attempt returns or fails")


def run(params, clients, make_client, check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """(failure message or None, result) for the module's parameters."""
    task = MaintenanceTask(params, clients, make_client, check_mode, clock, sleep)
    try:
        task.validate()
        getattr(task, "run_" + params["action"])()
    except Failure as exc:
        if task.result.get("unsupported") and not params.get("fail_on_unsupported", True):
            # Asked not to fail on a release that cannot be checked: said, not a failure.
            task.result["msg"] = str(exc)
            return None, task.result
        return str(exc), task.result
    except EtcdError as exc:
        return "etcd error: %s" % exc, task.result
    return None, task.result
