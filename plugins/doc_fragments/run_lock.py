# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)


class ModuleDocFragment:
    """The run lock a step that changes a member checks before it acts (etcd_lock_store.RUN_LOCK_SPEC)."""

    DOCUMENTATION = r"""
options:
  run_lock:
    description:
      - The lock this run holds (M(raftops.etcd.etcd_lock)'s RV(raftops.etcd.etcd_lock#module:key) and
        RV(raftops.etcd.etcd_lock#module:lease_id)). Right before the module changes anything, it checks that this
        lease still holds that lock and is alive; when not (the lease expired because the run's keeper could not
        renew it, or it was revoked, and another run may hold the lock now), it fails, naming why, and changes
        nothing.
      - The check only reads; it does not renew the lease. Not in check mode, and not with an empty C(lease_id).
    type: dict
    version_added: 1.0.0
    suboptions:
      key:
        description: The lock's key, for example V(/raftops/etcd/run).
        type: str
        required: true
      lease_id:
        description: The lease that holds it, in hex as M(raftops.etcd.etcd_lock) returns it; empty for no check.
        type: str
        required: true
"""
