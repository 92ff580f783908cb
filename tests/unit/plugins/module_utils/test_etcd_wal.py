"""The offline reader of etcd's write-ahead log: IDs, the last hard state and the end of the log,
across files, with padding, overwritten tails, snapshots, preallocated zeros and torn records."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster.wal import (
    WalError, fields, frames, log_state, v2_content, v2_store_content)
from ansible_collections.raftops.etcd.tests.unit.plugins.wal_builder import (
    conf_change, crc, entry, frame, hard_state, member_attr_set, message, metadata, record, snap_file, snapshot,
    v2_publish, v2_request)

ADD, REMOVE, UPDATE, ADD_LEARNER = 0, 1, 2, 3


def peer(number):
    return "https://10.0.0.1%d:2380" % number


def bootstrap(*ids):
    """The entries a new cluster starts its log with: one AddNode per initial member, then each publishes its name."""
    entries = [conf_change(1, index, ADD, member_id, id=member_id, peerURLs=[peer(index)])
               for index, member_id in enumerate(ids, start=1)]
    entries += [member_attr_set(2, len(ids) + index, member_id, "m%d" % index, "https://10.0.0.1%d:2379" % index)
                for index, member_id in enumerate(ids, start=1)]
    return b"".join(frame(item) for item in [metadata(ids[0], 0xC), snapshot(0, 0), *entries])


def summary(state):
    return [(member["id"], member["name"], member["peer_urls"], member["learner"]) for member in state["members"]]


def write(tmp_path, *files):
    for number, content in enumerate(files):
        (tmp_path / ("%016x-%016x.wal" % (number, number * 10))).write_bytes(content)
    return str(tmp_path)


def test_fields_reads_varints_and_bytes_keeping_the_last_value():
    assert fields(message((1, 300), (3, b"abc"), (1, 2 ** 63))) == {1: 2 ** 63, 3: b"abc"}
    with pytest.raises(WalError, match="truncated varint"):
        fields(b"\x08\x80")


def test_frames_are_padded_to_eight_bytes_and_end_at_zeros():
    records, torn = frames(frame(entry(1, 1, b"x")) + frame(entry(1, 2, b"longer data")) + bytes(4096))
    assert [kind for kind, _data in records] == [2, 2] and not torn


def test_a_member_log_gives_ids_hard_state_and_last_entry(tmp_path):
    wal = write(tmp_path, frame(crc()) + frame(metadata(0xAABB, 0xCCDD)) + frame(snapshot(0, 0))
                + b"".join(frame(entry(2, index)) for index in range(1, 8)) + frame(hard_state(2, 0xAABB, 6))
                + bytes(1024))
    assert log_state(wal) == dict(node_id=0xAABB, cluster_id=0xCCDD, term=2, vote=0xAABB, commit=6, last_index=7,
                                  last_term=2, snapshot_index=0, snapshot_term=0, files=1, torn_tail=False,
                                  members=[], members_error="")


def test_an_overwritten_tail_ends_the_log_where_the_new_leader_wrote(tmp_path):
    body = b"".join(frame(entry(2, index)) for index in range(1, 10)) + frame(entry(3, 6)) + frame(hard_state(3, 1, 6))
    state = log_state(write(tmp_path, frame(metadata(1, 2)) + body))
    assert (state["last_index"], state["last_term"], state["commit"]) == (6, 3, 6)


def test_the_log_goes_on_in_later_files_and_an_empty_hard_state_says_nothing(tmp_path):
    first = frame(metadata(1, 2)) + frame(entry(2, 1)) + frame(hard_state(2, 1, 1))
    second = frame(crc()) + frame(metadata(1, 2)) + frame(hard_state(2, 1, 1)) + frame(entry(2, 2)) + frame(entry(2, 3)) \
        + frame(hard_state(2, 1, 3)) + frame(record(3, b""))
    state = log_state(write(tmp_path, first, second))
    assert (state["files"], state["commit"], state["last_index"]) == (2, 3, 3)


def test_a_snapshot_beyond_the_entries_is_where_the_log_ends(tmp_path):
    state = log_state(write(tmp_path, frame(metadata(1, 2)) + frame(snapshot(500, 4)) + frame(hard_state(4, 1, 500))))
    assert (state["last_index"], state["last_term"], state["snapshot_index"]) == (500, 4, 500)


def test_a_torn_last_record_is_noted_and_the_records_before_it_count(tmp_path):
    whole = frame(metadata(1, 2)) + frame(entry(2, 1)) + frame(hard_state(2, 1, 1))
    torn = frame(entry(2, 2, b"x" * 100))[:50]
    state = log_state(write(tmp_path, whole + torn))
    assert state["torn_tail"] and (state["commit"], state["last_index"]) == (1, 1)


def test_damage_before_the_last_file_is_refused(tmp_path):
    wal = write(tmp_path, frame(metadata(1, 2)) + frame(entry(2, 1))[:12], frame(metadata(1, 2)))
    with pytest.raises(WalError, match=r"0000000000000000-0000000000000000\.wal is damaged before its end"):
        log_state(wal)


def test_a_length_beyond_any_record_is_a_torn_tail(tmp_path):
    state = log_state(write(tmp_path, frame(metadata(1, 2)) + (2 ** 40).to_bytes(8, "little") + bytes(16)))
    assert state["torn_tail"] and state["cluster_id"] == 2


def test_the_members_are_those_of_the_bootstrap_and_their_published_names(tmp_path):
    state = log_state(write(tmp_path, bootstrap(11, 12, 13) + frame(hard_state(2, 11, 6))))
    assert state["members_error"] == ""
    assert summary(state) == [(11, "m1", [peer(1)], False), (12, "m2", [peer(2)], False), (13, "m3", [peer(3)], False)]
    assert state["members"][0]["client_urls"] == ["https://10.0.0.11:2379"]


def test_learners_promotions_removals_and_peer_url_updates_are_replayed_in_order(tmp_path):
    changes = [conf_change(2, 7, ADD_LEARNER, 14, id=14, peerURLs=[peer(4)], isLearner=True),
               conf_change(2, 8, REMOVE, 12), conf_change(2, 9, UPDATE, 13, id=13, peerURLs=[peer(7)]),
               v2_publish(2, 10, 14, "m4", "https://10.0.0.14:2379")]
    state = log_state(write(tmp_path, bootstrap(11, 12, 13) + b"".join(frame(item) for item in changes)
                            + frame(hard_state(2, 11, 10))))
    assert summary(state) == [(11, "m1", [peer(1)], False), (13, "m3", [peer(7)], False), (14, "m4", [peer(4)], True)]
    promoted = log_state(write(tmp_path, bootstrap(11, 12, 13) + b"".join(frame(item) for item in changes)
                               + frame(conf_change(2, 11, ADD, 14, id=14, isPromote=True))
                               + frame(hard_state(2, 11, 11))))
    assert summary(promoted)[-1] == (14, "m4", [peer(4)], False)


def test_changes_not_committed_or_overwritten_do_not_count(tmp_path):
    removal = frame(conf_change(2, 7, REMOVE, 13))
    uncommitted = log_state(write(tmp_path, bootstrap(11, 12, 13) + removal + frame(hard_state(2, 11, 6))))
    assert [member["id"] for member in uncommitted["members"]] == [11, 12, 13]
    overwritten = log_state(write(tmp_path, bootstrap(11, 12, 13) + removal + frame(entry(3, 7))
                                  + frame(hard_state(3, 11, 7))))
    assert [member["id"] for member in overwritten["members"]] == [11, 12, 13]


def test_a_log_after_a_snapshot_starts_from_the_snap_file_it_records(tmp_path):
    wal_dir, snap_dir = tmp_path / "wal", tmp_path / "snap"
    wal_dir.mkdir()
    snap_dir.mkdir()
    members = {11: ("m1", peer(1), "c1"), 12: ("m2", peer(2), "c2"), 14: ("m4", peer(4), "c4")}
    (snap_dir / ("%016x-%016x.snap" % (3, 500))).write_bytes(snap_file(500, 3, [11, 12], [14], members))
    conf_state = message((1, 11), (1, 12), (2, 14))
    log = frame(metadata(11, 0xC)) + frame(snapshot(500, 3, conf_state)) \
        + frame(conf_change(3, 501, REMOVE, 12)) + frame(hard_state(3, 11, 501))
    state = log_state(write(wal_dir, log), str(snap_dir))
    assert summary(state) == [(11, "m1", [peer(1)], False), (14, "m4", [peer(4)], True)]
    assert state["members"][0]["client_urls"] == ["c1"]
    missing = log_state(str(wal_dir), str(tmp_path / "nowhere"))
    assert missing["members"] == []
    assert missing["members_error"] == "the log starts after raft snapshot 500, which the snap directory does not hold"


def v2_dirs(tmp_path, log, snaps=()):
    """A member's wal and snap directories: ``log`` as its one WAL file, ``snaps`` (index, v2 nodes) as snap files."""
    wal_dir, snap_dir = tmp_path / "wal", tmp_path / "snap"
    wal_dir.mkdir()
    snap_dir.mkdir()
    for index, nodes in snaps:
        (snap_dir / ("%016x-%016x.snap" % (2, index))).write_bytes(snap_file(index, 2, [11], [], {}, nodes))
    return write(wal_dir, log), str(snap_dir)


KEYS = {"1": {"Children": {"config": {"Value": "x"}}}}
EMPTY_AUTH = {"2": {"Children": {"enabled": {"Value": "false"}, "users": {"Children": {}}, "roles": {"Children": {}}}}}
AUTH_USER = {"2": {"Children": {"users": {"Children": {"alice": {"Value": "{}"}}}}}}


def test_v2_content_is_what_etcd_3_6_refuses_of_a_v2_store():
    # Only /0 (members, cluster version) and the empty /2/users and /2/roles v2 auth leaves behind are not content.
    store = {"Root": {"Children": {"0": {"Children": {"members": {"Children": {"b": {}}}}}, "1": {"Children": {}}}}}
    assert v2_store_content(store) == []
    assert v2_store_content({"Root": {"Children": dict(EMPTY_AUTH)}}) == []
    assert v2_store_content({"Root": {"Children": dict(KEYS, **AUTH_USER)}}) == ["/1", "/2"]
    assert v2_store_content({}) == []


def test_v2_content_reads_the_newest_committed_snapshot_the_log_records(tmp_path):
    log = frame(metadata(11, 0xC)) + frame(snapshot(100, 2)) + frame(snapshot(200, 2)) + frame(snapshot(300, 2)) \
        + frame(hard_state(2, 11, 250))
    # 300 is not committed; 200 is, with v2 keys; 100 is older.
    wal_dir, snap_dir = v2_dirs(tmp_path, log, [(100, {}), (200, KEYS), (300, {})])
    assert v2_content(wal_dir, snap_dir) == dict(snapshot_index=200, nodes=["/1"], requests=[])
    # A snap file the log does not record is not etcd's starting point.
    (tmp_path / "snap" / ("%016x-%016x.snap" % (2, 200))).unlink()
    assert v2_content(wal_dir, snap_dir) == dict(snapshot_index=100, nodes=[], requests=[])


def test_v2_requests_after_the_snapshot_count_but_those_3_6_still_applies(tmp_path):
    log = frame(metadata(11, 0xC)) + frame(snapshot(10, 2)) + b"".join(frame(item) for item in [
        v2_request(2, 9, b"PUT", b"/1/before-the-snapshot"),
        v2_request(2, 11, b"PUT", b"/0/members/b/attributes", b"{}"),
        v2_request(2, 12, b"PUT", b"/0/version", b"3.4.0"),
        member_attr_set(2, 13, 11, "m1", "https://10.0.0.11:2379"),
        entry(2, 14, message((100, message((1, 7))), (4, message((1, b"/1/v3-key"), (2, b"v"))))),
        v2_request(2, 15, b"PUT", b"/1/config", b"x"),
        v2_request(2, 16, b"SYNC", b""),
        v2_request(2, 17, b"DELETE", b"/1/old"),
        v2_request(2, 18, b"QGET", b"/1/config"),
    ]) + frame(hard_state(2, 11, 18))
    wal_dir, snap_dir = v2_dirs(tmp_path, log, [(10, EMPTY_AUTH)])
    assert v2_content(wal_dir, snap_dir) == dict(
        snapshot_index=10, nodes=[], requests=["PUT /1/config", "SYNC", "DELETE /1/old", "QGET /1/config"])


def test_a_v2_request_the_log_overwrote_does_not_count(tmp_path):
    log = frame(metadata(11, 0xC)) + frame(v2_request(2, 5, b"PUT", b"/1/lost")) \
        + frame(entry(3, 5)) + frame(hard_state(3, 11, 5))
    assert v2_content(*v2_dirs(tmp_path, log)) == dict(snapshot_index=0, nodes=[], requests=[])
