# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The off-host backup targets as the role's tasks use them (docs/backup-targets.md): the targets a
member's push reads, which backups an SSH target deletes (the retention decision the
etcd_backup_target module applies to S3 targets, module_utils/etcd_backup_crypto) and the report.
The deprecated filters below wrap the backup plan's logic (module_utils/etcd_backup_plan.py).
"""

import base64
import json
import posixpath
import time
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# The module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).


def backup_targets(targets, cluster=""):
    """``etcd_backup_targets`` with each target's defaults filled in (module_utils/etcd_backup_plan.py).
    Deprecated: the role's backup plan (raftops.etcd.etcd_backup_plan) fills them in."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import targets_with_defaults
    try:
        return targets_with_defaults(targets, cluster)
    except ValueError as exc:
        raise AnsibleFilterError("backup_targets: %s" % exc) from None


def backup_push_targets(targets, cluster, hostvars):
    """The targets as a member's backup push reads them (roles/etcd/files/etcd_backup_push.py):
    ``backup_targets``, each S3 target with every key (empty when not set), each SSH target with
    the ``address`` and ``port`` of its host (``ansible_host`` and ``ansible_port``, else its name and 22)."""
    items = []
    for item in backup_targets(targets, cluster):
        if item["type"] == "s3":
            item = dict(dict.fromkeys(("endpoint_url", "region", "access_key", "secret_key"), ""), **item)
            item = {k: ("" if v is None else v) for k, v in item.items()}
        else:
            host = hostvars.get(item["host"], {})
            item.update(address=host.get("ansible_host") or item["host"], port=int(host.get("ansible_port") or 22))
        items.append(item)
    return items


def backup_push_withdrawn(reads):
    """The ``authorized_keys2`` lines a member's push put on SSH targets' hosts, to remove when the push
    is turned off: ``[{host, line}]`` from the slurped push settings (etcd_backup_push.json) and public
    key, in that order. Nothing when either was not read (no push files on the member)."""
    contents = [r.get("content") for r in reads or [] if isinstance(r, Mapping)]
    if len(contents) != 2 or not all(contents):
        return []
    try:
        settings = json.loads(base64.b64decode(contents[0]))
        line = "restrict " + base64.b64decode(contents[1]).decode().strip()
    except (ValueError, UnicodeDecodeError):
        raise AnsibleFilterError("backup_push_withdrawn: the push's settings or public key cannot be read") from None
    hosts = sorted({t["host"] for t in settings.get("targets") or [] if t.get("type") == "ssh" and t.get("host")})
    return [dict(host=host, line=line) for host in hosts]


def backup_prune(found, now=None):
    """The backups SSH targets delete: ``[{target, host, path}]`` from a looped find's ``results``.

    Each result has ``item`` (the target, as ``backup_targets`` gives it) and ``files`` (find's
    ``path`` and ``mtime``). The retention is ``module_utils.etcd_backup_crypto.retention``: the
    newest ``keep``, none older than ``max_age_days``, never the newest one.
    """
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_crypto import retention

    now = time.time() if now is None else float(now)
    plan = []
    for result in found or []:
        target = result.get("item") or {}
        files = [dict(name=posixpath.basename(f["path"]), mtime=f["mtime"], path=f["path"])
                 for f in result.get("files") or []]
        try:
            _kept, deleted = retention(files, target.get("keep", 7), target.get("max_age_days", 30), now)
        except ValueError as exc:
            raise AnsibleFilterError("backup_prune: target %s: %s" % (target.get("name"), exc)) from None
        paths = {f["name"]: f["path"] for f in files}
        plan.extend(dict(target=target.get("name"), host=target.get("host"), path=paths[name]) for name in deleted)
    return plan


def backup_report(sealed, key_file, targets, sent):
    """The lines that report one off-host backup: the encryption, then one line per target
    (module_utils/etcd_backup_plan.py's sealed_report and sent_report, which the actions of
    raftops.etcd.etcd_backup_plan and raftops.etcd.etcd_backup_target show as they go).

    The arguments are registered results of the backup's tasks: the seal, then (after the targets,
    as ``backup_targets`` gives them) the ``results`` of sending to them and pruning them
    (raftops.etcd.etcd_backup_target, state present with prune), looped by target name (each item
    a name, or ``{name, host}``).
    """
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import sealed_report, sent_report

    by_name = {target.get("name"): target for target in targets or []}
    lines = [sealed_report(sealed, key_file)]
    for result in sent or []:
        item = result.get("item")
        lines.append(sent_report(by_name.get(item.get("name") if isinstance(item, Mapping) else item) or {}, result))
    return lines


# Deprecated (meta/runtime.yml): the role's backup plan decides with their logic now
# (module_utils/etcd_backup_plan.py, through the action raftops.etcd.etcd_backup_plan).


def _plan(name, function, *args):
    try:
        return function(*args)
    except ValueError as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc)) from None


def backup_source(health, members, play_hosts):
    """The member a backup takes its snapshot from (etcd_backup_plan.plan_source's ``source``); None when there is none."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import plan_source
    return _plan("backup_source", plan_source, health, members, play_hosts, [], "")["source"]


def backup_record(saved, name):
    """The record the backup playbook writes beside snapshot ``name`` (etcd_backup_plan.backup_record)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import backup_record as record
    return record(saved, name)


def backup_target(targets, cluster, name):
    """The target ``name`` of ``etcd_backup_targets`` with its defaults; {} when there is none of that name."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import plan_fetch
    return _plan("backup_target", plan_fetch, targets, cluster, name)["target"]


def backup_object(found, wanted):
    """The backup object a restore took from an SSH target: ``wanted``, or for ``latest`` the newest
    backup object of ``found`` (ansible.builtin.find's result) by name, '' when it holds none. The
    restore now takes the newest by authenticated time (etcd_backup_plan.fetch_object)."""
    if wanted != "latest":
        return wanted
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_crypto import is_backup_object
    names = [posixpath.basename(f["path"]) for f in (found or {}).get("files") or []]
    return max([n for n in names if is_backup_object(n)], default="")


def backup_drill_record(record_text, sealed, sealed_stat, member):
    """The record the members' scheduled drill proves a playbook backup against (etcd_backup_plan.drill_record)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import drill_record
    return _plan("backup_drill_record", drill_record, record_text, sealed, sealed_stat, member)


def backup_max_age_seconds(max_age):
    """etcd_backup_max_age (a Go duration, checked in preflight) in seconds: the drill writes it beside
    its metrics, where the alert rules read it."""
    from ansible_collections.raftops.etcd.plugins.filter.settings import _duration_seconds
    seconds = _duration_seconds(max_age)
    if not seconds:
        raise AnsibleFilterError("backup_max_age_seconds: etcd_backup_max_age %r is not a Go duration like 26h" % (max_age,))
    return int(seconds)


class FilterModule:
    def filters(self):
        return {"backup_targets": backup_targets, "backup_push_targets": backup_push_targets,
                "backup_prune": backup_prune, "backup_push_withdrawn": backup_push_withdrawn,
                "backup_report": backup_report, "backup_max_age_seconds": backup_max_age_seconds,
                "backup_drill_record": backup_drill_record, "backup_source": backup_source,
                "backup_record": backup_record, "backup_target": backup_target, "backup_object": backup_object}
