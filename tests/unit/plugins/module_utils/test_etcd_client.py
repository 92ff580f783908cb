import pytest

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_client as ec


@pytest.mark.parametrize(
    "text, expected",
    [
        ("8e9e05c52164694d", 0x8E9E05C52164694D),
        ("0x8e9e05c52164694d", 0x8E9E05C52164694D),
        ("10276657743932975437", 10276657743932975437),
        ("  ABC  ", 0xABC),
    ],
)
def test_parse_member_id_accepts_hex_and_decimal(text, expected):
    assert ec.parse_member_id(text) == expected


def test_parse_member_id_rejects_empty():
    with pytest.raises(ValueError, match="empty member ID"):
        ec.parse_member_id("0x")


def test_normalize_member_fills_omitted_zero_fields():
    member = ec.normalize_member({"ID": "10276657743932975437", "peerURLs": ["https://10.0.0.1:2380"]})
    assert member == {
        "id": 10276657743932975437,
        "id_hex": "8e9e05c52164694d",
        "name": "",
        "peer_urls": ["https://10.0.0.1:2380"],
        "client_urls": [],
        "is_learner": False,
        "started": False,
    }


def test_normalize_status_marks_leader_and_reads_string_integers():
    status = ec.normalize_status(
        {
            "header": {"cluster_id": "17237436991929493444", "member_id": "9372538179322589801", "revision": "7"},
            "version": "3.5.1",
            "dbSize": "20480",
            "leader": "9372538179322589801",
            "raftIndex": "12",
            "raftTerm": "2",
        },
        endpoint="https://10.0.0.1:2379",
    )
    assert status["is_leader"] is True
    assert status["is_learner"] is False
    assert (status["raft_term"], status["raft_index"], status["db_size"], status["revision"]) == (2, 12, 20480, 7)
    assert status["raft_applied_index"] == 0


def test_normalize_status_follower_is_not_leader():
    status = ec.normalize_status({"header": {"member_id": "1"}, "leader": "2", "isLearner": True})
    assert status["is_leader"] is False
    assert status["is_learner"] is True


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"error": "etcdserver: member not found", "message": "etcdserver: member not found", "code": 5},
         "etcdserver: member not found"),
        ({"code": 9, "message": "etcdserver: unhealthy cluster", "details": []}, "etcdserver: unhealthy cluster"),
        ({"error": {"grpc_code": 14, "message": "etcdserver: no leader"}}, "etcdserver: no leader"),
        ("plain text", "plain text"),
    ],
)
def test_error_message_reads_every_release_format(body, expected):
    assert ec.error_message(body) == expected


def test_error_matches_is_case_insensitive():
    err = ec.EtcdError("etcdserver: re-configuration failed due to not enough started members", endpoint="e")
    assert err.matches("Not enough started members")
    assert not err.matches("member not found")
    assert str(err) == "e: etcdserver: re-configuration failed due to not enough started members"


def test_first_answer_skips_unreachable_and_learners_then_raises_with_all_endpoints():
    class Fake:
        def __init__(self, endpoint, outcome):
            self.endpoint, self.outcome = endpoint, outcome

    def action(client):
        if isinstance(client.outcome, Exception):
            raise client.outcome
        return client.outcome

    dead = Fake("a", ec.EtcdUnreachable("refused", endpoint="a"))
    learner = Fake("b", ec.EtcdError("etcdserver: rpc not supported for learner", endpoint="b"))
    good = Fake("c", "members")
    assert ec.first_answer([dead, learner, good], action) == "members"
    with pytest.raises(ec.EtcdUnreachable, match="a: refused; b: etcdserver: rpc not supported"):
        ec.first_answer([dead, learner], action)


def test_first_answer_raises_real_errors_at_once():
    class Fake:
        endpoint = "a"

    def action(client):
        raise ec.EtcdError("etcdserver: member not found", endpoint="a")

    with pytest.raises(ec.EtcdError, match="member not found"):
        ec.first_answer([Fake(), Fake()], action)


def test_connection_argument_spec_defaults_to_tls_on_loopback():
    spec = ec.connection_argument_spec()
    assert spec["endpoints"]["default"] == ["https://127.0.0.1:2379"]
    assert spec["timeout"]["default"] == 10.0


def test_health_reads_the_reason_of_a_503_body(monkeypatch):
    client = ec.EtcdClient("http://127.0.0.1:1")

    def refuse(path, data=None, method="GET", timeout=None):
        body = {"health": "false", "reason": "RAFT NO LEADER"}
        raise ec.EtcdError(ec.error_message(body), endpoint=client.endpoint, status=503, body=body)

    monkeypatch.setattr(client, "_open", refuse)
    assert client.health() == (False, "RAFT NO LEADER")
