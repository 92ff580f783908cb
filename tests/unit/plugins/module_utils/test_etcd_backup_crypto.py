"""The encrypted backup format: a round trip, and every way a file can go wrong named for what it is."""

import base64
import json
import os
import stat
import struct
import zlib

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto

CHUNK = 64  # small chunks so that a few hundred bytes make several
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
DATA_SIZE = CHUNK * 3 + 10  # four chunks, the last one short
NAME = "etcd-snapshot-20260101T000000Z.db.enc"
LABEL = crypto.make_label(NAME, "prod/etcd", "ef37ad9dc622a7c4", "20260101T000000Z")
# What the header holds: the label with its signer's name.
SIGNED_LABEL = dict(LABEL, signer="controller")
LABEL_TEXT = json.dumps(SIGNED_LABEL, sort_keys=True, separators=(",", ":")).encode()
HEAD = (crypto.HEADER.size + crypto.HEADER_V3.size + crypto.LABEL_LENGTH.size + len(LABEL_TEXT) + crypto.SIGNATURE_SIZE
        + crypto.TAG_SIZE)
SIGNATURE_AT = HEAD - crypto.TAG_SIZE - crypto.SIGNATURE_SIZE
SEALED_CHUNK = CHUNK + crypto.TAG_SIZE
MEMBERS = ["etcd-a", "etcd-b", "etcd-c"]
# The signers of the test cluster: its controller and members, as the controller derives them from the key file.
SIGNERS = crypto.cluster_signers(KEY, MEMBERS)
CONTROLLER = crypto.signer(KEY, crypto.CONTROLLER)


@pytest.fixture
def plain(tmp_path):
    path = tmp_path / "etcd-snapshot-20260101T000000Z.db"
    path.write_bytes(os.urandom(DATA_SIZE))
    return path


def seal(tmp_path, plain, key=KEY):
    sealed = tmp_path / (plain.name + ".enc")
    crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(key), LABEL, crypto.signer(key, crypto.CONTROLLER),
                        chunk_size=CHUNK, compression="none")
    return sealed


def open_sealed(tmp_path, sealed, key=KEY):
    out = tmp_path / "restored.db"
    return out, crypto.decrypt_file(str(sealed), str(out), key, SIGNERS, what="object " + sealed.name)


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
    assert result["label"] == SIGNED_LABEL and result["signer"] == "controller" and "warning" not in result


@pytest.mark.parametrize("compression", crypto.CODECS)
def test_the_sealed_files_size_and_sha256_are_those_of_what_was_written(tmp_path, plain, compression):
    """Hashed as it is written: nobody reads the sealed file back to learn what its copies must be."""
    sealed = tmp_path / "sealed.enc"
    result = crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), LABEL, CONTROLLER, chunk_size=CHUNK,
                                 compression=compression)
    assert (result["encrypted_size"], result["encrypted_sha256"]) == crypto.file_sha256(str(sealed))


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
    result = crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), LABEL, CONTROLLER)
    assert result["size"] == crypto.CHUNK_SIZE + 5 and result["encrypted_size"] == os.path.getsize(sealed)
    out = tmp_path / "out.db"
    crypto.decrypt_file(str(sealed), str(out), KEY, SIGNERS)
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
    crypto.encrypt_file(str(plain), str(two), crypto.recipient(KEY), LABEL, CONTROLLER, chunk_size=CHUNK)
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
    assert str(error) == ("object %s has format version %d, which this collection does not read: only version 4 "
                          "signs a backup's name, cluster and time by its maker, with a key the controller registered"
                          % (NAME, version))


def test_version_3_unsigned_is_refused_as_an_older_format(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    data = bytearray(sealed.read_bytes())
    data[len(crypto.MAGIC)] = 3
    sealed.write_bytes(bytes(data))
    error = refused(tmp_path, sealed)
    assert error.kind == "not_a_backup" and "has format version 3, which this collection does not read" in str(error)


# -- sealed to the key file's public key, compressed ----------------------------------------------


def compressible(tmp_path, size=300000):
    path = tmp_path / "etcd-snapshot-20260101T000000Z.db"
    path.write_bytes(b"".join(b"/registry/pods/default/pod-%06d {\"spec\": %d}\n" % (i, i % 7)
                              for i in range(size // 40))[:size])
    return path


@pytest.mark.parametrize("codec", ["zlib", "lzma"])
def test_a_compressed_backup_is_smaller_and_reads_back_whole(tmp_path, codec):
    plain = compressible(tmp_path)
    sealed = tmp_path / NAME
    result = crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), LABEL, CONTROLLER, chunk_size=4096,
                                 compression=codec)
    assert result["compression"] == codec and result["size"] == plain.stat().st_size
    assert result["compressed_size"] < plain.stat().st_size // 5
    assert sealed.stat().st_size == result["encrypted_size"] < plain.stat().st_size // 5
    out, opened = open_sealed(tmp_path, sealed)
    assert out.read_bytes() == plain.read_bytes()
    assert opened["compression"] == codec and opened["sha256"] == result["sha256"]
    assert [p for p in os.listdir(tmp_path) if p not in (plain.name, sealed.name, out.name)] == []  # no stream left


def test_a_backup_sealed_at_zlib_s_default_level_by_earlier_versions_still_opens(tmp_path):
    # Sealed with KEY by the version before ZLIB_LEVEL 1 (zlib level 6): the header records the codec only.
    sealed = os.path.join(os.path.dirname(__file__), "backup_sealed_at_zlib_6", NAME)
    out = tmp_path / "restored.db"
    opened = crypto.decrypt_file(sealed, str(out), KEY, SIGNERS, what="object " + NAME, name=NAME, cluster="prod/etcd")
    assert opened["compression"] == "zlib" and opened["size"] == out.stat().st_size == 217411
    assert crypto.file_sha256(str(out)) == (217411, "67a963b4c1c592389b23fec7a5126b5e76251299abb469c53eea230ef833e1a0")
    assert out.read_bytes().startswith(b'{"kind":"Pod","metadata":{"name":"app-00000","resourceVersion":"0"}}\n')


def test_zlib_seals_at_its_fastest_level(tmp_path):
    plain = compressible(tmp_path)
    sealed = tmp_path / NAME
    result = crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), LABEL, CONTROLLER, compression="zlib")
    assert result["compressed_size"] == len(zlib.compress(plain.read_bytes(), 1))


def test_a_compressed_backup_cut_or_changed_is_refused(tmp_path):
    plain = compressible(tmp_path)
    sealed = tmp_path / NAME
    crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), LABEL, CONTROLLER, chunk_size=1024)
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
    # Sealed and signed by a member (whose signing key may be in a thief's hands): a header that says
    # 10 bytes over a stream of 20 MiB of zeros (under 100 KiB compressed).
    bomb = tmp_path / "zeros"
    with open(bomb, "wb") as handle:
        handle.truncate(20 * 1024 * 1024)
    sealed = tmp_path / NAME
    real = crypto._hash_and_compress
    monkeypatch.setattr(crypto, "_hash_and_compress", lambda *args: (10, real(*args)[1]))
    crypto.encrypt_file(str(bomb), str(sealed), crypto.recipient(KEY), LABEL, crypto.signer(KEY, "member:etcd-a"),
                        chunk_size=4096, compression=codec)
    monkeypatch.undo()
    assert sealed.stat().st_size < 100 * 1024
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
        crypto.encrypt_file(str(plain), str(tmp_path / NAME), crypto.recipient(KEY), LABEL, CONTROLLER,
                            compression="bzip2")
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
        crypto.decrypt_file(str(sealed), str(out), KEY, SIGNERS)
    assert out.read_bytes() == b"old"


def test_the_header_is_readable_without_the_key(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    with open(sealed, "rb") as handle:
        fields = crypto.read_header(handle, "x")
    assert fields["size"] == DATA_SIZE and fields["key_id"] == crypto.key_id(KEY) and fields["chunk_size"] == CHUNK
    assert fields["version"] == 4 and fields["label"] == SIGNED_LABEL and fields["compression"] == "none"
    assert fields["stored_size"] == DATA_SIZE and fields["aes_key"] is None


# -- the label: the name, cluster and time authenticated with the content -------------------------


def test_a_renamed_or_copied_backup_is_refused_naming_both_names(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    with pytest.raises(crypto.BackupCryptoError) as caught:
        crypto.decrypt_file(str(sealed), str(tmp_path / "out.db"), KEY, SIGNERS, what="object x.enc on target t",
                            name="x.enc")
    assert caught.value.kind == "mismatch"
    assert str(caught.value) == ("object x.enc on target t: its authenticated header names it %s (cluster prod/etcd, "
                                 "taken 20260101T000000Z): a renamed or copied backup is refused" % NAME)
    assert not (tmp_path / "out.db").exists()


def test_a_backup_of_another_cluster_is_refused_naming_both(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    with pytest.raises(crypto.BackupCryptoError) as caught:
        crypto.decrypt_file(str(sealed), str(tmp_path / "out.db"), KEY, SIGNERS, what="w", name=NAME,
                            cluster="stage/etcd")
    assert caught.value.kind == "mismatch"
    assert str(caught.value) == ("w is a backup of cluster prod/etcd (its authenticated header), not of stage/etcd "
                                 "(etcd_backup_cluster): set etcd_backup_cluster to prod/etcd to restore it on purpose")
    out = tmp_path / "out.db"
    assert crypto.decrypt_file(str(sealed), str(out), KEY, SIGNERS, name=NAME, cluster="prod/etcd")["label"] == SIGNED_LABEL
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
        crypto.encrypt_file(str(plain), str(tmp_path / "x.enc"), crypto.recipient(KEY), crypto.make_label("x" * 5000),
                            CONTROLLER)


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


def sealed_as(plain, dest, by=CONTROLLER, cluster="prod/etcd", taken=None, name=None, key=KEY):
    """``plain`` sealed into ``dest`` (its label naming ``name``, default dest's name), signed by ``by``."""
    taken = taken or dest.name[len("etcd-snapshot-"):].split(".", 1)[0]
    crypto.encrypt_file(str(plain), str(dest), crypto.recipient(key), crypto.make_label(name or dest.name, cluster, "",
                                                                                        taken), by, chunk_size=CHUNK)
    return dest


def forger(name="controller"):
    """A Signer of that name whose seed is not the key file's: anyone with the public key, signing as they like."""
    return crypto.Signer(name, os.urandom(32))


def test_latest_is_the_newest_by_verified_time_skipping_renamed_and_foreign_backups(tmp_path, plain):
    headers = {}
    for taken, cluster in (("20260101T000000Z", "prod/etcd"), ("20260301T000000Z", "prod/etcd"),
                           ("20260401T000000Z", "stage/etcd")):
        name = "etcd-snapshot-%s.db.enc" % taken
        headers[name] = header_of(sealed_as(plain, tmp_path / name, cluster=cluster))
    # The backup of March, copied under a newer name.
    headers["etcd-snapshot-20270101T000000Z.db.enc"] = headers["etcd-snapshot-20260301T000000Z.db.enc"]
    headers["etcd-snapshot-20280101T000000Z.db.enc"] = crypto.BackupCryptoError("tampered", "object z: tampered")
    # Signed by a member whose clock is wrong (or whose key was taken): a time that is no time but
    # sorts after every real one, and one in the future.
    for forged in ("~~~~", "20991231T000000Z"):
        name = "etcd-snapshot-%s.db.enc" % forged
        headers[name] = header_of(sealed_as(plain, tmp_path / name, crypto.signer(KEY, "member:etcd-a"), taken=forged))
    name, skipped = crypto.newest_authentic(headers, lambda n: "object " + n, SIGNERS, "prod/etcd", now=1780000000)
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
    assert crypto.newest_authentic(headers, str, SIGNERS, "prod/etcd")[0] == "etcd-snapshot-20260101T000000Z.db.enc"
    assert crypto.newest_authentic({}, str, SIGNERS) == (None, [])


class DirectoryTarget:
    """A target over a directory that records the reads, as the push's and the stream's targets read heads."""

    name = "vault"

    def __init__(self, root):
        self.root, self.reads = root, []

    def read_head(self, name, size):
        self.reads.append((name, size))
        return (self.root / name).read_bytes()[:size]


def test_target_heads_reads_each_head_once_and_names_a_bad_one_as_an_object_of_its_target(tmp_path, plain):
    sealed_as(plain, tmp_path / NAME)
    (tmp_path / "etcd-snapshot-20260201T000000Z.db.enc").write_bytes(b"planted")
    target = DirectoryTarget(tmp_path)
    headers = crypto.target_heads(target, [NAME, "etcd-snapshot-20260201T000000Z.db.enc"])
    assert target.reads == [(NAME, crypto.MAX_HEAD_SIZE), ("etcd-snapshot-20260201T000000Z.db.enc", crypto.MAX_HEAD_SIZE)]
    assert isinstance(headers["etcd-snapshot-20260201T000000Z.db.enc"], crypto.BackupCryptoError)
    times, problems = crypto.verified_times(headers, lambda n: crypto.object_what(n, target.name), SIGNERS, "prod/etcd")
    assert times == {NAME: "20260101T000000Z"}
    assert len(problems) == 1
    assert problems[0].startswith("object etcd-snapshot-20260201T000000Z.db.enc on target vault")
    assert crypto.target_heads(target, []) == {}


# -- signed: a backup cannot be forged with the public key ----------------------------------------


def test_the_signing_keys_derive_from_the_key_file_one_per_signer_none_serving_two_primitives():
    seeds = {name: crypto.signer(KEY, name).seed for name in ["controller", "member:etcd-a", "member:etcd-b"]}
    assert len(set(seeds.values())) == 3 and KEY not in seeds.values()
    x25519 = crypto._derived(KEY, crypto.RECIPIENT_INFO)
    assert x25519 not in seeds.values() and x25519 != KEY  # the key file's bytes are no key of their own
    assert crypto.signer(KEY, "controller") == crypto.signer(KEY, "controller")  # derived, the same every time
    assert sorted(SIGNERS) == ["controller", "member:etcd-a", "member:etcd-b", "member:etcd-c"]
    assert SIGNERS["member:etcd-a"] == crypto.signer_public_key(seeds["member:etcd-a"])
    # Another cluster's key file gives other signers: its members' backups do not count here.
    assert not set(crypto.cluster_signers(OTHER_KEY, MEMBERS).values()) & set(SIGNERS.values())
    # A member named "controller" is no controller.
    assert crypto.signer(KEY, crypto.member_signer("controller")).seed != seeds["controller"]
    assert crypto.decoded_signers(crypto.encoded_signers(SIGNERS)) == SIGNERS


@pytest.mark.parametrize("by, reason", [
    (forger("controller"), "its signature by controller does not verify: a changed or forged header"),
    (forger("member:etcd-a"), "its signature by member:etcd-a does not verify: a changed or forged header"),
    (forger("member:mallory"), 'is signed by "member:mallory", which is not a signer of this cluster (controller, '
                               "member:etcd-a, member:etcd-b, member:etcd-c)"),
    (crypto.signer(OTHER_KEY, "controller"), "its signature by controller does not verify"),
])
def test_a_backup_sealed_with_only_the_public_key_is_not_latest_and_refused_by_name(tmp_path, plain, by, reason):
    # The real backup, and a newer one sealed to the same public key by someone who holds no signing
    # key of this cluster (it signs with a key of its own, under any signer's name).
    real = sealed_as(plain, tmp_path / "etcd-snapshot-20260101T000000Z.db.enc")
    forged = sealed_as(plain, tmp_path / "etcd-snapshot-20260102T000000Z.db.enc", by)
    headers = {p.name: header_of(p) for p in (real, forged)}  # sealed to this key file: it opens both
    name, skipped = crypto.newest_authentic(headers, lambda n: "object " + n, SIGNERS, "prod/etcd")
    assert name == real.name
    assert len(skipped) == 1 and skipped[0].startswith("object %s" % forged.name) and reason in skipped[0]
    with pytest.raises(crypto.BackupCryptoError) as caught:
        crypto.decrypt_file(str(forged), str(tmp_path / "out.db"), KEY, SIGNERS, what="object " + forged.name,
                            name=forged.name, cluster="prod/etcd")
    assert caught.value.kind == "unsigned" and reason in str(caught.value)
    assert str(caught.value).startswith("object %s" % forged.name)
    assert not (tmp_path / "out.db").exists()


def test_a_header_that_names_no_signer_is_refused(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    fields = header_of(sealed)
    fields["label"] = dict(LABEL)  # as version 3 wrote it
    with pytest.raises(crypto.BackupCryptoError, match="names no signer in its header"):
        crypto.verify_signature(fields, "object x", SIGNERS)


def retagged(sealed, change):
    """``sealed`` with ``change(header) -> header`` applied and its header's tag made again with the
    key file (as a holder of any AES key could): only the signature tells the change."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    fields = header_of(sealed)
    data = sealed.read_bytes()
    header = change(fields["header"])
    aes_key = crypto._opening_key(KEY, fields["header"][crypto.HEADER.size + 9:crypto.HEADER.size + 41])
    tag = AESGCM(aes_key).encrypt(fields["prefix"] + struct.pack(">I", 0xFFFFFFFF), b"", header)
    rest = data[len(fields["header"]) + crypto.SIGNATURE_SIZE + crypto.TAG_SIZE:]
    sealed.write_bytes(header + fields["signature"] + tag + rest)
    return sealed


def test_a_signature_over_a_changed_header_fails(tmp_path, plain):
    sealed = seal(tmp_path, plain)
    # A newer time in the label, same length: the header tag made again, the signature left.
    retagged(sealed, lambda header: header.replace(b"20260101T000000Z", b"20260109T000000Z"))
    fields = header_of(sealed)  # the key opens it
    assert fields["label"]["time"] == "20260109T000000Z"
    with pytest.raises(crypto.BackupCryptoError) as caught:
        crypto.verify_signature(fields, "object x", SIGNERS)
    assert str(caught.value) == "object x: its signature by controller does not verify: a changed or forged header"
    error = refused(tmp_path, sealed)
    assert error.kind == "unsigned" and "its signature by controller does not verify" in str(error)
    # A flipped bit of the signature itself.
    sealed = seal(tmp_path, plain)
    data = bytearray(sealed.read_bytes())
    data[SIGNATURE_AT + 5] ^= 1
    sealed.write_bytes(bytes(data))
    assert refused(tmp_path, sealed).kind == "unsigned"


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


# -- retention: by verified header only -------------------------------------------------------------

DAY = 86400
NOW = 1_800_000_000


def stamp(days_ago):
    return __import__("time").strftime(crypto.LABEL_TIME_FORMAT, __import__("time").gmtime(NOW - days_ago * DAY))


@pytest.fixture
def heads(tmp_path, plain):
    """heads(*ages_in_days, by=...): {name: header (parse_head of the first bytes)} of real backups
    taken that many days before NOW, named as the backup playbook names them."""
    def make(*ages, by=CONTROLLER, cluster="prod/etcd", named=None):
        found = {}
        for age in ages:
            name = named or "etcd-snapshot-%s.db.enc" % stamp(age)
            path = sealed_as(plain, tmp_path / name, by, cluster=cluster, taken=stamp(age), name=name)
            found[name] = crypto.parse_head(path.read_bytes()[:crypto.MAX_HEAD_SIZE], "object " + name)
        return found
    return make


def retention(headers, keep, max_age_days):
    return crypto.retention(headers, keep, max_age_days, NOW, SIGNERS, "prod/etcd", lambda n: "object " + n)


def names(headers):
    return sorted(headers, reverse=True)


def test_retention_keeps_the_newest_by_count(heads):
    found = heads(0, 1, 2, 3, 4)
    kept, deleted, unverified = retention(found, keep=3, max_age_days=0)
    assert kept == names(found)[:3] and deleted == names(found)[3:] and unverified == []


def test_retention_by_age_within_the_count(heads):
    found = heads(1, 10, 40, 50)
    kept, deleted, _unverified = retention(found, keep=7, max_age_days=30)
    assert kept == names(found)[:2] and deleted == names(found)[2:]


def test_the_newest_verified_is_never_deleted_however_old(heads):
    found = heads(90, 100)
    kept, deleted, _unverified = retention(found, keep=1, max_age_days=30)
    assert kept == names(found)[:1] and deleted == names(found)[1:]
    # Also when newer objects that do not verify stand beside it.
    found.update(heads(0, by=forger()), **heads(0, by=forger("member:mallory"), named="etcd-snapshot-x.db.enc"))
    kept, deleted, unverified = retention(found, keep=1, max_age_days=1)
    assert kept == ["etcd-snapshot-%s.db.enc" % stamp(90)] and deleted == ["etcd-snapshot-%s.db.enc" % stamp(100)]
    assert len(unverified) == 2


def test_the_member_s_backups_count_as_the_controller_s_do_and_the_time_not_the_name_orders(heads):
    found = heads(3, by=crypto.signer(KEY, "member:etcd-b"))
    found.update(heads(1))
    # A backup of 5 days ago under a name that sorts after every other (its label names it so): its
    # verified time, not its name, says it is the oldest.
    found.update(heads(5, named="etcd-snapshot-zzzz.db.enc"))
    kept, deleted, unverified = retention(found, keep=1, max_age_days=0)
    assert kept == ["etcd-snapshot-%s.db.enc" % stamp(1)]
    assert deleted == ["etcd-snapshot-%s.db.enc" % stamp(3), "etcd-snapshot-zzzz.db.enc"]
    assert unverified == []
    assert retention({}, keep=1, max_age_days=1) == ([], [], [])


def test_objects_planted_under_the_prefix_make_the_prune_delete_nothing_real(heads, tmp_path, plain):
    real = heads(3, 2, 1)
    planted = {}
    # Newer names and times, sealed to the public key, signed by no signer of this cluster.
    for age in (0, -0.001):
        planted.update(heads(age, by=forger()))
    planted.update(heads(0.5, by=forger("member:etcd-a")))
    planted.update(heads(0.2, by=forger("member:intruder")))
    # A real backup copied under a newer name; a backup of another cluster; no backup at all; nothing.
    copy = "etcd-snapshot-20991231T000000Z.db.enc"
    planted[copy] = real["etcd-snapshot-%s.db.enc" % stamp(1)]
    planted.update(heads(0.1, cluster="stage/etcd"))
    planted["etcd-snapshot-29990101T000000Z.db.enc"] = crypto.parse_head(b"garbage" * 10, "object g")
    planted["etcd-snapshot-39990101T000000Z.db.enc"] = crypto.parse_head(b"", "object e")
    objects = dict(real, **planted)
    objects["notes.txt"] = crypto.parse_head(b"", "notes")  # not a backup's name: not judged at all
    kept, deleted, unverified = retention(objects, keep=2, max_age_days=0)
    assert kept == names(real)[:2] and deleted == names(real)[2:]
    assert not set(deleted) & set(planted) and not set(kept) & set(planted)
    assert len(unverified) == len(planted)
    # keep=1 with only planted objects newer: still the newest real one is kept.
    kept, deleted, unverified = retention(objects, keep=1, max_age_days=1)
    assert kept == names(real)[:1] and deleted == names(real)[1:]


@pytest.mark.parametrize("keep, age, message", [(0, 1, "keep at least 1"), (1, -1, "0 \\(no age limit\\) or more")])
def test_a_retention_that_would_delete_everything_is_refused(keep, age, message):
    with pytest.raises(ValueError, match=message):
        retention({}, keep=keep, max_age_days=age)


@pytest.mark.parametrize("revision, named", [(42, 42), (None, 0), (0, 0)])
def test_a_label_names_the_snapshot_s_revision_when_given_and_the_header_authenticates_it(tmp_path, plain, revision, named):
    label = crypto.make_label(NAME, "prod/etcd", "ef37ad9dc622a7c4", "20260101T000000Z", revision)
    assert ("revision" in label) is bool(revision)
    dest = tmp_path / NAME
    crypto.encrypt_file(str(plain), str(dest), crypto.recipient(KEY), label, crypto.signer(KEY, crypto.CONTROLLER))
    fields = crypto.parse_head(dest.read_bytes()[:crypto.MAX_HEAD_SIZE], NAME)
    crypto.verify(fields, NAME, crypto.cluster_signers(KEY, []), NAME, "prod/etcd")
    assert crypto.label_revision(fields) == named


@pytest.mark.parametrize("value", ["42", True, -3, 1.5])
def test_a_label_revision_that_is_no_positive_integer_counts_as_none(value):
    assert crypto.label_revision(dict(label=dict(name=NAME, revision=value))) == 0
