"""The encrypted backup format: a round trip, and every way a file can go wrong named for what it is."""

import base64
import json
import os
import stat
import struct

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_backup_crypto as crypto

CHUNK = 64  # small chunks so that a few hundred bytes make several
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
DATA_SIZE = CHUNK * 3 + 10  # four chunks, the last one short
NAME = "etcd-snapshot-20260101T000000Z.db.enc"
LABEL = crypto.make_label(NAME, "prod/etcd", "ef37ad9dc622a7c4", "20260101T000000Z")
LABEL_TEXT = json.dumps(LABEL, sort_keys=True, separators=(",", ":")).encode()
HEAD = crypto.HEADER.size + crypto.HEADER_V3.size + crypto.LABEL_LENGTH.size + len(LABEL_TEXT) + crypto.TAG_SIZE
SEALED_CHUNK = CHUNK + crypto.TAG_SIZE


@pytest.fixture
def plain(tmp_path):
    path = tmp_path / "etcd-snapshot-20260101T000000Z.db"
    path.write_bytes(os.urandom(DATA_SIZE))
    return path


def seal(tmp_path, plain, key=KEY):
    sealed = tmp_path / (plain.name + ".enc")
    crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(key), LABEL, chunk_size=CHUNK, compression="none")
    return sealed


def open_sealed(tmp_path, sealed, key=KEY):
    out = tmp_path / "restored.db"
    return out, crypto.decrypt_file(str(sealed), str(out), key, what="object " + sealed.name)


def refused(tmp_path, sealed, key=KEY):
    with pytest.raises(crypto.BackupCryptoError) as caught:
        open_sealed(tmp_path, sealed, key)
    assert not (tmp_path / "restored.db").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".restored")] == []  # no temporary file left
    return caught.value


def test_round_trip(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    assert stat.S_IMODE(os.stat(sealed).st_mode) == 0o600
    assert os.path.getsize(sealed) == HEAD + DATA_SIZE + 4 * crypto.TAG_SIZE
    assert plain.read_bytes() not in sealed.read_bytes()
    out, result = open_sealed(tmp_path, sealed)
    assert out.read_bytes() == plain.read_bytes()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert result["size"] == DATA_SIZE
    assert result["sha256"] == crypto.file_sha256(str(plain))[1]
    assert result["key_id"] == crypto.key_id(KEY)
    assert result["label"] == LABEL and "warning" not in result


def test_two_encryptions_of_one_file_differ(tmp_path, plain):
    first = seal(tmp_path, plain).read_bytes()
    assert seal(tmp_path, plain).read_bytes() != first


@pytest.mark.parametrize("size", [0, CHUNK, CHUNK * 2, 1])
def test_empty_file_and_exact_chunk_multiples(tmp_path, size):
    plain = tmp_path / "p.db"
    plain.write_bytes(os.urandom(size))
    sealed = seal(tmp_path, plain)
    assert os.path.getsize(sealed) == HEAD + size + crypto.chunk_count(size, CHUNK) * crypto.TAG_SIZE
    out, result = open_sealed(tmp_path, sealed)
    assert out.read_bytes() == plain.read_bytes() and result["size"] == size


def test_the_default_chunk_size_streams(tmp_path):
    plain = tmp_path / "p.db"
    plain.write_bytes(os.urandom(crypto.CHUNK_SIZE + 5))
    sealed = tmp_path / "p.enc"
    result = crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), LABEL)
    assert result["size"] == crypto.CHUNK_SIZE + 5 and result["encrypted_size"] == os.path.getsize(sealed)
    out = tmp_path / "out.db"
    crypto.decrypt_file(str(sealed), str(out), KEY)
    assert out.read_bytes() == plain.read_bytes()


@pytest.mark.parametrize("cut", [0, 5, HEAD - 1, HEAD, HEAD + 1, HEAD + SEALED_CHUNK, HEAD + SEALED_CHUNK * 3 + 3,
                                 -1])
def test_truncation_anywhere_is_named(tmp_path, plain, cut):
    sealed = seal(tmp_path, plain)
    data = sealed.read_bytes()
    sealed.write_bytes(data[:cut])
    error = refused(tmp_path, sealed)
    assert error.kind == "truncated"
    assert str(error).startswith("object %s is truncated: it ends at byte %d" % (sealed.name, len(data[:cut])))


@pytest.mark.parametrize("offset, where", [
    (len(crypto.MAGIC) + 1 + crypto.KEY_ID_SIZE + 4 + 8 + 2, "its header"),  # the size field
    (crypto.HEADER.size - 1, "its header"),  # the plaintext SHA-256
    (crypto.HEADER.size + 1, "its header"),  # the label's length
    (crypto.HEADER.size + 12, "its header"),  # the label
    (HEAD - crypto.TAG_SIZE + 3, "its header"),  # the header's tag
    (HEAD + 7, "chunk 1 of 4"),
    (HEAD + SEALED_CHUNK * 2 + 1, "chunk 3 of 4"),
    (HEAD + SEALED_CHUNK - 1, "chunk 1 of 4"),  # the first chunk's tag
    (-1, "chunk 4 of 4"),  # the last tag
])
def test_a_bit_flip_is_tampering(tmp_path, plain, offset, where):
    sealed = seal(tmp_path, plain)
    data = bytearray(sealed.read_bytes())
    data[offset] ^= 0x01
    sealed.write_bytes(bytes(data))
    error = refused(tmp_path, sealed)
    assert error.kind == "tampered"
    assert str(error) == "object %s: authentication failed: tampered or wrong key (%s)" % (sealed.name, where)


def test_a_changed_size_in_the_header_is_caught_by_its_tag(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    data = bytearray(sealed.read_bytes())
    data[len(crypto.MAGIC) + 1 + crypto.KEY_ID_SIZE + 4 + 8 + 7] ^= 0x01  # last byte of the size: one byte less
    sealed.write_bytes(bytes(data))
    error = refused(tmp_path, sealed)
    assert error.kind == "tampered" and "(its header)" in str(error)


def test_swapped_chunks_are_tampering(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    data = sealed.read_bytes()
    first, second = data[HEAD:HEAD + SEALED_CHUNK], data[HEAD + SEALED_CHUNK:HEAD + 2 * SEALED_CHUNK]
    sealed.write_bytes(data[:HEAD] + second + first + data[HEAD + 2 * SEALED_CHUNK:])
    error = refused(tmp_path, sealed)
    assert str(error) == "object %s: authentication failed: tampered or wrong key (chunk 1 of 4)" % sealed.name


def test_a_chunk_from_another_backup_is_tampering(tmp_path, plain):
    one = seal(tmp_path, plain).read_bytes()
    two = tmp_path / "two.enc"
    crypto.encrypt_file(str(plain), str(two), crypto.recipient(KEY), LABEL, chunk_size=CHUNK)
    mixed = one[:HEAD + SEALED_CHUNK] + two.read_bytes()[HEAD + SEALED_CHUNK:]
    two.write_bytes(mixed)
    assert refused(tmp_path, two).kind == "tampered"


def test_appended_bytes_are_tampering(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    sealed.write_bytes(sealed.read_bytes() + b"x")
    error = refused(tmp_path, sealed)
    assert error.kind == "tampered" and "bytes after its last chunk" in str(error)


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_format_is_refused_before_its_key_is_used(tmp_path, plain, version):
    # Sealed with the key file's bytes as the AES key (one key, two primitives), version 1 without a
    # label: reading them would take a backup's name and time from the object's name.
    sealed = seal_version_1(plain, tmp_path / NAME, version=version)
    error = refused(tmp_path, sealed)
    assert error.kind == "not_a_backup"
    assert str(error) == ("object %s has format version %d, which this collection does not read: only version 3 "
                          "authenticates a backup's name, cluster and time with a key the members cannot open backups "
                          "with" % (NAME, version))


# -- version 3: sealed to the key file's public key, compressed ------------------------------------


def compressible(tmp_path, size=300000):
    path = tmp_path / "etcd-snapshot-20260101T000000Z.db"
    path.write_bytes(b"".join(b"/registry/pods/default/pod-%06d {\"spec\": %d}\n" % (i, i % 7)
                              for i in range(size // 40))[:size])
    return path


@pytest.mark.parametrize("codec", ["zlib", "lzma"])
def test_a_compressed_backup_is_smaller_and_reads_back_whole(tmp_path, codec):
    plain = compressible(tmp_path)
    sealed = tmp_path / NAME
    result = crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), LABEL, chunk_size=4096,
                                 compression=codec)
    assert result["compression"] == codec and result["size"] == plain.stat().st_size
    assert result["compressed_size"] < plain.stat().st_size // 5
    assert sealed.stat().st_size == result["encrypted_size"] < plain.stat().st_size // 5
    out, opened = open_sealed(tmp_path, sealed)
    assert out.read_bytes() == plain.read_bytes()
    assert opened["compression"] == codec and opened["sha256"] == result["sha256"]
    assert [p for p in os.listdir(tmp_path) if p not in (plain.name, sealed.name, out.name)] == []  # no stream left


def test_a_compressed_backup_cut_or_changed_is_refused(tmp_path):
    plain = compressible(tmp_path)
    sealed = tmp_path / NAME
    crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), LABEL, chunk_size=1024)
    data = sealed.read_bytes()
    sealed.write_bytes(data[:-100])
    assert refused(tmp_path, sealed).kind == "truncated"
    changed = bytearray(data)
    changed[len(data) // 2] ^= 1
    sealed.write_bytes(bytes(changed))
    assert "authentication failed: tampered or wrong key (chunk" in str(refused(tmp_path, sealed))
    codec_at = crypto.HEADER.size
    changed = bytearray(data)
    changed[codec_at] = 2  # zlib claimed to be lzma: the header's tag no longer holds
    sealed.write_bytes(bytes(changed))
    assert str(refused(tmp_path, sealed)).endswith("authentication failed: tampered or wrong key (its header)")


@pytest.mark.parametrize("codec", ["zlib", "lzma"])
def test_a_decompression_bomb_is_refused_at_the_first_byte_past_its_header_s_size(tmp_path, monkeypatch, codec):
    # Sealed with the public key alone, as anyone on a member could: a header that says 10 bytes over
    # a stream of 20 MiB of zeros (a few KiB compressed).
    bomb = tmp_path / "zeros"
    with open(bomb, "wb") as handle:
        handle.truncate(20 * 1024 * 1024)
    sealed = tmp_path / NAME
    real = crypto._hash_and_compress
    monkeypatch.setattr(crypto, "_hash_and_compress", lambda *args: (10, real(*args)[1]))
    crypto.encrypt_file(str(bomb), str(sealed), crypto.recipient(KEY), LABEL, chunk_size=4096, compression=codec)
    monkeypatch.undo()
    assert sealed.stat().st_size < 64 * 1024
    inflated = []
    decompressor = crypto._decompressor

    class Counting:
        def __init__(self, codec):
            self.real = decompressor(codec)

        def decompress(self, data, *limit):
            out = self.real.decompress(data, *limit)
            inflated.append(len(out))
            return out

    monkeypatch.setattr(crypto, "_decompressor", Counting)
    error = refused(tmp_path, sealed)
    assert str(error).startswith("object %s: authentication failed: tampered or wrong key (its plaintext grows past the "
                                 "10 bytes its header says, in chunk 1 of " % NAME), error
    assert sum(inflated) == 11  # one byte past the header's size, and no more taken into memory


def test_the_public_key_seals_but_only_the_key_file_opens(tmp_path, plain):
    to = crypto.recipient(KEY)
    assert len(to.public_key) == 32 and to.key_id == crypto.key_id(KEY) and to.public_key != KEY
    sealed = seal(tmp_path, plain)
    # Nothing in the file, nor the public key, is the AES key: the one-time key differs every time.
    with open(sealed, "rb") as handle:
        ephemeral = crypto.read_header(handle, "x")["header"][crypto.HEADER.size + 9:crypto.HEADER.size + 41]
    assert len(ephemeral) == 32 and ephemeral != to.public_key
    # A backup whose one-time key is replaced does not authenticate (the key derivation binds it).
    data = bytearray(sealed.read_bytes())
    data[crypto.HEADER.size + 9] ^= 1
    sealed.write_bytes(bytes(data))
    assert str(refused(tmp_path, sealed)).endswith("(its header)")


def test_an_unknown_compression_is_refused_before_anything_is_written(tmp_path, plain):
    with pytest.raises(ValueError, match="compression bzip2 is not one of none, zlib, lzma"):
        crypto.encrypt_file(str(plain), str(tmp_path / NAME), crypto.recipient(KEY), LABEL, compression="bzip2")
    assert not (tmp_path / NAME).exists()


def test_another_key_is_named_with_both_ids(tmp_path, plain):
    sealed = seal(tmp_path, plain, OTHER_KEY)
    error = refused(tmp_path, sealed)
    assert error.kind == "other_key"
    assert str(error) == "object %s was made with another key (key id %s; the key file's id is %s)" % (
        sealed.name, crypto.key_id(OTHER_KEY), crypto.key_id(KEY))


def test_a_wrong_key_with_a_forged_key_id_fails_authentication(tmp_path, plain):
    sealed = seal(tmp_path, plain, OTHER_KEY)
    data = bytearray(sealed.read_bytes())
    start = len(crypto.MAGIC) + 1
    data[start:start + crypto.KEY_ID_SIZE] = bytes.fromhex(crypto.key_id(KEY))
    sealed.write_bytes(bytes(data))
    error = refused(tmp_path, sealed)
    assert str(error) == "object %s: authentication failed: tampered or wrong key (its header)" % sealed.name


def test_a_plain_snapshot_is_not_a_backup(tmp_path, plain):
    error = refused(tmp_path, plain)
    assert error.kind == "not_a_backup"
    assert "is not an encrypted raftops etcd backup (no RAFTOPS-ETCD-BACKUP header)" in str(error)


def test_a_refused_decryption_leaves_the_old_destination(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    sealed.write_bytes(sealed.read_bytes()[:-3])
    out = tmp_path / "restored.db"
    out.write_bytes(b"old")
    with pytest.raises(crypto.BackupCryptoError):
        crypto.decrypt_file(str(sealed), str(out), KEY)
    assert out.read_bytes() == b"old"


def test_the_header_is_readable_without_the_key(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    with open(sealed, "rb") as handle:
        fields = crypto.read_header(handle, "x")
    assert fields["size"] == DATA_SIZE and fields["key_id"] == crypto.key_id(KEY) and fields["chunk_size"] == CHUNK
    assert fields["version"] == 3 and fields["label"] == LABEL and fields["compression"] == "none"
    assert fields["stored_size"] == DATA_SIZE and fields["aes_key"] is None


# -- the label: the name, cluster and time authenticated with the content -------------------------


def test_a_renamed_or_copied_backup_is_refused_naming_both_names(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    with pytest.raises(crypto.BackupCryptoError) as caught:
        crypto.decrypt_file(str(sealed), str(tmp_path / "out.db"), KEY, what="object x.enc on target t", name="x.enc")
    assert caught.value.kind == "mismatch"
    assert str(caught.value) == ("object x.enc on target t: its authenticated header names it %s (cluster prod/etcd, "
                                 "taken 20260101T000000Z): a renamed or copied backup is refused" % NAME)
    assert not (tmp_path / "out.db").exists()


def test_a_backup_of_another_cluster_is_refused_naming_both(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    with pytest.raises(crypto.BackupCryptoError) as caught:
        crypto.decrypt_file(str(sealed), str(tmp_path / "out.db"), KEY, what="w", name=NAME, cluster="stage/etcd")
    assert caught.value.kind == "mismatch"
    assert str(caught.value) == ("w is a backup of cluster prod/etcd (its authenticated header), not of stage/etcd "
                                 "(etcd_backup_cluster): set etcd_backup_cluster to prod/etcd to restore it on purpose")
    out = tmp_path / "out.db"
    assert crypto.decrypt_file(str(sealed), str(out), KEY, name=NAME, cluster="prod/etcd")["label"] == LABEL
    assert out.read_bytes() == plain.read_bytes()


def test_a_label_longer_than_allowed_is_refused_before_any_read(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    data = bytearray(sealed.read_bytes())
    at = crypto.HEADER.size + crypto.HEADER_V3.size
    data[at:at + 2] = struct.pack(">H", crypto.MAX_LABEL_SIZE + 1)
    sealed.write_bytes(bytes(data))
    error = refused(tmp_path, sealed)
    assert error.kind == "tampered" and "a label of %d bytes" % (crypto.MAX_LABEL_SIZE + 1) in str(error)
    with pytest.raises(ValueError, match="at most 4096 bytes"):
        crypto.encrypt_file(str(plain), str(tmp_path / "x.enc"), crypto.recipient(KEY), crypto.make_label("x" * 5000))


def seal_version_1(plain, dest, key=KEY, version=1):
    """A backup as version 1 wrote it (no label), or version 2 (a label): sealed with the key file's bytes."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    data = plain.read_bytes()
    prefix = os.urandom(8)
    header = crypto.HEADER.pack(crypto.MAGIC, version, bytes.fromhex(crypto.key_id(key)), CHUNK, prefix, len(data),
                                bytes.fromhex(crypto.file_sha256(str(plain))[1]))
    if version == 2:
        header += struct.pack(">H", len(LABEL_TEXT)) + LABEL_TEXT
    aead = AESGCM(key)
    out = header + aead.encrypt(prefix + struct.pack(">I", 0xFFFFFFFF), b"", header)
    count = crypto.chunk_count(len(data), CHUNK)
    for index in range(count):
        aad = header + struct.pack(">IB", index, 1 if index == count - 1 else 0)
        out += aead.encrypt(prefix + struct.pack(">I", index), data[index * CHUNK:(index + 1) * CHUNK], aad)
    dest.write_bytes(out)
    return dest


def header_of(path):
    with open(path, "rb") as handle:
        return crypto.read_header(handle, path.name, KEY)


def test_latest_is_the_newest_by_authenticated_time_skipping_renamed_and_foreign_backups(tmp_path, plain):
    headers = {}
    for taken, cluster in (("20260101T000000Z", "prod/etcd"), ("20260301T000000Z", "prod/etcd"),
                           ("20260401T000000Z", "stage/etcd")):
        name = "etcd-snapshot-%s.db.enc" % taken
        crypto.encrypt_file(str(plain), str(tmp_path / name), crypto.recipient(KEY), crypto.make_label(name, cluster, "", taken),
                            chunk_size=CHUNK)
        headers[name] = header_of(tmp_path / name)
    # The backup of March, copied under a newer name.
    headers["etcd-snapshot-20270101T000000Z.db.enc"] = headers["etcd-snapshot-20260301T000000Z.db.enc"]
    headers["etcd-snapshot-20280101T000000Z.db.enc"] = crypto.BackupCryptoError("tampered", "object z: tampered")
    # Sealed with the public key alone, as anyone on a member could: a time that is no time but sorts
    # after every real one, and one in the future.
    for forged in ("~~~~", "20991231T000000Z"):
        name = "etcd-snapshot-%s.db.enc" % forged
        crypto.encrypt_file(str(plain), str(tmp_path / name), crypto.recipient(KEY),
                            crypto.make_label(name, "prod/etcd", "", forged), chunk_size=CHUNK)
        headers[name] = header_of(tmp_path / name)
    name, skipped = crypto.newest_authentic(headers, lambda n: "object " + n, "prod/etcd", now=1780000000)
    assert name == "etcd-snapshot-20260301T000000Z.db.enc"
    assert skipped == [
        "object etcd-snapshot-20260401T000000Z.db.enc is a backup of cluster stage/etcd (its authenticated header), "
        "not of prod/etcd (etcd_backup_cluster): set etcd_backup_cluster to stage/etcd to restore it on purpose",
        "object etcd-snapshot-20270101T000000Z.db.enc: its authenticated header names it "
        "etcd-snapshot-20260301T000000Z.db.enc (cluster prod/etcd, taken 20260301T000000Z): a renamed or copied "
        "backup is refused",
        "object etcd-snapshot-20991231T000000Z.db.enc: its authenticated time 20991231T000000Z is in the future: a "
        "backup is never taken later than now, so it is not chosen as the newest",
        "object etcd-snapshot-~~~~.db.enc: its authenticated time \"~~~~\" is no UTC time of the form "
        "20260101T000000Z",
        "object z: tampered"]
    del headers["etcd-snapshot-20260301T000000Z.db.enc"]
    assert crypto.newest_authentic(headers, str, "prod/etcd")[0] == "etcd-snapshot-20260101T000000Z.db.enc"
    assert crypto.newest_authentic({}, str) == (None, [])


# -- the key -----------------------------------------------------------------------------------


def test_a_key_is_made_once_mode_0600_and_read_back(tmp_path):
    path = str(tmp_path / "etcd-backup.key")
    key, created = crypto.load_key(path, create=True)
    assert created and len(key) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert crypto.load_key(path, create=True) == (key, False)


def test_a_missing_key_without_create_is_named(tmp_path):
    path = str(tmp_path / "none.key")
    with pytest.raises(crypto.BackupCryptoError, match="key file %s cannot be read" % path):
        crypto.load_key(path)


def test_a_key_others_can_read_is_refused(tmp_path):
    path = tmp_path / "k.key"
    path.write_bytes(base64.b64encode(KEY))
    os.chmod(path, 0o640)
    with pytest.raises(crypto.BackupCryptoError) as caught:
        crypto.read_key(str(path))
    assert str(caught.value) == (
        "key file %s has mode 0640: group and others may not read it; run chmod 600 %s" % (path, path))


@pytest.mark.parametrize("content, problem", [
    (base64.b64encode(b"x" * 16), "holds 16 bytes, not 32"),
    (b"not base64!", "does not hold base64 text"),
])
def test_a_key_of_the_wrong_length_or_text_is_refused(tmp_path, content, problem):
    path = tmp_path / "k.key"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(crypto.BackupCryptoError, match=problem):
        crypto.read_key(str(path))


# -- retention ---------------------------------------------------------------------------------

DAY = 86400
NOW = 1_800_000_000


def backups(*ages_in_days):
    """Backups named as the backup playbook names them, the first one newest (etcd-snapshot-00 the oldest name)."""
    count = len(ages_in_days)
    return [{"name": "etcd-snapshot-%02d.db.enc" % (count - 1 - i), "mtime": NOW - age * DAY}
            for i, age in enumerate(ages_in_days)]


def test_retention_keeps_the_newest_by_count():
    kept, deleted = crypto.retention(backups(0, 1, 2, 3, 4), keep=3, max_age_days=0, now=NOW)
    assert kept == ["etcd-snapshot-04.db.enc", "etcd-snapshot-03.db.enc", "etcd-snapshot-02.db.enc"]
    assert deleted == ["etcd-snapshot-01.db.enc", "etcd-snapshot-00.db.enc"]


def test_retention_by_age_within_the_count():
    kept, deleted = crypto.retention(backups(1, 10, 40, 50), keep=7, max_age_days=30, now=NOW)
    assert kept == ["etcd-snapshot-03.db.enc", "etcd-snapshot-02.db.enc"]
    assert deleted == ["etcd-snapshot-01.db.enc", "etcd-snapshot-00.db.enc"]


def test_the_newest_is_never_deleted_however_old():
    kept, deleted = crypto.retention(backups(90, 100), keep=1, max_age_days=30, now=NOW)
    assert kept == ["etcd-snapshot-01.db.enc"] and deleted == ["etcd-snapshot-00.db.enc"]


def test_other_objects_are_left_alone_and_the_name_not_the_upload_time_orders():
    # The older snapshot was sent again today: it does not push out the newer one.
    objects = [*backups(3, 0), {"name": "notes.txt", "mtime": 0}, {"name": "etcd-snapshot-x.db", "mtime": 0}]
    kept, deleted = crypto.retention(objects, keep=1, max_age_days=0, now=NOW)
    assert kept == ["etcd-snapshot-01.db.enc"] and deleted == ["etcd-snapshot-00.db.enc"]
    assert crypto.retention([], keep=1, max_age_days=1, now=NOW) == ([], [])


@pytest.mark.parametrize("keep, age, message", [(0, 1, "keep at least 1"), (1, -1, "0 \\(no age limit\\) or more")])
def test_a_retention_that_would_delete_everything_is_refused(keep, age, message):
    with pytest.raises(ValueError, match=message):
        crypto.retention(backups(0), keep=keep, max_age_days=age, now=NOW)
