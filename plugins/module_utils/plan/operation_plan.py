# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The plans of two day-2 operations of the etcd role and of the status a run ends with, beside the
deploy's (etcd_plan.py):

- the maintenance (playbooks/maintenance.yml): ``maintenance_order`` orders the members the
  etcd_maintenance module read (followers first, the leader last), and ``plan_maintenance`` judges
  that read with the play's hosts: which members are defragmented and how, and what refuses it;
- a CA rotation's phase (tasks/rotate_ca_phase.yml): ``plan_rotation``, which members restart
  before the phase moves on (from the members' reads: ``rotation_reads``), whether the rotation
  waits for the proxies, and what it reports;
- the status at the end of a deploy run (tasks/status.yml): ``status_read``, which read of the run
  it shows, and ``plan_status``, the members of the run that do not run the release, and whether the
  run waits for the cluster version to follow; and the status playbook's refusal
  (tasks/status_report.yml): ``report_refusal``, and its records of pushes and drills: ``status_records``;
- preflight's read of the running cluster (tasks/preflight.yml): ``cluster_read``;
- the day-2 entry points' first check (tasks/deployed.yml): ``deployed_refusal``;
- the hardware preflight's verdict (tasks/preflight_hardware.yml): ``hardware_verdict``, from the
  findings and the suggested timeouts plugins/module_utils/plan/sizing.py makes of the measured figures.

Who takes leadership over from a member is etcd_leadership.successor, for every hand-over.
Pure functions on plain data (no Ansible, no I/O). A host the operation needs that did not answer
refuses the plan by name; it is never left out of it.
"""

from ansible_collections.raftops.etcd.plugins.module_utils.host.timer_units import timer_unit_files
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_rotation import DROP, NONE, REISSUE, TRUST, next_phase
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import truthy
from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import restart_notes

# The phases in which proxies must follow the members before the next: both CAs trusted.
ROTATION_PHASES_WITH_PROXIES = (TRUST, REISSUE)


def _hosts_refusal(hosts, what, outcome):
    return "the hosts %s did not answer %s; %s. Run again once they answer" % (", ".join(hosts), what, outcome)


def maintenance_order(entries):
    """(entries, order): the members' entries of etcd_maintenance's plan, followers by name and the
    leader last, and the names of those to defragment in that order. A leader defragmented last
    hands leadership over once, and only when every follower is done."""
    members = sorted(entries, key=lambda entry: (entry["is_leader"], entry["name"]))
    return members, [entry["name"] for entry in members if entry["defragment"]]


def plan_maintenance(maintenance, members, play_hosts, play_hosts_all):
    """The maintenance run's plan, from etcd_maintenance's ``action=plan`` result (``maintenance``:
    members, order, nospace) and the inventory's members (``members``: dicts with ``host``, ``client_url``).

    ``refusal``: the members' hosts that dropped out of the play (``unanswered``) refuse the run: the
    run lock is held on them. ``with_data`` and ``stable_client_urls``, every member's host and client
    URL, are what the run lock's tasks read of a plan, as after a deploy's read. Those the run leaves
    out (``--limit``) are in ``left_out``; their members are defragmented through the cluster like
    the others.
    ``order``: the names to defragment, the leader last; ``lines``: each member and why;
    ``nospace``: with a NOSPACE alarm the run compacts first and disarms at the end, without the
    run lock (the cluster refuses its write); ``lock``: whether the run lock is held;
    ``allow_leader``: a cluster of one member has no one to hand leadership to, so its leader is
    defragmented as the leader.
    """
    hosts = [member["host"] for member in members]
    unanswered = [host for host in hosts if host in play_hosts_all and host not in play_hosts]
    left_out = [host for host in hosts if host not in play_hosts_all]
    entries = maintenance.get("members") or []
    order = list(maintenance.get("order") or [])
    nospace = bool(maintenance.get("nospace"))
    lines = ["%s: %s" % (entry["name"], entry["reason"]) for entry in entries]
    if left_out:
        lines.append("left out of the run (--limit), defragmented through the cluster: %s" % ", ".join(left_out))
    return dict(
        refusal=_hosts_refusal(unanswered, "the maintenance's read", "nothing was changed") if unanswered else "",
        unanswered=unanswered, left_out=left_out, with_data=hosts,
        stable_client_urls=[member["client_url"] for member in members],
        order=order, lines=lines, nospace=nospace, lock=bool(order) and not nospace,
        allow_leader=len(entries) == 1,
    )


def _answered(read):
    """Whether a host's registered result is an answer: there, and neither unreachable nor failed."""
    return isinstance(read, dict) and not read.get("unreachable") and not read.get("failed")


def _started_at(read):
    """The epoch second etcd started at, from ``systemctl show -p ExecMainStartTimestamp
    --timestamp=unix --value`` (``@1700000000``); 0 when it does not run, or the command did not
    run (check mode), which counts as older: a restart too many at worst."""
    text = str(read.get("stdout") or "").strip().lstrip("@")
    return int(text) if text.isdigit() else 0


def _rotation_message(rotation, pki_dir, paused):
    phase = rotation["phase"]
    if phase == TRUST:
        advice = "Applications: trust %s from now on; their pairs of the old CA work until phase 3." % rotation["bundle"]
    elif phase == REISSUE:
        advice = ("Applications: the new pairs in %s/clients/ (and admin.pem) work now, and the old pairs until "
                  "phase 3." % pki_dir)
    else:
        advice = "Pairs of the old CA are refused from now on."
    if paused:
        advice += (" The rotation stops here (etcd_pki_rotate_ca_pause): hand the applications these files, then "
                   "run the etcd playbook again for phase %s." % (rotation["step"] + 1))
    return "CA rotation: phase %s of 3 is in place on every member (%s). %s" % (
        rotation["step"], rotation["description"], advice)


def rotation_pauses(rotation, pause):
    """Whether a run stops the CA rotation in the phase it just put in place (``rotation``: etcd_pki's
    latest rotation, with phase and phase_before): with ``pause`` (etcd_pki_rotate_ca_pause), once the
    etcd_pki call of this pass moved it into phase 1 or 2, whose files the applications need before the
    next phase (ca-bundle.pem, then their new pairs). So each run moves it one phase on: a run that
    finds it stopped goes on. Phase 3 is not stopped in: its end changes only etcd_pki_dir."""
    moved = rotation.get("phase_before", rotation["phase"]) != rotation["phase"]
    return bool(pause) and moved and rotation["phase"] in (TRUST, REISSUE)


def plan_rotation(plan, rotation, ca_files, starts, play_hosts, settings):
    """One round of a CA rotation (``rotation``: etcd_pki's rotation, with phase, step, description
    and bundle), extending the deploy's ``plan``.

    ``rotation_go``: whether the round moves the rotation on: it is in progress and this pass of the
    role (``settings``: pass) did not hold it for the proxies (``plan``: rotation_after_pass, the
    round before's). Without it, the fields below say nothing is to be done.
    ``rotation_next_phase``: whether the round puts a next phase in place on the members: it moves
    the rotation on, does not hold it, and does not move phase 3 on (which ends it on the controller;
    the members already trust the new CA only). The next round reads the members only after one did.

    ``rotation_stale``: the members with data whose etcd started no later than their trusted CA
    file was written (``ca_files``: host -> its ``stat``; ``starts``: host -> the ``systemctl show``
    of etcd's start): etcd reads that file only when it starts, so they restart before the rotation
    moves on. The same second counts as older: one restart too many at worst.
    ``restart_notes``: the members restart_note.yml notes a restart on: while there are stale members,
    those and the ones running another release (the roll before the rotation moves on); else the
    run's own (etcd_plan.restart_notes), which the roll sets back.
    ``rotation_refusal``: a member with data whose host did not answer either read, or dropped out
    of the play, stops the rotation by name: it would keep trusting what the next phase drops.
    ``rotation_hold``: the proxies follow the members phase by phase (``settings``: proxies_follow,
    proxies and the role's pass): this pass stops once the members are in phase 1 or 2, except in
    the first round of a pass the proxies' play before it followed.
    ``rotation_paused``: the operator stops the rotation after each phase (``settings``: pause,
    etcd_pki_rotate_ca_pause) and this pass moved it into the phase in place (``rotation_pauses``):
    the round holds it as for the proxies, noted ``paused``, after which no pass of the run goes on.
    ``rotation_round``: the round of this pass, counted in the run's plan (``plan``: the plan the
    round before left, or the one this pass's preflight made).
    ``rotation_message``: what the phase in place means for applications (``settings``: pki_dir).
    ``rotation_request``: what the round asks etcd_pki for: ``advance`` when it moves the rotation
    on and does not hold it, ``keep`` otherwise; ``rotation_blockers`` and ``rotation_left_out``, the
    preflight's, are emptied: the round refuses on its own reads (``rotation_refusal``).
    ``rotation_after_pass``: how each pass of the role left the rotation, for the etcd playbook's
    proxies' plays, which run on the group the role puts the members in by it (tasks/rotate_ca.yml): this pass
    (``settings``: pass) noted ``held`` when it holds for the proxies (who follow; the next pass goes
    on), ``paused`` when it pauses (the proxies follow; no next pass), or ``ended`` when the proxies follow and the
    round ends the rotation (phase 3 moves on). Each pass's preflight makes the plan anew, so it
    holds this pass's note only, which is the one its rounds and the plays after it read.
    """
    plan = dict(plan)
    # The round of this pass: one more than the run's plan counted, which each pass's preflight makes anew.
    plan["rotation_round"] = int(plan.get("rotation_round") or 0) + 1
    this_pass = str(settings.get("pass") or "1")
    plan["rotation_after_pass"] = dict(plan.get("rotation_after_pass") or {})
    plan["rotation_go"] = rotation["phase"] != NONE and plan["rotation_after_pass"].get(this_pass) not in ("held", "paused")
    # What the round asks etcd_pki for (pki_issue.yml): advance, in a round that moves the rotation
    # on and does not hold it; keep otherwise. Preflight's blockers and left out are not the round's.
    plan.update(rotation_request="keep", rotation_blockers=[], rotation_left_out=[])
    if not plan["rotation_go"]:
        # Over, or held by this pass for the proxies: the round does nothing, whatever the reads.
        plan.update(rotation_refusal="", rotation_stale=[], rotation_hold=False, rotation_paused=False,
                    rotation_message="", rotation_next_phase=False, restart_notes=restart_notes(plan))
        return plan
    with_data = plan.get("with_data") or []
    unanswered = [host for host in with_data if host not in play_hosts
                  or not _answered(ca_files.get(host)) or not _answered(starts.get(host))]
    plan["rotation_refusal"] = _hosts_refusal(
        unanswered, "the read of their trusted CA file and of etcd's start",
        "the CA rotation stops in phase %s of 3, which the next run resumes" % rotation["step"]) if unanswered else ""
    plan["rotation_stale"] = [host for host in with_data if host not in unanswered
                              and _started_at(starts[host]) <= int((ca_files[host].get("stat") or {}).get("mtime") or 0)]
    # Noted first, and rolled, when there are any (etcd_plan.plan_roll then sets restart_notes back).
    plan["restart_notes"] = restart_notes(plan)
    if plan["rotation_stale"]:
        plan["restart_notes"] = restart_notes(dict(plan, outdated=plan["rotation_stale"]))
    first_round_of_later_pass = plan["rotation_round"] == 1 and this_pass != "1"
    plan["rotation_paused"] = rotation_pauses(rotation, truthy(settings.get("pause")))
    plan["rotation_hold"] = plan["rotation_paused"] or bool(
        settings.get("proxies_follow") and settings.get("proxies") and rotation["phase"] in ROTATION_PHASES_WITH_PROXIES
        and not first_round_of_later_pass)
    plan["rotation_message"] = _rotation_message(rotation, settings.get("pki_dir") or "", plan["rotation_paused"])
    plan["rotation_next_phase"] = not plan["rotation_hold"] and next_phase(rotation["phase"], "advance", False) != NONE
    if not plan["rotation_hold"]:
        plan["rotation_request"] = "advance"
    if plan["rotation_hold"]:
        plan["rotation_after_pass"][this_pass] = "paused" if plan["rotation_paused"] else "held"
    elif settings.get("proxies_follow") and rotation["phase"] == DROP:
        # This round moves phase 3 on, which ends the rotation: the proxies then trust the new CA only.
        plan["rotation_after_pass"][this_pass] = "ended"
    return plan


def rotation_reported(after_pass, this_pass):
    """Whether the status at the end of a pass of the role reports the CA rotation etcd_pki_dir is in:
    not when this pass held it for the proxies (``after_pass``: the plan's rotation_after_pass), as the
    etcd playbook's next pass goes on with it in the same run; else, while it is under way, it stopped."""
    return (after_pass or {}).get(str(this_pass or "1")) != "held"


def rotation_read_due(plan, host):
    """Whether ``host`` is read for a round of the CA rotation (the stage rotation_read, rotate_ca_phase.yml): a
    member with data of the run's ``plan``, in the first round (preflight's plan, without the round's fields)
    and after a round that put a next phase in place (its rotation_next_phase): not once the rotation is
    over, or once this pass held it for the proxies."""
    return bool(plan.get("rotation_next_phase", True)) and host in (plan.get("with_data") or [])


def rotation_reads(reads):
    """The reads of plan_rotation from each member's read (``reads``: host -> the ``rotation_read`` the stage
    rotation_read put in its plan: ``ca_file``, ansible.builtin.stat's result of its trusted CA file, and
    ``start``, the result of ``systemctl show -p ExecMainStartTimestamp --timestamp=unix --value``):
    ``(ca_files, starts)``, host -> the file's ``stat`` (no such file: exists false) and host -> the
    ``systemctl show`` result. A host that did not answer (or was not asked: a round with nothing to
    do) is in neither, and one whose stat or ``systemctl show`` failed is not in that one, so the plan
    refuses it by name."""
    ca_files, starts = {}, {}
    for host, read in reads.items():
        if not isinstance(read, dict):
            continue
        ca_file, start = read.get("ca_file"), read.get("start")
        if _answered(ca_file):
            stat = ca_file.get("stat") or {}
            ca_files[host] = dict(stat=dict(exists=bool(stat.get("exists")), mtime=int(stat.get("mtime") or 0)))
        if _answered(start) and start.get("rc") == 0:
            starts[host] = dict(stdout=start.get("stdout") or "")
    return ca_files, starts


def _cluster_version_follows(version, release):
    """Whether etcd's cluster version (major.minor, or major.minor.patch) is the release's major.minor."""
    wanted = ".".join(str(release).split(".")[:2])
    return str(version or "") == wanted or str(version or "").startswith(wanted + ".")


# The reads that may stand for the status at the end of a deploy run (the plan's status_read).
STATUS_READS = ("bootstrap", "preflight", "none")


def cluster_read(read, lock_read):
    """Preflight's read of the running cluster, etcd_health's result: the one taken with the run lock
    (``lock_read``: etcd_lock's result, whose ``cluster`` is that read) when the lock was asked for,
    else ``read`` (preflight's own, a skipped one before a new cluster); {} without either."""
    if isinstance(lock_read, dict) and isinstance(lock_read.get("cluster"), dict):
        return lock_read["cluster"]
    return read if isinstance(read, dict) else {}


def bootstrap_failure(health):
    """Why the new cluster did not form, from the bootstrap's health wait (``health``: etcd_health's
    result, None in a check run, which starts nothing): '' once every member is healthy."""
    if health is None or (isinstance(health, dict) and health.get("healthy")):
        return ""
    return (health.get("msg") if isinstance(health, dict) else "") or "the health wait failed"


def status_read(which, reads):
    """The read the status at the end of a deploy run shows (tasks/status.yml), as the plan's
    ``status_read`` (``which``) says: the new cluster's health wait (``reads["bootstrap"]``) once it
    found every member healthy, or preflight's read (``reads["preflight"]``, cluster_read's), while
    nothing changed in the cluster since; else status.yml's own read (``reads["status"]``, skipped
    when the plan named another: a check run of a new cluster, which starts nothing)."""
    if which not in STATUS_READS:
        raise ValueError("status_read must be one of %s, got %r" % (", ".join(STATUS_READS), which))
    if which == "bootstrap" and (reads.get("bootstrap") or {}).get("healthy"):
        return reads["bootstrap"]
    if which == "preflight":
        return reads.get("preflight") or {}
    return reads.get("status") or {}


def plan_status(health, members_in_run, settings):
    """The status read at the end of a deploy run (``health``: etcd_health's result, or a skipped
    one) judged against the release (``settings``: version, all_members_in_run, check_mode).

    ``other_release``: the members of this run (``members_in_run``: their names) whose etcd runs another
    release, {member, version}; ``refusal`` names them: they restart on the next run. Not in check
    mode, where the restarts did not happen.
    ``version_wait``: etcd raises the cluster version (major.minor) a few seconds after the last
    member runs the new release, so the run waits for it; not with members left out of the run
    (--limit), where it stays where it is, nor while a member runs another release (the refusal comes first).
    ``cluster_version``: the major.minor it waits for.
    """
    release = str(settings.get("version") or "")
    check_mode = bool(settings.get("check_mode"))
    other_release = [dict(member=entry.get("member"), version=entry.get("version"))
                     for entry in health.get("endpoints") or []
                     if entry.get("member") in members_in_run and entry.get("version") != release]
    refusal = ""
    if other_release and not check_mode:
        refusal = "%s, not %s; run again to restart them (see docs/upgrade.md)" % (
            ", ".join("%s runs %s" % (entry["member"], entry["version"]) for entry in other_release), release)
    return dict(
        other_release=other_release, refusal=refusal, cluster_version=".".join(release.split(".")[:2]),
        version_wait=(not check_mode and not refusal and bool(settings.get("all_members_in_run"))
                      and not _cluster_version_follows((health.get("cluster") or {}).get("version"), release)),
    )


def version_wait_read(health, settings):
    """One read of the wait plan_status's ``version_wait`` asks for (``health``: etcd_health's result;
    ``settings``: version, timeout, the seconds the wait lasts): (done, refusal). ``done``: the read
    shows the cluster version at the release's major.minor, so no later read is needed; ``refusal``:
    what the run fails with when this read is the last, "" when it shows the version and answered."""
    release = str(settings.get("version") or "")
    cluster = health.get("cluster")
    version = cluster.get("version", "unknown") if isinstance(cluster, dict) else "unknown"
    done = _cluster_version_follows(version, release)
    if done and not (health.get("failed") or health.get("unreachable")):
        return True, ""
    return done, "every member runs %s, but the cluster version is still %s after %s s: %s" % (
        release, version, settings.get("timeout"), "; ".join(health.get("problems") or []) or "etcd has not raised it")


def status_records(reads, asked_from):
    """(pushes, drills): each play host's last off-host push and restore drill records for the status
    advice, from its read of both (``reads``: host -> the result of status_report.yml's slurp loop over
    the items push and drill; a host unreachable for the whole task has no item results), the
    slurped results as read (one without content counts as no record). ``drills`` is None when the
    asking host (``asked_from``) read no drill record (no drill schedule): the status shows no drill lines."""
    items = {host: _read_items(read) for host, read in reads.items()}
    pushes = [read["push"] for read in items.values() if "push" in read]
    asked = items.get(asked_from, {}).get("drill")
    if not isinstance(asked, dict) or asked.get("skipped"):
        return pushes, None
    return pushes, [read["drill"] for read in items.values() if "drill" in read]


def stream_records(reads):
    """Each play host's change stream record (status_report.yml's slurp loop item stream) for the status advice."""
    items = [_read_items(read) for read in reads.values()]
    return [read["stream"] for read in items if isinstance(read.get("stream"), dict) and not read["stream"].get("skipped")]


def _read_items(read):
    read = read if isinstance(read, dict) else {}
    if isinstance(read.get("results"), list):
        return {result.get("item"): result for result in read["results"] if isinstance(result, dict)}
    return dict(push=read, drill=read)


def report_refusal(health, settings):
    """The status playbook's one refusal (tasks/status_report.yml): no member of the cluster answers
    (``health``: etcd_health's result; ``settings``: instance, group, asked_from, the host that asked).
    An unhealthy cluster is what the report shows, not a failure."""
    if any(entry.get("reachable") for entry in health.get("endpoints") or []):
        return ""
    return ("no member of the cluster %s (group %s) answers, asked from %s: %s. Start the members: ansible-playbook "
            "raftops.etcd.etcd -i INVENTORY; with most hosts lost, restore a snapshot (docs/backup-restore.md); nothing "
            "was changed" % (settings.get("instance"), settings.get("group"), settings.get("asked_from"),
                             health.get("msg") or "no reply"))


def _member_runtime(read):
    if read["runtime"] == "container":
        return "container (%s)" % read.get("container_engine")
    return read["runtime"]


def runtime_line(reads):
    """The status's line of how each member runs etcd (etcd_runtime), from each play host's read
    (``reads``: host -> raftops.etcd.etcd_host_info's result) of the unit it has, a container's with the
    engine that runs it (``container (docker)``); '' when none has one."""
    runs = ["%s %s" % ((read.get("settings") or {}).get("ETCD_NAME") or host, _member_runtime(read))
            for host, read in sorted(reads.items()) if (read or {}).get("runtime")]
    return "runtime: %s" % ", ".join(runs) if runs else ""


def deployed_refusal(installed, settings):
    """The refusal of a day-2 entry point (backup, maintenance, removal, status) on hosts where the
    cluster was never deployed (a new inventory, another etcd_instance), instead of failing on a
    certificate that is not there: ``installed``, play host -> whether it has the cluster's unit (a
    host whose read did not answer has not); ``settings``: group, instance, unit_path."""
    if any(installed.values()):
        return ""
    return ("no host of group %s has the etcd cluster %s (etcd_instance): none has %s. Deploy it first "
            "(ansible-playbook raftops.etcd.etcd -i INVENTORY), or check etcd_group and etcd_instance; nothing was "
            "changed" % (settings.get("group"), settings.get("instance"), settings.get("unit_path")))


def hardware_verdict(findings, timeouts):
    """The hardware preflight's verdict on the measured hosts: ``findings`` (sizing's
    hardware_findings: each with severity and message) and ``timeouts`` (sizing's suggested_timeouts
    for the round trips measured: fits, message).

    ``refusal``: with a finding to refuse (etcd_preflight_strict), every finding, before anything
    changed; ``hardware_warnings`` (not ``warnings``, which Ansible shows as its own): else the
    findings as one warning, and the timeouts to use when the configured ones do not cover the
    longest round trip.
    """
    messages = "; ".join(finding["message"] for finding in findings)
    if any(finding["severity"] == "refuse" for finding in findings):
        return dict(refusal="%s; nothing was changed" % messages, hardware_warnings=[])
    warnings = ["WARNING: %s" % messages] if findings else []
    if timeouts.get("fits") is False:
        warnings.append("WARNING: %s" % timeouts["message"])
    return dict(refusal="", hardware_warnings=warnings)


def plan_schedule(timers, push, lib_files, found, units, member, header="", boto3_found=False):
    """What tasks/schedule.yml does on one member: the timers' files to write (their units with their
    text, the others as templates or copies), the timers to start or restart, what a timer without a
    schedule (or the push turned off) left behind, and the Debian packages the push needs.

    ``timers``: the role's timers (vars/main.yml, _etcd_host.timers: name, kind, unit, schedule, what
    its service runs, files of dest and mode with src, or unit for its units); ``member``: the member's
    name, and ``header`` the comment its units begin with; ``push``: the off-host push (_etcd_backup_push: on, code, lib_files, known_hosts,
    known_hosts_template, settings, paths, and target_types: the targets' types only, never the targets,
    whose S3 keys would be in the task's arguments); ``lib_files``: the code the maintenance timer
    runs (src and dest); ``found``: the timers' paths facts.yml's read found on the host;
    ``units``: that read's state of the scheduled timers' units (unit -> active, enabled).
    ``boto3_found``: whether that read found the push's S3 client (Debian's python3-boto3).
    """
    if not isinstance(timers, list) or not isinstance(push, dict) or not isinstance(found, list):
        raise ValueError("the timers and the paths found must be lists and the push a dict")
    units = units or {}
    root = dict(owner="root", group="root")
    scheduled = [timer for timer in timers if timer.get("schedule")]
    templates = [dict(file=dict(root, path=file["dest"], mode=file["mode"]), src=file["src"])
                 for timer in scheduled for file in timer["files"] if "src" in file]
    code = (list(lib_files or []) if push.get("code") else []) + (list(push.get("lib_files") or []) if push.get("on") else [])
    copies = [dict(file=dict(root, path=file["dest"], mode="0644"), src=file["src"]) for file in code]
    if push.get("on"):
        templates.append(dict(file=dict(root, path=push["known_hosts"], mode="0644"), src=push["known_hosts_template"]))
    # A timer's files that changed restart it; one the read found not running or not enabled starts.
    schedule_timers = []
    for timer in scheduled:
        state = units.get(timer["unit"]) or {}
        # A long-running service (the change stream) restarts when what it read at its start changed.
        paths = [file["dest"] for file in timer["files"]] + list(timer.get("restart_on") or [])
        schedule_timers.append(dict(name=timer["name"], paths=paths,
                                    running=state.get("active") == "active" and state.get("enabled") == "enabled"))
    # What goes: the files of the timers without a schedule, the push's when it is off, the
    # maintenance code when nothing runs it; only what the read found there.
    leaving = [file["dest"] for timer in timers if not timer.get("schedule") for file in timer["files"]]
    leaving += [] if push.get("on") else list(push.get("paths") or [])
    leaving += [] if push.get("code") else [file["dest"] for file in lib_files or []]
    unscheduled = []
    for path in found:
        if path in leaving and path not in unscheduled:
            unscheduled.append(path)
    return dict(
        unit_files=[unit for timer in scheduled for unit in timer_unit_files(timer, member, header)],
        templates=templates,
        copies=copies,
        timers=schedule_timers,
        push_ssh=bool(push.get("on")) and "ssh" in list(push.get("target_types") or []),
        # The Debian packages to install: the push's S3 client where an S3 target needs it.
        packages=["python3-boto3"] if push.get("on") and "s3" in list(push.get("target_types") or [])
        and not boto3_found else [],
        # Turned off: the member's key comes off the SSH targets' hosts its settings name.
        push_withdrawn=not push.get("on") and push.get("settings") in found,
        unscheduled=unscheduled,
        unscheduled_timers=[path.rsplit("/", 1)[-1] for path in unscheduled
                            if path.startswith("/etc/systemd/system/") and path.endswith(".timer")],
    )
