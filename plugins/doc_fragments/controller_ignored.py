# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)


class ModuleDocFragment:
    """The option controller that etcd_lock and etcd_adopt_info take and ignore (IGNORED_CONTROLLER_SPEC
    of module_utils/lock/lock_store.py).

    A module may state its own O(controller) description; the type and the suboptions come from here.
    """

    DOCUMENTATION = r"""
options:
  controller:
    description:
      - Ignored, kept so that tasks that give it still run. A run's lock reads C(dead) only when its run's
        keeper recorded that the run ended without releasing it (M(raftops.etcd.etcd_lock_keeper)), never by
        the processes of a host (two controllers may have one host name).
    type: dict
    suboptions:
      host:
        description: Ignored.
        type: str
        required: true
      run_pids:
        description: Ignored.
        type: list
        elements: int
        required: true
"""
