"""etcd_release: the tarball's name, its SHA-256 in SHA256SUMS, and which tarballs the cache lacks."""

import hashlib
import re

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host import release

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


@pytest.mark.parametrize("architecture, expected", [
    # as Ansible names them (ansible_architecture), or already as etcd does
    ("x86_64", "amd64"), ("aarch64", "arm64"), ("ppc64le", "ppc64le"), ("s390x", "s390x"),
    ("amd64", "amd64"), ("arm64", "arm64"),
])
def test_release_architecture(architecture, expected):
    assert release.release_architecture(architecture) == expected


@pytest.mark.parametrize("architecture", ["armv7l", "?", "i386", None])
def test_an_architecture_without_releases_is_refused_naming_those_with(architecture):
    message = "unsupported architecture %s; etcd releases exist for x86_64, aarch64, ppc64le, s390x" % architecture
    with pytest.raises(ValueError, match="^%s$" % re.escape(message)):
        release.release_architecture(architecture)
    assert release.architecture_problem(architecture) == message


@pytest.mark.parametrize("architecture, supported, expected", [
    ("x86_64", None, ""),
    ("amd64", None, "unsupported architecture amd64; etcd releases exist for x86_64, aarch64, ppc64le, s390x"),
    ("aarch64", ["x86_64"], "unsupported architecture aarch64; etcd releases exist for x86_64"),
    ("aarch64", {"x86_64": "amd64", "aarch64": "arm64"}, ""),  # a dict's keys count
])
def test_architecture_problem(architecture, supported, expected):
    assert release.architecture_problem(architecture, supported) == expected


def test_tarball_names_each_architecture_once_in_order():
    assert release.tarball_names("3.5.1", ["x86_64", "arm64", "amd64", "aarch64"]) == [
        "etcd-v3.5.1-linux-amd64.tar.gz", "etcd-v3.5.1-linux-arm64.tar.gz"]
    assert release.tarball_names("3.5.1", []) == []
    with pytest.raises(ValueError, match=r"^unsupported architecture sparc; "):
        release.tarball_names("3.5.1", ["x86_64", "sparc"])


AMD64_NAME, ARM64_NAME = "etcd-v3.5.1-linux-amd64.tar.gz", "etcd-v3.5.1-linux-arm64.tar.gz"


@pytest.mark.parametrize("names, cached, expected", [
    # a cached copy that matches is not fetched again
    ([AMD64_NAME, ARM64_NAME], {}, [AMD64_NAME, ARM64_NAME]),
    ([AMD64_NAME, ARM64_NAME], {AMD64_NAME: A}, [ARM64_NAME]),
    # a cached copy that differs is fetched again
    ([AMD64_NAME], {AMD64_NAME: B.lower()}, [AMD64_NAME]),
    ([], {}, []),
])
def test_tarballs_needed(names, cached, expected):
    needed = release.tarballs_needed(names, SUMS, URL, cached)
    assert [t["name"] for t in needed] == expected
    assert all(t["sha256"] == release.release_checksum(SUMS, t["name"]) for t in needed)


def test_tarballs_needed_refuses_a_release_missing_from_the_sums():
    with pytest.raises(ValueError, match=re.escape("lists no SHA-256 for etcd-v3.5.1-linux-s390x.tar.gz")):
        release.tarballs_needed([AMD64_NAME, "etcd-v3.5.1-linux-s390x.tar.gz"], SUMS, URL, {})


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
    # the host's architecture as Ansible names it
    (dict(RELEASE, architecture="aarch64"), dict(src="/c/v3.5.1/etcd-v3.5.1-linux-arm64.tar.gz", checksum=B.lower())),
])
def test_release_source(source, expected):
    assert release.release_source(source, SUMS if source["from"] != "none" else None) == expected


def test_release_source_refuses_a_tarball_missing_from_the_sums():
    with pytest.raises(ValueError, match=re.escape("http://m/v3.5.1/SHA256SUMS lists no SHA-256 for etcd-v3.5.1-linux-s390x.tar.gz")):
        release.release_source(dict(RELEASE, architecture="s390x"), SUMS)


def test_release_source_refuses_an_architecture_without_releases():
    with pytest.raises(ValueError, match=r"^unsupported architecture armv7l; etcd releases exist for x86_64, "):
        release.release_source(dict(RELEASE, architecture="armv7l"), SUMS)
