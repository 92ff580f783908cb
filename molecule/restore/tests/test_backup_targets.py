"""Off-host, encrypted backups (docs/backup-targets.md), before the restore tests rebuild the cluster.

The backup playbook sends each snapshot, encrypted on the controller, to an S3 bucket (a moto
server on the controller) and to a directory on 10.250.0.42 over SSH, and prunes both to their
`keep`; neither copy holds the database or the key in the clear. The restore drill takes the newest
backup from the SSH target and restores it; a restore's latest passes over a backup copied under a
newer name, naming it, and refuses it when named, with every host as it was (a tampered one on a
bucket: test_backup_push.py).

All of it is `make test-full`'s: `make test` walks the backup to the controller (test_restore.py), the
members' push to both targets (test_backup_push.py) and the drill (test_drill.py); the refusals are
decided in the unit tests (test_etcd_backup_target.py, test_settings_problems.py, test_etcd_backup_plan.py).
"""

import json
import os
import stat
import sys
import time

import pytest
from etcdtest import (BACKUPS, EPHEMERAL, ROOT, fingerprint, host, interrupted_playbook, inventory_secrets, leaked,
                      playbook, snapshots, why_failed)

sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins"))
# The unit tests' moto server, found through the path above.
from moto_server import moto_server

HOSTS = ["10.250.0.40", "10.250.0.41", "10.250.0.42"]
BUCKET = "etcd-offsite"
SSH_HOST, SSH_PATH = "10.250.0.42", "/srv/etcd-offsite"
KEY_FILE = os.path.join(EPHEMERAL, "etcd-backup.key")
MAGIC = b"RAFTOPS-ETCD-BACKUP"
BBOLT_MAGIC = b"\xed\xda\x0c\xed"  # 0xED0CDAED, little-endian, in every bbolt meta page
# moto takes any keys: these are told apart from anything else a run prints.
CREDENTIALS = dict(access_key="AKIDRAFTOPSLEAKPROBE", secret_key="raftops-s3-secret-must-never-show", region="us-east-1")
COPY = "etcd-snapshot-29991231T235959Z.db.enc"  # a backup copied under a newer name

@pytest.fixture(scope="module")
def moto_url():
    """A moto S3 server on the controller (the targets are used from the controller)."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def s3(moto_url):
    import boto3
    client = boto3.client("s3", endpoint_url=moto_url, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="module")
def targets(moto_url, s3):
    return [dict(name="offsite", type="s3", bucket=BUCKET, prefix="rst/", endpoint_url=moto_url, keep=1,
                 **CREDENTIALS),
            dict(name="vault", type="ssh", host=SSH_HOST, path=SSH_PATH, keep=1)]


def extra(targets, **more):
    return ["-e", json.dumps(dict(etcd_backup_targets=targets, etcd_backup_key_file=KEY_FILE, **more))]


def objects(s3):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.mark.full
def test_backups_go_off_host_encrypted_and_pruned_to_keep_and_no_key_shows_at_vvv(targets, s3):
    rc, out = playbook("backup", *extra(targets))
    assert rc == 0, why_failed(out)
    time.sleep(1)  # snapshot names hold the second
    rc, out = playbook("backup", "-vvv", *extra(targets))
    assert rc == 0, why_failed(out)
    assert leaked(out, inventory_secrets(dict(etcd_backup_targets=targets), KEY_FILE)) == []
    assert "target offsite (s3://%s/rst/): " % BUCKET in out and "MiB/s" in out, out[-3000:]
    assert "target vault (%s:%s): " % (SSH_HOST, SSH_PATH) in out, out[-3000:]
    newest = snapshots()[-1]
    # keep: 1 on both targets - only the newest backup is left on each
    assert objects(s3) == ["rst/%s.enc" % newest]
    remote = host(SSH_HOST)
    assert remote.run("ls %s" % SSH_PATH).stdout.split() == [newest + ".enc"]
    stored = remote.file("%s/%s.enc" % (SSH_PATH, newest))
    assert stored.mode == 0o600 and stored.user == "root"
    with open(KEY_FILE, "rb") as f:
        key_text = f.read().strip()
    assert os.stat(KEY_FILE).st_mode & 0o077 == 0
    for body in (s3.get_object(Bucket=BUCKET, Key="rst/%s.enc" % newest)["Body"].read(), stored.content):
        assert body.startswith(MAGIC)
        assert BBOLT_MAGIC not in body and key_text not in body


@pytest.mark.full
def test_no_key_shows_at_vvv_when_an_upload_fails_and_the_failure_names_its_target(targets):
    # Nothing listens on port 9 of the controller: the upload fails, and botocore's error says why.
    unreachable = dict(targets[0], name="unreachable", endpoint_url="http://127.0.0.1:9")
    rc, out = playbook("backup", "-vvv", *extra([unreachable]))
    assert rc != 0, out[-3000:]
    assert leaked(out, inventory_secrets(dict(etcd_backup_targets=[unreachable]), KEY_FILE)) == []
    assert "target unreachable (s3://%s/rst/): looking for object etcd-snapshot-" % BUCKET in out, out[-3000:]
    assert "Could not connect to the endpoint URL" in out, out[-3000:]


@pytest.mark.full
def test_the_restore_drill_takes_the_newest_backup_from_the_ssh_target(targets):
    rc, out = playbook("restore_drill", *extra(targets, etcd_restore_target="vault", etcd_restore_snapshot="latest"))
    assert rc == 0, why_failed(out)
    assert "drill passed: snapshot " in out, out
    assert "Remove the backup fetched from the target" in out, out


def fetch_dirs():
    """The private directories a restore or a drill decrypts a fetched backup into."""
    return sorted(name for name in os.listdir(BACKUPS) if name.endswith(".etcd-restore"))


@pytest.mark.full
def test_a_backup_fetched_for_a_refused_or_a_checked_restore_is_decrypted_privately_and_removed(targets):
    before = fingerprint(HOSTS)
    seen = []

    def look():
        for name in fetch_dirs():
            path = os.path.join(BACKUPS, name)
            seen.append((stat.S_IMODE(os.stat(path).st_mode), os.listdir(path)))

    # Refused after the fetch, by the check of the settings in the read of the members whose data dir
    # is /var/lib/etcd (the host read, which comes before the plan's check of the snapshot): the
    # decrypted snapshot is looked at as that read starts.
    args = extra(targets, etcd_restore_target="offsite", etcd_restore_snapshot="latest",
                 etcd_wal_dir="/var/lib/etcd/member/wal")
    rc, out = interrupted_playbook("restore", args, "TASK [raftops.etcd.etcd : Read each host", fault=look)
    assert rc != 0, out[-3000:]
    assert "lies inside etcd_data_dir's member directory (/var/lib/etcd/member)" in out, out[-3000:]
    assert seen == [(0o700, ["etcd-snapshot.db"])], seen
    assert fetch_dirs() == []
    # Checked from the SSH target, which also holds a copy under a newer name: latest is chosen by the
    # time its authenticated header says, as on the bucket, so the copy does not win and is named.
    remote = host(SSH_HOST)
    (newest,) = remote.run("ls %s" % SSH_PATH).stdout.split()
    remote.check_output("cp -p %s/%s %s/%s" % (SSH_PATH, newest, SSH_PATH, COPY))
    try:
        rc, out = playbook("restore", *extra(targets, etcd_restore_target="vault", etcd_restore_snapshot="latest"),
                           check=True)
    finally:
        remote.check_output("rm %s/%s" % (SSH_PATH, COPY))
    assert rc == 0, why_failed(out)
    text = " ".join(out.split())
    assert ("latest: skipped object %s on target vault: its authenticated header names it %s (cluster etcd/etcd, taken "
            "%s): a renamed or copied backup is refused" % (COPY, newest, newest.split("-")[2].split(".")[0]) in text), out[-3000:]
    assert "Bring the backup to the controller" in out and "check mode: " in out and fetch_dirs() == []
    assert fingerprint(HOSTS) == before


@pytest.mark.full
def test_a_backup_copied_under_a_newer_name_is_refused_naming_both_names(targets):
    remote = host(SSH_HOST)
    (newest,) = remote.run("ls %s" % SSH_PATH).stdout.split()
    copy = COPY
    remote.check_output("cp -p %s/%s %s/%s" % (SSH_PATH, newest, SSH_PATH, copy))
    before = fingerprint(HOSTS)
    try:
        rc, out = playbook("restore", *extra(targets, etcd_restore_target="vault", etcd_restore_snapshot=copy))
    finally:
        remote.check_output("rm %s/%s" % (SSH_PATH, copy))
    assert rc != 0, out[-3000:]
    assert ("object %s on target vault: its authenticated header names it %s (cluster etcd/etcd, taken %s): a renamed "
            "or copied backup is refused; nothing was changed" % (copy, newest, newest.split("-")[2].split(".")[0])
            in " ".join(out.split())), out[-3000:]
    assert fingerprint(HOSTS) == before
    assert fetch_dirs() == []
