# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The etcd role's run lock: who holds it, whether that run still lives, and the keeper.

The role's holder reads ``ansible-playbook (PLAY) on HOST by USER, pid PID, run RUN of machine
MACHINE, started TIME`` (run_holder; the actions of etcd_lock and etcd_lock_keeper write it:
plugins/plugin_utils/run_lock.py). RUN is a random ID made once per ansible-playbook run, MACHINE a
hash of the controller's /etc/machine-id: two controllers with one host name (cloned machines, CI
containers) never name one run, and no run is judged by a process list. A run lives as long as its
lease: the run's keeper (below) renews it, and a lease that is gone means a run that died or was
cut off from the cluster. A lock held through a live lease is never taken over, with one exception
its own keeper makes: when the run's ansible-playbook process ends without releasing the lock (it
was killed, crashed, its terminal closed), the keeper, which runs on the same machine, records so
in the lock's value (``ended``) and renews the lease no more; the next run takes such a lock over
at once, naming it. A lock whose lease expired is taken over too.

The keeper is a process detached on the controller for the length of a run. It holds the lock
file of the controller's PKI directory (so two runs never write one PKI directory at once) and
renews the run lock's lease while the ansible-playbook process lives. It revokes nothing: the
run's own end releases the lock, and a run that dies leaves a lease that expires within its TTL.
A keeper cut off from the cluster for longer than the TTL loses the lease: the run's steps that
change a member check that the lease still holds the lock (``lease_problem``) and stop, naming why.

The lock itself (``Lock``: acquire, renew, take over, release) works on a ``store``, the few etcd
calls it needs, so that the etcd_lock module (the HTTP/JSON gateway, etcd_lock_store.py) and the
members' maintenance timer (etcdctl) take and give back the lock by the same rules. Standard library
only, and no imports of the collection: the etcd role copies this very file onto the members.

A store has ``Error`` (the exception class of its failures) and ``Unreachable`` (its subclass for
a request that got no answer; ``sent`` False only when it surely never reached etcd), and:

* ``get(key)``: the key as dict(value (bytes), lease (int, 0: none), mod_revision), or None;
* ``grant(ttl)``: a new lease, dict(id, ttl as etcd granted it) (never sent twice);
* ``time_left(lease)``: seconds the lease has left, 0 or less once it is gone;
* ``keepalive(lease)``: renew it once; seconds left, 0 when it had expired;
* ``revoke(lease)``: True when this call revoked it, False when it was gone already;
* ``put_if(key, value, lease, mod_revision)``: write the key with the lease when its mod revision
  still is ``mod_revision`` (0: it does not exist); (succeeded, the key as it is when it failed);
* ``delete_if(key, mod_revision)``: delete it under the same condition; whether it did;
* ``command(*args)``: the etcdctl command line an operator runs against the same cluster.
"""

import datetime
import errno
import fcntl
import json
import os
import re
import shlex
import time

HOLDER_RE = re.compile(
    r"^ansible-playbook \((?P<play>.*)\) on (?P<host>\S+) by (?P<user>.*), pid (?P<pid>[0-9]+)"
    r"(?:, run (?P<run>[0-9a-f]+) of machine (?P<machine>[0-9a-z]+))?, started (?P<started>\S+)$")
_WORD_RE = re.compile(r"^[0-9a-z]+$")
# The lock file sits beside the PKI directory, not in it: what the directory holds stays the PKI.
PKI_LOCK_SUFFIX = ".lock"
# How often the keeper looks whether the run still lives.
LIFE_CHECK_INTERVAL = 1.0
# How often a holder waiting for the lock reads it again, and how many lost races it accepts.
POLL_INTERVAL = 1.0
MAX_CONFLICTS = 10
INT63_MAX = (1 << 63) - 1
_HEX_RE = re.compile(r"^[0-9a-f]{1,16}$")
_DEC_RE = re.compile(r"^[0-9]{17,19}$")


def run_lock_prefix(group):
    """The prefix of the etcd role's run lock of the cluster of inventory group ``group``: the lock
    is its key ``<prefix>run``. The role's host settings and the adoption's read both take it from here."""
    return "/raftops/%s/" % group


# The tags of the deploy's phases that change hosts (roles/etcd/tasks/main.yml): the run lock is taken
# with any of them, not for a run of only etcd_preflight or etcd_status.
CHANGING_TAGS = ("etcd_install", "etcd_configure", "etcd_pki", "etcd_cluster", "etcd_auth", "etcd_backup")


def lock_tags_selected(run_tags, skip_tags):
    """Whether a run with ``run_tags`` and ``skip_tags`` (ansible_run_tags, ansible_skip_tags: the
    options --tags and --skip-tags) runs a task tagged CHANGING_TAGS, as Ansible selects tasks."""
    run_tags, skip_tags, tags = set(run_tags or ["all"]), set(skip_tags or []), set(CHANGING_TAGS)
    if skip_tags & tags or skip_tags & {"all", "tagged"}:
        return False
    return bool(run_tags & tags or run_tags & {"all", "tagged"})


def parse_holder(text):
    """dict(play, host, user, pid, run, machine, started) of a holder the role wrote (run and machine
    None in a holder of a release before them), or None for another one."""
    match = HOLDER_RE.match(" ".join(str(text or "").split()))
    if not match:
        return None
    holder = match.groupdict()
    holder["pid"] = int(holder["pid"])
    return holder


def run_holder(play, host, user, pid, started, run, machine):
    """The holder of a run, in the words parse_holder reads back. Raises ValueError for a part it
    could not read back."""
    play, user = (" ".join(str(part or "").split()) for part in (play, user))
    if not host or len(str(host).split()) != 1:
        raise ValueError("the controller's host name must be one word, got %r" % (host,))
    if isinstance(pid, bool) or not isinstance(pid, int) or pid < 1:
        raise ValueError("the ansible-playbook pid must be a whole number above 0, got %r" % (pid,))
    if not started or len(str(started).split()) != 1:
        raise ValueError("the start time must be one word (ISO 8601), got %r" % (started,))
    if not re.match(r"^[0-9a-f]{8,}$", str(run or "")):
        raise ValueError("the run ID must be 8 or more hex digits, got %r" % (run,))
    if not _WORD_RE.match(str(machine or "")):
        raise ValueError("the machine ID must be lowercase letters and digits, got %r" % (machine,))
    return "ansible-playbook (%s) on %s by %s, pid %d, run %s of machine %s, started %s" % (
        play, host, user or "an unknown user", pid, run, machine, started)


def same_run(holder, other):
    """Whether two holders the role wrote name one ansible-playbook run: its run ID and machine (host
    and pid for a holder of a release before them)."""
    first, second = parse_holder(holder), parse_holder(other)
    if not (first and second):
        return False
    if first["run"] or second["run"]:
        return (first["run"], first["machine"]) == (second["run"], second["machine"])
    return (first["host"], first["pid"]) == (second["host"], second["pid"])


def ended_note(pid, when):
    """What a keeper records in the lock of its run whose ansible-playbook process ``pid`` ended at
    ``when`` (ISO 8601) without releasing it."""
    return ("its keeper saw its ansible-playbook process (pid %d) end at %s without releasing the lock, and renews "
            "its lease no more" % (pid, when))


# -- the lock -----------------------------------------------------------------------------------


class LockError(Exception):
    """A failure with the result to return alongside the message."""

    def __init__(self, message, **result):
        super().__init__(message)
        self.result = result


def parse_lease_id(text):
    """A lease ID as an int: hex as etcdctl prints it (optional 0x), or 17 to 19 decimal digits."""
    raw = str(text).strip().lower()
    if raw.startswith("0x"):
        value = int(raw[2:], 16) if _HEX_RE.match(raw[2:]) else None
    elif _HEX_RE.match(raw):
        value = int(raw, 16)
    elif _DEC_RE.match(raw):
        value = int(raw, 10)
    else:
        value = None
    if not value or value > INT63_MAX:
        raise ValueError("lease_id %r is not a lease ID: give it in hex as the module returned it in lease_id "
                         "(as etcdctl prints it, e.g. 694d77aa9e38260f) or in decimal (17 to 19 digits)" % (text,))
    return value


def lease_hex(lease_id):
    return "%016x" % lease_id


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def encode_value(holder, acquired_at, ttl):
    return json.dumps(dict(holder=holder, acquired_at=acquired_at, ttl=ttl), sort_keys=True)


def decode_value(value):
    """holder, acquired_at and ttl from a lock's value; a value this module did not write is the holder."""
    text = value.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("holder"), str):
        ended = data.get("ended")
        return dict(holder=data["holder"], acquired_at=str(data.get("acquired_at") or "unknown"),
                    ttl=data.get("ttl"), ended=ended if isinstance(ended, str) and ended else None)
    return dict(holder=text or "(empty value)", acquired_at="unknown", ttl=None, ended=None)


def mark_ended(store, key, lease_id, note):
    """Record ``note`` (ended_note) in the lock ``key`` while ``lease_id`` holds it: its run ended
    without releasing it. True when it did; False when the lease holds the lock no more (released,
    expired, taken) or the lock changed meanwhile. The lease is left as it is: it expires."""
    kv = store.get(key)
    if kv is None or kv["lease"] != lease_id:
        return False
    try:
        data = json.loads(kv["value"].decode("utf-8"))
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("holder"), str):
        return False
    data["ended"] = note
    won, _now = store.put_if(key, json.dumps(data, sort_keys=True), lease_id, kv["mod_revision"])
    return won


def lease_problem(store, key, lease_id):
    """Why the lease ``lease_id`` no longer holds the lock ``key`` (the run that took it must not go
    on: another run may hold it now), or None while it does. Read, never renewed here: a lease only
    the run's keeper renews shows whether the keeper still reaches the cluster."""
    kv = store.get(key)
    if kv is not None and kv["lease"] == lease_id:
        left = store.time_left(lease_id)
        if left > 0:
            return None
        return ("its lease %s has expired (its keeper could not renew it for the lease's whole TTL: the controller "
                "was cut off from the cluster, or the keeper stopped), and etcd is deleting the lock" % lease_hex(lease_id))
    if kv is None:
        now = "nobody holds it now"
    else:
        info = decode_value(kv["value"])
        now = "it is held now by %s since %s" % (info["holder"], info["acquired_at"])
    return ("its lease %s expired or was revoked (its keeper could not renew it for the lease's whole TTL: the "
            "controller was cut off from the cluster, or the keeper stopped), and %s" % (lease_hex(lease_id), now))


def etcdctl_command(endpoints, ca_cert=None, client_cert=None, client_key=None, *args):
    """An etcdctl command line, quoted for a shell, with these endpoints and TLS files."""
    words = ["etcdctl", "--endpoints=" + ",".join(endpoints)]
    for flag, path in (("--cacert", ca_cert), ("--cert", client_cert), ("--key", client_key)):
        if path:
            words.append("%s=%s" % (flag, path))
    words.extend(args)
    return " ".join(shlex.quote(word) for word in words)


class Lock:
    """One lock in etcd, the key ``prefix`` + ``name`` held through a lease, reached through ``store``.

    ``settings``: name, prefix, holder, ttl, wait_timeout and lease_id (text, as the module takes it).
    """

    def __init__(self, store, settings, check_mode=False, clock=time.monotonic, sleep=time.sleep, now=utcnow):
        self.store = store
        self.params = settings
        self.check_mode = check_mode
        self.clock, self.sleep, self.utcnow = clock, sleep, now
        self.name = settings["name"]
        self.key = settings["prefix"] + settings["name"]
        self.lease_id = parse_lease_id(settings["lease_id"]) if settings.get("lease_id") else None
        self.warnings = []
        self.polls = 0

    def drop_lease(self, lease_id, ttl):
        """Revoke a lease this task granted and does not use; a failure only warns (it expires)."""
        try:
            self.store.revoke(lease_id)
        except self.store.Error as exc:
            self.warnings.append("the unused lease %s could not be revoked (%s); it holds nothing and expires "
                                 "within %d s" % (lease_hex(lease_id), exc, ttl))

    # -- words --------------------------------------------------------------------------------

    def holder_of(self, kv):
        info = decode_value(kv["value"])
        info.update(lease=kv["lease"], mod_revision=kv["mod_revision"])
        return info

    def held_by(self, info, expires_in):
        lease = info["lease"]
        return dict(holder=info["holder"], acquired_at=info["acquired_at"],
                    lease_id=lease_hex(lease) if lease else None,
                    expires_in=expires_in if lease else None)

    def release_command(self, info):
        if info["lease"]:
            return self.store.command("lease", "revoke", lease_hex(info["lease"]))
        return self.store.command("del", self.key)

    def describe_holder(self, info, expires_in):
        """<holder> since <acquired_at> (lease <id>, expires in <n> s unless renewed)."""
        if info["lease"]:
            lease = "lease %s, expires in %d s unless renewed" % (lease_hex(info["lease"]), expires_in)
        else:
            lease = "no lease: it never expires"
        return "%s since %s (%s)" % (info["holder"], info["acquired_at"], lease)

    def refusal(self, info, expires_in):
        how = "wait for the lock to expire or release it with: " if info["lease"] else "release it with: "
        return "lock %s is held by %s; wait for that run to finish, or if it died, %s%s" % (
            self.name, self.describe_holder(info, expires_in), how, self.release_command(info))

    def now_iso(self):
        return self.utcnow().astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def held(self, lease_id, info, ttl, expires_in, changed, msg):
        return dict(changed=changed, acquired=True, key=self.key, lease_id=lease_hex(lease_id),
                    holder=info["holder"], acquired_at=info["acquired_at"],
                    ttl=ttl, expires_in=expires_in, msg=msg)

    # -- acquire ------------------------------------------------------------------------------

    def acquire(self):
        start = self.clock()
        deadline = start + self.params["wait_timeout"]
        kv = self.store.get(self.key)
        if self.lease_id is not None:
            return self.renew(kv)
        previous = None
        conflicts = 0
        while True:
            state, info, left = self.assess(kv)
            if state == "mine":
                return self.held(kv["lease"], info, info["ttl"] if info["ttl"] is not None else left, left, False,
                                 "lock %s is held by this holder already; its lease %s %s" % (
                                     self.name, lease_hex(kv["lease"]),
                                     "would be renewed" if self.check_mode else "was renewed"))
            if state == "held":
                previous = info
                result = self.blocked(info, left, start, deadline)
                if result is not None:
                    return result
                kv = self.store.get(self.key)
                continue
            # free: only while nobody writes it; held through a lease that has expired (etcd deletes
            # the key any moment), or by a run whose keeper saw it die: taken over unless it changes meanwhile
            mod_revision = 0 if state == "free" else kv["mod_revision"]
            if state != "free" and info["holder"] != self.params["holder"]:
                previous = info
            if self.check_mode:
                return self.would_acquire(info if state in ("expired", "dead") else None)
            won, kv = self.try_acquire(mod_revision)
            if won:
                return self.acquired(won, previous, info if state in ("expired", "dead") else None, start)
            conflicts += 1
            if conflicts >= MAX_CONFLICTS:
                raise LockError("lock %s changed hands %d times while this task tried to take it; try again"
                                % (self.name, conflicts), key=self.key, acquired=False)

    def assess(self, kv):
        """(state, holder info, seconds its lease has left) of the lock as read.

        States: ``free``; ``mine`` (held by this holder, lease renewed, or in check mode alive);
        ``expired`` (held through a lease that has expired); ``dead`` (by a run whose keeper recorded
        that it ended without releasing the lock, ``info["dead"]`` says so: its lease is renewed no
        more); ``held`` (by another holder through a live lease, whatever its host, or by a key
        without a lease, which never expires).
        """
        if kv is None:
            return "free", None, None
        info = self.holder_of(kv)
        if not kv["lease"]:
            return "held", info, None
        if info["holder"] == self.params["holder"] and not self.check_mode:
            # the same holder again (a step run again): renew the lease it holds
            left = self.store.keepalive(kv["lease"])
        else:
            left = self.store.time_left(kv["lease"])
        if left <= 0:
            return "expired", info, 0
        if info["holder"] == self.params["holder"]:
            return "mine", info, left
        info["dead"] = info.get("ended")
        return ("dead" if info["dead"] else "held"), info, left

    def would_acquire(self, expired):
        p = self.params
        result = dict(changed=True, acquired=True, key=self.key, holder=p["holder"], ttl=p["ttl"], waited=0.0,
                      msg="lock %s would be acquired" % self.name)
        if expired is not None:
            result["msg"] += " (the lease %s of %s %s)" % (
                lease_hex(expired["lease"]), expired["holder"],
                "is held by a run that died: %s" % expired["dead"] if expired.get("dead") else "has expired")
            if expired["holder"] != p["holder"]:
                result["previous_holder"] = expired["holder"]
        return result

    def blocked(self, info, left, start, deadline):
        """Held by another holder: a check-mode report, or None after waiting a poll, or LockError."""
        details = dict(key=self.key, held_by=self.held_by(info, left), release_command=self.release_command(info))
        if self.check_mode:
            message = "lock %s is held by %s; a real run would %s" % (
                self.name, self.describe_holder(info, left),
                "wait up to %d s for it" % self.params["wait_timeout"] if self.params["wait_timeout"] else "fail")
            self.warnings.append(message)
            return dict(changed=False, acquired=False, waited=0.0, msg=message, **details)
        now = self.clock()
        if now >= deadline:
            waited = round(now - start, 1)
            message = self.refusal(info, left)
            if self.params["wait_timeout"]:
                message = "waited %d s: %s" % (round(waited), message)
            raise LockError(message, acquired=False, waited=waited, **details)
        self.polls += 1
        self.sleep(min(POLL_INTERVAL, deadline - now))
        return None

    def try_acquire(self, mod_revision):
        """Grant a lease and write the key with it if its mod revision still is ``mod_revision``.

        Returns (dict(lease_id, ttl, acquired_at), None) when it did, else (None, the key as the
        transaction's failure branch read it), after revoking the lease.
        """
        p = self.params
        try:
            grant = self.store.grant(p["ttl"])
        except self.store.Unreachable as exc:
            if exc.sent:
                raise LockError("lock %s not acquired: granting its lease got no answer: %s. A lease may have been "
                                "granted; it holds nothing and expires within %d s. Run again"
                                % (self.name, exc, p["ttl"]), key=self.key) from None
            raise
        lease_id, ttl = grant["id"], grant["ttl"]
        acquired_at = self.now_iso()
        try:
            won, kv = self.store.put_if(self.key, encode_value(p["holder"], acquired_at, ttl), lease_id, mod_revision)
        except self.store.Unreachable as exc:
            if exc.sent:
                raise LockError(self.lost_txn(lease_id, ttl, exc), key=self.key) from None
            self.drop_lease(lease_id, ttl)
            raise
        except self.store.Error:
            self.drop_lease(lease_id, ttl)
            raise
        if won:
            return dict(lease_id=lease_id, ttl=ttl, acquired_at=acquired_at), None
        self.drop_lease(lease_id, ttl)
        return None, kv

    def lost_txn(self, lease_id, ttl, exc):
        """The message for a transaction that got no answer after it was sent."""
        head = ("lock %s: the request that takes the lock got no answer after it was sent, so etcd may have applied "
                "it; it was not sent again (%s). " % (self.name, exc))
        try:
            self.store.revoke(lease_id)
        except self.store.Error as revoke_exc:
            return head + ("Revoking its lease %s failed too (%s), so the lock may be held by that lease for up to "
                           "%d s: look with %s, and release it with: %s" % (
                               lease_hex(lease_id), revoke_exc, ttl, self.store.command("get", self.key),
                               self.store.command("lease", "revoke", lease_hex(lease_id))))
        return head + ("Its lease %s has been revoked, so this run does not hold the lock; run again"
                       % lease_hex(lease_id))

    def acquired(self, won, previous, expired, start):
        """The result for a lock taken: ``previous`` is the other holder it was waited for or taken
        from, ``expired`` the lock whose expired lease it replaced."""
        info = dict(holder=self.params["holder"], acquired_at=won["acquired_at"])
        msg = "lock %s acquired (lease %s, TTL %d s)" % (self.name, lease_hex(won["lease_id"]), won["ttl"])
        result = self.held(won["lease_id"], info, won["ttl"], won["ttl"], True, msg)
        result["waited"] = round(self.clock() - start, 1) if self.polls else 0.0
        if previous is not None:
            result["previous_holder"] = previous["holder"]
            if self.polls:
                result["msg"] += " after waiting %s s for %s" % (result["waited"], previous["holder"])
        if expired is not None and expired.get("dead"):
            result["taken_over"] = expired["holder"]
            self.warnings.append(
                "lock %s was held by %s since %s (lease %s), a run that died (%s): it may have stopped part-way; the "
                "lock was taken over" % (self.name, expired["holder"], expired["acquired_at"],
                                         lease_hex(expired["lease"]), expired["dead"]))
        elif expired is not None:
            result["taken_over"] = expired["holder"]
            self.warnings.append(
                "lock %s was still held by %s since %s through lease %s, which had expired: that run may have stopped "
                "part-way; the lock was taken over" % (self.name, expired["holder"], expired["acquired_at"],
                                                       lease_hex(expired["lease"])))
        return result

    def renew(self, kv):
        """Acquire with lease_id: renew the lease when it still holds the lock, else fail."""
        lease_id = self.lease_id
        if kv is None or kv["lease"] != lease_id:
            if kv is None:
                now = "nobody holds it now"
            else:
                info = self.holder_of(kv)
                now = "it is now held by %s" % self.describe_holder(
                    info, self.store.time_left(info["lease"]) if info["lease"] else None)
            raise LockError(
                "lock %s was lost: its lease %s expired or was revoked, and %s. Whatever ran after the lease expired "
                "ran without the lock; take the lock again (without lease_id) before going on"
                % (self.name, lease_hex(lease_id), now), key=self.key, acquired=False)
        info = self.holder_of(kv)
        if self.params["holder"] != info["holder"]:
            self.warnings.append("lock %s is held through lease %s by %r, not %r; renewed all the same (the lease "
                                 "is what holds it)" % (self.name, lease_hex(lease_id), info["holder"],
                                                        self.params["holder"]))
        left = self.store.time_left(lease_id) if self.check_mode else self.store.keepalive(lease_id)
        if left <= 0:
            raise LockError(
                "lock %s was lost: its lease %s has expired and etcd is deleting the lock. Whatever ran after the lease "
                "expired ran without the lock; take the lock again (without lease_id) before going on"
                % (self.name, lease_hex(lease_id)), key=self.key, acquired=False)
        ttl = info["ttl"] if info["ttl"] is not None else left
        return self.held(lease_id, info, ttl, left, False, "lock %s: lease %s %s (%d s left)" % (
            self.name, lease_hex(lease_id), "would be renewed" if self.check_mode else "renewed", left))

    # -- release ------------------------------------------------------------------------------

    def release(self):
        p = self.params
        kv = self.store.get(self.key)
        if kv is None:
            if self.lease_id is not None:
                message = "lock %s had already expired or been released (lease %s)" % (
                    self.name, lease_hex(self.lease_id))
                self.warnings.append(message)
            else:
                message = "lock %s is not held" % self.name
            return dict(changed=False, released=False, key=self.key, msg=message)
        info = self.holder_of(kv)
        result = dict(changed=False, released=False, key=self.key, holder=info["holder"],
                      acquired_at=info["acquired_at"])
        if self.lease_id is not None and kv["lease"] != self.lease_id:
            result["msg"] = ("lock %s had already expired or been taken (lease %s no longer holds it): it is held by "
                             "%s since %s now; left alone"
                             % (self.name, lease_hex(self.lease_id), info["holder"], info["acquired_at"]))
            self.warnings.append(result["msg"])
            return result
        if self.lease_id is None and p.get("holder") and info["holder"] != p["holder"]:
            result["msg"] = "lock %s is held by %s since %s, not by %s; left alone" % (
                self.name, info["holder"], info["acquired_at"], p["holder"])
            self.warnings.append(result["msg"])
            return result
        if kv["lease"]:
            result.update(lease_id=lease_hex(kv["lease"]))
        if self.check_mode:
            result.update(changed=True, released=True, msg="lock %s of %s would be released" % (
                self.name, info["holder"]))
            return result
        if kv["lease"]:
            if self.store.revoke(kv["lease"]):
                result.update(changed=True, released=True, msg="lock %s of %s released (lease %s revoked)" % (
                    self.name, info["holder"], lease_hex(kv["lease"])))
            else:
                result["msg"] = "lock %s had already expired (lease %s)" % (self.name, lease_hex(kv["lease"]))
                if self.lease_id is not None:
                    self.warnings.append(result["msg"])
            return result
        # a key without a lease (not written by this module): delete it unless it changed meanwhile
        if self.store.delete_if(self.key, kv["mod_revision"]):
            result.update(changed=True, released=True, msg="lock %s of %s released (key deleted)" % (
                self.name, info["holder"]))
        else:
            result["msg"] = "lock %s changed while it was being released; left alone" % self.name
            self.warnings.append(result["msg"])
        return result


def process_lives(pid):
    """Whether a process with this ID exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PkiDirBusy(Exception):
    """The PKI directory's lock file is held by another run."""


def pki_lock_path(pki_dir):
    """The lock file of a PKI directory: ``<pki_dir>.lock`` beside it."""
    return os.path.normpath(pki_dir) + PKI_LOCK_SUFFIX


def lock_pki_dir(pki_dir, holder):
    """Take the lock file of the PKI directory for ``holder``; returns its open descriptor.

    flock(2): the lock stays with the descriptor, so a child that inherits it holds it, and the
    kernel drops it when the last process holding it ends, however it ends. Returns None when the
    holder of the lock is this run (``holder``'s host and pid: a later play of the same run).
    Raises PkiDirBusy with the other holder's words when another process holds it.
    """
    path = pki_lock_path(pki_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            os.close(fd)
            raise
        other = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        if same_run(holder, other):
            return None
        raise PkiDirBusy("%s is in use by %s" % (pki_dir, other)) from None
    os.ftruncate(fd, 0)
    os.write(fd, holder.encode("utf-8"))
    return high_fd(fd)


def high_fd(fd):
    """The descriptor moved to 3 or above: a keeper's standard streams are replaced by /dev/null
    (the module may run with one of them closed, and an open then reuses its number)."""
    if fd >= 3:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 3)
    os.close(fd)
    return moved


def pki_connection(pki_dir, pair="admin"):
    """(ca_cert, client_cert, client_key) in the controller's PKI directory, looked up at each
    renewal: during a CA rotation the trusted CAs are in ca-bundle.pem, and the pairs re-issued."""
    bundle = os.path.join(pki_dir, "ca-bundle.pem")
    ca_cert = bundle if os.path.exists(bundle) else os.path.join(pki_dir, "ca.pem")
    return ca_cert, os.path.join(pki_dir, pair + ".pem"), os.path.join(pki_dir, pair + "-key.pem")


def keep(pid, renew, interval, lives=process_lives, clock=time.monotonic, sleep=time.sleep, ended=None):
    """Renew a lease every ``interval`` seconds while the process ``pid`` lives; return when it ends.

    ``renew()`` renews the lease and returns the seconds it has left (0 once it is gone: the run
    released the lock, or it expired), or raises (etcd did not answer: tried again next time; a
    lease that runs out meanwhile is what the run's steps find, lease_problem). Once the lease is
    gone nothing is renewed, but the keeper stays until the run ends: it holds the PKI directory's
    lock for the run. When the process ends while the lease was last seen alive, ``ended()`` records
    it in the lock (mark_ended: the next run need not wait for the lease to run out); tried again
    every second for one interval while it raises. Returns the number of renewals.
    """
    renewals = 0
    leased = True
    due = clock() + interval
    while lives(pid):
        if leased and clock() >= due:
            due = clock() + interval
            try:
                leased = renew() > 0
                renewals += 1
            except Exception:  # pylint: disable=broad-except
                pass  # an endpoint that does not answer now may next time; the lease outlives a miss
        sleep(LIFE_CHECK_INTERVAL)
    if leased and ended is not None:
        until = clock() + interval
        while True:
            try:
                ended()
                break
            except Exception:  # pylint: disable=broad-except
                if clock() >= until:
                    break  # the lease runs out on its own
            sleep(LIFE_CHECK_INTERVAL)
    return renewals


def detach(keep_fds):
    """Fork a detached keeper: True in the keeper, False in the caller (after the first child ended).

    Double fork and a new session, so that the keeper is in no process group of the run (a kill of
    the run's group leaves it to notice the run is gone) and is nobody's child to wait for. Its
    standard streams go to /dev/null and every other descriptor but ``keep_fds`` is closed, so that
    no pipe of the caller stays open (Ansible reads the module's output to its end).
    """
    first = os.fork()
    if first:
        os.waitpid(first, 0)
        return False
    os.setsid()
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for fd in range(3, _max_fd()):
        if fd not in keep_fds:
            try:
                os.close(fd)
            except OSError:
                pass
    os.chdir("/")
    return True


def _max_fd():
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 65536)
    except (ValueError, OSError):
        return 1024
