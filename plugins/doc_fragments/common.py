# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)


class ModuleDocFragment:
    """What every raftops.etcd module shares: its authors and its attributes as most modules have them.

    A module states only the attributes where it differs or has details to add.
    """

    DOCUMENTATION = r"""
author:
  - raftops developers (@raftops)
attributes:
  check_mode:
    description: Can run in check mode and report what would change without changing it.
    support: full
  diff_mode:
    description: Returns what changed (or would change in check mode) when run with C(--diff).
    support: none
  platform:
    description: Target OS families the module runs on.
    support: N/A
    platforms: posix
"""
