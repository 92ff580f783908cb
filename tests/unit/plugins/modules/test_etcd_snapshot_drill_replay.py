"""etcd_snapshot_drill's replay (a point-in-time restore): the change stream's revisions applied to
the private etcd one transaction each (pipelined on one connection, in order), its leases granted
again and kept alive, and its snapshot written; a revision that comes out another is refused."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import EtcdError
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.private_etcd import DrillError
from ansible_collections.raftops.etcd.plugins.modules.etcd_snapshot_drill import replay_into
from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import build_snapshot, stream_messages

PLAN = dict(after=7, reached=9, leases={"77": 60, "5": 30},
            txns=[[8, [["put", "L2E=", "MQ==", 77]]], [9, [["delete", "L2E=", "", 0]]]])


class Private:
    """The private etcd's gateway as the replay sees it: revision 7 restored, lease 5 already there."""

    def __init__(self, skip_at=None):
        self.revision, self.calls, self.skip_at = 7, [], skip_at

    def call(self, path, body=None):
        self.calls.append((path, body))
        if path == "/v3/lease/grant" and body["ID"] == "5":
            raise EtcdError("etcdserver: lease already exists")
        if path == "/v3/kv/txn":
            self.revision += 2 if self.revision == self.skip_at else 1
            return {"header": {"revision": str(self.revision)}}
        return {"leases": [{"ID": "77"}]}

    def pipelined(self, path, bodies):
        for body in bodies:
            yield self.call(path, body)

    def stream(self, path):
        assert path == "/v3/maintenance/snapshot"
        return stream_messages(build_snapshot(), wrap=False)

    def current_revision(self):
        return self.revision

    def count_keys(self):
        return 1


def test_each_revision_is_one_transaction_and_the_result_is_a_snapshot(tmp_path):
    private = Private()
    dest = tmp_path / "replayed.db"
    assert replay_into(private, PLAN, str(dest), Private()) == dict(revision=9, keys=1)
    assert private.calls == [
        ("/v3/lease/grant", {"ID": "77", "TTL": "60"}), ("/v3/lease/grant", {"ID": "5", "TTL": "30"}),
        ("/v3/kv/txn", {"success": [{"request_put": {"key": "L2E=", "value": "MQ==", "lease": "77"}}]}),
        ("/v3/kv/txn", {"success": [{"request_delete_range": {"key": "L2E="}}]})]
    assert dest.read_bytes() == build_snapshot() and oct(dest.stat().st_mode & 0o777) == "0o600"


def test_a_revision_that_comes_out_another_is_refused(tmp_path):
    with pytest.raises(DrillError, match="revision 9 of the change stream became revision 10 in the replay"):
        replay_into(Private(skip_at=8), PLAN, str(tmp_path / "replayed.db"), Private())
    assert not (tmp_path / "replayed.db").exists()
