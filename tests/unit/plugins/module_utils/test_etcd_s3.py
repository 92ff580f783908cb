"""S3 in the standard library for the members' backup push: SigV4 against AWS's published examples,
then every call against a real (moto) S3 server, checked with boto3."""

import datetime
import hashlib

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import s3 as etcd_s3
from ansible_collections.raftops.etcd.tests.unit.plugins.moto_server import moto_server

# The signature test suite's credentials (docs.aws.amazon.com, "Signature Version 4 test suite").
SUITE = dict(access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region="us-east-1",
             service="service", amz_date="20150830T123600Z")
# The S3 examples' credentials (docs.aws.amazon.com, "Examples: Signature calculations in AWS
# Signature Version 4", Authorization header).
S3_EXAMPLE = dict(access_key="AKIAIOSFODNN7EXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                  region="us-east-1", service="s3", amz_date="20130524T000000Z")
S3_HOST = "examplebucket.s3.amazonaws.com"


def test_the_suites_get_vanilla():
    header = etcd_s3.authorization("GET", "/", [], {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"},
                                   etcd_s3.EMPTY_SHA256, **SUITE)
    assert header == ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                      "SignedHeaders=host;x-amz-date, "
                      "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


def test_the_suites_get_vanilla_query_order_key_case():
    header = etcd_s3.authorization("GET", "/", [("Param2", "value2"), ("Param1", "value1")],
                                   {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"},
                                   etcd_s3.EMPTY_SHA256, **SUITE)
    assert header.endswith("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")


def s3_example(method, path, query, headers, payload_hash):
    headers = dict(headers, host=S3_HOST, **{"x-amz-date": "20130524T000000Z", "x-amz-content-sha256": payload_hash})
    return etcd_s3.authorization(method, path, query, headers, payload_hash, **S3_EXAMPLE).split("Signature=")[1]


def test_the_s3_get_object_example():
    assert s3_example("GET", "/test.txt", [], {"range": "bytes=0-9"}, etcd_s3.EMPTY_SHA256) == (
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_the_s3_put_object_example():
    payload = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    headers = {"date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"}
    assert s3_example("PUT", "/test%24file.text", [], headers, payload) == (
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")


def test_the_s3_list_objects_example():
    assert s3_example("GET", "/", [("max-keys", "2"), ("prefix", "J")], {}, etcd_s3.EMPTY_SHA256) == (
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")


def test_the_signing_key_of_the_published_derivation_example():
    key = etcd_s3.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


# -- against a real S3 server ---------------------------------------------------------------------


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


def bucket(server, prefix="c1/"):
    return etcd_s3.Bucket("push", prefix, "AKIDRAFTOPS", "secret", endpoint_url=server)


def test_put_head_get_list_and_delete_against_a_real_server(server, boto, tmp_path):
    src = tmp_path / "a.enc"
    src.write_bytes(bytes(range(256)) * 9000)  # more than one block
    b = bucket(server)
    assert b.head("etcd-snapshot-1.db.enc") is None
    b.put_file("etcd-snapshot-1.db.enc", str(src), {"plaintext-sha256": "ab" * 32})
    b.put_file("etcd-snapshot-2.db.enc", str(src), {})
    boto.put_object(Bucket="push", Key="other/etcd-snapshot-9.db.enc", Body=b"x")  # another prefix: not listed
    stored = boto.get_object(Bucket="push", Key="c1/etcd-snapshot-1.db.enc")
    assert stored["Body"].read() == src.read_bytes() and stored["Metadata"] == {"plaintext-sha256": "ab" * 32}
    assert b.head("etcd-snapshot-1.db.enc") == {"plaintext-sha256": "ab" * 32}
    listed = sorted(b.listing(), key=lambda o: o["name"])
    assert [(o["name"], o["size"]) for o in listed] == [("etcd-snapshot-1.db.enc", src.stat().st_size),
                                                        ("etcd-snapshot-2.db.enc", src.stat().st_size)]
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    assert all(abs(o["mtime"] - now) < 120 for o in listed)
    out = tmp_path / "back"
    b.get_file("etcd-snapshot-1.db.enc", str(out))
    assert out.read_bytes() == src.read_bytes()
    assert b.get_range("etcd-snapshot-1.db.enc", 0, 9) == bytes(range(10))
    b.delete("etcd-snapshot-1.db.enc")
    assert [o["name"] for o in b.listing()] == ["etcd-snapshot-2.db.enc"]


def test_a_listing_of_many_pages_is_read_whole(server, boto):
    for index in range(5):
        boto.put_object(Bucket="push", Key="c1/o%04d" % index, Body=b"")
    b = bucket(server)
    b.page_size = 2  # ListObjectsV2 answers 1000 at most: three pages here
    assert [o["name"] for o in b.listing()] == ["o%04d" % index for index in range(5)]


def test_an_error_answer_names_the_call_and_the_code(server, boto):
    with pytest.raises(etcd_s3.S3Error) as caught:
        etcd_s3.Bucket("no-such-bucket", "", "a", "b", endpoint_url=server).listing()
    assert caught.value.status == 404 and "HTTP 404 NoSuchBucket" in str(caught.value)


def test_no_answer_is_an_error_with_status_0_without_the_secret():
    b = etcd_s3.Bucket("push", "", "AKIDRAFTOPS", "very-secret-value", endpoint_url="http://127.0.0.1:9", timeout=5)
    with pytest.raises(etcd_s3.S3Error) as caught:
        b.head("x")
    assert caught.value.status == 0 and "127.0.0.1:9" in str(caught.value)
    assert "very-secret-value" not in str(caught.value)
