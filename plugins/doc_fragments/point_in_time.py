# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)


class ModuleDocFragment:
    """The point of a point-in-time restore (option point), as etcd_backup_target and etcd_backup_fetch
    take it.

    Each module describes the option itself (what it does with the point): ansible-doc keeps the
    fragment's keys the module does not state, here the suboptions.
    """

    DOCUMENTATION = r"""
options:
  point:
    type: dict
    suboptions:
      time:
        description: An RFC 3339 time (C(2026-11-28T14:03:07Z)); every revision the stream received by then is replayed.
        type: str
      revision:
        description: The last revision to replay.
        type: int
"""
