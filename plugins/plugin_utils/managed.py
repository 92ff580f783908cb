# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The comment the files the roles write begin with (the member's files, the timers' and the
proxy's units), as the actions that render them on the controller give it."""

from ansible import constants as C
from ansible.plugins.filter.core import comment


def managed_header(templar, task_vars):
    """ansible_managed (the config's when the play sets none) as a shell comment, what
    ``ansible_managed | comment`` gives a template."""
    managed = (task_vars or {}).get("ansible_managed")
    return comment(C.DEFAULT_MANAGED_STR if managed is None else templar.template(managed))
