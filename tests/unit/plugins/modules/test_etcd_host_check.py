"""etcd_host_check measures for real: fsync latency in a temporary directory, round trips to a local
listening socket, to a closed local port (a refusal is an answer) and to a listener whose queue is
full (no answer). Only the module's entry and exit are patched."""

import errno
import os
import signal
import socket
import time
from functools import partial

import pytest

from ansible_collections.raftops.etcd.plugins.modules import etcd_host_check
from ansible_collections.raftops.etcd.plugins.modules.etcd_host_check import (
    TEMP_PREFIX,
    fsync_latencies,
    host_check,
    memory_figures,
    nearest_dir,
    parse_meminfo,
    parse_peer,
    percentile,
    round_trip,
    used_bytes,
)
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import run_module as run_any

run_module = partial(run_any, etcd_host_check)


@pytest.fixture
def listening():
    """A local port something listens on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield "127.0.0.1:%d" % server.getsockname()[1]


@pytest.fixture
def closed():
    """A local port nothing listens on: a connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return "127.0.0.1:%d" % port


@pytest.fixture
def silent():
    """A local port whose listener's queue is full: the kernel drops new connections, which get no answer."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        address = server.getsockname()
        held = []
        try:
            for _attempt in range(16):  # fill the accept queue until a connection is dropped
                client = socket.socket()
                client.settimeout(0.2)
                try:
                    client.connect(address)
                except socket.timeout:
                    client.close()
                    break
                held.append(client)
            else:
                pytest.fail("the listener kept accepting connections")
            yield "127.0.0.1:%d" % address[1]
        finally:
            for client in held:
                client.close()


# -- the module's arguments and documentation ---------------------------------------------------


def test_documented_options_match_the_code():
    assert_documented_options_match(etcd_host_check)


@pytest.mark.parametrize("args, message", [
    ({}, "missing required arguments: path"),
    ({"path": "/x", "fsync_writes": -1}, "fsync_writes=-1: a whole number from 0 to 10000"),
    ({"path": "/x", "fsync_write_size": 0}, "fsync_write_size=0: a whole number from 1 to 1048576"),
    ({"path": "/x", "rtt_samples": 0}, "rtt_samples=0: a whole number from 1 to 100"),
    ({"path": "/x", "rtt_timeout": 0}, "rtt_timeout=0.0: seconds, more than 0 and at most 60"),
    ({"path": "/x", "peers": ["10.0.0.12"]}, "peers: '10.0.0.12' is not host:port, [IPv6]:port or a URL with a port"),
    ({"path": "/x", "peers": ["10.0.0.12:99999"]}, "peers: '10.0.0.12:99999' is not host:port"),
    # a connection option: the module does not talk to etcd
    ({"path": "/x", "ca_cert": "/ca.pem"}, ") module: ca_cert. Supported parameters include"),
])
def test_bad_options_fail_naming_them(args, message):
    result, failed = run_module(args)
    assert failed
    assert message in result["msg"]


def test_the_module_measures_and_changes_nothing(tmp_path, listening, closed):
    data_dir = tmp_path / "var" / "lib" / "etcd"
    result, failed = run_module(dict(path=str(data_dir), fsync_writes=20, peers=[listening, closed], rtt_samples=3))
    assert not failed and result["changed"] is False
    assert result["checked_dir"] == str(tmp_path) and result["path_used_bytes"] == 0
    assert result["cpus"] >= 1 and result["memory_bytes"] > 0 and result["free_bytes"] > 0
    assert result["swap_used_bytes"] <= result["swap_total_bytes"]
    assert 0 < result["fsync_p50_ms"] <= result["fsync_p99_ms"] <= result["fsync_max_ms"]
    assert [(p["peer"], p["answered"], p["refused"], p["lost"]) for p in result["peers"]] == [
        (listening, 3, 0, 0), (closed, 3, 3, 0)]
    assert set(result["rtt_ms_by_peer"]) == {listening, closed} and all(result["rtt_ms_by_peer"].values())
    assert result["errors"] == {}
    assert os.listdir(str(tmp_path)) == []  # the temporary file is gone, nothing was created


def test_check_mode_measures_the_same(tmp_path):
    result, failed = run_module(dict(path=str(tmp_path), fsync_writes=5), check=True)
    assert not failed and result["changed"] is False and result["fsync_p99_ms"] > 0
    assert os.listdir(str(tmp_path)) == []


def test_fsync_writes_0_skips_the_fsync_measurement(tmp_path):
    result, failed = run_module(dict(path=str(tmp_path), fsync_writes=0))
    assert not failed
    assert (result["fsync_p50_ms"], result["fsync_p99_ms"], result["fsync_max_ms"]) == (None, None, None)
    assert result["errors"] == {}


# -- the measurements ---------------------------------------------------------------------------


def test_fsync_latency_appends_to_a_file_that_is_removed_afterwards(tmp_path):
    times = fsync_latencies(str(tmp_path), 50, 2048)
    assert len(times) == 50 and all(t > 0 for t in times)
    assert os.listdir(str(tmp_path)) == []


def test_fsync_latency_removes_its_file_when_a_write_fails(tmp_path):
    # A file size limit makes the kernel refuse the fourth write (EFBIG), as a full disk would.
    resource = pytest.importorskip("resource")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3 * 2048, limits[1]))
    try:
        with pytest.raises(OSError) as error:
            fsync_latencies(str(tmp_path), 10, 2048)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert error.value.errno == errno.EFBIG
    assert os.listdir(str(tmp_path)) == []


def test_fsync_in_a_directory_that_cannot_be_written_is_an_error_not_a_failure():
    # /proc takes no new files, not even from root
    result = host_check("/proc/no-etcd-here", fsync_writes=5)
    assert result["checked_dir"] == "/proc"
    assert result["fsync_p99_ms"] is None and result["fsync_p50_ms"] is None and result["fsync_max_ms"] is None
    assert set(result["errors"]) == {"fsync_p99_ms"} and "/proc/" + TEMP_PREFIX in result["errors"]["fsync_p99_ms"]


def test_a_refused_connection_is_an_answer(closed):
    record = round_trip(closed, 4, 1.0)
    assert (record["answered"], record["refused"], record["lost"], record["error"]) == (4, 4, 0, None)
    assert 0 < record["rtt_ms"] < 1000


def test_an_accepted_connection_is_an_answer(listening):
    record = round_trip(listening, 3, 1.0)
    assert (record["answered"], record["refused"], record["lost"]) == (3, 0, 0)
    assert 0 < record["rtt_ms"] < 1000


def test_no_answer_within_the_timeout_is_unreachable(silent):
    start = time.monotonic()
    record = round_trip(silent, 2, 0.2)
    assert time.monotonic() - start >= 0.4
    assert (record["rtt_ms"], record["answered"], record["lost"]) == (None, 0, 2)
    assert record["error"] == "no answer within 0.2 s"


def test_a_name_that_does_not_resolve_is_unreachable():
    record = round_trip("no-such-host.invalid:2380", 3, 0.5)
    assert (record["rtt_ms"], record["answered"], record["lost"]) == (None, 0, 3)
    assert record["error"]


def test_the_module_reports_an_unreachable_peer_without_failing(tmp_path, silent):
    result, failed = run_module(dict(path=str(tmp_path), fsync_writes=0, peers=[silent], rtt_samples=1,
                                     rtt_timeout=0.2))
    assert not failed
    assert result["rtt_ms_by_peer"] == {silent: None} and result["peers"][0]["lost"] == 1


@pytest.mark.parametrize("peer, parsed", [
    ("10.0.0.12:2380", ("10.0.0.12", 2380)),
    ("[fd00::12]:2380", ("fd00::12", 2380)),
    ("etcd-1.example.com:2380", ("etcd-1.example.com", 2380)),
    ("https://10.0.0.12:2380", ("10.0.0.12", 2380)),
    ("https://[fd00::12]:2380/", ("fd00::12", 2380)),
])
def test_peers_are_host_port_or_urls(peer, parsed):
    assert parse_peer(peer) == parsed


@pytest.mark.parametrize("peer", ["10.0.0.12", "https://10.0.0.12", ":2380", "", "[fd00::12]"])
def test_a_peer_without_host_or_port_is_refused(peer):
    with pytest.raises(ValueError):
        parse_peer(peer)


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50, 99, 100)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([1, 2, 3], 0.5) == 2


def test_meminfo_in_bytes():
    text = "MemTotal:       16318304 kB\nMemFree:  1000 kB\nSwapTotal:  2097148 kB\nSwapFree: 2000000 kB\nHugePages_Total: 0\n"
    meminfo = parse_meminfo(text)
    assert meminfo["MemTotal"] == 16318304 * 1024 and meminfo["HugePages_Total"] == 0
    assert memory_figures(meminfo) == dict(memory_bytes=16318304 * 1024, swap_total_bytes=2097148 * 1024,
                                           swap_used_bytes=97148 * 1024)
    assert memory_figures({}) == dict(memory_bytes=None, swap_total_bytes=None, swap_used_bytes=None)


def test_the_nearest_existing_directory(tmp_path):
    assert nearest_dir(str(tmp_path / "a" / "b")) == str(tmp_path)
    (tmp_path / "a").mkdir()
    assert nearest_dir(str(tmp_path / "a" / "b")) == str(tmp_path / "a")
    assert nearest_dir(str(tmp_path / "a")) == str(tmp_path / "a")


def test_what_the_data_dir_holds_is_counted_on_disk(tmp_path):
    data = tmp_path / "etcd"
    assert used_bytes(str(data)) == 0
    (data / "member" / "snap").mkdir(parents=True)
    (data / "member" / "snap" / "db").write_bytes(os.urandom(256 * 1024))
    assert used_bytes(str(data)) >= 256 * 1024
    result = host_check(str(data), fsync_writes=0)
    assert result["checked_dir"] == str(data) and result["path_used_bytes"] >= 256 * 1024


def test_the_result_lists_every_figure_even_with_no_peers(tmp_path):
    result = host_check(str(tmp_path), fsync_writes=3)
    assert set(result) == {
        "path", "checked_dir", "cpus", "memory_bytes", "swap_total_bytes", "swap_used_bytes", "free_bytes",
        "path_used_bytes", "fsync_writes", "fsync_write_size", "fsync_p50_ms", "fsync_p99_ms", "fsync_max_ms",
        "peers", "rtt_ms_by_peer", "errors"}
    assert result["peers"] == [] and result["rtt_ms_by_peer"] == {}
    assert not any(name.startswith(TEMP_PREFIX) for name in os.listdir(str(tmp_path)))
