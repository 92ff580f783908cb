"""Clients that hold the promises real applications need through day-2 operations (issue: clients
do not feel maintenance), for any scenario's verifier; with etcdtest.Writer (the multi-endpoint
writer, which records each write's latency) they are the three clients of docs/maintenance.md:

- ``LeaseHolder``: a leader lease (TTL 10 s) renewed every 2 s, each renewal sent to the next member
  in turn and, when that one does not answer, to the others: it must never lose its lease;
- ``PrefixWatcher``: a watch of a prefix that, when its member goes away, resumes on another from
  the revision after the last event it saw: every event exactly once, in order, and never a
  ``compacted`` answer (which would force a re-list);
- ``latency_p99`` and ``failures_per_restart``: the writer's figures against idle.

All speak etcd's v3 JSON gateway (etcdtest.Gateway) with the admin pair, so they need nothing but
the Python standard library on the controller. ``tls`` is etcdtest.Writer's: a function giving
Gateway's TLS arguments, asked again at each new connection (a CA rotation: etcdtest.rotating_tls).
"""

import base64
import http.client
import json
import threading
import time
import urllib.error

from etcdtest import Gateway, b64, prefix_end

# What a gateway call that did not get through raises.
CALL_ERRORS = (OSError, http.client.HTTPException, ValueError, urllib.error.URLError)


def _gateway(url, tls, timeout):
    return Gateway(url, timeout=timeout, **(tls() if tls else {}))


class LeaseHolder(threading.Thread):
    """Holds ``key`` under a lease of ``ttl`` seconds, renewed every ``every`` seconds, as an
    elected leader does (an HA manager, a controller). Each renewal goes to the next of ``urls`` in
    turn, and to the others in order, again and again, when one does not answer within ``timeout``.

    ``renewals``: (time, url, TTL the member answered); ``errors``: (time, url, error) of renewals
    a member did not serve; ``lost``: answers that said the lease is gone (no TTL left); ``late``:
    (time, seconds) of renewals more than the TTL after the one before, after which a client that
    counts its own time would have given its leadership up although etcd kept the lease;
    ``longest_gap()``: the longest time between two renewals."""

    def __init__(self, urls, key="/lease-holder/leader", ttl=10, every=2.0, timeout=2.0, tls=None):
        super().__init__(daemon=True)
        self.urls, self.key, self.ttl, self.every, self.timeout, self.tls = list(urls), key, ttl, every, timeout, tls
        self.lease_id, self.renewals, self.errors, self.lost, self.late = None, [], [], [], []
        self._stop_event = threading.Event()

    def grant(self):
        """The lease and the leader key under it, before the operation starts."""
        gateway = _gateway(self.urls[0], self.tls, 5)
        self.lease_id = gateway.call("/v3/lease/grant", {"TTL": self.ttl})["ID"]
        gateway.call("/v3/kv/put", {"key": b64(self.key), "value": b64("holder"), "lease": self.lease_id})
        self.renewals.append((time.time(), self.urls[0], self.ttl))

    def run(self):
        turn = 0
        while not self._stop_event.wait(self.every):
            while not self._stop_event.is_set() and not self._renew(self.urls[turn % len(self.urls)]):
                turn += 1
            turn += 1

    def _renew(self, url):
        try:
            answer = _gateway(url, self.tls, self.timeout).call("/v3/lease/keepalive", {"ID": self.lease_id})
        except CALL_ERRORS as exc:
            self.errors.append((time.time(), url, str(exc)[:120]))
            return False
        ttl, now = int((answer.get("result") or {}).get("TTL") or 0), time.time()
        if ttl <= 0:
            self.lost.append((now, url, answer))
        if now - self.renewals[-1][0] > self.ttl:
            self.late.append((now, now - self.renewals[-1][0]))
        self.renewals.append((now, url, ttl))
        return True

    def stop(self):
        self._stop_event.set()
        self.join(30)

    def longest_gap(self):
        times = [t for t, _url, _ttl in self.renewals]
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)

    def still_holds(self):
        """Whether the key is still there under the lease (read after stop())."""
        for url in self.urls:
            try:
                kvs = _gateway(url, self.tls, 5).call("/v3/kv/range", {"key": b64(self.key)}).get("kvs") or []
            except CALL_ERRORS:
                continue
            return bool(kvs) and kvs[0].get("lease") == self.lease_id
        return False


class PrefixWatcher(threading.Thread):
    """Watches every key under ``prefix`` from the revision after ``start()``'s, through one member
    at a time: when the stream ends or stays silent for ``quiet`` seconds (a member stopping or
    blocked), it resumes on the next member from the revision after the last event it saw.

    ``events``: (mod_revision, key, type) in the order received; ``compacted``: the answers that
    said the revision it resumed from was compacted away (the client would have to list again);
    ``resumes``: (time, url) of each new stream after the first."""

    def __init__(self, urls, prefix, quiet=5.0, tls=None):
        super().__init__(daemon=True)
        self.urls, self.prefix, self.quiet, self.tls = list(urls), prefix, quiet, tls
        self.events, self.compacted, self.resumes, self.errors = [], [], [], []
        self.next_revision = None
        self._stop_event = threading.Event()

    def start(self):
        header = _gateway(self.urls[0], self.tls, 5).call("/v3/kv/range", {"key": b64(self.prefix), "count_only": True})
        self.next_revision = int(header["header"]["revision"]) + 1
        super().start()

    def run(self):
        turn = 0
        while not self._stop_event.is_set():
            url = self.urls[turn % len(self.urls)]
            if turn:
                self.resumes.append((time.time(), url))
            turn += 1
            try:
                self._stream(url)
            except CALL_ERRORS as exc:
                self.errors.append((time.time(), url, str(exc)[:120]))
                self._stop_event.wait(0.2)

    def _stream(self, url):
        gateway = _gateway(url, self.tls, self.quiet)
        connection = gateway.connect(self.quiet)
        try:
            body = {"create_request": {"key": b64(self.prefix), "range_end": b64(prefix_end(self.prefix)),
                                       "start_revision": self.next_revision}}
            connection.request("POST", "/v3/watch", json.dumps(body), gateway.headers())
            response = connection.getresponse()
            if response.status != 200:
                raise ValueError("HTTP %d" % response.status)
            while not self._stop_event.is_set():
                line = response.readline()
                if not line:
                    return
                result = json.loads(line).get("result") or {}
                if int(result.get("compact_revision") or 0):
                    self.compacted.append((time.time(), url, result["compact_revision"]))
                for event in result.get("events") or []:
                    kv = event["kv"]
                    revision = int(kv["mod_revision"])
                    self.events.append((revision, base64.b64decode(kv["key"]).decode(), event.get("type", "PUT")))
                    self.next_revision = revision + 1
                if result.get("canceled"):
                    return
        finally:
            connection.close()

    def stop(self):
        self._stop_event.set()
        self.join(self.quiet + 5)

    def problems(self, stored):
        """What breaks the promise, against ``stored`` ({key: mod_revision} of the prefix read after
        the writes, each key written once): an event seen twice or out of order, a write never seen,
        a compacted answer."""
        revisions = [revision for revision, _key, _type in self.events]
        found = []
        twice = len(revisions) - len(set(revisions))
        if twice:
            found.append("%d events seen more than once" % twice)
        if revisions != sorted(revisions):
            found.append("events out of order")
        missed = sorted(key for key, revision in stored.items() if revision not in set(revisions))
        if missed:
            found.append("%d writes never seen (first %s)" % (len(missed), missed[0]))
        if self.compacted:
            found.append("compacted answers: %s" % self.compacted[:3])
        return found


def mod_revisions(gateway, prefix):
    """{key: mod_revision} of every key under ``prefix``, page by page."""
    found, start = {}, prefix
    while True:
        answer = gateway.call("/v3/kv/range", {"key": b64(start), "range_end": b64(prefix_end(prefix)), "limit": 1000,
                                               "keys_only": True})
        for kv in answer.get("kvs") or []:
            found[base64.b64decode(kv["key"]).decode()] = int(kv["mod_revision"])
        if not answer.get("more"):
            return found
        start = max(found) + "\0"


def latency_p99(latencies, begin=None, end=None):
    """The 99th percentile of the write latencies (etcdtest.Writer.latencies: (began, seconds)) whose
    write began within [begin, end); None without any."""
    chosen = sorted(seconds for began, seconds in latencies
                    if (begin is None or began >= begin) and (end is None or began < end))
    if not chosen:
        return None
    return chosen[round(0.99 * (len(chosen) - 1))]


def failures_per_restart(failed, restarts):
    """Failed writes (etcdtest.Writer.failed) per member restart in ``restarts`` (a count)."""
    return len(failed) / restarts if restarts else float(len(failed))
