"""etcd_backup_target: its arguments, sealing for SSH targets, and a whole S3 life against a real moto server."""

import json
import os
import shutil
import sys
from functools import partial

import boto3
import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target as etcd_backup_target_utils
from ansible_collections.raftops.etcd.plugins.modules import etcd_backup_target
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match
from ansible_collections.raftops.etcd.tests.unit.plugins.moto_server import moto_server
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import run_module as run_any

run_module = partial(run_any, etcd_backup_target)
BUCKET = "etcd-backups"
CREDENTIALS = dict(access_key="testing", secret_key="testing", region="us-east-1")


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory):
    """A moto S3 server process on 127.0.0.1, for the whole module."""
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out, moto_server(out) as url:
        yield url


@pytest.fixture
def s3(moto_url, monkeypatch, request):
    """A fresh bucket for one test: (target dict, boto3 client)."""
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    client = boto3.client("s3", endpoint_url=moto_url, aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1")
    bucket = "%s-%d" % (BUCKET, abs(hash(request.node.name)) % 10 ** 8)
    client.create_bucket(Bucket=bucket)
    target = dict(name="offsite", type="s3", bucket=bucket, prefix="prod/", endpoint_url=moto_url, **CREDENTIALS)
    return target, client


@pytest.fixture
def snapshot(tmp_path):
    def make(name="etcd-snapshot-20260101T000000Z.db", size=300_000):
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        return path
    return make


@pytest.fixture
def key_file(tmp_path):
    return str(tmp_path / "etcd-backup.key")


# -- arguments ---------------------------------------------------------------------------------


def test_documented_options_match_the_code():
    assert_documented_options_match(etcd_backup_target)


@pytest.mark.parametrize("args, message", [
    ({"state": "present", "src": "/s.db"}, "state is present but the following are missing: target"),
    ({"state": "fetched", "target": {"name": "t", "bucket": "b"}}, "missing: name, dest"),
    ({"state": "sealed", "src": "/s.db"}, "state is sealed but the following are missing: dest or name"),
    ({"state": "pruned", "target": {"name": "t"}}, "target t is an S3 target without a bucket"),
    ({"state": "pruned", "target": {"name": "box", "type": "ssh", "host": "h", "path": "/srv"}},
     "target box is an ssh target: state pruned works on S3 targets"),
    ({"state": "listed", "target": {"name": "t", "bucket": "b", "colour": "red"}}, "colour"),
])
def test_argument_errors(args, message, key_file):
    result, failed = run_module(dict(args, key_file=key_file))
    assert failed and message in result["msg"]


def test_an_s3_target_without_boto3_names_what_to_install(monkeypatch, key_file):
    monkeypatch.setitem(sys.modules, "boto3", None)
    result, failed = run_module(dict(state="listed", target=dict(name="offsite", bucket="b"), key_file=key_file))
    assert failed
    assert result["msg"] == ("target offsite is an S3 target, which needs boto3 here (Debian's python3-boto3, or pip "
                             "install boto3)")


def test_secrets_are_not_logged():
    spec = etcd_backup_target.argument_spec()["target"]["options"]
    assert spec["secret_key"]["no_log"] and spec["access_key"]["no_log"]


# -- sealing for SSH targets -------------------------------------------------------------------


def test_seal_creates_the_key_and_unseal_opens_it(tmp_path, snapshot, key_file):
    plain = snapshot()
    sealed = tmp_path / "etcd-snapshot-x.db.enc"
    result, failed = run_module(dict(state="sealed", src=str(plain), dest=str(sealed), key_file=key_file,
                                     target=dict(name="box", type="ssh", host="h", path="/srv/b")))
    assert not failed and result["changed"] and result["key_created"]
    assert result["size"] == 300_000 and result["encrypted_size"] == os.path.getsize(sealed)
    assert result["encrypt_mib_s"] is None or result["encrypt_mib_s"] > 0
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    opened = tmp_path / "opened.db"
    result, failed = run_module(dict(state="unsealed", src=str(sealed), dest=str(opened), key_file=key_file,
                                     name="etcd-snapshot-x.db.enc", target=dict(name="box", type="ssh")))
    assert not failed and opened.read_bytes() == plain.read_bytes()
    assert result["target"] == "box" and result["object"] == "etcd-snapshot-x.db.enc"


def test_seal_without_dest_writes_into_a_private_directory_and_reports_the_copy(snapshot, key_file):
    plain = snapshot()
    result, failed = run_module(dict(state="sealed", src=str(plain), name="etcd-snapshot-x.db.enc", key_file=key_file))
    try:
        assert not failed, result
        assert result["path"] == os.path.join(result["dir"], "etcd-snapshot-x.db.enc")
        assert oct(os.stat(result["dir"]).st_mode & 0o777) == "0o700"
        assert (result["sealed_size"], result["sealed_sha256"]) == crypto.file_sha256(result["path"])
        assert result["sealed_size"] == result["encrypted_size"]
    finally:
        shutil.rmtree(result.get("dir") or "/nonexistent", ignore_errors=True)


def test_seal_with_member_returns_the_members_drill_record(snapshot, key_file):
    plain = snapshot()
    record = dict(snapshot=plain.name, revision=42, keys=40, hash_kv=7, compact_revision=-1, hash_problem=None)
    plain.with_name(plain.name + ".json").write_text(json.dumps(record))
    result, failed = run_module(dict(state="sealed", src=str(plain), name=plain.name + ".enc", key_file=key_file,
                                     member="m1"))
    try:
        assert not failed, result
        assert result["drill_record"] == dict(record, object=plain.name + ".enc", sha256=result["sha256"],
                                              key_id=result["key_id"], sealed_size=result["sealed_size"],
                                              sealed_sha256=result["sealed_sha256"], member="m1")
    finally:
        shutil.rmtree(result.get("dir") or "/nonexistent", ignore_errors=True)


@pytest.mark.parametrize("record, problem", [
    (None, "No such file or directory"),
    (dict(snapshot="etcd-snapshot-other.db"), "the record is not that of the sealed snapshot"),
])
def test_seal_with_member_without_the_snapshots_record_fails_and_leaves_nothing(
        tmp_path, snapshot, key_file, monkeypatch, record, problem):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    plain = snapshot()
    if record is not None:
        plain.with_name(plain.name + ".json").write_text(json.dumps(record))
    result, failed = run_module(dict(state="sealed", src=str(plain), name=plain.name + ".enc", key_file=key_file,
                                     member="m1"))
    assert failed and result["msg"].startswith("cannot make the drill record of %s from %s.json: " % (plain, plain))
    assert problem in result["msg"] and os.listdir(tmp_path / "tmp") == []


def test_a_seal_that_fails_leaves_no_directory(tmp_path, snapshot, key_file, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    result, failed = run_module(dict(state="sealed", src=str(tmp_path / "gone.db"), name="o.enc", key_file=key_file))
    assert failed and result["msg"].startswith("%s cannot be encrypted: " % (tmp_path / "gone.db"))
    assert os.listdir(tmp_path / "tmp") == []


def test_seal_in_check_mode_writes_nothing(tmp_path, snapshot, key_file):
    result, failed = run_module(dict(state="sealed", src=str(snapshot()), dest=str(tmp_path / "o.enc"),
                                     key_file=key_file), check=True)
    assert not failed and result["changed"] and result["key_created"] and result["key_id"] is None
    assert not os.path.exists(key_file) and not (tmp_path / "o.enc").exists()


def test_unseal_of_a_tampered_file_names_object_and_target(tmp_path, snapshot, key_file):
    sealed = tmp_path / "etcd-snapshot-1.db.enc"
    run_module(dict(state="sealed", src=str(snapshot()), dest=str(sealed), key_file=key_file))
    data = bytearray(sealed.read_bytes())
    data[500] ^= 0xFF
    sealed.write_bytes(bytes(data))
    result, failed = run_module(dict(state="unsealed", src=str(sealed), dest=str(tmp_path / "x.db"),
                                     key_file=key_file, name="etcd-snapshot-1.db.enc", target=dict(name="box")))
    assert failed and not (tmp_path / "x.db").exists()
    assert result["msg"] == ("object etcd-snapshot-1.db.enc on target box: authentication failed: tampered or wrong "
                             "key (chunk 1 of 1)")


def test_a_key_others_can_read_is_refused(tmp_path, snapshot, key_file):
    crypto.create_key(key_file)
    os.chmod(key_file, 0o644)
    result, failed = run_module(dict(state="sealed", src=str(snapshot()), dest=str(tmp_path / "o.enc"),
                                     key_file=key_file))
    assert failed and result["msg"].startswith("key file %s has mode 0644" % key_file)


# -- S3, against moto --------------------------------------------------------------------------


def send(target, key_file, src, check=False, prune=False):
    return run_module(dict(state="present", target=target, key_file=key_file, src=str(src), prune=prune), check=check)


def test_present_uploads_once_encrypted(s3, snapshot, key_file):
    target, client = s3
    plain = snapshot()
    result, failed = send(target, key_file, plain, check=True)
    assert not failed and result["changed"] and "upload_mib_s" not in result
    assert client.list_objects_v2(Bucket=target["bucket"]).get("KeyCount") == 0

    result, failed = send(target, key_file, plain)
    assert not failed and result["changed"], result
    assert result["object"] == plain.name + ".enc" and result["target"] == "offsite"
    assert result["upload_mib_s"] is None or result["upload_mib_s"] > 0
    stored = client.get_object(Bucket=target["bucket"], Key="prod/" + plain.name + ".enc")
    body = stored["Body"].read()
    assert body.startswith(crypto.MAGIC) and plain.read_bytes()[:64] not in body
    assert stored["Metadata"]["plaintext-sha256"] == result["sha256"]
    assert stored["Metadata"]["key-id"] == result["key_id"]

    again, failed = send(target, key_file, plain)
    assert not failed and again["changed"] is False and again["sha256"] == result["sha256"]


def test_list_prune_and_fetch(s3, snapshot, key_file, tmp_path):
    target, _client = s3
    plains = [snapshot("etcd-snapshot-2026010%dT000000Z.db" % day, size=1000 * day) for day in (1, 2, 3)]
    for plain in plains:
        assert not send(target, key_file, plain)[1]

    listed, failed = run_module(dict(state="listed", target=target, key_file=key_file))
    assert not failed and [o["name"] for o in listed["objects"]] == [p.name + ".enc" for p in reversed(plains)]

    keep_two = dict(target, keep=2)
    would, failed = run_module(dict(state="pruned", target=keep_two, key_file=key_file), check=True)
    assert not failed and would["changed"] and would["deleted"] == [plains[0].name + ".enc"]
    pruned, failed = run_module(dict(state="pruned", target=keep_two, key_file=key_file))
    assert not failed and pruned["deleted"] == [plains[0].name + ".enc"]
    assert pruned["kept"] == [plains[2].name + ".enc", plains[1].name + ".enc"]
    again = run_module(dict(state="pruned", target=keep_two, key_file=key_file))[0]
    assert again["changed"] is False and again["deleted"] == []

    dest = tmp_path / "restore" / "snap.db"
    dest.parent.mkdir()
    fetched, failed = run_module(dict(state="fetched", target=target, key_file=key_file, name="latest",
                                      dest=str(dest)))
    assert not failed and fetched["object"] == plains[2].name + ".enc"
    assert dest.read_bytes() == plains[2].read_bytes() and oct(os.stat(dest).st_mode & 0o777) == "0o600"
    assert os.listdir(dest.parent) == ["snap.db"]  # no downloaded or partial file left

    fetched, failed = run_module(dict(state="fetched", target=target, key_file=key_file,
                                      name=plains[1].name + ".enc", dest=str(dest)))
    assert not failed and dest.read_bytes() == plains[1].read_bytes()

    missing, failed = run_module(dict(state="fetched", target=target, key_file=key_file,
                                      name=plains[0].name + ".enc", dest=str(dest)))
    assert failed and missing["msg"] == "target offsite (s3://%s/prod/) has no object %s" % (
        target["bucket"], plains[0].name + ".enc")


def test_present_with_prune_uploads_then_prunes_in_one_call(s3, snapshot, key_file):
    target, _client = s3
    keep_two = dict(target, keep=2)
    plains = [snapshot("etcd-snapshot-2026010%dT000000Z.db" % day) for day in (1, 2, 3)]
    for plain in plains[:2]:
        assert not send(keep_two, key_file, plain, prune=True)[1]
    would, failed = send(keep_two, key_file, plains[2], check=True, prune=True)
    # In check mode nothing is uploaded, so the prune sees the target as it is.
    assert not failed and would["changed"] and would["deleted"] == [], json.dumps(would)
    sent, failed = send(keep_two, key_file, plains[2], prune=True)
    assert not failed and sent["changed"] and sent["object"] == plains[2].name + ".enc"
    assert sent["kept"] == [plains[2].name + ".enc", plains[1].name + ".enc"]
    assert sent["deleted"] == [plains[0].name + ".enc"]
    again, failed = send(keep_two, key_file, plains[2], prune=True)
    assert not failed and again["changed"] is False and again["deleted"] == []
    listed = run_module(dict(state="listed", target=target, key_file=key_file))[0]
    assert [o["name"] for o in listed["objects"]] == sent["kept"]


@pytest.mark.parametrize("damage, problem", [
    (lambda body: body[:-100], "is truncated: it ends at byte"),
    (lambda body: body[:1000] + bytes([body[1000] ^ 1]) + body[1001:], "authentication failed: tampered or wrong key"),
])
def test_a_tampered_object_is_refused_and_dest_untouched(s3, snapshot, key_file, tmp_path, damage, problem):
    target, client = s3
    plain = snapshot()
    send(target, key_file, plain)
    key = "prod/" + plain.name + ".enc"
    body = client.get_object(Bucket=target["bucket"], Key=key)["Body"].read()
    client.put_object(Bucket=target["bucket"], Key=key, Body=damage(body))
    dest = tmp_path / "restore.db"
    dest.write_bytes(b"before")
    result, failed = run_module(dict(state="fetched", target=target, key_file=key_file, name="latest",
                                     dest=str(dest)))
    assert failed
    assert result["msg"].startswith("object %s on target offsite" % (plain.name + ".enc"))
    assert problem in result["msg"]
    assert dest.read_bytes() == b"before"
    assert sorted(os.listdir(tmp_path)) == sorted([plain.name, "etcd-backup.key", "restore.db"])


def test_an_object_sealed_with_another_key_is_named(s3, snapshot, key_file, tmp_path):
    target, _client = s3
    plain = snapshot()
    send(target, key_file, plain)
    other = str(tmp_path / "other.key")
    crypto.create_key(other)
    result, failed = run_module(dict(state="fetched", target=target, key_file=other, name="latest",
                                     dest=str(tmp_path / "r.db")))
    assert failed and "was made with another key (key id %s" % crypto.key_id(crypto.read_key(key_file)) in result["msg"]


def test_a_bucket_that_does_not_exist_is_named(s3, key_file):
    target, _client = s3
    result, failed = run_module(dict(state="listed", target=dict(target, bucket="no-such-bucket"), key_file=key_file))
    assert failed and result["msg"].startswith("target offsite (s3://no-such-bucket/prod/): listing failed:")


def test_a_backup_sealed_once_is_uploaded_as_it_is(s3, snapshot, key_file, tmp_path):
    target, client = s3
    plain = snapshot()
    sealed = tmp_path / (plain.name + ".enc")
    seal = run_module(dict(state="sealed", src=str(plain), dest=str(sealed), key_file=key_file))[0]
    result, failed = send(target, key_file, sealed)
    assert not failed and result["changed"] and result["object"] == sealed.name
    assert result["sha256"] == seal["sha256"] and "encrypt_mib_s" not in result
    body = client.get_object(Bucket=target["bucket"], Key="prod/" + sealed.name)["Body"].read()
    assert body == sealed.read_bytes()
    assert send(target, key_file, sealed)[0]["changed"] is False

    other = str(tmp_path / "other.key")
    crypto.create_key(other)
    result, failed = send(dict(target, prefix="other/"), other, sealed)
    assert failed and "was made with another key" in result["msg"]


def test_a_backup_authenticates_its_name_cluster_and_time_and_latest_is_the_newest_by_that_time(
        s3, snapshot, key_file, tmp_path, monkeypatch):
    target, client = s3
    warnings = []
    monkeypatch.setattr(etcd_backup_target.AnsibleModule, "warn", lambda _module, text: warnings.append(text))
    plains = [snapshot("etcd-snapshot-2026010%dT000000Z.db" % day) for day in (1, 2)]
    for day, plain in zip((1, 2), plains):
        result, failed = run_module(dict(state="present", target=target, key_file=key_file, src=str(plain),
                                         cluster="prod/etcd", cluster_id="ef37", taken="2026010%dT000000Z" % day))
        assert not failed and result["label"] == dict(name=plain.name + ".enc", cluster="prod/etcd", cluster_id="ef37",
                                                      time="2026010%dT000000Z" % day, signer="controller")
    # The older backup, copied under a newer name: latest skips it, fetched by its name it is refused.
    copy = "etcd-snapshot-20270101T000000Z.db.enc"
    client.copy_object(Bucket=target["bucket"], Key="prod/" + copy,
                       CopySource=dict(Bucket=target["bucket"], Key="prod/" + plains[0].name + ".enc"))
    dest = tmp_path / "r.db"
    fetched, failed = run_module(dict(state="fetched", target=target, key_file=key_file, name="latest", dest=str(dest),
                                      cluster="prod/etcd"))
    assert not failed and fetched["object"] == plains[1].name + ".enc" and dest.read_bytes() == plains[1].read_bytes()
    assert warnings == [
        "latest: skipped object %s on target offsite: its authenticated header names it %s (cluster prod/etcd, taken "
        "20260101T000000Z): a renamed or copied backup is refused" % (copy, plains[0].name + ".enc")]
    refused, failed = run_module(dict(state="fetched", target=target, key_file=key_file, name=copy, dest=str(dest)))
    assert failed and refused["msg"] == (
        "object %s on target offsite: its authenticated header names it %s (cluster prod/etcd, taken 20260101T000000Z): "
        "a renamed or copied backup is refused" % (copy, plains[0].name + ".enc"))
    assert dest.read_bytes() == plains[1].read_bytes()
    other, failed = run_module(dict(state="fetched", target=target, key_file=key_file, name="latest", dest=str(dest),
                                    cluster="stage/etcd"))
    assert failed and other["msg"].startswith("target offsite (s3://%s/prod/) holds no backup that verifies (signed by "
                                              "this cluster's controller or members): " % target["bucket"])
    assert "is a backup of cluster prod/etcd (its authenticated header), not of stage/etcd" in other["msg"]


def forged(path, dest, key_file, taken, by=None, cluster="prod/etcd"):
    """``path`` sealed into ``dest`` to the key file's public key (what every member holds), signed by
    ``by`` (default: a key of its own, under the controller's name): what anyone with the public key makes."""
    key = crypto.read_key(key_file)
    crypto.encrypt_file(str(path), str(dest), crypto.recipient(key), crypto.make_label(dest.name, cluster, "", taken),
                        by or crypto.Signer("controller", os.urandom(32)))
    return dest


def test_a_forged_backup_is_not_latest_and_refused_by_name(s3, snapshot, key_file, tmp_path, monkeypatch):
    target, client = s3
    warnings = []
    monkeypatch.setattr(etcd_backup_target.AnsibleModule, "warn", lambda _module, text: warnings.append(text))
    real = snapshot("etcd-snapshot-20260101T000000Z.db")
    assert not run_module(dict(state="present", target=target, key_file=key_file, src=str(real), cluster="prod/etcd",
                               taken="20260101T000000Z", members=["etcd-a"]))[1]
    newer = forged(snapshot("evil.db"), tmp_path / "etcd-snapshot-20260105T000000Z.db.enc", key_file, "20260105T000000Z")
    client.upload_file(str(newer), target["bucket"], "prod/" + newer.name)
    # A member that is not (or no longer) in the inventory: its key is the key file's, its name no member's.
    gone = forged(snapshot("gone.db"), tmp_path / "etcd-snapshot-20260104T000000Z.db.enc", key_file,
                  "20260104T000000Z", crypto.signer(crypto.read_key(key_file), "member:etcd-old"))
    client.upload_file(str(gone), target["bucket"], "prod/" + gone.name)
    dest = tmp_path / "r.db"
    fetched, failed = run_module(dict(state="fetched", target=target, key_file=key_file, name="latest", dest=str(dest),
                                      cluster="prod/etcd", members=["etcd-a"]))
    assert not failed and fetched["object"] == real.name + ".enc" and dest.read_bytes() == real.read_bytes()
    assert sorted(warnings) == [
        "latest: skipped object %s on target offsite is signed by \"member:etcd-old\", which is not a signer of this "
        "cluster (controller, member:etcd-a)" % gone.name,
        "latest: skipped object %s on target offsite: its signature by controller does not verify: a changed or "
        "forged header" % newer.name]
    refused, failed = run_module(dict(state="fetched", target=target, key_file=key_file, name=newer.name,
                                      dest=str(dest), cluster="prod/etcd", members=["etcd-a"]))
    assert failed and refused["msg"] == ("object %s on target offsite: its signature by controller does not verify: a "
                                         "changed or forged header" % newer.name)
    assert dest.read_bytes() == real.read_bytes()


def test_objects_planted_under_the_prefix_are_never_pruned_nor_make_a_real_backup_go(s3, snapshot, key_file, tmp_path,
                                                                                     monkeypatch):
    target, client = s3
    warnings = []
    monkeypatch.setattr(etcd_backup_target.AnsibleModule, "warn", lambda _module, text: warnings.append(text))
    keep_two = dict(target, keep=2, max_age_days=0)
    for day in (1, 2, 3):
        plain = snapshot("etcd-snapshot-2026010%dT000000Z.db" % day)
        assert not run_module(dict(state="present", target=keep_two, key_file=key_file, src=str(plain),
                                   cluster="prod/etcd", taken="2026010%dT000000Z" % day))[1]
    # Newer names and times than any real backup: forged with the public key, garbage, empty.
    for day in (7, 8):
        planted = forged(snapshot("p%d.db" % day), tmp_path / ("etcd-snapshot-2026010%dT000000Z.db.enc" % day), key_file,
                         "2026010%dT000000Z" % day)
        client.upload_file(str(planted), target["bucket"], "prod/" + planted.name)
    client.put_object(Bucket=target["bucket"], Key="prod/etcd-snapshot-29990101T000000Z.db.enc", Body=b"x" * 100)
    client.put_object(Bucket=target["bucket"], Key="prod/etcd-snapshot-39990101T000000Z.db.enc", Body=b"")
    pruned, failed = run_module(dict(state="pruned", target=keep_two, key_file=key_file, cluster="prod/etcd"))
    assert not failed, pruned
    assert pruned["kept"] == ["etcd-snapshot-20260103T000000Z.db.enc", "etcd-snapshot-20260102T000000Z.db.enc"]
    assert pruned["deleted"] == ["etcd-snapshot-20260101T000000Z.db.enc"]
    assert len(pruned["unverified"]) == 4 and len(warnings) == 4
    assert all(w.startswith("prune: neither kept nor deleted") for w in warnings)
    left = sorted(o["Key"] for o in client.list_objects_v2(Bucket=target["bucket"])["Contents"])
    kept = ("20260102T000000Z", "20260103T000000Z", "20260107T000000Z", "20260108T000000Z", "29990101T000000Z",
            "39990101T000000Z")
    assert left == ["prod/etcd-snapshot-%s.db.enc" % t for t in kept]


def test_a_push_whose_credentials_cannot_delete_sends_and_says_pruning_failed(s3, snapshot, key_file, monkeypatch):
    target, _client = s3
    warnings = []
    monkeypatch.setattr(etcd_backup_target.AnsibleModule, "warn", lambda _module, text: warnings.append(text))
    keep_one = dict(target, keep=1)
    plains = [snapshot("etcd-snapshot-2026010%dT000000Z.db" % day) for day in (1, 2)]
    assert not send(keep_one, key_file, plains[0], prune=True)[1]

    def denied(_bucket, name):
        raise etcd_backup_target_utils.TargetError(
            "target offsite (s3://b/prod/): deleting object %s failed: An error occurred (AccessDenied) when calling "
            "the DeleteObject operation: Access Denied" % name)
    monkeypatch.setattr(etcd_backup_target_utils.Bucket, "delete", denied)
    sent, failed = send(keep_one, key_file, plains[1], prune=True)
    assert not failed and sent["sent"] and sent["changed"]
    assert "AccessDenied" in sent["prune_error"] and sent["deleted"] == []
    assert len(warnings) == 1 and "the backup was sent, but pruning failed" in warnings[0]


def test_a_sealed_backup_is_not_uploaded_under_another_name(s3, snapshot, key_file, tmp_path):
    target, _client = s3
    sealed = tmp_path / "etcd-snapshot-20260101T000000Z.db.enc"
    run_module(dict(state="sealed", src=str(snapshot()), dest=str(sealed), key_file=key_file))
    renamed = tmp_path / "etcd-snapshot-20270101T000000Z.db.enc"
    os.rename(sealed, renamed)
    result, failed = send(target, key_file, renamed)
    assert failed and "its authenticated header names it etcd-snapshot-20260101T000000Z.db.enc" in result["msg"]


@pytest.mark.parametrize("codec", ["zlib", "lzma", "none"])
def test_seal_compresses_as_asked_and_records_it(tmp_path, snapshot, key_file, codec):
    plain = tmp_path / "etcd-snapshot-c.db"
    plain.write_bytes(b"/registry/configmaps/default/x {}\n" * 20000)
    sealed = tmp_path / "etcd-snapshot-c.db.enc"
    result, failed = run_module(dict(state="sealed", src=str(plain), dest=str(sealed), key_file=key_file,
                                     compression=codec))
    assert not failed and result["compression"] == codec
    assert (result["compressed_size"] < result["size"] // 10) == (codec != "none")
    opened = tmp_path / "opened.db"
    result, failed = run_module(dict(state="unsealed", src=str(sealed), dest=str(opened), key_file=key_file))
    assert not failed and opened.read_bytes() == plain.read_bytes() and result["compression"] == codec
