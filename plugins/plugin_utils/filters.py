# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The collection's filters as Ansible loads them: thin faces of functions in module_utils.

Every task's process that uses one filter of the collection loads every filter file, so a face
imports its module_utils at its first call, not when it is loaded; a ValueError (bad input) shows
as a filter's error, with its message.
"""

import importlib

from ansible.errors import AnsibleFilterError

MODULE_UTILS = "ansible_collections.raftops.etcd.plugins.module_utils."


def _face(module, name):
    def call(*args, **kwargs):
        function = getattr(importlib.import_module(MODULE_UTILS + module), name)
        try:
            return function(*args, **kwargs)
        except ValueError as exc:
            raise AnsibleFilterError(str(exc)) from None

    call.__name__ = name
    call.module = module
    return call


def module_filters(module, *names):
    """{name: face} of the functions ``names`` of module_utils ``module`` (say ``cluster.members``)."""
    return {name: _face(module, name) for name in names}
