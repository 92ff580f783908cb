# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The etcd role's settings of one host (plugins/module_utils/etcd_host_settings.py) from the
variables a task or a lookup sees: the action of raftops.etcd.etcd_host_info and the lookup
raftops.etcd.etcd_host_settings both compute them here."""

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_host_settings import NAMES, host_settings


def role_host_settings(templar, variables):
    """host_settings of the host whose ``variables`` these are (its ``etcd_*`` values templated)."""
    return host_settings({name: templar.template(variables[name]) for name in NAMES}, variables["role_path"])
