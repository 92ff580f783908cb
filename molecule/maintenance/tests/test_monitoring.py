"""What the operator sees and trusts, on the members the maintenance tests leave (etcd_metrics is
`address` in this scenario): a real Prometheus (Debian's) scrapes every member through the target
file the role wrote, over https with a client certificate, and loads the shipped alert rules; the
loopback listener serves plain http on the host only; and a follower whose stored data was altered
while it was stopped is refused by etcd's start check, named by the maintenance's hash check when
that check is off, and brought back by the etcd playbook once its data is wiped. The status playbook
names a NOSPACE alarm, a stopped member and expiring certificates, each with the command that
addresses it, in rows and lines that do not wrap; the maintenance playbook it advises clears them.

`make test` keeps the reads (targets, metrics, Prometheus) and one run of the status playbook naming
the problems; the same in check mode, the advised maintenance clearing them (a second walk of the
maintenance) and the altered follower are marked full."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from etcdtest import EPHEMERAL, PKI, ROOT, Gateway, assert_unchanged, b64, host, playbook, why_failed

HOSTS = ["mnt-host0", "mnt-host1", "mnt-host2"]
ADDRESS = {h: "10.250.0.8%d" % i for i, h in enumerate(HOSTS)}
URL = {h: "https://%s:2379" % a for h, a in ADDRESS.items()}
TARGETS = os.path.join(EPHEMERAL, "etcd-metrics-targets.json")
RULES = os.path.join(ROOT, "roles", "etcd", "files", "prometheus", "etcd-alerts.yml")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_role_wrote_every_member_as_a_scrape_target():
    with open(TARGETS) as f:
        groups = json.load(f)
    assert sorted((g["targets"][0], g["labels"]["instance"]) for g in groups) == sorted(
        ("%s:2381" % ADDRESS[h], h) for h in HOSTS)
    assert {g["labels"]["cluster"] for g in groups} == {"etcd"}
    assert {g["labels"]["__scheme__"] for g in groups} == {"https"}


@pytest.mark.parametrize("name", HOSTS)
def test_metrics_are_plain_http_on_loopback_and_https_with_a_certificate_on_the_address(name):
    h = host(name)
    local = h.run("python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:2381/metrics', timeout=5)"
                  ".read().decode())\"")
    assert local.rc == 0 and "etcd_server_has_leader 1" in local.stdout
    env = h.file("/etc/etcd/etcd.env").content_string
    assert "ETCD_LISTEN_METRICS_URLS=https://%s:2381,http://127.0.0.1:2381" % ADDRESS[name] in env
    assert "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true" in env
    assert "ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED=true" in env
    with pytest.raises(OSError):  # plain http on the address: no
        urllib.request.urlopen("http://%s:2381/metrics" % ADDRESS[name], timeout=5)
    scraper = Gateway("https://%s:2381" % ADDRESS[name], cert=os.path.join(PKI, "prometheus.pem"),
                      key=os.path.join(PKI, "prometheus-key.pem"))
    connection = scraper.connect(5)
    connection.request("GET", "/metrics")
    assert b"etcd_server_has_leader 1" in connection.getresponse().read()
    with pytest.raises(OSError):  # the admin pair names no address of the controller: etcd drops it
        connection = Gateway("https://%s:2381" % ADDRESS[name]).connect(5)
        connection.request("GET", "/metrics")
        connection.getresponse().read()
    with pytest.raises(OSError):  # https without a client certificate: no
        connection = Gateway("https://%s:2381" % ADDRESS[name], cert=False).connect(5)
        connection.request("GET", "/metrics")
        connection.getresponse().read()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Debian's Prometheus on the controller, configured as docs/monitoring.md shows."""
    work = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [RULES],
        "scrape_configs": [{
            "job_name": "etcd",
            "file_sd_configs": [{"files": [TARGETS]}],
            "tls_config": {"ca_file": os.path.join(PKI, "ca.pem"), "cert_file": os.path.join(PKI, "prometheus.pem"),
                           "key_file": os.path.join(PKI, "prometheus-key.pem")},
        }],
    }
    (work / "prometheus.yml").write_text(json.dumps(config))
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: make deps installs Debian's package"
    with open(work / "prometheus.log", "w") as log:
        proc = subprocess.Popen([binary, "--config.file=%s" % (work / "prometheus.yml"),
                                 "--storage.tsdb.path=%s" % (work / "data"), "--web.listen-address=127.0.0.1:%d" % port],
                                stdout=subprocess.DEVNULL, stderr=log)
        api = "http://127.0.0.1:%d/api/v1/" % port

        def get(path, **params):
            url = api + path + ("?" + urllib.parse.urlencode(params) if params else "")
            with urllib.request.urlopen(url, timeout=5) as resp:
                return json.load(resp)["data"]

        try:
            deadline, targets = time.monotonic() + 60, []
            while True:
                try:
                    targets = get("targets")["activeTargets"]
                    if len(targets) == len(HOSTS) and all(t["health"] == "up" for t in targets):
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, (
                    [(t["scrapeUrl"], t["health"], t["lastError"]) for t in targets], (work / "prometheus.log").read_text())
                time.sleep(1)
            yield get
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_prometheus_scrapes_every_member_by_name(prometheus):
    series = prometheus("query", query="etcd_server_has_leader")["result"]
    assert sorted((s["metric"]["instance"], s["metric"]["cluster"], s["value"][1]) for s in series) == [
        (h, "etcd", "1") for h in HOSTS]


def test_prometheus_loads_and_evaluates_the_shipped_alert_rules(prometheus):
    time.sleep(3)  # a few evaluation rounds
    groups = prometheus("rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert rules and all(r["health"] == "ok" for r in rules), rules
    # A healthy cluster: no alert fires.
    assert [r["name"] for r in rules if r.get("state") == "firing"] == []


def output_line(pattern, out):
    """A whole line of a debug message, in the default callback's json or yaml form."""
    return re.search(r"^\s*(?:- )?['\"]?\s*%s['\"]?,?$" % pattern, out, re.M)


# The problems the status names: a NOSPACE alarm on one member, another member stopped.
NOSPACE, STOPPED = HOSTS[1], HOSTS[2]


def raise_nospace():
    gateway = Gateway(URL[HOSTS[0]])
    ids = {m["name"]: m["ID"] for m in gateway.members()}
    gateway.call("/v3/maintenance/alarm", {"action": "ACTIVATE", "memberID": ids[NOSPACE], "alarm": "NOSPACE"})


@pytest.fixture
def problems():
    """A NOSPACE alarm raised on one member and another member's etcd stopped for the test; the alarm
    stays (the advised maintenance clears it), the member starts again."""
    raise_nospace()
    host(STOPPED).run_expect([0], "systemctl stop etcd")
    try:
        yield
    finally:
        host(STOPPED).run_expect([0], "systemctl start etcd")


def assert_status_names_each_problem(check):
    # Certificates of 730 days renewed within 800: each one that answers is "expiring".
    window = ["-e", "etcd_pki_validity_days=1000", "-e", "etcd_pki_renew_before_days=800"]
    rc, out = playbook("status", *window, check=check)
    assert rc == 0, why_failed(out)
    assert_unchanged(out, HOSTS)
    # Whole rows and whole commands, one per line: nothing folded.
    for pattern in (r"%s\s+https://\S+\s.*\sNOSPACE\s.*healthy" % NOSPACE,
                    r"%s\s+https://\S+\s.*unreachable" % STOPPED,
                    r"%s: NOSPACE alarm raised.*" % NOSPACE,
                    r"-> ansible-playbook raftops\.etcd\.maintenance -i INVENTORY",
                    r"%s: not reachable.*" % STOPPED,
                    r"ansible-playbook raftops\.etcd\.replace_member -i INVENTORY -e etcd_replace=%s" % STOPPED,
                    r"%s: certificate expires in 7[0-9][0-9] days.*" % HOSTS[0]):
        assert output_line(pattern, out), (pattern, out)


def test_status_names_each_problem_with_the_command_that_addresses_it(problems):
    assert_status_names_each_problem(check=False)


@pytest.mark.full
def test_status_in_check_mode_names_each_problem_the_same(problems):
    assert_status_names_each_problem(check=True)


@pytest.mark.full
def test_the_advised_maintenance_clears_what_the_status_named():
    # The NOSPACE alarm of the tests above (raised again: it stays until disarmed), the stopped member
    # started again: the maintenance disarms NOSPACE; nothing is left to advise.
    raise_nospace()
    rc, out = playbook("maintenance")
    assert rc == 0, why_failed(out)
    rc, out = playbook("status")
    assert rc == 0, why_failed(out)
    assert "NOSPACE" not in out and "not reachable" not in out, out


def leader_name():
    gateway = Gateway(URL[HOSTS[0]])
    names = {m["ID"]: m["name"] for m in gateway.members()}
    return names[gateway.status()["leader"]]


CORRUPT_FILE = ("import sys; p = '/var/lib/etcd/member/snap/db'; d = open(p, 'rb').read(); "
                "n = d.count(b'integrity-original'); open(p, 'wb').write(d.replace(b'integrity-original', b'integrity-altered!')); "
                "print(n)")


@pytest.mark.full
def test_a_follower_whose_data_was_altered_is_refused_at_start_then_named_by_the_hash_check():
    follower = next(h for h in HOSTS if h != leader_name())
    f = host(follower)
    gateway = Gateway(URL[HOSTS[0]])
    gateway.put("/integrity/probe", "integrity-original")
    for i in range(150):  # past etcd_snapshot_count (100): the start check knows the peers from a snapshot
        gateway.put("/integrity/fill-%d" % i, "x")
    revision = int(gateway.call("/v3/kv/range", {"key": b64("/integrity/probe")})["header"]["revision"])
    deadline = time.monotonic() + 30
    while int(Gateway(URL[follower]).status()["header"]["revision"]) < revision:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    f.run_expect([0], "systemctl stop etcd")
    altered = f.run("python3 -c \"%s\"" % CORRUPT_FILE)
    assert altered.rc == 0 and int(altered.stdout) >= 1, altered.stderr

    # With the start check (the default), etcd compares the member's data with its peers' and refuses.
    since = f.check_output("date '+%Y-%m-%d %H:%M:%S'")
    f.run("systemctl start --no-block etcd")
    deadline = time.monotonic() + 60
    while "found data inconsistency with peers" not in f.run("journalctl -u etcd --since '%s' --no-pager" % since).stdout:
        assert time.monotonic() < deadline, f.run("journalctl -u etcd --since '%s' --no-pager" % since).stdout
        time.sleep(1)
    with pytest.raises(OSError):
        Gateway(URL[follower], timeout=3).status()

    # With the check off, the altered member starts and serves; the maintenance's hash check names it.
    f.run_expect([0], "systemctl stop etcd")
    f.run_expect([0], "sed -i 's/^ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true$/ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=false/' "
                      "/etc/etcd/etcd.env")
    f.run_expect([0], "systemctl start etcd")
    rc, out = playbook("maintenance")
    assert rc != 0, out
    assert "the keyspace of %s differs from the majority's" % follower in " ".join(out.split()), out

    # Its data wiped, the etcd playbook brings it back: its old entry goes, it joins again as a learner.
    f.run_expect([0], "systemctl stop etcd && rm -rf /var/lib/etcd/member")
    rc, out = playbook("etcd")
    assert rc == 0, why_failed(out)
    assert Gateway(URL[follower]).get("/integrity/probe") == "integrity-original"
    assert "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true" in f.file("/etc/etcd/etcd.env").content_string
