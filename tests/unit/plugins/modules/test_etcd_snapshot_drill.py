"""etcd_snapshot_drill: the operator's restore drill, on the code the members' drill runs too
(module_utils/cluster/private_etcd.py, tested there). Here: the module's glue, its bad inputs (each
refused with nothing restored or started), check mode and its read of the private etcd through the
collection's client. A fake etcdutl restores; the private etcd and its answers are fakes."""

import functools
import json
import os
import pwd
from unittest import mock

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import private_etcd as etcd_private_etcd
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import EtcdError, EtcdUnreachable
from ansible_collections.raftops.etcd.plugins.modules import etcd_snapshot_drill as module
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_modules import FakePrivateEtcd, run_module

ME = pwd.getpwuid(os.getuid()).pw_name
KEYSPACE = dict(revision=7, current_revision=7, keys=5, hash=99, compact_revision=-1, hash_problem=None)
RECORD = json.dumps(dict(snapshot="s.db", revision=7, keys=5, hash_kv=99, compact_revision=-1))
SERVING = {"msg": etcd_private_etcd.SERVING, "listen-client-urls": ["unix://drill-client:0"],
           "listen-peer-urls": ["unix://drill-peer:0"], "listen-metrics-urls": []}


class Etcd(FakePrivateEtcd):
    """The private etcd (Popen): its log line, and that it was stopped."""

    started = []
    serving = SERVING


@pytest.fixture
def drill(tool, snapshot_file, tmp_path):
    """Run the module with ``args`` over its defaults; (result, failed, the client's URLs asked)."""
    work = tmp_path / "work"
    work.mkdir()
    Etcd.started.clear()

    def run(errors=(), answer=None, check=False, **args):
        """``errors`` are raised by the first reads, in turn; then each read answers ``answer`` (KEYSPACE)."""
        asked, errors, answer = [], list(errors), answer or KEYSPACE

        class Client:
            def __init__(self, url, **options):
                asked.append((url, options.get("auth_user"), options.get("auth_password")))

            def keyspace(self, revision):
                if errors:
                    raise errors.pop(0)
                return compacted[-1] if compacted else answer

            def compact(self, revision):
                compacted.append(dict(answer, compact_revision=revision, hash=answer["hash"] + 1))
                asked.append(("compact", revision))

        compacted = []

        params = dict(dict(src=str(snapshot_file), record=RECORD, etcd_path="/opt/etcd/etcd", user=ME,
                           work_dir=str(work)), **args)
        with mock.patch.object(module, "EtcdClient", Client), \
                mock.patch.object(module, "PrivateEtcd", functools.partial(etcd_private_etcd.PrivateEtcd, popen=Etcd,
                                                                           sleep=lambda s: None)):
            result, failed = run_module(module, params, check=check)
        assert os.listdir(str(work)) == []  # nothing left, whatever happened
        return result, failed, asked

    return run


def test_a_good_snapshot_is_proven_and_the_private_etcd_stopped(drill):
    result, failed, asked = drill(errors=[EtcdUnreachable("connection refused")])
    assert not failed and result["changed"] is False, result
    assert (result["revision"], result["keys"], result["hash"], result["problems"]) == (7, 5, 99, [])
    assert result["notes"] == ["hash 99 equals the backup's"] and result["snapshot"] == dict(revision=7, total_key=7)
    assert result["listeners"]["listen-client-urls"] == ["unix://drill-client:0"]
    etcd = Etcd.started[0]
    assert etcd.stopped and [a[0] for a in asked] == ["unix://%s/drill-client:0" % etcd.cwd] * 2


def test_a_record_given_as_a_dict_is_read_alike(drill):
    result, failed, _asked = drill(record=json.loads(RECORD))
    assert not failed and result["notes"] == ["hash 99 equals the backup's"], result


def test_a_point_in_time_is_compared_with_the_cluster_after_compacting_as_it_did(drill):
    # The private etcd never compacted (-1); the cluster compacted to 5: the private etcd compacts to 5, then hashes.
    cluster = dict(revision=7, current_revision=9, keys=5, hash=100, compact_revision=5, hash_problem=None)
    result, failed, asked = drill(record="", cluster_keyspace=cluster)
    assert not failed, result
    assert ("compact", 5) in asked
    assert result["notes"] == ["hash 100 equals the cluster's at revision 7 (HashKV from compact revision 5)"]
    # A cluster compacted past the revision gives no hash: nothing is compacted, and the drill says why.
    gone = dict(cluster, keys=None, hash=None, compact_revision=None, hash_problem="revision 7 is compacted: etcd keeps "
                "no history before its last compaction")
    result, failed, asked = drill(record="", cluster_keyspace=gone)
    assert not failed and ("compact", 5) not in asked
    assert result["notes"] == ["hash not compared: the cluster gave none at revision 7: revision 7 is compacted: etcd "
                               "keeps no history before its last compaction"]
    result, failed, _asked = drill(record="", cluster_keyspace=dict(cluster, keys=6), label="the point on host1")
    assert failed and result["msg"] == ("drill failed: snapshot the point on host1: the replayed etcd holds 5 keys at "
                                        "revision 7, the cluster held 6")


def test_the_tool_beside_etcd_is_taken_first(tmp_path, tool):
    bin_dir = tmp_path / "release"
    bin_dir.mkdir()
    assert module.beside(str(bin_dir / "etcd")) is None
    (bin_dir / "etcdctl").write_text("#!/bin/sh\n")
    (bin_dir / "etcdctl").chmod(0o755)
    assert module.beside(str(bin_dir / "etcd")) == str(bin_dir / "etcdctl")
    (bin_dir / "etcdutl").write_text("#!/bin/sh\n")
    (bin_dir / "etcdutl").chmod(0o755)
    assert module.beside(str(bin_dir / "etcd")) == str(bin_dir / "etcdutl")


def test_a_snapshot_that_differs_from_its_record_fails_naming_it(drill):
    result, failed, _asked = drill(answer=dict(KEYSPACE, keys=4), label="backups/s.db on host1")
    assert failed and result["msg"] == "drill failed: snapshot backups/s.db on host1: the restored etcd holds 4 keys, " \
                                       "the backup counted 5"
    assert result["problems"] == ["the restored etcd holds 4 keys, the backup counted 5"] and Etcd.started[0].stopped


def test_with_auth_it_reads_as_the_user_given_and_a_refused_login_fails_at_once(drill):
    result, failed, asked = drill(auth_user="root", auth_password="s3cret")
    assert not failed and asked[0][1:] == ("root", "s3cret")
    result, failed, asked = drill(errors=[EtcdError("etcdserver: authentication failed, invalid user ID or password")],
                                  auth_user="root", auth_password="wrong")
    assert failed and len(asked) == 1, asked
    assert "the private etcd refused the read (auth_user, auth_password): " in result["msg"]
    assert "wrong" not in json.dumps(result)


@pytest.mark.parametrize("args, message", [
    (dict(user="no-such-user-here"), "user 'no-such-user-here': no such user on this host"),
    (dict(record="{broken"), "drill failed: snapshot %s: the backup record is not JSON: "),
    (dict(record=json.dumps(dict(revision="7"))), "drill failed: snapshot %s: the backup record's revision is '7', not a whole number"),
    (dict(start_timeout=0), "start_timeout is 0: give the seconds to wait for the private etcd, 1 or more"),
    (dict(auth_user="root"), "parameters are required together: auth_user, auth_password"),
])
def test_a_bad_input_is_refused_before_anything_is_restored(drill, snapshot_file, tool, args, message):
    result, failed, asked = drill(**args)
    assert failed and result["msg"].startswith(message.replace("%s", str(snapshot_file))), result
    assert Etcd.started == [] and asked == []
    assert [c["args"][:2] for c in tool[1]() if c["args"][:2] != ["version"]] == []  # etcdutl only probed


def test_check_mode_restores_nothing(drill, snapshot_file):
    result, failed, asked = drill(check=True)
    assert not failed and result["msg"] == "check mode: %s would be restored into a private etcd" % snapshot_file
    assert Etcd.started == [] and asked == []
