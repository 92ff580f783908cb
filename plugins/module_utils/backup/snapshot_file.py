# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Decoding of etcd's snapshot stream and checks of snapshot files, standard library only.

An etcd snapshot, as ``etcdctl snapshot save`` writes it and as ``Maintenance/Snapshot`` streams
it, is a bbolt database followed by the 32-byte SHA-256 of that database. Nothing here talks to
etcd or runs a program: the stream functions consume gateway messages and write to a file object,
and the checks read a bytes-like object (``bytes`` or an ``mmap``), so all of it can be tested on
small generated inputs.

bbolt layout used here (etcd-io/bbolt ``internal/common``; all integers little-endian):

* page header, 16 bytes: ``id u64, flags u16, count u16, overflow u32``; flags ``0x01`` branch,
  ``0x02`` leaf, ``0x04`` meta, ``0x10`` freelist; a page spans ``overflow + 1`` pages;
* meta pages at offsets 0 and ``pageSize``: after the header ``magic u32 = 0xED0CDAED,
  version u32 = 2, pageSize u32, flags u32, root {pgid u64, sequence u64}, freelist u64,
  pgid u64 (pages in use), txid u64, checksum u64`` where the checksum is FNV-1a-64 of the
  56 bytes before it;
* branch element, 16 bytes: ``pos u32, ksize u32, pgid u64``; leaf element, 16 bytes:
  ``flags u32 (0x01 = bucket), pos u32, ksize u32, vsize u32``; ``pos`` counts from the element;
* a bucket's value is ``root pgid u64, sequence u64``; ``root == 0`` means the bucket's single
  leaf page follows inline in the value.
"""

import base64
import binascii
import hashlib
import json
import mmap
import os
import struct
from contextlib import contextmanager

HASH_SIZE = 32
SIZE_ALIGNMENT = 512
BBOLT_MAGIC = 0xED0CDAED
BBOLT_VERSION = 2

BRANCH_PAGE = 0x01
LEAF_PAGE = 0x02
META_PAGE = 0x04
FREELIST_PAGE = 0x10
BUCKET_LEAF = 0x01

PAGE_HEADER = struct.Struct("<QHHI")
META = struct.Struct("<IIIIQQQQQQ")
BRANCH_ELEMENT = struct.Struct("<IIQ")
LEAF_ELEMENT = struct.Struct("<IIII")
BUCKET_HEADER = struct.Struct("<QQ")
META_CHECKSUMMED = META.size - 8
MIN_SNAPSHOT_SIZE = PAGE_HEADER.size + META.size + HASH_SIZE

FNV64_OFFSET = 0xCBF29CE484222325
FNV64_PRIME = 0x100000001B3
MASK64 = 0xFFFFFFFFFFFFFFFF

MAX_TREE_DEPTH = 64


class SnapshotError(Exception):
    """A snapshot stream or file that cannot be trusted; the message says why."""


def fnv1a64(data):
    """FNV-1a, 64 bits: bbolt's meta page checksum."""
    value = FNV64_OFFSET
    for byte in bytes(data):
        value = ((value ^ byte) * FNV64_PRIME) & MASK64
    return value


# -- the snapshot stream -----------------------------------------------------------------------


def iter_messages(lines):
    """Gateway stream lines (bytes or str, one JSON document each) -> decoded messages."""
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except ValueError:
            raise SnapshotError("snapshot stream line %d is not JSON: %r" % (number, line[:120])) from None


def stream_error_message(error):
    """The text of a mid-stream ``{"error": ...}`` (3.4/3.5: grpc_code/http_code/message; 3.6: code/message)."""
    if isinstance(error, dict):
        return error.get("message") or json.dumps(error, sort_keys=True)
    return str(error)


def message_result(message):
    """The ``result`` of one stream message; an ``error`` message raises SnapshotError.

    Accepts a whole gateway message (``{"result": ...}`` or ``{"error": ...}``) or an already
    unwrapped result, which is what the collection's client ``stream()`` yields.
    """
    if not isinstance(message, dict):
        raise SnapshotError("snapshot stream message is not a JSON object: %r" % (message,))
    if "error" in message:
        raise SnapshotError("etcd reported an error in the snapshot stream: %s" % stream_error_message(message["error"]))
    if "result" in message:
        return message["result"] or {}
    return message


def message_blob(result):
    """The decoded ``blob`` of one result; an omitted blob is empty (zero values are omitted)."""
    text = result.get("blob") or ""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise SnapshotError("snapshot stream carried a blob that is not base64: %r" % (str(text)[:60],)) from None


def iter_blobs(messages):
    """Gateway messages -> decoded blobs, in order (the last one is the SHA-256 trailer)."""
    for message in messages:
        yield message_blob(message_result(message))


class SnapshotStream:
    """Writes the blobs of a ``Maintenance/Snapshot`` stream to ``out`` and checks the trailer.

    etcd sends the database in 32 KiB blobs, then one last message whose blob is the SHA-256 of
    everything before it. Both the last data message and the hash message omit
    ``remaining_bytes`` (a zero), so which blob is the hash is only known at the end of the stream:
    every blob is written as it arrives, and the most recent one is held out of the running hash
    until the next arrives. Call ``finish()`` once the stream has reached EOF.
    """

    def __init__(self, out):
        self.out = out
        self.messages = 0
        self.received = 0
        self.expected_db_size = None
        self.storage_version = ""
        self._data_hash = hashlib.sha256()
        self._pending = b""

    def feed(self, message):
        result = message_result(message)
        blob = message_blob(result)
        if self.messages == 0:
            try:
                remaining = int(result.get("remaining_bytes") or 0)
            except (TypeError, ValueError):
                raise SnapshotError("snapshot stream sent remaining_bytes %r" % (result.get("remaining_bytes"),)) from None
            self.expected_db_size = remaining + len(blob)
        if result.get("version"):
            self.storage_version = result["version"]
        self._data_hash.update(self._pending)
        self._pending = blob
        self.messages += 1
        self.received += len(blob)
        if blob:
            self.out.write(blob)

    @property
    def expected_size(self):
        """Size of the finished file (database + trailer), known after the first message."""
        if self.expected_db_size is None:
            return None
        return self.expected_db_size + HASH_SIZE

    def finish(self):
        """Verify the complete stream; returns what was received or raises SnapshotError."""
        if self.messages == 0:
            raise SnapshotError("the snapshot stream was empty: etcd sent neither data nor the SHA-256 trailer")
        trailer = self._pending
        db_size = self.received - len(trailer)
        if self.received < self.expected_db_size:
            raise SnapshotError(
                "the snapshot stream ended early: received %d of %d database bytes and no SHA-256 trailer"
                % (self.received, self.expected_db_size)
            )
        if len(trailer) != HASH_SIZE:
            raise SnapshotError(
                "the snapshot stream ended without the SHA-256 trailer: its last message carried %d bytes, not %d"
                % (len(trailer), HASH_SIZE)
            )
        if db_size != self.expected_db_size:
            raise SnapshotError(
                "the snapshot stream carried %d database bytes but announced %d" % (db_size, self.expected_db_size)
            )
        digest = self._data_hash.digest()
        if digest != trailer:
            raise SnapshotError(
                "SHA-256 mismatch in the snapshot stream: etcd's trailer is %s, the received data hashes to %s"
                % (binascii.hexlify(trailer).decode(), binascii.hexlify(digest).decode())
            )
        if self.received % SIZE_ALIGNMENT != HASH_SIZE:
            raise SnapshotError(
                "snapshot size %d is not a multiple of %d plus %d" % (self.received, SIZE_ALIGNMENT, HASH_SIZE)
            )
        whole = self._data_hash.copy()
        whole.update(trailer)
        return dict(
            size=self.received,
            db_size=db_size,
            sha256=whole.hexdigest(),
            hash=binascii.hexlify(trailer).decode(),
            messages=self.messages,
            storage_version=self.storage_version,
        )


def copy_stream(messages, out):
    """Write a whole snapshot stream to ``out``; returns ``SnapshotStream.finish()``."""
    stream = SnapshotStream(out)
    for message in messages:
        stream.feed(message)
    return stream.finish()


# -- bbolt pages -------------------------------------------------------------------------------


def read_meta(data, offset):
    """The meta page at ``offset`` as a dict, with ``problem`` set when it is not valid."""
    meta = dict(offset=offset, problem=None)
    if len(data) < offset + PAGE_HEADER.size + META.size:
        meta["problem"] = "missing: the file ends at byte %d" % len(data)
        return meta
    page_id, flags, _count, _overflow = PAGE_HEADER.unpack_from(data, offset)
    fields = META.unpack_from(data, offset + PAGE_HEADER.size)
    magic, version, page_size, _flags, root, _sequence, freelist, pgid, txid, checksum = fields
    meta.update(page_id=page_id, flags=flags, magic=magic, version=version, page_size=page_size, root=root,
                freelist=freelist, pgid=pgid, txid=txid, checksum=checksum)
    start = offset + PAGE_HEADER.size
    computed = fnv1a64(data[start:start + META_CHECKSUMMED])
    if magic != BBOLT_MAGIC:
        meta["problem"] = "no bbolt magic: found 0x%08X, expected 0x%08X" % (magic, BBOLT_MAGIC)
    elif version != BBOLT_VERSION:
        meta["problem"] = "bbolt version %d, expected %d" % (version, BBOLT_VERSION)
    elif checksum != computed:
        meta["problem"] = "checksum 0x%016x does not match its contents (0x%016x)" % (checksum, computed)
    elif not flags & META_PAGE:
        meta["problem"] = "page flags 0x%02x are not a meta page (0x%02x)" % (flags, META_PAGE)
    return meta


def _valid_page_size(page_size):
    return 512 <= page_size <= 1 << 20 and page_size & (page_size - 1) == 0


class _Tree:
    """Read-only walk of the bbolt B+trees in ``data[:limit]``."""

    def __init__(self, data, page_size, limit):
        self.data = data
        self.page_size = page_size
        self.limit = limit

    def _page(self, pgid):
        offset = pgid * self.page_size
        if pgid < 2 or offset + PAGE_HEADER.size > self.limit:
            raise SnapshotError("page %d is outside the database" % pgid)
        page_id, flags, count, overflow = PAGE_HEADER.unpack_from(self.data, offset)
        if page_id != pgid:
            raise SnapshotError("page at offset %d says it is page %d, not %d" % (offset, page_id, pgid))
        end = offset + (overflow + 1) * self.page_size
        if end > self.limit or offset + PAGE_HEADER.size + count * 16 > end:
            raise SnapshotError("page %d runs past the end of the database" % pgid)
        return offset, flags, count, end

    def leaves(self, root, inline_offset=None, inline_end=None):
        """(offset, count, end) of each leaf page of a bucket, in key order."""
        if root == 0:
            if inline_offset is None or inline_offset + PAGE_HEADER.size > inline_end:
                raise SnapshotError("inline bucket is too short")
            _page_id, flags, count, _overflow = PAGE_HEADER.unpack_from(self.data, inline_offset)
            if not flags & LEAF_PAGE or inline_offset + PAGE_HEADER.size + count * 16 > inline_end:
                raise SnapshotError("inline bucket at offset %d is not a leaf page" % inline_offset)
            yield inline_offset, count, inline_end
            return
        seen = set()
        stack = [(root, 0)]
        while stack:
            pgid, depth = stack.pop()
            if pgid in seen or depth > MAX_TREE_DEPTH:
                raise SnapshotError("page %d is reached twice: the tree has a cycle" % pgid)
            seen.add(pgid)
            offset, flags, count, end = self._page(pgid)
            if flags & BRANCH_PAGE:
                children = [
                    BRANCH_ELEMENT.unpack_from(self.data, offset + PAGE_HEADER.size + i * BRANCH_ELEMENT.size)[2]
                    for i in range(count)
                ]
                stack.extend((child, depth + 1) for child in reversed(children))
            elif flags & LEAF_PAGE:
                yield offset, count, end
            else:
                raise SnapshotError("page %d (flags 0x%02x) is neither a branch nor a leaf" % (pgid, flags))

    def last_leaf(self, root, inline_offset=None, inline_end=None):
        """The rightmost leaf of a bucket (its last key), following the last child of each branch."""
        if root == 0:
            return next(self.leaves(root, inline_offset, inline_end))
        pgid = root
        for _depth in range(MAX_TREE_DEPTH):
            offset, flags, count, end = self._page(pgid)
            if flags & LEAF_PAGE:
                return offset, count, end
            if not flags & BRANCH_PAGE or count == 0:
                raise SnapshotError("page %d (flags 0x%02x) is neither a branch nor a leaf" % (pgid, flags))
            pgid = BRANCH_ELEMENT.unpack_from(self.data, offset + PAGE_HEADER.size + (count - 1) * BRANCH_ELEMENT.size)[2]
        raise SnapshotError("the tree is deeper than %d levels" % MAX_TREE_DEPTH)

    def element(self, page_offset, index, end):
        """(flags, key offset, key size, value size) of one leaf element, bounds-checked."""
        at = page_offset + PAGE_HEADER.size + index * LEAF_ELEMENT.size
        flags, pos, ksize, vsize = LEAF_ELEMENT.unpack_from(self.data, at)
        if at + pos + ksize + vsize > end:
            raise SnapshotError("leaf element at offset %d runs past its page" % at)
        return flags, at + pos, ksize, vsize

    def buckets(self, root):
        """(name, root pgid, inline offset, inline end) of each top-level bucket."""
        for offset, count, end in self.leaves(root):
            for index in range(count):
                flags, key_at, ksize, vsize = self.element(offset, index, end)
                if not flags & BUCKET_LEAF or vsize < BUCKET_HEADER.size:
                    continue
                name = bytes(self.data[key_at:key_at + ksize])
                value_at = key_at + ksize
                bucket_root, _sequence = BUCKET_HEADER.unpack_from(self.data, value_at)
                yield name, bucket_root, value_at + BUCKET_HEADER.size, value_at + vsize


def summarize_db(data, page_size, meta, count_keys=True):
    """What ``etcdutl snapshot status`` reports, read from the bbolt tree without etcd.

    ``revision`` is the main revision of the last key of the ``key`` bucket and ``total_key``
    counts the entries of every bucket, as etcdutl does; ``total_size`` is the size bbolt says is
    in use. (etcdutl's ``hash``, a CRC-32C of every key and value, is left to etcdutl.)
    ``count_keys=False`` skips the full walk: the revision needs only the rightmost path.
    """
    tree = _Tree(data, page_size, meta["pgid"] * page_size)
    revision = 0
    total_key = 0
    buckets = []
    for name, root, inline_at, inline_end in tree.buckets(meta["root"]):
        buckets.append(name.decode("utf-8", "replace"))
        if count_keys:
            total_key += sum(count for _offset, count, _end in tree.leaves(root, inline_at, inline_end))
        if name == b"key":
            offset, count, end = tree.last_leaf(root, inline_at, inline_end)
            if count:
                _flags, key_at, ksize, _vsize = tree.element(offset, count - 1, end)
                if ksize < 8:
                    raise SnapshotError("the last key of the key bucket is %d bytes, not a revision" % ksize)
                revision = struct.unpack_from(">Q", data, key_at)[0]
    return dict(
        revision=revision,
        total_key=total_key if count_keys else None,
        total_size=meta["pgid"] * page_size,
        buckets=buckets,
    )


# -- file checks -------------------------------------------------------------------------------


def check_snapshot(data, verify_hash=True, count_keys=True):
    """Check a snapshot's bytes (``bytes`` or ``mmap``) without etcd.

    Returns a report: ``checks`` (each ``True``, ``False`` or ``None`` when it could not be run),
    ``errors`` (most telling first; empty when the file is a sound snapshot), ``warnings``, the
    hashes, the page size and, for a sound file, ``revision``/``total_key``/``total_size``.
    ``verify_hash=False`` skips hashing (for a file whose stream was verified while it was written).
    """
    size = len(data)
    checks = dict(size_aligned=None, hash_ok=None, page_aligned=None, meta_ok=None)
    report = dict(size=size, db_size=None, sha256=None, hash_expected=None, hash_actual=None, page_size=None,
                  checks=checks, errors=[], warnings=[], revision=None, total_key=None, total_size=None)
    errors = report["errors"]
    if size == 0:
        errors.append("the file is empty")
        return report
    if size < MIN_SNAPSHOT_SIZE:
        errors.append("the file is %d bytes, too small to hold a bbolt meta page and a SHA-256 trailer" % size)
        return report

    meta0 = read_meta(data, 0)
    if meta0["magic"] != BBOLT_MAGIC:
        errors.append("not an etcd snapshot: no bbolt magic 0x%08X at offset %d (found 0x%08X)"
                      % (BBOLT_MAGIC, PAGE_HEADER.size, meta0["magic"]))
        return report

    remainder = size % SIZE_ALIGNMENT
    checks["size_aligned"] = remainder == HASH_SIZE
    if remainder == 0:
        errors.append(
            "no SHA-256 trailer: the size %d is a multiple of %d, so this is a bare bbolt database (for example a "
            "copy of member/snap/db) or a truncated snapshot, not a file written by snapshot save"
            % (size, SIZE_ALIGNMENT)
        )
    elif remainder != HASH_SIZE:
        errors.append(
            "truncated or damaged: the size %d leaves %d bytes over a multiple of %d, a snapshot leaves %d"
            % (size, remainder, SIZE_ALIGNMENT, HASH_SIZE)
        )
    db_size = size - HASH_SIZE if checks["size_aligned"] else size - remainder
    report["db_size"] = db_size

    if verify_hash:
        with memoryview(data) as view, view[:size - HASH_SIZE] as head:
            db_hash = hashlib.sha256(head)
        trailer = bytes(data[size - HASH_SIZE:])
        whole = db_hash.copy()
        whole.update(trailer)
        report["sha256"] = whole.hexdigest()
        if checks["size_aligned"]:
            report["hash_expected"] = binascii.hexlify(trailer).decode()
            report["hash_actual"] = db_hash.hexdigest()
            checks["hash_ok"] = report["hash_expected"] == report["hash_actual"]
            if not checks["hash_ok"]:
                errors.append(
                    "SHA-256 mismatch: the trailer expects %s but the data hashes to %s (the file was altered "
                    "or damaged after it was saved)" % (report["hash_expected"], report["hash_actual"])
                )

    metas = [meta0]
    page_size = meta0["page_size"]
    if _valid_page_size(page_size):
        report["page_size"] = page_size
        checks["page_aligned"] = db_size % page_size == 0
        if not checks["page_aligned"]:
            errors.append("the database is %d bytes, not a multiple of its page size %d" % (db_size, page_size))
        metas.append(read_meta(data, page_size))
    elif meta0["problem"] is None:
        meta0["problem"] = "page size %d is not a power of two between 512 and 1 MiB" % page_size

    meta_problems = []
    for number, meta in enumerate(metas):
        if meta["problem"] is None and meta["page_id"] != number:
            meta["problem"] = "page id %d, expected %d" % (meta["page_id"], number)
        if meta["problem"] is None and meta["page_size"] != page_size:
            meta["problem"] = "page size %d differs from meta page 0 (%d)" % (meta["page_size"], page_size)
        if meta["problem"]:
            meta_problems.append("meta page %d at offset %d: %s" % (number, meta["offset"], meta["problem"]))
    checks["meta_ok"] = not meta_problems
    errors.extend(meta_problems)

    if checks["meta_ok"]:
        meta = max(metas, key=lambda m: m["txid"])
        in_use = meta["pgid"] * page_size
        if in_use > db_size:
            checks["page_aligned"] = False
            errors.append(
                "truncated: the meta page says %d pages (%d bytes) are in use, the file holds %d bytes of database"
                % (meta["pgid"], in_use, db_size)
            )
        if not errors:
            try:
                report.update(summarize_db(data, page_size, meta, count_keys=count_keys))
            except (SnapshotError, struct.error) as exc:
                report["warnings"].append("could not read the keys of the database: %s" % exc)
    return report


@contextmanager
def mapped(path):
    """The file at ``path`` as a read-only bytes-like object (an mmap, or ``b""`` when empty)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            yield b""
            return
        view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield view
        finally:
            view.close()


def check_snapshot_file(path, verify_hash=True, count_keys=True):
    """``check_snapshot`` of the file at ``path``; raises SnapshotError when it is not a regular file."""
    if not os.path.exists(path):
        raise SnapshotError("snapshot file %s does not exist" % path)
    if not os.path.isfile(path):
        raise SnapshotError("%s is not a regular file" % path)
    with mapped(path) as data:
        report = check_snapshot(data, verify_hash=verify_hash, count_keys=count_keys)
    report["path"] = path
    return report


def parse_status_json(text):
    """The JSON object ``etcdutl snapshot status -w json`` prints (warnings may precede it)."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                raw = json.loads(line)
            except ValueError:
                continue
            return dict(
                hash=raw.get("hash"),
                revision=int(raw.get("revision") or 0),
                total_key=int(raw.get("totalKey") or 0),
                total_size=int(raw.get("totalSize") or 0),
                version=raw.get("version") or "",
            )
    raise SnapshotError("snapshot status printed no JSON: %r" % text[-300:])
