"""etcd_backup_target's point in time (state fetched with point) against a real moto server: the full
backup before the point and the change stream's segments after it, verified, decrypted and turned
into the replay; a tampered, missing or foreign segment refused by name."""

import base64
import json
import os
from functools import partial

import boto3
import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import stream_segments as segments
from ansible_collections.raftops.etcd.plugins.modules import etcd_backup_target
from ansible_collections.raftops.etcd.tests.unit.plugins.moto_server import moto_server
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import build_snapshot
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import run_module as run_any

run_module = partial(run_any, etcd_backup_target)
CLUSTER, CLUSTER_ID, PREFIX = "etcd/etcd", "c0ffee", "etcd/etcd/"
BACKUP = "etcd-snapshot-20261128T130000Z.db.enc"
TAKEN = segments.label_epoch("20261128T130000Z")


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out, moto_server(out) as url:
        yield url


def put(key, value):
    return ["put", base64.b64encode(key.encode()).decode(), base64.b64encode(value.encode()).decode(), 0]


@pytest.fixture
def site(moto_url, tmp_path, monkeypatch, request):
    """A bucket with a full backup of revision 7 taken at TAKEN, signed by member m1, and segments of
    revisions 8..10 (received 10..12 s after it) and 11..12 (20..21 s after), of the same cluster."""
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    s3 = boto3.client("s3", endpoint_url=moto_url, aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name="us-east-1")
    bucket = "pitr-%d" % (abs(hash(request.node.name)) % 10 ** 8)
    s3.create_bucket(Bucket=bucket)
    key_file = str(tmp_path / "etcd-backup.key")
    crypto.create_key(key_file)
    key = crypto.read_key(key_file)
    by, to = crypto.signer(key, "member:m1"), crypto.recipient(key)

    def upload(name, data, taken):
        plain, sealed = tmp_path / (name + ".plain"), tmp_path / name
        plain.write_bytes(data)
        crypto.encrypt_file(str(plain), str(sealed), to, crypto.make_label(name, CLUSTER, CLUSTER_ID, taken), by)
        s3.put_object(Bucket=bucket, Key=PREFIX + name, Body=sealed.read_bytes())

    upload(BACKUP, build_snapshot(revisions=(2, 3, 4, 5, 6, 7)), "20261128T130000Z")
    names = []
    for revisions in ([(8, 10), (9, 11), (10, 12)], [(11, 20), (12, 21)]):
        built = [[rev, TAKEN + after, [put("/k%d" % rev, "v%d" % rev)]] for rev, after in revisions]
        name, data = segments.encode_segment(CLUSTER, CLUSTER_ID, built, {})
        upload(name, data, "20261128T130000Z")
        names.append(name)
    target = dict(name="offsite", type="s3", bucket=bucket, prefix=PREFIX, endpoint_url=moto_url, access_key="testing",
                  secret_key="testing", region="us-east-1")
    return dict(s3=s3, bucket=bucket, target=target, key_file=key_file, names=names, tmp=tmp_path)


def fetch(site, **point):
    dest = site["tmp"] / "restore" / "etcd-snapshot.db"
    dest.parent.mkdir(exist_ok=True)
    return run_module(dict(state="fetched", target=site["target"], name="latest", dest=str(dest),
                           key_file=site["key_file"], cluster=CLUSTER, members=["m1"], point=point))


def test_a_point_in_time_takes_the_backup_before_it_and_the_revisions_up_to_it(site):
    result, failed = fetch(site, time=segments.shown_time(TAKEN + 11.5))
    assert not failed, result
    assert (result["object"], result["backup_revision"], result["reached"]) == (BACKUP, 7, 9)
    assert result["segments"] == site["names"][:1] and result["reached_time"].startswith("2026-11-28T13:00:11")
    with open(result["replay"]) as replay:
        assert [txn[0] for txn in json.load(replay)["txns"]] == [8, 9]
    result, failed = fetch(site, revision=12)
    assert not failed and result["reached"] == 12 and result["segments"] == site["names"]


def test_a_point_before_every_backup_or_past_what_was_shipped_is_refused(site):
    result, failed = fetch(site, time="2026-11-28T12:59:59Z")
    assert failed and result["msg"] == ("target offsite (s3://%s/%s) holds no full backup that verifies and was taken "
                                        "before 2026-11-28T12:59:59Z" % (site["bucket"], PREFIX))
    result, failed = fetch(site, revision=13)
    assert failed and result["msg"] == ("the segments on target offsite reach revision 12, not 13: revision 13 is not "
                                        "shipped yet")


def test_a_tampered_or_missing_segment_is_refused_by_name(site):
    first = site["names"][0]
    body = site["s3"].get_object(Bucket=site["bucket"], Key=PREFIX + first)["Body"].read()
    site["s3"].put_object(Bucket=site["bucket"], Key=PREFIX + first, Body=body[:-20] + bytes([body[-20] ^ 1]) + body[-19:])
    result, failed = fetch(site, revision=12)
    assert failed and result["msg"].startswith("object %s on target offsite: authentication failed: tampered or wrong key"
                                               % first), result["msg"]
    site["s3"].delete_object(Bucket=site["bucket"], Key=PREFIX + first)
    result, failed = fetch(site, revision=12)
    assert failed and result["msg"].startswith(
        "target offsite holds no segment of revisions 8..10 (segments none before and %s): the change stream has a gap"
        % site["names"][1]), result["msg"]
    assert not (site["tmp"] / "restore" / "replay.json").exists()
