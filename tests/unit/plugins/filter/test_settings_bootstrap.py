"""The settings rules of the bootstrap modes (static, dns_srv, discovery) and of auto-TLS, with their messages."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan import settings as s
from ansible_collections.raftops.etcd.tests.unit.plugins.filter.test_settings_problems import BASE, HOST

V2_URL = "https://disco.example.com:2379/v2/keys/_etcd/registry/6c007a14875d53d9"


def problems(**overrides):
    return s.settings_problems(dict(BASE, **overrides), HOST)


def test_static_is_the_default_and_needs_nothing():
    assert BASE["etcd_bootstrap"] == "static"
    assert problems() == []


def test_an_unknown_mode_is_refused():
    assert problems(etcd_bootstrap="dns") == ["host etcd-1: etcd_bootstrap='dns': static, dns_srv or discovery"]


def test_dns_srv_needs_the_domain():
    assert problems(etcd_bootstrap="dns_srv") == [
        "host etcd-1: etcd_bootstrap='dns_srv': needs etcd_discovery_srv, the domain whose _etcd-server-ssl._tcp "
        "SRV records name the members (docs/bootstrap.md)"
    ]
    assert problems(etcd_bootstrap="dns_srv", etcd_discovery_srv="example.com", etcd_discovery_srv_name="prod") == []


@pytest.mark.parametrize("domain", ["localhost", "exa mple.com", "-x.example.com", "10.0.0.1", 7])
def test_the_domain_is_a_dns_domain(domain):
    assert problems(etcd_discovery_srv=domain) == [
        "host etcd-1: etcd_discovery_srv=%s: '' or a DNS domain like example.com" % s.show(domain)
    ]


def test_the_srv_name_is_a_label_suffix():
    assert problems(etcd_discovery_srv_name="-prod") == [
        "host etcd-1: etcd_discovery_srv_name='-prod': '' or letters, digits and - (not first or last), like prod"
    ]


def test_the_resolvers_are_addresses():
    assert problems(etcd_discovery_srv_resolvers="10.0.0.53") == [
        "host etcd-1: etcd_discovery_srv_resolvers='10.0.0.53': must be a list of IP addresses or DNS names, "
        "like ['10.0.0.10', 'lb.example.com']"
    ]


def test_discovery_before_3_6_needs_the_v2_url():
    assert problems(etcd_bootstrap="discovery", etcd_version="3.5.30") == [
        "host etcd-1: etcd_bootstrap='discovery': needs etcd_discovery_url, the v2 URL of a token on the discovery "
        "cluster, like https://disco.example.com:2379/v2/keys/_etcd/registry/<token>"
    ]
    assert problems(etcd_bootstrap="discovery", etcd_version="3.5.30", etcd_discovery_url=V2_URL) == []


def test_discovery_before_3_6_refuses_the_v3_settings():
    assert problems(etcd_bootstrap="discovery", etcd_version="3.5.30", etcd_discovery_url=V2_URL,
                    etcd_discovery_token="t1") == [
        "host etcd-1: etcd_bootstrap='discovery': with etcd before 3.6 uses the v2 discovery protocol: set "
        "etcd_discovery_url, not etcd_discovery_endpoints or etcd_discovery_token"
    ]


def test_discovery_on_3_6_uses_the_v3_settings():
    assert problems(etcd_bootstrap="discovery", etcd_version="3.6.14", etcd_discovery_url=V2_URL) == [
        "host etcd-1: etcd_bootstrap='discovery': with etcd 3.6 uses the v3 discovery protocol: set "
        "etcd_discovery_endpoints and etcd_discovery_token instead of etcd_discovery_url"
    ]
    assert problems(etcd_bootstrap="discovery", etcd_version="3.6.14", etcd_discovery_token="t1") == [
        "host etcd-1: etcd_bootstrap='discovery': with etcd 3.6 needs etcd_discovery_endpoints (the discovery "
        "cluster's client URLs) and etcd_discovery_token"
    ]
    assert problems(etcd_bootstrap="discovery", etcd_version="3.6.14", etcd_discovery_token="t1",
                    etcd_discovery_endpoints=["https://disco.example.com:2379"]) == []


# A bad URL is shown without its token: the part after /v2/keys/ (the whole URL when it has none).
@pytest.mark.parametrize("url, shown", [
    ("https://disco:2379/v2/keys/", "https://disco:2379/v2/keys/<hidden>"),
    ("https://disco:2379/_etcd/registry/t0ken", "<hidden>"),
    ("ftp://disco/v2/keys/_etcd/registry/t0ken", "ftp://disco/v2/keys/<hidden>"),
    ("https://disco:2379/v2/keys/_etcd/registry/t0ken/", "https://disco:2379/v2/keys/<hidden>"),
])
def test_the_v2_url_is_a_keys_url_and_a_bad_one_is_shown_without_its_token(url, shown):
    assert problems(etcd_discovery_url=url) == [
        "host etcd-1: etcd_discovery_url=%r: %s" % (shown, s.DISCOVERY_URL_TEXT)
    ]


def test_a_bad_v3_token_is_refused_without_showing_it():
    assert problems(etcd_discovery_token="t0ken/") == [
        "host etcd-1: etcd_discovery_token='<hidden>': '' or letters, digits, '.', '_' and '-', starting with a letter or digit"
    ]


def test_the_endpoints_are_urls_without_a_path():
    assert problems(etcd_discovery_endpoints=["https://disco:2379/v3"]) == [
        "host etcd-1: etcd_discovery_endpoints[0]='https://disco:2379/v3': a client URL like "
        "https://disco.example.com:2379 (no path)"
    ]


@pytest.mark.parametrize("variable, value", [("etcd_discovery_url", V2_URL), ("etcd_discovery_token", "t1")])
def test_discovery_settings_of_another_mode_are_refused(variable, value):
    assert problems(**{variable: value}) == [
        "host etcd-1: etcd_bootstrap='static': does not use %s (set etcd_bootstrap: discovery, or leave %s empty)"
        % (variable, variable)
    ]


def test_a_srv_domain_without_dns_srv_is_refused():
    assert problems(etcd_discovery_srv="example.com") == [
        "host etcd-1: etcd_bootstrap='static': does not use etcd_discovery_srv (set etcd_bootstrap: dns_srv, "
        "or leave etcd_discovery_srv empty)"
    ]


def test_auto_tls_is_refused_with_client_certificate_auth():
    assert problems(etcd_auto_tls=True) == ["host etcd-1: etcd_auto_tls=True: " + s.AUTO_TLS_WITH_CERT_AUTH]
    assert "cannot be combined with etcd_tls=true" in s.AUTO_TLS_WITH_CERT_AUTH
    assert problems(etcd_auto_tls="yes", etcd_tls=False) == []


def test_auto_tls_is_refused_with_a_metrics_listener_on_the_address():
    assert problems(etcd_auto_tls=True, etcd_tls=False, etcd_metrics="address") == [
        "host etcd-1: etcd_auto_tls=True: cannot be combined with etcd_metrics=address: without client certificates "
        "the metrics listener on the member's address would be plaintext; use etcd_metrics: loopback"
    ]


def test_auto_tls_is_a_boolean():
    assert problems(etcd_auto_tls="y") == [
        "host etcd-1: etcd_auto_tls='y': true or false (yes/no, on/off and 1/0 work too)"
    ]


def test_the_modes_equal_the_argument_specs():
    from ansible_collections.raftops.etcd.tests.unit.plugins.filter.test_settings_problems import SPECS
    assert SPECS["etcd_bootstrap"]["choices"] == list(s.BOOTSTRAP_MODES)
