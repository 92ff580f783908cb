# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The members' timers' systemd units (roles/etcd/tasks/schedule.yml): each timer's oneshot service
and its timer, from the timer as host_settings describes it (plugins/module_utils/host/host_settings.py,
_timers: its kind, schedule, what its service runs and writes) and the member's name.
"""

from ansible_collections.raftops.etcd.plugins.module_utils.host.systemd_unit import comment, hardening, unit_text

ORDERING_ONLY = ("Ordering only: a Requires= or Requisite= job on the etcd unit would start etcd, or cancel a stop\n"
                 "or restart the role has queued (a restore, a roll). While etcd is down, etcdctl just fails.")
AS_THE_SNAPSHOT = "Ordering only, as for the snapshot service: never start etcd, never cancel a queued stop."

# Each kind of timer: its service's and its timer's descriptions (of the member's name), why its
# service is ordered after etcd, why it has a start timeout (None: it has none), what its hardening
# needs said, and whether a run missed while the host was down runs at boot (Persistent=).
KINDS = {
    "snapshot": dict(
        service="Snapshot of etcd member %s", timer="Scheduled snapshots of etcd member %s", after=ORDERING_ONLY,
        timeout="A oneshot has no start timeout by default: an etcdctl snapshot save whose etcd was killed\n"
                "mid-stream waits for ever, and the timer never fires again.",
        hardening=None, persistent=True),
    "backup-drill": dict(
        service="Restore drill of the newest off-host backup of etcd member %s",
        timer="Scheduled restore drill of etcd member %s's off-host backups", after=AS_THE_SNAPSHOT,
        timeout="No drill waits for ever (a oneshot has no start timeout by default).",
        hardening="The drill's private etcd works in this unit's own /var/tmp (PrivateTmp=), gone when the unit stops.",
        persistent=True),
    "maintenance": dict(
        service="Scheduled defragmentation of etcd member %s", timer="Scheduled defragmentation of etcd member %s",
        after=AS_THE_SNAPSHOT, timeout=None, hardening=None, persistent=False),
    # Long-running: its timer starts it again a few seconds after it ends (a lost claim, etcd down).
    "backup-stream": dict(
        service="Change stream of etcd member %s off-host", timer="Keeps the change stream of etcd member %s running",
        after=AS_THE_SNAPSHOT, timeout=None, hardening=None, persistent=False, long_running=True),
}


def service_text(timer, member, header=""):
    """The service of ``timer`` (host_settings' record) on member ``member``: a oneshot, with a start
    timeout at low priority too; the change stream's runs until it ends, part of its timer."""
    kind = KINDS[timer["kind"]]
    low_priority = [("Nice", 10), ("IOSchedulingClass", "idle")] if kind["timeout"] else []
    if kind.get("long_running"):
        low_priority = [("Nice", 5)]
    part_of = [comment("Stopping or restarting the timer (its settings changed, the stream turned off) stops or "
                       "restarts the service."), ("PartOf", timer["unit"])] if kind.get("long_running") else []
    return unit_text([
        ("Unit", [("Description", kind["service"] % member), comment(kind["after"]), ("After", timer["after"]), *part_of]),
        ("Service", [("Type", "simple" if kind.get("long_running") else "oneshot"),
                     *([comment(kind["timeout"]), ("TimeoutStartSec", "1h")] if kind["timeout"] else []),
                     ("ExecStart", timer["run"]), *low_priority,
                     *([comment(kind["hardening"])] if kind["hardening"] else []),
                     *hardening(timer["writable"])]),
    ], header)


def timer_text(timer, member, header=""):
    """The timer of ``timer`` (host_settings' record) on member ``member``, at its schedule."""
    kind = KINDS[timer["kind"]]
    if kind.get("long_running"):
        # Starts the service now, and again 5 s after it ended: a member waits for the claim while another streams.
        when = [("OnActiveSec", "1s"), ("OnUnitInactiveSec", "5s")]
    else:
        when = [("OnCalendar", timer["schedule"]), ("Persistent", True if kind["persistent"] else None)]
    return unit_text([
        ("Unit", [("Description", kind["timer"] % member)]),
        ("Timer", [*when, ("AccuracySec", "1s")]),
        ("Install", [("WantedBy", "timers.target")]),
    ], header)


def timer_unit_files(timer, member, header=""):
    """The files of ``timer``'s units (those of its files with ``unit``), root's, with their text."""
    texts = dict(service=service_text, timer=timer_text)
    return [dict(path=file["dest"], owner="root", group="root", mode=file["mode"],
                 content=texts[file["unit"]](timer, member, header)) for file in timer["files"] if "unit" in file]
