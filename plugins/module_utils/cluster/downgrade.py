# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""etcd's downgrade API, one minor version down from 3.6 on (downgrade_3_6.md, downgrade_3_7.md).

From 3.6 a member's data carries a storage version, and a binary older than it refuses the data.
So a downgrade goes: ``downgrade validate`` (etcd checks the target is exactly one minor version
below the cluster version), ``downgrade enable`` (the cluster version drops to the target at once,
and every member rewrites its storage version to it), then the binaries one at a time; etcd ends
the downgrade itself once every member runs the target. ``downgrade cancel`` stops one that is
enabled. The steps read the members' status first, so a run that was stopped at any point goes on
where it stopped: an enabled downgrade to the same target is not enabled again.

The gateway call: POST ``/v3/maintenance/downgrade`` with ``{"action": "VALIDATE"|"ENABLE"|"CANCEL",
"version": "3.5"}`` (rpc.proto ``DowngradeRequest``); status carries ``storageVersion`` and
``downgradeInfo{enabled, targetVersion}`` from 3.6 (``etcd_client.normalize_status``).
"""

import time

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import EtcdError, first_answer


class DowngradeError(ValueError):
    """A downgrade that cannot be carried out, with the message for the operator."""


def minor(version):
    """``"3.6.14"`` or ``"3.5"`` -> (3, 6); () for '' (a 3.5 member reports no storage version)."""
    parts = str(version or "").split(".")
    try:
        return (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        return ()


def target_minor(target):
    """The ``major.minor`` text etcd's API takes, from ``3.5``, ``3.5.30`` or ``v3.5.30``."""
    found = minor(str(target).lstrip("v"))
    if not found:
        raise DowngradeError("target %r is not a release like 3.5 or 3.5.30" % (target,))
    return "%d.%d" % found


def statuses(clients):
    """Every endpoint's status; one that does not answer fails the step (each member must be seen)."""
    found = []
    for client in clients:
        try:
            found.append(client.status())
        except EtcdError as exc:
            raise DowngradeError("%s did not answer its status: %s; every member must answer for a downgrade"
                                 % (client.endpoint, exc)) from exc
    return found


def view(clients):
    """What the members say about a downgrade: versions, storage versions, the enabled target."""
    found = statuses(clients)
    targets = sorted({s["downgrade_target"] for s in found if s.get("downgrade_target")})
    return dict(
        versions={s["endpoint"]: s["version"] for s in found},
        storage_versions={s["endpoint"]: s.get("storage_version", "") for s in found},
        enabled_target=targets[0] if targets else "",
    )


def _storage_down(state, target):
    """Every member's storage version at or below ``target`` (a member on 3.5 reports none)."""
    return all(not version or minor(version) <= minor(target) for version in state["storage_versions"].values())


def _settled(state, cluster_version, target):
    return (all(minor(v) == minor(target) for v in state["versions"].values())
            and minor(cluster_version) == minor(target) and not state["enabled_target"])


def _wait(clients, done, what, timeout, clock, sleep):
    deadline = clock() + float(timeout)
    while True:
        state = view(clients)
        if done(state):
            return state
        if clock() >= deadline:
            raise DowngradeError("%s did not happen within %s s: %s" % (what, timeout, describe(state)))
        sleep(1.0)


def describe(state):
    return "members run %s, storage versions %s, downgrade enabled to %s" % (
        ", ".join("%s %s" % item for item in sorted(state["versions"].items())),
        ", ".join("%s %s" % (k, v or "-") for k, v in sorted(state["storage_versions"].items())),
        state["enabled_target"] or "nothing")


def _ask(clients, action, target, idempotent):
    try:
        return first_answer(clients, lambda client: client.downgrade(action, target), idempotent=idempotent)
    except EtcdError as exc:
        raise DowngradeError("etcd refused downgrade %s %s: %s; nothing was changed by this step"
                             % (action.lower(), target, exc.message)) from exc


def validate(clients, target):
    """etcd's own verdict on ``target``; raises DowngradeError with etcd's reason when it refuses."""
    target = target_minor(target)
    state = view(clients)
    if state["enabled_target"] and minor(state["enabled_target"]) == minor(target):
        return dict(changed=False, state=state, msg="a downgrade to %s is enabled already" % target)
    if state["enabled_target"]:
        raise DowngradeError("a downgrade to %s is enabled, not to %s: cancel it first (etcd_downgrade_cancel=true)"
                             % (target_minor(state["enabled_target"]), target))
    cluster_version = _ask(clients, "VALIDATE", target, idempotent=True)
    return dict(changed=False, state=state, cluster_version=cluster_version,
                msg="etcd accepts a downgrade from cluster version %s to %s" % (cluster_version, target))


def enable(clients, target, wait_timeout=300, check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """Validate and enable a downgrade to ``target`` unless it is enabled already, then wait until
    every member's storage version is down to it (the older binaries refuse it before)."""
    target = target_minor(target)
    checked = validate(clients, target)
    changed = "cluster_version" in checked
    if changed and not check_mode:
        _ask(clients, "ENABLE", target, idempotent=False)
    if check_mode:
        return dict(changed=changed, state=checked["state"], msg="a downgrade to %s would be enabled" % target)
    state = _wait(clients, lambda s: _storage_down(s, target), "the storage versions' drop to %s" % target,
                  wait_timeout, clock, sleep)
    return dict(changed=changed, state=state,
                msg="downgrade to %s %s; every member's storage version is down to it"
                    % (target, "enabled" if changed else "was enabled already"))


def cancel(clients, check_mode=False):
    """Cancel an enabled downgrade; nothing when none is."""
    state = view(clients)
    enabled = state["enabled_target"]
    if not enabled:
        return dict(changed=False, state=state, msg="no downgrade is enabled")
    if not check_mode:
        _ask(clients, "CANCEL", target_minor(enabled), idempotent=False)
        state = view(clients)
    return dict(changed=True, state=state, msg="the downgrade to %s %s" % (
        target_minor(enabled), "would be cancelled" if check_mode else "was cancelled"))


def settle(clients, target, wait_timeout=300, clock=time.monotonic, sleep=time.sleep):
    """Wait until every member runs ``target``'s minor version, the cluster version is it and etcd
    has ended the downgrade."""
    target = target_minor(target)
    cluster = {}

    def done(state):
        cluster["version"] = first_answer(clients, lambda client: client.version()).get("etcdcluster", "")
        return _settled(state, cluster["version"], target)

    state = _wait(clients, done, "the cluster version's settling at %s" % target, wait_timeout, clock, sleep)
    return dict(changed=False, state=state, cluster_version=cluster["version"],
                msg="every member runs %s and the cluster version is %s" % (target, cluster["version"]))
