import hashlib
import io
import json
import os
import struct

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import snapshot_file as sf
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import (
    build_db,
    build_snapshot,
    stream_lines,
    stream_messages,
)

PAGE = 4096


def flip(data, offset):
    data = bytearray(data)
    data[offset] ^= 0x01
    return bytes(data)


# -- FNV-1a and helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [(b"", 0xCBF29CE484222325), (b"a", 0xAF63DC4C8601EC8C), (b"foobar", 0x85944171F73967E8)],
)
def test_fnv1a64_known_vectors(data, expected):
    assert sf.fnv1a64(data) == expected


# -- file checks -------------------------------------------------------------------------------


def test_valid_snapshot_passes_every_check_and_reads_revision_and_keys():
    snapshot = build_snapshot()
    report = sf.check_snapshot(snapshot)
    assert report["errors"] == [] and report["warnings"] == []
    assert report["checks"] == dict(size_aligned=True, hash_ok=True, page_aligned=True, meta_ok=True)
    assert report["size"] == 7 * PAGE + 32 and report["db_size"] == 7 * PAGE
    assert report["page_size"] == PAGE
    assert report["hash_expected"] == report["hash_actual"] == hashlib.sha256(snapshot[:-32]).hexdigest()
    assert report["sha256"] == hashlib.sha256(snapshot).hexdigest()
    # revision: last key of the key bucket (a branch with two leaves); keys: 6 revisions + 1 inline meta key
    assert (report["revision"], report["total_key"], report["total_size"]) == (7, 7, 7 * PAGE)
    assert report["buckets"] == ["key", "meta"]


def test_other_page_sizes_work():
    report = sf.check_snapshot(build_snapshot(page_size=1024, revisions=tuple(range(2, 12))))
    assert report["errors"] == []
    assert (report["page_size"], report["revision"], report["total_key"]) == (1024, 11, 11)


def test_revision_without_counting_keys_and_without_hashing():
    report = sf.check_snapshot(build_snapshot(), verify_hash=False, count_keys=False)
    assert report["errors"] == []
    assert report["revision"] == 7 and report["total_key"] is None
    assert report["sha256"] is None and report["checks"]["hash_ok"] is None


def test_flipped_data_byte_is_a_hash_mismatch_naming_both_hashes():
    snapshot = build_snapshot()
    damaged = flip(snapshot, 5 * PAGE + 100)
    report = sf.check_snapshot(damaged)
    assert report["checks"]["hash_ok"] is False
    assert report["checks"]["meta_ok"] is True and report["checks"]["size_aligned"] is True
    expected = hashlib.sha256(snapshot[:-32]).hexdigest()
    actual = hashlib.sha256(damaged[:-32]).hexdigest()
    assert report["errors"] == [
        "SHA-256 mismatch: the trailer expects %s but the data hashes to %s (the file was altered or damaged "
        "after it was saved)" % (expected, actual)
    ]
    assert report["revision"] is None  # nothing is read from a damaged file


def test_flipped_byte_in_the_trailer_is_a_hash_mismatch():
    report = sf.check_snapshot(flip(build_snapshot(), 7 * PAGE + 3))
    assert report["checks"]["hash_ok"] is False
    assert report["errors"][0].startswith("SHA-256 mismatch")


def test_flipped_byte_in_a_meta_page_fails_hash_and_meta_checksum():
    report = sf.check_snapshot(flip(build_snapshot(), 16 + 40))  # inside meta page 0's root pgid
    assert report["checks"]["hash_ok"] is False and report["checks"]["meta_ok"] is False
    assert report["errors"][0].startswith("SHA-256 mismatch")
    assert "meta page 0 at offset 0: checksum 0x" in report["errors"][1]


def test_truncated_snapshot_names_the_size():
    snapshot = build_snapshot()
    report = sf.check_snapshot(snapshot[:-1000])
    assert report["checks"]["size_aligned"] is False and report["checks"]["hash_ok"] is None
    assert report["errors"][0] == (
        "truncated or damaged: the size %d leaves %d bytes over a multiple of 512, a snapshot leaves 32"
        % (len(snapshot) - 1000, (len(snapshot) - 1000) % 512)
    )
    # the meta page says 7 pages are in use; the file no longer holds them
    assert any(e.startswith("truncated: the meta page says 7 pages") for e in report["errors"])


def test_truncated_at_a_page_boundary_has_no_trailer():
    report = sf.check_snapshot(build_snapshot()[:4 * PAGE])
    assert report["errors"][0].startswith("no SHA-256 trailer: the size 16384 is a multiple of 512")
    assert report["checks"]["page_aligned"] is False


def test_truncated_to_one_page_with_a_valid_trailer_misses_meta_page_1():
    db = build_db()[:PAGE]
    report = sf.check_snapshot(db + hashlib.sha256(db).digest())
    assert report["checks"]["hash_ok"] is True and report["checks"]["meta_ok"] is False
    assert report["errors"][0] == "meta page 1 at offset 4096: missing: the file ends at byte 4128"


def test_bare_bbolt_database_is_not_a_snapshot():
    report = sf.check_snapshot(build_db())
    assert "bare bbolt database (for example a copy of member/snap/db)" in report["errors"][0]


def test_not_a_snapshot_at_all():
    data = os.urandom(8192) + b"\0" * 32
    report = sf.check_snapshot(b"\x00" * 16 + b"\x01\x02\x03\x04" + data)
    assert report["errors"] == ["not an etcd snapshot: no bbolt magic 0xED0CDAED at offset 16 (found 0x04030201)"]
    assert report["checks"] == dict(size_aligned=None, hash_ok=None, page_aligned=None, meta_ok=None)


@pytest.mark.parametrize("size, message", [(0, "the file is empty"), (100, "the file is 100 bytes, too small")])
def test_empty_and_tiny_files(size, message):
    assert sf.check_snapshot(b"x" * size)["errors"][0].startswith(message)


def test_wrong_page_size_in_the_meta_page():
    # meta pages claim 8192-byte pages (with valid checksums) but the file is laid out in 4096-byte pages
    report = sf.check_snapshot(build_snapshot(claimed_page_size=8192))
    assert report["checks"]["hash_ok"] is True
    assert report["checks"]["page_aligned"] is False and report["checks"]["meta_ok"] is False
    assert report["errors"][0] == "the database is 28672 bytes, not a multiple of its page size 8192"
    assert report["errors"][1].startswith("meta page 1 at offset 8192: no bbolt magic")


def test_page_size_that_is_not_a_power_of_two():
    report = sf.check_snapshot(build_snapshot(claimed_page_size=3000))
    assert report["errors"] == ["meta page 0 at offset 0: page size 3000 is not a power of two between 512 and 1 MiB"]


def test_wrong_bbolt_version():
    db = bytearray(build_db())
    struct.pack_into("<I", db, 20, 1)  # version of meta page 0, checksum left stale
    db = bytes(db)
    report = sf.check_snapshot(db + hashlib.sha256(db).digest())
    assert report["errors"] == ["meta page 0 at offset 0: bbolt version 1, expected 2"]


def test_damaged_tree_with_a_valid_hash_is_a_warning_not_a_crash():
    db = bytearray(build_db())
    struct.pack_into("<Q", db, 4 * PAGE + 16 + 16 + 8, 99)  # branch child pgid -> outside the database
    db = bytes(db)
    report = sf.check_snapshot(db + hashlib.sha256(db).digest())
    assert report["errors"] == []
    assert report["warnings"] == ["could not read the keys of the database: page 99 is outside the database"]
    assert report["revision"] is None


def test_check_snapshot_file_reads_through_mmap(tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(build_snapshot())
    report = sf.check_snapshot_file(str(path))
    assert report["errors"] == [] and report["revision"] == 7 and report["path"] == str(path)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert sf.check_snapshot_file(str(empty))["errors"] == ["the file is empty"]


def test_check_snapshot_file_missing_and_directory(tmp_path):
    with pytest.raises(sf.SnapshotError, match=r"snapshot file .*/nope\.db does not exist"):
        sf.check_snapshot_file(str(tmp_path / "nope.db"))
    with pytest.raises(sf.SnapshotError, match="is not a regular file"):
        sf.check_snapshot_file(str(tmp_path))


# -- stream decoding ---------------------------------------------------------------------------


def test_stream_of_json_lines_reproduces_the_snapshot():
    snapshot = build_snapshot()
    out = io.BytesIO()
    summary = sf.copy_stream(sf.iter_messages(stream_lines(snapshot, chunk=3000)), out)
    assert out.getvalue() == snapshot
    assert summary == dict(
        size=len(snapshot), db_size=len(snapshot) - 32, sha256=hashlib.sha256(snapshot).hexdigest(),
        hash=snapshot[-32:].hex(), messages=11, storage_version="",
    )


def test_stream_of_unwrapped_results_as_the_client_yields_them():
    snapshot = build_snapshot()
    out = io.BytesIO()
    sf.copy_stream(stream_messages(snapshot, wrap=False), out)
    assert out.getvalue() == snapshot


def test_single_chunk_stream_without_remaining_bytes():
    # a small database fits one 32 KiB blob: neither message carries remaining_bytes (seen on etcd 3.5.1)
    snapshot = build_snapshot()
    messages = stream_messages(snapshot, chunk=1 << 20)
    assert len(messages) == 2 and all("remaining_bytes" not in m["result"] for m in messages)
    assert sf.copy_stream(messages, io.BytesIO())["db_size"] == 7 * PAGE


def test_empty_blob_before_the_hash_and_storage_version_are_accepted():
    snapshot = build_snapshot()
    messages = stream_messages(snapshot, chunk=PAGE)
    messages.insert(-1, {"result": {"version": "3.6.0"}})  # a message with its blob omitted
    summary = sf.copy_stream(messages, io.BytesIO())
    assert summary["storage_version"] == "3.6.0" and summary["messages"] == 9


def test_expected_size_is_known_after_the_first_message():
    stream = sf.SnapshotStream(io.BytesIO())
    assert stream.expected_size is None
    stream.feed(stream_messages(build_snapshot(), chunk=PAGE)[0])
    assert stream.expected_size == 7 * PAGE + 32


def test_error_line_mid_stream_stops_with_etcd_message():
    lines = stream_lines(build_snapshot(), chunk=PAGE)
    error = {"error": {"grpc_code": 14, "http_code": 503, "message": "etcdserver: server stopped",
                       "http_status": "Service Unavailable"}}
    lines = [*lines[:3], json.dumps(error).encode() + b"\n"]
    stream = sf.SnapshotStream(io.BytesIO())
    with pytest.raises(sf.SnapshotError, match="error in the snapshot stream: etcdserver: server stopped"):
        for message in sf.iter_messages(lines):
            stream.feed(message)
    assert stream.received == 3 * PAGE


def test_error_line_in_36_format():
    with pytest.raises(sf.SnapshotError, match="etcdserver: request timed out"):
        sf.copy_stream([{"error": {"code": 4, "message": "etcdserver: request timed out"}}], io.BytesIO())


def test_empty_stream():
    with pytest.raises(sf.SnapshotError, match="the snapshot stream was empty"):
        sf.copy_stream(sf.iter_messages([b"\n", b""]), io.BytesIO())


def test_stream_cut_before_the_end():
    messages = stream_messages(build_snapshot(), chunk=PAGE)[:4]
    with pytest.raises(sf.SnapshotError, match="ended early: received 16384 of 28672 database bytes"):
        sf.copy_stream(messages, io.BytesIO())


def test_stream_without_the_hash_message():
    messages = stream_messages(build_snapshot(), chunk=PAGE)[:-1]
    with pytest.raises(sf.SnapshotError, match="ended without the SHA-256 trailer: its last message carried 4096"):
        sf.copy_stream(messages, io.BytesIO())


def test_stream_with_a_wrong_hash():
    snapshot = build_snapshot()
    messages = stream_messages(flip(snapshot, len(snapshot) - 1), chunk=PAGE)
    with pytest.raises(sf.SnapshotError, match="SHA-256 mismatch in the snapshot stream: etcd's trailer is"):
        sf.copy_stream(messages, io.BytesIO())


def test_stream_with_more_data_than_announced():
    messages = stream_messages(build_snapshot(), chunk=PAGE)
    messages[0]["result"]["remaining_bytes"] = "1000"
    with pytest.raises(sf.SnapshotError, match="carried 28672 database bytes but announced 5096"):
        sf.copy_stream(messages, io.BytesIO())


def test_stream_size_must_be_512k_plus_32():
    db = b"x" * 1000
    messages = [{"result": {"blob": sf.base64.b64encode(db).decode()}},
                {"result": {"blob": sf.base64.b64encode(hashlib.sha256(db).digest()).decode()}}]
    with pytest.raises(sf.SnapshotError, match="snapshot size 1032 is not a multiple of 512 plus 32"):
        sf.copy_stream(messages, io.BytesIO())


@pytest.mark.parametrize(
    "lines, message",
    [
        ([b"{not json\n"], "line 1 is not JSON"),
        ([b'{"result": {"blob": "***"}}\n'], "blob that is not base64"),
        ([b'{"result": {"remaining_bytes": "x", "blob": ""}}\n'], "remaining_bytes 'x'"),
        ([b"[1, 2]\n"], "is not a JSON object"),
    ],
)
def test_malformed_stream_lines(lines, message):
    with pytest.raises(sf.SnapshotError, match=message):
        sf.copy_stream(sf.iter_messages(lines), io.BytesIO())


def test_iter_blobs_decodes_in_order():
    snapshot = build_snapshot()
    assert b"".join(sf.iter_blobs(stream_messages(snapshot, chunk=5000))) == snapshot


# -- etcdutl / etcdctl snapshot status ---------------------------------------------------------


def test_parse_status_json_skips_warnings():
    text = ('Deprecated: Use `etcdutl snapshot status` instead.\n\n'
            '{"hash":2010096040,"revision":51,"totalKey":56,"totalSize":24576}\n')
    assert sf.parse_status_json(text) == dict(hash=2010096040, revision=51, total_key=56, total_size=24576,
                                              version="")


def test_parse_status_json_without_json():
    with pytest.raises(sf.SnapshotError, match="printed no JSON"):
        sf.parse_status_json("Error: snapshot file has wrong checksum\n")
