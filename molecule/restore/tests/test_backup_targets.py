"""Off-host, encrypted backups (docs/backup-targets.md), before the restore tests rebuild the cluster.

The backup playbook sends each snapshot, encrypted on the controller, to an S3 bucket (a moto
server on the controller) and to a directory on rst-host2 over SSH, and prunes both to their
`keep`; neither copy holds the database or the key in the clear. The restore's fetch step brings a
sound backup back verified, and refuses a tampered one naming it and its target, with every host
as it was.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest
from etcdtest import BACKUPS, EPHEMERAL, ROOT, ansible_env, fingerprint, host, playbook

sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins"))
# The unit tests' moto server, found through the path above.
from moto_server import moto_server

HOSTS = ["rst-host0", "rst-host1", "rst-host2"]
BUCKET = "etcd-offsite"
SSH_HOST, SSH_PATH = "rst-host2", "/srv/etcd-offsite"
KEY_FILE = os.path.join(EPHEMERAL, "etcd-backup.key")
MAGIC = b"RAFTOPS-ETCD-BACKUP"
BBOLT_MAGIC = b"\xed\xda\x0c\xed"  # 0xED0CDAED, little-endian, in every bbolt meta page
CREDENTIALS = dict(access_key="testing", secret_key="testing", region="us-east-1")

FETCH_PLAYBOOK = """
- name: Fetch a backup from an off-host target, as a restore does first
  hosts: etcd
  gather_facts: false
  become: true
  tasks:
    - name: Fetch, verify and decrypt
      ansible.builtin.include_role:
        name: raftops.etcd.etcd
        tasks_from: backup_fetch
    - name: Show the decrypted snapshot
      ansible.builtin.debug:
        msg: "fetched {{ _etcd_restore_fetched.sha256 }}"
      run_once: true
    - name: Remove it
      ansible.builtin.file:
        path: "{{ _etcd_restore_fetch_dir }}"
        state: absent
      delegate_to: localhost
      become: false
      run_once: true
"""


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


def fetch(targets, tmp_path, target, snapshot="latest"):
    book = tmp_path / "fetch.yml"
    book.write_text(FETCH_PLAYBOOK)
    proc = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(book),
                           *extra(targets, etcd_restore_target=target, etcd_restore_snapshot=snapshot)],
                          env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600, check=False)
    return proc.returncode, proc.stdout


def test_backups_go_off_host_encrypted_and_pruned_to_keep(targets, s3):
    for _run in range(2):
        rc, out = playbook("backup", *extra(targets))
        assert rc == 0, out
        time.sleep(1)  # snapshot names hold the second
    assert "target offsite (s3://%s/rst/): " % BUCKET in out and "MiB/s" in out, out
    assert "target vault (%s:%s): " % (SSH_HOST, SSH_PATH) in out, out
    newest = sorted(n for n in os.listdir(BACKUPS) if n.endswith(".db"))[-1]
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


def test_a_sound_backup_comes_back_verified_from_the_ssh_target(targets, tmp_path):
    newest = sorted(n for n in os.listdir(BACKUPS) if n.endswith(".db"))[-1]
    with open(os.path.join(BACKUPS, newest), "rb") as f:
        expected = hashlib.sha256(f.read()).hexdigest()
    rc, out = fetch(targets, tmp_path, "vault")
    assert rc == 0 and "fetched %s" % expected in out, out


def test_a_tampered_backup_is_refused_naming_it_with_hosts_unchanged(targets, s3, tmp_path):
    (key,) = objects(s3)
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body[:100] + bytes([body[100] ^ 1]) + body[101:])
    before = fingerprint(HOSTS)
    rc, out = fetch(targets, tmp_path, "offsite")
    assert rc != 0, out
    name = key.split("/", 1)[1]
    assert "object %s on target offsite: authentication failed: tampered or wrong key" % name in out, out
    assert "nothing was changed" in out
    assert fingerprint(HOSTS) == before
