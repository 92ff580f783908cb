# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Prove the newest off-host backup on a member's timer: ``python3 etcd_backup_drill.py SETTINGS.json``.

The member's <instance>-backup-drill.timer (etcd_backup_drill_schedule) runs this with the backup
push's settings (etcd_backup_push.py, beside it). The member seals backups it cannot read
(docs/backup-targets.md, "The scheduled drill"), so the drill proves each link it can without the key:

1. the newest backup on the targets by verified header (signed by one of this cluster's signers, as
   ``latest`` takes it), whoever made it: only the member its snapshot came from holds
   its record (``<snapshot>.json``, written by the push, or by the backup playbook beside the
   snapshot it leaves on its source member: tasks/backup_targets.yml); every other member skips, so
   one member drills per period with no further coordination;
2. every target's copy, downloaded whole, is byte for byte what was sealed (its size and SHA-256
   against the record: a truncated or tampered object fails), and its header names this cluster,
   the object's name, the key file's key id and the SHA-256 of the local snapshot;
3. the local snapshot, whose SHA-256 the sealed header authenticates, restores into a throw-away
   one-member etcd as the operator drill's does (etcd_private_etcd.py, which both run): a private
   0700 directory of the etcd user, unix sockets only, never joined to anything (with TLS, served
   with the member's server pair and read with its timers' client pair, so that it also works with
   auth on); its revision, key count and keyspace hash are judged by the drill's rules
   (etcd_restore_rules.drill_findings) against the record.

The result goes to the status file (etcd_backup_host_dir/drill-status.json, which the status playbook
reads), the journal and the metrics file; a failed drill fails the unit. The drill works in the
unit's private /var/tmp (PrivateTmp=): nothing of it outlives the unit, also when it is killed.
"""

import calendar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_backup_crypto as crypto
import etcd_backup_push as push
import etcd_s3
from etcd_maintenance import Etcdctl, EtcdctlError
from etcd_private_etcd import WORK_PREFIX, DrillError, PrivateEtcd
from etcd_restore_rules import RuleError, parse_backup_record


class Drill:
    def __init__(self, settings, targets, log, run=subprocess.run, popen=subprocess.Popen, clock=time.time):
        self.settings = settings
        self.targets = targets
        self.log = log
        self.run_command, self.popen, self.clock = run, popen, clock
        self.dir = settings["backup_dir"]
        self.work_dir = settings.get("work_dir", "/var/tmp")

    def newest(self):
        """The newest backup on any target by verified header, as ``latest`` takes it: signed by one of
        this cluster's signers (the push settings' public keys), of this cluster, under its own name and
        no later than now (crypto.verified_times). An object planted under the prefix with a newer name
        or time is passed over, so it cannot keep the members from proving the real newest."""
        signers = crypto.decoded_signers(self.settings["signers"])
        times, names = {}, []
        for target in self.targets:
            def what(name, target=target):
                return crypto.object_what(name, target.name)
            try:
                found = [o["name"] for o in target.listing() if crypto.is_backup_object(o["name"])]
                names += found
                headers = crypto.target_heads(target, [name for name in found if name not in times])
            except (push.PushError, etcd_s3.S3Error, OSError, ValueError) as exc:
                raise DrillError("target %s (%s) cannot be listed: %s" % (target.name, target.where(), exc)) from None
            verified, passed_over = crypto.verified_times(headers, what, signers, self.settings["cluster"], self.clock())
            times.update(verified)
            for problem in passed_over:
                self.log("passed over: %s" % problem)
        if not names:
            raise DrillError("no backup on %s" % ", ".join(t.name for t in self.targets))
        if not times:
            raise DrillError("no backup on %s verifies as this cluster's (see the log)"
                             % ", ".join(t.name for t in self.targets))
        return max(times, key=lambda name: (times[name], name))

    def run(self):
        started = time.monotonic()
        outcome = dict(member=self.settings["name"], instance=self.settings["instance"], time=round(self.clock()),
                       problems=[], notes=[])
        try:
            name = self.newest()
            snapshot = os.path.join(self.dir, name[:-len(crypto.OBJECT_SUFFIX)])
            record = push.read_json(snapshot + ".json")
            if record.get("object") != name:
                self.log("skipped: %s was not made from a snapshot of this member" % name)
                return 0
            outcome.update(object=name, backup_time=push.snapshot_time(os.path.basename(snapshot)))
            work = tempfile.mkdtemp(prefix=WORK_PREFIX, dir=self.work_dir)
            try:
                for index, target in enumerate(self.targets):
                    outcome["problems"] += self.check_copy(target, name, record, os.path.join(work, "%d.enc" % index))
                outcome["problems"] += self.check_local(snapshot, record)
                if not outcome["problems"]:
                    found = self.private_etcd().drill(snapshot, parse_backup_record(json.dumps(record)), self.read,
                                                      (EtcdctlError, ValueError, IndexError, KeyError))
                    outcome["problems"] += found["problems"]
                    outcome["notes"] += found["notes"]
                    outcome.update(revision=found["observed"]["revision"], keys=found["observed"]["keys"])
            finally:
                shutil.rmtree(work, ignore_errors=True)
        except (DrillError, RuleError, EtcdctlError, OSError, ValueError, KeyError, IndexError) as exc:
            outcome["problems"].append(str(exc))
        return self.record(outcome, time.monotonic() - started)

    def check_copy(self, target, name, record, dest):
        """The problems of one target's copy: absent, or not byte for byte what was sealed."""
        what = "target %s (%s): %s" % (target.name, target.where(), name)
        try:
            target.fetch(name, dest)
        except (push.PushError, etcd_s3.S3Error, OSError) as exc:
            return ["%s cannot be read: %s" % (what, exc)]
        size, sha256 = crypto.file_sha256(dest)
        if size < record["sealed_size"]:
            return ["%s is truncated: %d bytes, %d were pushed" % (what, size, record["sealed_size"])]
        if (size, sha256) != (record["sealed_size"], record["sealed_sha256"]):
            return ["%s is not what was pushed (%d bytes, SHA-256 %s; pushed %d bytes, %s): tampered or replaced"
                    % (what, size, sha256, record["sealed_size"], record["sealed_sha256"])]
        with open(dest, "rb") as handle:
            fields = crypto.read_header(handle, what)
        label = fields["label"] or {}
        wanted = dict(key_id=self.settings["key_id"], name=name, cluster=self.settings["cluster"], sha256=record["sha256"])
        found = dict(key_id=fields["key_id"], name=label.get("name"), cluster=label.get("cluster"), sha256=fields["sha256"])
        return ["%s: its header's %s is %s, not %s" % (what, k, found[k], wanted[k]) for k in wanted if found[k] != wanted[k]]

    @staticmethod
    def check_local(snapshot, record):
        if not os.path.exists(snapshot):
            return ["the local snapshot %s is gone (pruned: etcd_backup_host_keep)" % snapshot]
        _size, sha256 = crypto.file_sha256(snapshot)
        if sha256 != record["sha256"]:
            return ["the local snapshot %s has SHA-256 %s, the pushed backup was sealed from %s"
                    % (snapshot, sha256, record["sha256"])]
        return []

    def private_etcd(self):
        """With the member's CA, the private etcd serves TLS with the member's server pair and takes
        the client certificate of the member's timers, whose CN is the user etcd's auth sees (root
        with the role's PKI): a snapshot of a cluster with auth on restores with auth on, and is read
        as the snapshot timer reads the cluster."""
        settings = self.settings
        tls = {k: settings[k] for k in ("server_cert", "server_key", "ca_cert")} if settings.get("ca_cert") else None
        return PrivateEtcd(dict(etcd=settings["etcd"], etcdutl=settings["etcdutl"]), settings["etcd_user"], tls=tls,
                           work_dir=self.work_dir, run=self.run_command, popen=self.popen)

    def read(self, url):
        """The private etcd's keyspace as etcd_private_etcd reads it, with etcdctl and the timers' pair."""
        reach = dict(etcdctl=self.settings["etcdctl"], endpoint=url)
        if self.settings.get("ca_cert"):
            reach.update({k: self.settings[k] for k in ("ca_cert", "client_cert", "client_key")})
        etcdctl = Etcdctl(reach, run=self.run_command)
        status = etcdctl.json("endpoint", "status")[0]["Status"]
        hashed = etcdctl.json("endpoint", "hashkv")[0]["HashKV"]
        return dict(revision=int(status["header"]["revision"]), hash=int(hashed.get("hash", 0)),
                    keys=push.count_of(etcdctl("get", "", "--prefix", "--count-only", "-w", "fields")),
                    compact_revision=int(hashed.get("compact_revision", 0)), hash_problem=None)

    def record(self, outcome, seconds):
        """Status file, metrics and journal; 1 when the drill failed, else 0."""
        outcome.update(result="failed" if outcome["problems"] else "passed", seconds=round(seconds, 1))
        before = push.read_json(self.settings["drill_status_file"])
        outcome["proven"] = (dict((k, outcome.get(k)) for k in ("object", "backup_time", "revision", "keys", "time"))
                             if outcome["result"] == "passed" else before.get("proven"))
        push.write_json(self.settings["drill_status_file"], outcome)
        proven = outcome["proven"] or {}
        push.write_metrics(self.settings, "drill", [
            ("drill_success", int(outcome["result"] == "passed"), {}),
            ("drill_last_run_timestamp_seconds", outcome["time"], {}),
            ("drill_seconds", outcome["seconds"], {}),
            ("drill_proven_backup_timestamp_seconds", backup_epoch(proven.get("backup_time")), {}),
            ("max_age_seconds", self.settings["max_age_seconds"], {})])
        if outcome["problems"]:
            self.log("drill of %s failed: %s" % (outcome.get("object", "the newest backup"), "; ".join(outcome["problems"])))
            return 1
        self.log("drill passed: %s restored at revision %s with %s keys in %.1f s; %s" % (
            outcome["object"], outcome["revision"], outcome["keys"], seconds, "; ".join(outcome["notes"])))
        return 0


def backup_epoch(stamp):
    """Seconds since the epoch of a backup's ``YYYYMMDDTHHMMSSZ``; 0 for none."""
    if not stamp:
        return 0
    return calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))


def main(argv):
    settings = push.read_json(argv[1])
    drill = Drill(settings, push.targets_of(settings), lambda text: print(text, flush=True))
    return drill.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
