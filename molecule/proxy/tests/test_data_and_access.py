"""Data and access as code (docs/access.md) on the proxy scenario's cluster, before its proxy tests:
keys, a lease, a lock two plays contend for, users, roles and auth, through the collection's
modules and lookup from a playbook (data_and_access.yml, one tag per test). Auth is disabled again
at the end, so the proxy tests run as on any cluster.
"""

import os
import subprocess
import time

from etcdtest import EPHEMERAL, INVENTORY, Gateway, ansible_env

HERE = os.path.dirname(os.path.abspath(__file__))
URL = "https://10.250.0.100:2379"


def play(tag, *args):
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(HERE, "data_and_access.yml"), "--tags", tag, *args]
    return subprocess.Popen(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(proc):
    out = proc.communicate(timeout=300)[0]
    return proc.returncode, out


def test_keys_and_prefixes_are_put_read_guarded_and_deleted():
    rc, out = finished(play("kv"))
    assert rc == 0, out[-3000:]
    assert Gateway(URL).get("config/a") is None


def test_a_key_on_a_lease_is_gone_when_the_lease_expires():
    rc, out = finished(play("lease"))
    assert rc == 0, out[-3000:]
    assert Gateway(URL).get("leased/a") == "here"
    deadline = time.monotonic() + 20
    while Gateway(URL).get("leased/a") is not None:
        assert time.monotonic() < deadline, "leased/a outlived its 5 s lease by 15 s"
        time.sleep(1)


def test_two_plays_contending_for_one_lock_never_hold_it_together():
    logs = [os.path.join(EPHEMERAL, "lock-%d.log" % i) for i in (1, 2)]
    for log in logs:
        if os.path.exists(log):
            os.remove(log)
    procs = [play("lock", "-e", "holder=play-%d log=%s" % (i, log)) for i, log in enumerate(logs, 1)]
    for proc in procs:
        rc, out = finished(proc)
        assert rc == 0, out[-3000:]
    held = []
    for log in logs:
        with open(log) as times:
            held.append([float(x) for x in times.read().split()])
    (start1, end1), (start2, end2) = held
    assert end1 <= start2 or end2 <= start1, ((start1, end1), (start2, end2))


def test_an_application_role_reads_and_writes_its_prefixes_only():
    rc, out = finished(play("auth"))
    assert rc == 0, out[-3000:]
    gateway = Gateway(URL)
    assert gateway.get("app/x") == "by-app" and gateway.get("other/z") is None
