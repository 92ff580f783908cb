"""etcd_host_info on a temporary tree: the installed settings come from the unit's environment
files, member data is a non-empty WAL, and the release is read from the binary's link."""

import grp
import json
import os
import platform
import pwd
import socket

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.host.member_files_state import path_state
from ansible_collections.raftops.etcd.plugins.modules import etcd_host_info
from ansible_collections.raftops.etcd.plugins.modules.etcd_host_info import (
    environment_files, holds_member_data, host_info, listening_ports, mount_points, parse_environment)


def test_parse_environment_skips_comments_and_unquotes():
    text = "# managed\n\nETCD_NAME=etcd-host0\n; other comment\nETCD_X=\"a b\"\nETCD_Y='c'\nnot a setting\n"
    assert parse_environment(text) == {"ETCD_NAME": "etcd-host0", "ETCD_X": "a b", "ETCD_Y": "c"}


def test_a_secret_setting_is_read_as_set_never_with_its_value():
    text = ("ETCD_DISCOVERY=http://disco:2379/v2/keys/_etcd/registry/6c007a14\nETCD_DISCOVERY_TOKEN='t0ken'\n"
            "ETCD_DISCOVERY_PASSWORD=pw\nETCD_DISCOVERY_ENDPOINTS=http://disco:2379\nETCD_DISCOVERY_USER=\n")
    assert parse_environment(text) == {
        "ETCD_DISCOVERY": "<hidden>", "ETCD_DISCOVERY_TOKEN": "<hidden>",
        "ETCD_DISCOVERY_PASSWORD": "<hidden>", "ETCD_DISCOVERY_ENDPOINTS": "http://disco:2379",
        "ETCD_DISCOVERY_USER": ""}


def test_environment_files_in_order_with_optional_ones_marked():
    unit = "[Service]\nEnvironmentFile=/etc/etcd/etcd.env\nEnvironmentFile=-/etc/etcd/etcd-initial.env\nExecStart=x\n"
    assert environment_files(unit) == [("/etc/etcd/etcd.env", False), ("/etc/etcd/etcd-initial.env", True)]


def test_member_data_is_a_non_empty_wal(tmp_path):
    data = tmp_path / "data"
    assert not holds_member_data(str(data))
    (data / "member" / "wal").mkdir(parents=True)
    assert not holds_member_data(str(data))
    (data / "member" / "wal" / "0000000000000000-0000000000000000.wal").write_bytes(b"x")
    assert holds_member_data(str(data))
    wal = tmp_path / "wal"
    wal.mkdir()
    assert not holds_member_data(str(data), str(wal))
    (wal / "0.wal").write_bytes(b"x")
    assert holds_member_data(str(data), str(wal))
    assert not holds_member_data(None)


def test_host_info_reads_what_the_unit_points_at(tmp_path):
    conf = tmp_path / "etc"
    conf.mkdir()
    data = tmp_path / "old-data"
    (data / "member" / "wal").mkdir(parents=True)
    (data / "member" / "wal" / "0.wal").write_bytes(b"x")
    (conf / "etcd.env").write_text("ETCD_NAME=m0\nETCD_DATA_DIR=%s\n" % data)
    (conf / "etcd-initial.env").write_text("ETCD_INITIAL_CLUSTER_STATE=existing\n")
    unit = tmp_path / "etcd.service"
    unit.write_text("EnvironmentFile=%s/etcd.env\nEnvironmentFile=-%s/etcd-initial.env\n" % (conf, conf))
    release = tmp_path / "opt" / "v3.5.1"
    release.mkdir(parents=True)
    (release / "etcd").write_bytes(b"")
    link = tmp_path / "etcd"
    os.symlink(str(release / "etcd"), str(link))

    info = host_info(str(unit), str(tmp_path / "new-data"), None, str(link), True)
    assert info["installed"] and info["active"] and info["runtime"] == "host"
    assert info["settings"] == {"ETCD_NAME": "m0", "ETCD_DATA_DIR": str(data)}
    assert info["initial_settings"] == {"ETCD_INITIAL_CLUSTER_STATE": "existing"}
    assert info["data_dir"] == str(data) and info["has_data"] and not info["configured_has_data"]
    assert info["release"] == "3.5.1" and info["binary"] == str(release / "etcd")


MOUNTINFO = """22 1 0:21 / / rw,relatime - overlay overlay rw
35 22 8:1 /srv/etcd /var/lib/etcd rw,relatime - ext4 /dev/sda1 rw
36 22 8:1 /srv/wal /var/lib/etcd\\040wal rw,relatime - ext4 /dev/sda1 rw
"""


@pytest.mark.parametrize("paths, mounted", [
    (["/var/lib/etcd", None], ["/var/lib/etcd"]),  # a bind mount of the same filesystem counts
    (["/var/lib/etcd/data", "/var/lib/etcd wal"], ["/var/lib/etcd wal"]),  # the escaped space
    (["/var/lib/etcd/data", ""], []),
    ([], []),
])
def test_mount_points_are_read_as_mountinfo_lists_them(paths, mounted):
    assert mount_points(paths, MOUNTINFO) == mounted


def test_mount_points_follow_a_link_to_a_mount_point(tmp_path):
    (tmp_path / "data").symlink_to("/var/lib/etcd")
    assert mount_points([str(tmp_path / "data")], MOUNTINFO) == [str(tmp_path / "data")]


def test_mount_points_without_mountinfo_ask_the_filesystem(tmp_path):
    assert mount_points(["/", str(tmp_path)], None) == ["/"]


def test_host_info_of_a_fresh_host(tmp_path):
    info = host_info(str(tmp_path / "none.service"), str(tmp_path / "data"), None, str(tmp_path / "etcd"), False)
    assert info == dict(installed=False, runtime=None, settings={}, initial_settings={}, data_dir=None, has_data=False,
                        configured_has_data=False, release=None, binary=None, active=False, ports_in_use=[],
                        log=None, log_error="", v2store=None)


PROC_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0A00FA0A:094C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0A00FA0A:C350 0A00FA0B:0950 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
"""
PROC_TCP6 = """  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000
"""


def test_listening_ports_are_the_sockets_in_listen_state():
    # 0x094B = 2379 and 0x094C = 2380 listen; 0xC350 is an established connection to port 2384, not a listener.
    assert listening_ports([PROC_TCP, PROC_TCP6, None, ""]) == {2379, 2380, 22}


def test_host_info_names_the_asked_ports_something_listens_on(tmp_path):
    with socket.socket() as listener, socket.socket() as bound_only:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        bound_only.bind(("127.0.0.1", 0))  # bound, not listening: not what the module reports
        busy, idle = listener.getsockname()[1], bound_only.getsockname()[1]
        info = host_info(str(tmp_path / "none.service"), str(tmp_path / "data"), None, str(tmp_path / "etcd"), False,
                         [busy, idle])
    assert info["ports_in_use"] == [busy]


def test_host_info_reads_the_installed_members_log_only_when_asked(tmp_path):
    from ansible_collections.raftops.etcd.tests.unit.plugins.wal_builder import entry, frame, hard_state, metadata
    data = tmp_path / "data"
    (data / "member" / "wal").mkdir(parents=True)
    (data / "member" / "wal" / "0000000000000000-0000000000000000.wal").write_bytes(
        frame(metadata(7, 9)) + frame(entry(2, 5)) + frame(hard_state(2, 1, 5)) + bytes(64))
    (tmp_path / "etcd.env").write_text("ETCD_DATA_DIR=%s\n" % data)
    unit = tmp_path / "etcd.service"
    unit.write_text("EnvironmentFile=%s/etcd.env\n" % tmp_path)

    assert host_info(str(unit), str(data), None, str(tmp_path / "etcd"), False)["log"] is None
    info = host_info(str(unit), str(data), None, str(tmp_path / "etcd"), False, with_log=True)
    assert info["log"]["commit"] == 5 and info["log"]["cluster_id"] == 9 and info["log_error"] == ""

    (data / "member" / "wal" / "0000000000000001-0000000000000006.wal").write_bytes(b"\x01" * 8)
    (data / "member" / "wal" / "0000000000000002-0000000000000007.wal").write_bytes(bytes(8))
    info = host_info(str(unit), str(data), None, str(tmp_path / "etcd"), False, with_log=True)
    assert info["log"] is None
    assert info["log_error"] == ("cannot read the write-ahead log in %s/member/wal: 0000000000000001-0000000000000006.wal "
                                 "is damaged before its end" % data)


def test_the_data_is_read_for_v2_content_only_on_a_move_from_before_3_6_to_3_6_or_later(tmp_path):
    from ansible_collections.raftops.etcd.tests.unit.plugins.wal_builder import entry, frame, hard_state, metadata, message
    data = tmp_path / "data"
    (data / "member" / "wal").mkdir(parents=True)
    v2_put = message((1, 9), (2, b"PUT"), (3, b"/1/config"), (4, b"x"))
    (data / "member" / "wal" / "0000000000000000-0000000000000000.wal").write_bytes(
        frame(metadata(7, 9)) + frame(entry(2, 5, v2_put)) + frame(hard_state(2, 1, 5)))
    (tmp_path / "etcd.env").write_text("ETCD_DATA_DIR=%s\n" % data)
    unit = tmp_path / "etcd.service"
    unit.write_text("EnvironmentFile=%s/etcd.env\n" % tmp_path)
    links = {}
    for release in ("3.5.33", "3.6.14"):
        (tmp_path / ("v" + release)).mkdir()
        (tmp_path / ("v" + release) / "etcd").write_bytes(b"")
        links[release] = tmp_path / ("link-" + release)
        os.symlink(str(tmp_path / ("v" + release) / "etcd"), str(links[release]))

    def read(release, target):
        return host_info(str(unit), str(data), None, str(links[release]), True, v2store_target=target)["v2store"]

    assert read("3.5.33", "3.6.14") == dict(snapshot_index=0, nodes=[], requests=["PUT /1/config"])
    assert read("3.5.33", "3.7.0") == dict(snapshot_index=0, nodes=[], requests=["PUT /1/config"])
    # Nothing to read: a patch change, a 3.6 member, no target, a target that is no release.
    assert [read("3.5.33", "3.5.34"), read("3.6.14", "3.7.0"), read("3.5.33", ""), read("3.5.33", "latest")] == [None] * 4
    (data / "member" / "wal" / "0000000000000001-0000000000000006.wal").write_bytes(b"\x01" * 8)
    (data / "member" / "wal" / "0000000000000002-0000000000000007.wal").write_bytes(bytes(8))
    assert read("3.5.33", "3.6.14") == dict(error="cannot read the data in %s: 0000000000000001-0000000000000006.wal "
                                                  "is damaged before its end" % data)


def run_module(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_host_info.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_the_same_call_reads_the_account_the_paths_and_the_facts_the_role_uses(tmp_path, capsys):
    present = tmp_path / "client-key.pem"
    present.write_text("key")
    me = pwd.getpwuid(os.getuid())
    code, out = run_module({"data_dir": str(tmp_path / "data"), "account": me.pw_name, "facts": True,
                            "paths": [str(present), str(tmp_path / "absent.pem")]}, capsys)
    assert code == 0 and out["changed"] is False
    assert out["account"] == [me.pw_passwd, str(me.pw_uid), str(me.pw_gid), me.pw_gecos, me.pw_dir, me.pw_shell]
    assert out["present"] == [str(present)] and out["absent"] == [str(tmp_path / "absent.pem")]
    facts = out["ansible_facts"]
    assert facts["ansible_architecture"] == platform.machine() and facts["ansible_hostname"] == platform.node().split(".")[0]
    assert facts["ansible_service_mgr"] and facts["ansible_fqdn"]
    assert facts["ansible_default_ipv4"] in ({}, {"address": etcd_host_info.default_ipv4()})


def test_the_bootstrap_settings_of_a_discovery_bootstrap_are_returned_without_the_token(tmp_path, capsys):
    # What a bootstrap through the discovery service that stopped half-way leaves on a member: the
    # next run reads it, and shows the result at -v.
    token = "6c007a14875d53d9bf0ef5a6fc0257c8"
    (tmp_path / "etcd.env").write_text("ETCD_NAME=m0\n")
    (tmp_path / "etcd-initial.env").write_text(
        "ETCD_DISCOVERY=http://10.0.0.9:2379/v2/keys/_etcd/registry/%s\nETCD_INITIAL_CLUSTER_STATE=new\n" % token)
    unit = tmp_path / "etcd.service"
    unit.write_text("EnvironmentFile=%s/etcd.env\nEnvironmentFile=-%s/etcd-initial.env\n" % (tmp_path, tmp_path))
    code, out = run_module({"data_dir": str(tmp_path / "data"), "unit_path": str(unit)}, capsys)
    assert code == 0
    assert out["initial_settings"] == {"ETCD_DISCOVERY": "<hidden>", "ETCD_INITIAL_CLUSTER_STATE": "new"}
    assert token not in json.dumps(out)


def test_without_facts_asked_none_are_set_and_a_missing_account_reads_empty(tmp_path, capsys):
    code, out = run_module({"data_dir": str(tmp_path / "data"), "account": "no-such-account-raftops"}, capsys)
    assert code == 0 and out["account"] == [] and out["present"] == [] and "ansible_facts" not in out


def test_the_links_and_the_group_of_the_account_are_read_for_etcd_install(tmp_path, capsys):
    (tmp_path / "v3.5.1").mkdir()
    (tmp_path / "v3.5.1" / "etcd").write_text("binary")
    os.symlink(str(tmp_path / "v3.5.1" / "etcd"), str(tmp_path / "etcd"))
    (tmp_path / "etcdctl").write_text("a plain file")
    me = pwd.getpwuid(os.getuid())
    asked = [str(tmp_path / name) for name in ("etcd", "etcdctl", "etcdutl")]
    code, out = run_module({"data_dir": str(tmp_path / "data"), "account": me.pw_name, "links": asked}, capsys)
    assert code == 0
    assert out["links"] == {asked[0]: str(tmp_path / "v3.5.1" / "etcd"), asked[1]: None, asked[2]: None}
    assert out["account_name"] == me.pw_name and out["account_group"] is (me.pw_name in [g.gr_name for g in grp.getgrall()])
    code, out = run_module({"data_dir": str(tmp_path / "data")}, capsys)
    assert out["links"] == {} and out["account_name"] is None and out["account_group"] is False


def test_the_member_files_are_read_as_etcd_member_files_compares_them(tmp_path, capsys):
    (tmp_path / "etcd.env").write_text("ETCD_NAME=etcd-host0\n")
    asked = [str(tmp_path), str(tmp_path / "etcd.env"), str(tmp_path / "staged" / "etcd.env")]
    code, out = run_module({"data_dir": str(tmp_path / "data"), "files": asked}, capsys)
    assert code == 0
    assert out["files"] == {path: path_state(path) for path in asked}
    assert out["files"][asked[1]]["kind"] == "file" and out["files"][asked[2]] == {"kind": "absent"}
    code, out = run_module({"data_dir": str(tmp_path / "data")}, capsys)
    assert out["files"] == {}


# -- ask_etcd: the host's own etcd, in the same call -------------------------------------------


def installed_member(tmp_path, listen):
    """A unit whose settings listen on ``listen``, with member data."""
    data = tmp_path / "data"
    (data / "member" / "wal").mkdir(parents=True)
    (data / "member" / "wal" / "0.wal").write_bytes(b"x")
    (tmp_path / "etcd.env").write_text("ETCD_DATA_DIR=%s\nETCD_LISTEN_CLIENT_URLS=%s\n" % (data, listen))
    unit = tmp_path / "etcd.service"
    unit.write_text("EnvironmentFile=%s/etcd.env\n" % tmp_path)
    return {"unit_path": str(unit), "data_dir": str(data), "ask_etcd": True,
            "endpoints": ["http://127.0.0.1:2379"], "timeout": 5}


@pytest.fixture
def fake_etcd(monkeypatch):
    """The members of fake_members.three(); every URL reaches h0. ``asked`` records each client made."""
    from ansible_collections.raftops.etcd.tests.unit.plugins.fake_members import Cluster, three
    cluster = Cluster(*three())
    asked = []

    def factory(params, timeout=None):
        def make_client(url):
            asked.append(dict(url=url, client_cert=params.get("client_cert"), timeout=params.get("timeout")))
            return cluster.client(cluster.nodes[0].url)
        return make_client

    monkeypatch.setattr(etcd_host_info, "client_factory", factory)
    return asked


def test_each_calendar_is_read_by_systemds_parser_and_its_refusal_kept():
    asked = []

    def run_command(argv):
        asked.append(argv)
        return (0, "Next elapse: ...", "") if argv[-1] == "hourly" else (1, "", "Failed to parse calendar specification\n")

    read = etcd_host_info.read_calendars({"etcd_backup_schedule": "hourly", "etcd_maintenance_schedule": "evry day"},
                                         run_command, "/usr/bin/systemd-analyze")
    assert read == {"etcd_backup_schedule": {"expression": "hourly", "error": ""},
                    "etcd_maintenance_schedule": {"expression": "evry day", "error": "Failed to parse calendar specification"}}
    assert asked == [["/usr/bin/systemd-analyze", "calendar", "hourly"], ["/usr/bin/systemd-analyze", "calendar", "evry day"]]
    assert etcd_host_info.read_calendars({"etcd_backup_schedule": "hourly"}, run_command, None) == {
        "etcd_backup_schedule": {"expression": "hourly", "error": "systemd-analyze was not found on the host"}}
    assert etcd_host_info.read_calendars({"s": "x"}, lambda argv: (3, "", ""), "/bin/systemd-analyze") == {
        "s": {"expression": "x", "error": "systemd-analyze exited with 3"}}


def test_a_unit_that_runs_podman_is_the_container_runtime(tmp_path):
    unit = tmp_path / "etcd.service"
    unit.write_text("ExecStart=/etc/etcd/etcd-start\nExecStop=/usr/bin/podman stop --ignore --time=15 etcd\n")
    assert host_info(str(unit), str(tmp_path / "data"), None, str(tmp_path / "etcd"), True)["runtime"] == "container"


def test_a_unit_that_runs_docker_is_the_container_runtime(tmp_path):
    unit = tmp_path / "etcd.service"
    unit.write_text("ExecStart=/etc/etcd/etcd-start\nExecStop=/usr/bin/docker stop --time=15 etcd\n")
    assert host_info(str(unit), str(tmp_path / "data"), None, str(tmp_path / "etcd"), True)["runtime"] == "container"


def test_images_are_read_one_engine_call_each_and_none_is_there_without_the_engine():
    calls = []

    def run_command(argv):
        calls.append(argv)
        return (0 if argv[-1] == "a" else 1, "", "")
    assert etcd_host_info.read_images(["a", "b"], run_command, "/usr/bin/podman") == {"a": True, "b": False}
    assert calls == [["/usr/bin/podman", "image", "inspect", "--format", "{{.Id}}", "a"],
                     ["/usr/bin/podman", "image", "inspect", "--format", "{{.Id}}", "b"]]
    assert etcd_host_info.read_images(["a"], None, None) == {"a": False}


def test_the_units_are_read_in_one_systemctl_show_in_the_order_asked():
    asked = []
    shown = ("ActiveState=active\nUnitFileState=enabled\n\n"
             "ActiveState=inactive\nUnitFileState=\n\n"
             "UnitFileState=disabled\nActiveState=failed\n")

    def run_command(argv):
        asked.append(argv)
        return 0, shown, ""

    units = ["etcd-snapshot.timer", "etcd-maintenance.timer", "other.timer"]
    assert etcd_host_info.read_units(units, run_command, "/bin/systemctl") == {
        "etcd-snapshot.timer": {"active": "active", "enabled": "enabled"},
        "etcd-maintenance.timer": {"active": "inactive", "enabled": ""},
        "other.timer": {"active": "failed", "enabled": "disabled"}}
    assert asked == [["/bin/systemctl", "show", "--property=ActiveState,UnitFileState", "--", *units]]


def test_units_read_unknown_when_systemctl_cannot_say_and_none_asked_costs_no_call():
    unknown = {"a.timer": {"active": "unknown", "enabled": ""}}
    assert etcd_host_info.read_units(["a.timer"], None, None) == unknown
    assert etcd_host_info.read_units(["a.timer"], lambda argv: (1, "", "Failed to connect to bus"), "/bin/systemctl") == unknown
    # a block missing: the answer cannot be matched to the units
    assert etcd_host_info.read_units(["a.timer", "b.timer"], lambda argv: (0, "ActiveState=active\n", ""),
                                     "/bin/systemctl") == dict(unknown, **{"b.timer": {"active": "unknown", "enabled": ""}})
    assert etcd_host_info.read_units([], None, "/bin/systemctl") == {}


def test_why_etcd_failed_is_read_from_the_units_journal_since_the_time_given():
    fatal = '{"level":"fatal","msg":"discovery failed","error":"cannot fetch cluster info from peer urls"}'
    calls = []

    def run_command(argv):
        calls.append(argv)
        return 0, "etcd.service: Failed with result 'exit-code'.\n%s\n" % fatal, ""

    said = etcd_host_info.read_etcd_said("etcd.service", "2026-11-26 19:02:00 UTC", run_command, "/bin/journalctl")
    assert said == "discovery failed: cannot fetch cluster info from peer urls"
    assert calls == [["/bin/journalctl", "--unit", "etcd.service", "--since", "2026-11-26 19:02:00 UTC",
                      "--output", "cat", "--no-pager"]]


def test_no_journal_read_says_nothing_and_the_callers_message_stands():
    def refused(argv):
        raise AssertionError("journalctl run: %s" % argv)

    assert etcd_host_info.read_etcd_said("etcd.service", None, refused, "/bin/journalctl") == ""
    assert etcd_host_info.read_etcd_said("etcd.service", "2026-11-26 19:02:00 UTC", refused, None) == ""
    assert etcd_host_info.read_etcd_said("etcd.service", "yesterday-ish", lambda argv: (
        1, "", 'Failed to parse timestamp: yesterday-ish'), "/bin/journalctl") == ""


def test_no_calendar_asked_reads_none(tmp_path, capsys):
    code, out = run_module({"data_dir": str(tmp_path / "data")}, capsys)
    assert code == 0 and out["calendars"] == {} and out["units"] == {} and out["etcd_said"] == ""


def test_ask_etcd_asks_the_member_where_its_installed_settings_listen(tmp_path, capsys, fake_etcd):
    args = installed_member(tmp_path, "http://10.0.0.1:2379,http://127.0.0.1:12379")
    code, out = run_module(args, capsys)
    assert code == 0 and out["changed"] is False and "failed" not in out
    assert fake_etcd[0] == dict(url="http://127.0.0.1:12379", client_cert=None, timeout=5)
    health = out["local_health"]
    assert "failed" not in health and "answered" not in health
    assert sorted(m["name"] for m in health["members"]) == ["h0", "h1", "h2"]
    assert health["endpoints"][0]["reachable"] is True


def test_ask_etcd_asks_nobody_on_a_host_without_member_data(tmp_path, capsys, fake_etcd):
    code, out = run_module({"data_dir": str(tmp_path / "data"), "ask_etcd": True}, capsys)
    assert (code, out["local_health"], fake_etcd) == (0, {}, [])
    code, out = run_module(dict(installed_member(tmp_path, "http://127.0.0.1:2379"), ask_etcd=False), capsys)
    assert (code, out["local_health"], fake_etcd) == (0, {}, [])


@pytest.mark.parametrize("login_pair_there", [True, False])
def test_a_login_uses_the_login_pair_only_where_it_is(tmp_path, capsys, fake_etcd, login_pair_there):
    if login_pair_there:
        (tmp_path / "client.pem").write_text("cert")
        (tmp_path / "client-key.pem").write_text("key")
    args = dict(installed_member(tmp_path, "http://127.0.0.1:2379"), auth_user="root", auth_password="secret",
                client_cert=str(tmp_path / "server.pem"), client_key=str(tmp_path / "server-key.pem"),
                login_client_cert=str(tmp_path / "client.pem"), login_client_key=str(tmp_path / "client-key.pem"))
    code, out = run_module(args, capsys)
    assert code == 0 and "failed" not in out["local_health"]
    assert fake_etcd[0]["client_cert"] == str(tmp_path / ("client.pem" if login_pair_there else "server.pem"))
    # without a login the login pair is never used
    run_module(dict(args, auth_user=None, auth_password=None), capsys)
    assert fake_etcd[-1]["client_cert"] == str(tmp_path / "server.pem")


def test_an_etcd_that_does_not_answer_is_reported_and_the_read_still_succeeds(tmp_path, capsys):
    with socket.socket() as bound_only:
        bound_only.bind(("127.0.0.1", 0))  # bound, not listening: the connection is refused
        url = "http://127.0.0.1:%d" % bound_only.getsockname()[1]
        code, out = run_module(installed_member(tmp_path, url), capsys)
    assert code == 0 and out["has_data"] is True
    health = out["local_health"]
    assert health["failed"] is True and health["msg"].startswith("no etcd endpoint answered: %s: " % url)
    assert health["endpoints"][0]["reachable"] is False


def test_an_unusable_tls_file_is_reported_and_the_read_still_succeeds(tmp_path, capsys):
    args = dict(installed_member(tmp_path, "https://127.0.0.1:2379"), ca_cert=str(tmp_path / "missing-ca.pem"))
    code, out = run_module(args, capsys)
    assert code == 0 and out["settings"]["ETCD_LISTEN_CLIENT_URLS"] == "https://127.0.0.1:2379"
    assert out["local_health"]["failed"] is True
    assert out["local_health"]["msg"].startswith("cannot set up the etcd client: ")
    assert "missing-ca.pem" in out["local_health"]["msg"]
