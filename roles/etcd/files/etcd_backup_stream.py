# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The change stream of the cluster off-host: ``python3 etcd_backup_stream.py SETTINGS.json``.

The etcd role runs this on every member with etcd_backup_push and etcd_backup_stream_interval, as
the service of <instance>-backup-stream.timer (which starts it again a few seconds after it ends),
beside the backup push's code (etcd_backup_push.py, etcd_backup_crypto.py, etcd_s3.py and
etcd_stream_segments.py, copied as they are) and with the push's settings.

One member streams at a time: each tries to create the claim key ``<run lock prefix>backup-stream``
under the push's short lease (etcd_backup_push.Push.take), which its holder renews while it streams
(Push.keep_claim); the others ask again every few seconds, so when the holder dies (its lease runs
out within seconds) another takes the stream over. The holder finds on the targets the last segment
this cluster shipped, and watches the whole keyspace (``etcdctl watch --prefix ''``, with the timers'
client pair: etcd takes its CN for the user, with or without auth) from the revision after it, or,
with no segment yet, after this member's newest snapshot: a member that took over goes on where the
last shipped segment ended, so what a killed holder had not shipped yet is read again. Every
etcd_backup_stream_interval seconds (sooner past MAX_SEGMENT_BYTES) the revisions read are shipped
as one segment (etcd_stream_segments), sealed to the key file's public key and signed by this member
like a full backup (etcd_backup_crypto.encrypt_file), to every target (S3, or SSH through the push's
key and the target host's forced command, etcd_backup_receive.py). A holder that cannot keep its
claim stops before it ships anything more.

A gap - revisions compacted before they were read, segments missing on a target, segments of
another cluster past this one's revision - is named in the status file
(etcd_backup_host_dir/stream-status.json, which the status playbook reads) and in the metrics
(``raftops_etcd_backup_stream_gap``) until a full backup taken after it closes it: a member's own
snapshot of a later revision.
"""

import base64
import glob
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_backup_crypto as crypto
import etcd_s3
import etcd_stream_segments as segments
from etcd_backup_push import CLAIM_TTL, FALLBACK_POLL, PushError, Push, read_json, targets_of, write_json, write_metrics
from etcd_maintenance import Etcdctl, EtcdctlError

CLAIM = "backup-stream"
# A segment is shipped sooner once its revisions take this many bytes (as etcd sent them, base64).
MAX_SEGMENT_BYTES = 4 * 1024 * 1024
# How many of the newest segments on a target are read for the one this cluster shipped last.
HEADS_READ = 20
# How often, in seconds, the stream prunes each target of the segments no full backup there needs.
PRUNE_EVERY = 600


class StreamError(Exception):
    """What stops this member's stream; it starts again (the timer) and claims anew."""


class Watch:
    """``etcdctl watch --prefix '' --rev=START -w json`` of the whole keyspace, read on a thread: each
    answer lands on ``answers`` as (received, parsed JSON), and None when etcdctl ends."""

    def __init__(self, etcdctl, start, popen=subprocess.Popen):
        self.process = popen([*etcdctl.base, "watch", "--prefix", "", "--rev=%d" % start, "-w", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"ETCDCTL_API": "3"})
        self.answers = queue.Queue()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.process.stdout:
            line = line.strip()
            if line.startswith(b"{"):
                self.answers.put((time.time(), json.loads(line)))
        self.answers.put(None)

    def why_ended(self):
        self.process.wait()
        return self.process.stderr.read().decode(errors="replace").strip() or "exit %d" % self.process.returncode

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


class Stream:
    """This member's stream once it holds the claim: watch, cut segments, ship them, record."""

    def __init__(self, settings, etcdctl, log, targets, claim, clock=time.time):
        self.settings, self.etcdctl, self.log, self.targets, self.claim = settings, etcdctl, log, targets, claim
        self.clock = clock
        self.cluster_id = None
        self.signers = crypto.decoded_signers(settings["signers"])
        self.status = dict(read_json(settings["stream_status_file"]), member=settings["name"],
                           instance=settings["instance"], interval=int(settings["stream_interval"]))
        self.pending, self.pending_bytes, self.started = [], 0, None
        self.leases = {}
        # Where the watch starts again after a compaction cut it (take).
        self.restart_at = None
        # [first, last, not before] of the revisions read at a watch's start (stream_segments), and when
        # the last revision was received.
        self.uncertain, self.last_received = [], 0.0

    def start_revision(self, current):
        """(the revision to watch from, the time the revisions up to ``current`` were made no earlier
        than): after the last segment of this cluster on the targets (the lowest of the targets', made
        after its time), else after the newest full backup (this member's snapshot, or the revision the
        targets' newest backups name in their headers), else after ``current``. Records a gap when a
        target holds full backups but none of the others' segments (added since), or when the
        targets' segments go past ``current``."""
        shipped = [self.last_of_cluster(target) for target in self.targets]
        known = [found for found in shipped if found[0]]
        if known and min(known)[0] <= current:
            for target, found in zip(self.targets, shipped):
                # A target added since: its segments begin after the others' last one.
                newest = self.backup_revision(target) if not found[0] else 0
                if newest:
                    self.gap(newest + 1, min(known)[0], "target %s holds no segment of cluster %s yet, only full backups"
                             % (target.name, self.cluster_id))
            return min(known)[0] + 1, min(known)[1]
        if known:
            self.gap(current + 1, max(known)[0], "the targets' segments of cluster %s go past its revision %d"
                     % (self.cluster_id, current))
        # No segment yet: after the newest full backup, this member's or the targets' (a backup the
        # playbook made names its revision in its header), so that no revision after it is left out.
        newest = max([self.snapshot_revision()] + [self.backup_revision(target) for target in self.targets])
        if newest and newest <= current:
            return newest + 1, 0.0
        return current + 1, 0.0

    def last_of_cluster(self, target):
        """(the last revision, its time) of the newest segment on ``target`` whose verified header names
        this cluster (etcd's cluster ID) and this member's cluster; (0, 0.0) when none of the newest
        HEADS_READ does."""
        names = segments.ordered(o["name"] for o in target.objects())
        for name in reversed(names[-HEADS_READ:]):
            fields = crypto.parse_head(target.read_head(name, crypto.MAX_HEAD_SIZE), "segment %s" % name)
            try:
                crypto.verify(fields, "segment %s on target %s" % (name, target.name), self.signers, name,
                              self.settings["cluster"])
            except crypto.BackupCryptoError as exc:
                self.log("target %s: passed over: %s" % (target.name, exc))
                continue
            if fields["label"].get("cluster_id") == self.cluster_id:
                return segments.parse_segment_name(name)[1], float(segments.label_epoch(fields["label"]["time"]))
        return 0, 0.0

    def full_backups(self, target, listing):
        """{name: (time, header fields)} of the full backups in ``listing`` (target.objects()) whose
        headers verify as this cluster's."""
        heads = crypto.target_heads(target, [o["name"] for o in listing if crypto.is_backup_object(o["name"])])
        times, _unverified = crypto.verified_times(heads, lambda name: crypto.object_what(name, target.name), self.signers,
                                                   self.settings["cluster"])
        return {name: (taken, heads[name]) for name, taken in times.items()}

    def backup_revision(self, target):
        """The revision the newest full backup on ``target`` names in its header; 0 when it holds none
        that names one, or does not answer."""
        try:
            backups = self.full_backups(target, target.objects())
        except (PushError, etcd_s3.S3Error, OSError, ValueError) as exc:
            self.log("target %s (%s): its full backups cannot be read: %s" % (target.name, target.where(), exc))
            return 0
        if not backups:
            return 0
        _taken, fields = max(backups.values(), key=lambda item: segments.label_epoch(item[0]))
        return crypto.label_revision(fields)

    def prune(self):
        """Delete from each target the segments uploaded before its oldest full backup that verifies
        was taken: every revision in them is in that backup, so no point-in-time restore reads them
        (the push's retention decides which backups stay). The upload time is the target's own, no
        later than a segment's revisions were received; a target that fails is left for the next time."""
        for target in self.targets:
            try:
                listing = target.objects()
                backups = self.full_backups(target, listing)
                if not backups:
                    continue
                oldest = min(segments.label_epoch(taken) for taken, _fields in backups.values())
                old = [o["name"] for o in listing if segments.is_segment_object(o["name"]) and o["mtime"] < oldest]
                for name in old:
                    target.delete(name)
                if old:
                    self.log("target %s: deleted %d segment(s) older than its oldest full backup" % (target.name, len(old)))
            except (PushError, etcd_s3.S3Error, OSError, ValueError) as exc:
                self.log("target %s (%s): pruning the segments failed: %s" % (target.name, target.where(), exc))

    def snapshot_revision(self):
        """The revision of this member's newest snapshot (etcd_backup_schedule's); 0 when it has none."""
        found = sorted(glob.glob(os.path.join(self.settings["backup_dir"], crypto.OBJECT_PREFIX + "*.db")))
        if not found:
            return 0
        done = subprocess.run([self.settings["etcdutl"], "snapshot", "status", found[-1], "-w", "json"],
                              capture_output=True, text=True, timeout=120, check=False)
        try:
            return int(json.loads(done.stdout)["revision"]) if done.returncode == 0 else 0
        except (ValueError, KeyError):
            return 0

    def gap(self, first, last, why):
        if last >= first:
            self.status["gap"] = dict(first=first, last=last, why=why, seen=round(self.clock()))
            self.log("GAP: revisions %d..%d are in no segment: %s; the next full backup closes it" % (first, last, why))
            # Reported at once, not with the next segment: no write may come for a long time.
            self.record()

    def gap_closed(self):
        """A full backup of a revision past the gap closes it (this member's own snapshot says so)."""
        gap = self.status.get("gap")
        if gap and self.snapshot_revision() >= gap["last"]:
            self.log("the gap of revisions %d..%d is closed: a full backup holds them" % (gap["first"], gap["last"]))
            self.status["gap"] = None

    def run(self, interval, watch_factory=Watch):
        status = self.etcdctl.json("endpoint", "status")[0]["Status"]
        self.cluster_id = "%x" % int(status["header"]["cluster_id"])
        current = int(status["header"]["revision"])
        start, since = self.start_revision(current)
        self.read_again(start, current, since)
        self.log("streaming revisions from %d (cluster %s) every %d s" % (start, self.cluster_id, interval))
        self.status.update(holder=self.claim.holder, since=round(self.clock()), error=None)
        self.record()
        watch = watch_factory(self.etcdctl, start)
        pruned = None
        try:
            while True:
                if pruned is None or time.monotonic() - pruned >= PRUNE_EVERY:
                    self.prune()
                    pruned = time.monotonic()
                try:
                    answer = watch.answers.get(timeout=1)
                except queue.Empty:
                    answer = False
                if answer is None:
                    raise StreamError("the watch ended: %s" % watch.why_ended())
                if answer:
                    start = self.take(answer, start, watch)
                    if start is None:
                        watch.stop()
                        start = self.restart_at
                        current = int(self.etcdctl.json("endpoint", "status")[0]["Status"]["header"]["revision"])
                        self.read_again(start, current, self.last_received)
                        watch = watch_factory(self.etcdctl, start)
                        continue
                due = self.started is not None and self.clock() - self.started >= interval
                if self.pending and (due or self.pending_bytes >= MAX_SEGMENT_BYTES):
                    self.ship()
        finally:
            watch.stop()

    def read_again(self, start, current, since):
        """The revisions ``start``..``current`` a watch from ``start`` reads at once: made no earlier
        than ``since``, received now (stream_segments, ``uncertain``)."""
        if start <= current:
            self.uncertain.append([start, current, since])

    def take(self, answer, expected, watch):
        """Add one watch answer to the segment; the next revision expected, or None when the watch must
        start again at ``restart_at`` (compacted)."""
        received, response = answer
        compacted = int(response.get("CompactRevision") or 0)
        if compacted:
            # What was compacted is gone: ship what was read, name the gap, go on from what is left.
            if self.pending:
                self.ship()
            self.gap(expected, compacted - 1, "revisions compacted before the stream read them")
            self.restart_at = compacted
            return None
        if response.get("Canceled"):
            raise StreamError("the watch was canceled: %s" % json.dumps(response)[:300])
        revisions = segments.watch_revisions(response, received)
        for revision in revisions:
            if revision[0] != expected:
                raise StreamError("the watch gave revision %d where %d was next" % (revision[0], expected))
            expected += 1
        if revisions and self.started is None:
            self.started = self.clock()
        if revisions:
            self.last_received = revisions[-1][1]
        self.pending += revisions
        self.pending_bytes += sum(len(op[1]) + len(op[2]) for _rev, _time, ops in revisions for op in ops)
        for lease in segments.leases_of(revisions):
            if lease not in self.leases:
                self.leases[lease] = self.lease_ttl(lease)
        return expected

    def lease_ttl(self, lease):
        """The TTL lease ``lease`` was granted with; 0 when it is gone already."""
        try:
            return int(self.etcdctl.json("lease", "timetolive", "%x" % lease).get("granted-ttl") or 0)
        except (EtcdctlError, ValueError):
            return 0

    def ship(self):
        """Seal the pending revisions as one segment and send it to every target; on a target that fails
        it is sent again at the next interval (with what came meanwhile, a later segment)."""
        self.claim.claim_held()
        used = {lease: self.leases[lease] for lease in segments.leases_of(self.pending)}
        name, body = segments.encode_segment(self.settings["cluster"], self.cluster_id, self.pending, used,
                                             self.uncertain)
        work = tempfile.mkdtemp(prefix=".stream.", dir=self.settings["backup_dir"])
        try:
            plain, sealed = os.path.join(work, "segment.json"), os.path.join(work, name)
            with open(plain, "wb") as out:
                out.write(body)
            label = crypto.make_label(name, self.settings["cluster"], self.cluster_id,
                                      time.strftime(crypto.LABEL_TIME_FORMAT, time.gmtime(self.pending[-1][1])))
            to = crypto.Recipient(base64.b64decode(self.settings["public_key"]), self.settings["key_id"])
            by = crypto.Signer(self.settings["signer"], base64.b64decode(self.settings["signing_seed"]))
            seal = crypto.encrypt_file(plain, sealed, to, label, by, compression=self.settings["compression"])
            metadata = crypto.object_metadata(seal["size"], seal["sha256"], seal["key_id"])
            errors = []
            for target in self.targets:
                try:
                    if not target.present(name, seal["sha256"]):
                        target.send(sealed, name, metadata)
                except (PushError, etcd_s3.S3Error, OSError, ValueError, IndexError) as exc:
                    errors.append("target %s (%s): %s" % (target.name, target.where(), exc))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if errors:
            self.status["error"] = "; ".join(errors)
            self.log("segment %s not shipped: %s; sent again with the next one" % (name, self.status["error"]))
            self.record()
            return
        first, last = self.pending[0][0], self.pending[-1][0]
        lag = self.clock() - self.pending[0][1]
        self.log("shipped %s: %d revisions, %d bytes sealed, %.1f s after its first revision"
                 % (name, last - first + 1, seal["encrypted_size"], lag))
        self.status.update(error=None, last_segment=name, last_revision=last, last_time=self.pending[-1][1],
                           shipped_at=round(self.clock(), 3),
                           segments=int(self.status.get("segments") or 0) + 1,
                           bytes=int(self.status.get("bytes") or 0) + seal["encrypted_size"])
        self.pending, self.pending_bytes, self.started = [], 0, None
        self.uncertain = [u for u in self.uncertain if u[1] > last]
        self.gap_closed()
        self.record()

    def record(self):
        """The status file (replaced whole) and the metrics."""
        write_json(self.settings["stream_status_file"], self.status)
        gap = self.status.get("gap") or {}
        try:
            self.metrics(gap)
        except OSError as exc:
            # A metrics directory made after the unit started is read-only to it (ProtectSystem=strict)
            # until it restarts: the stream goes on without its metrics, and says so.
            self.log("the metrics could not be written: %s" % exc)

    def metrics(self, gap):
        write_metrics(self.settings, "stream", [
            ("stream_success", int(not self.status.get("error")), {}),
            ("stream_gap", int(bool(gap)), {}),
            ("stream_last_revision", self.status.get("last_revision") or 0, {}),
            ("stream_last_timestamp_seconds", self.status.get("last_time") or 0, {}),
            ("stream_segments_total", self.status.get("segments") or 0, {}),
            ("stream_bytes_total", self.status.get("bytes") or 0, {}),
            ("stream_interval_seconds", int(self.settings["stream_interval"]), {})])


def claim_stream(settings, claim, log, sleep=time.sleep):
    """Wait until this member holds the stream's claim (the push's: Push.take under a short lease)."""
    key = settings["lock_prefix"] + CLAIM
    said = None
    while True:
        claim.started = claim.timer()
        claimed, held = claim.take(key, 0)
        if claimed:
            log("claimed the stream at %.3f" % time.time())
            return
        holder = (held or {}).get("value", b"").decode(errors="replace")
        if holder and holder != said:
            log("waiting: %s keeps the stream" % holder)
            said = holder
        sleep(FALLBACK_POLL)


def main(argv):
    # systemd stops the stream with SIGTERM: end through the finally below, which gives the claim back.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    with open(argv[1], encoding="utf-8") as source:
        settings = json.load(source)
    holder = "backup stream of %s on %s, pid %d" % (settings["name"], socket.gethostname(), os.getpid())

    def log(text):
        print(text, flush=True)

    etcdctl = Etcdctl(settings)
    # Every target: an SSH target's forced command takes the segments by their names as it takes full backups.
    targets = targets_of(settings)
    # The push's claim under its longest lease (CLAIM_TTL), whatever the push's window.
    claim = Push(dict(settings, window=3 * CLAIM_TTL), etcdctl, log, holder, targets)
    claim_stream(settings, claim, log)
    keeping = threading.Event()
    keeper = threading.Thread(target=claim.keep_claim, args=(keeping,), daemon=True)
    keeper.start()
    stream = Stream(settings, etcdctl, log, targets, claim)
    try:
        stream.run(int(settings["stream_interval"]))
    except Exception as exc:  # pylint: disable=broad-except
        # Recorded where the status and the metrics read it; the timer starts the stream again.
        stream.status["error"] = "the stream stopped: %s: %s" % (type(exc).__name__, exc)
        log(stream.status["error"])
        stream.record()
        return 1
    finally:
        keeping.set()
        keeper.join()
        try:
            etcdctl.revoke(claim.lease)
        except EtcdctlError:
            pass  # its lease runs out within seconds
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
