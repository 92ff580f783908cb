# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The change stream's segments, written once (docs/backup-restore.md, "Point-in-time restore"):
their names, their content, the chain a point-in-time restore replays and the gaps in it. Standard
library only: the members' stream (roles/etcd/files/etcd_backup_stream.py, beside which the role
copies this file as etcd_stream_segments.py) writes segments with it, and the controller's restore
reads them with it.

A segment holds every revision of the keyspace from ``first`` to ``last`` (both included), each with
the time the stream received it and its operations (a put with its value and lease, or a delete of
one key), and the TTL of each lease its puts name. A stream that starts (a member taking the stream
over, a watch started again after a compaction) reads the revisions made since the last segment at
once: their received time is when it read them, not when etcd made them, which was no earlier than
the last segment's time. The segment names such revisions ``uncertain`` ([first, last, not before]):
a point in time between ``not before`` and when they were read cannot be placed among them. etcd gives every revision at least one event, so
the segments of an unbroken stream follow each other with no revision missing: the next segment's
``first`` is the previous one's ``last`` plus one. A segment is sealed and signed like a full backup
(etcd_backup_crypto.encrypt_file) under its name, ``etcd-stream-<first>-<last>.enc``, with the
revisions zero-padded so that names sort by revision.
"""

import calendar
import datetime
import json
import re

FORMAT = 1
PREFIX = "etcd-stream-"
SUFFIX = ".enc"
DIGITS = 16
NAME = re.compile(r"\A%s(\d{%d})-(\d{%d})%s\Z" % (re.escape(PREFIX), DIGITS, DIGITS, re.escape(SUFFIX)))
PUT, DELETE = "put", "delete"


class SegmentError(ValueError):
    """A segment, or a chain of them, that cannot be used; the message names it."""


def segment_name(first, last):
    """``etcd-stream-<first>-<last>.enc``: the revisions it holds, both included."""
    if not 0 < first <= last:
        raise ValueError("a segment holds revisions first..last with 0 < first <= last, not %r..%r" % (first, last))
    return "%s%0*d-%0*d%s" % (PREFIX, DIGITS, first, DIGITS, last, SUFFIX)


def parse_segment_name(name):
    """(first, last) of a segment's name; None for any other name."""
    found = NAME.match(name)
    if not found:
        return None
    first, last = int(found.group(1)), int(found.group(2))
    return (first, last) if 0 < first <= last else None


def is_segment_object(name):
    return parse_segment_name(name) is not None


def ordered(names):
    """The segments among ``names`` by first revision, then last (a longer one after a shorter one)."""
    return sorted((n for n in names if is_segment_object(n)), key=parse_segment_name)


def last_shipped(names):
    """The highest revision the segments among ``names`` hold; 0 when there is none."""
    return max((parse_segment_name(n)[1] for n in names if is_segment_object(n)), default=0)


def gaps(names, after=0):
    """The revisions no segment among ``names`` holds between ``after`` (a full backup's revision, 0:
    from the first segment) and the last segment: [(first missing, last missing)], in order."""
    found, reached = [], after
    for name in ordered(names):
        first, last = parse_segment_name(name)
        if reached and first > reached + 1:
            found.append((reached + 1, first - 1))
        reached = max(reached, last)
    return found


def chain(names, after):
    """The segments a replay from revision ``after`` (a full backup's) reads, in order, and how far
    they reach unbroken: (used, reached, gap). ``gap`` is None, or the first (first missing, last
    missing) revisions past which a later segment exists: the chain stops there. A segment that ends
    at or before what the chain reached is left out (two members' overlapping segments)."""
    used, reached = [], after
    for name in ordered(names):
        first, last = parse_segment_name(name)
        if last <= reached:
            continue
        if first > reached + 1:
            return used, reached, (reached + 1, first - 1)
        used.append(name)
        reached = last
    return used, reached, None


def watch_revisions(response, received):
    """The revisions of one ``etcdctl watch -w json`` answer: [[revision, received, operations]],
    each operation [op, key, value, lease] (key and value base64 as etcd gives them, lease 0 for
    none; a delete has no value). ``received``: when the stream read the answer (epoch seconds)."""
    grouped = {}
    for event in response.get("Events") or []:
        kv = event.get("kv") or {}
        revision = int(kv.get("mod_revision") or 0)
        if revision < 1:
            raise SegmentError("a watch event without a revision: %s" % json.dumps(event)[:200])
        if int(event.get("type") or 0) == 1:
            operation = [DELETE, kv.get("key", ""), "", 0]
        else:
            operation = [PUT, kv.get("key", ""), kv.get("value", ""), int(kv.get("lease") or 0)]
        grouped.setdefault(revision, []).append(operation)
    return [[revision, round(received, 3), grouped[revision]] for revision in sorted(grouped)]


def leases_of(revisions):
    """The lease IDs the puts of ``revisions`` name."""
    return sorted({op[3] for _rev, _time, ops in revisions for op in ops if op[0] == PUT and op[3]})


def encode_segment(cluster, cluster_id, revisions, leases, uncertain=()):
    """(name, bytes) of a segment of ``revisions`` (watch_revisions', contiguous, in order) of the
    cluster, with ``leases`` {lease ID: granted TTL in seconds} and the ``uncertain`` revisions
    ([first, last, not before], the stream's start: clipped to the segment's revisions)."""
    if not revisions:
        raise ValueError("a segment holds at least one revision")
    numbers = [rev for rev, _time, _ops in revisions]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise ValueError("a segment's revisions follow each other: %s" % numbers)
    clipped = [[max(first, numbers[0]), min(last, numbers[-1]), since] for first, last, since in uncertain
               if first <= numbers[-1] and last >= numbers[0]]
    body = dict(format=FORMAT, cluster=cluster, cluster_id=cluster_id, first=numbers[0], last=numbers[-1],
                revisions=revisions, leases={str(k): int(v) for k, v in leases.items()}, uncertain=clipped)
    return segment_name(numbers[0], numbers[-1]), json.dumps(body, separators=(",", ":")).encode()


def decode_segment(data, name, cluster=None):
    """The content of segment ``name`` (its decrypted bytes ``data``), checked against its name: the
    revisions it says it holds, each once and in order, and (when given) its cluster."""
    span = parse_segment_name(name)
    try:
        body = json.loads(data.decode("utf-8"))
        numbers = [int(rev) for rev, _time, _ops in body["revisions"]]
        content = (body["format"], int(body["first"]), int(body["last"]))
        leases = {int(k): int(v) for k, v in body["leases"].items()}
        uncertain = [[int(first), int(last), float(since)] for first, last, since in body.get("uncertain") or []]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SegmentError("segment %s is no segment of the change stream: %s" % (name, exc)) from None
    if span is None or content != (FORMAT, span[0], span[1]) or numbers != list(range(span[0], span[1] + 1)):
        raise SegmentError("segment %s holds revisions %s..%s (format %s), not those its name says"
                           % (name, content[1], content[2], content[0]))
    if cluster is not None and body.get("cluster") != cluster:
        raise SegmentError("segment %s is of cluster %s, not %s" % (name, body.get("cluster"), cluster))
    return dict(body, leases=leases, uncertain=uncertain)


def point_given(point):
    """Whether ``point`` ({time, revision}, either empty) names a point to restore to."""
    return bool((point or {}).get("time") or (point or {}).get("revision"))


def parse_point_time(text):
    """Epoch seconds of an RFC 3339 time (``2026-11-28T14:03:07Z``, fractions and offsets allowed)."""
    given = str(text).strip()
    try:
        moment = datetime.datetime.fromisoformat(given[:-1] + "+00:00" if given[-1:] in ("Z", "z") else given)
    except ValueError:
        raise ValueError("%r is no RFC 3339 time such as 2026-11-28T14:03:07Z" % given) from None
    if moment.tzinfo is None:
        raise ValueError("%r has no time zone: give one, such as 2026-11-28T14:03:07Z" % given)
    return moment.timestamp()


def shown_time(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def label_epoch(taken):
    """Epoch seconds of a backup's authenticated time (YYYYMMDDTHHMMSSZ)."""
    return calendar.timegm(datetime.datetime.strptime(taken, "%Y%m%dT%H%M%SZ").timetuple())


def backup_candidates(times, point_time=None):
    """The full backups a point-in-time restore may start from, newest first: ``times`` {name: verified
    time}; with ``point_time`` (epoch seconds) only those taken at or before it."""
    return [name for name, taken in sorted(times.items(), key=lambda item: (item[1], item[0]), reverse=True)
            if point_time is None or label_epoch(taken) <= point_time]


def holds_later_writes(segments, revision, point_time):
    """Whether a full backup of ``revision`` holds a write the stream received after ``point_time``:
    then an older backup must be the start (the segments' received times say)."""
    return any(rev <= revision and received > point_time
               for segment in segments for rev, received, _ops in segment["revisions"])


def replay(segments, after, point_time=None, point_revision=None):
    """What a point-in-time restore replays on a full backup of revision ``after``: the decoded
    ``segments`` of its chain, in order, up to ``point_time`` (epoch seconds: every revision received at
    or before it) or ``point_revision`` (included), or all of them.

    Returns {txns: [[revision, [operation]]], leases: {ID: TTL} of the leases the replayed puts name,
    reached: the last revision replayed (``after`` when none), reached_time: when the stream received
    it (None when none)}. Revisions follow ``after`` one by one: each is one transaction, so that the
    replayed etcd reaches the same revision numbers."""
    txns, leases, reached, reached_time = [], {}, after, None
    for segment in segments:
        for rev, received, ops in segment["revisions"]:
            if rev <= reached:
                continue
            if (point_revision is not None and rev > point_revision) or (point_time is not None and received > point_time):
                if point_revision is None:
                    _placed(segment, rev, point_time)
                return dict(txns=txns, leases=leases, reached=reached, reached_time=reached_time)
            if rev != reached + 1:
                raise SegmentError("revision %d follows revision %d in the segments: revisions %d..%d are missing"
                                   % (rev, reached, reached + 1, rev - 1))
            txns.append([rev, ops])
            for op in ops:
                if op[0] == PUT and op[3]:
                    leases[op[3]] = segment["leases"].get(op[3], 0)
            reached, reached_time = rev, received
    return dict(txns=txns, leases=leases, reached=reached, reached_time=reached_time)


def _placed(segment, revision, point_time):
    """Refuse a point in time that falls where the stream cannot tell the revisions apart: the first
    revision past it was read at a stream's start, and made no earlier than ``not before``."""
    for first, last, since in segment.get("uncertain") or []:
        if first <= revision <= last and since <= point_time:
            raise SegmentError(
                "revisions %d..%d were read when a stream started (a member took it over, or a watch began again), "
                "so they were made at some time from %s to %s, and the point %s is in between: restore to a point "
                "outside that, or to a revision with etcd_restore_revision" % (
                    first, last, shown_time(since), shown_time(_received(segment, last)), shown_time(point_time)))


def _received(segment, revision):
    return next(received for rev, received, _ops in segment["revisions"] if rev == revision)


def txn_request(ops):
    """The v3 gateway's ``/v3/kv/txn`` body of one replayed revision: its puts and deletes, unconditioned."""
    requests = []
    for op, key, value, lease in ops:
        if op == PUT:
            put = dict(key=key, value=value)
            if lease:
                put["lease"] = str(lease)
            requests.append(dict(request_put=put))
        else:
            requests.append(dict(request_delete_range=dict(key=key)))
    return dict(success=requests)


def lease_request(lease_id, ttl):
    """The v3 gateway's ``/v3/lease/grant`` body that gives the replayed etcd lease ``lease_id`` again;
    a TTL the stream could not read (0: the lease was gone by then) becomes 1 s: its keys go soon, as
    they did."""
    return {"ID": str(lease_id), "TTL": str(max(int(ttl), 1))}
