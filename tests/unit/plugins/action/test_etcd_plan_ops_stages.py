"""The etcd_plan action's stages of the timers, a DNS SRV bootstrap, the proxy role and a roll that
stopped: each reads what the role's tasks gathered (arguments, the play hosts' variables), decides with
module_utils and returns the plan with changed=false. Only the SRV stage (DNS) and the proxy's health
stage (ansible.builtin.uri on the proxy host) ask anyone anything; a refusal fails the task with
refuse=true (bad arguments: test_etcd_plan_action.py)."""

import os
from unittest.mock import MagicMock

import pytest
import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action import etcd_plan as plan_action
from ansible_collections.raftops.etcd.plugins.action.etcd_plan import ActionModule

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MEMBERS = [dict(host="h%d" % i, name="m%d" % i, address="10.0.0.%d" % (10 + i), srv_target="m%d.example.com" % i,
                peer_url="https://m%d.example.com:2380" % i, client_url="https://m%d.example.com:2379" % i)
           for i in range(2)]


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(plan_action.time, "sleep", lambda seconds: None)
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._execute_module = MagicMock(side_effect=AssertionError("this step asks no host"))
    return module


def run(action, task_vars=None, **args):
    action._task.args = args
    return action.run(task_vars=dict(dict(inventory_hostname="p0", ansible_play_hosts=["p0", "p1"]), **(task_vars or {})))


def test_the_schedule_step_plans_one_member_s_timers(action):
    timers = [dict(name="etcd-snapshot", kind="snapshot", unit="etcd-snapshot.timer", schedule="daily", after="etcd.service",
                   run=["/usr/local/bin/s"], writable=[], files=[
                       dict(src="s.j2", dest="/usr/local/bin/s", mode="0755"),
                       dict(unit="timer", dest="/etc/systemd/system/etcd-snapshot.timer", mode="0644")])]
    result = run(action, stage="schedule", settings=dict(timers=timers, push={"on": False, "paths": []}, lib_files=[],
                                                         found=["/usr/local/bin/s"], units={}, member="m0"))
    assert result["changed"] is False and "failed" not in result
    assert result["timers"] == [dict(name="etcd-snapshot", paths=["/usr/local/bin/s", "/etc/systemd/system/etcd-snapshot.timer"],
                                     running=False)]
    # The units begin with ansible_managed as a comment, as a template's ansible_managed | comment.
    assert result["unit_files"][0]["content"].startswith("#\n# Ansible managed\n#\n[Unit]\n")
    result = run(action, stage="schedule", settings=dict(timers="etcd-snapshot"))
    assert result["failed"] and "cannot plan the schedule step" in result["msg"]


@pytest.mark.parametrize("hosts, refused", [([], True), (["p0"], False)])
def test_the_proxy_group_step_refuses_an_empty_group(action, hosts, refused):
    result = run(action, dict(groups=dict(proxies=hosts)), stage="proxy_group", refuse=True,
                 settings=dict(group="proxies"))
    assert bool(result.get("failed")) is refused
    if refused:
        assert result["msg"] == ("the proxy group is empty or missing: the inventory has no hosts in group 'proxies' "
                                 "(etcd_proxy_group); add the client hosts to it, or leave etcd_proxy_mode unset; "
                                 "nothing was changed")


def proxy_values(**overrides):
    """A proxy host's etcd_* variables as the role's defaults make them (etcd_instance etcd)."""
    with open(os.path.join(ROOT, "roles", "etcd_proxy", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    values = {name: value.replace("{{ etcd_instance }}", "etcd") if isinstance(value, str) else value
              for name, value in defaults.items()}
    values.update(etcd_group="etcd", etcd_proxy_listen_address="0.0.0.0", etcd_instance="etcd", etcd_tls=True,
                  etcd_bin_dir="/usr/local/bin", etcd_limit_nofile=65536, etcd_systemd_hardening=True)
    values.update(overrides)
    return values


def proxy_task_vars(**first_member):
    """Two members with their addresses, the first with ``first_member`` too; the proxy p0's facts."""
    hostvars = dict(h0=dict(etcd_address="10.0.0.10", **first_member), h1=dict(etcd_address="10.0.0.11"))
    return dict(groups=dict(etcd=["h0", "h1"], all=["h0", "h1", "p0"]), hostvars=hostvars,
                ansible_default_ipv4=dict(address="10.0.1.10"))


def test_the_proxy_settings_step_compares_with_the_first_member_and_names_the_certificates(action):
    result = run(action, proxy_task_vars(etcd_instance="other"), stage="proxy_settings", refuse=True,
                 settings=dict(values=proxy_values()))
    assert result["failed"] and result["msg"] == (
        "host p0: etcd_instance='etcd', but the members of group etcd have 'other': proxies share it with the "
        "members; set it for both groups (group_vars/all); nothing was changed")
    result = run(action, proxy_task_vars(etcd_instance="etcd"), stage="proxy_settings", refuse=True,
                 settings=dict(values=proxy_values()))
    assert "failed" not in result and result["refusal"] == ""
    assert result["pki"] == dict(address="10.0.1.10", listen_address="0.0.0.0", mode="grpc")


def test_the_proxy_settings_step_plans_the_proxy_with_the_members_but_those_leaving(action):
    result = run(action, proxy_task_vars(), stage="proxy_settings", refuse=True,
                 settings=dict(values=proxy_values(etcd_proxy_resolver_prefix="/proxies/"), leaving=["h1"]))
    assert [member["client_url"] for member in result["members"]] == ["https://10.0.0.10:2379"]
    assert (result["unit"], result["unit_path"]) == ("etcd-proxy.service", "/etc/systemd/system/etcd-proxy.service")
    # A wildcard listener advertises the host's own address.
    assert result["args"]["advertise_address"] == "10.0.1.10"
    assert result["check"] == dict(mode="grpc", listen_address="0.0.0.0", port=23790, tls=True, config_dir="/etc/etcd-proxy")


def test_the_proxy_settings_step_takes_etcd_address_before_the_host_s_facts(action):
    result = run(action, proxy_task_vars(), stage="proxy_settings", settings=dict(values=proxy_values(etcd_address="10.9.9.9")))
    assert result["pki"]["address"] == "10.9.9.9"


PROXY_PLAN = dict(members=MEMBERS, pki_dir="/etc/etcd-proxy/pki",
                  args=dict(tls=True, discovery_srv="", discovery_srv_name=""))


def test_the_proxy_reach_step_names_the_host_that_reaches_no_member(action):
    health = dict(endpoints=[dict(endpoint="https://m0.example.com:2379", reachable=False, error="timed out")])
    action._execute_module = MagicMock(side_effect=[dict(stat=dict(exists=True)), health])
    result = run(action, stage="proxy_reach", plan=PROXY_PLAN, refuse=True)
    assert result["failed"] and result["msg"].startswith(
        "host p0 reaches no member of the cluster at https://m0.example.com:2379, https://m1.example.com:2379 "
        "(https://m0.example.com:2379: timed out)")
    # The proxy's certificates from an earlier run are there: it asks with them.
    stat, ask = (call.kwargs for call in action._execute_module.call_args_list)
    assert stat["module_args"]["path"] == "/etc/etcd-proxy/pki/client-key.pem"
    assert ask["module_name"] == "raftops.etcd.etcd_health" and ask["module_args"]["client_key"] == stat["module_args"]["path"]


def test_a_new_proxy_host_reaches_a_member_that_answers_its_tls_handshake(action):
    health = dict(endpoints=[dict(endpoint="https://m0.example.com:2379", reachable=False, error="certificate required")])
    action._execute_module = MagicMock(side_effect=[dict(stat=dict(exists=False)), health])
    result = run(action, stage="proxy_reach", plan=PROXY_PLAN, refuse=True)
    assert "failed" not in result and result["refusal"] == ""
    assert "ca_cert" not in action._execute_module.call_args.kwargs["module_args"]


def test_the_proxy_reach_step_asks_by_dns_srv_without_tls(action):
    plan = dict(PROXY_PLAN, args=dict(tls=False, discovery_srv="example.com", discovery_srv_name=""))
    action._execute_module = MagicMock(return_value=dict(msg="no SRV records"))
    result = run(action, stage="proxy_reach", plan=plan, refuse=True)
    assert result["msg"].startswith("host p0 reaches no member of the cluster at the SRV records of example.com (no SRV records)")
    args = action._execute_module.call_args.kwargs["module_args"]
    assert action._execute_module.call_count == 1 and args["discovery_srv"] == "example.com" and "endpoints" not in args


def test_the_proxy_pki_step_reads_each_play_host_s_preflight_and_the_pki_dir(action, tmp_path):
    for name in ("etcd-proxy-p0-client.pem", "etcd-proxy-gone.pem", "etcd-proxy-gone-key.pem", "ca.pem"):
        (tmp_path / name).write_text("x")
    reads = {host: dict(_etcd_proxy_plan=dict(pki=dict(address="10.0.1.1%d" % i, listen_address="0.0.0.0",
                                                       mode="grpc")))
             for i, host in enumerate(("p0", "p1"))}
    task_vars = dict(hostvars=reads, groups=dict(etcd_proxy=["p0", "p1", "p2"]))
    result = run(action, task_vars, stage="proxy_pki", members=MEMBERS, report_var="_etcd_proxy_plan",
                 settings=dict(instance="etcd", group="etcd_proxy", pki_dir=str(tmp_path), managed=True))
    assert [pair["name"] for pair in result["clients"]] == ["etcd-proxy-p0-client", "etcd-proxy-p1-client"]
    assert result["revoke"] == ["etcd-proxy-gone"]


def test_the_proxy_pki_step_stops_when_a_play_host_has_no_preflight_read(action, tmp_path):
    # Nothing is revoked from a plan that misses a host: the step fails instead.
    (tmp_path / "etcd-proxy-gone.pem").write_text("x")
    reads = dict(p0=dict(_etcd_proxy_plan=dict(pki=dict(address="10.0.1.10", mode="grpc"))), p1={})
    result = run(action, dict(hostvars=reads, groups=dict(etcd_proxy=["p0", "p1"])), stage="proxy_pki",
                 report_var="_etcd_proxy_plan", settings=dict(pki_dir=str(tmp_path)))
    assert result["failed"] and result["msg"] == ("raftops.etcd.etcd_plan: cannot plan the proxy_pki step: "
                                                  "no preflight read of p1")
    assert "revoke" not in result


def proxy_files_plan(tmp_path):
    pki = dict(ca=dict(path=str(tmp_path / "ca.pem")), crl=dict(path=""),
               clients={"etcd-proxy-p0-client": dict(cert=str(tmp_path / "c.pem"), key=str(tmp_path / "c-key.pem"))})
    plan = dict(members=MEMBERS, unit_path="/etc/systemd/system/etcd-proxy.service", pki_dir="/etc/etcd-proxy/pki",
                cert_name="etcd-proxy-p0", user="etcd-proxy", config_dir="/etc/etcd-proxy", data_dir="/var/lib/etcd-proxy",
                description="etcd gateway for the cluster etcd (group etcd)", limit_nofile=65536, hardening=True,
                args=dict(mode="gateway", binary="/usr/local/bin/etcd", listen_address="127.0.0.1", port=23790, tls=True,
                          pki_dir="/etc/etcd-proxy/pki", data_dir="/var/lib/etcd-proxy", namespace="", resolver_prefix="",
                          resolver_ttl=60, advertise_address="", metrics_port=0, retry_delay="1m", discovery_srv="",
                          discovery_srv_name=""))
    return plan, pki


def test_the_proxy_files_step_writes_the_pairs_it_read_on_the_controller_and_keeps_none_of_them(action, tmp_path):
    plan, pki = proxy_files_plan(tmp_path)
    for name in ("ca.pem", "c.pem", "c-key.pem"):
        (tmp_path / name).write_text("PEM " + name)
    action._run_action = MagicMock(return_value=dict(changed=True, changed_paths=["/etc/etcd-proxy/pki/ca.pem"],
                                                     restart_needed=True))
    result = run(action, stage="proxy_files", plan=plan, settings=dict(pki=pki))
    name, written, _task_vars = action._run_action.call_args.args
    assert name == "raftops.etcd.etcd_member_files" and action._run_action.call_count == 1
    assert [f["content"] for f in written["files"][1:]] == ["PEM ca.pem", "PEM c.pem"]
    assert written["private_files"][0]["content"] == "PEM c-key.pem"
    # The unit runs the command line, one flag a line.
    assert "\nExecStart=/usr/local/bin/etcd gateway start \\\n    --endpoints=m0.example.com:2379,m1.example.com:2379 \\\n" \
        in written["files"][0]["content"] and written["files"][0]["path"] == plan["unit_path"]
    # The plan goes on with what the write found, changed as it is, shown (no key in it).
    assert result["changed"] is True and result["restart_needed"] is True and result["members"] == MEMBERS
    assert "_ansible_no_log" not in result and "PEM" not in str(result)
    # The command line the unit runs, without the revocation list etcd_pki did not give.
    assert result["argv"] == ["/usr/local/bin/etcd", "gateway", "start", "--endpoints=m0.example.com:2379,m1.example.com:2379",
                              "--listen-addr=127.0.0.1:23790", "--retry-delay=1m"]
    assert result["args"]["crl"] is False


def test_a_proxy_whose_files_are_as_asked_needs_no_restart_and_a_failed_write_fails_the_step(action, tmp_path):
    plan, pki = proxy_files_plan(tmp_path)
    for name in ("ca.pem", "c.pem", "c-key.pem"):
        (tmp_path / name).write_text("PEM " + name)
    action._run_action = MagicMock(return_value=dict(changed=False, changed_paths=[], restart_needed=False))
    result = run(action, stage="proxy_files", plan=plan, settings=dict(pki=pki))
    assert result["changed"] is False and result["restart_needed"] is False
    action._run_action = MagicMock(return_value=dict(failed=True, msg="chown failed", diff=dict(after="PEM c-key.pem")))
    result = run(action, stage="proxy_files", plan=plan, settings=dict(pki=pki))
    assert result["failed"] and result["msg"] == "writing the proxy's files: chown failed" and "PEM" not in str(result)


def test_a_pair_etcd_pki_did_not_make_fails_the_step_but_in_check_mode(action, tmp_path):
    plan, pki = proxy_files_plan(tmp_path)
    action._run_action = MagicMock(return_value=dict(changed=True, restart_needed=True))
    result = run(action, stage="proxy_files", plan=plan, settings=dict(pki=pki))
    # Only the message, and nothing written.
    assert result["failed"] and result["msg"].startswith("raftops.etcd.etcd_plan: cannot plan the proxy_files step: ")
    assert action._run_action.call_count == 0
    result = run(action, dict(ansible_check_mode=True), stage="proxy_files", plan=plan, settings=dict(pki=pki))
    _name, written, _task_vars = action._run_action.call_args.args
    assert "failed" not in result and [f["content"] for f in written["files"][1:]] == [None, None]


HEALTHY = dict(status=200, json={"health": "true"})
UNHEALTHY = dict(status=503, json={"health": "false", "reason": "no leader"})
UNREACHABLE = dict(failed=True, status=-1, msg="Connection refused")
CHECK = dict(mode="grpc", listen_address="0.0.0.0", port=23790, tls=True, config_dir="/etc/etcd-proxy")


def test_the_proxy_health_step_asks_the_proxy_once_and_reports_what_it_answered(action):
    action._execute_module = MagicMock(return_value=UNREACHABLE)
    result = run(action, stage="proxy_health", settings=CHECK)
    assert "failed" not in result and result["reaches"] == "no:proxy-unreachable"
    assert (result["host"], result["listen"], result["url"]) == ("p0", "0.0.0.0:23790", "https://127.0.0.1:23790/health")
    args = action._execute_module.call_args.kwargs["module_args"]
    assert action._execute_module.call_count == 1 and action._execute_module.call_args.kwargs["module_name"] == "ansible.builtin.uri"
    assert (args["ca_path"], args["client_cert"], args["client_key"]) == (
        "/etc/etcd-proxy/pki/ca.pem", "/etc/etcd-proxy/pki/client.pem", "/etc/etcd-proxy/pki/client-key.pem")


def test_the_proxy_health_step_asks_without_certificates_without_tls(action):
    action._execute_module = MagicMock(return_value=HEALTHY)
    result = run(action, stage="proxy_health", settings=dict(CHECK, tls=False))
    assert result["url"] == "http://127.0.0.1:23790/health" and "ca_path" not in action._execute_module.call_args.kwargs["module_args"]


def test_the_proxy_health_step_waits_until_the_proxy_reaches_the_cluster(action):
    action._execute_module = MagicMock(side_effect=[UNREACHABLE, UNHEALTHY, HEALTHY])
    result = run(action, stage="proxy_health", settings=dict(CHECK, retries=5))
    assert "failed" not in result and result["reaches"] == "yes" and action._execute_module.call_count == 3


def test_the_proxy_health_step_fails_when_the_proxy_never_reaches_the_cluster(action):
    action._execute_module = MagicMock(return_value=UNHEALTHY)
    result = run(action, stage="proxy_health", settings=dict(CHECK, retries=2))
    assert result["failed"] and action._execute_module.call_count == 3
    assert result["msg"] == ("the proxy at https://127.0.0.1:23790/health does not reach the cluster after 3 tries: "
                             "no:HTTP-503:no-leader")


def test_the_proxy_status_step_makes_one_line_per_play_host(action):
    seen = dict(p0=dict(_etcd_proxy_seen=dict(host="p0", mode="grpc", listen="0.0.0.0:23790", reaches="yes")),
                p1=dict(_etcd_proxy_seen=dict(host="p1", mode="grpc", listen="0.0.0.0:23790", reaches="no:proxy-unreachable")))
    result = run(action, dict(hostvars=seen), stage="proxy_status", report_var="_etcd_proxy_seen")
    assert result["lines"] == ["PROXY  MODE  LISTEN         REACHES-CLUSTER", "p0     grpc  0.0.0.0:23790  yes",
                               "p1     grpc  0.0.0.0:23790  no:proxy-unreachable"]


def test_the_proxy_status_step_names_a_proxy_host_that_dropped_out_of_the_play(action):
    seen = dict(p0=dict(_etcd_proxy_seen=dict(host="p0", mode="grpc", listen="0.0.0.0:23790", reaches="yes")), p1={})
    result = run(action, dict(hostvars=seen, ansible_play_hosts=["p0"], ansible_play_hosts_all=["p0", "p1"]),
                 stage="proxy_status", report_var="_etcd_proxy_seen")
    assert result["lines"] == ["PROXY  MODE  LISTEN         REACHES-CLUSTER", "p0     grpc  0.0.0.0:23790  yes",
                               "p1     ?     ?              no:host-did-not-answer"]


class Zone:
    """A resolver over fixed answers, as the lookup's tests use."""

    def __init__(self, answers):
        self.answers = answers

    def resolve(self, name, rdtype):
        import dns.resolver

        key = (str(name).rstrip("."), rdtype)
        if key not in self.answers:
            raise dns.resolver.NXDOMAIN()
        return self.answers[key]


def srv(target, port):
    import dns.name

    return MagicMock(target=dns.name.from_text(target), port=port, priority=0, weight=0)


def test_the_srv_step_resolves_the_peers_records_and_refuses_a_mismatch(action, monkeypatch):
    from ansible_collections.raftops.etcd.plugins.lookup import etcd_srv

    zone = Zone({("_etcd-server-ssl._tcp.example.com", "SRV"): [srv("m0.example.com.", 2380)],
                 ("m0.example.com", "A"): [MagicMock(address="10.0.0.10")]})
    monkeypatch.setattr(etcd_srv, "make_resolver", lambda nameservers=None, timeout=5.0: zone)
    result = run(action, stage="srv", members=MEMBERS, refuse=True,
                 settings=dict(domain="example.com", tls=True, new_hosts=["h1"]))
    assert result["failed"] and result["service"] == "_etcd-server-ssl._tcp.example.com"
    assert result["msg"].startswith("member m1 (host h1, 10.0.0.11) has no record in _etcd-server-ssl._tcp.example.com")
    assert result["msg"].endswith("(a new member of a DNS SRV cluster needs its record before it joins). The records "
                                  "the inventory needs: %s. Nothing was changed" % " | ".join(result["needed"]))
    zone.answers[("_etcd-server-ssl._tcp.example.com", "SRV")].append(srv("m1.example.com.", 2380))
    zone.answers[("m1.example.com", "A")] = [MagicMock(address="10.0.0.11")]
    result = run(action, stage="srv", members=MEMBERS, refuse=True, settings=dict(domain="example.com", tls=True))
    assert "failed" not in result and result["refusal"] == ""


def test_the_roll_stop_step_fails_with_the_roll_s_message(action):
    failure = {"msg": "Module result deserialization failed", "module_stderr": "Traceback ..."}
    result = run(action, stage="roll_stop", refuse=True,
                 settings=dict(host="h1", member="m1", note_path="/etc/etcd/restart-pending", failure=failure,
                               step="Restart etcd on h1"))
    assert result["failed"] and result["changed"] is False
    assert result["msg"].startswith("the roll stopped at h1 (member m1): the host h1 went away during the call of "
                                    "'Restart etcd on h1'")
    result = run(action, stage="roll_stop", refuse=True, settings=dict(member="m1"))
    assert result["failed"] and "cannot plan the roll_stop step" in result["msg"]
