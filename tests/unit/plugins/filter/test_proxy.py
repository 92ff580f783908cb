"""The client access tier's decisions: the proxy command line and the refusals (plugins/filter/proxy.py)."""

import os
from collections.abc import Mapping

import pytest
import yaml
from jinja2 import Undefined
from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable

from ansible_collections.raftops.etcd.plugins.filter import proxy as p
from ansible_collections.raftops.etcd.plugins.filter import settings as s

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MEMBERS = [
    {"host": "h0", "name": "etcd-0", "client_url": "https://10.0.0.11:2379"},
    {"host": "h1", "name": "etcd-1", "client_url": "https://10.0.0.12:2379"},
    {"host": "h2", "name": "etcd-2", "client_url": "https://[fd00::13]:2379"},
]
SETTINGS = dict(mode="grpc", binary="/usr/local/bin/etcd", listen_address="127.0.0.1", port=23790, tls=True, crl=True,
                pki_dir="/etc/etcd-proxy/pki", data_dir="/var/lib/etcd-proxy", namespace="", resolver_prefix="",
                resolver_ttl=60, advertise_address="", metrics_port=23791, retry_delay="1m", discovery_srv="",
                discovery_srv_name="")


def args(**overrides):
    return p.proxy_args(MEMBERS, dict(SETTINGS, **overrides))


def test_grpc_proxy_dials_the_members_with_its_client_pair_and_serves_tls_with_client_cert_auth():
    assert args() == [
        "/usr/local/bin/etcd", "grpc-proxy", "start",
        "--endpoints=https://10.0.0.11:2379,https://10.0.0.12:2379,https://[fd00::13]:2379",
        "--listen-addr=127.0.0.1:23790",
        "--data-dir=/var/lib/etcd-proxy",
        "--cacert=/etc/etcd-proxy/pki/ca.pem", "--cert=/etc/etcd-proxy/pki/client.pem",
        "--key=/etc/etcd-proxy/pki/client-key.pem",
        "--cert-file=/etc/etcd-proxy/pki/server.pem", "--key-file=/etc/etcd-proxy/pki/server-key.pem",
        "--trusted-ca-file=/etc/etcd-proxy/pki/ca.pem",
        "--client-crl-file=/etc/etcd-proxy/pki/crl.pem",
        "--metrics-addr=http://127.0.0.1:23791",
    ]


def test_grpc_proxy_without_a_crl_checks_client_certificates_against_the_ca_only():
    argv = args(crl=False)
    assert "--trusted-ca-file=/etc/etcd-proxy/pki/ca.pem" in argv
    assert not [a for a in argv if a.startswith("--client-crl-file")]
    # The gateway passes TLS through: the members check the client's certificate and their CRL.
    assert not [a for a in args(mode="gateway") if "crl" in a]


def test_grpc_proxy_finds_the_members_by_dns_srv_instead_of_endpoints():
    argv = args(discovery_srv="etcd.test")
    assert argv[3:5] == ["--discovery-srv=etcd.test", "--listen-addr=127.0.0.1:23790"]
    assert not [a for a in argv if a.startswith("--endpoints")]
    # its --cacert checks each member it finds against the server name etcd.test
    assert "--cacert=/etc/etcd-proxy/pki/ca.pem" in argv
    assert args(discovery_srv="etcd.test", discovery_srv_name="prod", tls=False)[3:6] == [
        "--discovery-srv=etcd.test", "--discovery-srv-name=prod", "--insecure-discovery"]


def test_gateway_finds_the_members_by_dns_srv_and_checks_them_with_the_ca():
    assert args(mode="gateway", discovery_srv="etcd.test") == [
        "/usr/local/bin/etcd", "gateway", "start", "--discovery-srv=etcd.test",
        "--trusted-ca-file=/etc/etcd-proxy/pki/ca.pem", "--listen-addr=127.0.0.1:23790", "--retry-delay=1m"]
    assert args(mode="gateway", discovery_srv="etcd.test", tls=False)[3:5] == [
        "--discovery-srv=etcd.test", "--insecure-discovery"]


def test_grpc_proxy_namespace_resolver_and_no_metrics():
    argv = args(namespace="/app/", resolver_prefix="/proxies/", resolver_ttl="30", listen_address="0.0.0.0",
                advertise_address="10.0.0.50", metrics_port=0)
    assert argv[-4:] == ["--namespace=/app/", "--resolver-prefix=/proxies/", "--resolver-ttl=30",
                         "--advertise-client-url=10.0.0.50:23790"]
    assert "--listen-addr=0.0.0.0:23790" in argv
    assert not [a for a in argv if a.startswith("--metrics-addr")]


def test_the_resolver_advertises_the_listen_address_when_none_is_given():
    assert args(resolver_prefix="/p/")[-2:] == ["--advertise-client-url=127.0.0.1:23790", "--metrics-addr=http://127.0.0.1:23791"]


def test_grpc_proxy_without_tls_has_no_certificate_flags():
    argv = args(tls=False)
    assert [a for a in argv if "pki" in a] == []
    assert argv[3] == "--endpoints=https://10.0.0.11:2379,https://10.0.0.12:2379,https://[fd00::13]:2379"


def test_gateway_forwards_tcp_to_host_port_and_reads_no_certificate():
    assert args(mode="gateway", retry_delay="30s", listen_address="::1") == [
        "/usr/local/bin/etcd", "gateway", "start",
        "--endpoints=10.0.0.11:2379,10.0.0.12:2379,[fd00::13]:2379",
        "--listen-addr=[::1]:23790",
        "--retry-delay=30s",
    ]


def test_a_changed_member_list_changes_the_command_line():
    assert p.proxy_args(MEMBERS[:2], SETTINGS) != args()


@pytest.mark.parametrize("members, settings, message", [
    ([], SETTINGS, "raftops.etcd.proxy_args: the members must be a non-empty list"),
    ("h0", SETTINGS, "raftops.etcd.proxy_args: the members must be a non-empty list"),
    ([{"host": "h0"}], SETTINGS, "raftops.etcd.proxy_args: a member record without client_url"),
    (MEMBERS, None, "raftops.etcd.proxy_args: the settings must be a dict"),
    (MEMBERS, dict(SETTINGS, mode="l4"), "raftops.etcd.proxy_args: mode 'l4' is not one of grpc, gateway"),
    (MEMBERS, {k: v for k, v in SETTINGS.items() if k != "port"}, "raftops.etcd.proxy_args: settings lack port"),
    (MEMBERS, dict(SETTINGS, colour="red"), "raftops.etcd.proxy_args: settings lack nothing; unknown keys colour"),
])
def test_bad_input_raises_naming_the_filter(members, settings, message):
    with pytest.raises(AnsibleFilterError) as err:
        p.proxy_args(members, settings)
    assert str(err.value).startswith(message)


def test_health_url():
    assert p.proxy_health_url(SETTINGS) == "https://127.0.0.1:23790/health"
    assert p.proxy_health_url(dict(SETTINGS, listen_address="0.0.0.0", tls=False, port=2000)) == "http://127.0.0.1:2000/health"
    assert p.proxy_health_url(dict(SETTINGS, listen_address="::")) == "https://[::1]:23790/health"


# --- refusals -----------------------------------------------------------------------------------

PROXY = {"etcd_proxy_port": 2379, "etcd_client_port": 2379, "etcd_peer_port": 2380, "etcd_metrics": "loopback",
         "etcd_metrics_port": 2381, "etcd_proxy_mode": "grpc", "etcd_proxy_listen_address": "127.0.0.1",
         "etcd_instance": "etcd", "etcd_version": "3.5.30", "etcd_tls": True, "etcd_pki_dir": "/inv/etcd-pki"}


def test_a_member_host_with_the_proxy_on_the_members_port_is_refused():
    assert p.proxy_problems(PROXY, "h0", ["h0", "h1"]) == [
        "host h0: etcd_proxy_port=2379: this host is also a member of group etcd, whose etcd listens on port 2379 "
        "(etcd_client_port); give the proxy another port, like 23790"]
    assert p.proxy_problems(dict(PROXY, etcd_proxy_port=2381), "h0", ["h0"], group="etcd-main")[0].endswith(
        "group etcd-main, whose etcd listens on port 2381 (etcd_metrics_port); give the proxy another port, like 23790")
    assert p.proxy_problems(dict(PROXY, etcd_proxy_port=2381, etcd_metrics="off"), "h0", ["h0"]) == []
    # Not a member: the port is free on that host.
    assert p.proxy_problems(PROXY, "c0", ["h0", "h1"]) == []


def test_settings_the_members_have_otherwise_are_refused():
    member = {"etcd_pki_dir": "/inv/other-pki", "etcd_version": "3.5.30", "ansible_host": "10.0.0.11"}
    assert p.proxy_problems(dict(PROXY, etcd_proxy_port=23790), "c0", ["h0"], member) == [
        "host c0: etcd_pki_dir='/inv/etcd-pki', but the members of group etcd have '/inv/other-pki': proxies share it "
        "with the members; set it for both groups (group_vars/all)"]


class _HostvarsWithAnUnresolvedValue(Mapping):
    """A member's hostvars whose etcd_pki_dir is built on a role default that is not in them."""

    def __init__(self, **values):
        self._values = values

    def __getitem__(self, key):
        if key == "etcd_pki_dir":
            raise AnsibleUndefinedVariable("'etcd_instance' is undefined")
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


@pytest.mark.parametrize("member", [
    _HostvarsWithAnUnresolvedValue(etcd_pki_dir="{{ etcd_instance }}-pki", etcd_version="3.5.1"),
    {"etcd_pki_dir": Undefined("etcd_instance"), "etcd_version": "3.5.1"},
], ids=["raised", "handed-over"])
def test_a_member_value_that_does_not_resolve_in_its_hostvars_is_not_compared(member):
    assert p.proxy_problems(dict(PROXY, etcd_proxy_port=23790), "c0", ["h0"], member) == [
        "host c0: etcd_version='3.5.30', but the members of group etcd have '3.5.1': proxies share it "
        "with the members; set it for both groups (group_vars/all)"]


def test_a_gateway_on_an_address_the_members_certificates_do_not_name_is_refused():
    gateway = dict(PROXY, etcd_proxy_port=23790, etcd_proxy_mode="gateway", etcd_proxy_listen_address="10.0.0.50")
    assert p.proxy_problems(gateway, "c0", ["h0"]) == [
        "host c0: etcd_proxy_listen_address='10.0.0.50': the gateway passes TLS through, and the members' certificates "
        "do not name 10.0.0.50, so its clients could not verify them; add 10.0.0.50 to etcd_pki_extra_sans and run the "
        "etcd playbook first, or listen on 127.0.0.1"]
    assert p.proxy_problems(gateway, "c0", ["h0"], extra_sans=["10.0.0.50"]) == []
    assert p.proxy_problems(dict(gateway, etcd_proxy_mode="grpc"), "c0", ["h0"]) == []


def test_empty_proxy_group():
    message = ("the proxy group is empty or missing: the inventory has no hosts in group 'etcd_proxy' "
               "(etcd_proxy_group); add the client hosts to it, or leave etcd_proxy_mode unset; nothing was changed")
    assert p.proxy_group_problem([], "etcd_proxy") == message
    assert p.proxy_group_problem(None, "etcd_proxy", True) == message
    assert p.proxy_group_problem([], "etcd_proxy", False) == ""
    assert p.proxy_group_problem(["c0"], "etcd_proxy") == ""


URLS = ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]


def test_a_proxy_host_that_reaches_no_member_is_named():
    health = {"failed": True, "msg": "no endpoint answered", "endpoints": [
        {"endpoint": URLS[0], "reachable": False, "error": "[Errno 111] Connection refused"},
        {"endpoint": URLS[1], "reachable": False, "error": "timed out"}]}
    assert p.proxy_reach_problem(health, "c0", URLS) == (
        "host c0 reaches no member of the cluster at https://10.0.0.11:2379, https://10.0.0.12:2379 "
        "(https://10.0.0.11:2379: [Errno 111] Connection refused; https://10.0.0.12:2379: timed out); open the "
        "members' client port to the proxy hosts, or check etcd_address; no proxy host was changed")
    assert p.proxy_reach_problem({"msg": "no endpoint answered"}, "c0", URLS).endswith(
        "(no endpoint answered); open the members' client port to the proxy hosts, or check etcd_address; "
        "no proxy host was changed")


def test_one_member_reached_is_enough():
    health = {"endpoints": [{"endpoint": URLS[0], "reachable": False, "error": "refused"},
                            {"endpoint": URLS[1], "reachable": True, "error": None}]}
    assert p.proxy_reach_problem(health, "c0", URLS) == ""


def test_without_its_certificates_a_tls_error_is_a_reached_member():
    health = {"endpoints": [{"endpoint": URLS[0], "reachable": False,
                             "error": "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"}]}
    assert p.proxy_reach_problem(health, "c0", URLS, certificates=False) == ""
    assert p.proxy_reach_problem(health, "c0", URLS, certificates=True).startswith("host c0 reaches no member")


def test_status_lines():
    lines = p.proxy_status_lines([
        {"host": "c0", "mode": "grpc", "listen": "127.0.0.1:23790", "answer": {"status": 200, "json": {"health": "true"}}},
        {"host": "c1", "mode": "gateway", "listen": "127.0.0.1:23790",
         "answer": {"status": 503, "json": {"health": "false", "reason": "no leader"}}},
        {"host": "client-2", "mode": "grpc", "listen": "0.0.0.0:23790", "answer": {"status": -1, "msg": "refused"}},
        {"host": "c3", "mode": "grpc", "listen": "127.0.0.1:23790", "answer": {"msg": "refused"}},
        {"host": "c4", "mode": "grpc", "listen": "127.0.0.1:23790", "answer": {"status": 200, "content": '{"health":"true"}'}},
        {"host": "c5", "mode": "grpc", "listen": "127.0.0.1:23790", "answer": {"status": 404, "content": "404 page not found"}},
    ])
    assert lines == [
        "PROXY     MODE     LISTEN           REACHES-CLUSTER",
        "c0        grpc     127.0.0.1:23790  yes",
        "c1        gateway  127.0.0.1:23790  no:HTTP-503:no-leader",
        "client-2  grpc     0.0.0.0:23790    no:proxy-unreachable",
        "c3        grpc     127.0.0.1:23790  no:proxy-unreachable",
        "c4        grpc     127.0.0.1:23790  yes",
        "c5        grpc     127.0.0.1:23790  no:HTTP-404:unhealthy",
    ]


@pytest.mark.parametrize("reason", ["GET ERROR:etcdserver: user name is empty", "GET ERROR:etcdserver: invalid auth token"])
def test_a_grpc_proxy_refused_for_want_of_a_user_reaches_the_cluster(reason):
    answer = {"status": 503, "json": {"health": "false", "reason": reason}}
    assert p.proxy_reaches(answer) == "yes:auth-on"
    (_head, line) = p.proxy_status_lines([{"host": "c0", "mode": "grpc", "listen": "127.0.0.1:23790", "answer": answer}])
    assert line.endswith("yes:auth-on")


def test_other_unhealthy_answers_do_not_reach_it():
    assert p.proxy_reaches({"status": 503, "json": {"health": "false", "reason": "GET ERROR:context deadline exceeded"}}) \
        == "no:HTTP-503:GET-ERROR:context-deadline-exceeded"
    assert p.proxy_reaches(None) == "no:proxy-unreachable"


# --- the settings table's rules for the proxies ---------------------------------------------------

with open(os.path.join(ROOT, "roles", "etcd_proxy", "defaults", "main.yml")) as _f:
    DEFAULTS = yaml.safe_load(_f)
PROXY_SETTINGS = {k: v.replace("{{ etcd_instance }}", "etcd") if isinstance(v, str) else v for k, v in DEFAULTS.items()}


def problems(**overrides):
    return s.settings_problems(dict(PROXY_SETTINGS, **overrides), "c0")


def test_a_discovery_domain_the_members_certificates_do_not_name_is_refused():
    srv = dict(PROXY, etcd_proxy_port=23790, etcd_proxy_discovery_srv="etcd.test")
    assert p.proxy_problems(srv, "c0", ["h0"]) == [
        "host c0: etcd_proxy_discovery_srv='etcd.test': the proxy checks each member it finds by SRV against the "
        "server name etcd.test, which the members' certificates do not carry; bootstrap the cluster with "
        "etcd_bootstrap=dns_srv and etcd_discovery_srv=etcd.test, or add etcd.test to etcd_pki_extra_sans and run "
        "the etcd playbook first"]
    assert p.proxy_problems(srv, "c0", ["h0"], {"etcd_bootstrap": "dns_srv", "etcd_discovery_srv": "etcd.test."}) == []
    assert p.proxy_problems(srv, "c0", ["h0"], extra_sans=["ETCD.test"]) == []
    assert p.proxy_problems(dict(srv, etcd_tls=False), "c0", ["h0"]) == []


@pytest.mark.parametrize("variable, value, message", [
    ("etcd_proxy_discovery_srv", "etcd", "host c0: etcd_proxy_discovery_srv='etcd': '' or a DNS domain like example.com"),
    ("etcd_proxy_discovery_srv_name", "-prod",
     "host c0: etcd_proxy_discovery_srv_name='-prod': '' or letters, digits and - (not first or last), like prod"),
])
def test_bad_proxy_discovery_settings_are_named(variable, value, message):
    assert [m for m in problems(**{variable: value}) if m.startswith(message)] != []


def test_the_proxy_defaults_have_no_problem():
    assert problems() == []


@pytest.mark.parametrize("variable, value, message", [
    ("etcd_proxy_mode", "l4", "host c0: etcd_proxy_mode='l4': one of grpc, gateway"),
    ("etcd_proxy_namespace", "/app",
     "host c0: etcd_proxy_namespace='/app': '' (no namespace) or a key prefix that starts and ends with /, like /app/: "
     "without the final / the keys of /app would share their prefix with those of /apple (letters, digits and "
     "/ . _ : @ + = , - only)"),
    ("etcd_proxy_namespace", "app/", None),
    ("etcd_proxy_namespace", "/100%/", None),
    ("etcd_proxy_resolver_prefix", "/proxies",
     "host c0: etcd_proxy_resolver_prefix='/proxies': '' (no registration) or a key prefix that starts and ends "
     "with /, like /proxies/ (letters, digits and / . _ : @ + = , - only)"),
    ("etcd_proxy_resolver_ttl", 0, "host c0: etcd_proxy_resolver_ttl=0: a whole number of seconds, at least 1"),
    ("etcd_proxy_port", 70000, "host c0: etcd_proxy_port=70000: a port is a whole number from 1 to 65535"),
    ("etcd_proxy_listen_address", "localhost",
     "host c0: etcd_proxy_listen_address='localhost': an IP address, like 127.0.0.1 (this host only) or 0.0.0.0"),
    ("etcd_proxy_retry_delay", "5",
     "host c0: etcd_proxy_retry_delay='5': a Go duration above 0, like 1m or 30s (with its unit)"),
    ("etcd_proxy_retry_delay", "0s", None),
    ("etcd_proxy_metrics_port", 23790, "host c0: etcd_proxy_metrics_port=23790: must differ from etcd_proxy_port (23790)"),
    ("etcd_proxy_user", "root", None),
    ("etcd_proxy_config_dir", "/etc", None),
])
def test_bad_proxy_settings_are_named(variable, value, message):
    found = problems(**{variable: value})
    assert len(found) == 1
    if message:
        assert found == [message]
    else:
        assert found[0].startswith("host c0: %s=" % variable)


def test_the_filters_are_registered_and_documented():
    names = sorted(p.FilterModule().filters())
    assert names == ["proxy_args", "proxy_group_problem", "proxy_health_url", "proxy_pairs_leaving", "proxy_problems",
                     "proxy_reach_problem", "proxy_reaches", "proxy_status_lines"]
    for name in names:
        with open(os.path.join(ROOT, "plugins", "filter", name + ".yml")) as f:
            assert yaml.safe_load(f)["DOCUMENTATION"]["name"] == name


def test_the_unit_runs_the_command_line_as_the_proxy_user_under_hardening():
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True)  # as Ansible's
    env.filters["comment"] = lambda text: "# " + text
    env.filters["bool"] = bool
    env.filters["raftops.etcd.proxy_args"] = p.proxy_args
    with open(os.path.join(ROOT, "roles", "etcd_proxy", "templates", "etcd-proxy.service.j2")) as f:
        unit = env.from_string(f.read()).render(
            ansible_managed="managed", etcd_proxy_mode="grpc", etcd_instance="etcd", etcd_group="etcd",
            etcd_proxy_user="etcd-proxy", etcd_proxy_data_dir="/var/lib/etcd-proxy", etcd_limit_nofile=65536,
            etcd_systemd_hardening=True, _etcd_proxy_members=MEMBERS, _etcd_proxy_settings=SETTINGS)
    assert "User=etcd-proxy\n" in unit and "ProtectSystem=strict\n" in unit and "CapabilityBoundingSet=\n" in unit
    assert "ExecStart=/usr/local/bin/etcd grpc-proxy start \\\n    --endpoints=https://10.0.0.11:2379," in unit
    assert "    --metrics-addr=http://127.0.0.1:23791\nRestart=always\n" in unit


# --- proxy_pairs_leaving ----------------------------------------------------------------------------

PKI_FILES = ["/inv/etcd-pki/%s" % f for f in (
    "ca.pem", "crl.pem", "admin.pem", "etcd-0.pem", "etcd-0-root.pem",
    # a gRPC proxy still in the group, one that left, and a gateway that left (client pair only)
    "etcd-proxy-p1.pem", "etcd-proxy-p1-key.pem", "etcd-proxy-p1-peer.pem", "etcd-proxy-p1-client.pem",
    "etcd-proxy-p2.pem", "etcd-proxy-p2-key.pem", "etcd-proxy-p2-peer.pem", "etcd-proxy-p2-peer-key.pem",
    "etcd-proxy-p2-client.pem", "etcd-proxy-p2-client-key.pem",
    "etcd-proxy-gw-client.pem", "etcd-proxy-gw-client-key.pem",
    # a proxy host named p1-client, still in the group: its files are not p1's either way
    "etcd-proxy-p1-client-client.pem", "etcd-proxy-p1-client-peer.pem",
    # another instance's proxy, and a member whose name starts like a proxy's
    "other-proxy-p9.pem", "etcd-proxy-db.pem", "etcd-proxy-db-root.pem",
)]


def test_the_pairs_of_proxies_no_longer_in_the_group_are_revoked_and_no_other():
    kept = ["etcd-proxy-p1", "etcd-proxy-p1-client"]  # hosts p1 and p1-client
    assert p.proxy_pairs_leaving(PKI_FILES, "etcd-proxy-", kept, ["etcd-proxy-db", "etcd-0"]) == [
        "etcd-proxy-gw", "etcd-proxy-p2"]
    # Once revoked (files moved to revoked/), nothing is left to do.
    assert p.proxy_pairs_leaving([f for f in PKI_FILES if "-p2" not in f and "-gw" not in f], "etcd-proxy-", kept,
                                 ["etcd-proxy-db"]) == []


def test_proxy_pairs_leaving_refuses_a_string():
    with pytest.raises(AnsibleFilterError, match="proxy_pairs_leaving: the files, the kept names and the member names must be lists"):
        p.proxy_pairs_leaving("etcd-proxy-p1.pem", "etcd-proxy-", [])
