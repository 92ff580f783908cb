"""The one prober and its one meaning of healthy, for etcd_health as for etcd_member(_info)."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.plugins.module_utils.client import probe as ep
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.cluster_state import endpoint_record
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.membership import health_of


class Client:
    """Answers status from ``replies[url]`` and /health from ``health[url]`` (an exception is raised)."""

    def __init__(self, url, replies, health, asked):
        self.endpoint, self.replies, self.health_replies, self.asked = url, replies, health, asked

    def _answer(self, table, call):
        self.asked.append((self.endpoint, call))
        reply = table[self.endpoint]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def status(self):
        return ec.normalize_status(self._answer(self.replies, "status"), endpoint=self.endpoint)

    def health(self, release=""):
        self.release = release
        return self._answer(self.health_replies, "health")


REFUSED = ec.EtcdUnreachable("refused", endpoint="http://a:2379", sent=False)
REPLIES = {
    "http://a:2379": REFUSED,
    "http://b:2379": {"header": {"member_id": "5"}, "leader": "5", "raftAppliedIndex": "40"},
    "http://c:2379": {"header": {"member_id": "9"}, "leader": "5"},
    "http://d:2379": {"header": {"member_id": "6"}},
    "http://e:2379": {"header": {"member_id": "7"}, "leader": "5", "raftAppliedIndex": "12"},
    "http://f:2379": ec.EtcdError("Not Found", endpoint="http://f:2379", status=404),
    "http://g:2379": ec.EtcdLoginUnanswered("no answer to the login as root: timed out", endpoint="http://g:2379"),
    "http://h:2379": ec.EtcdLoginUnanswered("no answer to the login as root: timed out", endpoint="http://h:2379"),
    "http://i:2379": {"header": {"member_id": "8"}, "leader": "5", "version": "3.6.16"},
}
HEALTH = {
    "http://b:2379": (True, ""),
    "http://c:2379": (True, ""),
    "http://d:2379": (False, "RAFT NO LEADER"),
    "http://e:2379": ec.EtcdUnreachable("timed out", endpoint="http://e:2379"),
    "http://f:2379": (False, ""),
    "http://g:2379": (False, "RAFT NO LEADER"),
    "http://h:2379": ec.EtcdUnreachable("timed out", endpoint="http://h:2379"),
    "http://i:2379": (False, "[-]linearizable_read failed: timed out"),
}


@pytest.fixture
def asked():
    return []


@pytest.fixture
def make(asked):
    return lambda url: Client(url, REPLIES, HEALTH, asked)


def member(member_id, urls, name="m"):
    return dict(id=member_id, id_hex="%x" % member_id, name=name, peer_urls=[], client_urls=urls,
                is_learner=False, started=bool(name))


def test_healthy_means_status_as_itself_with_a_leader_and_health_true(make):
    ok = ep.probe_endpoint(make("http://b:2379"), member_id=5)
    assert (ok["reachable"], ok["healthy"], ok["problem"], ok["health_reason"]) == (True, True, "", "")
    assert ok["status"]["raft_applied_index"] == 40


def test_each_way_of_not_being_healthy_says_why(make):
    assert ep.probe_endpoint(make("http://a:2379"))["problem"] == "http://a:2379: refused"
    assert ep.probe_endpoint(make("http://c:2379"), member_id=5)["problem"] == "http://c:2379 answered as member 9, not 5"
    assert ep.probe_endpoint(make("http://d:2379"))["problem"] == "http://d:2379 answers but knows no leader"
    assert ep.probe_endpoint(make("http://e:2379"))["problem"] == "http://e:2379: /health false: timed out"
    gateway_off = ep.probe_endpoint(make("http://f:2379"))
    assert gateway_off["problem"] == "http://f:2379: status failed: Not Found" + ep.GATEWAY_HINT
    assert gateway_off["health_reason"] == "no reason given"


def test_an_unreachable_member_is_asked_once(make, asked):
    record = ep.probe_endpoint(make("http://a:2379"))
    assert (record["reachable"], record["error"], record["status"]) == (False, "refused", None)
    assert asked == [("http://a:2379", "status")]


def test_with_auth_on_a_member_that_lost_quorum_answers_its_health_but_no_login(make, asked):
    """etcd commits a login through raft: without quorum the status (which needs one) is not read,
    and the member still answers /health, which needs none."""
    record = ep.probe_endpoint(make("http://g:2379"))
    assert (record["reachable"], record["healthy"], record["health_reason"]) == (True, False, "RAFT NO LEADER")
    assert record["problem"] == "http://g:2379: status failed: no answer to the login as root: timed out"
    silent = ep.probe_endpoint(make("http://h:2379"))
    assert (silent["reachable"], silent["error"]) == (False, "no answer to the login as root: timed out")
    assert asked == [("http://g:2379", "status"), ("http://g:2379", "health"), ("http://h:2379", "status"),
                     ("http://h:2379", "health")]


def test_a_status_is_kept_when_health_does_not_answer(make):
    """A learner catching up answers its status at once while its /health waits for raft."""
    record = ep.probe_endpoint(make("http://e:2379"), member_id=7)
    assert record["reachable"] and not record["healthy"]
    assert record["status"]["raft_applied_index"] == 12


def test_an_impostor_gives_no_status(make, asked):
    record = ep.probe_endpoint(make("http://c:2379"), member_id=5)
    assert record["status"] is None and not record["healthy"]
    assert ("http://c:2379", "health") not in asked


def test_probe_member_tries_each_client_url_in_turn(make):
    ok = ep.probe_member(member(5, ["http://a:2379", "http://b:2379"]), make)
    assert (ok["reachable"], ok["healthy"], ok["endpoint"], ok["problem"]) == (True, True, "http://b:2379", "")
    dead = ep.probe_member(member(7, ["http://a:2379"]), make)
    assert (dead["reachable"], dead["endpoint"], dead["problem"]) == (False, None, "http://a:2379: refused")
    unstarted = ep.probe_member(member(8, [], name=""), make)
    assert unstarted["problem"] == "not started (no client URLs)" and not unstarted["reachable"]

    def bad_tls(url):
        raise ec.EtcdConfigError("ca_cert /x does not exist", option="ca_cert", path="/x")

    assert ep.probe_member(member(5, ["https://b:2379"]), bad_tls)["problem"] == \
        "https://b:2379: ca_cert /x does not exist"


def test_probe_urls_stops_at_the_first_that_answers(make, asked):
    records = ep.probe_urls(["http://a:2379", "http://d:2379", "http://b:2379"], make)
    assert [r["endpoint"] for r in records] == ["http://a:2379", "http://d:2379"]
    assert ("http://b:2379", "status") not in asked


def test_probe_members_in_parallel(make):
    probes = ep.probe_members([member(5, ["http://b:2379"]), member(6, ["http://d:2379"])], make)
    assert sorted(probes) == [5, 6] and probes[5]["healthy"] and not probes[6]["healthy"]
    assert ep.probe_members([], make) == {}


@pytest.mark.parametrize("url, member_id", [("http://b:2379", 5), ("http://d:2379", 6), ("http://e:2379", 7),
                                            ("http://f:2379", None), ("http://a:2379", None)])
def test_etcd_health_and_the_quorum_checks_agree_on_healthy(make, url, member_id):
    probe = ep.probe_endpoint(make(url), member_id=member_id)
    health, _reasons = health_of({member_id: probe})
    assert endpoint_record(probe)["healthy"] is health[member_id] is probe["healthy"]


def test_the_release_from_the_status_chooses_readyz_and_the_problem_names_it(make):
    client = make("http://i:2379")
    record = ep.probe_endpoint(client)
    assert client.release == "3.6.16"
    assert record["problem"] == "http://i:2379: /readyz false: [-]linearizable_read failed: timed out"


class PeerPort:
    """A peer URL's answer to /version: an HTTP status, or an exception raised."""

    def __init__(self, answers, asked):
        self.answers, self.asked = answers, asked

    def __call__(self, url):
        self.url = url
        return self

    def get(self, path):
        self.asked.append((self.url, path))
        answer = self.answers[self.url]
        if isinstance(answer, Exception):
            raise answer
        return answer, {}


SILENT = dict(endpoint="https://a:2379", reachable=False, error=ec.NO_REPLY)
PEERS = ["https://a:2380", "https://a2:2380"]


def unready(record, answers, asked):
    return ep.unready_peer(record, ep.ask_peers(record, PEERS, PeerPort(answers, asked)))


@pytest.mark.parametrize("answers, peer", [
    ({"https://a:2380": 200}, "https://a:2380"),
    # any HTTP answer: the peer port served a request (a 404 on a release without the path)
    ({"https://a:2380": 404}, "https://a:2380"),
    ({"https://a:2380": ec.EtcdUnreachable("refused", sent=False), "https://a2:2380": 200}, "https://a2:2380"),
    ({"https://a:2380": ec.EtcdUnreachable(ec.NO_REPLY), "https://a2:2380": ec.EtcdConfigError("bad pair")}, None),
], ids=["answers", "any-status", "second-url", "none"])
def test_a_member_silent_on_its_client_url_is_unready_when_a_peer_url_answers(answers, peer):
    asked = []
    assert unready(SILENT, answers, asked) == peer
    assert asked[0] == ("https://a:2380", "/version")


@pytest.mark.parametrize("record, asked_peers", [
    (dict(SILENT, reachable=True, error=None), False),
    # silence from the network: the peer URLs are asked (is its host gone?), and it is no unready member
    (dict(SILENT, error="timed out connecting (the host is down, or a firewall drops the port)"), True),
    (dict(SILENT, error="[Errno 113] No route to host"), True),
    # an answer from its host: the peer URLs are not asked
    (dict(SILENT, error="[Errno 111] Connection refused"), False),
], ids=["answered", "connect-timeout", "no-route", "refused"])
def test_only_a_member_that_took_the_connection_and_answered_nothing_is_unready(record, asked_peers):
    asked = []
    assert unready(record, {url: 200 for url in PEERS}, asked) is None
    assert bool(asked) == asked_peers


def test_a_tls_handshake_left_unanswered_counts_as_no_reply():
    record = dict(SILENT, error=ec.NO_HANDSHAKE)
    assert unready(record, {url: 200 for url in PEERS}, []) == "https://a:2380"


def test_the_login_unanswered_of_a_silent_member_counts_as_no_reply():
    record = dict(SILENT, error="no answer to the login as root: %s (etcd commits a login through raft: without quorum "
                                "no one can log in)" % ec.NO_REPLY)
    assert unready(record, {url: 200 for url in PEERS}, []) == "https://a:2380"


def test_what_each_peer_url_answered_is_recorded():
    record = dict(SILENT, error="[Errno 113] No route to host")
    answers = {"https://a:2380": ec.EtcdUnreachable("[Errno 113] No route to host", sent=False), "https://a2:2380": 404}
    assert ep.ask_peers(record, PEERS, PeerPort(answers, [])) == [
        dict(url="https://a:2380", answered=False, error="[Errno 113] No route to host"),
        dict(url="https://a2:2380", answered=True, error=None)]
    assert ep.ask_peers(dict(SILENT, error="[Errno 111] Connection refused"), PEERS, PeerPort(answers, [])) is None


@pytest.mark.parametrize("error, silent", [
    # silence from the network: the packets dropped (a powered-off host on a routed network), no one at
    # the address, or a router that knows no way there
    (ec.CONNECT_TIMED_OUT, True),
    ("[Errno 113] No route to host", True),
    ("[Errno 101] Network is unreachable", True),
    ("Host is unreachable", True),
    # answers from the host
    ("[Errno 111] Connection refused", False),
    ("[Errno 104] Connection reset by peer", False),
    ("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:1000)", False),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1000)", False),
    (ec.NO_HANDSHAKE, False),
    (ec.NO_REPLY, False),
    ("connection closed without a reply (with auth enabled this can mean a missing or invalid token)", False),
    (None, False),
], ids=["connect-timeout", "no-route", "network-unreachable", "host-unreachable", "refused", "reset", "tls-alert",
        "cert-presented", "handshake-taken", "no-reply", "closed", "none"])
def test_only_silence_from_the_network_is_no_answer_from_the_host(error, silent):
    assert ep.silent(error) is silent


def test_a_member_whose_status_names_no_leader_is_not_asked_a_read_through_raft(make, asked):
    """etcd 3.5.30's /readyz waits for a leader past any timeout: the status, which needs no quorum, says it."""
    record = ep.probe_endpoint(make("http://d:2379"))
    assert asked == [("http://d:2379", "status")]
    assert (record["reachable"], record["healthy"], record["health_reason"]) == (True, False, None)
    assert record["problem"] == "http://d:2379 answers but knows no leader"
