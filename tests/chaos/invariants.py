"""The campaign's invariants, checked on what a case recorded: pure functions of the records, each
returning what it found wrong (empty when the invariant holds).

Records:
- writes: {key: (value, time the write was sent)} of every acknowledged write; stored: {key: value}
  read back at the end;
- answers: [(time, host, cluster ID or None when the member did not answer)], twice a second;
- samples: [(time, host, member ID, leader ID, term)] of the members that answered;
- reads: [(time, URL, revision, cluster ID)] of linearizable reads;
- outputs: the text of the case's ansible-playbook runs.
"""

import re

# A member that did not answer for this long is down (not a slow answer on a loaded machine).
DOWN_AFTER = 1.5
# Answers this close together are at the same time, for "two cluster IDs at once".
AT_ONCE = 1.0
# Lines that no message of the collection is: a failure in Python or in a template, not a refusal.
FOREIGN = re.compile(r"Traceback \(most recent call last\)|An exception occurred during task execution|"
                     r"AnsibleUndefinedVariable|has no attribute|template error while templating|"
                     r"Unexpected templating type error|The error was: .*Error")
# A module whose host went down under it: a reboot empties /tmp, where the module's own package was,
# and Ansible shows the traceback of that package vanishing. That is the host lost in mid-call, which
# the run then reports in its own words (a roll stops), not a failure of the collection.
PACKAGE_GONE = re.compile(r"FileNotFoundError: \[Errno 2\] No such file or directory: '[^']*/ansible_[^'/]*_payload[^'/]*/")


def lost_writes(writes, stored, unsure=None):
    """Invariant 1: acknowledged writes that do not read back with their value; those sent within
    ``unsure`` (from, to) are not counted (a quorum recovery keeps what its survivor had)."""
    return sorted(key for key, (value, sent) in writes.items()
                  if stored.get(key) != value and not (unsure and unsure[0] <= sent <= unsure[1]))


def restore_writes(writes, stored, snapshot_began, snapshot_ended, restore_began, restore_ended):
    """Invariant 1 for a restore: (missing, foreign). Missing: writes acknowledged before the snapshot
    began, or sent after the restore ended, that do not read back; foreign: writes sent between the
    snapshot's end and the restore's start (the old cluster's history after the snapshot) that the
    restored cluster has. Writes in the other windows may or may not be there."""
    missing = sorted(key for key, (value, sent) in writes.items()
                     if (sent < snapshot_began or sent > restore_ended) and stored.get(key) != value)
    foreign = sorted(key for key, (_value, sent) in writes.items()
                     if snapshot_ended < sent < restore_began and key in stored)
    return missing, foreign


def split_clusters(answers, at_once=AT_ONCE):
    """Invariant 2: moments two cluster IDs answered at once: [(time, {host: cluster ID})]."""
    latest, found = {}, []
    for t, host, cluster in sorted(answers, key=lambda a: a[:2]):
        if cluster is None:
            latest.pop(host, None)
            continue
        latest[host] = (t, cluster)
        now = {h: c for h, (seen, c) in latest.items() if t - seen <= at_once}
        if len(set(now.values())) > 1:
            found.append((t, now))
    return found


def two_leaders(samples, answers):
    """Invariant 2: terms in which two members of one cluster said they led: {(cluster ID, term):
    sorted member IDs}. A restored cluster counts its terms afresh: its cluster ID (from the answer
    of the same moment and host) tells its terms from the old cluster's.
    The term etcd 3.5 answers in its status is that of the last entry the member applied: a member
    just elected answers "leader: me" with the term before its own until the first entry of its term
    is applied. So each run of a member's claims (its answers as leader, no answer as a follower
    between them) is one leadership, counted under the highest term the run answered."""
    cluster = {(t, host): cid for t, host, cid in answers}
    leaders = {}

    def count(run):
        t, host, me, term = max(run, key=lambda claim: claim[3])
        leaders.setdefault((cluster.get((t, host)), term), set()).add(me)

    runs = {}
    for t, host, me, leader, term in sorted(samples, key=lambda sample: sample[0]):
        if me == leader:
            runs.setdefault(me, []).append((t, host, me, term))
        elif runs.get(me):
            count(runs.pop(me))
    for run in runs.values():
        if run:
            count(run)
    return {key: sorted(ids) for key, ids in leaders.items() if len(ids) > 1}


def backwards(reads):
    """A linearizable read must never see an older revision than an earlier read of the same cluster
    (a first deploy makes a new one, from revision 1): [(time, before, after)]."""
    found, highest = [], {}
    for t, _url, revision, cluster in sorted(reads):
        if cluster in highest and revision < highest[cluster]:
            found.append((t, highest[cluster], revision))
        highest[cluster] = max(highest.get(cluster, revision), revision)
    return found


def down_periods(answers, down_after=DOWN_AFTER):
    """{host: [(from, to)]} of the stretches a host did not answer for longer than ``down_after``."""
    periods, since, last = {}, {}, {}
    for t, host, cluster in sorted(answers, key=lambda a: a[:2]):
        last[host] = t
        if cluster is None:
            since.setdefault(host, t)
        elif host in since:
            began = since.pop(host)
            if t - began >= down_after:
                periods.setdefault(host, []).append((began, t))
    for host, began in since.items():
        if last[host] - began >= down_after:
            periods.setdefault(host, []).append((began, last[host]))
    return periods


def voters_down_together(answers, spared=(), down_after=DOWN_AFTER, voters=None):
    """Invariant 3: stretches two members not in ``spared`` (the hosts the fault hit) were down at
    once: [(from, to, (host, host))]. ``voters``: the hosts of the case's cluster (None: every host
    answered for); a spare host that is no member of it is no voter to count."""
    periods = sorted((began, ended, host) for host, spans in down_periods(answers, down_after).items()
                     if host not in spared and (voters is None or host in voters) for began, ended in spans)
    found = []
    for i, (_began, ended, host) in enumerate(periods):
        for other_began, other_ended, other in periods[i + 1:]:
            if other_began < ended and other != host:
                found.append((other_began, min(ended, other_ended), (host, other)))
    return found


def longest_leaderless(samples, began, ended):
    """The longest stretch of [began, ended] in which no member that answered named a leader
    (seconds): followers count too, so that a leader the controller cannot reach still counts."""
    claims = sorted(t for t, _host, _me, leader, _term in samples if leader not in ("0", None) and began <= t <= ended)
    edges = [began, *claims, ended]
    return max(b - a for a, b in zip(edges, edges[1:]))


def not_converged(counts):
    """Invariant 4: hosts of a PLAY RECAP ({host: {'changed': n, ...}}) that changed, failed or were
    unreachable in a run that should change nothing."""
    return sorted(host for host, c in counts.items()
                  if c.get("changed", 0) or c.get("failed", 0) or c.get("unreachable", 0))


def foreign_messages(output):
    """Invariant 5: lines of a run's output that are no message of the collection (a traceback, a
    template that failed). A block of lines (up to a blank line) is read as one: ansible-core prints
    an error as "[ERROR]: ..." with its traceback on the lines below, where the vanished package shows."""
    found = []
    for block in re.split(r"\n\s*\n", output):
        if PACKAGE_GONE.search(block):
            continue
        found.extend(line.strip()[:300] for line in block.splitlines() if FOREIGN.search(line))
    return found
