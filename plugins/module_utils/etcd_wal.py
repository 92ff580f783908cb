# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Read what a stopped member's write-ahead log says, without etcd.

Quorum recovery picks the survivor whose log has the most committed entries; this reads each
survivor's log offline, in pure Python, so that hosts need nothing but python3.

A WAL directory holds files named <seq>-<index>.wal. Each is a stream of frames: an 8-byte
little-endian length field (record length in the low 56 bits; when the top bit is set, the three
bits below it give the padding that aligns the frame to 8 bytes) and a walpb.Record protobuf
{1: type, 2: crc, 3: data}. Preallocated space after the last frame is zeros.
"""

import os

# walpb record types.
METADATA, ENTRY, STATE, CRC, SNAPSHOT = 1, 2, 3, 4, 5
# Wire types of protobuf fields.
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
# etcd refuses records this large; a length beyond it is a torn or garbage frame, not a record.
MAX_RECORD_BYTES = 10 * 1024 * 1024


class WalError(Exception):
    pass


def read_varint(data, pos):
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise WalError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise WalError("varint too long")


def fields(data):
    """{field number: last value} of a protobuf message: ints for varints, bytes otherwise."""
    values, pos = {}, 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = read_varint(data, pos)
        elif wire == LENGTH_DELIMITED:
            size, pos = read_varint(data, pos)
            value, pos = bytes(data[pos:pos + size]), pos + size
            if pos > len(data):
                raise WalError("truncated field %d" % number)
        elif wire == FIXED64:
            value, pos = bytes(data[pos:pos + 8]), pos + 8
        elif wire == FIXED32:
            value, pos = bytes(data[pos:pos + 4]), pos + 4
        else:
            raise WalError("unsupported wire type %d" % wire)
        values[number] = value
    return values


def frames(data):
    """(record type, record data) of each frame, stopping at preallocated zeros or a torn tail.

    Returns the records and whether the stream ended in a torn or unreadable frame.
    """
    records, pos = [], 0
    while pos + 8 <= len(data):
        length_field = int.from_bytes(data[pos:pos + 8], "little")
        if length_field == 0:
            return records, False
        length = length_field & ((1 << 56) - 1)
        padding = (length_field >> 56) & 0x7 if length_field >> 63 else 0
        end = pos + 8 + length
        if length > MAX_RECORD_BYTES or end + padding > len(data):
            return records, True
        try:
            record = fields(data[pos + 8:end])
        except WalError:
            return records, True
        records.append((record.get(1, 0), record.get(3, b"")))
        pos = end + padding
    return records, pos != len(data)


def wal_files(wal_dir):
    """The .wal files of a directory in log order (their names sort by sequence)."""
    return sorted(name for name in os.listdir(wal_dir) if name.endswith(".wal"))


def log_state(wal_dir):
    """What the member's log holds: IDs, the last hard state and the last entry.

    Entries are replayed in order: an entry at an index at or below the last one truncates the log
    there (raft overwrote a conflicting tail), so the last entry read is the end of the log.
    """
    state = dict(node_id=None, cluster_id=None, term=0, vote=0, commit=0, last_index=0, last_term=0,
                 snapshot_index=0, snapshot_term=0, files=0, torn_tail=False)
    names = wal_files(wal_dir)
    state["files"] = len(names)
    for number, name in enumerate(names):
        with open(os.path.join(wal_dir, name), "rb") as handle:
            records, torn = frames(handle.read())
        # Only the last file may end torn: etcd repairs it on the next start.
        if torn and number < len(names) - 1:
            raise WalError("%s is damaged before its end" % name)
        state["torn_tail"] = torn
        for kind, data in records:
            apply_record(state, kind, data)
    return state


def apply_record(state, kind, data):
    values = fields(data)
    if kind == METADATA:
        state["node_id"], state["cluster_id"] = values.get(1, 0), values.get(2, 0)
    elif kind == STATE and values:
        # An empty hard state is written when the file is cut before any election; it says nothing.
        state["term"], state["vote"], state["commit"] = values.get(1, 0), values.get(2, 0), values.get(3, 0)
    elif kind == SNAPSHOT:
        state["snapshot_index"], state["snapshot_term"] = values.get(1, 0), values.get(2, 0)
        if state["snapshot_index"] > state["last_index"]:
            state["last_index"], state["last_term"] = state["snapshot_index"], state["snapshot_term"]
    elif kind == ENTRY:
        state["last_term"], state["last_index"] = values.get(2, 0), values.get(3, 0)
