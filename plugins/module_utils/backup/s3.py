# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""One S3 target's bucket and prefix, through boto3: the one S3 client of the collection. The
controller's raftops.etcd.etcd_backup_target and the members' push and drill use it alike (the etcd
role copies this very file onto the members as etcd_s3.py, beside Debian's python3-boto3: it imports
nothing of the collection).

boto3's managed transfer sends and fetches an object in parts of the target's ``part_size_mib``
(PART_SIZE_MIB when not set), a few at a time, never whole in memory; botocore retries what fails
for a while (its retry mode and attempts, which AWS_RETRY_MODE and AWS_MAX_ATTEMPTS change). A
target without ``access_key`` takes boto3's credentials: the environment (AWS_ACCESS_KEY_ID,
AWS_WEB_IDENTITY_TOKEN_FILE...), the shared files, the instance profile.
"""

MIB = 1024 * 1024
# boto3's own default part size; S3 takes parts of 5 MiB to 5 GiB, at most 10,000 of them.
PART_SIZE_MIB = 8
PART_SIZE_RANGE = (5, 5120)
# Parts in flight at once: each holds one part in memory.
CONCURRENCY = 4
NOT_FOUND = ("404", "NoSuchKey", "NotFound")


class S3Error(Exception):
    """A call that failed: ``<what it did> failed: <why>``, without the credentials; ``code`` is S3's
    error code ('' when there was no answer)."""

    def __init__(self, message, code=""):
        super().__init__(message)
        self.code = code


class Bucket:
    """``target`` is one item of etcd_backup_targets of type s3 (bucket, prefix, endpoint_url, region,
    access_key, secret_key, part_size_mib; each but bucket may be empty)."""

    def __init__(self, target):
        self.name = target["name"]
        self.bucket = target["bucket"]
        self.prefix = target.get("prefix") or ""
        try:
            import boto3
            from boto3.s3.transfer import TransferConfig
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise S3Error("target %s is an S3 target, which needs boto3 here (Debian's python3-boto3, or pip "
                          "install boto3)" % self.name) from None
        self.errors = (BotoCoreError, ClientError)
        self.client_error = ClientError
        # A session of its own: boto3's default session is shared by every thread of the process.
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=target.get("endpoint_url") or None, region_name=target.get("region") or None,
            aws_access_key_id=target.get("access_key") or None,
            aws_secret_access_key=target.get("secret_key") or None)
        part = int(target.get("part_size_mib") or PART_SIZE_MIB) * MIB
        self.transfer = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=CONCURRENCY)

    def where(self):
        return "s3://%s/%s" % (self.bucket, self.prefix)

    def _call(self, doing, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except self.client_error as exc:
            raise S3Error("%s failed: %s" % (doing, exc), str(exc.response.get("Error", {}).get("Code", ""))) from None
        except self.errors as exc:
            raise S3Error("%s failed: %s" % (doing, exc)) from None

    def head(self, name):
        """The object's metadata (S3's x-amz-meta- headers, without the prefix), or None when it does not exist."""
        try:
            answer = self._call("looking for object %s" % name, self.client.head_object, Bucket=self.bucket,
                                Key=self.prefix + name)
        except S3Error as exc:
            if exc.code in NOT_FOUND:
                return None
            raise
        return answer.get("Metadata") or {}

    def listing(self):
        """[{name, size, mtime}] of every object under the prefix (name without it), page by page."""
        objects = []

        def read():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    objects.append(dict(name=item["Key"][len(self.prefix):], size=item["Size"],
                                        mtime=item["LastModified"].timestamp()))
        self._call("listing", read)
        return objects

    def upload(self, path, name, metadata):
        """``path`` as object ``name`` with ``metadata``: in parts when it is larger than one."""
        self._call("uploading object %s" % name, self.client.upload_file, path, self.bucket, self.prefix + name,
                   ExtraArgs={"Metadata": metadata}, Config=self.transfer)

    def download(self, name, path):
        self._call("downloading object %s" % name, self.client.download_file, self.bucket, self.prefix + name, path,
                   Config=self.transfer)

    def read_head(self, name, size):
        """The first ``size`` bytes of object ``name`` (a range read; fewer when it is shorter, none when it is empty)."""
        doing = "reading the head of object %s" % name
        try:
            answer = self._call(doing, self.client.get_object, Bucket=self.bucket, Key=self.prefix + name,
                                Range="bytes=0-%d" % (size - 1))
        except S3Error as exc:
            if exc.code in ("InvalidRange", "416"):  # an empty object: no byte in range
                return b""
            raise
        return self._call(doing, answer["Body"].read, size)

    def delete(self, name):
        self._call("deleting object %s" % name, self.client.delete_object, Bucket=self.bucket, Key=self.prefix + name)
