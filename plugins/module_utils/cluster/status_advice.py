# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the status tells the operator to do (playbooks/status.yml, and the status at the end of a
run): every problem the health result shows, each with the command that addresses it, and the
lines that show them under the table.

docs/status.md lists every advice and what it means.
"""

import base64
import calendar
import json
import os
import re
import textwrap
import time

from ansible.module_utils.parsing.convert_bool import boolean

# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).

SETTINGS = dict(etcd_group="etcd", etcd_instance="etcd", etcd_pki_renew_before_days=30, etcd_pki_managed=True,
                etcd_quota_backend_bytes=0, etcd_max_raft_index_gap=50, etcd_status_backup_max_age_hours=26,
                etcd_backup_max_age="26h")
# The default etcd_defrag_rule defragments a member whose file passes this share of the quota.
QUOTA_WARN_PERCENT = 80
INVENTORY = "INVENTORY"
# YAML emitters (the yaml result format of Ansible's callbacks) fold a line at a single space past
# their width, 80 columns counted from the list's "- ". status_lines keeps every single space of
# its lines before this column, and no table cell holds one (etcd_cluster_state.TABLE_COLUMNS).
FOLD_SAFE_COLUMN = 72
_COMMAND = re.compile(r"ansible-playbook raftops\.etcd\.\w+ -i %s(?: -e \S+)*|journalctl -u \S+" % INVENTORY)
_KEEP = "\0"


def playbook(name, **extra_vars):
    """The command line of one of the collection's playbooks."""
    return " ".join(["ansible-playbook raftops.etcd.%s -i %s" % (name, INVENTORY)]
                    + ["-e %s=%s" % item for item in sorted(extra_vars.items())])


def _settings(settings):
    merged = dict(SETTINGS)
    merged.update({key: value for key, value in (settings or {}).items() if key in SETTINGS and value is not None})
    try:
        for key in ("etcd_pki_renew_before_days", "etcd_quota_backend_bytes", "etcd_max_raft_index_gap",
                    "etcd_status_backup_max_age_hours"):
            merged[key] = int(merged[key])
        merged["etcd_pki_managed"] = boolean(merged["etcd_pki_managed"], strict=False)
    except (TypeError, ValueError) as exc:
        raise ValueError("status_advice: settings hold a value that is not a number: %s" % exc) from None
    return merged


def _read(health, quota_bytes):
    """(member_status entries, cluster summary, problems) of an etcd_health result or an observation."""
    if not isinstance(health, dict):
        raise ValueError("status_advice: expects the result of raftops.etcd.etcd_health, got %s"
                         % type(health).__name__)
    if "member_status" in health:
        return health["member_status"], health.get("cluster") or {}, list(health.get("problems") or [])
    if "endpoints" in health and "alarms" in health:
        from ansible_collections.raftops.etcd.plugins.module_utils.cluster.cluster_state import cluster_summary, member_status

        return member_status(health, quota_bytes), cluster_summary(health), []
    raise ValueError("status_advice: expects the result of raftops.etcd.etcd_health (with member_status); "
                     "this one has none: %s" % (health.get("msg") or ", ".join(sorted(health))))


def _label(entry):
    return entry["endpoint"] if entry["name"] == "?" else entry["name"]


def _named(entry):
    """The member's name when the replace_member playbook can take it."""
    return entry["name"] if entry["name"] and entry["name"][0] not in "(?" else None


def _days(days):
    if days <= 0:
        return "within a day"
    return "in %d day%s" % (days, "" if days == 1 else "s")


def _replace(entry, why="if the host is lost"):
    name = _named(entry)
    return "; %s: %s" % (why, playbook("replace_member", etcd_replace=name)) if name else ""


class _Advisor:
    def __init__(self, entries, cluster, settings):
        self.entries = entries
        self.leader = cluster.get("leader")
        self.settings = settings
        self.unit = "%s.service" % settings["etcd_instance"]
        self.journal = "journalctl -u %s" % self.unit
        from ansible_collections.raftops.etcd.plugins.module_utils.cluster.defrag_rule import effective_quota

        self.quota = effective_quota(settings["etcd_quota_backend_bytes"])

    def cluster_lines(self):
        voters = [e for e in self.entries if e["started"] is not None and not e["is_learner"]]
        answering = [e for e in voters if e["raft_term"] is not None]
        if self.leader or not voters:
            return []
        quorum = len(voters) // 2 + 1
        if len(answering) < quorum:
            return ["cluster: no leader, %d of %d voting members answer (quorum %d) -> %s starts the members that "
                    "are down; if most hosts are lost: %s recovers from the survivor with the most data, or, when "
                    "none kept its data, %s" % (
                        len(answering), len(voters), quorum, playbook("etcd"), playbook("recover_quorum"),
                        playbook("restore", etcd_restore_snapshot="SNAPSHOT"))]
        return ["cluster: no leader although %d of %d voting members answer -> check that the members reach each "
                "other on the peer port, and their logs: %s" % (len(answering), len(voters), self.journal)]

    def member_lines(self, entry, majority_cluster):
        lines = []
        lines.extend(self._health_lines(entry))
        lines.extend(self._alarm_lines(entry))
        if majority_cluster and entry["cluster_id"] and entry["cluster_id"] != majority_cluster:
            lines.append("%s: answers for another cluster (ID %s, the others %s), its data is not this cluster's -> %s"
                         % (_label(entry), entry["cluster_id"], majority_cluster,
                            playbook("replace_member", etcd_replace=_named(entry) or "NAME")))
        if entry["raft_term"] is not None:
            lines.extend(self._lag_lines(entry))
            lines.extend(self._quota_lines(entry))
        lines.extend(self._cert_lines(entry))
        return lines

    def _health_lines(self, entry):
        label, health, reason = _label(entry), entry["health"], entry["reason"]
        if health == "not-started":
            kind = "learner" if entry["is_learner"] else "voting member (it counts toward quorum)"
            return ["%s: %s added but never started -> %s joins it when its host is in the inventory; else remove "
                    "the entry with the module raftops.etcd.etcd_member (state=absent, id=%s)"
                    % (label, kind, playbook("etcd"), entry["member_id"])]
        if health == "unreachable":
            if "certificate" in reason.lower():
                return ["%s: not reachable, its certificate is refused (%s) -> %s" % (label, reason, self._renewal())]
            return ["%s: not reachable (%s) -> %s starts it%s" % (label, reason, playbook("etcd"), _replace(entry))]
        if health in ("unhealthy", "no-leader") and not self.leader:
            return []  # the cluster has no leader: said once, for the cluster
        if health == "unhealthy" and not reason.startswith("ALARM"):
            return ["%s: unhealthy (/health: %s) -> its log: %s%s"
                    % (label, reason, self.journal, _replace(entry, "if it does not recover"))]
        if health == "no-leader":
            return ["%s: knows no leader while the others follow %s, cut off from its peers -> check that it reaches "
                    "them on the peer port, and its log: %s" % (label, self.leader, self.journal)]
        if health == "status-failed":
            return ["%s: answers /health but not its status (%s) -> its log: %s" % (label, reason, self.journal)]
        return []

    def _alarm_lines(self, entry):
        lines = []
        for alarm in entry["alarms"]:
            if alarm == "NOSPACE":
                lines.append("%s: NOSPACE alarm raised, the cluster refuses writes%s -> %s"
                             % (_label(entry), self._size_figure(entry), playbook("maintenance")))
            elif alarm == "CORRUPT":
                lines.append("%s: CORRUPT alarm raised, its data differs from the other members' -> %s"
                             % (_label(entry), playbook("replace_member", etcd_replace=_named(entry) or "NAME")))
            else:
                lines.append("%s: %s alarm raised -> its log: %s" % (_label(entry), alarm, self.journal))
        return lines

    def _size_figure(self, entry):
        from ansible_collections.raftops.etcd.plugins.module_utils.cluster.cluster_state import quota_percent, short_size

        if entry["db_size"] is None:
            return ""
        return " (database %s, %d%% of the %s quota)" % (
            short_size(entry["db_size"]), round(quota_percent(entry["db_size"], self.quota)), short_size(self.quota))

    def _lag_lines(self, entry):
        lag = entry["applied_lag"]
        if entry["is_learner"]:
            behind = "" if lag is None else " (%d raft entries behind the leader)" % lag
            return ["%s: learner not promoted%s, promoted once caught up -> %s"
                    % (_label(entry), behind, playbook("etcd"))]
        gap = self.settings["etcd_max_raft_index_gap"]
        if lag is None or lag <= gap:
            return []
        return ["%s: %d raft entries behind the leader (more than etcd_max_raft_index_gap=%d) -> a slow disk or "
                "network, see its log: %s%s" % (_label(entry), lag, gap, self.journal,
                                                _replace(entry, "if it does not catch up"))]

    def _quota_lines(self, entry):
        from ansible_collections.raftops.etcd.plugins.module_utils.cluster.cluster_state import quota_percent, short_size

        if "NOSPACE" in entry["alarms"]:
            return []
        used = quota_percent(entry["db_size"], self.quota)
        if used <= QUOTA_WARN_PERCENT:
            return []
        in_use = quota_percent(entry["db_size_in_use"] or 0, self.quota)
        if in_use > QUOTA_WARN_PERCENT:
            return ["%s: data in use at %d%% of the quota (%s of %s), a defragmentation cannot free it -> raise "
                    "etcd_quota_backend_bytes, then %s" % (
                        _label(entry), round(in_use), short_size(entry["db_size_in_use"]), short_size(self.quota),
                        playbook("etcd"))]
        return ["%s: database at %d%% of the quota (%s of %s, %s in use) -> %s" % (
            _label(entry), round(used), short_size(entry["db_size"]), short_size(self.quota),
            short_size(entry["db_size_in_use"] or 0), playbook("maintenance"))]

    def _renewal(self):
        if self.settings["etcd_pki_managed"]:
            return "%s renews it" % playbook("etcd")
        return "put a new NAME.pem and NAME-key.pem in etcd_pki_dir (etcd_pki_managed=false), then %s" % playbook("etcd")

    def _cert_lines(self, entry):
        days, renew = entry["cert_days_left"], self.settings["etcd_pki_renew_before_days"]
        if days is None or days >= renew:
            return []
        return ["%s: certificate expires %s (renewed within etcd_pki_renew_before_days=%d) -> %s"
                % (_label(entry), _days(days), renew, self._renewal())]


def _majority(values):
    counts = {}
    for value in values:
        if value:
            counts[value] = counts.get(value, 0) + 1
    best = sorted(counts.items(), key=lambda item: -item[1])
    if not best or (len(best) > 1 and best[0][1] == best[1][1]):
        return None
    return best[0][0]


def backup_lines(backups, max_age_hours):
    """The advice about the snapshots on the controller: none at all, or the newest too old."""
    if not isinstance(backups, dict) or not isinstance(backups.get("files", []), list):
        raise ValueError("status_advice: backups must be a dict with dir, files (of ansible.builtin.find) "
                         "and now")
    files = [f for f in backups.get("files") or [] if isinstance(f, dict) and f.get("mtime") is not None]
    where = backups.get("dir") or "etcd_backup_dir"
    if not files:
        return ["backups: no snapshot in %s -> take one: %s" % (where, playbook("backup"))]
    newest = max(files, key=lambda f: float(f["mtime"]))
    try:
        hours = (float(backups["now"]) - float(newest["mtime"])) / 3600
    except (KeyError, TypeError, ValueError):
        raise ValueError("status_advice: backups needs now, the time in seconds since the epoch") from None
    if hours <= max_age_hours:
        return []
    age = "%d hours" % hours if hours < 72 else "%d days" % (hours // 24)
    return ["backups: the newest snapshot, %s, is %s old (more than etcd_status_backup_max_age_hours=%d) -> %s"
            % (os.path.basename(str(newest.get("path", "?"))), age, max_age_hours, playbook("backup"))]


def push_lines(pushes):
    """A line for each member whose last off-host push (etcd_backup_push) failed after the cluster's
    newest successful one: the slurped push-status.json of each member (results without ``content``
    are skipped: no push yet). An older failure is left out: a push since then reached every target."""
    records = _slurped(pushes, "push")
    newest_pushed = max([r.get("time", 0) for r in records if r.get("result") == "pushed"], default=None)
    lines = []
    for record in records:
        if record.get("result") != "failed" or (newest_pushed is not None and record.get("time", 0) < newest_pushed):
            continue
        errors = [t["error"] for t in record.get("targets") or [] if t.get("error")] or [record.get("error") or "?"]
        lines.append("%s: its last off-host push (%s, %s) failed: %s -> its local snapshots are kept; fix the "
                     "target, then: systemctl start %s-snapshot.service on it" % (
                         record.get("member", "?"), record.get("snapshot", "?"),
                         time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(record.get("time", 0))),
                         "; ".join(errors), record.get("instance", "etcd")))
    # The cluster's newest push sent its backup but left a warning: a target it could not prune (its
    # credentials may not delete), or objects there that do not verify as this cluster's backups.
    newest = max((r for r in records if r.get("result") == "pushed"), key=lambda r: r.get("time", 0), default=None)
    for warning in (newest or {}).get("warnings") or []:
        lines.append("%s: its last off-host push (%s) sent the backup, but: %s -> %s" % (
            newest.get("member", "?"), newest.get("snapshot", "?"), warning,
            "give its credentials the delete permission on the prefix (docs/backup-targets.md, \"Bucket permissions\")"
            if "pruning failed" in warning else "an object the push neither counts nor deletes: look at it and "
            "delete it by hand if it is not yours"))
    return lines


def _slurped(reads, what):
    """The JSON records of slurped files (results without ``content`` are skipped: none yet)."""
    records = []
    for read in reads or []:
        if not isinstance(read, dict) or not read.get("content"):
            continue
        try:
            records.append(json.loads(base64.b64decode(read["content"])))
        except ValueError:
            raise ValueError("status_advice: a %s status that is not JSON" % what) from None
    return records


def _age(seconds):
    hours = seconds / 3600
    return "%d minutes" % (seconds // 60) if hours < 2 else "%d hours" % hours if hours < 72 else "%d days" % (hours // 24)


def drill_lines(drills, max_age, now):
    """With etcd_backup_drill_schedule: a note of the newest proven backup's age, a problem when it is
    older than ``max_age`` (etcd_backup_max_age) or none is proven, and one for each member whose
    last drill failed after the newest that passed (the slurped drill-status.json of each member)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.plan.settings import _duration_seconds
    limit = _duration_seconds(max_age)
    if not limit:
        raise ValueError("status_advice: etcd_backup_max_age %r is not a Go duration like 26h" % (max_age,))
    records = _slurped(drills, "drill")
    proven = [dict(r["proven"], member=r.get("member", "?")) for r in records if r.get("proven")]
    newest = max(proven, key=lambda p: p.get("backup_time") or "", default=None)
    instance = next((r.get("instance") for r in records), None) or "etcd"
    act = "the drills' log: journalctl -u %s-backup-drill; a drill now: systemctl start %s-backup-drill.service " \
          "on the member that pushed the newest backup" % (instance, instance)
    lines = []
    if newest is None:
        lines.append("backups: no off-host backup is proven restorable yet (etcd_backup_drill_schedule) -> " + act)
    else:
        age = float(now) - calendar.timegm(time.strptime(newest["backup_time"], "%Y%m%dT%H%M%SZ"))
        text = "backups: the newest proven backup, %s, is %s old (proven by %s, revision %s, %s keys)" % (
            newest.get("object"), _age(age), newest["member"], newest.get("revision"), newest.get("keys"))
        lines.append(text + (" -> " + act if age > limit else ""))
        if age > limit:
            lines[-1] = lines[-1].replace(" old (", " old, more than etcd_backup_max_age=%s (" % max_age, 1)
    newest_passed = max([r.get("time", 0) for r in records if r.get("result") == "passed"], default=0)
    for record in records:
        if record.get("result") == "failed" and record.get("time", 0) > newest_passed:
            lines.append("%s: its last drill (%s, %s) failed: %s -> %s" % (
                record.get("member", "?"), record.get("object", "the newest backup"),
                time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(record.get("time", 0))),
                "; ".join(record.get("problems") or ["?"]), act))
    return lines


def rotation_lines(rotation):
    """A CA rotation that stopped (etcd_pki_rotate_ca_pause, or a run that did not finish it), from
    pki_rotation.rotation_status: its phase, what the applications need before the next phase, and the
    run that goes on. Reported at every status until the rotation has ended."""
    if not rotation:
        return []
    go_on = playbook("etcd")
    if rotation["step"] == 1:
        actions = ["give every application and tool %s to trust in place of ca.pem (it holds the old and the new "
                   "CA, and members present certificates of the new CA from phase 2 on)" % rotation["bundle"],
                   "then phase 2, which issues every pair anew from the new CA: " + go_on]
    elif rotation["step"] == 2:
        pairs = ", ".join("clients/%s.pem" % name for name in rotation["clients"]) or "no application pair"
        actions = ["give each application its new pair in %s (%s, each with its key as before) and your tools the "
                   "new admin.pem, as members refuse the pairs of the old CA from phase 3 on" % (rotation["pki_dir"], pairs),
                   "then phase 3, which drops the old CA: " + go_on]
    else:
        actions = ["end it (the members trust the new CA only already): " + go_on]
    return ["CA rotation: stopped in phase %d of 3 (%s) -> %s"
            % (rotation["step"], rotation["description"], "; ".join(actions))]


def stream_lines(streams, now):
    """With etcd_backup_stream_interval: a problem when the change stream has a gap no full backup
    closed yet, when its last segment could not be shipped, or when nothing was shipped for three
    intervals (the slurped stream-status.json of each member: the member that shipped last speaks for
    the stream)."""
    records = [r for r in _slurped(streams, "stream") if r.get("since")]
    if not records:
        return []
    newest = max(records, key=lambda r: (r.get("shipped_at") or 0, r.get("since") or 0))
    instance = newest.get("instance") or "etcd"
    act = "the stream's log: journalctl -u %s-backup-stream on %s" % (instance, newest.get("member", "?"))
    lines = []
    gap = newest.get("gap")
    if gap:
        lines.append("backups: the change stream has a gap: revisions %s..%s are in no segment (%s); a point in time "
                     "after it is reached only from a full backup taken after it -> take one: systemctl start "
                     "%s-snapshot.service on every member" % (gap.get("first"), gap.get("last"), gap.get("why"), instance))
    if newest.get("error"):
        lines.append("%s: the change stream failed: %s -> %s" % (newest.get("member", "?"), newest["error"], act))
    interval = int(newest.get("interval") or 0)
    shipped = newest.get("shipped_at")
    if interval and shipped and float(now) - float(shipped) > 3 * interval + 60:
        lines.append("backups: the change stream shipped nothing for %s (its last segment %s) -> %s" % (
            _age(float(now) - float(shipped)), newest.get("last_segment"), act))
    return lines


def status_advice(health, settings=None, backups=None, pushes=None, drills=None, rotation=None, streams=None):
    """Every problem of the cluster, each as ``MEMBER: what is wrong (figure) -> the command``; see
    plugins/filter/status_advice.yml. ``rotation``: the CA rotation etcd_pki_dir is in (rotation_lines)."""
    settings = _settings(settings)
    entries, cluster, problems = _read(health, settings["etcd_quota_backend_bytes"])
    advisor = _Advisor(entries, cluster, settings)
    majority_cluster = _majority(entry["cluster_id"] for entry in entries)
    lines = advisor.cluster_lines()
    for entry in entries:
        lines.extend(advisor.member_lines(entry, majority_cluster))
    if not lines and health.get("healthy") is False:
        lines = ["cluster: %s -> the members' logs: %s" % (problem, advisor.journal) for problem in problems]
    if backups is not None:
        lines.extend(backup_lines(backups, settings["etcd_status_backup_max_age_hours"]))
    lines.extend(push_lines(pushes))
    lines.extend(rotation_lines(rotation))
    if drills is not None:
        lines.extend(drill_lines(drills, settings["etcd_backup_max_age"], (backups or {}).get("now", time.time())))
    lines.extend(stream_lines(streams, (backups or {}).get("now", time.time())))
    if lines and (settings["etcd_instance"], settings["etcd_group"]) != ("etcd", "etcd"):
        lines.append("(cluster etcd_instance=%s, group %s: give each command the -e options of this run)"
                     % (settings["etcd_instance"], settings["etcd_group"]))
    return lines


def _wrap(text, first, rest):
    """Lines of at most FOLD_SAFE_COLUMN characters; a command is never split (it may run longer)."""
    kept = _COMMAND.sub(lambda match: match.group(0).replace(" ", _KEEP), text)
    return [line.replace(_KEEP, " ") for line in textwrap.wrap(
        kept, width=FOLD_SAFE_COLUMN, initial_indent=first, subsequent_indent=rest,
        break_long_words=False, break_on_hyphens=False)]


def status_lines(table, advice):
    """The status table and, below it, the advice, as lines that no callback folds: a line of the table
    as it is; a problem's text, then each of its actions on a line of its own after ``->``, wrapped at
    FOLD_SAFE_COLUMN. The role's status plan (raftops.etcd.etcd_plan, stages status and status_report,
    field lines) shows them."""
    if isinstance(table, str) or isinstance(advice, str):
        raise ValueError("status_lines: expects the table and the advice as lists of lines")
    lines = list(table or [])
    found = sum(1 for item in advice or [] if " -> " in str(item))  # a line without an arrow is a note
    if not found:
        return [*lines, "no problem found", *(str(item) for item in advice or [])]
    lines.append("%d problem%s found, each with what addresses it:" % (found, "" if found == 1 else "s"))
    for item in advice:
        problem, arrow, actions = str(item).partition(" -> ")
        lines.extend(_wrap(problem, "", "    "))
        if arrow:
            for action in actions.split("; "):
                lines.extend(_wrap(action, "  -> ", "     "))
    return lines
