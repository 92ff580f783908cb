# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The restore's revision bump and the restore drill's verdict, for the role's tasks; the rules
live in module_utils/etcd_restore_rules.py (docs/backup-restore.md)."""

from ansible.errors import AnsibleFilterError

# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).


def restore_bump(snapshot_revision, setting="auto", mark_compacted=True, version=None, live_revisions=None):
    """{bump_revision, mark_compacted, note, warning} for a restore; see plugins/filter/restore_bump.yml."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_restore_rules import RuleError, restore_revision_plan

    try:
        return restore_revision_plan(setting, mark_compacted, version, snapshot_revision, live_revisions or [])
    except RuleError as exc:
        raise AnsibleFilterError("raftops.etcd.restore_bump: %s" % exc) from None


def drill_verdict(observed, snapshot, record_text=""):
    """{problems, notes} of a restore drill; see plugins/filter/drill_verdict.yml."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_restore_rules import RuleError, drill_findings, parse_backup_record

    if not isinstance(observed, dict) or not isinstance(snapshot, dict):
        raise AnsibleFilterError("raftops.etcd.drill_verdict: expects what the private etcd answered and the "
                                 "snapshot info as dicts")
    record, problems = None, []
    if record_text:
        try:
            record = parse_backup_record(record_text)
        except RuleError as exc:
            problems.append(str(exc))
    found, notes = drill_findings(snapshot, observed, record)
    return dict(problems=problems + found, notes=notes)


class FilterModule:
    def filters(self):
        return {"restore_bump": restore_bump, "drill_verdict": drill_verdict}
