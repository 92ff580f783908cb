# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)


class ModuleDocFragment:
    """What every raftops.etcd module shares: its authors and the attributes most of them have.

    A module lists this fragment with ``ansible.builtin.action_common_attributes`` (the attribute
    descriptions) and states only the attributes where it differs or has details to add.
    """

    DOCUMENTATION = r"""
author:
  - raftops developers (@raftops)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""
