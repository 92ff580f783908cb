"""The collection's one S3 client (module_utils/backup/s3.py: boto3), which the controller and the
members' push share, against a real (moto) S3 server, checked with boto3 itself."""

import datetime
import sys

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import s3 as etcd_s3
from ansible_collections.raftops.etcd.tests.unit.plugins.moto_server import moto_server

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out, moto_server(out) as url:
        yield url


@pytest.fixture
def boto(server):
    import boto3
    client = boto3.client("s3", endpoint_url=server, aws_access_key_id="a", aws_secret_access_key="b",
                          region_name="us-east-1")
    client.create_bucket(Bucket="push")
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="push"):
        for item in page.get("Contents", []):
            client.delete_object(Bucket="push", Key=item["Key"])
    client.delete_bucket(Bucket="push")


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No credentials anywhere boto3 looks but where a test puts them: no files, no instance metadata."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def bucket(server, prefix="c1/", **more):
    return etcd_s3.Bucket(dict(dict(name="offsite", bucket="push", prefix=prefix, endpoint_url=server, region="",
                                    access_key="AKIDRAFTOPS", secret_key="secret"), **more))


def test_upload_head_download_list_read_head_and_delete(server, boto, tmp_path):
    src = tmp_path / "a.enc"
    src.write_bytes(bytes(range(256)) * 9000)
    b = bucket(server)
    assert b.where() == "s3://push/c1/"
    assert b.head("etcd-snapshot-1.db.enc") is None
    b.upload(str(src), "etcd-snapshot-1.db.enc", {"plaintext-sha256": "ab" * 32})
    b.upload(str(src), "etcd-snapshot-2.db.enc", {})
    boto.put_object(Bucket="push", Key="other/etcd-snapshot-9.db.enc", Body=b"x")  # another prefix: not listed
    boto.put_object(Bucket="push", Key="c1/empty", Body=b"")
    stored = boto.get_object(Bucket="push", Key="c1/etcd-snapshot-1.db.enc")
    assert stored["Body"].read() == src.read_bytes() and stored["Metadata"] == {"plaintext-sha256": "ab" * 32}
    assert b.head("etcd-snapshot-1.db.enc") == {"plaintext-sha256": "ab" * 32}
    listed = sorted(b.listing(), key=lambda o: o["name"])
    assert [(o["name"], o["size"]) for o in listed] == [("empty", 0), ("etcd-snapshot-1.db.enc", src.stat().st_size),
                                                        ("etcd-snapshot-2.db.enc", src.stat().st_size)]
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    assert all(abs(o["mtime"] - now) < 120 for o in listed)
    out = tmp_path / "back"
    b.download("etcd-snapshot-1.db.enc", str(out))
    assert out.read_bytes() == src.read_bytes()
    assert b.read_head("etcd-snapshot-1.db.enc", 10) == bytes(range(10))
    assert b.read_head("empty", 10) == b""
    b.delete("etcd-snapshot-1.db.enc")
    assert [o["name"] for o in b.listing()] == ["empty", "etcd-snapshot-2.db.enc"]


def test_an_object_larger_than_a_part_goes_in_parts_and_comes_back_whole(server, boto, tmp_path):
    src = tmp_path / "big.enc"
    src.write_bytes(bytes(range(251)) * (11 * MIB // 251))
    bucket(server, part_size_mib=5).upload(str(src), "etcd-snapshot-3.db.enc", {"size": "1"})
    stored = boto.head_object(Bucket="push", Key="c1/etcd-snapshot-3.db.enc")
    assert stored["ETag"].strip('"').endswith("-3"), stored["ETag"]  # a multipart upload of 3 parts
    assert stored["ContentLength"] == src.stat().st_size and stored["Metadata"] == {"size": "1"}
    out = tmp_path / "back"
    bucket(server, part_size_mib=5).download("etcd-snapshot-3.db.enc", str(out))
    assert out.read_bytes() == src.read_bytes()
    # Under the default part size (8 MiB) an object is one PUT.
    src.write_bytes(bytes(6 * MIB))
    bucket(server).upload(str(src), "etcd-snapshot-4.db.enc", {})
    assert "-" not in boto.head_object(Bucket="push", Key="c1/etcd-snapshot-4.db.enc")["ETag"]


def test_without_keys_the_credentials_come_from_the_environment(server, boto, no_credentials, monkeypatch, tmp_path):
    src = tmp_path / "a.enc"
    src.write_bytes(b"sealed")
    keyless = bucket(server, access_key="", secret_key="")
    with pytest.raises(etcd_s3.S3Error) as caught:
        keyless.upload(str(src), "etcd-snapshot-5.db.enc", {})
    assert str(caught.value) == "uploading object etcd-snapshot-5.db.enc failed: Unable to locate credentials"
    assert [o["Key"] for o in boto.list_objects_v2(Bucket="push").get("Contents", [])] == []
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMTHEENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-the-environment")
    bucket(server, access_key="", secret_key="").upload(str(src), "etcd-snapshot-5.db.enc", {})
    assert boto.get_object(Bucket="push", Key="c1/etcd-snapshot-5.db.enc")["Body"].read() == b"sealed"


def test_an_error_answer_names_the_call_and_s3_s_code(server, boto):
    with pytest.raises(etcd_s3.S3Error) as caught:
        etcd_s3.Bucket(dict(name="o", bucket="no-such-bucket", endpoint_url=server, access_key="a",
                            secret_key="b")).listing()
    assert caught.value.code == "NoSuchBucket" and str(caught.value).startswith("listing failed: "), caught.value
    assert "NoSuchBucket" in str(caught.value)


def test_no_answer_is_an_error_without_a_code_or_the_secret(monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # nothing listens on port 9 of the loopback: no retries
    b = bucket("http://127.0.0.1:9", secret_key="very-secret-value")
    with pytest.raises(etcd_s3.S3Error) as caught:
        b.head("x")
    assert caught.value.code == "" and str(caught.value).startswith("looking for object x failed: Could not connect")
    assert "127.0.0.1:9" in str(caught.value) and "very-secret-value" not in str(caught.value)


def test_without_boto3_the_target_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(etcd_s3.S3Error) as caught:
        bucket("http://127.0.0.1:9")
    assert str(caught.value) == ("target offsite is an S3 target, which needs boto3 here (Debian's python3-boto3, "
                                 "or pip install boto3)")
