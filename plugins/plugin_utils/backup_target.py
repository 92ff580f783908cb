# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""raftops.etcd.etcd_backup_target's states that work from the controller (S3 targets and the
sealing), run within ansible-playbook's own process: by that module's action, and by the seal step
of raftops.etcd.etcd_plan."""

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto
from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_target

MODULE = "raftops.etcd.etcd_backup_target"


class Here:
    """What backup_target.run() reads of a module, within this process."""

    def __init__(self, params, check_mode):
        self.params, self.check_mode, self.warnings = params, check_mode, []

    def warn(self, text):
        self.warnings.append(text)


def run_here(params, check_mode):
    """etcd_backup_target's result for its validated ``params``, worked out in this process; ``failed``
    and ``msg`` when it fails."""
    if not crypto.HAS_CRYPTOGRAPHY:
        return dict(failed=True, changed=False, msg="%s needs the Python library cryptography on the controller "
                    "(%s); nothing was done" % (MODULE, crypto.CRYPTOGRAPHY_IMPORT_ERROR))
    here = Here(params, check_mode)
    try:
        answer = backup_target.run(here)
    except backup_target.TargetError as exc:
        answer = dict(failed=True, changed=False, msg=str(exc))
    if here.warnings:
        answer["warnings"] = here.warnings
    return answer
