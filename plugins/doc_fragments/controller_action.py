# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)


class ModuleDocFragment:
    """The attributes of a module that is an action run on the controller and changes nothing
    (etcd_reach; etcd_release states its check mode itself).

    A module's own attributes win over it, and it over a fragment listed after it: listed before
    raftops.etcd.common, it adds its details to common's check_mode and ansible-doc shows action first.
    """

    DOCUMENTATION = r"""
attributes:
  action:
    description: Runs as an action plugin on the controller.
    support: full
  check_mode:
    details: Changes nothing in any mode.
"""
