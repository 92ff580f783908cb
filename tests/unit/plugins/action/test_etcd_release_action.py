"""The etcd_release action, against a file:// mirror: SHA256SUMS fetched once, each architecture's tarball
downloaded when the cache lacks it or holds another, and every failure refused with the release's URL,
leaving nothing in the cache but what was verified."""

import hashlib
import os
from unittest.mock import MagicMock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_release import ActionModule
from ansible_collections.raftops.etcd.plugins.modules import etcd_release as module

from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match

AMD64, ARM64 = "etcd-v3.5.1-linux-amd64.tar.gz", "etcd-v3.5.1-linux-arm64.tar.gz"


@pytest.fixture
def mirror(tmp_path):
    release = tmp_path / "mirror" / "v3.5.1"
    release.mkdir(parents=True)
    (release / AMD64).write_bytes(b"amd64 release")
    (release / ARM64).write_bytes(b"arm64 release")
    (release / "SHA256SUMS").write_text("".join("%s  %s\n" % (hashlib.sha256((release / n).read_bytes()).hexdigest(), n)
                                                for n in (AMD64, ARM64)))
    return release


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._execute_module = MagicMock(side_effect=AssertionError("the download asks no host"))
    return module


def run(action, mirror, cache, **args):
    action._task.args = dict(dict(url="file://%s/" % mirror, cache_dir=str(cache), version="3.5.1", architectures=["amd64"]), **args)
    return action.run(task_vars={})


def test_the_sums_once_and_each_architecture_once_then_nothing(action, mirror, tmp_path):
    cache = tmp_path / "cache" / "v3.5.1"
    result = run(action, mirror, cache, architectures=["amd64", "arm64", "amd64"])
    assert "failed" not in result and result["changed"] and result["fetched"] == ["SHA256SUMS", AMD64, ARM64]
    assert (cache / ARM64).read_bytes() == b"arm64 release" and oct((cache / AMD64).stat().st_mode & 0o777) == "0o644"
    (mirror / "SHA256SUMS").unlink()  # a re-run reads the cache only
    result = run(action, mirror, cache, architectures=["amd64", "arm64"])
    assert result == dict(changed=False, fetched=[])


def test_a_cached_tarball_that_differs_is_fetched_again(action, mirror, tmp_path):
    cache = tmp_path / "cache"
    run(action, mirror, cache)
    (cache / AMD64).write_bytes(b"damaged")
    assert run(action, mirror, cache)["fetched"] == [AMD64]
    assert (cache / AMD64).read_bytes() == b"amd64 release"


def test_with_hosts_fetching_their_own_only_the_sums(action, mirror, tmp_path):
    cache = tmp_path / "cache"
    assert run(action, mirror, cache, tarballs=False)["fetched"] == ["SHA256SUMS"]
    assert os.listdir(cache) == ["SHA256SUMS"]


def test_a_corrupt_tarball_is_refused_and_not_kept(action, mirror, tmp_path):
    cache = tmp_path / "cache"
    (mirror / AMD64).write_bytes(b"tampered")
    result = run(action, mirror, cache)
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith("etcd 3.5.1 could not be downloaded and verified from file://%s/ (no host was changed): "
                                    "The checksum for %s did not match " % (mirror, cache / AMD64))
    assert "; it was %s. [file://%s/%s]" % (hashlib.sha256(b"tampered").hexdigest(), mirror, AMD64) in result["msg"]
    assert os.listdir(cache) == ["SHA256SUMS"]


def test_a_release_missing_from_the_sums_is_refused(action, mirror, tmp_path):
    result = run(action, mirror, tmp_path / "cache", architectures=["s390x"])
    assert result["failed"] and result["msg"] == (
        "etcd 3.5.1 could not be downloaded and verified from file://%s/ (no host was changed): "
        "file://%s/SHA256SUMS lists no SHA-256 for etcd-v3.5.1-linux-s390x.tar.gz" % (mirror, mirror))


def test_the_architectures_as_ansible_names_them_fetch_etcds_tarballs(action, mirror, tmp_path):
    result = run(action, mirror, tmp_path / "cache", architectures=["x86_64", "aarch64", "amd64"])
    assert result["fetched"] == ["SHA256SUMS", AMD64, ARM64]


def test_an_architecture_without_releases_is_refused_before_anything_is_fetched(action, mirror, tmp_path):
    cache = tmp_path / "cache"
    result = run(action, mirror, cache, architectures=["x86_64", "armv7l"])
    assert result["failed"] and result["msg"] == (
        "etcd 3.5.1 could not be downloaded and verified from file://%s/ (no host was changed): "
        "unsupported architecture armv7l; etcd releases exist for x86_64, aarch64, ppc64le, s390x" % mirror)
    assert not cache.exists()


def test_an_unreachable_mirror_is_refused_and_leaves_no_sums(action, tmp_path):
    cache = tmp_path / "cache"
    result = run(action, tmp_path / "nowhere" / "v3.5.1", cache)
    assert result["failed"] and "(no host was changed): cannot fetch it: " in result["msg"]
    assert result["msg"].endswith("[file://%s/SHA256SUMS]" % (tmp_path / "nowhere" / "v3.5.1"))
    assert os.listdir(cache) == []


def test_bad_arguments_fail_naming_the_action(action, mirror, tmp_path):
    result = run(action, mirror, tmp_path, timeout="soon")
    assert result["failed"] and result["msg"].startswith("raftops.etcd.etcd_release: ")


def test_the_documentation_matches_the_options():
    assert_documented_options_match(module)
