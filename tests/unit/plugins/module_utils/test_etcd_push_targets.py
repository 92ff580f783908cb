"""The backup push as the role's tasks use it (module_utils/backup/push_targets.py): the targets a
member's push reads, the members whose signatures a backup may carry, the SSH targets' hosts, the
authorized_keys lines of the members' push keys (and those a push turned off withdraws). The
targets' defaults, the records and the report are the backup plan's (test_etcd_backup_plan.py), the
retention etcd_backup_crypto's (test_etcd_backup_crypto.py, test_etcd_backup_target_ssh.py)."""

import base64
import json
import re

import pytest


from ansible_collections.raftops.etcd.plugins.module_utils.backup import push_targets as backup


def test_push_targets_carry_every_s3_key_and_each_ssh_hosts_address_and_port():
    hostvars = {"backup1": {"ansible_host": "10.0.0.9", "ansible_port": "2222"}, "backup2": {}}
    targets = [{"name": "o", "bucket": "b", "access_key": "a", "secret_key": "s", "region": None},
               {"name": "v", "type": "ssh", "host": "backup1", "path": "/srv/b"},
               {"name": "w", "type": "ssh", "host": "backup2", "path": "/srv/c"}]
    o, v, w = backup.backup_push_targets(targets, "prod/etcd", hostvars)
    assert o == {"name": "o", "type": "s3", "bucket": "b", "prefix": "prod/etcd/", "endpoint_url": "", "region": "",
                 "access_key": "a", "secret_key": "s", "keep": 7, "max_age_days": 30}
    assert (v["address"], v["port"]) == ("10.0.0.9", 2222)
    assert (w["address"], w["port"]) == ("backup2", 22)


@pytest.mark.parametrize("value", [None, "x", [1]])
def test_push_targets_that_are_no_list_of_dicts_are_refused(value):
    with pytest.raises(ValueError, match="backup_push_targets: "):
        backup.backup_push_targets(value, "prod/etcd", {})


def test_the_member_names_are_node_name_else_etcd_member_name_else_the_host():
    hostvars = {"a": {"NODE_NAME": "etcd-a"}, "b": {"etcd_member_name": "etcd-b"}, "c": {}}
    assert backup.backup_members(["a", "b", "c"], hostvars) == ["etcd-a", "etcd-b", "c"]


def test_turning_the_push_off_withdraws_each_members_key_from_the_ssh_targets_hosts():
    def read(content):
        return {"content": base64.b64encode(content).decode()}

    settings = json.dumps(dict(targets=[dict(type="s3", name="o", secret_key="never"), dict(type="ssh", host="b2"),
                                        dict(type="ssh", host="b1"), dict(type="ssh", host="b1")])).encode()
    key = b"ssh-ed25519 AAAAC3Nza+/x etcd backup push etcd-a\n"
    account = "/var/lib/etcd-backup/.ssh/authorized_keys"
    withdrawn = backup.backup_push_withdrawn([read(settings), read(key)], account)
    assert [(w["host"], w["path"]) for w in withdrawn] == [
        ("b1", account), ("b1", "/root/.ssh/authorized_keys2"), ("b2", account), ("b2", "/root/.ssh/authorized_keys2")]
    # Every line of the key: the account's forced command, and root's `restrict` line of earlier versions;
    # no other member's key.
    regexp = re.compile(withdrawn[0]["regexp"])
    assert regexp.search('command="python3 -I /usr/local/lib/raftops-etcd/etcd_backup_receive.py /srv/b",restrict,'
                         'from="10.0.0.11" ssh-ed25519 AAAAC3Nza+/x etcd backup push etcd-a')
    assert regexp.search("restrict ssh-ed25519 AAAAC3Nza+/x etcd backup push etcd-a")
    assert not regexp.search("restrict ssh-ed25519 AAAAC3Nza+/xy etcd backup push etcd-b")
    assert not regexp.search("restrict ssh-ed25519 AAAAC3NzaX/x etcd backup push etcd-b")
    # No push files on the member (either read failed): nothing to withdraw.
    assert backup.backup_push_withdrawn([read(settings), {"failed": True}], account) == []
    assert backup.backup_push_withdrawn([], account) == []
    with pytest.raises(ValueError, match="the push's settings or public key cannot be read"):
        backup.backup_push_withdrawn([read(b"not json"), read(key)], account)


RECEIVE = dict(user="etcd-backup", authorized_keys="/var/lib/etcd-backup/.ssh/authorized_keys",
               script="/usr/local/lib/raftops-etcd/etcd_backup_receive.py")


def test_a_members_push_key_is_authorized_for_the_account_only_as_the_forced_command_from_its_address():

    key = base64.b64encode(b"ssh-ed25519 AAAAC3Nza+/x etcd backup push etcd-a\n").decode()
    push = dict(receive=RECEIVE, targets=[dict(type="s3", name="o", secret_key="never"),
                                          dict(type="ssh", name="v", host="b1", path="/srv/b"),
                                          dict(type="ssh", name="w", host="b2", path="/srv/c"),
                                          dict(type="ssh", name="x", host="b1", path="/srv/a")])
    changes = backup.backup_push_authorized(key, push, "10.0.0.11")
    script = "/usr/local/lib/raftops-etcd/etcd_backup_receive.py"
    assert [{k: c[k] for k in ("host", "path", "line", "state")} for c in changes] == [
        dict(host="b1", path=RECEIVE["authorized_keys"], state="present",
             line='command="python3 -I %s /srv/a /srv/b",restrict,from="10.0.0.11" ssh-ed25519 AAAAC3Nza+/x '
                  'etcd backup push etcd-a' % script),
        dict(host="b1", path="/root/.ssh/authorized_keys2", state="absent", line=""),
        dict(host="b2", path=RECEIVE["authorized_keys"], state="present",
             line='command="python3 -I %s /srv/c",restrict,from="10.0.0.11" ssh-ed25519 AAAAC3Nza+/x '
                  'etcd backup push etcd-a' % script),
        dict(host="b2", path="/root/.ssh/authorized_keys2", state="absent", line="")]
    # The regexp finds the key's line whatever its options, to replace it (a new address, another
    # directory) or, in root's file, to remove what earlier versions authorized there.
    assert all(re.search(c["regexp"], "restrict ssh-ed25519 AAAAC3Nza+/x etcd backup push etcd-a") for c in changes)
    assert not re.search(changes[0]["regexp"], "restrict ssh-ed25519 AAAAC3Nza+/xQ etcd backup push etcd-b")
    assert "secret" not in repr(changes)
    # Check mode before the key is made: nothing; a key or an address sshd cannot take: refused.
    assert backup.backup_push_authorized("", push, "10.0.0.11") == []
    with pytest.raises(ValueError, match="the member's public SSH key cannot be read"):
        backup.backup_push_authorized(base64.b64encode(b"not a key").decode(), push, "10.0.0.11")
    with pytest.raises(ValueError, match="is not an address sshd's from= can match"):
        backup.backup_push_authorized(key, push, '10.0.0.11" ,command="sh')


def test_the_ssh_targets_hosts_each_once_in_their_order():
    targets = [dict(name="o", bucket="b"), dict(name="v", type="ssh", host="b2", path="/srv/b"),
               dict(name="w", type="ssh", host="b1", path="/srv/c"), dict(name="x", type="ssh", host="b2", path="/srv/a")]
    assert backup.backup_push_hosts(targets) == ["b2", "b1"]
    # What is no list of targets (the lookup's settings before their check, which refuses it): no host.
    assert backup.backup_push_hosts("b1") == [] and backup.backup_push_hosts([None, "b1"]) == []
