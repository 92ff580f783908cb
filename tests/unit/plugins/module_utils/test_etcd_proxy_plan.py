"""The proxy role's plan steps (module_utils/etcd_proxy_plan.py): the certificates each proxy
needs, the pairs of proxies whose host left the group, and the status lines from each proxy's
answer. The refusals themselves are table-tested through their deprecated filters (test_proxy.py),
which call these functions."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils import etcd_proxy_plan as pp

PROXIES = {"p0": dict(address="10.0.1.10", listen_address="0.0.0.0", mode="grpc"),
           "p 1": dict(address="10.0.1.11", listen_address="10.0.9.9", mode="grpc"),
           "p2": dict(address="10.0.1.12", listen_address="127.0.0.1", mode="gateway")}


def test_every_proxy_gets_a_client_pair_and_every_grpc_proxy_a_server_pair():
    plan = pp.plan_proxy_pki(PROXIES, ["p0", "p 1", "p2"], "etcd", [], ["m0"])
    assert plan["clients"] == [dict(name="etcd-proxy-p0-client", sans=["10.0.1.10"]),
                               dict(name="etcd-proxy-p-1-client", sans=["10.0.1.11"]),
                               dict(name="etcd-proxy-p2-client", sans=["10.0.1.12"])]
    # A wildcard listener adds nothing; another listen address is named too; a gateway has no server pair.
    assert plan["members"] == [dict(name="etcd-proxy-p0", addresses=["10.0.1.10"], hostnames=["p0"]),
                               dict(name="etcd-proxy-p-1", addresses=["10.0.1.11", "10.0.9.9"], hostnames=["p 1"])]
    assert plan["revoke"] == []


@pytest.mark.parametrize("group, managed, revoked", [
    # p3 left the group: its pairs go, with the role's PKI only.
    (["p0", "p 1", "p2"], True, ["etcd-proxy-p3"]),
    (["p0", "p 1", "p2"], False, []),
    # p3 is still in the group but not in this play (--limit, or it did not answer): it keeps its pairs.
    (["p0", "p 1", "p2", "p3"], True, []),
])
def test_only_the_pairs_of_proxies_that_left_the_group_are_revoked(group, managed, revoked):
    files = ["/pki/etcd-proxy-%s%s.pem" % (name, suffix) for name in ("p0", "p3")
             for suffix in ("", "-key", "-peer", "-client", "-client-key")]
    # A member whose name starts like a proxy's keeps its pairs.
    files += ["/pki/etcd-proxy-member.pem", "/pki/etcd-proxy-member-root.pem"]
    plan = pp.plan_proxy_pki({"p0": PROXIES["p0"]}, group, "etcd", files, ["etcd-proxy-member"], managed)
    assert plan["revoke"] == revoked


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="dict by host"):
        pp.plan_proxy_pki(["p0"], [], "etcd", [], [])
    with pytest.raises(ValueError, match="must be lists"):
        pp.proxy_pairs_leaving("a.pem", "etcd-proxy-", [])
    with pytest.raises(ValueError, match="list of dicts"):
        pp.proxy_status_lines({"host": "p0"})


def test_the_status_lines_take_each_proxy_s_verdict_or_its_answer():
    lines = pp.proxy_status_lines([dict(host="p0", mode="grpc", listen="0.0.0.0:23790", reaches="yes"),
                                   dict(host="proxy-long", mode="gateway", listen="127.0.0.1:23790",
                                        answer=dict(status=-1, msg="Connection refused"))])
    assert lines == ["PROXY       MODE     LISTEN           REACHES-CLUSTER",
                     "p0          grpc     0.0.0.0:23790    yes",
                     "proxy-long  gateway  127.0.0.1:23790  no:proxy-unreachable"]


@pytest.mark.parametrize("settings, url", [
    (dict(listen_address="0.0.0.0", port=23790, tls=True), "https://127.0.0.1:23790/health"),
    (dict(listen_address="::", port=2000, tls=False), "http://[::1]:2000/health"),
    (dict(listen_address="10.0.0.5", port="23790", tls="true"), "https://10.0.0.5:23790/health"),
])
def test_the_health_url_is_the_listener_loopback_for_a_wildcard(settings, url):
    assert pp.proxy_health_url(settings) == url
