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
# zombie members), fixed from 3.5.20 to 3.5.32.
MINOR_UPGRADE_FROM = {(3, 5): [3, 5, 32]}


def upgrade_problem(running_versions, target, allow_downgrade=False):
    """Why the running members may not move to ``target``, or an empty string when they may.

    Upgrades go one minor version at a time (3.4 -> 3.5 -> 3.6), from a patch etcd's guide allows
    (3.5.32 or later before 3.6); patch changes are free. A downgrade needs the operator's consent
    and is only offered where etcd documents a plain binary swap: a patch downgrade, or
    3.5 -> 3.4.32+ (3.6 -> 3.5 needs etcd's downgrade API).
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
        elif wanted[:2] == running[:2] or (wanted[:2] == [3, 4] and running[:2] == [3, 5] and wanted >= [3, 4, 32]):
            continue
        else:
            problems.append(
                "downgrading %s to %s is not a binary swap: etcd supports a plain swap only within a minor version "
                "or from 3.5 to 3.4.32 or later (3.6 to 3.5 needs etcdctl downgrade enable first)" % (version, target)
            )
    return "; ".join(problems)
