"""Day-2 operations on a cluster holding a few hundred MiB, while three clients hold the promises
applications need (docs/maintenance.md, "Clients during maintenance"):

- a leader-lease holder (TTL 10 s, renewed every 2 s against every member) never loses its lease;
- a watcher of a prefix sees every event exactly once, in order, and never gets a ``compacted``
  answer (it resumes on another member from the revision after its last event);
- a multi-endpoint writer: its failed writes per member restart and its p99 latency against idle
  are measured (aim: none failed, p99 within 2x); no acknowledged write is lost.

The keyspace: PODS pod-like JSON values of about POD_BYTES, written by WRITERS threads in parallel
through the members' v3 gateway, a third of them written again, then compacted, so that a
defragmentation has pages to give back: about 300 MiB in the database file. At that size a member's
defragmentation and its restart take seconds, not the milliseconds of the other scenarios' files:
a fixed timeout sized on those would fail here. The figures are printed.

Then, each with the clients running: a roll of every member (a changed setting), the maintenance
playbook defragmenting every member, a CA rotation, an upgrade of every member (3.5.16 -> 3.5.30), the
replacement of a lost member by a new empty machine (a learner that must catch up on the whole keyspace
before its promotion: its catch-up is measured against a raw copy of the database file between the same
hosts), and a re-run that changes nothing (its time must not grow with the data). The whole scenario is
`make test-full`'s.
"""

import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from etcdclients import LeaseHolder, PrefixWatcher, failures_per_restart, latency_p99, mod_revisions
from etcdtest import (Gateway, Writer, assert_unchanged, b64, host, playbook, prefix_end, restarts, rotating_tls,
                      run_testbed, why_failed)

pytestmark = pytest.mark.full

MEMBERS = {"bd-host0": "10.250.0.180", "bd-host1": "10.250.0.181", "bd-host2": "10.250.0.182"}
FIRST_VERSION, UPGRADED_VERSION = "3.5.16", "3.5.30"  # molecule.yml deploys the first
URLS = ["https://%s:2379" % address for address in MEMBERS.values()]
MiB = 1024 * 1024
PODS, POD_BYTES, WRITERS = 2400, 96 * 1024, 8
WATCHED = "/clients/writes/"
IDLE_SECONDS = 20
DEFRAGMENTED = re.compile(r"(\S+): defragmented in ([0-9.]+) s, ([0-9.]+ \S+) given back")



def figure(text):
    """What an operation cost and what the clients saw: printed as it comes."""
    print("\n" + text)


def pod(number, generation):
    """A pod as the API server stores it (JSON here), about POD_BYTES: the bulk is the last-applied
    annotation and the managed fields, as in real pods with many containers and variables."""
    containers = [{"name": "c%d" % c, "image": "registry.example/app-%d:%d" % (number, generation),
                   "env": [{"name": "VAR_%d" % v, "value": os.urandom(24).hex()} for v in range(40)],
                   "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}} for c in range(4)]
    body = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "app-%d" % number, "namespace": "ns-%d" % (number % 40),
                         "uid": os.urandom(16).hex(), "generation": generation,
                         "labels": {"app": "app-%d" % (number % 100), "tier": "web"},
                         "annotations": {}},
            "spec": {"containers": containers, "nodeName": "node-%d" % (number % 50)},
            "status": {"phase": "Running", "podIP": "10.%d.%d.%d" % (number % 250, generation, number % 200)}}
    applied = json.dumps({"spec": {"containers": containers}})
    while len(json.dumps(body)) < POD_BYTES:
        body["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration-%d"
                                        % len(body["metadata"]["annotations"])] = applied
    return json.dumps(body)


def put_pods(numbers, generation):
    """Each pod under /registry/pods/, spread over the members, WRITERS at a time."""
    def put(number):
        Gateway(URLS[number % len(URLS)], timeout=60).call(
            "/v3/kv/put", {"key": b64("/registry/pods/ns-%d/app-%d" % (number % 40, number)),
                           "value": b64(pod(number, generation))})
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(put, numbers))


def database_sizes():
    return {url: int(Gateway(url, **rotating_tls()).status()["dbSize"]) for url in URLS}


class Clients:
    """The three clients, started once the keyspace is loaded, and the restarts of each operation."""

    def __init__(self):
        self.holder = LeaseHolder(URLS, tls=rotating_tls)
        self.watcher = PrefixWatcher(URLS, WATCHED, tls=rotating_tls)
        self.writer = Writer(URLS, prefix=WATCHED, interval=0.05, max_seconds=3600, tls=rotating_tls)
        self.idle = None

    def start(self):
        self.holder.grant()
        self.holder.start()
        self.watcher.start()
        began = time.time()
        self.writer.start()
        time.sleep(IDLE_SECONDS)
        self.idle = (began, time.time())

    def stop(self):
        self.writer.stop()
        # The watcher sees the writer's last events before it stops.
        time.sleep(3)
        self.watcher.stop()
        self.holder.stop()


@pytest.fixture(scope="module")
def clients():
    began = time.monotonic()
    numbers = list(range(PODS))
    put_pods(numbers, 1)
    put_pods(numbers[::3], 2)
    loaded = time.monotonic() - began
    gateway = Gateway(URLS[0])
    revision = int(gateway.call("/v3/kv/range", {"key": b64("/"), "count_only": True})["header"]["revision"])
    gateway.call("/v3/kv/compaction", {"revision": revision, "physical": True})
    sizes = database_sizes()
    figure("keyspace: %d pods of %d KiB, %d of them written again, in %.1f s (%.0f MiB/s through the gateway); "
                   "database files %s MiB" % (PODS, POD_BYTES // 1024, len(numbers[::3]), loaded,
                                               (PODS + len(numbers[::3])) * POD_BYTES / MiB / loaded,
                                               ", ".join("%.0f" % (size / MiB) for size in sizes.values())))
    assert min(sizes.values()) > 250 * MiB, sizes
    running = Clients()
    running.start()
    figure("idle, %d s: writer p99 %.0f ms; renewals later than the TTL: %d" % (
        IDLE_SECONDS, latency_p99(running.writer.latencies, *running.idle) * 1000, len(running.holder.late)))
    yield running
    running.stop()


def operation(clients, name, *args):
    """Run a playbook with the clients running: its time, the members' restarts, the writer's
    failures and p99 latency during it; the lease is still held after it."""
    since = int(time.time())
    began = time.monotonic()
    failed_before = len(clients.writer.failed)
    started = time.time()
    rc, out = playbook(*args)
    took = time.monotonic() - began
    assert rc == 0, why_failed(out)
    restarted = sum(len(restarts(h, "etcd", since)) for h in MEMBERS)
    failed = clients.writer.failed[failed_before:]
    p99, idle = latency_p99(clients.writer.latencies, started, time.time()), latency_p99(clients.writer.latencies,
                                                                                         *clients.idle)
    late = [seconds for at, seconds in clients.holder.late if started <= at]
    figure("%s: %.1f s, %d member restarts; writer: %d failed (%.2f per restart), p99 %.0f ms against %.0f ms idle "
           "(%.1fx); lease renewals failed on a member %d times so far, renewals later than the TTL during it: %s"
           % (name, took, restarted, len(failed), failures_per_restart(failed, restarted), p99 * 1000, idle * 1000,
              p99 / idle, len(clients.holder.errors), ["%.1f s" % seconds for seconds in late]))
    assert clients.holder.lost == [], clients.holder.lost
    return out


def test_a_roll_of_every_member_is_not_felt(clients):
    operation(clients, "roll (etcd_heartbeat_interval changed)", "etcd", "-e", "etcd_heartbeat_interval=110")


def test_a_defragmentation_of_every_member_is_not_felt(clients):
    before = database_sizes()
    out = operation(clients, "maintenance (every member defragmented)", "maintenance", "-e", "etcd_defrag_rule=always")
    done = DEFRAGMENTED.findall(out)
    assert len(done) == 3, out[-3000:]
    figure("defragmentations: %s (files before: %s MiB)" % (
        "; ".join("%s %s s, %s back" % member for member in done),
        ", ".join("%.0f" % (size / MiB) for size in before.values())))


def test_a_ca_rotation_is_not_felt(clients):
    operation(clients, "CA rotation (3 phases)", "etcd", "-e", "etcd_pki_rotate_ca=true")


def test_an_upgrade_is_not_felt(clients):
    operation(clients, "upgrade %s -> %s" % (FIRST_VERSION, UPGRADED_VERSION), "upgrade", "-e",
              "etcd_version=" + UPGRADED_VERSION)
    assert {Gateway(url, **rotating_tls()).status()["version"] for url in URLS} == {UPGRADED_VERSION}


SNAPSHOT_RECEIVED = re.compile(r'"received and saved database snapshot".*?"incoming-snapshot-size-bytes":(\d+)'
                               r'(?:.*?"download-took":"([^"]+)")?')


def raw_copy_seconds(source, dest, path="/var/lib/etcd/member/snap/db"):
    """The floor of a learner's catch-up: the member's database file copied as it is from ``source``'s
    host to ``dest``'s (through the controller, as the test hosts hold no keys to each other)."""
    began = time.monotonic()
    subprocess.run("podman exec %s cat %s | podman exec -i %s sh -c 'cat > /var/tmp/db.copy && sync'" % (source, path, dest),
                   shell=True, check=True, timeout=600)
    took = time.monotonic() - began
    host(dest).run("rm -f /var/tmp/db.copy")
    return took


def test_a_lost_member_replaced_by_an_empty_machine_catches_up_unfelt(clients):
    """bd-host2 is lost (killed: no SSH, no facts); a new empty machine takes its address and the
    operator replaces bd-c: a learner that catches up on every key before its promotion, while the
    clients run."""
    lost = "bd-host2"
    run_testbed("kill", lost)
    time.sleep(5)  # the clients meet a member gone, as they would before anyone replaces it
    run_testbed("recreate", lost, MEMBERS[lost])
    since = int(time.time())
    out = operation(clients, "replace of the lost bd-c by an empty machine", "replace_member", "-v", "-e", "etcd_replace=bd-c",
                    "-e", "etcd_version=" + UPGRADED_VERSION)
    promoted = re.search(r"promoted bd-c \(\w+\) to a voting member(?: after (\d+) attempts)?", out)
    assert promoted, out[-3000:]
    # The new member holds every pod, read from its own store (serializable), not forwarded to the leader.
    pods = Gateway("https://%s:2379" % MEMBERS[lost], **rotating_tls()).call(
        "/v3/kv/range", {"key": b64("/registry/pods/"), "range_end": b64(prefix_end("/registry/pods/")),
                         "count_only": True, "serializable": True})
    assert int(pods["count"]) == PODS, pods
    sizes = database_sizes()
    journal = host(lost).check_output("journalctl -u etcd -o cat --no-pager --since @%d" % since)
    received = SNAPSHOT_RECEIVED.search(journal)
    floor = raw_copy_seconds("bd-host0", lost)
    figure("learner catch-up: promoted after %s attempts (one a second while it caught up); %s; database files now %s "
           "MiB; the floor, the database file copied between two hosts: %.1f s"
           % (promoted.group(1) or 1, "a snapshot of %.0f MiB received in %s" % (
               int(received.group(1)) / MiB, received.group(2) or "(not logged by this release)") if received
              else "no snapshot sent (the leader's log held every entry)",
              ", ".join("%.0f" % (size / MiB) for size in sizes.values()), floor))


def test_a_rerun_at_this_size_changes_nothing(clients):
    began = time.monotonic()
    rc, out = playbook("etcd", "-e", "etcd_version=" + UPGRADED_VERSION)
    took = time.monotonic() - began
    assert rc == 0, why_failed(out)
    assert_unchanged(out)
    figure("no-change re-run: %.1f s" % took)


def test_the_clients_kept_their_promises(clients):
    clients.stop()
    gateway = Gateway(URLS[0], **rotating_tls())
    assert clients.holder.lost == [] and clients.holder.still_holds()
    stored = mod_revisions(gateway, WATCHED)
    lost = clients.writer.lost(gateway)
    assert lost == [], lost[:5]
    written = {key: revision for key, revision in stored.items() if key in clients.writer.acked}
    assert clients.watcher.problems(written) == []
    figure("clients: lease renewals %d (failed on a member %d, later than the TTL %d times, longest gap %.1f s, lease "
           "kept); watcher events %d, resumed %d times, compacted answers %d; writes acknowledged %d, failed %d, lost %d"
           % (len(clients.holder.renewals), len(clients.holder.errors), len(clients.holder.late),
              clients.holder.longest_gap(), len(clients.watcher.events), len(clients.watcher.resumes),
              len(clients.watcher.compacted), len(clients.writer.acked), len(clients.writer.failed), len(lost)))
