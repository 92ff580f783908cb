# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Prove the newest off-host backup on a member's timer: ``python3 etcd_backup_drill.py SETTINGS.json``.

The member's <instance>-backup-drill.timer (etcd_backup_drill_schedule) runs this with the backup
push's settings (etcd_backup_push.py, beside it). The member seals backups it cannot read
(docs/backup-targets.md, "The scheduled drill"), so the drill proves each link it can without the key:

1. the newest backup on the targets: only the member that pushed it holds its record
   (``<snapshot>.json``, written by the push); every other member skips, so one member drills per
   period with no further coordination;
2. every target's copy, downloaded whole, is byte for byte what was sealed (its size and SHA-256
   against the record: a truncated or tampered object fails), and its header names this cluster,
   the object's name, the key file's key id and the SHA-256 of the local snapshot;
3. the local snapshot, whose SHA-256 the sealed header authenticates, restores into a throw-away
   one-member etcd as the operator drill runs it (roles/etcd/tasks/restore_drill.yml): a private
   0700 directory of the etcd user, unix sockets only, never joined to anything (with TLS, served
   with the member's server pair and read with its timers' client pair, so that it also works with
   auth on: ``Drill.serving``); its revision, key count and keyspace hash are judged by the drill's
   rules (etcd_restore_rules.drill_findings) against the record.

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
from etcd_restore_rules import RuleError, drill_findings, parse_backup_record

WORK_PREFIX = ".drill."
# etcd takes unix://NAME:PORT, a socket named NAME:PORT in its working directory (the drill's).
# Over TLS the client socket is named for the loopback address, which every member's server
# certificate holds (the role checks it): etcdctl checks the name it connects to.
CLIENT, TLS_CLIENT, PEER = "drill-client:0", "127.0.0.1:0", "drill-peer:0"
START_TIMEOUT = 60


class DrillError(Exception):
    """A link of the proof that does not hold; the message names it."""


class Drill:
    def __init__(self, settings, targets, log, run=subprocess.run, popen=subprocess.Popen, clock=time.time):
        self.settings = settings
        self.targets = targets
        self.log = log
        self.run_command, self.popen, self.clock = run, popen, clock
        self.dir = settings["backup_dir"]
        self.work_dir = settings.get("work_dir", "/var/tmp")

    def newest(self):
        """The newest backup object on any target."""
        names = []
        for target in self.targets:
            try:
                names += [o["name"] for o in target.listing()]
            except (push.PushError, etcd_s3.S3Error, OSError, ValueError) as exc:
                raise DrillError("target %s (%s) cannot be listed: %s" % (target.name, target.where(), exc)) from None
        if not names:
            raise DrillError("no backup on %s" % ", ".join(t.name for t in self.targets))
        return max(names)

    def run(self):
        started = time.monotonic()
        outcome = dict(member=self.settings["name"], instance=self.settings["instance"], time=round(self.clock()),
                       problems=[], notes=[])
        try:
            name = self.newest()
            snapshot = os.path.join(self.dir, name[:-len(crypto.OBJECT_SUFFIX)])
            record = push.read_json(snapshot + ".json")
            if record.get("object") != name:
                self.log("skipped: %s was not pushed by this member" % name)
                return 0
            outcome.update(object=name, backup_time=push.snapshot_time(os.path.basename(snapshot)))
            work = tempfile.mkdtemp(prefix=WORK_PREFIX, dir=self.work_dir)
            try:
                for index, target in enumerate(self.targets):
                    outcome["problems"] += self.check_copy(target, name, record, os.path.join(work, "%d.enc" % index))
                outcome["problems"] += self.check_local(snapshot, record)
                if not outcome["problems"]:
                    observed, info = self.restore(snapshot, work)
                    found, notes = drill_findings(info, observed, parse_backup_record(json.dumps(record)))
                    outcome["problems"] += found
                    outcome["notes"] += notes
                    outcome.update(revision=observed["revision"], keys=observed["keys"])
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

    def tool(self, *args, cwd=None):
        done = self.run_command([self.settings["etcdutl"], *args], capture_output=True, text=True, timeout=600,
                                check=False, cwd=cwd)
        if done.returncode != 0:
            raise DrillError("%s %s: %s" % (os.path.basename(self.settings["etcdutl"]), args[1], done.stderr.strip()))
        return done.stdout

    def restore(self, snapshot, work):
        """(what the private etcd answered, the snapshot's info), as restore_drill.yml reads them."""
        info = json.loads(self.tool("snapshot", "status", snapshot, "-w", "json"))
        user = self.settings["etcd_user"]
        data = os.path.join(work, "data")
        self.tool("snapshot", "restore", snapshot, "--data-dir", data, "--name", "drill",
                  "--initial-cluster", "drill=unix://" + PEER, "--initial-advertise-peer-urls", "unix://" + PEER,
                  "--initial-cluster-token", os.path.basename(work), cwd=work)
        for root, dirs, files in os.walk(work):
            for entry in [root] + [os.path.join(root, e) for e in dirs + files]:
                shutil.chown(entry, user, user)
        os.chmod(work, 0o700)
        client, tls, reach = self.serving(work)
        with open(os.path.join(work, "etcd.log"), "wb") as log:
            etcd = self.popen([self.settings["etcd"], "--name", "drill", "--data-dir", data,
                               "--listen-client-urls", client, "--advertise-client-urls", client, *tls,
                               "--listen-peer-urls", "unix://" + PEER, "--initial-advertise-peer-urls", "unix://" + PEER,
                               "--initial-cluster", "drill=unix://" + PEER], cwd=work, user=user, group=user, extra_groups=[],
                              stdout=log, stderr=subprocess.STDOUT)
        try:
            etcdctl = Etcdctl(reach, run=self.run_command)
            status = self.wait(etcdctl, etcd)
            hashed = etcdctl.json("endpoint", "hashkv")[0]["HashKV"]
            observed = dict(revision=int(status["header"]["revision"]), hash=int(hashed.get("hash", 0)),
                            keys=push.count_of(etcdctl("get", "", "--prefix", "--count-only", "-w", "fields")),
                            compact_revision=int(hashed.get("compact_revision", 0)), hash_problem=None)
        finally:
            etcd.terminate()
            try:
                etcd.wait(timeout=20)
            except subprocess.TimeoutExpired:
                etcd.kill()
                etcd.wait()
        return observed, dict(revision=int(info["revision"]), total_key=int(info["totalKey"]))

    def serving(self, work):
        """(the private etcd's client URL, its TLS flags, the settings etcdctl reaches it with). With the
        member's CA it serves TLS on its socket and takes the client certificate of the member's timers,
        whose CN is the user etcd's auth sees (root with the role's PKI): a snapshot of a cluster with
        auth on restores with auth on, and is read as the snapshot timer reads the cluster."""
        settings = self.settings
        reach = dict(etcdctl=settings["etcdctl"])
        if not settings.get("ca_cert"):
            return "unix://" + CLIENT, [], dict(reach, endpoint="unix://%s/%s" % (work, CLIENT))
        tls = ["--cert-file", settings["server_cert"], "--key-file", settings["server_key"], "--client-cert-auth",
               "--trusted-ca-file", settings["ca_cert"]]
        return "unixs://" + TLS_CLIENT, tls, dict(reach, endpoint="unixs://%s/%s" % (work, TLS_CLIENT),
                                                  **{k: settings[k] for k in ("ca_cert", "client_cert", "client_key")})

    def wait(self, etcdctl, etcd):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                return etcdctl.json("endpoint", "status")[0]["Status"]
            except (EtcdctlError, ValueError, IndexError, KeyError) as exc:
                if etcd.poll() is not None or time.monotonic() > deadline:
                    raise DrillError("the private etcd did not answer (%s)" % exc) from None
                time.sleep(0.5)

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
