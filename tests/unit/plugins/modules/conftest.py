"""Fixtures of the snapshot module tests: a snapshot file, and a fake etcdutl or none at all."""

import json
import sys

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import snapshot_host as etcd_snapshot_host
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import FAKE_TOOL, SNAPSHOT


@pytest.fixture
def tool(tmp_path, monkeypatch):
    """A fake etcdutl on PATH (nothing else), logging each call; returns (path, calls())."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    path = bin_dir / "etcdutl"
    path.write_text(FAKE_TOOL.format(python=sys.executable))
    path.chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("")
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(etcd_snapshot_host, "TOOL_SEARCH_DIRS", [])

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()]

    return str(path), calls


@pytest.fixture
def no_tool(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(etcd_snapshot_host, "TOOL_SEARCH_DIRS", [])


@pytest.fixture
def snapshot_file(tmp_path):
    path = tmp_path / "snap.db"
    path.write_bytes(SNAPSHOT)
    return path
