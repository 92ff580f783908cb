"""The backup filters of the role's tasks: the targets a member's push reads, the keys a push turned
off withdraws, and the drill's maximum backup age in seconds. The targets' defaults, the records and
the report are the backup plan's (tests/unit/plugins/module_utils/test_etcd_backup_plan.py), the
retention etcd_backup_crypto's (test_etcd_backup_crypto.py, test_etcd_backup_target_ssh.py)."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import backup


def test_the_filters_are_registered():
    assert backup.FilterModule().filters() == {"backup_push_targets": backup.backup_push_targets,
                                               "backup_push_withdrawn": backup.backup_push_withdrawn,
                                               "backup_max_age_seconds": backup.backup_max_age_seconds}


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
    with pytest.raises(AnsibleFilterError, match="backup_push_targets: "):
        backup.backup_push_targets(value, "prod/etcd", {})


def test_turning_the_push_off_withdraws_each_members_key_from_the_ssh_targets_hosts():
    import base64
    import json

    def read(content):
        return {"content": base64.b64encode(content).decode()}

    settings = json.dumps(dict(targets=[dict(type="s3", name="o", secret_key="never"), dict(type="ssh", host="b2"),
                                        dict(type="ssh", host="b1"), dict(type="ssh", host="b1")])).encode()
    key = b"ssh-ed25519 AAAAC3Nza etcd backup push etcd-a\n"
    assert backup.backup_push_withdrawn([read(settings), read(key)]) == [
        dict(host="b1", line="restrict ssh-ed25519 AAAAC3Nza etcd backup push etcd-a"),
        dict(host="b2", line="restrict ssh-ed25519 AAAAC3Nza etcd backup push etcd-a")]
    # No push files on the member (either read failed): nothing to withdraw.
    assert backup.backup_push_withdrawn([read(settings), {"failed": True}]) == []
    assert backup.backup_push_withdrawn([]) == []
    with pytest.raises(AnsibleFilterError, match="the push's settings or public key cannot be read"):
        backup.backup_push_withdrawn([read(b"not json"), read(key)])


@pytest.mark.parametrize("max_age, seconds", [("26h", 93600), ("90m", 5400), ("1h30m", 5400), ("1.5h", 5400)])
def test_the_max_age_in_seconds_for_the_drills_metrics(max_age, seconds):
    assert backup.backup_max_age_seconds(max_age) == seconds


@pytest.mark.parametrize("max_age", ["26", "0h", "", None, "1d"])
def test_a_max_age_that_is_no_go_duration_is_refused(max_age):
    with pytest.raises(AnsibleFilterError, match=r"backup_max_age_seconds: etcd_backup_max_age .* is not a Go duration"):
        backup.backup_max_age_seconds(max_age)
