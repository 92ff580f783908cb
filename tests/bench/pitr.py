"""The point-in-time restore an hour after the last full backup, measured (tests/bench/pitr.sh, issue
"Back to any second", docs/backup-restore.md "Point-in-time restore"):
``python3 pitr.py INVENTORY WORK SSH_KEY RATE``.

On the three members of INVENTORY (deployed, etcd 3.5.30): the push and the change stream are turned
on (an S3 bucket on a moto server on the test network's gateway, interval 20 s), one full backup is
pushed once the stream runs, then a writer makes RATE x 3,600 writes (an hour of RATE writes a second:
a put or, one in ten, a delete, each one revision; 256-byte values over 10,000 keys) as fast as the
cluster takes them, which is faster than real time: the restore's work depends on the revisions, not
on the clock. Once the stream has shipped the last of them, ``restore -e etcd_restore_to=<then>``
runs, timed end to end and by its parts (task wall times: the fetch, verification and decryption of
the backup and the segments on the controller, the replay in the private etcd on a member, the
restore of the members); the restored cluster's revision and its keys and values are printed beside
the writer's last revision and the cluster's keys and values before the restore.

With BENCH_PITR_COMPARE=DIR (a directory holding ansible_collections/raftops/etcd, e.g. of an earlier
commit), the same restore is first run in --check mode (the fetch and the replay, no member touched)
with the collection at DIR, for the replay's time before and after a change. A benchmark, not a test:
it prints figures and asserts nothing about them.
"""

import base64
import itertools
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins"))
sys.path.insert(0, os.path.join(ROOT, "collections"))
from moto_server import moto_bucket  # noqa: E402
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto  # noqa: E402
from ansible_collections.raftops.etcd.plugins.module_utils.backup import stream_segments as segments  # noqa: E402

GATEWAY = "10.250.0.1"  # the controller, as the test hosts reach it
BUCKET, PREFIX = "etcd-bench-pitr", "etcd/etcd/"
INTERVAL = 20
CLAIM = b"/raftops/etcd/backup-stream"
KEYS, VALUE_BYTES, WRITERS = 10000, 256, 16
DELETE_LAG = 5005  # a put's: n - DELETE_LAG ends in 4 where n ends in 9
# The restore's tasks whose wall time is a part of the figure; the rest is the members' restore.
FETCH_TASK = "Bring the backup to the controller, verified and decrypted"
REPLAY_TASK = "Replay the change stream up to the point on a private etcd"


def members(inventory):
    """The addresses of the inventory's [etcd] group."""
    found, group = [], None
    with open(inventory, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if line.startswith("["):
                group = line
            elif group == "[etcd]" and line:
                found.append(re.search(r"ansible_host=(\S+)", line).group(1))
    return found


def tls_context(pki):
    context = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
    context.load_cert_chain(os.path.join(pki, "admin.pem"), os.path.join(pki, "admin-key.pem"))
    return context


def b64(data):
    return base64.b64encode(data).decode()


class Writer:
    """``total`` revisions through the members in turn, ``WRITERS`` keep-alive connections at once."""

    def __init__(self, addresses, context, total):
        self.addresses, self.context, self.total = addresses, context, total
        self.numbers, self.last, self.lock = itertools.count(), 0, threading.Lock()

    def run(self):
        started = time.monotonic()
        threads = [threading.Thread(target=self.write, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started

    def write(self, index):
        connection = http.client.HTTPSConnection(self.addresses[index % len(self.addresses)], 2379,
                                                 context=self.context, timeout=60)
        for n in self.numbers:
            if n >= self.total:
                return
            key = b"/bench/key-%05d" % (n % KEYS)
            # One write in ten deletes a key: the one put DELETE_LAG writes before, whose writes are that far
            # from any other write of it, so that the writers' overlap cannot reorder them (a delete of a
            # missing key would make no revision).
            if n % 10 == 9 and n >= KEYS:
                path, body = "/v3/kv/deleterange", {"key": b64(b"/bench/key-%05d" % ((n - DELETE_LAG) % KEYS))}
            else:
                path, body = "/v3/kv/put", {"key": b64(key), "value": b64(os.urandom(VALUE_BYTES // 2).hex().encode())}
            connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            answer = json.loads(connection.getresponse().read())
            with self.lock:
                self.last = max(self.last, int(answer["header"]["revision"]))


def call(address, context, path, body):
    connection = http.client.HTTPSConnection(address, 2379, context=context, timeout=60)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    return json.loads(connection.getresponse().read())


def keyspace(address, context):
    """{key: value} of the writer's keys."""
    found = call(address, context, "/v3/kv/range", {"key": b64(b"/bench/"), "range_end": b64(b"/bench0")})
    return {kv["key"]: kv.get("value", "") for kv in found.get("kvs", [])}


def ssh(key, address, command):
    subprocess.run(["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                    "-o", "LogLevel=ERROR", "root@" + address, command], check=True)


def objects(s3):
    """{name: bytes} of the target's objects."""
    found, token = {}, {}
    while True:
        page = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX, **token)
        found.update((o["Key"][len(PREFIX):], o["Size"]) for o in page.get("Contents", []))
        if not page.get("IsTruncated"):
            return found
        token = {"ContinuationToken": page["NextContinuationToken"]}


def poll(check, seconds, interval=2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    raise SystemExit("timed out after %d s waiting for %s" % (seconds, check.__doc__))


def playbook(inventory, name, extra, check=False, collections=None):
    """(seconds, {task: seconds}, output) of ``playbooks/<name>.yml`` with the task timer's timeline."""
    env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="task_timer", ANSIBLE_NOCOLOR="1")
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections
    argv = ["ansible-playbook", "-i", inventory, os.path.join(ROOT, "playbooks", name + ".yml"), "-e", json.dumps(extra)]
    started = time.monotonic()
    done = subprocess.run(argv + (["--check"] if check else []), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        print(done.stdout[-4000:])
        raise SystemExit("%s failed (exit code %d)" % (" ".join(argv[:4]), done.returncode))
    timeline, tasks = done.stdout.partition("task timeline:")[2], {}
    for found in re.finditer(r"^\s+([\d.]+) s  (.+)$", timeline, re.M):
        tasks[found.group(2)] = tasks.get(found.group(2), 0) + float(found.group(1))
    return seconds, tasks, done.stdout


def parts(seconds, tasks):
    """The run's time by part; the timer names a role's task "<role> : <task>"."""
    fetch, replay = (sum(t for name, t in tasks.items() if name.endswith(" : " + task)) for task in (FETCH_TASK, REPLAY_TASK))
    return dict(total=seconds, fetch=fetch, replay=replay, rest=seconds - fetch - replay)


def main(inventory, work, key, rate):
    addresses = members(inventory)
    total = rate * 3600
    with moto_bucket(BUCKET, GATEWAY) as moto:
        s3 = moto["s3"]
        settings = dict(etcd_backup_targets=[dict(name="offsite", type="s3", bucket=BUCKET, endpoint_url=moto["url"],
                                                  access_key="AKIDRAFTOPSBENCH", secret_key="raftops-bench-secret")],
                        etcd_backup_key_file=os.path.join(work, "etcd-backup.key"), etcd_backup_push=True,
                        etcd_backup_schedule="*-*-* 03:33:00", etcd_backup_stream_interval=INTERVAL)
        for address in addresses:  # node_exporter's textfile directory, where the stream writes its metrics
            ssh(key, address, "mkdir -p /var/lib/prometheus/node-exporter")
        playbook(inventory, "etcd", settings)
        context = tls_context(os.path.join(work, "etcd-pki"))

        def streaming():
            """a member to hold the stream"""
            found = call(addresses[0], context, "/v3/kv/range", {"key": b64(CLAIM)}).get("kvs")
            return found and b"backup stream of" in base64.b64decode(found[0]["value"])

        # The full backup after the stream started: a stream that starts after the newest full backup
        # starts at its own revision, and the revisions between are in neither.
        poll(streaming, 120)
        call(addresses[0], context, "/v3/kv/put", {"key": b64(b"/bench/before-backup"), "value": b64(b"in the full backup")})
        for address in addresses:  # every member's timer would fire at once: one of them pushes
            ssh(key, address, "systemctl start --no-block etcd-snapshot.service")

        def backup_pushed():
            """the full backup"""
            return [o for o in objects(s3) if crypto.is_backup_object(o)]

        poll(backup_pushed, 300)
        start = int(call(addresses[0], context, "/v3/kv/range", {"key": b64(b"/")})["header"]["revision"])
        writer = Writer(addresses, context, total)
        wrote = writer.run()
        print("writer: %d writes, revisions %d..%d, in %.0f s: %.0f writes/s (an hour at %d writes/s, %.1fx real time)"
              % (total, start + 1, writer.last, wrote, total / wrote, rate, 3600 / wrote))

        def shipped():
            """the stream to ship the writer's last revision"""
            return segments.last_shipped(objects(s3)) >= writer.last

        waited = time.monotonic()
        poll(shipped, 600)
        names = objects(s3)
        chain = [n for n in names if segments.is_segment_object(n)]
        size = sum(names[n] for n in chain)
        print("stream: shipped the last revision %.0f s after the writer's end; %d segments, %.1f MB, gaps %s"
              % (time.monotonic() - waited, len(chain), size / 1e6, segments.gaps(names)))
        point = segments.shown_time(time.time())
        before = keyspace(addresses[0], context)
        restore = dict(settings, etcd_restore_target="offsite", etcd_restore_to=point)
        figures = {}
        if os.environ.get("BENCH_PITR_COMPARE"):
            figures["compared, --check"] = parts(*playbook(inventory, "restore", restore, check=True,
                                                           collections=os.environ["BENCH_PITR_COMPARE"])[:2])
        seconds, tasks, _out = playbook(inventory, "restore", restore)
        figures["this checkout"] = parts(seconds, tasks)
        reached = int(call(addresses[1], context, "/v3/kv/range", {"key": b64(b"/")})["header"]["revision"])
        after = keyspace(addresses[2], context)
        same = "equal to" if after == before else "NOT EQUAL to"
        print("restored to %s: revision %d (the writer's last: %d; a restore bumps it), %d keys under /bench/, "
              "keys and values %s the cluster's before the restore" % (point, reached, writer.last, len(after), same))
    print()
    revisions = writer.last - start
    print("| restore to +1 h (%d revisions, %d writes/s) | total | fetch, verify, decrypt | replay | members' restore | replay rate |"
          % (revisions, rate))
    print("|---|---|---|---|---|---|")
    for label, found in figures.items():
        print("| %s | %.0f s | %.0f s | %.0f s | %.0f s | %.0f revisions/s |" % (
            label, found["total"], found["fetch"], found["replay"], found["rest"], revisions / max(found["replay"], 1)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
