"""The offline reader of etcd's write-ahead log: IDs, the last hard state and the end of the log,
across files, with padding, overwritten tails, snapshots, preallocated zeros and torn records."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_wal import WalError, fields, frames, log_state
from ansible_collections.raftops.etcd.tests.unit.plugins.wal_builder import (
    crc, entry, frame, hard_state, message, metadata, record, snapshot)


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
                                  last_term=2, snapshot_index=0, snapshot_term=0, files=1, torn_tail=False)


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
