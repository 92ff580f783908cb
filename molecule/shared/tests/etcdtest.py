"""Helpers shared by the scenarios' testinfra verifiers.

They drive the collection the way an operator does (``ansible-playbook`` against Molecule's
inventory) and talk to the cluster from the controller with nothing but urllib + ssl and the
admin client pair, independently of the collection's own client.
"""

import base64
import functools
import http.client
import io
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import testinfra

ROOT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PKI = os.path.join(EPHEMERAL, "etcd-pki")
BACKUPS = os.path.join(EPHEMERAL, "etcd-backups")


def ansible_env():
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = os.path.join(EPHEMERAL, "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, "collections")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def playbook(name, *args, check=False, timeout=900, inventory=INVENTORY):
    """Run ``playbooks/<name>.yml`` of the collection against ``inventory`` (Molecule's unless an
    edited copy is given); returns (returncode, output)."""
    cmd = ["ansible-playbook", "-i", inventory, os.path.join(ROOT, "playbooks", name + ".yml"), *args]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout


def interrupted_playbook(name, args, when_line_starts, fault=None, times=None):
    """Run ``playbooks/<name>.yml`` and, once a line of its output starts with ``when_line_starts``
    (or, when it is a function, once it returns true for a line), kill it with its processes (a
    controller that crashed or lost its connection), or call ``fault()`` once and let the run go on;
    returns (returncode, output). ``times``, a list, receives (time.time(), line) for each line as
    it arrives."""
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", name + ".yml"), *args]
    proc = subprocess.Popen(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    matches = when_line_starts if callable(when_line_starts) else (lambda line: line.startswith(when_line_starts))
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if times is not None:
            times.append((time.time(), line))
        if matches(line):
            if fault is None:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                fault()
                fault, matches = None, (lambda _line: False)
    return proc.wait(timeout=900), "".join(lines)


def run_testbed(*args, script="host.sh"):
    """tests/testbed/host.sh: kill (a host loses power), revive (it boots again), recreate;
    with script="fault.sh": a slow disk or a delayed network on one host."""
    subprocess.run([os.path.join(ROOT, "tests", "testbed", script), *args], check=True,
                   stdout=subprocess.DEVNULL, timeout=180)


def hold_run_lock(url, holder, group="etcd", login=None, ttl=900):
    """Take the run lock as another run holds it, named ``holder``, on a lease of ``ttl`` seconds (long
    enough for the refused runs of a test on a loaded machine); with auth on, as the user ``login``
    (user, password) names. Returns the lease, which frees it when revoked."""
    gateway = UserGateway(url, *login) if login else Gateway(url)
    lease = gateway.call("/v3/lease/grant", {"TTL": ttl})["ID"]
    key = b64("/raftops/%s/run" % group)
    value = b64(json.dumps({"holder": holder, "acquired_at": "2026-01-01T00:00:00Z", "ttl": 120}))
    put = gateway.call("/v3/kv/txn", {
        "compare": [{"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
        "success": [{"request_put": {"key": key, "value": value, "lease": lease}}]})
    assert put.get("succeeded"), "the run lock is held already"
    return lease


def release_run_lock(url, group="etcd", login=None):
    """Free the run lock a killed run left (the command its refusal names, done through the gateway);
    with auth on, as the user ``login`` (user, password) names."""
    gateway = UserGateway(url, *login) if login else Gateway(url)
    kvs = gateway.call("/v3/kv/range", {"key": b64("/raftops/%s/run" % group)}).get("kvs") or []
    for kv in kvs:
        gateway.call("/v3/lease/revoke", {"ID": kv["lease"]})
    return bool(kvs)


def why_failed(out, tail=2000):
    """A failed run's output for an assertion message: first each task that failed and was not
    ignored, one line each (task, host, message), as a CI report may keep only an assertion's first
    lines; then the output's end."""
    failures = []
    for match in re.finditer(r"^(?:fatal|failed): \[([^\]]+)\]", out, re.M):
        task_start = out.rfind("\nTASK [", 0, match.start())
        next_task = out.find("\nTASK [", match.end())
        block = out[match.start():next_task if next_task > 0 else len(out)]
        if "...ignoring" in block:
            continue
        task = out[task_start + 1:out.find("]", task_start)] + "]" if task_start >= 0 else "(no task)"
        message = re.search(r'"msg": "((?:[^"\\]|\\.)*)"', block)
        said = message.group(1) if message else " ".join(block.split())
        # ansible-core's wrapping of a failed template ("Task failed: Finalization of task args for ...
        # failed: Error while resolving value for ...: ") goes: the cause comes first.
        said = re.sub(r"Task failed: |Finalization of task args for '+[^']*'+ failed: |"
                      r"Error while resolving value for '+[^']*'+: ", "", said)
        failures.append("%s on %s: %s" % (task, match.group(1), said[:500]))
    return "\n".join([*failures, "--- the output's end:", out[-tail:]])


def recap(output):
    """The PLAY RECAP counters per host: {host: {'ok': n, 'changed': n, ...}}. A run that printed no
    recap line (it never reached a play) fails the test here: no check over the recap passes on
    nothing."""
    counts = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        counts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
    assert counts, "the run printed no PLAY RECAP line for any host:\n" + output[-3000:]
    return counts


def assert_unchanged(output, hosts=None):
    """Every host of ``hosts`` (every host of the recap when None) is in the run's recap, reached, with
    nothing changed or failed."""
    counts = recap(output)
    missing = sorted(set(hosts or []) - set(counts))
    assert not missing, "%s not in the run's recap:\n%s" % (", ".join(missing), output[-3000:])
    changed = {name: c for name, c in counts.items() if (hosts is None or name in hosts)
               and (c["changed"] or c["failed"] or c.get("unreachable"))}
    assert not changed, "changed, failed or unreachable: %s\n%s" % (changed, output[-3000:])


def task_output(out, name):
    """The lines a task of the role printed: from its TASK header to the next one."""
    start = out.index("TASK [raftops.etcd.etcd : %s" % name)
    end = out.find("\nTASK [", start + 1)
    return out[start:end if end > 0 else len(out)]


def hosts_called(output):
    """The addresses a task's output (with -vvv) shows a command sent to over SSH."""
    return sorted(set(re.findall(r"^<(\S+)> SSH: EXEC", output, re.M)))


def host(name):
    return testinfra.get_host("ansible://" + name, ansible_inventory=INVENTORY)


@functools.lru_cache(maxsize=None)
def restarts(name, unit, since):
    """[(stopping, started)]: when ``unit`` on host ``name`` was restarting, in wall-clock time (the
    hosts are containers on this kernel), from systemd's journal."""
    out = host(name).check_output("journalctl -u %s --since @%d -o short-unix --no-pager | grep -E ': (Stopping|Started) ' "
                                  "|| true" % (unit, since))
    stopping, spans = None, []
    for line in out.splitlines():
        stamp = float(line.split()[0])
        if ": Stopping " in line:
            stopping = stamp
        elif stopping is not None:
            spans.append((stopping, stamp))
            stopping = None
    return spans


def _inventory_groups():
    out = subprocess.run(["ansible-inventory", "-i", INVENTORY, "--list"], env=ansible_env(),
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out)


def copy_to(name, directory, files):
    """Controller files onto host ``name``, into ``directory`` (made when missing), each readable by
    root only: ``files`` is {name there: path here}. One command (an ``ansible -m copy`` per file takes
    seconds on a busy machine)."""
    steps = ["umask 077", "mkdir -p %s" % directory]
    for there, here in files.items():
        with open(here, "rb") as source:
            steps.append("echo %s | base64 -d > %s/%s" % (base64.b64encode(source.read()).decode(), directory, there))
    host(name).check_output(" && ".join(steps))


def group_hosts(group="etcd"):
    """The hosts of a group of Molecule's inventory, read once (about 2 s a read on a busy machine):
    tests change host variables or pass other inventories, never who is in its groups."""
    return list(_inventory_groups()[group]["hosts"])


READ_END = "-- end of the read --"


def read_whole(name, command):
    """The output of the shell ``command`` on host ``name``, which must run to its end: a host that cannot
    be read (unreachable, no shell) fails the test rather than read as unchanged or as nothing found.
    The command's own exit status does not count (grep or pgrep that find nothing end 1)."""
    result = host(name).run("%s; echo '%s'" % (command, READ_END))
    assert result.rc == 0 and result.stdout.endswith(READ_END + "\n"), (
        "%s could not be read (rc %s): %s: %s" % (name, result.rc, command, (result.stderr or result.stdout)[-500:]))
    return result.stdout[:-len(READ_END) - 1]


def fingerprint(names, instance="etcd"):
    """What must not change when a run is refused: files, binaries, certs and the running process
    of the cluster ``instance`` (etcd_instance), and whether its user exists."""
    bin_dir = "/usr/local/bin" if instance == "etcd" else "/opt/%s/bin" % instance
    state = {}
    for name in names:
        cmd = (
            f"sha256sum /etc/{instance}/* /etc/{instance}/pki/* /etc/systemd/system/{instance}.service /etc/systemd/system/{instance}-snapshot.* "
            f"/etc/systemd/system/{instance}-maintenance.* 2>/dev/null; "
            f"readlink {bin_dir}/etcd; ls -R /opt/{instance} 2>/dev/null; id {instance} 2>&1; "
            f"systemctl show {instance} -p MainPID -p NRestarts -p ExecMainStartTimestamp; "
            f"ls -a /var/lib/{instance}/member /var/lib/{instance} 2>&1"
        )
        state[name] = read_whole(name, cmd)
    return state


def package_cluster_state(names):
    """What a refused or plan-only adoption of a package cluster must not change: the collection's
    files and the running process (fingerprint), and the package's settings file and unit."""
    prints = fingerprint(names)
    for name in names:
        # A host that cannot be read must not read as unchanged.
        read = host(name).run("sha256sum /etc/default/etcd && systemctl show etcd -p FragmentPath")
        assert read.rc == 0 and "FragmentPath=" in read.stdout, (name, read.rc, read.stderr[-500:])
        prints[name] += read.stdout
    return prints


def b64(text):
    return base64.b64encode(text.encode()).decode()


def prefix_end(prefix):
    """The range end that covers every key beginning with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def rotating_tls():
    """The admin pair and the CAs to trust as they are in the PKI directory right now: during a CA
    rotation ca-bundle.pem (both CAs), and admin.pem is re-issued by the new CA in its second phase."""
    bundle = os.path.join(PKI, "ca-bundle.pem")
    return {"ca": bundle if os.path.exists(bundle) else None}


class Gateway:
    """An etcd member's v3 JSON gateway, reached with the admin client pair (no ALPN: HTTP/1.1); an
    http:// URL (a plaintext cluster before the adopt playbook moved it to TLS) without TLS."""

    def __init__(self, url, cert=None, key=None, ca=None, timeout=5):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.ctx = None
        if self.url.startswith("https://"):
            self.ctx = ssl.create_default_context(cafile=ca or os.path.join(PKI, "ca.pem"))
            if cert is not False:
                self.ctx.load_cert_chain(cert or os.path.join(PKI, "admin.pem"), key or os.path.join(PKI, "admin-key.pem"))

    def headers(self):
        return {"Content-Type": "application/json"}

    def call(self, path, body=None):
        return self._post(path, body, self.headers())

    def _post(self, path, body, headers):
        req = urllib.request.Request(self.url + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers=headers)
        with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as resp:
            return json.load(resp)

    def connect(self, timeout):
        """An HTTPS connection whose TCP and TLS handshakes finished within ``timeout`` (or a plain
        one); requests on it then have the gateway's timeout."""
        url = urllib.parse.urlsplit(self.url)
        if self.ctx is None:
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        else:
            connection = http.client.HTTPSConnection(url.hostname, url.port, timeout=timeout, context=self.ctx)
        connection.connect()
        connection.sock.settimeout(self.timeout)
        return connection

    def put(self, key, value, connection=None):
        """Put one key; over ``connection`` when given (a write sent once, on an open connection)."""
        body = {"key": b64(key), "value": b64(value)}
        if connection is None:
            return self.call("/v3/kv/put", body)
        connection.request("POST", "/v3/kv/put", json.dumps(body), self.headers())
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise ValueError("HTTP %d: %s" % (response.status, answer[:200].decode(errors="replace")))
        return json.loads(answer)

    def get(self, key, serializable=False):
        """The key's value, or None; ``serializable``: the member's own copy, read without quorum."""
        kvs = self.call("/v3/kv/range", {"key": b64(key), "serializable": serializable}).get("kvs") or []
        return base64.b64decode(kvs[0]["value"]).decode() if kvs else None

    def count(self, prefix):
        return int(self.call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(prefix_end(prefix)), "count_only": True})
                   .get("count", 0))

    def values(self, prefix, serializable=False, page=1000, attempts=3):
        """{key: value} of every key under ``prefix``, a page of ``page`` keys per request (one request
        per key, a TLS handshake each, times out on a loaded machine); a page whose answer does not
        come in time is asked again (a read changes nothing)."""
        found, start = {}, prefix
        while True:
            body = {"key": b64(start), "range_end": b64(prefix_end(prefix)), "limit": page, "serializable": serializable}
            for attempt in range(attempts):
                try:
                    answer = self.call("/v3/kv/range", body)
                    break
                except (TimeoutError, urllib.error.URLError) as exc:
                    if isinstance(exc, urllib.error.HTTPError) or attempt == attempts - 1:
                        raise
            for kv in answer.get("kvs") or []:
                found[base64.b64decode(kv["key"]).decode()] = base64.b64decode(kv.get("value", "")).decode()
            if not answer.get("more"):
                return found
            start = max(found) + "\0"

    def members(self):
        return self.call("/v3/cluster/member/list").get("members", [])

    def status(self):
        return self.call("/v3/maintenance/status")


class UserGateway(Gateway):
    """The gateway as etcd user ``user``, with auth on: the admin pair (no CN: once auth is on the
    gateway refuses a certificate with one) and the token /v3/auth/authenticate gives, got when
    first needed. etcd refuses a token a restarted member never saw, or one from before a change
    of users or roles, without applying the request: it is sent again once with a new token, as
    etcd's own client does."""

    STALE = ("invalid auth token", "revision of auth store is old")

    def __init__(self, url, user, password, **kwargs):
        super().__init__(url, **kwargs)
        self.user, self.password, self.token = user, password, None

    def headers(self):
        if self.token is None:
            login = {"name": self.user, "password": self.password}
            self.token = self._post("/v3/auth/authenticate", login, super().headers())["token"]
        return {**super().headers(), "Authorization": self.token}

    def call(self, path, body=None):
        try:
            return super().call(path, body)
        except urllib.error.HTTPError as exc:
            answer = exc.read()
            if not any(s in answer.decode(errors="replace") for s in self.STALE):
                # Read once here: the caller gets the body again.
                raise urllib.error.HTTPError(exc.url, exc.code, exc.msg, exc.hdrs, io.BytesIO(answer)) from None
        self.token = None
        return super().call(path, body)

    def put(self, key, value, connection=None):
        try:
            return super().put(key, value, connection)
        except ValueError as exc:
            if connection is None or not any(s in str(exc) for s in self.STALE):
                raise
        self.token = None
        return super().put(key, value, connection)


def move_leadership(gateways, name, timeout=60):
    """Leadership moved to member ``name``: ``gateways`` is {name: Gateway} of the members to ask,
    ``name`` among them. Asked of the leader again each 0.5 s while leadership changes hands."""
    ids = {gateway.status()["header"]["member_id"]: member for member, gateway in gateways.items()}
    target = {member: member_id for member_id, member in ids.items()}[name]
    deadline = time.monotonic() + timeout
    while (leader := ids.get(gateways[name].status()["leader"])) != name:
        assert time.monotonic() < deadline, "leadership did not move to %s in %d s (leader: %s)" % (name, timeout, leader)
        if leader is not None:
            try:
                gateways[leader].call("/v3/maintenance/transfer-leadership", {"targetID": target})
            except (OSError, urllib.error.HTTPError):
                pass  # asked again while the leader changes
        time.sleep(0.5)


def poll(check, seconds=60, interval=0.5):
    """check() until it returns a true value, for up to ``seconds`` (a loaded host is slow: systemd
    timers and etcd fall behind when both lanes of the suite are busy); the last value otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def refused(call):
    """The body of the HTTP error ``call()`` raises, or None when it succeeds."""
    try:
        call()
    except urllib.error.HTTPError as exc:
        return exc.read().decode(errors="replace")
    return None


class Writer(threading.Thread):
    """Writes keys continuously through the client URLs in turn until stopped (bounded in time),
    and fails over the way etcd's own client does.

    A member that refuses the connection, or does not finish the TLS handshake within
    ``connect_timeout`` (a member starts listening before it serves), never received the request:
    the write goes to the next URL, and the refusal is recorded in ``rerouted``. A write that was
    sent and not acknowledged is never resent (it may have been applied): it is recorded in
    ``failed``, as is a write no member accepted a connection for. ``lost()`` lists acknowledged
    writes that cannot be read back. ``latencies``: (began, seconds) of each acknowledged write, its
    reroutes included (etcdclients.latency_p99 compares them with idle).
    """

    def __init__(self, urls, prefix="/writer/", interval=0.02, max_seconds=900, connect_timeout=1.0, tls=None, login=None):
        super().__init__(daemon=True)
        self.urls, self.prefix, self.interval, self.max_seconds = list(urls), prefix, interval, max_seconds
        self.connect_timeout = connect_timeout
        # tls(): Gateway's TLS arguments, read again for every write (a CA rotation: rotating_tls).
        self.tls = tls
        # (user, password): with auth on, the writes are that etcd user's (UserGateway).
        self.login = login
        self.acked, self.failed, self.rerouted, self.latencies = {}, [], [], []
        self._stop_event = threading.Event()

    def run(self):
        gateways = [UserGateway(u, *self.login, timeout=3) if self.login else Gateway(u, timeout=3) for u in self.urls]
        started, n = time.monotonic(), 0
        while not self._stop_event.is_set() and time.monotonic() - started < self.max_seconds:
            key, value = "%s%06d" % (self.prefix, n), "v%d-%f" % (n, time.time())
            if self.tls is not None:
                gateways = [Gateway(u, timeout=3, **self.tls()) for u in self.urls]
            self._write(key, value, [gateways[(n + i) % len(gateways)] for i in range(len(gateways))])
            n += 1
            time.sleep(self.interval)

    def _write(self, key, value, gateways):
        """One write; failures and reroutes are recorded with the time the attempt began."""
        began = time.time()
        for gw in gateways:
            attempt = time.time()
            try:
                connection = gw.connect(self.connect_timeout)
            except OSError as exc:
                self.rerouted.append((attempt, gw.url, str(exc)[:120]))
                continue
            try:
                gw.put(key, value, connection)
                self.acked[key] = value
                self.latencies.append((began, time.time() - began))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self.failed.append((attempt, gw.url, str(exc)[:120]))
            finally:
                connection.close()
            return
        self.failed.append((began, "every URL", "no member accepted a connection"))

    def stop(self):
        self._stop_event.set()
        self.join(30)

    def lost(self, gateway, serializable=False):
        stored = gateway.values(self.prefix, serializable)
        return [k for k, v in self.acked.items() if stored.get(k) != v]


class LeaderWatch:
    """Asks every member ({name: client URL}) for its status every ``interval`` seconds (50 ms), each
    in its own thread, and records who it says leads; a member that is down adds nothing, the others
    keep reporting. ``answers`` records every question: (time, name, cluster ID, or None when the
    member did not answer)."""

    def __init__(self, urls, tls=None, interval=0.05, timeout=0.5):
        self.samples, self.answers, self._stop, self.tls = [], [], threading.Event(), tls
        self.interval, self.timeout = interval, timeout
        self._threads = [threading.Thread(target=self._watch, args=(url, name), daemon=True)
                         for name, url in urls.items()]

    def _watch(self, url, name):
        gateway = Gateway(url, timeout=self.timeout)
        while not self._stop.is_set():
            asked = time.time()
            try:
                if self.tls is not None:
                    gateway = Gateway(url, timeout=self.timeout, **self.tls())
                status = gateway.status()
                answered = time.time()
                self.samples.append((answered, name, status["header"]["member_id"], status.get("leader", "0"),
                                     int(status["raftTerm"])))
                self.answers.append((answered, name, status["header"]["cluster_id"]))
            except (OSError, http.client.HTTPException, ValueError):
                self.answers.append((asked, name, None))
            self._stop.wait(self.interval)

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(5)
        self.samples.sort()
        self.answers.sort(key=lambda answer: answer[:2])

    def terms(self):
        """The raft terms seen, in order: every election or hand-off starts a new term."""
        return sorted({term for *_rest, term in self.samples})

    def handoff(self):
        """(last answer of the old leader as leader, first of the new one): the time the cluster was
        without a leader when the term last changed, as far as 50 ms samples can tell."""
        old, new = self.terms()[-2:]
        claims = [(t, term) for t, _name, me, leader, term in self.samples if leader == me]
        return max(t for t, term in claims if term == old), min(t for t, term in claims if term == new)

    def leader_at(self, when):
        """The member (host) named leader by the last answer before ``when``."""
        names = {me: name for _t, name, me, _leader, _term in self.samples}
        before = [leader for t, _name, _me, leader, _term in self.samples if t < when and leader != "0"]
        return names.get(before[-1]) if before else None


class PlaintextToTls:
    """The clients of a plaintext cluster that the adopt playbook moves to TLS: a writer and a
    leader watch over plaintext (``http``: {name: client URL}) from start() on, and over TLS
    (``https``) too from tls_from_here() on (interrupted_playbook's fault at the move to TLS: the
    members serve TLS beside plaintext from the take-over on, which made the admin pair)."""

    def __init__(self, http, https):
        self.https = https
        self.plain_writer = Writer(list(http.values()), prefix="/plain/")
        self.tls_writer = Writer(list(https.values()), prefix="/tls/")
        self.watches = [LeaderWatch(http)]

    def start(self):
        self.plain_writer.start()
        self.watches[0].start()

    def tls_from_here(self):
        self.tls_writer.start()
        self.watches.append(LeaderWatch(self.https))
        self.watches[-1].start()

    def stop(self):
        self.plain_writer.stop()
        if self.tls_writer.is_alive():
            self.tls_writer.stop()
        for watch in self.watches:
            watch.stop()

    def writers(self):
        return [self.plain_writer, self.tls_writer]


def main_process(name, unit="etcd"):
    """The unit's main process on host ``name``: its pid and its command (conmon for a container under
    Podman, docker under Docker, etcd for the binary)."""
    pid = host(name).check_output("systemctl show --property=MainPID --value %s" % unit)
    return pid, host(name).check_output("cat /proc/%s/comm" % pid)


def roll_under_writer(label, urls, *args, name="etcd", rolls=1, tls=None):
    """Run playbooks/<name>.yml with ``args`` while a client writes through every member (``urls``:
    {host: client URL}; ``tls``: the writer's files, read again for each write, as rotating_tls gives
    them); prints the figures, checks no acknowledged write was lost and that each member restarted
    (``rolls``: how many times the run rolls the members). Returns the playbook's output."""
    hosts = list(urls)
    before = {h: main_process(h)[0] for h in hosts}
    writer = Writer(urls.values(), prefix="/%s-%d/" % (label, time.time()), tls=tls)
    writer.start()
    time.sleep(1)
    started = time.time()
    rc, out = playbook(name, *args)
    elapsed = time.time() - started
    time.sleep(1)
    writer.stop()
    lost = writer.lost(Gateway(urls[hosts[0]], **(tls() if tls else {})))
    print("\n%s: run %.1f s; %d writes acknowledged, %d failed, %d lost" % (
        label, elapsed, len(writer.acked), len(writer.failed), len(lost)))
    assert rc == 0, out[-5000:]
    assert lost == [], "acknowledged writes that cannot be read back"
    assert len(writer.acked) > 100, "the client hardly wrote: %s" % writer.failed[:5]
    # A write fails only when it was in flight at a restart or the hand-off of leadership.
    assert len(writer.failed) < len(hosts) * rolls, writer.failed
    assert all(main_process(h)[0] != before[h] for h in hosts), "a member did not restart"
    return out


def backup_then_restore(urls, *args):
    """A backup (playbooks/backup.yml with ``args``), a key changed after it, then a restore of that
    snapshot: the key reads as it was at the backup, through another member (``urls``: {host: client URL})."""
    hosts = list(urls)
    gateway = Gateway(urls[hosts[0]])
    gateway.put("/restore/kept", "before")
    rc, out = playbook("backup", *args)
    assert rc == 0, out[-3000:]
    gateway.put("/restore/kept", "after")
    rc, out = playbook("restore", *args, "-e", "etcd_restore_snapshot=" + os.path.join(BACKUPS, snapshots()[-1]))
    assert rc == 0, out[-5000:]
    assert Gateway(urls[hosts[1]]).get("/restore/kept") == "before"


def assert_maintenance_runs(name, *args):
    """The maintenance timer (an hourly schedule with ``args``) put in place; its service, started on
    host ``name``, succeeds."""
    rc, out = playbook("etcd", *args, "-e", "etcd_maintenance_schedule=hourly")
    assert rc == 0, out[-3000:]
    host(name).check_output("systemctl start etcd-maintenance.service")
    result = host(name).run("systemctl show --property=Result --value etcd-maintenance.service")
    assert result.stdout.strip() == "success", host(name).check_output("journalctl -u etcd-maintenance --no-pager -o cat")


def recover_quorum_under_writer(urls, scenario, *args):
    """Two of the three members' hosts (``urls``: {host: client URL}, the first survives, leading)
    killed under a writer, recreated empty and given what molecule/<scenario>/prepare.yml gives, then
    playbooks/recover_quorum.yml with ``args``: prints the figures; no acknowledged write lost, writes
    acknowledged after the recovery, the cluster ID kept and every member back."""
    hosts = list(urls)
    survivor, lost_hosts = hosts[0], hosts[1:]
    cluster_id = Gateway(urls[survivor]).status()["header"]["cluster_id"]
    writer = Writer(urls.values(), prefix="/recover-%d/" % time.time())
    writer.start()
    deadline = time.monotonic() + 60
    while len(writer.acked) < 100 and time.monotonic() < deadline:
        time.sleep(0.5)
    # The leader holds every acknowledged write: the survivor leads when the two others die.
    move_leadership({h: Gateway(urls[h]) for h in hosts}, survivor)
    time.sleep(1)
    for name in lost_hosts:
        run_testbed("kill", name)
    acked_before_loss = len(writer.acked)
    # The dead hosts come back as new, empty machines (their disks lost), given what prepare.yml gives.
    for name in lost_hosts:
        run_testbed("recreate", name, urllib.parse.urlsplit(urls[name]).hostname)
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, "--limit", ",".join(lost_hosts),
                           os.path.join(ROOT, "molecule", scenario, "prepare.yml")],
                          env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    started = time.time()
    rc, out = playbook("recover_quorum", *args)
    elapsed = time.time() - started
    time.sleep(1)
    writer.stop()
    lost = {name: writer.lost(Gateway(urls[name])) for name in hosts}
    print("\nrecover_quorum: run %.1f s; %d writes acknowledged (%d before the loss), %d failed, %d lost" % (
        elapsed, len(writer.acked), acked_before_loss, len(writer.failed), sum(len(v) for v in lost.values())))
    assert rc == 0, out[-6000:]
    assert lost == {name: [] for name in hosts}, "acknowledged writes that cannot be read back"
    assert acked_before_loss >= 100, "the client hardly wrote before the loss: %s" % writer.failed[:5]
    assert len(writer.acked) > acked_before_loss, "no write acknowledged after the recovery"
    assert {Gateway(url).status()["header"]["cluster_id"] for url in urls.values()} == {cluster_id}
    assert len(Gateway(urls[survivor]).members()) == len(hosts)


def seed_before(gateway, members=3):
    """200 keys /before/NNN written once ``members`` members serve; returns (cluster ID, member IDs)."""
    assert poll(lambda: len([m for m in gateway.members() if m.get("clientURLs")]) == members, 60)
    for n in range(200):
        gateway.put("/before/%03d" % n, "v%d" % n)
    return gateway.status()["header"]["cluster_id"], sorted(m["ID"] for m in gateway.members())


def assert_moved_to_tls(http, https, cluster_id, member_ids, clients):
    """The cluster the adopt playbook moved to TLS (``http``, ``https``: {name: client URL}) kept its
    ID, its member IDs, the 200 keys of seed_before and every write ``clients`` (PlaintextToTls) saw
    acknowledged; plaintext is gone and a client without a certificate is refused. Returns the lost."""
    tls = Gateway(next(iter(https.values())))
    assert tls.status()["header"]["cluster_id"] == cluster_id
    members = tls.members()
    assert sorted(m["ID"] for m in members) == member_ids
    hosts = sorted(urllib.parse.urlsplit(url).hostname for url in https.values())
    assert sorted(u for m in members for u in m["peerURLs"]) == ["https://%s:2380" % a for a in hosts]
    assert sorted(u for m in members for u in m["clientURLs"]) == sorted(https.values())
    assert all(tls.get("/before/%03d" % n) == "v%d" % n for n in range(200))
    lost = clients.plain_writer.lost(tls) + clients.tls_writer.lost(tls)
    assert lost == [], lost[:10]
    assert len(clients.plain_writer.acked) > 50 and len(clients.tls_writer.acked) > 50
    for url in http.values():
        try:
            Gateway(url, timeout=3).status()
            raise AssertionError("%s still answers plaintext" % url)
        except (OSError, urllib.error.HTTPError, ValueError):
            pass
    try:
        Gateway(next(iter(https.values())), cert=False, timeout=3).status()
        raise AssertionError("a client without a certificate was served")
    except (OSError, urllib.error.URLError):
        pass
    return lost


def longest_write_gap(writers):
    """The longest time between two writes the ``writers`` had acknowledged (their values hold the
    time each was sent): the longest the cluster took no write, an upper bound of the time without a
    leader."""
    sent = sorted(float(value.split("-", 1)[1]) for writer in writers for value in writer.acked.values())
    return max(b - a for a, b in zip(sent, sent[1:]))


def longest_leaderless(watches):
    """(the longest time no member named a leader, the first raft term seen, the last) over the
    ``watches`` (LeaderWatch, every member sampled every 50 ms; several: plaintext, then TLS)."""
    led = sorted(t for watch in watches for t, _name, _me, leader, _term in watch.samples if leader != "0")
    terms = sorted({term for watch in watches for term in watch.terms()})
    return max(b - a for a, b in zip(led, led[1:])), terms[0], terms[-1]


def figures_report(scenario):
    """(file, pytest_terminal_summary hook) for a scenario's figures: the verifier writes them to the
    file, in the ephemeral directory Molecule removes on destroy, and the hook prints them at the end."""
    path = os.path.join(EPHEMERAL, scenario + "-figures.txt")

    def pytest_terminal_summary(terminalreporter):
        if os.path.exists(path):
            terminalreporter.section(scenario + " figures")
            with open(path) as figures:
                terminalreporter.write(figures.read())

    return path, pytest_terminal_summary


def snapshots(directory=BACKUPS):
    """The snapshot files in a backup directory on the controller, oldest first (each has its
    record, <snapshot>.json, beside it)."""
    return sorted(name for name in os.listdir(directory) if name.startswith("etcd-snapshot-") and name.endswith(".db"))


def inventory_secrets(variables, key_file=None, members=()):
    """{what: value} of every secret in role variables: etcd's root and users' passwords, the discovery
    token, the S3 targets' keys and, when given, the backup key (the text of ``key_file``) with the
    signing seeds derived from it for the controller and each of ``members`` (their etcd names), in
    base64 as a member's push settings hold its own."""
    found = {"etcd_auth_root_password": variables.get("etcd_auth_root_password"),
             "etcd_discovery_token": variables.get("etcd_discovery_token")}
    for user in variables.get("etcd_users") or []:
        found["etcd_users %s password" % user["name"]] = user.get("password")
    for target in variables.get("etcd_backup_targets") or []:
        for field in ("access_key", "secret_key"):
            found["target %s %s" % (target["name"], field)] = target.get(field)
    if key_file and os.path.exists(key_file):
        from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto

        with open(key_file) as handle:
            found["backup key"] = handle.read().strip()
        key = crypto.read_key(key_file)
        for name in [crypto.CONTROLLER] + [crypto.member_signer(member) for member in members]:
            found["signing seed of %s" % name] = base64.b64encode(crypto.signer(key, name).seed).decode()
    return {what: value for what, value in found.items() if value}


def leaked(output, secrets):
    """Which of ``secrets`` ({what: value}, inventory_secrets) appear in a run's output."""
    return sorted(what for what, value in secrets.items() if value in output)


def private_key_secrets(pki_dir):
    """{what: text} of every private key in a controller PKI directory (``*-key.pem``, its
    sub-directories included), each as its first line of key material, which a run's output would
    show whole even when it escapes the key's newlines."""
    found = {}
    for parent, _dirs, files in os.walk(pki_dir):
        for name in files:
            if name.endswith("-key.pem"):
                path = os.path.join(parent, name)
                with open(path) as handle:
                    body = [line for line in handle.read().splitlines() if line and not line.startswith("-----")]
                if body:
                    found["private key " + os.path.relpath(path, pki_dir)] = body[0]
    return found


def where_leaked(output, secrets):
    """For an assertion message: each leaked secret of ``secrets`` ({what: value}) with the task
    header above the first lines that show it, the value itself replaced by <what>."""
    report = []
    for what in leaked(output, secrets):
        task = "(before any task)"
        shown = []
        for line in output.splitlines():
            if line.startswith("TASK ["):
                task = line
            elif secrets[what] in line and len(shown) < 3:
                at = line.index(secrets[what])
                around = line[max(0, at - 200):at + len(secrets[what]) + 100]
                shown.append("%s: ...%s..." % (task, around.replace(secrets[what], "<%s>" % what)))
        report.append("%s in: %s" % (what, " | ".join(shown)))
    return "; ".join(report)
