# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Scheduled defragmentation of one member: ``python3 etcd_maintenance.py SETTINGS.json``.

The etcd role installs this file beside the collection's etcd_defrag_rule.py, etcd_run_lock.py and
etcd_leadership.py (copied as they are), writes its settings (etcd-maintenance.json.j2) and runs it
from the member's <instance>-maintenance.timer.

It defragments this member only when the defragmentation rule holds for it, only while it holds
the cluster's run lock (so one member at a time cluster-wide, and never during a playbook run),
never as leader (it hands leadership to the follower etcd_leadership picks, when that one is caught
up) and only when the cluster is healthy. It waits until the member is healthy and caught up again
before it gives the lock back. Every decision is logged with the figures behind it (journalctl).

It talks to etcd with etcdctl on the gRPC port, where etcd takes the client certificate's CN for
the user, so that it needs no password whether auth is on or off.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_defrag_rule
import etcd_leadership
import etcd_run_lock

# How long etcdctl may take for anything but the defragmentation, in seconds.
COMMAND_TIMEOUT = 30


class EtcdctlError(Exception):
    """etcdctl failed; the message is its own."""


class EtcdctlTimeout(EtcdctlError):
    """etcdctl got no answer in time: the request may have been applied."""

    sent = True


class Etcdctl:
    """etcdctl against this member's client URL, and the store etcd_run_lock.Lock takes the lock with."""

    Error = EtcdctlError
    Unreachable = EtcdctlTimeout

    def __init__(self, settings, run=None):
        self.settings = settings
        self.run = run or subprocess.run
        self.base = [settings["etcdctl"], "--endpoints", settings["endpoint"]]
        if settings.get("ca_cert"):
            self.base += ["--cacert", settings["ca_cert"], "--cert", settings["client_cert"],
                          "--key", settings["client_key"]]
        elif settings.get("insecure_skip_tls_verify"):
            self.base.append("--insecure-skip-tls-verify")

    def __call__(self, *args, stdin=None, timeout=COMMAND_TIMEOUT, check=True):
        """etcdctl's output; EtcdctlError when it fails (with ``check``), EtcdctlTimeout when it hangs."""
        try:
            done = self.run(self.base + list(args), input=stdin, capture_output=True, text=True, timeout=timeout + 10,
                            check=False, env={"ETCDCTL_API": "3"})
        except subprocess.TimeoutExpired:
            raise EtcdctlTimeout("etcdctl %s: no answer within %d s" % (" ".join(args), timeout + 10)) from None
        if check and done.returncode != 0:
            raise EtcdctlError("etcdctl %s: %s" % (" ".join(args), (done.stderr or done.stdout).strip()))
        return done.stdout

    def json(self, *args, **options):
        return json.loads(self(*args, "-w", "json", **options) or "null")

    # -- the lock's store (etcd_run_lock) ---------------------------------------------------------

    def get(self, key):
        kvs = self.json("get", key).get("kvs") or []
        if not kvs:
            return None
        return dict(value=base64.b64decode(kvs[0].get("value", "")), lease=int(kvs[0].get("lease", 0)),
                    mod_revision=int(kvs[0].get("mod_revision", 0)))

    def grant(self, ttl):
        reply = self.json("lease", "grant", str(ttl))
        return dict(id=int(reply["ID"]), ttl=int(reply["TTL"]))

    def time_left(self, lease_id):
        return int(self.json("lease", "timetolive", etcd_run_lock.lease_hex(lease_id))["ttl"])

    def keepalive(self, lease_id):
        try:
            return int(self.json("lease", "keep-alive", "--once", etcd_run_lock.lease_hex(lease_id))["TTL"])
        except EtcdctlError:
            if self.time_left(lease_id) <= 0:
                return 0  # it expired or was revoked
            raise

    def revoke(self, lease_id):
        try:
            self("lease", "revoke", etcd_run_lock.lease_hex(lease_id))
        except EtcdctlError as exc:
            if "lease not found" in str(exc):
                return False
            raise
        return True

    def put_if(self, key, value, lease_id, mod_revision):
        request = "%s\n\nput --lease=%s %s %s\n\n\n" % (
            self.compare(key, mod_revision), etcd_run_lock.lease_hex(lease_id), json.dumps(key), json.dumps(value))
        if self.json("txn", stdin=request).get("succeeded"):
            return True, None
        return False, self.get(key)

    def delete_if(self, key, mod_revision):
        request = "%s\n\ndel %s\n\n\n" % (self.compare(key, mod_revision), json.dumps(key))
        return bool(self.json("txn", stdin=request).get("succeeded"))

    @staticmethod
    def compare(key, mod_revision):
        """etcdctl txn's comparison: the key's mod revision still is ``mod_revision`` (0: it does not exist)."""
        if mod_revision:
            return 'mod(%s) = "%d"' % (json.dumps(key), mod_revision)
        return 'create(%s) = "0"' % json.dumps(key)

    def command(self, *args):
        s = self.settings
        return etcd_run_lock.etcdctl_command([s["endpoint"]], s.get("ca_cert"), s.get("client_cert"),
                                             s.get("client_key"), *args)

    # -- members ------------------------------------------------------------------------------------

    def statuses(self, cluster=False):
        """This member's status, or every member's, normalized as etcd_leadership reads them."""
        return [normalize_status(record["Status"])
                for record in self.json("endpoint", "status", *(["--cluster"] if cluster else []))]

    def health(self):
        """[dict(endpoint, health)] of every member, as far as they answered."""
        try:
            return self.json("endpoint", "health", "--cluster", check=False) or []
        except ValueError:
            return []


def normalize_status(status):
    member_id = int(status["header"]["member_id"])
    leader_id = int(status.get("leader", 0))
    size = int(status.get("dbSize", 0))
    return dict(member_id=member_id, leader_id=leader_id, is_leader=leader_id == member_id,
                is_learner=bool(status.get("isLearner")), raft_index=int(status.get("raftIndex", 0)),
                raft_applied_index=int(status.get("raftAppliedIndex", 0)), db_size=size,
                db_size_in_use=int(status.get("dbSizeInUse", size)))


def mib(size):
    return "%.1f MiB" % (size / 1048576.0)


class Maintenance:
    """One run of the timer: decide, take the lock, hand leadership over, defragment, wait, release."""

    def __init__(self, settings, etcdctl, log, holder, clock=time.monotonic, sleep=time.sleep):
        self.settings = settings
        self.etcdctl = etcdctl
        self.log = log
        self.holder = holder
        self.clock, self.sleep = clock, sleep
        self.name = settings["name"]

    def lock(self, lease_id=None):
        s = self.settings
        return etcd_run_lock.Lock(self.etcdctl, dict(name=s["lock_name"], prefix=s["lock_prefix"], holder=self.holder,
                                                     ttl=int(s["lock_ttl"]), wait_timeout=0, lease_id=lease_id),
                                  clock=self.clock, sleep=self.sleep)

    def cluster_problem(self):
        """Why the cluster is not fit for a defragmentation now, or None."""
        records = self.etcdctl.health()
        unhealthy = [r["endpoint"] for r in records if not r.get("health")]
        if not records or unhealthy:
            return "members not healthy: %s" % (", ".join(unhealthy) or "none answered")
        return None

    def run(self):
        own = self.etcdctl.statuses()[0]
        rule = etcd_defrag_rule.parse(self.settings["rule"])
        quota = etcd_defrag_rule.effective_quota(int(self.settings["quota_bytes"]))
        decided, why = etcd_defrag_rule.decide(rule, own["db_size"], own["db_size_in_use"], quota)
        self.log("%s: %s" % (self.name, why))
        if not decided:
            return 0
        problem = self.cluster_problem()
        if problem:
            self.log("skipped: %s" % problem)
            return 0
        try:
            held = self.lock().acquire()
        except etcd_run_lock.LockError as exc:
            self.log("skipped: %s" % exc)
            return 0
        stop = threading.Event()
        lease_id = int(held["lease_id"], 16)
        # Renewed while this script works, like a playbook run's lease: a script that dies frees the lock soon.
        keeper = threading.Thread(target=etcd_run_lock.keep, daemon=True, args=(
            None, lambda: self.etcdctl.keepalive(lease_id), max(1, int(self.settings["lock_ttl"]) // 3)),
            kwargs=dict(lives=lambda _pid: not stop.is_set()))
        keeper.start()
        try:
            self.defragment()
        finally:
            stop.set()
            keeper.join()
            self.lock(lease_id=held["lease_id"]).release()
        return 0

    def defragment(self):
        # Read again under the lock: another member may have just finished, leadership may have moved.
        own = self.etcdctl.statuses()[0]
        if own["is_leader"]:
            self.hand_off_leadership(own["member_id"])
        started = self.clock()
        self.log("defragmenting %s (%s in the file, %s in use)" % (
            self.name, mib(own["db_size"]), mib(own["db_size_in_use"])))
        timeout = int(self.settings["defrag_timeout"])
        self.etcdctl("defrag", "--command-timeout=%ds" % timeout, timeout=timeout)
        after = self.etcdctl.statuses()[0]
        self.log("defragmented %s in %.1f s: %s -> %s, %s reclaimed" % (
            self.name, self.clock() - started, mib(own["db_size"]), mib(after["db_size"]),
            mib(own["db_size"] - after["db_size"])))
        self.wait_caught_up(own["member_id"])

    def hand_off_leadership(self, own_id):
        """Move leadership to the follower etcd_leadership picks, when it is caught up."""
        chosen = etcd_leadership.successor(self.etcdctl.statuses(cluster=True), leaving_id=own_id,
                                           max_raft_index_gap=int(self.settings["max_raft_index_gap"]))
        if chosen is None:
            raise EtcdctlError("no caught-up follower to hand leadership to")
        target = "%x" % chosen["member_id"]
        self.log("%s leads: handing leadership to member %s first" % (self.name, target))
        self.etcdctl("move-leader", target)
        deadline = self.clock() + int(self.settings["health_timeout"])
        while self.etcdctl.statuses()[0]["is_leader"]:
            if self.clock() > deadline:
                raise EtcdctlError("leadership did not move within %d s" % int(self.settings["health_timeout"]))
            self.sleep(1)

    def wait_caught_up(self, own_id):
        """Until every member is healthy and this one is within max_raft_index_gap entries of the leader."""
        gap = int(self.settings["max_raft_index_gap"])
        deadline = self.clock() + int(self.settings["health_timeout"])
        while True:
            try:
                members = {s["member_id"]: s for s in self.etcdctl.statuses(cluster=True)}
                me = members[own_id]
                leader = members.get(me["leader_id"])
                if leader and me["raft_applied_index"] >= leader["raft_index"] - gap and self.cluster_problem() is None:
                    return
            except (EtcdctlError, ValueError, KeyError):
                pass
            if self.clock() > deadline:
                raise EtcdctlError("%s was not healthy and caught up within %d s"
                                   % (self.name, int(self.settings["health_timeout"])))
            self.sleep(1)


def main(argv):
    with open(argv[1], encoding="utf-8") as source:
        settings = json.load(source)
    holder = "scheduled defragmentation of %s on %s, pid %d" % (settings["name"], socket.gethostname(), os.getpid())
    maintenance = Maintenance(settings, Etcdctl(settings), lambda text: print(text, flush=True), holder)
    try:
        return maintenance.run()
    except EtcdctlError as exc:
        print("maintenance of %s stopped: %s" % (settings["name"], exc), file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
