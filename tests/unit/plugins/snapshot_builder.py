"""Small, valid etcd snapshots built from scratch, and the stream etcd would send for them.

Independent of the code under test: the bbolt layout and FNV-1a are written out here again, so a
mistake in the module utils cannot hide in its own fixtures.
"""

import base64
import hashlib
import json
import struct

PAGE_HEADER = struct.Struct("<QHHI")  # id, flags, count, overflow
META_BODY = struct.Struct("<IIIIQQQQQ")  # magic, version, page size, flags, root, sequence, freelist, pgid, txid
MAGIC = 0xED0CDAED
BRANCH, LEAF, META, FREELIST = 0x01, 0x02, 0x04, 0x10
BUCKET = 0x01


def fnv1a64(data):
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) % (1 << 64)
    return value


def rev_key(main, sub=0):
    """etcd's key bucket key: 8-byte big-endian main revision, '_', 8-byte sub revision."""
    return struct.pack(">Q", main) + b"_" + struct.pack(">Q", sub)


def meta_page(pgid, page_size, root, freelist, high_water, txid, magic=MAGIC, version=2, claimed_page_size=None):
    body = META_BODY.pack(magic, version, claimed_page_size or page_size, 0, root, 0, freelist, high_water, txid)
    page = PAGE_HEADER.pack(pgid, META, 0, 0) + body + struct.pack("<Q", fnv1a64(body))
    return page.ljust(page_size, b"\0")


def _pad(raw, page_size, pgid, flags, count):
    overflow = max(0, (len(raw) - 1) // page_size)
    raw = PAGE_HEADER.pack(pgid, flags, count, overflow) + raw[PAGE_HEADER.size:]
    return raw.ljust((overflow + 1) * page_size, b"\0")


def leaf(items, pgid=0):
    """A leaf page, unpadded: items are (key, value, flags); element ``pos`` counts from the element."""
    count = len(items)
    elements, data = b"", b""
    start = PAGE_HEADER.size + 16 * count
    for index, (key, value, flags) in enumerate(items):
        element_at = PAGE_HEADER.size + 16 * index
        elements += struct.pack("<IIII", flags, start + len(data) - element_at, len(key), len(value))
        data += key + value
    return PAGE_HEADER.pack(pgid, LEAF, count, 0) + elements + data


def leaf_page(items, pgid, page_size):
    return _pad(leaf(items, pgid), page_size, pgid, LEAF, len(items))


def branch_page(children, pgid, page_size):
    """children are (first key, child pgid)."""
    count = len(children)
    elements, data = b"", b""
    start = PAGE_HEADER.size + 16 * count
    for index, (key, child) in enumerate(children):
        element_at = PAGE_HEADER.size + 16 * index
        elements += struct.pack("<IIQ", start + len(data) - element_at, len(key), child)
        data += key
    raw = PAGE_HEADER.pack(pgid, BRANCH, count, 0) + elements + data
    return _pad(raw, page_size, pgid, BRANCH, count)


def bucket(root, inline_page=b""):
    return struct.pack("<QQ", root, 0) + inline_page


def build_db(page_size=4096, revisions=(2, 3, 4, 5, 6, 7), claimed_page_size=None):
    """A bbolt database shaped like etcd's.

    Pages: 0/1 meta, 2 freelist, 3 root bucket leaf, 4 branch of the ``key`` bucket, 5 and 6 its
    leaves (the revisions, split in two), plus an inline ``meta`` bucket holding one key. The
    ``key`` bucket's last key is the highest revision; every bucket's entries add up to
    ``len(revisions) + 1`` keys.
    """
    half = len(revisions) // 2
    left = [(rev_key(r), b"kv-%d" % r, 0) for r in revisions[:half]]
    right = [(rev_key(r), b"kv-%d" % r, 0) for r in revisions[half:]]
    meta_inline = leaf([(b"consistent_index", struct.pack(">Q", 42), 0)])
    root_items = [
        (b"key", bucket(4), BUCKET),
        (b"meta", bucket(0, meta_inline), BUCKET),
    ]
    pages = [
        meta_page(0, page_size, root=3, freelist=2, high_water=7, txid=9, claimed_page_size=claimed_page_size),
        meta_page(1, page_size, root=3, freelist=2, high_water=7, txid=8, claimed_page_size=claimed_page_size),
        _pad(PAGE_HEADER.pack(2, FREELIST, 0, 0), page_size, 2, FREELIST, 0),
        leaf_page(root_items, 3, page_size),
        branch_page([(left[0][0], 5), (right[0][0], 6)], 4, page_size),
        leaf_page(left, 5, page_size),
        leaf_page(right, 6, page_size),
    ]
    return b"".join(pages)


def build_snapshot(**kwargs):
    """A snapshot as etcd sends it: the database followed by its SHA-256."""
    db = build_db(**kwargs)
    return db + hashlib.sha256(db).digest()


def stream_messages(snapshot, chunk=4096, wrap=True):
    """The gateway messages of a snapshot stream, as Maintenance/Snapshot sends them.

    Data chunks carry ``remaining_bytes`` (a decimal string, omitted when zero, so the last data
    chunk has none); the final message is the 32-byte hash, also without ``remaining_bytes``.
    ``wrap=False`` gives the unwrapped results, as the collection's client yields them.
    """
    db, digest = snapshot[:-32], snapshot[-32:]
    results = []
    sent = 0
    while sent < len(db):
        blob = db[sent:sent + chunk]
        sent += len(blob)
        result = {"blob": base64.b64encode(blob).decode()}
        if len(db) - sent:
            result["remaining_bytes"] = str(len(db) - sent)
        results.append(result)
    results.append({"blob": base64.b64encode(digest).decode()})
    return [{"result": r} for r in results] if wrap else results


def stream_lines(snapshot, chunk=4096):
    return [json.dumps(m).encode() + b"\n" for m in stream_messages(snapshot, chunk)]
