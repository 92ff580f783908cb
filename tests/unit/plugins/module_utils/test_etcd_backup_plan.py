"""The backup plan (module_utils/backup/backup_plan.py): the member a backup comes from and its names,
the records, the target and object a restore fetches (latest by authenticated time on an SSH target,
as on S3) and the snapshot a drill proves."""

import base64
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_plan as plan
from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_fetch import LIST_HEADS

KEY = bytes(range(32))
CLUSTER = "prod/etcd"
SNAP = "etcd-snapshot-20261126T030000Z.db"
MEMBERS = [dict(name="a", host="h0", client_url="https://h0:2379"), dict(name="b", host="h1", client_url="https://h1:2379"),
           dict(name="c", host="h2", client_url="https://h2:2379")]
VAULT = dict(name="vault", type="ssh", host="bk", path="/srv/b", keep=7, max_age_days=30)


def health(*endpoints, problems=()):
    return dict(problems=list(problems), endpoints=[
        dict(dict(endpoint="https://%s:2379" % h, healthy=True, is_learner=False, cluster_id="c1d"), **more)
        for h, more in endpoints])


@pytest.mark.parametrize("answered, play, chosen", [
    ([("h0", {}), ("h1", {})], ["h0", "h1", "h2"], "a"),
    ([("h0", dict(healthy=False)), ("h1", {})], ["h0", "h1", "h2"], "b"),
    ([("h0", dict(is_learner=True)), ("h2", {})], ["h0", "h1", "h2"], "c"),
    ([("h0", {}), ("h1", {})], ["h1"], "b"),  # --limit: a host of the play
    ([("h0", dict(healthy=False))], ["h0", "h1", "h2"], None),
])
def test_the_source_is_the_first_healthy_voting_member_of_the_play(answered, play, chosen):
    found = plan.plan_source(health(*answered, problems=["h0: refused"]), MEMBERS, play, [], "", now=1795000000)
    assert (found["source"] or {}).get("name") == chosen
    if chosen:
        assert found["source"]["cluster_id"] == "c1d" and found["refusal"] == ""
    else:
        assert found["refusal"] == "no healthy voting member to take a snapshot from: h0: refused"


def test_the_snapshot_is_named_by_the_utc_time_its_header_authenticates_and_the_targets_sent_s3_first():
    targets = [dict(VAULT, keep="3"), dict(name="offsite", bucket="b")]
    found = plan.plan_source(health(("h0", {})), MEMBERS, ["h0"], targets, CLUSTER, now=1795000000)
    assert (found["name"], found["object"], found["taken"]) == (
        "etcd-snapshot-20261118T110640Z.db", "etcd-snapshot-20261118T110640Z.db.enc", "20261118T110640Z")
    assert found["targets"][0] == dict(VAULT, keep=3) and found["targets"][1]["prefix"] == "prod/etcd/"
    # Sent S3 first, each from where it is reached; no key in the loop's items.
    assert found["sends"] == [dict(name="offsite", host="localhost"), dict(name="vault", host="bk")]


@pytest.mark.parametrize("targets, message", [
    ("offsite", "etcd_backup_targets must be a list of targets"),
    (["offsite"], "each target must be a dict, not str"),
])
def test_targets_that_are_no_list_of_dicts_are_refused(targets, message):
    with pytest.raises(ValueError, match=message):
        plan.plan_source(health(), MEMBERS, [], targets, CLUSTER)


def test_the_source_wants_a_health_result_and_member_records():
    with pytest.raises(ValueError, match="expects etcd_health's result and the member records"):
        plan.plan_source([], MEMBERS, [], [], CLUSTER)


def test_targets_get_their_defaults():
    assert plan.targets_with_defaults([{"name": "o", "bucket": "b"}, {"name": "v", "type": "ssh", "host": "h",
                                                                      "path": "/srv/b", "keep": "3"}]) == [
        {"name": "o", "bucket": "b", "type": "s3", "keep": 7, "max_age_days": 30, "prefix": ""},
        {"name": "v", "type": "ssh", "host": "h", "path": "/srv/b", "keep": 3, "max_age_days": 30},
    ]


def test_the_default_prefix_of_an_s3_target_is_the_clusters_so_clusters_sharing_a_bucket_never_meet():
    shared = [{"name": "o", "bucket": "b"}]
    assert plan.targets_with_defaults(shared, "prod/etcd")[0]["prefix"] == "prod/etcd/"
    assert plan.targets_with_defaults(shared, "stage/etcd")[0]["prefix"] == "stage/etcd/"
    # A prefix given is kept, '' included.
    assert plan.targets_with_defaults([{"name": "o", "bucket": "b", "prefix": ""}], "prod/etcd")[0]["prefix"] == ""
    assert plan.targets_with_defaults([{"name": "o", "bucket": "b", "prefix": "p/"}], "prod/etcd")[0]["prefix"] == "p/"


@pytest.mark.parametrize("targets", [None, "x", [1]])
def test_defaults_are_refused_to_targets_that_are_no_list_of_dicts(targets):
    with pytest.raises(ValueError, match=r"^(etcd_backup_targets must be a list of targets|each target must be a dict)"):
        plan.targets_with_defaults(targets)


@pytest.mark.parametrize("saved, record", [
    (dict(inspected=dict(revision=42), keyspace=dict(keys=40, hash=7, compact_revision=-1, hash_problem=None)),
     dict(snapshot=SNAP, revision=42, keys=40, hash_kv=7, compact_revision=-1, hash_problem=None)),
    (dict(inspected=dict(revision=42), keyspace_error="cannot read the keyspace: timed out"),
     dict(snapshot=SNAP, revision=42, keys=None, hash_kv=None, compact_revision=None,
          hash_problem="cannot read the keyspace: timed out")),
    (dict(skipped=True, skip_reason="Conditional result was False"), None),  # check mode: no snapshot
])
def test_the_playbooks_record_holds_the_revision_and_the_keyspace_read_at_it(saved, record):
    assert plan.backup_record(saved, SNAP) == record


PLAN = dict(name=SNAP, object=SNAP + ".enc", taken="20261126T030000Z", source=dict(MEMBERS[0], cluster_id="c1d"))


@pytest.mark.parametrize("backup, found", [
    (PLAN, dict(name=SNAP + ".enc", taken="20261126T030000Z", member="a", cluster_id="c1d", revision=None)),
    # The record's revision, which the header then names.
    (dict(PLAN, record=dict(revision=42)), dict(name=SNAP + ".enc", taken="20261126T030000Z", member="a",
                                                cluster_id="c1d", revision=42)),
    (dict(PLAN, source=dict(MEMBERS[0], cluster_id="")), dict(name=SNAP + ".enc", taken="20261126T030000Z", member="a",
                                                              cluster_id="", revision=None)),  # a cluster ID etcd did not give
    (dict(PLAN, source=None), "no cluster_id, member "),  # check mode's plan or a refused one
    (dict(PLAN, object=None, taken=None), "no name, taken "),
    (None, "no cluster_id, member, name, taken "),
])
def test_the_seal_authenticates_the_plans_object_cluster_id_and_time_and_names_the_source_member(backup, found):
    if isinstance(found, str):
        with pytest.raises(ValueError, match="the backup's plan gives %sto seal its snapshot with; nothing was sealed" % found):
            plan.seal_arguments(backup, "/b/" + SNAP, "/k", CLUSTER)
        return
    assert plan.seal_arguments(backup, "/b/" + SNAP, "/k", CLUSTER) == dict(
        found, state="sealed", src="/b/" + SNAP, key_file="/k", cluster=CLUSTER)


CONTROLLER_RECORD = json.dumps(dict(snapshot=SNAP, revision=42, keys=40, hash_kv=7, compact_revision=-1, hash_problem=None))
SEALED = dict(sha256="ab" * 32, key_id="k1")
SEALED_STAT = dict(stat=dict(path="/tmp/x.etcd-backup/%s.enc" % SNAP, size=345, checksum="cd" * 32))


# The seal's own result (the role's tasks), or a seal and the stat of its sealed copy.
SEALED_WITH_COPY = dict(SEALED, path="/tmp/x.etcd-backup/%s.enc" % SNAP, sealed_size=345, sealed_sha256="cd" * 32)


@pytest.mark.parametrize("sealed, stat", [(SEALED, SEALED_STAT), (SEALED_WITH_COPY, None)])
def test_a_playbook_backup_is_recorded_for_the_members_drill_as_a_push_records_it(sealed, stat):
    assert plan.drill_record(CONTROLLER_RECORD, sealed, stat, "m1") == dict(
        json.loads(CONTROLLER_RECORD), object=SNAP + ".enc", sha256="ab" * 32, key_id="k1", sealed_size=345,
        sealed_sha256="cd" * 32, member="m1")


@pytest.mark.parametrize("record, sealed, stat, message", [
    ("", SEALED, SEALED_STAT, "a backup record, a sealed result and the sealed copy's size and SHA-256 are needed"),
    (CONTROLLER_RECORD, {}, SEALED_STAT, "a backup record, a sealed result and the sealed copy's size and SHA-256 are needed"),
    (CONTROLLER_RECORD, SEALED, None, "a backup record, a sealed result and the sealed copy's size and SHA-256 are needed"),
    (CONTROLLER_RECORD, dict(SEALED_WITH_COPY, sealed_size="big"), None,
     "a backup record, a sealed result and the sealed copy's size and SHA-256 are needed"),
    (json.dumps(dict(snapshot="etcd-snapshot-20200101T000000Z.db")), SEALED_WITH_COPY, None,
     "the record is not that of the sealed snapshot %s.enc" % SNAP),
    (json.dumps(dict(snapshot="etcd-snapshot-20200101T000000Z.db")), SEALED, SEALED_STAT,
     "the record is not that of the sealed snapshot %s.enc" % SNAP),
])
def test_a_drill_record_of_another_snapshot_or_without_its_parts_is_refused(record, sealed, stat, message):
    with pytest.raises(ValueError, match=message):
        plan.drill_record(record, sealed, stat, "m1")


@pytest.mark.parametrize("name, refusal", [
    ("vault", ""),
    ("elsewhere", "etcd_restore_target elsewhere is not one of etcd_backup_targets (offsite, vault)"),
])
def test_a_restore_target_is_found_by_name_with_its_defaults(name, refusal):
    found = plan.plan_fetch([dict(name="offsite", bucket="b"), dict(name="vault", type="ssh", host="bk", path="/srv/b")],
                            CLUSTER, name)
    assert found["refusal"] == refusal and found["head_size"] == crypto.MAX_HEAD_SIZE
    assert found["target"] == (VAULT if name == "vault" else {})
    assert plan.plan_fetch([], CLUSTER, "x")["refusal"] == "etcd_restore_target x is not one of etcd_backup_targets (none set)"


SIGNERS = crypto.cluster_signers(KEY, ["etcd-a"])


def sealed_heads(tmp_path, backups, by=None):
    """{name: the first MAX_HEAD_SIZE bytes} of real backups: (name, cluster, taken) each, signed by
    the controller (or ``by``)."""
    snapshot = tmp_path / "snapshot.db"
    snapshot.write_bytes(os.urandom(3000))
    heads = {}
    for name, cluster, taken in backups:
        crypto.encrypt_file(str(snapshot), str(tmp_path / name), crypto.recipient(KEY),
                            crypto.make_label(name, cluster, "c1d", taken), by or crypto.signer(KEY, crypto.CONTROLLER),
                            chunk_size=1024)
        heads[name] = (tmp_path / name).read_bytes()[:crypto.MAX_HEAD_SIZE]
    return heads


MARCH = "etcd-snapshot-20260301T000000Z.db.enc"
COPY = "etcd-snapshot-29991231T235959Z.db.enc"
RENAMED = ("object %s on target vault: its authenticated header names it %s (cluster prod/etcd, taken 20260301T000000Z): "
           "a renamed or copied backup is refused" % (COPY, MARCH))


def test_latest_on_an_ssh_target_is_the_newest_by_authenticated_time_and_a_newer_named_copy_does_not_win(tmp_path):
    heads = sealed_heads(tmp_path, [("etcd-snapshot-20260101T000000Z.db.enc", CLUSTER, "20260101T000000Z"),
                                    (MARCH, CLUSTER, "20260301T000000Z"),
                                    ("etcd-snapshot-20260401T000000Z.db.enc", "stage/etcd", "20260401T000000Z")])
    heads[COPY] = heads[MARCH]
    heads["etcd-snapshot-29991231T235960Z.db.enc"] = heads[MARCH][:40]  # cut inside its header
    # Newer, sealed to the key file's public key but signed by no signer of this cluster.
    heads.update(sealed_heads(tmp_path, [("etcd-snapshot-20260501T000000Z.db.enc", CLUSTER, "20260501T000000Z")],
                              by=crypto.Signer("member:etcd-a", os.urandom(32))))
    chosen = plan.fetch_object(VAULT, "latest", plan.read_heads(heads, KEY), CLUSTER, SIGNERS)
    assert (chosen["object"], chosen["refusal"]) == (MARCH, "")
    assert RENAMED in chosen["skipped"] and len(chosen["skipped"]) == 4, chosen["skipped"]
    assert any("its signature by member:etcd-a does not verify" in why for why in chosen["skipped"])
    assert any("is a backup of cluster stage/etcd" in why for why in chosen["skipped"])
    assert any("is truncated: it ends at byte 40, inside its header" in why for why in chosen["skipped"])


@pytest.mark.parametrize("wanted, found, chosen, refusal", [
    (MARCH, [MARCH], MARCH, ""),
    (COPY, [MARCH, COPY], COPY, ""),  # named: taken, and refused by its decryption (test_etcd_backup_crypto)
    ("etcd-snapshot-20200101T000000Z.db.enc", [MARCH], "etcd-snapshot-20200101T000000Z.db.enc",
     "target vault (bk:/srv/b) has no object etcd-snapshot-20200101T000000Z.db.enc"),
    ("latest", [], "latest", "target vault (bk:/srv/b) holds no backup (etcd-snapshot-*.enc)"),
    ("latest", [COPY], "", "target vault (bk:/srv/b) holds no backup that verifies: " + RENAMED),
])
def test_the_object_of_an_ssh_target_is_refused_when_it_is_not_there_or_none_authenticates(
        tmp_path, wanted, found, chosen, refusal):
    heads = sealed_heads(tmp_path, [(MARCH, CLUSTER, "20260301T000000Z")])
    heads[COPY] = heads[MARCH]
    result = plan.fetch_object(VAULT, wanted, plan.read_heads({n: heads[n] for n in found}, KEY), CLUSTER, SIGNERS)
    assert (result["object"], result["refusal"]) == (chosen, refusal)


def test_the_listing_script_of_the_task_file_gives_each_backups_head(tmp_path):
    """The listing as etcd_backup_fetch's action makes it on the SSH target's host, parsed back."""
    script = LIST_HEADS
    heads = sealed_heads(tmp_path, [(MARCH, CLUSTER, "20260301T000000Z")])
    (tmp_path / "notes.txt").write_text("not a backup")
    listing = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(crypto.MAX_HEAD_SIZE)], check=True,
                             capture_output=True, text=True).stdout
    assert plan.parse_heads(listing) == heads
    with pytest.raises(ValueError, match="the listing of the SSH target has no readable head for %s" % MARCH):
        plan.parse_heads("%s not-base64!\n" % MARCH)
    assert plan.parse_heads("notes.txt %s\n" % base64.b64encode(b"x").decode()) == {}


@pytest.mark.parametrize("fetched, snapshot, found, path", [
    ("/c/r/etcd-snapshot.db", "/given.db", ["/b/etcd-snapshot-2.db"], "/c/r/etcd-snapshot.db"),
    ("", "/given.db", ["/b/etcd-snapshot-2.db"], "/given.db"),
    ("", "", ["/b/etcd-snapshot-1.db", "/b/etcd-snapshot-3.db", "/b/etcd-snapshot-2.db"], "/b/etcd-snapshot-3.db"),
    ("", "", [], ""),
])
def test_the_drill_proves_the_fetched_backup_else_the_given_snapshot_else_the_newest(fetched, snapshot, found, path):
    records = {"/b/etcd-snapshot-3.db": '{"revision": 3}'}
    checked = []
    result = plan.drill_snapshot(fetched, snapshot, "/b", found, lambda p: records.get(p, ""),
                                 lambda p: checked.append(p) or dict(changed=False), "h0")
    assert result["path"] == path and result["record_text"] == records.get(path, "")
    assert checked == ([path] if path else [])
    assert result["refusal"] == ("" if path else (
        "no snapshot etcd-snapshot-*.db in etcd_backup_dir /b and no etcd_restore_snapshot given: take one with "
        "ansible-playbook raftops.etcd.backup -i INVENTORY; nothing was changed"))


def test_the_drill_refuses_a_snapshot_that_fails_its_checks_naming_it_and_the_host():
    result = plan.drill_snapshot("", "/given.db", "/b", [], lambda p: "", lambda p: dict(
        failed=True, msg="/given.db is not a sound etcd snapshot: truncated or damaged"), "h0")
    assert result["refusal"] == ("drill failed: snapshot /given.db: /given.db is not a sound etcd snapshot: truncated or "
                                 "damaged; nothing was left on h0")


SEALED = dict(object="etcd-snapshot-1.db.enc", size=100 * 1024 * 1024, encrypt_mib_s=312.4, key_id="4f2a")
OFFSITE = dict(name="offsite", type="s3", bucket="b", prefix="prod/")
SENT = dict(sent=True, object="etcd-snapshot-1.db.enc", encrypted_size=104857936, upload_mib_s=83.4,
            kept=["a", "b"], deleted=["etcd-snapshot-0.db.enc"])


@pytest.mark.parametrize("sealed, line", [
    (dict(SEALED, key_created=True), "encrypted etcd-snapshot-1.db.enc: 100 MiB at 312.4 MiB/s, key id 4f2a (new key "
                                     "/inv/etcd-backup.key: keep a copy apart from the backups)"),
    (dict(SEALED, key_created=False), "encrypted etcd-snapshot-1.db.enc: 100 MiB at 312.4 MiB/s, key id 4f2a"),
    (dict(SEALED, size=None, encrypt_mib_s=0), "encrypted etcd-snapshot-1.db.enc: ? at too fast to time, key id 4f2a"),
])
def test_the_encryption_s_line(sealed, line):
    assert plan.sealed_report(sealed, "/inv/etcd-backup.key") == line


@pytest.mark.parametrize("target, result, retention, line", [
    (OFFSITE, SENT, True, "target offsite (s3://b/prod/): etcd-snapshot-1.db.enc uploaded 100 MiB at 83.4 MiB/s; "
                          "kept 2, deleted 1: etcd-snapshot-0.db.enc"),
    (OFFSITE, dict(SENT, upload_mib_s=None), False,
     "target offsite (s3://b/prod/): etcd-snapshot-1.db.enc uploaded 100 MiB at too fast to time"),
    (dict(OFFSITE, prefix=None), dict(SENT, sent=False, deleted=[]), True,
     "target offsite (s3://b/): etcd-snapshot-1.db.enc already there; kept 2, deleted none"),
    (VAULT, dict(SENT, deleted=[]), True, "target vault (bk:/srv/b): etcd-snapshot-1.db.enc copied (100 MiB); kept 2, "
                                          "deleted none"),
    (VAULT, dict(SENT, sent=False, kept=None), True, "target vault (bk:/srv/b): etcd-snapshot-1.db.enc already there; "
                                                     "kept 0, deleted 1: etcd-snapshot-0.db.enc"),
])
def test_a_target_s_line(target, result, retention, line):
    assert plan.sent_report(target, result, retention) == line


def test_a_point_in_time_s_drill_takes_the_cluster_s_keyspace_or_refuses_naming_why():
    keyspace = dict(revision=4300, keys=12, hash=7, compact_revision=-1, hash_problem=None)
    assert plan.point_keyspace(dict(keyspace=keyspace), 4300, "h0") == dict(cluster_keyspace=keyspace, refusal="")
    assert plan.point_keyspace(dict(failed=True, msg="cannot read the keyspace: refused"), 4300, "h0")["refusal"] == (
        "drill failed: the cluster's keyspace at revision 4300, which the drill of the point in time is compared with, "
        "cannot be read on h0: cannot read the keyspace: refused; nothing was left on h0")
