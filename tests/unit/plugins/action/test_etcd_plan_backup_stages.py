"""The etcd_plan action's stages of the backup, a restore's fetch and the restore drill: each reads what
the role's tasks gathered and the controller's files (backup directory, key file), decides with
module_utils/backup/backup_plan.py and returns the plan with changed=false (the seal: as its sealing);
a refusal fails the task with refuse=true (bad arguments: test_etcd_plan_action.py)."""

import json
import os
import shutil
from unittest.mock import MagicMock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action import etcd_plan as plan_action
from ansible_collections.raftops.etcd.plugins.action.etcd_plan import ActionModule
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_plan

MEMBERS = [dict(name="a", host="h0", client_url="https://h0:2379")]
HEALTH = dict(endpoints=[dict(endpoint="https://h0:2379", healthy=True, is_learner=False, cluster_id="c1d")], problems=[])
VAULT = dict(name="vault", type="ssh", host="bk", path="/srv/b")
SNAP = "etcd-snapshot-20260301T000000Z.db"


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._execute_module = MagicMock(side_effect=AssertionError("this step asks no host"))
    return module


def run(action, **args):
    action._task.args = args
    return action.run(task_vars=dict(inventory_hostname="h0", ansible_play_hosts=["h0"]))


def asks_health(action, answer):
    """The source step's etcd_health call answers ``answer``."""
    action._execute_module = MagicMock(return_value=answer)


def test_the_source_step_reads_the_play_hosts_and_refuses_when_no_member_is_healthy(action):
    asks_health(action, HEALTH)
    result = run(action, stage="source", connection=dict(password="hunter2", ca_cert="/ca.pem"), members=MEMBERS,
                 settings=dict(endpoints=["https://h0:2379"], targets=[VAULT], cluster="p/e"), refuse=True)
    action._execute_module.assert_called_once_with(
        module_name="raftops.etcd.etcd_health", task_vars=dict(inventory_hostname="h0", ansible_play_hosts=["h0"]),
        module_args=dict(password="hunter2", ca_cert="/ca.pem", endpoints=["https://h0:2379"]))
    assert "failed" not in result and result["changed"] is False
    assert result["_ansible_no_log"] is True  # the targets' keys are in it
    assert result["source"]["name"] == "a" and result["targets"][0]["keep"] == 7 and result["object"] == result["name"] + ".enc"
    asks_health(action, dict(endpoints=[], problems=["h0: timed out"]))
    result = run(action, stage="source", members=MEMBERS, refuse=True)
    assert result["failed"] and result["msg"] == "no healthy voting member to take a snapshot from: h0: timed out"
    assert "_ansible_no_log" not in result and "targets" not in result  # a refusal is shown, and holds no target
    asks_health(action, HEALTH)
    result = run(action, stage="source", members=MEMBERS, settings=dict(targets="vault"))
    assert result["failed"] and result["msg"] == ("raftops.etcd.etcd_plan: cannot plan the source step: "
                                                  "etcd_backup_targets must be a list of targets")


def test_the_source_step_fails_with_the_health_read_s_message_only(action):
    asks_health(action, dict(failed=True, msg="no endpoint answered", invocation=dict(module_args=dict(password="x"))))
    result = run(action, stage="source", connection=dict(password="x"), members=MEMBERS, refuse=True)
    assert result == dict(failed=True, changed=False, msg="the health of the members could not be read: "
                                                          "no endpoint answered; nothing was changed")


def test_the_record_step_keeps_the_plan(action):
    asks_health(action, HEALTH)
    source = run(action, stage="source", members=MEMBERS)
    saved = dict(inspected=dict(revision=42), keyspace=dict(keys=40, hash=7, compact_revision=-1))
    result = run(action, stage="record", plan=source, settings=dict(saved=saved))
    assert result["record"]["revision"] == 42 and result["record"]["snapshot"] == source["name"]
    assert result["source"] == source["source"]


def test_without_targets_in_the_task_the_steps_read_the_play_s_etcd_backup_targets(action):
    # The role's tasks give none: the S3 keys stay out of the task's arguments.
    action._templar = MagicMock(template=lambda value: value)
    action._task.args = dict(stage="fetch", settings=dict(cluster="p/e", target="vault"), refuse=True)
    fetch = action.run(task_vars=dict(inventory_hostname="h0", etcd_backup_targets=[VAULT]))
    assert fetch["target"]["name"] == "vault" and fetch["refusal"] == ""
    asks_health(action, HEALTH)
    action._task.args = dict(stage="source", members=MEMBERS, settings=dict(cluster="p/e"))
    source = action.run(task_vars=dict(inventory_hostname="h0", ansible_play_hosts=["h0"], etcd_backup_targets=[VAULT]))
    assert [target["name"] for target in source["targets"]] == ["vault"]


def test_the_fetch_step_finds_the_target_with_its_defaults_or_refuses_one_not_listed(action):
    fetch = run(action, stage="fetch", settings=dict(targets=[VAULT], cluster="p/e", target="vault"), refuse=True)
    assert fetch["target"]["keep"] == 7 and fetch["refusal"] == ""
    result = run(action, stage="fetch", settings=dict(targets=[VAULT], target="offsite"), refuse=True)
    assert result["failed"] and result["msg"] == "etcd_restore_target offsite is not one of etcd_backup_targets (vault)"


def test_the_drill_snapshot_step_takes_the_newest_of_the_backup_directory_with_its_record(action, tmp_path):
    for stamp in ("20260101T000000Z", "20260301T000000Z"):
        (tmp_path / ("etcd-snapshot-%s.db" % stamp)).write_bytes(b"x")
    (tmp_path / "etcd-snapshot-20260301T000000Z.db.json").write_text('{"revision": 3}')
    action._execute_module = MagicMock(return_value=dict(changed=False, revision=3))
    result = run(action, stage="drill_snapshot", settings=dict(backup_dir=str(tmp_path)), refuse=True)
    newest = str(tmp_path / "etcd-snapshot-20260301T000000Z.db")
    assert result["path"] == newest and "failed" not in result
    assert result["record_text"] == '{"revision": 3}'
    # Checked on the task's host, the controller the step is delegated to, as a restore's snapshot is.
    assert action._execute_module.call_args.kwargs["module_name"] == "raftops.etcd.etcd_snapshot_info"
    assert action._execute_module.call_args.kwargs["module_args"] == dict(src=newest)
    action._execute_module = MagicMock(return_value=dict(failed=True, msg="damaged"))
    result = run(action, stage="drill_snapshot", settings=dict(backup_dir=str(tmp_path)), refuse=True)
    assert result["failed"] and result["msg"] == "drill failed: snapshot %s: damaged; nothing was left on h0" % newest
    result = run(action, stage="drill_snapshot", settings=dict(backup_dir=str(tmp_path / "none")), refuse=True)
    assert result["failed"] and result["msg"].startswith("no snapshot etcd-snapshot-*.db in etcd_backup_dir ")


def test_the_drill_point_step_of_a_point_in_time_reads_the_cluster_s_keyspace_at_it(action, tmp_path):
    chosen = dict(path=str(tmp_path / "etcd-snapshot.db"), record_text="", refusal="")
    keyspace = dict(endpoint="https://127.0.0.1:2379", revision=4300, current_revision=4400, keys=12, hash=7,
                    compact_revision=-1, hash_problem=None)
    asks_health(action, dict(healthy=True, keyspace=keyspace))
    settings = dict(point_revision="4300", endpoint="https://127.0.0.1:2379")
    result = run(action, stage="drill_point", plan=chosen, connection=dict(ca_cert="/ca.pem"), settings=settings, refuse=True)
    assert "failed" not in result and result["cluster_keyspace"] == keyspace and result["path"] == chosen["path"]
    action._execute_module.assert_called_once_with(
        module_name="raftops.etcd.etcd_health", task_vars=dict(inventory_hostname="h0", ansible_play_hosts=["h0"]),
        module_args=dict(ca_cert="/ca.pem", endpoints=["https://127.0.0.1:2379"], keyspace=True, keyspace_revision=4300))
    asks_health(action, dict(failed=True, msg="cannot read the keyspace: https://127.0.0.1:2379: connection refused"))
    result = run(action, stage="drill_point", plan=chosen, connection=dict(ca_cert="/ca.pem"), settings=settings, refuse=True)
    assert result["failed"] and result["msg"] == (
        "drill failed: the cluster's keyspace at revision 4300, which the drill of the point in time is compared with, "
        "cannot be read on h0: cannot read the keyspace: https://127.0.0.1:2379: connection refused; nothing was left "
        "on h0")
    # Without a point, or after the snapshot was refused: no read of the cluster, the plan as it was.
    asks_health(action, dict(failed=True, msg="not asked"))
    result = run(action, stage="drill_point", plan=chosen, settings=dict(settings, point_revision="0"), refuse=True)
    assert "failed" not in result and "cluster_keyspace" not in result and not action._execute_module.called
    assert result["path"] == chosen["path"]


def test_the_seal_step_seals_the_snapshot_in_this_process_and_keeps_the_plan(action, tmp_path, monkeypatch):
    asks_health(action, HEALTH)
    plan = run(action, stage="source", members=MEMBERS, settings=dict(targets=[VAULT], cluster="p/e"))
    action._execute_module = MagicMock(side_effect=AssertionError("the seal asks no host"))
    action._task.check_mode = False
    snapshot = tmp_path / plan["name"]
    snapshot.write_bytes(os.urandom(3000))
    snapshot.with_name(plan["name"] + ".json").write_text(json.dumps(dict(snapshot=plan["name"], revision=42)))
    settings = dict(src=str(snapshot), key_file=str(tmp_path / "backup.key"), cluster="p/e")
    shown = []
    monkeypatch.setattr(plan_action.display, "display", shown.append)
    result = run(action, stage="seal", plan=plan, settings=settings)
    sealed = result["sealed"]
    try:
        # The encryption's line, shown as the seal is done.
        assert shown == [backup_plan.sealed_report(sealed, settings["key_file"])]
        assert shown[0].startswith("encrypted %s: " % plan["object"]) and "(new key %s: " % settings["key_file"] in shown[0]
        assert "failed" not in result and result["changed"] is True and result["_ansible_no_log"] is True
        assert result["targets"] == plan["targets"] and result["name"] == plan["name"]
        assert sealed["path"] == os.path.join(sealed["dir"], plan["object"]) and sealed["key_created"] is True
        assert sealed["sealed_size"] == os.path.getsize(sealed["path"])
        assert sealed["drill_record"] == dict(snapshot=plan["name"], revision=42, object=plan["object"], member="a",
                                              sha256=sealed["sha256"], key_id=sealed["key_id"],
                                              sealed_size=sealed["sealed_size"], sealed_sha256=sealed["sealed_sha256"])
        # The header authenticates the plan's cluster, cluster ID and time: the key opens it under those.
        key = crypto.read_key(settings["key_file"])
        with open(sealed["path"], "rb") as stream:
            header = crypto.read_header(stream, plan["object"], key)
        assert header["label"] == dict(name=plan["object"], cluster="p/e", cluster_id="c1d", time=plan["taken"],
                                       signer="controller")
        crypto.verify_signature(header, plan["object"], crypto.cluster_signers(key, []))  # the controller signed it
    finally:
        shutil.rmtree(sealed["dir"])


def test_the_seal_step_fails_with_the_seal_s_message_or_without_a_source(action, tmp_path):
    plan = dict(name=SNAP, object=SNAP + ".enc", taken="20260301T000000Z", targets=[],
                source=dict(name="a", cluster_id="c1d"))
    action._task.check_mode = False
    settings = dict(src=str(tmp_path / SNAP), key_file=str(tmp_path / "backup.key"), cluster="p/e")
    result = run(action, stage="seal", plan=plan, settings=settings)
    assert result["failed"] and result["changed"] is False and "sealed" not in result and "targets" not in result
    assert result["msg"].startswith("%s cannot be encrypted: " % settings["src"])
    result = run(action, stage="seal", plan=dict(plan, source=None), settings=settings)
    assert result["failed"] and result["msg"] == (
        "raftops.etcd.etcd_plan: cannot plan the seal step: the backup's plan gives no cluster_id, member "
        "to seal its snapshot with; nothing was sealed")
