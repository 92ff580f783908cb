"""The backup target filters: defaults filled in, and the SSH targets' retention through the one decision."""

import base64
import json
import os
import posixpath
import re
import time

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import backup

DAY = 86400
NOW = 1_800_000_000


def test_targets_get_their_defaults():
    assert backup.backup_targets([{"name": "o", "bucket": "b"}, {"name": "v", "type": "ssh", "host": "h",
                                                                 "path": "/srv/b", "keep": "3"}]) == [
        {"name": "o", "bucket": "b", "type": "s3", "keep": 7, "max_age_days": 30, "prefix": ""},
        {"name": "v", "type": "ssh", "host": "h", "path": "/srv/b", "keep": 3, "max_age_days": 30},
    ]


def test_the_default_prefix_of_an_s3_target_is_the_clusters_so_clusters_sharing_a_bucket_never_meet():
    shared = [{"name": "o", "bucket": "b"}]
    assert backup.backup_targets(shared, "prod/etcd")[0]["prefix"] == "prod/etcd/"
    assert backup.backup_targets(shared, "stage/etcd")[0]["prefix"] == "stage/etcd/"
    # A prefix given is kept, '' included.
    assert backup.backup_targets([{"name": "o", "bucket": "b", "prefix": ""}], "prod/etcd")[0]["prefix"] == ""
    assert backup.backup_targets([{"name": "o", "bucket": "b", "prefix": "p/"}], "prod/etcd")[0]["prefix"] == "p/"


@pytest.mark.parametrize("value", [None, "x", [1]])
def test_targets_that_are_no_list_of_dicts_are_refused(value):
    with pytest.raises(AnsibleFilterError, match="backup_targets: "):
        backup.backup_targets(value)


KEY = bytes(range(32))


def found(target, tmp_path, *ages, head=True, by=None):
    """A listing of an SSH target whose files are newest first (each a real backup taken ``age`` days
    before NOW, signed by the controller unless ``by``), each with the base64 of its first bytes."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_backup_crypto as crypto
    plain = tmp_path / "plain.db"
    plain.write_bytes(b"snapshot")
    files = []
    for age in ages:
        taken = time.strftime(crypto.LABEL_TIME_FORMAT, time.gmtime(NOW - age * DAY))
        name = "etcd-snapshot-%s.db.enc" % taken
        sealed = tmp_path / name
        crypto.encrypt_file(str(plain), str(sealed), crypto.recipient(KEY), crypto.make_label(name, "prod/etcd", "", taken),
                            by or crypto.signer(KEY, crypto.CONTROLLER))
        first = sealed.read_bytes()[:crypto.MAX_HEAD_SIZE]
        files.append(dict(path="%s/%s" % (target["path"], name), **({"head": base64.b64encode(first).decode()}
                                                                    if head else {})))
    return {"item": target, "files": files}


def signers():
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_backup_crypto as crypto
    return crypto.encoded_signers(crypto.cluster_signers(KEY, ["etcd-a"]))


def names(result):
    return [posixpath.basename(f["path"]) for f in result["files"]]


def test_prune_plans_each_ssh_target_with_its_own_retention_by_verified_header(tmp_path):
    one = dict(name="one", type="ssh", host="h1", path="/srv/a", keep=2, max_age_days=0)
    two = dict(name="two", type="ssh", host="h2", path="/srv/b", keep=7, max_age_days=30)
    first, second = found(one, tmp_path, 0, 1, 2, 3), found(two, tmp_path, 1, 40, 50)
    plan = backup.backup_prune([first, second], NOW, signers(), "prod/etcd")
    assert plan == [{"target": "one", "host": "h1", "path": "/srv/a/" + n} for n in names(first)[2:]] + [
        {"target": "two", "host": "h2", "path": "/srv/b/" + n} for n in names(second)[1:]]
    assert backup.backup_prune([found(two, tmp_path, 90)], NOW, signers(), "prod/etcd") == []  # the newest stays
    assert backup.backup_prune([]) == []


def test_prune_deletes_nothing_it_cannot_verify(tmp_path):
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_backup_crypto as crypto
    one = dict(name="one", type="ssh", host="h1", path="/srv/a", keep=1, max_age_days=0)
    # A plain find's result (no heads), or no signers given: nothing is deleted.
    assert backup.backup_prune([found(one, tmp_path, 0, 1, 2, head=False)], NOW, signers(), "prod/etcd") == []
    assert backup.backup_prune([found(one, tmp_path, 0, 1, 2)], NOW) == []
    # Newer files signed by no signer of this cluster are neither counted nor deleted.
    real = found(one, tmp_path, 5, 6)
    planted = found(one, tmp_path, 0, 1, by=crypto.Signer("controller", os.urandom(32)))
    mixed = dict(real, files=planted["files"] + real["files"])
    assert backup.backup_prune([mixed], NOW, signers(), "prod/etcd") == [
        {"target": "one", "host": "h1", "path": "/srv/a/" + names(real)[1]}]


def test_a_retention_that_keeps_nothing_is_refused_naming_the_target(tmp_path):
    with pytest.raises(AnsibleFilterError, match="backup_prune: target one: keep is 0"):
        backup.backup_prune([found(dict(name="one", host="h", path="/p", keep=0), tmp_path, 1)], NOW, signers())


def test_the_member_names_are_node_name_else_etcd_member_name_else_the_host():
    hostvars = {"a": {"NODE_NAME": "etcd-a"}, "b": {"etcd_member_name": "etcd-b"}, "c": {}}
    assert backup.backup_members(["a", "b", "c"], hostvars) == ["etcd-a", "etcd-b", "c"]


@pytest.mark.parametrize("name", ["backup_targets", "backup_prune", "backup_report"])
def test_each_filter_is_exposed_and_documented(name):
    assert name in backup.FilterModule().filters()
    with open(os.path.join(os.path.dirname(backup.__file__), name + ".yml")) as f:
        assert yaml.safe_load(f)["DOCUMENTATION"]["name"] == name


def test_the_report_has_a_line_for_the_encryption_and_each_target():
    sealed = dict(object="etcd-snapshot-1.db.enc", size=100 * 1024 * 1024, encrypt_mib_s=312.4, key_id="4f2a",
                  key_created=True)
    s3 = dict(name="offsite", type="s3", bucket="b", prefix="prod/")
    ssh = dict(name="vault", type="ssh", host="backup1", path="/srv/b")
    sent = [dict(item=dict(name="offsite", host="localhost"), changed=True, sent=True, object="etcd-snapshot-1.db.enc",
                 encrypted_size=104857936, upload_mib_s=83.4, kept=["a", "b"], deleted=["etcd-snapshot-0.db.enc"]),
            # Changed by its prune only: the backup was there already.
            dict(item=dict(name="vault", host="backup1"), changed=True, sent=False, object="etcd-snapshot-1.db.enc",
                 encrypted_size=104857936, kept=["x", "y"], deleted=["etcd-snapshot-0.db.enc"])]
    assert backup.backup_report(sealed, "/inv/etcd-backup.key", [s3, ssh], sent) == [
        "encrypted etcd-snapshot-1.db.enc: 100 MiB at 312.4 MiB/s, key id 4f2a (new key /inv/etcd-backup.key: keep "
        "a copy apart from the backups)",
        "target offsite (s3://b/prod/): etcd-snapshot-1.db.enc uploaded 100 MiB at 83.4 MiB/s; kept 2, deleted 1: "
        "etcd-snapshot-0.db.enc",
        "target vault (backup1:/srv/b): etcd-snapshot-1.db.enc already there; kept 2, deleted 1: "
        "etcd-snapshot-0.db.enc",
    ]
    copied = dict(sent[1], item="vault", sent=True, deleted=[])
    assert backup.backup_report(dict(sealed, key_created=False), "/k", [s3, ssh], [copied])[1:] == [
        "target vault (backup1:/srv/b): etcd-snapshot-1.db.enc copied (100 MiB); kept 2, deleted none"]


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


def test_turning_the_push_off_withdraws_each_members_key_from_the_ssh_targets_hosts():
    import base64
    import json

    def read(content):
        return {"content": base64.b64encode(content).decode()}

    import re

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
    with pytest.raises(AnsibleFilterError, match="the push's settings or public key cannot be read"):
        backup.backup_push_withdrawn([read(b"not json"), read(key)], account)


RECEIVE = dict(user="etcd-backup", authorized_keys="/var/lib/etcd-backup/.ssh/authorized_keys",
               script="/usr/local/lib/raftops-etcd/etcd_backup_receive.py")


def test_a_members_push_key_is_authorized_for_the_account_only_as_the_forced_command_from_its_address():
    import base64
    import re

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
    with pytest.raises(AnsibleFilterError, match="the member's public SSH key cannot be read"):
        backup.backup_push_authorized(base64.b64encode(b"not a key").decode(), push, "10.0.0.11")
    with pytest.raises(AnsibleFilterError, match="is not an address sshd's from= can match"):
        backup.backup_push_authorized(key, push, '10.0.0.11" ,command="sh')
    assert backup.backup_push_hosts(push) == ["b1", "b2"]


@pytest.mark.parametrize("max_age, seconds", [("26h", 93600), ("90m", 5400), ("1h30m", 5400), ("1.5h", 5400)])
def test_the_max_age_in_seconds_for_the_drills_metrics(max_age, seconds):
    assert backup.backup_max_age_seconds(max_age) == seconds


@pytest.mark.parametrize("max_age", ["26", "0h", "", None, "1d"])
def test_a_max_age_that_is_no_go_duration_is_refused(max_age):
    with pytest.raises(AnsibleFilterError, match=r"backup_max_age_seconds: etcd_backup_max_age .* is not a Go duration"):
        backup.backup_max_age_seconds(max_age)


SNAP = "etcd-snapshot-20261126T030000Z.db"
CONTROLLER_RECORD = json.dumps(dict(snapshot=SNAP, revision=42, keys=40, hash_kv=7, compact_revision=-1, hash_problem=None))
SEALED = dict(sha256="ab" * 32, key_id="k1", size=1000, encrypted_size=300)
SEALED_STAT = dict(stat=dict(path="/tmp/x.etcd-backup/%s.enc" % SNAP, size=345, checksum="cd" * 32))


def test_a_playbook_backup_is_recorded_for_the_members_drill_as_a_push_records_it():
    record = backup.backup_drill_record(CONTROLLER_RECORD, SEALED, SEALED_STAT, "rst-host1")
    assert record == dict(snapshot=SNAP, revision=42, keys=40, hash_kv=7, compact_revision=-1, hash_problem=None,
                          object=SNAP + ".enc", sha256="ab" * 32, key_id="k1", sealed_size=345, sealed_sha256="cd" * 32,
                          member="rst-host1")


@pytest.mark.parametrize("record, sealed, stat, message", [
    ("{broken", SEALED, SEALED_STAT, "a backup record, a sealed result and the sealed copy's size and SHA-256 are needed"),
    (CONTROLLER_RECORD, {}, SEALED_STAT, "a backup record, a sealed result and the sealed copy's size and SHA-256 are needed"),
    (CONTROLLER_RECORD, SEALED, dict(stat=dict(path="/x")), "a backup record, a sealed result and the sealed copy's size and SHA-256"),
    (json.dumps(dict(snapshot="etcd-snapshot-20200101T000000Z.db", revision=1)), SEALED, SEALED_STAT,
     "the record is not that of the sealed snapshot %s.enc" % SNAP),
])
def test_a_record_of_another_snapshot_or_missing_parts_are_refused(record, sealed, stat, message):
    with pytest.raises(AnsibleFilterError, match="backup_drill_record: " + re.escape(message)):
        backup.backup_drill_record(record, sealed, stat, "rst-host1")


MEMBERS = [dict(name="a", host="h0", client_url="https://h0:2379"), dict(name="b", host="h1", client_url="https://h1:2379")]


def test_the_deprecated_backup_source_is_the_plans_source():
    # The choice itself is tested with the plan (tests/unit/plugins/module_utils/test_etcd_backup_plan.py).
    answered = dict(endpoints=[dict(endpoint="https://h1:2379", healthy=True, is_learner=False, cluster_id="c1d")])
    assert backup.backup_source(answered, MEMBERS, ["h0", "h1"]) == dict(MEMBERS[1], cluster_id="c1d")
    assert backup.backup_source(answered, MEMBERS, ["h0"]) is None


def test_the_backup_source_wants_a_health_result_and_member_records():
    with pytest.raises(AnsibleFilterError, match="backup_source: expects etcd_health's result and the member records"):
        backup.backup_source([], MEMBERS, [])


def test_the_playbooks_record_holds_the_revision_and_the_keyspace_read_at_it():
    saved = dict(inspected=dict(revision=42), keyspace=dict(keys=40, hash=7, compact_revision=-1, hash_problem=None))
    assert backup.backup_record(saved, SNAP) == dict(snapshot=SNAP, revision=42, keys=40, hash_kv=7, compact_revision=-1,
                                                     hash_problem=None)
    unread = dict(inspected=dict(revision=42), keyspace_error="cannot read the keyspace: timed out")
    assert backup.backup_record(unread, SNAP) == dict(snapshot=SNAP, revision=42, keys=None, hash_kv=None,
                                                      compact_revision=None, hash_problem="cannot read the keyspace: timed out")


def test_a_restore_target_is_found_by_name_with_its_defaults():
    targets = [dict(name="offsite", bucket="b"), dict(name="vault", type="ssh", host="h", path="/p")]
    assert backup.backup_target(targets, "prod/etcd", "offsite")["prefix"] == "prod/etcd/"
    assert backup.backup_target(targets, "prod/etcd", "vault")["keep"] == 7
    assert backup.backup_target(targets, "prod/etcd", "elsewhere") == {}


def test_latest_on_an_ssh_target_is_its_newest_backup_object():
    found = dict(files=[dict(path="/p/etcd-snapshot-20261126T030000Z.db.enc"), dict(path="/p/etcd-snapshot-20261126T040000Z.db.enc"),
                        dict(path="/p/etcd-snapshot-20261126T035000Z.db.enc")])
    assert backup.backup_object(found, "latest") == "etcd-snapshot-20261126T040000Z.db.enc"
    assert backup.backup_object(found, "etcd-snapshot-20261126T030000Z.db.enc") == "etcd-snapshot-20261126T030000Z.db.enc"
    assert backup.backup_object(dict(files=[]), "latest") == ""
