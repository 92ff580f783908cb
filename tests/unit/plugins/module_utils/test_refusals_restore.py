"""Refusals of the restore scenario (molecule/restore) that `make test` no longer runs on hosts (their
tests are marked full), checked here where they are decided, with the message the scenario asserts:

- a restore run without etcd_restore_snapshot: the restore entry point's argument spec, as the
  include_role of playbooks/restore.yml validates it (test_restore.py's test_a_restore_without_a_snapshot);
- a restore of a bit-flipped snapshot or of a member's bare database file (no trailer), named as the
  operator gave it, with nothing changed (test_restore.py's test_a_bad_snapshot_is_refused);
- a backup whose S3 target does not answer names the target and what it was doing (test_backup_targets.py's
  test_no_key_shows_at_vvv_when_an_upload_fails).
"""

import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target as etcd_backup_target
from ansible_collections.raftops.etcd.plugins.module_utils.plan.recovery_plan import snapshot_refusal
from ansible_collections.raftops.etcd.plugins.module_utils.backup.snapshot_host import Failure, inspect
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import build_db, build_snapshot

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "etcd")


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def missing_required(arguments):
    """The errors of the restore entry point's argument spec on ``arguments`` (the role's defaults
    under them, as the play's variables hold them) that name a missing required argument."""
    options = load("meta", "argument_specs.yml")["argument_specs"]["restore"]["options"]
    defaults = {name: value for name, value in load("defaults", "main.yml").items() if name in options}
    result = ArgumentSpecValidator(options).validate(dict(defaults, **arguments))
    return [str(error) for error in result.errors if "missing required" in str(error)]


def test_a_restore_without_a_snapshot_is_refused_naming_etcd_restore_snapshot():
    # A point in time needs no snapshot: the spec asks for none, and restore.yml's first refusal names it
    # when neither is given (the defaults of the point, '' and 0, join to '0').
    assert missing_required({}) == []
    tasks = load("tasks", "restore.yml")[0]["block"]
    refusal = next(task for task in tasks if task["name"] == "Refuse a restore without a snapshot")
    assert refusal["when"] == "(etcd_restore_to ~ etcd_restore_revision) == '0'"
    assert refusal["ansible.builtin.assert"]["fail_msg"].startswith("missing required arguments: etcd_restore_snapshot")
    assert tasks.index(refusal) < [task["name"] for task in tasks].index("Fetch the backup from an off-host target, replayed up to a point in time")


def flipped():
    data = bytearray(build_snapshot())
    data[len(data) // 2] ^= 0x01
    return bytes(data)


@pytest.mark.parametrize("content, says", [
    (flipped, "is not a sound etcd snapshot: SHA-256 mismatch: the trailer expects"),
    # The member's live database file: a bbolt file without the trailer snapshot save adds.
    (build_db, "is not a sound etcd snapshot: no SHA-256 trailer"),
], ids=["flipped", "bare-db"])
def test_a_bad_snapshot_refuses_the_restore_naming_it_as_given(tmp_path, content, says):
    path = tmp_path / "bad.db"
    path.write_bytes(content())
    with pytest.raises(Failure) as refused:
        inspect(None, str(path))
    message = str(refused.value)
    assert message.startswith("%s %s" % (path, says)), message
    refusal = snapshot_refusal(str(path), dict(failed=True, msg=message))
    assert refusal.startswith("etcd_restore_snapshot %s: %s %s" % (path, path, says)), refusal
    assert refusal.endswith("; nothing was changed")


def test_an_s3_target_that_does_not_answer_names_itself_and_the_object_looked_for(monkeypatch):
    # Nothing listens on port 9 of the loopback; one attempt, no retries.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    bucket = etcd_backup_target.Bucket(dict(name="unreachable", bucket="etcd-offsite", prefix="rst/",
                                            endpoint_url="http://127.0.0.1:9", region="us-east-1",
                                            access_key="AKIDPROBE", secret_key="never-shown"))
    name = "etcd-snapshot-20260101T000000Z.db.enc"
    with pytest.raises(etcd_backup_target.TargetError) as failed:
        bucket.head(name)
    message = str(failed.value)
    assert message.startswith("target unreachable (s3://etcd-offsite/rst/): looking for object %s failed: " % name)
    assert "Could not connect to the endpoint URL" in message
    assert "never-shown" not in message
