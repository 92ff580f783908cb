"""Fixtures of the members' backup push and drill tests."""

import pytest

from ansible_collections.raftops.etcd.tests.unit.plugins.moto_server import moto_server


@pytest.fixture(scope="module")
def server():
    """A real moto S3 server with bucket ``push``: (its URL, a boto3 client)."""
    with moto_server() as url:
        import boto3
        client = boto3.client("s3", endpoint_url=url, aws_access_key_id="a", aws_secret_access_key="b",
                              region_name="us-east-1")
        client.create_bucket(Bucket="push")
        yield url, client
