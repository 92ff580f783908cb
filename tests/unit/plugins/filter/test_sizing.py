"""sizing: the profile table, the settings a profile sets, the findings of the hardware preflight
with their exact messages, and the timeouts suggested from measured round trips."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.sizing import (
    GIB,
    MIB,
    PROFILES,
    covered_rtt,
    hardware_findings,
    profile_settings,
    suggested_timeouts,
    timeouts_for,
)

# What etcd_host_check returns for a host that has everything a medium cluster wants.
GOOD = dict(path="/var/lib/etcd", checked_dir="/var/lib", cpus=4, memory_bytes=15 * GIB, swap_total_bytes=0,
            swap_used_bytes=0, free_bytes=50 * GIB, path_used_bytes=0, fsync_writes=100, fsync_write_size=2048,
            fsync_p50_ms=0.6, fsync_p99_ms=2.8, fsync_max_ms=3.1,
            peers=[dict(peer="10.0.0.12:2380", rtt_ms=0.4, answered=5, refused=5, lost=0, error=None)],
            rtt_ms_by_peer={"10.0.0.12:2380": 0.4}, errors={}, changed=False)


def findings(figures, profile="medium", quota=None, strict=False, **kwargs):
    return hardware_findings({"etcd-1": dict(GOOD, **figures)}, profile, quota, strict, **kwargs)


def messages(figures, **kwargs):
    return [f["message"] for f in findings(figures, **kwargs)]


# --- the table ----------------------------------------------------------------------------------


def test_the_four_classes_of_etcds_hardware_notes():
    assert list(PROFILES) == ["small", "medium", "large", "xlarge"]
    assert [(p.clients, p.requests_per_second, p.data_bytes) for p in PROFILES.values()] == [
        (100, 200, 100 * 10 ** 6), (500, 1000, 500 * 10 ** 6), (1500, 10000, 10 ** 9), (None, None, None)]
    assert [(p.vcpus, p.memory_gib, p.disk_iops, p.disk_mbps) for p in PROFILES.values()] == [
        (2, 7.5, 1500, 25), (4, 15, 4500, 75), (8, 30, 7500, 125), (16, 60, 15000, 250)]


def test_each_class_wants_at_least_the_one_before_it():
    classes = list(PROFILES.values())
    for smaller, larger in zip(classes, classes[1:]):
        for field in ("vcpus", "memory_gib", "disk_iops", "disk_mbps", "quota_bytes", "snapshot_count"):
            assert getattr(larger, field) >= getattr(smaller, field), field


def test_quotas_stay_within_what_etcd_recommends_and_memory_holds_them():
    for profile in PROFILES.values():
        assert 2 * GIB <= profile.quota_bytes <= 8 * GIB
        assert profile.memory_gib * GIB > 2 * profile.quota_bytes


def test_the_operator_page_lists_the_table():
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    with open(os.path.join(root, "docs", "sizing.md")) as handle:
        page = handle.read()
    for name, p in PROFILES.items():
        row = [line for line in page.splitlines() if line.startswith("| `%s` |" % name)]
        assert len(row) == 1, name
        cells = [cell.strip() for cell in row[0].strip("|").split("|")]
        assert cells[4:] == ["%d" % p.vcpus, "%g GiB" % p.memory_gib, f"{p.disk_iops:,}",
                             "%d MB/s" % p.disk_mbps, "%d GiB" % (p.quota_bytes // GIB),
                             f"{p.snapshot_count:,}"], name


# --- profile_settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PROFILES))
def test_a_profile_sets_quota_and_snapshot_count(name):
    assert profile_settings(name) == {"etcd_quota_backend_bytes": PROFILES[name].quota_bytes,
                                      "etcd_snapshot_count": PROFILES[name].snapshot_count}


def test_the_settings_of_each_profile():
    assert {name: tuple(profile_settings(name).values()) for name in PROFILES} == {
        "small": (2 * GIB, 10000), "medium": (4 * GIB, 10000), "large": (8 * GIB, 50000), "xlarge": (8 * GIB, 100000)}


@pytest.mark.parametrize("none", [None, ""])
def test_no_profile_sets_nothing(none):
    assert profile_settings(none) == {}


@pytest.mark.parametrize("bad, shown", [
    ("huge", "'huge'"), ("Small", "'Small'"), (" small", "' small'"), (3, "3"), (["small"], "['small']"),
    (True, "True"),
])
def test_an_unknown_profile_is_refused_listing_the_allowed_ones(bad, shown):
    with pytest.raises(ValueError) as error:
        profile_settings(bad, "etcd-1")
    assert str(error.value) == (
        "host etcd-1: etcd_profile=%s: not a sizing profile; use one of small, medium, large, xlarge, or leave it "
        "unset (none) to keep etcd's defaults" % shown)


def test_without_a_host_the_message_starts_with_the_variable():
    with pytest.raises(ValueError, match=r"^etcd_profile='tiny': not a sizing profile"):
        profile_settings("tiny")


# --- hardware_findings --------------------------------------------------------------------------


@pytest.mark.parametrize("profile", [*PROFILES, None, ""])
def test_a_host_with_what_the_profile_wants_has_no_finding(profile):
    big = dict(GOOD, cpus=16, memory_bytes=60 * GIB)
    assert hardware_findings({"etcd-1": big, "etcd-2": big}, profile, 0, True) == []


def test_every_shortfall_at_once_naming_host_figure_and_want():
    bad = dict(cpus=2, memory_bytes=4 * GIB, swap_total_bytes=2 * GIB, swap_used_bytes=100 * MIB, free_bytes=GIB,
               path_used_bytes=512 * MIB, fsync_p99_ms=23.41,
               peers=[dict(peer="10.0.0.12:2380", rtt_ms=150.2),
                      dict(peer="10.0.0.13:2380", rtt_ms=None, error="no answer within 2.0 s")])
    assert messages(bad, quota=0) == [
        "host etcd-1: 2 CPUs usable; profile medium wants 4 vCPUs",
        "host etcd-1: memory 4 GiB; profile medium wants 15 GiB (a MemTotal of at least 13.5 GiB)",
        "host etcd-1: swap in use 100 MiB of 2 GiB; etcd wants none in use (a member whose memory is swapped out "
        "misses heartbeats)",
        "host etcd-1: room for the data dir 1.5 GiB (1 GiB free on the file system of /var/lib, 512 MiB in the data "
        "dir); etcd_quota_backend_bytes=2147483648 wants 4.3 GiB (the quota 2 GiB, as much again for the copy a "
        "defragmentation writes, and 320 MiB of WAL)",
        "host etcd-1: fsync p99 23.4 ms (100 writes of 2 KiB, each followed by fdatasync, in /var/lib); etcd wants "
        "under 10 ms (the p99 of its WAL fsync)",
        "host etcd-1: round trip to 10.0.0.12:2380 150 ms; etcd_heartbeat_interval=100 and "
        "etcd_election_timeout=1000 cover up to 100 ms: raise them to 160 and 1600 on every member",
        "host etcd-1: peer 10.0.0.13:2380 did not answer (no answer within 2.0 s); etcd wants every peer reachable "
        "(a refused connection counts as an answer)",
    ]


def test_a_finding_carries_host_what_figures_and_severity():
    assert findings(dict(cpus=2)) == [dict(host="etcd-1", what="cpus", measured=2, wanted=4, severity="warn",
                                           message="host etcd-1: 2 CPUs usable; profile medium wants 4 vCPUs")]


@pytest.mark.parametrize("strict, severity", [
    (True, "refuse"), ("yes", "refuse"), ("true", "refuse"), (1, "refuse"),
    (False, "warn"), ("no", "warn"), ("0", "warn"), (0, "warn"),
])
def test_strict_refuses_instead_of_warning(strict, severity):
    assert [f["severity"] for f in findings(dict(cpus=1, fsync_p99_ms=50), strict=strict)] == [severity] * 2


@pytest.mark.parametrize("strict", ["y", "maybe", None, 2, [True]])
def test_a_strict_that_is_no_boolean_is_refused(strict):
    with pytest.raises(ValueError, match=r"^etcd_preflight_strict=.*: true or false$"):
        findings({}, strict=strict)


def test_an_unknown_profile_is_refused_by_the_findings_too():
    with pytest.raises(ValueError, match="etcd_profile='huge': not a sizing profile; use one of small, medium"):
        findings({}, profile="huge")


def test_without_a_profile_cpus_and_memory_are_not_compared():
    assert findings(dict(cpus=1, memory_bytes=GIB), profile=None) == []


def test_memory_passes_at_ninety_percent_of_the_class():
    assert findings(dict(memory_bytes=int(15 * GIB * 0.9))) == []
    assert [f["what"] for f in findings(dict(memory_bytes=int(15 * GIB * 0.9) - 1))] == ["memory"]


def test_swap_that_is_on_but_unused_is_no_finding():
    assert findings(dict(swap_total_bytes=4 * GIB, swap_used_bytes=0)) == []


def test_the_cpu_count_must_reach_the_class():
    assert findings(dict(cpus=4)) == []
    assert findings(dict(cpus=8, memory_bytes=30 * GIB), profile="large") == []
    assert [f["wanted"] for f in findings(dict(cpus=8, memory_bytes=60 * GIB), profile="xlarge")] == [16]


@pytest.mark.parametrize("quota, wanted", [
    (None, 4 * GIB),  # the profile's
    (0, 2 * GIB),  # etcd's default
    ("8589934592", 8 * GIB),
])
def test_the_room_for_the_data_dir_is_held_against_the_quota_the_defrag_copy_and_the_wal(quota, wanted):
    # the database at the quota, the copy a defragmentation writes beside it (up to the quota), the WAL
    room = 2 * wanted + 320 * MIB
    assert findings(dict(free_bytes=room - GIB, path_used_bytes=GIB), quota=quota) == []
    found = findings(dict(free_bytes=room - GIB - 1, path_used_bytes=GIB), quota=quota)
    assert [(f["what"], f["measured"], f["wanted"]) for f in found] == [("disk_space", room - 1, room)]


def test_a_quota_that_is_no_whole_number_is_refused():
    with pytest.raises(ValueError, match=r"^etcd_quota_backend_bytes=-1: a whole number of bytes"):
        findings({}, quota=-1)


def test_fsync_p99_must_be_under_ten_ms():
    assert findings(dict(fsync_p99_ms=9.99)) == []
    assert [f["measured"] for f in findings(dict(fsync_p99_ms=10))] == [10]


def test_a_peer_that_refuses_is_an_answer_and_one_that_does_not_answer_is_a_finding():
    assert findings(dict(peers=[dict(peer="a:2380", rtt_ms=0.2, refused=5)])) == []
    found = findings(dict(peers=[dict(peer="b:2380", rtt_ms=None, error=None)]))
    assert [(f["what"], f["measured"], f["message"]) for f in found] == [("peer_rtt", None, (
        "host etcd-1: peer b:2380 did not answer (no answer); etcd wants every peer reachable (a refused connection "
        "counts as an answer)"))]


def test_the_configured_timeouts_decide_which_round_trip_is_covered():
    far = dict(peers=[dict(peer="a:2380", rtt_ms=150)])
    assert findings(far, heartbeat=150, election=1500) == []
    assert findings(far, heartbeat="150", election="1500") == []
    assert [f["wanted"] for f in findings(far, heartbeat=150, election=1400)] == [140]
    assert [f["wanted"] for f in findings(far, heartbeat=70, election=5000)] == [140]


def test_a_figure_that_could_not_be_measured_is_a_finding_one_not_measured_is_not():
    failed = dict(memory_bytes=None, swap_total_bytes=None, swap_used_bytes=None, fsync_p99_ms=None,
                  errors={"memory_bytes": "[Errno 2] No such file or directory: '/proc/meminfo'"})
    assert messages(failed) == [
        "host etcd-1: the memory could not be measured ([Errno 2] No such file or directory: '/proc/meminfo'); "
        "profile medium wants 15 GiB (a MemTotal of at least 13.5 GiB)"]
    free = dict(free_bytes=None, errors={"free_bytes": "[Errno 13] Permission denied"})
    assert messages(free, quota=0) == [
        "host etcd-1: the room for the data dir could not be measured ([Errno 13] Permission denied); "
        "etcd_quota_backend_bytes=2147483648 wants 4.3 GiB (the quota 2 GiB, as much again for the copy a "
        "defragmentation writes, and 320 MiB of WAL)"]
    unreadable = dict(path_used_bytes=None, errors={"path_used_bytes": "[Errno 13] Permission denied: '/var/lib/etcd'"})
    assert [f["what"] for f in findings(unreadable)] == ["disk_space"]


def test_a_host_whose_check_did_not_run_is_one_finding():
    result = hardware_findings({"etcd-1": dict(failed=True, msg="peers: 'x' is not host:port"),
                                "etcd-2": dict(skipped=True), "etcd-3": "garbage"}, "small", 0, False)
    assert [f["message"] for f in result] == [
        "host etcd-1: the hardware check did not run: peers: 'x' is not host:port",
        "host etcd-2: the hardware check did not run: skipped",
        "host etcd-3: no figures of etcd_host_check, but 'garbage'",
    ]
    assert {f["what"] for f in result} == {"check"}


def test_figures_that_are_no_numbers_count_as_not_measured():
    assert findings(dict(cpus="4", memory_bytes=True, fsync_p99_ms=float("nan"))) == []


def test_hosts_keep_their_order():
    measured = {"c": dict(GOOD, cpus=1), "a": dict(GOOD, cpus=1), "b": GOOD}
    assert [f["host"] for f in hardware_findings(measured, "medium")] == ["c", "a"]


@pytest.mark.parametrize("bad", [None, ["etcd-1"], "etcd-1"])
def test_the_figures_must_be_a_dict_by_host(bad):
    with pytest.raises(ValueError, match=r"^hardware_findings: give a dict of host -> the result of etcd_host_check"):
        hardware_findings(bad, "small")


# --- timeouts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rtt, heartbeat, election", [
    (None, 100, 1000),  # nothing measured: etcd's defaults
    (0.3, 100, 1000),  # a LAN: the defaults, never less
    (100, 100, 1000),
    (100.1, 110, 1100),
    (150.2, 160, 1600),
    (350, 350, 3500),
    (4999, 5000, 50000),
    (6000, 6000, 50000),  # too far: the most etcd accepts
    (20000, 10000, 50000),
])
def test_timeouts_for_a_round_trip(rtt, heartbeat, election):
    assert timeouts_for(rtt) == (heartbeat, election)


@pytest.mark.parametrize("rtt", [0, 0.01, 1, 37.5, 99.9, 101, 333.3, 1234.5, 4999.9, 5000, 7777, 10 ** 6])
def test_suggestions_stay_within_etcds_limits(rtt):
    heartbeat, election = timeouts_for(rtt)
    assert 1 <= heartbeat <= 10000 and election >= 5 * heartbeat and election <= 50000
    assert heartbeat % 10 == 0 and election % 100 == 0
    if rtt <= 5000:
        assert covered_rtt(heartbeat, election) >= rtt


def test_the_longest_round_trip_of_all_hosts_decides():
    per_host = [{"b:2380": 0.5, "c:2380": 120.0}, {"a:2380": 0.4, "c:2380": None}, {"a:2380": 180.5, "b:2380": 2}]
    suggestion = suggested_timeouts(per_host)
    assert suggestion == dict(
        heartbeat_interval=190, election_timeout=1900, rtt_ms=180.5, peer="a:2380", fits=None,
        message="the longest round trip, 180 ms to a:2380, wants etcd_heartbeat_interval=190 and "
                "etcd_election_timeout=1900 (the heartbeat about the round trip, the election timeout at least 10 x "
                "the round trip and 5 x the heartbeat), the same on every member")


def test_a_fast_network_keeps_etcds_defaults():
    suggestion = suggested_timeouts({"b:2380": 0.412, "c:2380": 0.38}, 100, 1000)
    assert suggestion["fits"] is True
    assert suggestion["message"] == ("the longest round trip, 0.412 ms to b:2380, is covered by etcd's defaults, "
                                     "etcd_heartbeat_interval=100 and etcd_election_timeout=1000")


def test_fits_says_whether_the_configured_timeouts_cover_it():
    assert suggested_timeouts({"a": 150}, 100, 1000)["fits"] is False
    assert suggested_timeouts({"a": 150}, "200", "2000")["fits"] is True


def test_a_round_trip_beyond_what_etcd_can_cover_says_so():
    suggestion = suggested_timeouts({"tokyo:2380": 6000})
    assert (suggestion["heartbeat_interval"], suggestion["election_timeout"]) == (6000, 50000)
    assert suggestion["message"] == (
        "the longest round trip, 6000 ms to tokyo:2380, is more than etcd's timeouts can cover (up to 5000 ms, with "
        "etcd_heartbeat_interval=6000 and etcd_election_timeout=50000, the most etcd allows): place the members "
        "closer together")


@pytest.mark.parametrize("nothing", [None, {}, [], [{}], {"a": None}])
def test_no_answer_keeps_the_defaults(nothing):
    assert suggested_timeouts(nothing) == dict(heartbeat_interval=100, election_timeout=1000, rtt_ms=None, peer=None,
                                               fits=None, message="no peer answered a round trip; etcd's defaults stand")


@pytest.mark.parametrize("bad, says", [
    ("10.0.0.12:2380", "give the round trips as a dict of peer -> ms"),
    ([1, 2], "give the round trips as a dict of peer -> ms"),
    ({"a": "fast"}, "the round trip to a is 'fast', not a number of ms"),
    ({"a": -1}, "the round trip to a is -1, not a number of ms"),
    ({"a": True}, "the round trip to a is True, not a number of ms"),
])
def test_round_trips_that_are_no_numbers_are_refused(bad, says):
    with pytest.raises(ValueError, match="^suggested_timeouts: " + says):
        suggested_timeouts(bad)


def test_configured_timeouts_that_are_no_numbers_are_refused():
    with pytest.raises(ValueError, match=r"^etcd_election_timeout='soon': a whole number of ms"):
        suggested_timeouts({"a": 1}, 100, "soon")
