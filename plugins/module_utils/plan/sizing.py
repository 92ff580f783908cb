# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Sizing profiles (``etcd_profile``): what a class of etcd cluster wants of each member's hardware,
the settings the class sets, and what a preflight says when a host falls short of its class.

etcd's hardware notes sort clusters into four classes by clients, requests per second and data;
PROFILES holds them, with the smaller of etcd's two example machines for each class (vCPUs, memory,
disk IOPS and bandwidth) and the defaults the class sets. The module etcd_host_check measures a
host; ``hardware_findings`` compares its figures with one table of rules, and ``suggested_timeouts``
turns the measured round trips into heartbeat and election timeouts. docs/sizing.md lists the same
tables for operators.
"""

import math
from collections import namedtuple
from collections.abc import Mapping


from ansible_collections.raftops.etcd.plugins.module_utils.host.values import BOOL_TEXTS, GIB, MAX_ELECTION_MS, integer, show
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import human_size

MIB = 1024 ** 2
MB = 1000 ** 2

# One class: the most it serves (None: more than the class before it), what each member should
# have, and the role defaults it sets.
Profile = namedtuple("Profile", [
    "clients", "requests_per_second", "data_bytes",
    "vcpus", "memory_gib", "disk_iops", "disk_mbps",
    "quota_bytes", "snapshot_count",
])

PROFILES = {
    "small": Profile(100, 200, 100 * MB, 2, 7.5, 1500, 25, 2 * GIB, 10000),
    "medium": Profile(500, 1000, 500 * MB, 4, 15, 4500, 75, 4 * GIB, 10000),
    "large": Profile(1500, 10000, 1000 * MB, 8, 30, 7500, 125, 8 * GIB, 50000),
    "xlarge": Profile(None, None, None, 16, 60, 15000, 250, 8 * GIB, 100000),
}
PROFILE_NAMES = tuple(PROFILES)

# The settings a profile sets, by role variable.
PROFILE_SETTINGS = (("etcd_quota_backend_bytes", "quota_bytes"), ("etcd_snapshot_count", "snapshot_count"))

DEFAULT_QUOTA = 2 * GIB  # what etcd uses for --quota-backend-bytes 0
# The WAL lives in the data dir unless etcd_wal_dir moves it: etcd keeps 5 segment files of 64 MiB.
WAL_ROOM = 5 * 64 * MIB
# MemTotal is what the kernel leaves after its own reservations: a machine of the class has this much of it.
MEMORY_SHARE = 0.9
FSYNC_P99_MS = 10  # etcd wants the p99 of its WAL fsync under this
DEFAULT_HEARTBEAT = 100  # etcd's defaults, ms
DEFAULT_ELECTION = 1000
MAX_HEARTBEAT = MAX_ELECTION_MS // 5
HEARTBEAT_STEP = 10  # suggestions are rounded up to these steps, ms
ELECTION_STEP = 100


# --- arguments --------------------------------------------------------------------------------


def _prefix(host):
    return "" if host is None else "host %s: " % host


def _profile(name, host=None):
    """(name, Profile) of a profile name; (None, None) for no profile (None or '')."""
    if name is None or name == "":
        return None, None
    if isinstance(name, str) and name in PROFILES:
        return name, PROFILES[name]
    raise ValueError("%setcd_profile=%s: not a sizing profile; use one of %s, or leave it unset (none) to "
                     "keep etcd's defaults" % (_prefix(host), show(name), ", ".join(PROFILE_NAMES)))


def _flag(value, variable):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in BOOL_TEXTS:
        return BOOL_TEXTS.index(value.lower()) < len(BOOL_TEXTS) // 2
    raise ValueError("%s=%s: true or false" % (variable, show(value)))


def _whole(value, variable, minimum, allowed):
    """A whole number given as an int or its decimal text, at least ``minimum``; else a clear error."""
    number = integer(value)
    if number is None or number < minimum:
        raise ValueError("%s=%s: %s" % (variable, show(value), allowed))
    return number


def _number(value):
    """A measured figure as a number, or None when it is missing or no number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return value


def _ms(value):
    """Milliseconds with the digits that matter: 0.027 ms, 23.4 ms, 150 ms."""
    if value < 1:
        return "%.3f ms" % value
    return "%.1f ms" % value if value < 100 else "%d ms" % round(value)


# --- profile settings -------------------------------------------------------------------------


def profile_settings(profile, host=None):
    """The role variables a profile sets; {} for no profile (None or ''), which keeps today's defaults.

    An unknown name is refused with the names allowed; see plugins/filter/profile_settings.yml.
    """
    _name, chosen = _profile(profile, host)
    if chosen is None:
        return {}
    return {variable: getattr(chosen, field) for variable, field in PROFILE_SETTINGS}


# --- timeouts ---------------------------------------------------------------------------------


def _ceil(value, step):
    return math.ceil(value / step) * step


def covered_rtt(heartbeat, election):
    """The longest round trip ``heartbeat`` and ``election`` (ms) cover: the election timeout at least
    10 x the round trip, the heartbeat at least half of it (etcd's tuning guide: about the round trip)."""
    return min(election / 10.0, heartbeat * 2.0)


def timeouts_for(rtt):
    """(heartbeat, election) in ms for a round trip of ``rtt`` ms: never below etcd's defaults,
    the heartbeat about the round trip, the election 10 x the round trip and at least 5 x the
    heartbeat, rounded up, within etcd's limits (heartbeat at least 1, election at most 50000)."""
    if rtt is None:
        return DEFAULT_HEARTBEAT, DEFAULT_ELECTION
    heartbeat = min(max(DEFAULT_HEARTBEAT, _ceil(rtt, HEARTBEAT_STEP)), MAX_HEARTBEAT)
    election = max(DEFAULT_ELECTION, _ceil(rtt * 10, ELECTION_STEP), heartbeat * 5)
    return heartbeat, min(election, MAX_ELECTION_MS)


def _round_trips(rtt_ms_by_peer):
    """{peer: the longest round trip measured to it} of one dict or a list of dicts (one per host);
    peers that did not answer (None) are left out."""
    if rtt_ms_by_peer is None:
        return {}
    maps = [rtt_ms_by_peer] if isinstance(rtt_ms_by_peer, Mapping) else rtt_ms_by_peer
    if isinstance(maps, str) or not isinstance(maps, (list, tuple)) or not all(isinstance(m, Mapping) for m in maps):
        raise ValueError("suggested_timeouts: give the round trips as a dict of peer -> ms (the rtt_ms_by_peer "
                         "of etcd_host_check), or a list of such dicts, not %s" % show(rtt_ms_by_peer))
    worst = {}
    for measured in maps:
        for peer, rtt in measured.items():
            if rtt is None:
                continue
            if _number(rtt) is None or rtt < 0:
                raise ValueError("suggested_timeouts: the round trip to %s is %s, not a number of ms"
                                 % (peer, show(rtt)))
            worst[str(peer)] = max(rtt, worst.get(str(peer), rtt))
    return worst


def suggested_timeouts(rtt_ms_by_peer, heartbeat=None, election=None):
    """Heartbeat and election timeouts for the longest measured round trip; see
    plugins/filter/suggested_timeouts.yml. ``heartbeat`` and ``election``, when given, are the
    configured values, and ``fits`` says whether they cover that round trip."""
    trips = _round_trips(rtt_ms_by_peer)
    peer = max(sorted(trips), key=trips.get) if trips else None
    rtt = trips.get(peer)
    suggested = timeouts_for(rtt)
    fits = None
    if heartbeat is not None and election is not None:
        current = (_whole(heartbeat, "etcd_heartbeat_interval", 1, "a whole number of ms, at least 1"),
                   _whole(election, "etcd_election_timeout", 1, "a whole number of ms, at least 1"))
        fits = rtt is None or rtt <= covered_rtt(*current)
    if rtt is None:
        message = "no peer answered a round trip; etcd's defaults stand"
    else:
        where = "the longest round trip, %s to %s," % (_ms(rtt), peer)
        wants = "etcd_heartbeat_interval=%d and etcd_election_timeout=%d" % suggested
        if rtt > covered_rtt(*suggested):
            message = ("%s is more than etcd's timeouts can cover (up to %d ms, with %s, the most etcd allows): "
                       "place the members closer together" % (where, covered_rtt(*suggested), wants))
        elif suggested == (DEFAULT_HEARTBEAT, DEFAULT_ELECTION):
            message = "%s is covered by etcd's defaults, %s" % (where, wants)
        else:
            message = ("%s wants %s (the heartbeat about the round trip, the election timeout at least 10 x the "
                       "round trip and 5 x the heartbeat), the same on every member" % (where, wants))
    return dict(heartbeat_interval=suggested[0], election_timeout=suggested[1], rtt_ms=rtt, peer=peer, fits=fits,
                message=message)


# --- hardware findings ------------------------------------------------------------------------

# What a host is held against: the profile (None for none), the quota (bytes) and the timeouts (ms).
Want = namedtuple("Want", ["name", "profile", "quota", "heartbeat", "election"])

# One rule: what it is about (the finding's ``what``), the figures of etcd_host_check it adds up,
# how they are named when one could not be measured, the wanted value (None: the rule does not
# apply), whether a measured value is fine, and how the measured and the wanted value are said.
Rule = namedtuple("Rule", ["what", "figures", "label", "wanted", "fine", "measured", "wants"])


def _disk_measured(room, figures):
    return "room for the data dir %s (%s free on the file system of %s, %s in the data dir)" % (
        human_size(room), human_size(figures.get("free_bytes") or 0), figures.get("checked_dir", "?"),
        human_size(figures.get("path_used_bytes") or 0))


def _fsync_measured(p99, figures):
    return "fsync p99 %s (%s writes of %s, each followed by fdatasync, in %s)" % (
        _ms(p99), figures.get("fsync_writes", "?"), human_size(figures.get("fsync_write_size") or 0),
        figures.get("checked_dir", "?"))


RULES = [
    Rule("cpus", ("cpus",), "the CPU count",
         lambda w: w.profile.vcpus if w.profile else None,
         lambda measured, wanted: measured >= wanted,
         lambda cpus, _f: "%d CPUs usable" % cpus,
         lambda wanted, w: "profile %s wants %d vCPUs" % (w.name, wanted)),
    Rule("memory", ("memory_bytes",), "the memory",
         lambda w: int(w.profile.memory_gib * GIB) if w.profile else None,
         lambda measured, wanted: measured >= wanted * MEMORY_SHARE,
         lambda memory, _f: "memory %s" % human_size(memory),
         lambda wanted, w: "profile %s wants %s (a MemTotal of at least %s)" % (
             w.name, human_size(wanted), human_size(int(wanted * MEMORY_SHARE)))),
    Rule("swap", ("swap_used_bytes",), "the swap in use",
         lambda w: 0,
         lambda measured, wanted: measured <= wanted,
         lambda used, f: "swap in use %s of %s" % (human_size(used), human_size(f.get("swap_total_bytes") or 0)),
         lambda _wanted, _w: "etcd wants none in use (a member whose memory is swapped out misses heartbeats)"),
    # the room for the quota: free space on the data dir's file system and what the data dir holds already.
    # A defragmentation writes a copy of the database beside it (db.tmp.*, about the in-use size, at
    # most the quota) before it replaces the old one: a full database needs as much room again.
    Rule("disk_space", ("free_bytes", "path_used_bytes"), "the room for the data dir",
         lambda w: 2 * w.quota + WAL_ROOM,
         lambda measured, wanted: measured >= wanted,
         _disk_measured,
         lambda wanted, w: ("etcd_quota_backend_bytes=%d wants %s (the quota %s, as much again for the copy a "
                            "defragmentation writes, and %s of WAL)" % (
                                w.quota, human_size(wanted), human_size(w.quota), human_size(WAL_ROOM)))),
    Rule("fsync_p99", ("fsync_p99_ms",), "the fsync latency",
         lambda w: FSYNC_P99_MS,
         lambda measured, wanted: measured < wanted,
         _fsync_measured,
         lambda wanted, _w: "etcd wants under %d ms (the p99 of its WAL fsync)" % wanted),
]


def _rule_findings(figures, want):
    """(what, measured, wanted, text) of each rule the figures break; a figure that could not be
    measured is one too, one that was not measured (None without an error) or does not apply is not."""
    errors = figures.get("errors") or {}
    found = []
    for rule in RULES:
        wanted = rule.wanted(want)
        if wanted is None:
            continue
        parts = [_number(figures.get(name)) for name in rule.figures]
        if None in parts:
            why = [errors[name] for name in rule.figures if name in errors]
            if why:
                found.append((rule.what, None, wanted, "%s could not be measured (%s); %s" % (
                    rule.label, why[0], rule.wants(wanted, want))))
            continue
        measured = sum(parts)
        if not rule.fine(measured, wanted):
            text = "%s; %s" % (rule.measured(measured, figures), rule.wants(wanted, want))
            found.append((rule.what, measured, wanted, text))
    return found


def _peer_findings(figures, want):
    covered = covered_rtt(want.heartbeat, want.election)
    found = []
    for peer in figures.get("peers") or []:
        name, rtt = peer.get("peer", "?"), _number(peer.get("rtt_ms"))
        if rtt is None:
            why = peer.get("error") or "no answer"
            found.append(("peer_rtt", None, covered, "peer %s did not answer (%s); etcd wants every peer reachable "
                          "(a refused connection counts as an answer)" % (name, why)))
        elif rtt > covered:
            found.append(("peer_rtt", rtt, covered, (
                "round trip to %s %s; etcd_heartbeat_interval=%d and etcd_election_timeout=%d cover up to %s: %s"
                % (name, _ms(rtt), want.heartbeat, want.election, _ms(covered),
                   "raise them to %d and %d on every member" % timeouts_for(rtt)))))
    return found


def _host_findings(figures, want):
    if not isinstance(figures, Mapping):
        return [("check", None, None, "no figures of etcd_host_check, but %s" % show(figures))]
    if figures.get("failed") or figures.get("skipped") or figures.get("unreachable"):
        why = figures.get("msg") or ("skipped" if figures.get("skipped") else "it failed")
        return [("check", None, None, "the hardware check did not run: %s" % why)]
    return _rule_findings(figures, want) + _peer_findings(figures, want)


def hardware_findings(measured_by_host, profile=None, quota_bytes=None, strict=False, heartbeat=DEFAULT_HEARTBEAT,
                      election=DEFAULT_ELECTION):
    """What each host's measured figures lack against the profile; see plugins/filter/hardware_findings.yml.

    Each finding is a dict: host, what, measured, wanted, severity (``refuse`` when strict, else
    ``warn``) and message (``host H: what was measured; what is wanted``).
    """
    if not isinstance(measured_by_host, Mapping):
        raise ValueError("hardware_findings: give a dict of host -> the result of etcd_host_check, not %s"
                         % show(measured_by_host))
    name, chosen = _profile(profile)
    severity = "refuse" if _flag(strict, "etcd_preflight_strict") else "warn"
    if quota_bytes is None or quota_bytes == "":
        quota = chosen.quota_bytes if chosen else 0
    else:
        quota = _whole(quota_bytes, "etcd_quota_backend_bytes", 0, "a whole number of bytes, 0 for etcd's default")
    want = Want(name, chosen, quota or DEFAULT_QUOTA,
                _whole(heartbeat, "etcd_heartbeat_interval", 1, "a whole number of ms, at least 1"),
                _whole(election, "etcd_election_timeout", 1, "a whole number of ms, at least 1"))
    findings = []
    for host, figures in measured_by_host.items():
        for what, measured, wanted, text in _host_findings(figures, want):
            findings.append(dict(host=str(host), what=what, measured=measured, wanted=wanted, severity=severity,
                                 message="host %s: %s" % (host, text)))
    return findings
