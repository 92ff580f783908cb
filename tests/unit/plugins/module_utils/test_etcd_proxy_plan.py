"""The proxy role's plan steps (module_utils/plan/proxy_plan.py; the action raftops.etcd.etcd_plan):
the refusals asserted before any proxy host changes, with their messages; the certificates each proxy
needs, the pairs of proxies whose host left the group, where a proxy asks its own /health and what
its answer says, and the status lines. A member's values come as plugins/module_utils/host/proxy_args.py's
member_values gives them (test_proxy.py): text, None for a setting it has none of."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan import proxy_plan as pp
from ansible_collections.raftops.etcd.plugins.module_utils.host.systemd_unit import hardening

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


# --- refusals ---------------------------------------------------------------------------------------

PROXY = {"etcd_proxy_port": 2379, "etcd_client_port": 2379, "etcd_peer_port": 2380, "etcd_metrics": "loopback",
         "etcd_metrics_port": 2381, "etcd_proxy_mode": "grpc", "etcd_proxy_listen_address": "127.0.0.1",
         "etcd_instance": "etcd", "etcd_version": "3.5.30", "etcd_tls": True, "etcd_pki_dir": "/inv/etcd-pki"}


def test_a_member_host_with_the_proxy_on_the_members_port_is_refused():
    assert pp.proxy_problems(PROXY, "h0", ["h0", "h1"]) == [
        "host h0: etcd_proxy_port=2379: this host is also a member of group etcd, whose etcd listens on port 2379 "
        "(etcd_client_port); give the proxy another port, like 23790"]
    assert pp.proxy_problems(dict(PROXY, etcd_proxy_port=2381), "h0", ["h0"], group="etcd-main")[0].endswith(
        "group etcd-main, whose etcd listens on port 2381 (etcd_metrics_port); give the proxy another port, like 23790")
    assert pp.proxy_problems(dict(PROXY, etcd_proxy_port=2381, etcd_metrics="off"), "h0", ["h0"]) == []
    # Not a member: the port is free on that host.
    assert pp.proxy_problems(PROXY, "c0", ["h0", "h1"]) == []


def test_settings_the_members_have_otherwise_are_refused():
    member = {"etcd_pki_dir": "/inv/other-pki", "etcd_version": "3.5.30"}
    assert pp.proxy_problems(dict(PROXY, etcd_proxy_port=23790), "c0", ["h0"], member) == [
        "host c0: etcd_pki_dir='/inv/etcd-pki', but the members of group etcd have '/inv/other-pki': proxies share it "
        "with the members; set it for both groups (group_vars/all)"]


def test_a_gateway_on_an_address_the_members_certificates_do_not_name_is_refused():
    gateway = dict(PROXY, etcd_proxy_port=23790, etcd_proxy_mode="gateway", etcd_proxy_listen_address="10.0.0.50")
    assert pp.proxy_problems(gateway, "c0", ["h0"]) == [
        "host c0: etcd_proxy_listen_address='10.0.0.50': the gateway passes TLS through, and the members' certificates "
        "do not name 10.0.0.50, so its clients could not verify them; add 10.0.0.50 to etcd_pki_extra_sans and run the "
        "etcd playbook first, or listen on 127.0.0.1"]
    assert pp.proxy_problems(gateway, "c0", ["h0"], extra_sans=["10.0.0.50"]) == []
    assert pp.proxy_problems(dict(gateway, etcd_proxy_mode="grpc"), "c0", ["h0"]) == []


def test_empty_proxy_group():
    message = ("the proxy group is empty or missing: the inventory has no hosts in group 'etcd_proxy' "
               "(etcd_proxy_group); add the client hosts to it, or leave etcd_proxy_mode unset; nothing was changed")
    assert pp.proxy_group_problem([], "etcd_proxy") == message
    assert pp.proxy_group_problem(None, "etcd_proxy") == message
    assert pp.proxy_group_problem(["c0"], "etcd_proxy") == ""


URLS = ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]


def test_a_proxy_host_that_reaches_no_member_is_named():
    health = {"failed": True, "msg": "no endpoint answered", "endpoints": [
        {"endpoint": URLS[0], "reachable": False, "error": "[Errno 111] Connection refused"},
        {"endpoint": URLS[1], "reachable": False, "error": "timed out"}]}
    assert pp.proxy_reach_problem(health, "c0", URLS) == (
        "host c0 reaches no member of the cluster at https://10.0.0.11:2379, https://10.0.0.12:2379 "
        "(https://10.0.0.11:2379: [Errno 111] Connection refused; https://10.0.0.12:2379: timed out); open the "
        "members' client port to the proxy hosts, or check etcd_address; no proxy host was changed")
    assert pp.proxy_reach_problem({"msg": "no endpoint answered"}, "c0", URLS).endswith(
        "(no endpoint answered); open the members' client port to the proxy hosts, or check etcd_address; "
        "no proxy host was changed")


def test_one_member_reached_is_enough():
    health = {"endpoints": [{"endpoint": URLS[0], "reachable": False, "error": "refused"},
                            {"endpoint": URLS[1], "reachable": True, "error": None}]}
    assert pp.proxy_reach_problem(health, "c0", URLS) == ""


def test_without_its_certificates_a_tls_error_is_a_reached_member():
    health = {"endpoints": [{"endpoint": URLS[0], "reachable": False,
                             "error": "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"}]}
    assert pp.proxy_reach_problem(health, "c0", URLS, certificates=False) == ""
    assert pp.proxy_reach_problem(health, "c0", URLS, certificates=True).startswith("host c0 reaches no member")


def test_status_lines():
    lines = pp.proxy_status_lines([
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
    assert pp.proxy_reaches(answer) == "yes:auth-on"
    (_head, line) = pp.proxy_status_lines([{"host": "c0", "mode": "grpc", "listen": "127.0.0.1:23790", "answer": answer}])
    assert line.endswith("yes:auth-on")


def test_other_unhealthy_answers_do_not_reach_it():
    assert pp.proxy_reaches({"status": 503, "json": {"health": "false", "reason": "GET ERROR:context deadline exceeded"}}) \
        == "no:HTTP-503:GET-ERROR:context-deadline-exceeded"
    assert pp.proxy_reaches(None) == "no:proxy-unreachable"


def test_a_discovery_domain_the_members_certificates_do_not_name_is_refused():
    srv = dict(PROXY, etcd_proxy_port=23790, etcd_proxy_discovery_srv="etcd.test")
    assert pp.proxy_problems(srv, "c0", ["h0"]) == [
        "host c0: etcd_proxy_discovery_srv='etcd.test': the proxy checks each member it finds by SRV against the "
        "server name etcd.test, which the members' certificates do not carry; bootstrap the cluster with "
        "etcd_bootstrap=dns_srv and etcd_discovery_srv=etcd.test, or add etcd.test to etcd_pki_extra_sans and run "
        "the etcd playbook first"]
    assert pp.proxy_problems(srv, "c0", ["h0"], {"etcd_bootstrap": "dns_srv", "etcd_discovery_srv": "etcd.test."}) == []
    assert pp.proxy_problems(srv, "c0", ["h0"], extra_sans=["ETCD.test"]) == []
    assert pp.proxy_problems(dict(srv, etcd_tls=False), "c0", ["h0"]) == []


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
    assert pp.proxy_pairs_leaving(PKI_FILES, "etcd-proxy-", kept, ["etcd-proxy-db", "etcd-0"]) == [
        "etcd-proxy-gw", "etcd-proxy-p2"]
    # Once revoked (files moved to revoked/), nothing is left to do.
    left = [f for f in PKI_FILES if "-p2" not in f and "-gw" not in f]
    assert pp.proxy_pairs_leaving(left, "etcd-proxy-", kept, ["etcd-proxy-db"]) == []


# --- what a proxy is made of ----------------------------------------------------------------------

VALUES = dict(etcd_instance="etcd", etcd_tls=True, etcd_bin_dir="/usr/local/bin", etcd_proxy_mode="grpc",
              etcd_proxy_listen_address="127.0.0.1", etcd_proxy_port="23790", etcd_proxy_config_dir="/etc/etcd-proxy",
              etcd_proxy_data_dir="/var/lib/etcd-proxy", etcd_proxy_user="etcd-proxy", etcd_proxy_namespace="",
              etcd_proxy_resolver_prefix="", etcd_proxy_resolver_ttl="60", etcd_proxy_advertise_address="",
              etcd_proxy_metrics_port="23791", etcd_proxy_retry_delay="1m", etcd_proxy_discovery_srv="",
              etcd_proxy_discovery_srv_name="", etcd_group="etcd", etcd_limit_nofile=65536, etcd_systemd_hardening=True)
MEMBERS = [{"host": "h0", "name": "etcd-0", "client_url": "https://10.0.0.11:2379"}]


def host_plan(**overrides):
    return pp.plan_proxy_host(dict(VALUES, **overrides), "p 1", "10.0.1.11", MEMBERS)


def test_a_proxy_s_unit_certificates_and_health_check_come_from_its_settings():
    plan = host_plan()
    assert (plan["unit"], plan["unit_path"], plan["pki_dir"], plan["cert_name"]) == (
        "etcd-proxy.service", "/etc/systemd/system/etcd-proxy.service", "/etc/etcd-proxy/pki", "etcd-proxy-p-1")
    assert plan["check"] == dict(mode="grpc", listen_address="127.0.0.1", port=23790, tls=True, config_dir="/etc/etcd-proxy")
    assert plan["args"]["binary"] == "/usr/local/bin/etcd" and plan["args"]["resolver_ttl"] == 60


@pytest.mark.parametrize("listen, advertise, expected", [
    ("127.0.0.1", "", ""),  # proxy_args advertises the listen address
    ("0.0.0.0", "", "10.0.1.11"),  # a wildcard: the host's address
    ("::", "", "10.0.1.11"),
    ("0.0.0.0", "proxy.example.com", "proxy.example.com"),  # the operator's, always
])
def test_the_resolver_advertises_the_host_s_address_for_a_wildcard_listener(listen, advertise, expected):
    plan = host_plan(etcd_proxy_listen_address=listen, etcd_proxy_advertise_address=advertise)
    assert plan["args"]["advertise_address"] == expected


PKI = dict(ca=dict(path="/pki/ca.pem"), crl=dict(path="/pki/crl.pem"),
           clients={"etcd-proxy-p-1-client": dict(cert="/pki/c.pem", key="/pki/c-key.pem")},
           certificates={"etcd-proxy-p-1": dict(cert="/pki/s.pem", key="/pki/s-key.pem")})


def contents(path):
    return "content of %s" % path


def test_a_grpc_proxy_gets_its_pairs_the_ca_and_the_crl_which_needs_no_restart():
    files = pp.plan_proxy_files(host_plan(), PKI, contents)
    assert [(d["path"], d["owner"], d["mode"]) for d in files["directories"]] == [
        ("/etc/etcd-proxy", "root", "0750"), ("/var/lib/etcd-proxy", "etcd-proxy", "0700"), ("/etc/etcd-proxy/pki", "root", "0750")]
    assert [(f["path"], f["content"], f["mode"], f.get("restart", True)) for f in files["files"]] == [
        ("/etc/etcd-proxy/pki/ca.pem", "content of /pki/ca.pem", "0644", True),
        ("/etc/etcd-proxy/pki/client.pem", "content of /pki/c.pem", "0644", True),
        ("/etc/etcd-proxy/pki/server.pem", "content of /pki/s.pem", "0644", True),
        ("/etc/etcd-proxy/pki/crl.pem", "content of /pki/crl.pem", "0644", False)]
    assert [(f["path"], f["content"], f["group"], f["mode"]) for f in files["private_files"]] == [
        ("/etc/etcd-proxy/pki/client-key.pem", "content of /pki/c-key.pem", "etcd-proxy", "0640"),
        ("/etc/etcd-proxy/pki/server-key.pem", "content of /pki/s-key.pem", "etcd-proxy", "0640")]
    assert files["unit_file"] == dict(path="/etc/systemd/system/etcd-proxy.service", owner="root", group="root", mode="0644")
    assert files["args"]["crl"] is True


def test_during_a_ca_rotation_the_proxy_trusts_the_bundle_the_phase_trusts():
    pki = dict(PKI, ca=dict(path="/pki/ca.pem", trusted_path="/pki/bundle.pem"))
    assert pp.plan_proxy_files(host_plan(), pki, contents)["files"][0]["content"] == "content of /pki/bundle.pem"


def test_a_gateway_gets_its_client_pair_and_the_ca_only():
    files = pp.plan_proxy_files(host_plan(etcd_proxy_mode="gateway"), PKI, contents)
    assert [f["path"] for f in files["files"]] == ["/etc/etcd-proxy/pki/ca.pem", "/etc/etcd-proxy/pki/client.pem"]
    assert [f["path"] for f in files["private_files"]] == ["/etc/etcd-proxy/pki/client-key.pem"]


def test_without_a_crl_the_grpc_proxy_gets_no_crl_file_nor_flag():
    files = pp.plan_proxy_files(host_plan(), dict(PKI, crl=dict(path="")), contents)
    assert "/etc/etcd-proxy/pki/crl.pem" not in [f["path"] for f in files["files"]]
    assert files["args"]["crl"] is False


def test_without_tls_the_proxy_has_no_certificates_nor_their_directory():
    files = pp.plan_proxy_files(host_plan(etcd_tls=False), {}, contents)
    assert [d["path"] for d in files["directories"]] == ["/etc/etcd-proxy", "/var/lib/etcd-proxy"]
    assert files["files"] == [] and files["private_files"] == []


UNIT_HEAD = """\
#
# managed
#
[Unit]
Description=etcd gRPC proxy for the cluster etcd (group etcd)
Documentation=https://etcd.io/docs/
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=etcd-proxy
Group=etcd-proxy
WorkingDirectory=/var/lib/etcd-proxy
# Built by raftops.etcd.proxy_args from the members' client URLs (the proxy's plan): a member list
# that changes changes this line, and the role restarts the proxies one at a time.
ExecStart=/usr/local/bin/etcd grpc-proxy start \\
    --endpoints=https://10.0.0.11:2379 \\
    --listen-addr=127.0.0.1:23790
Restart=always
RestartSec=5s
LimitNOFILE=65536
"""
ARGV = ["/usr/local/bin/etcd", "grpc-proxy", "start", "--endpoints=https://10.0.0.11:2379", "--listen-addr=127.0.0.1:23790"]


def test_the_proxy_s_unit_runs_its_command_line_one_flag_a_line_as_its_user_under_hardening():
    # The text the role's template wrote, byte for byte: a proxy whose settings did not change is not restarted.
    unit = pp.proxy_unit_text(host_plan(), ARGV, "#\n# managed\n#")
    assert unit.startswith(UNIT_HEAD)
    # Then the servers' hardening as the member has it (test_etcd_member_config.py pins its text), writing its data dir.
    assert unit[len(UNIT_HEAD):] == "".join("%s=%s\n" % directive for directive in hardening(["/var/lib/etcd-proxy"], server=True)) \
        + "\n[Install]\nWantedBy=multi-user.target\n"


def test_the_gateway_s_unit_says_so_and_without_hardening_has_none():
    unit = pp.proxy_unit_text(host_plan(etcd_proxy_mode="gateway", etcd_systemd_hardening="false"), ARGV)
    assert unit.startswith("[Unit]\nDescription=etcd gateway for the cluster etcd (group etcd)\n")
    assert "LimitNOFILE=65536\n\n[Install]\n" in unit and "ProtectSystem" not in unit
