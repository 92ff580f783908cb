"""The adoption's plan (module_utils/plan/adopt.py): the settings a running etcd goes by, what each
member keeps, moves and restarts, and every refusal, each naming its host."""

import copy

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.adopt import (
    plan_adoption,
    asked,
    effective_settings,
    flag_settings,
    inventory_lines,
    member_reading,
    shown,
)

INVENTORY = {"unit": "etcd.service", "env_path": "/etc/etcd/etcd.env"}


@pytest.mark.parametrize("argv, expected", [
    (["--name", "a", "--data-dir=/d"], {"ETCD_NAME": "a", "ETCD_DATA_DIR": "/d"}),
    (["-name", "a"], {"ETCD_NAME": "a"}),
    (["--client-cert-auth", "--name", "a"], {"ETCD_CLIENT_CERT_AUTH": "true", "ETCD_NAME": "a"}),
    (["--debug"], {"ETCD_DEBUG": "true"}),
    (["--listen-client-urls", "http://a:1,http://b:1"], {"ETCD_LISTEN_CLIENT_URLS": "http://a:1,http://b:1"}),
    (["stray", "--enable-v2=false"], {"ETCD_ENABLE_V2": "false"}),
    ([], {}),
])
def test_the_command_line_reads_as_etcd_reads_it(argv, expected):
    assert flag_settings(argv) == expected


def test_the_command_line_wins_over_the_environment_and_only_etcd_variables_count():
    settings, source = effective_settings(["--name", "flag"], {"ETCD_NAME": "env", "ETCD_DATA_DIR": "/d", "HOME": "/root"})
    assert settings == {"ETCD_NAME": "flag", "ETCD_DATA_DIR": "/d"}
    assert source == {"ETCD_NAME": "command line", "ETCD_DATA_DIR": "environment"}


def test_secrets_are_never_shown():
    assert shown({"ETCD_DISCOVERY": "https://d/t", "ETCD_DISCOVERY_TOKEN": "t", "ETCD_NAME": "a"}) == {
        "ETCD_DISCOVERY": "<hidden>", "ETCD_DISCOVERY_TOKEN": "<hidden>", "ETCD_NAME": "a"}


def test_etcd_defaults_fill_what_is_unset():
    reading = member_reading({})
    assert reading["name"] == "default" and reading["data_dir"] == ""
    assert reading["advertise_peer_urls"] == ["http://localhost:2380"] and reading["tls_files"] == {}


def record(i, name=None):
    address = "10.0.0.%d" % (10 + i)
    return dict(host="h%d" % i, name=name or "m%d" % i, address=address,
                peer_url="https://%s:2380" % address, client_url="https://%s:2379" % address)


MEMBERS = [record(i) for i in range(3)]
CLUSTER = [dict(id=100 + i, name="m%d" % i, peer_urls=["http://10.0.0.%d:2380" % (10 + i)]) for i in range(3)]


def read(i, **change):
    address = "10.0.0.%d" % (10 + i)
    result = dict(
        running=True, exe="/usr/bin/etcd", user="etcd", unit="etcd.service", unit_path="/lib/systemd/system/etcd.service",
        env_files=["/etc/default/etcd"], version="3.5.16",
        settings=dict(ETCD_NAME="m%d" % i, ETCD_DATA_DIR="/var/lib/etcd/default",
                      ETCD_INITIAL_ADVERTISE_PEER_URLS="http://%s:2380" % address,
                      ETCD_ADVERTISE_CLIENT_URLS="http://%s:2379" % address),
        local=dict(endpoint="http://%s:2379" % address, members=copy.deepcopy(CLUSTER), alarms=[],
                   status=dict(member_id=100 + i, leader_id=102, cluster_id="c1")))
    for key, value in change.items():
        if key in ("ETCD_NAME", "ETCD_DATA_DIR", "ETCD_WAL_DIR", "ETCD_INITIAL_ADVERTISE_PEER_URLS", "ETCD_CERT_FILE"):
            result["settings"][key] = value
        elif value is None:
            result.pop(key)  # a read whose module failed, as failed_when: false registers it
        else:
            result[key] = value
    return result


BYO = dict(INVENTORY, pki_managed=False)
TLS_SETTINGS = dict(ETCD_TRUSTED_CA_FILE="/etc/tls/ca.crt", ETCD_CERT_FILE="/etc/tls/node.crt", ETCD_KEY_FILE="/etc/tls/node.key",
                    ETCD_PEER_TRUSTED_CA_FILE="/etc/tls/ca.crt", ETCD_PEER_CERT_FILE="/etc/tls/peer.crt",
                    ETCD_PEER_KEY_FILE="/etc/tls/peer.key")


def tls_reads(**changes):
    """A TLS cluster set up by hand: its own CA and pairs, its own unit, etcd run as root."""
    result = {}
    for i in range(3):
        host = "h%d" % i
        result[host] = read(i, unit="etcd-main.service", user="root", unit_path="/etc/systemd/system/etcd-main.service",
                            env_files=[], version="3.5.16")
        settings = result[host]["settings"]
        settings.update(TLS_SETTINGS, ETCD_WAL_DIR="/srv/etcd-wal/wal",
                        ETCD_INITIAL_ADVERTISE_PEER_URLS="https://10.0.0.%d:2380" % (10 + i),
                        ETCD_ADVERTISE_CLIENT_URLS="https://10.0.0.%d:2379" % (10 + i))
        for key, value in changes.get(host, {}).items():
            if value is None:
                settings.pop(key)
            else:
                settings[key] = value
    return result


def reads(**changes):
    return {"h%d" % i: read(i, **changes.get("h%d" % i, {})) for i in range(3)}


def test_a_healthy_package_cluster_is_planned_keeping_its_data_ports_user_and_release():
    plan = plan_adoption(MEMBERS, reads(), INVENTORY)
    assert plan["refusal"] == "" and plan["phase"] == "take_over" and plan["upgrade_first"] == {}
    assert plan["version"] == "3.5.16" and plan["cluster_id"] == "c1"
    assert plan["hosts"]["h1"] == dict(etcd_data_dir="/var/lib/etcd/default", etcd_wal_dir="", etcd_user="etcd",
                                       etcd_peer_port=2380, etcd_client_port=2379)
    assert plan["lines"]["h2"][0] == "member m2, cluster c1, the leader: restarted last"
    assert "peer URL http://10.0.0.10:2380 -> https://10.0.0.10:2380" in plan["lines"]["h0"][3]
    assert plan["lines"]["h0"][4].startswith("restarts: twice, one member at a time")


@pytest.mark.parametrize("release", ["3.5.16", "3.5.30", "3.6.4"])
def test_a_cluster_on_3_5_16_or_later_is_taken_over_at_its_release(release):
    plan = plan_adoption(MEMBERS, reads(**{"h%d" % i: dict(version=release) for i in range(3)}), INVENTORY)
    assert plan["refusal"] == "" and plan["phase"] == "take_over" and plan["upgrade_first"] == {}
    assert plan["version"] == release


# Debian 12's package cluster: etcd 3.4, which cannot serve plaintext and TLS callers on one client port.
ON_3_4 = dict(INVENTORY, default_version="3.5.30")
ADOPTED = ["/etc/etcd/etcd.env"]


def on_3_4(**changes):
    return reads(**{"h%d" % i: dict(dict(version="3.4.23"), **changes.get("h%d" % i, {})) for i in range(3)})


@pytest.mark.parametrize("inventory, to", [(ON_3_4, "3.5.30"), (dict(ON_3_4, version="3.5.16"), "3.5.16")])
def test_a_plaintext_cluster_on_3_4_is_taken_over_and_upgraded_to_3_5_in_plaintext_before_its_move_to_tls(inventory, to):
    plan = plan_adoption(MEMBERS, on_3_4(), inventory)
    assert plan["refusal"] == "" and plan["phase"] == "take_over" and plan["tls_move"] is True
    assert plan["upgrade_first"] == dict(release="3.4.23", to=to, take_over=True)
    # The release the TLS rolls and the inventory lines keep: the one it is upgraded to.
    assert plan["version"] == to
    lines = plan["lines"]["h2"]
    assert lines[0] == "member m2, cluster c1, the leader: restarted last"
    assert "the collection's etcd 3.4.23;" in lines[2]
    assert lines[3].startswith("moves: plaintext -> TLS with client and peer certificate auth")
    assert lines[4] == ("upgrades: etcd 3.4.23 -> %s in plaintext, by the collection's upgrade roll (a snapshot first), "
                        "before the move to TLS: etcd before 3.5.16 cannot serve plaintext and TLS callers on one client "
                        "port" % to)
    assert lines[5] == ("restarts: four times, one member at a time after a health and catch-up gate, the leader last: "
                        "taken over in plaintext on 3.4.23, upgraded to %s, then to serve TLS beside plaintext, then to "
                        "drop plaintext (its peer URL moves to https right before)" % to)


@pytest.mark.parametrize("changes, upgrade_first, left", [
    # Stopped in the plaintext take-over: the members taken over are converged, the others taken over.
    ({"h0": dict(env_files=ADOPTED)}, dict(release="3.4.23", to="3.5.30", take_over=True),
     "; then the members on 3.4.23 are upgraded to 3.5.30 in plaintext, it serves TLS beside plaintext, and moves to TLS"),
    # Stopped in the upgrade: it goes on to the release a member runs already.
    ({"h%d" % i: dict(env_files=ADOPTED, version="3.5.16" if i == 0 else "3.4.23") for i in range(3)},
     dict(release="3.4.23", to="3.5.16", take_over=False),
     "; then the members on 3.4.23 are upgraded to 3.5.16 in plaintext, it serves TLS beside plaintext, and moves to TLS"),
    # Stopped once upgraded: the move to TLS only.
    ({"h%d" % i: dict(env_files=ADOPTED, version="3.5.30") for i in range(3)}, {},
     "; then it serves TLS beside plaintext, and moves to TLS"),
])
def test_a_run_stopped_on_the_way_from_3_4_goes_on_from_where_it_stopped(changes, upgrade_first, left):
    plan = plan_adoption(MEMBERS, on_3_4(**changes), ON_3_4)
    assert plan["refusal"] == "" and plan["phase"] == "take_over" and plan["tls_move"] is True
    assert plan["upgrade_first"] == upgrade_first
    assert plan["lines"]["h0"] == ["member m0, cluster c1: the collection's already (its unit reads /etc/etcd/etcd.env); "
                                   "the role converges it" + left]


def test_a_plaintext_cluster_on_3_5_1_is_upgraded_in_plaintext_before_its_move_to_tls_too():
    # Measured: 3.5.1 answers a plaintext call on a client port that serves TLS too with "use of closed network connection".
    plan = plan_adoption(MEMBERS, on_3_4(**{"h%d" % i: dict(version="3.5.1") for i in range(3)}), ON_3_4)
    assert plan["refusal"] == "" and plan["upgrade_first"] == dict(release="3.5.1", to="3.5.30", take_over=True)


def test_a_tls_cluster_on_3_4_keeps_its_release():
    plan = plan_adoption(MEMBERS, {h: dict(r, version="3.4.23") for h, r in tls_reads().items()}, dict(BYO, default_version="3.5.30"))
    assert plan["refusal"] == "" and plan["upgrade_first"] == {} and plan["version"] == "3.4.23"


WHY = ("a plaintext cluster on etcd 3.4.23 is upgraded to 3.5.16 or later before its move to TLS (etcd before 3.5.16 "
       "cannot serve plaintext and TLS callers on one client port, and etcd upgrades one minor version at a time): set "
       "etcd_version to a 3.5 release, 3.5.16 or later")


@pytest.mark.parametrize("changes, inventory, expected", [
    ({}, dict(ON_3_4, version="3.6.4"), "etcd_version is 3.6.4, but " + WHY + " (the role's default is 3.5.30)"),
    ({}, dict(ON_3_4, version="3.4.23"), "etcd_version is 3.4.23, but " + WHY),
    ({}, dict(ON_3_4, default_version="3.6.4"), "the role's default etcd_version is 3.6.4, but " + WHY),
    ({}, INVENTORY, "the role's default etcd_version is unset, but " + WHY),
    # A run stopped in the upgrade goes on to the release it began.
    ({"h%d" % i: dict(env_files=ADOPTED, version="3.5.16" if i == 0 else "3.4.23") for i in range(3)},
     dict(ON_3_4, version="3.5.30"),
     "etcd_version is 3.5.30, but members run 3.5.16 already: a run of this adoption upgraded them, and the next goes on "
     "to the same release; leave etcd_version unset or set it to 3.5.16"),
    ({}, dict(ON_3_4, version="3.5.1"), "etcd_version is 3.5.1, but " + WHY),
    # Releases mixed by hand, not by this adoption's upgrade.
    ({"h0": dict(version="3.5.30")}, ON_3_4, "the members run different releases (3.4.23, 3.5.30); finish that upgrade first"),
    ({"h0": dict(version="3.4.22")}, ON_3_4, "the members run different releases (3.4.22, 3.4.23); finish that upgrade first"),
    ({"h%d" % i: dict(env_files=ADOPTED, version=("3.5.16", "3.5.30", "3.4.23")[i]) for i in range(3)}, ON_3_4,
     "the members run different releases (3.4.23, 3.5.16, 3.5.30); finish that upgrade first"),
    ({"h1": dict(version="")}, ON_3_4, "hosts h1: the release their etcd runs could not be read"),
])
def test_what_keeps_a_cluster_on_3_4_from_its_way_to_3_5_is_refused_before_any_change(changes, inventory, expected):
    plan = plan_adoption(MEMBERS, on_3_4(**changes), inventory)
    assert expected in plan["refusal"], plan["refusal"]
    assert plan["refusal"].endswith("; nothing was changed")
    assert plan["hosts"] == {} and plan["lines"] == {} and plan["upgrade_first"] == {}


def with_auth_on(reads_, *hosts):
    """``reads_`` where the members of ``hosts`` answered that RBAC auth is on (etcd_adopt_info asks a 3.4 member)."""
    for host in hosts:
        reads_[host]["local"]["auth_enabled"] = True
    return reads_


AUTH_ON = ("the cluster has auth (RBAC) enabled, and a plaintext cluster on etcd 3.4.23 is upgraded to 3.5 before its "
           "move to TLS, which etcd does not support with auth on (3.5 logs a password's hash where 3.4 applies the "
           "password: a user added or a password changed during the roll would differ between members); turn auth off "
           "(etcdctl --user root auth disable), adopt the cluster, then turn auth on again (docs/access.md)")


@pytest.mark.parametrize("changes, hosts", [
    ({}, "h0, h1, h2"),
    # A run stopped in the upgrade: the members still on 3.4 answer.
    ({"h%d" % i: dict(env_files=ADOPTED, version="3.5.30" if i == 0 else "3.4.23") for i in range(3)}, "h1, h2"),
])
def test_a_cluster_on_3_4_with_auth_on_is_refused_by_name_before_any_change(changes, hosts):
    reads_ = with_auth_on(on_3_4(**changes), *[h for h in ("h0", "h1", "h2") if h in hosts])
    plan = plan_adoption(MEMBERS, reads_, ON_3_4)
    assert plan["refusal"] == "hosts %s: %s; nothing was changed" % (hosts, AUTH_ON)
    assert plan["hosts"] == {} and plan["lines"] == {} and plan["take_over"] == {} and plan["upgrade_first"] == {}


@pytest.mark.parametrize("reads_", [
    # Upgraded within 3.5 only (3.5.1 -> 3.5.30): etcd rolls that with auth on.
    with_auth_on(reads(**{"h%d" % i: dict(version="3.5.1") for i in range(3)}), "h0", "h1", "h2"),
    # A TLS cluster on 3.4 keeps its release: no upgrade.
    with_auth_on({h: dict(r, version="3.4.23") for h, r in tls_reads().items()}, "h0", "h1", "h2"),
])
def test_auth_on_is_no_obstacle_where_the_adoption_upgrades_no_3_4_member(reads_):
    assert plan_adoption(MEMBERS, reads_, dict(ON_3_4, pki_managed=False))["refusal"] == ""


def test_a_cluster_the_collection_runs_already_is_only_converged():
    adopted = {"h%d" % i: dict(env_files=["/etc/etcd/etcd.env"], ETCD_CERT_FILE="/etc/etcd/pki/server.pem",
                               ETCD_INITIAL_ADVERTISE_PEER_URLS="https://10.0.0.%d:2380" % (10 + i)) for i in range(3)}
    plan = plan_adoption(MEMBERS, reads(**adopted), INVENTORY)
    assert plan["refusal"] == "" and plan["phase"] == "move" and plan["upgrade_first"] == {}
    assert plan["lines"]["h0"] == ["member m0, cluster c1: the collection's already (its unit reads /etc/etcd/etcd.env); "
                                   "the role converges it"]


def test_a_run_stopped_after_the_take_over_goes_on_with_the_move():
    # Taken over, each serves TLS beside plaintext: its settings name its certificates.
    adopted = {"h%d" % i: dict(env_files=["/etc/etcd/etcd.env"], ETCD_CERT_FILE="/etc/etcd/pki/server.pem") for i in range(3)}
    assert plan_adoption(MEMBERS, reads(**adopted), INVENTORY)["phase"] == "move"
    partly = {"h0": dict(env_files=["/etc/etcd/etcd.env"], ETCD_CERT_FILE="/etc/etcd/pki/server.pem")}
    assert plan_adoption(MEMBERS, reads(**partly), INVENTORY)["phase"] == "take_over"


@pytest.mark.parametrize("members, changes, inventory, expected", [
    ([record(0), record(1, name="etcd-b"), record(2)], {}, INVENTORY,
     "host h1: NODE_NAME is etcd-b, but the etcd there runs as member m1 (its --name); set NODE_NAME=m1 for h1 "
     "in the inventory"),
    (MEMBERS[:2], {}, INVENTORY,
     "member m2 (peer URL http://10.0.0.12:2380) of the running cluster is not in the inventory: add its host with "
     "NODE_NAME=m2, or remove the member first; every member is adopted together"),
    (MEMBERS, {"h2": dict(running=False)}, INVENTORY,
     "host h2: no etcd runs there (a stopped member?); adoption needs every member running and the cluster healthy: "
     "start it (systemctl start etcd.service) and run again"),
    (MEMBERS, {"h1": dict(failed=True)}, INVENTORY,
     "host h1: its read failed or it is unreachable (see above), so nothing can be decided about its member"),
    (MEMBERS, {"h1": dict(running=None, msg="MODULE FAILURE")}, INVENTORY,
     "host h1: its read failed or it is unreachable (MODULE FAILURE)"),
    (MEMBERS, {"h1": dict(unreachable=True)}, INVENTORY,
     "host h1: its read failed or it is unreachable"),
    (MEMBERS, {"h0": dict(local=dict(endpoint="http://10.0.0.10:2379", error="connection refused"))}, INVENTORY,
     "host h0: its etcd did not answer at http://10.0.0.10:2379: connection refused"),
    (MEMBERS, {"h0": dict(local=dict(status=dict(leader_id=0, cluster_id="c1"), members=CLUSTER))}, INVENTORY,
     "host h0: its member m0 has no leader: the cluster is not healthy"),
    (MEMBERS, {"h0": dict(local=dict(status=dict(leader_id=102, cluster_id="c1"), members=CLUSTER, alarms=["NOSPACE"]))},
     INVENTORY, "host h0: the cluster raises alarms NOSPACE"),
    (MEMBERS, {"h%d" % i: dict(version="3.3.27") for i in range(3)}, INVENTORY,
     "host h0: it runs etcd 3.3.27, which the collection does not handle (3.4 to 3.6)"),
    (MEMBERS, {"h1": dict(version="3.5.17")}, INVENTORY,
     "the members run different releases (3.5.16, 3.5.17); finish that upgrade first"),
    (MEMBERS, {}, dict(INVENTORY, version="3.5.1"),
     "etcd_version is 3.5.1, but the cluster runs 3.5.16; adoption keeps the release"),
    (MEMBERS, {"h0": dict(ETCD_DATA_DIR="")}, INVENTORY,
     "host h0: its etcd has no --data-dir (ETCD_DATA_DIR)"),
    # Read from the host and written into the inventory lines the operator keeps: never a template.
    (MEMBERS, {"h0": dict(ETCD_DATA_DIR="/var/lib/{{ lookup('pipe', 'id') }}")}, INVENTORY,
     "host h0: its etcd's data dir (ETCD_DATA_DIR) is \"/var/lib/{{ lookup('pipe', 'id') }}\", which holds characters "
     "an inventory line cannot keep as they are (white space, quotes, or Jinja's {{ {% {#: Ansible would run them as a "
     "template on the controller)"),
    (MEMBERS, {"h1": dict(ETCD_WAL_DIR="/srv/wal{%raw%}/wal")}, INVENTORY,
     "host h1: its etcd's WAL dir (ETCD_WAL_DIR) is \"/srv/wal{%raw%}/wal\", which holds characters"),
    (MEMBERS, {"h2": dict(user="etcd x=1")}, INVENTORY,
     "host h2: the user its etcd runs as is \"etcd x=1\""),
    (MEMBERS, {"h0": dict(ETCD_CERT_FILE="/etc/ssl/etcd.pem")}, INVENTORY,
     "host h0: its etcd has certificate settings (ETCD_CERT_FILE) but serves plaintext URLs; adopt a cluster that "
     "is plaintext or TLS throughout"),
    (MEMBERS, tls_reads(h1=dict(ETCD_PEER_KEY_FILE=None)), BYO,
     "host h1: its etcd serves TLS without ETCD_PEER_KEY_FILE; the collection keeps a cluster's own certificates only "
     "with a CA and a pair for clients and for peers"),
    (MEMBERS, tls_reads(h2=dict(ETCD_ADVERTISE_CLIENT_URLS="http://10.0.0.12:2379")), BYO,
     "host h2: its etcd serves both schemes (peer URLs https://10.0.0.12:2380, client URLs http://10.0.0.12:2379)"),
    (MEMBERS, dict(reads(), h2=tls_reads()["h2"]), BYO,
     "hosts h0, h1 serve plaintext, the others TLS: adopt a cluster that is plaintext or TLS throughout"),
    (MEMBERS, {"h0": dict(user="root", closed_parents=["/srv/etcd"])}, INVENTORY,
     "host h0: its etcd runs as root and the collection will run it as etcd, who cannot reach /srv/etcd (closed to "
     "other users: no x bit for others); make them searchable (chmod o+x) first"),
    # The parent of a WAL kept apart, given to etcd already (a re-run after the first member's turn):
    # only the one root still owns is named.
    (MEMBERS, {"h0": dict(user="root", closed_parents=["/srv", "/srv/etcd-wal"],
                          closed_parent_owners={"/srv": "root", "/srv/etcd-wal": "etcd"})}, INVENTORY,
     "host h0: its etcd runs as root and the collection will run it as etcd, who cannot reach /srv (closed to "),
    (MEMBERS, {"h0": dict(ETCD_WAL_DIR="/var/lib/etcd-wal")}, INVENTORY,
     "host h0: its etcd keeps its WAL in /var/lib/etcd-wal, directly in /var/lib; etcd creates a new WAL beside it (as "
     "/var/lib/etcd-wal.tmp) and the collection gives the directory that holds it to the etcd user, so put the WAL one "
     "level below a directory of its own, like /var/lib/etcd-wal/wal; with the member stopped, move it there and point "
     "its --wal-dir at it first"),
    (MEMBERS, {"h0": dict(ETCD_INITIAL_ADVERTISE_PEER_URLS="http://10.0.0.99:2380")}, INVENTORY,
     "host h0: its member advertises peer URL http://10.0.0.99:2380, not at the inventory's address 10.0.0.10; set "
     "etcd_address=10.0.0.99 for h0"),
    (MEMBERS, {"h0": dict(unit="")}, INVENTORY,
     "host h0: its etcd runs outside systemd; the collection takes over a member systemd runs"),
    (MEMBERS, {"h0": dict(local=dict(status=dict(leader_id=1, cluster_id="c2"), members=CLUSTER, alarms=[]))}, INVENTORY,
     "the hosts belong to different clusters: cluster c1: h1, h2; cluster c2: h0"),
    (MEMBERS, {}, dict(INVENTORY, tls=False), "etcd_tls is false, but an adopted cluster ends with TLS"),
    (MEMBERS, {"h0": dict(env_files=["/etc/etcd/etcd.env"], ETCD_INITIAL_ADVERTISE_PEER_URLS="https://10.0.0.10:2380")},
     INVENTORY, "hosts h0 are the collection's and serve TLS already, but h1, h2 not"),
])
def test_what_cannot_be_adopted_is_refused_naming_the_host(members, changes, inventory, expected):
    # changes: whole reads (a TLS cluster), or what differs from the package cluster's
    whole = changes and all("settings" in change for change in changes.values())
    plan = plan_adoption(members, changes if whole else reads(**changes), inventory)
    assert expected in plan["refusal"], plan["refusal"]
    assert plan["refusal"].endswith("; nothing was changed")
    assert plan["hosts"] == {} and plan["lines"] == {}


HELD = ("lock run is held by ansible-playbook (Deploy and converge etcd) on ctl-b by bob, pid 4321, started "
        "2026-11-22T09:58:00Z since 2026-11-22T10:00:00Z (lease 694d77aa9e38260f, expires in 45 s unless renewed); wait "
        "for that run to finish, or if it died, wait for the lock to expire or release it with: etcdctl "
        "--endpoints=http://10.0.0.11:2379 lease revoke 694d77aa9e38260f")


def with_lock(host, lock):
    """The package cluster's reads, ``host``'s seeing the run lock as ``lock`` (etcd_adopt_info's run_lock)."""
    result = reads()
    for read_ in result.values():
        read_["local"]["run_lock"] = dict(key="/raftops/etcd/run", state="free")
    result[host]["local"]["run_lock"] = dict(dict(key="/raftops/etcd/run"), **lock)
    return result


@pytest.mark.parametrize("lock, expected", [
    (dict(state="held", holder="bob's run", refusal=HELD), "host h1: " + HELD + "; nothing was changed"),
    (dict(state="unread", error="etcdserver: permission denied"),
     "host h1: the run lock /raftops/etcd/run could not be read with the member's own certificates (etcdserver: "
     "permission denied), so whether another run of the collection holds it is unknown; nothing was changed"),
    # A run whose keeper recorded its end, or a lease run out: the role takes the lock over.
    (dict(state="dead", holder="a", dead="its keeper saw its ansible-playbook process (pid 1234) end at "
                                         "2026-11-22T10:00:05Z without releasing the lock, and renews its lease no more"),
     ""),
    (dict(state="expired", holder="a"), ""),
    (dict(state="free"), ""),
])
def test_a_run_lock_another_run_holds_is_refused_before_any_change_in_the_role_s_words(lock, expected):
    plan = plan_adoption(MEMBERS, with_lock("h1", lock), INVENTORY)
    assert plan["refusal"] == expected
    assert (plan["hosts"] == {}) == bool(expected)


def test_a_lock_held_is_named_once_with_the_other_problems():
    # Every member reads the same lock: it is named once, by the first.
    changes = with_lock("h0", dict(state="held", holder="bob's run", refusal=HELD))
    for name in ("h1", "h2"):
        changes[name]["local"]["run_lock"] = changes["h0"]["local"]["run_lock"]
    changes["h2"]["settings"]["ETCD_NAME"] = "other"
    refusal = plan_adoption(MEMBERS, changes, INVENTORY)["refusal"]
    assert "host h2: NODE_NAME is m2, but the etcd there runs as member other" in refusal
    assert refusal.count("lock run is held by") == 1 and "host h0: lock run is held by" in refusal


def test_a_host_that_did_not_answer_at_all_is_named():
    plan = plan_adoption(MEMBERS, {h: r for h, r in reads().items() if h != "h2"}, INVENTORY)
    assert "host h2: its read failed or it is unreachable" in plan["refusal"]


def test_a_tls_cluster_of_another_unit_run_as_root_keeps_its_certificates_and_data():
    plan = plan_adoption(MEMBERS, tls_reads(), dict(BYO, user="etcd"))
    assert plan["refusal"] == "" and plan["upgrade_first"] == {}
    assert plan["phase"] == "take_over" and plan["tls_move"] is False
    assert plan["hosts"]["h1"] == dict(etcd_data_dir="/var/lib/etcd/default", etcd_wal_dir="/srv/etcd-wal/wal", etcd_user="etcd",
                                       etcd_peer_port=2380, etcd_client_port=2379)
    assert plan["take_over"]["h1"] == dict(
        name="m1", old_unit="etcd-main.service", move={}, chown=["/var/lib/etcd/default", "/srv/etcd-wal/wal"], container={},
        pki_files={"ca.pem": "/etc/tls/ca.crt", "m1.pem": "/etc/tls/node.crt", "m1-key.pem": "/etc/tls/node.key",
                   "m1-peer.pem": "/etc/tls/peer.crt", "m1-peer-key.pem": "/etc/tls/peer.key"})
    assert plan["lines"]["h2"][-1] == "restarts: once, one member at a time after a health and catch-up gate, the leader last"
    assert "owned by root -> by etcd" in plan["lines"]["h0"][1]
    assert "the old one stopped at its start, then disabled, kept on disk" in plan["lines"]["h0"][2]


def test_the_package_cluster_needs_no_unit_stop_no_chown_and_no_certificates():
    plan = plan_adoption(MEMBERS, reads(), INVENTORY)
    assert plan["tls_move"] is True
    assert plan["take_over"]["h0"] == dict(name="m0", old_unit="", move={}, chown=[], container={}, pki_files={})


def move(target="/srv/etcd", same_filesystem=True, target_state="absent"):
    return dict(data_move=dict(target=target, same_filesystem=same_filesystem, target_state=target_state))


@pytest.mark.parametrize("state", ["absent", "empty", "link"])
def test_a_data_dir_on_the_same_filesystem_is_renamed_at_the_take_over(state):
    tls = tls_reads()
    tls["h1"].update(move(target_state=state))
    plan = plan_adoption(MEMBERS, tls, BYO)
    assert plan["refusal"] == ""
    assert plan["hosts"]["h1"]["etcd_data_dir"] == "/srv/etcd"
    assert plan["hosts"]["h0"]["etcd_data_dir"] == "/var/lib/etcd/default"
    assert plan["take_over"]["h1"]["move"] == dict(source="/var/lib/etcd/default", target="/srv/etcd", empty=state == "empty")
    # The collection's user is given the data where it moves to.
    assert plan["take_over"]["h1"]["chown"] == ["/srv/etcd", "/srv/etcd-wal/wal"]
    assert plan["lines"]["h1"][1].startswith("moves: the data /var/lib/etcd/default -> /srv/etcd, renamed (one filesystem) "
                                             "while the member is stopped for its take-over (WAL in /srv/etcd-wal/wal)")
    assert plan["take_over"]["h0"]["move"] == {}


@pytest.mark.parametrize("change, expected", [
    (move(same_filesystem=False),
     "host h1: etcd_data_dir is /srv/etcd, on another filesystem (a mount) than the member's data in "
     "/var/lib/etcd/default: the move would copy the data, not rename it, while the member is stopped; set "
     "etcd_data_dir=/var/lib/etcd/default (or leave it unset), or move the data there yourself before the adoption"),
    (move(target_state="other"),
     "host h1: etcd_data_dir is /srv/etcd, which holds something already; the member's data in /var/lib/etcd/default "
     "is moved only to a path that is absent or an empty directory"),
    (dict(move(), env_files=["/etc/etcd/etcd.env"]),
     "host h1: etcd_data_dir is /srv/etcd, but its member, the collection's already, has its data in "
     "/var/lib/etcd/default; the adoption moves a data dir only while it takes a member over"),
])
def test_a_data_dir_move_that_is_no_rename_of_a_member_taken_over_is_refused(change, expected):
    tls = tls_reads()
    tls["h1"].update(change)
    plan = plan_adoption(MEMBERS, tls, BYO)
    assert expected in plan["refusal"], plan["refusal"]
    assert plan["refusal"].endswith("; nothing was changed") and plan["hosts"] == {}


def test_a_tls_adoption_stopped_halfway_goes_on_with_the_members_not_taken_over():
    tls = tls_reads()
    tls["h1"].update(env_files=["/etc/etcd/etcd.env"], unit="etcd.service", user="etcd")
    plan = plan_adoption(MEMBERS, tls, dict(BYO, user="etcd"))
    assert plan["refusal"] == "" and plan["phase"] == "take_over" and plan["tls_move"] is False
    assert sorted(plan["take_over"]) == ["h0", "h2"]
    assert plan["lines"]["h1"][0].endswith("the collection's already (its unit reads /etc/etcd/etcd.env); the role converges it")


@pytest.mark.parametrize("inventory, reads_, rotate", [
    (INVENTORY, tls_reads(), True),  # etcd_pki_managed=true, the default
    (dict(INVENTORY, pki_files=["ca.pem", "m0.pem"]), tls_reads(), True),  # the cluster's CA copied, no key
    (dict(INVENTORY, pki_files=["ca.pem", "ca-key.pem", "ca-previous.pem"]), tls_reads(), False),  # phase 2 on: goes on
    (BYO, tls_reads(), False),
    (INVENTORY, reads(), False),  # plaintext: the collection's PKI from the start
])
def test_a_tls_cluster_s_own_ca_is_replaced_through_a_ca_rotation_when_the_collection_manages_the_pki(
        inventory, reads_, rotate):
    plan = plan_adoption(MEMBERS, reads_, inventory)
    assert plan["refusal"] == "" and plan["rotate_ca"] is rotate
    if "settings" in reads_["h0"] and reads_["h0"]["settings"].get("ETCD_CERT_FILE") and rotate:
        assert plan["take_over"]["h1"]["pki_files"]["ca.pem"] == "/etc/tls/ca.crt"
        assert plan["lines"]["h1"][-2].startswith("moves: the cluster's own CA and pairs -> the collection's, through the "
                                                  "CA rotation's trust window")
        assert plan["lines"]["h1"][-1].startswith("restarts: three times, one member at a time")


def test_a_member_taken_over_before_says_the_rotation_goes_on():
    tls = tls_reads()
    tls["h1"].update(env_files=["/etc/etcd/etcd.env"], unit="etcd.service", user="etcd")
    plan = plan_adoption(MEMBERS, tls, dict(INVENTORY, pki_files=["ca.pem", "ca-next.pem", "ca-next-key.pem"]))
    assert plan["rotate_ca"] is True and sorted(plan["take_over"]) == ["h0", "h2"]
    assert plan["lines"]["h1"][0].endswith("the role converges it, moves: the cluster's own CA and pairs -> the "
                                           "collection's, through the CA rotation's trust window (docs/pki.md): members "
                                           "trust both CAs keeping their pairs, then get the collection's pairs, then "
                                           "trust the collection's CA only; the old CA's key is never needed")


def test_a_ca_without_key_usage_that_python_3_13_refuses_is_named_with_what_to_do():
    error = ("<urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: CA cert does not include key "
             "usage extension (_ssl.c:1028)>")
    tls = tls_reads()
    tls["h2"]["local"] = dict(endpoint="https://10.0.0.12:2379", error=error)
    plan = plan_adoption(MEMBERS, tls, BYO)
    assert ("host h2: its etcd answered at https://10.0.0.12:2379, but its CA certificate /etc/tls/ca.crt has no "
            "keyUsage extension, which the Python on this host (3.13 or later, as in Debian 13) refuses when it checks "
            "the member's certificate (%s), though etcd accepts it; so nothing could be read. Sign that CA certificate "
            "again with its own key, the same subject and keyUsage=critical,keyCertSign,cRLSign (every pair it signed "
            "stays valid: openssl x509 -in CA.crt -key CA.key -days N -extfile EXT -out CA-new.crt, EXT holding "
            "basicConstraints=critical,CA:TRUE, keyUsage=critical,keyCertSign,cRLSign and subjectKeyIdentifier=hash), "
            "put it in /etc/tls/ca.crt on every member, restart them one at a time and run again" % error) in plan["refusal"]
    assert "did not answer" not in plan["refusal"]
    assert plan["refusal"].endswith("; nothing was changed") and plan["hosts"] == {}
    # Any other failure is still "did not answer", with etcd's or Python's words.
    tls["h2"]["local"]["error"] = "timed out"
    assert "host h2: its etcd did not answer at https://10.0.0.12:2379: timed out" in plan_adoption(MEMBERS, tls, BYO)["refusal"]


ROLE_DEFAULTS = dict(etcd_version="3.5.30", etcd_data_dir="/var/lib/etcd", etcd_wal_dir="", etcd_user="etcd",
                     etcd_peer_port=2380, etcd_client_port=2379, etcd_pki_managed=True, etcd_pki_dir="/inv/etcd-pki")


@pytest.mark.parametrize("reads_, inventory, used, expected", [
    # The package cluster: its release and Debian's data dir, the same on every member.
    (reads(), INVENTORY, dict(etcd_pki_dir="/inv/etcd-pki"),
     ["[etcd:vars]", "etcd_version=3.5.16", "etcd_data_dir=/var/lib/etcd/default", "[etcd]",
      "h0 NODE_NAME=m0", "h1 NODE_NAME=m1", "h2 NODE_NAME=m2"]),
    # The hand-made cluster kept in bring-your-own mode, its data moved to the default place on h1
    # only: what differs per host goes on its line.
    ({**tls_reads(), "h1": dict(tls_reads()["h1"], **move(target="/var/lib/etcd"))}, BYO,
     dict(etcd_pki_managed=False, etcd_pki_dir="/inv/handmade-pki", group="main"),
     ["[main:vars]", "etcd_version=3.5.16", "etcd_wal_dir=/srv/etcd-wal/wal", "etcd_pki_managed=false",
      "etcd_pki_dir=/inv/handmade-pki", "[main]", "h0 NODE_NAME=m0 etcd_data_dir=/var/lib/etcd/default",
      "h1 NODE_NAME=m1", "h2 NODE_NAME=m2 etcd_data_dir=/var/lib/etcd/default"]),
    # Everything as the role's defaults: only the hosts.
    ({h: dict(r, version="3.5.30", settings=dict(r["settings"], ETCD_DATA_DIR="/var/lib/etcd")) for h, r in reads().items()},
     INVENTORY, dict(etcd_pki_dir="/inv/etcd-pki"), ["[etcd]", "h0 NODE_NAME=m0", "h1 NODE_NAME=m1", "h2 NODE_NAME=m2"]),
])
def test_the_inventory_lines_to_keep_are_what_differs_from_the_role_defaults(reads_, inventory, used, expected):
    plan = plan_adoption(MEMBERS, reads_, inventory)
    assert plan["refusal"] == ""
    assert inventory_lines(plan, MEMBERS, used, ROLE_DEFAULTS) == expected


@pytest.mark.parametrize("settings, expected", [
    # Unset (none, or empty): the role's defaults.
    (dict(etcd_instance="etcd", etcd_config_dir=None, etcd_tls=None, etcd_version=None, etcd_pki_managed=None,
          etcd_user=None),
     dict(unit="etcd.service", env_path="/etc/etcd/etcd.env", tls=True, version="", pki_managed=True, user="etcd")),
    (dict(etcd_instance="etcd-b", etcd_config_dir=""),
     dict(unit="etcd-b.service", env_path="/etc/etcd-b/etcd.env", tls=True, version="", pki_managed=True, user="etcd-b")),
    # Set: as given (false stays false).
    (dict(etcd_instance="etcd", etcd_config_dir="/srv/conf", etcd_tls=False, etcd_version="3.5.16", etcd_pki_managed=False,
          etcd_user="kv"),
     dict(unit="etcd.service", env_path="/srv/conf/etcd.env", tls=False, version="3.5.16", pki_managed=False, user="kv")),
])
def test_what_the_inventory_asks_takes_the_role_s_defaults_where_it_is_unset(settings, expected):
    assert asked(settings, ["ca.pem", "admin.pem"]) == dict(expected, pki_files=["admin.pem", "ca.pem"])
