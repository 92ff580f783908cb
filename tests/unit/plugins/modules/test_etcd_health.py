import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.module_utils.cluster import cluster_state as cs
from ansible_collections.raftops.etcd.plugins.modules import etcd_health
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_kv import FakeKVCluster
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match

REFUSED = "[Errno 111] Connection refused"
URLS = ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]


class World:
    """Two members, m0 (leader) and m1; ``m1_back_after`` sleeps until m1 answers again."""

    def __init__(self, m1_back_after=0, m0_up=True, silent=(), dropped=()):
        self.silent, self.dropped = set(silent), set(dropped)
        self.sleeps = 0
        self.now = 0.0
        self.m1_back_after = m1_back_after
        self.m0_up = m0_up

    def up(self, url):
        if url == URLS[0]:
            return self.m0_up
        return self.sleeps >= self.m1_back_after

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += seconds

    def client(self, url):
        return FakeClient(self, url)


class FakeClient:
    def __init__(self, world, endpoint):
        self.world, self.endpoint = world, endpoint
        self.index = URLS.index(endpoint)

    def _check(self):
        self.world.now += 0.05
        if self.endpoint in self.world.silent:
            # took the connection, sent nothing back
            raise ec.EtcdUnreachable(ec.NO_REPLY, endpoint=self.endpoint, sent=True)
        if self.endpoint in self.world.dropped:
            # every packet dropped: the connection never taken
            raise ec.EtcdUnreachable(ec.CONNECT_TIMED_OUT, endpoint=self.endpoint, sent=False)
        if not self.world.up(self.endpoint):
            raise ec.EtcdUnreachable(REFUSED, endpoint=self.endpoint)

    def health(self, release=""):
        self._check()
        return True, ""

    def status(self):
        self._check()
        return ec.normalize_status({
            "header": {"cluster_id": "99", "member_id": str(10 + self.index)}, "leader": "10",
            "version": "3.5.1", "raftTerm": "3", "raftIndex": "40", "raftAppliedIndex": "40", "dbSize": "24576",
        }, endpoint=self.endpoint)

    def member_list(self):
        self._check()
        return [ec.normalize_member({"ID": str(10 + i), "name": "m%d" % i, "clientURLs": [u],
                                     "peerURLs": [u.replace("2379", "2380")]}) for i, u in enumerate(URLS)]

    def alarms(self):
        self._check()
        return []

    def version(self):
        self._check()
        return {"etcdserver": "3.5.1", "etcdcluster": "3.5.0"}

    def keyspace(self, revision=0):
        self._check()
        if revision > 40:
            raise ec.EtcdError("etcdserver: mvcc: required revision is a future revision", endpoint=self.endpoint)
        return dict(revision=revision or 40, current_revision=40, keys=7, hash=None, compact_revision=None,
                    hash_problem="etcd 3.5.1 does not serve HashKV through its gateway (3.5.10 and later do)")


def params(**overrides):
    p = dict(endpoints=[URLS[0]], ca_cert=None, client_cert=None, client_key=None, timeout=1.0, discover=True,
             wait=False, wait_timeout=60, max_raft_index_gap=None, expect_members=None, allow_learners=True,
             quota_bytes=0)
    p.update(overrides)
    return p


def run(world, peers=None, **overrides):
    p = params(**overrides)
    clients = [world.client(u) for u in p["endpoints"]]
    return etcd_health.run(p, clients, world.client, clock=world.clock, sleep=world.sleep, make_peer_client=peers)


class PeerPorts:
    """Peer URLs: those in ``answering`` answer /version (any status), the others time out."""

    def __init__(self, *answering):
        self.answering, self.asked = answering, []

    def __call__(self, url):
        self.asked.append(url)
        return self._Port(url, url in self.answering)

    class _Port:
        def __init__(self, url, answers):
            self.url, self.answers = url, answers

        def get(self, path):
            assert path == "/version"
            if not self.answers:
                raise ec.EtcdUnreachable(ec.NO_REPLY, endpoint=self.url, sent=True)
            return 200, {"etcdserver": "3.5.30"}


PEER = {u: [u.replace("2379", "2380")] for u in URLS}


def test_a_member_silent_on_its_client_url_whose_peer_url_answers_is_reported_unready():
    peers = PeerPorts(PEER[URLS[0]][0])
    failure, result = run(World(m1_back_after=99, silent=[URLS[0]]), peers, endpoints=URLS, peer_urls=PEER)
    assert failure.startswith("no etcd endpoint answered")
    first, second = result["endpoints"]
    assert first["unready_peer"] == "http://10.0.0.1:2380"
    assert first["error"] == (ec.NO_REPLY + ", while its peer URL http://10.0.0.1:2380 answers: etcd serves its client "
                              "URLs only once it has joined a cluster with quorum, and this member has not since it "
                              "started")
    # a refused connection is no answer already: its peer URL is not asked
    assert second["unready_peer"] is None and second["error"] == REFUSED
    assert peers.asked == ["http://10.0.0.1:2380"]


def test_a_member_silent_on_both_urls_is_not_unready():
    peers = PeerPorts()
    _failure, result = run(World(silent=[URLS[0]]), peers, endpoints=URLS, peer_urls=PEER)
    first = result["endpoints"][0]
    assert first["unready_peer"] is None and first["error"] == ec.NO_REPLY
    assert peers.asked == ["http://10.0.0.1:2380"]


def test_a_member_whose_packets_are_dropped_has_what_its_peer_urls_answered_reported():
    """A member named lost in a quorum recovery is lost only when its peer URL is silent too."""
    peers = PeerPorts()
    _failure, result = run(World(dropped=[URLS[0]], m1_back_after=99), peers, endpoints=URLS, peer_urls=PEER)
    first, second = result["endpoints"]
    assert first["error"] == ec.CONNECT_TIMED_OUT and first["unready_peer"] is None
    assert first["peers"] == [dict(url="http://10.0.0.1:2380", answered=False, error=ec.NO_REPLY)]
    # a refused connection is an answer from its host: its peer URL is not asked
    assert second["error"] == REFUSED and second["peers"] is None
    assert peers.asked == ["http://10.0.0.1:2380"]
    peers = PeerPorts(PEER[URLS[0]][0])
    _failure, result = run(World(dropped=[URLS[0]]), peers, endpoints=URLS, peer_urls=PEER)
    assert result["endpoints"][0]["peers"] == [dict(url="http://10.0.0.1:2380", answered=True, error=None)]
    assert result["endpoints"][0]["unready_peer"] is None


def test_peer_urls_are_asked_only_of_silent_members_named_in_peer_urls():
    peers = PeerPorts(*[urls[0] for urls in PEER.values()])
    failure, result = run(World(), peers, endpoints=URLS, peer_urls=PEER)
    assert failure is None and peers.asked == []
    assert [record["unready_peer"] for record in result["endpoints"]] == [None, None]
    _failure, result = run(World(silent=[URLS[0]]), peers, endpoints=URLS, peer_urls={URLS[1] + "/": PEER[URLS[1]]})
    assert peers.asked == [] and result["endpoints"][0]["unready_peer"] is None


def test_the_peer_urls_are_asked_with_the_peer_pair_and_no_login():
    p = dict(params(), peer_cert="/pki/peer.pem", peer_key="/pki/peer-key.pem", client_cert="/pki/client.pem",
             client_key="/pki/client-key.pem", client_cert_content=None, client_key_content=None, auth_user="root",
             auth_password="secret", tls_verify=True)
    client = etcd_health.peer_client_factory(dict(p, ca_cert=None))("http://10.0.0.1:2380")
    assert client._auth is None
    without_pair = etcd_health.peer_client_factory(dict(p, peer_cert=None, peer_key=None))("http://10.0.0.1:2380")
    assert without_pair._auth is None


def test_healthy_cluster_returns_everything_and_changes_nothing():
    failure, result = run(World())
    assert failure is None
    assert result["changed"] is False
    assert result["healthy"] is True
    assert result["problems"] == []
    assert result["cluster"]["leader"] == "m0"
    assert [e["endpoint"] for e in result["endpoints"]] == URLS
    assert result["table"] == [
        "NAME  CLIENT-URL            VERSION  LEADER  LEARNER  TERM  INDEX  DB-SIZE  IN-USE  QUOTA  ALARMS  LAG  CERT-DAYS"
        "  HEALTH",
        "m0    http://10.0.0.1:2379  3.5.1    yes     no       3     40     24KiB    0B      0%     -       0    -"
        "          healthy",
        "m1    http://10.0.0.2:2379  3.5.1    no      no       3     40     24KiB    0B      0%     -       0    -"
        "          healthy",
    ]
    assert [(e["name"], e["health"], e["applied_lag"], e["alarms"]) for e in result["member_status"]] == [
        ("m0", "healthy", 0, []), ("m1", "healthy", 0, [])]
    assert "rounds" not in result
    json.dumps(result)


def test_unhealthy_without_wait_is_not_a_failure():
    failure, result = run(World(m1_back_after=99))
    assert failure is None
    assert result["healthy"] is False
    assert result["problems"] == ["m1 (http://10.0.0.2:2379): unreachable: " + REFUSED]


def test_no_endpoint_answering_fails_naming_each_endpoint():
    failure, result = run(World(m0_up=False, m1_back_after=99), endpoints=URLS)
    assert failure == "no etcd endpoint answered: http://10.0.0.1:2379: %s; http://10.0.0.2:2379: %s" % (
        REFUSED, REFUSED)
    assert result["healthy"] is False


def test_wait_polls_until_the_restarted_member_is_back():
    world = World(m1_back_after=3)
    failure, result = run(world, wait=True, wait_timeout=30)
    assert failure is None
    assert result["healthy"] is True
    assert result["rounds"] == 4
    assert world.sleeps == 3
    assert 3 * cs.WAIT_INTERVAL <= result["elapsed"] < 2  # a poll every WAIT_INTERVAL, not every second


def test_wait_keeps_polling_while_nothing_answers():
    world = World(m1_back_after=2)
    failure, result = run(world, endpoints=[URLS[1]], wait=True, wait_timeout=30)
    assert failure is None
    assert result["rounds"] == 3


def test_wait_timeout_names_what_is_wrong_and_returns_the_last_observation():
    world = World(m1_back_after=99)
    failure, result = run(world, wait=True, wait_timeout=5)
    assert failure.startswith("etcd cluster not healthy after 5s (")
    assert failure.endswith(" checks): m1 (http://10.0.0.2:2379): unreachable: " + REFUSED)
    assert result["healthy"] is False
    assert result["table"][2].endswith("unreachable")
    assert 5 <= world.now < 7


# -- the module as Ansible runs it --------------------------------------------------------------


def run_main(monkeypatch, capsys, args, world=None):
    world = world or World()
    monkeypatch.setattr(ec, "EtcdClient", lambda url, **kw: world.client(url))
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_health.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_main_in_check_mode(monkeypatch, capsys):
    code, out = run_main(monkeypatch, capsys, {"endpoints": [URLS[0]], "_ansible_check_mode": True})
    assert code == 0
    assert out["changed"] is False
    assert out["healthy"] is True
    assert len(out["table"]) == 3


def test_main_fails_when_no_endpoint_answers(monkeypatch, capsys):
    code, out = run_main(monkeypatch, capsys, {"endpoints": [URLS[0]]}, World(m0_up=False))
    assert code == 1
    assert out["failed"] is True
    assert out["msg"] == "no etcd endpoint answered: http://10.0.0.1:2379: " + REFUSED


def test_main_refuses_a_peer_cert_without_its_key_before_asking_anything(monkeypatch, capsys):
    world = World()
    world.client = None  # any client built would fail the test
    code, out = run_main(monkeypatch, capsys, {"endpoints": [URLS[0]], "peer_cert": "/pki/peer.pem"}, world)
    assert code == 1
    assert out["msg"] == "peer_cert and peer_key go together: peer_key is missing"


def test_main_rejects_negative_numbers(monkeypatch, capsys):
    code, out = run_main(monkeypatch, capsys, {"endpoints": [URLS[0]], "max_raft_index_gap": -1})
    assert code == 1
    assert out["msg"] == "max_raft_index_gap must not be negative, got -1"


# -- documentation ----------------------------------------------------------------------------


def test_documented_options_match_the_argument_spec():
    assert_documented_options_match(etcd_health)


def test_examples_and_return_are_yaml():
    assert len(yaml.safe_load(etcd_health.EXAMPLES)) == 4
    returned = yaml.safe_load(etcd_health.RETURN)
    assert {"healthy", "problems", "table", "cluster", "members", "endpoints"} <= set(returned)


def test_keyspace_is_read_from_the_first_endpoint_that_answers():
    failure, result = run(World(m0_up=False), endpoints=URLS, keyspace=True)
    assert failure is None
    assert result["keyspace"] == dict(endpoint=URLS[1], revision=40, current_revision=40, keys=7, hash=None,
                                      compact_revision=None, hash_problem="etcd 3.5.1 does not serve HashKV through "
                                      "its gateway (3.5.10 and later do)")
    _failure, result = run(World(), keyspace=True, keyspace_revision=12)
    assert result["keyspace"]["revision"] == 12
    assert "keyspace" not in run(World())[1]


def test_a_keyspace_that_cannot_be_read_fails_saying_why():
    failure, result = run(World(), keyspace=True, keyspace_revision=99)
    assert failure == ("cannot read the keyspace: http://10.0.0.1:2379: etcdserver: mvcc: required revision is a "
                       "future revision")
    assert result["healthy"] is True


# -- the gate before a step that changes a member: only while this run holds its run lock ----------

LOCK_KEY = "/raftops/etcd/run"
THIS_RUN = ("ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid 4242, run 9f3c2a1b0e4d5c6f of machine "
            "1a2b3c4d5e6f7a8b, started 2026-11-22T09:58:00Z")


def locked_cluster(monkeypatch):
    fake = FakeKVCluster(["m0", "m1", "m2"], leader="m0")

    def make(url, **_options):
        return fake.client(url)
    make.decode_kv = ec.EtcdClient.decode_kv
    monkeypatch.setattr(ec, "EtcdClient", make)
    fake.this = fake.grant(45)
    fake.put(LOCK_KEY, json.dumps(dict(holder=THIS_RUN, acquired_at="2026-11-22T10:00:00Z", ttl=45)), lease=fake.this)
    return fake


def gate(capsys, fake, **args):
    with patch_module_args(dict(dict(endpoints=[URLS[0]], run_lock=dict(key=LOCK_KEY, lease_id="%016x" % fake.this)),
                                **args)), pytest.raises(SystemExit) as exit_info:
        etcd_health.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_the_gate_before_a_restart_stops_a_run_whose_keeper_failed_to_renew_its_lease(monkeypatch, capsys):
    fake = locked_cluster(monkeypatch)
    code, out = gate(capsys, fake)
    assert code == 0 and out["healthy"] is True
    fake.advance(46)  # the keeper was cut off for longer than the TTL: the lease ran out
    code, out = gate(capsys, fake)
    assert code == 1 and out["failed"] is True and out["changed"] is False
    assert out["msg"] == (
        "refused to let the step this check gates go on: this run no longer holds the run lock /raftops/etcd/run: its "
        "lease %016x expired or was revoked (its keeper could not renew it for the lease's whole TTL: the controller was "
        "cut off from the cluster, or the keeper stopped), and nobody holds it now. Another run may be changing the "
        "cluster now, so this run stops here; nothing was changed by this step. Run again once no other run holds the "
        "lock" % fake.this)
    assert not {c[1] for c in fake.calls} & {"lease_grant", "lease_keepalive_once", "txn", "lease_revoke"}
    # In check mode nothing follows the gate: no check.
    code, out = gate(capsys, fake, _ansible_check_mode=True)
    assert code == 0
