#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_host_check
short_description: Measure what an etcd member's host offers - CPUs, memory, swap, disk space, fsync latency, peer round trips
version_added: 1.0.0
description:
  - Measures, in one call, the figures a sizing profile is compared with before any host changes
    (the filter P(raftops.etcd.hardware_findings#filter) does the comparing).
  - The CPUs this process may run on, the memory and swap from C(/proc/meminfo), and the space
    available on the file system that holds O(path) (or its nearest existing parent), plus what
    O(path) already holds.
  - "The fsync latency of that file system, the way etcd's write-ahead log meets it: O(fsync_writes)
    sequential appends of O(fsync_write_size) bytes to a preallocated file, each followed by
    C(fdatasync), of which the time of each C(fdatasync) is taken. The file is created in the
    nearest existing directory of O(path) and removed afterwards, also when a write fails."
  - The round trip to each of O(peers) - the time a TCP connection takes to be accepted or refused.
    A refused connection is an answer, so a peer is measured before etcd listens on it; no answer
    within O(rtt_timeout) means the peer cannot be reached. The median of O(rtt_samples) tries is reported.
  - A figure that cannot be measured is null and RV(errors) says why; the module fails only on bad options.
  - Needs only python3 on the host.
extends_documentation_fragment: [raftops.etcd.common]
attributes:
  check_mode:
    details:
      - Measures the same in check mode; the temporary file of the fsync measurement is written and
        removed in both, and nothing else is written.
options:
  path:
    description:
      - The member's data directory (C(etcd_data_dir)); it need not exist yet.
      - Free space and fsync latency are measured in the nearest directory of it that exists, which
        must be writable by the user the module runs as.
    type: path
    required: true
  fsync_writes:
    description: How many writes the fsync measurement makes; V(0) skips it.
    type: int
    default: 100
  fsync_write_size:
    description: Bytes per write; etcd's WAL appends are small records.
    type: int
    default: 2048
  peers:
    description:
      - Peers to measure the round trip to, as C(host:port), C([IPv6]:port) or a peer URL like
        C(https://10.0.0.12:2380).
    type: list
    elements: str
    default: []
  rtt_samples:
    description: Connections made to each peer; the median is reported.
    type: int
    default: 5
  rtt_timeout:
    description: Seconds to wait for a peer to answer one connection.
    type: float
    default: 2.0
notes:
  - Run it with privileges that can read the data directory (C(0700), owned by the etcd user), or
    what it holds cannot be counted (RV(errors) says so).
  - C(/proc/meminfo) and the CPU count are what the kernel shows this process; in a container they
    may be the host's.
  - On a member where etcd already runs, each round trip sample is a connection that closes at
    once, which etcd may log as a failed TLS handshake.
seealso:
  - module: raftops.etcd.etcd_host_info
    description: What etcd a host already has installed, configured and stored.
"""

EXAMPLES = r"""
- name: Measure this host before anything changes
  become: true
  raftops.etcd.etcd_host_check:
    path: /var/lib/etcd
    peers:
      - 10.0.0.12:2380
      - 10.0.0.13:2380
  register: etcd_host_figures

- name: Say how fast the disk is
  ansible.builtin.debug:
    msg: "fsync p99 {{ etcd_host_figures.fsync_p99_ms }} ms on {{ etcd_host_figures.checked_dir }}"
"""

RETURN = r"""
path:
  description: O(path) as given.
  returned: always
  type: str
  sample: /var/lib/etcd
checked_dir:
  description: The nearest existing directory of O(path), where free space and fsync latency were measured.
  returned: always
  type: str
  sample: /var/lib
cpus:
  description: The CPUs this process may run on (its affinity), else the CPUs of the host.
  returned: always
  type: int
  sample: 4
memory_bytes:
  description: C(MemTotal) of C(/proc/meminfo), in bytes; null when it cannot be read.
  returned: always
  type: int
  sample: 16647262208
swap_total_bytes:
  description: C(SwapTotal), in bytes; null when it cannot be read.
  returned: always
  type: int
  sample: 2147479552
swap_used_bytes:
  description: C(SwapTotal) less C(SwapFree), in bytes; null when it cannot be read.
  returned: always
  type: int
  sample: 0
free_bytes:
  description: Bytes available to unprivileged users on the file system of RV(checked_dir); null when it cannot be read.
  returned: always
  type: int
  sample: 52613349376
path_used_bytes:
  description:
    - Bytes on disk of the files under O(path) (0 when it does not exist yet), which the data dir
      may reuse; null when the tree cannot be read.
  returned: always
  type: int
  sample: 134217728
fsync_writes:
  description: How many writes the fsync measurement made (O(fsync_writes)).
  returned: always
  type: int
  sample: 100
fsync_write_size:
  description: Bytes per write (O(fsync_write_size)).
  returned: always
  type: int
  sample: 2048
fsync_p50_ms:
  description: The median time of one C(fdatasync), in ms (nearest rank); null when not measured.
  returned: always
  type: float
  sample: 0.61
fsync_p99_ms:
  description: The 99th percentile time of one C(fdatasync), in ms (nearest rank); null when not measured.
  returned: always
  type: float
  sample: 2.84
fsync_max_ms:
  description: The longest C(fdatasync), in ms; null when not measured.
  returned: always
  type: float
  sample: 3.02
peers:
  description: One entry per peer of O(peers), in order.
  returned: always
  type: list
  elements: dict
  contains:
    peer:
      description: The peer as given.
      type: str
      sample: 10.0.0.12:2380
    rtt_ms:
      description: The median round trip of the tries it answered, in ms; null when it answered none.
      type: float
      sample: 0.412
    answered:
      description: How many tries it answered, by accepting or by refusing the connection.
      type: int
      sample: 5
    refused:
      description: How many of those answers were refusals (nothing listens on the port yet).
      type: int
      sample: 5
    lost:
      description: How many tries got no answer within O(rtt_timeout), or failed to leave the host.
      type: int
      sample: 0
    error:
      description: Why the last try that got no answer failed; null when every try was answered.
      type: str
      sample: null
rtt_ms_by_peer:
  description: The RV(peers) round trips as a dict of peer to ms (null for a peer that did not answer).
  returned: always
  type: dict
  sample: {"10.0.0.12:2380": 0.412, "10.0.0.13:2380": null}
errors:
  description: Why a figure could not be measured, by the name of its return value; empty when all were.
  returned: always
  type: dict
  sample: {"fsync_p99_ms": "[Errno 13] Permission denied: '/var/lib/.etcd-host-check-x1y2'"}
"""

import math
import os
import socket
import statistics
import tempfile
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_host import free_bytes

TEMP_PREFIX = ".etcd-host-check-"
# Bounds of the options: a measurement that takes minutes, or a write larger than etcd ever makes, is a typo.
LIMITS = dict(fsync_writes=(0, 10000), fsync_write_size=(1, 1024 * 1024), rtt_samples=(1, 100))
MAX_RTT_TIMEOUT = 60.0


# -- CPUs, memory and swap ---------------------------------------------------------------------


def usable_cpus():
    """The CPUs this process may run on; the host's count where the affinity cannot be read."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def parse_meminfo(text):
    """The ``Key: N kB`` lines of /proc/meminfo as {key: bytes}."""
    values = {}
    for line in text.splitlines():
        key, _colon, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key.strip()] = int(fields[0]) * (1024 if fields[1:2] == ["kB"] else 1)
    return values


def memory_figures(meminfo):
    total, swap, swap_free = (meminfo.get(key) for key in ("MemTotal", "SwapTotal", "SwapFree"))
    return dict(memory_bytes=total, swap_total_bytes=swap,
                swap_used_bytes=None if swap is None or swap_free is None else swap - swap_free)


# -- the data dir's file system ----------------------------------------------------------------


def nearest_dir(path):
    """``path`` when it is a directory, else its nearest parent that is one."""
    path = os.path.abspath(path)
    while not os.path.isdir(path):
        path = os.path.dirname(path)
    return path


def _blocks(path):
    try:
        return os.lstat(path).st_blocks * 512
    except FileNotFoundError:  # removed since it was listed (a running member turns its WAL over)
        return 0


def used_bytes(path):
    """Bytes on disk of the files under ``path`` (links not followed); 0 when it does not exist."""
    errors = []
    total = _blocks(path)
    for root, dirs, files in os.walk(path, onerror=errors.append):
        total += sum(_blocks(os.path.join(root, name)) for name in dirs + files)
    problems = [error for error in errors if not isinstance(error, FileNotFoundError)]
    if problems:
        raise problems[0]
    return total


def percentile(ordered, share):
    """The nearest-rank percentile of sorted values: the smallest that ``share`` of them do not exceed."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def fsync_latencies(directory, writes, size):
    """The time of each ``fdatasync`` (ms) after each of ``writes`` sequential appends of ``size`` bytes
    to a preallocated temporary file in ``directory``, as etcd appends to a WAL segment; the file is
    removed afterwards, whatever happens."""
    sync = getattr(os, "fdatasync", os.fsync)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    try:
        try:
            os.posix_fallocate(fd, 0, writes * size)
        except (AttributeError, OSError):
            pass  # a file system without preallocation: the appends extend the file
        os.fsync(fd)
        block = os.urandom(size)
        times = []
        for _write in range(writes):
            _write_all(fd, block)
            start = time.perf_counter()
            sync(fd)
            times.append((time.perf_counter() - start) * 1000.0)
        return times
    finally:
        os.close(fd)
        os.unlink(name)


def fsync_figures(directory, writes, size):
    ordered = sorted(fsync_latencies(directory, writes, size))
    return dict(fsync_p50_ms=round(percentile(ordered, 0.5), 3), fsync_p99_ms=round(percentile(ordered, 0.99), 3),
                fsync_max_ms=round(ordered[-1], 3))


# -- peers -------------------------------------------------------------------------------------


def parse_peer(text):
    """(host, port) of ``host:port``, ``[IPv6]:port`` or a URL; ValueError when there is no host or port."""
    parts = urlsplit(text if "://" in text else "//" + text)
    try:
        port = parts.port
    except ValueError:  # out of range, or no number
        port = None
    if not parts.hostname or port is None:
        raise ValueError("%r is not host:port, [IPv6]:port or a URL with a port" % text)
    return parts.hostname, port


def round_trip(peer, samples, timeout):
    """The round trip to ``peer``: the time a TCP connection takes to be accepted or refused."""
    record = dict(peer=peer, rtt_ms=None, answered=0, refused=0, lost=0, error=None)
    try:
        host, port = parse_peer(peer)
        family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (ValueError, OSError) as exc:
        return dict(record, lost=samples, error=str(exc))
    times = []
    for _sample in range(samples):
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(timeout)
            start = time.perf_counter()
            try:
                sock.connect(address)
            except ConnectionRefusedError:
                record["refused"] += 1
            except socket.timeout:
                record.update(lost=record["lost"] + 1, error="no answer within %s s" % timeout)
                continue
            except OSError as exc:
                record.update(lost=record["lost"] + 1, error=str(exc))
                continue
            times.append((time.perf_counter() - start) * 1000.0)
    record["answered"] = len(times)
    if times:
        record["rtt_ms"] = round(statistics.median(times), 3)
    return record


# -- the module --------------------------------------------------------------------------------


def _measure(result, errors, names, measure, *args):
    """Set ``names`` from ``measure(*args)`` (a dict); on OSError set them to None and say why under the first."""
    try:
        result.update(measure(*args))
    except OSError as exc:
        result.update(dict.fromkeys(names))
        errors[names[0]] = str(exc)


def _read(path):
    with open(path) as handle:
        return handle.read()


def host_check(path, fsync_writes=100, fsync_write_size=2048, peers=(), rtt_samples=5, rtt_timeout=2.0):
    """Every figure of the module's result (see RETURN)."""
    checked = nearest_dir(path)
    errors = {}
    result = dict(path=path, checked_dir=checked, cpus=usable_cpus(), fsync_writes=fsync_writes,
                  fsync_write_size=fsync_write_size)
    _measure(result, errors, ("memory_bytes", "swap_total_bytes", "swap_used_bytes"),
             lambda: memory_figures(parse_meminfo(_read("/proc/meminfo"))))
    _measure(result, errors, ("free_bytes",), lambda: dict(free_bytes=free_bytes(checked)))
    _measure(result, errors, ("path_used_bytes",), lambda: dict(path_used_bytes=used_bytes(path)))
    fsync_names = ("fsync_p99_ms", "fsync_p50_ms", "fsync_max_ms")
    if fsync_writes:
        _measure(result, errors, fsync_names, fsync_figures, checked, fsync_writes, fsync_write_size)
    else:
        result.update(dict.fromkeys(fsync_names))
    result["peers"] = [round_trip(peer, rtt_samples, rtt_timeout) for peer in peers]
    result["rtt_ms_by_peer"] = {record["peer"]: record["rtt_ms"] for record in result["peers"]}
    result["errors"] = errors
    return result


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        fsync_writes=dict(type="int", default=100),
        fsync_write_size=dict(type="int", default=2048),
        peers=dict(type="list", elements="str", default=[]),
        rtt_samples=dict(type="int", default=5),
        rtt_timeout=dict(type="float", default=2.0),
    )


def option_problems(params):
    problems = ["%s=%s: a whole number from %d to %d" % (name, params[name], low, high)
                for name, (low, high) in LIMITS.items() if not low <= params[name] <= high]
    if not 0 < params["rtt_timeout"] <= MAX_RTT_TIMEOUT:
        problems.append("rtt_timeout=%s: seconds, more than 0 and at most %d" % (params["rtt_timeout"], MAX_RTT_TIMEOUT))
    for peer in params["peers"]:
        try:
            parse_peer(peer)
        except ValueError as exc:
            problems.append("peers: %s" % exc)
    return problems


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    problems = option_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    figures = host_check(**module.params)
    module.exit_json(changed=False, **figures)


if __name__ == "__main__":
    main()
