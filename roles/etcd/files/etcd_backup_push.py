# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Send this member's scheduled snapshot off-host: ``python3 etcd_backup_push.py SETTINGS.json SNAPSHOT``.

The snapshot script of the member's timer (etcd-snapshot.j2) runs this after it saved and checked
SNAPSHOT, when etcd_backup_push is on. The etcd role installs it beside the collection's
etcd_backup_crypto.py, etcd_s3.py, etcd_files.py and the maintenance timer's code (copied as they
are): the backups it makes are those of the backup playbook - same format, names, metadata and
retention decision - and the restore reads them alike.

One member pushes each period: every member's timer fires at the same time, and the first to
create the claim key (``<run lock prefix>backup-push``) pushes; the others wait for its result.
The claim is held under a short lease (CLAIM_TTL seconds, at most a third of the window), which the
claimant renews every third of it while it pushes (``keep_claim``). Pushed, it marks the claim so,
failed, it marks it failed, and moves it to a lease of the rest of the window
(etcd_backup_push_window seconds from its start): the period stays marked, and the others skip a
pushed one (nobody pushes a period twice) and take a failed one over. A claimant killed
mid-push (SIGKILL, its host crashed) renews its claim no more, and the claim vanishes unmarked
within CLAIM_TTL. The first of the others to take a claim marked failed, or vanished unmarked, over
pushes its own snapshot of the period in its place, within seconds rather than after the window (a
fallback: never two pushes at once, each holds the claim). A claimant whose renewal fails, or comes
too late, stops before it sends to or prunes any more targets (``claim_held``): another member may
push the period by then. A push that outlasts the window keeps its claim alive until it ends (the
next period's push would start beside it otherwise), then ends the claim at once, unmarked: that
period's window is over.
The leader waits a few seconds before it tries, so a follower pushes when one is up; a claim it
finds held as it starts, it takes as the followers do (it never outwaits it). The member holds the
key file's public key only: it seals backups it cannot read. It signs each with its own signing key
(the controller derived it from the key file for this member alone), and prunes each target by
verified header only: an object whose header is not signed by one of this cluster's signers (the
public keys SETTINGS.json lists), is of another cluster or under another name, or is later than now,
is neither counted nor deleted (the push reports it), and the newest verified backup is never
deleted. A prune that fails (credentials that may not delete) does not fail the push: it is
recorded (``prune_error``) in the status file and the metrics. Credentials and the signing key are
in SETTINGS.json (mode 0600, root) and never printed. The result of every
push (not of a skip) is written to the status file (etcd_backup_host_dir/push-status.json), which
the status playbook reads, to the journal and to the metrics file (``write_metrics``); a failed
target makes the unit fail, and the local snapshots stay as they are.

Once a target holds the backup, the record the scheduled drill (etcd_backup_drill.py) proves it
against is written beside the snapshot (``<snapshot>.json``, the backup playbook's record with what
was sent): the snapshot's revision and SHA-256, the member's key count and keyspace hash at that
revision, and the size and SHA-256 of the sealed object. Only the member that pushed a backup holds
its record, so that member alone drills it.
"""

import base64
import calendar
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_backup_crypto as crypto
import etcd_s3
# A new file of a name no one can plant (not ``path + ".part"``, which a link there would redirect as
# root), renamed over the old one: a link at ``path`` is replaced, never followed.
from etcd_files import write_file_atomically
from etcd_maintenance import Etcdctl, EtcdctlError

CLAIM = "backup-push"
# A claim's value ends so once its push ended; the others wait for it, asking every FALLBACK_POLL
# seconds, and take a failed one, or one that vanished unmarked, over.
PUSHED = b" (pushed)"
FAILED = b" (failed)"
FALLBACK_POLL = 2
# The claim's lease, in seconds: at most this, and at most a third of the window, so that a member
# waiting for the claimant's result outlives a claim its holder stopped renewing (etcd raises it to
# its minimum TTL when that is longer). Renewed by its holder every third of it while it pushes: a
# holder that dies frees the period within it.
CLAIM_TTL = 10
SSH_TIMEOUT = 20
# The account of an SSH target's host the members' keys log in as (the role makes it: tasks/backup_push.yml).
ACCOUNT = "etcd-backup"


def write_metrics(settings, kind, samples):
    """Replace ``<instance>-backup-<kind>.prom`` in the metrics directory (node_exporter's textfile
    collector) with ``samples``, [(name, value, {more labels})], each labelled with the cluster and
    the member; nothing when that directory does not exist (no collector on this host)."""
    where = settings.get("metrics_dir") or ""
    if not where or not os.path.isdir(where):
        return
    text = ""
    for name, value, more in samples:
        labels = sorted(dict(more, cluster=settings["cluster"], member=settings["name"]).items())
        shown = ",".join('%s="%s"' % (k, str(v).replace('"', "")) for k, v in labels)
        text += "raftops_etcd_backup_%s{%s} %s\n" % (name, shown, value)
    write_file_atomically(os.path.join(where, "%s-backup-%s.prom" % (settings["instance"], kind)), text.encode(), 0o644)


def write_json(path, record):
    """Replace ``path`` whole with ``record`` as JSON, mode 0600."""
    write_file_atomically(path, json.dumps(record, sort_keys=True).encode(), 0o600)


def read_json(path):
    """The JSON object in ``path``; {} when there is none or it cannot be read."""
    try:
        with open(path, encoding="utf-8") as source:
            found = json.load(source)
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def schedule_period(schedule, run=subprocess.run):
    """Seconds between the next two runs of the snapshot timer's OnCalendar ``schedule`` as systemd
    computes them (the period the alert rules allow between pushes); None when it cannot say."""
    try:
        done = run(["systemd-analyze", "calendar", "--iterations=2", schedule], capture_output=True, text=True,
                   timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    stamps = []
    for line in done.stdout.splitlines():
        label, _colon, value = line.strip().partition(": ")
        if label in ("Next elapse", "Iter. #2"):
            # "Thu 2026-11-26 03:00:00 UTC": both in the host's zone, so the difference holds.
            stamps.append(calendar.timegm(time.strptime(" ".join(value.split()[1:3]), "%Y-%m-%d %H:%M:%S")))
    return stamps[1] - stamps[0] if len(stamps) == 2 else None


class ClaimLost(Exception):
    """The claim of this period could not be kept alive: another member may push it now."""


class PushError(Exception):
    """A target that failed; the message names it and says why, without its credentials."""


def snapshot_time(name):
    """``YYYYMMDDTHHMMSSZ`` of ``etcd-snapshot-<time>.db``: what the backup's header authenticates."""
    return name[len(crypto.OBJECT_PREFIX):].split(".", 1)[0]


class S3Target:
    """An S3 target through the collection's S3 client (etcd_s3.py: boto3, Debian's python3-boto3)."""

    def __init__(self, target):
        self.target = target
        self.name = target["name"]
        self.bucket = etcd_s3.Bucket(target)

    def where(self):
        return self.bucket.where()

    def present(self, name, sha256):
        return (self.bucket.head(name) or {}).get("plaintext-sha256") == sha256

    def send(self, path, name, metadata):
        self.bucket.upload(path, name, metadata)
        # Verified as it stands on the target: its size, and its header read back and checked.
        there = {o["name"]: o for o in self.bucket.listing()}.get(name)
        if there is None or there["size"] != os.path.getsize(path):
            raise PushError("object %s is not on the target whole after the upload" % name)
        with open(path, "rb") as handle:
            head = handle.read(crypto.MAX_HEAD_SIZE)
        if self.bucket.read_head(name, len(head)) != head:
            raise PushError("object %s reads back other bytes than were sent" % name)

    def objects(self):
        """Every object under the target's prefix, full backups and the change stream's segments:
        [{name, size, mtime}]."""
        return self.bucket.listing()

    def listing(self):
        return [o for o in self.objects() if crypto.is_backup_object(o["name"])]

    def fetch(self, name, dest):
        self.bucket.download(name, dest)

    def read_head(self, name, size):
        """The first ``size`` bytes of object ``name`` (a range read; fewer when it is shorter)."""
        return self.bucket.read_head(name, size)

    def delete(self, name):
        self.bucket.delete(name)


class SshTarget:
    """A directory on another host, reached with this member's own key (etcd_backup_push's SSH key) as
    the unprivileged account ACCOUNT, for which the key is authorized only as a forced command
    (etcd_backup_receive.py, installed by the role on that host) and only from the member's address:
    every request is one line of that command's protocol (``VERB DIR [NAME ...]``), never a shell
    command. The account owns the target's directory and nothing else."""

    def __init__(self, target, ssh_key, known_hosts, run=subprocess.run, user=None):
        self.target = target
        self.name = target["name"]
        self.path = target["path"]
        self.run = run
        self.base = ["ssh", "-i", ssh_key, "-p", str(target.get("port", 22)), "-o", "BatchMode=yes",
                     "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
                     "-o", "UserKnownHostsFile=" + known_hosts, "-o", "ConnectTimeout=%d" % SSH_TIMEOUT,
                     "-o", "LogLevel=ERROR", "-T", "%s@%s" % (user or target.get("user") or ACCOUNT, target["address"])]

    def where(self):
        return "%s:%s" % (self.target["host"], self.path)

    def request(self, verb, *args):
        """The protocol's line for ``verb`` on this target's directory (a path the role checked: absolute,
        normal, no white space)."""
        return " ".join([verb, self.path, *[str(a) for a in args]])

    def ssh(self, verb, *args, stdin=None):
        try:
            done = self.run([*self.base, self.request(verb, *args)], stdin=stdin, capture_output=True, timeout=600,
                            check=False)
        except subprocess.TimeoutExpired:
            raise PushError("ssh to %s: no answer within 600 s" % self.target["address"]) from None
        if done.returncode != 0:
            raise PushError("ssh to %s: %s" % (self.target["address"],
                                               done.stderr.decode(errors="replace").strip() or "exit %d" % done.returncode))
        return done.stdout

    def present(self, name, _sha256):
        # As the backup playbook's copy (force: false): an object there under its name is not sent again.
        return name in [o["name"] for o in self.objects()]

    def send(self, path, name, _metadata):
        size, sha256 = crypto.file_sha256(path)
        # The receiving end reads exactly that many bytes of that SHA-256 into a hidden part file and
        # gives the copy its name only when it is whole: a push killed mid-way leaves a part, removed
        # after an hour, never an object under its name.
        with open(path, "rb") as source:
            self.ssh("put", name, size, sha256, stdin=source)
        there = self.ssh("sha256", name).decode().split()
        if there[:2] != [str(size), sha256]:
            raise PushError("object %s reads back as %s, not %d bytes with SHA-256 %s" % (name, " ".join(there[:2]),
                                                                                          size, sha256))

    def read_head(self, name, size):
        """The first ``size`` bytes of object ``name`` (fewer when it is shorter)."""
        return self.ssh("head", name, size)[:size]

    def fetch(self, name, dest):
        with open(dest, "wb") as out:
            try:
                done = self.run([*self.base, self.request("get", name)], stdout=out, stderr=subprocess.PIPE,
                                timeout=600, check=False)
            except subprocess.TimeoutExpired:
                raise PushError("ssh to %s: no answer within 600 s" % self.target["address"]) from None
        if done.returncode != 0:
            raise PushError("ssh to %s: %s" % (self.target["address"], done.stderr.decode(errors="replace").strip()))

    def objects(self):
        """Every object of the target's directory the forced command lists, full backups and the change
        stream's segments: [{name, size, mtime}] (mtime: when the put was written there)."""
        objects = []
        for line in self.ssh("list").decode().splitlines():
            name, size, mtime = line.rsplit(" ", 2)
            objects.append(dict(name=name, size=int(size), mtime=float(mtime)))
        return objects

    def listing(self):
        return [o for o in self.objects() if crypto.is_backup_object(o["name"])]

    def delete(self, name):
        self.ssh("delete", name)


class Push:
    """One run: claim the period, seal the snapshot once, send it to every target, prune each, record the result."""

    def __init__(self, settings, etcdctl, log, holder, targets, clock=time.time, sleep=time.sleep):
        self.settings = settings
        self.etcdctl = etcdctl
        self.log = log
        self.holder = holder
        self.targets = targets
        self.clock, self.sleep = clock, sleep
        self.lease = self.status = None
        # When this run began (the period's window counts from it), until when the claim's lease is
        # surely alive, both on ``timer`` (not the wall clock, which may jump), and why it was lost.
        self.timer = time.monotonic
        self.started = self.held_until = None
        self.lost = None
        # The claim as this member last saw it held by another (fall_back).
        self.seen = None

    def own_status(self):
        return self.etcdctl.json("endpoint", "status")[0]["Status"]

    def claim(self):
        """(True, None) when this member pushes this period, else (False, who does)."""
        self.started = self.timer()
        # Read once: etcd may be gone by the time the backup is sealed, which needs its cluster ID.
        status = self.status = self.own_status()
        key = self.settings["lock_prefix"] + CLAIM
        if int(status.get("leader", 0)) == int(status["header"]["member_id"]):
            # A claim held as the period starts is the followers' answer too: the leader takes it as
            # they do, rather than take the key its delay outlasted (a window longer than the period).
            held = self.etcdctl.get(key)
            if held is not None:
                self.seen = held["value"]
                return False, held["value"].decode(errors="replace")
            self.sleep(int(self.settings["leader_delay"]))  # a follower pushes when one is up
        claimed, held = self.take(key, 0)
        if claimed:
            return True, None
        self.seen = (held or {}).get("value")
        return False, (held or {}).get("value", b"?").decode(errors="replace")

    def take(self, key, mod_revision):
        """Write the claim under a new short lease if the key's mod revision still is ``mod_revision``
        (0: it does not exist): (True, None), or (False, the key as it is) after revoking that lease."""
        asked = self.timer()
        lease = self.etcdctl.grant(self.claim_ttl())
        claimed, held = self.etcdctl.put_if(key, self.holder, lease["id"], mod_revision)
        if claimed:
            self.lease, self.held_until = lease["id"], asked + int(lease["ttl"])
            return True, None
        self.etcdctl.revoke(lease["id"])
        return False, held

    def claim_ttl(self):
        """The claim's lease: CLAIM_TTL, or a third of a shorter window, at least 2 s."""
        return max(min(CLAIM_TTL, int(self.settings["window"]) // 3), 2)

    def fall_back(self):
        """(True, None) when the member that claimed this period marked its claim failed, or its claim
        vanished unmarked (its holder died, or could not keep it alive, and stopped), and this one took
        it over; else (False, who holds it). Asked every FALLBACK_POLL seconds until this member's
        window ends; a claim marked pushed ends the wait, and so does its mark running out (a window
        longer than the period: the mark of the period before, found as this one started)."""
        key = self.settings["lock_prefix"] + CLAIM
        window = int(self.settings["window"])
        held = None
        for _poll in range(max(window // FALLBACK_POLL - 1, 0)):
            self.sleep(FALLBACK_POLL)
            held = self.etcdctl.get(key)
            if held is not None and held["value"].endswith(PUSHED):
                break
            if held is None and (self.seen or b"").endswith(PUSHED):
                return False, self.seen.decode(errors="replace")
            if held is not None:
                self.seen = held["value"]
            if held is None or held["value"].endswith(FAILED):
                why = ("the claim of %s is marked failed" % held["value"][:-len(FAILED)].decode(errors="replace")
                       if held else "the claim of this period vanished without being marked pushed (its holder died, "
                       "or could not keep it alive)")
                claimed, held = self.take(key, held["mod_revision"] if held else 0)
                if claimed:
                    self.log("taking the period over: %s" % why)
                    return True, None
        if held is None:
            return False, "another member (it took this period over)"
        return False, held["value"].decode(errors="replace")

    def keep_claim(self, stop):
        """Renew the claim's short lease every third of it until ``stop`` is set (the push ended). A
        renewal that fails, or finds the lease gone, ends the claim for this member: it records why
        (``lost``), and the push stops before it sends or prunes anything more (``claim_held``)."""
        every = max(self.claim_ttl() // 3, 1)
        while not stop.wait(every):
            asked = self.timer()
            try:
                left = self.etcdctl.keepalive(self.lease)
                if left <= 0:
                    raise EtcdctlError("its lease ran out")
            except EtcdctlError as exc:
                self.lost = "the claim of this period could not be kept alive: %s" % exc
                self.log(self.lost)
                return
            self.held_until = asked + left

    def claim_held(self):
        """Raise ClaimLost unless this member's claim is surely still alive: its keeper renewed it, and
        the lease it last saw has not run out. Asked before each target is sent to or pruned."""
        if self.lost:
            raise ClaimLost("%s; another member may push this period now, so this one stops" % self.lost)
        if self.held_until is not None and self.timer() >= self.held_until:
            raise ClaimLost("the claim of this period was not renewed in time (its lease may have run out); another "
                            "member may push this period now, so this one stops")

    def release(self, pushed):
        """The claim is marked pushed (nobody pushes this period twice) or failed (the first member of
        this period to find it takes it over and pushes), and moves to a lease of what is left of this
        member's window: the mark stays for the period, and the next period finds the key gone. A
        claim kept past its window is ended (its period is over: the next one's push may start); a
        claim no longer this member's is left alone."""
        key = self.settings["lock_prefix"] + CLAIM
        held = self.etcdctl.get(key)
        if not held or held["lease"] != self.lease or held["value"] != self.holder.encode():
            self.etcdctl.revoke(self.lease)
            return "was lost meanwhile; left alone"
        left = int(self.settings["window"]) - int(self.timer() - self.started)
        if left < 1:
            self.etcdctl.revoke(self.lease)
            return "kept past its window, is ended"
        marker = self.etcdctl.grant(left)
        marked, _now = self.etcdctl.put_if(key, self.holder + (PUSHED if pushed else FAILED).decode(), marker["id"],
                                           held["mod_revision"])
        self.etcdctl.revoke(self.lease if marked else marker["id"])
        if not marked:
            return "changed meanwhile; left alone"
        return "is marked %s for the rest of the window (%d s)" % ("pushed" if pushed else "failed", left)

    def cluster_id(self):
        return "%x" % int(self.status["header"]["cluster_id"])

    def run(self, snapshot):
        name = os.path.basename(snapshot)
        record = dict(member=self.settings["name"], instance=self.settings["instance"], snapshot=name, time=round(self.clock()), targets=[])
        if not crypto.HAS_CRYPTOGRAPHY:
            # Without a claim: the other members push this period.
            record.update(result="failed", error="this member cannot seal backups: its python3 cannot import the "
                          "cryptography package (%s); install Debian's python3-cryptography on it"
                          % crypto.CRYPTOGRAPHY_IMPORT_ERROR)
            self.log("push of %s failed: %s" % (name, record["error"]))
            return self.record(record)
        try:
            claimed, other = self.claim()
        except (EtcdctlError, ValueError, KeyError, IndexError) as exc:
            record.update(result="failed", error="cannot claim the push of this period: %s" % exc)
            self.log("push of %s failed: %s" % (name, record["error"]))
            return self.record(record)
        if not claimed:
            try:
                claimed, other = self.fall_back()
            except (EtcdctlError, ValueError, KeyError) as exc:
                other = "%s (the wait for its result failed: %s)" % (other, exc)
            if claimed:
                self.log("falling back: this member pushes in place of the member that claimed this period")
        if not claimed:
            # The status file keeps this member's last push: a skip written over a failure would hide
            # it from the status playbook while the next push is in flight.
            self.log("skipped: %s pushes this period" % other)
            return 0
        # Taken after the claim and before its release: two members' pushes overlapped when one's
        # claim time falls before another's end (the test hosts' one clock orders them).
        self.log("claimed the push of this period at %.3f" % self.clock())
        pushing = threading.Event()
        keeper = threading.Thread(target=self.keep_claim, args=(pushing,), daemon=True)
        keeper.start()
        work = tempfile.mkdtemp(prefix=".push.", dir=os.path.dirname(snapshot))
        stopped = ""
        try:
            obj = name + crypto.OBJECT_SUFFIX
            sealed = os.path.join(work, obj)
            try:
                info = self.snapshot_status(snapshot)
            except (EtcdctlError, OSError, ValueError, KeyError) as exc:
                # Pushed all the same, its header naming no revision; the drill record says why it is missing.
                info = exc
            label = crypto.make_label(obj, self.settings["cluster"], self.cluster_id(), snapshot_time(name),
                                      None if isinstance(info, Exception) else info.get("revision"))
            to = crypto.Recipient(base64.b64decode(self.settings["public_key"]), self.settings["key_id"])
            by = crypto.Signer(self.settings["signer"], base64.b64decode(self.settings["signing_seed"]))
            seal = crypto.encrypt_file(snapshot, sealed, to, label, by, compression=self.settings["compression"])
            self.log("encrypted %s: %d bytes, %s %d bytes, %.2f s" % (obj, seal["size"], seal["compression"],
                                                                      seal["encrypted_size"], seal["encrypt_seconds"]))
            record.update(size=seal["size"], encrypted_size=seal["encrypted_size"], compression=seal["compression"],
                          encrypt_seconds=seal["encrypt_seconds"])
            metadata = crypto.object_metadata(seal["size"], seal["sha256"], seal["key_id"])
            sealed_size, sealed_sha256 = seal["encrypted_size"], seal["encrypted_sha256"]
            for target in self.targets:
                self.claim_held()  # a claim lost meanwhile stops the push before it sends
                record["targets"].append(self.send(target, sealed, obj, seal["sha256"], metadata))
            if any(not t.get("error") for t in record["targets"]):
                try:
                    write_json(snapshot + ".json", dict(self.keyspace(info), snapshot=name, object=obj,
                                                        sha256=seal["sha256"], sealed_size=sealed_size,
                                                        sealed_sha256=sealed_sha256, key_id=seal["key_id"],
                                                        member=self.settings["name"]))
                except (EtcdctlError, OSError, ValueError, KeyError) as exc:
                    record["drill_record_error"] = str(exc)
                    self.log("no drill record for %s: %s" % (obj, exc))
        except Exception as exc:  # pylint: disable=broad-except
            # Whatever stops the push is recorded where the status and the metrics read it, and the claim
            # is marked failed below, so that a waiting member pushes this period at once.
            stopped = "the push stopped: %s: %s" % (type(exc).__name__, exc)
            record["error"] = stopped
            self.log("push of %s failed: %s" % (name, stopped))
        finally:
            shutil.rmtree(work, ignore_errors=True)
            pushing.set()
            keeper.join()
        failed = stopped or [t for t in record["targets"] if t.get("error")]
        record["result"] = "failed" if failed else "pushed"
        # What the status playbook shows beside a push that succeeded: a target not pruned, objects that
        # do not verify (neither counted nor deleted).
        record["warnings"] = [t["prune_error"] for t in record["targets"] if t.get("prune_error")] + [
            "target %s: %s" % (t["name"], problem) for t in record["targets"] for problem in t.get("unverified") or []]
        ended = self.clock()
        try:
            self.log("push ended at %.3f; its claim %s" % (ended, self.release(not failed)))
        except EtcdctlError as exc:
            self.log("push ended at %.3f; the claim of this period was not released: %s" % (ended, exc))
        return self.record(record)

    def snapshot_status(self, snapshot):
        """etcdutl's snapshot status of the file: its revision, which the sealed header names too."""
        return json.loads(self.snapshot_tool("snapshot", "status", snapshot, "-w", "json"))

    def keyspace(self, info):
        """The backup record's revision (the snapshot's, ``info``: snapshot_status, or the error it
        raised), key count and keyspace hash: the member's, at that revision. Compacted past it already,
        keys and hash are None: the drill then says so."""
        if isinstance(info, Exception):
            raise info
        found = dict(revision=int(info["revision"]), keys=None, hash_kv=None, compact_revision=None, hash_problem=None)
        try:
            found["keys"] = count_of(self.etcdctl("get", "", "--prefix", "--count-only", "--rev=%d" % found["revision"],
                                                  "-w", "fields"))
            hashed = self.etcdctl.json("endpoint", "hashkv", "--rev=%d" % found["revision"])[0]["HashKV"]
            found.update(hash_kv=int(hashed.get("hash", 0)), compact_revision=int(hashed.get("compact_revision", 0)))
        except (EtcdctlError, ValueError, KeyError, IndexError) as exc:
            found["hash_problem"] = "read at revision %d: %s" % (found["revision"], exc)
        return found

    def snapshot_tool(self, *args):
        done = self.etcdctl.run([self.settings["etcdutl"], *args], capture_output=True, text=True, timeout=600,
                                check=False)
        if done.returncode != 0:
            raise EtcdctlError("%s %s: %s" % (os.path.basename(self.settings["etcdutl"]), " ".join(args),
                                              done.stderr.strip()))
        return done.stdout

    def send(self, target, sealed, obj, sha256, metadata):
        """What became of one target: uploaded (with the time it took) or already there, then pruned; or the error."""
        outcome = dict(name=target.name, where=target.where(), object=obj)
        try:
            started = time.monotonic()
            if target.present(obj, sha256):
                outcome["uploaded"] = False
            else:
                target.send(sealed, obj, metadata)
                outcome.update(uploaded=True, upload_seconds=round(time.monotonic() - started, 3))
            sent = "uploaded in %.2f s" % outcome["upload_seconds"] if outcome["uploaded"] else "already there"
        except (PushError, etcd_s3.S3Error, OSError, ValueError, IndexError) as exc:
            outcome["error"] = "target %s (%s): %s" % (target.name, target.where(), exc)
            self.log("push failed: %s; the local snapshots are kept" % outcome["error"])
            return outcome
        try:
            self.claim_held()  # ClaimLost is no prune error: it stops the push before it prunes
            self.prune(target, outcome)
            self.log("target %s (%s): %s %s; kept %d, deleted %s%s" % (
                target.name, target.where(), obj, sent, outcome["kept"], ", ".join(outcome["deleted"]) or "none",
                "; %d object(s) that do not verify left alone" % len(outcome["unverified"])
                if outcome["unverified"] else ""))
        except (PushError, etcd_s3.S3Error, OSError, ValueError, IndexError) as exc:
            # Sent, but not pruned (credentials that may not delete: AccessDenied): the backup is there, so
            # the push succeeds; the status file, the metrics and the status playbook say pruning failed.
            outcome["prune_error"] = "target %s (%s): pruning failed: %s" % (target.name, target.where(), exc)
            self.log("target %s (%s): %s %s; WARNING: %s (old backups stay until it works)" % (
                target.name, target.where(), obj, sent, outcome["prune_error"]))
        return outcome

    def prune(self, target, outcome):
        """Delete what the target's retention deletes, judged by verified header only: every object's
        first MAX_HEAD_SIZE bytes, signed by one of this cluster's signers (crypto.retention). Those that do
        not verify are neither counted nor deleted: named in the log and in ``unverified``."""
        signers = crypto.decoded_signers(self.settings["signers"])

        headers = crypto.target_heads(target, [o["name"] for o in target.listing() if crypto.is_backup_object(o["name"])])
        kept, deleted, unverified = crypto.retention(headers, target.target["keep"], target.target["max_age_days"],
                                                     self.clock(), signers, self.settings["cluster"],
                                                     lambda name: crypto.object_what(name, target.name))
        outcome.update(kept=len(kept), deleted=[], unverified=unverified)
        for problem in unverified:
            self.log("target %s: neither kept nor deleted, an operator decides: %s" % (target.name, problem))
        for old in deleted:
            target.delete(old)
            outcome["deleted"].append(old)

    def record(self, record):
        """Write the status file (replaced whole) and the metrics; 1 when the push failed, else 0."""
        ok = record["result"] == "pushed"
        record["last_pushed"] = record["time"] if ok else read_json(self.settings["status_file"]).get("last_pushed")
        write_json(self.settings["status_file"], record)
        samples = [("push_success", int(ok), {}), ("push_last_run_timestamp_seconds", record["time"], {}),
                   ("push_last_success_timestamp_seconds", record["last_pushed"] or 0, {})]
        samples += [("push_target_success", int(not t.get("error")), dict(target=t["name"])) for t in record["targets"]]
        # A target sent to but not pruned (a delete denied), and the objects there that do not verify.
        samples += [("push_prune_success", int(not t.get("prune_error")), dict(target=t["name"]))
                    for t in record["targets"] if not t.get("error")]
        samples += [("push_unverified_objects", len(t.get("unverified") or []), dict(target=t["name"]))
                    for t in record["targets"] if not t.get("error")]
        period = schedule_period(self.settings["schedule"]) if self.settings.get("schedule") else None
        if period:
            samples.append(("push_interval_seconds", period, {}))
        write_metrics(self.settings, "push", samples)
        return 0 if ok else 1


def count_of(fields):
    """The ``"Count" : N`` of etcdctl's ``-w fields`` output."""
    for line in fields.splitlines():
        name, _colon, value = line.partition(" : ")
        if name.strip() == '"Count"':
            return int(value)
    raise ValueError("etcdctl gave no count")


def targets_of(settings):
    return [S3Target(t) if t["type"] == "s3" else SshTarget(t, settings["ssh_key"], settings["known_hosts"])
            for t in settings["targets"]]


def main(argv):
    with open(argv[1], encoding="utf-8") as source:
        settings = json.load(source)
    holder = "backup push of %s on %s, pid %d" % (settings["name"], socket.gethostname(), os.getpid())
    push = Push(settings, Etcdctl(settings), lambda text: print(text, flush=True), holder, targets_of(settings))
    return push.run(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
