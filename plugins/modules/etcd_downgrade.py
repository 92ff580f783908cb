#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_downgrade
short_description: Run etcd's downgrade API (one minor version down from etcd 3.6)
version_added: 1.0.0
description:
  - From etcd 3.6 a member's data carries a storage version that an older binary refuses, so going
    down one minor version (3.6 to 3.5, 3.7 to 3.6) goes through etcd's downgrade API before the
    binaries change. This module runs its steps through etcd's v3 HTTP/JSON gateway
    (C(/v3/maintenance/downgrade)); the role's upgrade path runs them around the roll of the members
    (docs/upgrade.md).
  - O(state=validated) asks etcd whether O(target) is a valid downgrade (exactly one minor version
    below the cluster version) and changes nothing; etcd's refusal fails the task with its reason.
  - O(state=enabled) validates and enables the downgrade unless one to the same target is enabled
    already (a run that was stopped goes on), then waits until every member's storage version is
    down to O(target).
  - O(state=settled) waits until every member runs O(target)'s minor version, the cluster version is
    it and etcd has ended the downgrade (it does so once every member runs the target).
  - O(state=cancelled) cancels an enabled downgrade (C(etcdctl downgrade cancel)); nothing when none is.
  - Every endpoint in O(endpoints) must answer its status; list every member's client URL.
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  check_mode:
    support: full
    details:
      - O(state=enabled) validates only and reports whether it would enable; O(state=cancelled)
        reports whether it would cancel.
  diff_mode:
    support: none
options:
  target:
    description:
      - The release to go down to, like V(3.5) or V(3.5.30); only its minor version is sent to etcd.
      - Required unless O(state=cancelled).
    type: str
  state:
    description: The step, see the description.
    type: str
    choices: [validated, enabled, settled, cancelled]
    default: validated
  wait_timeout:
    description: Seconds to wait for the storage versions (O(state=enabled)) or the cluster version (O(state=settled)).
    type: float
    default: 300
notes:
  - etcd 3.5 has the API too, but the collection uses it only from 3.6 (3.5 to 3.4.32 or later is a plain
    binary swap). The 3.6 and 3.7 paths are unit-tested against a fake of etcd's gateway, not against
    real 3.6 or 3.7 members (docs/upgrade.md).
seealso:
  - module: raftops.etcd.etcd_health
  - name: Downgrade etcd from v3.6 to v3.5
    description: etcd's guide to the downgrade API.
    link: https://etcd.io/docs/v3.6/downgrades/downgrade_3_6/
"""

EXAMPLES = r"""
- name: Ask etcd whether the cluster may go down to 3.5
  raftops.etcd.etcd_downgrade:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379", "https://10.0.0.13:2379"]
    target: "3.5.30"
    state: validated

- name: Enable it and wait for the storage versions
  raftops.etcd.etcd_downgrade:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379", "https://10.0.0.13:2379"]
    target: "3.5.30"
    state: enabled

- name: Cancel a downgrade
  raftops.etcd.etcd_downgrade:
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379", "https://10.0.0.13:2379"]
    state: cancelled
"""

RETURN = r"""
versions:
  description: Each endpoint's etcd version after the step.
  returned: always
  type: dict
  sample: {"https://10.0.0.11:2379": "3.6.16"}
storage_versions:
  description: Each endpoint's storage version after the step (empty for a member on 3.5, which reports none).
  returned: always
  type: dict
  sample: {"https://10.0.0.11:2379": "3.5.0"}
enabled_target:
  description: The target of the downgrade that is enabled after the step; empty when none is.
  returned: always
  type: str
  sample: 3.5.0
cluster_version:
  description: The cluster version etcd answered (O(state=validated), O(state=enabled) when it enabled, O(state=settled)).
  returned: when etcd was asked
  type: str
  sample: "3.6"
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: downgrade to 3.5 enabled; every member's storage version is down to it
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import downgrade as ed
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE,
    EtcdError,
    connection_argument_spec,
    module_clients,
)


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        target=dict(type="str"),
        state=dict(type="str", choices=["validated", "enabled", "settled", "cancelled"], default="validated"),
        wait_timeout=dict(type="float", default=300),
    )
    return spec


def run(params, clients, check_mode=False, **waits):
    """The step ``params['state']``; raises DowngradeError or EtcdError with the task's message."""
    state = params["state"]
    if state == "cancelled":
        result = ed.cancel(clients, check_mode=check_mode)
    elif state == "validated":
        result = ed.validate(clients, params["target"])
    elif state == "enabled":
        result = ed.enable(clients, params["target"], params["wait_timeout"], check_mode=check_mode, **waits)
    else:
        result = ed.settle(clients, params["target"], params["wait_timeout"], **waits)
    seen = result.pop("state")
    result.update(versions=seen["versions"], storage_versions=seen["storage_versions"],
                  enabled_target=seen["enabled_target"])
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), mutually_exclusive=CONNECTION_EXCLUSIVE,
                           required_if=[("state", "validated", ["target"]), ("state", "enabled", ["target"]),
                                        ("state", "settled", ["target"])],
                           supports_check_mode=True)
    clients, _make_client = module_clients(module)
    try:
        result = run(module.params, clients, check_mode=module.check_mode)
    except (ed.DowngradeError, EtcdError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
