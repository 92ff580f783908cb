"""The members push their scheduled snapshots off-host (etcd_backup_push), with no playbook running.

A converge turns the push on (an S3 bucket on a moto server on the test network's gateway, and a
directory on 10.250.0.42 over SSH); then only the members' timers (every 5 s here) work: one member
per window, a follower, seals each snapshot to the key file's public key and sends it to both
targets, which are pruned to their `keep` without touching other clusters' objects. A tampered
pushed backup is refused by the restore; a restore from the bucket brings back what was written
before the snapshot. With the bucket gone, the pushing member keeps its snapshots and the status
names the failure. A member that cannot reach a target gives its claim up marked failed and a
waiting member pushes that period, as it does within seconds for a member killed mid-push (its
short claim vanishes); a member whose copy hangs keeps its claim past its window, and
the waiting member skips. A last converge turns
the push off and removes its files. Then the site is lost: every host is recreated empty and the
restore of the bucket's latest backup brings back every write acknowledged before its snapshot.

`make test` (-m "not full") walks the push once: the converge that turns it on, the timers' pushes and
prunes, who pushes each window, the credentials, and the converge that turns it off, which then stops the
members' snapshot timers for the rest of the verifier (the restore puts them back). The member's drill,
the fallback, the bucket's restores and refusals, the status of a failed push and the lost site are
`make test-full`'s (restores: test_restore.py's killed restore; refusals: the unit tests).
"""

import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import time

import pytest
from etcdtest import (EPHEMERAL, ROOT, Gateway, b64, fingerprint, host, inventory_secrets, leaked, playbook, poll,
                      prefix_end, read_whole, run_testbed, why_failed)

sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins"))
from moto_server import moto_bucket, moto_server

sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto

HOSTS = ["10.250.0.40", "10.250.0.41", "10.250.0.42"]
MEMBERS = ["rst-host0", "rst-host1", "rst-host2"]  # their NODE_NAMEs: with the controller, the backups' signers
URLS = ["https://%s:2379" % h for h in HOSTS]
GATEWAY = "10.250.0.1"  # the test network's gateway: the controller, as the members reach it
BUCKET, PREFIX = "etcd-push", "etcd/etcd/"
SSH_HOST, SSH_PATH = "10.250.0.42", "/srv/etcd-push"
KEY_FILE = os.path.join(EPHEMERAL, "etcd-backup.key")
SETTINGS = "/opt/etcd/lib/etcd_backup_push.json"
STATUS = "/var/backups/etcd/push-status.json"
DRILL_STATUS = "/var/backups/etcd/drill-status.json"
METRICS = "/var/lib/prometheus/node-exporter"
WINDOW = 6  # one push per 6 s; the timer fires every 5 s: a push every 10 s
CREDENTIALS = dict(access_key="AKIDRAFTOPSPUSHPROBE", secret_key="raftops-push-secret-must-never-show")
FOREIGN = "other/etcd/etcd-snapshot-20200101T000000Z.db.enc"

state = {}


@pytest.fixture(scope="module")
def moto():
    """A moto S3 server the members reach; ``stop`` takes it away (an unreachable target), ``start`` brings
    it back, empty."""
    with moto_bucket(BUCKET, GATEWAY) as server:
        yield server


def targets(url):
    return [dict(name="offsite", type="s3", bucket=BUCKET, endpoint_url=url, keep=2, **CREDENTIALS),
            dict(name="vault", type="ssh", host=SSH_HOST, path=SSH_PATH, keep=2)]


def push_vars(url, **more):
    # The drill's timer fires once a day here: the test starts its service itself.
    return dict(etcd_backup_targets=targets(url), etcd_backup_key_file=KEY_FILE, etcd_backup_push=True,
                etcd_backup_push_window=WINDOW, etcd_backup_drill_schedule="*-*-* 03:33:00", **more)


def pushed_objects(s3):
    return sorted(o["Key"][len(PREFIX):] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", []))


def ssh_files():
    return sorted(host(SSH_HOST).run("ls %s" % SSH_PATH).stdout.split())


def journal(name, since=""):
    """The member's snapshot-and-push journal; a read that fails fails the test (no secret shows in an
    empty read)."""
    result = host(name).run("journalctl -u etcd-snapshot -o cat --no-pager %s" % since)
    assert result.rc == 0, "%s: the journal could not be read (rc %s): %s" % (name, result.rc, result.stderr[-500:])
    return result.stdout


def opened(body, name, tmp_path):
    """Decrypt a pushed backup with the key file; (result, snapshot bytes)."""
    sealed, plain = tmp_path / name, tmp_path / (name + ".db")
    sealed.write_bytes(body)
    key = crypto.read_key(KEY_FILE)
    # Signed by one of this cluster's members (the inventory's NODE_NAMEs), or refused.
    signers = crypto.cluster_signers(key, MEMBERS)
    result = crypto.decrypt_file(str(sealed), str(plain), key, signers, name=name, cluster="etcd/etcd")
    return result, plain.read_bytes()


def test_the_members_push_on_their_timers_to_both_targets_verified_and_pruned(moto, tmp_path):
    s3 = moto["s3"]
    Gateway(URLS[0]).put("/push/before", "acknowledged before the push")
    s3.put_object(Bucket=BUCKET, Key=FOREIGN, Body=b"another cluster's backup")
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "notes.txt", Body=b"not a backup")
    host(SSH_HOST).check_output("mkdir -p -m 700 %s && echo keep > %s/notes.txt" % (SSH_PATH, SSH_PATH))
    for name in HOSTS:  # node_exporter's textfile directory: the push and the drill write their metrics there
        host(name).check_output("mkdir -p %s" % METRICS)
    started = time.monotonic()
    rc, out = playbook("etcd", "-vvv", "--tags", "etcd_backup", "-e", json.dumps(push_vars(moto["url"])))
    converge = time.monotonic() - started
    assert rc == 0, why_failed(out)
    assert leaked(out, inventory_secrets(push_vars(moto["url"]), KEY_FILE, MEMBERS)) == []
    # The push to S3 runs on Debian's boto3, which the role installed from the hosts' apt source (prepare.yml).
    for name in HOSTS:
        assert host(name).run("dpkg-query -W -f='${Status}' python3-boto3").stdout == "install ok installed", name
    since = "--since=@%d" % int(time.time())

    # No playbook runs from here on: the timers push, and each target is pruned to its keep of 2.
    # A writer meanwhile, through every member: each acknowledged write and its revision, which the
    # lost site's restore (last test) must bring back up to its snapshot's revision.
    acked = state["acked"] = {}

    def pruned_on_both():
        key = "/push/acked-%03d" % len(acked)
        acked[key] = int(Gateway(URLS[len(acked) % 3]).put(key, "acked %d" % len(acked))["header"]["revision"])
        logs = "".join(journal(name, since) for name in HOSTS)
        pruned = [re.search(r"target %s .*deleted etcd-snapshot-" % t, logs) for t in ("offsite", "vault")]
        return all(pruned) and logs

    logs = poll(pruned_on_both, seconds=120, interval=2)
    assert logs, "".join(journal(name) for name in HOSTS)[-3000:]
    objects = pushed_objects(s3)
    backups = [o for o in objects if crypto.is_backup_object(o)]
    assert len(backups) == 2 and "notes.txt" in objects, objects
    assert s3.get_object(Bucket=BUCKET, Key=FOREIGN)["Body"].read() == b"another cluster's backup"
    files = ssh_files()
    assert "notes.txt" in files and len([f for f in files if crypto.is_backup_object(f)]) == 2, files

    # Each object opens with the key file, under its own name, of this cluster, compressed.
    newest = backups[-1]
    body = s3.get_object(Bucket=BUCKET, Key=PREFIX + newest)
    result, snapshot = opened(body["Body"].read(), newest, tmp_path)
    assert result["compression"] == "zlib" and result["compressed_size"] < result["size"]
    assert body["Metadata"]["plaintext-sha256"] == result["sha256"] and body["Metadata"]["format"] == "raftops-etcd-backup-4"
    assert b"/push/before" in snapshot and b"acknowledged before the push" in snapshot
    remote = host(SSH_HOST)
    name = [f for f in ssh_files() if crypto.is_backup_object(f)][-1]
    stored = remote.file("%s/%s" % (SSH_PATH, name))
    assert stored.mode == 0o600 and stored.user == "etcd-backup"  # the push account's, which the members log in as
    ssh_result, _ = opened(base64.b64decode(remote.check_output("base64 -w0 %s/%s" % (SSH_PATH, name))), name, tmp_path)
    assert ssh_result["label"]["cluster"] == "etcd/etcd"
    upload = [float(s) for s in re.findall(r"target offsite \S+: \S+ uploaded in ([0-9.]+) s", logs)]
    state.update(backups=backups, figures=dict(converge_s=round(converge, 1), snapshot_bytes=result["size"],
                                               compressed_bytes=result["compressed_size"],
                                               upload_s=max(upload) if upload else None))
    print("push figures: %s" % state["figures"])


def claims(name):
    """(claimed at, ended at, member) of each of the member's pushes, as the push logs them: each
    claim's time is read after etcd gave it the claim, each end before it released it."""
    found = []
    for line in journal(name).splitlines():
        claimed = re.match(r"claimed the push of this period at ([0-9.]+)$", line)
        ended = re.match(r"push ended at ([0-9.]+);", line)
        if claimed:
            found.append([float(claimed.group(1)), None, name])
        elif ended and found and found[-1][1] is None:
            found[-1][1] = float(ended.group(1))
    return found


def test_one_member_pushes_each_window_a_follower_by_preference():
    pushes = sorted(p for name in HOSTS for p in claims(name))
    skipped = "".join(journal(name) for name in HOSTS).count("pushes this period")
    assert len(pushes) >= 3 and skipped >= len(pushes), (pushes, skipped)
    # Never two pushes of one window, on one member or two: each push claims after the one before
    # ended (the test hosts share one clock). Snapshot times prove nothing: under load a late firing
    # of one period and the next firing take the claim in turn, their snapshots a second apart.
    assert all(a[1] is not None and a[1] < b[0] for a, b in zip(pushes, pushes[1:])), pushes
    leader_id = int(Gateway(URLS[0]).status()["leader"])
    leader = next(h for h, u in zip(HOSTS, URLS) if int(Gateway(u).status()["header"]["member_id"]) == leader_id)
    by_leader = [p for p in pushes if p[2] == leader]
    assert len(by_leader) < len(pushes) - len(by_leader), (leader, pushes)


def stop_the_snapshot_timers():
    for name in HOSTS:  # no new push meanwhile
        host(name).check_output("systemctl stop etcd-snapshot.timer")
    for name in HOSTS:  # a oneshot service is "activating" while it runs
        assert poll(lambda n=name: host(n).run("systemctl is-active etcd-snapshot.service").stdout.strip()
                    in ("inactive", "failed"), seconds=60), name


def drill_all():
    """Start every member's drill service (what its timer does); {member: (rc, its drill's journal)}."""
    done = {}
    for name in HOSTS:
        since = "--since=@%d" % int(time.time() - 1)
        rc = host(name).run("systemctl start etcd-backup-drill.service").rc
        done[name] = (rc, host(name).run("journalctl -u etcd-backup-drill -o cat --no-pager %s" % since).stdout)
    return done


@pytest.mark.full
def test_the_member_that_pushed_the_newest_backup_proves_it_on_its_timer_and_refuses_a_damaged_copy(moto):
    s3 = moto["s3"]
    stop_the_snapshot_timers()
    newest = [o for o in pushed_objects(s3) if crypto.is_backup_object(o)][-1]
    done = drill_all()
    passed = [n for n, (rc, log) in done.items() if rc == 0 and "drill passed: %s restored at revision" % newest in log]
    skipped = [n for n, (rc, log) in done.items() if rc == 0 and "skipped: %s was not made from a snapshot of this member" % newest in log]
    assert len(passed) == 1 and len(skipped) == 2, done
    pusher = host(passed[0])
    record = json.loads(pusher.check_output("cat %s" % DRILL_STATUS))
    assert record["result"] == "passed" and record["proven"]["object"] == newest, record
    assert "equals the backup's" in " ".join(record["notes"]), record
    assert pusher.file(DRILL_STATUS).mode == 0o600
    assert pusher.run("ls -a /var/tmp /tmp | grep -c drill").stdout.strip() == "0"  # nothing left behind
    assert 'raftops_etcd_backup_drill_success{cluster="etcd/etcd",member="%s"} 1' % record["member"] in \
        pusher.check_output("cat %s/etcd-backup-drill.prom" % METRICS)
    state.update(drill_s=record["seconds"], drilled=record)

    # A truncated copy on the bucket, then a tampered one on the SSH host: the drill fails naming it.
    key = PREFIX + newest
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    body = stored["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body[:-100], Metadata=stored["Metadata"])
    rc = pusher.run("systemctl start etcd-backup-drill.service").rc
    failed = json.loads(pusher.check_output("cat %s" % DRILL_STATUS))
    assert rc != 0 and failed["result"] == "failed", failed
    assert failed["problems"][0].startswith("target offsite (s3://%s/%s): %s is truncated: " % (BUCKET, PREFIX, newest))
    assert failed["proven"] == record["proven"]  # the last proven backup stays as proven
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=stored["Metadata"])
    copy = "%s/%s" % (SSH_PATH, newest)
    host(SSH_HOST).check_output("cp -p %s /root/drill-copy && printf 'X' | dd of=%s bs=1 seek=200 conv=notrunc 2>/dev/null"
                                % (copy, copy))
    rc = pusher.run("systemctl start etcd-backup-drill.service").rc
    failed = json.loads(pusher.check_output("cat %s" % DRILL_STATUS))
    assert rc != 0 and failed["problems"][0].startswith("target vault (%s:%s): %s is not what was pushed (" % (
        SSH_HOST, SSH_PATH, newest)) and failed["problems"][0].endswith("tampered or replaced"), failed
    host(SSH_HOST).check_output("mv /root/drill-copy %s" % copy)
    assert 'raftops_etcd_backup_drill_success{cluster="etcd/etcd",member="%s"} 0' % record["member"] in \
        pusher.check_output("cat %s/etcd-backup-drill.prom" % METRICS)


def claim(key):
    """(value, seconds its lease has left) of the push's claim of this period, or None."""
    gateway = Gateway(URLS[0])
    kvs = gateway.call("/v3/kv/range", {"key": b64(key)}).get("kvs") or []
    if not kvs:
        return None
    left = gateway.call("/v3/lease/timetolive", {"ID": kvs[0]["lease"]})
    return base64.b64decode(kvs[0]["value"]).decode(), int(left.get("TTL", -1))


def run_to_its_end(member, since):
    """Wait for the member's push run (its timer's service) to end; its journal since ``since``."""
    assert poll(lambda: host(member).run("systemctl is-active etcd-snapshot.service").stdout.strip()
                in ("inactive", "failed"), seconds=60), member
    return journal(member, "--since=@%d" % since)


def two_followers_and_the_claim_key():
    """(cut, waiter, claim key): the two followers, with the timers stopped and the claim of the tests'
    last push lived out (under load its lease's end can show for a moment, TTL -1, before etcd deletes
    the key), so that the claims a test sees are its own."""
    stop_the_snapshot_timers()
    leader = int(Gateway(URLS[0]).status()["leader"])
    cut, waiter = [h for h, u in zip(HOSTS, URLS) if int(Gateway(u).status()["header"]["member_id"]) != leader]
    key = json.loads(host(cut).check_output("cat %s" % SETTINGS))["lock_prefix"] + "backup-push"
    assert poll(lambda: claim(key) is None, seconds=60, interval=0.5), claim(key)
    return cut, waiter, key


@pytest.mark.full
def test_a_failed_push_is_taken_over_by_a_waiting_member_and_a_hanging_one_keeps_its_claim(moto):
    """Two followers' timers, fired in turn; the first (CUT) cannot reach the SSH target (iptables
    on it). Its copy hanging (packets dropped), it keeps its short claim alive past the window while
    the other waits: the other does not push (a claim that ran out let the next period's push start
    beside it). Its copy refused at once, it marks its claim failed: the other pushes the period."""
    cut, waiter, key = two_followers_and_the_claim_key()
    rule = "OUTPUT 1 -d %s -p tcp --dport 22" % SSH_HOST
    started = time.monotonic()
    host(cut).check_output("iptables -I %s -j DROP" % rule)
    try:
        since = int(time.time())
        host(cut).check_output("systemctl start --no-block etcd-snapshot.service")
        # The other fires while CUT holds the claim, under a lease of seconds its push renews.
        held = poll(lambda: (claim(key) or ("",))[0].startswith("backup push of rst-host%s " % cut[-1]) and claim(key),
                    seconds=60, interval=0.2)
        seen = time.monotonic()
        assert held and held[1] <= WINDOW // 3, held
        host(waiter).check_output("systemctl start --no-block etcd-snapshot.service")
        log = run_to_its_end(waiter, since)
        assert "skipped: %s pushes this period" % held[0] in log, log
        assert "encrypted " not in log, log
        # Past the end of the lease it had when seen: kept alive by the push that still hangs.
        kept = claim(key)
        assert time.monotonic() - seen > held[1] + 1 and kept and kept[0] == held[0], (held, kept)
        # Its push hangs on past its window (counted from before it was seen claiming), then fails.
        time.sleep(max(0.0, WINDOW + 1 - (time.monotonic() - seen)))
        host(cut).check_output("iptables -R %s -j REJECT --reject-with tcp-reset" % rule)
        log = run_to_its_end(cut, since)
        assert "push failed: target vault (%s:%s): ssh to %s: " % (SSH_HOST, SSH_PATH, SSH_HOST) in log, log
        assert "its claim kept past its window, is ended" in log, log
        assert claim(key) is None  # ended with the push: the next period's push may start

        time.sleep(1)
        since = int(time.time())
        host(cut).check_output("systemctl start --no-block etcd-snapshot.service")
        assert poll(lambda: claim(key), seconds=60, interval=0.2)
        time.sleep(1)  # snapshot names hold the second: the other's is not the same name
        host(waiter).check_output("systemctl start --no-block etcd-snapshot.service")
        log = run_to_its_end(cut, since)
        assert "Connection refused" in log and json.loads(host(cut).check_output("cat %s" % STATUS))["result"] == "failed"
    finally:
        host(cut).run("iptables -D %s" % rule.replace(" 1 ", " ") + " -j REJECT --reject-with tcp-reset")
        host(cut).run("iptables -D %s" % rule.replace(" 1 ", " ") + " -j DROP")
    log = run_to_its_end(waiter, since)
    assert "falling back: this member pushes in place of the member that claimed this period" in log, log
    pushed = re.search(r"^encrypted (etcd-snapshot-\S+\.db\.enc)", log, re.M).group(1)
    assert json.loads(host(waiter).check_output("cat %s" % STATUS))["result"] == "pushed"
    assert pushed in pushed_objects(moto["s3"]) and pushed in ssh_files()
    print("the fallback test took %.1f s" % (time.monotonic() - started))


@contextlib.contextmanager
def push_window(names, seconds):
    """The push's window of these members' settings (what a converge with etcd_backup_push_window
    writes), put back after."""
    script = "import json; p = %r; d = json.load(open(p)); d['window'] = %d; json.dump(d, open(p, 'w'))"
    for name in names:
        host(name).check_output("cp -p %s %s.saved && python3 -c %s" % (SETTINGS, SETTINGS,
                                                                        json.dumps(script % (SETTINGS, seconds))))
    try:
        yield
    finally:
        for name in names:
            host(name).run("mv %s.saved %s" % (SETTINGS, SETTINGS))


@pytest.mark.full
def test_a_claimant_killed_mid_push_is_taken_over_by_a_waiting_member_within_seconds(moto):
    """CUT claims the period and hangs in its copy (packets to the SSH target dropped); the other member
    fires and waits for its result; CUT's push is SIGKILLed. Its claim, which nothing renews now,
    vanishes within its lease (10 s here), and the waiting member takes the period over and pushes it:
    within seconds, not after the window (60 s here), when nobody would have pushed the period."""
    cut, waiter, key = two_followers_and_the_claim_key()
    rule = "OUTPUT 1 -d %s -p tcp --dport 22" % SSH_HOST
    host(cut).check_output("iptables -I %s -j DROP" % rule)
    try:
        with push_window([cut, waiter], 60):
            since = int(time.time())
            host(cut).check_output("systemctl start --no-block etcd-snapshot.service")
            held = poll(lambda: (claim(key) or ("",))[0].startswith("backup push of rst-host%s " % cut[-1]) and claim(key),
                        seconds=60, interval=0.2)
            assert held and held[1] <= 10, held  # a claim of seconds, not of the window
            host(waiter).check_output("systemctl start --no-block etcd-snapshot.service")
            # The waiting member's push runs and finds the claim held; then CUT's push dies mid-copy.
            assert poll(lambda: host(waiter).run("pgrep -f '[e]tcd_backup_push.py'").rc == 0, seconds=60, interval=0.2)
            time.sleep(2)
            killed_at = time.time()
            host(cut).check_output("systemctl kill -s KILL etcd-snapshot.service")
            log = run_to_its_end(waiter, since)
    finally:
        host(cut).run("iptables -D %s -j DROP" % rule.replace(" 1 ", " "))
    assert ("taking the period over: the claim of this period vanished without being marked pushed (its holder died, "
            "or could not keep it alive)") in log, log
    assert "falling back: this member pushes in place of the member that claimed this period" in log, log
    claimed_at = float(re.search(r"^claimed the push of this period at ([0-9.]+)$", log, re.M).group(1))
    assert claimed_at - killed_at <= 10 + 2 + 3, (killed_at, claimed_at)  # its lease, a poll, slack: not the window
    pushed = re.search(r"^encrypted (etcd-snapshot-\S+\.db\.enc)", log, re.M).group(1)
    assert json.loads(host(waiter).check_output("cat %s" % STATUS))["result"] == "pushed"
    assert pushed in pushed_objects(moto["s3"]) and pushed in ssh_files()
    # The period stays marked pushed for the rest of its window: nobody pushes it twice.
    marked = claim(key)
    assert marked and marked[0].endswith(" (pushed)") and marked[0].startswith("backup push of rst-host%s " % waiter[-1])
    print("a killed claimant's period was pushed by another member %.1f s after the kill" % (claimed_at - killed_at))


def test_the_push_credentials_are_root_0600_and_in_no_log_or_unit():
    for name in HOSTS:
        h = host(name)
        settings = h.file(SETTINGS)
        assert settings.mode == 0o600 and settings.user == "root"
        assert CREDENTIALS["secret_key"] in h.check_output("cat %s" % SETTINGS)
        key = h.file("/opt/etcd/lib/etcd_backup_push_ssh")
        assert key.mode == 0o600 and key.user == "root"
        shown = h.check_output("systemctl show etcd-snapshot.service etcd-snapshot.timer") + journal(name)
        assert CREDENTIALS["secret_key"] not in shown and CREDENTIALS["access_key"] not in shown
        # The member holds the public key only: nothing of the key file is on it. It holds its own
        # signing key (derived from the key file for it alone), no other signer's, and shows it nowhere.
        with open(KEY_FILE) as handle:
            assert handle.read().strip() not in h.check_output("cat %s" % SETTINGS)
        pushed = json.loads(h.check_output("cat %s" % SETTINGS))
        key = crypto.read_key(KEY_FILE)
        own = crypto.signer(key, pushed["signer"])
        assert pushed["signer"] == "member:" + MEMBERS[HOSTS.index(name)]
        assert base64.b64decode(pushed["signing_seed"]) == own.seed
        assert crypto.decoded_signers(pushed["signers"]) == crypto.cluster_signers(key, MEMBERS)
        others = [crypto.signer(key, s).seed for s in pushed["signers"] if s != pushed["signer"]]
        assert not any(base64.b64encode(seed).decode() in json.dumps(pushed) for seed in others)
        assert pushed["signing_seed"] not in shown


def sections(output):
    """{name: (exit status, output)} of a script that echoed ``== name`` before each command and ``rc=N`` after."""
    found = {}
    for part in output.split("== ")[1:]:
        name, _newline, rest = part.partition("\n")
        text, _rc, status = rest.rpartition("rc=")
        found[name] = (int(status.strip()), text)
    return found


def test_a_members_push_key_does_only_the_push_on_the_ssh_target_s_host_and_only_from_the_member(tmp_path):
    """The member's key, as whoever broke into the member holds it: on the SSH target's host it logs in
    only as the account etcd-backup, only to the forced command (the push's protocol on the target's
    directory), only from the member's address. No shell, no file outside that directory, no other name;
    root's login refuses it, and so does the host from anywhere else."""
    member, key = HOSTS[0], "/opt/etcd/lib/etcd_backup_push_ssh"
    ssh = ("ssh -i %s -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=10 "
           "-o UserKnownHostsFile=/opt/etcd/lib/etcd_backup_push_known_hosts -T" % key)
    tries = dict([
        ("list", "%s etcd-backup@%s list %s" % (ssh, SSH_HOST, SSH_PATH)),
        ("id", "%s etcd-backup@%s id" % (ssh, SSH_HOST)),
        ("shell", "%s etcd-backup@%s 'touch /tmp/pushed-shell; cat /etc/shadow'" % (ssh, SSH_HOST)),
        ("outside", "%s etcd-backup@%s get %s ../../etc/shadow" % (ssh, SSH_HOST, SSH_PATH)),
        ("other directory", "%s etcd-backup@%s head /etc etcd-snapshot-1.db.enc 100" % (ssh, SSH_HOST)),
        ("bad put", "echo evil | %s etcd-backup@%s put %s ../evil.enc 5 %s" % (ssh, SSH_HOST, SSH_PATH, "0" * 64)),
        ("root", "%s root@%s id" % (ssh, SSH_HOST))])
    script = "; ".join("echo '== %s'; %s 2>&1; echo rc=$?" % (name, command) for name, command in tries.items())
    done = sections(read_whole(member, script))
    assert set(done) == set(tries), done
    assert done["list"][0] == 0 and re.search(r"^etcd-snapshot-\S+\.db\.enc \d+ [0-9.]+$", done["list"][1], re.M), done
    refused = "etcd_backup_receive: refused: "
    assert done["id"][0] == 2 and done["id"][1].startswith(refused + "'id' is not a request of the backup push: "), done["id"]
    assert done["shell"][0] == 2 and refused + "'touch /tmp/pushed-shell; cat /etc/shadow' is not a request" in done["shell"][1]
    assert done["outside"] == (2, refused + "'../../etc/shadow' is not a backup object's name (etcd-snapshot-<...>.enc or etcd-stream-<first>-<last>.enc)\n")
    assert done["other directory"] == (2, refused + "'/etc' is not a directory this key may use\n")
    assert done["bad put"] == (2, refused + "'../evil.enc' is not a backup object's name (etcd-snapshot-<...>.enc or etcd-stream-<first>-<last>.enc)\n")
    assert done["root"][0] == 255 and "Permission denied" in done["root"][1], done["root"]
    target = host(SSH_HOST)
    assert read_whole(SSH_HOST, "ls /tmp/pushed-shell /srv/evil.enc 2>&1").count("No such file") == 2
    account = target.user("etcd-backup")
    assert account.uid != 0 and account.shell == "/bin/sh" and target.file(SSH_PATH).user == "etcd-backup"
    assert target.file(SSH_PATH).mode == 0o700
    # The same key from another address (the controller): refused by from=, even for the protocol.
    private = tmp_path / "member-key"
    private.write_text(read_whole(member, "cat %s" % key))
    private.chmod(0o600)
    elsewhere = subprocess.run(["ssh", "-F", "/dev/null", "-i", str(private), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
                                "-T", "etcd-backup@" + SSH_HOST, "list " + SSH_PATH], capture_output=True, text=True, timeout=60)
    assert elsewhere.returncode == 255 and "Permission denied" in elsewhere.stderr, elsewhere
    assert elsewhere.stdout == ""


def watch_once(url, start_revision, prefix):
    """Open a watch of ``prefix`` from ``start_revision`` through the gateway's /v3/watch stream and
    return its first message that is not only the creation (or the creation, when nothing else
    comes within the timeout)."""
    gateway = Gateway(url, timeout=5)
    connection = gateway.connect(5)
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    body = {"create_request": {"key": b64(prefix), "range_end": b64(end), "start_revision": str(start_revision)}}
    connection.request("POST", "/v3/watch", json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    first = None
    try:
        for _ in range(3):
            line = response.readline()
            if not line:
                break
            result = json.loads(line).get("result", {})
            first = first or result
            if result.get("compact_revision") or result.get("canceled") or result.get("events"):
                return result
    except OSError:
        pass
    finally:
        connection.close()
    return first


@pytest.mark.full
def test_a_tampered_or_truncated_pushed_backup_is_refused_and_an_intact_one_restores_from_the_bucket_bumping_the_revision(moto):
    """The restore of an intact backup also raises the revision past every revision the old cluster
    handed out and marks it compacted: a watcher of the old cluster, watching again from where it
    was, is told that its revision was compacted (etcd 3.5.30's etcdutl, molecule.yml)."""
    s3 = moto["s3"]
    stop_the_snapshot_timers()  # no new push while the restore reads the bucket
    older, newest = [o for o in pushed_objects(s3) if crypto.is_backup_object(o)]
    # The bucket as the timers left it, for the lost site's restore (last test): {name: (body, metadata)}.
    objects = {name: s3.get_object(Bucket=BUCKET, Key=PREFIX + name) for name in (older, newest)}
    state["bucket"] = {name: (obj["Body"].read(), obj["Metadata"]) for name, obj in objects.items()}
    body = state["bucket"][newest][0]
    s3.put_object(Bucket=BUCKET, Key=PREFIX + newest, Body=body[:-40] + bytes([body[-40] ^ 1]) + body[-39:])
    before = fingerprint(HOSTS)
    extra = json.dumps(dict(push_vars(moto["url"]), etcd_restore_target="offsite", etcd_restore_snapshot="latest"))
    rc, out = playbook("restore", "-e", extra)
    assert rc != 0, out[-3000:]
    assert "object %s on target offsite: authentication failed: tampered or wrong key" % newest in out, out[-3000:]
    assert "nothing was changed" in out and fingerprint(HOSTS) == before
    s3.put_object(Bucket=BUCKET, Key=PREFIX + newest, Body=body[:-100])  # cut short: refused as such
    rc, out = playbook("restore", "-e", extra)
    assert rc != 0 and "object %s on target offsite is truncated: it ends at byte " % newest in out, out[-3000:]
    assert "nothing was changed" in out and fingerprint(HOSTS) == before
    # The old cluster goes on after the backups: these revisions are lost with it. A watcher of the
    # old cluster sees its events up to old_revision.
    for i in range(30):
        Gateway(URLS[0]).put("/push/after-%02d" % i, "written after the backups")
    old_revision = int(Gateway(URLS[0]).status()["header"]["revision"])
    assert watch_once(URLS[1], old_revision, "/push/")["events"]
    started = time.monotonic()
    extra = json.dumps(dict(push_vars(moto["url"]), etcd_restore_target="offsite", etcd_restore_snapshot=older))
    rc, out = playbook("restore", "-e", extra)
    assert rc == 0, why_failed(out)
    state["figures"]["restore_from_s3_s"] = round(time.monotonic() - started, 1)
    # Named, the object is the report's name for it, with its target.
    bumped = re.search(r"restored %s of target offsite: revision (\d+), \d+ keys, cluster token \S+; revision bumped by "
                       r"(\d+), marked compacted" % re.escape(older), " ".join(out.split()))
    assert bumped, out[-3000:]
    state["older_revision"] = int(bumped.group(1))
    assert "WARNING:" not in out
    gateway = Gateway(URLS[1])
    assert gateway.get("/push/before") == "acknowledged before the push"
    assert gateway.get("/push/after-00") is None
    # Watching again from where it was, the watcher learns its revision was compacted; every new
    # revision is above every revision the old cluster handed out.
    answer = watch_once(URLS[1], old_revision + 1, "/push/")
    assert int(answer.get("compact_revision", 0)) >= int(bumped.group(1)) + int(bumped.group(2)), answer
    assert answer.get("canceled") is True, answer
    assert int(Gateway(URLS[2]).put("/push/after-restore", "new")["header"]["revision"]) > old_revision


@pytest.mark.full
def test_a_member_whose_target_is_gone_keeps_its_snapshots_and_the_status_names_the_failure(moto):
    moto["stop"]()
    try:
        a_target_gone_is_named()
    finally:
        # The tests after this one push to the bucket again (an empty one, at the same URL).
        moto["start"]()


def a_target_gone_is_named():
    stopped = int(time.time())
    for name in HOSTS:
        host(name).check_output("systemctl start etcd-snapshot.timer")

    def failed():  # a push since the bucket went (the fallback test left a failed one of its own)
        for name in HOSTS:
            text = host(name).run("cat %s" % STATUS).stdout
            record = json.loads(text) if text else {}
            if record.get("result") == "failed" and record.get("targets") and record.get("time", 0) >= stopped:
                return name, record
        return None

    found = poll(failed, seconds=60, interval=2)
    assert found, [host(n).run("cat %s" % STATUS).stdout for n in HOSTS]
    name, record = found
    errors = {t["name"]: t.get("error") for t in record["targets"]}
    assert errors["offsite"].startswith("target offsite (s3://%s/%s): " % (BUCKET, PREFIX)), errors
    assert errors["vault"] is None, errors  # the SSH target still got it
    # Its snapshots stay as the timer keeps them (the newest 2 here), the failed one saved among them.
    local = [f for f in host(name).run("ls /var/backups/etcd").stdout.split() if re.match(r"etcd-snapshot-.*\.db$", f)]
    assert len(local) == 2, local
    assert "saved /var/backups/etcd/%s (" % record["snapshot"] in journal(name)
    assert "push failed: target offsite (s3://%s/%s): " % (BUCKET, PREFIX) in journal(name)
    assert "the local snapshots are kept" in journal(name)
    # The metrics (node_exporter's textfile) name the failed target; the member's pushes since the
    # bucket went all failed the same way, so the file holds this failure.
    metrics = host(name).check_output("cat %s/etcd-backup-push.prom" % METRICS)
    labels = 'cluster="etcd/etcd",member="%s"' % record["member"]
    assert 'raftops_etcd_backup_push_success{%s} 0' % labels in metrics, metrics
    assert 'raftops_etcd_backup_push_target_success{%s,target="offsite"} 0' % labels in metrics, metrics
    assert 'raftops_etcd_backup_push_target_success{%s,target="vault"} 1' % labels in metrics, metrics
    rc, out = playbook("status", "-e", json.dumps(push_vars("http://%s:9" % GATEWAY, etcd_backup_max_age="1s")))
    assert rc == 0, why_failed(out)
    # The advice's lines, as the debug task lists them (quoted, a comma after each), joined again.
    text = " ".join(line.strip().rstrip(",").strip('"').strip() for line in out.splitlines())
    assert re.search(r"rst-host\d: its last off-host push \(etcd-snapshot-\d{8}T\d{6}Z\.db, [^)]*\) failed: target "
                     r"offsite \(s3://%s/%s\): " % (BUCKET, PREFIX), text), out[-3000:]
    # The drills (test above): the proven backup's age, a problem past etcd_backup_max_age, and the
    # pusher's last drill, which failed on the damaged copy after the one that passed.
    drilled = state["drilled"]
    assert re.search(r"backups: the newest proven backup, %s, is \d+ minutes old, more than etcd_backup_max_age=1s "
                     r"\(proven by %s, revision \d+, \d+ keys\)" % (re.escape(drilled["object"]), drilled["member"]),
                     text), out[-3000:]
    assert "%s: its last drill (%s, " % (drilled["member"], drilled["object"]) in text, out[-3000:]
    assert CREDENTIALS["secret_key"] not in out


# The environment a member's push and drill take S3 credentials from when a target has none: what an
# operator's drop-in (or an instance profile) gives them (docs/backup-targets.md).
DROP_INS = ["/etc/systemd/system/%s.service.d/raftops-test-s3.conf" % unit for unit in ("etcd-snapshot", "etcd-backup-drill")]
ENVIRONMENT_KEYS = dict(access_key="AKIDFROMTHEMEMBERSENV", secret_key="raftops-env-secret-never-in-settings")


def newest_push(s3, since):
    """The newest backup object of the bucket uploaded after ``since`` (a time), or None."""
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    fresh = [o for o in listed if crypto.is_backup_object(o["Key"][len(PREFIX):]) and o["LastModified"].timestamp() > since]
    return max(fresh, key=lambda o: o["Key"])["Key"][len(PREFIX):] if fresh else None


def test_a_push_larger_than_one_part_with_no_key_in_the_settings_takes_the_member_s_environment(moto, tmp_path):
    """The S3 target without keys and with parts of 5 MiB; 7 MiB of incompressible values in the keyspace. The
    members' pushes fail naming the missing credentials until their services' environment gives them (a
    systemd drop-in), then send each backup in parts, and nothing of the keys is in the push's settings."""
    s3 = moto["s3"]
    for index in range(10):  # 700 KiB of random bytes each, in base64: about 7 MiB compressed
        Gateway(URLS[0]).put("/push/large-%d" % index, base64.b64encode(os.urandom(700 * 1024)).decode())
    keyless = dict(push_vars(moto["url"]), etcd_backup_targets=[
        dict(name="offsite", type="s3", bucket=BUCKET, endpoint_url=moto["url"], keep=2, part_size_mib=5),
        targets(moto["url"])[1]])
    rc, out = playbook("etcd", "--tags", "etcd_backup", "-e", json.dumps(keyless))
    assert rc == 0, why_failed(out)
    since = "--since=@%d" % int(time.time())
    for name in HOSTS:
        pushed = json.loads(host(name).check_output("cat %s" % SETTINGS))
        assert [(t["access_key"], t["secret_key"], t["part_size_mib"]) for t in pushed["targets"] if t["type"] == "s3"] == [
            ("", "", 5)], pushed["targets"]
    failed = poll(lambda: "Unable to locate credentials" in "".join(journal(name, since) for name in HOSTS), seconds=90)
    assert failed, "".join(journal(name, since) for name in HOSTS)[-3000:]

    environment = "[Service]\nEnvironment=AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n" % (
        ENVIRONMENT_KEYS["access_key"], ENVIRONMENT_KEYS["secret_key"])
    for name in HOSTS:
        for drop_in in DROP_INS:
            host(name).check_output("mkdir -p %s && printf '%s' > %s" % (os.path.dirname(drop_in), environment, drop_in))
        host(name).check_output("systemctl daemon-reload")
    started = time.time()
    newest = poll(lambda: newest_push(s3, started), seconds=120, interval=2)
    assert newest, "".join(journal(name) for name in HOSTS)[-3000:]
    stored = s3.head_object(Bucket=BUCKET, Key=PREFIX + newest)
    assert stored["ContentLength"] > 5 * 1024 * 1024 and re.search(r"-[2-9]\"?$", stored["ETag"]), stored
    result, snapshot = opened(s3.get_object(Bucket=BUCKET, Key=PREFIX + newest)["Body"].read(), newest, tmp_path)
    assert b"/push/large-9" in snapshot and result["size"] == len(snapshot)
    for name in HOSTS:
        assert ENVIRONMENT_KEYS["secret_key"] not in host(name).check_output("cat %s" % SETTINGS)
    # The rest of the verifier restores small snapshots.
    Gateway(URLS[0]).call("/v3/kv/deleterange", {"key": b64("/push/large-"), "range_end": b64(prefix_end("/push/large-"))})


def test_turning_the_push_off_removes_its_files_and_credentials():
    rc, out = playbook("etcd", "--tags", "etcd_backup", "-e",
                       json.dumps(dict(etcd_backup_key_file=KEY_FILE)))
    assert rc == 0, why_failed(out)
    for name in HOSTS:
        h = host(name)
        h.check_output("rm -f %s && systemctl daemon-reload" % " ".join(DROP_INS))
        for path in (SETTINGS, "/opt/etcd/lib/etcd_backup_push_ssh", "/opt/etcd/lib/etcd_backup_push.py",
                     "/opt/etcd/lib/etcd_s3.py", "/opt/etcd/lib/etcd_backup_drill.py",
                     "/etc/systemd/system/etcd-backup-drill.timer"):
            assert not h.file(path).exists, (name, path)
        assert "etcd_backup_push.py" not in h.check_output("cat /usr/local/bin/etcd-snapshot")
    # The members' keys are gone from the SSH target's host too: from the push account's authorized_keys,
    # and from root's authorized_keys2, where earlier versions put them (none at all holds no key). A read
    # that did not run fails.
    keys = read_whole(SSH_HOST, "cat /var/lib/etcd-backup/.ssh/authorized_keys /root/.ssh/authorized_keys2 2>/dev/null")
    assert "etcd backup push" not in keys
    print("push figures: %s, drill %s s" % (state.get("figures"), state.get("drill_s")))
    # The push's tests are done: the members' timers (a snapshot every 5 s, molecule.yml), which this
    # converge started again, stop here. The rest of the verifier has no use for them (test_restore.py
    # reads what they did in their journal); the restore starts them again, and the lost site's (below,
    # make test-full) recreates the hosts.
    stop_the_snapshot_timers()


@pytest.mark.full
def test_a_lost_site_comes_back_from_the_bucket_latest_on_fresh_hosts_with_every_acknowledged_write():
    """Every host is lost: all three are recreated empty, and the bucket (a new S3 server holding the
    two backups the timers pushed) is all that is left besides the inventory, etcd_pki_dir and the
    key file. The restore of ``latest`` installs, configures and restores every member from the
    newest backup: every write acknowledged before its snapshot reads back with its value."""
    for name in HOSTS:
        run_testbed("recreate", name, name)
    # rst-host0's data filesystem, as prepare.yml mounts it (test_restore.py shrinks it).
    host(HOSTS[0]).check_output("mkdir -p /srv/etcd && mount -t tmpfs -o size=512m,mode=0755 data /srv/etcd")
    with moto_server(host=GATEWAY) as url:
        import boto3
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for name, (body, metadata) in state["bucket"].items():
            s3.put_object(Bucket=BUCKET, Key=PREFIX + name, Body=body, Metadata=metadata)
        started = time.monotonic()
        rc, out = playbook("restore", "-e", json.dumps(dict(
            etcd_backup_targets=targets(url)[:1], etcd_backup_key_file=KEY_FILE,
            etcd_restore_target="offsite", etcd_restore_snapshot="latest")))
        state["figures"]["restore_fresh_site_s"] = round(time.monotonic() - started, 1)
    assert rc == 0, why_failed(out)
    assert CREDENTIALS["secret_key"] not in out
    # The report names the object latest resolved to: the newer of the two in the bucket.
    restored = re.search(r"restored latest \((etcd-snapshot-\d{8}T\d{6}Z\.db\.enc)\) of target offsite: revision (\d+), "
                         r"\d+ keys", " ".join(out.split()))
    assert restored, out[-3000:]
    assert restored.group(1) == max(state["bucket"]), (restored.group(1), sorted(state["bucket"]))
    revision = int(restored.group(2))
    assert revision > state["older_revision"], "latest is not the newer of the two backups"
    acked = state["acked"]
    assert acked and max(acked.values()) <= revision, (acked, revision)
    for url in URLS:
        gateway = Gateway(url)
        assert {key: gateway.get(key) for key in acked} == {key: "acked %d" % i for i, key in enumerate(acked)}
    assert sorted(m["name"] for m in Gateway(URLS[0]).members()) == ["rst-host0", "rst-host1", "rst-host2"]
    print("the lost site restored from the bucket's latest in %s s" % state["figures"]["restore_fresh_site_s"])
