import hashlib
from functools import partial

import pytest

from ansible.module_utils import basic

from ansible_collections.raftops.etcd.plugins.modules import etcd_snapshot_info
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import SNAPSHOT
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import run_module as run_any

run_module = partial(run_any, etcd_snapshot_info)


# -- argument handling -------------------------------------------------------------------------


def test_documented_options_match_the_code():
    assert_documented_options_match(etcd_snapshot_info)


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "missing required arguments: src"),
        # saving's option, and a connection option: this module does not talk to etcd
        ({"src": "/s.db", "force": True}, ") module: force. Supported parameters include: etcdutl_path, src"),
        ({"src": "/s.db", "ca_cert": "/ca.pem"}, ") module: ca_cert. Supported parameters include: etcdutl_path, src"),
    ],
)
def test_argument_errors(args, message):
    result, failed = run_module(args)
    assert failed
    assert message in result["msg"]


# -- inspecting --------------------------------------------------------------------------------


def test_inspect_without_a_tool_reads_the_file(snapshot_file, no_tool):
    result, failed = run_module(dict(src=str(snapshot_file)))
    assert not failed and result["changed"] is False
    assert (result["revision"], result["total_key"], result["total_size"]) == (7, 7, 28672)
    assert result["status_source"] == "file" and result["tool"] is None and result["hash"] is None
    assert result["sha256"] == hashlib.sha256(SNAPSHOT).hexdigest()
    assert all(result["checks"].values())


def test_inspect_with_etcdutl_reports_its_status(snapshot_file, tool):
    path, calls = tool
    result, failed = run_module(dict(src=str(snapshot_file)))
    assert not failed and result["changed"] is False
    assert result["status_source"] == "etcdutl" and result["tool"] == path and result["tool_version"] == "3.5.1"
    assert result["hash"] == 12345 and result["revision"] == 7
    assert [c["args"] for c in calls()] == [["version"], ["snapshot", "status", str(snapshot_file), "-w", "json"]]
    assert snapshot_file.read_bytes() == SNAPSHOT


def test_inspect_in_check_mode_is_the_same(snapshot_file, tool):
    _path, calls = tool
    plain, _failed = run_module(dict(src=str(snapshot_file)))
    checked, failed = run_module(dict(src=str(snapshot_file)), check=True)
    assert not failed and checked == plain and checked["changed"] is False
    assert [c["args"][:2] for c in calls()] == [["version"], ["snapshot", "status"]] * 2
    assert snapshot_file.read_bytes() == SNAPSHOT


def test_inspect_warns_when_the_tool_disagrees_with_the_file(snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_REVISION", "8")
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    result, failed = run_module(dict(src=str(snapshot_file)))
    assert not failed and result["revision"] == 8
    assert warnings == ["etcdutl reports revision 8, the file reads 7"]


def test_inspect_etcdctl_34_gets_api_3(snapshot_file, tool, monkeypatch):
    path, calls = tool
    monkeypatch.setenv("FAKE_KIND", "etcdctl")
    monkeypatch.setenv("FAKE_VERSION", "3.4.23")
    result, failed = run_module(dict(src=str(snapshot_file), etcdutl_path=path))
    assert not failed and result["status_source"] == "etcdctl" and result["tool_version"] == "3.4.23"
    assert calls()[-1]["api"] == "3"


def test_inspect_skips_etcdctl_36(snapshot_file, tool, monkeypatch):
    monkeypatch.setenv("FAKE_KIND", "etcdctl")
    monkeypatch.setenv("FAKE_VERSION", "3.6.4")
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    result, failed = run_module(dict(src=str(snapshot_file)))
    assert not failed and result["status_source"] == "file"
    assert "is etcdctl 3.6.4, which has no snapshot status or restore: use etcdutl" in warnings[0]


def test_inspect_flipped_byte_fails_with_both_hashes(tmp_path, no_tool):
    damaged = bytearray(SNAPSHOT)
    damaged[3 * 4096 + 7] ^= 0x40
    src = tmp_path / "bad.db"
    src.write_bytes(bytes(damaged))
    result, failed = run_module(dict(src=str(src)))
    assert failed
    assert result["msg"].startswith("%s is not a sound etcd snapshot: SHA-256 mismatch: the trailer expects %s"
                                    % (src, SNAPSHOT[-32:].hex()))
    assert result["hash_expected"] != result["hash_actual"]
    assert result["checks"]["hash_ok"] is False


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "snapshot file %s does not exist"),
        (SNAPSHOT[:-700], "is not a sound etcd snapshot: truncated or damaged"),
        (b"PK\x03\x04" + b"\0" * 4124, "not an etcd snapshot: no bbolt magic 0xED0CDAED at offset 16"),
    ],
)
def test_inspect_clear_errors(tmp_path, no_tool, content, message):
    src = tmp_path / "x.db"
    if content is not None:
        src.write_bytes(content)
    result, failed = run_module(dict(src=str(src)))
    assert failed and (message % src if "%s" in message else message) in result["msg"]
