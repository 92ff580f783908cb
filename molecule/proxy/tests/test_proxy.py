"""The client access tier (docs/proxy.md): a namespaced gRPC proxy on prx-host3 and a gateway on
prx-host4, each on its loopback, in front of a 3-member cluster. Clients on the client hosts use
etcdctl (linked there by the role) with the admin pair. The tests run in file order.

`make test` (-m "not full") keeps the reads through both proxies (no playbook), the writes through both
surviving a member restart and a replacement, and one refused run of proxy.yml (a proxy host that
reaches no member: the play stops every proxy host, each as before). The revocation (it needs billing's
pair, issued by the auth tests of test_data_and_access.py), the no-change re-run, the scale in and the
refusals of bad input (decided in the unit tests: tests/unit/plugins/filter/test_proxy.py,
tests/unit/plugins/module_utils/test_refusals_proxy.py) are marked full.
"""

import http.client
import os
import re
import time

import pytest
from conftest import FIGURES
from etcdtest import (EPHEMERAL, PKI, Gateway, assert_unchanged, copy_to, fingerprint, host, playbook, poll,
                      private_key_secrets, run_testbed, where_leaked, why_failed)

MEMBERS = ["prx-host0", "prx-host1", "prx-host2"]
ADDRESS = {h: "10.250.0.%d" % (100 + i) for i, h in enumerate(MEMBERS)}
URLS = ["https://%s:2379" % a for a in ADDRESS.values()]
GRPC, GATEWAY = "prx-host3", "prx-host4"
NAMESPACE = {GRPC: "/ns/", GATEWAY: ""}
CLIENT_DIR = "/root/etcd-client"
ETCDCTL = ("etcdctl --endpoints=https://127.0.0.1:23790 --cacert=%s/ca.pem --cert=%s/admin.pem "
           "--key=%s/admin-key.pem --dial-timeout=2s --command-timeout=3s" % ((CLIENT_DIR,) * 3))


def etcdctl(name, args, cert=True):
    command = ETCDCTL if cert else re.sub(r" --(cert|key)=\S+", "", ETCDCTL)
    return host(name).run("%s %s" % (command, args))


def cluster():
    return Gateway(URLS[0])


def watchers():
    """The watchers the members count, summed (etcd_debugging_mvcc_watcher_total on loopback metrics)."""
    total = 0
    for name in MEMBERS:
        read = host(name).run("python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:2381/metrics').read().decode())\"")
        # A member whose metrics cannot be read must not count as no watcher.
        counts = re.findall(r"^etcd_debugging_mvcc_watcher_total (\S+)$", read.stdout, re.M)
        assert read.rc == 0 and counts, (name, read.rc, read.stderr[-500:])
        total += sum(int(float(v)) for v in counts)
    return total


@pytest.fixture(scope="module", autouse=True)
def client_pairs():
    for name in (GRPC, GATEWAY):
        copy_to(name, CLIENT_DIR, {f: os.path.join(PKI, f) for f in ("ca.pem", "admin.pem", "admin-key.pem")})


@pytest.mark.parametrize("name, mode", [(GRPC, "grpc-proxy"), (GATEWAY, "gateway")])
def test_each_proxy_runs_as_its_own_user_under_a_hardened_unit_on_loopback(name, mode):
    h = host(name)
    assert h.service("etcd-proxy").is_running and h.service("etcd-proxy").is_enabled
    assert h.user("etcd-proxy").shell == "/usr/sbin/nologin"
    unit = h.file("/etc/systemd/system/etcd-proxy.service").content_string
    assert "User=etcd-proxy" in unit and "ProtectSystem=strict" in unit and mode + " start" in unit
    assert h.socket("tcp://127.0.0.1:23790").is_listening
    assert not h.socket("tcp://0.0.0.0:23790").is_listening
    key = h.file("/etc/etcd-proxy/pki/client-key.pem")
    assert (key.user, key.group, key.mode) == ("root", "etcd-proxy", 0o640)


def test_a_client_without_a_certificate_is_refused():
    # by the gRPC proxy itself (client-cert auth on its listener), and through the gateway by the members
    for name in (GRPC, GATEWAY):
        assert etcdctl(name, "put /nocert x", cert=False).rc != 0
    assert cluster().get("/nocert") is None and cluster().get("/ns//nocert") is None


def test_a_key_written_through_the_namespaced_proxy_lands_under_its_prefix():
    assert etcdctl(GRPC, "put /ns-check here").rc == 0
    assert cluster().get("/ns//ns-check") == "here" and cluster().get("/ns-check") is None
    assert etcdctl(GATEWAY, "put /gw-check here").rc == 0
    assert cluster().get("/gw-check") == "here"


def test_a_watch_through_the_grpc_proxy_sees_every_write():
    h = host(GRPC)
    h.run("systemd-run --unit=proxy-watch -p StandardOutput=file:/root/watch.out %s watch --prefix /watched/"
          % ETCDCTL.replace("--command-timeout=3s", ""))

    def seen():
        return sorted(set(re.findall(r"^/watched/(\w+)$", h.file("/root/watch.out").content_string, re.M)))

    # the watch is open once it sees a write
    poll(lambda: etcdctl(GRPC, "put /watched/open yes").rc == 0 and "open" in seen())
    for i in range(50):
        assert etcdctl(GRPC, "put /watched/%02d %d" % (i, i)).rc == 0
    wanted = ["%02d" % i for i in range(50)] + ["open"]
    poll(lambda: seen() == wanted)
    h.run("systemctl stop proxy-watch")
    assert seen() == wanted


def test_100_watchers_through_the_grpc_proxy_open_one_watch_on_the_cluster():
    before = watchers()
    h = host(GRPC)
    h.run("mkdir -p /root/w && for i in $(seq 100); do systemd-run --unit=proxy-w$i "
          "-p StandardOutput=file:/root/w/$i.out %s watch /one >/dev/null 2>&1; done"
          % ETCDCTL.replace("--command-timeout=3s", ""))

    def watching(value):
        """How many of the 100 watchers have seen VALUE written to the key."""
        return int(h.run("grep -lx %s /root/w/*.out | wc -l" % value).stdout)

    # all 100 watch once all have seen a write
    poll(lambda: etcdctl(GRPC, "put /one open").rc == 0 and watching("open") == 100, seconds=60)
    # The proxy merges a new watch into the one already open only when the new one gets a response
    # from the cluster, and it drops a merge when busy merging another: a loaded host can leave a
    # few open. Writes to the key give each watch a response, so each round merges what is left.
    during, writes = watchers(), 0
    while during - before > 2 and writes < 15:
        assert etcdctl(GRPC, "put /one x").rc == 0
        writes += 1
        time.sleep(1)
        during = watchers()
    opened = watching("open")
    h.run("for i in $(seq 100); do systemctl stop proxy-w$i; done")
    with open(FIGURES, "a") as out:
        out.write("100 watchers on one key through the gRPC proxy: %d watchers more on the members, after %d writes to it\n"
                  % (during - before, writes))
    assert opened == 100
    assert during - before <= 2


def etcdctl_with(name, pair, args):
    """etcdctl on a client host through its proxy with the client pair ``pair`` in CLIENT_DIR."""
    command = ETCDCTL.replace("admin.pem", pair + ".pem").replace("admin-key.pem", pair + "-key.pem")
    return host(name).run("%s %s" % (command, args))


def answers_with(pair, url):
    """"ok" when the member at ``url`` serves a status request made with the controller's copy of ``pair``."""
    cert, key = saved_pair(pair)
    try:
        Gateway(url, cert=cert, key=key).status()
    except (OSError, http.client.HTTPException) as exc:
        return "refused (%s)" % type(exc).__name__
    return "ok"


def saved_pair(pair):
    """The controller's copy of ``pair``: admin's in the PKI directory, the application's saved before it is revoked."""
    directory = PKI if pair == "admin" else EPHEMERAL
    return os.path.join(directory, pair + ".pem"), os.path.join(directory, pair + "-key.pem")


def tried(pair):
    """The pair tried through both proxies (etcdctl put) and on each member's client port."""
    result = {}
    for name, label in ((GRPC, "gRPC proxy"), (GATEWAY, "gateway")):
        run = etcdctl_with(name, pair, "put /revocation/%s x" % pair)
        result[label] = "ok" if run.rc == 0 else "refused (%s)" % (run.stderr.strip().splitlines() or ["rc %d" % run.rc])[-1][:120]
    for member, url in zip(MEMBERS, URLS):
        result[member + ":2379"] = answers_with(pair, url)
    return result


@pytest.mark.full
def test_a_revoked_client_pair_is_refused_through_the_grpc_proxy_as_by_every_member():
    # billing's pair, which test_data_and_access.py had issued (etcd_pki_clients), works through both
    # proxies and on every member until a run without it in the list revokes it.
    for name in (GRPC, GATEWAY):
        copy_to(name, CLIENT_DIR, {"billing" + suffix: os.path.join(PKI, "clients", "billing" + suffix)
                                   for suffix in (".pem", "-key.pem")})
    for suffix in (".pem", "-key.pem"):
        with open(os.path.join(PKI, "clients", "billing" + suffix), "rb") as src, open(saved_pair("billing")[suffix != ".pem"], "wb") as dst:
            dst.write(src.read())
    before = {"billing": tried("billing"), "admin": tried("admin")}
    assert all(r == "ok" for results in before.values() for r in results.values()), before
    proxy_pid = host(GRPC).run("systemctl show etcd-proxy -p MainPID").stdout

    rc, out = playbook("etcd")  # billing not listed: revoked
    assert rc == 0, why_failed(out)
    after = {"billing": tried("billing"), "admin": tried("admin")}
    with open(FIGURES, "a") as figures:
        for when, results in (("before", before), ("after", after)):
            for pair, answers in results.items():
                figures.write("%s the revocation of billing, the %s pair: %s\n" % (
                    when, pair, ", ".join("%s %s" % item for item in answers.items())))
    assert all(r.startswith("refused") for r in after["billing"].values()), after
    assert all(r == "ok" for r in after["admin"].values()), after
    # The gRPC proxy has the members' new CRL and read it without a restart.
    with open(os.path.join(PKI, "crl.pem"), "rb") as crl:
        assert host(GRPC).file("/etc/etcd-proxy/pki/crl.pem").content == crl.read()
    assert "--client-crl-file=/etc/etcd-proxy/pki/crl.pem" in host(GRPC).file("/etc/systemd/system/etcd-proxy.service").content_string
    assert host(GRPC).run("systemctl show etcd-proxy -p MainPID").stdout == proxy_pid


def start_writers():
    for name in (GRPC, GATEWAY):
        host(name).run("rm -f /root/acked; systemd-run --unit=proxy-writer /bin/sh -c 'i=0; while :; do "
                       "k=/writer/$(printf %%06d $i); %s put $k v$i >/dev/null 2>&1 && echo $k >> /root/acked; "
                       "i=$((i+1)); sleep 0.05; done'" % ETCDCTL)


def stop_writers():
    acked = {}
    for name in (GRPC, GATEWAY):
        host(name).run("systemctl stop proxy-writer")
        acked[name] = host(name).file("/root/acked").content_string.split()
    return acked


def test_writes_through_both_proxies_survive_a_member_restart_and_a_replacement():
    start_writers()
    time.sleep(3)
    assert host("prx-host1").run("systemctl stop etcd").rc == 0
    time.sleep(5)
    assert host("prx-host1").run("systemctl start etcd").rc == 0
    time.sleep(3)
    run_testbed("recreate", "prx-host2", ADDRESS["prx-host2"])
    rc, out = playbook("replace_member", "-e", "etcd_replace=proxied-2")
    assert rc == 0, why_failed(out)
    time.sleep(3)
    acked = stop_writers()
    gateway = Gateway(URLS[0])
    for name, keys in acked.items():
        assert len(keys) > 100, (name, len(keys))
        lost = [k for k in keys if gateway.get(NAMESPACE[name] + k) is None]
        assert lost == [], (name, lost[:10])
    with open(FIGURES, "a") as out:
        out.write("writes acknowledged through a member restart and a replacement: %s, none lost\n"
                  % ", ".join("%s %d" % (n, len(k)) for n, k in acked.items()))


@pytest.mark.full
def test_a_rerun_after_the_replacement_changes_nothing():
    # (The status playbook lists both proxies: test_data_and_access.py, with auth on.)
    rc, out = playbook("etcd")
    assert rc == 0, why_failed(out)
    assert_unchanged(out, [*MEMBERS, GRPC, GATEWAY])


PROXY_READ = "proxy read"


def proxy_state():
    """What a refused proxy.yml run must not change: the members' and the proxies' files, binaries,
    certificates and processes (fingerprint), and each proxy host's unit, certificates and release link;
    a host that cannot be read fails the test."""
    prints = fingerprint(MEMBERS)
    proxies = fingerprint([GRPC, GATEWAY], instance="etcd-proxy")
    for name in (GRPC, GATEWAY):
        read = host(name).run("sha256sum /etc/systemd/system/etcd-proxy.service /etc/etcd-proxy/pki/* && "
                              "readlink -f /usr/local/bin/etcd && systemctl show etcd-proxy -p MainPID && echo " + PROXY_READ)
        assert read.stdout.endswith(PROXY_READ + "\n"), (name, read.rc, (read.stderr or read.stdout)[-500:])
        prints[name] = proxies[name] + read.stdout
    return prints


# The refusals of bad input are decided by the settings' and the proxy plan's checks: their unit tests
# (tests/unit/plugins/filter/test_proxy.py, tests/unit/plugins/action/test_etcd_plan_ops_stages.py,
# tests/unit/plugins/module_utils/test_refusals_proxy.py) check each message.
@pytest.mark.full
@pytest.mark.parametrize("args, says", [
    (["-e", "etcd_proxy_mode=l4"], "value of etcd_proxy_mode must be one of: grpc, gateway, got: l4"),
    (["-e", "etcd_proxy_namespace=/app"], "etcd_proxy_namespace='/app': '' (no namespace) or a key prefix"),
    (["-e", "etcd_proxy_group=etcd_clients"], "the proxy group is empty or missing"),
    (["-e", "etcd_proxy_port=2379", "-e", "etcd_proxy_group=etcd"], "this host is also a member of group etcd"),
])
def test_bad_input_is_refused_before_any_proxy_host_changes(args, says):
    before = proxy_state()
    rc, out = playbook("proxy", *args)
    assert rc != 0 and says in " ".join(out.split()), out[-3000:]
    assert proxy_state() == before


def test_a_proxy_host_that_reaches_no_member_is_named():
    # proxy.yml's one refused run in `make test`: one proxy host cannot reach the members, and the play
    # stops every proxy host (any_errors_fatal) before any of them changes, the one that reaches them too.
    before = proxy_state()
    h = host(GATEWAY)
    assert h.run("iptables -I OUTPUT -p tcp --dport 2379 -j REJECT").rc == 0
    try:
        # At -vvv: the failure path shows no key either.
        rc, out = playbook("proxy", "-vvv")
    finally:
        assert h.run("iptables -D OUTPUT -p tcp --dport 2379 -j REJECT").rc == 0
    said = " ".join(out.split())
    assert rc != 0 and "host prx-host4 reaches no member of the cluster" in said, out[-3000:]
    assert ("open the members' client port to the proxy hosts, or check etcd_address; no proxy host was changed"
            in said), out[-3000:]
    assert "host prx-host3 reaches no member" not in said
    assert where_leaked(out, private_key_secrets(PKI)) == "", "at -vvv: " + where_leaked(out, private_key_secrets(PKI))
    assert proxy_state() == before


def unix_times(name, *properties):
    out = host(name).run("systemctl show etcd-proxy --timestamp=unix -p %s" % ",".join(properties)).stdout
    return {k: int(v.lstrip("@") or 0) for k, v in (line.split("=", 1) for line in out.split())}


@pytest.mark.full
def test_a_scale_in_takes_the_member_out_of_both_proxies_one_proxy_at_a_time():
    start_writers()
    time.sleep(2)
    rc, out = playbook("remove_member", "-e", "etcd_remove=proxied-2")
    time.sleep(2)
    acked = stop_writers()
    assert rc == 0, why_failed(out)
    for name in (GRPC, GATEWAY):
        unit = host(name).file("/etc/systemd/system/etcd-proxy.service").content_string
        assert ADDRESS["prx-host2"] not in unit and ADDRESS["prx-host0"] in unit, unit
    # One at a time: the second proxy was stopped only after the first was running again.
    times = sorted((unix_times(n, "ActiveEnterTimestamp", "InactiveEnterTimestamp") for n in (GRPC, GATEWAY)),
                   key=lambda t: t["ActiveEnterTimestamp"])
    assert times[1]["InactiveEnterTimestamp"] >= times[0]["ActiveEnterTimestamp"], times
    gateway = Gateway(URLS[0])
    for name, keys in acked.items():
        assert keys, name
        assert [k for k in keys if gateway.get(NAMESPACE[name] + k) is None] == [], name
