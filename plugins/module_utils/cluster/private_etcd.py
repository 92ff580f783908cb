# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Restore a snapshot into a throw-away one-member etcd, read it back and judge it: the restore
drill, written once. Standard library only.

Both drills run it: the operator's (playbooks/restore_drill.yml, the module etcd_snapshot_drill), on
any host, a member or not, with no certificates; and the members' scheduled one
(roles/etcd/files/etcd_backup_drill.py, beside which the role copies this file as it copies
etcd_defrag_rule.py). Each brings its own way to read the private etcd (``read``): the module the
collection's client, a member etcdctl with its timers' client pair.

The private etcd lives in a private 0700 directory of the etcd user and listens on unix sockets
there only, never joined to anything: no TCP port, so no other local user reads or writes the
restored keyspace. With ``tls`` (a member's server pair and CA) it serves TLS on a socket named for
the loopback address, which every member's server certificate holds, and takes client certificates
of that CA only: a snapshot of a cluster with auth on is read as the member's timers read the
cluster. The directory goes, and the etcd is stopped, on every path.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

try:
    from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import initial_cluster
    from ansible_collections.raftops.etcd.plugins.module_utils.backup.restore_rules import drill_findings
except ImportError:  # copied onto a member beside etcd_formats.py and etcd_restore_rules.py, for its scheduled drill
    from etcd_formats import initial_cluster
    from etcd_restore_rules import drill_findings

WORK_PREFIX = ".etcd-drill."
# etcd takes unix://NAME:PORT, a socket named NAME:PORT in its working directory (the drill's).
# Over TLS the client socket is named for the loopback address: etcdctl checks the name it connects to.
CLIENT, TLS_CLIENT, PEER = "drill-client:0", "127.0.0.1:0", "drill-peer:0"
NAME = "drill"
START_TIMEOUT = 60
STOP_TIMEOUT = 20
# What etcd (3.5 and later, its default JSON log) logs once it listens: the drill reports those URLs.
SERVING = "now serving peer/client/metrics"
LISTENER_FIELDS = ("listen-client-urls", "listen-peer-urls", "listen-metrics-urls")


class DrillError(Exception):
    """A step of the drill that failed; the message names it."""


def client_url(tls):
    """The URL the private etcd serves its clients on (relative to its directory)."""
    return ("unixs://" + TLS_CLIENT) if tls else ("unix://" + CLIENT)


def endpoint(work, tls):
    """The URL a client in another directory reaches the private etcd in ``work`` by."""
    scheme, _sep, name = client_url(tls).partition("://")
    return "%s://%s/%s" % (scheme, work, name)


def restore_argv(tool, snapshot, data_dir, token):
    """``etcdutl snapshot restore`` (``etcdctl`` before 3.5) of ``snapshot`` into a one-member cluster."""
    return [tool, "snapshot", "restore", snapshot, "--data-dir", data_dir, "--name", NAME,
            "--initial-cluster", initial_cluster([(NAME, "unix://" + PEER)]), "--initial-advertise-peer-urls", "unix://" + PEER,
            "--initial-cluster-token", token]


def serve_argv(etcd, data_dir, tls, fsync=True):
    """The private etcd's command line; ``tls``: {server_cert, server_key, ca_cert} or None. Without
    ``fsync`` it writes without waiting for the disk (``--unsafe-no-fsync``, etcd 3.5 and later): for
    an etcd that is thrown away whatever happens to its host."""
    argv = [etcd, "--name", NAME, "--data-dir", data_dir,
            "--listen-client-urls", client_url(tls), "--advertise-client-urls", client_url(tls),
            "--listen-peer-urls", "unix://" + PEER, "--initial-advertise-peer-urls", "unix://" + PEER,
            "--initial-cluster", initial_cluster([(NAME, "unix://" + PEER)])]
    if tls:
        argv += ["--cert-file", tls["server_cert"], "--key-file", tls["server_key"], "--client-cert-auth",
                 "--trusted-ca-file", tls["ca_cert"]]
    if not fsync:
        argv.append("--unsafe-no-fsync")
    return argv


def listeners(log_text):
    """What etcd's log says it listened on ({listen-client-urls, listen-peer-urls, listen-metrics-urls}),
    or None when its log does not say (a release that logs otherwise)."""
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("msg") == SERVING:
            return {k: entry.get(k) or [] for k in LISTENER_FIELDS}
    return None


def snapshot_info(status_json):
    """{revision, total_key} of ``snapshot status -w json``'s output."""
    info = json.loads(status_json)
    return dict(revision=int(info["revision"]), total_key=int(info["totalKey"]))


class PrivateEtcd:
    """One drill: ``binaries`` {etcd, etcdutl} (etcdutl: the release's snapshot tool, etcdctl before
    3.5), the etcd ``user`` the private etcd runs as, ``tls`` as ``serve_argv`` takes it, and
    ``work_dir``, under which the drill's private directory is made."""

    def __init__(self, binaries, user, tls=None, work_dir="/var/tmp", run=subprocess.run, popen=subprocess.Popen,
                 sleep=time.sleep, start_timeout=START_TIMEOUT):
        self.binaries, self.user, self.tls, self.work_dir = binaries, user, tls or None, work_dir
        self.run, self.popen, self.sleep, self.start_timeout = run, popen, sleep, start_timeout

    def drill(self, snapshot, record, read, errors, cluster=None):
        """Restore ``snapshot``, serve it, ``read(endpoint)`` it and judge what was read against the
        snapshot and the backup's ``record`` (etcd_restore_rules.parse_backup_record's, or None), or a
        live ``cluster``'s keyspace at the snapshot's revision (a point in time's drill).

        ``read`` returns {revision, keys, hash, compact_revision, hash_problem} of the keyspace;
        while etcd starts it raises one of ``errors``. Returns {problems, notes, observed, snapshot,
        listeners, seconds}; raises DrillError when a step fails."""
        started = time.monotonic()
        info, observed, served = self.served(snapshot, read, errors)
        problems, notes = drill_findings(info, observed, record, cluster)
        return dict(problems=problems, notes=notes, observed=observed, snapshot=info, listeners=served,
                    seconds=round(time.monotonic() - started, 1))

    def replay(self, snapshot, apply, errors):
        """A point-in-time restore's replay: restore ``snapshot``, serve it, and ``apply(endpoint)`` to it
        (the change stream's revisions, then a snapshot of the result: etcd_snapshot_drill), as the drill
        reads it. Returns {snapshot, applied: what ``apply`` returned, seconds}; raises DrillError.

        Its etcd does not wait for the disk at each revision where the release can (3.5 and later, the
        releases with etcdutl): only the snapshot taken at the end is kept, and a replay cut short by a
        crash is started again from the backup."""
        started = time.monotonic()
        fsync = os.path.basename(self.binaries["etcdutl"]) != "etcdutl"
        info, applied, _served = self.served(snapshot, apply, errors, fsync=fsync)
        return dict(snapshot=info, applied=applied, seconds=round(time.monotonic() - started, 1))

    def served(self, snapshot, read, errors, fsync=True):
        """(snapshot status, what ``read`` returned, what etcd listened on) of ``snapshot`` restored into
        the private etcd and served (``fsync``: as serve_argv takes it); the directory goes, and the
        etcd is stopped, on every path."""
        info = snapshot_info(self.tool("status", "snapshot", "status", snapshot, "-w", "json"))
        work = tempfile.mkdtemp(prefix=WORK_PREFIX, dir=self.work_dir)
        try:
            data = os.path.join(work, "data")
            self.tool("restore", *restore_argv(self.binaries["etcdutl"], snapshot, data, os.path.basename(work))[1:],
                      cwd=work)
            for root, dirs, files in os.walk(work):
                for entry in [root] + [os.path.join(root, e) for e in dirs + files]:
                    shutil.chown(entry, self.user, self.user)
            os.chmod(work, 0o700)
            observed, served = self.serve(work, data, read, errors, fsync)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return info, observed, served

    def tool(self, what, *args, cwd=None):
        done = self.run([self.binaries["etcdutl"], *args], capture_output=True, text=True, timeout=600, check=False,
                        cwd=cwd, env=dict(os.environ, ETCDCTL_API="3"))
        if done.returncode != 0:
            raise DrillError("the snapshot's %s (%s): %s" % (what, os.path.basename(self.binaries["etcdutl"]),
                                                             (done.stderr or done.stdout).strip()))
        return done.stdout

    def serve(self, work, data, read, errors, fsync):
        """(what ``read`` read of the private etcd, what it listened on); it is stopped on every path."""
        log_path = os.path.join(work, "etcd.log")
        with open(log_path, "wb") as log:
            etcd = self.popen(serve_argv(self.binaries["etcd"], data, self.tls, fsync), cwd=work, user=self.user,
                              group=self.user, extra_groups=[], stdout=log, stderr=subprocess.STDOUT)
        try:
            observed = self.wait(etcd, endpoint(work, self.tls), read, errors)
        except DrillError as exc:
            with open(log_path, encoding="utf-8", errors="replace") as log:
                ends = (log.read().strip().splitlines() or ["(empty)"])[-1]
            raise DrillError("%s; its log ends: %s" % (exc, ends[:500])) from None
        finally:
            etcd.terminate()
            try:
                etcd.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                etcd.kill()
                etcd.wait()
        with open(log_path, encoding="utf-8", errors="replace") as log:
            return observed, listeners(log.read())

    def wait(self, etcd, url, read, errors):
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                return read(url)
            except errors as exc:
                code = etcd.poll()
                if code is not None:
                    raise DrillError("the private etcd ended (exit code %s) without answering (%s)" % (code, exc)) from None
                if time.monotonic() > deadline:
                    raise DrillError("the private etcd did not answer within %d s (%s)" % (self.start_timeout, exc)) from None
                self.sleep(0.5)
