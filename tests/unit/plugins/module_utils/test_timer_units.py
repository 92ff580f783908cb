"""The members' timers' units (plugins/module_utils/host/timer_units.py) from the timers as
host_settings describes them: the text the role's templates wrote, byte for byte (a timer whose
units did not change is not restarted), but the drill's service, whose hardening is now in the
shared order."""

from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import _timers
from ansible_collections.raftops.etcd.plugins.module_utils.host.timer_units import service_text, timer_text, timer_unit_files

VALUES = dict(etcd_instance="etcd", etcd_backup_host_dir="/var/backups/etcd", etcd_bin_dir="/usr/local/bin",
              etcd_backup_metrics_dir="/var/lib/node_exporter", etcd_backup_schedule="*-*-* 02:00:00",
              etcd_backup_drill_schedule="Sun 04:00", etcd_maintenance_schedule="Sat 03:00", etcd_backup_stream_interval=20)
HEADER = "#\n# Ansible managed\n#"

SNAPSHOT_SERVICE = """\
#
# Ansible managed
#
[Unit]
Description=Snapshot of etcd member etcd-host0
# Ordering only: a Requires= or Requisite= job on the etcd unit would start etcd, or cancel a stop
# or restart the role has queued (a restore, a roll). While etcd is down, etcdctl just fails.
After=etcd.service

[Service]
Type=oneshot
# A oneshot has no start timeout by default: an etcdctl snapshot save whose etcd was killed
# mid-stream waits for ever, and the timer never fires again.
TimeoutStartSec=1h
ExecStart=/usr/local/bin/etcd-snapshot
Nice=10
IOSchedulingClass=idle
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=/var/backups/etcd
ReadWritePaths=-/var/lib/node_exporter
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
"""
DRILL_SERVICE = """\
#
# Ansible managed
#
[Unit]
Description=Restore drill of the newest off-host backup of etcd member etcd-host0
# Ordering only, as for the snapshot service: never start etcd, never cancel a queued stop.
After=etcd.service

[Service]
Type=oneshot
# No drill waits for ever (a oneshot has no start timeout by default).
TimeoutStartSec=1h
ExecStart=/usr/bin/python3 /opt/etcd/lib/etcd_backup_drill.py /opt/etcd/lib/etcd_backup_push.json
Nice=10
IOSchedulingClass=idle
# The drill's private etcd works in this unit's own /var/tmp (PrivateTmp=), gone when the unit stops.
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=-/var/lib/node_exporter
ReadWritePaths=/var/backups/etcd
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
"""
MAINTENANCE_SERVICE = """\
#
# Ansible managed
#
[Unit]
Description=Scheduled defragmentation of etcd member etcd-host0
# Ordering only, as for the snapshot service: never start etcd, never cancel a queued stop.
After=etcd.service

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /opt/etcd/lib/etcd_maintenance.py /opt/etcd/lib/etcd_maintenance.json
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
"""
SNAPSHOT_TIMER = """\
#
# Ansible managed
#
[Unit]
Description=Scheduled snapshots of etcd member etcd-host0

[Timer]
OnCalendar=*-*-* 02:00:00
Persistent=true
AccuracySec=1s

[Install]
WantedBy=timers.target
"""
MAINTENANCE_TIMER = """\
#
# Ansible managed
#
[Unit]
Description=Scheduled defragmentation of etcd member etcd-host0

[Timer]
OnCalendar=Sat 03:00
AccuracySec=1s

[Install]
WantedBy=timers.target
"""


def units(push_on=True):
    push = dict(on=push_on, settings="/opt/etcd/lib/etcd_backup_push.json", lib_files=[])
    return {file["path"].rsplit("/", 1)[-1]: file for timer in _timers(VALUES, "/opt/etcd/lib", push, "etcd.service")
            for file in timer_unit_files(timer, "etcd-host0", HEADER)}


def test_each_timer_s_service_and_timer_have_the_text_the_templates_wrote():
    written = units()
    assert sorted(written) == ["etcd-backup-drill.service", "etcd-backup-drill.timer", "etcd-backup-stream.service",
                               "etcd-backup-stream.timer", "etcd-maintenance.service", "etcd-maintenance.timer",
                               "etcd-snapshot.service", "etcd-snapshot.timer"]
    assert (written["etcd-snapshot.service"]["content"], written["etcd-snapshot.timer"]["content"]) == (
        SNAPSHOT_SERVICE, SNAPSHOT_TIMER)
    assert (written["etcd-maintenance.service"]["content"], written["etcd-maintenance.timer"]["content"]) == (
        MAINTENANCE_SERVICE, MAINTENANCE_TIMER)
    assert written["etcd-backup-drill.service"]["content"] == DRILL_SERVICE
    assert written["etcd-backup-drill.timer"]["content"].startswith(
        HEADER + "\n[Unit]\nDescription=Scheduled restore drill of etcd member etcd-host0's off-host backups\n")
    assert {(f["owner"], f["group"], f["mode"]) for f in written.values()} == {("root", "root", "0644")}


def test_without_the_push_the_snapshot_writes_no_metrics():
    assert "ReadWritePaths=/var/backups/etcd\nProtectHome=true\n" in units(push_on=False)["etcd-snapshot.service"]["content"]


def test_the_change_stream_s_service_runs_until_it_ends_part_of_its_timer_which_starts_it_again():
    stream = dict(kind="backup-stream", unit="etcd-backup-stream.timer", schedule="20", after="etcd.service",
                  run=["/usr/bin/python3", "/opt/lib/etcd_backup_stream.py", "/opt/lib/etcd_backup_push.json"],
                  writable=["-/var/lib/node_exporter", "/var/backups/etcd"])
    service = service_text(stream, "m0")
    assert "Type=simple\n" in service and "PartOf=etcd-backup-stream.timer\n" in service and "Nice=5\n" in service
    assert "TimeoutStartSec" not in service and "Type=oneshot" not in service
    assert "ExecStart=/usr/bin/python3 /opt/lib/etcd_backup_stream.py /opt/lib/etcd_backup_push.json\n" in service
    timer = timer_text(stream, "m0")
    assert "OnActiveSec=1s\nOnUnitInactiveSec=5s\nAccuracySec=1s\n" in timer and "OnCalendar" not in timer
