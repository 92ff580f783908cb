# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Encrypted backup files, their key, and the retention decision of off-host backup targets.

A backup leaves the controller (or a member, on its snapshot timer) only in this format, sealed
so that only the key file kept on the controller opens it:

* header: 80 bytes ``magic "RAFTOPS-ETCD-BACKUP" (19), version u8, key id (8: the first bytes
  of SHA-256 of the key), chunk size u32, nonce prefix (8 random bytes), plaintext size u64,
  plaintext SHA-256 (32)``, all integers big-endian; version 3 adds 41 bytes: ``codec u8 (0 none,
  1 zlib, 2 lzma), sealed size u64 (the compressed stream the chunks hold), ephemeral X25519
  public key (32)``. Version 3 is sealed to the key file's X25519 public key: the AES-256-GCM key
  is HKDF-SHA256 of the X25519 secret of a one-time key pair and the key file's key, so that a
  member which seals backups holds only the public key and can read none of them. Versions 1 and 2
  (the key file's 32 bytes as the AES key, and in version 1 no label) are not read: nothing was
  released with them, and reading them would use one key for two primitives and take a backup's name
  and time from its unauthenticated object name. Then the label: its length u16 and compact
  JSON ``{"name", "cluster", "cluster_id", "time"}`` - the object's name, the cluster it is a
  backup of, etcd's cluster ID then, and the UTC time the snapshot was taken (``%Y%m%dT%H%M%SZ``).
  Authenticated with the rest, it makes a renamed or copied object, or one of another cluster, tell
  itself apart;
* header tag, 16 bytes: AES-256-GCM of nothing, with the header as associated data and the nonce
  ``prefix + 0xFFFFFFFF`` (a counter no chunk uses);
* chunks: the plaintext (version 3: its compressed stream) in pieces of ``chunk size`` (the last one shorter, or empty for an empty
  file), each sealed with AES-256-GCM (ciphertext + 16-byte tag), nonce ``prefix + index u32`` and
  associated data ``header + index u32 + final flag u8``.

The header fixes how many chunks there are and how long the last is, and every chunk is bound to
its place and to its header, so a cut anywhere ("truncated"), a changed or swapped byte, chunk or
tag ("authentication failed: tampered or wrong key") and another key ("made with another key")
are each told apart. A decrypted file replaces its destination only once every chunk and the
SHA-256 verified. Files are read and written a chunk at a time: a 100 MiB snapshot never sits in
memory.
"""

import base64
import binascii
import calendar
import hashlib
import json
import os
import lzma
import stat
import struct
import tempfile
import time
import zlib
from collections import namedtuple
from contextlib import nullcontext

try:
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_files import atomic_file
except ImportError:  # copied onto a member beside etcd_files.py, for its backup push (etcd_backup_push.py)
    from etcd_files import atomic_file

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
except ImportError as exc:  # reported by the module through missing_required_lib()
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

MAGIC = b"RAFTOPS-ETCD-BACKUP"
VERSION = 3
KEY_SIZE = 32
KEY_ID_SIZE = 8
TAG_SIZE = 16
CHUNK_SIZE = 4 * 1024 * 1024
HEADER = struct.Struct(">%dsB%dsI8sQ32s" % (len(MAGIC), KEY_ID_SIZE))
# What version 3 adds to HEADER: codec, sealed size, the one-time public key.
HEADER_V3 = struct.Struct(">BQ32s")
LABEL_LENGTH = struct.Struct(">H")
MAX_LABEL_SIZE = 4096
HEADER_NONCE_COUNTER = 0xFFFFFFFF
MAX_CHUNK_SIZE = 64 * 1024 * 1024
MIB = 1024.0 * 1024.0
# The most a backup's header, label and tag take: what a reader of the header fetches.
MAX_HEAD_SIZE = HEADER.size + HEADER_V3.size + LABEL_LENGTH.size + MAX_LABEL_SIZE + TAG_SIZE
HKDF_INFO = b"raftops-etcd-backup v3"
# Compression before encryption (encrypted data does not compress): the codecs by their id in the header.
CODECS = ("none", "zlib", "lzma")
DEFAULT_CODEC = "zlib"

# A label's time, as the snapshot names have it; ``latest`` takes no backup taken later than now
# (beyond a clock skew this large): a time in the future would win every choice to come.
LABEL_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
FUTURE_SKEW_SECONDS = 300

# What a target keeps and prunes: the backup playbook's snapshot names, sealed.
OBJECT_SUFFIX = ".enc"
OBJECT_PREFIX = "etcd-snapshot-"


class BackupCryptoError(Exception):
    """A key or an encrypted backup that cannot be used. ``kind`` says which problem it is:
    ``key``, ``not_a_backup``, ``other_key``, ``truncated``, ``tampered`` or ``mismatch`` (an
    authentic backup under another name, or of another cluster)."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


# -- the key ------------------------------------------------------------------------------------


def key_id(key):
    """The hex id written in every backup sealed with ``key``: the first 8 bytes of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:2 * KEY_ID_SIZE]


def _check_key_file_mode(path, st):
    if not stat.S_ISREG(st.st_mode):
        raise BackupCryptoError("key", "key file %s is not a regular file" % path)
    if st.st_mode & 0o077:
        raise BackupCryptoError(
            "key", "key file %s has mode %04o: group and others may not read it; run chmod 600 %s"
            % (path, stat.S_IMODE(st.st_mode), path))


def read_key(path):
    """The 32-byte key in ``path`` (base64 text), refused when others may read it or it is not 32 bytes."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise BackupCryptoError("key", "key file %s cannot be read: %s" % (path, exc.strerror)) from None
    _check_key_file_mode(path, st)
    with open(path, "rb") as handle:
        text = handle.read(4096).strip()
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BackupCryptoError("key", "key file %s does not hold base64 text" % path) from None
    if len(key) != KEY_SIZE:
        raise BackupCryptoError(
            "key", "key file %s holds %d bytes, not %d (base64 of 32 random bytes)" % (path, len(key), KEY_SIZE))
    return key


def create_key(path):
    """Write a new random key to ``path`` (mode 0600), which must not exist; returns the key."""
    key = os.urandom(KEY_SIZE)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupCryptoError("key", "key file %s cannot be created: %s" % (path, exc.strerror)) from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(base64.b64encode(key) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def load_key(path, create=False):
    """(key, created): the key in ``path``, made there first when ``create`` and it does not exist."""
    if create and not os.path.lexists(path):
        return create_key(path), True
    return read_key(path), False


Recipient = namedtuple("Recipient", "public_key key_id")
Recipient.__doc__ = """Whom a version 3 backup is sealed to: the key file's X25519 public key (32 bytes) and key id."""


def recipient(key):
    """The Recipient of the key file's ``key``: what a member needs to seal backups that only this key opens."""
    public = X25519PrivateKey.from_private_bytes(key).public_key()
    return Recipient(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), key_id(key))


def _sealing_key(shared, ephemeral, public_key):
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=ephemeral + public_key,
                info=HKDF_INFO).derive(shared)


def _new_sealing_key(public_key):
    """(AES key, one-time public key) for a new backup sealed to ``public_key``."""
    one_time = X25519PrivateKey.generate()
    ephemeral = one_time.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = one_time.exchange(X25519PublicKey.from_public_bytes(public_key))
    return _sealing_key(shared, ephemeral, public_key), ephemeral


def _opening_key(key, ephemeral):
    """The AES key of a version 3 backup with one-time public key ``ephemeral``, from the key file's ``key``."""
    private = X25519PrivateKey.from_private_bytes(key)
    public_key = recipient(key).public_key
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    except ValueError:  # an all-zero secret: a forged one-time key
        return None
    return _sealing_key(shared, ephemeral, public_key)


# -- the format ---------------------------------------------------------------------------------


def _nonce(prefix, counter):
    return prefix + struct.pack(">I", counter)


def _chunk_aad(header, index, final):
    return header + struct.pack(">IB", index, 1 if final else 0)


def chunk_count(size, chunk_size):
    """How many chunks a plaintext of ``size`` bytes takes: at least one (an empty file has one, empty)."""
    return max(1, -(-size // chunk_size))


def _hashed_blocks(path, chunk_size, digest):
    """The blocks of a file, read a chunk at a time, each added to ``digest`` on the way."""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
            yield block


def file_sha256(path, chunk_size=CHUNK_SIZE):
    """(size, hex SHA-256) of a file, read a chunk at a time."""
    digest = hashlib.sha256()
    size = sum(len(block) for block in _hashed_blocks(path, chunk_size, digest))
    return size, digest.hexdigest()


def make_label(name, cluster="", cluster_id="", taken=None):
    """The label a backup's header authenticates: its object name, cluster, etcd cluster ID and the
    UTC time (``YYYYMMDDTHHMMSSZ``, now when not given) the snapshot was taken."""
    if not name:
        raise ValueError("a backup's label needs the object's name")
    return dict(name=name, cluster=cluster or "", cluster_id=cluster_id or "",
                time=taken or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))


def _label_bytes(label):
    text = json.dumps(label, sort_keys=True, separators=(",", ":")).encode()
    if len(text) > MAX_LABEL_SIZE:
        raise ValueError("a backup's label takes at most %d bytes, not %d" % (MAX_LABEL_SIZE, len(text)))
    return LABEL_LENGTH.pack(len(text)) + text


def _compressor(codec):
    if codec == "zlib":
        return zlib.compressobj(6)
    if codec == "lzma":
        return lzma.LZMACompressor(preset=1)
    raise ValueError("compression %s is not one of %s" % (codec, ", ".join(CODECS)))


def _decompressor(codec):
    return zlib.decompressobj() if codec == "zlib" else lzma.LZMADecompressor()


def _hash_and_compress(src, out, codec, chunk_size):
    """(size, hex SHA-256) of ``src``, its ``codec`` stream written to ``out`` in the same read."""
    compressor = _compressor(codec)
    digest = hashlib.sha256()
    size = 0
    for block in _hashed_blocks(src, chunk_size, digest):
        size += len(block)
        out.write(compressor.compress(block))
    out.write(compressor.flush())
    out.flush()
    return size, digest.hexdigest()


def encrypt_file(src, dest, to, label, chunk_size=CHUNK_SIZE, compression=DEFAULT_CODEC):
    """Seal ``src`` into ``dest`` (mode 0600, replaced whole) for ``to`` (a Recipient) under ``label``
    (make_label), compressed with ``compression`` (CODECS) first; returns what a report shows.

    The plaintext is hashed (its size and SHA-256 go into the authenticated header) and compressed
    into a private temporary file beside ``dest`` in one read, then sealed a chunk at a time.
    Without compression the file is read twice, and a file that changes in between is refused.
    """
    if compression not in CODECS:
        raise ValueError("compression %s is not one of %s" % (compression, ", ".join(CODECS)))
    started = time.monotonic()
    with tempfile.TemporaryFile(dir=os.path.dirname(os.path.abspath(dest))) as stream:
        if compression == "none":
            size, sha256 = file_sha256(src, chunk_size)
        else:
            size, sha256 = _hash_and_compress(src, stream, compression, chunk_size)
            stream.seek(0)
        stored = size if compression == "none" else os.fstat(stream.fileno()).st_size
        prefix = os.urandom(8)
        aes_key, ephemeral = _new_sealing_key(to.public_key)
        header = (HEADER.pack(MAGIC, VERSION, binascii.unhexlify(to.key_id), chunk_size, prefix, size,
                              binascii.unhexlify(sha256))
                  + HEADER_V3.pack(CODECS.index(compression), stored, ephemeral) + _label_bytes(label))
        aead = AESGCM(aes_key)
        count = chunk_count(stored, chunk_size)
        written = 0
        check = hashlib.sha256()
        with (open(src, "rb") if compression == "none" else nullcontext(stream)) as source, \
                atomic_file(dest, 0o600) as out:
            out.write(header)
            out.write(aead.encrypt(_nonce(prefix, HEADER_NONCE_COUNTER), b"", header))
            written += len(header) + TAG_SIZE
            for index in range(count):
                block = source.read(chunk_size)
                check.update(block)
                final = index == count - 1
                sealed = aead.encrypt(_nonce(prefix, index), block, _chunk_aad(header, index, final))
                out.write(sealed)
                written += len(sealed)
            if source.read(1) or (compression == "none" and check.hexdigest() != sha256):
                raise BackupCryptoError("tampered", "%s changed while it was being encrypted" % src)
    seconds = time.monotonic() - started
    return dict(size=size, sha256=sha256, encrypted_size=written, key_id=to.key_id, label=label,
                compression=compression, compressed_size=stored,
                encrypt_seconds=round(seconds, 3), encrypt_mib_s=throughput(size, seconds))


def throughput(size, seconds):
    """MiB/s, rounded to one decimal; None when the time is too short to say."""
    return round(size / MIB / seconds, 1) if seconds > 0 else None


def _read_exactly(handle, size, what, read_so_far):
    raw = handle.read(size)
    if len(raw) < size:
        raise BackupCryptoError("truncated", "%s is truncated: it ends at byte %d, inside its header"
                                % (what, read_so_far + len(raw)))
    return raw


def read_header(handle, what, key=None):
    """The fields of an encrypted backup's header (read from ``handle``), checked against ``key`` when given.

    ``what`` names the backup in messages. With ``key``, the header's tag is verified too. ``label``
    is the header's label (make_label).
    """
    raw = handle.read(HEADER.size)
    if len(raw) < len(MAGIC) or raw[:len(MAGIC)] != MAGIC:
        if len(raw) < len(MAGIC) and MAGIC.startswith(raw):
            raise BackupCryptoError("truncated", "%s is truncated: it ends at byte %d, inside its header" % (what, len(raw)))
        raise BackupCryptoError("not_a_backup", "%s is not an encrypted raftops etcd backup (no %s header)"
                                % (what, MAGIC.decode()))
    if len(raw) < HEADER.size:
        raise BackupCryptoError("truncated", "%s is truncated: it ends at byte %d, inside its header" % (what, len(raw)))
    _magic, version, kid, chunk_size, prefix, size, sha256 = HEADER.unpack(raw)
    if version != VERSION:
        raise BackupCryptoError("not_a_backup", "%s has format version %d, which this collection does not read: only "
                                "version %d authenticates a backup's name, cluster and time with a key the members "
                                "cannot open backups with" % (what, version, VERSION))
    extra = _read_exactly(handle, HEADER_V3.size, what, len(raw))
    header = raw + extra
    codec, stored, ephemeral = HEADER_V3.unpack(extra)
    length = _read_exactly(handle, LABEL_LENGTH.size, what, len(header))
    header += length
    (label_size,) = LABEL_LENGTH.unpack(length)
    if label_size > MAX_LABEL_SIZE:
        raise BackupCryptoError("tampered", "%s: authentication failed: tampered or wrong key (a label of %d bytes "
                                "in its header)" % (what, label_size))
    label_text = _read_exactly(handle, label_size, what, len(header))
    header += label_text
    tag = _read_exactly(handle, TAG_SIZE, what, len(header))
    fields = dict(header=header, version=version, key_id=binascii.hexlify(kid).decode(), chunk_size=chunk_size,
                  prefix=prefix, size=size, sha256=binascii.hexlify(sha256).decode(), label=None,
                  stored_size=stored, compression=CODECS[codec] if codec < len(CODECS) else codec, aes_key=None)
    if key is not None:
        if fields["key_id"] != key_id(key):
            raise BackupCryptoError("other_key", "%s was made with another key (key id %s; the key file's id is %s)"
                                    % (what, fields["key_id"], key_id(key)))
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise BackupCryptoError("tampered", "%s: authentication failed: tampered or wrong key (chunk size %d in "
                                    "its header)" % (what, chunk_size))
        aes_key = _opening_key(key, ephemeral)
        try:
            if aes_key is None:
                raise InvalidTag()
            AESGCM(aes_key).decrypt(_nonce(prefix, HEADER_NONCE_COUNTER), tag, header)
        except InvalidTag:
            raise BackupCryptoError("tampered", "%s: authentication failed: tampered or wrong key (its header)"
                                    % what) from None
        if fields["compression"] not in CODECS:  # authentic, so written by a newer collection
            raise BackupCryptoError("not_a_backup", "%s is compressed with codec %d, which this collection does not "
                                    "read" % (what, codec))
        fields["aes_key"] = aes_key
    try:
        fields["label"] = json.loads(label_text)
    except ValueError:
        raise BackupCryptoError("tampered", "%s: its header's label is not JSON" % what) from None
    if not isinstance(fields["label"], dict):
        raise BackupCryptoError("tampered", "%s: its header's label is no JSON object" % what)
    return fields


def check_label(fields, what, name=None, cluster=None):
    """Refuse an authentic backup (read_header with the key) under another name than ``name``, or
    of another cluster than ``cluster`` (each checked when given)."""
    label = fields["label"]
    if name is not None and label.get("name") != name:
        raise BackupCryptoError(
            "mismatch", "%s: its authenticated header names it %s (cluster %s, taken %s): a renamed or copied backup "
            "is refused" % (what, label.get("name"), label.get("cluster") or "?", label.get("time") or "?"))
    if cluster is not None and label.get("cluster") != cluster:
        raise BackupCryptoError(
            "mismatch", "%s is a backup of cluster %s (its authenticated header), not of %s (etcd_backup_cluster): "
            "set etcd_backup_cluster to %s to restore it on purpose" % (what, label.get("cluster") or "''", cluster,
                                                                        label.get("cluster") or "''"))


def backup_time(fields, what, now=None):
    """When a backup's snapshot was taken, to order backups by: its authenticated time (a UTC time of
    LABEL_TIME_FORMAT, so that text order is time order), refused when it is no such time or later
    than ``now`` (seconds since the epoch; default: now) beyond FUTURE_SKEW_SECONDS."""
    taken = fields["label"].get("time")
    try:
        epoch = calendar.timegm(time.strptime(str(taken), LABEL_TIME_FORMAT))
    except ValueError:
        raise BackupCryptoError("mismatch", "%s: its authenticated time %s is no UTC time of the form 20260101T000000Z"
                                % (what, json.dumps(taken))) from None
    if epoch > (time.time() if now is None else now) + FUTURE_SKEW_SECONDS:
        raise BackupCryptoError("mismatch", "%s: its authenticated time %s is in the future: a backup is never taken "
                                "later than now, so it is not chosen as the newest" % (what, taken))
    return taken


class _Plain:
    """Where decrypted chunks go: decompressed (version 3) and hashed on their way to ``out``, never
    past the ``limit`` bytes the header says the plaintext has: a stream that inflates further (a
    decompression bomb, which anyone with the public key can seal) is refused at the first byte too
    many, before it takes memory or disk."""

    def __init__(self, out, codec, limit, what):
        self.out = out
        self.decompressor = None if codec == "none" else _decompressor(codec)
        self.digest = hashlib.sha256()
        self.size = 0
        self.limit, self.what = limit, what

    def write(self, block, chunk, count):
        if self.decompressor is not None:
            # Asked for at most one byte more than the header allows: both decompressors stop there
            # and keep the rest of their input (a shorter answer means the input is used up).
            block = self.decompressor.decompress(block, self.limit - self.size + 1)
        self.size += len(block)
        if self.size > self.limit:
            raise BackupCryptoError("tampered", "%s: authentication failed: tampered or wrong key (its plaintext grows "
                                    "past the %d bytes its header says, in chunk %d of %d)"
                                    % (self.what, self.limit, chunk, count))
        self.digest.update(block)
        self.out.write(block)

    def complete(self):
        """False when a compressed stream did not end where the chunks did."""
        if self.decompressor is None:
            return True
        return self.decompressor.eof and not self.decompressor.unused_data


def decrypt_file(src, dest, key, what=None, name=None, cluster=None):
    """Verify and decrypt ``src`` into ``dest``, which is replaced only when everything verified.

    Returns the size, SHA-256, key id and label of the plaintext (check_label with ``name`` and
    ``cluster``: an authentic backup under another name or of another cluster is refused); raises
    BackupCryptoError naming ``what`` (default: ``src``) and the kind of problem.
    """
    what = what or src
    started = time.monotonic()
    with open(src, "rb") as handle:
        fields = read_header(handle, what, key)
        check_label(fields, what, name, cluster)
        header, prefix, chunk_size, stored = fields["header"], fields["prefix"], fields["chunk_size"], fields["stored_size"]
        count = chunk_count(stored, chunk_size)
        aead = AESGCM(fields["aes_key"])
        offset = len(header) + TAG_SIZE
        with atomic_file(dest, 0o600) as out:
            plain = _Plain(out, fields["compression"], fields["size"], what)
            for index in range(count):
                final = index == count - 1
                length = (stored - chunk_size * index if final else chunk_size) + TAG_SIZE
                sealed = handle.read(length)
                if len(sealed) < length:
                    raise BackupCryptoError(
                        "truncated", "%s is truncated: it ends at byte %d, inside chunk %d of %d (expected %d bytes)"
                        % (what, offset + len(sealed), index + 1, count,
                           len(header) + TAG_SIZE + stored + count * TAG_SIZE))
                try:
                    block = aead.decrypt(_nonce(prefix, index), sealed, _chunk_aad(header, index, final))
                except InvalidTag:
                    raise BackupCryptoError(
                        "tampered", "%s: authentication failed: tampered or wrong key (chunk %d of %d)"
                        % (what, index + 1, count)) from None
                plain.write(block, index + 1, count)
                offset += length
            if handle.read(1):
                raise BackupCryptoError("tampered", "%s: authentication failed: tampered or wrong key (bytes after "
                                        "its last chunk, at byte %d)" % (what, offset))
            if not plain.complete() or plain.digest.hexdigest() != fields["sha256"]:
                raise BackupCryptoError("tampered", "%s: authentication failed: tampered or wrong key (SHA-256 %s of "
                                        "%d bytes, its header says %s)" % (what, plain.digest.hexdigest(), plain.size,
                                                                           fields["sha256"]))
    seconds = time.monotonic() - started
    return dict(size=fields["size"], sha256=fields["sha256"], key_id=fields["key_id"], label=fields["label"],
                compression=fields["compression"], compressed_size=stored,
                decrypt_seconds=round(seconds, 3), decrypt_mib_s=throughput(fields["size"], seconds))


# -- choosing ----------------------------------------------------------------------------------


def newest_authentic(headers, what, cluster=None, now=None):
    """``latest``: the newest of a target's backups by authenticated time, as (name, skipped).

    ``headers`` maps each backup's name to its header (read_header with the key) or to the
    BackupCryptoError reading it raised; ``what(name)`` names one in messages. A backup that is not
    authentic, is under another name or of another ``cluster``, or whose time is no time or later than
    ``now`` (backup_time), is skipped (``skipped``: why, one message each); name is None when none is left.
    """
    candidates, skipped = [], []
    for name, fields in headers.items():
        try:
            if isinstance(fields, BackupCryptoError):
                raise fields
            check_label(fields, what(name), name, cluster)
            candidates.append((backup_time(fields, what(name), now), name))
        except BackupCryptoError as exc:
            skipped.append(str(exc))
    return (max(candidates)[1] if candidates else None), sorted(skipped)


def object_metadata(size, sha256, kid):
    """What an S3 object of a backup carries in its metadata, readable without the key: the
    snapshot's size and SHA-256 (a backup already there under its name is not sent again), the key
    id and the format."""
    return {"plaintext-sha256": sha256, "plaintext-size": str(size), "key-id": kid,
            "format": "raftops-etcd-backup-%d" % VERSION}


# -- retention ----------------------------------------------------------------------------------


def is_backup_object(name):
    """True for the objects a target keeps and prunes: ``etcd-snapshot-*.enc`` (other files are never touched)."""
    return name.startswith(OBJECT_PREFIX) and name.endswith(OBJECT_SUFFIX)


def newest_first(items):
    """Backups (``{"name", "mtime"}``) newest first: by name (``etcd-snapshot-<UTC time>``), then mtime."""
    return sorted(items, key=lambda item: (item["name"], float(item["mtime"])), reverse=True)


def retention(objects, keep, max_age_days, now):
    """Which backups a target deletes: ``(kept, deleted)``, lists of names, newest first.

    ``objects`` are ``{"name", "mtime"}`` dicts (mtime in seconds since the epoch). Backups are
    ordered by name, which holds the UTC time the snapshot was taken (as the controller's own
    pruning orders them), so a backup sent again later does not pass for a new one; their age is
    their mtime. The newest ``keep`` are kept unless older than ``max_age_days`` (0: no age
    limit), and the newest backup is always kept, however old, so a target never ends up empty.
    Objects that are not backups (``is_backup_object``) are neither kept nor deleted.
    """
    keep = int(keep)
    max_age_days = int(max_age_days)
    if keep < 1:
        raise ValueError("keep is %d: keep at least 1 backup" % keep)
    if max_age_days < 0:
        raise ValueError("max_age_days is %d: 0 (no age limit) or more" % max_age_days)
    backups = newest_first(o for o in objects if is_backup_object(o["name"]))
    oldest = now - max_age_days * 86400
    kept, deleted = [], []
    for position, item in enumerate(backups):
        too_old = max_age_days > 0 and float(item["mtime"]) < oldest
        if position == 0 or (position < keep and not too_old):
            kept.append(item["name"])
        else:
            deleted.append(item["name"])
    return kept, deleted
