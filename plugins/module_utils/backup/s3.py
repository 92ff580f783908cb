# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The few S3 calls a member's backup push makes (PUT, GET, HEAD, ListObjectsV2, DELETE), signed
with AWS Signature Version 4, in the standard library only.

The members have python3 without boto3 (the controller's backup playbook uses boto3); the etcd
role copies this very file onto them (no imports of the collection). The signature follows AWS's
published algorithm and is unit-tested against its published examples; an object is sent and
fetched a block at a time, never whole in memory.
"""

import datetime
import hashlib
import hmac
import http.client
import os
import ssl
import urllib.parse
from xml.etree import ElementTree

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
BLOCK = 1024 * 1024
METADATA_PREFIX = "x-amz-meta-"


class S3Error(Exception):
    """A call that failed; ``status`` is the HTTP status (0: no answer), the message says why."""

    def __init__(self, message, status=0):
        super().__init__(message)
        self.status = status


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret_key, date, region, service):
    """The day's key derived from the secret key (AWS4 + secret, then date, region, service, aws4_request)."""
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _quote(text, safe):
    return urllib.parse.quote(text, safe=safe)


def canonical_query(query):
    """``query`` (a list of (name, value) pairs) as SigV4 signs it: encoded, then sorted."""
    pairs = sorted((_quote(k, "-_.~"), _quote(v, "-_.~")) for k, v in query)
    return "&".join("%s=%s" % pair for pair in pairs)


def authorization(method, path, query, headers, payload_hash, access_key, secret_key, region, service, amz_date):
    """The Authorization header of a request: ``path`` as sent (already encoded), ``query`` as
    (name, value) pairs, ``headers`` a dict of every header signed (host and x-amz-date among them)."""
    names = sorted(name.lower() for name in headers)
    values = {name.lower(): " ".join(str(value).strip().split()) for name, value in headers.items()}
    canonical = "\n".join([method, path, canonical_query(query),
                           "".join("%s:%s\n" % (name, values[name]) for name in names),
                           ";".join(names), payload_hash])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret_key, amz_date[:8], region, service), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    return "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (ALGORITHM, access_key, scope, ";".join(names),
                                                                    signature)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


class Bucket:
    """One bucket and prefix: ``endpoint_url`` for S3-compatible services (path-style addressing),
    else AWS (virtual-hosted, ``https://<bucket>.s3.<region>.amazonaws.com``)."""

    def __init__(self, bucket, prefix, access_key, secret_key, region="", endpoint_url="", timeout=60,
                 now=None):
        self.bucket, self.prefix = bucket, prefix or ""
        self.access_key, self.secret_key = access_key, secret_key
        self.region = region or "us-east-1"
        self.timeout = timeout
        self.page_size = None  # ListObjectsV2's max-keys; the server's own (1000 on AWS) when None
        self.now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        if endpoint_url:
            url = urllib.parse.urlsplit(endpoint_url)
            self.scheme, self.host = url.scheme, url.netloc
            self.base = url.path.rstrip("/") + "/" + bucket
        else:
            self.scheme, self.host, self.base = "https", "%s.s3.%s.amazonaws.com" % (bucket, self.region), ""

    def _connection(self):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, timeout=self.timeout, context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, timeout=self.timeout)

    def request(self, method, key=None, query=(), headers=None, body=None, payload_hash=EMPTY_SHA256, out=None):
        """(status, headers, body) of one signed call; ``body`` bytes or an open file, ``out`` a file
        the answer is written to a block at a time. S3Error when it fails or answers an error."""
        path = _quote(self.base + "/" + (self.prefix + key if key is not None else ""), "/-_.~")
        amz_date = self.now().strftime("%Y%m%dT%H%M%SZ")
        headers = dict(headers or {}, host=self.host, **{"x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
        headers["Authorization"] = authorization(method, path, query, headers, payload_hash, self.access_key,
                                                 self.secret_key, self.region, "s3", amz_date)
        target = path + ("?" + canonical_query(query) if query else "")
        connection = self._connection()
        try:
            connection.request(method, target, body=body, headers=headers)
            answer = connection.getresponse()
            if answer.status < 300 and out is not None:
                for block in iter(lambda: answer.read(BLOCK), b""):
                    out.write(block)
                data = b""
            else:
                data = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            raise S3Error("%s %s://%s%s: %s" % (method, self.scheme, self.host, path, exc)) from None
        finally:
            connection.close()
        if answer.status >= 300:
            raise S3Error("%s %s: HTTP %d %s" % (method, key if key is not None else "(bucket)", answer.status,
                                                 _error_text(data) or answer.reason), answer.status)
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data

    def head(self, key):
        """The object's metadata (without the x-amz-meta- prefix), or None when it does not exist."""
        try:
            _status, headers, _data = self.request("HEAD", key)
        except S3Error as exc:
            if exc.status == 404:
                return None
            raise
        return {k[len(METADATA_PREFIX):]: v for k, v in headers.items() if k.startswith(METADATA_PREFIX)}

    def put_file(self, key, path, metadata):
        """Upload ``path`` as ``key`` with ``metadata``, its SHA-256 signed (S3 checks it on arrival)."""
        size = os.path.getsize(path)
        headers = {METADATA_PREFIX + k: v for k, v in metadata.items()}
        headers["content-length"] = str(size)
        with open(path, "rb") as body:
            self.request("PUT", key, headers=headers, body=body, payload_hash=file_sha256(path))

    def get_file(self, key, path):
        with open(path, "wb") as out:
            self.request("GET", key, out=out)

    def get_range(self, key, first, last):
        return self.request("GET", key, headers={"range": "bytes=%d-%d" % (first, last)})[2]

    def delete(self, key):
        self.request("DELETE", key)

    def listing(self):
        """[{name, size, mtime}] of every object under the prefix (name without it), ListObjectsV2 page by page."""
        objects, token = [], None
        while True:
            query = [("list-type", "2"), ("prefix", self.prefix)] + ([("continuation-token", token)] if token else [])
            query += [("max-keys", str(self.page_size))] if self.page_size else []
            data = self.request("GET", query=query)[2]
            root = ElementTree.fromstring(data)
            space = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            for item in root.iter(space + "Contents"):
                stamp = item.findtext(space + "LastModified").replace("Z", "+00:00")
                objects.append(dict(name=item.findtext(space + "Key")[len(self.prefix):],
                                    size=int(item.findtext(space + "Size")),
                                    mtime=datetime.datetime.fromisoformat(stamp).timestamp()))
            token = root.findtext(space + "NextContinuationToken")
            if root.findtext(space + "IsTruncated") != "true" or not token:
                return objects


def _error_text(data):
    """``Code: Message`` of an S3 error document, or None."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    code, message = root.findtext("Code"), root.findtext("Message")
    return ": ".join(part for part in (code, message) if part) or None
