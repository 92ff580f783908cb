"""The fault campaign's cases and its table: pure, so that a seed gives the same cases anywhere.

A case is one operation of the collection, one fault, the host the fault hits, the moment it
hits (the n-th task the operation's run prints) and how long it lasts before it is healed. Case
``number`` of a seed is drawn from its own generator (seed and number), so that one case can be
replayed alone: ``make chaos SEED=<seed> CASE=<number>``.
"""

import json
import random
from collections import namedtuple

# Implemented, in the order docs/chaos.md lists them.
OPERATIONS = ("roll", "scale_out", "remove", "replace", "maintenance", "upgrade", "backup", "restore",
              "recover_quorum", "first_deploy", "upgrade_34", "rotate_ca", "proxy")
# Seeds recorded before later operations and faults were added draw among the operations and faults
# of their time (how many of OPERATIONS and FAULTS), so that they replay as recorded: the sample of
# `make test` and seed 1 (docs/chaos.md, which also upgrade from 3.5.1 only), seed 17.
EARLIER_DRAWS = {"sample": (9, 9), "1": (9, 9), "17": (12, 10)}
FIRST_DRAWS = {"sample", "1"}
# The 3.5 releases an upgrade case starts from (the test bed's mirror has them), to 3.5.30.
UPGRADE_FROM = ("3.5.0", "3.5.1")
# A fault "A+B": A on the case's member and B, at the same moment, on the next member; B never takes
# a member down, so that quorum allows both.
FAULTS = ("sigkill", "etcd_kill", "host_crash", "reboot", "partition", "partition_in", "controller_lost",
          "etcd_kill+controller_lost", "host_crash+controller_lost", "disk_full", "slow_disk", "slow_net", "lossy_net")
# Faults a proxy case puts on the proxy host (the others hit a member: the proxy host runs no etcd).
ON_PROXY = ("host_crash", "reboot", "partition", "partition_in", "controller_lost", "disk_full", "slow_net", "lossy_net")
WHAT = {
    "roll": "a roll of a changed setting (etcd_heartbeat_interval)",
    "scale_out": "scale out 3 -> 4 (then back to 3, without a fault)",
    "remove": "remove_member 4 -> 3 (after a scale out without a fault)",
    "replace": "replace_member of a member whose host was recreated empty",
    "maintenance": "the maintenance playbook (defragmentation)",
    "upgrade": "upgrade 3.5.0 or 3.5.1 -> 3.5.30 (after a downgrade without a fault)",
    "backup": "the backup playbook",
    "restore": "restore of a backup taken in the case (3.5.30, revision bumped)",
    "recover_quorum": "recover_quorum from the case's member, after the two others' hosts were lost and recreated empty",
    "first_deploy": "a first deploy of 3.5.30 on hosts recreated empty (the old cluster wiped, without a fault)",
    "upgrade_34": "upgrade 3.4.23 -> 3.5.30 (after a first deploy of 3.4.23 on hosts recreated empty)",
    "proxy": "the proxy playbook converging a changed proxy setting (etcd_proxy_retry_delay): the proxy restarts",
    "rotate_ca": "a CA rotation (etcd_pki_rotate_ca=true: three phases, each a roll); the re-run is the etcd playbook",
    "sigkill": "the playbook SIGKILLed (its process group) at the task",
    "etcd_kill": "the member's etcd killed -9 (systemd starts it again)",
    "host_crash": "the host killed (container SIGKILL), brought back after the duration",
    "reboot": "the host rebooted (systemctl reboot, started again)",
    "partition": "the member cut off from its peers both ways (iptables), healed after the duration",
    "partition_in": "the member hears nothing from its peers, they still hear it (iptables)",
    "controller_lost": "the controller's traffic to and from the host dropped (iptables), healed after the duration",
    "etcd_kill+controller_lost": "etcd killed -9 on the member and the controller cut off from the next member",
    "host_crash+controller_lost": "the member's host killed and the controller cut off from the next member",
    "disk_full": "the filesystem of the member's data dir filled up (a file takes all its free space), healed after the duration",
    "slow_disk": "etcd restarted on its data moved to a disk that takes 20 writes a second (a loop device, throttled), and back after the duration",
    "slow_net": "every TCP packet but SSH's to and from the member held 150 ms (NFQUEUE; the kernel has no netem), healed after the duration",
    "lossy_net": "one TCP packet in five but SSH's to and from the member dropped at random (iptables statistic), healed after the duration",
}
# Operations whose run restarts members one at a time: invariant 3 (never more than one voter down
# by the operation's own doing) is checked for them.
ROLLING = ("roll", "scale_out", "remove", "replace", "maintenance", "upgrade", "upgrade_34", "rotate_ca", "proxy")
# Retry delays a proxy case moves etcd_proxy_retry_delay to: each one changes the proxy's command line.
RETRY_DELAYS = ("1m", "30s", "45s")
# Settings a roll case moves etcd_heartbeat_interval to (ms; etcd's election timeout, 1000 ms, stays
# more than 5 times the largest).
HEARTBEATS = (100, 120, 150, 180)
# Task headers a run of each operation prints, about (counted in faultless runs): the moment is drawn
# among them, so that a fault may hit any of the run's tasks.
TASKS = {"roll": 75, "scale_out": 80, "remove": 30, "replace": 90, "maintenance": 18, "upgrade": 80,
         "backup": 15, "restore": 55, "recover_quorum": 60, "first_deploy": 100, "upgrade_34": 80, "rotate_ca": 200, "proxy": 40}
# How long a fault lasts before it is healed, in seconds, unless the run ends first.
DURATION = (5, 30)

Case = namedtuple("Case", "seed number operation fault target moment duration heartbeat upgrade_from")


def case(seed, number, members):
    """Case ``number`` (from 1) of campaign ``seed``; ``members``: the names of the hosts a fault
    may hit (the base members)."""
    rng = random.Random("%s/%d" % (seed, number))
    first = str(seed) in FIRST_DRAWS
    operations, faults = EARLIER_DRAWS.get(str(seed), (len(OPERATIONS), len(FAULTS)))
    operation = rng.choice(OPERATIONS[:operations])
    fault = rng.choice(FAULTS[:faults])
    return Case(seed, number, operation, fault, rng.choice(sorted(members)), rng.randint(1, TASKS[operation]),
                rng.randint(*DURATION), rng.choice(HEARTBEATS), "3.5.1" if first else rng.choice(UPGRADE_FROM))


def cases(seed, count, members, only=None):
    """The campaign's cases: 1..count, or only the cases numbered in ``only`` (an int or several)."""
    numbers = sorted({only} if isinstance(only, int) else set(only)) if only else range(1, count + 1)
    return [case(seed, n, members) for n in numbers]


def second(c, members):
    """The member the second fault of a case "A+B" hits: the one after the case's member."""
    ordered = sorted(members)
    return ordered[(ordered.index(c.target) + 1) % len(ordered)]


def hit(c, members, proxy):
    """{fault: host} of a case: the first fault on the case's member (on the proxy host in a proxy case,
    but etcd_kill), the second one of "A+B" on the next member."""
    first, *then = c.fault.split("+")
    hosts = {first: proxy if c.operation == "proxy" and first in ON_PROXY else c.target}
    hosts.update({kind: second(c, members) for kind in then})
    return hosts


def describe(c):
    where = "the proxy host" if c.operation == "proxy" and c.fault in ON_PROXY else c.target
    fault = c.fault if c.fault == "sigkill" else "%s on %s for %d s" % (c.fault, where, c.duration)
    if "+" in c.fault:
        first, then = c.fault.split("+")
        fault = "%s on %s and %s on the next member for %d s" % (first, c.target, then, c.duration)
    return "case %d: %s, %s at task %d" % (c.number, c.operation, fault, c.moment)


def replay(c):
    """The command that runs this case alone."""
    return "make chaos SEED=%s CASE=%d" % (c.seed, c.number)


def table(results):
    """A table per operation and fault of results: [{'case': Case, 'acked': n, 'lost': n,
    'leaderless': seconds, 'healthy_after': seconds or None, 'failures': [...], 'fired': bool}]."""
    rows = {}
    for r in results:
        row = rows.setdefault((r["case"].operation, r["case"].fault),
                              {"cases": 0, "missed": 0, "failed": 0, "acked": 0, "lost": 0, "leaderless": 0.0,
                               "healthy": []})
        row["cases"] += 1
        row["missed"] += not r["fired"]
        row["failed"] += bool(r["failures"])
        row["acked"] += r["acked"]
        row["lost"] += r["lost"]
        row["leaderless"] = max(row["leaderless"], r["leaderless"])
        if r["healthy_after"] is not None:
            row["healthy"].append(r["healthy_after"])
    lines = ["| operation | fault | cases | fault missed | failed | acked writes | lost | longest without a leader "
             "| time to healthy after the re-run (max) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (operation, fault), row in sorted(rows.items(), key=lambda item: (OPERATIONS.index(item[0][0]),
                                                                          FAULTS.index(item[0][1]))):
        lines.append("| %s | %s | %d | %d | %d | %d | %d | %.1f s | %s |" % (
            operation, fault, row["cases"], row["missed"], row["failed"], row["acked"], row["lost"],
            row["leaderless"], "%.0f s" % max(row["healthy"]) if row["healthy"] else "-"))
    total = {key: sum(row[key] for row in rows.values()) for key in ("cases", "missed", "failed", "acked", "lost")}
    lines.append("| **all** | | %(cases)d | %(missed)d | %(failed)d | %(acked)d | %(lost)d | | |" % total)
    return "\n".join(lines)


# The journal of a seed: one JSON line per case run (the latest line of a case counts), so that a
# campaign goes on where it stopped and its table counts every case recorded, each with the commit
# it ran on.
RECORDED = ("acked", "acked_proxy", "lost", "leaderless", "healthy_after", "failures", "fired", "tasks", "phases", "seconds")


def journal_line(result, commit, when):
    """The journal's line of a case's result (run.py's result: its Case and figures)."""
    line = {"case": result["case"]._asdict(), "commit": commit, "date": when}
    line.update({key: result.get(key) for key in RECORDED})
    return json.dumps(line, sort_keys=True) + "\n"


def read_journal(lines):
    """{case number: result} of a journal's lines, the latest of each case; a line cut short by a
    campaign killed while writing it is left out."""
    recorded = {}
    for text in lines:
        try:
            line = json.loads(text)
        except ValueError:
            continue
        line["case"] = Case(**line["case"])
        recorded[line["case"].number] = line
    return recorded


def pending(seed, count, members, recorded, only=None):
    """The cases of the campaign still to run: those of 1..count not in the journal (``only``: those
    cases, recorded or not: a replay)."""
    return [c for c in cases(seed, count, members, only) if only or c.number not in recorded]


def recorded_results(recorded, count):
    """The journal's results of cases 1..count, in order: the campaign's table counts them all."""
    return [recorded[n] for n in sorted(recorded) if n <= count]
