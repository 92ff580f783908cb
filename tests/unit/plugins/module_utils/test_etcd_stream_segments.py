"""The change stream's segments (module_utils/backup/stream_segments.py): names and their order, the
chain a point-in-time restore reads and its gaps, the choice of the full backup for a point, and the
replay of the revisions as requests to the v3 gateway."""

import base64
import json

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import stream_segments as s


def b64(text):
    return base64.b64encode(text.encode()).decode()


def name(first, last):
    return s.segment_name(first, last)


def test_a_segment_is_named_by_its_revisions_zero_padded_so_names_sort_by_revision():
    assert name(7, 12) == "etcd-stream-0000000000000007-0000000000000012.enc"
    assert s.parse_segment_name(name(7, 12)) == (7, 12)
    assert sorted([name(100, 120), name(9, 99)]) == [name(9, 99), name(100, 120)]


@pytest.mark.parametrize("other", ["etcd-snapshot-20261126T030000Z.db.enc", "etcd-stream-1-2.enc",
                                   "etcd-stream-0000000000000009-0000000000000007.enc", name(1, 2) + ".part",
                                   "x" + name(1, 2)])
def test_other_names_are_no_segments(other):
    assert s.parse_segment_name(other) is None and not s.is_segment_object(other)


def test_a_segment_of_no_revision_or_backwards_is_refused():
    with pytest.raises(ValueError, match="0 < first <= last"):
        s.segment_name(5, 4)
    with pytest.raises(ValueError, match="0 < first <= last"):
        s.segment_name(0, 4)


def test_the_chain_follows_the_segments_from_the_full_backup_and_stops_at_a_gap():
    names = [name(1, 10), name(11, 20), name(21, 30), name(41, 50), "notes.txt"]
    assert s.chain(names, 15) == ([name(11, 20), name(21, 30)], 30, (31, 40))
    assert s.chain(names, 30) == ([], 30, (31, 40))
    assert s.chain(names[:3], 15) == ([name(11, 20), name(21, 30)], 30, None)
    assert s.gaps(names) == [(31, 40)]
    assert s.gaps(names, after=0) == [(31, 40)] and s.gaps([name(5, 9)], after=2) == [(3, 4)]
    assert s.last_shipped(names) == 50 and s.last_shipped(["notes.txt"]) == 0


def test_overlapping_segments_of_two_members_make_no_gap():
    # A member killed after shipping 11..20 and the one that took over shipping 11..25 again.
    names = [name(1, 10), name(11, 20), name(11, 25), name(26, 30)]
    assert s.chain(names, 0) == ([name(1, 10), name(11, 20), name(11, 25), name(26, 30)], 30, None)
    assert s.gaps(names) == []


def test_the_first_missing_segment_after_the_backup_is_a_gap_even_right_after_it():
    assert s.chain([name(12, 20)], 10) == ([], 10, (11, 11))


def watch_answer():
    return {"Header": {"revision": 5}, "Events": [
        {"kv": {"key": b64("/a"), "mod_revision": 2, "value": b64("1")}},
        {"kv": {"key": b64("/b"), "mod_revision": 3, "value": b64("2"), "lease": 77}},
        {"type": 1, "kv": {"key": b64("/a"), "mod_revision": 4}},
        {"kv": {"key": b64("/c"), "mod_revision": 5, "value": b64("3")}},
        {"kv": {"key": b64("/d"), "mod_revision": 5, "value": b64("4")}}]}


def test_a_watch_answer_becomes_revisions_each_with_its_operations_and_time():
    revisions = s.watch_revisions(watch_answer(), 1000.0004)
    assert [r[0] for r in revisions] == [2, 3, 4, 5] and all(r[1] == 1000.0 for r in revisions)
    assert revisions[1][2] == [["put", b64("/b"), b64("2"), 77]]
    assert revisions[2][2] == [["delete", b64("/a"), "", 0]]
    assert len(revisions[3][2]) == 2  # one transaction of two puts
    assert s.leases_of(revisions) == [77]


def test_a_watch_event_without_a_revision_is_refused():
    with pytest.raises(s.SegmentError, match="without a revision"):
        s.watch_revisions({"Events": [{"kv": {"key": b64("/a")}}]}, 1.0)


def segment(first_time, revisions, leases=None, cluster_id="c1"):
    built = [[rev, first_time + i, ops] for i, (rev, ops) in enumerate(revisions)]
    seg_name, data = s.encode_segment("etcd/etcd", cluster_id, built, leases or {})
    return seg_name, data


def put(key, value, lease=0):
    return ["put", b64(key), b64(value), lease]


def test_a_segment_round_trips_and_is_checked_against_its_name():
    seg_name, data = segment(100.0, [(11, [put("/a", "1")]), (12, [put("/b", "2", 9)])], {9: 30})
    assert seg_name == name(11, 12)
    decoded = s.decode_segment(data, seg_name, "etcd/etcd")
    assert decoded["leases"] == {9: 30} and decoded["cluster_id"] == "c1"
    with pytest.raises(s.SegmentError, match=r"holds revisions 11\.\.12 .*not those its name says"):
        s.decode_segment(data, name(11, 13))
    with pytest.raises(s.SegmentError, match="is of cluster etcd/etcd, not other"):
        s.decode_segment(data, seg_name, "other")
    with pytest.raises(s.SegmentError, match="is no segment of the change stream"):
        s.decode_segment(b"{}", seg_name)


def test_a_segment_whose_revisions_do_not_follow_each_other_is_not_written():
    with pytest.raises(ValueError, match="follow each other"):
        s.encode_segment("etcd/etcd", "c1", [[11, 1.0, [put("/a", "1")]], [13, 2.0, [put("/a", "2")]]], {})


def decoded(*specs):
    return [s.decode_segment(data, seg_name) for seg_name, data in (segment(*spec) for spec in specs)]


def test_replay_to_a_time_takes_every_revision_received_by_then_and_nothing_after():
    segs = decoded((100.0, [(11, [put("/a", "1")]), (12, [put("/b", "2", 9)])], {9: 60}),
                   (102.0, [(13, [["delete", b64("/a"), "", 0]]), (14, [put("/c", "3")])]))
    plan = s.replay(segs, 10, point_time=102.5)
    assert [t[0] for t in plan["txns"]] == [11, 12, 13] and plan["reached"] == 13 and plan["reached_time"] == 102.0
    assert plan["leases"] == {9: 60}
    assert s.replay(segs, 10, point_time=99.0) == dict(txns=[], leases={}, reached=10, reached_time=None)
    assert s.replay(segs, 12, point_revision=14)["txns"] == [[13, [["delete", b64("/a"), "", 0]]], [14, [put("/c", "3")]]]
    assert s.replay(segs, 10)["reached"] == 14


def test_replay_refuses_revisions_that_do_not_follow_the_backup():
    segs = decoded((100.0, [(11, [put("/a", "1")])]), (101.0, [(14, [put("/c", "3")])]))
    with pytest.raises(s.SegmentError, match=r"revisions 12\.\.13 are missing"):
        s.replay(segs, 10)


def test_a_backup_that_holds_a_write_received_after_the_point_is_not_the_start():
    segs = decoded((100.0, [(11, [put("/a", "1")]), (12, [put("/b", "2")])]))
    assert s.holds_later_writes(segs, 12, 100.5)
    assert not s.holds_later_writes(segs, 11, 100.5)


def test_the_backups_for_a_point_are_those_taken_by_then_newest_first():
    times = {"etcd-snapshot-a.db.enc": "20261128T120000Z", "etcd-snapshot-b.db.enc": "20261128T130000Z",
             "etcd-snapshot-c.db.enc": "20261128T140000Z"}
    point = s.parse_point_time("2026-11-28T13:30:00Z")
    assert s.backup_candidates(times, point) == ["etcd-snapshot-b.db.enc", "etcd-snapshot-a.db.enc"]
    assert s.backup_candidates(times)[0] == "etcd-snapshot-c.db.enc"
    assert s.backup_candidates(times, s.parse_point_time("2026-11-28T11:00:00Z")) == []


@pytest.mark.parametrize("given, expected", [("2026-11-28T14:03:07Z", 1795874587.0),
                                             ("2026-11-28T15:03:07.5+01:00", 1795874587.5)])
def test_point_times_are_rfc3339_with_a_zone(given, expected):
    assert s.parse_point_time(given) == expected
    assert s.shown_time(expected).startswith("2026-11-28T14:03:07")


@pytest.mark.parametrize("given", ["2026-11-28 14:03:07", "2026-11-28T14:03:07", "yesterday", ""])
def test_a_point_time_without_a_zone_or_no_time_is_refused(given):
    with pytest.raises(ValueError, match=r"RFC 3339|time zone"):
        s.parse_point_time(given)


def test_a_replayed_revision_is_one_unconditioned_transaction_of_its_puts_and_deletes():
    request = s.txn_request([put("/b", "2", 9), ["delete", b64("/a"), "", 0]])
    assert request == {"success": [{"request_put": {"key": b64("/b"), "value": b64("2"), "lease": "9"}},
                                   {"request_delete_range": {"key": b64("/a")}}]}
    assert "compare" not in json.dumps(request)
    assert s.lease_request(9, 60) == {"ID": "9", "TTL": "60"}
    assert s.lease_request(9, 0) == {"ID": "9", "TTL": "1"}  # gone by the time the stream asked: its keys go soon


def test_a_point_is_given_by_a_time_or_a_revision():
    assert not s.point_given(None) and not s.point_given({"time": "", "revision": 0})
    assert s.point_given({"time": "2026-11-28T14:03:07Z"}) and s.point_given({"revision": 4})


def test_revisions_read_at_a_stream_s_start_cannot_place_a_point_between_their_bounds():
    # Revisions 13..14 were read when a member took the stream over at 105.0; the last segment before
    # ended at 101.0: they were made some time in between.
    seg_name, data = s.encode_segment("etcd/etcd", "c1", [[13, 105.0, [put("/a", "1")]], [14, 105.0, [put("/b", "2")]],
                                                          [15, 106.0, [put("/c", "3")]]], {}, [[10, 14, 101.0]])
    segs = [s.decode_segment(data, seg_name)]
    assert segs[0]["uncertain"] == [[13, 14, 101.0]]  # clipped to the segment's revisions
    assert s.replay(segs, 12, point_time=100.0)["reached"] == 12  # before it: none of them
    assert s.replay(segs, 12, point_time=105.5)["reached"] == 14  # after it: all of them
    with pytest.raises(s.SegmentError, match=r"revisions 13\.\.14 were read when a stream started .* the point "
                                             r"1970-01-01T00:01:43\.000Z is in between: restore to a point outside"):
        s.replay(segs, 12, point_time=103.0)
    assert s.replay(segs, 12, point_revision=13)["reached"] == 13  # a revision is always placed
