# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The off-host backup targets as the role's tasks use them (docs/backup-targets.md): the targets a
member's push reads, the members whose signatures a backup may carry, the SSH targets' hosts, and the
authorized_keys lines of the members' push keys on those hosts (and those a push turned off
withdraws). The host's settings (module_utils/host/host_settings.py) and the lookup
raftops.etcd.etcd_host_settings, which gives what a task must not show, compute them here. The
backup plan's logic is module_utils/backup/backup_plan.py's (the action raftops.etcd.etcd_plan).
"""

import base64
import json
import re
from collections.abc import Mapping

from ansible_collections.raftops.etcd.plugins.module_utils.cluster.members import _member_name


def backup_push_targets(targets, cluster, hostvars):
    """The targets as a member's backup push reads them (roles/etcd/files/etcd_backup_push.py):
    ``etcd_backup_targets`` with each target's defaults (module_utils/backup/backup_plan.py,
    targets_with_defaults), each S3 target with every key (empty when not set), each SSH target with
    the ``address`` and ``port`` of its host (``ansible_host`` and ``ansible_port``, else its name and 22)."""
    # Imported here: the host's settings import this file, and the backup plan brings the backup crypto
    # (cryptography) into every process that computes them.
    from ansible_collections.raftops.etcd.plugins.module_utils.backup.backup_plan import targets_with_defaults

    try:
        normal = targets_with_defaults(targets, cluster)
    except ValueError as exc:
        raise ValueError("backup_push_targets: %s" % exc) from None
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


def backup_members(hosts, hostvars):
    """The member names of ``hosts`` (the inventory's group): ``NODE_NAME``, else ``etcd_member_name``,
    else the host's name. With the controller, the signers whose backups a restore, ``latest`` and a
    target's retention take (module_utils/backup/backup_crypto.py cluster_signers)."""
    return [_member_name(hostvars, host) for host in hosts or []]


def _public_key(text):
    """(type, base64 blob) of an OpenSSH public key line; ValueError when it is none."""
    words = text.strip().split()
    if len(words) < 2 or not re.fullmatch(r"(ssh|ecdsa|sk)-[a-z0-9@.-]+", words[0]) \
            or not re.fullmatch(r"AAAA[A-Za-z0-9+/]+=*", words[1]):
        raise ValueError("not an OpenSSH public key")
    return words[0], words[1]


def _key_regexp(key_type, blob):
    """A regular expression of every authorized_keys line of that key, whatever its options and comment."""
    return r"(^|\s)%s %s(\s|$)" % (re.escape(key_type), re.escape(blob))


# Root's file the push authorized the members' keys in before they got an account of their own (never
# released): its lines come off on the next deploy and when the push is turned off.
OLD_AUTHORIZED_KEYS = "/root/.ssh/authorized_keys2"


def backup_push_authorized(public_key, push, address):
    """The authorized_keys changes of one member's push key on its SSH targets' hosts (tasks/backup_push.yml):
    ``[{host, path, regexp, line, state}]``. ``public_key`` is base64 of the member's public key file
    (slurped), ``push`` the push's settings with its targets (_etcd_backup_push: ``receive``, the account's
    paths, and each SSH target's ``host`` and ``path``), ``address`` the member's. On each host: the key
    authorized for the account only as the forced command etcd_backup_receive.py on that host's target
    directories, only from ``address`` (``restrict``: no terminal, forwarding or rc file), and its line in
    root's authorized_keys2 (earlier versions) removed. Nothing without a key (check mode before it is made)."""
    if not public_key:
        return []
    try:
        key_type, blob = _public_key(base64.b64decode(public_key).decode())
        comment = base64.b64decode(public_key).decode().strip().split(None, 2)[2:]
    except (ValueError, UnicodeDecodeError):
        raise ValueError("backup_push_authorized: the member's public SSH key cannot be read") from None
    if not re.fullmatch(r"[0-9A-Fa-f.:]+", str(address or "")):
        raise ValueError("backup_push_authorized: the member's address %r is not an address sshd's from= can "
                         "match: set etcd_address to the IP address the member reaches its SSH targets from"
                         % (address,))
    receive = push["receive"]
    paths = {}
    for target in push.get("targets") or []:
        if target.get("type") == "ssh":
            paths.setdefault(target["host"], []).append(target["path"])
    changes = []
    for host in sorted(paths):
        command = "python3 -I %s %s" % (receive["script"], " ".join(sorted(set(paths[host]))))
        line = 'command="%s",restrict,from="%s" %s' % (command, address, " ".join([key_type, blob, *comment]))
        regexp = _key_regexp(key_type, blob)
        changes.append(dict(host=host, path=receive["authorized_keys"], regexp=regexp, line=line, state="present",
                            mode="0644"))
        changes.append(dict(host=host, path=OLD_AUTHORIZED_KEYS, regexp=regexp, line="", state="absent"))
    return changes


def backup_push_hosts(targets):
    """The hosts of the SSH targets of ``etcd_backup_targets``, each once, in their order (none of what
    is no target: the settings check refuses it)."""
    hosts = []
    for target in targets if isinstance(targets, list) else []:
        if isinstance(target, Mapping) and target.get("type") == "ssh" and target.get("host") not in hosts:
            hosts.append(target["host"])
    return hosts


def backup_push_withdrawn(reads, authorized_keys):
    """The authorized_keys lines a member's push put on SSH targets' hosts, to remove when the push is
    turned off: ``[{host, path, regexp}]`` (every line of the member's key in ``authorized_keys``, the
    push account's file, and in root's authorized_keys2, where earlier versions put it) from the
    slurped push settings (etcd_backup_push.json) and public key, in that order. Nothing when either
    was not read (no push files on the member)."""
    contents = [r.get("content") for r in reads or [] if isinstance(r, Mapping)]
    if len(contents) != 2 or not all(contents):
        return []
    try:
        settings = json.loads(base64.b64decode(contents[0]))
        regexp = _key_regexp(*_public_key(base64.b64decode(contents[1]).decode()))
    except (ValueError, UnicodeDecodeError):
        raise ValueError("backup_push_withdrawn: the push's settings or public key cannot be read") from None
    hosts = sorted({t["host"] for t in settings.get("targets") or [] if t.get("type") == "ssh" and t.get("host")})
    return [dict(host=host, path=path, regexp=regexp) for host in hosts for path in (authorized_keys, OLD_AUTHORIZED_KEYS)]
