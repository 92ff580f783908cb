import re
import time

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import cluster_state as cs
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_members import REFUSED, Cluster, Node, three


def test_one_endpoint_discovers_and_checks_the_whole_cluster():
    cluster = Cluster(*three())
    obs = cluster.observe()
    healthy, problems = cs.assess(obs)
    assert (healthy, problems) == (True, [])
    assert [(r["endpoint"], r["member"], r["discovered"]) for r in obs["endpoints"]] == [
        ("http://10.0.0.1:2379", "h0", False), ("http://10.0.0.2:2379", "h1", True),
        ("http://10.0.0.3:2379", "h2", True),
    ]
    summary = cs.cluster_summary(obs)
    assert summary == dict(id="4d", version="3.5.0", leader="h0", leader_id="100", members_total=3, voting=3,
                           learners=0, alarms=[])
    assert [m["id"] for m in cs.public_members(obs)] == ["100", "101", "102"]


def test_with_auth_on_and_no_quorum_the_member_list_and_alarms_are_not_asked_of_members_that_left_the_login_waiting():
    """Each would wait as long as the probe's login did (etcd commits a login through raft)."""
    cluster = Cluster(*three(h0={"login_unanswered": True, "healthy": False, "reason": "timed out"},
                             h1={"login_unanswered": True, "healthy": False, "reason": "timed out"},
                             h2={"down": True}))
    obs = cluster.observe("http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379")
    assert obs["members"] is None and obs["alarms"] is None
    assert obs["member_list_error"] == obs["alarms_error"] == "no answer to the login as root: timed out"
    assert obs["cluster_version"] == "3.5.0"
    # status and /health from the probe (only the status of the member that is down), then /version
    # of the first; no member list, no alarms
    assert sorted(cluster.calls) == sorted(["http://10.0.0.1:2379"] * 3 + ["http://10.0.0.2:2379"] * 2
                                           + ["http://10.0.0.3:2379"])


def test_a_member_that_logs_in_is_asked_even_when_another_left_the_login_waiting():
    cluster = Cluster(*three(h0={"login_unanswered": True}))
    obs = cluster.observe("http://10.0.0.1:2379", "http://10.0.0.2:2379")
    assert [m["name"] for m in obs["members"]] == ["h0", "h1", "h2"]
    assert obs["alarms"] == [] and obs["member_list_error"] is None


def test_discover_off_checks_only_the_named_endpoints():
    cluster = Cluster(*three(h2={"down": True}))
    obs = cluster.observe(discover=False)
    assert [r["endpoint"] for r in obs["endpoints"]] == ["http://10.0.0.1:2379"]
    assert cs.assess(obs) == (True, [])
    assert cs.format_table(obs)[3].endswith("not-checked")


def test_a_member_reached_through_an_alias_is_not_probed_twice():
    nodes = three()
    cluster = Cluster(*nodes)
    cluster.by_url["http://127.0.0.1:2379"] = nodes[0]
    obs = cluster.observe("http://127.0.0.1:2379")
    assert [r["endpoint"] for r in obs["endpoints"]] == [
        "http://127.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]
    assert cs.assess(obs) == (True, [])


def test_unreachable_member_is_named_with_its_url_and_error():
    cluster = Cluster(*three(h2={"down": True}))
    obs = cluster.observe()
    assert cs.assess(obs) == (False, ["h2 (http://10.0.0.3:2379): unreachable: " + REFUSED])
    row = cs.format_table(obs)[3]
    assert row.startswith("h2") and row.endswith("unreachable")
    assert cs.member_status(obs)[2]["reason"] == REFUSED


def test_named_endpoint_that_is_no_member_and_does_not_answer_is_a_problem():
    cluster = Cluster(*three())
    obs = cluster.observe("http://10.9.9.9:2379", "http://10.0.0.1:2379")
    healthy, problems = cs.assess(obs)
    assert not healthy
    assert problems == ["http://10.9.9.9:2379: unreachable: " + REFUSED]


def test_no_endpoint_answers():
    cluster = Cluster(*three(h0={"down": True}))
    obs = cluster.observe()
    assert obs["members"] is None
    assert cs.assess(obs) == (False, ["no endpoint answered", "http://10.0.0.1:2379: unreachable: " + REFUSED])
    assert cs.format_table(obs)[1].split()[0] == "?"


def test_health_false_reports_the_reason_and_says_when_there_is_none():
    cluster = Cluster(*three(h1={"healthy": False, "reason": "RAFT NO LEADER"},
                             h2={"healthy": False}))
    healthy, problems = cs.assess(cluster.observe())
    assert not healthy
    assert problems == ["h1 (http://10.0.0.2:2379): /health false: RAFT NO LEADER",
                        "h2 (http://10.0.0.3:2379): /health false: no reason given"]


def test_leader_disagreement():
    cluster = Cluster(*three(h2={"leader": 0x102}))
    healthy, problems = cs.assess(cluster.observe())
    assert not healthy
    assert "members disagree on the leader: h0, h1 see h0; h2 see h2" in problems
    assert "more than one member claims to be leader: h0, h2" in problems
    assert cs.cluster_summary(cluster.observe())["leader"] is None


def test_no_leader():
    cluster = Cluster(*three(h0={"leader": None}, h1={"leader": None}, h2={"leader": None}))
    assert cs.assess(cluster.observe()) == (False, ["no leader seen by: h0, h1, h2"])


def test_leader_outside_the_member_list():
    cluster = Cluster(*three(h0={"leader": 0x1FF}, h1={"leader": 0x1FF}, h2={"leader": 0x1FF}))
    healthy, problems = cs.assess(cluster.observe())
    assert problems == ["leader 1ff is not in the member list"]
    assert not healthy


def test_unstarted_member():
    cluster = Cluster(*three(h2={"started": False}))
    obs = cluster.observe()
    healthy, problems = cs.assess(obs)
    assert not healthy
    assert problems == ["unstarted member 102 (http://10.0.0.3:2380): not started (added but has never joined the cluster)"]
    assert cs.format_table(obs)[3].startswith("(102)")
    assert cs.format_table(obs)[3].endswith("not-started")


@pytest.mark.parametrize("started", [True, False])
def test_learner_is_fine_only_when_allowed(started):
    cluster = Cluster(*three(h2={"learner": True, "started": started}))
    obs = cluster.observe()
    assert cs.assess(obs, allow_learners=True) == (True, [])
    healthy, problems = cs.assess(obs, allow_learners=False)
    assert not healthy
    assert any("is a learner" in p for p in problems)
    summary = cs.cluster_summary(obs)
    assert (summary["voting"], summary["learners"]) == (2, 1)


def test_learner_cannot_answer_the_member_list():
    cluster = Cluster(*three(h2={"learner": True}))
    obs = cluster.observe("http://10.0.0.3:2379")
    assert obs["members"] is None
    healthy, problems = cs.assess(obs)
    assert not healthy
    assert problems[0].startswith("member list unavailable: no endpoint answered: ")
    assert "rpc not supported for learner" in problems[0]
    assert problems[0].endswith(cs.LEARNER_HINT)


def test_cluster_calls_prefer_a_voting_member_even_when_a_learner_is_named_first():
    cluster = Cluster(*three(h2={"learner": True}))
    obs = cluster.observe("http://10.0.0.3:2379", "http://10.0.0.2:2379")
    assert obs["members"] is not None
    assert cs.assess(obs) == (True, [])


def test_raft_gap():
    cluster = Cluster(*three(h0={"index": 1000}, h1={"index": 1000}, h2={"index": 990, "applied": 500}))
    obs = cluster.observe()
    assert cs.assess(obs)[0] is True
    assert cs.assess(obs, max_raft_index_gap=500) == (True, [])
    assert cs.assess(obs, max_raft_index_gap=100) == (False, [
        "h2 (http://10.0.0.3:2379): behind the leader by 500 raft entries (applied 500, leader index 1000, max 100)"])


def test_raft_gap_needs_the_leader():
    cluster = Cluster(*three(h0={"down": True}))
    healthy, problems = cs.assess(cluster.observe("http://10.0.0.2:2379"), max_raft_index_gap=10)
    assert not healthy
    assert "raft index gap not checked: the leader's status was not observed" in problems


def test_alarm_is_named_with_the_member_once():
    cluster = Cluster(*three(h1={"errors": ["memberID:257 alarm:NOSPACE "]}), alarms=[(0x101, "NOSPACE")])
    obs = cluster.observe()
    assert cs.assess(obs) == (False, ["alarm NOSPACE on member h1"])
    assert cs.cluster_summary(obs)["alarms"] == [dict(member_id="101", member="h1", alarm="NOSPACE")]
    obs["alarms"], obs["alarms_error"] = None, "timed out"
    assert cs.assess(obs)[1] == ["h1 (http://10.0.0.2:2379): reports errors: memberID:257 alarm:NOSPACE",
                                 "alarms could not be read: timed out"]


NOSPACE_H1 = dict(alarms=[(0x101, "NOSPACE")])


def test_a_tolerated_alarm_and_the_health_it_costs_are_no_problem():
    cluster = Cluster(*three(h0={"healthy": False, "reason": "ALARM NOSPACE"},
                             h1={"healthy": False, "reason": "ALARM NOSPACE", "errors": ["memberID:257 alarm:NOSPACE "]},
                             h2={"healthy": False}), **NOSPACE_H1)  # h2: a release that gives no reason
    obs = cluster.observe()
    assert cs.assess(obs, tolerate_alarms=("NOSPACE",)) == (True, [])
    assert cs.assess(obs)[1] == [
        "h0 (http://10.0.0.1:2379): /health false: ALARM NOSPACE",
        "h1 (http://10.0.0.2:2379): /health false: ALARM NOSPACE",
        "h2 (http://10.0.0.3:2379): /health false: no reason given",
        "alarm NOSPACE on member h1",
    ]


def test_tolerating_an_alarm_that_is_not_raised_excuses_nothing():
    cluster = Cluster(*three(h1={"healthy": False}, h2={"healthy": False, "reason": "ALARM NOSPACE"}))
    assert cs.assess(cluster.observe(), tolerate_alarms=("NOSPACE",))[1] == [
        "h1 (http://10.0.0.2:2379): /health false: no reason given",
        "h2 (http://10.0.0.3:2379): /health false: ALARM NOSPACE",
    ]


def test_other_alarms_and_reasons_stay_problems_while_one_is_tolerated():
    cluster = Cluster(*three(h0={"healthy": False, "reason": "ALARM CORRUPT"}, h2={"down": True}),
                      alarms=[(0x101, "NOSPACE"), (0x100, "CORRUPT")])
    assert cs.assess(cluster.observe(), tolerate_alarms=("NOSPACE",))[1] == [
        "h0 (http://10.0.0.1:2379): /health false: ALARM CORRUPT",
        "h2 (http://10.0.0.3:2379): unreachable: " + REFUSED,
        "alarm CORRUPT on member h0",
    ]


def test_member_records_pair_each_listed_member_with_its_best_endpoint():
    nodes = three(h2={"down": True})
    cluster = Cluster(*nodes)
    cluster.by_url["http://127.0.0.1:2379"] = nodes[0]
    pairs = cs.member_records(cluster.observe("http://127.0.0.1:2379", "http://10.0.0.9:2379"))
    assert [(m["name"], r["endpoint"], r["reachable"]) for m, r in pairs] == [
        ("h0", "http://127.0.0.1:2379", True), ("h1", "http://10.0.0.2:2379", True),
        ("h2", "http://10.0.0.3:2379", False)]


def test_expect_members():
    cluster = Cluster(*three(h2={"learner": True}))
    obs = cluster.observe()
    assert cs.assess(obs, expect_members=2) == (True, [])
    assert cs.assess(obs, expect_members=3) == (False, ["expected 3 started voting members, found 2: h0, h1"])


def test_gateway_off_is_explained():
    cluster = Cluster(*three(h1={"gateway_404": True}))
    healthy, problems = cs.assess(cluster.observe())
    assert not healthy
    assert problems == ["h1 (http://10.0.0.2:2379): status failed: Not Found" + cs.GATEWAY_HINT]


def test_gateway_hint_is_given_once():
    cluster = Cluster(*three(h0={"gateway_404": True}, h1={"gateway_404": True}))
    obs = cluster.observe(discover=False)
    obs["member_list_error"] = "Not Found" + cs.GATEWAY_HINT
    healthy, problems = cs.assess(obs)
    assert not healthy
    assert sum(cs.GATEWAY_HINT in p for p in problems) == 1


def test_endpoints_of_different_clusters():
    cluster = Cluster(*three(h1={"cluster_id": 78}))
    healthy, problems = cs.assess(cluster.observe())
    assert not healthy
    assert problems[-1].startswith("endpoints belong to different clusters: ")


def test_endpoint_answering_as_an_unknown_member():
    nodes = three()
    stray = Node("old", 0x999, 9, leader=0x100)
    cluster = Cluster(*nodes)
    cluster.by_url[stray.url] = stray
    healthy, problems = cs.assess(cluster.observe(nodes[0].url, stray.url))
    assert not healthy
    assert "http://10.0.0.9:2379: answers as member 999, which is not in the member list" in problems


# -- table --------------------------------------------------------------------------------


def test_table_columns_are_aligned():
    cluster = Cluster(*three(h0={"index": 123456, "db_size": 3 * 1024 ** 2}, h2={"down": True}))
    cluster.nodes[1].name = "a-much-longer-member-name"
    lines = cs.format_table(cluster.observe())
    assert lines[0].split("  ")[0].strip() == "NAME"
    header = lines[0]
    starts = [header.index(col) for col in cs.TABLE_COLUMNS]
    assert starts == sorted(starts)
    for line in lines[1:]:
        for start in starts[1:]:
            assert line[start - 2:start] == "  ", (line, start)
            assert line[start] != " "
    assert lines[1].startswith("a-much-longer-member-name  http://10.0.0.2:2379")
    leader_row = lines[2].split()
    assert leader_row[:8] == ["h0", "http://10.0.0.1:2379", "3.5.1", "yes", "no", "2", "123456", "3MiB"]
    assert lines[3].split()[2:5] == ["-", "-", "no"]


def test_no_cell_holds_a_single_space_so_yaml_never_folds_a_row():
    cluster = Cluster(*three(h1={"healthy": False, "reason": "RAFT NO LEADER"}, h2={"down": True}),
                      alarms=[(0x100, "NOSPACE"), (0x100, "CORRUPT")])
    for line in cs.format_table(cluster.observe()):
        assert re.search(r"(?<! ) (?! )", line) is None, line


def test_alarms_lag_and_certificate_days_per_member():
    now = time.time()
    cluster = Cluster(*three(h0={"index": 500, "applied": 499, "cert_not_after": now + 12.5 * 86400},
                             h1={"index": 480, "applied": 470, "cert_not_after": now + 700.5 * 86400},
                             h2={"index": 90, "applied": 80, "learner": True}),
                      alarms=[(0x101, "NOSPACE"), (0x101, "CORRUPT"), (0x100, "NONE")])
    obs = cluster.observe()
    records = {r["member"]: r for r in obs["endpoints"]}
    assert [records[n]["alarms"] for n in ("h0", "h1", "h2")] == [[], ["CORRUPT", "NOSPACE"], []]
    # the leader's raft index less each member's applied index
    assert [records[n]["applied_lag"] for n in ("h0", "h1", "h2")] == [1, 30, 420]
    assert [records[n]["cert_days_left"] for n in ("h0", "h1", "h2")] == [12, 700, None]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", records["h0"]["cert_expires"])
    status = {entry["name"]: entry for entry in cs.member_status(obs, quota_bytes=1024 ** 2)}
    assert status["h1"]["alarms"] == ["CORRUPT", "NOSPACE"]
    assert status["h1"]["quota_percent"] == pytest.approx(2.0)
    assert (status["h2"]["is_learner"], status["h2"]["applied_lag"]) == (True, 420)
    rows = {line.split()[0]: line.split() for line in cs.format_table(obs)[1:]}
    assert rows["h0"][10:] == ["-", "1", "12", "healthy"]
    assert rows["h1"][10:] == ["CORRUPT,NOSPACE", "30", "700", "healthy"]
    assert rows["h2"][10:] == ["-", "420", "-", "healthy"]


def test_a_member_down_has_no_lag_nor_certificate_and_says_why():
    cluster = Cluster(*three(h2={"down": True}))
    entry = cs.member_status(cluster.observe())[2]
    assert (entry["name"], entry["health"], entry["reason"]) == ("h2", "unreachable", REFUSED)
    assert (entry["applied_lag"], entry["cert_days_left"], entry["raft_index"]) == (None, None, None)


def test_an_expired_certificate_counts_negative_days():
    record = cs.endpoint_record(dict(endpoint="https://10.0.0.1:2379", status=None, reachable=True, error=None,
                                     healthy=False, health_reason="", status_error="x", cert_not_after=1000.0),
                                now=1000.0 + 2.5 * 86400)
    assert (record["cert_days_left"], record["cert_expires"]) == (-3, "1970-01-01T00:16:40Z")


# -- read_cluster_health: the read etcd_health, etcd_host_info and etcd_lock share ---------


def test_read_cluster_health_of_a_cluster_that_answers_is_the_health_result_without_answered():
    cluster = Cluster(*three(h2={"down": True}))
    healthy, result, no_answer = cs.read_cluster_health([cluster.client("http://10.0.0.1:2379")], cluster.client,
                                                        expect_members=3)
    expected_healthy, expected = cs.health_result(cluster.observe(), expect_members=3)
    assert expected.pop("answered") is True
    assert (healthy, result, no_answer) == (expected_healthy, expected, None)
    assert healthy is False and [r["member"] for r in result["endpoints"]] == ["h0", "h1", "h2"]


def test_read_cluster_health_without_discover_asks_only_the_clients_given():
    cluster = Cluster(*three())
    _healthy, result, no_answer = cs.read_cluster_health([cluster.client("http://10.0.0.1:2379")], cluster.client,
                                                         discover=False)
    assert no_answer is None and [r["endpoint"] for r in result["endpoints"]] == ["http://10.0.0.1:2379"]


def test_read_cluster_health_of_a_silent_cluster_words_every_endpoint_and_leaves_the_rest_to_the_caller():
    cluster = Cluster(*three(h0={"down": True}, h1={"down": True}))
    clients = [cluster.client(url) for url in ("http://10.0.0.1:2379", "http://10.0.0.2:2379")]
    healthy, result, no_answer = cs.read_cluster_health(clients, cluster.client)
    assert no_answer == ("no etcd endpoint answered: http://10.0.0.1:2379: %s; http://10.0.0.2:2379: %s"
                         % (REFUSED, REFUSED))
    assert no_answer == cs.unanswered_message(result)
    assert healthy is False and result["problems"][0] == "no endpoint answered"
    assert not {"answered", "msg", "failed"} & set(result)


# -- waiting --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, work=0.1):
        self.now = 1000.0
        self.work = work
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_wait_until_returns_at_the_first_healthy_round():
    clock = FakeClock()
    answers = iter([False, False, True])

    def check():
        clock.now += clock.work
        return next(answers), "payload"

    assert cs.wait_until(check, 60, interval=1.0, clock=clock, sleep=clock.sleep) == (True, "payload", 3, pytest.approx(2.1))
    assert clock.sleeps == [0.9, 0.9]


def test_wait_until_polls_five_times_a_second_by_default():
    clock = FakeClock(work=0.05)
    answers = iter([False, False, False, True])

    def check():
        clock.now += clock.work
        return next(answers), None

    assert cs.wait_until(check, 60, clock=clock, sleep=clock.sleep)[2:] == (4, pytest.approx(0.65))
    assert clock.sleeps == [0.15, 0.15, 0.15]


def test_wait_until_gives_up_at_the_deadline_with_the_last_payload():
    clock = FakeClock(work=0.25)
    rounds = []

    def check():
        clock.now += clock.work
        rounds.append(clock.now)
        return False, len(rounds)

    healthy, payload, count, elapsed = cs.wait_until(check, 5, interval=1.0, clock=clock, sleep=clock.sleep)
    assert not healthy
    assert payload == count == 6
    assert elapsed == pytest.approx(5.25)  # the last round starts at the deadline
    assert max(clock.sleeps) <= 0.75


def test_wait_until_checks_once_even_without_time():
    clock = FakeClock()
    assert cs.wait_until(lambda: (False, None), 0, clock=clock, sleep=clock.sleep)[2] == 1
    assert clock.sleeps == []


def test_wait_until_sleeps_for_real_but_briefly():
    answers = iter([False, True])
    healthy, _payload, rounds, elapsed = cs.wait_until(lambda: (next(answers), None), 5, interval=0.01)
    assert (healthy, rounds) == (True, 2)
    assert elapsed < 1
