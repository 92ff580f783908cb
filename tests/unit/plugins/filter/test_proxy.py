"""The client access tier's filter file (plugins/module_utils/host/proxy_args.py): the proxy command line, and the
member values the proxies' check compares. The refusals, certificates and status lines are the
proxy plan's (tests/unit/plugins/module_utils/test_etcd_proxy_plan.py)."""

import os
from collections.abc import Mapping

import pytest
import yaml
from jinja2 import Undefined
from ansible.errors import AnsibleUndefinedVariable

from ansible_collections.raftops.etcd.plugins.module_utils.host import proxy_args as p
from ansible_collections.raftops.etcd.plugins.module_utils.plan import settings as s
from ansible_collections.raftops.etcd.plugins.plugin_utils.host_settings import member_values
from ansible_collections.raftops.etcd.plugins.module_utils.plan import proxy_plan as pp

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
    with pytest.raises(ValueError) as err:
        p.proxy_args(members, settings)
    assert str(err.value).startswith(message)


PROXY = {"etcd_proxy_port": 23790, "etcd_client_port": 2379, "etcd_peer_port": 2380, "etcd_metrics": "loopback",
         "etcd_metrics_port": 2381, "etcd_proxy_mode": "grpc", "etcd_proxy_listen_address": "127.0.0.1",
         "etcd_instance": "etcd", "etcd_version": "3.5.30", "etcd_tls": True, "etcd_pki_dir": "/inv/etcd-pki"}


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
    values = member_values(member)
    assert values == dict.fromkeys(pp.MEMBER_SETTINGS) | {"etcd_version": "3.5.1"}
    assert pp.proxy_problems(PROXY, "c0", ["h0"], values) == [
        "host c0: etcd_version='3.5.30', but the members of group etcd have '3.5.1': proxies share it "
        "with the members; set it for both groups (group_vars/all)"]


def test_a_member_s_values_are_text():
    values = member_values({"etcd_tls": True, "etcd_version": "3.5.30", "ansible_host": "10.0.0.11"})
    assert values == dict.fromkeys(pp.MEMBER_SETTINGS) | {"etcd_tls": "True", "etcd_version": "3.5.30"}


# --- the settings table's rules for the proxies ---------------------------------------------------

with open(os.path.join(ROOT, "roles", "etcd_proxy", "defaults", "main.yml")) as _f:
    DEFAULTS = yaml.safe_load(_f)
PROXY_SETTINGS = {k: v.replace("{{ etcd_instance }}", "etcd") if isinstance(v, str) else v for k, v in DEFAULTS.items()}


def problems(**overrides):
    return s.settings_problems(dict(PROXY_SETTINGS, **overrides), "c0")


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
