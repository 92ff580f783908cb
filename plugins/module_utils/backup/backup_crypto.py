# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Encrypted backup files, their key, and the retention decision of off-host backup targets.

A backup leaves the controller (or a member, on its snapshot timer) only in this format, sealed
so that only the key file kept on the controller opens it, and signed by whoever made it:

* keys: every key is derived from the key file's 32 random bytes with HKDF-SHA256 (no salt) under
  an info string of its own, so that no key serves two primitives: ``raftops-etcd-backup recipient``
  gives the X25519 key backups are sealed to, ``raftops-etcd-backup signer controller`` the
  controller's Ed25519 signing seed, ``raftops-etcd-backup signer member:<name>`` each member's. The
  controller gives each pushing member its own seed only (in its push settings, 0600 root), with the
  X25519 public key and the public keys of this cluster's signers (the controller and the inventory's
  members); it verifies backups with the public keys it derives from the key file and the inventory's
  member names (cluster_signers). The key file is one per cluster (etcd_backup_key_file's default);
* header: 80 bytes ``magic "RAFTOPS-ETCD-BACKUP" (19), version u8 (4), key id (8: the first bytes
  of SHA-256 of the key), chunk size u32, nonce prefix (8 random bytes), plaintext size u64,
  plaintext SHA-256 (32)``, all integers big-endian, then 41 bytes: ``codec u8 (0 none, 1 zlib,
  2 lzma), sealed size u64 (the compressed stream the chunks hold), ephemeral X25519 public key (32)``.
  The AES-256-GCM key is HKDF-SHA256 (info ``raftops-etcd-backup v4``) of the X25519 secret of a
  one-time key pair and the key file's X25519 key, so that a member which seals backups can read none
  of them. Then the label: its length u16 and compact JSON ``{"name", "cluster", "cluster_id",
  "time", "signer"}`` - the object's name, the cluster it is a backup of, etcd's cluster ID then, the
  UTC time the snapshot was taken (``%Y%m%dT%H%M%SZ``) and who made it (``controller`` or
  ``member:<name>``). It makes a renamed or copied object, or one of another cluster, tell itself apart;
* signature, 64 bytes: Ed25519, by the label's signer, of ``"raftops-etcd-backup v4 header" 0x00``
  and the header (label included). Sealing proves nothing about the sender (anyone with the public
  key can seal); the signature does: ``latest``, a restore by name and every target's retention take
  a backup only when its signer is one of this cluster's and its signature verifies
  (verify_signature), with a time no later than now. Versions 1 to 3 (unsigned; 1 and 2 also with the
  key file's bytes as the AES key) are not read: nothing was released with them;
* header tag, 16 bytes: AES-256-GCM of nothing, with the header as associated data and the nonce
  ``prefix + 0xFFFFFFFF`` (a counter no chunk uses): the key file opens this backup;
* chunks: the plaintext's compressed stream in pieces of ``chunk size`` (the last one shorter, or
  empty for an empty file), each sealed with AES-256-GCM (ciphertext + 16-byte tag), nonce ``prefix +
  index u32`` and associated data ``header + index u32 + final flag u8``: bound to the signed header,
  under a key only the signer and the key file know.

A target's retention (retention()) judges every object under it by its header alone (its first
MAX_HEAD_SIZE bytes, a bounded read): only a backup whose header verifies counts and may be deleted,
the newest of them never; an object that does not verify is reported, never deleted, so that
whoever can upload under the prefix cannot make the next push delete the real backups.

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
import io
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
    from ansible_collections.raftops.etcd.plugins.module_utils.host.files import atomic_file
except ImportError:  # copied onto a member beside etcd_files.py, for its backup push (etcd_backup_push.py)
    from etcd_files import atomic_file

try:
    from cryptography.exceptions import InvalidSignature, InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module through missing_required_lib()
    CRYPTOGRAPHY_IMPORT_ERROR = exc
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY_IMPORT_ERROR is None

MAGIC = b"RAFTOPS-ETCD-BACKUP"
VERSION = 4
KEY_SIZE = 32
KEY_ID_SIZE = 8
TAG_SIZE = 16
CHUNK_SIZE = 4 * 1024 * 1024
HEADER = struct.Struct(">%dsB%dsI8sQ32s" % (len(MAGIC), KEY_ID_SIZE))
# What versions 3 and 4 add to HEADER: codec, sealed size, the one-time public key.
HEADER_V3 = struct.Struct(">BQ32s")
LABEL_LENGTH = struct.Struct(">H")
MAX_LABEL_SIZE = 4096
# Version 4: the Ed25519 signature of the header (label included) by the backup's maker.
SIGNATURE_SIZE = 64
SIGNATURE_CONTEXT = b"raftops-etcd-backup v4 header\x00"
HEADER_NONCE_COUNTER = 0xFFFFFFFF
MAX_CHUNK_SIZE = 64 * 1024 * 1024
MIB = 1024.0 * 1024.0
# The most a backup's header, label and tag take: what a reader of the header fetches.
MAX_HEAD_SIZE = HEADER.size + HEADER_V3.size + LABEL_LENGTH.size + MAX_LABEL_SIZE + SIGNATURE_SIZE + TAG_SIZE
# Every key is derived from the key file's 32 bytes with HKDF-SHA256 under an info string of its own,
# so that no key serves two primitives: the X25519 key backups are sealed to, each signer's Ed25519
# key, and (from each backup's one-time X25519 secret) its AES-256-GCM key.
HKDF_INFO = b"raftops-etcd-backup v4"
RECIPIENT_INFO = b"raftops-etcd-backup recipient"
SIGNER_INFO = b"raftops-etcd-backup signer "
# The signers: the controller (the backup playbook), and each member (its scheduled push) as
# ``member:<its name>`` (a member name holds no colon, so no member passes for the controller).
CONTROLLER = "controller"
MEMBER_SIGNER = "member:"
# Compression before encryption (encrypted data does not compress): the codecs by their id in the header.
CODECS = ("none", "zlib", "lzma")
DEFAULT_CODEC = "zlib"
# zlib's fastest level: on a snapshot of pod-like JSON it compresses 2.9 times as fast as its default
# level 6 for a stream a third larger (docs/sizing.md, tests/bench/codecs.py). A reader needs no level.
ZLIB_LEVEL = 1

# A label's time, as the snapshot names have it; ``latest`` takes no backup taken later than now
# (beyond a clock skew this large): a time in the future would win every choice to come.
LABEL_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
FUTURE_SKEW_SECONDS = 300

# What a target keeps and prunes: the backup playbook's snapshot names, sealed.
OBJECT_SUFFIX = ".enc"
OBJECT_PREFIX = "etcd-snapshot-"


class BackupCryptoError(Exception):
    """A key or an encrypted backup that cannot be used. ``kind`` says which problem it is:
    ``key``, ``not_a_backup``, ``other_key``, ``truncated``, ``tampered``, ``unsigned`` (a signature
    that does not verify, or a signer that is not one of this cluster's) or ``mismatch`` (an
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
    """Write a new random key to ``path`` (mode 0600), which must not exist; returns the key. The key is
    written whole to a file beside it and linked into place: another process of the run (each host's
    lookup) that finds ``path`` made reads all of the key, never a file still empty."""
    key = os.urandom(KEY_SIZE)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        descriptor, written = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    except OSError as exc:
        raise BackupCryptoError("key", "key file %s cannot be created: %s" % (path, exc.strerror)) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(base64.b64encode(key) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(written, path)
    except OSError as exc:
        raise BackupCryptoError("key", "key file %s cannot be created: %s" % (path, exc.strerror)) from None
    finally:
        os.unlink(written)
    return key


def load_key(path, create=False):
    """(key, created): the key in ``path``, made there first when ``create`` and it does not exist."""
    if create and not os.path.lexists(path):
        return create_key(path), True
    return read_key(path), False


Recipient = namedtuple("Recipient", "public_key key_id")
Recipient.__doc__ = """Whom a backup is sealed to: the key file's X25519 public key (32 bytes) and key id."""

Signer = namedtuple("Signer", "name seed")
Signer.__doc__ = """Who signs a backup: its signer name (CONTROLLER, or member_signer()) and Ed25519 seed (32 bytes)."""


def _derived(key, info):
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(key)


def _raw(public):
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _recipient_private(key):
    return X25519PrivateKey.from_private_bytes(_derived(key, RECIPIENT_INFO))


def recipient(key):
    """The Recipient of the key file's ``key``: what a member needs to seal backups that only this key opens."""
    return Recipient(_raw(_recipient_private(key).public_key()), key_id(key))


def member_signer(member):
    """The signer name of member ``member`` (its etcd name), as a backup's label names it."""
    return MEMBER_SIGNER + str(member)


def signer(key, name):
    """The Signer ``name`` (CONTROLLER or member_signer()) of the key file's ``key``: its seed is
    HKDF-SHA256 of the key under ``raftops-etcd-backup signer <name>``. The controller gives a member
    its own seed only."""
    return Signer(name, _derived(key, SIGNER_INFO + name.encode()))


def signer_public_key(seed):
    """The Ed25519 public key (32 bytes) of a Signer's ``seed``."""
    return _raw(Ed25519PrivateKey.from_private_bytes(seed).public_key())


def cluster_signers(key, members):
    """{signer name: Ed25519 public key (32 bytes)} of every signer of a cluster: the controller and
    each of ``members`` (the inventory's member names). A backup is taken for one of this cluster's
    only when one of these signed it."""
    names = [CONTROLLER] + [member_signer(m) for m in members or []]
    return {name: signer_public_key(signer(key, name).seed) for name in names}


def encoded_signers(signers):
    """``signers`` (cluster_signers) with each public key in base64: as a member's push settings hold them."""
    return {name: base64.b64encode(public).decode() for name, public in signers.items()}


def decoded_signers(signers):
    """The inverse of encoded_signers; ValueError when a key is not base64 of 32 bytes."""
    found = {}
    for name, text in (signers or {}).items():
        try:
            public = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError, TypeError):
            public = b""
        if len(public) != KEY_SIZE:
            raise ValueError("the public key of signer %s is not base64 of %d bytes" % (name, KEY_SIZE))
        found[str(name)] = public
    return found


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
    """The AES key of a backup with one-time public key ``ephemeral``, from the key file's ``key``."""
    private = _recipient_private(key)
    public_key = _raw(private.public_key())
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


def make_label(name, cluster="", cluster_id="", taken=None, revision=None):
    """The label a backup's header authenticates: its object name, cluster, etcd cluster ID, the UTC
    time (``YYYYMMDDTHHMMSSZ``, now when not given) the snapshot was taken and, when given, its
    revision (where the change stream of a cluster with no segment yet starts: label_revision)."""
    if not name:
        raise ValueError("a backup's label needs the object's name")
    label = dict(name=name, cluster=cluster or "", cluster_id=cluster_id or "",
                 time=taken or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    if revision:
        label["revision"] = int(revision)
    return label


def label_revision(fields):
    """The snapshot revision a verified backup's header names (make_label); 0 when it names none (a
    backup sealed before labels held it)."""
    revision = fields["label"].get("revision")
    return revision if isinstance(revision, int) and not isinstance(revision, bool) and revision > 0 else 0


def _label_bytes(label):
    text = json.dumps(label, sort_keys=True, separators=(",", ":")).encode()
    if len(text) > MAX_LABEL_SIZE:
        raise ValueError("a backup's label takes at most %d bytes, not %d" % (MAX_LABEL_SIZE, len(text)))
    return LABEL_LENGTH.pack(len(text)) + text


def _compressor(codec):
    if codec == "zlib":
        return zlib.compressobj(ZLIB_LEVEL)
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


def encrypt_file(src, dest, to, label, by, chunk_size=CHUNK_SIZE, compression=DEFAULT_CODEC):
    """Seal ``src`` into ``dest`` (mode 0600, replaced whole) for ``to`` (a Recipient) under ``label``
    (make_label, to which the signer's name is added), signed by ``by`` (a Signer), compressed with
    ``compression`` (CODECS) first; returns what a report shows, with the size and SHA-256 of the
    sealed file as it was written (what a copy of it must be, byte for byte).

    The plaintext is hashed (its size and SHA-256 go into the authenticated header) and compressed
    into a private temporary file beside ``dest`` in one read, then sealed a chunk at a time.
    Without compression the file is read twice, and a file that changes in between is refused.
    """
    if compression not in CODECS:
        raise ValueError("compression %s is not one of %s" % (compression, ", ".join(CODECS)))
    started = time.monotonic()
    label = dict(label, signer=by.name)
    signing = Ed25519PrivateKey.from_private_bytes(by.seed)
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
        signature = signing.sign(SIGNATURE_CONTEXT + header)
        aead = AESGCM(aes_key)
        count = chunk_count(stored, chunk_size)
        written = 0
        check = hashlib.sha256()
        sealed_digest = hashlib.sha256()
        with (open(src, "rb") if compression == "none" else nullcontext(stream)) as source, \
                atomic_file(dest, 0o600) as out:
            head = header + signature + aead.encrypt(_nonce(prefix, HEADER_NONCE_COUNTER), b"", header)
            out.write(head)
            sealed_digest.update(head)
            written += len(head)
            for index in range(count):
                block = source.read(chunk_size)
                check.update(block)
                final = index == count - 1
                sealed = aead.encrypt(_nonce(prefix, index), block, _chunk_aad(header, index, final))
                out.write(sealed)
                sealed_digest.update(sealed)
                written += len(sealed)
            if source.read(1) or (compression == "none" and check.hexdigest() != sha256):
                raise BackupCryptoError("tampered", "%s changed while it was being encrypted" % src)
    seconds = time.monotonic() - started
    return dict(size=size, sha256=sha256, encrypted_size=written, encrypted_sha256=sealed_digest.hexdigest(),
                key_id=to.key_id, label=label, signer=by.name, compression=compression, compressed_size=stored,
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

    ``what`` names the backup in messages. With ``key``, the header's tag is verified too (the key
    opens it). ``label`` is the header's label (make_label, with its ``signer``); ``header`` the bytes
    its ``signature`` signs, which verify_signature checks: nothing read here is to be trusted before.
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
                                "version %d signs a backup's name, cluster and time by its maker, with a key the "
                                "controller registered" % (what, version, VERSION))
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
    signature = _read_exactly(handle, SIGNATURE_SIZE, what, len(header))
    tag = _read_exactly(handle, TAG_SIZE, what, len(header) + SIGNATURE_SIZE)
    fields = dict(header=header, signature=signature, version=version, key_id=binascii.hexlify(kid).decode(), chunk_size=chunk_size,
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


def verify_signature(fields, what, signers):
    """Refuse a header (read_header) that is not signed by one of ``signers`` ({signer name: Ed25519
    public key}, cluster_signers): its label names its signer, whose key must verify the signature
    over the header, label included. Anyone with the key file's public key can seal a backup; only a
    signer the controller registered can sign one."""
    label = fields.get("label")
    who = label.get("signer") if isinstance(label, dict) else None
    if not isinstance(who, str) or not who:
        raise BackupCryptoError("unsigned", "%s names no signer in its header: it is not a backup this cluster's "
                                "controller or members made" % what)
    public = (signers or {}).get(who)
    if public is None:
        raise BackupCryptoError("unsigned", "%s is signed by %s, which is not a signer of this cluster (%s)"
                                % (what, json.dumps(who), ", ".join(sorted(signers or {})) or "none"))
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(fields["signature"], SIGNATURE_CONTEXT + fields["header"])
    except (InvalidSignature, ValueError):
        raise BackupCryptoError("unsigned", "%s: its signature by %s does not verify: a changed or forged header"
                                % (what, who)) from None


def verify(fields, what, signers, name=None, cluster=None, now=None):
    """The time (backup_time) of a backup whose header verifies: its signature by one of ``signers``
    (verify_signature), its label's ``name`` and ``cluster`` (check_label) and its time (no later than
    ``now``); else the BackupCryptoError that says why. ``fields`` may be that error already (a head
    that could not be read)."""
    if isinstance(fields, BackupCryptoError):
        raise fields
    verify_signature(fields, what, signers)
    check_label(fields, what, name, cluster)
    return backup_time(fields, what, now)


def parse_head(head, what, key=None):
    """The header fields of a backup's first bytes ``head`` (read_header), or the BackupCryptoError reading them raised."""
    try:
        return read_header(io.BytesIO(head), what, key)
    except BackupCryptoError as exc:
        return exc


def object_what(name, target_name):
    """How messages name object ``name`` of a target."""
    return "object %s on target %s" % (name, target_name)


def target_heads(target, names):
    """{name: the header fields, or the BackupCryptoError reading them raised (parse_head)} of the
    objects ``names`` on ``target`` (an object with ``name`` and ``read_head(name, size)``), each read
    from its first MAX_HEAD_SIZE bytes and named as object_what names it, for verified_times or
    retention to judge."""
    return {name: parse_head(target.read_head(name, MAX_HEAD_SIZE), object_what(name, target.name)) for name in names}


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


def decrypt_file(src, dest, key, signers, what=None, name=None, cluster=None):
    """Verify and decrypt ``src`` into ``dest``, which is replaced only when everything verified.

    Returns the size, SHA-256, key id and label of the plaintext. The header's signature must be by
    one of ``signers`` (cluster_signers) and its label pass check_label with ``name`` and ``cluster``
    (an authentic backup under another name or of another cluster is refused); raises
    BackupCryptoError naming ``what`` (default: ``src``) and the kind of problem.
    """
    what = what or src
    started = time.monotonic()
    with open(src, "rb") as handle:
        fields = read_header(handle, what, key)
        verify_signature(fields, what, signers)
        check_label(fields, what, name, cluster)
        header, prefix, chunk_size, stored = fields["header"], fields["prefix"], fields["chunk_size"], fields["stored_size"]
        count = chunk_count(stored, chunk_size)
        aead = AESGCM(fields["aes_key"])
        offset = len(header) + SIGNATURE_SIZE + TAG_SIZE
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
                           len(header) + SIGNATURE_SIZE + TAG_SIZE + stored + count * TAG_SIZE))
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
                signer=fields["label"].get("signer"), compression=fields["compression"], compressed_size=stored,
                decrypt_seconds=round(seconds, 3), decrypt_mib_s=throughput(fields["size"], seconds))


# -- choosing ----------------------------------------------------------------------------------


def verified_times(headers, what, signers, cluster=None, now=None):
    """``(times, problems)`` of a target's backups: ``times`` maps each backup whose header verifies
    (verify: signed by one of ``signers``, under its own name, of ``cluster``, no later than ``now``) to
    its time; ``problems`` says why each other one does not, one message each.

    ``headers`` maps each backup's name to its header (read_header, parse_head) or to the
    BackupCryptoError reading it raised; ``what(name)`` names one in messages.
    """
    times, problems = {}, []
    for name, fields in headers.items():
        try:
            times[name] = verify(fields, what(name), signers, name, cluster, now)
        except BackupCryptoError as exc:
            problems.append(str(exc))
    return times, sorted(problems)


def newest_authentic(headers, what, signers, cluster=None, now=None):
    """``latest``: the newest of a target's backups by verified time, as (name, skipped).

    A backup whose header does not verify (verified_times: unsigned, signed by a signer that is not
    one of ``signers``, tampered, under another name or of another ``cluster``, or whose time is no
    time or later than ``now``) is skipped (``skipped``: why, one message each); name is None when
    none is left.
    """
    times, skipped = verified_times(headers, what, signers, cluster, now)
    return max(((taken, name) for name, taken in times.items()), default=(None, None))[1], skipped


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
    """Objects (``{"name", "mtime"}``) as a listing shows them: by name, then mtime, the last first.
    Nothing is chosen or deleted by this order (retention and latest go by verified header)."""
    return sorted(items, key=lambda item: (item["name"], float(item["mtime"])), reverse=True)


def retention(headers, keep, max_age_days, now, signers, cluster=None, what=str):
    """Which backups a target deletes: ``(kept, deleted, unverified)``, by verified header only.

    ``headers`` maps the name of every object under the target to its header (parse_head of its
    first MAX_HEAD_SIZE bytes) or to the BackupCryptoError reading it raised; those that are not
    backups (``is_backup_object``) are left out. A backup counts only when its header verifies
    (verified_times: signed by one of ``signers``, under its own name, of ``cluster``, no later than
    ``now``): ordered by that verified time (then name), the newest ``keep`` are kept unless taken more
    than ``max_age_days`` (0: no age limit) before ``now``, and the newest verified backup is always kept,
    however old, so a target never ends up without one. An object that does not verify is neither
    kept nor deleted: ``unverified`` says why each is not counted (an operator decides), so that
    objects planted under the prefix with newer names or times never make a real backup go.
    ``kept`` and ``deleted`` are lists of names, newest first.
    """
    keep = int(keep)
    max_age_days = int(max_age_days)
    if keep < 1:
        raise ValueError("keep is %d: keep at least 1 backup" % keep)
    if max_age_days < 0:
        raise ValueError("max_age_days is %d: 0 (no age limit) or more" % max_age_days)
    backups = {name: fields for name, fields in headers.items() if is_backup_object(name)}
    times, unverified = verified_times(backups, what, signers, cluster, now)
    ordered = sorted(times, key=lambda name: (times[name], name), reverse=True)
    oldest = now - max_age_days * 86400
    kept, deleted = [], []
    for position, name in enumerate(ordered):
        taken = calendar.timegm(time.strptime(times[name], LABEL_TIME_FORMAT))
        too_old = max_age_days > 0 and taken < oldest
        if position == 0 or (position < keep and not too_old):
            kept.append(name)
        else:
            deleted.append(name)
    return kept, deleted, unverified
