# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The off-host backup targets as the role's tasks use them (docs/backup-targets.md): the targets a
member's push reads, the keys a push turned off withdraws from SSH targets' hosts, and the drill's
maximum backup age in seconds. The backup plan's logic is module_utils/etcd_backup_plan.py's (the
action raftops.etcd.etcd_backup_plan).
"""

import base64
import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# The module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).


def backup_push_targets(targets, cluster, hostvars):
    """The targets as a member's backup push reads them (roles/etcd/files/etcd_backup_push.py):
    ``etcd_backup_targets`` with each target's defaults (module_utils/etcd_backup_plan.py,
    targets_with_defaults), each S3 target with every key (empty when not set), each SSH target with
    the ``address`` and ``port`` of its host (``ansible_host`` and ``ansible_port``, else its name and 22)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_backup_plan import targets_with_defaults

    try:
        normal = targets_with_defaults(targets, cluster)
    except ValueError as exc:
        raise AnsibleFilterError("backup_push_targets: %s" % exc) from None
    items = []
    for item in normal:
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
        return {"backup_push_targets": backup_push_targets, "backup_push_withdrawn": backup_push_withdrawn,
                "backup_max_age_seconds": backup_max_age_seconds}
