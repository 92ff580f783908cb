# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""What the etcd role derives of one host from its ``etcd_*`` settings alone (no read of anything):
its paths, the release, the timers and their files, the backup push's files, the maintenance,
status and PKI settings, and what the role's read of the host (etcd_host_info) asks for. Computed
once per host by the action of raftops.etcd.etcd_host_info (``_etcd_host``, vars/main.yml, reads it from that result),
or by the lookup raftops.etcd.etcd_host_settings where no read ran (remove.yml, the connection
settings before the read).
"""

import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.raftops.etcd.plugins.module_utils.backup.push_targets import backup_push_hosts
from ansible_collections.raftops.etcd.plugins.module_utils.host.container_runtime import container_image
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import run_lock_prefix
from ansible_collections.raftops.etcd.plugins.module_utils.host.values import duration_seconds, integer, wal_parent
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import version_tuple

# The role variables host_settings reads (the action and the lookup template these).
NAMES = (
    "etcd_auto_tls", "etcd_backup_cluster", "etcd_backup_compression", "etcd_backup_drill_schedule",
    "etcd_backup_host_dir", "etcd_backup_max_age", "etcd_backup_metrics_dir", "etcd_backup_push",
    "etcd_backup_push_window", "etcd_backup_schedule", "etcd_backup_stream_interval", "etcd_backup_targets", "etcd_bin_dir",
    "etcd_bootstrap", "etcd_client_port", "etcd_config_dir", "etcd_container_image", "etcd_defrag_rule", "etcd_discovery_srv",
    "etcd_download_cache_dir",
    "etcd_download_on_hosts", "etcd_group", "etcd_health_timeout", "etcd_install_dir", "etcd_instance", "etcd_maintenance_defrag_timeout",
    "etcd_maintenance_schedule", "etcd_max_raft_index_gap", "etcd_metrics", "etcd_metrics_port",
    "etcd_metrics_scrapers", "etcd_peer_port", "etcd_pki_managed", "etcd_pki_renew_before_days", "etcd_pki_replace_ca",
    "etcd_quota_backend_bytes", "etcd_release_base_url", "etcd_run_lock_ttl", "etcd_runtime", "etcd_status_backup_max_age_hours",
    "etcd_tls", "etcd_user", "etcd_version", "etcd_data_dir", "etcd_wal_dir",
)
# How long the leader waits before it pushes, in seconds, so that a follower pushes first.
PUSH_LEADER_DELAY = 5
# The binaries a release may have; etcdutl from 3.5 on.
RELEASE_BINARIES = ("etcd", "etcdctl", "etcdutl")
# What the maintenance timer's script imports beside it (a script of roles/etcd/files, or DOMAIN/NAME.py
# of plugins/module_utils, which the scripts import as etcd_NAME), and what the backup push adds:
# copied as they are, so that the modules and the timers decide alike.
MAINTENANCE_LIB = ("etcd_maintenance.py", "cluster/defrag_rule.py", "lock/run_lock.py", "cluster/leadership.py")
PUSH_LIB = ("etcd_backup_push.py", "backup/backup_crypto.py", "backup/s3.py", "host/files.py", "etcd_backup_drill.py",
            "backup/restore_rules.py", "cluster/private_etcd.py", "client/formats.py", "etcd_backup_stream.py",
            "backup/stream_segments.py")
# The member's certificates and keys in its PKI directory (with the directory itself, '').
PKI_FILES = ("", "/ca.pem", "/server.pem", "/peer.pem", "/crl.pem", "/server-key.pem", "/peer-key.pem", "/client.pem",
             "/client-key.pem", "/root.pem", "/root-key.pem")
SYSTEMD_DIR = "/etc/systemd/system"
# Seconds stop_bounded.yml gives etcd to stop on SIGTERM before it kills it.
STOP_GRACE = 15


def clean(path):
    """A path as the host read reports it: no doubled slash, so that paths compare as they are."""
    return re.sub("//+", "/", path)


def _flag(value):
    return boolean(value, strict=False)


def _int(value):
    """The integer of a setting as Jinja's int filter gave it (0 for anything else: the settings check refuses it)."""
    number = integer(value)
    return 0 if number is None else number


def release_numbers(version):
    """``3.5.17`` -> [3, 5, 17]; [] for a version that is no release: the inventory's check refuses
    it right after the host read."""
    try:
        return version_tuple(version)
    except ValueError:
        return []


def release_binaries(numbers):
    """The binaries of the release of ``numbers`` (release_numbers) that get links: no etcdutl before
    3.5. A version that is no release keeps every one."""
    return [name for name in RELEASE_BINARIES if name != "etcdutl" or not numbers or numbers[:2] >= [3, 5]]


def _lib_name(source):
    return "etcd_" + source.split("/")[-1] if "/" in source else source


def _lib_file(role_path, lib_dir, source):
    base = role_path + "/../../plugins/module_utils" if "/" in source else role_path + "/files"
    return dict(src="%s/%s" % (base, source), dest="%s/%s" % (lib_dir, _lib_name(source)))


def _timers(v, lib_dir, push, etcd_unit):
    """The members' timers, each a script, a oneshot service and a timer; a timer whose schedule is
    empty is removed (schedule.yml). The scheduled drill proves what the push sent: only with the push.
    Each with what its service runs (``run``), the paths it writes (``writable``, ReadWritePaths=, ``-``
    for one that may be missing) and the etcd unit it is ordered after (``after``): its units' text is
    plugins/module_utils/host/timer_units.py's. The change stream's timer starts its long-running
    service again a few seconds after it ends: its "schedule" is etcd_backup_stream_interval (no
    calendar), and a change of the push's settings or code restarts the stream (``restart_on``)."""
    instance, system = v["etcd_instance"], SYSTEMD_DIR
    host_dir, metrics_dir = v["etcd_backup_host_dir"], "-" + v["etcd_backup_metrics_dir"]

    def timer(kind, setting, schedule, first, run, writable, restart_on=()):
        name = "%s-%s" % (instance, kind)
        return dict(name=name, kind=kind, unit=name + ".timer", setting=setting, schedule=schedule, after=etcd_unit,
                    run=run, writable=writable, restart_on=list(restart_on),
                    calendar=setting != "etcd_backup_stream_interval", files=[
                        *first, dict(unit="service", dest="%s/%s.service" % (system, name), mode="0644"),
                        dict(unit="timer", dest="%s/%s.timer" % (system, name), mode="0644")])

    snapshot = "%s/%s-snapshot" % (v["etcd_bin_dir"], instance)
    stream = str(_int(v["etcd_backup_stream_interval"])) if push["on"] and _int(v["etcd_backup_stream_interval"]) > 0 else ""
    return [
        timer("snapshot", "etcd_backup_schedule", v["etcd_backup_schedule"],
              [dict(src="etcd-snapshot.j2", dest=clean(snapshot), mode="0755")],
              [snapshot], [host_dir] + ([metrics_dir] if push["on"] else [])),
        timer("backup-drill", "etcd_backup_drill_schedule", v["etcd_backup_drill_schedule"] if push["on"] else "", [],
              ["/usr/bin/python3", lib_dir + "/etcd_backup_drill.py", push["settings"]], [metrics_dir, host_dir]),
        timer("maintenance", "etcd_maintenance_schedule", v["etcd_maintenance_schedule"],
              [dict(src="etcd-maintenance.json.j2", dest=lib_dir + "/etcd_maintenance.json", mode="0644")],
              ["/usr/bin/python3", lib_dir + "/etcd_maintenance.py", lib_dir + "/etcd_maintenance.json"], []),
        timer("backup-stream", "etcd_backup_stream_interval", stream, [],
              ["/usr/bin/python3", lib_dir + "/etcd_backup_stream.py", push["settings"]], [metrics_dir, host_dir],
              [push["settings"]] + [f["dest"] for f in push["lib_files"]]),
    ]


# The SSH targets' hosts of the push (docs/backup-targets.md): a fixed account and paths.
PUSH_RECEIVE = {
    "user": "etcd-backup",
    "home": "/var/lib/etcd-backup",
    "authorized_keys": "/var/lib/etcd-backup/.ssh/authorized_keys",
    "script": "/usr/local/lib/raftops-etcd/etcd_backup_receive.py",
    # Root's, 0755: the account's .ssh and the script's.
    "directories": ["/var/lib/etcd-backup/.ssh", "/usr/local/lib/raftops-etcd"],
}


def _backup_push(v, lib_dir, role_path):
    """The backup push (etcd_backup_push; tasks/backup_push.yml): on, the code it runs beside the
    maintenance timer's, its settings (credentials among them), the member's own SSH key and its SSH
    targets' host keys, all removed when it is off; code: the maintenance timer's code is installed
    (for the timer or for the push); hosts: its SSH targets' hosts; max_age_seconds: etcd_backup_max_age
    in seconds, which the drill writes beside its metrics, where the alert rules read it (0 for what
    is no Go duration: the settings check refuses it). Not its targets, whose credentials the lookup
    raftops.etcd.etcd_host_settings gives where a task reads them (_etcd_backup_push, vars/main.yml):
    no output shows them."""
    on = all([_flag(v["etcd_backup_push"]), v["etcd_backup_schedule"], v["etcd_backup_targets"]])
    names = [_lib_name(source) for source in PUSH_LIB] + [
        "etcd_backup_push.json", "etcd_backup_push_ssh", "etcd_backup_push_ssh.pub", "etcd_backup_push_known_hosts"]
    return {
        "on": on,
        "code": bool(v["etcd_maintenance_schedule"]) or on,
        "hosts": backup_push_hosts(v["etcd_backup_targets"]),
        "max_age_seconds": int(duration_seconds(v["etcd_backup_max_age"]) or 0),
        "lib_files": [_lib_file(role_path, lib_dir, source) for source in PUSH_LIB],
        "settings": lib_dir + "/etcd_backup_push.json",
        "ssh_key": lib_dir + "/etcd_backup_push_ssh",
        "known_hosts": lib_dir + "/etcd_backup_push_known_hosts",
        "paths": ["%s/%s" % (lib_dir, name) for name in names],
        # On the SSH targets' hosts: the account the members' keys log in as, owning the targets'
        # directories only, its authorized_keys (root's: the account cannot change it), and the forced
        # command's script (files/etcd_backup_receive.py), root's.
        "receive": dict(PUSH_RECEIVE),
    }


def paths_found(paths, files_read):
    """Those of ``paths`` that the read of the host found (etcd_host_info's files), in the read's order:
    schedule.yml removes those of a timer without a schedule."""
    return [path for path, state in (files_read or {}).items() if state.get("kind") != "absent" and path in paths]


def found_by_read(s, read):
    """Settings ``s`` with what the read of the host (etcd_host_info's result; None before one) found of
    their paths: the timers' files (timer_paths_found), the client pair of a root login
    (client_pair_found, which the connection settings read: plugins/plugin_utils/connection.py), and
    where install.yml takes the release from (release_from): nowhere when the host runs it already,
    else as release_fetch says."""
    read = read or {}
    s["timer_paths_found"] = paths_found(s["timer_paths"], read.get("files"))
    s["client_pair_found"] = s["pki_settings"]["pair_key"] in (read.get("present") or [])
    s["release_from"] = "none" if read.get("release") == s["release_version"] else s["release_fetch"]
    return s


def restore_paths(v):
    """Where a restore (tasks/restore.yml) copies the snapshot on the member (``snapshot``), and the
    data dir and WAL dir its check restores into (``check_data_dir``, ``check_wal_dir``, '' without a
    WAL dir apart): beside the real ones, on the same filesystem, as the old ones are moved aside."""
    return dict(snapshot=clean(v["etcd_backup_host_dir"] + "/restore.db"),
                check_data_dir=v["etcd_data_dir"] + ".restore-check",
                check_wal_dir=v["etcd_wal_dir"] + ".restore-check" if v["etcd_wal_dir"] else "")


def host_settings(v, role_path, files_read=None):
    """Everything the role derives of a host from its settings ``v`` (the ``etcd_*`` values of NAMES),
    with ``role_path``, the role's directory (the source of the code the timers run), and, once the
    host was read, what the read found of the paths it asked for (etcd_host_info's files)."""
    tls, auto_tls, managed = _flag(v["etcd_tls"]), _flag(v["etcd_auto_tls"]), _flag(v["etcd_pki_managed"])
    config_dir, bin_dir, instance = v["etcd_config_dir"], v["etcd_bin_dir"], v["etcd_instance"]
    release_dir = "%s/v%s" % (v["etcd_install_dir"], v["etcd_version"])
    numbers = release_numbers(v["etcd_version"])
    pki_host_dir = config_dir + "/pki"
    unit = instance + ".service"
    s = dict(
        release_dir=release_dir,
        bin_dir=bin_dir,
        release_version=str(v["etcd_version"]),
        # etcd_version as numbers, which the member's settings compare (configure.yml).
        release_numbers=numbers,
        # The host fetches the tarball itself from the release URL, or is sent it from the
        # controller's cache (download.yml fills it).
        release_fetch="url" if _flag(v["etcd_download_on_hosts"]) else "cache",
        release_url="%s/v%s" % (v["etcd_release_base_url"], v["etcd_version"]),
        release_cache_dir="%s/v%s" % (v["etcd_download_cache_dir"], v["etcd_version"]),
        binaries=release_binaries(numbers),
        # With etcd_runtime container, the image the members run (docs/runtime.md): the site's, or
        # the one install.yml builds from the release on each host.
        container=v["etcd_runtime"] == "container",
        container_image=container_image(v["etcd_container_image"], v["etcd_version"]),
        pki_host_dir=pki_host_dir,
        # The CA's revocation list on the members; etcd reads it on every new connection, no restart.
        crl_host_path=pki_host_dir + "/crl.pem",
        env_path=config_dir + "/etcd.env",
        # This cluster's systemd unit (etcd_instance), and the link that enables it.
        unit=unit,
        unit_path="%s/%s" % (SYSTEMD_DIR, unit),
        unit_enabled_path="%s/multi-user.target.wants/%s" % (SYSTEMD_DIR, unit),
        # Present on a member until it has restarted with its new binaries, settings or certificates.
        restart_note_path=config_dir + "/restart-pending",
        # Members with data are staged: their new settings wait here until their own roll step.
        stage_dir=config_dir + "/staged",
        start_script=config_dir + "/etcd-start",
        scheme="https" if tls or auto_tls else "http",
        # The scheme the validated member list gives every member's URLs (facts.yml): etcd's auto-TLS
        # serves https without the role's certificates; else each member's own etcd_tls says.
        members_scheme="https" if auto_tls else None,
        # The pair the members' timers give etcdctl on etcd's gRPC port, where etcd takes a certificate's
        # CN for the user: with the role's PKI the member's own pair with CN root; else its server pair.
        timer_pair="root" if managed else "server",
        srv_domain=v["etcd_discovery_srv"] if v["etcd_bootstrap"] == "dns_srv" else "",
        run_lock_prefix=run_lock_prefix(v["etcd_group"]),
        stop_grace=STOP_GRACE,
        maintenance_lib_dir=clean(v["etcd_install_dir"] + "/lib"),
    )
    # What install.yml makes of the image: built from the release, or the site's pulled; none on the host runtime.
    s["install_image"] = dict(name=s["container_image"], build=not v["etcd_container_image"]) if s["container"] else None
    s["local_endpoint"] = "%s://127.0.0.1:%s" % (s["scheme"], v["etcd_client_port"])
    lib_dir = s["maintenance_lib_dir"]
    s["maintenance_lib_files"] = [_lib_file(role_path, lib_dir, source) for source in MAINTENANCE_LIB]
    s["backup_push"] = push = _backup_push(v, lib_dir, role_path)
    s["timers"] = timers = _timers(v, lib_dir, push, unit)
    scheduled = [timer for timer in timers if timer["schedule"]]
    s["scheduled_timer_units"] = [timer["unit"] for timer in scheduled]
    # Each timer's schedule by the setting that holds it, for systemd's calendar parser (preflight).
    s["calendars"] = {timer["setting"]: timer["schedule"] for timer in scheduled if timer["calendar"]}
    # The directories schedule.yml's files call makes for the timers with a schedule.
    s["timer_directories"] = (
        ([dict(path=v["etcd_backup_host_dir"], owner="root", group="root", mode="0700")] if v["etcd_backup_schedule"] else [])
        + ([dict(path=lib_dir, owner="root", group="root", mode="0755")] if push["code"] else []))
    s["restore"] = restore_paths(v)
    # The timers' files and the code the maintenance timer runs.
    s["timer_paths"] = ([f["dest"] for f in s["maintenance_lib_files"]] + push["paths"]
                        + [f["dest"] for timer in timers for f in timer["files"]])
    # The paths whose presence the read of each host reports: the client pair for a root login, the
    # link that enables the unit, a restart note an earlier run left, and the release's etcd binary
    # (written last: the release is complete).
    # The client pair's path is compared as it is written (pki_settings' pair_key, client_pair_found).
    s["paths_read"] = [pki_host_dir + "/client-key.pem"] + [
        clean(path) for path in (s["unit_enabled_path"], s["restart_note_path"], release_dir + "/etcd")]
    # Every path configure.yml's files call may write, with the staged copies of its settings, unit
    # and start script: that call's action then spares a host whose files are all as asked.
    written = [s["env_path"], s["unit_path"], s["start_script"]]
    s["member_file_paths"] = (
        [config_dir, v["etcd_data_dir"]] + written
        + [path for path in (wal_parent(v["etcd_data_dir"], v["etcd_wal_dir"]), v["etcd_wal_dir"]) if path]
        + ["%s/%s" % (s["stage_dir"], path.rsplit("/", 1)[-1]) for path in written]
        + ([pki_host_dir + name for name in PKI_FILES] if tls else []))
    metrics_on = v["etcd_metrics"] != "off"
    # What the host's settings ask of it, which the plan reads beside what the host read (etcd_plan's report).
    s["wanted"] = dict(data_dir=v["etcd_data_dir"], wal_dir=v["etcd_wal_dir"],
                       metrics_port=_int(v["etcd_metrics_port"]) if metrics_on else None,
                       local_endpoint=s["local_endpoint"], python_cryptography=push["on"])
    # The arguments of the read of each host (etcd_host_info) that these settings give.
    s["read"] = dict(
        account=v["etcd_user"],
        paths=s["paths_read"],
        # Every binary a release may have: where the links point (install.yml).
        links=[clean("%s/%s" % (bin_dir, name)) for name in RELEASE_BINARIES],
        # The CA the member trusts, checked against etcd_pki_dir (pki_controller.yml).
        checksums=[pki_host_dir + "/ca.pem"],
        # What configure.yml's and schedule.yml's files calls compare.
        files=s["member_file_paths"] + [d["path"] for d in s["timer_directories"]] + s["timer_paths"],
        units=s["scheduled_timer_units"],
        unit_path=s["unit_path"],
        data_dir=v["etcd_data_dir"],
        wal_dir=v["etcd_wal_dir"] or None,
        bin_path=bin_dir + "/etcd",
        v2store_target=str(v["etcd_version"]),
        ports=[_int(v["etcd_client_port"]), _int(v["etcd_peer_port"])] + ([_int(v["etcd_metrics_port"])] if metrics_on else []),
        endpoints=[s["local_endpoint"]],
        login_client_cert=pki_host_dir + "/client.pem",
        login_client_key=pki_host_dir + "/client-key.pem",
        # Whether the image is there already (install.yml builds or pulls it when not).
        images=[s["container_image"]] if s["container"] else [],
    )
    # The settings the maintenance script reads (templates/etcd-maintenance.json.j2), but the
    # member's name, which the validated member list gives (vars/main.yml).
    s["maintenance_settings"] = dict(
        etcdctl=bin_dir + "/etcdctl",
        endpoint=s["local_endpoint"],
        ca_cert=pki_host_dir + "/ca.pem" if tls else "",
        client_cert="%s/%s.pem" % (pki_host_dir, s["timer_pair"]) if tls else "",
        client_key="%s/%s-key.pem" % (pki_host_dir, s["timer_pair"]) if tls else "",
        insecure_skip_tls_verify=auto_tls,
        rule=v["etcd_defrag_rule"],
        quota_bytes=_int(v["etcd_quota_backend_bytes"]),
        lock_prefix=s["run_lock_prefix"],
        lock_name="run",
        lock_ttl=_int(v["etcd_run_lock_ttl"]),
        max_raft_index_gap=_int(v["etcd_max_raft_index_gap"]),
        health_timeout=_int(v["etcd_health_timeout"]),
        defrag_timeout=_int(v["etcd_maintenance_defrag_timeout"]),
    )
    # Under Docker, which cannot pass etcd's readiness on, the member's unit is started once etcd answers
    # this on the host, as the maintenance script reaches it (member_config._runs).
    m = s["maintenance_settings"]
    tls_flags = (["--cacert=" + m["ca_cert"], "--cert=" + m["client_cert"], "--key=" + m["client_key"]] if m["ca_cert"]
                 else ["--insecure-skip-tls-verify"] if m["insecure_skip_tls_verify"] else [])
    s["ready_check"] = [m["etcdctl"], "--endpoints=" + m["endpoint"], "--command-timeout=2s", *tls_flags, "endpoint", "status"]
    # The settings the backup push reads (templates/etcd-backup-push.json.j2): the maintenance script's
    # and the push's own, but the member's name, its keys and the targets with their credentials,
    # which the template adds.
    host_dir = v["etcd_backup_host_dir"]
    push["file_settings"] = dict(
        s["maintenance_settings"],
        instance=instance,
        window=_int(v["etcd_backup_push_window"]),
        leader_delay=PUSH_LEADER_DELAY,
        cluster=v["etcd_backup_cluster"],
        compression=v["etcd_backup_compression"],
        status_file=host_dir + "/push-status.json",
        ssh_key=push["ssh_key"],
        known_hosts=push["known_hosts"],
        etcd=bin_dir + "/etcd",
        etcdutl=bin_dir + ("/etcdutl" if "etcdutl" in s["binaries"] else "/etcdctl"),
        etcd_user=v["etcd_user"],
        backup_dir=host_dir,
        drill_status_file=host_dir + "/drill-status.json",
        metrics_dir=v["etcd_backup_metrics_dir"],
        schedule=v["etcd_backup_schedule"],
        stream_interval=_int(v["etcd_backup_stream_interval"]),
        stream_status_file=host_dir + "/stream-status.json",
        max_age_seconds=push["max_age_seconds"],
        server_cert=pki_host_dir + "/server.pem",
        server_key=pki_host_dir + "/server-key.pem",
    )
    # What the status advice (plugins/module_utils/cluster/status_advice.py) reads of the settings.
    s["status_settings"] = {name: v[name] for name in (
        "etcd_group", "etcd_instance", "etcd_pki_managed", "etcd_pki_renew_before_days", "etcd_quota_backend_bytes",
        "etcd_max_raft_index_gap", "etcd_status_backup_max_age_hours", "etcd_backup_max_age")}
    # What the certificates etcd_pki makes name and which client pairs it issues depend on
    # (plugins/module_utils/pki/pki_plan.py, plan_pki).
    s["pki_settings"] = dict(managed=managed, srv_domain=s["srv_domain"],
                             scrapers=list(v["etcd_metrics_scrapers"] or []) if v["etcd_metrics"] == "address" else [],
                             pair_key=pki_host_dir + "/client-key.pem", ca_path=pki_host_dir + "/ca.pem",
                             replace_ca=_flag(v["etcd_pki_replace_ca"]))
    return found_by_read(s, dict(files=files_read))
