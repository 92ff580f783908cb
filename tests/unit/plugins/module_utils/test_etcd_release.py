"""etcd_release: the tarball's name, its SHA-256 in SHA256SUMS, and which tarballs the cache lacks."""

import hashlib
import re

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_release as release

A, B = "ab" * 32, "CD" * 32
SUMS = "%s  etcd-v3.5.1-linux-amd64.tar.gz\n%s *etcd-v3.5.1-linux-arm64.tar.gz\n%s  etcd-v3.5.1-linux-amd64.tar.gz.asc\n" % (A, B, A)
URL = "http://m/v3.5.1/SHA256SUMS"


@pytest.mark.parametrize("text, name, expected", [
    (SUMS, "etcd-v3.5.1-linux-amd64.tar.gz", A),
    (SUMS, "etcd-v3.5.1-linux-arm64.tar.gz", B.lower()),  # the binary marker, upper case
])
def test_release_checksum(text, name, expected):
    assert release.release_checksum(text, name, URL) == expected


@pytest.mark.parametrize("text, name", [
    (SUMS, "etcd-v3.5.1-linux-s390x.tar.gz"),  # not listed
    (SUMS, "etcd-v3.5.1-linux-amd64.tar"),  # a prefix is no match
    ("nothex  etcd-v3.5.1-linux-amd64.tar.gz\n", "etcd-v3.5.1-linux-amd64.tar.gz"),
])
def test_release_checksum_refuses_naming_the_url(text, name):
    with pytest.raises(ValueError, match="^%s$" % re.escape("http://m/v3.5.1/SHA256SUMS lists no SHA-256 for " + name)):
        release.release_checksum(text, name, URL)


@pytest.mark.parametrize("architectures, cached, expected", [
    # each architecture once, in order; a cached copy that matches is not fetched again
    (["amd64", "arm64", "amd64"], {}, ["etcd-v3.5.1-linux-amd64.tar.gz", "etcd-v3.5.1-linux-arm64.tar.gz"]),
    (["amd64", "arm64"], {"etcd-v3.5.1-linux-amd64.tar.gz": A}, ["etcd-v3.5.1-linux-arm64.tar.gz"]),
    # a cached copy that differs is fetched again
    (["amd64"], {"etcd-v3.5.1-linux-amd64.tar.gz": B.lower()}, ["etcd-v3.5.1-linux-amd64.tar.gz"]),
    ([], {}, []),
])
def test_tarballs_needed(architectures, cached, expected):
    needed = release.tarballs_needed("3.5.1", architectures, SUMS, URL, cached)
    assert [t["name"] for t in needed] == expected
    assert all(t["sha256"] == release.release_checksum(SUMS, t["name"]) for t in needed)


def test_tarballs_needed_refuses_a_release_missing_from_the_sums():
    with pytest.raises(ValueError, match=re.escape("lists no SHA-256 for etcd-v3.5.1-linux-s390x.tar.gz")):
        release.tarballs_needed("3.5.1", ["amd64", "s390x"], SUMS, URL, {})


def test_file_sha256(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * ((1 << 20) + 3))
    assert release.file_sha256(str(tmp_path / "f")) == hashlib.sha256(b"x" * ((1 << 20) + 3)).hexdigest()
    assert release.file_sha256(str(tmp_path / "missing")) == ""


RELEASE = {"from": "cache", "cache_dir": "/c/v3.5.1", "url": "http://m/v3.5.1/", "version": "3.5.1", "architecture": "arm64"}


@pytest.mark.parametrize("source, expected", [
    (RELEASE, dict(src="/c/v3.5.1/etcd-v3.5.1-linux-arm64.tar.gz", checksum=B.lower())),
    (dict(RELEASE, **{"from": "url"}), dict(url="http://m/v3.5.1/etcd-v3.5.1-linux-arm64.tar.gz", checksum=B.lower())),
    # a host that runs the release needs no tarball, and the sums are not read
    (dict(RELEASE, **{"from": "none"}), {}),
])
def test_release_source(source, expected):
    assert release.release_source(source, SUMS if source["from"] != "none" else None) == expected


def test_release_source_refuses_a_tarball_missing_from_the_sums():
    with pytest.raises(ValueError, match=re.escape("http://m/v3.5.1/SHA256SUMS lists no SHA-256 for etcd-v3.5.1-linux-s390x.tar.gz")):
        release.release_source(dict(RELEASE, architecture="s390x"), SUMS)
