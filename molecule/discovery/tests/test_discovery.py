"""Bootstrap by DNS SRV and by the discovery service, and auto-TLS, on real hosts (docs/bootstrap.md).

In file order: the cluster converge.yml bootstrapped from the SRV records of etcd.test (through a
nameserver that refuses the targets' AAAA query, as a dnsmasq without upstream does); a new
member without its record, with a record on the wrong port, and with a record pointing at a host
outside the group are each refused before any host changes, naming the record; with its record
the member joins. A module run on a member with discovery_srv (no endpoints) finds the cluster
through the client SRV records, and a domain without records is refused naming the record. Then a
second cluster on the same members (etcd_instance etcd-disc) fails to form while two members
are cut off from their peers, and the run cleans up (members stopped, their data and the token
deleted), so that it bootstraps through the same token on disc-disco next; a second bootstrap with
that token is refused. On that cluster, with auth on, etcd_user sets a password only when etcd
says it is wrong, and refuses a certificate-only user given one. A third (etcd-auto) runs auto-TLS
with compaction off (retention 0) and serves TLS only, a re-run changes nothing, and the status
playbook reports it. Last, a gRPC proxy, then a gateway, on disc-proxy find the members by their
client SRV records.

`make test` (-m "not full") walks the bootstrap from the SRV records (the converge), a new member joining
once its record exists and a module finding the cluster by its client SRV records. The refusals (bad
records, a domain without records, a used token, a password for a certificate-only user: decided in the
unit tests, tests/unit/plugins/module_utils/test_refusals_discovery.py lists where), the discovery
token, auto-TLS, the retention of 0, the status and the proxy by SRV are marked full. The discovery
cluster on disc-disco is started by the module fixture `discovery_cluster` (disco.yml), which pytest sets
up only when a test of the token runs: `make test` does not start it.
"""

import http.client
import json
import os
import shlex
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid

import dns.resolver
import pytest
from etcdtest import (EPHEMERAL, INVENTORY, ROOT, Gateway, ansible_env, assert_unchanged, fingerprint, host,
                      inventory_secrets, playbook, poll, private_key_secrets, where_leaked, why_failed)

MEMBERS = ["disc-host0", "disc-host1", "disc-host2"]
SPARE = "disc-host3"
DISCO = "http://10.250.0.115:2379"
TOKEN = uuid.uuid4().hex
RECORDS = "/etc/dnsmasq.d/etcd.conf"


def flat(text):
    return " ".join(text.split())


def json_file(name, data):
    """``data`` written to EPHEMERAL/<name>.json, for ansible-playbook's -e @FILE or -i FILE."""
    path = os.path.join(EPHEMERAL, name + ".json")
    with open(path, "w") as out:
        json.dump(data, out)
    return path


def extra_vars(name, **values):
    return ["-e", "@" + json_file(name, values)]


def with_spare():
    """A second inventory (-i) that puts disc-host3 in group etcd, as an operator edits the inventory."""
    return ["-i", json_file("inventory-spare", {"etcd": {"hosts": {SPARE: None}}})]


def set_spare_records(*lines):
    """Replace the test's own lines of the zone (the spare's records, a stray one) and restart dnsmasq."""
    dns = host("disc-dns")
    assert dns.run("sed -i '/disc-3.etcd.test,23/d; /stray/d' %s" % RECORDS).rc == 0
    for line in lines:
        assert dns.run("echo %s >> %s" % (shlex.quote(line), RECORDS)).rc == 0
    assert dns.run("systemctl restart dnsmasq").rc == 0


SPARE_RECORD = "srv-host=_etcd-server-ssl._tcp.etcd.test,disc-3.etcd.test,2380,0,0"


def peer_urls(url="https://10.250.0.111:2379"):
    return sorted(m["peerURLs"][0] for m in Gateway(url).members())


def test_the_cluster_bootstrapped_from_its_srv_records():
    # The bootstrap above went through a nameserver that refuses the targets' AAAA query.
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.lifetime = ["10.250.0.110"], 5
    assert [str(a) for a in resolver.resolve("disc-0.etcd.test", "A")] == ["10.250.0.111"]
    with pytest.raises(dns.resolver.NoNameservers, match="REFUSED"):
        resolver.resolve("disc-0.etcd.test", "AAAA")
    assert peer_urls() == ["https://disc-%d.etcd.test:2380" % i for i in range(3)]
    for name in MEMBERS:
        h = host(name)
        assert not h.file("/etc/etcd/etcd-initial.env").exists
        assert h.run("getent hosts disc-0.etcd.test").stdout.split()[0] == "10.250.0.111"
        # The certificate names the record's target and the domain.
        sans = h.run("openssl x509 -noout -ext subjectAltName -in /etc/etcd/pki/peer.pem").stdout
        assert "DNS:%s.etcd.test" % name.replace("host", "") in sans and "DNS:etcd.test" in sans


@pytest.mark.full
@pytest.mark.parametrize("records, named", [
    ([], "member disc-3 (host disc-host3, 10.250.0.114) has no record in _etcd-server-ssl._tcp.etcd.test"),
    (["srv-host=_etcd-server-ssl._tcp.etcd.test,disc-3.etcd.test,2381,0,0"],
     "record _etcd-server-ssl._tcp.etcd.test -> disc-3.etcd.test:2381: port 2381 is not member disc-3's peer port 2380"),
    ([SPARE_RECORD, "srv-host=_etcd-server-ssl._tcp.etcd.test,stray.etcd.test,2380,0,0",
      "host-record=stray.etcd.test,10.250.0.110"],
     "record _etcd-server-ssl._tcp.etcd.test -> stray.etcd.test:2380 points at 10.250.0.110, which is no member"),
], ids=["missing", "wrong-port", "outside-the-group"])
def test_a_bad_record_is_refused_before_any_host_changes(records, named):
    set_spare_records(*records)
    before = fingerprint([*MEMBERS, SPARE])
    rc, out = playbook("etcd", *with_spare())
    assert rc != 0
    assert named in flat(out)
    assert "Nothing was changed" in flat(out)
    assert fingerprint([*MEMBERS, SPARE]) == before


def test_the_new_member_joins_once_its_record_exists():
    set_spare_records(SPARE_RECORD)
    rc, out = playbook("etcd", *with_spare())
    assert rc == 0, why_failed(out)
    assert peer_urls() == ["https://disc-%d.etcd.test:2380" % i for i in range(4)]


def module(name, target, /, **args):
    """Run module raftops.etcd.<name> on host ``target`` as an operator does (ansible -m); returns
    (returncode, its result as JSON, the output)."""
    proc = subprocess.run(["ansible", target, "-i", INVENTORY, "-m", "raftops.etcd." + name, "-a", json.dumps(args)],
                          env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
                          check=False)
    _head, _sep, body = proc.stdout.partition(" => ")
    try:
        result = json.loads(body)
    except ValueError:
        result = {}
    return proc.returncode, result, proc.stdout


MEMBER_TLS = dict(ca_cert="/etc/etcd/pki/ca.pem", client_cert="/etc/etcd/pki/server.pem",
                  client_key="/etc/etcd/pki/server-key.pem")


def test_a_module_finds_the_cluster_by_its_client_srv_records():
    # The zone has _etcd-client-ssl._tcp.etcd.test records for disc-0..2 (not for disc-3): the
    # module on the member resolves them itself (its resolv.conf names disc-dns), with python3 only.
    rc, result, out = module("etcd_member_info", "disc-host1", discovery_srv="etcd.test", **MEMBER_TLS)
    assert rc == 0, why_failed(out)
    assert sorted(m["name"] for m in result["members"]) == ["disc-%d" % i for i in range(4)]
    assert result["msg"].startswith("4 members seen through https://disc-")
    assert result["msg"].endswith(".etcd.test:2379")
    rc, result, out = module("etcd_health", "disc-host1", discovery_srv="etcd.test", discover=False, **MEMBER_TLS)
    assert rc == 0, why_failed(out)
    assert sorted(e["endpoint"] for e in result["endpoints"]) == [
        "https://disc-%d.etcd.test:2379" % i for i in range(3)]


@pytest.mark.full
def test_a_discovery_domain_without_records_is_refused_naming_the_record():
    rc, _result, out = module("etcd_member_info", "disc-host1", discovery_srv="none.etcd.test", **MEMBER_TLS)
    assert rc != 0
    assert "no etcd client SRV record for none.etcd.test" in flat(out)
    assert ("SRV _etcd-client-ssl._tcp.none.etcd.test does not exist (NXDOMAIN from nameserver 10.250.0.110)"
            in flat(out)), out
    rc, _result, out = module("etcd_member_info", "disc-host1", discovery_srv="etcd.test",
                              endpoints=["https://10.250.0.111:2379"], **MEMBER_TLS)
    assert rc != 0
    assert "parameters are mutually exclusive: endpoints|discovery_srv" in out


DISC = dict(etcd_instance="etcd-disc", etcd_client_port=12379, etcd_peer_port=12380, etcd_metrics_port=12381,
            etcd_bootstrap="discovery", etcd_discovery_srv="",
            etcd_discovery_url="%s/v2/keys/_etcd/registry/%s" % (DISCO, TOKEN))


def registry(token=TOKEN):
    """The token's keys on the discovery cluster (its size and the members registered), or None
    once the token is gone."""
    try:
        with urllib.request.urlopen("%s/v2/keys/_etcd/registry/%s?recursive=true" % (DISCO, token), timeout=5) as reply:
            return [n["key"].rsplit("/", 1)[-1] for n in json.load(reply)["node"].get("nodes", [])]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def secrets_shown(out, variables):
    """What a -vvv run shows of the secrets its variables hold, the token (the secret part of the
    v2 discovery URL) and the controller's private keys included; empty when nothing."""
    secrets = dict(inventory_secrets(variables), **{"discovery token": TOKEN})
    secrets.update(private_key_secrets(os.path.join(EPHEMERAL, "%s-pki" % variables.get("etcd_instance", "etcd"))))
    return where_leaked(out, secrets)


PEER_CUT = "-p tcp --dport %d -j DROP" % DISC["etcd_peer_port"]


def disco_serves():
    try:
        with urllib.request.urlopen(DISCO + "/health", timeout=3) as reply:
            return json.load(reply)["health"] == "true"
    except (OSError, ValueError, KeyError):
        return False


@pytest.fixture(scope="module")
def discovery_cluster():
    """The discovery cluster on disc-disco (disco.yml), started the first time a test of the discovery
    token asks for it: tests not selected (`make test` leaves them out) start nothing."""
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "molecule", "discovery", "disco.yml")],
                          env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert poll(disco_serves, 60), "the discovery cluster on disc-disco does not serve " + DISCO


@pytest.mark.full
@pytest.mark.usefixtures("discovery_cluster")
def test_a_failed_discovery_bootstrap_is_cleaned_up_so_that_a_rerun_starts_afresh():
    # disc-host1 and disc-host2 reach the discovery cluster but no peer: every member registers
    # under the token and starts, and no quorum forms. The run stops them, deletes what they wrote
    # and the token; the next test bootstraps with the same token (which a used token would refuse).
    cut = ["disc-host1", "disc-host2"]
    for name in cut:
        for chain in ("INPUT", "OUTPUT"):
            assert host(name).run("iptables -I %s %s" % (chain, PEER_CUT)).rc == 0
    try:
        # At -vvv, as an operator debugging a bootstrap would: whoever holds the token can register
        # members under it, so it is a secret like a password (docs/bootstrap.md).
        rc, out = playbook("etcd", "-vvv", *extra_vars("disc-cut", **DISC, etcd_health_timeout=20))
    finally:
        for name in cut:
            for chain in ("INPUT", "OUTPUT"):
                host(name).run("iptables -D %s %s" % (chain, PEER_CUT))
    assert rc != 0
    assert "the new cluster did not form (discovery bootstrap)" in flat(out), out[-3000:]
    assert ("The members were stopped, their new data, bootstrap settings and the discovery token deleted; run the "
            "playbook again.") in flat(out)
    assert registry() is None
    assert secrets_shown(out, DISC) == "", "the failed bootstrap at -vvv prints " + secrets_shown(out, DISC)
    for name in MEMBERS:
        h = host(name)
        # It had registered and found its peers: the token was used, and then deleted.
        assert "found all needed peers from discovery server" in h.run("journalctl -u etcd-disc --no-pager").stdout
        assert h.run("systemctl is-active etcd-disc").stdout.strip() != "active"
        assert not h.file("/var/lib/etcd-disc/member").exists
        # The settings that name the deleted token go with the data.
        assert not h.file(INITIAL_ENV).exists


# What a discovery bootstrap killed half-way leaves on each member (the rescue above never ran):
# the bootstrap settings the role writes, naming the token, mode 0640 root:etcd-disc.
INITIAL_ENV = "/etc/etcd-disc/etcd-initial.env"
KILLED_RUN_SETTINGS = """# Ansible managed
# Used only while this member bootstraps or joins; removed once the cluster is healthy.
# The members register under a token of the discovery cluster (v2 discovery).
ETCD_DISCOVERY=%s
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_INITIAL_CLUSTER_TOKEN=etcd-disc-killed-run
""" % DISC["etcd_discovery_url"]


@pytest.mark.full
@pytest.mark.usefixtures("discovery_cluster")
def test_a_cluster_bootstraps_through_a_discovery_token():
    # A run killed mid-bootstrap leaves its settings (the token's URL) on the members, which this
    # run reads back: placed here as such a run leaves them, since the failed run above cleaned up.
    for name in MEMBERS:
        assert host(name).run("umask 077 && printf %%s %s > %s && chown root:etcd-disc %s && chmod 0640 %s" % (
            shlex.quote(KILLED_RUN_SETTINGS), INITIAL_ENV, INITIAL_ENV, INITIAL_ENV)).rc == 0
    rc, out = playbook("etcd", "-vvv", *extra_vars("disc", **DISC))
    assert rc == 0, why_failed(out)
    # The host read returned the leftover's secret setting, hidden.
    assert '"ETCD_DISCOVERY": "<hidden>"' in out, out[-3000:]
    assert secrets_shown(out, DISC) == "", "the bootstrap at -vvv prints " + secrets_shown(out, DISC)
    assert len(Gateway("https://10.250.0.111:12379", ca=os.path.join(EPHEMERAL, "etcd-disc-pki", "ca.pem"),
                       cert=os.path.join(EPHEMERAL, "etcd-disc-pki", "admin.pem"),
                       key=os.path.join(EPHEMERAL, "etcd-disc-pki", "admin-key.pem")).members()) == 3
    assert len([key for key in registry() if key != "_config"]) == 3


@pytest.mark.full
@pytest.mark.usefixtures("discovery_cluster")
def test_a_used_token_is_refused_before_any_host_changes():
    again = dict(DISC, etcd_instance="etcd-disc2", etcd_client_port=13379, etcd_peer_port=13380, etcd_metrics_port=13381)
    before = fingerprint(MEMBERS, instance="etcd-disc2")
    rc, out = playbook("etcd", "-vvv", *extra_vars("disc2", **again))
    assert rc != 0
    assert "is already used: 3 member(s) registered" in flat(out)
    assert secrets_shown(out, again) == "", "the refusal at -vvv prints " + secrets_shown(out, again)
    assert fingerprint(MEMBERS, instance="etcd-disc2") == before


@pytest.mark.full
def test_a_password_is_set_only_when_etcd_says_it_is_wrong():
    # etcd_user run on the controller against the discovery-bootstrapped cluster, with auth on.
    pki = os.path.join(EPHEMERAL, "etcd-disc-pki")
    tls = dict(endpoints=["https://10.250.0.111:%d" % DISC["etcd_client_port"]], ca_cert=os.path.join(pki, "ca.pem"),
               client_cert=os.path.join(pki, "admin.pem"), client_key=os.path.join(pki, "admin-key.pem"))
    as_root = dict(tls, auth_user="root", auth_password="root-Secret-1")
    for args in (dict(name="root", password="root-Secret-1", roles=["root"]), dict(name="cert-only", no_password=True),
                 dict(name="app", password="app-Secret-1")):
        rc, _result, out = module("etcd_user", "localhost", **args, **tls)
        assert rc == 0, why_failed(out)
    rc, _result, out = module("etcd_auth", "localhost", state="enabled", **tls)
    assert rc == 0, why_failed(out)
    try:
        rc, result, out = module("etcd_user", "localhost", name="app", password="app-Secret-1",
                                 update_password="always", **as_root)
        assert rc == 0 and result["changed"] is False, out
        rc, result, out = module("etcd_user", "localhost", name="app", password="app-Secret-2",
                                 update_password="always", **as_root)
        assert rc == 0 and result["password_changed"] is True, out
        # The operator's case: a certificate-only user given a password. etcd keeps it so, and
        # would have it "set" on every run; it is refused, with nothing shown of the password.
        rc, result, out = module("etcd_user", "localhost", name="cert-only", password="cert-Secret-1",
                                 update_password="always", **as_root)
        assert rc != 0 and "user cert-only was made with no_password=true" in result["msg"], out
        # (ansible's ad-hoc error echoes the command line's own arguments: the module's result is what counts)
        assert "cert-Secret-1" not in json.dumps(result)
    finally:
        rc, _result, out = module("etcd_auth", "localhost", state="disabled", **as_root)
        assert rc == 0, why_failed(out)


# Also compaction off the way etcd documents it: a retention of 0 (with the default mode periodic).
AUTO = dict(etcd_instance="etcd-auto", etcd_client_port=22379, etcd_peer_port=22380, etcd_metrics_port=22381,
            etcd_bootstrap="static", etcd_discovery_srv="", etcd_tls=False, etcd_auto_tls=True,
            etcd_auto_compaction_retention="0")


@pytest.mark.full
def test_an_auto_tls_cluster_serves_tls_only():
    rc, out = playbook("etcd", *extra_vars("auto", **AUTO))
    assert rc == 0, why_failed(out)
    assert "WARNING: etcd_auto_tls=true" in flat(out)
    unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen("https://10.250.0.111:22379/health", context=unverified, timeout=5) as reply:
        assert json.load(reply)["health"] == "true"
    # No plaintext: plain http on the client port gets no answer from etcd.
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen("http://10.250.0.111:22379/health", timeout=5).read()
    # Self-signed by etcd itself: no CA of ours vouches for it.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen("https://10.250.0.111:22379/health",
                               context=ssl.create_default_context(cafile=os.path.join(EPHEMERAL, "etcd-pki", "ca.pem")),
                               timeout=5)


@pytest.mark.full
def test_a_retention_of_0_runs_the_members_without_compaction_and_a_rerun_changes_nothing():
    for name in MEMBERS:
        h = host(name)
        assert "COMPACTION" not in h.file("/etc/etcd-auto/etcd.env").content_string
        # etcd's own reading of its settings: no retention, so no compactor.
        assert '"auto-compaction-retention":"0s"' in h.run("journalctl -u etcd-auto --no-pager").stdout
    rc, out = playbook("etcd", *extra_vars("auto", **AUTO))
    assert rc == 0, why_failed(out)
    assert_unchanged(out, MEMBERS)


@pytest.mark.full
def test_the_status_playbook_reports_the_auto_tls_cluster():
    rc, out = playbook("status", *extra_vars("auto", **AUTO))
    assert rc == 0, why_failed(out)
    rows = [line.strip().strip('"') for line in out.splitlines()
            if line.strip().strip('"').startswith("disc-") and ":22379" in line]
    assert sorted(row.split()[0] for row in rows) == ["disc-0", "disc-1", "disc-2"], out[-3000:]
    assert all("healthy" in row for row in rows), rows


PROXY = "disc-proxy"
PROXY_CLIENT = "/root/etcd-client"


def with_proxy():
    """A second inventory (-i) that makes disc-proxy a proxy host finding the members by the client
    SRV records of etcd.test, with the settings the members have."""
    settings = dict(etcd_release_base_url="http://10.250.0.1:8080", etcd_version="3.5.30", etcd_limit_nofile=20000,
                    etcd_pki_dir=os.path.join(EPHEMERAL, "etcd-pki"), etcd_proxy_discovery_srv="etcd.test")
    return ["-i", json_file("inventory-proxy", {"etcd_proxy": {"hosts": {PROXY: settings}}})]


@pytest.mark.full
@pytest.mark.parametrize("mode, command", [("grpc", "grpc-proxy start"), ("gateway", "gateway start")])
def test_a_proxy_finds_the_members_by_their_srv_records(mode, command):
    # At -vvv: the first run writes the proxy's keys.
    rc, out = playbook("proxy", "-vvv", *with_proxy(), "-e", "etcd_proxy_mode=" + mode)
    assert rc == 0, why_failed(out)
    assert secrets_shown(out, {}) == "", "the proxy playbook at -vvv prints " + secrets_shown(out, {})
    h = host(PROXY)
    unit = h.file("/etc/systemd/system/etcd-proxy.service").content_string
    assert command in unit and "--discovery-srv=etcd.test" in unit and "--endpoints" not in unit
    h.run("mkdir -p %s" % PROXY_CLIENT)
    for f in ("ca.pem", "admin.pem", "admin-key.pem"):
        h.ansible("copy", "src=%s dest=%s/%s mode=0600" % (os.path.join(EPHEMERAL, "etcd-pki", f), PROXY_CLIENT, f),
                  check=False)
    key = "/through-srv-" + mode
    put = h.run(f"etcdctl --endpoints=https://127.0.0.1:23790 --cacert={PROXY_CLIENT}/ca.pem --cert={PROXY_CLIENT}/admin.pem "
                f"--key={PROXY_CLIENT}/admin-key.pem --dial-timeout=2s --command-timeout=5s put {key} yes")
    assert put.rc == 0, put.stderr
    assert Gateway("https://10.250.0.111:2379").get(key) == "yes"
    rc, out = playbook("proxy", *with_proxy(), "-e", "etcd_proxy_mode=" + mode)
    assert rc == 0, why_failed(out)
    assert_unchanged(out, [PROXY])
