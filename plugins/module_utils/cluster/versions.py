# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""etcd release versions: their parts, and etcd's policy for changing a running cluster's release.

Used by the run's plan (etcd_plan.py) and by the public filters version_tuple and upgrade_problem.
"""

import re

VERSION_PATTERN = re.compile(r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)$")


def truthy(value):
    """A setting's boolean as Ansible reads it: ``'yes'``, ``'true'``, ``1``..."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def version_tuple(version):
    """``3.5.1`` -> [3, 5, 1]; a leading ``v`` is accepted. Anything else is an error.

    A list, not a tuple, so that templates can compare it with list literals like ``[3, 5]``.
    """
    text = str(version).strip()
    match = VERSION_PATTERN.match(text[1:] if text.startswith("v") else text)
    if not match:
        raise ValueError("etcd_version %r is not a release version like 3.5.17" % (version,))
    return [int(match.group(k)) for k in ("major", "minor", "patch")]


# The oldest patch of a minor version that etcd's upgrade guide lets move to the next minor
# version: 3.5 patches before 3.5.32 carry known 3.5 -> 3.6 upgrade blockers (too many learners,
# zombie members), fixed from 3.5.20 to 3.5.32; 3.7's guide (upgrade_3_7.md) asks for 3.6.11 or later.
MINOR_UPGRADE_FROM = {(3, 5): [3, 5, 32], (3, 6): [3, 6, 11]}
# From 3.6 on a member's data carries a storage version and refuses an older binary: going down one
# minor version is etcd's downgrade API (downgrade validate/enable, then the binaries one by one).
# 3.5 -> 3.4.32+ is a plain binary swap (downgrade_3_5.md).
DOWNGRADE_API_FROM = (3, 6)
PLAIN_DOWNGRADE_TO_3_4 = [3, 4, 32]

# The server feature gates (--feature-gates, from 3.6) of each minor version, from etcd's
# server/features/etcd_features.go at v3.6.0..v3.6.14 and v3.7.0..v3.7.1, plus the two global
# toggles of pkg/featuregate. A later minor version not listed is assumed to know 3.7's gates.
FEATURE_GATES_SINCE = (3, 6)
_GATES_3_6 = ("AllAlpha", "AllBeta", "CompactHashCheck", "InitialCorruptCheck", "LeaseCheckpoint",
              "LeaseCheckpointPersist", "SetMemberLocalAddr", "StopGRPCServiceOnDefrag", "TxnModeWriteWithSharedBuffer")
FEATURE_GATES = {(3, 6): _GATES_3_6, (3, 7): tuple(sorted((*_GATES_3_6, "FastLeaseKeepAlive", "PriorityRequest")))}

# The --experimental-* flags 3.6 deprecated and 3.7 removed (v3.7.0 CHANGELOG "Removed all deprecated
# experimental flags"), as ETCD_* settings, and what replaced each in 3.6: a flag
# (server/etcdmain/config.go deprecatedFlags, server/embed/config.go) or a feature gate
# (server/features/etcd_features.go ExperimentalFlagToFeatureMap).
EXPERIMENTAL_REPLACEMENTS = {
    "ETCD_EXPERIMENTAL_%s" % name.upper().replace("-", "_"): (
        "--feature-gates=%s (etcd_feature_gates: {%s: true})" % (new[5:], new[5:]) if new.startswith("gate:")
        else "--%s (ETCD_%s)" % (new, new.upper().replace("-", "_")))
    for name, new in (
        ("bootstrap-defrag-threshold-megabytes", "bootstrap-defrag-threshold-megabytes"),
        ("compact-hash-check-enabled", "gate:CompactHashCheck"),
        ("compact-hash-check-time", "compact-hash-check-time"),
        ("compaction-batch-limit", "compaction-batch-limit"),
        ("compaction-sleep-interval", "compaction-sleep-interval"),
        ("corrupt-check-time", "corrupt-check-time"),
        ("distributed-tracing-address", "distributed-tracing-address"),
        ("distributed-tracing-instance-id", "distributed-tracing-instance-id"),
        ("distributed-tracing-sampling-rate", "distributed-tracing-sampling-rate"),
        ("distributed-tracing-service-name", "distributed-tracing-service-name"),
        ("downgrade-check-time", "downgrade-check-time"),
        ("enable-distributed-tracing", "enable-distributed-tracing"),
        ("enable-lease-checkpoint", "gate:LeaseCheckpoint"),
        ("enable-lease-checkpoint-persist", "gate:LeaseCheckpointPersist"),
        ("initial-corrupt-check", "gate:InitialCorruptCheck"),
        ("memory-mlock", "memory-mlock"),
        ("peer-skip-client-san-verification", "peer-skip-client-san-verification"),
        ("snapshot-catchup-entries", "snapshot-catchup-entries"),
        ("snapshot-catch-up-entries", "snapshot-catchup-entries"),
        ("stop-grpc-service-on-defrag", "gate:StopGRPCServiceOnDefrag"),
        ("txn-mode-write-with-shared-buffer", "gate:TxnModeWriteWithSharedBuffer"),
        ("warning-apply-duration", "warning-apply-duration"),
        ("warning-unary-request-duration", "warning-unary-request-duration"),
        ("watch-progress-notify-interval", "watch-progress-notify-interval"),
    )
}


def known_feature_gates(release):
    """The feature gates etcd ``release`` ([major, minor, ...]) knows; () before 3.6."""
    minor = tuple(release[:2])
    if minor < FEATURE_GATES_SINCE:
        return ()
    return FEATURE_GATES.get(minor) or FEATURE_GATES[max(FEATURE_GATES)]


def downgrade_target(running_versions, target):
    """The minor version ``"3.5"`` etcd's downgrade API must be asked for to move ``running_versions``
    to ``target``; '' when no member needs it (an upgrade, a patch change or a plain swap).

    A member already on ``target``'s minor version (a roll that stopped half way) needs nothing."""
    wanted = version_tuple(target)
    for version in running_versions:
        running = version_tuple(str(version))
        if tuple(running[:2]) >= DOWNGRADE_API_FROM and running[:2] > wanted[:2]:
            return "%d.%d" % tuple(wanted[:2])
    return ""


def upgrade_problem(running_versions, target, allow_downgrade=False):
    """Why the running members may not move to ``target``, or an empty string when they may.

    Upgrades go one minor version at a time (3.4 -> 3.5 -> 3.6 -> 3.7), from a patch etcd's guide
    allows (3.5.32 or later before 3.6, 3.6.11 or later before 3.7); patch changes are free. A
    downgrade needs the operator's consent and goes one minor version at a time: a patch downgrade
    or 3.5 -> 3.4.32+ is a plain binary swap; from 3.6 on it goes through etcd's downgrade API
    (downgrade_target).
    """
    wanted = version_tuple(target)
    problems = []
    for version in sorted(set(str(v) for v in running_versions if v)):
        running = version_tuple(version)
        if running == wanted:
            continue
        if wanted > running:
            if wanted[0] != running[0] or wanted[1] - running[1] > 1:
                problems.append(
                    "upgrading %s to %s skips a minor version: upgrade one minor version at a time (%d.%d first)"
                    % (version, str(target), running[0], running[1] + 1)
                )
            elif wanted[1] != running[1] and running < MINOR_UPGRADE_FROM.get(tuple(running[:2]), running):
                floor = "%d.%d.%d" % tuple(MINOR_UPGRADE_FROM[tuple(running[:2])])
                problems.append(
                    "upgrading %s to %s needs %s or later first: etcd's upgrade guide requires it before %d.%d "
                    "(a patch upgrade to %s is allowed)" % (version, str(target), floor, wanted[0], wanted[1], floor)
                )
            continue
        if not truthy(allow_downgrade):
            problems.append(
                "%s is older than the running %s: a downgrade needs etcd_allow_downgrade=true" % (target, version)
            )
        elif wanted[:2] == running[:2]:
            continue
        elif wanted[0] != running[0] or running[1] - wanted[1] > 1:
            problems.append(
                "downgrading %s to %s skips a minor version: etcd downgrades one minor version at a time "
                "(%d.%d first)" % (version, target, running[0], running[1] - 1)
            )
        elif tuple(running[:2]) >= DOWNGRADE_API_FROM:
            continue
        elif wanted[:2] == [3, 4] and running[:2] == [3, 5] and wanted < PLAIN_DOWNGRADE_TO_3_4:
            problems.append(
                "downgrading %s to %s is not supported: etcd supports 3.5 to 3.4.32 or later only" % (version, target)
            )
    return "; ".join(problems)
