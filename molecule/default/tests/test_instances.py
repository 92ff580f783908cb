"""A second cluster beside the first on the same hosts: etcd_instance=etcd-events, on its own ports
and its own release. Before it exists, the etcd playbook, each phase tag alone, the upgrade and a
restore in check mode report and change nothing on the fresh hosts; a backup, a maintenance or a
removal of it is refused saying it is not deployed; the first cluster's ports are refused. Then it
deploys without touching the first cluster, each re-run changes nothing, and its backups and timers
are its own. Runs after test_default.py (file order), on the cluster it leaves.

A variant of the deploy that no test of test_default.py depends on (the converge deploys the first
cluster only; this file deploys the second): every test here is marked full, so `make test` does not
deploy the second cluster, and `make test-full` runs them all."""

import os

import pytest
from etcdtest import (EPHEMERAL, Gateway, assert_unchanged, fingerprint, group_hosts, host, hosts_called, playbook,
                      snapshots, task_output, why_failed)

ADDRESSES = ["10.250.0.10", "10.250.0.11", "10.250.0.12"]
FIRST_URLS = ["https://%s:2379" % a for a in ADDRESSES]
EVENTS_URLS = ["https://%s:2383" % a for a in ADDRESSES]
EVENTS_PKI = os.path.join(EPHEMERAL, "etcd-events-pki")
EVENTS_BACKUPS = os.path.join(EPHEMERAL, "etcd-events-backups")
EVENTS = ["-e", "etcd_instance=etcd-events", "-e", "etcd_client_port=2383", "-e", "etcd_peer_port=2384",
          "-e", "etcd_metrics_port=2385", "-e", "etcd_version=3.5.30", "-e", "etcd_backup_schedule=hourly"]
PHASE_TAGS = ["etcd_preflight", "etcd_install", "etcd_configure", "etcd_pki", "etcd_cluster", "etcd_backup", "etcd_status"]


pytestmark = pytest.mark.full


def events_gateway(url=EVENTS_URLS[0]):
    return Gateway(url, cert=os.path.join(EVENTS_PKI, "admin.pem"), key=os.path.join(EVENTS_PKI, "admin-key.pem"),
                   ca=os.path.join(EVENTS_PKI, "ca.pem"))


def both_fingerprints():
    names = group_hosts()
    return fingerprint(names), fingerprint(names, "etcd-events")


FRESH_CHECK_RUNS = [("etcd", [])] + [("etcd", ["--tags", tag]) for tag in PHASE_TAGS] + [
    ("upgrade", []),
    ("restore", ["-e", "etcd_restore_snapshot={backup}"]),
]


@pytest.mark.parametrize("name, args", FRESH_CHECK_RUNS, ids=[" ".join([n, *a[1:2]]) for n, a in FRESH_CHECK_RUNS])
def test_check_mode_on_hosts_without_the_cluster_reports_and_changes_nothing(name, args, first_cluster_backup):
    before = both_fingerprints()
    rc, out = playbook(name, *EVENTS, *[a.replace("{backup}", first_cluster_backup) for a in args], check=True)
    assert rc == 0, why_failed(out)
    assert both_fingerprints() == before
    # Nothing issued on the controller either: the CA and the certificates are made by the real run.
    assert not os.path.exists(EVENTS_PKI)


NOT_DEPLOYED = [("backup", []), ("maintenance", []), ("remove_member", ["-e", "etcd_remove=etcd-host2"])]


@pytest.mark.parametrize("name, args", NOT_DEPLOYED, ids=[n for n, _a in NOT_DEPLOYED])
@pytest.mark.parametrize("check", [True, False], ids=["check", "run"])
def test_day_2_playbooks_refuse_a_cluster_that_is_not_deployed(name, args, check):
    before = both_fingerprints()
    rc, out = playbook(name, *EVENTS, *args, check=check)
    assert rc != 0, out
    assert ("no host of group etcd has the etcd cluster etcd-events (etcd_instance): none has "
            "/etc/systemd/system/etcd-events.service. Deploy it first") in " ".join(out.split()), out
    assert both_fingerprints() == before


def test_the_first_clusters_ports_are_refused_naming_them():
    before = both_fingerprints()
    rc, out = playbook("etcd", "-e", "etcd_instance=etcd-events")
    assert rc != 0, out
    text = " ".join(out.split())
    for name in group_hosts():
        assert ("host %s: etcd_client_port 2379, etcd_peer_port 2380 and etcd_metrics_port 2381 are already in use "
                "there (another etcd instance or another service listens on them)" % name) in text, out
    assert both_fingerprints() == before


def test_the_second_cluster_deploys_beside_the_first_without_touching_it():
    first_before = fingerprint(group_hosts())
    first_id = Gateway(FIRST_URLS[0]).call("/v3/cluster/member/list")["header"]["cluster_id"]
    rc, out = playbook("etcd", *EVENTS)
    assert rc == 0, why_failed(out)
    assert fingerprint(group_hosts()) == first_before  # not restarted, no file of it changed

    members = events_gateway().call("/v3/cluster/member/list")
    assert members["header"]["cluster_id"] != first_id
    assert sorted(m["clientURLs"][0] for m in members["members"]) == EVENTS_URLS
    events_gateway(EVENTS_URLS[1]).put("/instances/only-in-events", "x")
    assert events_gateway(EVENTS_URLS[2]).get("/instances/only-in-events") == "x"
    assert Gateway(FIRST_URLS[0]).count("/instances/") == 0


@pytest.mark.parametrize("name", group_hosts())
def test_each_cluster_has_its_own_unit_user_directories_binaries_and_timers(name):
    h = host(name)
    assert h.service("etcd-events").is_running and h.service("etcd").is_running
    pid = h.check_output("systemctl show -p MainPID --value etcd-events")
    assert h.check_output("ps -o user= -p %s" % pid).strip() == "etcd-events"
    assert h.file("/var/lib/etcd-events").user == "etcd-events"
    assert (h.file("/etc/etcd-events/pki/server-key.pem").user, h.file("/etc/etcd-events/pki/server-key.pem").group) == (
        "root", "etcd-events")
    assert h.file("/opt/etcd-events/bin/etcd").linked_to == "/opt/etcd-events/v3.5.30/etcd"
    assert h.file("/usr/local/bin/etcd").linked_to == "/opt/etcd/v3.5.1/etcd"
    assert h.service("etcd-events-snapshot.timer").is_enabled
    assert not h.file("/etc/systemd/system/etcd-snapshot.timer").exists


def test_re_runs_of_either_cluster_change_nothing_and_call_no_host_for_timers_as_asked():
    for args in ([*EVENTS, "-vvv"], []):
        before = both_fingerprints()
        rc, out = playbook("etcd", *args)
        assert rc == 0, why_failed(out)
        assert_unchanged(out, [*group_hosts(), "localhost"])
        assert both_fingerprints() == before
        if args:
            # The timers' files as asked and each timer running and enabled, as the read of each host
            # found: neither the files call nor the timers' start (in the same task) is sent to any host.
            timers = task_output(out, "Write the timers' directories")
            assert hosts_called(timers) == [], timers


def test_a_re_run_starts_a_timer_stopped_by_hand_on_that_member_alone():
    # A timer stopped and disabled by hand: that member alone is sent the start, and it runs again.
    stopped = group_hosts()[1]
    host(stopped).run("systemctl disable --now etcd-events-snapshot.timer")
    rc, out = playbook("etcd", *EVENTS, "-vvv")
    assert rc == 0, why_failed(out)
    started = task_output(out, "Write the timers' directories")
    assert hosts_called(started) == [ADDRESSES[1]] and "changed: [%s]" % stopped in started, started
    timer = host(stopped).service("etcd-events-snapshot.timer")
    assert timer.is_enabled and timer.is_running


def test_the_second_clusters_backup_is_its_own():
    first_backups = snapshots()
    rc, out = playbook("backup", *EVENTS)
    assert rc == 0, why_failed(out)
    assert len(snapshots(EVENTS_BACKUPS)) == 1
    assert snapshots() == first_backups
