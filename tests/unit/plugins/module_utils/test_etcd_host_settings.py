"""What the role derives of a host from its etcd_* settings (module_utils/host/host_settings.py), from
the role's own defaults, one setting changed at a time."""

import os

import pytest
import yaml

from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import NAMES, found_by_read, host_settings, paths_found

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "etcd")
with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as _defaults:
    ROLE_DEFAULTS = yaml.safe_load(_defaults)
# The role's defaults as a host with etcd_instance etcd has them (those written as templates, rendered).
DEFAULTS = {name: value for name, value in ROLE_DEFAULTS.items() if name in NAMES and "{{" not in str(value)}
DEFAULTS.update(etcd_download_cache_dir="/root/.cache/raftops-etcd/releases", etcd_quota_backend_bytes="0",
                etcd_user="etcd", etcd_data_dir="/var/lib/etcd", etcd_config_dir="/etc/etcd", etcd_install_dir="/opt/etcd",
                etcd_bin_dir="/usr/local/bin", etcd_backup_host_dir="/var/backups/etcd", etcd_backup_cluster="etcd/etcd")
LIB = "/opt/etcd/lib"
ROLE_PATH = "/roles/etcd"


def settings(**changed):
    assert set(changed) <= set(NAMES), "not a setting host_settings reads"
    return host_settings(dict(DEFAULTS, **changed), ROLE_PATH)


def test_every_setting_it_reads_is_a_role_default():
    assert sorted(set(NAMES) - set(ROLE_DEFAULTS)) == []
    assert sorted(set(NAMES) - set(DEFAULTS)) == []


def test_the_defaults():
    s = settings(etcd_version="3.5.17")
    assert (s["release_dir"], s["release_url"], s["release_cache_dir"]) == (
        "/opt/etcd/v3.5.17", DEFAULTS["etcd_release_base_url"] + "/v3.5.17",
        "/root/.cache/raftops-etcd/releases/v3.5.17")
    assert s["binaries"] == ["etcd", "etcdctl", "etcdutl"]
    assert (s["pki_host_dir"], s["crl_host_path"], s["env_path"]) == ("/etc/etcd/pki", "/etc/etcd/pki/crl.pem", "/etc/etcd/etcd.env")
    assert (s["unit"], s["unit_path"], s["unit_enabled_path"]) == (
        "etcd.service", "/etc/systemd/system/etcd.service", "/etc/systemd/system/multi-user.target.wants/etcd.service")
    assert (s["restart_note_path"], s["stage_dir"], s["start_script"]) == (
        "/etc/etcd/restart-pending", "/etc/etcd/staged", "/etc/etcd/etcd-start")
    assert (s["scheme"], s["local_endpoint"], s["timer_pair"], s["srv_domain"]) == (
        "https", "https://127.0.0.1:2379", "root", "")
    assert (s["run_lock_prefix"], s["stop_grace"], s["maintenance_lib_dir"]) == ("/raftops/etcd/", 15, LIB)
    assert s["paths_read"] == ["/etc/etcd/pki/client-key.pem", "/etc/systemd/system/multi-user.target.wants/etcd.service",
                               "/etc/etcd/restart-pending", "/opt/etcd/v3.5.17/etcd"]
    assert s["member_file_paths"] == [
        "/etc/etcd", "/var/lib/etcd", "/etc/etcd/etcd.env", "/etc/systemd/system/etcd.service", "/etc/etcd/etcd-start",
        "/etc/etcd/staged/etcd.env", "/etc/etcd/staged/etcd.service", "/etc/etcd/staged/etcd-start",
        "/etc/etcd/pki", "/etc/etcd/pki/ca.pem", "/etc/etcd/pki/server.pem", "/etc/etcd/pki/peer.pem",
        "/etc/etcd/pki/crl.pem", "/etc/etcd/pki/server-key.pem", "/etc/etcd/pki/peer-key.pem", "/etc/etcd/pki/client.pem",
        "/etc/etcd/pki/client-key.pem", "/etc/etcd/pki/root.pem", "/etc/etcd/pki/root-key.pem"]
    # No timer has a schedule by default: none is read, no directory made, nothing found.
    assert (s["scheduled_timer_units"], s["calendars"], s["timer_directories"], s["timer_paths_found"]) == ([], {}, [], [])
    assert [t["name"] for t in s["timers"]] == ["etcd-snapshot", "etcd-backup-drill", "etcd-maintenance", "etcd-backup-stream"]
    assert s["pki_settings"] == dict(managed=True, srv_domain="", scrapers=[], pair_key="/etc/etcd/pki/client-key.pem",
                                     ca_path="/etc/etcd/pki/ca.pem", replace_ca=False)
    assert s["status_settings"]["etcd_group"] == "etcd" and len(s["status_settings"]) == 8


def test_the_read_of_the_host_asks_for_the_derived_paths():
    s = settings(etcd_version="3.5.17")
    read = s["read"]
    assert read["paths"] == s["paths_read"] and read["checksums"] == ["/etc/etcd/pki/ca.pem"]
    assert read["links"] == ["/usr/local/bin/etcd", "/usr/local/bin/etcdctl", "/usr/local/bin/etcdutl"]
    assert read["files"] == s["member_file_paths"] + s["timer_paths"]
    assert (read["unit_path"], read["data_dir"], read["wal_dir"], read["bin_path"]) == (
        "/etc/systemd/system/etcd.service", "/var/lib/etcd", None, "/usr/local/bin/etcd")
    assert (read["ports"], read["endpoints"], read["v2store_target"], read["account"]) == (
        [2379, 2380, 2381], ["https://127.0.0.1:2379"], "3.5.17", "etcd")
    assert (read["login_client_cert"], read["login_client_key"]) == ("/etc/etcd/pki/client.pem", "/etc/etcd/pki/client-key.pem")
    assert s["wanted"] == dict(data_dir="/var/lib/etcd", wal_dir="", metrics_port=2381, local_endpoint="https://127.0.0.1:2379",
                               python_cryptography=False)


@pytest.mark.parametrize("version, numbers, binaries", [
    ("3.4.27", [3, 4, 27], ["etcd", "etcdctl"]),
    ("3.5.0", [3, 5, 0], ["etcd", "etcdctl", "etcdutl"]),
    ("v3.6.4", [3, 6, 4], ["etcd", "etcdctl", "etcdutl"]),
    # Not a release: the inventory's check refuses it right after the read; nothing fails here.
    ("latest", [], ["etcd", "etcdctl", "etcdutl"]),
])
def test_etcdutl_from_3_5_on(version, numbers, binaries):
    s = settings(etcd_version=version)
    assert (s["release_numbers"], s["binaries"]) == (numbers, binaries)


def test_without_tls_no_certificate_is_read_or_given_to_the_timers():
    s = settings(etcd_tls=False)
    assert (s["scheme"], s["local_endpoint"]) == ("http", "http://127.0.0.1:2379")
    assert not [path for path in s["member_file_paths"] if "/pki" in path]
    m = s["maintenance_settings"]
    assert (m["ca_cert"], m["client_cert"], m["client_key"], m["insecure_skip_tls_verify"]) == ("", "", "", False)


def test_auto_tls_serves_https_unverified_without_the_roles_certificates():
    s = settings(etcd_tls="no", etcd_auto_tls="yes", etcd_client_port="2479")
    assert s["local_endpoint"] == "https://127.0.0.1:2479"
    assert s["maintenance_settings"]["insecure_skip_tls_verify"] is True
    assert s["maintenance_settings"]["ca_cert"] == ""


@pytest.mark.parametrize("changes, flags", [
    (dict(), ["--cacert=/etc/etcd/pki/ca.pem", "--cert=/etc/etcd/pki/root.pem", "--key=/etc/etcd/pki/root-key.pem"]),
    (dict(etcd_tls=False), []),
    (dict(etcd_tls=False, etcd_auto_tls=True), ["--insecure-skip-tls-verify"]),
])
def test_under_docker_the_unit_waits_for_the_member_to_answer_as_the_timers_reach_it(changes, flags):
    assert settings(**changes)["ready_check"] == [
        "/usr/local/bin/etcdctl", "--endpoints=%s" % settings(**changes)["local_endpoint"], "--command-timeout=2s", *flags,
        "endpoint", "status"]


@pytest.mark.parametrize("tls, auto_tls, scheme", [(True, False, None), (False, False, None), (False, True, "https"),
                                                   ("no", "yes", "https")])
def test_the_members_urls_take_https_from_auto_tls_and_otherwise_from_each_members_etcd_tls(tls, auto_tls, scheme):
    assert settings(etcd_tls=tls, etcd_auto_tls=auto_tls)["members_scheme"] == scheme


@pytest.mark.parametrize("managed, pair", [(True, "root"), (False, "server")])
def test_the_timers_pair(managed, pair):
    s = settings(etcd_pki_managed=managed)
    assert s["timer_pair"] == pair
    assert (s["maintenance_settings"]["client_cert"], s["maintenance_settings"]["client_key"]) == (
        "/etc/etcd/pki/%s.pem" % pair, "/etc/etcd/pki/%s-key.pem" % pair)
    assert s["pki_settings"]["managed"] is managed


def test_a_wal_dir_is_written_read_and_reported():
    s = settings(etcd_wal_dir="/var/lib/etcd-wal/wal")
    assert s["member_file_paths"][5:7] == ["/var/lib/etcd-wal", "/var/lib/etcd-wal/wal"]
    assert s["read"]["wal_dir"] == s["wanted"]["wal_dir"] == "/var/lib/etcd-wal/wal"
    inside = settings(etcd_wal_dir="/var/lib/etcd/wal")
    assert inside["member_file_paths"][5:7] == ["/var/lib/etcd/wal", "/etc/etcd/staged/etcd.env"]


def test_paths_are_cleaned_where_the_host_read_reports_them_clean():
    s = settings(etcd_install_dir="/opt/etcd/", etcd_bin_dir="/usr/local/bin/", etcd_config_dir="/etc/etcd/",
                 etcd_backup_schedule="daily", etcd_version="3.5.17")
    assert s["maintenance_lib_dir"] == LIB
    assert s["paths_read"][1:] == ["/etc/systemd/system/multi-user.target.wants/etcd.service", "/etc/etcd/restart-pending",
                                   "/opt/etcd/v3.5.17/etcd"]
    # The client pair's path stays as written: vars/main.yml compares it so.
    assert s["paths_read"][0] == "/etc/etcd//pki/client-key.pem"
    assert s["read"]["links"][0] == "/usr/local/bin/etcd"
    assert s["timers"][0]["files"][0]["dest"] == "/usr/local/bin/etcd-snapshot"


def test_the_snapshot_timer_alone():
    s = settings(etcd_backup_schedule="*-*-* 02:00:00")
    assert s["scheduled_timer_units"] == ["etcd-snapshot.timer"]
    assert s["calendars"] == {"etcd_backup_schedule": "*-*-* 02:00:00"}
    assert s["timer_directories"] == [dict(path="/var/backups/etcd", owner="root", group="root", mode="0700")]
    assert (s["backup_push"]["on"], s["backup_push"]["code"]) == (False, False)


def test_the_maintenance_timer_needs_its_code():
    s = settings(etcd_maintenance_schedule="weekly", etcd_instance="main")
    assert s["scheduled_timer_units"] == ["main-maintenance.timer"]
    assert s["timer_directories"] == [dict(path=LIB, owner="root", group="root", mode="0755")]
    assert s["backup_push"]["code"] is True and s["backup_push"]["on"] is False
    assert s["timers"][2]["files"] == [
        dict(src="etcd-maintenance.json.j2", dest=LIB + "/etcd_maintenance.json", mode="0644"),
        dict(unit="service", dest="/etc/systemd/system/main-maintenance.service", mode="0644"),
        dict(unit="timer", dest="/etc/systemd/system/main-maintenance.timer", mode="0644")]
    # What its service runs, after the member's unit, writing nothing but its /tmp.
    assert (s["timers"][2]["run"], s["timers"][2]["writable"], s["timers"][2]["after"]) == (
        ["/usr/bin/python3", LIB + "/etcd_maintenance.py", LIB + "/etcd_maintenance.json"], [], "main.service")
    assert s["maintenance_lib_files"][0] == dict(src=ROLE_PATH + "/files/etcd_maintenance.py", dest=LIB + "/etcd_maintenance.py")
    assert s["maintenance_lib_files"][1] == dict(src=ROLE_PATH + "/../../plugins/module_utils/cluster/defrag_rule.py",
                                                 dest=LIB + "/etcd_defrag_rule.py")


PUSH = dict(etcd_backup_push=True, etcd_backup_schedule="daily", etcd_backup_targets=[dict(bucket="b")],
            etcd_backup_drill_schedule="weekly")


@pytest.mark.parametrize("off", [dict(etcd_backup_push=False), dict(etcd_backup_schedule=""), dict(etcd_backup_targets=[])])
def test_the_push_needs_its_switch_a_schedule_and_targets(off):
    s = settings(**dict(PUSH, **off))
    assert s["backup_push"]["on"] is False and s["backup_push"]["code"] is False
    assert s["wanted"]["python_cryptography"] is False
    # The drill proves what the push sent: without the push it has no schedule.
    assert s["timers"][1]["schedule"] == ""
    assert "etcd-backup-drill.timer" not in s["scheduled_timer_units"]


def test_the_push_on():
    s = settings(**PUSH)
    push = s["backup_push"]
    assert (push["on"], push["code"]) == (True, True)
    # The plan refuses the push on a host whose read finds no python3-cryptography.
    assert s["wanted"]["python_cryptography"] is True
    assert (push["settings"], push["ssh_key"], push["known_hosts"]) == (
        LIB + "/etcd_backup_push.json", LIB + "/etcd_backup_push_ssh", LIB + "/etcd_backup_push_known_hosts")
    assert [f["dest"] for f in push["lib_files"]] == push["paths"][:10]
    assert push["paths"][10:] == [LIB + "/etcd_backup_push.json", LIB + "/etcd_backup_push_ssh",
                                  LIB + "/etcd_backup_push_ssh.pub", LIB + "/etcd_backup_push_known_hosts"]
    # Its targets' credentials are no part of it: vars/main.yml adds the targets where a task reads them
    # (the lookup); their hosts, which the push's tasks go to, are.
    assert "targets" not in push and "secret" not in repr(s)
    assert push["hosts"] == []
    assert s["scheduled_timer_units"] == ["etcd-snapshot.timer", "etcd-backup-drill.timer", "etcd-backup-stream.timer"]
    # The change stream's "schedule" is its interval, no calendar for systemd to check.
    assert s["calendars"] == {"etcd_backup_schedule": "daily", "etcd_backup_drill_schedule": "weekly"}
    assert [d["path"] for d in s["timer_directories"]] == ["/var/backups/etcd", LIB]
    assert s["timer_paths"] == ([f["dest"] for f in s["maintenance_lib_files"]] + push["paths"]
                                + [f["dest"] for t in s["timers"] for f in t["files"]])


def test_the_change_stream_runs_with_the_push_and_restarts_when_its_settings_or_code_change():
    s = settings(**PUSH)
    stream = s["timers"][-1]
    assert (stream["name"], stream["schedule"], stream["calendar"]) == ("etcd-backup-stream", "20", False)
    assert [f["unit"] for f in stream["files"]] == ["service", "timer"] and stream["kind"] == "backup-stream"
    assert stream["run"] == ["/usr/bin/python3", LIB + "/etcd_backup_stream.py", LIB + "/etcd_backup_push.json"]
    assert stream["restart_on"] == [LIB + "/etcd_backup_push.json"] + [f["dest"] for f in s["backup_push"]["lib_files"]]
    assert LIB + "/etcd_backup_stream.py" in stream["restart_on"] and LIB + "/etcd_stream_segments.py" in stream["restart_on"]
    file_settings = s["backup_push"]["file_settings"]
    assert (file_settings["stream_interval"], file_settings["stream_status_file"]) == (20, "/var/backups/etcd/stream-status.json")
    assert settings(**PUSH, etcd_backup_stream_interval="5")["timers"][-1]["schedule"] == "5"
    # Off with 0, and without the push.
    assert "etcd-backup-stream.timer" not in settings(**PUSH, etcd_backup_stream_interval=0)["scheduled_timer_units"]
    assert settings(etcd_backup_stream_interval=20)["timers"][-1]["schedule"] == ""


def test_the_push_goes_to_its_ssh_targets_hosts_each_once():
    targets = [dict(name="o", bucket="b", secret_key="secret"), dict(name="v", type="ssh", host="b2", path="/srv/b"),
               dict(name="w", type="ssh", host="b1", path="/srv/c"), dict(name="x", type="ssh", host="b2", path="/srv/a")]
    push = settings(**{**PUSH, "etcd_backup_targets": targets})["backup_push"]
    assert push["hosts"] == ["b2", "b1"] and "secret" not in repr(push)


@pytest.mark.parametrize("max_age, seconds", [("26h", 93600), ("90m", 5400), ("1h30m", 5400), ("1.5h", 5400),
                                              # No Go duration: the settings check refuses it before any task reads it.
                                              ("26", 0), ("1d", 0), ("", 0)])
def test_the_max_age_in_seconds_for_the_drills_metrics(max_age, seconds):
    assert settings(etcd_backup_max_age=max_age)["backup_push"]["max_age_seconds"] == seconds


def test_the_maintenance_settings_with_integers_as_text():
    m = settings(etcd_quota_backend_bytes="8589934592", etcd_run_lock_ttl="45", etcd_defrag_rule="always",
                 etcd_group="prod")["maintenance_settings"]
    assert (m["quota_bytes"], m["lock_ttl"], m["rule"], m["lock_prefix"], m["lock_name"]) == (
        8589934592, 45, "always", "/raftops/prod/", "run")
    assert m["etcdctl"] == "/usr/local/bin/etcdctl" and "name" not in m


@pytest.mark.parametrize("metrics, port, scrapers", [("off", None, []), ("loopback", 2381, []), ("address", 2381, ["10.0.0.5"])])
def test_metrics(metrics, port, scrapers):
    s = settings(etcd_metrics=metrics, etcd_metrics_port="2381", etcd_metrics_scrapers=["10.0.0.5"])
    assert s["wanted"]["metrics_port"] == port
    assert s["read"]["ports"] == [2379, 2380] + ([port] if port else [])
    assert s["pki_settings"]["scrapers"] == scrapers


@pytest.mark.parametrize("bootstrap, domain", [("dns_srv", "example.net"), ("static", "")])
def test_the_srv_domain_only_with_dns_srv(bootstrap, domain):
    s = settings(etcd_bootstrap=bootstrap, etcd_discovery_srv="example.net")
    assert s["srv_domain"] == s["pki_settings"]["srv_domain"] == domain


def test_the_timers_files_found_in_the_reads_order():
    s = settings()
    read = {s["timer_paths"][3]: dict(kind="file"), "/etc/etcd/etcd.env": dict(kind="file"),
            s["timer_paths"][0]: dict(kind="file"), s["timer_paths"][1]: dict(kind="absent")}
    assert host_settings(dict(DEFAULTS), ROLE_PATH, read)["timer_paths_found"] == [s["timer_paths"][3], s["timer_paths"][0]]
    assert paths_found(s["timer_paths"], None) == []


@pytest.mark.parametrize("present, found", [
    (["/etc/etcd/pki/client-key.pem", "/etc/systemd/system/multi-user.target.wants/etcd.service"], True),
    # The pair's path as it is written, not another member file nor another directory's pair.
    (["/etc/etcd/pki/client.pem", "/etc/etcd/pki/server-key.pem", "/etc/etcd-b/pki/client-key.pem"], False),
    ([], False),
    (None, False),
])
def test_the_client_pair_of_a_root_login_is_found_only_by_its_key_where_the_pair_is_written(present, found):
    s = settings()
    assert s["client_pair_found"] is False
    assert found_by_read(s, dict(present=present))["client_pair_found"] is found


def test_before_any_read_nothing_is_found():
    s = found_by_read(settings(), None)
    assert (s["client_pair_found"], s["timer_paths_found"]) == (False, [])


@pytest.mark.parametrize("on_hosts, installed, fetch, source", [
    (False, None, "cache", "cache"),
    (False, "3.5.16", "cache", "cache"),
    ("no", "3.5.17", "cache", "none"),
    (True, "3.5.17", "url", "none"),
    ("yes", "3.5.16", "url", "url"),
    (True, None, "url", "url"),
])
def test_where_the_release_comes_from(on_hosts, installed, fetch, source):
    s = settings(etcd_version="3.5.17", etcd_download_on_hosts=on_hosts)
    # Before any read (the lookup's settings) the release is not known to be there.
    assert (s["release_version"], s["release_fetch"], s["release_from"]) == ("3.5.17", fetch, fetch)
    assert found_by_read(s, dict(release=installed))["release_from"] == source


@pytest.mark.parametrize("wal_dir, backup_dir, snapshot, check_wal_dir", [
    ("", "/var/backups/etcd", "/var/backups/etcd/restore.db", ""),
    ("/var/lib/etcd-wal/wal", "/var/backups/etcd/", "/var/backups/etcd/restore.db", "/var/lib/etcd-wal/wal.restore-check"),
])
def test_where_a_restore_copies_the_snapshot_and_checks_it(wal_dir, backup_dir, snapshot, check_wal_dir):
    s = settings(etcd_wal_dir=wal_dir, etcd_backup_host_dir=backup_dir)
    assert s["restore"] == dict(snapshot=snapshot, check_data_dir="/var/lib/etcd.restore-check",
                                check_wal_dir=check_wal_dir)


def _keys(value, where="_etcd_host"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield "%s.%s" % (where, key), key
            yield from _keys(item, "%s.%s" % (where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _keys(item, "%s[%d]" % (where, index))


def test_no_field_of_the_settings_is_named_as_a_method_of_a_dict():
    # Jinja resolves _etcd_host.restore.copy to the dict's copy method, not to the field.
    s = settings(etcd_wal_dir="/var/lib/etcd-wal/wal", etcd_backup_schedule="daily", etcd_maintenance_schedule="daily",
                 etcd_backup_drill_schedule="weekly")
    shadowing = [path for path, key in _keys(s) if key in dir(dict)]
    assert shadowing == []


def test_the_push_settings_file_holds_the_hosts_settings_but_the_members_keys_and_targets():
    push = settings(etcd_version="3.4.34", etcd_backup_push_window="120")["backup_push"]["file_settings"]
    # The maintenance script's settings, and the push's own (templates/etcd-backup-push.json.j2 adds the rest).
    assert push["etcdctl"] == "/usr/local/bin/etcdctl" and push["lock_name"] == "run"
    assert (push["window"], push["leader_delay"], push["cluster"]) == (120, 5, "etcd/etcd")
    assert push["status_file"] == "/var/backups/etcd/push-status.json"
    assert push["drill_status_file"] == "/var/backups/etcd/drill-status.json"
    # etcd 3.4 has no etcdutl: etcdctl reads the snapshot.
    assert push["etcdutl"] == "/usr/local/bin/etcdctl"
    assert settings(etcd_version="3.5.30")["backup_push"]["file_settings"]["etcdutl"] == "/usr/local/bin/etcdutl"
    assert not {"name", "public_key", "signing_seed", "targets"} & set(push)
