"""Helpers shared by the scenarios' testinfra verifiers.

They drive the collection the way an operator does (``ansible-playbook`` against Molecule's
inventory) and talk to the cluster from the controller with nothing but urllib + ssl and the
admin client pair, independently of the collection's own client.
"""

import base64
import json
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.error
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


def playbook(name, *args, check=False, timeout=900):
    """Run ``playbooks/<name>.yml`` of the collection; returns (returncode, output)."""
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", name + ".yml"), *args]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout


def recap(output):
    """The PLAY RECAP counters per host: {host: {'ok': n, 'changed': n, ...}}."""
    counts = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        counts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
    return counts


def host(name):
    return testinfra.get_host("ansible://" + name, ansible_inventory=INVENTORY)


def group_hosts(group="etcd"):
    out = subprocess.run(["ansible-inventory", "-i", INVENTORY, "--list"], env=ansible_env(),
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out)[group]["hosts"]


def fingerprint(names):
    """What must not change when a run is refused: files, binaries, certs and the running process."""
    state = {}
    for name in names:
        h = host(name)
        cmd = (
            "sha256sum /etc/etcd/* /etc/etcd/pki/* /etc/systemd/system/etcd.service 2>/dev/null; "
            "readlink /usr/local/bin/etcd; ls /opt/etcd 2>/dev/null; "
            "systemctl show etcd -p MainPID -p NRestarts -p ExecMainStartTimestamp; "
            "ls -a /var/lib/etcd/member 2>/dev/null"
        )
        state[name] = h.run(cmd).stdout
    return state


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Gateway:
    """An etcd member's v3 JSON gateway, reached with the admin client pair (no ALPN: HTTP/1.1)."""

    def __init__(self, url, cert=None, key=None, ca=None, timeout=5):
        self.url = url.rstrip("/")
        self.timeout = timeout
        ctx = ssl.create_default_context(cafile=ca or os.path.join(PKI, "ca.pem"))
        if cert is not False:
            ctx.load_cert_chain(cert or os.path.join(PKI, "admin.pem"), key or os.path.join(PKI, "admin-key.pem"))
        self.ctx = ctx

    def call(self, path, body=None):
        req = urllib.request.Request(self.url + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as resp:
            return json.load(resp)

    def put(self, key, value):
        return self.call("/v3/kv/put", {"key": b64(key), "value": b64(value)})

    def get(self, key):
        kvs = self.call("/v3/kv/range", {"key": b64(key)}).get("kvs") or []
        return base64.b64decode(kvs[0]["value"]).decode() if kvs else None

    def count(self, prefix):
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return int(self.call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(end), "count_only": True})
                   .get("count", 0))

    def members(self):
        return self.call("/v3/cluster/member/list").get("members", [])

    def status(self):
        return self.call("/v3/maintenance/status")


class Writer(threading.Thread):
    """Writes keys continuously, round robin over client URLs, until stopped (bounded in time).

    Records every acknowledged write and every failed one; ``lost()`` lists acknowledged writes
    that cannot be read back.
    """

    def __init__(self, urls, prefix="/writer/", interval=0.02, max_seconds=900):
        super().__init__(daemon=True)
        self.urls, self.prefix, self.interval, self.max_seconds = list(urls), prefix, interval, max_seconds
        self.acked, self.failed = {}, []
        self._stop_event = threading.Event()

    def run(self):
        gateways = [Gateway(u, timeout=3) for u in self.urls]
        started, n = time.monotonic(), 0
        while not self._stop_event.is_set() and time.monotonic() - started < self.max_seconds:
            key, value = "%s%06d" % (self.prefix, n), "v%d-%f" % (n, time.time())
            gw = gateways[n % len(gateways)]
            try:
                gw.put(key, value)
                self.acked[key] = value
            except (OSError, urllib.error.URLError, ValueError) as exc:
                self.failed.append((time.time(), gw.url, str(exc)[:120]))
            n += 1
            time.sleep(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(30)

    def lost(self, gateway):
        return [k for k, v in self.acked.items() if gateway.get(k) != v]
